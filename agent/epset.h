/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The media endpoint set: every endpoint some live dialog has announced,
 * reference-counted because two dialogs can announce the same endpoint (a
 * B2BUA's legs, a phone reusing a port, forked early dialogs sharing the
 * offer). Backends see one add when the first reference appears, updates
 * when what they should know about it changes, and one remove when the last
 * reference goes.
 */
#ifndef VOIPQ_EPSET_H
#define VOIPQ_EPSET_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"
#include "sdp.h"

enum vq_ep_kind {
	VQ_EP_RTP,
	VQ_EP_RTCP,
	VQ_EP_SIP, /* a call's signalling path (voipqd), not SDP media */
};

enum vq_ep_side {
	VQ_SIDE_OFFER,
	VQ_SIDE_ANSWER,
};

/* One learned endpoint and what the datapath may want to know about it. */
struct vq_media_ep {
	struct vq_endpoint ep;
	uint8_t kind;  /* enum vq_ep_kind */
	uint8_t side;  /* enum vq_ep_side */
	uint8_t media; /* enum vq_media_type */
	uint8_t dir;   /* enum vq_media_dir */
	struct vq_codec codec;
};

/* Which dialog an endpoint belongs to: the dialog key of RFC 3261 12. */
struct vq_dialog_id {
	const char *call_id;
	const char *caller_tag;
	const char *callee_tag; /* "" before any response carried one */
};

enum vq_ep_event_type {
	VQ_EP_ADDED,
	VQ_EP_UPDATED,
	VQ_EP_REMOVED,
};

struct vq_ep_event {
	uint8_t type;
	const struct vq_media_ep *mep;
	struct vq_dialog_id dialog;
	const char *reason; /* "offer", "answer", "bye", "cancel", ... */
	uint64_t ts_ns;
};

/* What a datapath implements; all callbacks may be NULL. */
struct vq_backend_ops {
	/* Returns 0 or -errno; a failure is counted, learning goes on. */
	int (*ep_event)(void *ctx, const struct vq_ep_event *ev);
};

struct vq_epset_stats {
	uint64_t added;
	uint64_t updated;
	uint64_t removed;
	uint64_t full;           /* references refused at the cap */
	uint64_t backend_errors;
	uint32_t count;
};

struct vq_epset;

struct vq_epset *vq_epset_new(unsigned int max_endpoints,
			      const struct vq_backend_ops *ops, void *ctx);
void vq_epset_free(struct vq_epset *s);

/* Returns 0, or -ENOSPC when the set is full (counted in stats.full). */
int vq_epset_ref(struct vq_epset *s, const struct vq_media_ep *mep,
		 const struct vq_dialog_id *d, const char *reason,
		 uint64_t ts_ns);
void vq_epset_unref(struct vq_epset *s, const struct vq_media_ep *mep,
		    const struct vq_dialog_id *d, const char *reason,
		    uint64_t ts_ns);

bool vq_epset_full(const struct vq_epset *s);
unsigned int vq_epset_count(const struct vq_epset *s);
const struct vq_epset_stats *vq_epset_stats(const struct vq_epset *s);

/* Visit every endpoint; stop early when @fn returns non-zero. */
int vq_epset_for_each(const struct vq_epset *s,
		      int (*fn)(void *arg, const struct vq_media_ep *mep,
				unsigned int refs),
		      void *arg);

const char *vq_ep_kind_str(uint8_t kind);
/* enum vq_ep_kind from its name; -1 for anything else (NULL too). */
int vq_ep_kind_parse(const char *s);
const char *vq_ep_side_str(uint8_t side);
const char *vq_ep_event_str(uint8_t type);

#endif
