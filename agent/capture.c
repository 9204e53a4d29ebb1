// SPDX-License-Identifier: GPL-2.0
/*
 * libpcap sources. Files (pcap and pcapng alike) are read with nanosecond
 * timestamps; live captures run in immediate mode, or libpcap holds packets
 * in its TPACKET_V3 ring and "learned within 1 ms" becomes impossible
 * (shared/DESIGN.md). Errors become -errno plus one line a user can act on.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "clock.h"

struct vq_capture {
	pcap_t *p;
	int dlt;
	bool live;
	bool nano;
	int fd;
	uint64_t size;
};

static bool dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

static int check_dlt(struct vq_capture *c, const char *what, char *err,
		     size_t errlen)
{
	const char *name;

	c->dlt = pcap_datalink(c->p);
	if (dlt_supported(c->dlt))
		return 0;
	name = pcap_datalink_val_to_name(c->dlt);
	snprintf(err, errlen, "%s: link type %s (%d) is not supported", what,
		 name ? name : "unknown", c->dlt);
	return -EPROTONOSUPPORT;
}

int vq_capture_open_file(struct vq_capture **out, const char *path,
			 char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct vq_capture *c;
	struct stat sb;
	int ret;

	*out = NULL;
	if (stat(path, &sb) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a capture file",
			 path);
		return -EISDIR;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	c->fd = -1;
	c->size = sb.st_size;
	c->nano = true;
	c->p = pcap_open_offline_with_tstamp_precision(
		path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!c->p) {
		/*
		 * libpcap reports a short header as "truncated dump file" and
		 * anything unrecognised as "unknown file format".
		 */
		if (sb.st_size == 0) {
			snprintf(err, errlen,
				 "%s: empty file, not a capture file", path);
			ret = -EINVAL;
		} else if (strstr(ebuf, "truncated")) {
			snprintf(err, errlen,
				 "%s: capture file is truncated (%s)", path,
				 ebuf);
			ret = -EIO;
		} else if (strstr(ebuf, "unknown file format")) {
			snprintf(err, errlen,
				 "%s: not a capture file (neither pcap nor pcapng)",
				 path);
			ret = -EINVAL;
		} else {
			snprintf(err, errlen, "%s: %s", path, ebuf);
			ret = -EIO;
		}
		goto out_free;
	}
	ret = check_dlt(c, path, err, errlen);
	if (ret)
		goto out_close;
	*out = c;
	return 0;

out_close:
	pcap_close(c->p);
out_free:
	free(c);
	return ret;
}

int vq_capture_filter(const struct vq_decoder_cfg *cfg, char *buf, size_t len)
{
	char ports[VQ_MAX_SIP_PORTS * 2 * 16];
	size_t used = 0;
	unsigned int nsip = cfg->n_sip_ports, ntls = cfg->n_tls_ports;
	int n;

	if (nsip > VQ_MAX_SIP_PORTS)
		nsip = VQ_MAX_SIP_PORTS;
	if (ntls > VQ_MAX_SIP_PORTS)
		ntls = VQ_MAX_SIP_PORTS;
	if (!nsip && !ntls)
		return -EINVAL;
	for (unsigned int i = 0; i < nsip + ntls; i++) {
		uint16_t port = i < nsip ? cfg->sip_ports[i] :
					   cfg->tls_ports[i - nsip];

		n = snprintf(ports + used, sizeof(ports) - used, "%sport %u",
			     i ? " or " : "", port);
		if (n < 0 || (size_t)n >= sizeof(ports) - used)
			return -ENOSPC;
		used += n;
	}
	/*
	 * SIP on the ports; non-first IPv4 fragments and IPv6 fragment headers,
	 * which carry no ports; IP-in-IP. "vlan" shifts the offsets for the
	 * rest of the expression, so each tag level nests its own copy.
	 */
#define BASE "(((udp or tcp) and (%s)) or (ip[6:2] & 0x1fff != 0) " \
	     "or ip6[6] == 44 or ip proto 4 or ip proto 41 " \
	     "or ip6 proto 4 or ip6 proto 41)"
	n = snprintf(buf, len,
		     BASE " or (vlan and (" BASE " or (vlan and " BASE ")))",
		     ports, ports, ports);
#undef BASE
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}

int vq_capture_open_live(struct vq_capture **out, const char *ifname,
			 const struct vq_decoder_cfg *cfg, char *err,
			 size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	struct vq_capture *c;
	char filter[4096];
	int ret;

	*out = NULL;
	ret = vq_capture_filter(cfg, filter, sizeof(filter));
	if (ret) {
		snprintf(err, errlen, "%s: cannot build capture filter: %s",
			 ifname, strerror(-ret));
		return ret;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", ifname);
		return -ENOMEM;
	}
	c->live = true;
	c->p = pcap_create(ifname, ebuf);
	if (!c->p) {
		snprintf(err, errlen, "%s: %s", ifname, ebuf);
		ret = -ENODEV;
		goto out_free;
	}
	/* Jumbo frames fit; a SIP/TCP super-packet cut here is resynchronised. */
	pcap_set_snaplen(c->p, 16384);
	pcap_set_promisc(c->p, 0);
	pcap_set_timeout(c->p, 100);
	pcap_set_immediate_mode(c->p, 1);
	/*
	 * The kernel filter passes only SIP, so the ring holds signalling, not
	 * media: 512 KB (some 30 frames) absorbs bursts while the ring's pages
	 * — resident once written, per interface — stay within the daemon's
	 * memory budget.
	 */
	pcap_set_buffer_size(c->p, 512 << 10);
	c->nano = pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO) == 0;

	ret = pcap_activate(c->p);
	if (ret < 0) {
		switch (ret) {
		case PCAP_ERROR_NO_SUCH_DEVICE:
			snprintf(err, errlen, "%s: no such interface", ifname);
			ret = -ENODEV;
			break;
		case PCAP_ERROR_PERM_DENIED:
			snprintf(err, errlen,
				 "%s: permission denied — run as root or with CAP_NET_RAW",
				 ifname);
			ret = -EPERM;
			break;
		case PCAP_ERROR_IFACE_NOT_UP:
			snprintf(err, errlen, "%s: interface is down", ifname);
			ret = -ENETDOWN;
			break;
		default:
			snprintf(err, errlen, "%s: %s", ifname,
				 pcap_geterr(c->p));
			ret = -EIO;
			break;
		}
		goto out_close;
	}
	c->nano = pcap_get_tstamp_precision(c->p) == PCAP_TSTAMP_PRECISION_NANO;
	ret = check_dlt(c, ifname, err, errlen);
	if (ret)
		goto out_close;
	if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s: compile filter: %s", ifname,
			 pcap_geterr(c->p));
		ret = -EINVAL;
		goto out_close;
	}
	ret = pcap_setfilter(c->p, &prog);
	pcap_freecode(&prog);
	if (ret < 0) {
		snprintf(err, errlen, "%s: attach filter: %s", ifname,
			 pcap_geterr(c->p));
		ret = -EIO;
		goto out_close;
	}
	if (pcap_setnonblock(c->p, 1, ebuf) < 0) {
		snprintf(err, errlen, "%s: %s", ifname, ebuf);
		ret = -EIO;
		goto out_close;
	}
	c->fd = pcap_get_selectable_fd(c->p);
	*out = c;
	return 0;

out_close:
	pcap_close(c->p);
out_free:
	free(c);
	return ret;
}

int vq_capture_fd(const struct vq_capture *c)
{
	return c->live ? c->fd : -1;
}

int vq_capture_dispatch(struct vq_capture *c, struct vq_decoder *d, int max,
			char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	struct vq_clock now;
	int n = 0;

	/* Live stamps go on the daemon's timeline: one reading per batch. */
	if (c->live)
		vq_clock_read(&now);
	while (max <= 0 || n < max) {
		uint64_t ts;
		int ret = pcap_next_ex(c->p, &h, &data);

		if (ret == 0) /* live: nothing more for now */
			break;
		if (ret == PCAP_ERROR_BREAK) /* end of file */
			break;
		if (ret < 0) {
			const char *msg = pcap_geterr(c->p);

			if (strstr(msg, "truncated"))
				snprintf(err, errlen,
					 "capture file is truncated (%s)", msg);
			else
				snprintf(err, errlen, "read capture: %s", msg);
			return -EIO;
		}
		ts = (uint64_t)h->ts.tv_sec * 1000000000ull +
		     (uint64_t)h->ts.tv_usec * (c->nano ? 1 : 1000);
		if (c->live)
			ts = vq_clock_pkt_ns(&now, ts);
		vq_decoder_input(d, c->dlt, ts, data, h->caplen);
		n++;
	}
	return n;
}

void vq_capture_progress(const struct vq_capture *c, uint64_t *pos,
			 uint64_t *size)
{
	FILE *f = c->live ? NULL : pcap_file(c->p);
	long off = f ? ftell(f) : -1;

	*pos = off > 0 ? (uint64_t)off : 0;
	*size = c->size;
}

uint64_t vq_capture_drops(const struct vq_capture *c)
{
	struct pcap_stat ps;

	if (!c || !c->live || pcap_stats(c->p, &ps) < 0)
		return 0;
	return (uint64_t)ps.ps_drop + ps.ps_ifdrop;
}

void vq_capture_close(struct vq_capture *c)
{
	if (!c)
		return;
	pcap_close(c->p);
	free(c);
}
