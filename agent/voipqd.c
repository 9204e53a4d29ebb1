// SPDX-License-Identifier: GPL-2.0
/*
 * voipqd: the router daemon. It snoops SIP on the WAN and LAN interfaces,
 * learns every call's media endpoints, and programs the datapath so that
 * those packets are served first; it answers voipqctl on a unix socket.
 *
 * One thread, one epoll loop: a capture fd per interface, a signalfd for
 * SIGHUP (reload) and SIGTERM/SIGINT (stop), a 1 s timerfd for expiry, and
 * the control socket with its clients, none of which the loop waits on.
 * Every time it keeps — packet stamps, ages, expiry — is on CLOCK_MONOTONIC
 * (clock.h): a step of the wall clock changes none of them.
 * Teardown runs in the reverse order of setup; with --keep-datapath (or
 * after kill -9) the datapath stays as it is and keeps classifying: it
 * never depends on the daemon being alive.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "clock.h"
#include "config.h"
#include "ctl.h"
#include "datapath.h"
#include "dedup.h"
#include "dialog.h"
#include "emodel.h"
#include "hash.h"
#include "log.h"
#include "rate.h"
#include "route.h"

#define MAX_IFS (1 + VQ_MAX_LAN)
#define NSEC_PER_SEC 1000000000ull
#define LEARN_SAMPLES 4096 /* the learning-latency reservoir: the latest ones */
#define MAX_SIG_FLOWS 32   /* SIP signalling endpoints (sig_learn) */

struct iface {
	char name[IF_NAMESIZE];
	struct vq_capture *cap;
	unsigned int ifindex; /* when the capture was opened */
};

/* What the daemon knows of an endpoint it programmed, for the views. */
struct flow_info {
	struct vq_media_ep mep;
	char call_id[VQ_CALLID_LEN];
	bool is_static;
	bool adopted;	/* named from the calls file, no dialog tracks it */
	bool present;	/* (while adopting: the datapath has it) */
	uint64_t added_ns;
	LIST_ENTRY(flow_info) link;  /* every flow, newest first */
	LIST_ENTRY(flow_info) hlink; /* its bucket of the index */
};

LIST_HEAD(flow_list, flow_info);

struct daemon {
	struct vq_config cfg;
	const char *cfg_path;
	struct vq_tracker *trk;
	struct vq_decoder *dec;
	struct iface ifs[MAX_IFS];
	unsigned int n_ifs;
	struct vq_dedup dedup;
	struct vq_dp *dp;
	struct vq_ctl *ctl;
	int epfd, sigfd, timerfd;
	bool running, keep_datapath;
	bool stopping; /* the tracker's last words are not datapath changes */
	uint64_t started_ns; /* CLOCK_MONOTONIC, as every time here */
	/*
	 * The flows, and an index by endpoint: every endpoint event and
	 * every datapath entry of the idle sweep finds its flow, so a walk
	 * of the list would make a sweep quadratic in the calls.
	 */
	struct flow_list flows;
	struct flow_list *flow_index;
	uint32_t flow_mask;
	unsigned int n_flows;
	unsigned int n_sig;    /* of them, SIP signalling (at most MAX_SIG_FLOWS) */
	uint64_t sig_refused;  /* signalling endpoints past MAX_SIG_FLOWS */
	const struct vq_pkt_meta *sip_pkt; /* the SIP message being tracked */
	bool flows_dirty; /* the calls file is behind */
	/*
	 * An interface went away (a PPP link that dropped) or came back as a
	 * new device: its captures and the datapath on it are set up again
	 * (relink), every tick until that works.
	 */
	bool links_down;
	uint64_t relinks;
	uint64_t backend_errors;
	/*
	 * Learning latency, in microseconds: from the capture timestamp of
	 * the SIP packet that taught an endpoint (the kernel's receive time,
	 * in immediate mode) to the return of the map update that installed
	 * it. A ring of the latest LEARN_SAMPLES.
	 */
	uint32_t learn_us[LEARN_SAMPLES];
	uint64_t learn_n;
};

/* --- learning → datapath ------------------------------------------------ */

/* The index has a bucket per two endpoints the table can hold, at most 2^22. */
static int flows_init(struct daemon *d)
{
	uint32_t n = 16;

	while (n < d->cfg.max_endpoints / 2 && n < (1u << 22))
		n <<= 1;
	LIST_INIT(&d->flows);
	d->flow_index = calloc(n, sizeof(*d->flow_index));
	if (!d->flow_index)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		LIST_INIT(&d->flow_index[i]);
	d->flow_mask = n - 1;
	return 0;
}

static struct flow_list *flow_bucket(struct daemon *d, const struct vq_endpoint *ep)
{
	return &d->flow_index[vq_endpoint_hash(ep) & d->flow_mask];
}

static struct flow_info *flow_find(struct daemon *d, const struct vq_endpoint *ep)
{
	struct flow_info *f;

	LIST_FOREACH(f, flow_bucket(d, ep), hlink)
		if (vq_endpoint_eq(&f->mep.ep, ep))
			return f;
	return NULL;
}

/* A new flow of @ep, which has none yet (NULL: out of memory). */
static struct flow_info *flow_new(struct daemon *d, const struct vq_endpoint *ep)
{
	struct flow_info *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->mep.ep = *ep;
	f->added_ns = vq_clock_mono_ns();
	LIST_INSERT_HEAD(&d->flows, f, link);
	LIST_INSERT_HEAD(flow_bucket(d, ep), f, hlink);
	d->n_flows++;
	return f;
}

/* Every kind change goes through here: n_sig counts the signalling flows. */
static void flow_set_kind(struct daemon *d, struct flow_info *f, uint8_t kind)
{
	if (f->mep.kind == VQ_EP_SIP)
		d->n_sig--;
	if (kind == VQ_EP_SIP)
		d->n_sig++;
	f->mep.kind = kind;
}

static void flow_free(struct daemon *d, struct flow_info *f)
{
	if (f->mep.kind == VQ_EP_SIP)
		d->n_sig--;
	LIST_REMOVE(f, link);
	LIST_REMOVE(f, hlink);
	free(f);
	d->n_flows--;
}

/* Out of the datapath and the flows; the log says @why. */
static void flow_drop(struct daemon *d, struct flow_info *f, const char *why)
{
	char buf[VQ_ADDRSTRLEN + 8];
	int ret = d->dp ? vq_dp_ep_del(d->dp, &f->mep.ep) : 0;

	if (ret && ret != -ENOENT)
		d->backend_errors++;
	pr_info("flow removed %s (%s)\n",
		vq_endpoint_str(&f->mep.ep, buf, sizeof(buf)), why);
	flow_free(d, f);
	d->flows_dirty = true;
}

static void flow_forget(struct daemon *d, const struct vq_endpoint *ep)
{
	struct flow_info *f = flow_find(d, ep);

	if (f) {
		flow_free(d, f);
		d->flows_dirty = true;
	}
}

static uint64_t cookie_of(const char *call_id)
{
	return vq_fnv64_str(VQ_FNV64_INIT, call_id);
}

static void learn_sample(struct daemon *d, uint64_t ts_ns)
{
	uint64_t lat = vq_clock_mono_ns() - ts_ns;

	/*
	 * A packet from before a reload, or one put at VQ_CLOCK_MAX_LAG_NS
	 * because the wall clock stepped while it waited: not a sample.
	 */
	if (ts_ns && lat < VQ_CLOCK_MAX_LAG_NS)
		d->learn_us[d->learn_n++ % LEARN_SAMPLES] = (uint32_t)(lat / 1000);
}

static int on_ep_event(void *ctx, const struct vq_ep_event *ev)
{
	struct daemon *d = ctx;
	const struct vq_media_ep *mep = ev->mep;
	struct flow_info *f;
	char buf[VQ_ADDRSTRLEN + 8];
	int ret = 0;

	if (d->stopping)
		return 0;
	f = flow_find(d, &mep->ep);
	if (ev->type == VQ_EP_REMOVED) {
		if (f && f->is_static)
			return 0; /* a static rule outlives the call */
		if (d->dp)
			ret = vq_dp_ep_del(d->dp, &mep->ep);
		if (f) {
			flow_free(d, f);
			d->flows_dirty = true;
		}
		pr_info("flow removed %s (%s, call %s)\n",
			vq_endpoint_str(&mep->ep, buf, sizeof(buf)), ev->reason,
			ev->dialog.call_id);
		return ret == -ENOENT ? 0 : ret;
	}
	/*
	 * A static rule's entry keeps its own flags and budget: a call
	 * through the same endpoint must not turn it into the call's, which
	 * would end with the call.
	 */
	if (d->dp && !(f && f->is_static)) {
		ret = vq_dp_ep_add(d->dp, &mep->ep, &mep->codec, mep->media, true,
				   0, cookie_of(ev->dialog.call_id));
		if (!ret && ev->type == VQ_EP_ADDED)
			learn_sample(d, ev->ts_ns);
	}
	if (!f && !(f = flow_new(d, &mep->ep)))
		return -ENOMEM;
	if (!f->is_static) {
		flow_set_kind(d, f, mep->kind); /* SIP's budget was replaced */
		f->mep = *mep;
		snprintf(f->call_id, sizeof(f->call_id), "%s", ev->dialog.call_id);
		f->adopted = false;
		d->flows_dirty = true;
	}
	pr_info("flow %s %s (%s %s, call %s)\n", vq_ep_event_str(ev->type),
		vq_endpoint_str(&mep->ep, buf, sizeof(buf)),
		vq_ep_kind_str(mep->kind), ev->reason, ev->dialog.call_id);
	if (ret)
		d->backend_errors++;
	return ret;
}

/*
 * A BYE for a call the tracker does not hold: when it is a call whose flows
 * were adopted from before this daemon started, they end with it as a
 * tracked call's would.
 */
static void on_orphan_bye(void *ctx, const char *call_id, uint64_t ts_ns)
{
	struct daemon *d = ctx;
	struct flow_info *f, *next;
	char why[VQ_CALLID_LEN + 24];

	(void)ts_ns;
	snprintf(why, sizeof(why), "bye, adopted call %s", call_id);
	for (f = LIST_FIRST(&d->flows); f; f = next) {
		next = LIST_NEXT(f, link);
		if (f->adopted && !strcmp(f->call_id, call_id))
			flow_drop(d, f, why);
	}
}

/*
 * SIP signalling. A call's messages cross the same saturated link as its
 * media: an INVITE, its answer or the BYE that waits behind bulk data (or
 * is lost to it and retransmitted 0.5 s later) makes the phone ring late
 * or the call hang up late. So the endpoints a call's SIP travels between
 * — the phone's and its proxy's, as first captured, UDP or the two ends of
 * a TCP connection — are prioritised too, with a budget of their own
 * (VQ_DP_SIG_RATE) and no EF.
 *
 * Messages the tracker took into a call teach them, and so does a 2xx that
 * answers a REGISTER: the registrar's path is known before the first
 * INVITE, an incoming one included. They belong to no one call (one proxy
 * carries them all): they stay while any call is live and go when the
 * datapath has seen them idle for idle_timeout after that (sweep_one); a
 * phone's keepalives to its registrar keep them. At most MAX_SIG_FLOWS.
 * SIP over TLS cannot be read, and teaches nothing.
 */
static void sig_learn(struct daemon *d, const struct vq_endpoint *ep)
{
	char buf[VQ_ADDRSTRLEN + 8];
	struct flow_info *f;
	int ret;

	if (!d->dp || d->stopping || !d->cfg.sip_priority ||
	    (ep->proto != IPPROTO_UDP && ep->proto != IPPROTO_TCP))
		return;
	/* Known already; media or a rule there has its own budget. */
	if (flow_find(d, ep))
		return;
	if (d->n_sig >= MAX_SIG_FLOWS) {
		if (!d->sig_refused++)
			pr_warn("%u SIP signalling endpoints are prioritised, the "
				"most there can be: %s is not (its calls' media "
				"still are)\n", MAX_SIG_FLOWS,
				vq_endpoint_str(ep, buf, sizeof(buf)));
		return;
	}
	ret = vq_dp_sig_add(d->dp, ep);
	if (ret) {
		d->backend_errors++;
		return;
	}
	f = flow_new(d, ep);
	if (!f)
		return;
	flow_set_kind(d, f, VQ_EP_SIP);
	d->flows_dirty = true;
	pr_info("flow added %s (sip signalling)\n",
		vq_endpoint_str(ep, buf, sizeof(buf)));
}

/* sip_priority turned off: the signalling endpoints go. */
static void sig_forget_all(struct daemon *d)
{
	struct flow_info *f, *next;

	for (f = LIST_FIRST(&d->flows); f; f = next) {
		next = LIST_NEXT(f, link);
		if (f->mep.kind == VQ_EP_SIP && !f->is_static)
			flow_drop(d, f, "sip_priority = no");
	}
}

/* Both ends of the SIP message being tracked. */
static void sig_learn_path(struct daemon *d)
{
	if (d->sip_pkt) {
		sig_learn(d, &d->sip_pkt->src);
		sig_learn(d, &d->sip_pkt->dst);
	}
}

/* Every message a call takes in, its first INVITE included (VQ_CALL_MSG). */
static void on_call_event(void *ctx, const struct vq_call_event *ev)
{
	if (ev->type == VQ_CALL_MSG)
		sig_learn_path(ctx);
}

static void on_registered(void *ctx, uint64_t ts_ns)
{
	(void)ts_ns;
	sig_learn_path(ctx);
}

static const struct vq_tracker_ops tracker_ops = {
	.ep_event = on_ep_event,
	.call_event = on_call_event,
	.orphan_bye = on_orphan_bye,
	.registered = on_registered,
};

static void on_sip(void *ctx, const struct vq_pkt_meta *m, const uint8_t *data,
		   size_t len)
{
	struct daemon *d = ctx;

	if (vq_dedup_seen(&d->dedup, data, len, m->ts_ns))
		return;
	d->sip_pkt = m;
	vq_tracker_input(d->trk, data, len, m->ts_ns);
	d->sip_pkt = NULL;
}

static const struct vq_pkt_ops pkt_ops = { .sip = on_sip };

/* --- control socket views ----------------------------------------------- */

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* p50/p99/max of the reservoir: 16 KB to sort, only when asked. */
static json_object *learn_latency_json(const struct daemon *d)
{
	static uint32_t s[LEARN_SAMPLES];
	size_t n = d->learn_n < LEARN_SAMPLES ? (size_t)d->learn_n : LEARN_SAMPLES;
	json_object *o = json_object_new_object();

	memcpy(s, d->learn_us, n * sizeof(s[0]));
	qsort(s, n, sizeof(s[0]), cmp_u32);
	add_u64(o, "samples", n);
	add_u64(o, "p50", n ? s[n / 2] : 0);
	add_u64(o, "p99", n ? s[n * 99 / 100] : 0);
	add_u64(o, "max", n ? s[n - 1] : 0);
	return o;
}

static json_object *view_status(struct daemon *d)
{
	const struct vq_tracker_stats *ts = vq_tracker_stats(d->trk);
	const struct vq_pkt_stats *ps = vq_decoder_stats(d->dec);
	const struct vq_epset_stats *es = vq_epset_stats(vq_tracker_epset(d->trk));
	json_object *o = json_object_new_object(), *ifs = json_object_new_array();
	json_object *c = json_object_new_object(), *att = json_object_new_array();
	char rate[32];
	struct voipq_stats bs = { 0 };

	for (unsigned int i = 0; i < d->n_ifs; i++) {
		json_object *i_o = json_object_new_object();

		add_str(i_o, "name", d->ifs[i].name);
		add_str(i_o, "role", i == 0 ? "wan" : "lan");
		/* "waiting" while the interface is gone (d->links_down) */
		add_str(i_o, "capture", d->ifs[i].cap ? "on" : "waiting");
		add_u64(i_o, "capture_drops", vq_capture_drops(d->ifs[i].cap));
		json_object_array_add(ifs, i_o);
	}
	json_object_object_add(o, "interfaces", ifs);
	add_str(o, "uplink", d->cfg.uplink_bps ? vq_rate_format(d->cfg.uplink_bps, rate, sizeof(rate)) : "");
	add_str(o, "downlink", d->cfg.downlink_bps ? vq_rate_format(d->cfg.downlink_bps, rate, sizeof(rate)) : "");
	add_str(o, "backend", vq_dp_backend_name(d->dp));
	add_str(o, "leaf", d->cfg.shape ? vq_dp_qdisc_name(d->dp) : "");
	for (unsigned int i = 0; d->dp && i < d->dp->n_attached; i++)
		json_object_array_add(att, json_object_new_string(d->dp->attached[i]));
	json_object_object_add(o, "attached", att);
	json_object_object_add(o, "datapath_attached",
			       json_object_new_boolean(d->dp && d->dp->n_attached > 0));
	add_u64(o, "uptime_s", (vq_clock_mono_ns() - d->started_ns) / NSEC_PER_SEC);
	json_object_object_add(o, "learn_latency_us", learn_latency_json(d));

	if (d->dp)
		vq_dp_stats(d->dp, &bs);
	add_u64(c, "sip_seen", ts->messages);
	add_u64(c, "sip_tls_seen", ps->tls_packets);
	add_u64(c, "sip_duplicates", d->dedup.dups);
	add_u64(c, "sip_invalid", ts->invalid);
	add_u64(c, "calls_active", ts->calls_active);
	add_u64(c, "learned", es->added);
	add_u64(c, "evicted", ts->calls_evicted);
	add_u64(c, "calls_refused", ts->calls_refused);
	add_u64(c, "endpoints_refused", es->full);
	add_u64(c, "sip_flows", d->n_sig);
	add_u64(c, "sip_flows_refused", d->sig_refused);
	add_u64(c, "demoted", bs.demoted);
	add_u64(c, "prioritised", bs.hits - bs.demoted);
	add_u64(c, "acks_prioritised", bs.acks);
	add_u64(c, "backend_errors", d->backend_errors);
	add_u64(c, "relinks", d->relinks);
	add_u64(c, "ctl_refused", vq_ctl_stats(d->ctl)->refused);
	add_u64(c, "ctl_expired", vq_ctl_stats(d->ctl)->expired);
	json_object_object_add(o, "counters", c);
	return o;
}

/*
 * A call's endpoints as the calls view lists them, and the worst RTP any of
 * them carried in the datapath: the call is only as good as that stream.
 */
struct call_eps {
	struct daemon *d;
	json_object *eps;
	struct vq_rtp_figures worst; /* the direction with the lowest MOS */
	double mos;                  /* its MOS (1-4.5); 0: no RTP yet */
};

static int call_ep_json(void *arg, const struct vq_media_ep *mep)
{
	struct call_eps *ce = arg;
	json_object *e = json_object_new_object();
	char addr[VQ_ADDRSTRLEN];
	struct voipq_ep_val v;

	add_str(e, "addr", vq_addr_str(&mep->ep, addr, sizeof(addr)));
	add_u64(e, "port", mep->ep.port);
	add_str(e, "kind", vq_ep_kind_str(mep->kind));
	add_str(e, "side", vq_ep_side_str(mep->side));
	add_str(e, "codec", mep->codec.name);
	json_object_array_add(ce->eps, e);

	if (!ce->d->dp || vq_dp_ep_get(ce->d->dp, &mep->ep, &v))
		return 0;
	for (unsigned int dir = VOIPQ_DIR_TO; dir <= VOIPQ_DIR_FROM; dir++) {
		struct vq_rtp_figures f;
		double mos;

		if (!vq_bpf_rtp_figures(&v, dir, &f))
			continue;
		mos = vq_emodel_mos_observed(mep->codec.name, f.loss_pct, f.jitter_ms);
		if (!ce->mos || mos < ce->mos) {
			ce->worst = f;
			ce->mos = mos;
		}
	}
	return 0;
}

/* "endpoints", and "loss_pct", "jitter_ms" and "mos" of the worst stream. */
static void call_add_eps(json_object *c, struct call_eps *ce)
{
	json_object_object_add(c, "endpoints", ce->eps);
	json_object_object_add(c, "loss_pct", json_object_new_double(ce->worst.loss_pct));
	json_object_object_add(c, "jitter_ms", json_object_new_double(ce->worst.jitter_ms));
	json_object_object_add(c, "mos", json_object_new_double(ce->mos));
}

struct calls_arg {
	struct daemon *d;
	json_object *calls;
};

static int call_json(void *arg, const struct vq_call_view *v)
{
	struct calls_arg *ca = arg;
	struct call_eps ce = { .d = ca->d, .eps = json_object_new_array() };
	json_object *c = json_object_new_object();

	add_str(c, "call_id", v->call_id);
	add_str(c, "from", v->from);
	add_str(c, "to", v->to);
	add_str(c, "state", vq_call_state_str(v->state));
	add_u64(c, "age_s", (vq_clock_mono_ns() - v->created_ns) / NSEC_PER_SEC);
	vq_call_for_each_ep(v, call_ep_json, &ce);
	call_add_eps(c, &ce);
	json_object_array_add(ca->calls, c);
	return 0;
}

/*
 * The calls of adopted flows (named from the calls file, no dialog yet),
 * one entry each, in state "adopted"; their age counts from the adoption.
 */
static void adopted_calls_json(struct daemon *d, json_object *calls)
{
	const struct flow_info *f, *g;

	LIST_FOREACH(f, &d->flows, link) {
		struct call_eps ce = { .d = d };
		json_object *c;

		if (!f->adopted)
			continue;
		for (g = LIST_FIRST(&d->flows); g != f; g = LIST_NEXT(g, link))
			if (g->adopted && !strcmp(g->call_id, f->call_id))
				break;
		if (g != f)
			continue; /* listed with an earlier flow of the call */
		ce.eps = json_object_new_array();
		c = json_object_new_object();
		add_str(c, "call_id", f->call_id);
		add_str(c, "from", "");
		add_str(c, "to", "");
		add_str(c, "state", "adopted");
		add_u64(c, "age_s", (vq_clock_mono_ns() - f->added_ns) / NSEC_PER_SEC);
		for (g = f; g; g = LIST_NEXT(g, link))
			if (g->adopted && !strcmp(g->call_id, f->call_id))
				call_ep_json(&ce, &g->mep);
		call_add_eps(c, &ce);
		json_object_array_add(calls, c);
	}
}

static json_object *view_calls(struct daemon *d)
{
	json_object *o = json_object_new_object(), *calls = json_object_new_array();
	struct calls_arg ca = { d, calls };

	vq_tracker_for_each_call(d->trk, call_json, &ca);
	adopted_calls_json(d, calls);
	json_object_object_add(o, "calls", calls);
	return o;
}

struct flows_arg {
	struct daemon *d;
	json_object *arr;
};

/*
 * One direction's RTP figures as "rtp_to"/"rtp_from"; returns its MOS, or
 * a negative number when no RTP went that way.
 */
static double rtp_dir_json(json_object *o, const char *key,
			   const struct voipq_ep_val *v, unsigned int dir,
			   const char *codec, struct vq_rtp_figures *f)
{
	json_object *r = json_object_new_object();
	bool seen = vq_bpf_rtp_figures(v, dir, f);
	double mos = seen ? vq_emodel_mos_observed(codec, f->loss_pct, f->jitter_ms) : 0;

	add_u64(r, "ssrc", f->ssrc);
	add_u64(r, "packets", f->received);
	add_u64(r, "expected", f->expected);
	json_object_object_add(r, "lost", json_object_new_int64(f->lost));
	json_object_object_add(r, "loss_pct", json_object_new_double(f->loss_pct));
	json_object_object_add(r, "jitter_ms", json_object_new_double(f->jitter_ms));
	json_object_object_add(r, "mos", json_object_new_double(mos));
	json_object_object_add(o, key, r);
	return seen ? mos : -1;
}

/* One entry: an endpoint, or a static rule's prefix (f is NULL then). */
static int flow_add(struct flows_arg *fa, const struct vq_prefix *p,
		    const struct flow_info *f, const struct voipq_ep_val *v)
{
	const struct vq_endpoint *ep = &p->ep;
	json_object *o = json_object_new_object();
	char addr[VQ_ADDRSTRLEN];
	const char *codec = f ? f->mep.codec.name : "";
	struct vq_rtp_figures to, from, *worse;
	double mos_to, mos_from, mos;
	uint64_t now = vq_clock_mono_ns();

	add_str(o, "addr", vq_addr_str(ep, addr, sizeof(addr)));
	add_u64(o, "prefix_len", p->len);
	add_u64(o, "port", ep->port);
	add_str(o, "proto", ep->proto == 6 ? "tcp" : "udp");
	add_str(o, "call_id", f ? f->call_id : v->flags & VOIPQ_EP_STATIC ? "static" : "");
	add_str(o, "codec", codec);
	add_str(o, "kind", f && !f->is_static ? vq_ep_kind_str(f->mep.kind) : "");
	add_str(o, "why", v->flags & VOIPQ_EP_STATIC ? "static" :
			  f && !f->adopted ? "sip" : "adopted");
	add_u64(o, "packets", v->packets);
	add_u64(o, "bytes", v->bytes);
	add_u64(o, "demoted", v->demoted);
	mos_to = rtp_dir_json(o, "rtp_to", v, VOIPQ_DIR_TO, codec, &to);
	mos_from = rtp_dir_json(o, "rtp_from", v, VOIPQ_DIR_FROM, codec, &from);
	/* The flow's figures: its worse direction, as a call is only as good. */
	if (mos_from >= 0 && (mos_to < 0 || mos_from < mos_to)) {
		worse = &from;
		mos = mos_from;
	} else {
		worse = &to;
		mos = mos_to > 0 ? mos_to : 0;
	}
	json_object_object_add(o, "lost", json_object_new_int64(worse->lost));
	json_object_object_add(o, "loss_pct", json_object_new_double(worse->loss_pct));
	json_object_object_add(o, "jitter_ms", json_object_new_double(worse->jitter_ms));
	json_object_object_add(o, "mos", json_object_new_double(mos));
	add_u64(o, "idle_ms", v->last_seen_ns && now > v->last_seen_ns
				      ? (now - v->last_seen_ns) / 1000000 : 0);
	json_object_array_add(fa->arr, o);
	return 0;
}

static int flow_json(void *arg, const struct vq_endpoint *ep,
		     const struct voipq_ep_val *v)
{
	struct flows_arg *fa = arg;
	struct vq_prefix p = { *ep, (uint8_t)vq_prefix_full(ep->family) };

	return flow_add(fa, &p, flow_find(fa->d, ep), v);
}

static int rule_json(void *arg, const struct vq_prefix *p,
		     const struct voipq_ep_val *v)
{
	return flow_add(arg, p, NULL, v);
}

static const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The same, "" for a missing one: for the views' own objects. */
static const char *json_str0(json_object *o, const char *key)
{
	const char *v = json_str(o, key);

	return v ? v : "";
}

/* rtp, rtcp, sip, then rules and entries no flow names. */
static int flow_rank(json_object *f)
{
	const char *kind = json_str0(f, "kind");

	return !strcmp(kind, "rtp") ? 0 : !strcmp(kind, "rtcp") ? 1 :
	       !strcmp(kind, "sip") ? 2 : 3;
}

/*
 * The view's order, not the table's hash: the calls' media by call, then
 * the signalling endpoints, then the rest; within, by kind, address, port.
 */
static int flow_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	int rx = flow_rank(x), ry = flow_rank(y);
	int r = (rx < 2 ? 0 : rx) - (ry < 2 ? 0 : ry); /* media, sip, the rest */

	if (!r)
		r = strcmp(json_str0(x, "call_id"), json_str0(y, "call_id"));
	if (!r)
		r = rx - ry;
	if (!r)
		r = strcmp(json_str0(x, "addr"), json_str0(y, "addr"));
	if (!r)
		r = json_object_get_int(json_object_object_get(x, "port")) -
		    json_object_get_int(json_object_object_get(y, "port"));
	return r;
}

static json_object *view_flows(struct daemon *d)
{
	json_object *o = json_object_new_object();
	struct flows_arg fa = { d, json_object_new_array() };

	if (d->dp) {
		vq_dp_ep_for_each(d->dp, flow_json, &fa);
		vq_dp_pfx_for_each(d->dp, rule_json, &fa);
	}
	json_object_array_sort(fa.arr, flow_cmp);
	json_object_object_add(o, "flows", fa.arr);
	return o;
}

/*
 * {"addr": ADDRESS[/LEN], "port": N, "proto": "udp"|"tcp"}; @err says
 * what's wrong. A TCP rule names one address (a SIP server over TLS, whose
 * messages cannot be read): the datapaths' prefix rules are UDP's.
 */
static int parse_rule(json_object *req, struct vq_prefix *p, char *err,
		      size_t errlen)
{
	json_object *a, *po, *pr;
	int64_t port;

	memset(p, 0, sizeof(*p));
	if (!json_object_object_get_ex(req, "addr", &a) ||
	    !json_object_object_get_ex(req, "port", &po)) {
		snprintf(err, errlen, "a rule needs an address or prefix and a "
			 "port, e.g. 192.0.2.1 4000 or 198.51.100.0/24 4000");
		return -EINVAL;
	}
	if (vq_prefix_parse(p, json_object_get_string(a), err, errlen))
		return -EINVAL;
	port = json_object_get_int64(po);
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "port must be 1-65535");
		return -ERANGE;
	}
	p->ep.port = (uint16_t)port;
	p->ep.proto = IPPROTO_UDP;
	if (json_object_object_get_ex(req, "proto", &pr)) {
		const char *proto = json_object_get_string(pr);

		if (!strcmp(proto, "tcp")) {
			p->ep.proto = IPPROTO_TCP;
		} else if (strcmp(proto, "udp")) {
			snprintf(err, errlen, "protocol '%s': give udp or tcp", proto);
			return -EPROTONOSUPPORT;
		}
	}
	if (p->ep.proto == IPPROTO_TCP && !vq_prefix_is_host(p)) {
		snprintf(err, errlen, "a tcp rule names one address, not a prefix "
			 "(e.g. your provider's SIP server over TLS, port 5061)");
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static const char *rule_error(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such rule";
	case -ENOSPC:
		return "the prefix rule table is full: delete some (voipqctl del)";
	default:
		return strerror(-err);
	}
}

static json_object *do_rule(struct daemon *d, json_object *req, bool add)
{
	struct vq_prefix p;
	struct vq_endpoint ep;
	char buf[VQ_PREFIXSTRLEN], err[160];
	int ret = parse_rule(req, &p, err, sizeof(err));
	json_object *o;

	if (ret)
		return vq_ctl_error("%s", err);
	if (!d->dp)
		return vq_ctl_error("no datapath: voipqd runs with backend = none");
	ep = p.ep;
	if (!vq_prefix_is_host(&p)) {
		/* The datapath owns prefix rules: no flow of ours to track. */
		ret = add ? vq_dp_pfx_add(d->dp, &p, VOIPQ_EP_STATIC)
			  : vq_dp_pfx_del(d->dp, &p);
	} else if (add) {
		struct vq_codec none = { 0 };
		struct flow_info *f;

		/* EF is for media; a tcp rule is signalling */
		ret = vq_dp_ep_add(d->dp, &ep, &none, VQ_MEDIA_AUDIO,
				   ep.proto == IPPROTO_UDP, VOIPQ_EP_STATIC, 0);
		if (!ret && ((f = flow_find(d, &ep)) || (f = flow_new(d, &ep)))) {
			flow_set_kind(d, f, VQ_EP_RTP); /* a signalling one is replaced */
			f->is_static = true;
			f->adopted = false;
			snprintf(f->call_id, sizeof(f->call_id), "static");
			d->flows_dirty = true;
		}
	} else {
		ret = vq_dp_ep_del(d->dp, &ep);
		flow_forget(d, &ep);
	}
	vq_prefix_str(&p, buf, sizeof(buf));
	if (ret && vq_dp_msg(d->dp)[0])
		return vq_ctl_error("%s %s: kernel says: %s", add ? "add" : "del",
				    buf, vq_dp_msg(d->dp));
	if (ret)
		return vq_ctl_error("%s %s: %s", add ? "add" : "del", buf,
				    rule_error(ret));
	o = json_object_new_object();
	add_str(o, add ? "added" : "deleted", buf);
	return o;
}

static json_object *handle_ctl(void *ctx, json_object *req)
{
	struct daemon *d = ctx;
	json_object *cmd;
	const char *c;

	if (!json_object_object_get_ex(req, "cmd", &cmd))
		return vq_ctl_error("request has no \"cmd\"");
	c = json_object_get_string(cmd);
	if (!strcmp(c, "status") || !strcmp(c, "stats"))
		return view_status(d);
	if (!strcmp(c, "calls"))
		return view_calls(d);
	if (!strcmp(c, "flows"))
		return view_flows(d);
	if (!strcmp(c, "add") || !strcmp(c, "del"))
		return do_rule(d, req, c[0] == 'a');
	return vq_ctl_error("unknown command '%s'", c);
}

/* --- setup, expiry, teardown -------------------------------------------- */

static int ep_add_fd(struct daemon *d, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* From TAG_CTL on, VQ_CTL_TAGS of them: the control socket and its clients. */
enum { TAG_SIGNAL = 1000, TAG_TIMER, TAG_CTL };

static int open_captures(struct daemon *d, char *err, size_t errlen)
{
	struct vq_decoder_cfg dc;

	vq_decoder_cfg_init(&dc);
	memcpy(dc.sip_ports, d->cfg.sip_ports, sizeof(dc.sip_ports));
	dc.n_sip_ports = d->cfg.n_sip_ports;
	memcpy(dc.tls_ports, d->cfg.tls_ports, sizeof(dc.tls_ports));
	dc.n_tls_ports = d->cfg.n_tls_ports;
	d->dec = vq_decoder_new(&dc, &pkt_ops, d);
	if (!d->dec)
		return -ENOMEM;

	/* Both are IF_NAMESIZE arrays holding checked names. */
	memcpy(d->ifs[0].name, d->cfg.wan, IF_NAMESIZE);
	d->n_ifs = 1;
	for (unsigned int i = 0; i < d->cfg.n_lan; i++)
		memcpy(d->ifs[d->n_ifs++].name, d->cfg.lan[i], IF_NAMESIZE);
	for (unsigned int i = 0; i < d->n_ifs; i++) {
		int ret = vq_capture_open_live(&d->ifs[i].cap, d->ifs[i].name, &dc,
					       err, errlen);

		if (ret)
			return ret;
		ret = ep_add_fd(d, vq_capture_fd(d->ifs[i].cap), i);
		if (ret)
			return ret;
		d->ifs[i].ifindex = if_nametoindex(d->ifs[i].name);
	}
	return 0;
}

static void close_captures(struct daemon *d)
{
	for (unsigned int i = 0; i < d->n_ifs; i++) {
		if (d->ifs[i].cap) {
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, vq_capture_fd(d->ifs[i].cap), NULL);
			vq_capture_close(d->ifs[i].cap);
			d->ifs[i].cap = NULL;
		}
	}
	d->n_ifs = 0;
	vq_decoder_free(d->dec);
	d->dec = NULL;
}

/*
 * DP_KEEP: a failure leaves the datapath that runs (an earlier run's, or
 * this one's before a reload). DP_STAY: and auto stays on its backend.
 */
enum { DP_KEEP = 1, DP_STAY = 2 };

static int datapath_up(struct daemon *d, unsigned int how, char *err,
		       size_t errlen)
{
	struct vq_dp_cfg dc = {
		.keep_on_failure = how & DP_KEEP,
		.stay_on_backend = how & DP_STAY,
		.shape = d->cfg.shape,
		.pin_dir = d->cfg.pin_dir,
		.max_endpoints = d->cfg.max_endpoints,
		.dscp_ef = d->cfg.dscp_ef,
		.backend = d->cfg.backend,
		.idle_ms = d->cfg.idle_timeout_s * 1000,
		.state_path = d->cfg.state_file,
	};

	if (d->cfg.backend == VQ_BACKEND_NONE)
		return 0;
	snprintf(dc.shaper.wan, IFNAMSIZ, "%s", d->cfg.wan);
	if (d->cfg.n_lan)
		snprintf(dc.shaper.lan, IFNAMSIZ, "%s", d->cfg.lan[0]);
	dc.shaper.down = d->cfg.downstream;
	dc.shaper.uplink_bps = d->cfg.uplink_bps;
	dc.shaper.downlink_bps = d->cfg.downlink_bps;
	dc.shaper.shape_pct = d->cfg.shape_pct;
	dc.shaper.down_pct = d->cfg.down_pct;
	dc.shaper.voice_pct = d->cfg.voice_pct;
	return vq_dp_up(&d->dp, &dc, err, errlen);
}

/*
 * Datapath entries no call owns any more — left by a previous voipqd, or
 * orphaned by a crash — go once the datapath has seen them idle for
 * idle_timeout. Static rules stay until deleted.
 */
struct sweep {
	struct daemon *d;
	uint64_t now;
	struct vq_endpoint stale[64];
	unsigned int n;
};

static int sweep_one(void *arg, const struct vq_endpoint *ep,
		     const struct voipq_ep_val *v)
{
	struct sweep *s = arg;
	uint64_t idle = (uint64_t)s->d->cfg.idle_timeout_s * NSEC_PER_SEC;
	uint64_t ref = v->last_seen_ns;
	const struct flow_info *f = flow_find(s->d, ep);

	if (v->flags & VOIPQ_EP_STATIC)
		return 0;
	/*
	 * Signalling serves every call: it stays while any is live. An
	 * adopted flow has a name but no dialog to end it: idle ends it.
	 */
	if (f && f->mep.kind == VQ_EP_SIP) {
		if (vq_tracker_stats(s->d->trk)->calls_active)
			return 0;
	} else if (f && !f->adopted) {
		return 0; /* a call owns it */
	}
	/* Never seen: count idleness from when this daemon started. */
	if (!ref && s->now - s->d->started_ns < idle)
		return 0;
	/* The datapath may have stamped it since s->now was read. */
	if (ref && (ref >= s->now || s->now - ref < idle))
		return 0;
	s->stale[s->n++] = *ep;
	return s->n == 64;
}

static void sweep_idle(struct daemon *d)
{
	struct sweep s = { .d = d, .now = vq_clock_mono_ns() };
	char buf[VQ_ADDRSTRLEN + 8];

	if (!d->dp || s.now - d->started_ns < (uint64_t)d->cfg.idle_timeout_s * NSEC_PER_SEC / 2)
		return;
	vq_dp_ep_for_each(d->dp, sweep_one, &s);
	for (unsigned int i = 0; i < s.n; i++) {
		vq_dp_ep_del(d->dp, &s.stale[i]);
		flow_forget(d, &s.stale[i]);
		pr_info("flow %s expired: idle in the datapath, no call owns it\n",
			vq_endpoint_str(&s.stale[i], buf, sizeof(buf)));
	}
}

/*
 * The calls file, <state_file>.calls: which call each learned flow belongs
 * to. The datapath keeps the flows across a restart or a crash (pinned
 * maps, the kernel's table) but not their calls; this file does, rewritten
 * at most once a second while flows change. A restarted voipqd names the
 * flows it adopts from it. They stay "adopted" — no dialog tracks them —
 * until SIP about them is seen again, and go with their call's BYE
 * (on_orphan_bye) or when the datapath has seen them idle for idle_timeout.
 * It holds no times: an adopted flow's age counts from its adoption, and
 * its idleness from the datapath's own CLOCK_MONOTONIC stamps, which a
 * restart of voipqd keeps and a reboot (which empties the datapath) does not.
 */
#define CALLS_PATH_LEN (sizeof(((struct vq_config *)0)->state_file) + \
			sizeof(".calls"))

static void calls_path(const struct daemon *d, char *buf)
{
	snprintf(buf, CALLS_PATH_LEN, "%s.calls", d->cfg.state_file);
}

/* One JSON object a line, built and freed a flow at a time. */
static void calls_save(struct daemon *d)
{
	char path[CALLS_PATH_LEN], tmp[CALLS_PATH_LEN + sizeof(".new")];
	char addr[VQ_ADDRSTRLEN];
	const struct flow_info *fl;
	FILE *f;
	int err;

	if (!d->flows_dirty || !d->dp)
		return;
	calls_path(d, path);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	if (!f)
		goto fail;
	LIST_FOREACH(fl, &d->flows, link) {
		json_object *o;

		if (fl->is_static)
			continue; /* the datapath marks those itself */
		o = json_object_new_object();
		add_str(o, "addr", vq_addr_str(&fl->mep.ep, addr, sizeof(addr)));
		add_u64(o, "port", fl->mep.ep.port);
		add_u64(o, "proto", fl->mep.ep.proto);
		add_str(o, "call_id", fl->call_id);
		add_str(o, "codec", fl->mep.codec.name);
		add_str(o, "kind", vq_ep_kind_str(fl->mep.kind));
		add_str(o, "side", vq_ep_side_str(fl->mep.side));
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	err = ferror(f);
	if (fclose(f) || err || rename(tmp, path))
		goto fail;
	d->flows_dirty = false;
	return;
fail:
	pr_warn("cannot write %s: %s (a restarted voipqd will list its flows "
		"without their calls)\n", path, strerror(errno));
	unlink(tmp);
}

static int64_t json_int(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

/* 0 for @s == @a, 1 for @s == @b, -1 for anything else. */
static int one_of(const char *s, const char *a, const char *b)
{
	return !s ? -1 : !strcmp(s, a) ? 0 : !strcmp(s, b) ? 1 : -1;
}

/* One record of the calls file; a malformed one is skipped. */
static int calls_load_one(struct daemon *d, json_object *o)
{
	const char *addr = json_str(o, "addr"), *cid = json_str(o, "call_id");
	const char *codec = json_str(o, "codec");
	int kind = vq_ep_kind_parse(json_str(o, "kind"));
	int side = one_of(json_str(o, "side"), "offer", "answer");
	int64_t port = json_int(o, "port"), proto = json_int(o, "proto");
	struct vq_endpoint ep = { 0 };
	struct flow_info *f;

	if (!addr || !cid || !codec || kind < 0 || side < 0 ||
	    vq_addr_parse(&ep, addr) || port < 1 || port > 65535 ||
	    (proto != 6 && proto != 17))
		return -EINVAL;
	ep.port = (uint16_t)port;
	ep.proto = (uint8_t)proto;
	if (flow_find(d, &ep))
		return 0;
	f = flow_new(d, &ep);
	if (!f)
		return -ENOMEM;
	/* Signalling belongs to no call: there is no call to name it after. */
	f->adopted = kind != VQ_EP_SIP;
	flow_set_kind(d, f, (uint8_t)kind);
	f->mep.side = side ? VQ_SIDE_ANSWER : VQ_SIDE_OFFER;
	snprintf(f->mep.codec.name, sizeof(f->mep.codec.name), "%s", codec);
	snprintf(f->call_id, sizeof(f->call_id), "%s", cid);
	return 0;
}

static int mark_present(void *arg, const struct vq_endpoint *ep,
			const struct voipq_ep_val *v)
{
	struct flow_info *f = flow_find(arg, ep);

	(void)v;
	if (f)
		f->present = true;
	return 0;
}

/* Name the flows an earlier voipqd left; forget what the datapath lost. */
static void calls_load(struct daemon *d)
{
	char path[CALLS_PATH_LEN], line[1024];
	unsigned int n = 0, bad = 0;
	struct flow_info *f, *next;
	FILE *in;

	calls_path(d, path);
	if (!d->dp || !(in = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), in) && d->n_flows < d->cfg.max_endpoints) {
		json_object *o = json_tokener_parse(line);

		if (!strchr(line, '\n')) {
			/* Longer than any record voipqd writes: skip the rest. */
			int c;

			while ((c = fgetc(in)) != EOF && c != '\n')
				;
		}
		bad += !o || !json_object_is_type(o, json_type_object) ||
		       calls_load_one(d, o);
		json_object_put(o);
	}
	fclose(in);
	vq_dp_ep_for_each(d->dp, mark_present, d);
	/* Before any capture: every flow there is is one the file named. */
	for (f = LIST_FIRST(&d->flows); f; f = next) {
		next = LIST_NEXT(f, link);
		if (!f->present)
			flow_free(d, f);
		else
			n++;
	}
	d->flows_dirty = true;
	pr_info("adopted %u flow(s) of earlier calls from %s%s\n", n, path,
		bad ? "; skipped malformed lines (the file is rewritten as flows change)" : "");
}

/* An interface is gone, or is another device than the one captured. */
static bool links_changed(const struct daemon *d)
{
	for (unsigned int i = 0; i < d->n_ifs; i++)
		if (if_nametoindex(d->ifs[i].name) != d->ifs[i].ifindex)
			return true;
	return false;
}

/*
 * Captures and the datapath set up afresh under d->cfg, keeping what runs
 * when that fails (the datapath's handle closed, nothing torn down).
 */
static int links_up(struct daemon *d, char *err, size_t errlen)
{
	int ret;

	close_captures(d);
	if (d->dp) {
		vq_dp_down(d->dp, true, NULL, 0); /* handle only */
		d->dp = NULL;
	}
	ret = open_captures(d, err, errlen);
	return ret ? ret : datapath_up(d, DP_KEEP | DP_STAY, err, errlen);
}

/*
 * Captures and the datapath again, on the devices the names now have: a
 * PPP or WireGuard WAN that reconnects is a new device, without the
 * classifier or the shaper's tree. Learned calls and the pinned maps stay.
 */
static void relink(struct daemon *d)
{
	char err[VQ_SHAPER_ERRLEN] = "";

	if (links_up(d, err, sizeof(err))) {
		if (!d->links_down)
			pr_warn("links: %s; trying again every second\n", err);
		d->links_down = true;
		return;
	}
	d->relinks++;
	pr_info("links: captures and datapath set up again on %s%s\n",
		d->cfg.wan, d->links_down ? " (back)" : "");
	d->links_down = false;
}

static void tick(struct daemon *d)
{
	struct vq_clock now;

	if (d->links_down || links_changed(d))
		relink(d);
	vq_clock_read(&now);
	vq_clock_expire(&now, d->trk, d->dec);
	sweep_idle(d);
	vq_ctl_expire(d->ctl);
	calls_save(d);
}

static void log_to(const struct vq_config *c)
{
	vq_log_set_level((enum vq_log_level)c->log_level);
	vq_log_set_syslog(c->syslog);
}

static bool same_links(const struct vq_config *a, const struct vq_config *b)
{
	return !strcmp(a->wan, b->wan) && a->n_lan == b->n_lan &&
	       !memcmp(a->lan, b->lan, sizeof(a->lan)) &&
	       a->uplink_bps == b->uplink_bps && a->downlink_bps == b->downlink_bps &&
	       a->shape == b->shape && a->shape_pct == b->shape_pct &&
	       a->down_pct == b->down_pct &&
	       a->voice_pct == b->voice_pct && a->downstream == b->downstream &&
	       !memcmp(a->sip_ports, b->sip_ports, sizeof(a->sip_ports)) &&
	       a->n_sip_ports == b->n_sip_ports &&
	       !memcmp(a->tls_ports, b->tls_ports, sizeof(a->tls_ports)) &&
	       a->n_tls_ports == b->n_tls_ports;
}

/*
 * What a running voipqd cannot take: the backend and its load-time knobs,
 * the sizes of its tables, and where its files and socket are. A reload
 * keeps the running value of each and names the ones that changed in
 * @names, which only a restart applies.
 */
static void keep_restart_only(struct vq_config *c, const struct vq_config *run,
			      char *names, size_t len)
{
	size_t n = 0;

	names[0] = '\0';
#define KEEP(field, key)							\
	do {								\
		if (memcmp(&c->field, &run->field, sizeof(c->field))) {	\
			memcpy(&c->field, &run->field, sizeof(c->field));	\
			n += snprintf(names + n, n < len ? len - n : 0,	\
				      "%s%s", n ? ", " : "", key);	\
		}							\
	} while (0)
	KEEP(backend, "backend");
	KEEP(dscp_ef, "dscp_ef");
	KEEP(max_calls, "max_calls");
	KEEP(max_endpoints, "max_endpoints");
	KEEP(dialog_timeout_s, "dialog_timeout");
	KEEP(pin_dir, "pin_dir");
	KEEP(socket_path, "socket");
	KEEP(socket_group, "socket_group");
	KEEP(state_file, "state_file");
#undef KEEP
}

/* Command-line settings, applied over the file at start and on reload. */
static const char *sets[64][2];
static unsigned int n_sets;
static bool cfg_given;

/* Defaults, then the file, then the flags; the WAN from the default route. */
static int build_config(const char *path, struct vq_config *c, char *err,
			size_t errlen)
{
	int ret;

	vq_config_defaults(c);
	ret = vq_config_load(c, path, err, errlen);
	if (ret && (ret != -ENOENT || cfg_given))
		return ret;
	for (unsigned int i = 0; i < n_sets; i++) {
		ret = vq_config_set(c, sets[i][0], sets[i][1], err, errlen);
		if (ret)
			return ret;
	}
	if (!c->wan[0] && vq_default_route_dev(c->wan, sizeof(c->wan), NULL, NULL)) {
		snprintf(err, errlen, "no WAN interface given and no default route "
			 "to find it from: use --wan IF (e.g. --wan eth0)");
		return -ENODEV;
	}
	return vq_config_validate(c, err, errlen);
}

/* SIGHUP: re-read the file; learned calls and programmed flows stay. */
static void reload(struct daemon *d)
{
	struct vq_config c;
	char err[VQ_SHAPER_ERRLEN] = "", fixed[160];

	if (build_config(d->cfg_path, &c, err, sizeof(err))) {
		pr_warn("reload: %s; keeping the running configuration\n", err);
		return;
	}
	keep_restart_only(&c, &d->cfg, fixed, sizeof(fixed));
	if (fixed[0])
		pr_warn("reload: settings that change only at a restart (systemctl restart voipqd) keep their running values: %s\n",
			fixed);
	if (!same_links(&c, &d->cfg)) {
		struct vq_config old = d->cfg;

		d->cfg = c;
		if (links_up(d, err, sizeof(err))) {
			pr_warn("reload: %s; going back to the running configuration\n", err);
			d->cfg = old;
			if (links_up(d, err, sizeof(err))) {
				pr_warn("reload: cannot restore: %s; trying again every second\n",
					err);
				d->links_down = true;
			}
			return;
		}
	}
	d->cfg = c;
	if (!d->cfg.sip_priority)
		sig_forget_all(d);
	log_to(&d->cfg);
	pr_info("configuration reloaded\n");
}

static void run(struct daemon *d)
{
	struct epoll_event evs[16];
	char err[256];

	while (d->running) {
		int n = epoll_wait(d->epfd, evs, 16, -1);

		if (n < 0 && errno != EINTR) {
			pr_warn("epoll: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;

			if (tag < MAX_IFS && tag < d->n_ifs) {
				if (vq_capture_dispatch(d->ifs[tag].cap, d->dec, 64,
							err, sizeof(err)) < 0)
					pr_warn("capture on %s: %s\n",
						d->ifs[tag].name, err);
			} else if (tag == TAG_TIMER) {
				uint64_t exp;

				if (read(d->timerfd, &exp, sizeof(exp)) > 0)
					tick(d);
			} else if (tag - TAG_CTL < VQ_CTL_TAGS) {
				vq_ctl_event(d->ctl, tag);
			} else if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;

				if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(d);
				} else {
					pr_info("signal %d: stopping\n", (int)si.ssi_signo);
					d->running = false;
				}
			}
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: voipqd [OPTIONS]\n"
		"\n"
		"Learn the media endpoints of every call from SIP on this router and\n"
		"serve their packets, and the calls' SIP, first, in a shaped link,\n"
		"within a budget.\n"
		"\n"
		"Options (override %s):\n"
		"  -c, --config FILE      configuration file\n"
		"      --check-config     validate the configuration and exit\n"
		"  -w, --wan IF           WAN interface (default: the default route's)\n"
		"  -l, --lan IF[,IF]      LAN interfaces to snoop (and shape, with\n"
		"                         downstream = lan)\n"
		"  -u, --uplink RATE      uplink line rate, e.g. 20mbit\n"
		"  -d, --downlink RATE    downlink line rate, e.g. 100mbit\n"
		"  -b, --backend KIND     bpf (tc classifier + HTB), kmod (sch_voipq),\n"
		"                         auto (bpf where it loads and attaches, else\n"
		"                         kmod) or none (learn only)\n"
		"      --set KEY=VALUE    any configuration key\n"
		"      --keep-datapath    on exit, leave the datapath as it is\n"
		"      --syslog           log to syslog instead of stderr\n"
		"  -v, --verbose          log debug messages\n"
		"  -h, --help             show this help\n"
		"\n"
		"Signals: SIGHUP reloads the configuration; SIGTERM removes what\n"
		"voipqd installed (unless --keep-datapath) and exits.\n",
		VQ_CONFIG_PATH);
}

static int setup(struct daemon *d, char *err, size_t errlen)
{
	struct vq_tracker_cfg tc;
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	sigset_t mask;
	int ret;

	if (flows_init(d)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vq_tracker_cfg_init(&tc);
	tc.max_calls = d->cfg.max_calls;
	tc.max_endpoints = d->cfg.max_endpoints;
	tc.dialog_timeout_s = d->cfg.dialog_timeout_s;
	d->trk = vq_tracker_new(&tc, &tracker_ops, d);
	if (!d->trk) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (d->epfd < 0 || d->sigfd < 0 || d->timerfd < 0 ||
	    timerfd_settime(d->timerfd, 0, &its, NULL) ||
	    ep_add_fd(d, d->sigfd, TAG_SIGNAL) || ep_add_fd(d, d->timerfd, TAG_TIMER)) {
		ret = -errno;
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		return ret;
	}
	ret = vq_ctl_listen(&d->ctl, d->cfg.socket_path, d->cfg.socket_group,
			    handle_ctl, d, err, errlen);
	if (ret || (ret = vq_ctl_attach(d->ctl, d->epfd, TAG_CTL)))
		return ret;
	/*
	 * A datapath an earlier run left (its state file is there: a restart,
	 * --keep-datapath, kill -9) keeps classifying if this start fails;
	 * what a first start half-made is undone.
	 */
	ret = datapath_up(d, access(d->cfg.state_file, F_OK) ? 0 : DP_KEEP, err,
			  errlen);
	if (ret)
		return ret;
	calls_load(d);
	return open_captures(d, err, errlen);
}

static void teardown(struct daemon *d)
{
	char err[VQ_SHAPER_ERRLEN] = "";
	struct flow_info *f;

	/*
	 * From here the tracker only says goodbye: its calls end with the
	 * daemon, not on the wire, and what happens to their flows is the
	 * datapath's decision below.
	 */
	d->stopping = true;
	close_captures(d);
	vq_ctl_close(d->ctl);
	if (d->dp && !d->keep_datapath) {
		char path[CALLS_PATH_LEN];

		/* Every flow goes out of the datapath with the rest of it. */
		if (vq_dp_down(d->dp, false, err, sizeof(err)))
			pr_warn("teardown: %s\n", err);
		d->dp = NULL;
		calls_path(d, path);
		unlink(path);
	} else if (d->dp) {
		d->flows_dirty = true;
		calls_save(d);
		pr_info("leaving the datapath in place with its %u flow(s) "
			"(--keep-datapath): a restarted voipqd adopts them\n",
			d->n_flows);
		vq_dp_down(d->dp, true, NULL, 0);
		d->dp = NULL;
	}
	/* Nothing to program any more: drop the handle first. */
	vq_tracker_free(d->trk);
	if (d->flow_index) {
		while ((f = LIST_FIRST(&d->flows)))
			flow_free(d, f);
		free(d->flow_index);
		d->flow_index = NULL;
	}
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "wan", required_argument, NULL, 'w' },
		{ "lan", required_argument, NULL, 'l' },
		{ "uplink", required_argument, NULL, 'u' },
		{ "downlink", required_argument, NULL, 'd' },
		{ "backend", required_argument, NULL, 'b' },
		{ "set", required_argument, NULL, 's' },
		{ "keep-datapath", no_argument, NULL, 'k' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct daemon dm = { .epfd = -1, .sigfd = -1, .timerfd = -1 };
	struct daemon *d = &dm;
	bool check_only = false;
	char err[VQ_SHAPER_ERRLEN] = "";
	int c, ret;

	d->cfg_path = VQ_CONFIG_PATH;
	while ((c = getopt_long(argc, argv, "c:w:l:u:d:b:vh", opts, NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'c': d->cfg_path = optarg; cfg_given = true; break;
		case 'C': check_only = true; break;
		case 'w': key = "wan"; break;
		case 'l': key = "lan"; break;
		case 'u': key = "uplink"; break;
		case 'd': key = "downlink"; break;
		case 'b': key = "backend"; break;
		case 'k': d->keep_datapath = true; break;
		case 'S': key = "log"; optarg = "syslog"; break;
		case 'v': key = "log_level"; optarg = "debug"; break;
		case 's': {
			char *eq = strchr(optarg, '=');

			if (!eq) {
				fprintf(stderr, "voipqd: --set wants KEY=VALUE, e.g. --set voice_percent=20\n");
				return 2;
			}
			*eq = '\0';
			key = optarg;
			optarg = eq + 1;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (key && n_sets == 64) {
			fprintf(stderr, "voipqd: too many options\n");
			return 2;
		}
		if (key) {
			sets[n_sets][0] = key;
			sets[n_sets++][1] = optarg;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "voipqd: unexpected argument '%s' (see voipqd --help)\n",
			argv[optind]);
		return 2;
	}

	ret = build_config(d->cfg_path, &d->cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "voipqd: %s\n", err);
		return 1;
	}
	if (check_only) {
		vq_config_print(&d->cfg, stdout);
		printf("# configuration ok\n");
		return 0;
	}

	log_to(&d->cfg);
	d->started_ns = vq_clock_mono_ns();
	d->running = true;
	ret = setup(d, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "voipqd: %s\n", err);
		d->keep_datapath = false;
		teardown(d);
		return 1;
	}
	pr_info("voipqd running: wan %s, %u LAN interface(s), backend %s\n",
		d->cfg.wan, d->cfg.n_lan, vq_dp_backend_name(d->dp));
	run(d);
	teardown(d);
	return 0;
}
