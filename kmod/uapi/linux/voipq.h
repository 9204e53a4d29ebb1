/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * sch_voipq: the one kernel/user ABI. The qdisc's TCA_OPTIONS and xstats,
 * and the generic netlink family "voipq" that programs the per-namespace
 * endpoint table. Append only: never renumber, never reuse.
 */
#ifndef _UAPI_LINUX_VOIPQ_H
#define _UAPI_LINUX_VOIPQ_H

#include <linux/types.h>

/*
 * The voice class minor: a packet whose skb->priority is
 * TC_H_MAKE(qdisc handle, VOIPQ_CLASS_VOICE) goes to the voice band. Equal
 * to bpf/voipq.h's VOIPQ_VOICE_MINOR, so the tc classifier can feed us.
 */
#define VOIPQ_CLASS_VOICE 0x10

/* --- qdisc options (TCA_OPTIONS of kind "voipq") ------------------------ */
enum {
	TCA_VOIPQ_UNSPEC,
	TCA_VOIPQ_PAD,
	TCA_VOIPQ_RATE,		/* u64, bytes per second; required at creation */
	TCA_VOIPQ_VOICE_SHARE,	/* u32, percent of the rate for voice, 1..90 */
	TCA_VOIPQ_LIMIT,	/* u32, packets in the whole qdisc */
	TCA_VOIPQ_TARGET,	/* u32, CoDel target, microseconds */
	TCA_VOIPQ_INTERVAL,	/* u32, CoDel interval, microseconds */
	TCA_VOIPQ_ECN,		/* u8, 0 or 1: mark CE instead of dropping */
	TCA_VOIPQ_TRUST_DSCP,	/* u8, 0 or 1: EF-marked packets are voice */
	__TCA_VOIPQ_MAX
};
#define TCA_VOIPQ_MAX (__TCA_VOIPQ_MAX - 1)

#define VOIPQ_RATE_MIN		1000ULL		/* 8 kbit/s */
#define VOIPQ_RATE_MAX		12500000000ULL	/* 100 Gbit/s */
#define VOIPQ_SHARE_MIN		1
#define VOIPQ_SHARE_MAX		90
#define VOIPQ_LIMIT_MIN		16
#define VOIPQ_LIMIT_MAX		(1U << 20)
#define VOIPQ_TARGET_MIN	100U		/* us */
#define VOIPQ_INTERVAL_MAX	10000000U	/* us: 10 s */

/* tc -s qdisc show: fixed layout, u64 first, total a multiple of 8. */
struct tc_voipq_xstats {
	__u64 voice_packets;	/* sent from the voice band */
	__u64 voice_bytes;
	__u64 bulk_packets;	/* sent from the bulk band */
	__u64 bulk_bytes;
	__u64 by_priority;	/* voice by skb->priority (the BPF classifier) */
	__u64 by_table;		/* voice by an endpoint table hit */
	__u64 by_dscp;		/* voice by EF, with trust_dscp */
	__u64 demoted;		/* table hits over their endpoint's budget */
	__u64 voice_over_cap;	/* voice sent past the cap, on an idle bulk band */
	__u64 voice_drops;	/* voice band full */
	__u64 overlimit_drops;	/* qdisc full: dropped from the fattest flow */
	__u64 codel_drops;
	__u64 ecn_marks;
	__u64 throttled;	/* dequeues held back by the shaper */
	__u32 voice_qlen;
	__u32 bulk_qlen;
	__u32 voice_backlog;	/* bytes */
	__u32 bulk_backlog;
	__u32 new_flows_len;
	__u32 old_flows_len;
	__u64 gso_split;	/* GSO packets cut into their segments */
};

/* --- generic netlink family --------------------------------------------- */
#define VOIPQ_GENL_NAME		"voipq"
#define VOIPQ_GENL_VERSION	1
/* Announces endpoints that stayed idle past their idle time. */
#define VOIPQ_GENL_MCGRP_IDLE	"idle"

enum voipq_cmd {
	VOIPQ_CMD_UNSPEC,
	VOIPQ_CMD_EP_SET,	/* add, or replace the policy (keeps stats) */
	VOIPQ_CMD_EP_DEL,
	VOIPQ_CMD_EP_GET,	/* one endpoint, or all with NLM_F_DUMP */
	VOIPQ_CMD_EP_FLUSH,	/* every endpoint of this namespace */
	VOIPQ_CMD_EP_IDLE,	/* notification on VOIPQ_GENL_MCGRP_IDLE */
	__VOIPQ_CMD_MAX
};
#define VOIPQ_CMD_MAX (__VOIPQ_CMD_MAX - 1)

enum {
	VOIPQ_A_UNSPEC,
	VOIPQ_A_PAD,
	VOIPQ_A_ENDPOINT,	/* nest, VOIPQ_EP_A_*: the key */
	VOIPQ_A_POLICY,		/* nest, VOIPQ_POL_A_* */
	VOIPQ_A_STATS,		/* nest, VOIPQ_ST_A_*: replies only */
	VOIPQ_A_EXCL,		/* flag, EP_SET: fail if the endpoint exists */
	__VOIPQ_A_MAX
};
#define VOIPQ_A_MAX (__VOIPQ_A_MAX - 1)

/* One endpoint {family, address, port, protocol}: shared/DESIGN.md §1. */
enum {
	VOIPQ_EP_A_UNSPEC,
	VOIPQ_EP_A_FAMILY,	/* u8, AF_INET (2) or AF_INET6 (10) */
	VOIPQ_EP_A_PROTO,	/* u8, IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	VOIPQ_EP_A_PORT,	/* u16, host order, 1..65535 */
	VOIPQ_EP_A_ADDR,	/* 16 bytes: IPv4 in the first 4, rest zero */
	/*
	 * u8, absent: the whole address. Shorter: a static prefix rule
	 * (host bits zero), matched when no endpoint is, longest first.
	 */
	VOIPQ_EP_A_PREFIXLEN,
	__VOIPQ_EP_A_MAX
};
#define VOIPQ_EP_A_MAX (__VOIPQ_EP_A_MAX - 1)

/* Prefix rules per network namespace, a part of the table's entries. */
#define VOIPQ_MAX_PREFIX_RULES	64

enum voipq_ep_flag {
	VOIPQ_EP_F_DSCP_EF = 1 << 0,	/* the agent's: the BPF path re-marks */
	VOIPQ_EP_F_STATIC = 1 << 1,	/* a static rule, not learned */
};
#define VOIPQ_EP_F_ALL (VOIPQ_EP_F_DSCP_EF | VOIPQ_EP_F_STATIC)

enum {
	VOIPQ_POL_A_UNSPEC,
	VOIPQ_POL_A_PAD,
	VOIPQ_POL_A_RATE,	/* u32, bytes/s budget; 0: no budget */
	VOIPQ_POL_A_BURST,	/* u32, bytes */
	VOIPQ_POL_A_CLOCK_RATE,	/* u32, RTP clock in Hz; 0: 8000 */
	VOIPQ_POL_A_FLAGS,	/* u32, enum voipq_ep_flag */
	VOIPQ_POL_A_COOKIE,	/* u64, the agent's handle on the dialog */
	VOIPQ_POL_A_IDLE_MS,	/* u32, announce after this idle time; 0: 30 s */
	__VOIPQ_POL_A_MAX
};
#define VOIPQ_POL_A_MAX (__VOIPQ_POL_A_MAX - 1)

#define VOIPQ_IDLE_MS_DEFAULT	30000U
#define VOIPQ_IDLE_MS_MAX	86400000U	/* a day */
#define VOIPQ_CLOCK_RATE_MAX	1000000U

/*
 * The datapath's view of one endpoint, figure for figure as bpf/voipq.h.
 * An endpoint matches as a packet's destination or as its source, and sees
 * one RTP stream each way: the top-level VOIPQ_ST_A_RTP_* describe the
 * stream sent to it (matched as destination), the VOIPQ_ST_A_RTP_FROM nest
 * the one it sends (matched as source).
 */
enum {
	VOIPQ_ST_A_UNSPEC,
	VOIPQ_ST_A_PAD,
	VOIPQ_ST_A_PACKETS,	/* u64 */
	VOIPQ_ST_A_BYTES,	/* u64 */
	VOIPQ_ST_A_DROPS,	/* u64, voice band full */
	VOIPQ_ST_A_DEMOTED,	/* u64, over budget: sent as bulk */
	VOIPQ_ST_A_LAST_SEEN_NS, /* u64, CLOCK_MONOTONIC; 0: never */
	VOIPQ_ST_A_RTP_SSRC,	/* u32 */
	VOIPQ_ST_A_RTP_RECEIVED, /* u32 */
	VOIPQ_ST_A_RTP_BASE_SEQ, /* u32 */
	VOIPQ_ST_A_RTP_EXT_MAX_SEQ, /* u32, cycles << 16 | max_seq */
	VOIPQ_ST_A_RTP_JITTER_Q4, /* u32, jitter * 16 in clock units */
	VOIPQ_ST_A_RTP_FLAGS,	/* u32, bit 0: started, bit 1: have transit */
	VOIPQ_ST_A_RTP_FROM,	/* nest, VOIPQ_RTP_A_*: the stream it sends */
	__VOIPQ_ST_A_MAX
};
#define VOIPQ_ST_A_MAX (__VOIPQ_ST_A_MAX - 1)

/* One direction's RTP figures, as the VOIPQ_ST_A_RTP_* above. */
enum {
	VOIPQ_RTP_A_UNSPEC,
	VOIPQ_RTP_A_SSRC,	/* u32 */
	VOIPQ_RTP_A_RECEIVED,	/* u32 */
	VOIPQ_RTP_A_BASE_SEQ,	/* u32 */
	VOIPQ_RTP_A_EXT_MAX_SEQ, /* u32 */
	VOIPQ_RTP_A_JITTER_Q4,	/* u32 */
	VOIPQ_RTP_A_FLAGS,	/* u32 */
	__VOIPQ_RTP_A_MAX
};
#define VOIPQ_RTP_A_MAX (__VOIPQ_RTP_A_MAX - 1)

#endif /* _UAPI_LINUX_VOIPQ_H */
