// SPDX-License-Identifier: GPL-2.0
/*
 * Frame decoding: link layer, IPv4/IPv6 (options, extension headers,
 * fragments), IP-in-IP, then UDP and TCP on the SIP ports. Captured frames
 * are untrusted and unaligned, so every field is read byte by byte after a
 * length check, never through a cast to a header struct. Every frame ends
 * up either delivered or in a counter.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipfrag.h"
#include "packet.h"
#include "reasm.h"

/* Bounds on what one frame may make us walk. */
#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXTHDRS 8
#define MAX_TUNNEL_DEPTH 2

#define LINKTYPE_RAW 101 /* the file value; pcap maps it to DLT_RAW */

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ1 0x9100 /* pre-standard 802.1ad */

/* How often, in packet time, input expires idle state by itself. */
#define EXPIRE_EVERY_NS 1000000000ull

struct vq_decoder {
	struct vq_decoder_cfg cfg;
	struct vq_pkt_ops ops;
	void *ctx;
	struct vq_pkt_stats st;
	struct vq_ipfrag *frag;
	struct vq_reasm *reasm;
	uint64_t next_expire_ns;
};

/* Addresses of the IP header a transport payload came in. */
struct l3 {
	uint8_t family;
	uint8_t src[16];
	uint8_t dst[16];
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void vq_decoder_cfg_init(struct vq_decoder_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sip_ports[0] = 5060;
	cfg->n_sip_ports = 1;
	cfg->tls_ports[0] = 5061;
	cfg->n_tls_ports = 1;
	cfg->frag_max_queues = 256;
	cfg->frag_max_bytes = 65535;
	cfg->frag_timeout_ms = 30000;
	cfg->tcp_max_streams = 1024;
	cfg->tcp_max_buffer = 65536;
	cfg->tcp_max_total = VQ_REASM_MAX_TOTAL;
	cfg->tcp_timeout_ms = 300000;
	cfg->tcp_unframed_timeout_ms = VQ_REASM_UNFRAMED_TIMEOUT_MS;
	cfg->sip_max_message = 65535;
}

static void deliver_tcp_sip(void *ctx, const struct vq_pkt_meta *m,
			    const uint8_t *msg, size_t len)
{
	struct vq_decoder *d = ctx;

	if (d->ops.sip)
		d->ops.sip(d->ctx, m, msg, len);
}

struct vq_decoder *vq_decoder_new(const struct vq_decoder_cfg *cfg,
				  const struct vq_pkt_ops *ops, void *ctx)
{
	struct vq_decoder *d = calloc(1, sizeof(*d));
	struct vq_reasm_cfg rc;

	if (!d)
		return NULL;
	d->cfg = *cfg;
	if (d->cfg.n_sip_ports > VQ_MAX_SIP_PORTS)
		d->cfg.n_sip_ports = VQ_MAX_SIP_PORTS;
	if (d->cfg.n_tls_ports > VQ_MAX_SIP_PORTS)
		d->cfg.n_tls_ports = VQ_MAX_SIP_PORTS;
	if (ops)
		d->ops = *ops;
	d->ctx = ctx;
	rc.max_streams = cfg->tcp_max_streams;
	rc.max_buffer = cfg->tcp_max_buffer;
	rc.max_total = cfg->tcp_max_total;
	rc.timeout_ms = cfg->tcp_timeout_ms;
	rc.unframed_timeout_ms = cfg->tcp_unframed_timeout_ms;
	rc.max_message = cfg->sip_max_message;
	d->frag = vq_ipfrag_new(cfg->frag_max_queues, cfg->frag_max_bytes,
				cfg->frag_timeout_ms, &d->st);
	d->reasm = vq_reasm_new(&rc, &d->st, deliver_tcp_sip, d);
	if (!d->frag || !d->reasm) {
		vq_decoder_free(d);
		return NULL;
	}
	return d;
}

void vq_decoder_free(struct vq_decoder *d)
{
	if (!d)
		return;
	vq_ipfrag_free(d->frag);
	vq_reasm_free(d->reasm);
	free(d);
}

const struct vq_pkt_stats *vq_decoder_stats(const struct vq_decoder *d)
{
	return &d->st;
}

void vq_decoder_expire(struct vq_decoder *d, uint64_t now_ns)
{
	if (!d) /* between captures closed and opened again */
		return;
	vq_ipfrag_expire(d->frag, now_ns);
	vq_reasm_expire(d->reasm, now_ns);
}

static bool port_in(const uint16_t *ports, unsigned int n, uint16_t port)
{
	for (unsigned int i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static void fill_meta(struct vq_pkt_meta *m, uint64_t ts_ns,
		      const struct l3 *ip, uint8_t proto, uint16_t sport,
		      uint16_t dport)
{
	size_t alen = ip->family == AF_INET ? 4 : 16;

	memset(m, 0, sizeof(*m));
	m->ts_ns = ts_ns;
	m->src.family = m->dst.family = ip->family;
	m->src.proto = m->dst.proto = proto;
	m->src.port = sport;
	m->dst.port = dport;
	memcpy(m->src.addr, ip->src, alen);
	memcpy(m->dst.addr, ip->dst, alen);
}

static bool only_crlf(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

static void udp_input(struct vq_decoder *d, uint64_t ts_ns,
		      const struct l3 *ip, const uint8_t *p, size_t len)
{
	struct vq_pkt_meta m;
	uint16_t sport, dport, ulen;

	if (len < 8) {
		d->st.truncated++;
		return;
	}
	sport = get16(p);
	dport = get16(p + 2);
	ulen = get16(p + 4);
	if (ulen < 8) {
		d->st.malformed++;
		return;
	}
	if (ulen > len) {
		d->st.truncated++;
		return;
	}
	p += 8;
	len = ulen - 8;
	fill_meta(&m, ts_ns, ip, IPPROTO_UDP, sport, dport);

	if (port_in(d->cfg.sip_ports, d->cfg.n_sip_ports, sport) ||
	    port_in(d->cfg.sip_ports, d->cfg.n_sip_ports, dport)) {
		/* A datagram holds one message; CRLF alone is a keepalive. */
		if (only_crlf(p, len))
			return;
		d->st.udp_sip++;
		if (d->ops.sip)
			d->ops.sip(d->ctx, &m, p, len);
		return;
	}
	if (d->ops.udp)
		d->ops.udp(d->ctx, &m, p, len);
}

static void tcp_input(struct vq_decoder *d, uint64_t ts_ns,
		      const struct l3 *ip, const uint8_t *p, size_t len)
{
	struct vq_pkt_meta m;
	uint16_t sport, dport;
	size_t doff;
	uint8_t flags;

	if (len < 20) {
		d->st.truncated++;
		return;
	}
	sport = get16(p);
	dport = get16(p + 2);
	doff = (size_t)(p[12] >> 4) * 4;
	flags = p[13];
	if (doff < 20) {
		d->st.malformed++;
		return;
	}
	if (doff > len) {
		d->st.truncated++;
		return;
	}

	if (port_in(d->cfg.sip_ports, d->cfg.n_sip_ports, sport) ||
	    port_in(d->cfg.sip_ports, d->cfg.n_sip_ports, dport)) {
		d->st.tcp_segments++;
		fill_meta(&m, ts_ns, ip, IPPROTO_TCP, sport, dport);
		vq_reasm_segment(d->reasm, &m, get32(p + 4),
				 flags & (VQ_TCP_FIN | VQ_TCP_SYN | VQ_TCP_RST),
				 p + doff, len - doff);
		return;
	}
	if ((port_in(d->cfg.tls_ports, d->cfg.n_tls_ports, sport) ||
	     port_in(d->cfg.tls_ports, d->cfg.n_tls_ports, dport)) &&
	    len > doff)
		d->st.tls_packets++;
}

static void ip_input(struct vq_decoder *d, uint64_t ts_ns, const uint8_t *p,
		     size_t len, int depth);
static void ipv6_walk(struct vq_decoder *d, uint64_t ts_ns, const struct l3 *ip,
		      uint8_t nh, const uint8_t *p, size_t len, int depth,
		      bool reassembled);

/* The transport payload of one (reassembled) IP datagram. */
static void l4_input(struct vq_decoder *d, uint64_t ts_ns, const struct l3 *ip,
		     uint8_t proto, const uint8_t *p, size_t len, int depth)
{
	switch (proto) {
	case IPPROTO_UDP:
		udp_input(d, ts_ns, ip, p, len);
		break;
	case IPPROTO_TCP:
		tcp_input(d, ts_ns, ip, p, len);
		break;
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		if (depth >= MAX_TUNNEL_DEPTH) {
			d->st.unsupported++;
			break;
		}
		d->st.tunnelled++;
		if (len < 1 || (p[0] >> 4) != (proto == IPPROTO_IPIP ? 4 : 6)) {
			d->st.malformed++;
			break;
		}
		ip_input(d, ts_ns, p, len, depth + 1);
		break;
	default:
		break; /* ICMP and friends: not ours */
	}
}

static void frag_input(struct vq_decoder *d, uint64_t ts_ns, const struct l3 *ip,
		       const struct vq_frag_key *key, const struct vq_frag *fr,
		       int depth)
{
	struct vq_frag_done done;

	d->st.frags++;
	if (vq_ipfrag_add(d->frag, key, fr, ts_ns, &done) != 1)
		return;
	if (ip->family == AF_INET)
		l4_input(d, ts_ns, ip, done.proto, done.data, done.len, depth);
	else
		ipv6_walk(d, ts_ns, ip, done.proto, done.data, done.len, depth,
			  true);
	free(done.data);
}

static void ipv4_input(struct vq_decoder *d, uint64_t ts_ns, const uint8_t *p,
		       size_t len, int depth)
{
	struct vq_frag_key key;
	struct vq_frag fr;
	struct l3 ip;
	size_t ihl, tot;
	uint16_t off;

	if (len < 20) {
		d->st.truncated++;
		return;
	}
	ihl = (size_t)(p[0] & 0x0f) * 4;
	tot = get16(p + 2);
	if ((p[0] >> 4) != 4 || ihl < 20 || tot < ihl) {
		d->st.malformed++;
		return;
	}
	if (tot > len) {
		d->st.truncated++;
		return;
	}
	len = tot; /* drop Ethernet padding */

	memset(&ip, 0, sizeof(ip));
	ip.family = AF_INET;
	memcpy(ip.src, p + 12, 4);
	memcpy(ip.dst, p + 16, 4);
	off = get16(p + 6);
	if (!(off & 0x3fff)) {
		l4_input(d, ts_ns, &ip, p[9], p + ihl, len - ihl, depth);
		return;
	}

	memset(&key, 0, sizeof(key));
	key.family = AF_INET;
	key.proto = p[9];
	key.id = get16(p + 4);
	memcpy(key.src, ip.src, 4);
	memcpy(key.dst, ip.dst, 4);
	fr.offset = (uint32_t)(off & 0x1fff) * 8;
	fr.more = off & 0x2000;
	fr.nexthdr = 0;
	fr.data = p + ihl;
	fr.len = len - ihl;
	frag_input(d, ts_ns, &ip, &key, &fr, depth);
}

/*
 * Walk IPv6 extension headers from next header @nh over @p. After
 * reassembly (@reassembled) a second fragment header is malformed.
 */
static void ipv6_walk(struct vq_decoder *d, uint64_t ts_ns, const struct l3 *ip,
		      uint8_t nh, const uint8_t *p, size_t len, int depth,
		      bool reassembled)
{
	struct vq_frag_key key;
	struct vq_frag fr;
	uint16_t off;
	size_t hlen;

	for (int i = 0; i < MAX_IPV6_EXTHDRS; i++) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (len < 8) {
				d->st.truncated++;
				return;
			}
			hlen = ((size_t)p[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (len < 8) {
				d->st.truncated++;
				return;
			}
			hlen = ((size_t)p[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (len < 8) {
				d->st.truncated++;
				return;
			}
			if (reassembled) {
				d->st.malformed++;
				return;
			}
			off = get16(p + 2);
			/* An atomic fragment (RFC 6946) is a whole datagram. */
			if (!(off & 0xfff9)) {
				nh = p[0];
				p += 8;
				len -= 8;
				continue;
			}
			memset(&key, 0, sizeof(key));
			key.family = AF_INET6;
			key.id = get32(p + 4);
			memcpy(key.src, ip->src, 16);
			memcpy(key.dst, ip->dst, 16);
			fr.offset = off & 0xfff8;
			fr.more = off & 1;
			fr.nexthdr = p[0];
			fr.data = p + 8;
			fr.len = len - 8;
			frag_input(d, ts_ns, ip, &key, &fr, depth);
			return;
		case IPPROTO_NONE:
			return;
		default:
			l4_input(d, ts_ns, ip, nh, p, len, depth);
			return;
		}
		if (hlen > len) {
			d->st.truncated++;
			return;
		}
		nh = p[0];
		p += hlen;
		len -= hlen;
	}
	d->st.malformed++; /* more extension headers than anyone sends */
}

static void ipv6_input(struct vq_decoder *d, uint64_t ts_ns, const uint8_t *p,
		       size_t len, int depth)
{
	struct l3 ip;
	size_t plen;

	if (len < 40) {
		d->st.truncated++;
		return;
	}
	plen = get16(p + 4);
	/* Payload length 0 means a jumbogram: not on any link we watch. */
	if ((p[0] >> 4) != 6 || plen == 0) {
		d->st.malformed++;
		return;
	}
	if (40 + plen > len) {
		d->st.truncated++;
		return;
	}
	ip.family = AF_INET6;
	memcpy(ip.src, p + 8, 16);
	memcpy(ip.dst, p + 24, 16);
	ipv6_walk(d, ts_ns, &ip, p[6], p + 40, plen, depth, false);
}

static void ip_input(struct vq_decoder *d, uint64_t ts_ns, const uint8_t *p,
		     size_t len, int depth)
{
	if (len < 1) {
		d->st.truncated++;
		return;
	}
	switch (p[0] >> 4) {
	case 4:
		ipv4_input(d, ts_ns, p, len, depth);
		break;
	case 6:
		ipv6_input(d, ts_ns, p, len, depth);
		break;
	default:
		d->st.malformed++;
		break;
	}
}

/* An ethertype, after any VLAN tags that @p starts with. */
static void ether_input(struct vq_decoder *d, uint64_t ts_ns, uint16_t type,
			const uint8_t *p, size_t len)
{
	for (int tags = 0; type == ETH_P_8021Q || type == ETH_P_8021AD ||
			   type == ETH_P_QINQ1; tags++) {
		if (tags == MAX_VLAN_TAGS) {
			d->st.unsupported++;
			return;
		}
		if (len < 4) {
			d->st.truncated++;
			return;
		}
		type = get16(p + 2);
		p += 4;
		len -= 4;
	}
	switch (type) {
	case ETH_P_IP:
		if (len && (p[0] >> 4) != 4) {
			d->st.malformed++;
			return;
		}
		ip_input(d, ts_ns, p, len, 0);
		break;
	case ETH_P_IPV6:
		if (len && (p[0] >> 4) != 6) {
			d->st.malformed++;
			return;
		}
		ip_input(d, ts_ns, p, len, 0);
		break;
	default:
		d->st.unsupported++;
		break;
	}
}

/* BSD loopback: an address family, whose IPv6 value depends on the OS. */
static void null_input(struct vq_decoder *d, uint64_t ts_ns, uint32_t af,
		       const uint8_t *p, size_t len)
{
	/* Written in the capturing host's order, which need not be ours. */
	if (af > 0xffff)
		af = __builtin_bswap32(af);
	switch (af) {
	case 2: /* AF_INET everywhere */
		ether_input(d, ts_ns, ETH_P_IP, p, len);
		break;
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		ether_input(d, ts_ns, ETH_P_IPV6, p, len);
		break;
	default:
		d->st.unsupported++;
		break;
	}
}

int vq_decoder_input(struct vq_decoder *d, int dlt, uint64_t ts_ns,
		     const uint8_t *frame, size_t caplen)
{
	uint32_t af;

	d->st.packets++;
	d->st.bytes += caplen;
	if (ts_ns >= d->next_expire_ns) {
		vq_decoder_expire(d, ts_ns);
		d->next_expire_ns = ts_ns + EXPIRE_EVERY_NS;
	}

	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < 14)
			goto truncated;
		ether_input(d, ts_ns, get16(frame + 12), frame + 14,
			    caplen - 14);
		break;
	case DLT_LINUX_SLL:
		if (caplen < 16)
			goto truncated;
		ether_input(d, ts_ns, get16(frame + 14), frame + 16,
			    caplen - 16);
		break;
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			goto truncated;
		ether_input(d, ts_ns, get16(frame), frame + 20, caplen - 20);
		break;
	case DLT_RAW:
	case LINKTYPE_RAW:
		ip_input(d, ts_ns, frame, caplen, 0);
		break;
	case DLT_IPV4:
		ether_input(d, ts_ns, ETH_P_IP, frame, caplen);
		break;
	case DLT_IPV6:
		ether_input(d, ts_ns, ETH_P_IPV6, frame, caplen);
		break;
	case DLT_NULL:
		if (caplen < 4)
			goto truncated;
		memcpy(&af, frame, 4);
		null_input(d, ts_ns, af, frame + 4, caplen - 4);
		break;
	case DLT_LOOP:
		if (caplen < 4)
			goto truncated;
		null_input(d, ts_ns, get32(frame), frame + 4, caplen - 4);
		break;
	default:
		d->st.unsupported++;
		return -EPROTONOSUPPORT;
	}
	return 0;

truncated:
	d->st.truncated++;
	return 0;
}
