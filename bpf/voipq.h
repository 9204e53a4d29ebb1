/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between the tc classifier and the agent: map layouts and
 * load-time knobs. Fixed layouts only (__u8..__u64, explicit padding), so
 * that the BPF object and a userspace built by another compiler agree.
 */
#ifndef VOIPQ_BPF_H
#define VOIPQ_BPF_H

#include <linux/types.h>

/* Where maps are pinned unless configured otherwise. */
#define VOIPQ_PIN_DIR "/sys/fs/bpf/voipq"

/* The voice class minor under the HTB (or sch_voipq) root: 1:10. */
#define VOIPQ_VOICE_MINOR 0x10
#define VOIPQ_BULK_MINOR 0x20
/* Pure TCP ACKs, ahead of bulk in the HTB tree: 1:30. */
#define VOIPQ_ACK_MINOR 0x30

#define VOIPQ_DSCP_EF 46

/*
 * One media endpoint: the key of the endpoint table. Aligned to 4 so that
 * the table's hash and its compares read it as five 32-bit words.
 */
struct voipq_ep_key {
	__u8 family; /* AF_INET (2) or AF_INET6 (10); 0: a free slot */
	__u8 proto;  /* IPPROTO_UDP (17) */
	__be16 port; /* network byte order, as in the packet */
	__u8 addr[16]; /* IPv4 in the first 4 bytes, rest zero */
} __attribute__((aligned(4)));
_Static_assert(sizeof(struct voipq_ep_key) == 20, "voipq_ep_key layout");

#define VOIPQ_EP_KEY_WORDS 5

/*
 * A static prefix rule: the key of the LPM trie consulted when no endpoint
 * matches. The trie compares the first prefixlen bits of what follows it:
 * family, protocol and port always whole (32 bits), then the address's
 * first bits. prefixlen = 32 + the address prefix length.
 */
struct voipq_pfx_key {
	__u32 prefixlen;
	struct voipq_ep_key ep;
};
_Static_assert(sizeof(struct voipq_pfx_key) == 24, "voipq_pfx_key layout");

#define VOIPQ_PFX_KEY_BITS 32 /* family, proto, port before the address */

enum voipq_ep_flags {
	VOIPQ_EP_DSCP_EF = 1 << 0, /* rewrite DSCP to EF on this endpoint */
	VOIPQ_EP_STATIC = 1 << 1,  /* a static rule, not learned from SIP */
};

/*
 * RFC 3550 receiver state of the one RTP stream seen in one direction of
 * an endpoint (A.1, A.3, A.8). 40 bytes.
 */
struct voipq_rtp_dir {
	__u32 ssrc;
	__u32 received;
	__u32 base_seq;
	__u32 ext_max_seq; /* cycles << 16 | max_seq */
	__u32 bad_seq;
	__u32 jitter_q4;   /* jitter * 16, RTP clock units */
	/*
	 * arrival - timestamp, clock units, modulo 2^32: A.8 only ever takes
	 * the difference of two transits modulo 2^32, as the timestamp wraps.
	 */
	__u32 transit;
	__u32 flags;       /* enum voipq_rtp_flags */
	/*
	 * Arrival of the stream's first packet: A.8 arrivals are counted in
	 * clock units from here, as agent/rtpstats.c does, so that both
	 * round the same way and their jitter figures agree.
	 */
	__u64 first_ns;
};
_Static_assert(sizeof(struct voipq_rtp_dir) == 40, "voipq_rtp_dir layout");

enum voipq_rtp_flags {
	VOIPQ_RTP_STARTED = 1 << 0,
	VOIPQ_RTP_HAVE_TRANSIT = 1 << 1,
};

/*
 * The two directions of an endpoint, as the classifier matched it. An
 * endpoint is looked up as a packet's destination first, then as its
 * source: on a router's WAN egress the far end's SDP endpoint is the
 * destination of what the phone sends, and on the downstream device (an
 * IFB fed from the WAN ingress) the source of what it sends back, so one
 * entry sees two RTP streams with their own SSRC, sequence numbers and
 * timing. Each has its own statistics.
 */
enum voipq_rtp_dir_idx {
	VOIPQ_DIR_TO = 0,   /* matched as destination: the stream it receives */
	VOIPQ_DIR_FROM = 1, /* matched as source: the stream it sends */
	VOIPQ_NDIRS,
};

/*
 * What the agent programs (policy) and what the datapath keeps (state), in
 * one value so one lookup serves both. The agent writes an entry whole when
 * it installs it and never rewrites the state half afterwards.
 */
struct voipq_ep_val {
	/* Policy, set by the agent. */
	__u32 flags;       /* enum voipq_ep_flags */
	__u32 clock_rate;  /* RTP clock, Hz; 8000 when unknown */
	__u32 rate_bps;    /* token bucket rate, bytes per second */
	__u32 burst;       /* token bucket depth, bytes */
	__u64 cookie;      /* the agent's handle on the owning dialog */

	/*
	 * Token bucket and counters, kept by the datapath without a lock,
	 * which would cost every voice packet more than the race it closes:
	 * counters are atomic adds, the bucket and the RTP state tolerate
	 * the rare race of one stream on two CPUs.
	 */
	__u64 tokens_nb;   /* bucket level in nanobytes: bytes * 1e9 */
	/* bpf_ktime_get_ns() of the last packet; the bucket's refill stamp */
	__u64 last_seen_ns;
	__u64 packets;     /* both directions */
	__u64 bytes;
	__u64 demoted;     /* packets over budget, sent as bulk */

	/* RTP receiver statistics, per direction (enum voipq_rtp_dir_idx). */
	struct voipq_rtp_dir rtp[VOIPQ_NDIRS];
};
_Static_assert(sizeof(struct voipq_ep_val) == 144, "voipq_ep_val layout");

/*
 * The endpoint table: an array map of slots, and a hash table of the
 * classifier's and the agent's own making on top of it, not a kernel hash
 * map. The reason is cost: a kernel hash lookup is two out-of-line calls
 * (the lookup and its memcmp) that the classifier pays on every voice
 * packet, and with return-thunk mitigations each call costs as much as the
 * rest of the lookup; an array element is an inlined address computation,
 * and five 32-bit compares find the key in it (a 75-80 ns hit became
 * 55-57 ns on the machines this was measured on).
 *
 * Each key has two candidate buckets of VOIPQ_BUCKET_SLOTS slots, taken
 * from the two halves of a seeded 64-bit hash; the agent puts a new key in
 * the emptier of the two ("two choices"), and the classifier looks in the
 * first, then the second. When both are full, one of their keys moves to
 * its own other bucket to make room. The table has twice as many slots as
 * max_endpoints: at that load two choices alone leave room in one of every
 * key's buckets, and the move takes it much further (flows adopted after a
 * restart and static rules come on top of max_endpoints). The seed, random
 * per table, is there so that keys learned from hostile SDP cannot be
 * aimed at one bucket without guessing it: the hash is a fast mixer, not a
 * keyed cryptographic one.
 *
 * A slot is free while its key's family is 0, which no packet's key has.
 * The agent is the only writer of keys. A key arrives in two writes of
 * its slot: whole without the key (family 0), then whole with it, so the
 * second changes nothing but the key and the classifier never matches a
 * half-written value. A delete is the same backwards: the slot with family
 * 0, then zero. A policy update rewrites the slot in place: what the
 * classifier counted between the agent's read and that write is lost, and
 * a packet racing the write may see one torn field of the bucket or RTP
 * state (the cost of one packet's worth, as between two CPUs).
 */
#define VOIPQ_BUCKET_SLOTS 8

struct voipq_ep_slot {
	struct voipq_ep_key key;
	__u32 pad;
	struct voipq_ep_val val;
};
_Static_assert(sizeof(struct voipq_ep_slot) == 168, "voipq_ep_slot layout");

/* The table's hashing, one element of an array map pinned beside it. */
struct voipq_ep_meta {
	__u64 seed;
	__u32 buckets; /* at least 2; the table holds buckets * 8 slots */
	__u32 pad;
};
_Static_assert(sizeof(struct voipq_ep_meta) == 16, "voipq_ep_meta layout");

/*
 * The key's 64-bit hash under @seed: the low half picks the first bucket,
 * the high half the second. Multiply-xorshift rounds over the key's words
 * (the finaliser of splitmix64): cheap in BPF, where there is no 128-bit
 * multiply, and every bit of the key reaches both halves.
 */
static inline __attribute__((always_inline)) __u64
voipq_ep_hash(const struct voipq_ep_key *k, __u64 seed)
{
	__u32 w[VOIPQ_EP_KEY_WORDS];
	__u64 h = seed;

	__builtin_memcpy(w, k, sizeof(w));
	h = (h ^ ((__u64)w[0] << 32 | w[1])) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 30) ^ ((__u64)w[2] << 32 | w[3])) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27) ^ w[4]) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/*
 * The two buckets of @hash in a table of @buckets (at least 2): each half
 * of the hash scaled to the bucket count by a multiply and a shift, so the
 * count need not be a power of two and the table is no larger than asked.
 */
static inline __attribute__((always_inline)) void
voipq_ep_buckets(__u64 hash, __u32 buckets, __u32 *b1, __u32 *b2)
{
	*b1 = (__u32)(((hash & 0xffffffffull) * buckets) >> 32);
	*b2 = (__u32)(((hash >> 32) * buckets) >> 32);
	if (*b2 == *b1)
		*b2 = *b1 + 1 == buckets ? 0 : *b1 + 1; /* two buckets, always */
}

/*
 * The port-presence bitmap: bit p is set while some endpoint in the table
 * has UDP or TCP port p (host order), so a packet to or from no known port
 * costs two bit tests and no table lookup. One element of an mmap-able
 * array; the agent keeps a reference count per port and sets or clears
 * the bits.
 */
#define VOIPQ_PORT_WORDS (65536 / 64)
struct voipq_ports {
	__u64 bits[VOIPQ_PORT_WORDS];
};
_Static_assert(sizeof(struct voipq_ports) == 8192, "voipq_ports layout");

/*
 * Static prefix rules are set by hand, so few: the LPM trie's size. Their
 * ports have bits in voipq_ports like any endpoint's, and in a bitmap of
 * their own (voipq_pfx_ports) so that a port only endpoints use never
 * costs a trie lookup.
 */
#define VOIPQ_MAX_PREFIXES 1024

/* Global counters, one slot per CPU in a per-CPU array of one element. */
struct voipq_stats {
	__u64 packets;     /* seen by the classifier */
	__u64 udp;
	__u64 hits;        /* matched an endpoint */
	__u64 demoted;     /* matched, but over the endpoint's budget */
	__u64 frags;       /* non-first UDP fragments: no ports, bulk */
	__u64 malformed;   /* headers cut short or impossible */
	__u64 dscp_rewritten;
	__u64 acks;        /* pure TCP ACKs put in the ACK class */
};
_Static_assert(sizeof(struct voipq_stats) == 64, "voipq_stats layout");

#endif
