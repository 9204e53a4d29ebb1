/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sch_voipq's endpoint table, as the qdisc sees it: one table per network
 * namespace, programmed over generic netlink (table.c), looked up per packet
 * under RCU.
 */
#ifndef VOIPQ_KMOD_TABLE_H
#define VOIPQ_KMOD_TABLE_H

#include <linux/build_bug.h>
#include <linux/types.h>
#include <net/net_namespace.h>

/*
 * The lookup key; the same layout as bpf/voipq.h's struct voipq_ep_key.
 * Its 20 bytes make rhashtable hash it with jhash2(), as u32 words: hence
 * the alignment, which the fields alone would leave at 2.
 */
struct voipq_key {
	u8 family;
	u8 proto;
	__be16 port;
	u8 addr[16];
} __aligned(4);
static_assert(sizeof(struct voipq_key) == 20);

/* What the qdisc learned from one packet's headers. */
struct voipq_pkt {
	struct voipq_key dst;
	struct voipq_key src;
	bool has_ports;
	u8 dscp;
};

enum voipq_match {
	VOIPQ_MISS,
	VOIPQ_HIT_VOICE,	/* an endpoint, within its budget */
	VOIPQ_HIT_DEMOTED,	/* an endpoint, over its budget: bulk */
};

struct voipq_ep;

/*
 * Look @p up (destination first, then source) in @net's table: the entry,
 * valid until the caller's RCU read section ends, with *@from set when it
 * is the packet's source; NULL on a miss. Ports no entry has cost two bit
 * tests and no hash lookup.
 */
struct voipq_ep *voipq_table_lookup(struct net *net, const struct voipq_pkt *p,
				    bool *from);
/*
 * A packet of @len bytes hit @ep (its source when @from): counted, paid
 * from the entry's token bucket, and @rtp (its fixed RTP header, or NULL)
 * in that direction's statistics. Parsing RTP only here keeps misses cheap.
 */
enum voipq_match voipq_ep_charge(struct voipq_ep *ep, bool from,
				 const u8 *rtp, u32 len);
/* Whether @net's table holds any endpoint: a miss costs nothing then. */
bool voipq_table_active(struct net *net);
/* The packet that hit @ep was dropped (voice band full). */
void voipq_ep_count_drop(struct voipq_ep *ep);

int voipq_table_register(void);
void voipq_table_unregister(void);

#endif
