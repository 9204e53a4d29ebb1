// SPDX-License-Identifier: GPL-2.0
/*
 * Dialog tracking and offer/answer. See dialog.h for the model.
 *
 * Orientation: a message belongs to call (Call-ID, From-tag) when the caller
 * sent the request it carries or answers, and to call (Call-ID, To-tag)
 * when the callee did (a BYE or re-INVITE from the callee, and responses to
 * those). That tells who sent an SDP without trusting any address.
 *
 * Every reference into the endpoint set is held by a media set: a party's
 * active set (what was agreed) and its pending set (an offer in flight). A
 * party that is released keeps its sets, so a 200 OK racing a CANCEL can
 * bring the call back with the caller's media intact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dialog.h"
#include "hash.h"

#define NSEC_PER_SEC 1000000000ull
/*
 * Endpoints one party can announce at once: four streams with their RTCP
 * (audio, video, T.38, text) cover real calls; the rest is counted. The
 * cap is what keeps a call's state small (about 2 KB) at 500 calls.
 */
#define SET_MAX 8

enum party_id {
	PARTY_NONE,
	PARTY_CALLER,
	PARTY_CALLEE,
};

/*
 * RTCP of an offer with a=rtcp-mux is held: kept in the offerer's set, not
 * referenced, until the answer says whether RTCP leaves the RTP port (RFC
 * 5761 5.1.1); then it is dropped or taken like any other endpoint.
 */
struct media_set {
	uint8_t n;
	uint8_t dropped;         /* endpoints past SET_MAX */
	uint8_t held;            /* bit per entry: RTCP awaiting the answer */
	uint8_t mux;             /* bit per m= line with a=rtcp-mux */
	uint8_t stream[SET_MAX]; /* m= line index each entry came from */
	struct vq_media_ep eps[SET_MAX];
};

_Static_assert(SET_MAX <= 8 && VQ_SDP_MAX_STREAMS <= 8,
	       "media_set bit masks hold 8 entries and 8 m= lines");

struct party {
	struct media_set active;
	struct media_set pending;
	bool has_active;
	bool has_pending;
	bool live; /* holds references in the endpoint set */
	uint8_t offer_method; /* transaction that carried the pending offer */
	uint32_t offer_cseq;
};

struct dialog {
	char tag[VQ_TAG_LEN]; /* the callee's tag */
	bool confirmed;
	struct party callee;
	uint8_t offer_from;     /* enum party_id with an offer outstanding */
	uint32_t offer_cseq;    /* transaction carrying it, for rollback */
	uint8_t offer_method;
	uint32_t session_expires;
	uint64_t refreshed_ns;
};

struct call {
	LIST_ENTRY(call) hnode;
	TAILQ_ENTRY(call) lru;
	TAILQ_ENTRY(call) rank_node; /* in t->rank[call_rank(c)] */
	char call_id[VQ_CALLID_LEN];
	char caller_tag[VQ_TAG_LEN];
	char from[VQ_URI_LEN];
	char to[VQ_URI_LEN];
	uint8_t state;
	uint8_t init_offer_from; /* PARTY_CALLER unless late offer */
	uint32_t invite_cseq;
	struct party caller;
	unsigned int n_dialogs;
	struct dialog **dialogs;
	uint64_t created_ns, last_ns, ended_ns;
	char last_label[8];
	uint32_t last_cseq;
};

LIST_HEAD(call_bucket, call);
TAILQ_HEAD(call_list, call);

/*
 * The order calls give way at a cap: tombstones, then calls nothing has
 * answered yet (a scanner's INVITEs), then early calls. A confirmed call
 * sends no SIP while its media flows, so it is the least recently active
 * one; it is never evicted, and a newcomer that finds only confirmed calls
 * is refused instead. Confirmed calls end by BYE or expiry.
 */
enum call_rank {
	RANK_OVER,
	RANK_CALLING,
	RANK_EARLY,
	RANK_CONFIRMED,
	__RANK_MAX,
};

struct vq_tracker {
	struct vq_tracker_cfg cfg;
	struct call_bucket *buckets;
	uint32_t mask;
	struct call_list lru; /* least recently active first */
	struct call_list rank[__RANK_MAX]; /* the same, by call_rank() */
	struct vq_epset *eps;
	struct vq_backend_ops backend;
	const struct vq_tracker_ops *ops;
	void *ctx;
	struct vq_tracker_stats stats;
	struct call *current; /* never evicted while its message is handled */
	unsigned int n_calls; /* live and lingering */
};

static const char *const state_names[] = {
	[VQ_CALL_CALLING] = "calling",	   [VQ_CALL_EARLY] = "early",
	[VQ_CALL_CONFIRMED] = "confirmed", [VQ_CALL_ENDED] = "ended",
	[VQ_CALL_CANCELLED] = "cancelled", [VQ_CALL_REJECTED] = "rejected",
	[VQ_CALL_REDIRECTED] = "redirected", [VQ_CALL_EXPIRED] = "expired",
	[VQ_CALL_EVICTED] = "evicted",
};

const char *vq_call_state_str(uint8_t state)
{
	return state <= VQ_CALL_EVICTED ? state_names[state] : "?";
}

void vq_tracker_cfg_init(struct vq_tracker_cfg *cfg)
{
	*cfg = (struct vq_tracker_cfg){
		.max_calls = 4096,
		.max_endpoints = 16384,
		.max_forks = 8,
		.dialog_timeout_s = 4 * 3600,
		.early_timeout_s = 180, /* RFC 3261 Timer C */
		.linger_s = 32,         /* 64 * T1: retransmissions are over */
	};
}

static bool call_over(const struct call *c)
{
	return c->state >= VQ_CALL_ENDED;
}

static enum call_rank call_rank(const struct call *c)
{
	if (call_over(c))
		return RANK_OVER;
	if (c->state == VQ_CALL_CALLING)
		return RANK_CALLING;
	return c->state == VQ_CALL_EARLY ? RANK_EARLY : RANK_CONFIRMED;
}

/* --- events ------------------------------------------------------------ */

static void call_view(const struct call *c, struct vq_call_view *v)
{
	*v = (struct vq_call_view){
		.call_id = c->call_id,
		.caller_tag = c->caller_tag,
		.from = c->from,
		.to = c->to,
		.state = c->state,
		.created_ns = c->created_ns,
		.last_ns = c->last_ns,
		.n_dialogs = c->n_dialogs,
		.priv = c,
	};
}

static void call_event(struct vq_tracker *t, const struct call *c, uint8_t type,
		       const char *label, uint64_t ts_ns)
{
	struct vq_call_view v;
	struct vq_call_event ev = { .type = type, .label = label, .ts_ns = ts_ns };

	if (!t->ops || !t->ops->call_event)
		return;
	call_view(c, &v);
	ev.call = &v;
	t->ops->call_event(t->ctx, &ev);
}

static void set_state(struct vq_tracker *t, struct call *c, uint8_t state,
		      uint64_t ts_ns)
{
	if (c->state == state)
		return;
	TAILQ_REMOVE(&t->rank[call_rank(c)], c, rank_node);
	c->state = state;
	TAILQ_INSERT_TAIL(&t->rank[call_rank(c)], c, rank_node);
	if (call_over(c))
		c->ended_ns = ts_ns;
	call_event(t, c, VQ_CALL_STATE, NULL, ts_ns);
}

/* --- media sets and references ------------------------------------------ */

static struct vq_dialog_id dialog_id(const struct call *c,
				     const struct dialog *d)
{
	return (struct vq_dialog_id){
		.call_id = c->call_id,
		.caller_tag = c->caller_tag,
		.callee_tag = d ? d->tag : "",
	};
}

static bool evict_one(struct vq_tracker *t, bool for_endpoints,
		      uint64_t ts_ns);

static bool set_held(const struct media_set *s, unsigned int i)
{
	return s->held & (1u << i);
}

/*
 * One reference to @mep. At the endpoint cap, calls not yet up give way
 * one by one until it fits. Returns 0 or -errno.
 */
static int ep_ref(struct vq_tracker *t, const struct vq_media_ep *mep,
		  const struct vq_dialog_id *id, const char *reason,
		  uint64_t ts_ns)
{
	int err;

	do
		err = vq_epset_ref(t->eps, mep, id, reason, ts_ns);
	while (err == -ENOSPC && evict_one(t, true, ts_ns));
	return err;
}

/*
 * Take a reference for each endpoint of @s but the held ones. One that
 * does not fit is dropped from @s, so that nothing releases a reference it
 * never held (the endpoint could by then be another call's).
 */
static void set_ref(struct vq_tracker *t, const struct call *c,
		    const struct dialog *d, struct media_set *s,
		    const char *reason, uint64_t ts_ns)
{
	struct vq_dialog_id id = dialog_id(c, d);
	unsigned int n = 0;
	uint8_t held = 0;

	for (unsigned int i = 0; i < s->n; i++) {
		if (set_held(s, i))
			held |= (uint8_t)(1u << n);
		else if (ep_ref(t, &s->eps[i], &id, reason, ts_ns))
			continue;
		s->stream[n] = s->stream[i];
		s->eps[n++] = s->eps[i];
	}
	s->n = (uint8_t)n;
	s->held = held;
}

/*
 * The answer to @s's offer came, multiplexing RTCP on the m= lines in
 * @answer_mux: held RTCP on those goes, on the others it is taken now
 * (when @take) or kept for party_install() (RFC 5761 5.1.1).
 */
static void set_answered(struct vq_tracker *t, const struct call *c,
			 const struct dialog *d, struct media_set *s,
			 uint8_t answer_mux, bool take, uint64_t ts_ns)
{
	struct vq_dialog_id id = dialog_id(c, d);
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->n; i++) {
		if (set_held(s, i) &&
		    ((answer_mux & (1u << s->stream[i])) ||
		     (take && ep_ref(t, &s->eps[i], &id, "answer", ts_ns))))
			continue;
		s->stream[n] = s->stream[i];
		s->eps[n++] = s->eps[i];
	}
	s->n = (uint8_t)n;
	s->held = 0;
}

static void set_unref(struct vq_tracker *t, const struct call *c,
		      const struct dialog *d, const struct media_set *s,
		      const char *reason, uint64_t ts_ns)
{
	struct vq_dialog_id id = dialog_id(c, d);

	for (unsigned int i = 0; i < s->n; i++)
		if (!set_held(s, i))
			vq_epset_unref(t->eps, &s->eps[i], &id, reason, ts_ns);
}

static void party_release(struct vq_tracker *t, const struct call *c,
			  const struct dialog *d, struct party *p,
			  const char *reason, uint64_t ts_ns)
{
	if (!p->live)
		return;
	if (p->has_active)
		set_unref(t, c, d, &p->active, reason, ts_ns);
	if (p->has_pending)
		set_unref(t, c, d, &p->pending, reason, ts_ns);
	p->live = false;
}

static void party_install(struct vq_tracker *t, const struct call *c,
			  const struct dialog *d, struct party *p,
			  const char *reason, uint64_t ts_ns)
{
	if (p->live)
		return;
	p->live = true;
	if (p->has_active)
		set_ref(t, c, d, &p->active, reason, ts_ns);
	if (p->has_pending)
		set_ref(t, c, d, &p->pending, reason, ts_ns);
}

static void set_add(struct media_set *s, uint8_t stream,
		    const struct vq_media_ep *mep, bool held)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (vq_endpoint_eq(&s->eps[i].ep, &mep->ep))
			return; /* one reference per set and endpoint */
	if (s->n == SET_MAX) {
		s->dropped++;
		return;
	}
	if (held)
		s->held |= (uint8_t)(1u << s->n);
	s->stream[s->n] = stream;
	s->eps[s->n++] = *mep;
}

/*
 * The media set an SDP announces. A stream put on hold the RFC 2543 way
 * (c=0.0.0.0) keeps the endpoints it had, so that resuming finds them still
 * prioritised; port 0 removes a stream; unknown media types are not learned.
 */
static void build_set(struct media_set *out, const struct vq_sdp *sdp,
		      const struct party *prev, uint8_t side)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < sdp->n_streams; i++) {
		const struct vq_sdp_stream *s = &sdp->streams[i];
		struct vq_media_ep mep = {
			.side = side,
			.media = s->media,
			.dir = s->dir,
			.codec = s->codec,
		};

		if (s->disabled || s->media == VQ_MEDIA_OTHER)
			continue;
		if (s->rtcp_mux)
			out->mux |= (uint8_t)(1u << i);
		if (s->hold_addr) {
			const struct media_set *old = prev->has_pending ? &prev->pending
						    : &prev->active;

			if (!prev->has_active && !prev->has_pending)
				continue;
			for (unsigned int j = 0; j < old->n; j++) {
				if (old->stream[j] != i)
					continue;
				mep = old->eps[j];
				mep.side = side;
				mep.dir = s->dir;
				set_add(out, (uint8_t)i, &mep,
					set_held(old, j));
			}
			continue;
		}
		mep.ep = s->rtp;
		mep.kind = VQ_EP_RTP;
		set_add(out, (uint8_t)i, &mep, false);
		/* An answer with a=rtcp-mux accepts it: no RTCP port. */
		if (s->has_rtcp && !(s->rtcp_mux && side == VQ_SIDE_ANSWER)) {
			mep.ep = s->rtcp;
			mep.kind = VQ_EP_RTCP;
			set_add(out, (uint8_t)i, &mep, s->rtcp_mux);
		}
	}
}

static bool set_same(const struct media_set *a, const struct media_set *b)
{
	if (a->n != b->n || a->held != b->held)
		return false;
	for (unsigned int i = 0; i < a->n; i++) {
		/* The side too: what answered an offer is announced anew. */
		if (!vq_endpoint_eq(&a->eps[i].ep, &b->eps[i].ep) ||
		    a->eps[i].side != b->eps[i].side ||
		    a->eps[i].dir != b->eps[i].dir ||
		    memcmp(&a->eps[i].codec, &b->eps[i].codec,
			   sizeof(a->eps[i].codec)))
			return false;
	}
	return true;
}

/*
 * The offerer's pending offer was answered, multiplexing RTCP on the m=
 * lines in @answer_mux: it becomes what is agreed.
 */
static void party_commit(struct vq_tracker *t, const struct call *c,
			 const struct dialog *d, struct party *p,
			 uint8_t answer_mux, uint64_t ts_ns)
{
	if (!p->has_pending)
		return;
	set_answered(t, c, d, &p->pending, answer_mux, p->live, ts_ns);
	if (p->has_active && p->live)
		set_unref(t, c, d, &p->active, "answered", ts_ns);
	p->active = p->pending;
	p->has_active = true;
	p->has_pending = false;
}

static void party_rollback(struct vq_tracker *t, const struct call *c,
			   const struct dialog *d, struct party *p,
			   uint64_t ts_ns)
{
	if (!p->has_pending)
		return;
	if (p->live)
		set_unref(t, c, d, &p->pending, "offer-rejected", ts_ns);
	p->has_pending = false;
}

/*
 * RFC 3261 13.2.1, RFC 3311 5.1: an SDP in an INVITE or UPDATE request is
 * always an offer, even one crossing the other party's offer (glare, RFC
 * 3261 14.1: both get 491 and roll back). Anything else answers the other
 * party's outstanding offer when there is one, and offers otherwise (late
 * offer in a 2xx, RFC 3262 offer in a reliable 1xx or PRACK).
 */
static bool is_answer(const struct vq_sip_brief *b, uint8_t offer_from,
		      uint8_t from)
{
	if (b->is_request &&
	    (b->method == VQ_SIP_INVITE || b->method == VQ_SIP_UPDATE))
		return false;
	return offer_from != PARTY_NONE && offer_from != from;
}

/*
 * An SDP from @from in dialog @d (NULL: the initial INVITE, before any
 * dialog exists).
 */
static void apply_sdp(struct vq_tracker *t, struct call *c, struct dialog *d,
		      uint8_t from, const struct vq_sip_msg *m, uint64_t ts_ns)
{
	struct party *p = from == PARTY_CALLER ? &c->caller : &d->callee;
	struct party *other = from == PARTY_CALLER ? (d ? &d->callee : NULL)
						   : &c->caller;
	uint8_t *offer_from = d ? &d->offer_from : &c->init_offer_from;
	bool answer = is_answer(&m->brief, *offer_from, from);
	struct media_set set;

	build_set(&set, &m->sdp, p, answer ? VQ_SIDE_ANSWER : VQ_SIDE_OFFER);
	t->stats.endpoints_dropped += set.dropped;

	/* Retransmissions and repeated answers (183 then 200) change nothing. */
	if (p->has_pending && set_same(&set, &p->pending) && !answer)
		return;
	if (p->has_active && !p->has_pending && set_same(&set, &p->active) &&
	    (answer || *offer_from == PARTY_NONE)) {
		if (answer) {
			if (other)
				party_commit(t, c, d, other, set.mux, ts_ns);
			*offer_from = PARTY_NONE;
		} else if (m->brief.is_request && d) {
			/* Same media offered again: a refresh, answer expected. */
			*offer_from = from;
			d->offer_cseq = m->brief.cseq;
			d->offer_method = m->brief.cseq_method;
		}
		return;
	}

	if (answer) {
		if (other)
			party_commit(t, c, d, other, set.mux, ts_ns);
		if (p->has_pending) /* glare: our own offer is moot */
			party_rollback(t, c, d, p, ts_ns);
		if (p->live)
			set_ref(t, c, d, &set, "answer", ts_ns);
		if (p->has_active && p->live)
			set_unref(t, c, d, &p->active, "answer", ts_ns);
		p->active = set;
		p->has_active = true;
		*offer_from = PARTY_NONE;
		return;
	}

	if (p->live)
		set_ref(t, c, d, &set, "offer", ts_ns);
	if (p->has_pending && p->live)
		set_unref(t, c, d, &p->pending, "offer", ts_ns);
	p->pending = set;
	p->has_pending = true;
	p->offer_cseq = m->brief.cseq;
	p->offer_method = m->brief.cseq_method;
	/* In glare the other party's offer stays the one awaiting an answer. */
	if (*offer_from != PARTY_NONE && *offer_from != from)
		return;
	*offer_from = from;
	if (d) {
		d->offer_cseq = m->brief.cseq;
		d->offer_method = m->brief.cseq_method;
	}
}

/*
 * A failure response to a re-INVITE, UPDATE or PRACK leaves the session as
 * it was (RFC 3261 14.1, RFC 3311 5.2): the offer the requester made in that
 * transaction rolls back, whichever offer the dialog was waiting on.
 */
static void offer_rejected(struct vq_tracker *t, struct call *c,
			   struct dialog *d, uint8_t responder,
			   const struct vq_sip_brief *b, uint64_t ts_ns)
{
	uint8_t req = responder == PARTY_CALLER ? PARTY_CALLEE : PARTY_CALLER;
	struct party *p = req == PARTY_CALLER ? &c->caller : &d->callee;

	if (p->has_pending && p->offer_cseq == b->cseq &&
	    p->offer_method == b->cseq_method)
		party_rollback(t, c, d, p, ts_ns);
	if (d->offer_from == req && d->offer_cseq == b->cseq &&
	    d->offer_method == b->cseq_method)
		d->offer_from = PARTY_NONE;
}

/*
 * The INVITE shows up after responses to it (capture reordering). Those took
 * the callee's SDP for a late offer; with the caller's offer in hand it was
 * the answer, and both are agreed.
 */
static void overtaken_invite(struct vq_tracker *t, struct call *c,
			     const struct vq_sip_msg *m, uint64_t ts_ns)
{
	struct media_set set;
	uint8_t answer_mux = 0; /* no answer in hand: as if mux were declined */

	for (unsigned int i = 0; i < c->n_dialogs; i++) {
		struct dialog *d = c->dialogs[i];
		struct party *p = &d->callee;

		if (d->offer_from != PARTY_CALLEE || !p->has_pending ||
		    p->offer_cseq != c->invite_cseq ||
		    p->offer_method != VQ_SIP_INVITE)
			continue;
		set = p->pending;
		/* As the answer, its a=rtcp-mux accepts multiplexing. */
		set_answered(t, c, d, &set, set.mux, false, ts_ns);
		answer_mux = set.mux;
		for (unsigned int j = 0; j < set.n; j++)
			set.eps[j].side = VQ_SIDE_ANSWER;
		if (p->live) {
			set_ref(t, c, d, &set, "answer", ts_ns);
			set_unref(t, c, d, &p->pending, "answer", ts_ns);
			if (p->has_active)
				set_unref(t, c, d, &p->active, "answer", ts_ns);
		}
		p->active = set;
		p->has_active = true;
		p->has_pending = false;
		d->offer_from = PARTY_NONE;
	}
	build_set(&set, &m->sdp, &c->caller, VQ_SIDE_OFFER);
	t->stats.endpoints_dropped += set.dropped;
	set_answered(t, c, NULL, &set, answer_mux, false, ts_ns);
	if (c->caller.live)
		set_ref(t, c, NULL, &set, "offer", ts_ns);
	c->caller.active = set;
	c->caller.has_active = true;
	c->init_offer_from = PARTY_CALLER;
}

/* --- calls and dialogs -------------------------------------------------- */

static uint32_t key_hash(const char *call_id, const char *tag)
{
	return vq_fnv32_str(vq_fnv32_str(VQ_FNV32_INIT, call_id), tag);
}

static struct call *call_find(const struct vq_tracker *t, const char *call_id,
			      const char *tag)
{
	struct call *c;

	if (!*tag)
		return NULL;
	LIST_FOREACH(c, &t->buckets[key_hash(call_id, tag) & t->mask], hnode)
		if (!strcmp(c->call_id, call_id) && !strcmp(c->caller_tag, tag))
			return c;
	return NULL;
}

static struct dialog *dialog_find(const struct call *c, const char *tag)
{
	for (unsigned int i = 0; i < c->n_dialogs; i++)
		if (!strcmp(c->dialogs[i]->tag, tag))
			return c->dialogs[i];
	return NULL;
}

static void dialog_remove(struct vq_tracker *t, struct call *c, unsigned int i,
			  const char *reason, uint64_t ts_ns)
{
	struct dialog *d = c->dialogs[i];

	party_release(t, c, d, &d->callee, reason, ts_ns);
	free(d);
	c->dialogs[i] = c->dialogs[--c->n_dialogs];
}

static struct dialog *dialog_get(struct vq_tracker *t, struct call *c,
				 const char *tag, uint64_t ts_ns)
{
	struct dialog *d = dialog_find(c, tag);

	if (d || !*tag)
		return d;
	if (c->n_dialogs >= t->cfg.max_forks) {
		t->stats.forks_refused++;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	strcpy(d->tag, tag);
	d->callee.live = true;
	/* The initial offer is outstanding in every early dialog it forks to. */
	d->offer_from = c->init_offer_from == PARTY_CALLER ? PARTY_CALLER
							   : PARTY_NONE;
	d->refreshed_ns = ts_ns;
	c->dialogs[c->n_dialogs++] = d;
	return d;
}

/* Release all media; the call lingers as a tombstone. */
static void call_end(struct vq_tracker *t, struct call *c, uint8_t state,
		     const char *reason, uint64_t ts_ns)
{
	while (c->n_dialogs)
		dialog_remove(t, c, c->n_dialogs - 1, reason, ts_ns);
	party_release(t, c, NULL, &c->caller, reason, ts_ns);
	if (!call_over(c)) {
		if (state == VQ_CALL_EXPIRED)
			t->stats.calls_expired++;
		else if (state == VQ_CALL_EVICTED)
			t->stats.calls_evicted++;
		else
			t->stats.calls_ended++;
		t->stats.calls_active--;
	}
	set_state(t, c, state, ts_ns);
}

static void call_free(struct vq_tracker *t, struct call *c, uint64_t ts_ns)
{
	if (!call_over(c))
		call_end(t, c, VQ_CALL_EVICTED, "evicted", ts_ns);
	call_event(t, c, VQ_CALL_FREE, NULL, ts_ns);
	LIST_REMOVE(c, hnode);
	TAILQ_REMOVE(&t->lru, c, lru);
	TAILQ_REMOVE(&t->rank[call_rank(c)], c, rank_node);
	t->n_calls--;
	free(c->dialogs);
	free(c);
}

/* Held entries are not references. */
static bool set_holds_eps(const struct media_set *s)
{
	return s->n > __builtin_popcount(s->held);
}

static bool party_holds_eps(const struct party *p)
{
	return p->live && ((p->has_active && set_holds_eps(&p->active)) ||
			   (p->has_pending && set_holds_eps(&p->pending)));
}

static bool call_holds_eps(const struct call *c)
{
	if (party_holds_eps(&c->caller))
		return true;
	for (unsigned int i = 0; i < c->n_dialogs; i++)
		if (party_holds_eps(&c->dialogs[i]->callee))
			return true;
	return false;
}

/*
 * Free the first call by the order of enum call_rank, only one that holds
 * endpoints when @for_endpoints; false when none may go.
 */
static bool evict_one(struct vq_tracker *t, bool for_endpoints, uint64_t ts_ns)
{
	struct call *c;

	/* Tombstones hold no endpoints. */
	for (unsigned int r = for_endpoints ? RANK_CALLING : RANK_OVER;
	     r < RANK_CONFIRMED; r++) {
		TAILQ_FOREACH(c, &t->rank[r], rank_node) {
			if (c == t->current || (for_endpoints && !call_holds_eps(c)))
				continue;
			call_free(t, c, ts_ns);
			return true;
		}
	}
	return false;
}

static struct call *call_new(struct vq_tracker *t, const struct vq_sip_msg *m,
			     uint64_t ts_ns)
{
	struct call *c;

	if (t->n_calls >= t->cfg.max_calls && !evict_one(t, false, ts_ns)) {
		t->stats.calls_refused++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->dialogs = calloc(t->cfg.max_forks, sizeof(*c->dialogs));
	if (!c->dialogs) {
		free(c);
		return NULL;
	}
	strcpy(c->call_id, m->call_id);
	strcpy(c->caller_tag, m->from_tag);
	strcpy(c->from, m->from_uri);
	strcpy(c->to, m->to_uri);
	c->caller.live = true;
	c->created_ns = c->last_ns = ts_ns;
	c->invite_cseq = m->brief.cseq;
	LIST_INSERT_HEAD(&t->buckets[key_hash(c->call_id, c->caller_tag) & t->mask],
			 c, hnode);
	TAILQ_INSERT_TAIL(&t->lru, c, lru);
	TAILQ_INSERT_TAIL(&t->rank[call_rank(c)], c, rank_node);
	t->n_calls++;
	t->stats.calls_created++;
	t->stats.calls_active++;
	call_event(t, c, VQ_CALL_NEW, NULL, ts_ns);
	return c;
}

static void call_touch(struct vq_tracker *t, struct call *c, uint64_t ts_ns)
{
	c->last_ns = ts_ns;
	TAILQ_REMOVE(&t->lru, c, lru);
	TAILQ_INSERT_TAIL(&t->lru, c, lru);
	TAILQ_REMOVE(&t->rank[call_rank(c)], c, rank_node);
	TAILQ_INSERT_TAIL(&t->rank[call_rank(c)], c, rank_node);
}

/* A tombstone brought back: a new attempt, or a 2xx that raced a CANCEL. */
static void call_revive(struct vq_tracker *t, struct call *c, bool keep_caller,
			uint64_t ts_ns)
{
	if (!keep_caller) {
		c->caller.has_active = c->caller.has_pending = false;
		c->init_offer_from = PARTY_NONE;
	}
	t->stats.calls_active++;
	set_state(t, c, VQ_CALL_CALLING, ts_ns);
	party_install(t, c, NULL, &c->caller, "revived", ts_ns);
}

static void timeline(struct vq_tracker *t, struct call *c,
		     const struct vq_sip_msg *m, uint64_t ts_ns)
{
	char label[8];

	if (m->brief.is_request)
		snprintf(label, sizeof(label), "%s", vq_sip_method_str(m->brief.method));
	else
		snprintf(label, sizeof(label), "%u", m->brief.status);
	if (!strcmp(label, c->last_label) && m->brief.cseq == c->last_cseq) {
		t->stats.retransmissions++;
		return;
	}
	strcpy(c->last_label, label);
	c->last_cseq = m->brief.cseq;
	call_event(t, c, VQ_CALL_MSG, label, ts_ns);
}

static uint8_t final_state(uint16_t status)
{
	if (status < 400)
		return VQ_CALL_REDIRECTED;
	if (status == 487)
		return VQ_CALL_CANCELLED;
	return VQ_CALL_REJECTED;
}

/* --- message handling --------------------------------------------------- */

static void initial_invite(struct vq_tracker *t, struct call *c,
			   const struct vq_sip_msg *m, uint64_t ts_ns)
{
	if (!c) {
		c = call_new(t, m, ts_ns);
		if (!c)
			return;
	} else if (m->brief.cseq <= c->invite_cseq) {
		call_touch(t, c, ts_ns);
		/* Identical retransmissions cannot bring an SDP the first lacked. */
		if (m->brief.cseq == c->invite_cseq && m->has_sdp &&
		    !call_over(c) && c->init_offer_from == PARTY_NONE &&
		    !c->caller.has_active && !c->caller.has_pending) {
			timeline(t, c, m, ts_ns);
			overtaken_invite(t, c, m, ts_ns);
		} else {
			t->stats.retransmissions++;
		}
		return;
	} else {
		/* A new attempt after a challenge (401/407) or a redirect. */
		if (!call_over(c))
			call_end(t, c, VQ_CALL_REJECTED, "new-attempt", ts_ns);
		call_revive(t, c, false, ts_ns);
		c->invite_cseq = m->brief.cseq;
		strcpy(c->to, m->to_uri);
	}
	t->current = c;
	call_touch(t, c, ts_ns);
	timeline(t, c, m, ts_ns);
	if (m->has_sdp)
		apply_sdp(t, c, NULL, PARTY_CALLER, m, ts_ns);
	c->init_offer_from = m->has_sdp ? PARTY_CALLER : PARTY_NONE;
}

static void invite_response(struct vq_tracker *t, struct call *c,
			    const struct vq_sip_msg *m, uint64_t ts_ns)
{
	uint16_t st = m->brief.status;
	struct dialog *d;

	if (call_over(c)) {
		/* Only a 2xx racing a CANCEL brings a call back. */
		if (st < 200 || st >= 300 || c->state != VQ_CALL_CANCELLED) {
			t->stats.retransmissions++;
			return;
		}
		call_revive(t, c, true, ts_ns);
	}
	call_touch(t, c, ts_ns);
	timeline(t, c, m, ts_ns);

	if (st >= 300) {
		call_end(t, c, final_state(st), st < 400 ? "redirected"
					       : st == 487 ? "cancelled"
							   : "rejected", ts_ns);
		return;
	}
	d = dialog_get(t, c, m->to_tag, ts_ns);
	if (!d || d->confirmed) {
		/*
		 * A 2xx is retransmitted until the ACK (RFC 3261 13.3.1.4):
		 * nothing new, and its SDP may predate a later re-INVITE.
		 */
		return;
	}
	if (m->has_sdp) {
		/*
		 * Every SDP in a response to an INVITE that carried the offer
		 * restates the answer (RFC 6337 3.1.1); the one in the 2xx is
		 * what counts, replacing an unreliable 18x's preview.
		 */
		if (c->init_offer_from == PARTY_CALLER &&
		    d->offer_from == PARTY_NONE)
			d->offer_from = PARTY_CALLER;
		apply_sdp(t, c, d, PARTY_CALLEE, m, ts_ns);
	}
	if (m->session_expires)
		d->session_expires = m->session_expires;
	d->refreshed_ns = ts_ns;
	if (st >= 200) {
		d->confirmed = true;
		/* Forks that never answered are over once one dialog is up. */
		for (unsigned int i = c->n_dialogs; i-- > 0;)
			if (!c->dialogs[i]->confirmed)
				dialog_remove(t, c, i, "fork-ended", ts_ns);
		set_state(t, c, VQ_CALL_CONFIRMED, ts_ns);
	} else if (c->state == VQ_CALL_CALLING) {
		set_state(t, c, VQ_CALL_EARLY, ts_ns);
	}
}

/* BYE: the dialog ends; the call ends with its last confirmed dialog. */
static void bye(struct vq_tracker *t, struct call *c, struct dialog *d,
		uint64_t ts_ns)
{
	bool others = false;

	for (unsigned int i = 0; i < c->n_dialogs; i++) {
		if (c->dialogs[i] == d) {
			dialog_remove(t, c, i, "bye", ts_ns);
			break;
		}
	}
	for (unsigned int i = 0; i < c->n_dialogs; i++)
		others |= c->dialogs[i]->confirmed;
	if (!others)
		call_end(t, c, VQ_CALL_ENDED, "bye", ts_ns);
}

static void handle(struct vq_tracker *t, const struct vq_sip_msg *m,
		   uint64_t ts_ns)
{
	const struct vq_sip_brief *b = &m->brief;
	struct call *c = call_find(t, m->call_id, m->from_tag);
	bool forward = c != NULL;
	struct dialog *d;
	uint8_t sender;

	if (!c)
		c = call_find(t, m->call_id, m->to_tag);

	if (b->is_request && b->method == VQ_SIP_INVITE && !m->to_tag[0]) {
		initial_invite(t, forward ? c : NULL, m, ts_ns);
		return;
	}
	if (!c) {
		/* A response overtaken its INVITE (capture reordering). */
		if (!b->is_request && b->cseq_method == VQ_SIP_INVITE &&
		    b->status >= 180 && b->status < 300 && m->to_tag[0]) {
			c = call_new(t, m, ts_ns);
			if (c) {
				t->current = c;
				invite_response(t, c, m, ts_ns);
			}
			return;
		}
		t->stats.orphans++;
		if (b->is_request && b->method == VQ_SIP_BYE && t->ops &&
		    t->ops->orphan_bye)
			t->ops->orphan_bye(t->ctx, m->call_id, ts_ns);
		return;
	}
	t->current = c;
	sender = (forward == b->is_request) ? PARTY_CALLER : PARTY_CALLEE;

	if (!b->is_request && b->cseq_method == VQ_SIP_INVITE &&
	    b->cseq == c->invite_cseq && forward) {
		invite_response(t, c, m, ts_ns);
		return;
	}
	if (b->is_request && b->method == VQ_SIP_CANCEL) {
		/* Once a final response went out, CANCEL does nothing (9.2). */
		if (forward && b->cseq == c->invite_cseq &&
		    (c->state == VQ_CALL_CALLING || c->state == VQ_CALL_EARLY)) {
			timeline(t, c, m, ts_ns);
			call_end(t, c, VQ_CALL_CANCELLED, "cancel", ts_ns);
		}
		return;
	}
	if (call_over(c)) {
		t->stats.retransmissions++;
		return;
	}
	call_touch(t, c, ts_ns);

	d = dialog_get(t, c, forward ? m->to_tag : m->from_tag, ts_ns);
	if (!d) {
		t->stats.orphans++;
		return;
	}
	timeline(t, c, m, ts_ns);
	d->refreshed_ns = ts_ns;

	if (b->is_request && b->method == VQ_SIP_BYE) {
		bye(t, c, d, ts_ns);
		return;
	}
	if (!b->is_request && b->status >= 300) {
		offer_rejected(t, c, d, sender, b, ts_ns);
		return;
	}
	if (b->is_request && b->method == VQ_SIP_ACK && !d->confirmed) {
		d->confirmed = true;
		set_state(t, c, VQ_CALL_CONFIRMED, ts_ns);
	}
	if (m->has_sdp)
		apply_sdp(t, c, d, sender, m, ts_ns);
	if (m->session_expires && !b->is_request)
		d->session_expires = m->session_expires;
}

int vq_tracker_input(struct vq_tracker *t, const uint8_t *data, size_t len,
		     uint64_t ts_ns)
{
	struct vq_sip_brief b;
	struct vq_sip_msg *m;
	int verdict, err;

	t->stats.messages++;
	verdict = vq_sip_precheck(data, len, &b);
	if (verdict < 0) {
		t->stats.invalid++;
		return verdict;
	}
	if (b.is_request)
		t->stats.requests[b.method]++;
	else
		t->stats.responses++;
	if (!b.is_request && b.cseq_method == VQ_SIP_REGISTER &&
	    b.status >= 200 && b.status < 300 && t->ops && t->ops->registered)
		t->ops->registered(t->ctx, ts_ns);
	if (verdict == VQ_SIP_SKIP) {
		t->stats.skipped++;
		return 0;
	}

	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	t->stats.parsed++;
	err = vq_sip_parse(data, len, &b, m);
	if (err) {
		t->stats.invalid++;
		free(m);
		return err;
	}
	if (m->sdp_err)
		t->stats.sdp_invalid++;
	handle(t, m, ts_ns);
	t->current = NULL;
	free(m);
	return 0;
}

static uint64_t secs(unsigned int s)
{
	return (uint64_t)s * NSEC_PER_SEC;
}

/* Time since @then; a clock that went back counts as no time at all. */
static uint64_t elapsed(uint64_t now_ns, uint64_t then_ns)
{
	return now_ns > then_ns ? now_ns - then_ns : 0;
}

void vq_tracker_expire(struct vq_tracker *t, uint64_t now_ns)
{
	struct call *c, *tmp;

	for (c = TAILQ_FIRST(&t->lru); c; c = tmp) {
		tmp = TAILQ_NEXT(c, lru);
		if (call_over(c)) {
			if (elapsed(now_ns, c->ended_ns) >= secs(t->cfg.linger_s))
				call_free(t, c, now_ns);
			continue;
		}
		if (c->state != VQ_CALL_CONFIRMED) {
			if (elapsed(now_ns, c->last_ns) >= secs(t->cfg.early_timeout_s))
				call_end(t, c, VQ_CALL_EXPIRED, "timeout", now_ns);
			continue;
		}
		for (unsigned int i = c->n_dialogs; i-- > 0;) {
			struct dialog *d = c->dialogs[i];
			uint64_t life = d->session_expires
						? secs(d->session_expires)
						: secs(t->cfg.dialog_timeout_s);

			if (elapsed(now_ns, d->refreshed_ns) >= life) {
				if (c->n_dialogs == 1)
					call_end(t, c, VQ_CALL_EXPIRED, "expired", now_ns);
				else
					dialog_remove(t, c, i, "expired", now_ns);
			}
		}
	}
}

void vq_tracker_flush(struct vq_tracker *t, uint64_t now_ns)
{
	struct call *c;

	while ((c = TAILQ_FIRST(&t->lru))) {
		if (!call_over(c))
			call_end(t, c, VQ_CALL_ENDED, "shutdown", now_ns);
		call_free(t, c, now_ns);
	}
}

static int backend_shim(void *ctx, const struct vq_ep_event *ev)
{
	struct vq_tracker *t = ctx;

	return t->ops && t->ops->ep_event ? t->ops->ep_event(t->ctx, ev) : 0;
}

struct vq_tracker *vq_tracker_new(const struct vq_tracker_cfg *cfg,
				  const struct vq_tracker_ops *ops, void *ctx)
{
	struct vq_tracker *t;
	uint32_t n = 16;

	if (!cfg->max_calls || !cfg->max_endpoints || !cfg->max_forks)
		return NULL;
	if (vq_sip_init())
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	t->ops = ops;
	t->ctx = ctx;
	while (n < cfg->max_calls && n < (1u << 24))
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	t->backend.ep_event = backend_shim;
	t->eps = vq_epset_new(cfg->max_endpoints, &t->backend, t);
	if (!t->buckets || !t->eps) {
		vq_epset_free(t->eps);
		free(t->buckets);
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	TAILQ_INIT(&t->lru);
	for (unsigned int r = 0; r < __RANK_MAX; r++)
		TAILQ_INIT(&t->rank[r]);
	return t;
}

void vq_tracker_free(struct vq_tracker *t)
{
	if (!t)
		return;
	vq_tracker_flush(t, 0);
	vq_epset_free(t->eps);
	free(t->buckets);
	free(t);
}

const struct vq_tracker_stats *vq_tracker_stats(const struct vq_tracker *t)
{
	return &t->stats;
}

const struct vq_epset *vq_tracker_epset(const struct vq_tracker *t)
{
	return t->eps;
}

int vq_tracker_for_each_call(const struct vq_tracker *t,
			     int (*fn)(void *arg, const struct vq_call_view *v),
			     void *arg)
{
	const struct call *c;
	struct vq_call_view v;
	int ret;

	TAILQ_FOREACH(c, &t->lru, lru) {
		call_view(c, &v);
		ret = fn(arg, &v);
		if (ret)
			return ret;
	}
	return 0;
}

static int party_for_each_ep(const struct party *p,
			     int (*fn)(void *arg, const struct vq_media_ep *mep),
			     void *arg)
{
	int ret;

	if (!p->live)
		return 0;
	for (unsigned int i = 0; p->has_active && i < p->active.n; i++)
		if (!set_held(&p->active, i) &&
		    (ret = fn(arg, &p->active.eps[i])))
			return ret;
	for (unsigned int i = 0; p->has_pending && i < p->pending.n; i++)
		if (!set_held(&p->pending, i) &&
		    (ret = fn(arg, &p->pending.eps[i])))
			return ret;
	return 0;
}

int vq_call_for_each_ep(const struct vq_call_view *v,
			int (*fn)(void *arg, const struct vq_media_ep *mep),
			void *arg)
{
	const struct call *c = v->priv;
	int ret = party_for_each_ep(&c->caller, fn, arg);

	for (unsigned int i = 0; !ret && i < c->n_dialogs; i++)
		ret = party_for_each_ep(&c->dialogs[i]->callee, fn, arg);
	return ret;
}

struct ep_count {
	const struct vq_tracker *t;
	const struct vq_endpoint *ep; /* NULL: count every entry */
	unsigned int n;
	uint64_t refs;                /* summed over the endpoint set */
	unsigned int differ;
};

static int count_ep(void *arg, const struct vq_media_ep *mep)
{
	struct ep_count *cnt = arg;

	cnt->n += !cnt->ep || vq_endpoint_eq(cnt->ep, &mep->ep);
	return 0;
}

static unsigned int calls_hold(const struct vq_tracker *t,
			       const struct vq_endpoint *ep)
{
	struct ep_count cnt = { .ep = ep };
	struct vq_call_view v;
	const struct call *c;

	TAILQ_FOREACH(c, &t->lru, lru) {
		call_view(c, &v);
		vq_call_for_each_ep(&v, count_ep, &cnt);
	}
	return cnt.n;
}

static int check_refs(void *arg, const struct vq_media_ep *mep,
		      unsigned int refs)
{
	struct ep_count *cnt = arg;

	cnt->refs += refs;
	cnt->differ += calls_hold(cnt->t, &mep->ep) != refs;
	return 0;
}

bool vq_tracker_refs_match(const struct vq_tracker *t)
{
	struct ep_count cnt = { .t = t };

	vq_epset_for_each(t->eps, check_refs, &cnt);
	/* Equal totals: no entry names an endpoint the set lacks. */
	return !cnt.differ && cnt.refs == calls_hold(t, NULL);
}
