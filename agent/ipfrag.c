// SPDX-License-Identifier: GPL-2.0
/*
 * IP fragment reassembly. Each queue records the byte ranges it holds in a
 * small sorted array rather than merging them, so an exact duplicate (a
 * retransmitted or doubly-captured fragment) is recognised and ignored,
 * while any other overlap drops the datagram. The payload buffer grows to
 * the highest byte seen, never past max_bytes, so 256 idle queues do not
 * pin 16 MB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hash.h"
#include "ipfrag.h"

struct frag_range {
	uint32_t start;
	uint32_t end;
};

struct frag_queue {
	struct frag_queue *hnext;           /* hash chain */
	struct frag_queue *older, *newer;   /* age list */
	struct vq_frag_key key;
	uint64_t created_ns;
	uint8_t *buf;
	uint32_t cap;
	uint32_t total;     /* datagram length, once the last piece is seen */
	bool have_last;
	bool have_first;
	uint8_t proto;
	unsigned int nranges;
	struct frag_range ranges[VQ_FRAG_MAX_PIECES]; /* sorted by start */
};

struct vq_ipfrag {
	unsigned int max_queues;
	unsigned int max_bytes;
	uint64_t timeout_ns;
	struct vq_pkt_stats *st;
	unsigned int count;
	unsigned int nbuckets; /* power of two */
	struct frag_queue **buckets;
	struct frag_queue *oldest, *newest;
};

static uint32_t key_hash(const struct vq_frag_key *k)
{
	return vq_fnv32(VQ_FNV32_INIT, k, sizeof(*k));
}

struct vq_ipfrag *vq_ipfrag_new(unsigned int max_queues, unsigned int max_bytes,
				unsigned int timeout_ms, struct vq_pkt_stats *st)
{
	struct vq_ipfrag *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->max_queues = max_queues ? max_queues : 1;
	f->max_bytes = max_bytes;
	f->timeout_ns = (uint64_t)timeout_ms * 1000000;
	f->st = st;
	f->nbuckets = 16;
	while (f->nbuckets < f->max_queues && f->nbuckets < (1u << 20))
		f->nbuckets <<= 1;
	f->buckets = calloc(f->nbuckets, sizeof(*f->buckets));
	if (!f->buckets) {
		free(f);
		return NULL;
	}
	return f;
}

static struct frag_queue **bucket_of(struct vq_ipfrag *f,
				     const struct vq_frag_key *k)
{
	return &f->buckets[key_hash(k) & (f->nbuckets - 1)];
}

static void queue_unlink(struct vq_ipfrag *f, struct frag_queue *q)
{
	struct frag_queue **pp = bucket_of(f, &q->key);

	while (*pp != q)
		pp = &(*pp)->hnext;
	*pp = q->hnext;
	if (q->older)
		q->older->newer = q->newer;
	else
		f->oldest = q->newer;
	if (q->newer)
		q->newer->older = q->older;
	else
		f->newest = q->older;
	f->count--;
}

static void queue_drop(struct vq_ipfrag *f, struct frag_queue *q)
{
	queue_unlink(f, q);
	free(q->buf);
	free(q);
}

void vq_ipfrag_free(struct vq_ipfrag *f)
{
	if (!f)
		return;
	while (f->oldest)
		queue_drop(f, f->oldest);
	free(f->buckets);
	free(f);
}

static struct frag_queue *queue_find(struct vq_ipfrag *f,
				     const struct vq_frag_key *k)
{
	struct frag_queue *q;

	for (q = *bucket_of(f, k); q; q = q->hnext)
		if (memcmp(&q->key, k, sizeof(*k)) == 0)
			return q;
	return NULL;
}

static struct frag_queue *queue_create(struct vq_ipfrag *f,
				       const struct vq_frag_key *k,
				       uint64_t ts_ns)
{
	struct frag_queue **pp, *q;

	if (f->count >= f->max_queues && f->oldest) {
		queue_drop(f, f->oldest);
		f->st->frag_evicted++;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->key = *k;
	q->created_ns = ts_ns;
	pp = bucket_of(f, k);
	q->hnext = *pp;
	*pp = q;
	q->older = f->newest;
	if (f->newest)
		f->newest->newer = q;
	else
		f->oldest = q;
	f->newest = q;
	f->count++;
	return q;
}

static int queue_reserve(struct vq_ipfrag *f, struct frag_queue *q,
			 uint32_t end)
{
	uint32_t cap = q->cap ? q->cap : 2048;
	uint8_t *buf;

	if (end <= q->cap)
		return 0;
	while (cap < end)
		cap *= 2;
	if (cap > f->max_bytes)
		cap = f->max_bytes;
	buf = realloc(q->buf, cap);
	if (!buf)
		return -ENOMEM;
	q->buf = buf;
	q->cap = cap;
	return 0;
}

static bool queue_complete(const struct frag_queue *q)
{
	uint32_t next = 0;

	if (!q->have_last || !q->have_first)
		return false;
	for (unsigned int i = 0; i < q->nranges; i++) {
		if (q->ranges[i].start != next)
			return false;
		next = q->ranges[i].end;
	}
	return next == q->total;
}

/*
 * Where the new range goes in the sorted array, or -EEXIST for an exact
 * duplicate, -EINVAL for any other overlap.
 */
static int range_slot(const struct frag_queue *q, uint32_t start, uint32_t end)
{
	unsigned int i;

	for (i = 0; i < q->nranges; i++) {
		const struct frag_range *r = &q->ranges[i];

		if (r->start == start && r->end == end)
			return -EEXIST;
		if (start < r->end && r->start < end)
			return -EINVAL;
		if (start < r->start)
			break;
	}
	return i;
}

int vq_ipfrag_add(struct vq_ipfrag *f, const struct vq_frag_key *key,
		  const struct vq_frag *frag, uint64_t ts_ns,
		  struct vq_frag_done *done)
{
	uint64_t end64 = (uint64_t)frag->offset + frag->len;
	uint32_t end = (uint32_t)end64;
	struct frag_queue *q = queue_find(f, key);
	int slot, err;

	if (end64 > f->max_bytes) {
		f->st->frag_oversize++;
		err = -EMSGSIZE;
		goto out_drop;
	}
	/* Every fragment but the last carries a multiple of 8 bytes. */
	if (frag->more && (frag->len == 0 || frag->len % 8)) {
		f->st->malformed++;
		err = -EINVAL;
		goto out_drop;
	}
	if (!q) {
		q = queue_create(f, key, ts_ns);
		if (!q)
			return -ENOMEM;
	}

	slot = range_slot(q, frag->offset, end);
	if (slot == -EEXIST)
		return 0;
	if (slot < 0)
		goto out_overlap;
	/* The last fragment fixes the length; nothing may lie beyond it. */
	if (!frag->more) {
		if (q->have_last && end != q->total)
			goto out_overlap;
		if (q->nranges && q->ranges[q->nranges - 1].end > end)
			goto out_overlap;
	} else if (q->have_last && end > q->total) {
		goto out_overlap;
	}
	if (q->nranges == VQ_FRAG_MAX_PIECES) {
		f->st->malformed++;
		err = -EINVAL;
		goto out_drop;
	}
	if (frag->len) {
		err = queue_reserve(f, q, end);
		if (err)
			goto out_drop;
		memcpy(q->buf + frag->offset, frag->data, frag->len);
	}
	memmove(&q->ranges[slot + 1], &q->ranges[slot],
		(q->nranges - slot) * sizeof(q->ranges[0]));
	q->ranges[slot].start = frag->offset;
	q->ranges[slot].end = end;
	q->nranges++;
	if (!frag->more) {
		q->have_last = true;
		q->total = end;
	}
	if (frag->offset == 0) {
		q->have_first = true;
		q->proto = key->family == AF_INET6 ? frag->nexthdr :
			   key->proto;
	}
	if (!queue_complete(q))
		return 0;

	done->data = q->buf;
	done->len = q->total;
	done->proto = q->proto;
	q->buf = NULL;
	queue_drop(f, q);
	f->st->frag_reassembled++;
	/* A zero-length datagram still needs a pointer the caller may free. */
	if (!done->data) {
		done->data = malloc(1);
		if (!done->data)
			return -ENOMEM;
	}
	return 1;

out_overlap:
	f->st->frag_overlaps++;
	err = -EINVAL;
out_drop:
	if (q)
		queue_drop(f, q);
	return err;
}

void vq_ipfrag_expire(struct vq_ipfrag *f, uint64_t now_ns)
{
	/* Oldest first; packet time may step back, so stop at the first live. */
	while (f->oldest && f->oldest->created_ns + f->timeout_ns <= now_ns) {
		queue_drop(f, f->oldest);
		f->st->frag_timeouts++;
	}
}

unsigned int vq_ipfrag_count(const struct vq_ipfrag *f)
{
	return f->count;
}
