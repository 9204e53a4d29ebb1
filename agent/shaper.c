// SPDX-License-Identifier: GPL-2.0
/*
 * The shaper, over rtnetlink. Why it looks the way it does:
 *
 * - Shape below the line rate (95 % by default): a shaper at exactly the
 *   line rate still lets the modem's buffer fill whenever the line's real
 *   rate dips, and then the voice priority here is worth nothing.
 * - HTB, because it is everywhere and honours skb->priority = 1:10 before
 *   any filter (htb_classify), which is our hand-off from the classifier.
 *   Voice gets prio 0 and a guaranteed share; bulk is the default class
 *   and is guaranteed the rest, so voice can borrow the idle link but can
 *   never starve bulk below link - voice share (DESIGN.md decision 4).
 * - Pure TCP ACKs (1:30, also set by the classifier) go between the two:
 *   prio 1, a small guaranteed share, and they too may borrow the link
 *   only above bulk's guarantee. A download's ACKs stuck behind an upload
 *   make the download bursty; a per-flow leaf hides that, a pfifo leaf
 *   does not.
 * - No rate tables. Since 3.x the kernel computes transmit times itself
 *   when the ratespec says its link layer (sch_htb.c only reads
 *   TCA_HTB_RTAB for TC_LINKLAYER_UNAWARE, i.e. old tc). Rates above
 *   4 GB/s go in TCA_HTB_RATE64/CEIL64, with the u32 field saturated.
 * - Burst as tc computes it, rate / HZ + MTU, with a 1 ms "HZ" rather than
 *   tc's 1 ns on hrtimer kernels: a few packets at low rates, enough at
 *   1 Gbit/s to cover the qdisc watchdog's wake-up latency.
 * - Leaves: the best the kernel has, found by asking for it (fq_codel,
 *   sfq, pfifo). Leaves are requested with handle 0 and NLM_F_REPLACE,
 *   which the kernel reads as "create and graft if the kind differs,
 *   change in place if it is the same": a missing kind leaves the current
 *   leaf untouched, and a second run changes nothing.
 * - HTB has no qdisc-level change operation, so an HTB 1: root with our
 *   default class is kept as it is and only its classes are updated.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/gen_stats.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/voipq.h>

#include "log.h"
#include "nl.h"
#include "rate.h"
#include "shaper.h"
#include "../bpf/voipq.h"

#define VOICE_ID (VQ_SHAPER_HANDLE | VOIPQ_VOICE_MINOR)
#define BULK_ID (VQ_SHAPER_HANDLE | VOIPQ_BULK_MINOR)
#define ACK_ID (VQ_SHAPER_HANDLE | VOIPQ_ACK_MINOR)
#define LINK_ID (VQ_SHAPER_HANDLE | VQ_SHAPER_LINK_MINOR)
#define CLSACT_HANDLE TC_H_MAKE(TC_H_CLSACT, 0)
#define INGRESS_PARENT TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
#define EGRESS_PARENT TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)

#define HTB_VERSION 3		/* HTB_VER >> 16 */
#define QUANTUM_MAX 200000	/* where HTB itself clamps */
#define PFIFO_MIN 16
#define PFIFO_MAX 1000

/* ---- errors that say what to do --------------------------------------- */

static void fail(char *err, size_t errlen, int e, struct vq_nl *nl,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "<what>: <strerror> (kernel says: ...) — <hint>" */
static void fail(char *err, size_t errlen, int e, struct vq_nl *nl,
		 const char *fmt, ...)
{
	char what[160], why[VQ_NL_MSGLEN + 24] = "";
	const char *hint = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (nl)
		vq_nl_why(nl, why, sizeof(why));
	if (e == -EPERM || e == -EACCES)
		hint = " — run as root (needs CAP_NET_ADMIN)";
	snprintf(err, errlen, "%s: %s%s%s", what, strerror(-e), why, hint);
}

const char *vq_leaf_name(enum vq_leaf leaf)
{
	switch (leaf) {
	case VQ_LEAF_FQ_CODEL: return "fq_codel";
	case VQ_LEAF_SFQ: return "sfq";
	case VQ_LEAF_PFIFO: return "pfifo";
	case VQ_LEAF_NONE: break;
	}
	return "none";
}

const char *vq_root_name(enum vq_root root)
{
	return root == VQ_ROOT_VOIPQ ? "voipq" : "htb";
}

const char *vq_down_mode_name(enum vq_down_mode mode)
{
	switch (mode) {
	case VQ_DOWN_IFB: return "ifb";
	case VQ_DOWN_LAN: return "lan";
	case VQ_DOWN_NONE: break;
	}
	return "none";
}

/* ---- configuration and the numbers ------------------------------------- */

static void ifb_name(const char *wan, char *out)
{
	snprintf(out, IFNAMSIZ, "ifb-%.*s", IFNAMSIZ - 5, wan);
}

int vq_shaper_config_check(struct vq_shaper_config *cfg, char *err,
			   size_t errlen)
{
	if (!cfg->shape_pct)
		cfg->shape_pct = VQ_SHAPER_SHAPE_PCT;
	if (!cfg->down_pct)
		cfg->down_pct = VQ_SHAPER_DOWN_PCT;
	if (!cfg->voice_pct)
		cfg->voice_pct = VQ_SHAPER_VOICE_PCT;
	if (!cfg->wan[0]) {
		snprintf(err, errlen,
			 "WAN interface required, e.g. --wan eth0 (see 'ip link')");
		return -EINVAL;
	}
	if (cfg->shape_pct < 50 || cfg->shape_pct > 100) {
		snprintf(err, errlen,
			 "upstream shaping at %u%% of the line makes no sense: use 50..100 (default %u)",
			 cfg->shape_pct, VQ_SHAPER_SHAPE_PCT);
		return -EINVAL;
	}
	if (cfg->down_pct < 50 || cfg->down_pct > 100) {
		snprintf(err, errlen,
			 "downstream shaping at %u%% of the line makes no sense: use 50..100 (default %u)",
			 cfg->down_pct, VQ_SHAPER_DOWN_PCT);
		return -EINVAL;
	}
	if (cfg->voice_pct > 90) {
		snprintf(err, errlen,
			 "voice share %u%% leaves nothing for data: use 5..90 (default %u)",
			 cfg->voice_pct, VQ_SHAPER_VOICE_PCT);
		return -EINVAL;
	}
	if (!cfg->uplink_bps) {
		snprintf(err, errlen, "uplink rate required, e.g. --uplink 20mbit");
		return -EINVAL;
	}
	if (cfg->down != VQ_DOWN_NONE && !cfg->downlink_bps) {
		snprintf(err, errlen,
			 "downlink rate required, e.g. --downlink 100mbit (or --downstream none to shape upstream only)");
		return -EINVAL;
	}
	if (cfg->uplink_bps < 64000 ||
	    (cfg->down != VQ_DOWN_NONE && cfg->downlink_bps < 64000)) {
		snprintf(err, errlen, "rate %" PRIu64 "bit is too low: at least 64kbit",
			 cfg->uplink_bps < 64000 ? cfg->uplink_bps :
			 cfg->downlink_bps);
		return -EINVAL;
	}
	if (cfg->uplink_bps > 100000000000ULL ||
	    cfg->downlink_bps > 100000000000ULL) {
		snprintf(err, errlen, "rate is absurd: at most 100gbit");
		return -EINVAL;
	}
	if (cfg->down == VQ_DOWN_LAN && !cfg->lan[0]) {
		snprintf(err, errlen,
			 "downstream on the LAN needs its interface, e.g. --lan br0");
		return -EINVAL;
	}
	if (cfg->down == VQ_DOWN_LAN && !strcmp(cfg->lan, cfg->wan)) {
		snprintf(err, errlen,
			 "the LAN interface cannot be the WAN interface '%s': use --downstream ifb",
			 cfg->wan);
		return -EINVAL;
	}
	if (cfg->down == VQ_DOWN_IFB && !cfg->ifb[0])
		ifb_name(cfg->wan, cfg->ifb);
	return 0;
}

struct tree {
	uint64_t link_bps, voice_bps, ack_bps, bulk_bps;
	unsigned int frame;	/* MTU + link header, bytes */
};

/* Shaped link rate and its split; the voice share has a floor. */
static void tree_rates(struct tree *t, uint64_t line_bps, unsigned int pct,
		       const struct vq_shaper_config *cfg, unsigned int mtu)
{
	uint64_t floor_bps;

	t->link_bps = line_bps / 100 * pct + line_bps % 100 * pct / 100;
	t->voice_bps = t->link_bps / 100 * cfg->voice_pct;
	floor_bps = VQ_SHAPER_VOICE_MIN;
	if (floor_bps > t->link_bps / 2)
		floor_bps = t->link_bps / 2;
	if (t->voice_bps < floor_bps)
		t->voice_bps = floor_bps;
	/* voice takes at most 90 %: bulk keeps at least 5 % */
	t->ack_bps = t->link_bps / 100 * VQ_SHAPER_ACK_PCT;
	if (!t->ack_bps)
		t->ack_bps = 1;
	t->bulk_bps = t->link_bps - t->voice_bps - t->ack_bps;
	t->frame = (mtu ? mtu : 1500) + ETH_HLEN;
}

/* Nanoseconds per psched tick, from /proc/net/psched (64 since 2.6.x). */
static void psched_units(uint64_t *t2us, uint64_t *us2t)
{
	unsigned int a, b;
	FILE *f = fopen("/proc/net/psched", "r");

	*t2us = 1000;
	*us2t = 64;
	if (!f)
		return;
	if (fscanf(f, "%08x%08x", &a, &b) == 2 && a && b) {
		*t2us = a;
		*us2t = b;
	}
	fclose(f);
}

/* Time to send @bytes at @bytes_ps, in psched ticks (tc_calc_xmittime). */
static uint32_t xmit_ticks(uint64_t bytes, uint64_t bytes_ps)
{
	uint64_t t2us, us2t;
	unsigned __int128 ticks;

	psched_units(&t2us, &us2t);
	/* ticks per second = 1e6 us * t2us / us2t */
	ticks = (unsigned __int128)bytes * 1000000U * t2us /
		((unsigned __int128)us2t * bytes_ps);
	return ticks > UINT32_MAX ? UINT32_MAX : (uint32_t)ticks;
}

static uint64_t burst_bytes(uint64_t bps, unsigned int frame)
{
	return bps / 8 / 1000 + frame;
}

static uint32_t pfifo_limit(uint64_t bps, unsigned int frame)
{
	/* 100 ms of the class rate in full frames */
	uint64_t n = bps / 8 / 10 / frame;

	if (n < PFIFO_MIN)
		n = PFIFO_MIN;
	if (n > PFIFO_MAX)
		n = PFIFO_MAX;
	return (uint32_t)n;
}

static uint32_t r2q_for(uint64_t link_bps)
{
	uint64_t r2q = link_bps / 8 / QUANTUM_MAX;

	return r2q < 10 ? 10 : (uint32_t)r2q;
}

/* ---- links ----------------------------------------------------------- */

struct link_info {
	int ifindex;
	unsigned int mtu;
	char kind[16];
};

static const struct vq_nl_policy link_policy[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = { MNL_TYPE_NUL_STRING },
	[IFLA_MTU] = { MNL_TYPE_U32 },
	[IFLA_LINKINFO] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy linkinfo_policy[IFLA_INFO_MAX + 1] = {
	[IFLA_INFO_KIND] = { MNL_TYPE_NUL_STRING },
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	const struct nlattr *li[IFLA_INFO_MAX + 1] = { NULL };
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_info *out = data;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	if (vq_nl_parse_attrs(nlh, sizeof(*ifi), link_policy, IFLA_MAX, tb))
		return MNL_CB_ERROR;
	out->ifindex = ifi->ifi_index;
	if (tb[IFLA_MTU])
		out->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_LINKINFO] &&
	    !vq_nl_parse_nested(tb[IFLA_LINKINFO], linkinfo_policy,
				IFLA_INFO_MAX, li) && li[IFLA_INFO_KIND])
		snprintf(out->kind, sizeof(out->kind), "%s",
			 mnl_attr_get_str(li[IFLA_INFO_KIND]));
	return MNL_CB_OK;
}

static int link_get(struct vq_nl *nl, const char *name, struct link_info *li)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	memset(li, 0, sizeof(*li));
	if (!name[0] || strlen(name) >= IFNAMSIZ)
		return -ENODEV;
	nlh = vq_nl_msg(nl, buf, RTM_GETLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return vq_nl_talk(nl, nlh, link_cb, li);
}

/* Look up an interface the user named, with an error that helps. */
static int link_need(struct vq_nl *nl, const char *role, const char *name,
		     struct link_info *li, char *err, size_t errlen)
{
	int ret = link_get(nl, name, li);

	if (ret == -ENODEV)
		snprintf(err, errlen,
			 "no such interface '%s' — check the %s name with 'ip link'",
			 name, role);
	else if (ret)
		fail(err, errlen, ret, nl, "look up interface '%s'", name);
	return ret;
}

static int link_set_up(struct vq_nl *nl, int ifindex)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	nlh = vq_nl_msg(nl, buf, RTM_NEWLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

static int ifb_create(struct vq_nl *nl, const char *name)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;

	nlh = vq_nl_msg(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
			sizeof(*ifi), (void **)&ifi);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ifb");
	mnl_attr_nest_end(nlh, info);
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

static int link_del(struct vq_nl *nl, int ifindex)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	nlh = vq_nl_msg(nl, buf, RTM_DELLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

/* ---- reading qdiscs, classes and filters back --------------------------- */

static const struct vq_nl_policy tc_policy[TCA_MAX + 1] = {
	[TCA_KIND] = { MNL_TYPE_NUL_STRING },
	[TCA_OPTIONS] = { MNL_TYPE_UNSPEC },
	[TCA_STATS2] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy stats_policy[TCA_STATS_MAX + 1] = {
	[TCA_STATS_BASIC] = { MNL_TYPE_BINARY, 12 }, /* bytes u64, packets u32 */
	[TCA_STATS_QUEUE] = { MNL_TYPE_BINARY, sizeof(struct gnet_stats_queue) },
	[TCA_STATS_PKT64] = { MNL_TYPE_U64 },
};

static const struct vq_nl_policy htb_policy[TCA_HTB_MAX + 1] = {
	[TCA_HTB_PARMS] = { MNL_TYPE_BINARY, sizeof(struct tc_htb_opt) },
	[TCA_HTB_INIT] = { MNL_TYPE_BINARY, sizeof(struct tc_htb_glob) },
	[TCA_HTB_RATE64] = { MNL_TYPE_U64 },
	[TCA_HTB_CEIL64] = { MNL_TYPE_U64 },
};

struct tc_obj {
	uint32_t handle, parent;
	char kind[16];
	const struct nlattr *options;
	uint64_t bytes, packets;
	struct gnet_stats_queue q;
};

static int tc_obj_parse(const struct nlmsghdr *nlh, struct tc_obj *o,
			const struct nlattr **tb)
{
	const struct nlattr *st[TCA_STATS_MAX + 1] = { NULL };
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);

	memset(o, 0, sizeof(*o));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm))
		return -EINVAL;
	if (vq_nl_parse_attrs(nlh, sizeof(*tcm), tc_policy, TCA_MAX, tb))
		return -EINVAL;
	o->handle = tcm->tcm_handle;
	o->parent = tcm->tcm_parent;
	if (tb[TCA_KIND])
		snprintf(o->kind, sizeof(o->kind), "%s",
			 mnl_attr_get_str(tb[TCA_KIND]));
	o->options = tb[TCA_OPTIONS];
	if (tb[TCA_STATS2] &&
	    !vq_nl_parse_nested(tb[TCA_STATS2], stats_policy, TCA_STATS_MAX,
				st)) {
		if (st[TCA_STATS_BASIC]) {
			const uint8_t *p = mnl_attr_get_payload(st[TCA_STATS_BASIC]);
			uint32_t pk;

			memcpy(&o->bytes, p, sizeof(o->bytes));
			memcpy(&pk, p + 8, sizeof(pk));
			o->packets = pk;
		}
		if (st[TCA_STATS_PKT64])
			o->packets = mnl_attr_get_u64(st[TCA_STATS_PKT64]);
		if (st[TCA_STATS_QUEUE])
			memcpy(&o->q, mnl_attr_get_payload(st[TCA_STATS_QUEUE]),
			       sizeof(o->q));
	}
	return 0;
}

#define MAX_QDISCS 16

struct qdisc_list {
	int ifindex;
	unsigned int n;
	struct {
		uint32_t handle, parent;
		char kind[16];
		uint32_t defcls, r2q, limit;
		uint32_t drops;
	} q[MAX_QDISCS];
};

static int qdisc_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TCA_MAX + 1] = { NULL };
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct qdisc_list *l = data;
	struct tc_obj o;

	if (nlh->nlmsg_type != RTM_NEWQDISC || tc_obj_parse(nlh, &o, tb))
		return MNL_CB_OK;
	/* Qdisc dumps are for every device: the filter is ours to apply. */
	if (tcm->tcm_ifindex != l->ifindex || l->n == MAX_QDISCS)
		return MNL_CB_OK;
	l->q[l->n].handle = o.handle;
	l->q[l->n].parent = o.parent;
	memcpy(l->q[l->n].kind, o.kind, sizeof(o.kind));
	l->q[l->n].drops = o.q.drops;
	if (o.options && !strcmp(o.kind, "htb")) {
		const struct nlattr *ht[TCA_HTB_MAX + 1] = { NULL };

		if (!vq_nl_parse_nested(o.options, htb_policy, TCA_HTB_MAX,
					ht) && ht[TCA_HTB_INIT]) {
			const struct tc_htb_glob *g =
				mnl_attr_get_payload(ht[TCA_HTB_INIT]);

			l->q[l->n].defcls = g->defcls;
			l->q[l->n].r2q = g->rate2quantum;
		}
	} else if (o.options && !strcmp(o.kind, "pfifo") &&
		   mnl_attr_get_payload_len(o.options) >=
		   sizeof(struct tc_fifo_qopt)) {
		const struct tc_fifo_qopt *f = mnl_attr_get_payload(o.options);

		l->q[l->n].limit = f->limit;
	}
	l->n++;
	return MNL_CB_OK;
}

static int qdisc_list(struct vq_nl *nl, int ifindex, struct qdisc_list *l)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	nlh = vq_nl_msg(nl, buf, RTM_GETQDISC, 0, sizeof(*tcm), (void **)&tcm);
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	return vq_nl_dump(nl, nlh, qdisc_cb, l);
}

static int class_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TCA_MAX + 1] = { NULL };
	const struct nlattr *ht[TCA_HTB_MAX + 1] = { NULL };
	struct vq_shaper_dev_status *ds = data;
	struct vq_shaper_class *c;
	struct tc_obj o;

	if (nlh->nlmsg_type != RTM_NEWTCLASS || tc_obj_parse(nlh, &o, tb))
		return MNL_CB_OK;
	if (strcmp(o.kind, "htb") || ds->nclasses == VQ_SHAPER_MAX_CLASSES)
		return MNL_CB_OK;
	c = &ds->classes[ds->nclasses++];
	memset(c, 0, sizeof(*c));
	c->classid = o.handle;
	c->parent = o.parent;
	c->bytes = o.bytes;
	c->packets = o.packets;
	c->drops = o.q.drops;
	c->overlimits = o.q.overlimits;
	c->requeues = o.q.requeues;
	c->qlen = o.q.qlen;
	c->backlog = o.q.backlog;
	if (o.options && !vq_nl_parse_nested(o.options, htb_policy,
					     TCA_HTB_MAX, ht) &&
	    ht[TCA_HTB_PARMS]) {
		const struct tc_htb_opt *h = mnl_attr_get_payload(ht[TCA_HTB_PARMS]);
		uint64_t rate = h->rate.rate, ceil = h->ceil.rate;

		if (ht[TCA_HTB_RATE64])
			rate = mnl_attr_get_u64(ht[TCA_HTB_RATE64]);
		if (ht[TCA_HTB_CEIL64])
			ceil = mnl_attr_get_u64(ht[TCA_HTB_CEIL64]);
		c->rate_bps = rate * 8;
		c->ceil_bps = ceil * 8;
		c->prio = h->prio;
		c->quantum = h->quantum;
		/* buffer is in ticks: turn it back into bytes at the rate */
		if (rate) {
			uint64_t t2us, us2t;

			psched_units(&t2us, &us2t);
			c->buffer_bytes = (uint32_t)((unsigned __int128)h->buffer *
					  us2t * rate / (t2us * 1000000ULL));
		}
	}
	return MNL_CB_OK;
}

const struct vq_shaper_class *
vq_shaper_find_class(const struct vq_shaper_dev_status *ds, uint32_t classid)
{
	for (unsigned int i = 0; i < ds->nclasses; i++)
		if (ds->classes[i].classid == classid)
			return &ds->classes[i];
	return NULL;
}

static int dev_status(struct vq_nl *nl, const char *dev,
		      struct vq_shaper_dev_status *ds)
{
	char buf[VQ_NL_REQLEN];
	struct qdisc_list ql;
	struct link_info li;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	int ret;

	memset(ds, 0, sizeof(*ds));
	snprintf(ds->dev, sizeof(ds->dev), "%s", dev);
	ret = link_get(nl, dev, &li);
	if (ret)
		return ret;
	ds->ifindex = li.ifindex;
	ret = qdisc_list(nl, li.ifindex, &ql);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < ql.n; i++) {
		if (ql.q[i].parent == TC_H_ROOT) {
			memcpy(ds->root_kind, ql.q[i].kind, sizeof(ds->root_kind));
			ds->root_handle = ql.q[i].handle;
			ds->defcls = ql.q[i].defcls;
			ds->r2q = ql.q[i].r2q;
		} else if (ql.q[i].parent == TC_H_INGRESS) {
			if (!strcmp(ql.q[i].kind, "clsact"))
				ds->has_clsact = true;
			else if (!strcmp(ql.q[i].kind, "ingress"))
				ds->has_ingress = true;
		}
	}
	ds->like_ours = ds->root_handle == VQ_SHAPER_HANDLE &&
		   ((!strcmp(ds->root_kind, "htb") &&
		     ds->defcls == VOIPQ_BULK_MINOR) ||
		    !strcmp(ds->root_kind, "voipq"));
	if (strcmp(ds->root_kind, "htb"))
		return 0;

	nlh = vq_nl_msg(nl, buf, RTM_GETTCLASS, 0, sizeof(*tcm), (void **)&tcm);
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = li.ifindex;
	tcm->tcm_parent = ds->root_handle;
	ret = vq_nl_dump(nl, nlh, class_cb, ds);
	if (ret)
		return ret;
	/* Leaf qdiscs: the ones whose parent is a class. */
	for (unsigned int i = 0; i < ds->nclasses; i++) {
		struct vq_shaper_class *c = &ds->classes[i];

		for (unsigned int j = 0; j < ql.n; j++) {
			if (ql.q[j].parent != c->classid)
				continue;
			c->leaf_handle = ql.q[j].handle;
			memcpy(c->leaf_kind, ql.q[j].kind, sizeof(c->leaf_kind));
			c->leaf_limit = ql.q[j].limit;
			c->leaf_drops = ql.q[j].drops;
		}
	}
	return 0;
}

int vq_shaper_dev_status(const char *dev, struct vq_shaper_dev_status *out,
			 char *err, size_t errlen)
{
	struct vq_nl nl;
	int ret;

	ret = vq_nl_open(&nl, NETLINK_ROUTE);
	if (ret) {
		fail(err, errlen, ret, NULL, "open rtnetlink");
		return ret;
	}
	ret = dev_status(&nl, dev, out);
	if (ret == -ENODEV)
		snprintf(err, errlen,
			 "no such interface '%s' — check the name with 'ip link'",
			 dev);
	else if (ret)
		fail(err, errlen, ret, &nl, "read the qdiscs of '%s'", dev);
	vq_nl_close(&nl);
	return ret;
}

/* Filters at one clsact/ingress hook: how many, and is our redirect there. */
struct filter_scan {
	unsigned int n;
	bool redirect;		/* u32 at our prio, mirred to @to */
	int to;
};

static const struct vq_nl_policy u32_policy[TCA_U32_MAX + 1] = {
	[TCA_U32_ACT] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy act_policy[TCA_ACT_MAX + 1] = {
	[TCA_ACT_KIND] = { MNL_TYPE_NUL_STRING },
	[TCA_ACT_OPTIONS] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy mirred_policy[TCA_MIRRED_MAX + 1] = {
	[TCA_MIRRED_PARMS] = { MNL_TYPE_BINARY, sizeof(struct tc_mirred) },
};

/* Does this u32 filter's action list redirect to @ifindex? */
static bool u32_redirects_to(const struct nlattr *opts, int ifindex)
{
	const struct nlattr *ut[TCA_U32_MAX + 1] = { NULL };
	const struct nlattr *a;

	if (vq_nl_parse_nested(opts, u32_policy, TCA_U32_MAX, ut) ||
	    !ut[TCA_U32_ACT])
		return false;
	mnl_attr_for_each_nested(a, ut[TCA_U32_ACT]) {
		const struct nlattr *at[TCA_ACT_MAX + 1] = { NULL };
		const struct nlattr *mt[TCA_MIRRED_MAX + 1] = { NULL };
		const struct tc_mirred *m;

		if (vq_nl_parse_nested(a, act_policy, TCA_ACT_MAX, at) ||
		    !at[TCA_ACT_KIND] || !at[TCA_ACT_OPTIONS] ||
		    strcmp(mnl_attr_get_str(at[TCA_ACT_KIND]), "mirred"))
			continue;
		if (vq_nl_parse_nested(at[TCA_ACT_OPTIONS], mirred_policy,
				       TCA_MIRRED_MAX, mt) ||
		    !mt[TCA_MIRRED_PARMS])
			continue;
		m = mnl_attr_get_payload(mt[TCA_MIRRED_PARMS]);
		if (m->eaction == TCA_EGRESS_REDIR && (int)m->ifindex == ifindex)
			return true;
	}
	return false;
}

static int filter_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TCA_MAX + 1] = { NULL };
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct filter_scan *fs = data;
	struct tc_obj o;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || tc_obj_parse(nlh, &o, tb))
		return MNL_CB_OK;
	fs->n++;
	if (TC_H_MAJ(tcm->tcm_info) >> 16 == VQ_SHAPER_REDIRECT_PRIO &&
	    !strcmp(o.kind, "u32") && o.options &&
	    u32_redirects_to(o.options, fs->to))
		fs->redirect = true;
	return MNL_CB_OK;
}

static int filter_scan(struct vq_nl *nl, int ifindex, uint32_t parent,
		       int to, struct filter_scan *fs)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	memset(fs, 0, sizeof(*fs));
	fs->to = to;
	nlh = vq_nl_msg(nl, buf, RTM_GETTFILTER, 0, sizeof(*tcm),
			(void **)&tcm);
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	return vq_nl_dump(nl, nlh, filter_cb, fs);
}

/* Filters on @ifindex's clsact qdisc, ingress and egress together. */
static int clsact_filters(struct vq_nl *nl, int ifindex, unsigned int *n)
{
	struct filter_scan in, eg;
	int ret;

	ret = filter_scan(nl, ifindex, INGRESS_PARENT, 0, &in);
	if (!ret)
		ret = filter_scan(nl, ifindex, EGRESS_PARENT, 0, &eg);
	*n = ret ? 0 : in.n + eg.n;
	return ret;
}

int vq_tc_clsact_filters(int ifindex, unsigned int *n)
{
	struct vq_nl nl;
	int ret;

	*n = 0;
	ret = vq_nl_open(&nl, NETLINK_ROUTE);
	if (ret)
		return ret;
	ret = clsact_filters(&nl, ifindex, n);
	vq_nl_close(&nl);
	return ret;
}

/* ---- building the tree ----------------------------------------------- */

static struct nlmsghdr *tc_msg(struct vq_nl *nl, void *buf, uint16_t type,
			       uint16_t flags, int ifindex, uint32_t parent,
			       uint32_t handle, const char *kind)
{
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	nlh = vq_nl_msg(nl, buf, type, flags, sizeof(*tcm), (void **)&tcm);
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	if (kind)
		mnl_attr_put_strz(nlh, TCA_KIND, kind);
	return nlh;
}

/*
 * @replace: the root is voipq's own sch_voipq, to become HTB. Otherwise
 * the root is created exclusively: the kernel puts it in place of a
 * default root (handle 0:) and refuses anyone's else with -EEXIST.
 */
static int htb_root(struct vq_nl *nl, int ifindex, uint32_t r2q, bool replace)
{
	struct tc_htb_glob g = {
		.version = HTB_VERSION,
		.rate2quantum = r2q,
		.defcls = VOIPQ_BULK_MINOR,
	};
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct nlattr *opts;

	nlh = tc_msg(nl, buf, RTM_NEWQDISC, NLM_F_CREATE |
		     (replace ? NLM_F_REPLACE : NLM_F_EXCL), ifindex, TC_H_ROOT,
		     VQ_SHAPER_HANDLE, "htb");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_HTB_INIT, sizeof(g), &g);
	mnl_attr_nest_end(nlh, opts);
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

static void ratespec(struct tc_ratespec *r, uint64_t bytes_ps)
{
	memset(r, 0, sizeof(*r));
	r->linklayer = TC_LINKLAYER_ETHERNET; /* no rate table needed */
	r->rate = bytes_ps >= UINT32_MAX ? UINT32_MAX : (uint32_t)bytes_ps;
}

static int htb_class(struct vq_nl *nl, int ifindex, uint32_t parent,
		     uint32_t classid, uint64_t rate_bps, uint64_t ceil_bps,
		     uint32_t prio, uint32_t r2q, unsigned int frame)
{
	uint64_t rate = rate_bps / 8, ceil = ceil_bps / 8, quantum;
	struct tc_htb_opt o;
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct nlattr *opts;

	memset(&o, 0, sizeof(o));
	ratespec(&o.rate, rate);
	ratespec(&o.ceil, ceil);
	o.buffer = xmit_ticks(burst_bytes(rate_bps, frame), rate);
	o.cbuffer = xmit_ticks(burst_bytes(ceil_bps, frame), ceil);
	quantum = rate / r2q;
	if (quantum < frame)
		quantum = frame;
	if (quantum > QUANTUM_MAX)
		quantum = QUANTUM_MAX;
	o.quantum = (uint32_t)quantum;
	o.prio = prio;

	nlh = tc_msg(nl, buf, RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_REPLACE,
		     ifindex, parent, classid, "htb");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_HTB_PARMS, sizeof(o), &o);
	if (rate >= UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_HTB_RATE64, rate);
	if (ceil >= UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_HTB_CEIL64, ceil);
	mnl_attr_nest_end(nlh, opts);
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

static int leaf_qdisc(struct vq_nl *nl, int ifindex, uint32_t classid,
		      enum vq_leaf kind, uint64_t rate_bps, unsigned int frame)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;

	/* Handle 0: graft a new leaf if the kind differs, else change it. */
	nlh = tc_msg(nl, buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE,
		     ifindex, classid, 0, vq_leaf_name(kind));
	if (kind == VQ_LEAF_PFIFO) {
		/* pfifo's options are a bare struct, not a nest */
		struct tc_fifo_qopt f = { .limit = pfifo_limit(rate_bps, frame) };

		mnl_attr_put(nlh, TCA_OPTIONS, sizeof(f), &f);
	}
	/* fq_codel and sfq: their defaults are the right ones. */
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

/* The kernel has no such qdisc (or cannot build it here): try the next. */
static bool kind_missing(int ret)
{
	return ret == -ENOENT || ret == -EOPNOTSUPP;
}

static int leaves(struct vq_nl *nl, const char *dev, int ifindex,
		  const struct tree *t, unsigned int skip, enum vq_leaf *leaf,
		  char *err, size_t errlen)
{
	static const enum vq_leaf order[] = {
		VQ_LEAF_FQ_CODEL, VQ_LEAF_SFQ, VQ_LEAF_PFIFO,
	};
	const struct { uint32_t id; uint64_t bps; } cls[] = {
		{ VOICE_ID, t->voice_bps }, { ACK_ID, t->ack_bps },
		{ BULK_ID, t->bulk_bps },
	};
	int ret = 0;

	for (size_t c = 0; c < sizeof(cls) / sizeof(cls[0]); c++) {
		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			enum vq_leaf k = order[i];

			/* once one kind worked, use it for every leaf */
			if ((*leaf && k != *leaf) || (skip & (1U << k)))
				continue;
			ret = leaf_qdisc(nl, ifindex, cls[c].id, k, cls[c].bps,
					 t->frame);
			if (!ret) {
				if (*leaf != k)
					pr_debug("shaper: leaf qdisc on %s is %s",
						 dev, vq_leaf_name(k));
				*leaf = k;
				break;
			}
			if (!kind_missing(ret) || k == VQ_LEAF_PFIFO)
				break;
			pr_debug("shaper: no %s in this kernel (%s), trying the next",
				 vq_leaf_name(k), nl->msg);
		}
		if (ret) {
			fail(err, errlen, ret, nl,
			     "add the leaf qdisc of class %x:%x on %s",
			     TC_H_MAJ(cls[c].id) >> 16, TC_H_MIN(cls[c].id),
			     dev);
			return ret;
		}
	}
	return 0;
}

/*
 * A root qdisc voipq has no record of making: someone's shaper (or a tree
 * shaped like voipq's, such as wondershaper's "htb 1: default 20", or
 * voipq's own from a run whose state file is gone). voipq neither adopts
 * nor replaces it, because teardown would then delete it.
 */
static int foreign_root(char *err, size_t errlen, const char *dev,
			const struct vq_shaper_dev_status *ds, enum vq_root root)
{
	/* How to keep it and still run voipqd. */
	const char *keep = root == VQ_ROOT_VOIPQ ?
			   "use backend = bpf with shape = no" :
			   "run voipqd with shape = no";

	snprintf(err, errlen,
		 "%s already has a root qdisc (%s %x:) that voipq has no record of making: remove it (tc qdisc del dev %s root), or keep it and %s",
		 dev, ds->root_kind, ds->root_handle >> 16, dev, keep);
	return -EEXIST;
}

/*
 * The HTB tree. A root is voipq's when its state says voipq made it
 * (@root, kept in the state file across restarts) and it still looks like
 * voipq's: then it is changed in place. Anything else is created
 * exclusively.
 */
static int tree_install(struct vq_nl *nl, const char *dev, int ifindex,
			const struct tree *t, unsigned int leaf_skip,
			enum vq_leaf *leaf, bool *root, char *err,
			size_t errlen)
{
	uint32_t r2q = r2q_for(t->link_bps);
	struct vq_shaper_dev_status ds;
	bool owned;
	int ret;

	ret = dev_status(nl, dev, &ds);
	if (ret) {
		fail(err, errlen, ret, nl, "read the qdiscs of %s", dev);
		return ret;
	}
	owned = *root && ds.like_ours;
	if (!owned || strcmp(ds.root_kind, "htb")) {
		ret = htb_root(nl, ifindex, r2q, owned);
		if (ret == -ENOENT && !strcmp(nl->msg, "Specified qdisc kind is unknown")) {
			snprintf(err, errlen,
				 "HTB is not available in this kernel (CONFIG_NET_SCH_HTB): voipq needs it to shape %s",
				 dev);
			return -EOPNOTSUPP;
		}
		if (ret == -EEXIST)
			return foreign_root(err, errlen, dev, &ds, VQ_ROOT_HTB);
		if (ret) {
			fail(err, errlen, ret, nl, "add the HTB root on %s", dev);
			return ret;
		}
	}
	*root = true;

	ret = htb_class(nl, ifindex, VQ_SHAPER_HANDLE, LINK_ID, t->link_bps,
			t->link_bps, 0, r2q, t->frame);
	if (!ret)
		ret = htb_class(nl, ifindex, LINK_ID, VOICE_ID, t->voice_bps,
				t->link_bps, 0, r2q, t->frame);
	if (!ret)
		ret = htb_class(nl, ifindex, LINK_ID, ACK_ID, t->ack_bps,
				t->link_bps, 1, r2q, t->frame);
	if (!ret)
		ret = htb_class(nl, ifindex, LINK_ID, BULK_ID, t->bulk_bps,
				t->link_bps, 2, r2q, t->frame);
	if (ret) {
		fail(err, errlen, ret, nl, "add the HTB classes on %s", dev);
		return ret;
	}
	return leaves(nl, dev, ifindex, t, leaf_skip, leaf, err, errlen);
}

/*
 * sch_voipq as the whole tree: its own shaper at the link rate, the voice
 * band capped at the voice share. Ours (as tree_install() decides) is
 * changed in place, or replaced when it is our HTB tree; anyone else's
 * root is left alone.
 */
static int voipq_install(struct vq_nl *nl, const char *dev, int ifindex,
			 const struct tree *t, bool *root, char *err,
			 size_t errlen)
{
	uint64_t share = t->voice_bps * 100 / t->link_bps;
	struct vq_shaper_dev_status ds;
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	uint16_t flags;
	bool owned;
	int ret;

	ret = dev_status(nl, dev, &ds);
	if (ret) {
		fail(err, errlen, ret, nl, "read the qdiscs of %s", dev);
		return ret;
	}
	owned = *root && ds.like_ours;
	if (owned && !strcmp(ds.root_kind, "voipq"))
		flags = 0; /* change */
	else
		flags = NLM_F_CREATE | (owned ? NLM_F_REPLACE : NLM_F_EXCL);
	nlh = tc_msg(nl, buf, RTM_NEWQDISC, flags, ifindex, TC_H_ROOT,
		     VQ_SHAPER_HANDLE, "voipq");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put_u64(nlh, TCA_VOIPQ_RATE, t->link_bps / 8);
	mnl_attr_put_u32(nlh, TCA_VOIPQ_VOICE_SHARE,
			 (uint32_t)(share < VOIPQ_SHARE_MIN ? VOIPQ_SHARE_MIN :
				    share > VOIPQ_SHARE_MAX ? VOIPQ_SHARE_MAX :
				    share));
	mnl_attr_nest_end(nlh, opts);
	ret = vq_nl_talk(nl, nlh, NULL, NULL);
	if (ret == -ENOENT && flags) {
		snprintf(err, errlen,
			 "sch_voipq is not available on %s: load it (modprobe sch_voipq; kmod/README.md says how to build it) or use backend = bpf",
			 dev);
		return -EOPNOTSUPP;
	}
	if (ret == -EEXIST)
		return foreign_root(err, errlen, dev, &ds, VQ_ROOT_VOIPQ);
	if (ret) {
		fail(err, errlen, ret, nl, "add sch_voipq as the root of %s", dev);
		return ret;
	}
	*root = true;
	return 0;
}

static int root_install(struct vq_nl *nl, const struct vq_shaper_config *cfg,
			const char *dev, int ifindex, const struct tree *t,
			struct vq_shaper_state *st, bool *root, char *err,
			size_t errlen)
{
	if (cfg->root == VQ_ROOT_VOIPQ)
		return voipq_install(nl, dev, ifindex, t, root, err, errlen);
	return tree_install(nl, dev, ifindex, t, cfg->leaf_skip, &st->leaf,
			    root, err, errlen);
}

static int root_delete(struct vq_nl *nl, const char *dev)
{
	struct vq_shaper_dev_status ds;
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	int ret;

	ret = dev_status(nl, dev, &ds);
	if (ret)
		return ret;
	/* Only what we put there: HTB 1: with our default class. */
	if (!ds.like_ours)
		return 0;
	nlh = tc_msg(nl, buf, RTM_DELQDISC, 0, ds.ifindex, TC_H_ROOT,
		     VQ_SHAPER_HANDLE, NULL);
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

/* ---- the WAN ingress redirect to the IFB ------------------------------- */

static int redirect_delete(struct vq_nl *nl, int ifindex)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	nlh = tc_msg(nl, buf, RTM_DELTFILTER, 0, ifindex, INGRESS_PARENT, 0,
		     "u32");
	tcm = mnl_nlmsg_get_payload(nlh);
	tcm->tcm_info = TC_H_MAKE((uint32_t)VQ_SHAPER_REDIRECT_PRIO << 16,
				  htons(ETH_P_ALL));
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

/*
 * u32 "match u32 0 0" (one key, mask 0: every packet) with one action,
 * mirred egress redirect to the IFB:
 *   TCA_OPTIONS { TCA_U32_SEL, TCA_U32_ACT { 1 { TCA_ACT_KIND "mirred",
 *                 TCA_ACT_OPTIONS { TCA_MIRRED_PARMS } } } }
 */
static int redirect_add(struct vq_nl *nl, int ifindex, int to)
{
	/* The selector with its one key in keys[], as the kernel reads it. */
	const struct tc_u32_sel sel = { .nkeys = 1, .flags = TC_U32_TERMINAL };
	const struct tc_u32_key key = { 0 };
	char s[offsetof(struct tc_u32_sel, keys) + sizeof(key)];
	struct tc_mirred m;
	char buf[VQ_NL_REQLEN];
	struct nlattr *opts, *acts, *act, *aopts;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	memcpy(s, &sel, offsetof(struct tc_u32_sel, keys));
	memcpy(s + offsetof(struct tc_u32_sel, keys), &key, sizeof(key));
	memset(&m, 0, sizeof(m));
	m.action = TC_ACT_STOLEN;
	m.eaction = TCA_EGRESS_REDIR;
	m.ifindex = (uint32_t)to;

	nlh = tc_msg(nl, buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL,
		     ifindex, INGRESS_PARENT, 0, "u32");
	tcm = mnl_nlmsg_get_payload(nlh);
	tcm->tcm_info = TC_H_MAKE((uint32_t)VQ_SHAPER_REDIRECT_PRIO << 16,
				  htons(ETH_P_ALL));
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(s), s);
	acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	act = mnl_attr_nest_start(nlh, 1); /* action order */
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

/* A clsact (or, on old kernels, ingress) qdisc on @ifindex; created? */
static int ingress_ensure(struct vq_nl *nl, const char *dev, int ifindex,
			  bool *created, char *err, size_t errlen)
{
	static const char *const kinds[] = { "clsact", "ingress" };
	struct vq_shaper_dev_status ds;
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	int ret;

	ret = dev_status(nl, dev, &ds);
	if (ret) {
		fail(err, errlen, ret, nl, "read the qdiscs of %s", dev);
		return ret;
	}
	if (ds.has_clsact || ds.has_ingress)
		return 0; /* someone's (or ours from before): use it */
	for (size_t i = 0; i < 2; i++) {
		nlh = tc_msg(nl, buf, RTM_NEWQDISC,
			     NLM_F_CREATE | NLM_F_EXCL, ifindex, TC_H_CLSACT,
			     CLSACT_HANDLE, kinds[i]);
		ret = vq_nl_talk(nl, nlh, NULL, NULL);
		if (!ret) {
			*created = true;
			return 0;
		}
		if (!kind_missing(ret))
			break;
	}
	fail(err, errlen, ret, nl, "add a clsact qdisc on %s for the IFB redirect",
	     dev);
	return ret;
}

/* ---- setup and teardown ---------------------------------------------- */

static int down_teardown(struct vq_nl *nl, struct vq_shaper_state *st,
			 char *err, size_t errlen);

static int ifb_ensure(struct vq_nl *nl, const char *name,
		      struct vq_shaper_state *st, struct link_info *li,
		      char *err, size_t errlen)
{
	int ret = link_get(nl, name, li);

	if (ret == -ENODEV) {
		ret = ifb_create(nl, name);
		if (ret == -EOPNOTSUPP || (ret == -ENOENT)) {
			snprintf(err, errlen,
				 "cannot create IFB device '%s': this kernel has no IFB (CONFIG_IFB) — shape downstream on the LAN instead (--downstream lan --lan IFACE)",
				 name);
			return ret;
		}
		if (ret) {
			fail(err, errlen, ret, nl, "create IFB device '%s'", name);
			return ret;
		}
		st->ifb_created = true;
		ret = link_get(nl, name, li);
	}
	if (ret) {
		fail(err, errlen, ret, nl, "look up IFB device '%s'", name);
		return ret;
	}
	if (strcmp(li->kind, "ifb")) {
		snprintf(err, errlen,
			 "interface '%s' exists and is not an IFB device (kind '%s') — pick another name with --ifb",
			 name, li->kind[0] ? li->kind : "none");
		return -EEXIST;
	}
	ret = link_set_up(nl, li->ifindex);
	if (ret)
		fail(err, errlen, ret, nl, "bring IFB device '%s' up", name);
	return ret;
}

/*
 * @dev's root is free for voipq: the kernel's default (handle 0:), or
 * voipq's own (@ours: its state says voipq made it). Checked before setup
 * changes anything, so that a configuration that cannot be applied leaves
 * the running one as it is.
 */
static int root_free(struct vq_nl *nl, const struct vq_shaper_config *cfg,
		     const char *dev, bool ours, char *err, size_t errlen)
{
	struct vq_shaper_dev_status ds;
	int ret;

	ret = dev_status(nl, dev, &ds);
	if (ret) {
		fail(err, errlen, ret, nl, "read the qdiscs of %s", dev);
		return ret;
	}
	if (!ds.root_handle || (ours && ds.like_ours))
		return 0;
	return foreign_root(err, errlen, dev, &ds, cfg->root);
}

static int setup(struct vq_nl *nl, const struct vq_shaper_config *cfg,
		 struct vq_shaper_state *st, char *err, size_t errlen)
{
	struct link_info wan, down;
	const char *down_name;
	struct tree t;
	int ret;

	ret = link_need(nl, "WAN", cfg->wan, &wan, err, errlen);
	if (ret)
		return ret;
	if (cfg->down == VQ_DOWN_LAN) {
		ret = link_need(nl, "LAN", cfg->lan, &down, err, errlen);
		if (ret)
			return ret;
	}
	down_name = cfg->down == VQ_DOWN_IFB ? cfg->ifb :
		    cfg->down == VQ_DOWN_LAN ? cfg->lan : "";
	/* Before anything changes: no root of someone else's in the way. */
	ret = root_free(nl, cfg, cfg->wan,
			!strcmp(st->wan, cfg->wan) && st->up_root, err, errlen);
	if (!ret && cfg->down == VQ_DOWN_LAN)
		ret = root_free(nl, cfg, down_name,
				!strcmp(st->down_dev, down_name) && st->down_root,
				err, errlen);
	if (ret)
		return ret;
	/* Another WAN, or another downstream, than last time: undo that. */
	if (st->wan[0] && strcmp(st->wan, cfg->wan)) {
		ret = vq_shaper_teardown(st, err, errlen);
		if (ret)
			return ret;
	}
	if (st->down_dev[0] &&
	    (st->down != cfg->down || strcmp(st->down_dev, down_name))) {
		ret = down_teardown(nl, st, err, errlen);
		if (ret)
			return ret;
	}
	snprintf(st->wan, sizeof(st->wan), "%s", cfg->wan);
	st->leaf = VQ_LEAF_NONE; /* found afresh: the kernel may have changed */
	st->root = cfg->root;

	tree_rates(&t, cfg->uplink_bps, cfg->shape_pct, cfg, wan.mtu);
	st->up_bps = t.link_bps;
	st->up_voice_bps = t.voice_bps;
	ret = root_install(nl, cfg, cfg->wan, wan.ifindex, &t, st,
			   &st->up_root, err, errlen);
	if (ret)
		return ret;

	if (cfg->down == VQ_DOWN_NONE)
		return 0;
	st->down = cfg->down;
	snprintf(st->down_dev, sizeof(st->down_dev), "%s", down_name);
	if (cfg->down == VQ_DOWN_IFB) {
		ret = ifb_ensure(nl, cfg->ifb, st, &down, err, errlen);
		if (ret)
			return ret;
		ret = ingress_ensure(nl, cfg->wan, wan.ifindex,
				     &st->clsact_created, err, errlen);
		if (ret)
			return ret;
		/* Tree first, redirect last: nothing lands on a bare IFB. */
	}
	/* Policing downstream is about the same packets: same MTU basis. */
	tree_rates(&t, cfg->downlink_bps, cfg->down_pct, cfg, down.mtu);
	st->down_bps = t.link_bps;
	st->down_voice_bps = t.voice_bps;
	ret = root_install(nl, cfg, down_name, down.ifindex, &t, st,
			   &st->down_root, err, errlen);
	if (ret)
		return ret;
	if (cfg->down == VQ_DOWN_IFB) {
		struct filter_scan fs;

		ret = filter_scan(nl, wan.ifindex, INGRESS_PARENT,
				  down.ifindex, &fs);
		if (!ret && fs.redirect) {
			st->redirect = true;
			return 0;
		}
		/* A stale one (to an older IFB) goes first. */
		redirect_delete(nl, wan.ifindex);
		ret = redirect_add(nl, wan.ifindex, down.ifindex);
		if (ret) {
			fail(err, errlen, ret, nl,
			     "redirect %s ingress to %s (u32 + mirred)",
			     cfg->wan, cfg->ifb);
			return ret;
		}
		st->redirect = true;
	}
	return 0;
}

int vq_shaper_setup(const struct vq_shaper_config *cfg_in,
		    struct vq_shaper_state *st, char *err, size_t errlen)
{
	struct vq_shaper_config cfg = *cfg_in;
	struct vq_nl nl;
	int ret;

	err[0] = '\0';
	ret = vq_shaper_config_check(&cfg, err, errlen);
	if (ret)
		return ret;
	ret = vq_nl_open(&nl, NETLINK_ROUTE);
	if (ret) {
		fail(err, errlen, ret, NULL, "open rtnetlink");
		return ret;
	}
	ret = setup(&nl, &cfg, st, err, errlen);
	vq_nl_close(&nl);
	if (!ret) {
		char up[32], down[32];

		pr_info("shaper: %s up %s%s%s, %s %s\n", cfg.wan,
			vq_rate_format(st->up_bps, up, sizeof(up)),
			st->down_dev[0] ? ", down " : "",
			st->down_dev[0] ? vq_rate_format(st->down_bps, down,
							     sizeof(down)) : "",
			st->root == VQ_ROOT_VOIPQ ? "root" : "leaves",
			st->root == VQ_ROOT_VOIPQ ? "sch_voipq" :
			vq_leaf_name(st->leaf));
	}
	return ret;
}

/* Ignore "already gone": teardown must be re-runnable. */
static bool gone(int ret)
{
	return ret == -ENOENT || ret == -ENODEV || ret == -EINVAL;
}

static int down_teardown(struct vq_nl *nl, struct vq_shaper_state *st,
			 char *err, size_t errlen)
{
	struct link_info wan, down;
	int ret, first = 0;

	if (st->redirect && !link_get(nl, st->wan, &wan)) {
		ret = redirect_delete(nl, wan.ifindex);
		if (ret && !gone(ret) && !first) {
			first = ret;
			fail(err, errlen, ret, nl, "delete the redirect on %s",
			     st->wan);
		}
	}
	st->redirect = false;
	if (st->clsact_created && !link_get(nl, st->wan, &wan)) {
		unsigned int n;

		/* Someone attached filters since (the classifier): keep it. */
		if (!clsact_filters(nl, wan.ifindex, &n) && !n) {
			char buf[VQ_NL_REQLEN];
			struct nlmsghdr *nlh;

			nlh = tc_msg(nl, buf, RTM_DELQDISC, 0, wan.ifindex,
				     TC_H_CLSACT, CLSACT_HANDLE, NULL);
			ret = vq_nl_talk(nl, nlh, NULL, NULL);
			if (ret && !gone(ret) && !first) {
				first = ret;
				fail(err, errlen, ret, nl,
				     "delete the clsact qdisc on %s", st->wan);
			}
		} else {
			pr_info("shaper: leaving clsact on %s: %u filters still use it\n",
				st->wan, n);
		}
	}
	st->clsact_created = false;
	if (st->down_dev[0] && !link_get(nl, st->down_dev, &down)) {
		if (st->ifb_created && !strcmp(down.kind, "ifb"))
			ret = link_del(nl, down.ifindex);
		else if (st->down_root)
			ret = root_delete(nl, st->down_dev);
		else
			ret = 0;
		if (ret && !gone(ret) && !first) {
			first = ret;
			fail(err, errlen, ret, nl, "remove the shaper on %s",
			     st->down_dev);
		}
	}
	st->ifb_created = false;
	st->down_root = false;
	st->down_dev[0] = '\0';
	st->down = VQ_DOWN_NONE;
	st->down_bps = st->down_voice_bps = 0;
	return first;
}

int vq_shaper_teardown(struct vq_shaper_state *st, char *err, size_t errlen)
{
	struct vq_nl nl;
	int ret, first;

	err[0] = '\0';
	ret = vq_nl_open(&nl, NETLINK_ROUTE);
	if (ret) {
		fail(err, errlen, ret, NULL, "open rtnetlink");
		return ret;
	}
	first = down_teardown(&nl, st, err, errlen);
	if (st->up_root && st->wan[0]) {
		ret = root_delete(&nl, st->wan);
		if (ret && !gone(ret) && !first) {
			first = ret;
			fail(err, errlen, ret, &nl, "remove the shaper on %s",
			     st->wan);
		}
	}
	vq_nl_close(&nl);
	if (!first)
		memset(st, 0, sizeof(*st));
	return first;
}

int vq_shaper_status(const struct vq_shaper_state *st,
		     struct vq_shaper_status *out, char *err, size_t errlen)
{
	struct vq_nl nl;
	int ret;

	memset(out, 0, sizeof(*out));
	out->down_mode = st->down;
	out->leaf = st->leaf;
	ret = vq_nl_open(&nl, NETLINK_ROUTE);
	if (ret) {
		fail(err, errlen, ret, NULL, "open rtnetlink");
		return ret;
	}
	ret = dev_status(&nl, st->wan, &out->up);
	if (ret) {
		fail(err, errlen, ret, &nl, "read the shaper on '%s'", st->wan);
		goto out_close;
	}
	if (st->down_dev[0]) {
		ret = dev_status(&nl, st->down_dev, &out->down);
		if (ret) {
			fail(err, errlen, ret, &nl, "read the shaper on '%s'",
			     st->down_dev);
			goto out_close;
		}
	}
	if (st->down == VQ_DOWN_IFB && out->down.ifindex) {
		struct filter_scan fs;

		ret = filter_scan(&nl, out->up.ifindex, INGRESS_PARENT,
				  out->down.ifindex, &fs);
		if (ret) {
			fail(err, errlen, ret, &nl,
			     "read the ingress filters of '%s'", st->wan);
			goto out_close;
		}
		out->redirect_ok = fs.redirect;
	}
out_close:
	vq_nl_close(&nl);
	return ret;
}

/* ---- state file ------------------------------------------------------ */

int vq_shaper_state_save(const struct vq_shaper_state *st, const char *path)
{
	char tmp[4096];
	FILE *f;
	int ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# voipq shaper state: what voipqd installed, for teardown\n"
		   "version=1\nwan=%s\ndown_mode=%s\ndown_dev=%s\n"
		   "up_root=%d\ndown_root=%d\nifb_created=%d\n"
		   "clsact_created=%d\nredirect=%d\nleaf=%s\nroot=%s\n"
		   "up_bps=%" PRIu64 "\ndown_bps=%" PRIu64 "\n"
		   "up_voice_bps=%" PRIu64 "\ndown_voice_bps=%" PRIu64 "\n",
		st->wan,
		vq_down_mode_name(st->down_dev[0] ? st->down : VQ_DOWN_NONE),
		st->down_dev,
		st->up_root, st->down_root, st->ifb_created,
		st->clsact_created, st->redirect, vq_leaf_name(st->leaf),
		vq_root_name(st->root),
		st->up_bps, st->down_bps, st->up_voice_bps,
		st->down_voice_bps);
	if (fflush(f) || fsync(fileno(f)))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;

	errno = 0;
	if (*v < '0' || *v > '9')
		return -EINVAL;
	*out = strtoull(v, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "0") && strcmp(v, "1"))
		return -EINVAL;
	*out = v[0] == '1';
	return 0;
}

static int parse_name(const char *v, char *out)
{
	if (strlen(v) >= IFNAMSIZ || strpbrk(v, "/ \t"))
		return -EINVAL;
	strcpy(out, v);
	return 0;
}

static int state_kv(struct vq_shaper_state *st, const char *k, const char *v)
{
	static const struct { const char *name; size_t off; } bools[] = {
		{ "up_root", offsetof(struct vq_shaper_state, up_root) },
		{ "down_root", offsetof(struct vq_shaper_state, down_root) },
		{ "ifb_created", offsetof(struct vq_shaper_state, ifb_created) },
		{ "clsact_created", offsetof(struct vq_shaper_state, clsact_created) },
		{ "redirect", offsetof(struct vq_shaper_state, redirect) },
	};
	static const struct { const char *name; size_t off; } u64s[] = {
		{ "up_bps", offsetof(struct vq_shaper_state, up_bps) },
		{ "down_bps", offsetof(struct vq_shaper_state, down_bps) },
		{ "up_voice_bps", offsetof(struct vq_shaper_state, up_voice_bps) },
		{ "down_voice_bps", offsetof(struct vq_shaper_state, down_voice_bps) },
	};
	size_t i;

	if (!strcmp(k, "version"))
		return strcmp(v, "1") ? -EPROTO : 0;
	if (!strcmp(k, "wan"))
		return parse_name(v, st->wan);
	if (!strcmp(k, "down_dev"))
		return parse_name(v, st->down_dev);
	if (!strcmp(k, "down_mode")) {
		for (int m = VQ_DOWN_IFB; m <= VQ_DOWN_NONE; m++)
			if (!strcmp(v, vq_down_mode_name(m))) {
				st->down = m;
				return 0;
			}
		return -EINVAL;
	}
	if (!strcmp(k, "root")) {
		if (strcmp(v, vq_root_name(VQ_ROOT_HTB)) &&
		    strcmp(v, vq_root_name(VQ_ROOT_VOIPQ)))
			return -EINVAL;
		st->root = strcmp(v, "htb") ? VQ_ROOT_VOIPQ : VQ_ROOT_HTB;
		return 0;
	}
	if (!strcmp(k, "leaf")) {
		for (int l = VQ_LEAF_NONE; l <= VQ_LEAF_PFIFO; l++)
			if (!strcmp(v, vq_leaf_name(l))) {
				st->leaf = l;
				return 0;
			}
		return -EINVAL;
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (!strcmp(k, bools[i].name))
			return parse_bool(v, (bool *)((char *)st + bools[i].off));
	for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
		if (!strcmp(k, u64s[i].name))
			return parse_u64(v, (uint64_t *)((char *)st + u64s[i].off));
	return 0; /* a newer agent's key: ignore */
}

int vq_shaper_state_load(struct vq_shaper_state *st, const char *path)
{
	char line[256];
	FILE *f;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	st->down = VQ_DOWN_NONE;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq, *nl = strchr(line, '\n');

		if (!nl && !feof(f)) {
			ret = -EINVAL; /* a line longer than any we write */
			break;
		}
		if (nl)
			*nl = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		ret = state_kv(st, line, eq + 1);
		if (ret)
			break;
	}
	fclose(f);
	if (ret)
		memset(st, 0, sizeof(*st));
	return ret;
}
