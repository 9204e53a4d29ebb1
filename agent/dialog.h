/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Calls, dialogs and the offer/answer exchange (RFC 3261, 3264, 3262, 3311,
 * 6337), reduced to one question: which media endpoints are live right now.
 *
 * A call is one INVITE transaction's worth of state, keyed by Call-ID and
 * the caller's From-tag (a B2BUA's legs can share a Call-ID). Its dialogs
 * are keyed by the callee's tag, so forked early dialogs stay apart. The
 * caller's media lives in the call, each callee's in its dialog.
 *
 * An SDP in an INVITE or UPDATE request is always an offer, even one that
 * crosses the other side's (glare). Any SDP in a response to an INVITE
 * that carried the offer is the answer (RFC 6337 3.1.1: a 200 may replace
 * an unreliable 183's preview). Otherwise an SDP answers the other party's
 * outstanding offer, or is a new offer. Offers are installed at once (the
 * answerer may send media right after answering) and replace the offerer's
 * previous media only when answered; a failure response to the transaction
 * that carried an offer rolls it back.
 */
#ifndef VOIPQ_DIALOG_H
#define VOIPQ_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "epset.h"
#include "sip.h"

struct vq_tracker_cfg {
	unsigned int max_calls;
	unsigned int max_endpoints;
	unsigned int max_forks;        /* early dialogs per call */
	unsigned int dialog_timeout_s; /* confirmed, no BYE, no Session-Expires */
	unsigned int early_timeout_s;  /* INVITE without a final response */
	unsigned int linger_s;         /* ended calls absorb retransmissions */
};

void vq_tracker_cfg_init(struct vq_tracker_cfg *cfg);

enum vq_call_state {
	VQ_CALL_CALLING,
	VQ_CALL_EARLY,
	VQ_CALL_CONFIRMED,
	VQ_CALL_ENDED,      /* BYE */
	VQ_CALL_CANCELLED,  /* CANCEL or 487 */
	VQ_CALL_REJECTED,   /* other final >= 400 */
	VQ_CALL_REDIRECTED, /* 3xx */
	VQ_CALL_EXPIRED,    /* no BYE seen in time */
	VQ_CALL_EVICTED,    /* dropped at a cap */
};

const char *vq_call_state_str(uint8_t state);

struct vq_call_view {
	const char *call_id;
	const char *caller_tag;
	const char *from;
	const char *to;
	uint8_t state;
	uint64_t created_ns;
	uint64_t last_ns;     /* last SIP message of the call */
	unsigned int n_dialogs;
	const void *priv;     /* for vq_call_for_each_ep */
};

enum vq_call_event_type {
	VQ_CALL_NEW,
	VQ_CALL_MSG,   /* a message entered the call's timeline */
	VQ_CALL_STATE, /* state changed */
	VQ_CALL_FREE,  /* state is gone from the tracker */
};

struct vq_call_event {
	uint8_t type;
	const struct vq_call_view *call;
	const char *label;  /* VQ_CALL_MSG: "INVITE", "183", ... */
	uint64_t ts_ns;
};

struct vq_tracker_ops {
	int (*ep_event)(void *ctx, const struct vq_ep_event *ev);
	void (*call_event)(void *ctx, const struct vq_call_event *ev);
	/*
	 * A BYE that matches no call the tracker holds (counted in orphans;
	 * calls are told apart by Call-ID and tag): an agent that kept flows
	 * of calls from before it started can end them. Optional.
	 */
	void (*orphan_bye)(void *ctx, const char *call_id, uint64_t ts_ns);
	/*
	 * A 2xx answered a REGISTER: a registrar serves a phone here, and the
	 * calls to and from it will take the path this answer took (voipqd
	 * prioritises it before the first INVITE). Optional.
	 */
	void (*registered)(void *ctx, uint64_t ts_ns);
};

struct vq_tracker_stats {
	uint64_t messages;        /* offered to the tracker */
	uint64_t skipped;         /* pre-check: no session state */
	uint64_t parsed;          /* full libosip2 parses */
	uint64_t invalid;         /* not SIP, or rejected by the parser */
	uint64_t sdp_invalid;     /* SDP bodies that could not be used */
	uint64_t retransmissions;
	uint64_t orphans;         /* in-dialog messages for no known call */
	uint64_t calls_created;
	uint64_t calls_ended;
	uint64_t calls_expired;
	uint64_t calls_evicted;
	uint64_t calls_refused;   /* at max_calls, all held confirmed */
	uint64_t forks_refused;   /* early dialogs past max_forks */
	uint64_t endpoints_dropped; /* past 8 per party and SDP */
	uint64_t requests[__VQ_SIP_METHOD_MAX];
	uint64_t responses;
	uint32_t calls_active;
};

struct vq_tracker;

struct vq_tracker *vq_tracker_new(const struct vq_tracker_cfg *cfg,
				  const struct vq_tracker_ops *ops, void *ctx);
void vq_tracker_free(struct vq_tracker *t);

/*
 * Offer one SIP message seen at @ts_ns. Returns 0 when it was used or
 * skipped cleanly, -EINVAL when it was not SIP.
 */
int vq_tracker_input(struct vq_tracker *t, const uint8_t *data, size_t len,
		     uint64_t ts_ns);

/* End calls whose time is up and forget ended ones. */
void vq_tracker_expire(struct vq_tracker *t, uint64_t now_ns);

/* End every call (reason "shutdown"): the backend sees every remove. */
void vq_tracker_flush(struct vq_tracker *t, uint64_t now_ns);

/* Visit every call the tracker holds, live or lingering, oldest first. */
int vq_tracker_for_each_call(const struct vq_tracker *t,
			     int (*fn)(void *arg, const struct vq_call_view *v),
			     void *arg);

/* Visit the endpoints a call holds now: the caller's, then each dialog's. */
int vq_call_for_each_ep(const struct vq_call_view *v,
			int (*fn)(void *arg, const struct vq_media_ep *mep),
			void *arg);

/*
 * Whether the calls hold exactly the references the endpoint set counts,
 * endpoint by endpoint: for tests and fuzzing (it costs the product of the
 * endpoints and the calls' entries).
 */
bool vq_tracker_refs_match(const struct vq_tracker *t);

const struct vq_tracker_stats *vq_tracker_stats(const struct vq_tracker *t);
const struct vq_epset *vq_tracker_epset(const struct vq_tracker *t);

#endif
