// SPDX-License-Identifier: GPL-2.0
/*
 * voipq tc egress classifier.
 *
 * What it promises: a packet to or from an endpoint the agent learned from
 * SIP (a call's media, or its signalling) or was given as a static rule
 * leaves with skb->priority set to the voice class, as long as that
 * endpoint stays within its budget (a token bucket sized from the codec);
 * a pure TCP ACK leaves in the ACK class, ahead of bulk (vq_pure_ack);
 * everything else leaves as it came. It never drops and never redirects:
 * whatever goes wrong — a short header, a full map, an agent that died —
 * the packet goes out as bulk (fail open, DESIGN.md decision 6).
 *
 * Nor does it ever make a verdict: every path returns TC_ACT_UNSPEC, which
 * is TCX_NEXT under tcx and "no match, try the next filter" under clsact
 * direct-action. TC_ACT_OK would be TCX_PASS, and would end the chain there:
 * a tcx program or clsact filter attached after this one (a firewall, a
 * counter, another tool's classifier) would never see the packet. What the
 * classifier decides travels in skb->priority (and the DSCP), not in the
 * return value.
 *
 * Cost model: most packets on a home router are not voice, so the common
 * cases are made cheap first. Non-IP packets count one per-CPU counter and
 * leave; other protocols than UDP and TCP read nothing more. UDP and TCP
 * test two bits in the port-presence bitmap (an array map the verifier
 * inlines) and reach the endpoint table only when a port matches; TCP reads
 * its flags first (vq_tcp). A table lookup is a hash of the key and compares
 * in at most two buckets of an array map: no call into the kernel. Hits pay
 * for the clock, the bucket, counters and, on UDP, RTP statistics.
 * Static prefix rules (an LPM trie) are consulted only when both exact
 * lookups missed and a port has a bit in the prefix rules' own bitmap, so
 * a port only learned endpoints use never pays for a trie walk.
 *
 * Directions: an endpoint matches as a packet's destination (the stream it
 * receives) or as its source (the stream it sends). On a NAT router the far
 * end's endpoint is both: the destination of the phone's RTP on the WAN
 * egress, and the source of its own RTP on the downstream IFB. The two are
 * different streams (SSRC, sequence, timing), so each direction keeps its
 * own RTP statistics; the bucket and counters are the endpoint's.
 *
 * The program never writes packet memory directly: a direct write would make
 * the verifier add an unclone prologue that runs for every packet. DSCP is
 * rewritten with bpf_skb_store_bytes() on the few packets that need it.
 *
 * The endpoint table is an array of slots hashed by the program itself
 * (voipq.h says why and how): a lookup makes no call into the kernel.
 * Counters are atomic adds, and the token bucket and RTP state are plain
 * read-modify-write: one RTP stream is sent by one socket and in practice
 * handled by one CPU at a time; when two CPUs do race, the cost is one
 * packet's worth of tokens or one jitter sample, which is not worth a lock
 * on every packet.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "voipq.h"
#include "parse.h"

#define NSEC_PER_SEC	1000000000ull
#define RTP_SEQ_MOD	(1u << 16)
#define MAX_DROPOUT	3000
#define MAX_MISORDER	100
/*
 * Refill at most this much idle time at once, so that a full bucket plus
 * idle * rate fits 64 bits in nanobytes: 2 s * 2^32 B/s + 2^32 B * 1e9 <
 * 2^64. Every budget refills its burst in less (vq_bpf_budget: 0.5 s).
 */
#define TB_MAX_IDLE_NS	(2 * NSEC_PER_SEC)

/* Load-time knobs, set on skel->rodata by the agent. */
const volatile __u32 voice_major = 1;		/* HTB root handle major */
const volatile __u32 voice_minor = VOIPQ_VOICE_MINOR;
const volatile __u8 dscp_rewrite = 1;		/* allow per-entry EF marking */
/*
 * EF marks what goes upstream: only packets leaving this interface (the
 * WAN) are re-marked, not the same call's packets going down to the LAN.
 * 0: any interface.
 */
const volatile __u32 ef_ifindex = 0;
/* The class for pure TCP ACKs under voice_major; 0: leave them as bulk. */
const volatile __u32 ack_minor = VOIPQ_ACK_MINOR;
/*
 * Tests only: take "now" from skb->tstamp instead of bpf_ktime_get_ns(),
 * because BPF_PROG_TEST_RUN has no controllable clock but does pass tstamp
 * in from ctx_in. Off in production, where the verifier prunes the branch.
 */
const volatile __u8 clock_from_tstamp = 0;
/*
 * The endpoint table's hashing (struct voipq_ep_meta), read-only so that
 * the verifier folds them into the code: the agent reads them from the
 * pinned voipq_ep_meta, or makes them for a new table, before load.
 */
const volatile __u64 ep_seed = 0;
const volatile __u32 ep_buckets = 2;	/* at least 2 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	/* the agent sets it before load: ep_buckets * VOIPQ_BUCKET_SLOTS */
	__uint(max_entries, 2 * VOIPQ_BUCKET_SLOTS);
	__type(key, __u32);
	__type(value, struct voipq_ep_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} voipq_eps SEC(".maps");

/* The table's seed and size, for the agent (the program has its rodata). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct voipq_ep_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} voipq_ep_meta SEC(".maps");

/* A port bitmap: one element of an array the agent maps into its memory. */
struct port_bitmap {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct voipq_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
};

/* Every rule's ports, and the static prefix rules' own. */
struct port_bitmap voipq_ports SEC(".maps");
struct port_bitmap voipq_pfx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VOIPQ_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct voipq_pfx_key);
	__type(value, struct voipq_ep_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} voipq_pfx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct voipq_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} voipq_stats SEC(".maps");

struct vq_rtp {
	__u8 vpxcc;
	__u8 mpt;
	__be16 seq;
	__be32 ts;
	__be32 ssrc;
};

static __always_inline int port_bit(const struct voipq_ports *ports,
				    __be16 port)
{
	__u16 p = bpf_ntohs(port);

	return (ports->bits[(p >> 6) & (VOIPQ_PORT_WORDS - 1)] >> (p & 63)) & 1;
}

/* Where UDP and TCP agree: the ports come first. */
struct vq_l4ports {
	__be16 source;
	__be16 dest;
};

/*
 * The packet's destination (@to) or source into @k, whose family and
 * protocol are set. Branches on proto, not on iph/ip6: the verifier knows
 * proto's value on each path but not that a packet pointer is non-NULL.
 */
static __always_inline void key_set(struct voipq_ep_key *k, __u16 proto,
				    const struct iphdr *iph,
				    const struct ipv6hdr *ip6,
				    const void *l4, int to)
{
	const struct vq_l4ports *pp = l4;

	k->port = to ? pp->dest : pp->source;
	if (proto == ETH_P_IP)
		__builtin_memcpy(k->addr, to ? &iph->daddr : &iph->saddr, 4);
	else
		__builtin_memcpy(k->addr, to ? &ip6->daddr : &ip6->saddr, 16);
}

/* @kw's slot in @bucket, or -1. */
static __always_inline int ep_bucket_find(__u32 bucket, const __u32 *kw)
{
	__u32 i = bucket * VOIPQ_BUCKET_SLOTS;

#pragma unroll
	for (int j = 0; j < VOIPQ_BUCKET_SLOTS; j++, i++) {
		struct voipq_ep_slot *s = bpf_map_lookup_elem(&voipq_eps, &i);
		const __u32 *sw;

		if (!s)
			return -1;
		sw = (const __u32 *)&s->key;
		/* family first: a free slot stops at the first word */
		if (sw[0] == kw[0] && sw[1] == kw[1] && sw[2] == kw[2] &&
		    sw[3] == kw[3] && sw[4] == kw[4])
			return (int)i;
	}
	return -1;
}

/*
 * The endpoint table's slot for @k, or -1 (voipq.h: two buckets). A global
 * function, which the verifier checks once, on its own: inlined into each
 * path that looks up a key, its sixteen slots' compares tripled the
 * verifier's work and the classifier's load time (0.6 s), for 5-10 ns of
 * a hit's time saved.
 */
__noinline int vq_ep_slot(const struct voipq_ep_key *k)
{
	__u32 kw[VOIPQ_EP_KEY_WORDS], b1, b2;
	int i;

	if (!k)
		return -1;
	__builtin_memcpy(kw, k, sizeof(kw));
	voipq_ep_buckets(voipq_ep_hash(k, ep_seed), ep_buckets, &b1, &b2);
	i = ep_bucket_find(b1, kw);
	return i >= 0 ? i : ep_bucket_find(b2, kw);
}

/* The value of @k's entry, or NULL. */
static __always_inline struct voipq_ep_val *
ep_find(const struct voipq_ep_key *k)
{
	struct voipq_ep_slot *s;
	int i = vq_ep_slot(k);

	if (i < 0)
		return NULL;
	s = bpf_map_lookup_elem(&voipq_eps, &i);
	return s ? &s->val : NULL;
}

/*
 * The endpoint a packet is to (when @dbit: its destination port has a bit
 * in the bitmap) or, failing that, from (@sbit); *@dir becomes
 * VOIPQ_DIR_FROM when the source was looked up. @k has its family and
 * protocol set; @l4 is the UDP or TCP header.
 */
static __always_inline struct voipq_ep_val *
vq_lookup(struct voipq_ep_key *k, __u16 proto, const struct iphdr *iph,
	  const struct ipv6hdr *ip6, const void *l4, int dbit, int sbit,
	  __u32 *dir)
{
	struct voipq_ep_val *v = NULL;

	if (dbit) {
		key_set(k, proto, iph, ip6, l4, 1);
		v = ep_find(k);
	}
	if (!v && sbit) {
		key_set(k, proto, iph, ip6, l4, 0);
		v = ep_find(k);
		*dir = VOIPQ_DIR_FROM;
	}
	return v;
}

/*
 * Returns 1 when @len bytes fit the endpoint's budget (and takes them).
 * The bucket is kept in nanobytes (bytes * 1e9), refilled by idle ns *
 * rate: no division, and nothing rounded away between close packets. Its
 * refill stamp is the entry's last_seen_ns.
 */
static __always_inline int tb_consume(struct voipq_ep_val *v, __u32 len,
				      __u64 now)
{
	__u64 tokens = v->tokens_nb;
	__u64 last = v->last_seen_ns;
	__u64 cost = (__u64)len * NSEC_PER_SEC;

	if (now > last) {
		__u64 idle = now - last;
		__u64 cap = (__u64)v->burst * NSEC_PER_SEC;

		if (idle > TB_MAX_IDLE_NS)
			idle = TB_MAX_IDLE_NS;
		tokens += idle * v->rate_bps;
		if (tokens > cap)
			tokens = cap;
		v->last_seen_ns = now;
	}
	if (cost <= tokens) {
		v->tokens_nb = tokens - cost;
		return 1;
	}
	v->tokens_nb = tokens;
	return 0;
}

static __always_inline void rtp_init_seq(struct voipq_rtp_dir *r, __u16 seq)
{
	r->base_seq = seq;
	r->ext_max_seq = seq;
	r->bad_seq = RTP_SEQ_MOD + 1;
	r->received = 0;
}

/* Arrival time since the stream's first packet, in RTP clock units. */
static __always_inline __s64 rtp_arrival(const struct voipq_rtp_dir *r,
					 __u32 clock_rate, __u64 now)
{
	__u64 rate = clock_rate ? clock_rate : 8000;
	__u64 first = r->first_ns;
	__u64 d, u;

	d = now >= first ? now - first : first - now;
	/*
	 * agent/rtpstats.c splits d at whole seconds so that ns * rate
	 * cannot overflow; where it cannot anyway (d < 19 h, rate < 2^18)
	 * one division gives the same figure.
	 */
	if (d < (1ull << 46) && rate < (1u << 18))
		u = d * rate / NSEC_PER_SEC;
	else
		u = d / NSEC_PER_SEC * rate +
		    d % NSEC_PER_SEC * rate / NSEC_PER_SEC;
	return now >= first ? (__s64)u : -(__s64)u;
}

/*
 * RFC 3550 A.1 and A.8 for the stream of one direction, figure for figure
 * as agent/rtpstats.c.
 */
static __always_inline void rtp_update(struct voipq_rtp_dir *r,
				       __u32 clock_rate,
				       const struct vq_rtp *rh, __u64 now)
{
	__u16 seq = bpf_ntohs(rh->seq);
	__u32 ssrc = bpf_ntohl(rh->ssrc);
	__u32 flags = r->flags;
	__u32 transit;

	if (!(flags & VOIPQ_RTP_STARTED) || r->ssrc != ssrc) {
		/* A new stream (or a new SSRC in this direction). */
		r->ssrc = ssrc;
		rtp_init_seq(r, seq);
		r->received = 1;
		r->jitter_q4 = 0;
		r->first_ns = now;
		flags = VOIPQ_RTP_STARTED;
	} else {
		__u32 ext = r->ext_max_seq;
		__u16 max_seq = ext & 0xffff;
		__u32 cycles = ext & 0xffff0000;
		__u16 udelta = seq - max_seq;

		if (udelta < MAX_DROPOUT) {
			if (seq < max_seq)
				cycles += RTP_SEQ_MOD;
			r->ext_max_seq = cycles | seq;
		} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
			if (seq != r->bad_seq) {
				r->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
				return;
			}
			rtp_init_seq(r, seq);
			flags &= ~VOIPQ_RTP_HAVE_TRANSIT;
		}
		r->received++;
	}

	/* Modulo 2^32, as the timestamp: only differences are used. */
	transit = (__u32)rtp_arrival(r, clock_rate, now) - bpf_ntohl(rh->ts);
	if (flags & VOIPQ_RTP_HAVE_TRANSIT) {
		__s32 d = (__s32)(transit - r->transit);
		__u64 ad = d < 0 ? -(__s64)d : d;
		__u64 j = r->jitter_q4;

		/* A.8 in integers: J is kept * 16, J += |D| - J / 16 */
		j = j + ad - ((j + 8) >> 4);
		r->jitter_q4 = j > 0xffffffffull ? 0xffffffff : (__u32)j;
	}
	r->transit = transit;
	r->flags = flags | VOIPQ_RTP_HAVE_TRANSIT;
}

struct vq_tcp {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff;	/* data offset << 4 */
	__u8 flags;	/* CWR ECE URG ACK PSH RST SYN FIN */
	__be16 window;
	__be16 check;
	__be16 urg_ptr;
};

#define VQ_TCP_FIN	0x01
#define VQ_TCP_SYN	0x02
#define VQ_TCP_RST	0x04
#define VQ_TCP_ACK	0x10

/*
 * A pure ACK: a TCP segment with ACK and none of SYN, FIN or RST, and no
 * payload: what the IP header says its datagram holds ends where the TCP
 * header does. On a saturated uplink a download's ACKs otherwise wait
 * behind the upload, and the download stalls and then arrives in bursts,
 * which fill the modem's queue downstream. A leaf that queues per flow
 * (fq_codel, sfq) would isolate them; the pfifo fallback cannot. The class
 * is below voice and its share of the link is capped like voice's, so
 * segments forged to look like ACKs cannot take bulk's guaranteed rate.
 * The flags first: most TCP segments carry data and stop there.
 */
static __always_inline int vq_pure_ack(const struct vq_tcp *th, void *data,
				       __u32 l3_off, __u16 proto,
				       const struct iphdr *iph,
				       const struct ipv6hdr *ip6)
{
	__u32 end, l3_len;

	if ((th->flags & (VQ_TCP_ACK | VQ_TCP_SYN | VQ_TCP_FIN |
			  VQ_TCP_RST)) != VQ_TCP_ACK)
		return 0;
	/* proto, not iph/ip6: see key_set() */
	if (proto == ETH_P_IP) {
		/* a first fragment is not a whole segment */
		if (iph->frag_off & bpf_htons(VQ_IP_MF))
			return 0;
		l3_len = bpf_ntohs(iph->tot_len);
	} else {
		l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	}
	end = (__u32)((void *)th - data) + (th->doff >> 4) * 4;
	return end == l3_off + l3_len;
}

/* A hit's arrival time: read once, for the bucket and RTP's jitter. */
static __always_inline __u64 vq_now(const struct __sk_buff *skb)
{
	return clock_from_tstamp ? skb->tstamp : bpf_ktime_get_ns();
}

/* A hit on @v: counted, and paid from its bucket. 1: within the budget. */
static __always_inline int vq_charge(struct voipq_ep_val *v,
				     struct voipq_stats *st, __u32 len,
				     __u64 now)
{
	int prio;

	st->hits++;
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	prio = tb_consume(v, len, now);
	if (!prio) {
		__sync_fetch_and_add(&v->demoted, 1);
		st->demoted++;
	}
	return prio;
}

/*
 * TCP. A pure ACK goes to the ACK class. A segment to or from a TCP
 * endpoint — the SIP connection of a call signalled over TCP, or a static
 * rule's server — goes to the voice class within that endpoint's budget:
 * the same bitmap in front and the same exact lookups as UDP's, but no
 * prefix rules (those are UDP's) and no RTP.
 */
static __always_inline void vq_tcp(struct __sk_buff *skb, struct vq_cursor *c,
				   struct voipq_stats *st, __u16 proto,
				   const struct iphdr *iph,
				   const struct ipv6hdr *ip6, __u32 l3_off)
{
	struct voipq_ep_val *v = NULL;
	struct voipq_ep_key key;
	struct voipq_ports *ports;
	struct vq_tcp *th;
	__u32 zero = 0, dir = VOIPQ_DIR_TO; /* no RTP: unused */
	int dbit, sbit;

	th = vq_pull(c, sizeof(*th));
	if (!th)
		return;
	if (ack_minor && vq_pure_ack(th, (void *)(long)skb->data, l3_off,
				     proto, iph, ip6)) {
		skb->priority = TC_H_MAKE(voice_major << 16, ack_minor);
		st->acks++;
		return;
	}

	ports = bpf_map_lookup_elem(&voipq_ports, &zero);
	if (!ports)
		return;
	dbit = port_bit(ports, th->dest);
	sbit = port_bit(ports, th->source);
	if (!dbit && !sbit)
		return;
	__builtin_memset(&key, 0, sizeof(key));
	key.proto = IPPROTO_TCP;
	key.family = proto == ETH_P_IP ? 2 : 10; /* AF_INET, AF_INET6 */
	v = vq_lookup(&key, proto, iph, ip6, th, dbit, sbit, &dir);
	if (v && vq_charge(v, st, skb->len, vq_now(skb)))
		skb->priority = TC_H_MAKE(voice_major << 16, voice_minor);
}

/* Returns 1 when the header was rewritten. */
static __always_inline int set_dscp_ef(struct __sk_buff *skb, __u32 l3_off,
					__u16 family, __be16 old_word)
{
	__u16 w = bpf_ntohs(old_word);
	__u16 nw;
	__be16 new_word;

	if (family == ETH_P_IP) {
		/* version:4 ihl:4 | tos: DSCP:6 ECN:2 */
		nw = (w & 0xff03) | (VOIPQ_DSCP_EF << 2);
		if (nw == w)
			return 0;
		new_word = bpf_htons(nw);
		if (bpf_skb_store_bytes(skb, l3_off, &new_word, 2, 0))
			return 0;
		return !bpf_l3_csum_replace(skb, l3_off +
					    offsetof(struct iphdr, check),
					    old_word, new_word, 2);
	} else {
		/* version:4 | traffic class: DSCP:6 ECN:2 | flow label:4.. */
		nw = (w & 0xf03f) | (VOIPQ_DSCP_EF << 6);
		if (nw == w)
			return 0;
		new_word = bpf_htons(nw);
		return !bpf_skb_store_bytes(skb, l3_off, &new_word, 2, 0);
	}
}

/*
 * The classifier. @l2 is a constant: whether packets start with an Ethernet
 * header (and up to two VLAN tags) or, on a device without a link layer
 * (PPP or PPPoE's ppp0, WireGuard, tun, IP-in-IP tunnels, raw-IP modems,
 * and an IFB fed from such a device's ingress), with the IP header.
 */
static __always_inline int vq_classify(struct __sk_buff *skb, const int l2)
{
	struct vq_cursor c = {
		.start = (void *)(long)skb->data,
		.pos = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	struct voipq_ep_key key;
	struct voipq_ep_val *v = NULL;
	struct voipq_stats *st;
	struct voipq_ports *ports;
	struct iphdr *iph = NULL;
	struct ipv6hdr *ip6 = NULL;
	struct udphdr *uh;
	struct vq_rtp *rh = NULL, rtp_copy;
	__u32 zero = 0, l3_off, ulen;
	__be16 l3_word;
	__u16 proto;
	__u8 l4proto = 0;
	__u32 dir = VOIPQ_DIR_TO;
	int dbit, sbit;
	__u64 now;
	int ret, prio;

	st = bpf_map_lookup_elem(&voipq_stats, &zero);
	if (!st)
		return TC_ACT_UNSPEC;
	st->packets++;

	proto = l2 ? vq_parse_eth(&c, &l3_off) : vq_parse_none(&c, &l3_off);
	if (proto == ETH_P_IP) {
		ret = vq_parse_ipv4(&c, &iph, &l4proto);
	} else if (proto == ETH_P_IPV6) {
		ret = vq_parse_ipv6(&c, &ip6, &l4proto);
	} else {
		if (!proto)
			st->malformed++;
		return TC_ACT_UNSPEC; /* not IP */
	}

	if (ret == VQ_L3_MALFORMED) {
		st->malformed++;
		return TC_ACT_UNSPEC;
	}
	if (l4proto != IPPROTO_UDP) {
		if (l4proto == IPPROTO_TCP && ret == VQ_L3_OK)
			vq_tcp(skb, &c, st, proto, iph, ip6, l3_off);
		return TC_ACT_UNSPEC;
	}
	if (ret == VQ_L3_FRAGMENT) {
		st->frags++;
		return TC_ACT_UNSPEC;
	}
	uh = vq_pull(&c, sizeof(*uh));
	if (!uh) {
		st->malformed++;
		return TC_ACT_UNSPEC;
	}
	st->udp++;

	ports = bpf_map_lookup_elem(&voipq_ports, &zero);
	if (!ports)
		return TC_ACT_UNSPEC;

	__builtin_memset(&key, 0, sizeof(key));
	key.proto = IPPROTO_UDP;
	/*
	 * Branch on proto, not on iph/ip6: the verifier knows proto's value
	 * on each path but not that a packet pointer is non-NULL.
	 */
	if (proto == ETH_P_IP) {
		key.family = 2; /* AF_INET */
		l3_word = *(__be16 *)iph;
	} else {
		key.family = 10; /* AF_INET6 */
		l3_word = *(__be16 *)ip6;
	}

	dbit = port_bit(ports, uh->dest);
	sbit = port_bit(ports, uh->source);
	v = vq_lookup(&key, proto, iph, ip6, uh, dbit, sbit, &dir);
	/* Static prefix rules, after every endpoint: the most specific wins. */
	if (!v && (dbit || sbit)) {
		struct voipq_ports *pp = bpf_map_lookup_elem(&voipq_pfx_ports,
							      &zero);
		struct voipq_pfx_key pk = { .ep = key };

		if (!pp)
			return TC_ACT_UNSPEC;
		pk.prefixlen = VOIPQ_PFX_KEY_BITS +
			       (proto == ETH_P_IP ? 32 : 128);
		if (dbit && port_bit(pp, uh->dest)) {
			key_set(&pk.ep, proto, iph, ip6, uh, 1);
			v = bpf_map_lookup_elem(&voipq_pfx, &pk);
			dir = VOIPQ_DIR_TO;
		}
		if (!v && sbit && port_bit(pp, uh->source)) {
			key_set(&pk.ep, proto, iph, ip6, uh, 0);
			v = bpf_map_lookup_elem(&voipq_pfx, &pk);
			dir = VOIPQ_DIR_FROM;
		}
	}
	if (!v)
		return TC_ACT_UNSPEC;

	now = vq_now(skb);
	prio = vq_charge(v, st, skb->len, now);

	/*
	 * RTP version 2, not RTCP multiplexed on the port, with its CSRC list
	 * inside the datagram. RFC 5761 §4 gives RTCP the second bytes
	 * 192..223, payload types 64..95: feedback (RTPFB, PSFB) and XR as
	 * well as SR..APP, and a NACK's SSRC taken for RTP's would restart
	 * the direction's statistics. Taken as RTCP with or without the
	 * marker, as agent/rtpstats.c and kmod/rtp.h take it. The UDP length
	 * says whether there is an RTP header; it may be past the linear
	 * area.
	 */
	ulen = bpf_ntohs(uh->len);
	if (ulen >= sizeof(*uh) + sizeof(*rh))
		rh = vq_pull_or_copy(&c, skb, &rtp_copy, sizeof(*rh));
	if (rh && (rh->vpxcc >> 6) == 2) {
		__u8 pt = rh->mpt & 0x7f;
		__u32 hlen = sizeof(*rh) + 4 * (rh->vpxcc & 0x0f);

		/*
		 * Each direction's state at a constant offset: a variable
		 * index costs an address computation on every access.
		 */
		if ((pt < 64 || pt > 95) && hlen <= ulen - sizeof(*uh)) {
			if (dir == VOIPQ_DIR_TO)
				rtp_update(&v->rtp[VOIPQ_DIR_TO],
					   v->clock_rate, rh, now);
			else
				rtp_update(&v->rtp[VOIPQ_DIR_FROM],
					   v->clock_rate, rh, now);
		}
	}

	if (prio) {
		skb->priority = TC_H_MAKE(voice_major << 16, voice_minor);
		/* Last: the helpers invalidate every packet pointer. */
		if (dscp_rewrite && (v->flags & VOIPQ_EP_DSCP_EF) &&
		    (!ef_ifindex || skb->ifindex == ef_ifindex) &&
		    set_dscp_ef(skb, l3_off, proto, l3_word))
			st->dscp_rewritten++;
	}
	return TC_ACT_UNSPEC;
}

/*
 * Two programs from one body, for the two framings: the agent attaches
 * voipq_classify to Ethernet devices and voipq_classify_l3 to devices
 * without a link-layer header (agent/backend_bpf.c reads the device type
 * at attach). Each is compiled with its framing a constant, so the
 * Ethernet program is what it was, instruction for instruction, and the
 * other pays nothing for Ethernet either. The alternatives cost more: a
 * per-packet lookup of skb->ifindex in a map of headerless devices is a
 * load and a branch on every packet of every device, to find what is fixed
 * at attach; a second load of this object with a rodata knob would share
 * the maps only through their pins and double the agent's load and
 * re-adoption paths. Here both programs share the maps of the one object
 * and load together (the second costs a verifier pass at startup).
 */
SEC("tc")
int voipq_classify(struct __sk_buff *skb)
{
	return vq_classify(skb, 1);
}

SEC("tc")
int voipq_classify_l3(struct __sk_buff *skb)
{
	return vq_classify(skb, 0);
}

char LICENSE[] SEC("license") = "GPL";
