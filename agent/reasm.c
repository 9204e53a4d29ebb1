// SPDX-License-Identifier: GPL-2.0
/*
 * TCP reassembly for SIP. We are a passive observer: we never see the
 * peers' windows or ACKs, segments may be missing from the capture, and the
 * bytes come from the internet. So each direction keeps a small in-order
 * buffer, a handful of out-of-order segments, and gives a hole up as soon as
 * it cannot hold what arrives after it. After a hole, or anything that does
 * not frame, the stream is re-synchronised on the next line that looks like
 * a SIP start line: losing one message is better than delivering a message
 * stitched together from two.
 *
 * Anyone can open a stream with one spoofed segment, so the bytes held by
 * all streams together are capped too (max_total). When a buffer would grow
 * past it, other streams are dropped whole: first those that have never
 * framed a SIP message, the one holding most first, and only then streams
 * that carried SIP. Streams that have not framed a message also expire
 * sooner (unframed_timeout_ms). Buffers are freed once framed empty, so an
 * idle SIP connection holds nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reasm.h"

/* First allocation of a direction's buffer; it doubles from there. */
#define BUF_MIN 2048

/*
 * How far framing got in the bytes at the start of a buffer, so that each
 * append scans only what is new. Looking for a message: @line is the length
 * of its start line with the LF (0 until seen), @scan how many bytes hold no
 * LF (before @line is known) or no start of CRLFCRLF (after), @total the
 * message length once the header end is known. During resync, @scan is how
 * many bytes hold no LF.
 */
struct sip_frame {
	uint32_t line, scan, total;
};

struct ooo_seg {
	uint32_t seq;
	uint32_t len;
	uint8_t *data;
};

struct tcp_dir {
	bool synced;  /* next_seq is meaningful */
	bool have_isn;
	bool resync;  /* discard up to the next SIP start line */
	bool fin;
	uint32_t isn;
	uint32_t next_seq;
	uint8_t *buf; /* in-order bytes not yet framed */
	uint32_t len, cap;
	struct sip_frame fs; /* of the bytes at buf */
	unsigned int nooo;
	uint32_t ooo_bytes;
	struct ooo_seg ooo[VQ_REASM_MAX_OOO];
};

/* Connections by last activity, oldest first. */
struct conn_lru {
	struct tcp_conn *oldest, *newest;
};

struct tcp_conn {
	struct tcp_conn *hnext;
	struct tcp_conn *older, *newer; /* in *lru */
	struct conn_lru *lru;
	bool framed;                    /* a SIP message came out of it */
	struct vq_endpoint a, b;        /* a sorts before b */
	uint64_t last_ns;
	struct tcp_dir dir[2];          /* [0]: a to b */
};

struct vq_reasm {
	struct vq_reasm_cfg cfg;
	uint64_t timeout_ns, unframed_timeout_ns;
	struct vq_pkt_stats *st;
	vq_reasm_deliver_fn deliver;
	void *ctx;
	unsigned int count;
	unsigned int nbuckets; /* power of two */
	struct tcp_conn **buckets;
	struct conn_lru unframed, framed;
	size_t held;           /* buffer bytes allocated, all connections */
	struct tcp_conn *cur;  /* the one being fed: never evicted for bytes */
};

/* --- SIP framing ------------------------------------------------------ */

static bool is_token_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-.!%*_+`'~", c) != NULL;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* "SIP/2.0 200 OK" or "INVITE sip:bob@example.com SIP/2.0", without CRLF. */
static bool is_start_line(const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (n >= 11 && strncasecmp((const char *)p, "SIP/2.0 ", 8) == 0)
		return is_digit(p[8]) && is_digit(p[9]) && is_digit(p[10]) &&
		       (n == 11 || p[11] == ' ');

	while (i < n && i < 32 && p[i] != 0 && is_token_char(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return false;
	i++;
	/* Request-URI: at least one byte, then " SIP/2.0" ends the line. */
	if (n < i + 1 + 8 || p[i] == ' ')
		return false;
	if (strncasecmp((const char *)p + n - 8, " SIP/2.0", 8) != 0)
		return false;
	return memchr(p + i, ' ', n - 8 - i) == NULL;
}

static bool name_is(const uint8_t *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp((const char *)p, name, n) == 0;
}

/*
 * Content-Length from the header lines in [p, p + n), compact form "l"
 * included. 0 when absent (RFC 3261 18.3 makes it mandatory on streams, but
 * a missing one is better read as "no body" than as a lost stream).
 */
static long content_length(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	long found = -1;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', end - p);
		const uint8_t *eol = nl ? nl : end;
		const uint8_t *colon, *name_end, *v;
		long val = 0;
		int digits = 0;

		colon = memchr(p, ':', eol - p);
		/* Continuation lines and junk are the SIP parser's business. */
		if (!colon || *p == ' ' || *p == '\t')
			goto next;
		name_end = colon;
		while (name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
			name_end--;
		if (!name_is(p, name_end - p, "content-length") &&
		    !name_is(p, name_end - p, "l"))
			goto next;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (; v < eol && is_digit(*v); v++) {
			if (++digits > 9)
				return -EBADMSG;
			val = val * 10 + (*v - '0');
		}
		for (; v < eol && (*v == ' ' || *v == '\t' || *v == '\r'); v++)
			;
		if (!digits || v != eol)
			return -EBADMSG;
		if (found >= 0 && found != val)
			return -EBADMSG;
		found = val;
next:
		p = eol + 1;
	}
	return found < 0 ? 0 : found;
}

static const uint8_t *find_crlfcrlf(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n, *q = p;

	while (n >= 4 && (q = memchr(q, '\r', end - q - 3)) != NULL) {
		if (memcmp(q, "\r\n\r\n", 4) == 0)
			return q;
		q++;
		if (end - q < 4)
			break;
	}
	return NULL;
}

/*
 * vq_sip_frame_len() of @buf, where @f records how far earlier calls on
 * shorter prefixes of the same bytes got: each call reads only bytes it has
 * not read before (plus three, for a CRLFCRLF cut between calls).
 */
static long frame_step(const uint8_t *buf, size_t len, size_t max_message,
		       struct sip_frame *f)
{
	size_t scan = len < max_message ? len : max_message;
	const uint8_t *blank;
	size_t hdr;
	long cl;

	if (f->total)
		return len < f->total ? 0 : (long)f->total;
	if (!f->line) {
		const uint8_t *nl = memchr(buf + f->scan, '\n', scan - f->scan);
		size_t line;

		if (!nl) {
			f->scan = scan;
			return len >= max_message ? -EBADMSG : 0;
		}
		line = nl - buf;
		if (line && buf[line - 1] == '\r')
			line--;
		if (!is_start_line(buf, line))
			return -EBADMSG;
		f->line = nl - buf + 1;
		/* The blank line may start with the start line's CRLF. */
		f->scan = nl - buf - 1;
	}
	blank = find_crlfcrlf(buf + f->scan, scan - f->scan);
	if (!blank) {
		if (scan - f->scan > 3)
			f->scan = scan - 3;
		return len >= max_message ? -EBADMSG : 0;
	}
	hdr = blank - buf + 4;
	if (f->line > hdr - 2)
		cl = 0; /* a start line and no headers at all */
	else
		cl = content_length(buf + f->line, hdr - 2 - f->line);
	if (cl < 0 || hdr + (size_t)cl > max_message)
		return -EBADMSG;
	f->total = hdr + cl;
	return len < f->total ? 0 : (long)f->total;
}

long vq_sip_frame_len(const uint8_t *buf, size_t len, size_t max_message)
{
	struct sip_frame f = { 0 };

	return frame_step(buf, len, max_message, &f);
}

/*
 * Offset of the first complete line of @b that is a SIP start line, with
 * *found set; otherwise the offset of the trailing partial line, which may
 * still become one. The first @from bytes are known to hold no LF.
 */
static size_t resync_scan(const uint8_t *b, size_t len, size_t from,
			  bool *found)
{
	size_t pos = 0;

	for (;;) {
		const uint8_t *nl = memchr(b + from, '\n', len - from);
		size_t eol, n;

		if (!nl) {
			*found = false;
			return pos;
		}
		eol = nl - b;
		n = eol - pos;
		if (n && b[eol - 1] == '\r')
			n--;
		if (is_start_line(b + pos, n)) {
			*found = true;
			return pos;
		}
		pos = from = eol + 1;
	}
}

/* --- the byte budget -------------------------------------------------- */

static void conn_drop(struct vq_reasm *r, struct tcp_conn *c);

static size_t conn_held(const struct tcp_conn *c)
{
	return (size_t)c->dir[0].cap + c->dir[0].ooo_bytes + c->dir[1].cap +
	       c->dir[1].ooo_bytes;
}

/* The connection of @l holding most, other than the one being fed. */
static struct tcp_conn *lru_largest(const struct vq_reasm *r,
				    const struct conn_lru *l)
{
	struct tcp_conn *best = NULL, *c;
	size_t most = 0;

	for (c = l->oldest; c; c = c->newer) {
		size_t n = conn_held(c);

		if (c != r->cur && n > most) {
			best = c;
			most = n;
		}
	}
	return best;
}

/*
 * Account @n more bytes held, dropping other connections while that would
 * exceed max_total. -ENOSPC when only the one being fed is left to drop.
 */
static int budget_take(struct vq_reasm *r, size_t n)
{
	while (r->held + n > r->cfg.max_total) {
		struct tcp_conn *v = lru_largest(r, &r->unframed);

		if (!v)
			v = lru_largest(r, &r->framed);
		if (!v)
			return -ENOSPC;
		conn_drop(r, v);
		r->st->tcp_budget_evicted++;
	}
	r->held += n;
	return 0;
}

/* --- one direction ---------------------------------------------------- */

static void dir_free_buf(struct vq_reasm *r, struct tcp_dir *t)
{
	r->held -= t->cap;
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

static void dir_reset(struct vq_reasm *r, struct tcp_dir *t)
{
	for (unsigned int i = 0; i < t->nooo; i++)
		free(t->ooo[i].data);
	r->held -= t->ooo_bytes;
	dir_free_buf(r, t);
	memset(t, 0, sizeof(*t));
}

/* Give the in-order bytes up and wait for the next start line. */
static void dir_discard(struct vq_reasm *r, struct tcp_dir *t)
{
	dir_free_buf(r, t);
	t->resync = true;
	memset(&t->fs, 0, sizeof(t->fs));
}

/* Buffer size for @need bytes: a power of two from BUF_MIN, or max_buffer. */
static uint32_t buf_size(const struct vq_reasm *r, uint32_t need)
{
	uint32_t cap = BUF_MIN;

	while (cap < need)
		cap *= 2;
	return cap < r->cfg.max_buffer ? cap : r->cfg.max_buffer;
}

/* After framing: free an empty buffer, shrink one four times too big. */
static void dir_fit(struct vq_reasm *r, struct tcp_dir *t)
{
	uint32_t cap = buf_size(r, t->len);
	uint8_t *buf;

	if (!t->len) {
		dir_free_buf(r, t);
		return;
	}
	if (cap > t->cap / 4)
		return;
	buf = realloc(t->buf, cap);
	if (!buf)
		return; /* the bigger one still works */
	r->held -= t->cap - cap;
	t->buf = buf;
	t->cap = cap;
}

/*
 * Deliver the messages complete in the buffer. t->fs carries over between
 * calls, for the bytes at t->buf: whenever the start moves on, it restarts.
 */
static void dir_frame(struct vq_reasm *r, struct tcp_dir *t,
		      const struct vq_pkt_meta *m)
{
	size_t pos = 0, start;

	for (;;) {
		const uint8_t *nl;
		long n;

		if (t->resync) {
			bool found;
			size_t at = resync_scan(t->buf + pos, t->len - pos,
						t->fs.scan, &found);

			pos += at;
			if (at)
				memset(&t->fs, 0, sizeof(t->fs));
			if (!found) {
				/* No start line is this long: don't hoard it. */
				if (t->len - pos > r->cfg.max_message)
					pos = t->len;
				t->fs.scan = t->len - pos;
				break;
			}
			t->resync = false;
			memset(&t->fs, 0, sizeof(t->fs));
		}
		/* CRLF keepalives (RFC 5626) between messages. */
		start = pos;
		while (pos < t->len &&
		       (t->buf[pos] == '\r' || t->buf[pos] == '\n'))
			pos++;
		if (pos != start)
			memset(&t->fs, 0, sizeof(t->fs));
		if (pos == t->len)
			break;
		n = frame_step(t->buf + pos, t->len - pos, r->cfg.max_message,
			       &t->fs);
		if (n == 0)
			break;
		memset(&t->fs, 0, sizeof(t->fs));
		if (n < 0) {
			r->st->sip_bad_framing++;
			t->resync = true;
			/* Step past this start line or the scan finds it again. */
			nl = memchr(t->buf + pos, '\n', t->len - pos);
			pos = nl ? (size_t)(nl - t->buf) + 1 : t->len;
			continue;
		}
		r->st->tcp_sip++;
		r->cur->framed = true;
		r->deliver(r->ctx, m, t->buf + pos, n);
		pos += n;
	}
	if (pos) {
		memmove(t->buf, t->buf + pos, t->len - pos);
		t->len -= pos;
		dir_fit(r, t);
	}
}

/* Room for @need in-order bytes: 0, -ENOSPC over max_total, or -ENOMEM. */
static int dir_reserve(struct vq_reasm *r, struct tcp_dir *t, uint32_t need)
{
	uint32_t cap = buf_size(r, need);
	uint8_t *buf;
	int err;

	if (need <= t->cap)
		return 0;
	err = budget_take(r, cap - t->cap);
	if (err)
		return err;
	buf = realloc(t->buf, cap);
	if (!buf) {
		r->held -= cap - t->cap;
		return -ENOMEM;
	}
	t->buf = buf;
	t->cap = cap;
	return 0;
}

/* Append in-order bytes, framing as the buffer fills. */
static int dir_append(struct vq_reasm *r, struct tcp_dir *t,
		      const struct vq_pkt_meta *m, const uint8_t *data,
		      size_t len)
{
	while (len) {
		uint32_t budget = r->cfg.max_buffer > t->ooo_bytes ?
				  r->cfg.max_buffer - t->ooo_bytes : 0;
		uint32_t room = budget > t->len ? budget - t->len : 0;
		uint32_t chunk;
		int err;

		if (!room) {
			/* Nothing framed in a full buffer: give it up. */
			r->st->tcp_overflow++;
			dir_discard(r, t);
			room = budget;
			if (!room)
				return 0;
		}
		chunk = len < room ? len : room;
		err = dir_reserve(r, t, t->len + chunk);
		if (err == -ENOSPC) {
			/* This stream alone fills max_total: drop it all. */
			r->st->tcp_overflow++;
			dir_discard(r, t);
			return 0;
		}
		if (err)
			return err;
		memcpy(t->buf + t->len, data, chunk);
		t->len += chunk;
		data += chunk;
		len -= chunk;
		dir_frame(r, t, m);
	}
	return 0;
}

/* Append held segments that the in-order data has now reached. */
static int dir_drain(struct vq_reasm *r, struct tcp_dir *t,
		     const struct vq_pkt_meta *m)
{
	unsigned int i = 0;
	int err = 0;

	while (i < t->nooo) {
		struct ooo_seg s = t->ooo[i];
		int32_t rel = (int32_t)(s.seq - t->next_seq);
		uint32_t old;

		if (rel > 0) {
			i++;
			continue;
		}
		t->ooo[i] = t->ooo[--t->nooo];
		t->ooo_bytes -= s.len;
		r->held -= s.len;
		old = (uint32_t)-(int64_t)rel;
		if (old < s.len && !err) {
			t->next_seq += s.len - old;
			err = dir_append(r, t, m, s.data + old, s.len - old);
		}
		free(s.data);
		i = 0; /* the next one may now be in order */
	}
	return err;
}

static int dir_hold(struct vq_reasm *r, struct tcp_dir *t, uint32_t seq,
		    const uint8_t *data, size_t len)
{
	struct ooo_seg *s;

	for (unsigned int i = 0; i < t->nooo; i++)
		if (t->ooo[i].seq == seq && t->ooo[i].len >= len)
			return 0; /* retransmitted */
	if (t->nooo == VQ_REASM_MAX_OOO ||
	    (uint64_t)t->len + t->ooo_bytes + len > r->cfg.max_buffer ||
	    budget_take(r, len))
		return -ENOSPC;
	s = &t->ooo[t->nooo];
	s->data = malloc(len);
	if (!s->data) {
		r->held -= len;
		return -ENOMEM;
	}
	memcpy(s->data, data, len);
	s->seq = seq;
	s->len = len;
	t->nooo++;
	t->ooo_bytes += len;
	return 0;
}

/* Give up on the hole before the earliest byte we hold or just got. */
static int dir_skip_hole(struct vq_reasm *r, struct tcp_dir *t,
			 const struct vq_pkt_meta *m, uint32_t seq)
{
	uint32_t first = seq;

	for (unsigned int i = 0; i < t->nooo; i++)
		if ((int32_t)(t->ooo[i].seq - first) < 0)
			first = t->ooo[i].seq;
	r->st->tcp_gaps++;
	dir_discard(r, t);
	t->next_seq = first;
	return dir_drain(r, t, m);
}

static int dir_data(struct vq_reasm *r, struct tcp_dir *t,
		    const struct vq_pkt_meta *m, uint32_t seq,
		    const uint8_t *data, size_t len)
{
	int32_t rel;
	int err;

	for (int pass = 0; pass < 2; pass++) {
		rel = (int32_t)(seq - t->next_seq);
		if (rel <= 0) {
			uint32_t old = (uint32_t)-(int64_t)rel;

			if (old >= len)
				return 0; /* retransmission of what we have */
			t->next_seq += len - old;
			err = dir_append(r, t, m, data + old, len - old);
			if (err)
				return err;
			return dir_drain(r, t, m);
		}
		err = dir_hold(r, t, seq, data, len);
		if (err != -ENOSPC)
			return err;
		if (pass == 0) {
			err = dir_skip_hole(r, t, m, seq);
			if (err)
				return err;
		}
	}
	r->st->tcp_overflow++;
	return 0;
}

/* --- connections ------------------------------------------------------ */

static uint32_t conn_hash(const struct vq_endpoint *a,
			  const struct vq_endpoint *b)
{
	return vq_endpoint_hash(a) * 31 + vq_endpoint_hash(b);
}

static struct tcp_conn **bucket_of(struct vq_reasm *r,
				   const struct vq_endpoint *a,
				   const struct vq_endpoint *b)
{
	return &r->buckets[conn_hash(a, b) & (r->nbuckets - 1)];
}

static void lru_unlink(struct tcp_conn *c)
{
	struct conn_lru *l = c->lru;

	if (c->older)
		c->older->newer = c->newer;
	else
		l->oldest = c->newer;
	if (c->newer)
		c->newer->older = c->older;
	else
		l->newest = c->older;
	c->older = c->newer = NULL;
	c->lru = NULL;
}

/* Make @c the most recent of the list its state puts it in. */
static void lru_touch(struct vq_reasm *r, struct tcp_conn *c)
{
	struct conn_lru *l = c->framed ? &r->framed : &r->unframed;

	if (c->lru)
		lru_unlink(c);
	c->lru = l;
	c->older = l->newest;
	c->newer = NULL;
	if (l->newest)
		l->newest->newer = c;
	else
		l->oldest = c;
	l->newest = c;
}

static void conn_drop(struct vq_reasm *r, struct tcp_conn *c)
{
	struct tcp_conn **pp = bucket_of(r, &c->a, &c->b);

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	lru_unlink(c);
	dir_reset(r, &c->dir[0]);
	dir_reset(r, &c->dir[1]);
	free(c);
	r->count--;
}

struct vq_reasm *vq_reasm_new(const struct vq_reasm_cfg *cfg,
			      struct vq_pkt_stats *st,
			      vq_reasm_deliver_fn deliver, void *ctx)
{
	struct vq_reasm *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	if (!r->cfg.max_streams)
		r->cfg.max_streams = 1;
	if (!r->cfg.max_total)
		r->cfg.max_total = VQ_REASM_MAX_TOTAL;
	/* Both directions of the stream being fed always fit. */
	if (r->cfg.max_buffer > r->cfg.max_total / 2)
		r->cfg.max_buffer = r->cfg.max_total / 2;
	if (!r->cfg.unframed_timeout_ms)
		r->cfg.unframed_timeout_ms = VQ_REASM_UNFRAMED_TIMEOUT_MS;
	if (r->cfg.unframed_timeout_ms > r->cfg.timeout_ms)
		r->cfg.unframed_timeout_ms = r->cfg.timeout_ms;
	r->timeout_ns = (uint64_t)cfg->timeout_ms * 1000000;
	r->unframed_timeout_ns = (uint64_t)r->cfg.unframed_timeout_ms * 1000000;
	r->st = st;
	r->deliver = deliver;
	r->ctx = ctx;
	r->nbuckets = 16;
	while (r->nbuckets < r->cfg.max_streams && r->nbuckets < (1u << 20))
		r->nbuckets <<= 1;
	r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	if (!r->buckets) {
		free(r);
		return NULL;
	}
	return r;
}

void vq_reasm_free(struct vq_reasm *r)
{
	if (!r)
		return;
	while (r->unframed.oldest)
		conn_drop(r, r->unframed.oldest);
	while (r->framed.oldest)
		conn_drop(r, r->framed.oldest);
	free(r->buckets);
	free(r);
}

static struct tcp_conn *conn_find(struct vq_reasm *r,
				  const struct vq_endpoint *a,
				  const struct vq_endpoint *b)
{
	struct tcp_conn *c;

	for (c = *bucket_of(r, a, b); c; c = c->hnext)
		if (vq_endpoint_eq(&c->a, a) && vq_endpoint_eq(&c->b, b))
			return c;
	return NULL;
}

static struct tcp_conn *conn_create(struct vq_reasm *r,
				    const struct vq_endpoint *a,
				    const struct vq_endpoint *b)
{
	struct tcp_conn **pp, *c;

	if (r->count >= r->cfg.max_streams) {
		/* Streams that carried SIP go last. */
		struct tcp_conn *v =
		    r->unframed.oldest ? r->unframed.oldest : r->framed.oldest;

		conn_drop(r, v);
		r->st->tcp_evicted++;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->a = *a;
	c->b = *b;
	pp = bucket_of(r, a, b);
	c->hnext = *pp;
	*pp = c;
	lru_touch(r, c);
	r->count++;
	r->st->tcp_streams++;
	return c;
}

int vq_reasm_segment(struct vq_reasm *r, const struct vq_pkt_meta *m,
		     uint32_t seq, uint8_t flags, const uint8_t *data,
		     size_t len)
{
	bool forward = memcmp(&m->src, &m->dst, sizeof(m->src)) <= 0;
	const struct vq_endpoint *a = forward ? &m->src : &m->dst;
	const struct vq_endpoint *b = forward ? &m->dst : &m->src;
	struct tcp_conn *c = conn_find(r, a, b);
	struct tcp_dir *t;
	int err = 0;

	if (flags & VQ_TCP_RST) {
		if (c)
			conn_drop(r, c);
		return 0;
	}
	if (!c) {
		/* A bare ACK or FIN tells us nothing worth a slot. */
		if (!len && !(flags & VQ_TCP_SYN))
			return 0;
		c = conn_create(r, a, b);
		if (!c)
			return -ENOMEM;
	}
	if (m->ts_ns > c->last_ns)
		c->last_ns = m->ts_ns;
	r->cur = c;

	t = &c->dir[forward ? 0 : 1];
	if (flags & VQ_TCP_SYN) {
		if (!t->have_isn || t->isn != seq) {
			/* A new connection on the same 4-tuple. */
			dir_reset(r, t);
			t->have_isn = true;
			t->isn = seq;
			t->synced = true;
			t->next_seq = seq + 1;
		}
		seq++;
	}
	if (!t->synced && len) {
		/* Joined mid-stream: start at the next message. */
		t->synced = true;
		t->resync = true;
		t->next_seq = seq;
	}
	if (len)
		err = dir_data(r, t, m, seq, data, len);
	r->cur = NULL;
	lru_touch(r, c);
	if (flags & VQ_TCP_FIN)
		t->fin = true;
	if (c->dir[0].fin && c->dir[1].fin)
		conn_drop(r, c);
	return err;
}

static void lru_expire(struct vq_reasm *r, struct conn_lru *l,
		       uint64_t timeout_ns, uint64_t now_ns)
{
	while (l->oldest && l->oldest->last_ns + timeout_ns <= now_ns)
		conn_drop(r, l->oldest);
}

void vq_reasm_expire(struct vq_reasm *r, uint64_t now_ns)
{
	lru_expire(r, &r->unframed, r->unframed_timeout_ns, now_ns);
	lru_expire(r, &r->framed, r->timeout_ns, now_ns);
}

unsigned int vq_reasm_count(const struct vq_reasm *r)
{
	return r->count;
}

size_t vq_reasm_held(const struct vq_reasm *r)
{
	return r->held;
}
