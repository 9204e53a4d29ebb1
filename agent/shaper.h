/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shaper: an HTB tree at slightly below the line rate in each
 * direction, so that the queue forms on this box, where voice can jump it,
 * and not in the modem (DESIGN.md decision 5). The classifier hands voice
 * to the tree through skb->priority = 1:10 (decision 2), and pure TCP ACKs
 * through 1:30.
 *
 *   1:   htb root, default 1:20
 *   1:1  link class, rate = ceil = shaped link rate
 *   1:10 voice, prio 0, rate = voice share, ceil = link        leaf 10:
 *   1:30 acks,  prio 1, rate = 5 % of link, ceil = link        leaf 30:
 *   1:20 bulk,  prio 2, rate = link - voice - acks, ceil = link leaf 20:
 *
 * With the kmod backend the tree is one qdisc instead: sch_voipq as 1:,
 * rate = link, voice share = voice / link (it caps voice itself).
 *
 * Upstream sits on the WAN egress. Downstream sits on an IFB device fed by
 * a redirect from the WAN ingress, or on a LAN interface's egress.
 * Everything goes over rtnetlink; what was created is recorded in a small
 * state so that teardown removes exactly that, and no more.
 */
#ifndef VOIPQ_SHAPER_H
#define VOIPQ_SHAPER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_SHAPER_HANDLE	0x10000U   /* 1: */
#define VQ_SHAPER_LINK_MINOR	0x1
#define VQ_SHAPER_ERRLEN	320

/*
 * Defaults: upstream at 95 % of the line, downstream at 85 %, 30 % of
 * either guaranteed to voice. Downstream needs the larger margin: the
 * router sees a download only after the provider's queue, which stays
 * empty only while what arrives drains faster than the line fills it (a
 * TCP burst queued there drains at just the headroom).
 */
#define VQ_SHAPER_SHAPE_PCT	95
#define VQ_SHAPER_DOWN_PCT	85
#define VQ_SHAPER_VOICE_PCT	30
/* Pure TCP ACKs' guaranteed share; above it they borrow before bulk. */
#define VQ_SHAPER_ACK_PCT	5
/* At least three G.711 calls (~90 kbit/s each with headers) for voice. */
#define VQ_SHAPER_VOICE_MIN	300000ULL
/*
 * The WAN ingress redirect to the IFB: the last filter (highest number),
 * so that a classifier at the WAN ingress runs before it.
 */
#define VQ_SHAPER_REDIRECT_PRIO 0xfff0

enum vq_down_mode {
	VQ_DOWN_IFB,	/* WAN ingress -> IFB egress (default) */
	VQ_DOWN_LAN,	/* LAN interface egress */
	VQ_DOWN_NONE,	/* upstream only: the user asked for it */
};

/* What sits at the root of each shaped device. */
enum vq_root {
	VQ_ROOT_HTB,	/* the HTB tree above, fed by the BPF classifier */
	VQ_ROOT_VOIPQ,	/* sch_voipq (kmod/): shaper, voice band and bulk in one */
};

enum vq_leaf {
	VQ_LEAF_NONE,
	VQ_LEAF_FQ_CODEL,
	VQ_LEAF_SFQ,
	VQ_LEAF_PFIFO,
};

struct vq_shaper_config {
	char wan[IFNAMSIZ];
	char lan[IFNAMSIZ];	/* VQ_DOWN_LAN only */
	char ifb[IFNAMSIZ];	/* "" = "ifb-<wan>", truncated */
	enum vq_down_mode down;
	enum vq_root root;
	uint64_t uplink_bps;	/* line rates as configured, bit/s */
	uint64_t downlink_bps;
	unsigned int shape_pct;	/* upstream; 0 = VQ_SHAPER_SHAPE_PCT */
	unsigned int down_pct;	/* downstream; 0 = VQ_SHAPER_DOWN_PCT */
	unsigned int voice_pct;	/* 0 = VQ_SHAPER_VOICE_PCT */
	/* Leaf kinds not to try, (1 << enum vq_leaf): tests and --leaf. */
	unsigned int leaf_skip;
};

/*
 * What setup installed; serialised as key=value text. A flag is set when
 * this agent created the thing (now or on an earlier run with the same
 * state), so teardown leaves what someone else made alone.
 */
struct vq_shaper_state {
	char wan[IFNAMSIZ];
	char down_dev[IFNAMSIZ];	/* IFB or LAN device with the down tree */
	enum vq_down_mode down;
	enum vq_root root;		/* what up_root and down_root are */
	bool up_root;			/* HTB or voipq 1: root on wan */
	bool down_root;			/* HTB or voipq 1: root on down_dev */
	bool ifb_created;		/* down_dev is an IFB device we made */
	bool clsact_created;		/* clsact qdisc on wan */
	bool redirect;			/* u32 redirect at VQ_SHAPER_REDIRECT_PRIO */
	enum vq_leaf leaf;		/* leaf qdisc kind in use */
	uint64_t up_bps, down_bps;	/* shaped link rates */
	uint64_t up_voice_bps, down_voice_bps;
};

struct vq_shaper_class {
	uint32_t classid, parent;
	uint64_t rate_bps, ceil_bps;	/* bit/s */
	uint32_t prio, quantum, buffer_bytes;
	uint32_t leaf_handle;		/* 0: none / default */
	char leaf_kind[16];
	uint32_t leaf_limit;		/* pfifo limit, packets */
	uint64_t bytes, packets;
	uint32_t drops, overlimits, requeues, qlen, backlog;
	uint32_t leaf_drops;		/* drops counted by the leaf qdisc */
};

#define VQ_SHAPER_MAX_CLASSES 8

struct vq_shaper_dev_status {
	char dev[IFNAMSIZ];
	int ifindex;
	char root_kind[16];
	uint32_t root_handle;
	uint32_t defcls, r2q;		/* HTB root only */
	bool like_ours;			/* HTB 1: default 1:20, or voipq 1: */
	unsigned int nclasses;
	struct vq_shaper_class classes[VQ_SHAPER_MAX_CLASSES];
	bool has_clsact, has_ingress;	/* ingress-side qdisc present */
};

struct vq_shaper_status {
	struct vq_shaper_dev_status up, down;
	enum vq_down_mode down_mode;
	enum vq_leaf leaf;
	bool redirect_ok;	/* IFB mode: the WAN ingress redirect is there */
};

/* Fill defaults into @cfg; check it. -EINVAL with what to fix in @err. */
int vq_shaper_config_check(struct vq_shaper_config *cfg, char *err,
			   size_t errlen);

/*
 * Install or update the trees (idempotent). @st carries what an earlier
 * run created (zeroed for a first run) and comes back updated, also on
 * failure, so that teardown can undo a half-done setup. 0 or -errno, with
 * what to do in @err.
 */
int vq_shaper_setup(const struct vq_shaper_config *cfg,
		    struct vq_shaper_state *st, char *err, size_t errlen);

/* Remove what @st records, nothing else; clears @st. 0 or -errno. */
int vq_shaper_teardown(struct vq_shaper_state *st, char *err, size_t errlen);

/* Read back the trees @st describes, with counters. */
int vq_shaper_status(const struct vq_shaper_state *st,
		     struct vq_shaper_status *out, char *err, size_t errlen);

/* The tree on one device, for status and tests. -ENODEV if no device. */
int vq_shaper_dev_status(const char *dev, struct vq_shaper_dev_status *out,
			 char *err, size_t errlen);

/* The class with @classid in @ds, or NULL. */
const struct vq_shaper_class *
vq_shaper_find_class(const struct vq_shaper_dev_status *ds, uint32_t classid);

int vq_shaper_state_save(const struct vq_shaper_state *st, const char *path);
int vq_shaper_state_load(struct vq_shaper_state *st, const char *path);

const char *vq_leaf_name(enum vq_leaf leaf);
const char *vq_root_name(enum vq_root root);
const char *vq_down_mode_name(enum vq_down_mode mode);

/*
 * The tc filters on @ifindex's clsact qdisc, ingress and egress: whoever
 * made the qdisc deletes it only when none is left, since anyone's filters
 * would go with it. 0 or -errno.
 */
int vq_tc_clsact_filters(int ifindex, unsigned int *n);

#endif
