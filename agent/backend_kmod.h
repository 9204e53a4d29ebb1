/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's handle on sch_voipq (kmod/): the generic netlink family
 * "voipq" that programs the namespace's endpoint table, its "idle"
 * multicast group, and the qdisc itself over rtnetlink.
 *
 * Every function returns 0 or -errno. When the kernel rejected a request,
 * its extack text is in vq_kmod_msg() ("" when it said nothing), for the
 * caller to put in its own error message.
 */
#ifndef VOIPQ_BACKEND_KMOD_H
#define VOIPQ_BACKEND_KMOD_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/voipq.h>

#include "endpoint.h"
#include "voipq.h"

struct nlmsghdr;
struct vq_kmod;

/* What the agent decides for one endpoint. */
struct vq_kmod_policy {
	uint32_t rate_bps;   /* token bucket rate, bytes per second; 0: none */
	uint32_t burst;      /* bucket depth, bytes (>= 64 with a rate) */
	uint32_t clock_rate; /* RTP clock, Hz; 0: 8000 */
	uint32_t flags;      /* enum voipq_ep_flag */
	uint32_t idle_ms;    /* announce when idle this long; 0: 30 s */
	uint64_t cookie;     /* the owning dialog */
};

/*
 * One entry as the kernel reports it. The datapath's state is given in the
 * BPF backend's layout (bpf/voipq.h), so that the views and the JSON do
 * not depend on the backend; the token bucket's internals stay zero.
 */
struct vq_kmod_entry {
	struct vq_endpoint ep;
	uint8_t plen;        /* < the address's bits: a prefix rule */
	struct vq_kmod_policy pol;
	struct voipq_ep_val val;
	uint64_t drops;      /* voice band full */
};

/* Resolve the family; -ENOENT when sch_voipq is not loaded. */
int vq_kmod_open(struct vq_kmod **out);
void vq_kmod_close(struct vq_kmod *k);
/* The kernel's extack text for the last request, "" when none. */
const char *vq_kmod_msg(const struct vq_kmod *k);

/* Add, or replace the policy of an existing entry (its stats stay). With
 * @excl, an existing entry is an error (-EEXIST). */
int vq_kmod_ep_set(struct vq_kmod *k, const struct vq_endpoint *ep,
		   const struct vq_kmod_policy *pol, bool excl);
/* -ENOENT when the endpoint is not in the table. */
int vq_kmod_ep_del(struct vq_kmod *k, const struct vq_endpoint *ep);
/*
 * A static prefix rule (host bits zero), matched when no endpoint is,
 * longest first; at most VOIPQ_MAX_PREFIX_RULES (-ENOSPC).
 */
int vq_kmod_pfx_set(struct vq_kmod *k, const struct vq_prefix *p,
		    const struct vq_kmod_policy *pol);
int vq_kmod_pfx_del(struct vq_kmod *k, const struct vq_prefix *p);
int vq_kmod_ep_get(struct vq_kmod *k, const struct vq_endpoint *ep,
		   struct vq_kmod_entry *out);
/*
 * Visit every entry, prefix rules too (plen); stop early when @fn returns
 * non-zero (returned).
 */
int vq_kmod_ep_for_each(struct vq_kmod *k,
			int (*fn)(void *arg, const struct vq_kmod_entry *e),
			void *arg);
int vq_kmod_ep_flush(struct vq_kmod *k);

/*
 * Idle announcements: join the group on a socket of its own, poll its fd,
 * and read what arrived (non-blocking; 0 when nothing was pending).
 */
int vq_kmod_idle_open(struct vq_kmod *k);
int vq_kmod_idle_fd(const struct vq_kmod *k);
int vq_kmod_idle_read(struct vq_kmod *k,
		      int (*fn)(void *arg, const struct vq_kmod_entry *e),
		      void *arg);

/*
 * Low level, for tests that send what the library never would: start a
 * request for @cmd in @buf (VQ_NL_REQLEN bytes), then send it and wait
 * for the ack.
 */
struct nlmsghdr *vq_kmod_req(struct vq_kmod *k, void *buf, uint8_t cmd,
			     uint16_t flags);
int vq_kmod_talk(struct vq_kmod *k, struct nlmsghdr *nlh);

/* --- the qdisc, over rtnetlink ------------------------------------------- */

enum vq_kmod_qopt_field {
	VQ_QOPT_RATE = 1 << 0,
	VQ_QOPT_SHARE = 1 << 1,
	VQ_QOPT_LIMIT = 1 << 2,
	VQ_QOPT_TARGET = 1 << 3,
	VQ_QOPT_INTERVAL = 1 << 4,
	VQ_QOPT_ECN = 1 << 5,
	VQ_QOPT_TRUST_DSCP = 1 << 6,
};

struct vq_kmod_qopt {
	uint32_t set;        /* enum vq_kmod_qopt_field: what is given */
	uint64_t rate;       /* bytes per second */
	uint32_t voice_share; /* percent */
	uint32_t limit;      /* packets */
	uint32_t target_us;
	uint32_t interval_us;
	uint8_t ecn;
	uint8_t trust_dscp;
};

/*
 * Create sch_voipq as @ifname's root (handle @major:), or change the one
 * that is there (@create false). The kernel's extack is in @msg.
 */
int vq_kmod_qdisc_set(const char *ifname, uint16_t major,
		      const struct vq_kmod_qopt *opt, bool create,
		      char *msg, size_t msglen);
int vq_kmod_qdisc_del(const char *ifname, char *msg, size_t msglen);
/* The root qdisc's options and xstats; -ENOENT when it is not voipq. */
int vq_kmod_qdisc_get(const char *ifname, struct vq_kmod_qopt *opt,
		      struct tc_voipq_xstats *xs);

#endif
