// SPDX-License-Identifier: GPL-2.0
/*
 * Capture analysis. Every RTP packet is matched against the endpoint set
 * as it stands at that moment in the capture — destination first, then
 * source, as the classifier does — so a stream counts only while its call
 * has it installed, exactly what the datapath would have prioritised.
 *
 * The MOS is an estimate: a single capture point cannot see one-way delay,
 * so the E-model is fed a nominal 40 ms network delay plus a jitter buffer
 * of twice the measured jitter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "analyze.h"
#include "capture.h"
#include "emodel.h"
#include "hash.h"
#include "rtpstats.h"

#define NSEC_PER_SEC 1000000000ull
#define TIMELINE_MAX 48
#define CALL_EPS_MAX 32

struct an_call {
	LIST_ENTRY(an_call) hnode;
	TAILQ_ENTRY(an_call) order;
	char call_id[VQ_CALLID_LEN];
	char caller_tag[VQ_TAG_LEN];
	char from[VQ_URI_LEN];
	char to[VQ_URI_LEN];
	uint8_t state;
	uint64_t first_ns;
	unsigned int n_timeline;
	bool timeline_cut;
	char timeline[TIMELINE_MAX][8];
	unsigned int n_eps;
	struct vq_media_ep eps[CALL_EPS_MAX];
};

/* Where a learned endpoint is right now, and whose it is. */
struct an_ep {
	LIST_ENTRY(an_ep) hnode;
	struct vq_media_ep mep;
	struct an_call *call;
};

struct an_stream {
	LIST_ENTRY(an_stream) hnode;
	TAILQ_ENTRY(an_stream) order;
	struct vq_endpoint src, dst;
	struct an_call *call;
	struct vq_codec codec;
	struct vq_rtp_stream rs;
};

#define BUCKETS 4096

struct vq_analysis {
	const struct vq_analyze_cfg *cfg;
	LIST_HEAD(, an_call) call_hash[BUCKETS];
	TAILQ_HEAD(, an_call) calls;
	unsigned int n_calls;
	uint64_t calls_dropped;
	LIST_HEAD(, an_ep) ep_hash[BUCKETS];
	LIST_HEAD(, an_stream) stream_hash[BUCKETS];
	TAILQ_HEAD(, an_stream) streams;
	unsigned int n_streams;
	uint64_t streams_dropped;
	uint64_t rtp_packets, rtcp_packets, not_rtp;
	uint64_t first_ns, last_ns, next_expire_ns;
	struct vq_decoder *dec;
	struct vq_tracker *trk;
	/* Copies kept for the report once decoder and tracker are gone. */
	struct vq_pkt_stats pkt;
	struct vq_tracker_stats trs;
};

void vq_analyze_cfg_init(struct vq_analyze_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	vq_decoder_cfg_init(&cfg->dec);
	vq_tracker_cfg_init(&cfg->trk);
	cfg->max_calls = 100000;
	cfg->max_streams = 16384;
}

static uint32_t str_hash(const char *a, const char *b)
{
	return vq_fnv32_str(vq_fnv32_str(VQ_FNV32_INIT, a), b) % BUCKETS;
}

static struct an_call *call_lookup(struct vq_analysis *a, const char *call_id,
				   const char *tag)
{
	struct an_call *c;

	LIST_FOREACH(c, &a->call_hash[str_hash(call_id, tag)], hnode)
		if (!strcmp(c->call_id, call_id) && !strcmp(c->caller_tag, tag))
			return c;
	return NULL;
}

static void on_call(void *ctx, const struct vq_call_event *ev)
{
	struct vq_analysis *a = ctx;
	const struct vq_call_view *v = ev->call;
	struct an_call *c = call_lookup(a, v->call_id, v->caller_tag);

	if (!c) {
		if (ev->type != VQ_CALL_NEW)
			return;
		if (a->n_calls >= a->cfg->max_calls) {
			a->calls_dropped++;
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			return;
		snprintf(c->call_id, sizeof(c->call_id), "%s", v->call_id);
		snprintf(c->caller_tag, sizeof(c->caller_tag), "%s", v->caller_tag);
		c->first_ns = ev->ts_ns;
		LIST_INSERT_HEAD(&a->call_hash[str_hash(c->call_id, c->caller_tag)],
				 c, hnode);
		TAILQ_INSERT_TAIL(&a->calls, c, order);
		a->n_calls++;
	}
	snprintf(c->from, sizeof(c->from), "%s", v->from);
	snprintf(c->to, sizeof(c->to), "%s", v->to);
	c->state = v->state;
	if (ev->type == VQ_CALL_MSG) {
		if (c->n_timeline < TIMELINE_MAX)
			snprintf(c->timeline[c->n_timeline++], 8, "%s", ev->label);
		else
			c->timeline_cut = true;
	}
}

static uint32_t ep_bucket(const struct vq_endpoint *ep)
{
	return vq_endpoint_hash(ep) % BUCKETS;
}

static struct an_ep *ep_lookup(struct vq_analysis *a,
			       const struct vq_endpoint *ep)
{
	struct an_ep *e;

	LIST_FOREACH(e, &a->ep_hash[ep_bucket(ep)], hnode)
		if (vq_endpoint_eq(&e->mep.ep, ep))
			return e;
	return NULL;
}

static void call_add_ep(struct an_call *c, const struct vq_media_ep *mep)
{
	for (unsigned int i = 0; i < c->n_eps; i++) {
		if (vq_endpoint_eq(&c->eps[i].ep, &mep->ep) &&
		    c->eps[i].kind == mep->kind && c->eps[i].side == mep->side) {
			c->eps[i] = *mep;
			return;
		}
	}
	if (c->n_eps < CALL_EPS_MAX)
		c->eps[c->n_eps++] = *mep;
}

static int on_ep(void *ctx, const struct vq_ep_event *ev)
{
	struct vq_analysis *a = ctx;
	struct an_call *c = call_lookup(a, ev->dialog.call_id,
					ev->dialog.caller_tag);
	struct an_ep *e = ep_lookup(a, &ev->mep->ep);

	if (ev->type == VQ_EP_REMOVED) {
		if (e) {
			LIST_REMOVE(e, hnode);
			free(e);
		}
		return 0;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		LIST_INSERT_HEAD(&a->ep_hash[ep_bucket(&ev->mep->ep)], e, hnode);
	}
	e->mep = *ev->mep;
	e->call = c;
	if (c)
		call_add_ep(c, ev->mep);
	return 0;
}

static const struct vq_tracker_ops tracker_ops = {
	.ep_event = on_ep,
	.call_event = on_call,
};

static struct an_stream *stream_get(struct vq_analysis *a,
				    const struct vq_pkt_meta *m, uint32_t ssrc,
				    const struct an_ep *e)
{
	uint32_t h = (vq_endpoint_hash(&m->src) ^ vq_endpoint_hash(&m->dst) ^
		      ssrc) % BUCKETS;
	struct an_stream *s;

	LIST_FOREACH(s, &a->stream_hash[h], hnode)
		if (s->rs.ssrc == ssrc && vq_endpoint_eq(&s->src, &m->src) &&
		    vq_endpoint_eq(&s->dst, &m->dst))
			return s;
	if (a->n_streams >= a->cfg->max_streams) {
		a->streams_dropped++;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->src = m->src;
	s->dst = m->dst;
	s->call = e->call;
	s->codec = e->mep.codec;
	LIST_INSERT_HEAD(&a->stream_hash[h], s, hnode);
	TAILQ_INSERT_TAIL(&a->streams, s, order);
	a->n_streams++;
	return s;
}

static void clock_seen(struct vq_analysis *a, uint64_t ts_ns)
{
	if (!a->first_ns)
		a->first_ns = ts_ns;
	a->last_ns = ts_ns;
}

static void on_udp(void *ctx, const struct vq_pkt_meta *m,
		   const uint8_t *payload, size_t len)
{
	struct vq_analysis *a = ctx;
	struct an_ep *e = ep_lookup(a, &m->dst);
	struct vq_rtp_hdr h;
	struct an_stream *s;
	uint32_t clock;

	clock_seen(a, m->ts_ns);

	if (!e)
		e = ep_lookup(a, &m->src);
	if (!e)
		return;
	if (vq_rtp_parse(payload, len, &h)) {
		/* RTCP on its own port or muxed, or not RTP at all. */
		if (len >= 2 && payload[1] >= VQ_RTCP_PT_FIRST &&
		    payload[1] <= VQ_RTCP_PT_LAST)
			a->rtcp_packets++;
		else
			a->not_rtp++;
		return;
	}
	if (e->mep.kind == VQ_EP_RTCP) {
		a->not_rtp++;
		return;
	}
	s = stream_get(a, m, h.ssrc, e);
	if (!s)
		return;
	if (!s->rs.received && !s->rs.started) {
		clock = h.pt == s->codec.pt && s->codec.clock_rate
				? s->codec.clock_rate
				: vq_rtp_static_clock(h.pt);
		vq_rtp_stream_init(&s->rs, h.ssrc, clock ? clock : 8000);
	}
	vq_rtp_stream_update(&s->rs, &h, m->ts_ns);
	a->rtp_packets++;
}

static void on_sip(void *ctx, const struct vq_pkt_meta *m, const uint8_t *data,
		   size_t len)
{
	struct vq_analysis *a = ctx;

	clock_seen(a, m->ts_ns);
	vq_tracker_input(a->trk, data, len, m->ts_ns);
}

static const struct vq_pkt_ops pkt_ops = {
	.sip = on_sip,
	.udp = on_udp,
};

/* Capture time drives expiry, so a file replays as it happened. */
static void clock_tick(struct vq_analysis *a)
{
	if (a->last_ns < a->next_expire_ns)
		return;
	vq_tracker_expire(a->trk, a->last_ns);
	vq_decoder_expire(a->dec, a->last_ns);
	a->next_expire_ns = a->last_ns + NSEC_PER_SEC;
}

static struct vq_analysis *analysis_new(const struct vq_analyze_cfg *cfg)
{
	struct vq_analysis *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->cfg = cfg;
	TAILQ_INIT(&a->calls);
	TAILQ_INIT(&a->streams);
	a->trk = vq_tracker_new(&cfg->trk, &tracker_ops, a);
	a->dec = vq_decoder_new(&cfg->dec, &pkt_ops, a);
	if (!a->trk || !a->dec) {
		vq_analysis_free(a);
		return NULL;
	}
	return a;
}

void vq_analysis_free(struct vq_analysis *a)
{
	struct an_stream *s;
	struct an_call *c;
	struct an_ep *e;

	if (!a)
		return;
	vq_decoder_free(a->dec);
	vq_tracker_free(a->trk);
	while ((s = TAILQ_FIRST(&a->streams))) {
		TAILQ_REMOVE(&a->streams, s, order);
		free(s);
	}
	while ((c = TAILQ_FIRST(&a->calls))) {
		TAILQ_REMOVE(&a->calls, c, order);
		free(c);
	}
	for (unsigned int i = 0; i < BUCKETS; i++) {
		while ((e = LIST_FIRST(&a->ep_hash[i]))) {
			LIST_REMOVE(e, hnode);
			free(e);
		}
	}
	free(a);
}

int vq_analyze_file(const char *path, const struct vq_analyze_cfg *cfg,
		    struct vq_analysis **out, char *err, size_t errlen)
{
	struct vq_capture *cap;
	struct vq_analysis *a;
	uint64_t pos, size;
	int ret;

	*out = NULL;
	ret = vq_capture_open_file(&cap, path, err, errlen);
	if (ret)
		return ret;
	a = analysis_new(cfg);
	if (!a) {
		vq_capture_close(cap);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while ((ret = vq_capture_dispatch(cap, a->dec, 256, err, errlen)) > 0) {
		clock_tick(a);
		if (cfg->progress) {
			vq_capture_progress(cap, &pos, &size);
			cfg->progress(cfg->progress_arg, pos, size);
		}
	}
	vq_capture_close(cap);

	/* Keep the counters, drop the live state: the report is a snapshot. */
	a->pkt = *vq_decoder_stats(a->dec);
	a->trs = *vq_tracker_stats(a->trk);
	*out = a;
	return ret < 0 ? ret : 0;
}

static void print_endpoint(struct vq_out *o, const struct vq_media_ep *mep)
{
	char addr[VQ_ADDRSTRLEN], codec[48];

	vq_out_object_open(o, NULL);
	vq_out_str(o, "addr", "ADDRESS", vq_addr_str(&mep->ep, addr, sizeof(addr)));
	vq_out_u64(o, "port", "PORT", mep->ep.port);
	vq_out_str(o, "proto", NULL, mep->ep.proto == 6 ? "tcp" : "udp");
	vq_out_str(o, "kind", "KIND", vq_ep_kind_str(mep->kind));
	vq_out_str(o, "side", "SIDE", vq_ep_side_str(mep->side));
	vq_out_str(o, "media", "MEDIA", vq_media_type_str(mep->media));
	if (mep->codec.name[0]) {
		snprintf(codec, sizeof(codec), "%s/%u", mep->codec.name,
			 mep->codec.clock_rate);
		vq_out_str(o, "codec", "CODEC", codec);
	} else {
		vq_out_str(o, "codec", "CODEC", NULL);
	}
	vq_out_u64(o, "pt", NULL, mep->codec.pt);
	vq_out_u64(o, "clock_rate", NULL, mep->codec.clock_rate);
	vq_out_object_close(o);
}

static void print_stream(struct vq_out *o, const struct an_stream *s)
{
	char src[VQ_ADDRSTRLEN + 8], dst[VQ_ADDRSTRLEN + 8], ssrc[12];
	double loss = vq_rtp_loss_pct(&s->rs), jit = vq_rtp_jitter_ms(&s->rs);
	double mos = vq_emodel_mos_observed(s->codec.name, loss, jit);

	vq_out_object_open(o, NULL);
	vq_out_str(o, "src", "SOURCE", vq_endpoint_str(&s->src, src, sizeof(src)));
	vq_out_str(o, "dst", "DESTINATION",
		   vq_endpoint_str(&s->dst, dst, sizeof(dst)));
	snprintf(ssrc, sizeof(ssrc), "0x%08x", s->rs.ssrc);
	vq_out_u64(o, "ssrc", NULL, s->rs.ssrc);
	vq_out_str(o, NULL, "SSRC", ssrc);
	vq_out_u64(o, "packets", "PACKETS", s->rs.received);
	vq_out_u64(o, "expected", NULL, vq_rtp_expected(&s->rs));
	vq_out_i64(o, "lost", "LOST", vq_rtp_lost(&s->rs));
	vq_out_dbl(o, "loss_pct", "LOSS%", 2, loss);
	vq_out_dbl(o, "jitter_ms", "JITTER(ms)", 2, jit);
	vq_out_dbl(o, "mos", "MOS", 2, mos);
	vq_out_object_close(o);
}

static void print_call(struct vq_out *o, const struct vq_analysis *a,
		       const struct an_call *c, unsigned int idx)
{
	const struct an_stream *s;
	bool any = false;

	vq_out_object_open(o, NULL);
	vq_out_text(o, "%sCall %u", idx ? "\n" : "", idx + 1);
	vq_out_str(o, "call_id", "call-id", c->call_id);
	vq_out_str(o, "from", "from", c->from);
	vq_out_str(o, "to", "to", c->to);
	vq_out_dbl(o, "start", "start", 3,
		   (double)(c->first_ns - a->first_ns) / 1e9);
	vq_out_list_open(o, "timeline", "timeline", " -> ");
	for (unsigned int i = 0; i < c->n_timeline; i++)
		vq_out_elem_str(o, c->timeline[i]);
	if (c->timeline_cut)
		vq_out_elem_str(o, "...");
	vq_out_array_close(o);
	vq_out_str(o, "state", "state", vq_call_state_str(c->state));

	vq_out_text(o, "endpoints:");
	vq_out_table_open(o, "endpoints");
	for (unsigned int i = 0; i < c->n_eps; i++)
		print_endpoint(o, &c->eps[i]);
	vq_out_array_close(o);

	TAILQ_FOREACH(s, &a->streams, order)
		any |= s->call == c;
	vq_out_text(o, any ? "streams:" : "streams:   none seen");
	vq_out_table_open(o, "streams");
	TAILQ_FOREACH(s, &a->streams, order)
		if (s->call == c)
			print_stream(o, s);
	vq_out_array_close(o);
	vq_out_object_close(o);
}

static void print_summary(struct vq_out *o, const struct vq_analysis *a)
{
	const struct vq_tracker_stats *t = &a->trs;
	uint64_t any = 0;
	static const uint8_t non_call[] = {
		VQ_SIP_REGISTER, VQ_SIP_OPTIONS, VQ_SIP_SUBSCRIBE,
		VQ_SIP_NOTIFY, VQ_SIP_MESSAGE, VQ_SIP_INFO, VQ_SIP_REFER,
		VQ_SIP_PUBLISH, VQ_SIP_UNKNOWN,
	};

	vq_out_text(o, "%s", a->n_calls ? "\nSummary" : "Summary");
	vq_out_object_open(o, "summary");
	vq_out_dbl(o, "duration_s", "duration", 3,
		   (double)(a->last_ns - a->first_ns) / 1e9);
	vq_out_u64(o, "packets", "packets", a->pkt.packets);
	vq_out_u64(o, "sip_messages", "sip", t->messages);
	vq_out_u64(o, "calls", "calls", a->n_calls);
	vq_out_u64(o, "rtp_packets", "rtp", a->rtp_packets);
	vq_out_u64(o, "rtcp_packets", "rtcp", a->rtcp_packets);
	vq_out_u64(o, "sip_invalid", "sip-invalid", t->invalid);
	vq_out_u64(o, "sdp_invalid", "sdp-invalid", t->sdp_invalid);
	vq_out_u64(o, "tls_packets", "sip-tls", a->pkt.tls_packets);
	if (a->pkt.tls_packets)
		vq_out_text(o, "note: %llu packets of SIP over TLS could not be "
			    "read; calls signalled over TLS are not learned",
			    (unsigned long long)a->pkt.tls_packets);

	vq_out_object_open(o, "non_call");
	for (size_t i = 0; i < sizeof(non_call); i++)
		any += t->requests[non_call[i]];
	vq_out_text(o, "non-call SIP requests:%s", any ? "" : " none");
	for (size_t i = 0; i < sizeof(non_call); i++) {
		const char *name = non_call[i] == VQ_SIP_UNKNOWN
					   ? "other" : vq_sip_method_str(non_call[i]);

		if (t->requests[non_call[i]])
			vq_out_u64(o, name, name, t->requests[non_call[i]]);
	}
	vq_out_object_close(o);

	vq_out_object_open(o, "dropped");
	vq_out_u64(o, "truncated", "truncated", a->pkt.truncated);
	vq_out_u64(o, "malformed", "malformed", a->pkt.malformed);
	vq_out_u64(o, "calls_not_listed", NULL, a->calls_dropped);
	vq_out_u64(o, "streams_not_followed", NULL, a->streams_dropped);
	vq_out_u64(o, "calls_evicted", NULL, t->calls_evicted);
	vq_out_u64(o, "calls_refused", NULL, t->calls_refused);
	vq_out_object_close(o);
	vq_out_object_close(o);
}

void vq_analysis_print(const struct vq_analysis *a, struct vq_out *o)
{
	const struct an_call *c;
	unsigned int i = 0;

	vq_out_object_open(o, NULL);
	vq_out_array_open(o, "calls");
	TAILQ_FOREACH(c, &a->calls, order)
		print_call(o, a, c, i++);
	vq_out_array_close(o);
	print_summary(o, a);
	vq_out_object_close(o);
}
