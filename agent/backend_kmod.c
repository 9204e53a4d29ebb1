// SPDX-License-Identifier: GPL-2.0
/*
 * The kmod backend: sch_voipq's endpoint table over generic netlink, and the
 * qdisc over rtnetlink, both through the one netlink helper (nl.c), so the
 * kernel's extack reaches the user the same way for both.
 *
 * The family is resolved by name once, at open; so is the "idle" group,
 * which gets a socket of its own, because a notification arriving between
 * a request and its ack would otherwise be taken for the reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/gen_stats.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "backend_kmod.h"
#include "nl.h"

_Static_assert(VOIPQ_CLASS_VOICE == VOIPQ_VOICE_MINOR,
	       "sch_voipq and the BPF classifier agree on the voice class");

struct vq_kmod {
	struct vq_nl nl;
	uint16_t family;
	uint32_t idle_group;
	struct mnl_socket *idle;
};

/* --- family resolution --------------------------------------------------- */

static const struct vq_nl_policy ctrl_policy[CTRL_ATTR_MAX + 1] = {
	[CTRL_ATTR_FAMILY_ID] = { MNL_TYPE_U16 },
	[CTRL_ATTR_MCAST_GROUPS] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy grp_policy[CTRL_ATTR_MCAST_GRP_MAX + 1] = {
	[CTRL_ATTR_MCAST_GRP_NAME] = { MNL_TYPE_NUL_STRING },
	[CTRL_ATTR_MCAST_GRP_ID] = { MNL_TYPE_U32 },
};

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1] = { NULL };
	struct vq_kmod *k = data;
	const struct nlattr *grp;

	if (vq_nl_parse_attrs(nlh, sizeof(struct genlmsghdr), ctrl_policy,
			      CTRL_ATTR_MAX, tb) < 0)
		return MNL_CB_ERROR;
	if (tb[CTRL_ATTR_FAMILY_ID])
		k->family = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(grp, tb[CTRL_ATTR_MCAST_GROUPS]) {
		const struct nlattr *gb[CTRL_ATTR_MCAST_GRP_MAX + 1] = { NULL };

		if (vq_nl_parse_nested(grp, grp_policy, CTRL_ATTR_MCAST_GRP_MAX,
				       gb) < 0 ||
		    !gb[CTRL_ATTR_MCAST_GRP_NAME] || !gb[CTRL_ATTR_MCAST_GRP_ID])
			continue;
		if (!strcmp(mnl_attr_get_str(gb[CTRL_ATTR_MCAST_GRP_NAME]),
			    VOIPQ_GENL_MCGRP_IDLE))
			k->idle_group = mnl_attr_get_u32(gb[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return MNL_CB_OK;
}

int vq_kmod_open(struct vq_kmod **out)
{
	char buf[VQ_NL_REQLEN];
	struct genlmsghdr *g;
	struct nlmsghdr *nlh;
	struct vq_kmod *k;
	int err;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	err = vq_nl_open(&k->nl, NETLINK_GENERIC);
	if (err)
		goto out_free;

	nlh = vq_nl_msg(&k->nl, buf, GENL_ID_CTRL, 0, sizeof(*g), (void **)&g);
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, VOIPQ_GENL_NAME);
	err = vq_nl_talk(&k->nl, nlh, family_cb, k);
	if (!err && !k->family)
		err = -ENOENT;
	if (err)
		goto out_close; /* -ENOENT: the module is not loaded */
	*out = k;
	return 0;

out_close:
	vq_nl_close(&k->nl);
out_free:
	free(k);
	return err;
}

void vq_kmod_close(struct vq_kmod *k)
{
	if (!k)
		return;
	if (k->idle)
		mnl_socket_close(k->idle);
	vq_nl_close(&k->nl);
	free(k);
}

const char *vq_kmod_msg(const struct vq_kmod *k)
{
	return k->nl.msg;
}

/* --- requests ------------------------------------------------------------ */

struct nlmsghdr *vq_kmod_req(struct vq_kmod *k, void *buf, uint8_t cmd,
			     uint16_t flags)
{
	struct genlmsghdr *g;
	struct nlmsghdr *nlh;

	nlh = vq_nl_msg(&k->nl, buf, k->family, flags, sizeof(*g), (void **)&g);
	g->cmd = cmd;
	g->version = VOIPQ_GENL_VERSION;
	return nlh;
}

int vq_kmod_talk(struct vq_kmod *k, struct nlmsghdr *nlh)
{
	return vq_nl_talk(&k->nl, nlh, NULL, NULL);
}

/* An endpoint, or the prefix rule of its address's first @len bits. */
static void put_key(struct nlmsghdr *nlh, const struct vq_endpoint *ep,
		    unsigned int len)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, VOIPQ_A_ENDPOINT);

	mnl_attr_put_u8(nlh, VOIPQ_EP_A_FAMILY, ep->family);
	mnl_attr_put_u8(nlh, VOIPQ_EP_A_PROTO, ep->proto ? ep->proto : IPPROTO_UDP);
	mnl_attr_put_u16(nlh, VOIPQ_EP_A_PORT, ep->port);
	mnl_attr_put(nlh, VOIPQ_EP_A_ADDR, sizeof(ep->addr), ep->addr);
	if (len < vq_prefix_full(ep->family))
		mnl_attr_put_u8(nlh, VOIPQ_EP_A_PREFIXLEN, (uint8_t)len);
	mnl_attr_nest_end(nlh, nest);
}

static void put_endpoint(struct nlmsghdr *nlh, const struct vq_endpoint *ep)
{
	put_key(nlh, ep, vq_prefix_full(ep->family));
}

static const struct vq_nl_policy top_policy[VOIPQ_A_MAX + 1] = {
	[VOIPQ_A_ENDPOINT] = { MNL_TYPE_NESTED },
	[VOIPQ_A_POLICY] = { MNL_TYPE_NESTED },
	[VOIPQ_A_STATS] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy ep_policy[VOIPQ_EP_A_MAX + 1] = {
	[VOIPQ_EP_A_FAMILY] = { MNL_TYPE_U8 },
	[VOIPQ_EP_A_PROTO] = { MNL_TYPE_U8 },
	[VOIPQ_EP_A_PORT] = { MNL_TYPE_U16 },
	[VOIPQ_EP_A_ADDR] = { MNL_TYPE_BINARY, 16 },
	[VOIPQ_EP_A_PREFIXLEN] = { MNL_TYPE_U8 },
};

static const struct vq_nl_policy pol_policy[VOIPQ_POL_A_MAX + 1] = {
	[VOIPQ_POL_A_RATE] = { MNL_TYPE_U32 },
	[VOIPQ_POL_A_BURST] = { MNL_TYPE_U32 },
	[VOIPQ_POL_A_CLOCK_RATE] = { MNL_TYPE_U32 },
	[VOIPQ_POL_A_FLAGS] = { MNL_TYPE_U32 },
	[VOIPQ_POL_A_COOKIE] = { MNL_TYPE_U64 },
	[VOIPQ_POL_A_IDLE_MS] = { MNL_TYPE_U32 },
};

static const struct vq_nl_policy st_policy[VOIPQ_ST_A_MAX + 1] = {
	[VOIPQ_ST_A_PACKETS] = { MNL_TYPE_U64 },
	[VOIPQ_ST_A_BYTES] = { MNL_TYPE_U64 },
	[VOIPQ_ST_A_DROPS] = { MNL_TYPE_U64 },
	[VOIPQ_ST_A_DEMOTED] = { MNL_TYPE_U64 },
	[VOIPQ_ST_A_LAST_SEEN_NS] = { MNL_TYPE_U64 },
	[VOIPQ_ST_A_RTP_SSRC] = { MNL_TYPE_U32 },
	[VOIPQ_ST_A_RTP_RECEIVED] = { MNL_TYPE_U32 },
	[VOIPQ_ST_A_RTP_BASE_SEQ] = { MNL_TYPE_U32 },
	[VOIPQ_ST_A_RTP_EXT_MAX_SEQ] = { MNL_TYPE_U32 },
	[VOIPQ_ST_A_RTP_JITTER_Q4] = { MNL_TYPE_U32 },
	[VOIPQ_ST_A_RTP_FLAGS] = { MNL_TYPE_U32 },
	[VOIPQ_ST_A_RTP_FROM] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy rtp_policy[VOIPQ_RTP_A_MAX + 1] = {
	[VOIPQ_RTP_A_SSRC] = { MNL_TYPE_U32 },
	[VOIPQ_RTP_A_RECEIVED] = { MNL_TYPE_U32 },
	[VOIPQ_RTP_A_BASE_SEQ] = { MNL_TYPE_U32 },
	[VOIPQ_RTP_A_EXT_MAX_SEQ] = { MNL_TYPE_U32 },
	[VOIPQ_RTP_A_JITTER_Q4] = { MNL_TYPE_U32 },
	[VOIPQ_RTP_A_FLAGS] = { MNL_TYPE_U32 },
};


static uint32_t get32(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

static uint64_t get64(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

/*
 * One direction's RTP figures: @a[0..5] are its SSRC, RECEIVED, BASE_SEQ,
 * EXT_MAX_SEQ, JITTER_Q4 and FLAGS attributes (NULL: absent, zero).
 */
_Static_assert(VOIPQ_ST_A_RTP_FLAGS - VOIPQ_ST_A_RTP_SSRC == 5 &&
	       VOIPQ_RTP_A_FLAGS - VOIPQ_RTP_A_SSRC == 5,
	       "RTP attributes in the same order at the top and nested");

static void rtp_dir_of(struct voipq_rtp_dir *r, const struct nlattr *const a[6])
{
	r->ssrc = get32(a[0]);
	r->received = get32(a[1]);
	r->base_seq = get32(a[2]);
	r->ext_max_seq = get32(a[3]);
	r->jitter_q4 = get32(a[4]);
	r->flags = get32(a[5]);
}

static int parse_entry(const struct nlmsghdr *nlh, struct vq_kmod_entry *e)
{
	const struct nlattr *tb[VOIPQ_A_MAX + 1] = { NULL };
	const struct nlattr *eb[VOIPQ_EP_A_MAX + 1] = { NULL };
	const struct nlattr *pb[VOIPQ_POL_A_MAX + 1] = { NULL };
	const struct nlattr *sb[VOIPQ_ST_A_MAX + 1] = { NULL };
	const struct nlattr *rb[VOIPQ_RTP_A_MAX + 1] = { NULL };

	memset(e, 0, sizeof(*e));
	if (vq_nl_parse_attrs(nlh, sizeof(struct genlmsghdr), top_policy,
			      VOIPQ_A_MAX, tb) < 0 || !tb[VOIPQ_A_ENDPOINT])
		return -EBADMSG;
	if (vq_nl_parse_nested(tb[VOIPQ_A_ENDPOINT], ep_policy, VOIPQ_EP_A_MAX,
			       eb) < 0 ||
	    !eb[VOIPQ_EP_A_FAMILY] || !eb[VOIPQ_EP_A_PROTO] ||
	    !eb[VOIPQ_EP_A_PORT] || !eb[VOIPQ_EP_A_ADDR])
		return -EBADMSG;
	if ((tb[VOIPQ_A_POLICY] &&
	     vq_nl_parse_nested(tb[VOIPQ_A_POLICY], pol_policy, VOIPQ_POL_A_MAX,
				pb) < 0) ||
	    (tb[VOIPQ_A_STATS] &&
	     vq_nl_parse_nested(tb[VOIPQ_A_STATS], st_policy, VOIPQ_ST_A_MAX,
				sb) < 0))
		return -EBADMSG;

	e->ep.family = mnl_attr_get_u8(eb[VOIPQ_EP_A_FAMILY]);
	e->ep.proto = mnl_attr_get_u8(eb[VOIPQ_EP_A_PROTO]);
	e->ep.port = mnl_attr_get_u16(eb[VOIPQ_EP_A_PORT]);
	memcpy(e->ep.addr, mnl_attr_get_payload(eb[VOIPQ_EP_A_ADDR]),
	       sizeof(e->ep.addr));
	e->plen = vq_prefix_full(e->ep.family);
	if (eb[VOIPQ_EP_A_PREFIXLEN] &&
	    mnl_attr_get_u8(eb[VOIPQ_EP_A_PREFIXLEN]) < e->plen)
		e->plen = mnl_attr_get_u8(eb[VOIPQ_EP_A_PREFIXLEN]);

	e->pol.rate_bps = get32(pb[VOIPQ_POL_A_RATE]);
	e->pol.burst = get32(pb[VOIPQ_POL_A_BURST]);
	e->pol.clock_rate = get32(pb[VOIPQ_POL_A_CLOCK_RATE]);
	e->pol.flags = get32(pb[VOIPQ_POL_A_FLAGS]);
	e->pol.idle_ms = get32(pb[VOIPQ_POL_A_IDLE_MS]);
	e->pol.cookie = get64(pb[VOIPQ_POL_A_COOKIE]);

	e->val.flags = e->pol.flags;
	e->val.clock_rate = e->pol.clock_rate ? e->pol.clock_rate : 8000;
	e->val.rate_bps = e->pol.rate_bps;
	e->val.burst = e->pol.burst;
	e->val.cookie = e->pol.cookie;
	e->val.packets = get64(sb[VOIPQ_ST_A_PACKETS]);
	e->val.bytes = get64(sb[VOIPQ_ST_A_BYTES]);
	e->val.demoted = get64(sb[VOIPQ_ST_A_DEMOTED]);
	e->val.last_seen_ns = get64(sb[VOIPQ_ST_A_LAST_SEEN_NS]);
	/* The stream to the endpoint at the top, the one from it nested. */
	rtp_dir_of(&e->val.rtp[VOIPQ_DIR_TO], &sb[VOIPQ_ST_A_RTP_SSRC]);
	if (sb[VOIPQ_ST_A_RTP_FROM]) {
		if (vq_nl_parse_nested(sb[VOIPQ_ST_A_RTP_FROM], rtp_policy,
				       VOIPQ_RTP_A_MAX, rb) < 0)
			return -EBADMSG;
		rtp_dir_of(&e->val.rtp[VOIPQ_DIR_FROM], &rb[VOIPQ_RTP_A_SSRC]);
	}
	e->drops = get64(sb[VOIPQ_ST_A_DROPS]);
	return 0;
}

static int key_set(struct vq_kmod *k, const struct vq_endpoint *ep,
		   unsigned int len, const struct vq_kmod_policy *pol,
		   bool excl)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	nlh = vq_kmod_req(k, buf, VOIPQ_CMD_EP_SET, 0);
	put_key(nlh, ep, len);
	if (excl)
		mnl_attr_put(nlh, VOIPQ_A_EXCL, 0, NULL);
	if (pol) {
		nest = mnl_attr_nest_start(nlh, VOIPQ_A_POLICY);
		mnl_attr_put_u32(nlh, VOIPQ_POL_A_RATE, pol->rate_bps);
		mnl_attr_put_u32(nlh, VOIPQ_POL_A_BURST, pol->burst);
		mnl_attr_put_u32(nlh, VOIPQ_POL_A_CLOCK_RATE, pol->clock_rate);
		mnl_attr_put_u32(nlh, VOIPQ_POL_A_FLAGS, pol->flags);
		mnl_attr_put_u32(nlh, VOIPQ_POL_A_IDLE_MS, pol->idle_ms);
		mnl_attr_put_u64(nlh, VOIPQ_POL_A_COOKIE, pol->cookie);
		mnl_attr_nest_end(nlh, nest);
	}
	return vq_kmod_talk(k, nlh);
}

static int key_del(struct vq_kmod *k, const struct vq_endpoint *ep,
		   unsigned int len)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;

	nlh = vq_kmod_req(k, buf, VOIPQ_CMD_EP_DEL, 0);
	put_key(nlh, ep, len);
	return vq_kmod_talk(k, nlh);
}

int vq_kmod_ep_set(struct vq_kmod *k, const struct vq_endpoint *ep,
		   const struct vq_kmod_policy *pol, bool excl)
{
	return key_set(k, ep, vq_prefix_full(ep->family), pol, excl);
}

int vq_kmod_ep_del(struct vq_kmod *k, const struct vq_endpoint *ep)
{
	return key_del(k, ep, vq_prefix_full(ep->family));
}

int vq_kmod_pfx_set(struct vq_kmod *k, const struct vq_prefix *p,
		    const struct vq_kmod_policy *pol)
{
	return key_set(k, &p->ep, p->len, pol, false);
}

int vq_kmod_pfx_del(struct vq_kmod *k, const struct vq_prefix *p)
{
	return key_del(k, &p->ep, p->len);
}

int vq_kmod_ep_flush(struct vq_kmod *k)
{
	char buf[VQ_NL_REQLEN];

	return vq_kmod_talk(k, vq_kmod_req(k, buf, VOIPQ_CMD_EP_FLUSH, 0));
}

struct visit {
	int (*fn)(void *arg, const struct vq_kmod_entry *e);
	void *arg;
	int ret;	/* the first non-zero from fn, or a parse error */
	int count;
};

static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct visit *v = data;
	struct vq_kmod_entry e;
	int err;

	/*
	 * After fn asked to stop, the rest of a dump is still read (and
	 * ignored), so that it cannot be taken for the next reply.
	 */
	if (v->ret)
		return MNL_CB_OK;
	err = parse_entry(nlh, &e);
	if (err) {
		v->ret = err;
		return MNL_CB_OK;
	}
	v->count++;
	v->ret = v->fn(v->arg, &e);
	return MNL_CB_OK;
}

static int copy_entry(void *arg, const struct vq_kmod_entry *e)
{
	*(struct vq_kmod_entry *)arg = *e;
	return 0;
}

int vq_kmod_ep_get(struct vq_kmod *k, const struct vq_endpoint *ep,
		   struct vq_kmod_entry *out)
{
	struct visit v = { copy_entry, out, 0, 0 };
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	int err;

	nlh = vq_kmod_req(k, buf, VOIPQ_CMD_EP_GET, 0);
	put_endpoint(nlh, ep);
	err = vq_nl_talk(&k->nl, nlh, entry_cb, &v);
	if (err)
		return err;
	if (v.ret)
		return v.ret;
	return v.count ? 0 : -EBADMSG;
}

int vq_kmod_ep_for_each(struct vq_kmod *k,
			int (*fn)(void *arg, const struct vq_kmod_entry *e),
			void *arg)
{
	struct visit v = { fn, arg, 0, 0 };
	char buf[VQ_NL_REQLEN];
	int err;

	err = vq_nl_dump(&k->nl, vq_kmod_req(k, buf, VOIPQ_CMD_EP_GET, 0),
			 entry_cb, &v);
	return err ? err : v.ret;
}

/* --- idle announcements -------------------------------------------------- */

int vq_kmod_idle_open(struct vq_kmod *k)
{
	unsigned int group = k->idle_group;
	int err;

	if (k->idle)
		return 0;
	if (!group)
		return -ENOENT;
	k->idle = mnl_socket_open(NETLINK_GENERIC);
	if (!k->idle)
		return -errno;
	if (mnl_socket_bind(k->idle, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(k->idle, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0 ||
	    fcntl(mnl_socket_get_fd(k->idle), F_SETFL, O_NONBLOCK) < 0) {
		err = -errno;
		mnl_socket_close(k->idle);
		k->idle = NULL;
		return err;
	}
	return 0;
}

int vq_kmod_idle_fd(const struct vq_kmod *k)
{
	return k->idle ? mnl_socket_get_fd(k->idle) : -1;
}

int vq_kmod_idle_read(struct vq_kmod *k,
		      int (*fn)(void *arg, const struct vq_kmod_entry *e),
		      void *arg)
{
	struct visit v = { fn, arg, 0, 0 };
	char buf[MNL_SOCKET_BUFFER_SIZE];

	if (!k->idle)
		return -EBADF;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(k->idle, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS)
				continue; /* overran: the next scan repeats none */
			return -errno;
		}
		if (mnl_cb_run(buf, (size_t)n, 0, 0, entry_cb, &v) < 0)
			return -errno;
	}
	return v.ret;
}

/* --- the qdisc ----------------------------------------------------------- */

static int rt_open(struct vq_nl *nl, const char *ifname, int *ifindex)
{
	*ifindex = (int)if_nametoindex(ifname);
	if (!*ifindex)
		return -ENODEV;
	return vq_nl_open(nl, NETLINK_ROUTE);
}

static void keep_msg(const struct vq_nl *nl, char *msg, size_t msglen)
{
	if (msg && msglen)
		snprintf(msg, msglen, "%s", nl->msg);
}

int vq_kmod_qdisc_set(const char *ifname, uint16_t major,
		      const struct vq_kmod_qopt *opt, bool create,
		      char *msg, size_t msglen)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct tcmsg *tcm;
	struct vq_nl nl;
	int ifindex, err;

	if (msg && msglen)
		msg[0] = '\0';
	err = rt_open(&nl, ifname, &ifindex);
	if (err)
		return err;
	nlh = vq_nl_msg(&nl, buf, RTM_NEWQDISC,
			create ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*tcm),
			(void **)&tcm);
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_ROOT;
	tcm->tcm_handle = create ? (uint32_t)major << 16 : 0;
	mnl_attr_put_strz(nlh, TCA_KIND, "voipq");
	nest = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	if (opt->set & VQ_QOPT_RATE)
		mnl_attr_put_u64(nlh, TCA_VOIPQ_RATE, opt->rate);
	if (opt->set & VQ_QOPT_SHARE)
		mnl_attr_put_u32(nlh, TCA_VOIPQ_VOICE_SHARE, opt->voice_share);
	if (opt->set & VQ_QOPT_LIMIT)
		mnl_attr_put_u32(nlh, TCA_VOIPQ_LIMIT, opt->limit);
	if (opt->set & VQ_QOPT_TARGET)
		mnl_attr_put_u32(nlh, TCA_VOIPQ_TARGET, opt->target_us);
	if (opt->set & VQ_QOPT_INTERVAL)
		mnl_attr_put_u32(nlh, TCA_VOIPQ_INTERVAL, opt->interval_us);
	if (opt->set & VQ_QOPT_ECN)
		mnl_attr_put_u8(nlh, TCA_VOIPQ_ECN, opt->ecn);
	if (opt->set & VQ_QOPT_TRUST_DSCP)
		mnl_attr_put_u8(nlh, TCA_VOIPQ_TRUST_DSCP, opt->trust_dscp);
	mnl_attr_nest_end(nlh, nest);
	err = vq_nl_talk(&nl, nlh, NULL, NULL);
	keep_msg(&nl, msg, msglen);
	vq_nl_close(&nl);
	return err;
}

int vq_kmod_qdisc_del(const char *ifname, char *msg, size_t msglen)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	struct vq_nl nl;
	int ifindex, err;

	if (msg && msglen)
		msg[0] = '\0';
	err = rt_open(&nl, ifname, &ifindex);
	if (err)
		return err;
	nlh = vq_nl_msg(&nl, buf, RTM_DELQDISC, 0, sizeof(*tcm), (void **)&tcm);
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_ROOT;
	err = vq_nl_talk(&nl, nlh, NULL, NULL);
	keep_msg(&nl, msg, msglen);
	vq_nl_close(&nl);
	return err;
}

struct qdisc_get {
	int ifindex;
	struct vq_kmod_qopt *opt;
	struct tc_voipq_xstats *xs;
	int found;
};

static const struct vq_nl_policy tca_policy[TCA_MAX + 1] = {
	[TCA_KIND] = { MNL_TYPE_NUL_STRING },
	[TCA_OPTIONS] = { MNL_TYPE_NESTED },
	[TCA_STATS2] = { MNL_TYPE_NESTED },
};

static const struct vq_nl_policy stats_policy[TCA_STATS_MAX + 1] = {
	[TCA_STATS_APP] = { MNL_TYPE_BINARY },
};

static const struct vq_nl_policy qopt_policy[TCA_VOIPQ_MAX + 1] = {
	[TCA_VOIPQ_RATE] = { MNL_TYPE_U64 },
	[TCA_VOIPQ_VOICE_SHARE] = { MNL_TYPE_U32 },
	[TCA_VOIPQ_LIMIT] = { MNL_TYPE_U32 },
	[TCA_VOIPQ_TARGET] = { MNL_TYPE_U32 },
	[TCA_VOIPQ_INTERVAL] = { MNL_TYPE_U32 },
	[TCA_VOIPQ_ECN] = { MNL_TYPE_U8 },
	[TCA_VOIPQ_TRUST_DSCP] = { MNL_TYPE_U8 },
};

static int qdisc_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1] = { NULL };
	const struct nlattr *ob[TCA_VOIPQ_MAX + 1] = { NULL };
	const struct nlattr *sb[TCA_STATS_MAX + 1] = { NULL };
	struct qdisc_get *q = data;
	struct vq_kmod_qopt *o = q->opt;

	if (tcm->tcm_ifindex != q->ifindex || tcm->tcm_parent != TC_H_ROOT)
		return MNL_CB_OK;
	if (vq_nl_parse_attrs(nlh, sizeof(*tcm), tca_policy, TCA_MAX, tb) < 0 ||
	    !tb[TCA_KIND] || strcmp(mnl_attr_get_str(tb[TCA_KIND]), "voipq"))
		return MNL_CB_OK;
	q->found = 1;
	if (o && tb[TCA_OPTIONS] &&
	    vq_nl_parse_nested(tb[TCA_OPTIONS], qopt_policy, TCA_VOIPQ_MAX,
			       ob) == 0) {
		memset(o, 0, sizeof(*o));
		o->set = VQ_QOPT_RATE | VQ_QOPT_SHARE | VQ_QOPT_LIMIT |
			 VQ_QOPT_TARGET | VQ_QOPT_INTERVAL | VQ_QOPT_ECN |
			 VQ_QOPT_TRUST_DSCP;
		o->rate = get64(ob[TCA_VOIPQ_RATE]);
		o->voice_share = get32(ob[TCA_VOIPQ_VOICE_SHARE]);
		o->limit = get32(ob[TCA_VOIPQ_LIMIT]);
		o->target_us = get32(ob[TCA_VOIPQ_TARGET]);
		o->interval_us = get32(ob[TCA_VOIPQ_INTERVAL]);
		o->ecn = ob[TCA_VOIPQ_ECN] ? mnl_attr_get_u8(ob[TCA_VOIPQ_ECN]) : 0;
		o->trust_dscp = ob[TCA_VOIPQ_TRUST_DSCP] ?
				mnl_attr_get_u8(ob[TCA_VOIPQ_TRUST_DSCP]) : 0;
	}
	if (q->xs && tb[TCA_STATS2] &&
	    vq_nl_parse_nested(tb[TCA_STATS2], stats_policy, TCA_STATS_MAX,
			       sb) == 0 && sb[TCA_STATS_APP]) {
		size_t n = mnl_attr_get_payload_len(sb[TCA_STATS_APP]);

		/* A newer module may append: take what we know. */
		memset(q->xs, 0, sizeof(*q->xs));
		memcpy(q->xs, mnl_attr_get_payload(sb[TCA_STATS_APP]),
		       n < sizeof(*q->xs) ? n : sizeof(*q->xs));
	}
	return MNL_CB_OK;
}

int vq_kmod_qdisc_get(const char *ifname, struct vq_kmod_qopt *opt,
		      struct tc_voipq_xstats *xs)
{
	struct qdisc_get q = { .opt = opt, .xs = xs };
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	struct vq_nl nl;
	int err;

	err = rt_open(&nl, ifname, &q.ifindex);
	if (err)
		return err;
	nlh = vq_nl_msg(&nl, buf, RTM_GETQDISC, 0, sizeof(*tcm), (void **)&tcm);
	tcm->tcm_family = AF_UNSPEC;
	err = vq_nl_dump(&nl, nlh, qdisc_cb, &q);
	vq_nl_close(&nl);
	if (err)
		return err;
	return q.found ? 0 : -ENOENT;
}
