// SPDX-License-Identifier: GPL-2.0
/*
 * The endpoint table of sch_voipq and the generic netlink family "voipq"
 * that programs it.
 *
 * The agent learns media endpoints from SIP and installs them here; every
 * sch_voipq instance in the namespace looks packets up in the same table,
 * destination first, then source (shared/DESIGN.md, decision 1). So the
 * table is per network namespace, not per qdisc: a router shapes its WAN
 * and its LAN with one set of calls, and a container cannot see or change
 * the host's calls.
 *
 * Readers are packets, under RCU: an rhashtable keyed by the 20-byte
 * {family, proto, port, address}. Writers are netlink requests, serialised
 * by a mutex per namespace; an entry is freed after a grace period. Each
 * entry has a spinlock for what the datapath keeps — counters, the budget's
 * token bucket, RTP statistics — because one entry can be hit from two
 * interfaces' qdiscs at once, and the cost is paid on hits only.
 *
 * The RTP figures follow RFC 3550 A.1/A.8 exactly as bpf/voipq.bpf.c and
 * agent/rtpstats.c compute them (no probation; jitter kept * 16 in
 * integers), so that the agent's views do not depend on the backend. As
 * there, an entry keeps them per direction: the far end's endpoint on a
 * NAT router is the destination of the phone's stream and the source of
 * its own, two streams that must not share a sequence or a jitter.
 *
 * Nothing expires here by itself: the datapath never drops a call because
 * the agent is gone (decision 6). Once a second a worker announces, on the
 * "idle" multicast group, entries idle past their idle time, and the agent
 * decides.
 */
#include <linux/bitmap.h>
#include <linux/in.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include <linux/voipq.h>

#include "rtp.h"
#include "table.h"

static unsigned int max_endpoints = 16384;
module_param(max_endpoints, uint, 0444);
MODULE_PARM_DESC(max_endpoints, "Endpoints per network namespace (default 16384)");

#define VOIPQ_SCAN_INTERVAL	HZ
#define TB_MAX_IDLE_NS		(4 * NSEC_PER_SEC)

struct voipq_policy {
	u32 rate;		/* bytes/s; 0: no budget */
	u32 burst;
	u32 clock_rate;
	u32 flags;
	u32 idle_ms;
	u64 cookie;
};

/* What the datapath keeps for one endpoint. */
struct voipq_state {
	/* Budget. */
	u64 tokens;
	u64 tb_last_ns;
	/* Counters. */
	u64 packets;
	u64 bytes;
	u64 drops;
	u64 demoted;
	u64 last_seen_ns;
	u64 created_ns;
	bool idle_announced;
	/* RFC 3550 receiver state of the stream to it, and of the one from it */
	struct voipq_rtp rtp[2];
};

struct voipq_ep {
	struct rhash_head node;		/* endpoints: voipq_net.ht */
	struct list_head pfx;		/* prefix rules: voipq_net.pfx */
	struct list_head list;		/* voipq_net.eps, oldest first */
	u64 id;				/* insertion order: where dumps resume */
	struct voipq_key key;
	u8 plen;			/* address bits that count */
	struct rcu_head rcu;

	spinlock_t lock;		/* pol and st */
	struct voipq_policy pol;
	struct voipq_state st;
};

struct voipq_net {
	struct rhashtable ht;
	/*
	 * Bit p is set while an entry has port p (host order), so that a
	 * packet to and from unknown ports costs two bit tests and no hash
	 * lookup, as in the BPF classifier. Set before an insert, cleared
	 * after the last entry with the port is gone.
	 */
	DECLARE_BITMAP(ports, 65536);
	/*
	 * Static prefix rules, longest prefix first, consulted when no
	 * endpoint matched and only for ports in pfx_ports; a handful on a
	 * home router, at most VOIPQ_MAX_PREFIX_RULES.
	 */
	DECLARE_BITMAP(pfx_ports, 65536);
	struct list_head pfx;
	unsigned int npfx;
	struct list_head eps;		/* every entry: dumps, the idle scan */
	struct mutex lock;		/* writers */
	u64 last_id;			/* the newest entry's id */
	unsigned int count;
	bool dead;			/* the namespace is going away */
	struct delayed_work idle_work;
	struct net *net;
};

static unsigned int voipq_net_id __read_mostly;

static const struct rhashtable_params voipq_ht_params = {
	.key_len = sizeof(struct voipq_key),
	.key_offset = offsetof(struct voipq_ep, key),
	.head_offset = offsetof(struct voipq_ep, node),
	.automatic_shrinking = true,
};

static struct genl_family voipq_genl_family;

static struct voipq_net *voipq_net(const struct net *net)
{
	return net_generic(net, voipq_net_id);
}

static unsigned int voipq_addr_bits(u8 family)
{
	return family == AF_INET ? 32 : 128;
}

static bool voipq_is_prefix(const struct voipq_ep *ep)
{
	return ep->plen < voipq_addr_bits(ep->key.family);
}

/* Whether the first @plen bits of @a and @b are equal. */
static bool voipq_prefix_eq(const u8 *a, const u8 *b, unsigned int plen)
{
	unsigned int bytes = plen / 8, bits = plen % 8;

	if (memcmp(a, b, bytes))
		return false;
	return !bits || !((a[bytes] ^ b[bytes]) & (0xff00 >> bits));
}

/* --- datapath ------------------------------------------------------------ */

/* Returns true when @len bytes fit the endpoint's budget (and takes them). */
static bool voipq_tb_consume(struct voipq_state *st,
			     const struct voipq_policy *pol, u32 len, u64 now)
{
	u64 tokens = st->tokens;

	if (!pol->rate)
		return true;
	if (now > st->tb_last_ns) {
		u64 idle = min_t(u64, now - st->tb_last_ns, TB_MAX_IDLE_NS);
		u64 add = div_u64(idle * pol->rate, NSEC_PER_SEC);

		/* Keep the stamp until a byte accrues: no rounding away. */
		if (add) {
			tokens = min_t(u64, tokens + add, pol->burst);
			st->tb_last_ns = now;
		}
	}
	if (len <= tokens) {
		st->tokens = tokens - len;
		return true;
	}
	st->tokens = tokens;
	return false;
}

bool voipq_table_active(struct net *net)
{
	struct voipq_net *vn = voipq_net(net);

	return READ_ONCE(vn->count) && !READ_ONCE(vn->dead);
}

/* The longest prefix rule that @k falls in, or NULL. Under RCU. */
static struct voipq_ep *voipq_pfx_lookup(struct voipq_net *vn,
					 const struct voipq_key *k)
{
	struct voipq_ep *ep;

	list_for_each_entry_rcu(ep, &vn->pfx, pfx)
		if (ep->key.port == k->port && ep->key.family == k->family &&
		    ep->key.proto == k->proto &&
		    voipq_prefix_eq(ep->key.addr, k->addr, ep->plen))
			return ep;
	return NULL;
}

struct voipq_ep *voipq_table_lookup(struct net *net, const struct voipq_pkt *p,
				    bool *from)
{
	struct voipq_net *vn = voipq_net(net);
	struct voipq_ep *ep = NULL;

	if (!p->has_ports || !voipq_table_active(net))
		return NULL;
	*from = false;
	if (test_bit(ntohs(p->dst.port), vn->ports))
		ep = rhashtable_lookup_fast(&vn->ht, &p->dst, voipq_ht_params);
	if (!ep && test_bit(ntohs(p->src.port), vn->ports)) {
		ep = rhashtable_lookup_fast(&vn->ht, &p->src, voipq_ht_params);
		*from = true;
	}
	if (ep || !READ_ONCE(vn->npfx))
		return ep;
	if (test_bit(ntohs(p->dst.port), vn->pfx_ports)) {
		ep = voipq_pfx_lookup(vn, &p->dst);
		*from = false;
	}
	if (!ep && test_bit(ntohs(p->src.port), vn->pfx_ports)) {
		ep = voipq_pfx_lookup(vn, &p->src);
		*from = true;
	}
	return ep;
}

enum voipq_match voipq_ep_charge(struct voipq_ep *ep, bool from,
				 const u8 *rtp, u32 len)
{
	struct voipq_state *st = &ep->st;
	u64 now = ktime_get_ns();
	bool fits;

	spin_lock(&ep->lock);
	st->packets++;
	st->bytes += len;
	st->last_seen_ns = now;
	st->idle_announced = false;
	fits = voipq_tb_consume(st, &ep->pol, len, now);
	if (!fits)
		st->demoted++;
	if (rtp)
		voipq_rtp_update(&st->rtp[from], ep->pol.clock_rate, rtp, now);
	spin_unlock(&ep->lock);
	return fits ? VOIPQ_HIT_VOICE : VOIPQ_HIT_DEMOTED;
}

void voipq_ep_count_drop(struct voipq_ep *ep)
{
	spin_lock(&ep->lock);
	ep->st.drops++;
	spin_unlock(&ep->lock);
}

/* --- netlink ------------------------------------------------------------- */

static const struct nla_policy voipq_ep_policy[VOIPQ_EP_A_MAX + 1] = {
	[VOIPQ_EP_A_FAMILY]	= NLA_POLICY_RANGE(NLA_U8, AF_INET, AF_INET6),
	[VOIPQ_EP_A_PROTO]	= NLA_POLICY_RANGE(NLA_U8, IPPROTO_TCP, IPPROTO_UDP),
	[VOIPQ_EP_A_PORT]	= NLA_POLICY_MIN(NLA_U16, 1),
	[VOIPQ_EP_A_ADDR]	= NLA_POLICY_EXACT_LEN(16),
	[VOIPQ_EP_A_PREFIXLEN]	= NLA_POLICY_MAX(NLA_U8, 128),
};

static struct netlink_range_validation voipq_clock_range = {
	.max = VOIPQ_CLOCK_RATE_MAX,
};

static struct netlink_range_validation voipq_idle_range = {
	.max = VOIPQ_IDLE_MS_MAX,
};

static const struct nla_policy voipq_pol_policy[VOIPQ_POL_A_MAX + 1] = {
	[VOIPQ_POL_A_RATE]	 = { .type = NLA_U32 },
	[VOIPQ_POL_A_BURST]	 = { .type = NLA_U32 },
	[VOIPQ_POL_A_CLOCK_RATE] = NLA_POLICY_FULL_RANGE(NLA_U32, &voipq_clock_range),
	[VOIPQ_POL_A_FLAGS]	 = NLA_POLICY_MASK(NLA_U32, VOIPQ_EP_F_ALL),
	[VOIPQ_POL_A_COOKIE]	 = { .type = NLA_U64 },
	[VOIPQ_POL_A_IDLE_MS]	 = NLA_POLICY_FULL_RANGE(NLA_U32, &voipq_idle_range),
};

static const struct nla_policy voipq_policy[VOIPQ_A_MAX + 1] = {
	[VOIPQ_A_ENDPOINT]	= NLA_POLICY_NESTED(voipq_ep_policy),
	[VOIPQ_A_POLICY]	= NLA_POLICY_NESTED(voipq_pol_policy),
	[VOIPQ_A_EXCL]		= { .type = NLA_FLAG },
};

/* The endpoint or prefix rule a request names: @key, and its @plen. */
static int voipq_parse_key(struct genl_info *info, struct voipq_key *key,
			   u8 *plen)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[VOIPQ_EP_A_MAX + 1];
	struct nlattr *nest;
	u8 family, proto;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VOIPQ_A_ENDPOINT)) {
		NL_SET_ERR_MSG(extack, "Missing the endpoint (VOIPQ_A_ENDPOINT)");
		return -EINVAL;
	}
	nest = info->attrs[VOIPQ_A_ENDPOINT];
	err = nla_parse_nested(tb, VOIPQ_EP_A_MAX, nest, voipq_ep_policy,
			       extack);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, VOIPQ_EP_A_FAMILY) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, VOIPQ_EP_A_PROTO) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, VOIPQ_EP_A_PORT) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, VOIPQ_EP_A_ADDR)) {
		NL_SET_ERR_MSG(extack, "An endpoint needs family, proto, port and addr");
		return -EINVAL;
	}

	family = nla_get_u8(tb[VOIPQ_EP_A_FAMILY]);
	if (family != AF_INET && family != AF_INET6) {
		NL_SET_ERR_MSG_ATTR(extack, tb[VOIPQ_EP_A_FAMILY],
				    "Family must be AF_INET or AF_INET6");
		return -EINVAL;
	}
	proto = nla_get_u8(tb[VOIPQ_EP_A_PROTO]);
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP) {
		NL_SET_ERR_MSG_ATTR(extack, tb[VOIPQ_EP_A_PROTO],
				    "Protocol must be UDP or TCP");
		return -EINVAL;
	}

	memset(key, 0, sizeof(*key));
	key->family = family;
	key->proto = proto;
	key->port = htons(nla_get_u16(tb[VOIPQ_EP_A_PORT]));
	nla_memcpy(key->addr, tb[VOIPQ_EP_A_ADDR], sizeof(key->addr));
	if (family == AF_INET && memchr_inv(key->addr + 4, 0, 12)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[VOIPQ_EP_A_ADDR],
				    "An IPv4 address fills the first 4 bytes; the other 12 must be zero");
		return -EINVAL;
	}

	*plen = voipq_addr_bits(family);
	if (tb[VOIPQ_EP_A_PREFIXLEN]) {
		u8 net[16] = { 0 };
		unsigned int n = nla_get_u8(tb[VOIPQ_EP_A_PREFIXLEN]);

		if (n > *plen) {
			NL_SET_ERR_MSG_ATTR(extack, tb[VOIPQ_EP_A_PREFIXLEN],
					    "An IPv4 prefix is at most 32 bits long");
			return -EINVAL;
		}
		memcpy(net, key->addr, n / 8);
		if (n % 8)
			net[n / 8] = key->addr[n / 8] & (0xff00 >> (n % 8));
		if (memcmp(net, key->addr, sizeof(net))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[VOIPQ_EP_A_ADDR],
					    "The address has bits set past the prefix length: give the network's address");
			return -EINVAL;
		}
		*plen = n;
	}
	return 0;
}

/* The entry for @key and @plen. Under RCU or vn->lock. */
static struct voipq_ep *voipq_find(struct voipq_net *vn,
				   const struct voipq_key *key, u8 plen)
{
	struct voipq_ep *ep;

	if (plen == voipq_addr_bits(key->family))
		return rhashtable_lookup_fast(&vn->ht, key, voipq_ht_params);
	list_for_each_entry_rcu(ep, &vn->pfx, pfx, lockdep_is_held(&vn->lock))
		if (ep->plen == plen && !memcmp(&ep->key, key, sizeof(*key)))
			return ep;
	return NULL;
}

static int voipq_parse_policy(struct genl_info *info, struct voipq_policy *pol)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[VOIPQ_POL_A_MAX + 1];
	int err;

	memset(pol, 0, sizeof(*pol));
	pol->idle_ms = VOIPQ_IDLE_MS_DEFAULT;
	if (!info->attrs[VOIPQ_A_POLICY])
		return 0;
	err = nla_parse_nested(tb, VOIPQ_POL_A_MAX, info->attrs[VOIPQ_A_POLICY],
			       voipq_pol_policy, extack);
	if (err)
		return err;
	if (tb[VOIPQ_POL_A_RATE])
		pol->rate = nla_get_u32(tb[VOIPQ_POL_A_RATE]);
	if (tb[VOIPQ_POL_A_BURST])
		pol->burst = nla_get_u32(tb[VOIPQ_POL_A_BURST]);
	if (tb[VOIPQ_POL_A_CLOCK_RATE])
		pol->clock_rate = nla_get_u32(tb[VOIPQ_POL_A_CLOCK_RATE]);
	if (tb[VOIPQ_POL_A_FLAGS])
		pol->flags = nla_get_u32(tb[VOIPQ_POL_A_FLAGS]);
	if (tb[VOIPQ_POL_A_COOKIE])
		pol->cookie = nla_get_u64(tb[VOIPQ_POL_A_COOKIE]);
	if (tb[VOIPQ_POL_A_IDLE_MS] && nla_get_u32(tb[VOIPQ_POL_A_IDLE_MS]))
		pol->idle_ms = nla_get_u32(tb[VOIPQ_POL_A_IDLE_MS]);

	if (pol->rate && pol->burst < 64) {
		NL_SET_ERR_MSG_ATTR(extack, tb[VOIPQ_POL_A_BURST] ?: tb[VOIPQ_POL_A_RATE],
				    "A rate needs a burst of at least 64 bytes");
		return -EINVAL;
	}
	return 0;
}

static void voipq_ep_apply(struct voipq_ep *ep, const struct voipq_policy *pol)
{
	bool bucket_changed = ep->pol.rate != pol->rate ||
			      ep->pol.burst != pol->burst;

	ep->pol = *pol;
	ep->st.idle_announced = false;
	if (bucket_changed) {
		/* A new budget starts full, as a new entry does. */
		ep->st.tokens = pol->burst;
		ep->st.tb_last_ns = ktime_get_ns();
	}
}

/*
 * One direction's RTP figures as six u32 attributes from @first on: the
 * stream to the endpoint at the top of the stats, the one from it nested,
 * in the same order.
 */
static int voipq_put_rtp(struct sk_buff *skb, const struct voipq_rtp *r,
			 int first)
{
	BUILD_BUG_ON(VOIPQ_ST_A_RTP_FLAGS - VOIPQ_ST_A_RTP_SSRC != 5 ||
		     VOIPQ_RTP_A_FLAGS - VOIPQ_RTP_A_SSRC != 5);
	return nla_put_u32(skb, first, r->ssrc) ||
	       nla_put_u32(skb, first + 1, r->received) ||
	       nla_put_u32(skb, first + 2, r->base_seq) ||
	       nla_put_u32(skb, first + 3, r->ext_max_seq) ||
	       nla_put_u32(skb, first + 4, r->jitter_q4) ||
	       nla_put_u32(skb, first + 5, r->flags);
}

static int voipq_fill(struct sk_buff *skb, struct voipq_ep *ep, u32 portid,
		      u32 seq, int flags, u8 cmd)
{
	struct voipq_policy pol;
	struct voipq_state st;
	struct nlattr *nest, *from;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &voipq_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;

	spin_lock_bh(&ep->lock);
	pol = ep->pol;
	st = ep->st;
	spin_unlock_bh(&ep->lock);

	nest = nla_nest_start(skb, VOIPQ_A_ENDPOINT);
	if (!nest ||
	    nla_put_u8(skb, VOIPQ_EP_A_FAMILY, ep->key.family) ||
	    nla_put_u8(skb, VOIPQ_EP_A_PROTO, ep->key.proto) ||
	    nla_put_u16(skb, VOIPQ_EP_A_PORT, ntohs(ep->key.port)) ||
	    nla_put(skb, VOIPQ_EP_A_ADDR, sizeof(ep->key.addr), ep->key.addr) ||
	    (voipq_is_prefix(ep) &&
	     nla_put_u8(skb, VOIPQ_EP_A_PREFIXLEN, ep->plen)))
		goto out_cancel;
	nla_nest_end(skb, nest);

	nest = nla_nest_start(skb, VOIPQ_A_POLICY);
	if (!nest ||
	    nla_put_u32(skb, VOIPQ_POL_A_RATE, pol.rate) ||
	    nla_put_u32(skb, VOIPQ_POL_A_BURST, pol.burst) ||
	    nla_put_u32(skb, VOIPQ_POL_A_CLOCK_RATE, pol.clock_rate) ||
	    nla_put_u32(skb, VOIPQ_POL_A_FLAGS, pol.flags) ||
	    nla_put_u64_64bit(skb, VOIPQ_POL_A_COOKIE, pol.cookie,
			      VOIPQ_POL_A_PAD) ||
	    nla_put_u32(skb, VOIPQ_POL_A_IDLE_MS, pol.idle_ms))
		goto out_cancel;
	nla_nest_end(skb, nest);

	nest = nla_nest_start(skb, VOIPQ_A_STATS);
	if (!nest ||
	    nla_put_u64_64bit(skb, VOIPQ_ST_A_PACKETS, st.packets, VOIPQ_ST_A_PAD) ||
	    nla_put_u64_64bit(skb, VOIPQ_ST_A_BYTES, st.bytes, VOIPQ_ST_A_PAD) ||
	    nla_put_u64_64bit(skb, VOIPQ_ST_A_DROPS, st.drops, VOIPQ_ST_A_PAD) ||
	    nla_put_u64_64bit(skb, VOIPQ_ST_A_DEMOTED, st.demoted, VOIPQ_ST_A_PAD) ||
	    nla_put_u64_64bit(skb, VOIPQ_ST_A_LAST_SEEN_NS, st.last_seen_ns,
			      VOIPQ_ST_A_PAD) ||
	    voipq_put_rtp(skb, &st.rtp[0], VOIPQ_ST_A_RTP_SSRC))
		goto out_cancel;
	from = nla_nest_start(skb, VOIPQ_ST_A_RTP_FROM);
	if (!from || voipq_put_rtp(skb, &st.rtp[1], VOIPQ_RTP_A_SSRC))
		goto out_cancel;
	nla_nest_end(skb, from);
	nla_nest_end(skb, nest);

	genlmsg_end(skb, hdr);
	return 0;

out_cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/*
 * After a removal: clear @port's bit, among the endpoints' or the prefix
 * rules' (@prefix), unless another entry of the kind still has it.
 */
static void voipq_port_put(struct voipq_net *vn, __be16 port, bool prefix)
{
	struct voipq_ep *ep;

	list_for_each_entry(ep, &vn->eps, list)
		if (ep->key.port == port && voipq_is_prefix(ep) == prefix)
			return;
	clear_bit(ntohs(port), prefix ? vn->pfx_ports : vn->ports);
}

static void voipq_ep_remove(struct voipq_net *vn, struct voipq_ep *ep)
{
	lockdep_assert_held(&vn->lock);
	if (voipq_is_prefix(ep)) {
		list_del_rcu(&ep->pfx);
		WRITE_ONCE(vn->npfx, vn->npfx - 1);
	} else {
		rhashtable_remove_fast(&vn->ht, &ep->node, voipq_ht_params);
	}
	list_del_rcu(&ep->list);
	WRITE_ONCE(vn->count, vn->count - 1);
	kfree_rcu(ep, rcu);
}

/* Into the prefix rules, after every longer or equally long one. */
static void voipq_pfx_insert(struct voipq_net *vn, struct voipq_ep *ep)
{
	struct list_head *at = &vn->pfx;
	struct voipq_ep *cur;

	lockdep_assert_held(&vn->lock);
	list_for_each_entry(cur, &vn->pfx, pfx) {
		if (cur->plen < ep->plen) {
			at = &cur->pfx;
			break;
		}
	}
	/* before @at: the list's tail when none is shorter */
	list_add_tail_rcu(&ep->pfx, at);
	WRITE_ONCE(vn->npfx, vn->npfx + 1);
}

static int voipq_nl_set(struct sk_buff *skb, struct genl_info *info)
{
	struct voipq_net *vn = voipq_net(genl_info_net(info));
	struct netlink_ext_ack *extack = info->extack;
	struct voipq_policy pol;
	struct voipq_key key;
	struct voipq_ep *ep;
	bool prefix;
	u8 plen;
	int err;

	err = voipq_parse_key(info, &key, &plen);
	if (err)
		return err;
	err = voipq_parse_policy(info, &pol);
	if (err)
		return err;
	prefix = plen < voipq_addr_bits(key.family);

	mutex_lock(&vn->lock);
	ep = voipq_find(vn, &key, plen);
	if (ep) {
		if (nla_get_flag(info->attrs[VOIPQ_A_EXCL])) {
			NL_SET_ERR_MSG_ATTR(extack, info->attrs[VOIPQ_A_ENDPOINT],
					    "Endpoint exists (VOIPQ_A_EXCL)");
			err = -EEXIST;
			goto out_unlock;
		}
		spin_lock_bh(&ep->lock);
		voipq_ep_apply(ep, &pol);
		spin_unlock_bh(&ep->lock);
		goto out_unlock;
	}

	if (vn->count >= max_endpoints) {
		NL_SET_ERR_MSG(extack, "Endpoint table full (module parameter max_endpoints)");
		err = -ENOSPC;
		goto out_unlock;
	}
	if (prefix && vn->npfx >= VOIPQ_MAX_PREFIX_RULES) {
		NL_SET_ERR_MSG(extack, "Prefix rules full (VOIPQ_MAX_PREFIX_RULES): delete one first");
		err = -ENOSPC;
		goto out_unlock;
	}
	ep = kzalloc(sizeof(*ep), GFP_KERNEL_ACCOUNT);
	if (!ep) {
		err = -ENOMEM;
		goto out_unlock;
	}
	ep->key = key;
	ep->plen = plen;
	spin_lock_init(&ep->lock);
	ep->st.created_ns = ktime_get_ns();
	voipq_ep_apply(ep, &pol);

	/* The bit first: a packet never misses an entry that is there. */
	if (prefix) {
		set_bit(ntohs(key.port), vn->pfx_ports);
		voipq_pfx_insert(vn, ep);
	} else {
		set_bit(ntohs(key.port), vn->ports);
		err = rhashtable_insert_fast(&vn->ht, &ep->node,
					     voipq_ht_params);
		if (err) {
			NL_SET_ERR_MSG(extack, "Cannot insert the endpoint");
			goto out_put_port;
		}
	}
	ep->id = ++vn->last_id;
	list_add_tail_rcu(&ep->list, &vn->eps);
	WRITE_ONCE(vn->count, vn->count + 1);
	mutex_unlock(&vn->lock);
	return 0;

out_put_port:
	voipq_port_put(vn, key.port, false);
	kfree(ep);
out_unlock:
	mutex_unlock(&vn->lock);
	return err;
}

static int voipq_nl_del(struct sk_buff *skb, struct genl_info *info)
{
	struct voipq_net *vn = voipq_net(genl_info_net(info));
	struct voipq_key key;
	struct voipq_ep *ep;
	u8 plen;
	int err;

	err = voipq_parse_key(info, &key, &plen);
	if (err)
		return err;

	mutex_lock(&vn->lock);
	ep = voipq_find(vn, &key, plen);
	if (ep) {
		voipq_ep_remove(vn, ep);
		voipq_port_put(vn, key.port,
			       plen < voipq_addr_bits(key.family));
	} else {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VOIPQ_A_ENDPOINT],
				    "No such endpoint");
		err = -ENOENT;
	}
	mutex_unlock(&vn->lock);
	return err;
}

static int voipq_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct voipq_net *vn = voipq_net(genl_info_net(info));
	struct voipq_key key;
	struct voipq_ep *ep;
	struct sk_buff *msg;
	u8 plen;
	int err;

	err = voipq_parse_key(info, &key, &plen);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	rcu_read_lock();
	ep = voipq_find(vn, &key, plen);
	if (!ep) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VOIPQ_A_ENDPOINT],
				    "No such endpoint");
		err = -ENOENT;
	} else {
		err = voipq_fill(msg, ep, info->snd_portid, info->snd_seq, 0,
				 VOIPQ_CMD_EP_GET);
	}
	rcu_read_unlock();
	if (err)
		goto out_free_msg;
	return genlmsg_reply(msg, info);

out_free_msg:
	nlmsg_free(msg);
	return err;
}

struct voipq_dump_ctx {
	u64 last_id;		/* of the last entry sent; ids start at 1 */
};

/*
 * Each part of a dump resumes after the last entry sent, found by its id:
 * the list is in insertion order, and ids grow along it. An entry deleted
 * between two parts moves nothing, so every entry present for the whole
 * dump is sent once; by position, each deletion ahead of the resume point
 * made the dump skip one.
 */
static int voipq_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct voipq_net *vn = voipq_net(sock_net(skb->sk));
	struct voipq_dump_ctx *ctx = (struct voipq_dump_ctx *)cb->ctx;
	struct voipq_ep *ep;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	rcu_read_lock();
	list_for_each_entry_rcu(ep, &vn->eps, list) {
		if (ep->id <= ctx->last_id)
			continue;
		if (voipq_fill(skb, ep, NETLINK_CB(cb->skb).portid,
			       cb->nlh->nlmsg_seq, NLM_F_MULTI,
			       VOIPQ_CMD_EP_GET))
			break;
		ctx->last_id = ep->id;
	}
	rcu_read_unlock();
	return skb->len;
}

static void voipq_flush(struct voipq_net *vn)
{
	struct voipq_ep *ep, *tmp;

	mutex_lock(&vn->lock);
	list_for_each_entry_safe(ep, tmp, &vn->eps, list)
		voipq_ep_remove(vn, ep);
	bitmap_zero(vn->ports, 65536);
	bitmap_zero(vn->pfx_ports, 65536);
	mutex_unlock(&vn->lock);
}

static int voipq_nl_flush(struct sk_buff *skb, struct genl_info *info)
{
	voipq_flush(voipq_net(genl_info_net(info)));
	return 0;
}

static const struct genl_ops voipq_genl_ops[] = {
	{
		.cmd	= VOIPQ_CMD_EP_SET,
		.doit	= voipq_nl_set,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= VOIPQ_CMD_EP_DEL,
		.doit	= voipq_nl_del,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		/* Reads too: endpoints say who is calling whom. */
		.cmd	= VOIPQ_CMD_EP_GET,
		.doit	= voipq_nl_get,
		.dumpit	= voipq_nl_dump,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= VOIPQ_CMD_EP_FLUSH,
		.doit	= voipq_nl_flush,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group voipq_mcgrps[] = {
	{ .name = VOIPQ_GENL_MCGRP_IDLE, .flags = GENL_MCAST_CAP_NET_ADMIN, },
};

static struct genl_family voipq_genl_family __ro_after_init = {
	.name		= VOIPQ_GENL_NAME,
	.version	= VOIPQ_GENL_VERSION,
	.maxattr	= VOIPQ_A_MAX,
	.policy		= voipq_policy,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.ops		= voipq_genl_ops,
	.n_ops		= ARRAY_SIZE(voipq_genl_ops),
	.mcgrps		= voipq_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(voipq_mcgrps),
};

/* --- idle announcements -------------------------------------------------- */

static void voipq_announce(struct voipq_net *vn, struct voipq_ep *ep)
{
	struct sk_buff *msg;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return;
	if (voipq_fill(msg, ep, 0, 0, 0, VOIPQ_CMD_EP_IDLE)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_multicast_netns(&voipq_genl_family, vn->net, msg, 0, 0,
				GFP_ATOMIC);
}

static void voipq_idle_scan(struct work_struct *work)
{
	struct voipq_net *vn = container_of(to_delayed_work(work),
					    struct voipq_net, idle_work);
	u64 now = ktime_get_ns();
	struct voipq_ep *ep;

	/* No listener: nothing is marked, so a later listener hears all. */
	if (!genl_has_listeners(&voipq_genl_family, vn->net, 0))
		goto out_rearm;

	rcu_read_lock();
	list_for_each_entry_rcu(ep, &vn->eps, list) {
		bool idle;
		u64 seen;

		spin_lock_bh(&ep->lock);
		seen = ep->st.last_seen_ns ?: ep->st.created_ns;
		/* A packet since @now was read is newer than @now: not idle. */
		idle = !ep->st.idle_announced && now > seen &&
		       now - seen > (u64)ep->pol.idle_ms * NSEC_PER_MSEC;
		if (idle)
			ep->st.idle_announced = true;
		spin_unlock_bh(&ep->lock);
		if (idle)
			voipq_announce(vn, ep);
	}
	rcu_read_unlock();
out_rearm:
	queue_delayed_work(system_power_efficient_wq, &vn->idle_work,
			   VOIPQ_SCAN_INTERVAL);
}

/* --- per namespace ------------------------------------------------------- */

static int __net_init voipq_net_init(struct net *net)
{
	struct voipq_net *vn = voipq_net(net);
	int err;

	err = rhashtable_init(&vn->ht, &voipq_ht_params);
	if (err)
		return err;
	INIT_LIST_HEAD(&vn->eps);
	INIT_LIST_HEAD(&vn->pfx);
	mutex_init(&vn->lock);
	vn->net = net;
	INIT_DELAYED_WORK(&vn->idle_work, voipq_idle_scan);
	queue_delayed_work(system_power_efficient_wq, &vn->idle_work,
			   VOIPQ_SCAN_INTERVAL);
	return 0;
}

/*
 * Devices of a dying namespace go after us (their pernet ops were
 * registered first), so a qdisc may still look up: mark the table dead and
 * empty it here; the core waits for a grace period before ->exit.
 */
static void __net_exit voipq_net_pre_exit(struct net *net)
{
	struct voipq_net *vn = voipq_net(net);

	WRITE_ONCE(vn->dead, true);
	cancel_delayed_work_sync(&vn->idle_work);
	voipq_flush(vn);
}

static void __net_exit voipq_net_exit(struct net *net)
{
	rhashtable_destroy(&voipq_net(net)->ht);
}

static struct pernet_operations voipq_net_ops = {
	.init		= voipq_net_init,
	.pre_exit	= voipq_net_pre_exit,
	.exit		= voipq_net_exit,
	.id		= &voipq_net_id,
	.size		= sizeof(struct voipq_net),
};

int voipq_table_register(void)
{
	int err;

	err = register_pernet_subsys(&voipq_net_ops);
	if (err)
		return err;
	err = genl_register_family(&voipq_genl_family);
	if (err)
		goto out_unregister_pernet;
	return 0;

out_unregister_pernet:
	unregister_pernet_subsys(&voipq_net_ops);
	return err;
}

void voipq_table_unregister(void)
{
	genl_unregister_family(&voipq_genl_family);
	unregister_pernet_subsys(&voipq_net_ops);
}
