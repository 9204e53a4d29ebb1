// SPDX-License-Identifier: GPL-2.0
/*
 * vqkctl: drives sch_voipq from the VM tests through the agent's own kmod
 * backend (agent/backend_kmod.c), so the netlink cases test the library
 * the daemon uses. Also sends what the library never would (`bad CASE`)
 * to check that the kernel refuses it with a message.
 *
 * Exit status: 0 on success, 1 on a failure (printed with the kernel's
 * extack text), 2 on a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "backend_kmod.h"
#include "endpoint.h"
#include "nl.h"
#include "rate.h"

static const char *prog = "vqkctl";

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [--as-nobody] COMMAND\n"
		"  ep set ADDR[/LEN] PORT [udp|tcp] [rate B/s] [burst B] [clock HZ]\n"
		"         [flags N] [cookie N] [idle MS] [excl]\n"
		"  ep del ADDR[/LEN] PORT [udp|tcp] | ep get ADDR PORT [udp|tcp]\n"
		"  ep dump | ep dump-del N | ep flush | ep fill N | ep churn SECONDS\n"
		"  idle-wait SECONDS ADDR PORT\n"
		"  bad CASE   (family|proto|port0|addr_len|port_len|v4_tail|missing_addr|\n"
		"              no_endpoint|flags|idle|unknown_cmd|unknown_attr|not_nested|burst|\n"
		"              plen_v4|plen_max|host_bits)\n"
		"  qdisc add|change DEV [rate RATE] [share PCT] [limit N] [target US]\n"
		"        [interval US] [ecn 0|1] [trust_dscp 0|1]\n"
		"  qdisc show|del DEV\n",
		prog);
	exit(2);
}

static void fail(const char *what, int err, const char *kmsg)
{
	fprintf(stderr, "%s: %s: %s%s%s%s\n", prog, what, strerror(-err),
		kmsg && *kmsg ? " (kernel says: " : "", kmsg ? kmsg : "",
		kmsg && *kmsg ? ")" : "");
	exit(1);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "%s: not a number: '%s'\n", prog, s);
		exit(2);
	}
	return v;
}

/* ADDR[/LEN] PORT [udp|tcp]; returns how many arguments it took. */
static int parse_key(int argc, char **argv, struct vq_prefix *p)
{
	struct vq_endpoint *ep = &p->ep;
	char err[128];
	int used = 2;

	if (argc < 2)
		usage();
	memset(p, 0, sizeof(*p));
	if (vq_prefix_parse(p, argv[0], err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(2);
	}
	ep->port = (uint16_t)num(argv[1]);
	ep->proto = IPPROTO_UDP;
	if (argc > 2 && !strcmp(argv[2], "tcp")) {
		ep->proto = IPPROTO_TCP;
		used++;
	} else if (argc > 2 && !strcmp(argv[2], "udp")) {
		used++;
	}
	return used;
}

/* ADDR PORT [udp|tcp], one endpoint. */
static int parse_ep(int argc, char **argv, struct vq_endpoint *ep)
{
	struct vq_prefix p;
	int used = parse_key(argc, argv, &p);

	if (!vq_prefix_is_host(&p)) {
		fprintf(stderr, "%s: one address here, not a prefix: '%s'\n",
			prog, argv[0]);
		exit(2);
	}
	*ep = p.ep;
	return used;
}

static struct vq_kmod *open_kmod(void)
{
	struct vq_kmod *k;
	int err = vq_kmod_open(&k);

	if (err)
		fail(err == -ENOENT ? "generic netlink family voipq (is sch_voipq loaded?)" :
		     "open generic netlink", err, NULL);
	return k;
}

/* RTP expected of one direction (A.3), 0 before its first packet. */
static uint32_t rtp_expected(const struct voipq_rtp_dir *r)
{
	return r->flags & VOIPQ_RTP_STARTED ? r->ext_max_seq - r->base_seq + 1 : 0;
}

static int print_entry(void *arg, const struct vq_kmod_entry *e)
{
	const struct voipq_ep_val *v = &e->val;
	const struct voipq_rtp_dir *r = &v->rtp[VOIPQ_DIR_TO];
	const struct voipq_rtp_dir *f = &v->rtp[VOIPQ_DIR_FROM];
	uint32_t expected = rtp_expected(r), fexpected = rtp_expected(f);
	struct vq_prefix p = { .ep = e->ep, .len = e->plen };
	char buf[VQ_PREFIXSTRLEN];

	/* rtp_*: the stream sent to the endpoint; rtp_from_*: the one it sends */
	printf("%s %s rate %u burst %u clock %u flags %u idle %u cookie %" PRIu64
	       " packets %" PRIu64 " bytes %" PRIu64 " drops %" PRIu64
	       " demoted %" PRIu64 " last_seen %" PRIu64
	       " rtp_received %u rtp_expected %u rtp_lost %d jitter_q4 %u"
	       " rtp_from_received %u rtp_from_lost %d rtp_from_jitter_q4 %u\n",
	       vq_prefix_str(&p, buf, sizeof(buf)),
	       e->ep.proto == IPPROTO_TCP ? "tcp" : "udp", e->pol.rate_bps,
	       e->pol.burst, e->pol.clock_rate, e->pol.flags, e->pol.idle_ms,
	       e->pol.cookie, (uint64_t)v->packets, (uint64_t)v->bytes,
	       e->drops, (uint64_t)v->demoted, (uint64_t)v->last_seen_ns,
	       r->received, expected, (int)(expected - r->received),
	       r->jitter_q4, f->received, (int)(fexpected - f->received),
	       f->jitter_q4);
	if (arg)
		(*(int *)arg)++;
	return 0;
}

static void fill_ep(struct vq_endpoint *ep, unsigned int i)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = AF_INET;
	ep->proto = IPPROTO_UDP;
	ep->addr[0] = 10;
	ep->addr[1] = 99;
	ep->addr[2] = (uint8_t)(i >> 8);
	ep->addr[3] = (uint8_t)i;
	ep->port = (uint16_t)(10000 + i % 50000);
}

/*
 * ep dump-del N: a dump that deletes entries 0..N-1 of "ep fill" through a
 * second handle when the first entry arrives, between the dump's parts.
 */
struct dump_del {
	struct vq_kmod *k2;
	unsigned int del;
	int count;
	int err;
};

static int dump_del_entry(void *arg, const struct vq_kmod_entry *e)
{
	struct dump_del *d = arg;
	struct vq_endpoint ep;
	unsigned int i;

	(void)e;
	if (d->count++)
		return 0;
	for (i = 0; i < d->del && !d->err; i++) {
		fill_ep(&ep, i);
		d->err = vq_kmod_ep_del(d->k2, &ep);
	}
	return 0;
}

static int cmd_ep(int argc, char **argv)
{
	struct vq_kmod_policy pol = { 0 };
	struct vq_kmod_entry e;
	struct vq_endpoint ep;
	struct vq_prefix key;
	struct vq_kmod *k;
	char what[96], buf[VQ_PREFIXSTRLEN];
	int err = 0, n, count = 0;
	bool excl = false;

	if (argc < 1)
		usage();
	k = open_kmod();
	if (!strcmp(argv[0], "set")) {
		n = 1 + parse_key(argc - 1, argv + 1, &key);
		ep = key.ep;
		for (; n + 1 <= argc; n += 2) {
			const char *o = argv[n];

			if (!strcmp(o, "excl")) {
				excl = true;
				n--;
				continue;
			}
			if (n + 1 >= argc)
				usage();
			if (!strcmp(o, "rate"))
				pol.rate_bps = (uint32_t)num(argv[n + 1]);
			else if (!strcmp(o, "burst"))
				pol.burst = (uint32_t)num(argv[n + 1]);
			else if (!strcmp(o, "clock"))
				pol.clock_rate = (uint32_t)num(argv[n + 1]);
			else if (!strcmp(o, "flags"))
				pol.flags = (uint32_t)num(argv[n + 1]);
			else if (!strcmp(o, "cookie"))
				pol.cookie = num(argv[n + 1]);
			else if (!strcmp(o, "idle"))
				pol.idle_ms = (uint32_t)num(argv[n + 1]);
			else
				usage();
		}
		err = vq_prefix_is_host(&key) ? vq_kmod_ep_set(k, &ep, &pol, excl)
					      : vq_kmod_pfx_set(k, &key, &pol);
	} else if (!strcmp(argv[0], "del")) {
		parse_key(argc - 1, argv + 1, &key);
		ep = key.ep;
		err = vq_prefix_is_host(&key) ? vq_kmod_ep_del(k, &ep)
					      : vq_kmod_pfx_del(k, &key);
	} else if (!strcmp(argv[0], "get")) {
		parse_ep(argc - 1, argv + 1, &ep);
		key.ep = ep;
		key.len = (uint8_t)vq_prefix_full(ep.family);
		err = vq_kmod_ep_get(k, &ep, &e);
		if (!err)
			print_entry(NULL, &e);
	} else if (!strcmp(argv[0], "dump")) {
		err = vq_kmod_ep_for_each(k, print_entry, &count);
		if (!err)
			printf("count %d\n", count);
	} else if (!strcmp(argv[0], "dump-del") && argc == 2) {
		struct dump_del d = { open_kmod(), (unsigned int)num(argv[1]), 0, 0 };

		err = vq_kmod_ep_for_each(k, dump_del_entry, &d);
		if (!err)
			err = d.err;
		if (!err)
			printf("count %d deleted %u\n", d.count, d.del);
		vq_kmod_close(d.k2);
	} else if (!strcmp(argv[0], "flush")) {
		err = vq_kmod_ep_flush(k);
	} else if (!strcmp(argv[0], "fill") && argc == 2) {
		unsigned int i, total = (unsigned int)num(argv[1]);

		for (i = 0; i < total && !err; i++) {
			fill_ep(&ep, i);
			err = vq_kmod_ep_set(k, &ep, &pol, false);
		}
	} else if (!strcmp(argv[0], "churn") && argc == 2) {
		/* Add and delete while traffic flows: races, not results. */
		time_t end = time(NULL) + (time_t)num(argv[1]);
		unsigned int i = 0;

		while (time(NULL) < end) {
			fill_ep(&ep, i % 64);
			if (i / 64 % 2 == 0)
				err = vq_kmod_ep_set(k, &ep, &pol, false);
			else
				err = vq_kmod_ep_del(k, &ep);
			if (err && err != -ENOENT)
				break;
			err = 0;
			i++;
		}
		printf("churn %u requests\n", i);
	} else {
		usage();
	}
	snprintf(what, sizeof(what), "ep %s%s%s", argv[0], argc > 1 ? " " : "",
		 argc > 1 && strcmp(argv[0], "fill") && strcmp(argv[0], "churn") &&
		 strcmp(argv[0], "dump-del") ?
		 vq_prefix_str(&key, buf, sizeof(buf)) : "");
	if (err)
		fail(what, err, vq_kmod_msg(k));
	vq_kmod_close(k);
	return 0;
}

struct idle_wait {
	struct vq_endpoint ep;
	bool seen;
};

static int idle_cb(void *arg, const struct vq_kmod_entry *e)
{
	struct idle_wait *w = arg;

	print_entry(NULL, e);
	if (vq_endpoint_eq(&e->ep, &w->ep))
		w->seen = true;
	return 0;
}

static int cmd_idle_wait(int argc, char **argv)
{
	struct idle_wait w;
	struct vq_kmod *k;
	time_t end;
	int err;

	if (argc < 3)
		usage();
	end = time(NULL) + (time_t)num(argv[0]);
	parse_ep(argc - 1, argv + 1, &w.ep);
	w.seen = false;
	k = open_kmod();
	err = vq_kmod_idle_open(k);
	if (err)
		fail("join the idle group", err, NULL);
	while (!w.seen && time(NULL) < end) {
		struct pollfd pfd = { vq_kmod_idle_fd(k), POLLIN, 0 };

		if (poll(&pfd, 1, 200) > 0) {
			err = vq_kmod_idle_read(k, idle_cb, &w);
			if (err)
				fail("read idle announcements", err, NULL);
		}
	}
	vq_kmod_close(k);
	if (!w.seen) {
		fprintf(stderr, "%s: no idle announcement\n", prog);
		return 1;
	}
	return 0;
}

/* --- malformed requests -------------------------------------------------- */

static void put_ep_attrs(struct nlmsghdr *nlh, const char *skip)
{
	static const uint8_t addr[16] = { 192, 0, 2, 1 };

	if (strcmp(skip, "family"))
		mnl_attr_put_u8(nlh, VOIPQ_EP_A_FAMILY, AF_INET);
	if (strcmp(skip, "proto"))
		mnl_attr_put_u8(nlh, VOIPQ_EP_A_PROTO, IPPROTO_UDP);
	if (strcmp(skip, "port"))
		mnl_attr_put_u16(nlh, VOIPQ_EP_A_PORT, 4000);
	if (strcmp(skip, "addr"))
		mnl_attr_put(nlh, VOIPQ_EP_A_ADDR, sizeof(addr), addr);
}

static int cmd_bad(int argc, char **argv)
{
	static const uint8_t v4_tail[16] = { 192, 0, 2, 1, 0, 0, 0, 0, 1 };
	uint8_t cmd = VOIPQ_CMD_EP_SET;
	const char *c = argc == 1 ? argv[0] : NULL;
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct nlattr *nest, *pnest;
	struct vq_kmod *k;
	int err;

	if (!c)
		usage();
	k = open_kmod();
	if (!strcmp(c, "unknown_cmd"))
		cmd = 42;
	nlh = vq_kmod_req(k, buf, cmd, 0);
	if (!strcmp(c, "no_endpoint") || !strcmp(c, "unknown_cmd")) {
		/* nothing */
	} else if (!strcmp(c, "not_nested")) {
		mnl_attr_put_u32(nlh, VOIPQ_A_ENDPOINT, 1);
	} else if (!strcmp(c, "unknown_attr")) {
		nest = mnl_attr_nest_start(nlh, VOIPQ_A_ENDPOINT);
		put_ep_attrs(nlh, "");
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u32(nlh, VOIPQ_A_MAX + 7, 1);
	} else {
		nest = mnl_attr_nest_start(nlh, VOIPQ_A_ENDPOINT);
		if (!strcmp(c, "family")) {
			mnl_attr_put_u8(nlh, VOIPQ_EP_A_FAMILY, 99);
			put_ep_attrs(nlh, "family");
		} else if (!strcmp(c, "proto")) {
			mnl_attr_put_u8(nlh, VOIPQ_EP_A_PROTO, 8);
			put_ep_attrs(nlh, "proto");
		} else if (!strcmp(c, "port0")) {
			mnl_attr_put_u16(nlh, VOIPQ_EP_A_PORT, 0);
			put_ep_attrs(nlh, "port");
		} else if (!strcmp(c, "port_len")) {
			mnl_attr_put_u32(nlh, VOIPQ_EP_A_PORT, 4000);
			put_ep_attrs(nlh, "port");
		} else if (!strcmp(c, "addr_len")) {
			mnl_attr_put(nlh, VOIPQ_EP_A_ADDR, 4, v4_tail);
			put_ep_attrs(nlh, "addr");
		} else if (!strcmp(c, "v4_tail")) {
			mnl_attr_put(nlh, VOIPQ_EP_A_ADDR, 16, v4_tail);
			put_ep_attrs(nlh, "addr");
		} else if (!strcmp(c, "missing_addr")) {
			put_ep_attrs(nlh, "addr");
		} else if (!strcmp(c, "plen_v4") || !strcmp(c, "plen_max") ||
			   !strcmp(c, "host_bits")) {
			/* 192.0.2.1: /33 and /129 are too long, /24 has
			 * host bits set */
			put_ep_attrs(nlh, "");
			mnl_attr_put_u8(nlh, VOIPQ_EP_A_PREFIXLEN,
					!strcmp(c, "plen_v4") ? 33 :
					!strcmp(c, "plen_max") ? 129 : 24);
		} else {
			put_ep_attrs(nlh, "");
		}
		mnl_attr_nest_end(nlh, nest);
		if (!strcmp(c, "flags") || !strcmp(c, "idle") || !strcmp(c, "burst")) {
			pnest = mnl_attr_nest_start(nlh, VOIPQ_A_POLICY);
			if (!strcmp(c, "flags"))
				mnl_attr_put_u32(nlh, VOIPQ_POL_A_FLAGS, 1u << 20);
			else if (!strcmp(c, "idle"))
				mnl_attr_put_u32(nlh, VOIPQ_POL_A_IDLE_MS,
						 VOIPQ_IDLE_MS_MAX + 1);
			else
				mnl_attr_put_u32(nlh, VOIPQ_POL_A_RATE, 1000);
			mnl_attr_nest_end(nlh, pnest);
		} else if (strcmp(c, "family") && strcmp(c, "proto") &&
			   strcmp(c, "port0") && strcmp(c, "port_len") &&
			   strcmp(c, "addr_len") && strcmp(c, "v4_tail") &&
			   strcmp(c, "missing_addr") && strcmp(c, "plen_v4") &&
			   strcmp(c, "plen_max") && strcmp(c, "host_bits")) {
			fprintf(stderr, "%s: unknown case '%s'\n", prog, c);
			return 2;
		}
	}
	err = vq_kmod_talk(k, nlh);
	printf("bad %s: %s: %s\n", c, err ? strerror(-err) : "accepted",
	       *vq_kmod_msg(k) ? vq_kmod_msg(k) : "(no message)");
	vq_kmod_close(k);
	return err ? 0 : 1;
}

/* --- qdisc --------------------------------------------------------------- */

static int cmd_qdisc(int argc, char **argv)
{
	struct vq_kmod_qopt o = { 0 };
	struct tc_voipq_xstats xs;
	char msg[VQ_NL_MSGLEN], what[64];
	int err, i;

	if (argc < 2)
		usage();
	snprintf(what, sizeof(what), "qdisc %s %s", argv[0], argv[1]);
	if (!strcmp(argv[0], "show")) {
		err = vq_kmod_qdisc_get(argv[1], &o, &xs);
		if (err)
			fail(what, err, NULL);
		printf("qdisc voipq rate %" PRIu64 " share %u limit %u target %u interval %u ecn %u trust_dscp %u\n",
		       o.rate, o.voice_share, o.limit, o.target_us,
		       o.interval_us, o.ecn, o.trust_dscp);
		printf("voice_packets %llu voice_bytes %llu bulk_packets %llu bulk_bytes %llu by_priority %llu by_table %llu by_dscp %llu demoted %llu voice_over_cap %llu voice_drops %llu overlimit_drops %llu codel_drops %llu ecn_marks %llu throttled %llu gso_split %llu voice_qlen %u bulk_qlen %u new_flows_len %u old_flows_len %u\n",
		       (unsigned long long)xs.voice_packets,
		       (unsigned long long)xs.voice_bytes,
		       (unsigned long long)xs.bulk_packets,
		       (unsigned long long)xs.bulk_bytes,
		       (unsigned long long)xs.by_priority,
		       (unsigned long long)xs.by_table,
		       (unsigned long long)xs.by_dscp,
		       (unsigned long long)xs.demoted,
		       (unsigned long long)xs.voice_over_cap,
		       (unsigned long long)xs.voice_drops,
		       (unsigned long long)xs.overlimit_drops,
		       (unsigned long long)xs.codel_drops,
		       (unsigned long long)xs.ecn_marks,
		       (unsigned long long)xs.throttled,
		       (unsigned long long)xs.gso_split, xs.voice_qlen,
		       xs.bulk_qlen, xs.new_flows_len, xs.old_flows_len);
		return 0;
	}
	if (!strcmp(argv[0], "del")) {
		err = vq_kmod_qdisc_del(argv[1], msg, sizeof(msg));
		if (err)
			fail(what, err, msg);
		return 0;
	}
	if (strcmp(argv[0], "add") && strcmp(argv[0], "change"))
		usage();
	for (i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "rate")) {
			uint64_t bps;

			/* tc's units ("10mbit"), or a plain byte rate. */
			if (vq_rate_parse(v, &bps) == 0)
				o.rate = bps / 8;
			else
				o.rate = num(v);
			o.set |= VQ_QOPT_RATE;
		} else if (!strcmp(k, "share")) {
			o.voice_share = (uint32_t)num(v);
			o.set |= VQ_QOPT_SHARE;
		} else if (!strcmp(k, "limit")) {
			o.limit = (uint32_t)num(v);
			o.set |= VQ_QOPT_LIMIT;
		} else if (!strcmp(k, "target")) {
			o.target_us = (uint32_t)num(v);
			o.set |= VQ_QOPT_TARGET;
		} else if (!strcmp(k, "interval")) {
			o.interval_us = (uint32_t)num(v);
			o.set |= VQ_QOPT_INTERVAL;
		} else if (!strcmp(k, "ecn")) {
			o.ecn = (uint8_t)num(v);
			o.set |= VQ_QOPT_ECN;
		} else if (!strcmp(k, "trust_dscp")) {
			o.trust_dscp = (uint8_t)num(v);
			o.set |= VQ_QOPT_TRUST_DSCP;
		} else {
			usage();
		}
	}
	if (i != argc)
		usage();
	err = vq_kmod_qdisc_set(argv[1], 1, &o, !strcmp(argv[0], "add"), msg,
				sizeof(msg));
	if (err)
		fail(what, err, msg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--as-nobody")) {
		/* No capabilities left: the kernel must refuse changes. */
		if (setgid(65534) || setuid(65534)) {
			perror("setuid");
			return 1;
		}
		argc--;
		argv++;
	}
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		usage();
	if (!strcmp(argv[1], "ep"))
		return cmd_ep(argc - 2, argv + 2);
	if (!strcmp(argv[1], "idle-wait"))
		return cmd_idle_wait(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bad"))
		return cmd_bad(argc - 2, argv + 2);
	if (!strcmp(argv[1], "qdisc"))
		return cmd_qdisc(argc - 2, argv + 2);
	usage();
	return 2;
}
