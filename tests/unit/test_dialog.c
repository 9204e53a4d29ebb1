// SPDX-License-Identifier: GPL-2.0
/*
 * The SIP corpus: every file in tests/data/sip/ is a scenario, a sequence
 * of SIP messages with checkpoints that state the exact endpoint set (and
 * call state) the tracker must hold at that point. The format:
 *
 *   # comment
 *   >>> t=1.5                 a message seen at 1.5 s; text up to the next
 *   INVITE sip:... SIP/2.0    marker, LF line ends become CRLF, and a
 *   Content-Length: *         "Content-Length: *" is filled in
 *   === expect                the endpoint set is exactly these lines:
 *   192.0.2.10 4000 rtp offer     addr port kind side
 *   === expect-none           the endpoint set is empty
 *   === state confirmed       state of the most recently created call
 *   === expire 40             run expiry at t = 40 s
 *   === stat invalid 1        a tracker counter has this value
 *   === orphan-bye CALL-ID    the latest BYE for a call the tracker does
 *                             not hold had this Call-ID ("-": none yet)
 *   === registered 1          2xx answers to REGISTER reported so far
 *   === config max_endpoints 4  a cap other than the default (max_calls,
 *                             max_endpoints), before the first message
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "suites.h"

#define CORPUS VQ_TESTDATA "/sip"

struct scenario {
	const char *file;
	struct vq_tracker *t;
	char last_state[16];
	unsigned int lineno;
	unsigned int events;
	char orphan_bye[128];
	unsigned int registered;
};

static void on_call(void *ctx, const struct vq_call_event *ev)
{
	struct scenario *sc = ctx;

	if (ev->type == VQ_CALL_NEW || ev->type == VQ_CALL_STATE)
		snprintf(sc->last_state, sizeof(sc->last_state), "%s",
			 vq_call_state_str(ev->call->state));
}

static int on_ep(void *ctx, const struct vq_ep_event *ev)
{
	struct scenario *sc = ctx;

	sc->events++;
	return 0;
}

static void on_orphan_bye(void *ctx, const char *call_id, uint64_t ts_ns)
{
	struct scenario *sc = ctx;

	(void)ts_ns;
	snprintf(sc->orphan_bye, sizeof(sc->orphan_bye), "%s", call_id);
}

static void on_registered(void *ctx, uint64_t ts_ns)
{
	struct scenario *sc = ctx;

	(void)ts_ns;
	sc->registered++;
}

static const struct vq_tracker_ops ops = {
	.ep_event = on_ep,
	.call_event = on_call,
	.orphan_bye = on_orphan_bye,
	.registered = on_registered,
};

static int collect(void *arg, const struct vq_media_ep *mep, unsigned int refs)
{
	char ***lines = arg, addr[VQ_ADDRSTRLEN], buf[128];

	snprintf(buf, sizeof(buf), "%s %u %s %s",
		 vq_addr_str(&mep->ep, addr, sizeof(addr)), mep->ep.port,
		 vq_ep_kind_str(mep->kind), vq_ep_side_str(mep->side));
	**lines = strdup(buf);
	(*lines)++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The calls' own view of their endpoints and the endpoint set the backend
 * sees must agree, reference by reference: nothing leaked, nothing missing.
 */
static void check_calls_match_set(struct scenario *sc)
{
	ck_assert_msg(vq_tracker_refs_match(sc->t),
		      "%s:%u: the calls' references differ from the endpoint "
		      "set's (%u endpoints)", sc->file, sc->lineno,
		      vq_epset_count(vq_tracker_epset(sc->t)));
}

/* Compare the endpoint set with the expected lines, both sorted. */
static void check_set(struct scenario *sc, char **want, unsigned int n_want)
{
	const struct vq_epset *s = vq_tracker_epset(sc->t);
	unsigned int n = vq_epset_count(s);
	char **got = calloc(n + 1, sizeof(*got)), **p = got;
	char gotbuf[2048] = "", wantbuf[2048] = "";

	vq_epset_for_each(s, collect, &p);
	qsort(got, n, sizeof(*got), cmp_str);
	qsort(want, n_want, sizeof(*want), cmp_str);
	for (unsigned int i = 0; i < n; i++) {
		strncat(gotbuf, got[i], sizeof(gotbuf) - strlen(gotbuf) - 2);
		strcat(gotbuf, "\n");
	}
	for (unsigned int i = 0; i < n_want; i++) {
		strncat(wantbuf, want[i], sizeof(wantbuf) - strlen(wantbuf) - 2);
		strcat(wantbuf, "\n");
	}
	ck_assert_msg(!strcmp(gotbuf, wantbuf),
		      "%s:%u: endpoint set differs\n--- want\n%s--- got\n%s",
		      sc->file, sc->lineno, wantbuf, gotbuf);
	for (unsigned int i = 0; i < n; i++)
		free(got[i]);
	free(got);
	check_calls_match_set(sc);
}

/*
 * CRLF line ends, a blank line after the headers, and a computed length
 * for "Content-Length: *". Trailing blank lines of the text are dropped.
 */
static size_t finish_message(const char *text, char *out, size_t outlen)
{
	size_t len = strlen(text), n = 0, o = 0, body_len = 0;
	char *tmp = malloc(2 * len + 8), *sep;
	char clen[24];

	while (len && text[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			tmp[n++] = '\r';
		tmp[n++] = text[i];
	}
	tmp[n++] = '\r';
	tmp[n++] = '\n';
	tmp[n] = '\0';
	sep = strstr(tmp, "\r\n\r\n");
	if (sep) {
		body_len = n - (size_t)(sep + 4 - tmp);
	} else {
		tmp[n++] = '\r';
		tmp[n++] = '\n';
		tmp[n] = '\0';
	}
	snprintf(clen, sizeof(clen), "Content-Length: %zu", body_len);
	for (const char *p = tmp; *p && o + sizeof(clen) < outlen; p++) {
		if (!strncmp(p, "Content-Length: *", 17) &&
		    (p == tmp || p[-1] == '\n')) {
			o += (size_t)snprintf(out + o, outlen - o, "%s", clen);
			p += 16;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	free(tmp);
	return o;
}

static void send_message(struct scenario *sc, const char *text, double t)
{
	static char wire[65536];
	size_t len = finish_message(text, wire, sizeof(wire));

	vq_tracker_input(sc->t, (const uint8_t *)wire, len,
			 (uint64_t)(t * 1e9));
}

static void run_scenario(const char *path, const char *name)
{
	struct vq_tracker_cfg cfg;
	struct scenario sc = { .file = name };
	char line[1024], *msg = calloc(1, 65536), *want[64];
	unsigned int n_want = 0, msg_line = 0;
	enum { NONE, MESSAGE, EXPECT } mode = NONE;
	double t = 0, msg_t = 0;
	FILE *f = fopen(path, "r");

	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	vq_tracker_cfg_init(&cfg);
	sc.t = vq_tracker_new(&cfg, &ops, &sc);
	ck_assert_ptr_nonnull(sc.t);

	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);
		bool marker = eof || !strncmp(line, ">>>", 3) ||
			      !strncmp(line, "===", 3);

		if (!eof)
			sc.lineno++;
		if (marker || (mode == EXPECT && line[0] == '\n')) {
			if (mode == MESSAGE && msg[0]) {
				unsigned int save = sc.lineno;

				sc.lineno = msg_line;
				send_message(&sc, msg, msg_t);
				sc.lineno = save;
			} else if (mode == EXPECT) {
				check_set(&sc, want, n_want);
				for (unsigned int i = 0; i < n_want; i++)
					free(want[i]);
				n_want = 0;
			}
			mode = NONE;
		}
		if (eof)
			break;
		if (!strncmp(line, ">>>", 3)) {
			char *ts = strstr(line, "t=");

			if (ts)
				t = strtod(ts + 2, NULL);
			msg_t = t;
			msg[0] = '\0';
			msg_line = sc.lineno;
			mode = MESSAGE;
		} else if (!strncmp(line, "=== expect-none", 15)) {
			check_set(&sc, want, 0);
		} else if (!strncmp(line, "=== expect", 10)) {
			mode = EXPECT;
		} else if (!strncmp(line, "=== state ", 10)) {
			line[strcspn(line, "\n")] = '\0';
			ck_assert_msg(!strcmp(sc.last_state, line + 10),
				      "%s:%u: state %s, want %s", name,
				      sc.lineno, sc.last_state, line + 10);
		} else if (!strncmp(line, "=== orphan-bye ", 15)) {
			const char *want_id = line + 15;

			line[strcspn(line, "\n")] = '\0';
			ck_assert_msg(!strcmp(sc.orphan_bye[0] ? sc.orphan_bye : "-",
					      want_id),
				      "%s:%u: orphan BYE for '%s', want '%s'", name,
				      sc.lineno, sc.orphan_bye, want_id);
		} else if (!strncmp(line, "=== registered ", 15)) {
			unsigned int want_n = (unsigned int)strtoul(line + 15, NULL, 10);

			ck_assert_msg(sc.registered == want_n,
				      "%s:%u: %u registrations reported, want %u",
				      name, sc.lineno, sc.registered, want_n);
		} else if (!strncmp(line, "=== config ", 11)) {
			char key[32];
			unsigned int v;

			ck_assert_int_eq(sscanf(line + 11, "%31s %u", key, &v), 2);
			ck_assert_msg(!vq_tracker_stats(sc.t)->messages,
				      "%s:%u: config after a message", name,
				      sc.lineno);
			if (!strcmp(key, "max_calls"))
				cfg.max_calls = v;
			else if (!strcmp(key, "max_endpoints"))
				cfg.max_endpoints = v;
			else
				ck_abort_msg("%s:%u: unknown config %s", name,
					     sc.lineno, key);
			vq_tracker_free(sc.t);
			sc.t = vq_tracker_new(&cfg, &ops, &sc);
			ck_assert_ptr_nonnull(sc.t);
		} else if (!strncmp(line, "=== expire ", 11)) {
			t = strtod(line + 11, NULL);
			vq_tracker_expire(sc.t, (uint64_t)(t * 1e9));
		} else if (!strncmp(line, "=== stat ", 9)) {
			const struct vq_tracker_stats *st = vq_tracker_stats(sc.t);
			char field[32];
			unsigned long long v, got;

			ck_assert_int_eq(sscanf(line + 9, "%31s %llu", field, &v), 2);
			if (!strcmp(field, "invalid"))
				got = st->invalid;
			else if (!strcmp(field, "skipped"))
				got = st->skipped;
			else if (!strcmp(field, "parsed"))
				got = st->parsed;
			else if (!strcmp(field, "sdp_invalid"))
				got = st->sdp_invalid;
			else if (!strcmp(field, "calls_active"))
				got = st->calls_active;
			else if (!strcmp(field, "calls_created"))
				got = st->calls_created;
			else if (!strcmp(field, "calls_evicted"))
				got = st->calls_evicted;
			else if (!strcmp(field, "calls_refused"))
				got = st->calls_refused;
			else if (!strcmp(field, "orphans"))
				got = st->orphans;
			else if (!strcmp(field, "retransmissions"))
				got = st->retransmissions;
			else if (!strcmp(field, "calls_ended"))
				got = st->calls_ended;
			else if (!strcmp(field, "calls_expired"))
				got = st->calls_expired;
			else
				ck_abort_msg("%s:%u: unknown stat %s", name,
					     sc.lineno, field);
			ck_assert_msg(got == v, "%s:%u: %s = %llu, want %llu",
				      name, sc.lineno, field, got, v);
		} else if (mode == MESSAGE) {
			if (strlen(msg) + strlen(line) < 65535)
				strcat(msg, line);
		} else if (mode == EXPECT) {
			line[strcspn(line, "\n")] = '\0';
			ck_assert_uint_lt(n_want, 64);
			want[n_want++] = strdup(line);
		} else if (line[0] != '#' && line[0] != '\n') {
			ck_abort_msg("%s:%u: stray line: %s", name, sc.lineno, line);
		}
	}
	fclose(f);
	free(msg);
	vq_tracker_free(sc.t);
}

/* --- calls built in code: floods too large for a scenario file --------- */

static struct scenario *tracker_open(unsigned int max_calls,
				     unsigned int max_endpoints)
{
	static struct scenario sc;
	struct vq_tracker_cfg cfg;

	vq_tracker_cfg_init(&cfg);
	if (max_calls)
		cfg.max_calls = max_calls;
	if (max_endpoints)
		cfg.max_endpoints = max_endpoints;
	sc = (struct scenario){ .file = "built" };
	sc.t = vq_tracker_new(&cfg, &ops, &sc);
	ck_assert_ptr_nonnull(sc.t);
	return &sc;
}

static void sendf(struct scenario *sc, double t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sendf(struct scenario *sc, double t, const char *fmt, ...)
{
	static char text[65536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	send_message(sc, text, t);
}

/* An SDP from @addr with @n audio streams on ports @port, @port + 2, ... */
static const char *sdp_body(const char *addr, unsigned int port, unsigned int n)
{
	static char body[4096];
	int o = snprintf(body, sizeof(body),
			 "v=0\no=- 1 1 IN IP4 %s\ns=-\nc=IN IP4 %s\nt=0 0\n",
			 addr, addr);

	for (unsigned int i = 0; i < n; i++)
		o += snprintf(body + o, sizeof(body) - (size_t)o,
			      "m=audio %u RTP/AVP 0\n", port + 2 * i);
	return body;
}

#define CALL_HDRS "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-%s\n" \
	"From: <sip:alice@192.0.2.10>;tag=a-%s\n"

/* An initial INVITE for call @id, with an SDP when @body is not NULL. */
static void invite(struct scenario *sc, double t, const char *id,
		   const char *body)
{
	sendf(sc, t, "INVITE sip:bob@198.51.100.20 SIP/2.0\n" CALL_HDRS
	      "To: <sip:bob@198.51.100.20>\nCall-ID: %s\nCSeq: 1 INVITE\n"
	      "%sContent-Length: *\n\n%s", id, id, id,
	      body ? "Content-Type: application/sdp\n" : "", body ? body : "");
}

/* A response to call @id's INVITE, from the callee tagged b-@id. */
static void respond(struct scenario *sc, double t, const char *id,
		    unsigned int status, const char *body)
{
	sendf(sc, t, "SIP/2.0 %u Whatever\n" CALL_HDRS
	      "To: <sip:bob@198.51.100.20>;tag=b-%s\nCall-ID: %s\n"
	      "CSeq: 1 INVITE\n%sContent-Length: *\n\n%s", status, id, id,
	      id, id, body ? "Content-Type: application/sdp\n" : "",
	      body ? body : "");
}

/* A call in conversation: caller @addr:4000, callee @addr:5000, RTCP +1. */
static void confirmed_call(struct scenario *sc, double t, const char *id,
			   const char *addr)
{
	invite(sc, t, id, sdp_body(addr, 4000, 1));
	respond(sc, t + 0.5, id, 200, sdp_body(addr, 5000, 1));
	sendf(sc, t + 0.6, "ACK sip:bob@198.51.100.20 SIP/2.0\n" CALL_HDRS
	      "To: <sip:bob@198.51.100.20>;tag=b-%s\nCall-ID: %s\n"
	      "CSeq: 1 ACK\nContent-Length: 0\n", id, id, id, id);
}

struct ep_probe {
	struct vq_endpoint ep;
	bool found;
};

static int probe_ep(void *arg, const struct vq_media_ep *mep, unsigned int refs)
{
	struct ep_probe *p = arg;

	(void)refs;
	p->found |= vq_endpoint_eq(&p->ep, &mep->ep);
	return 0;
}

static bool has_ep(struct scenario *sc, const char *addr, uint16_t port)
{
	struct ep_probe p = { .found = false };

	ck_assert_int_eq(vq_addr_parse(&p.ep, addr), 0);
	p.ep.port = port;
	p.ep.proto = IPPROTO_UDP;
	vq_epset_for_each(vq_tracker_epset(sc->t), probe_ep, &p);
	return p.found;
}

/* Both parties' RTP and RTCP, as confirmed_call() set them up. */
static bool has_call_eps(struct scenario *sc, const char *addr)
{
	return has_ep(sc, addr, 4000) && has_ep(sc, addr, 4001) &&
	       has_ep(sc, addr, 5000) && has_ep(sc, addr, 5001);
}

/*
 * @n INVITEs from an internet scanner, each a call of its own, from
 * 10.0.x.y with @streams streams each (none: no SDP).
 */
static void scan(struct scenario *sc, unsigned int n, unsigned int streams)
{
	char id[32], addr[32];

	for (unsigned int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "scan-%u", i);
		snprintf(addr, sizeof(addr), "10.0.%u.%u", i / 256 % 256, i % 256);
		invite(sc, 10 + i * 0.001, id,
		       streams ? sdp_body(addr, 6000, streams) : NULL);
	}
}

/*
 * More scanner INVITEs than max_calls: they give way to each other, not to
 * a call in conversation (which sends no SIP, so it is the least recently
 * active call).
 */
START_TEST(scanner_invites_do_not_evict_confirmed_call)
{
	struct scenario *sc = tracker_open(0, 0);
	const struct vq_tracker_stats *st = vq_tracker_stats(sc->t);

	confirmed_call(sc, 0, "live", "192.0.2.10");
	scan(sc, 4096, 0);
	ck_assert(has_call_eps(sc, "192.0.2.10"));
	ck_assert_uint_eq(vq_epset_count(vq_tracker_epset(sc->t)), 4);
	ck_assert_uint_eq(st->calls_created, 4097);
	ck_assert_uint_eq(st->calls_evicted, 1); /* the first scanner call */
	ck_assert_uint_eq(st->calls_refused, 0);
	check_calls_match_set(sc);
	vq_tracker_free(sc->t);
}
END_TEST

/* The same with SDPs: the endpoint cap makes room from scanner calls. */
START_TEST(scanner_offers_do_not_evict_confirmed_call_endpoints)
{
	struct scenario *sc = tracker_open(0, 0);
	const struct vq_tracker_stats *st = vq_tracker_stats(sc->t);

	confirmed_call(sc, 0, "live", "192.0.2.10");
	scan(sc, 2048, 8); /* 8 endpoints each kept: 16384 in all */
	ck_assert(has_call_eps(sc, "192.0.2.10"));
	ck_assert(has_ep(sc, "10.0.7.255", 6000)); /* the newest got in */
	ck_assert_uint_eq(vq_epset_count(vq_tracker_epset(sc->t)), 16380);
	ck_assert_uint_eq(st->calls_evicted, 1); /* the first scanner call */
	vq_tracker_free(sc->t);
}
END_TEST

/* Only confirmed calls left at the cap: the new call is refused, counted. */
START_TEST(confirmed_calls_at_cap_refuse_new_call)
{
	struct scenario *sc = tracker_open(16, 0);
	const struct vq_tracker_stats *st = vq_tracker_stats(sc->t);
	char id[32], addr[32];

	for (unsigned int i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "up-%u", i);
		snprintf(addr, sizeof(addr), "192.0.2.%u", 10 + i);
		confirmed_call(sc, i, id, addr);
	}
	invite(sc, 100, "new", sdp_body("203.0.113.5", 4000, 1));
	ck_assert_uint_eq(st->calls_refused, 1);
	ck_assert_uint_eq(st->calls_evicted, 0);
	ck_assert_uint_eq(st->calls_created, 16);
	ck_assert(!has_ep(sc, "203.0.113.5", 4000));
	for (unsigned int i = 0; i < 16; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%u", 10 + i);
		ck_assert_msg(has_call_eps(sc, addr), "%s lost its media", addr);
	}
	check_calls_match_set(sc);
	vq_tracker_free(sc->t);
}
END_TEST

/*
 * At the call cap, tombstones go first, then calls without a response, then
 * early calls, however recently each was active; confirmed calls stay.
 */
START_TEST(eviction_order_ended_then_calling_then_early)
{
	struct scenario *sc = tracker_open(4, 0);
	const struct vq_tracker_stats *st = vq_tracker_stats(sc->t);

	confirmed_call(sc, 0, "up", "192.0.2.10");
	invite(sc, 1, "early", sdp_body("192.0.2.20", 4000, 1));
	respond(sc, 1.1, "early", 183, sdp_body("192.0.2.20", 5000, 1));
	invite(sc, 2, "calling", sdp_body("192.0.2.30", 4000, 1));
	invite(sc, 3, "ended", sdp_body("192.0.2.40", 4000, 1));
	respond(sc, 3.1, "ended", 486, NULL);
	ck_assert_uint_eq(vq_epset_count(vq_tracker_epset(sc->t)), 10);

	invite(sc, 4, "new-1", NULL); /* the tombstone goes, not counted */
	ck_assert_uint_eq(st->calls_evicted, 0);
	ck_assert(has_ep(sc, "192.0.2.30", 4000));
	invite(sc, 5, "new-2", NULL); /* then the unanswered call */
	ck_assert_uint_eq(st->calls_evicted, 1);
	ck_assert(!has_ep(sc, "192.0.2.30", 4000));
	ck_assert(has_ep(sc, "192.0.2.20", 5000));
	respond(sc, 6, "new-1", 180, NULL);
	respond(sc, 6.1, "new-2", 180, NULL);
	invite(sc, 7, "new-3", NULL); /* then the oldest early call */
	ck_assert_uint_eq(st->calls_evicted, 2);
	ck_assert(!has_ep(sc, "192.0.2.20", 4000));
	ck_assert(!has_ep(sc, "192.0.2.20", 5000));
	ck_assert(has_call_eps(sc, "192.0.2.10"));
	ck_assert_uint_eq(st->calls_refused, 0);
	check_calls_match_set(sc);
	vq_tracker_free(sc->t);
}
END_TEST

/*
 * A message whose parse would cost the square of its lines or list items is
 * refused and counted as invalid; an ordinary INVITE after it is a call.
 */
START_TEST(messages_too_costly_to_parse_are_counted_invalid)
{
	static char body[32768], allow[2048] = "INVITE";
	struct scenario *sc = tracker_open(0, 0);
	const struct vq_tracker_stats *st = vq_tracker_stats(sc->t);
	int o = snprintf(body, sizeof(body), "%s", sdp_body("192.0.2.10", 4000, 1));

	while (o < 30000) /* 7,500 lines */
		o += snprintf(body + o, sizeof(body) - (size_t)o, "a=x\n");
	invite(sc, 0, "lines", body);
	for (unsigned int i = 0; i < 300; i++)
		strcat(allow, ",ACK");
	sendf(sc, 1, "INVITE sip:bob@198.51.100.20 SIP/2.0\n" CALL_HDRS
	      "To: <sip:bob@198.51.100.20>\nCall-ID: %s\nCSeq: 1 INVITE\n"
	      "Allow: %s\nContent-Length: 0\n", "items", "items", "items",
	      allow);
	ck_assert_uint_eq(st->invalid, 2);
	ck_assert_uint_eq(st->parsed, 0);
	ck_assert_uint_eq(st->calls_created, 0);

	invite(sc, 2, "ordinary", sdp_body("192.0.2.10", 4000, 1));
	ck_assert_uint_eq(st->invalid, 2);
	ck_assert_uint_eq(st->parsed, 1);
	ck_assert_uint_eq(st->calls_created, 1);
	ck_assert(has_ep(sc, "192.0.2.10", 4000));
	vq_tracker_free(sc->t);
}
END_TEST

static char **corpus;
static int n_corpus;

static int sip_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && !strcmp(d->d_name + n - 4, ".sip");
}

START_TEST(corpus_scenario)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", CORPUS, corpus[_i]);
	run_scenario(path, corpus[_i]);
}
END_TEST

START_TEST(corpus_is_not_empty)
{
	ck_assert_int_ge(n_corpus, 20);
}
END_TEST

/* The calls file names kinds: each name reads back, nothing else does. */
START_TEST(endpoint_kind_names_read_back)
{
	for (uint8_t k = VQ_EP_RTP; k <= VQ_EP_SIP; k++)
		ck_assert_int_eq(vq_ep_kind_parse(vq_ep_kind_str(k)), k);
	ck_assert_str_eq(vq_ep_kind_str(VQ_EP_SIP), "sip");
	ck_assert_int_eq(vq_ep_kind_parse("RTP"), -1);
	ck_assert_int_eq(vq_ep_kind_parse(""), -1);
	ck_assert_int_eq(vq_ep_kind_parse(NULL), -1);
}
END_TEST

Suite *dialog_suite(void)
{
	Suite *s = suite_create("dialog");
	TCase *tc = tcase_create("corpus");
	struct dirent **list;

	n_corpus = scandir(CORPUS, &list, sip_filter, alphasort);
	if (n_corpus < 0)
		n_corpus = 0;
	corpus = calloc((size_t)n_corpus + 1, sizeof(*corpus));
	for (int i = 0; i < n_corpus; i++) {
		corpus[i] = strdup(list[i]->d_name);
		free(list[i]);
	}
	if (n_corpus >= 0 && list)
		free(list);
	tcase_add_test(tc, corpus_is_not_empty);
	tcase_add_test(tc, endpoint_kind_names_read_back);
	tcase_add_loop_test(tc, corpus_scenario, 0, n_corpus);
	suite_add_tcase(s, tc);

	tc = tcase_create("caps");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, scanner_invites_do_not_evict_confirmed_call);
	tcase_add_test(tc, scanner_offers_do_not_evict_confirmed_call_endpoints);
	tcase_add_test(tc, confirmed_calls_at_cap_refuse_new_call);
	tcase_add_test(tc, eviction_order_ended_then_calling_then_early);
	tcase_add_test(tc, messages_too_costly_to_parse_are_counted_invalid);
	suite_add_tcase(s, tc);
	return s;
}
