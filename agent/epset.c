// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "epset.h"

struct ep_entry {
	LIST_ENTRY(ep_entry) hnode;
	struct vq_media_ep mep;
	unsigned int refs;
};

LIST_HEAD(ep_bucket, ep_entry);

struct vq_epset {
	struct ep_bucket *buckets;
	uint32_t mask;
	unsigned int max;
	struct vq_epset_stats stats;
	const struct vq_backend_ops *ops;
	void *ctx;
};

const char *vq_ep_kind_str(uint8_t kind)
{
	return kind == VQ_EP_RTCP ? "rtcp" : kind == VQ_EP_SIP ? "sip" : "rtp";
}

int vq_ep_kind_parse(const char *s)
{
	for (int k = VQ_EP_RTP; s && k <= VQ_EP_SIP; k++)
		if (!strcmp(s, vq_ep_kind_str((uint8_t)k)))
			return k;
	return -1;
}

const char *vq_ep_side_str(uint8_t side)
{
	return side == VQ_SIDE_ANSWER ? "answer" : "offer";
}

const char *vq_ep_event_str(uint8_t type)
{
	switch (type) {
	case VQ_EP_ADDED:
		return "added";
	case VQ_EP_UPDATED:
		return "updated";
	default:
		return "removed";
	}
}

struct vq_epset *vq_epset_new(unsigned int max_endpoints,
			      const struct vq_backend_ops *ops, void *ctx)
{
	struct vq_epset *s;
	uint32_t n = 16;

	if (!max_endpoints)
		return NULL;
	while (n < max_endpoints && n < (1u << 24))
		n <<= 1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->buckets = calloc(n, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	s->mask = n - 1;
	s->max = max_endpoints;
	s->ops = ops;
	s->ctx = ctx;
	return s;
}

void vq_epset_free(struct vq_epset *s)
{
	struct ep_entry *e;

	if (!s)
		return;
	for (uint32_t i = 0; i <= s->mask; i++) {
		while ((e = LIST_FIRST(&s->buckets[i]))) {
			LIST_REMOVE(e, hnode);
			free(e);
		}
	}
	free(s->buckets);
	free(s);
}

static struct ep_entry *lookup(const struct vq_epset *s,
			       const struct vq_endpoint *ep)
{
	struct ep_entry *e;

	LIST_FOREACH(e, &s->buckets[vq_endpoint_hash(ep) & s->mask], hnode)
		if (vq_endpoint_eq(&e->mep.ep, ep))
			return e;
	return NULL;
}

static void emit(struct vq_epset *s, uint8_t type, const struct vq_media_ep *mep,
		 const struct vq_dialog_id *d, const char *reason,
		 uint64_t ts_ns)
{
	struct vq_ep_event ev = {
		.type = type,
		.mep = mep,
		.dialog = *d,
		.reason = reason,
		.ts_ns = ts_ns,
	};

	if (type == VQ_EP_ADDED)
		s->stats.added++;
	else if (type == VQ_EP_UPDATED)
		s->stats.updated++;
	else
		s->stats.removed++;
	if (s->ops && s->ops->ep_event && s->ops->ep_event(s->ctx, &ev))
		s->stats.backend_errors++;
}

int vq_epset_ref(struct vq_epset *s, const struct vq_media_ep *mep,
		 const struct vq_dialog_id *d, const char *reason,
		 uint64_t ts_ns)
{
	struct ep_entry *e = lookup(s, &mep->ep);

	if (e) {
		e->refs++;
		/* The newest announcement describes the stream best. */
		if (memcmp(&e->mep, mep, sizeof(*mep))) {
			e->mep = *mep;
			emit(s, VQ_EP_UPDATED, &e->mep, d, reason, ts_ns);
		}
		return 0;
	}
	if (s->stats.count >= s->max) {
		s->stats.full++;
		return -ENOSPC;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->mep = *mep;
	e->refs = 1;
	LIST_INSERT_HEAD(&s->buckets[vq_endpoint_hash(&mep->ep) & s->mask], e,
			 hnode);
	s->stats.count++;
	emit(s, VQ_EP_ADDED, &e->mep, d, reason, ts_ns);
	return 0;
}

void vq_epset_unref(struct vq_epset *s, const struct vq_media_ep *mep,
		    const struct vq_dialog_id *d, const char *reason,
		    uint64_t ts_ns)
{
	struct ep_entry *e = lookup(s, &mep->ep);

	if (!e || --e->refs)
		return;
	LIST_REMOVE(e, hnode);
	s->stats.count--;
	emit(s, VQ_EP_REMOVED, &e->mep, d, reason, ts_ns);
	free(e);
}

bool vq_epset_full(const struct vq_epset *s)
{
	return s->stats.count >= s->max;
}

unsigned int vq_epset_count(const struct vq_epset *s)
{
	return s->stats.count;
}

const struct vq_epset_stats *vq_epset_stats(const struct vq_epset *s)
{
	return &s->stats;
}

int vq_epset_for_each(const struct vq_epset *s,
		      int (*fn)(void *arg, const struct vq_media_ep *mep,
				unsigned int refs),
		      void *arg)
{
	const struct ep_entry *e;
	int ret;

	for (uint32_t i = 0; i <= s->mask; i++) {
		LIST_FOREACH(e, &s->buckets[i], hnode) {
			ret = fn(arg, &e->mep, e->refs);
			if (ret)
				return ret;
		}
	}
	return 0;
}
