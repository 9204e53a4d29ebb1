/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's handle on the tc classifier (bpf/voipq.bpf.c): load it or
 * re-adopt the maps a previous voipqd pinned, attach it to an interface's
 * egress (tcx link where the kernel has it, clsact + tc filter otherwise),
 * and program endpoints. The port-presence bitmap in front of the endpoint
 * table is kept here, with one reference count per port, and so is the
 * table itself (bpf/voipq.h): this handle is its only writer.
 *
 * Every function returns 0 or -errno and has already logged what went wrong
 * and what to do about it.
 */
#ifndef VOIPQ_BACKEND_BPF_H
#define VOIPQ_BACKEND_BPF_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"
#include "epset.h"
#include "sdp.h"
#include "voipq.h"

#define VQ_BPF_DEFAULT_MAX_EPS 16384

struct vq_bpf_cfg {
	const char *pin_dir;      /* NULL: VOIPQ_PIN_DIR */
	uint32_t max_endpoints;   /* endpoints the table holds (it has twice
				   * as many slots); a pinned table of
				   * another size is resized. 0: a pinned
				   * table as it is, else the default */
	uint32_t voice_major;     /* HTB root handle major; 0: 1 */
	uint32_t voice_minor;     /* 0: VOIPQ_VOICE_MINOR */
	bool no_dscp;             /* never rewrite DSCP, whatever the entry */
	uint32_t ef_ifindex;      /* re-mark EF only leaving this interface
				   * (the WAN); 0: any */
	bool no_tcx;              /* clsact + tc filter even where tcx exists */
	bool no_ack;              /* leave pure TCP ACKs as bulk, not 1:30 */
	/*
	 * Tests only: the classifier takes "now" from skb->tstamp, which
	 * BPF_PROG_TEST_RUN passes in from ctx_in, instead of the clock.
	 */
	bool clock_from_tstamp;
};

/* What the agent decides for one endpoint. */
struct vq_bpf_policy {
	uint32_t rate_bps;   /* token bucket rate, bytes per second */
	uint32_t burst;      /* bucket depth, bytes */
	uint32_t clock_rate; /* RTP clock, Hz; 0: 8000 */
	uint32_t flags;      /* enum voipq_ep_flags */
	uint64_t cookie;     /* the owning dialog, for the CLI */
};

struct vq_bpf;

/*
 * Load the classifier with its maps pinned by name under cfg->pin_dir
 * (mounting bpffs on /sys/fs/bpf first if nothing is mounted there). Maps
 * already pinned there are re-adopted with their contents, and the port
 * bitmaps and the table's occupancy are rebuilt from them. A pinned
 * endpoint table that cannot be adopted as it is (an older voipq's LRU
 * hash, its hashing pin voipq_ep_meta gone, another max_endpoints) has its
 * entries carried into a new table, counters and RTP state included.
 */
int vq_bpf_open(struct vq_bpf **out, const struct vq_bpf_cfg *cfg);
/* Close the handle; pinned maps and attached programs stay (fail open). */
void vq_bpf_close(struct vq_bpf *b);
/* Remove the map pins and the pin directory (teardown, tests). */
int vq_bpf_unpin(struct vq_bpf *b);

/*
 * Attach to @ifname's egress: a tcx link pinned as link_<ifname>_egress
 * under the pin dir, or where the kernel has no tcx, a clsact qdisc (kept if
 * it already exists) with a direct-action filter. A classifier a previous
 * voipqd attached is replaced in place.
 *
 * The program is the one for the framing of @frames_of's packets (NULL:
 * @ifname's own): the Ethernet one, or on a device without a link-layer
 * header (PPP, WireGuard, tun, IP-in-IP, raw IP) the one that starts at the
 * IP header. An IFB fed from a WAN's ingress carries the WAN's framing, so
 * it is attached with the WAN as @frames_of.
 */
int vq_bpf_attach(struct vq_bpf *b, const char *ifname,
		  const char *frames_of);
/* Detach from @ifname; a clsact qdisc goes only if this handle made it. */
int vq_bpf_detach(struct vq_bpf *b, const char *ifname);

/*
 * Add or update a UDP or TCP endpoint; an update keeps the datapath's
 * counters and state. -ENOSPC when both of its buckets in the table are
 * full, which takes more endpoints than max_endpoints or keys aimed at
 * its buckets (the seed makes that a matter of luck, not of SDP).
 */
int vq_bpf_ep_set(struct vq_bpf *b, const struct vq_endpoint *ep,
		  const struct vq_bpf_policy *pol);
/* Returns 0, or -ENOENT when the endpoint is not in the table. */
int vq_bpf_ep_del(struct vq_bpf *b, const struct vq_endpoint *ep);
int vq_bpf_ep_lookup(struct vq_bpf *b, const struct vq_endpoint *ep,
		     struct voipq_ep_val *val);

/*
 * Static prefix rules (at most VOIPQ_MAX_PREFIXES), consulted when no
 * endpoint matches a packet; the longest matching prefix wins. A
 * full-length prefix is an endpoint, and these pass it to vq_bpf_ep_*.
 * An update keeps the rule's counters. Errors: -ENOENT (no such rule),
 * -ENOSPC (the trie is full), -EPROTONOSUPPORT (not UDP).
 */
int vq_bpf_pfx_set(struct vq_bpf *b, const struct vq_prefix *p,
		   const struct vq_bpf_policy *pol);
int vq_bpf_pfx_del(struct vq_bpf *b, const struct vq_prefix *p);
int vq_bpf_pfx_lookup(struct vq_bpf *b, const struct vq_prefix *p,
		      struct voipq_ep_val *val);
/* Every prefix rule (not the endpoints); stop when @fn returns non-zero. */
int vq_bpf_pfx_for_each(struct vq_bpf *b,
			int (*fn)(void *arg, const struct vq_prefix *p,
				  const struct voipq_ep_val *val),
			void *arg);
/* Visit every entry; stop early when @fn returns non-zero (returned). */
int vq_bpf_ep_for_each(struct vq_bpf *b,
		       int (*fn)(void *arg, const struct vq_endpoint *ep,
				 const struct voipq_ep_val *val),
		       void *arg);

/* RFC 3550 A.3 and A.8 figures of one direction of an entry. */
struct vq_rtp_figures {
	uint32_t ssrc;
	uint64_t received;
	uint64_t expected;
	int64_t lost;        /* negative with duplicates, as A.3 allows */
	double loss_pct;     /* of expected, 0..100 */
	double jitter_ms;
};

/*
 * Figures of @v's RTP stream in direction @dir (enum voipq_rtp_dir_idx).
 * Returns false, with every figure zero, when no RTP went that way.
 */
bool vq_bpf_rtp_figures(const struct voipq_ep_val *v, unsigned int dir,
			struct vq_rtp_figures *f);

/* The per-CPU counters, summed. */
int vq_bpf_stats(struct vq_bpf *b, struct voipq_stats *out);

/* For tests and benchmarks: the classifier's program fd. */
int vq_bpf_prog_fd(const struct vq_bpf *b);
/* The same for devices without a link-layer header. */
int vq_bpf_prog_fd_l3(const struct vq_bpf *b);

void vq_ep_to_key(const struct vq_endpoint *ep, struct voipq_ep_key *key);
void vq_key_to_ep(const struct voipq_ep_key *key, struct vq_endpoint *ep);

/*
 * Size a token bucket to what a call with @codec can need (media is enum
 * vq_media_type): codec bitrate, packet rate from ptime, IP/UDP/RTP and
 * link headers, then 2x headroom. Unknown codecs get a generous default.
 */
void vq_bpf_budget(const struct vq_codec *codec, uint8_t media,
		   uint32_t *rate_bps, uint32_t *burst);

/*
 * Learning library → datapath: pass with a struct vq_bpf * as ctx to
 * vq_epset_new(), and endpoint events program the table.
 */
extern const struct vq_backend_ops vq_bpf_backend_ops;

#endif
