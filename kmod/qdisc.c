// SPDX-License-Identifier: GPL-2.0
/*
 * sch_voipq: a voice-aware root qdisc for a home router's WAN or LAN egress.
 *
 * What it promises:
 *
 *  - The queue forms here. A built-in shaper sends at the configured rate,
 *    a little below the line's, so the modem's deep buffer stays empty and
 *    the decisions below are the ones that count.
 *
 *  - Voice first, but never everything. Voice packets are served before
 *    anything else while the voice band stays within a token bucket of
 *    voice_share percent of the rate. Past that, voice waits for the bulk
 *    band to be idle, so a forged SDP or a runaway phone cannot starve the
 *    data: bulk always keeps (100 - voice_share)% when it wants it.
 *
 *  - Bulk is fair and short. Bulk packets hash into 1024 flows served by
 *    deficit round robin with new flows first, each a CoDel queue that marks
 *    ECN-capable packets instead of dropping them (as sch_fq_codel does), so
 *    TCP backs off on marks instead of losses. The whole qdisc holds at
 *    most `limit` packets; on overflow the fattest bulk flow loses half its
 *    backlog, at most 64 packets at a time.
 *
 *  - Classification, in order: skb->priority naming our handle and the
 *    voice class (the BPF classifier's hand-off, bpf/voipq.h); a hit in the
 *    namespace's endpoint table, destination then source, within that
 *    endpoint's budget (table.c); EF-marked packets, only with trust_dscp,
 *    because anyone on the LAN can set a DSCP; everything else is bulk.
 *
 * The shaper keeps a virtual clock, t_next: a packet of L bytes moves it by
 * L / rate. Dequeue before t_next arms the watchdog and returns nothing.
 * The clock may lag `now` by a little (VOIPQ_SLACK_NS), which absorbs timer
 * lateness without allowing a burst after an idle period.
 *
 * Time only moves forward, so t_next not past the latest clock reading
 * (t_seen: a bulk enqueue's CoDel stamp, or dequeue's own) is not past now
 * either: a shaper that is not limiting sends without reading the clock,
 * about once per VOIPQ_SLACK_NS of its rate. Dequeue reads it when t_next
 * is ahead of t_seen, or when voice waits (its tokens accrue with time).
 */
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/codel.h>
#include <net/codel_impl.h>
/*
 * Bulk enqueue stamps get_codel_cb() itself, with the reading the shaper
 * keeps too, rather than by codel_set_enqueue_time()'s own.
 */
__diag_push();
__diag_ignore_all("-Wunused-function", "codel_set_enqueue_time() is replaced");
#include <net/codel_qdisc.h>
__diag_pop();
#include <net/dsfield.h>
#if __has_include(<net/gso.h>)
#include <net/gso.h>		/* skb_gso_segment(), since 6.5 */
#endif
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netlink.h>
#include <net/pkt_sched.h>
#include <linux/voipq.h>

#include "rtp.h"
#include "table.h"

#define VOIPQ_FLOWS		1024
#define VOIPQ_DROP_BATCH	64
#define VOIPQ_SLACK_NS		(2 * NSEC_PER_MSEC)
#define VOIPQ_VOICE_BURST_NS	(20 * NSEC_PER_MSEC)
#define VOIPQ_DSCP_EF		46

struct voipq_flow {
	struct sk_buff	  *head;
	struct sk_buff	  *tail;
	struct list_head  flowchain;
	int		  deficit;
	struct codel_vars cvars;
};

struct voipq_sched_data {
	/* Shaper. */
	u64 rate;		/* bytes per second */
	u64 byte_ns_q16;	/* ns per byte, << 16 */
	u64 t_next;		/* ns: the shaper's virtual clock */
	u64 t_seen;		/* ns: the latest clock reading */

	/* Voice band: a FIFO behind a token bucket counted in ns. */
	struct sk_buff *vhead;
	struct sk_buff *vtail;
	u32 vqlen;
	u32 vbacklog;
	u32 vlimit;
	u32 voice_share;	/* percent */
	u64 vbyte_ns_q16;	/* ns per byte at the voice rate, << 16 */
	u64 vtokens;		/* ns of voice credit */
	u64 vburst;		/* ns */
	u64 vlast;

	/* Bulk band: fq_codel's design. */
	struct voipq_flow *flows;
	u32 *backlogs;
	u32 bqlen;
	u32 bbacklog;
	u32 quantum;
	struct codel_params cparams;
	struct codel_stats cstats;
	struct list_head new_flows;
	struct list_head old_flows;

	bool trust_dscp;
	u32 hash_seed;		/* bulk flows' 5-tuple hash */
	u32 target_us;		/* as configured: CoDel's units round */
	u32 interval_us;
	u32 mtu;
	struct qdisc_watchdog watchdog;
	struct tc_voipq_xstats st;	/* the counters; queue lengths on dump */
};

/* --- classification ------------------------------------------------------ */

/*
 * The addresses, ports and DSCP of @skb into @p. Returns the offset of the
 * UDP header, or 0 when the packet is not UDP with ports: RTP is parsed
 * only for a packet that hits the table (voipq_parse_rtp).
 */
static int voipq_parse(struct sk_buff *skb, struct voipq_pkt *p)
{
	int noff = skb_network_offset(skb);
	__be16 _ports[2];
	const __be16 *ports;
	u8 l4proto;
	int l4off;

	memset(p, 0, sizeof(*p));
	switch (skb_protocol(skb, true)) {
	case htons(ETH_P_IP): {
		const struct iphdr *iph;
		struct iphdr _iph;

		iph = skb_header_pointer(skb, noff, sizeof(_iph), &_iph);
		if (!iph || iph->ihl < 5)
			return 0;
		p->dscp = iph->tos >> 2;
		if (iph->frag_off & htons(IP_OFFSET))
			return 0;	/* not the first fragment: no ports */
		l4proto = iph->protocol;
		l4off = noff + iph->ihl * 4;
		p->dst.family = AF_INET;
		p->src.family = AF_INET;
		memcpy(p->dst.addr, &iph->daddr, 4);
		memcpy(p->src.addr, &iph->saddr, 4);
		break;
	}
	case htons(ETH_P_IPV6): {
		const struct ipv6hdr *ip6h;
		struct ipv6hdr _ip6h;
		__be16 frag_off;

		ip6h = skb_header_pointer(skb, noff, sizeof(_ip6h), &_ip6h);
		if (!ip6h)
			return 0;
		p->dscp = ipv6_get_dsfield(ip6h) >> 2;
		l4proto = ip6h->nexthdr;
		l4off = ipv6_skip_exthdr(skb, noff + sizeof(*ip6h), &l4proto,
					 &frag_off);
		if (l4off < 0 || frag_off)
			return 0;
		p->dst.family = AF_INET6;
		p->src.family = AF_INET6;
		memcpy(p->dst.addr, &ip6h->daddr, 16);
		memcpy(p->src.addr, &ip6h->saddr, 16);
		break;
	}
	default:
		return 0;
	}

	if (l4proto != IPPROTO_UDP && l4proto != IPPROTO_TCP)
		return 0;
	ports = skb_header_pointer(skb, l4off, sizeof(_ports), _ports);
	if (!ports)
		return 0;
	p->dst.proto = l4proto;
	p->src.proto = l4proto;
	p->src.port = ports[0];
	p->dst.port = ports[1];
	p->has_ports = true;
	return l4proto == IPPROTO_UDP ? l4off : 0;
}

/* The fixed RTP header after the UDP header at @uoff, or NULL: not RTP. */
static const u8 *voipq_parse_rtp(struct sk_buff *skb, int uoff,
				 u8 buf[VOIPQ_RTP_HDR_LEN])
{
	const struct udphdr *uh;
	struct udphdr _uh;
	const u8 *rtp;
	u32 ulen;

	uh = skb_header_pointer(skb, uoff, sizeof(_uh), &_uh);
	if (!uh)
		return NULL;
	ulen = ntohs(uh->len);
	if (ulen < sizeof(*uh) + VOIPQ_RTP_HDR_LEN)
		return NULL;
	rtp = skb_header_pointer(skb, uoff + sizeof(*uh), VOIPQ_RTP_HDR_LEN, buf);
	if (!rtp || !voipq_rtp_hdr_ok(rtp, ulen - sizeof(*uh)))
		return NULL;
	return rtp;
}

/*
 * Returns true for voice; *@ep is the endpoint a table hit found. *@parsed
 * tells whether @p holds @skb's headers.
 */
static bool voipq_classify(struct Qdisc *sch, struct sk_buff *skb,
			   struct voipq_ep **ep, struct voipq_pkt *p,
			   bool *parsed)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct net *net = dev_net(qdisc_dev(sch));
	u8 rtp_buf[VOIPQ_RTP_HDR_LEN];
	bool from;
	int uoff;

	if (TC_H_MAJ(skb->priority) == sch->handle &&
	    TC_H_MIN(skb->priority) == VOIPQ_CLASS_VOICE) {
		q->st.by_priority++;
		return true;
	}
	if (!q->trust_dscp && !voipq_table_active(net))
		return false;

	uoff = voipq_parse(skb, p);
	*parsed = true;
	*ep = voipq_table_lookup(net, p, &from);
	if (*ep) {
		const u8 *rtp = uoff ? voipq_parse_rtp(skb, uoff, rtp_buf) : NULL;

		if (voipq_ep_charge(*ep, from, rtp, qdisc_pkt_len(skb)) ==
		    VOIPQ_HIT_VOICE) {
			q->st.by_table++;
			return true;
		}
		q->st.demoted++;
		*ep = NULL;
		return false;
	}
	if (q->trust_dscp && p->dscp == VOIPQ_DSCP_EF) {
		q->st.by_dscp++;
		return true;
	}
	return false;
}

/*
 * The bulk flow of @skb, in [0, VOIPQ_FLOWS). A hash the packet carries
 * (its socket's, or the receiving NIC's) is free. Without one,
 * skb_get_hash() would run the whole flow dissector and SipHash over its
 * keys; for TCP and UDP, whose ports voipq_parse() reads anyway, the
 * 5-tuple is hashed here under a seed of this qdisc's own instead. The
 * flow dissector remains for the rest, later IP fragments among them (no
 * ports): a first fragment may then leave after its datagram's others,
 * which reassembly does not mind.
 */
static u32 voipq_bulk_flow(const struct voipq_sched_data *q,
			   struct sk_buff *skb, struct voipq_pkt *p, bool parsed)
{
	u32 ports, h;

	if (skb->l4_hash || skb->sw_hash)
		return reciprocal_scale(skb->hash, VOIPQ_FLOWS);
	if (!parsed)
		voipq_parse(skb, p);
	if (!p->has_ports)
		return reciprocal_scale(skb_get_hash(skb), VOIPQ_FLOWS);

	ports = (u32)ntohs(p->src.port) << 16 | ntohs(p->dst.port);
	if (p->dst.family == AF_INET)
		h = jhash_3words(*(const u32 *)p->src.addr,
				 *(const u32 *)p->dst.addr, ports,
				 q->hash_seed ^ p->dst.proto);
	else
		h = jhash2((const u32 *)p->src.addr, 4,
			   jhash2((const u32 *)p->dst.addr, 4,
				  jhash_1word(ports,
					      q->hash_seed ^ p->dst.proto)));
	return reciprocal_scale(h, VOIPQ_FLOWS);
}

/* --- queues -------------------------------------------------------------- */

static void voipq_skb_append(struct sk_buff **head, struct sk_buff **tail,
			     struct sk_buff *skb)
{
	if (!*head)
		*head = skb;
	else
		(*tail)->next = skb;
	*tail = skb;
	skb->next = NULL;
}

static struct sk_buff *voipq_skb_pop(struct sk_buff **head)
{
	struct sk_buff *skb = *head;

	*head = skb->next;
	skb_mark_not_on_list(skb);
	return skb;
}

static struct sk_buff *voipq_voice_pop(struct Qdisc *sch)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct sk_buff *skb = voipq_skb_pop(&q->vhead);
	u32 len = qdisc_pkt_len(skb);

	q->vqlen--;
	q->vbacklog -= len;
	sch->q.qlen--;
	sch->qstats.backlog -= len;
	return skb;
}

/* The voice band's head, to send. */
static struct sk_buff *voipq_voice_send(struct Qdisc *sch)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct sk_buff *skb = voipq_voice_pop(sch);

	q->st.voice_packets++;
	q->st.voice_bytes += qdisc_pkt_len(skb);
	return skb;
}

/*
 * The qdisc is full: the fattest bulk flow loses half its backlog, at most
 * @max packets (fq_codel's trade: one scan of the backlog table amortised
 * over a batch). Returns the flow's index, or -1 when bulk is empty.
 */
static int voipq_drop_fat(struct Qdisc *sch, unsigned int max,
			  struct sk_buff **to_free)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	u32 maxbacklog = 0, len = 0, threshold;
	struct voipq_flow *flow;
	unsigned int i, idx = 0;

	for (i = 0; i < VOIPQ_FLOWS; i++) {
		if (q->backlogs[i] > maxbacklog) {
			maxbacklog = q->backlogs[i];
			idx = i;
		}
	}
	if (!maxbacklog)
		return -1;

	threshold = maxbacklog >> 1;
	flow = &q->flows[idx];
	i = 0;
	do {
		struct sk_buff *skb = voipq_skb_pop(&flow->head);

		len += qdisc_pkt_len(skb);
		__qdisc_drop(skb, to_free);
	} while (++i < max && flow->head && len < threshold);

	/* Tell CoDel to signal harder on this flow, too. */
	flow->cvars.count += i;
	q->backlogs[idx] -= len;
	q->bqlen -= i;
	q->bbacklog -= len;
	q->st.overlimit_drops += i;
	sch->qstats.drops += i;
	sch->qstats.backlog -= len;
	sch->q.qlen -= i;
	return idx;
}

/*
 * Queue @skb in its band, counted in the qdisc's length and backlog; the
 * limit is the caller's to enforce. Returns its bulk flow's index, -1 for
 * the voice band, or -2 when the voice band was full and @skb was dropped.
 */
static int voipq_queue(struct sk_buff *skb, struct Qdisc *sch,
		       struct sk_buff **to_free)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	unsigned int pkt_len = qdisc_pkt_len(skb);
	struct voipq_ep *ep = NULL;
	struct voipq_flow *flow;
	struct voipq_pkt p;
	bool parsed = false;
	unsigned int idx;

	if (voipq_classify(sch, skb, &ep, &p, &parsed)) {
		if (q->vqlen >= q->vlimit) {
			q->st.voice_drops++;
			if (ep)
				voipq_ep_count_drop(ep);
			net_warn_ratelimited("sch_voipq: %s: voice band full, dropping; is voice_share %u%% too small?\n",
					     qdisc_dev(sch)->name, q->voice_share);
			qdisc_drop(skb, sch, to_free);
			return -2;
		}
		voipq_skb_append(&q->vhead, &q->vtail, skb);
		q->vqlen++;
		q->vbacklog += pkt_len;
		qdisc_qstats_backlog_inc(sch, skb);
		sch->q.qlen++;
		return -1;
	}

	idx = voipq_bulk_flow(q, skb, &p, parsed);
	/* CoDel's stamp, and the shaper's latest reading. */
	q->t_seen = ktime_get_ns();
	get_codel_cb(skb)->enqueue_time = (codel_time_t)(q->t_seen >> CODEL_SHIFT);
	flow = &q->flows[idx];
	voipq_skb_append(&flow->head, &flow->tail, skb);
	q->backlogs[idx] += pkt_len;
	q->bqlen++;
	q->bbacklog += pkt_len;
	qdisc_qstats_backlog_inc(sch, skb);
	if (list_empty(&flow->flowchain)) {
		list_add_tail(&flow->flowchain, &q->new_flows);
		flow->deficit = q->quantum;
	}
	sch->q.qlen++;
	return idx;
}

/*
 * A GSO packet is one skb for up to 64 KB of segments. Shaped whole, it
 * would move the shaper's clock by all of them at once (52 ms at 10 Mbit/s)
 * and voice would wait behind it; policed whole, a voice GSO packet could
 * be larger than the voice band's burst for good. Below
 * VOIPQ_SPLIT_GSO_RATE it is cut into its segments here, as sch_cake and
 * sch_tbf do, and each is classified and queued on its own.
 */
#define VOIPQ_SPLIT_GSO_RATE	(1000000000ULL / 8)	/* bytes/s: 1 Gbit/s */

static int voipq_enqueue_segs(struct sk_buff *skb, struct Qdisc *sch,
			      struct sk_buff **to_free)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	unsigned int prev_qlen = sch->q.qlen;
	unsigned int prev_backlog = sch->qstats.backlog;
	unsigned int len = qdisc_pkt_len(skb);
	netdev_features_t features = netif_skb_features(skb);
	struct sk_buff *segs, *nskb;

	segs = skb_gso_segment(skb, features & ~NETIF_F_GSO_MASK);
	if (IS_ERR_OR_NULL(segs))
		return qdisc_drop(skb, sch, to_free);

	q->st.gso_split++;
	skb_list_walk_safe(segs, segs, nskb) {
		skb_mark_not_on_list(segs);
		qdisc_skb_cb(segs)->pkt_len = segs->len;
		voipq_queue(segs, sch, to_free);
	}
	consume_skb(skb);

	/* Each batch takes at least one packet, and voice alone fits. */
	while (sch->q.qlen > sch->limit &&
	       voipq_drop_fat(sch, VOIPQ_DROP_BATCH, to_free) >= 0)
		;
	/*
	 * The parents count one packet of @len on success: tell them what
	 * changed instead, the drops of packets they knew included. Nothing
	 * held is a drop: a parent must not activate an empty class.
	 */
	if (!sch->q.qlen) {
		qdisc_tree_reduce_backlog(sch, prev_qlen, prev_backlog);
		return NET_XMIT_DROP;
	}
	qdisc_tree_reduce_backlog(sch, 1 + (int)prev_qlen - (int)sch->q.qlen,
				  (int)len + (int)prev_backlog -
				  (int)sch->qstats.backlog);
	return NET_XMIT_SUCCESS;
}

static int voipq_enqueue(struct sk_buff *skb, struct Qdisc *sch,
			 struct sk_buff **to_free)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	unsigned int prev_qlen, prev_backlog, pkt_len;
	int idx;

	if (skb_is_gso(skb) && q->rate < VOIPQ_SPLIT_GSO_RATE)
		return voipq_enqueue_segs(skb, sch, to_free);

	pkt_len = qdisc_pkt_len(skb);
	idx = voipq_queue(skb, sch, to_free);
	if (idx == -2)
		return NET_XMIT_DROP;
	if (sch->q.qlen <= sch->limit)
		return NET_XMIT_SUCCESS;

	/* Voice: vlimit < limit, so bulk holds packets to make room with. */
	prev_qlen = sch->q.qlen;
	prev_backlog = sch->qstats.backlog;
	if (voipq_drop_fat(sch, VOIPQ_DROP_BATCH, to_free) == idx && idx >= 0) {
		/* Our own flow lost packets: tell the sender, as fq_codel does. */
		qdisc_tree_reduce_backlog(sch, prev_qlen - sch->q.qlen - 1,
					  prev_backlog - sch->qstats.backlog -
					  pkt_len);
		return NET_XMIT_CN;
	}
	qdisc_tree_reduce_backlog(sch, prev_qlen - sch->q.qlen,
				  prev_backlog - sch->qstats.backlog);
	return NET_XMIT_SUCCESS;
}

/* codel_dequeue()'s callback: take the flow's head; CoDel keeps backlog. */
static struct sk_buff *voipq_codel_dequeue(struct codel_vars *vars, void *ctx)
{
	struct Qdisc *sch = ctx;
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct voipq_flow *flow = container_of(vars, struct voipq_flow, cvars);
	struct sk_buff *skb;
	u32 len;

	if (!flow->head)
		return NULL;
	skb = voipq_skb_pop(&flow->head);
	len = qdisc_pkt_len(skb);
	q->backlogs[flow - q->flows] -= len;
	q->bqlen--;
	q->bbacklog -= len;
	sch->q.qlen--;
	sch->qstats.backlog -= len;
	return skb;
}

static void voipq_codel_drop(struct sk_buff *skb, void *ctx)
{
	struct Qdisc *sch = ctx;
	struct voipq_sched_data *q = qdisc_priv(sch);

	q->st.codel_drops++;
	kfree_skb(skb);
	qdisc_qstats_drop(sch);
}

/*
 * The head of @flow through CoDel. With at most one MTU queued behind the
 * packet, CoDel neither drops nor marks (codel_should_drop()): it clears
 * first_above_time and leaves the dropping state. That much is done here,
 * without the clock reading CoDel would take; the reading would only set
 * the flow's ldelay, which nothing here reads (there is no ce_threshold).
 * It is the qdisc's state whenever the shaper is not limiting, so there a
 * bulk packet costs one clock reading, its enqueue stamp, instead of two.
 */
static struct sk_buff *voipq_flow_dequeue(struct Qdisc *sch,
					  struct voipq_flow *flow)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct sk_buff *skb = flow->head;

	if (skb && sch->qstats.backlog - qdisc_pkt_len(skb) <= q->cparams.mtu) {
		skb = voipq_codel_dequeue(&flow->cvars, sch);
		flow->cvars.first_above_time = 0;
		flow->cvars.dropping = false;
		q->cstats.maxpacket = max(q->cstats.maxpacket,
					  qdisc_pkt_len(skb));
		return skb;
	}
	return codel_dequeue(sch, &sch->qstats.backlog, &q->cparams,
			     &flow->cvars, &q->cstats, qdisc_pkt_len,
			     codel_get_enqueue_time, voipq_codel_drop,
			     voipq_codel_dequeue);
}

static struct sk_buff *voipq_bulk_dequeue(struct Qdisc *sch)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct voipq_flow *flow;
	struct list_head *head;
	struct sk_buff *skb;

	for (;;) {
		head = &q->new_flows;
		if (list_empty(head)) {
			head = &q->old_flows;
			if (list_empty(head))
				return NULL;
		}
		flow = list_first_entry(head, struct voipq_flow, flowchain);
		if (flow->deficit <= 0) {
			flow->deficit += q->quantum;
			list_move_tail(&flow->flowchain, &q->old_flows);
			continue;
		}
		skb = voipq_flow_dequeue(sch, flow);
		if (skb)
			break;
		/* An emptied new flow passes through old_flows once more. */
		if (head == &q->new_flows && !list_empty(&q->old_flows))
			list_move_tail(&flow->flowchain, &q->old_flows);
		else
			list_del_init(&flow->flowchain);
	}
	flow->deficit -= qdisc_pkt_len(skb);
	q->st.bulk_packets++;
	q->st.bulk_bytes += qdisc_pkt_len(skb);
	return skb;
}

static u64 voipq_cost(u32 len, u64 byte_ns_q16)
{
	return ((u64)len * byte_ns_q16) >> 16;
}

static struct sk_buff *voipq_dequeue(struct Qdisc *sch)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct sk_buff *skb = NULL;

	if (!sch->q.qlen)
		return NULL;
	if (q->t_next > q->t_seen || q->vhead) {
		q->t_seen = ktime_get_ns();
		if (q->t_seen < q->t_next) {
			q->st.throttled++;
			qdisc_watchdog_schedule_ns(&q->watchdog, q->t_next);
			return NULL;
		}
	}

	if (q->vhead) {
		u64 cost = voipq_cost(qdisc_pkt_len(q->vhead), q->vbyte_ns_q16);

		/* Lazily: min() makes one late refill equal to many. */
		q->vtokens = min(q->vtokens + (q->t_seen - q->vlast), q->vburst);
		q->vlast = q->t_seen;

		if (cost <= q->vtokens) {
			q->vtokens -= cost;
			skb = voipq_voice_send(sch);
		}
	}
	if (!skb)
		skb = voipq_bulk_dequeue(sch);
	if (!skb && q->vhead) {
		/* Over the cap, but bulk is idle: the capacity is spare. */
		q->st.voice_over_cap++;
		skb = voipq_voice_send(sch);
	}

	/*
	 * Not with q.qlen 0: a parent's qlen_notify (HTB's deactivates the
	 * class in its own dequeue) must not run now. The next round tells it,
	 * as fq_codel and codel do.
	 */
	if (q->cstats.drop_count && sch->q.qlen) {
		qdisc_tree_reduce_backlog(sch, q->cstats.drop_count,
					  q->cstats.drop_len);
		q->cstats.drop_count = 0;
		q->cstats.drop_len = 0;
	}
	if (!skb)
		return NULL;

	q->t_next = max(q->t_next, q->t_seen - VOIPQ_SLACK_NS) +
		    voipq_cost(qdisc_pkt_len(skb), q->byte_ns_q16);
	qdisc_bstats_update(sch, skb);
	return skb;
}

static void voipq_reset(struct Qdisc *sch)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	unsigned int i;

	/* After a failed ->init (qdisc_put() resets): nothing to empty. */
	if (!q->flows)
		return;
	qdisc_watchdog_cancel(&q->watchdog);
	rtnl_kfree_skbs(q->vhead, q->vtail);
	q->vhead = NULL;
	q->vqlen = 0;
	q->vbacklog = 0;
	INIT_LIST_HEAD(&q->new_flows);
	INIT_LIST_HEAD(&q->old_flows);
	for (i = 0; i < VOIPQ_FLOWS; i++) {
		struct voipq_flow *flow = &q->flows[i];

		rtnl_kfree_skbs(flow->head, flow->tail);
		flow->head = NULL;
		INIT_LIST_HEAD(&flow->flowchain);
		codel_vars_init(&flow->cvars);
	}
	memset(q->backlogs, 0, VOIPQ_FLOWS * sizeof(*q->backlogs));
	q->bqlen = 0;
	q->bbacklog = 0;
	/* Drops dequeue deferred: the parents' counts are reset too. */
	q->cstats.drop_count = 0;
	q->cstats.drop_len = 0;
	q->t_next = 0;
}

/* --- configuration ------------------------------------------------------- */

static struct netlink_range_validation voipq_rate_range = {
	.min = VOIPQ_RATE_MIN,
	.max = VOIPQ_RATE_MAX,
};

static struct netlink_range_validation voipq_limit_range = {
	.min = VOIPQ_LIMIT_MIN,
	.max = VOIPQ_LIMIT_MAX,
};

static struct netlink_range_validation voipq_time_range = {
	.min = VOIPQ_TARGET_MIN,
	.max = VOIPQ_INTERVAL_MAX,
};

static const struct nla_policy voipq_opt_policy[TCA_VOIPQ_MAX + 1] = {
	[TCA_VOIPQ_RATE]	= NLA_POLICY_FULL_RANGE(NLA_U64, &voipq_rate_range),
	[TCA_VOIPQ_VOICE_SHARE]	= NLA_POLICY_RANGE(NLA_U32, VOIPQ_SHARE_MIN,
						   VOIPQ_SHARE_MAX),
	[TCA_VOIPQ_LIMIT]	= NLA_POLICY_FULL_RANGE(NLA_U32, &voipq_limit_range),
	[TCA_VOIPQ_TARGET]	= NLA_POLICY_FULL_RANGE(NLA_U32, &voipq_time_range),
	[TCA_VOIPQ_INTERVAL]	= NLA_POLICY_FULL_RANGE(NLA_U32, &voipq_time_range),
	[TCA_VOIPQ_ECN]		= NLA_POLICY_MAX(NLA_U8, 1),
	[TCA_VOIPQ_TRUST_DSCP]	= NLA_POLICY_MAX(NLA_U8, 1),
};

static void voipq_set_rates(struct voipq_sched_data *q)
{
	u64 vrate = div_u64(q->rate * q->voice_share, 100);

	q->byte_ns_q16 = div64_u64(NSEC_PER_SEC << 16, q->rate);
	q->vbyte_ns_q16 = div64_u64(NSEC_PER_SEC << 16, vrate);
	/* Enough for two full-size packets even at a tiny voice rate. */
	q->vburst = max_t(u64, VOIPQ_VOICE_BURST_NS,
			  voipq_cost(2 * q->mtu, q->vbyte_ns_q16));
	q->vtokens = min(q->vtokens, q->vburst);
}

/*
 * A packet the core requeued on sch->gso_skb: counted in q.qlen, in
 * neither band. (qdisc_dequeue_internal() does this too, but only kernels
 * with its 2025 backport have it.)
 */
static struct sk_buff *voipq_requeued_pop(struct Qdisc *sch)
{
	struct sk_buff *skb = __skb_dequeue(&sch->gso_skb);

	if (skb) {
		sch->q.qlen--;
		qdisc_qstats_backlog_dec(sch, skb);
	}
	return skb;
}

static int voipq_change(struct Qdisc *sch, struct nlattr *opt,
			struct netlink_ext_ack *extack)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct nlattr *tb[TCA_VOIPQ_MAX + 1];
	unsigned int dropped = 0, dropped_bytes = 0;
	struct sk_buff *to_free = NULL;
	u32 target, interval;
	int err;

	if (!opt) {
		NL_SET_ERR_MSG_MOD(extack, "Options are required: at least a rate");
		/* net.core.default_qdisc's creation has no extack: log it. */
		if (!extack)
			net_warn_ratelimited("sch_voipq: %s: cannot be a default qdisc: it needs a rate; add it with tc qdisc add ... voipq rate RATE\n",
					     qdisc_dev(sch)->name);
		return -EINVAL;
	}
	err = nla_parse_nested(tb, TCA_VOIPQ_MAX, opt, voipq_opt_policy, extack);
	if (err < 0)
		return err;
	if (!q->rate && !tb[TCA_VOIPQ_RATE]) {
		NL_SET_ERR_MSG_MOD(extack, "A rate is required: the queue must form here, not in the modem");
		return -EINVAL;
	}

	target = tb[TCA_VOIPQ_TARGET] ? nla_get_u32(tb[TCA_VOIPQ_TARGET]) :
		 q->target_us;
	interval = tb[TCA_VOIPQ_INTERVAL] ? nla_get_u32(tb[TCA_VOIPQ_INTERVAL]) :
		   q->interval_us;
	if (target >= interval) {
		NL_SET_ERR_MSG_ATTR(extack, tb[TCA_VOIPQ_TARGET] ?: tb[TCA_VOIPQ_INTERVAL],
				    "CoDel target must be below its interval");
		return -EINVAL;
	}

	sch_tree_lock(sch);
	if (tb[TCA_VOIPQ_RATE])
		q->rate = nla_get_u64(tb[TCA_VOIPQ_RATE]);
	if (tb[TCA_VOIPQ_VOICE_SHARE])
		q->voice_share = nla_get_u32(tb[TCA_VOIPQ_VOICE_SHARE]);
	if (tb[TCA_VOIPQ_LIMIT])
		sch->limit = nla_get_u32(tb[TCA_VOIPQ_LIMIT]);
	/* Voice queues only past its cap: keep that wait short. */
	q->vlimit = clamp(sch->limit / 8, 8U, 128U);
	q->target_us = target;
	q->interval_us = interval;
	q->cparams.target = ((u64)target * NSEC_PER_USEC) >> CODEL_SHIFT;
	q->cparams.interval = ((u64)interval * NSEC_PER_USEC) >> CODEL_SHIFT;
	if (tb[TCA_VOIPQ_ECN])
		q->cparams.ecn = nla_get_u8(tb[TCA_VOIPQ_ECN]);
	if (tb[TCA_VOIPQ_TRUST_DSCP])
		q->trust_dscp = nla_get_u8(tb[TCA_VOIPQ_TRUST_DSCP]);
	voipq_set_rates(q);

	/*
	 * A smaller limit: bulk's fattest flows first, then voice's oldest,
	 * then what the core requeued on sch->gso_skb: q.qlen counts those
	 * too, and they are in neither band.
	 */
	while (sch->q.qlen > sch->limit) {
		unsigned int qlen = sch->q.qlen, backlog = sch->qstats.backlog;

		if (voipq_drop_fat(sch, VOIPQ_DROP_BATCH, &to_free) < 0) {
			struct sk_buff *skb;

			if (q->vhead) {
				skb = voipq_voice_pop(sch);
				q->st.voice_drops++;
			} else {
				skb = voipq_requeued_pop(sch);
				if (!skb)
					break;
			}
			qdisc_qstats_drop(sch);
			__qdisc_drop(skb, &to_free);
		}
		dropped += qlen - sch->q.qlen;
		dropped_bytes += backlog - sch->qstats.backlog;
	}
	qdisc_tree_reduce_backlog(sch, dropped, dropped_bytes);
	sch_tree_unlock(sch);
	kfree_skb_list(to_free);
	return 0;
}

static int voipq_init(struct Qdisc *sch, struct nlattr *opt,
		      struct netlink_ext_ack *extack)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	unsigned int i;
	int err;

	/* First: ->destroy runs after a failed init and cancels it. */
	qdisc_watchdog_init(&q->watchdog, sch);
	INIT_LIST_HEAD(&q->new_flows);
	INIT_LIST_HEAD(&q->old_flows);
	sch->limit = 10240;
	q->voice_share = 30;
	q->mtu = psched_mtu(qdisc_dev(sch));
	q->quantum = max(q->mtu, 256U);
	codel_params_init(&q->cparams);
	q->target_us = 5000;
	q->interval_us = 100000;
	codel_stats_init(&q->cstats);
	q->cparams.ecn = true;
	q->cparams.mtu = q->mtu;
	q->vlast = ktime_get_ns();
	q->t_seen = q->vlast;
	q->hash_seed = get_random_u32();

	q->flows = kvcalloc(VOIPQ_FLOWS, sizeof(*q->flows), GFP_KERNEL);
	if (!q->flows)
		return -ENOMEM;
	q->backlogs = kvcalloc(VOIPQ_FLOWS, sizeof(*q->backlogs), GFP_KERNEL);
	if (!q->backlogs) {
		err = -ENOMEM;
		goto out_free_flows;
	}
	for (i = 0; i < VOIPQ_FLOWS; i++) {
		INIT_LIST_HEAD(&q->flows[i].flowchain);
		codel_vars_init(&q->flows[i].cvars);
	}

	err = voipq_change(sch, opt, extack);
	if (err)
		goto out_free_backlogs;
	return 0;

out_free_backlogs:
	kvfree(q->backlogs);
	q->backlogs = NULL;
out_free_flows:
	kvfree(q->flows);
	q->flows = NULL;
	return err;
}

static void voipq_destroy(struct Qdisc *sch)
{
	struct voipq_sched_data *q = qdisc_priv(sch);

	qdisc_watchdog_cancel(&q->watchdog);
	kvfree(q->backlogs);
	kvfree(q->flows);
}

static int voipq_dump(struct Qdisc *sch, struct sk_buff *skb)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct nlattr *opts;

	opts = nla_nest_start_noflag(skb, TCA_OPTIONS);
	if (!opts)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, TCA_VOIPQ_RATE, q->rate, TCA_VOIPQ_PAD) ||
	    nla_put_u32(skb, TCA_VOIPQ_VOICE_SHARE, q->voice_share) ||
	    nla_put_u32(skb, TCA_VOIPQ_LIMIT, sch->limit) ||
	    nla_put_u32(skb, TCA_VOIPQ_TARGET, q->target_us) ||
	    nla_put_u32(skb, TCA_VOIPQ_INTERVAL, q->interval_us) ||
	    nla_put_u8(skb, TCA_VOIPQ_ECN, q->cparams.ecn) ||
	    nla_put_u8(skb, TCA_VOIPQ_TRUST_DSCP, q->trust_dscp))
		goto out_cancel;
	return nla_nest_end(skb, opts);

out_cancel:
	nla_nest_cancel(skb, opts);
	return -EMSGSIZE;
}

static int voipq_dump_stats(struct Qdisc *sch, struct gnet_dump *d)
{
	struct voipq_sched_data *q = qdisc_priv(sch);
	struct tc_voipq_xstats st;
	const struct list_head *pos;

	sch_tree_lock(sch);
	st = q->st;
	st.ecn_marks = q->cstats.ecn_mark;
	st.voice_qlen = q->vqlen;
	st.voice_backlog = q->vbacklog;
	st.bulk_qlen = q->bqlen;
	st.bulk_backlog = q->bbacklog;
	st.new_flows_len = 0;
	st.old_flows_len = 0;
	list_for_each(pos, &q->new_flows)
		st.new_flows_len++;
	list_for_each(pos, &q->old_flows)
		st.old_flows_len++;
	sch_tree_unlock(sch);
	return gnet_stats_copy_app(d, &st, sizeof(st));
}

static struct Qdisc_ops voipq_qdisc_ops __read_mostly = {
	.id		= "voipq",
	.priv_size	= sizeof(struct voipq_sched_data),
	.enqueue	= voipq_enqueue,
	.dequeue	= voipq_dequeue,
	.peek		= qdisc_peek_dequeued,
	.init		= voipq_init,
	.reset		= voipq_reset,
	.destroy	= voipq_destroy,
	.change		= voipq_change,
	.dump		= voipq_dump,
	.dump_stats	= voipq_dump_stats,
	.owner		= THIS_MODULE,
};

static int __init voipq_module_init(void)
{
	int err;

	err = voipq_table_register();
	if (err)
		return err;
	err = register_qdisc(&voipq_qdisc_ops);
	if (err)
		goto out_unregister_table;
	return 0;

out_unregister_table:
	voipq_table_unregister();
	return err;
}

static void __exit voipq_module_exit(void)
{
	unregister_qdisc(&voipq_qdisc_ops);
	voipq_table_unregister();
}

module_init(voipq_module_init);
module_exit(voipq_module_exit);
MODULE_AUTHOR("voipq developers");
MODULE_DESCRIPTION("Voice-aware qdisc: shaper, capped voice band, fair CoDel bulk");
MODULE_LICENSE("GPL");
/* 6.12 asks for "net-sch-<kind>", 6.1 for "sch_<kind>": the file name. */
MODULE_ALIAS("net-sch-voipq");
