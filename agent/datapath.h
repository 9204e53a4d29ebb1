/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The router's datapath as one thing to bring up and down, on either
 * backend (DESIGN.md decision 7):
 *
 * - bpf: the shaper's HTB trees (upstream on the WAN egress, downstream on
 *   an IFB fed from the WAN ingress or on a LAN egress) and the classifier
 *   on each shaped egress, its maps pinned;
 * - kmod: sch_voipq as the root of the same two devices, and the endpoint
 *   table of this network namespace over generic netlink.
 *
 * The rest of the agent sees one set of calls and one entry layout
 * (struct voipq_ep_val), so the views and the JSON do not depend on the
 * backend. voipqd and the lab tools use it, so the lab tests what the
 * daemon runs.
 *
 * What was set up is saved in a state file, so that a restarted agent
 * re-adopts it and a stop removes exactly that (DESIGN.md decision 6).
 */
#ifndef VOIPQ_DATAPATH_H
#define VOIPQ_DATAPATH_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend_bpf.h"
#include "backend_kmod.h"
#include "config.h"
#include "shaper.h"

struct vq_dp_cfg {
	struct vq_shaper_config shaper;
	bool shape;               /* false: classify only, no HTB trees (bpf) */
	/*
	 * enum vq_backend_kind. AUTO: bpf if the classifier loads and
	 * attaches, else kmod if the genl family resolves (after modprobe
	 * sch_voipq); a datapath an earlier run left is kept on its backend.
	 */
	uint8_t backend;
	const char *pin_dir;      /* NULL: VOIPQ_PIN_DIR */
	uint32_t max_endpoints;
	bool dscp_ef;             /* mark upstream voice EF (bpf only) */
	uint32_t idle_ms;         /* kmod: announce idle entries after; 0: 30 s */
	const char *state_path;   /* NULL: no state file */
	/*
	 * A reload: on failure, leave what runs (the state says what) for
	 * the caller to bring back under the running configuration, rather
	 * than tear it all down.
	 */
	bool keep_on_failure;
	/* A reload: auto stays on the running backend, which the other removes. */
	bool stay_on_backend;
};

struct vq_dp {
	uint8_t backend;          /* VQ_BACKEND_BPF or VQ_BACKEND_KMOD */
	struct vq_bpf *bpf;       /* bpf: the classifier and its maps */
	struct vq_kmod *kmod;     /* kmod: the endpoint table */
	struct vq_shaper_state shaper;
	bool dscp_ef;
	uint32_t idle_ms;
	unsigned int n_attached;
	/* WAN, then the downstream device: the classifier, or sch_voipq */
	char attached[2][IFNAMSIZ];
	char state_path[256];
	char msg[256];            /* the kernel's reason for the last refusal */
};

/* Bring it all up (idempotent: re-running adopts what is there). */
int vq_dp_up(struct vq_dp **out, const struct vq_dp_cfg *cfg, char *err,
	     size_t errlen);

/*
 * Open what an earlier vq_dp_up left (pins or table, and the state file,
 * which names the backend; bpf without one) without changing anything:
 * for tools and for a restarted daemon.
 */
int vq_dp_adopt(struct vq_dp **out, const char *pin_dir,
		const char *state_path, char *err, size_t errlen);

/*
 * @keep: leave everything in place (the datapath keeps classifying with
 * its current entries, fail open). Otherwise detach, tear down the trees
 * and remove the pins and the state file.
 */
int vq_dp_down(struct vq_dp *dp, bool keep, char *err, size_t errlen);

/* Program one endpoint with a budget sized from its codec. */
int vq_dp_ep_add(struct vq_dp *dp, const struct vq_endpoint *ep,
		 const struct vq_codec *codec, uint8_t media, bool upstream_ef,
		 uint32_t flags, uint64_t cookie);
/*
 * Program a SIP signalling endpoint: no EF, and a budget of its own that
 * carries a call's messages and their retransmissions (an INVITE with SDP
 * is one or two kilobytes) but not a flood that forged SIP pointed there.
 */
#define VQ_DP_SIG_RATE	8000	/* bytes/s: 64 kbit/s */
#define VQ_DP_SIG_BURST	16384	/* bytes */
int vq_dp_sig_add(struct vq_dp *dp, const struct vq_endpoint *ep);
/* 0, or -ENOENT when the endpoint is not there. */
int vq_dp_ep_del(struct vq_dp *dp, const struct vq_endpoint *ep);
/* One entry's statistics, in the BPF map's layout; -ENOENT when absent. */
int vq_dp_ep_get(struct vq_dp *dp, const struct vq_endpoint *ep,
		 struct voipq_ep_val *val);
/*
 * What the kernel said when it refused the last vq_dp_ep_add/del (sch_voipq's
 * extack), for the user to read; "" when it said nothing.
 */
const char *vq_dp_msg(const struct vq_dp *dp);

/*
 * Static rules by prefix (a full-length one is an endpoint), matched when
 * no endpoint is, longest first: the bpf backend's prefix trie (at most
 * VOIPQ_MAX_PREFIXES), or sch_voipq's prefix rules (VOIPQ_MAX_PREFIX_RULES);
 * -ENOSPC beyond. A rule's budget is shared by everything it matches: an
 * audio endpoint's, times the addresses it covers, at most
 * VQ_DP_PREFIX_EPS times.
 */
#define VQ_DP_PREFIX_EPS 8
int vq_dp_pfx_add(struct vq_dp *dp, const struct vq_prefix *p, uint32_t flags);
int vq_dp_pfx_del(struct vq_dp *dp, const struct vq_prefix *p);
/* Every prefix rule. */
int vq_dp_pfx_for_each(struct vq_dp *dp,
		       int (*fn)(void *arg, const struct vq_prefix *p,
				 const struct voipq_ep_val *val),
		       void *arg);

/*
 * Every entry with the datapath's statistics, in the BPF map's layout
 * whatever the backend; stop early when @fn returns non-zero (returned).
 */
int vq_dp_ep_for_each(struct vq_dp *dp,
		      int (*fn)(void *arg, const struct vq_endpoint *ep,
				const struct voipq_ep_val *val),
		      void *arg);

/* Classifier counters: the BPF program's, or summed from sch_voipq's xstats. */
int vq_dp_stats(struct vq_dp *dp, struct voipq_stats *out);

/* "bpf" or "kmod"; "none" without a datapath. */
const char *vq_dp_backend_name(const struct vq_dp *dp);
/* What schedules on the shaped devices: the HTB leaf kind, or "voipq". */
const char *vq_dp_qdisc_name(const struct vq_dp *dp);

#endif
