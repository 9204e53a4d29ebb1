/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sch_voipq's endpoint table, as the qdisc sees it: one table per network
 * namespace, programmed over generic netlink (table.c), looked up per packet
 * under RCU.
 */
#ifndef VOIPQ_KMOD_TABLE_H
#define VOIPQ_KMOD_TABLE_H

#include <linux/types.h>
#include <net/net_namespace.h>

/* The lookup key; the same layout as bpf/voipq.h's struct voipq_ep_key. */
struct voipq_key {
	u8 family;
	u8 proto;
	__be16 port;
	u8 addr[16];
};

/* What the qdisc learned from one packet's headers. */
struct voipq_pkt {
	struct voipq_key dst;
	struct voipq_key src;
	bool has_ports;
	bool has_rtp;
	u8 dscp;
	u8 rtp[12];	/* the fixed RTP header, when has_rtp */
};

enum voipq_match {
	VOIPQ_MISS,
	VOIPQ_HIT_VOICE,	/* an endpoint, within its budget */
	VOIPQ_HIT_DEMOTED,	/* an endpoint, over its budget: bulk */
};

struct voipq_ep;

/*
 * Look @p up (destination first, then source) in @net's table. A hit is
 * counted, pays its token bucket and updates its RTP statistics; *@ep is
 * valid until the caller's RCU read section ends.
 */
enum voipq_match voipq_table_match(struct net *net, const struct voipq_pkt *p,
				   u32 len, struct voipq_ep **ep);
/* Whether @net's table holds any endpoint: a miss costs nothing then. */
bool voipq_table_active(struct net *net);
/* The packet that hit @ep was dropped (voice band full). */
void voipq_ep_count_drop(struct voipq_ep *ep);

int voipq_table_register(void);
void voipq_table_unregister(void);

#endif
