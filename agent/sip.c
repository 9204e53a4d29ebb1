// SPDX-License-Identifier: GPL-2.0
/*
 * SIP message pre-check and parse.
 *
 * libosip2 allocates every token of a message separately; with glibc's
 * malloc that is most of the cost of a parse. Since nothing allocated while
 * parsing outlives the parse (we copy out what we keep), a per-parse bump
 * arena serves those allocations and is reset afterwards. Pointers outside
 * the arena (libosip2's own init-time tables, arena overflow) still go to
 * malloc/free, so the hooks are safe whenever they are installed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "log.h"
#include "sip.h"

#define SIP_MAX_MESSAGE 65535
/*
 * libosip2 appends to its lists by walking them from the head, so a parse
 * costs the square of the lines and list items in a message: 64 KB of
 * one-letter headers takes a fifth of a second, of ";x" parameters on one
 * header most of a second. Real messages carry a few dozen header lines, a
 * few dozen ',' ';' '&' separated items in all (IMS Contacts with feature
 * tags among the most), and an SDP body a few dozen lines (a WebRTC offer
 * with candidates about 200): the pre-check refuses to parse more.
 */
#define SIP_MAX_HEADER_LINES 128
#define SIP_MAX_ITEMS 256
#define SIP_MAX_BODY_LINES 512
#define ARENA_SIZE (256 * 1024)

static struct {
	char *base;
	size_t used;
	bool active;
} arena;

struct arena_hdr {
	size_t size;
	size_t pad; /* keep 16-byte alignment */
};

static bool in_arena(const void *p)
{
	return arena.base && (const char *)p >= arena.base &&
	       (const char *)p < arena.base + ARENA_SIZE;
}

static void *arena_malloc(size_t size)
{
	struct arena_hdr *h;
	size_t need = sizeof(*h) + ((size + 15) & ~(size_t)15);

	if (!arena.active || need > ARENA_SIZE - arena.used)
		return malloc(size);
	h = (struct arena_hdr *)(arena.base + arena.used);
	h->size = size;
	arena.used += need;
	return h + 1;
}

static void arena_free(void *p)
{
	if (p && !in_arena(p))
		free(p);
}

static void *arena_realloc(void *p, size_t size)
{
	void *n;

	if (!p || !in_arena(p))
		return p ? realloc(p, size) : arena_malloc(size);
	n = arena_malloc(size);
	if (n) {
		size_t old = ((struct arena_hdr *)p - 1)->size;

		memcpy(n, p, old < size ? old : size);
	}
	return n;
}

static void arena_begin(void)
{
	arena.used = 0;
	arena.active = arena.base != NULL;
}

static void arena_end(void)
{
	arena.active = false;
	arena.used = 0;
}

/* libosip2's complaints about malformed input are debug output for us. */
static void osip_trace_cb(const char *file, int line, osip_trace_level_t level,
			  const char *fmt, va_list ap)
{
	if (vq_log_get_level() < VQ_LOG_DEBUG)
		return;
	vq_log(VQ_LOG_DEBUG, "libosip2: %s:%d: ", file, line);
	vq_vlog(VQ_LOG_DEBUG, fmt, ap);
}

int vq_sip_init(void)
{
	static bool done;

	if (done)
		return 0;
	if (parser_init() != 0)
		return -ENOMEM;
	osip_trace_initialize_func(END_TRACE_LEVEL, osip_trace_cb);
	arena.base = aligned_alloc(16, ARENA_SIZE);
	if (arena.base)
		osip_set_allocators(arena_malloc, arena_realloc, arena_free);
	done = true;
	return 0;
}

static const char *const method_names[__VQ_SIP_METHOD_MAX] = {
	[VQ_SIP_UNKNOWN] = "?",		[VQ_SIP_INVITE] = "INVITE",
	[VQ_SIP_ACK] = "ACK",		[VQ_SIP_BYE] = "BYE",
	[VQ_SIP_CANCEL] = "CANCEL",	[VQ_SIP_PRACK] = "PRACK",
	[VQ_SIP_UPDATE] = "UPDATE",	[VQ_SIP_REGISTER] = "REGISTER",
	[VQ_SIP_OPTIONS] = "OPTIONS",	[VQ_SIP_SUBSCRIBE] = "SUBSCRIBE",
	[VQ_SIP_NOTIFY] = "NOTIFY",	[VQ_SIP_MESSAGE] = "MESSAGE",
	[VQ_SIP_INFO] = "INFO",		[VQ_SIP_REFER] = "REFER",
	[VQ_SIP_PUBLISH] = "PUBLISH",
};

const char *vq_sip_method_str(uint8_t method)
{
	return method < __VQ_SIP_METHOD_MAX ? method_names[method] : "?";
}

/* Methods are case-sensitive (RFC 3261 7.1). */
uint8_t vq_sip_method_from(const char *s, size_t len)
{
	for (uint8_t i = VQ_SIP_INVITE; i < __VQ_SIP_METHOD_MAX; i++)
		if (strlen(method_names[i]) == len &&
		    !memcmp(method_names[i], s, len))
			return i;
	return VQ_SIP_UNKNOWN;
}

static bool is_token_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || strchr("-.!%*_+`'~", c);
}

/* Find the end of the line starting at @p, bounded by @end. */
static const uint8_t *line_end(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

static int parse_start_line(const uint8_t *p, const uint8_t *eol,
			    struct vq_sip_brief *b)
{
	static const char ver[] = "SIP/2.0";
	const uint8_t *sp;

	if (eol - p > 8 && !memcmp(p, ver, 7) && p[7] == ' ') {
		/* Status-Line: SIP/2.0 SP 3DIGIT SP Reason */
		p += 8;
		if (eol - p < 3 || p[0] < '1' || p[0] > '6' || p[1] < '0' ||
		    p[1] > '9' || p[2] < '0' || p[2] > '9' ||
		    (eol - p > 3 && p[3] != ' ' && p[3] != '\r'))
			return -EINVAL;
		b->is_request = false;
		b->status = (uint16_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 +
				       (p[2] - '0'));
		return 0;
	}
	/* Request-Line: Method SP Request-URI SP SIP/2.0 */
	for (sp = p; sp < eol && is_token_char(*sp); sp++)
		;
	if (sp == p || sp >= eol || *sp != ' ')
		return -EINVAL;
	b->is_request = true;
	b->method = vq_sip_method_from((const char *)p, (size_t)(sp - p));
	while (eol > sp && (eol[-1] == '\r' || eol[-1] == ' '))
		eol--;
	/* SP Request-URI SP SIP/2.0: the URI must not be empty. */
	if (eol - sp < 10 || sp[1] == ' ' || memcmp(eol - 7, ver, 7) ||
	    eol[-8] != ' ')
		return -EINVAL;
	return 0;
}

/* "CSeq: 4711 INVITE": no compact form, case-insensitive name. */
static int parse_cseq(const uint8_t *p, const uint8_t *eol,
		      struct vq_sip_brief *b)
{
	uint64_t n = 0;
	const uint8_t *m;
	int digits = 0;

	p += 4;
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= eol || *p != ':')
		return -EINVAL;
	p++;
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < eol && *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (++digits > 10 || n > UINT32_MAX)
			return -EINVAL;
	}
	if (!digits)
		return -EINVAL;
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	for (m = p; m < eol && is_token_char(*m); m++)
		;
	if (m == p)
		return -EINVAL;
	b->cseq = (uint32_t)n;
	b->cseq_method = vq_sip_method_from((const char *)p, (size_t)(m - p));
	return 0;
}

static bool state_relevant(const struct vq_sip_brief *b)
{
	switch (b->cseq_method) {
	case VQ_SIP_INVITE:
		/* 100 Trying is hop-by-hop: no tag, no SDP, no state. */
		return b->is_request || b->status > 100;
	case VQ_SIP_ACK:
	case VQ_SIP_CANCEL:
		return b->is_request;
	case VQ_SIP_BYE:
		/* The BYE itself ends the dialog; its response adds nothing. */
		return b->is_request;
	case VQ_SIP_PRACK:
		/* Only offers and answers matter, and failures of an offer. */
		return b->body_len > 0 || (!b->is_request && b->status >= 300);
	case VQ_SIP_UPDATE:
		/* A body-less UPDATE still refreshes the session (RFC 4028 9). */
		return b->is_request || b->status >= 200;
	default:
		return false;
	}
}

/* Occurrences of @c in [@p, @end), counting no further than @max + 1. */
static unsigned int count_byte(const uint8_t *p, const uint8_t *end, int c,
			       unsigned int max)
{
	unsigned int n = 0;

	while (p < end && n <= max && (p = memchr(p, c, (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

/*
 * Whether [@p, @end) has more list items than SIP_MAX_ITEMS: libosip2 makes
 * one of each comma-separated header value, ';' parameter and '&' URI header.
 */
static bool too_many_items(const uint8_t *p, const uint8_t *end)
{
	unsigned int n = 0;

	n += count_byte(p, end, ',', SIP_MAX_ITEMS);
	n += count_byte(p, end, ';', SIP_MAX_ITEMS);
	n += count_byte(p, end, '&', SIP_MAX_ITEMS);
	return n > SIP_MAX_ITEMS;
}

/*
 * Whether [@p, @end) has more than SIP_MAX_BODY_LINES lines. CRLF, LF and
 * a bare CR all end an SDP line for libosip2; the more numerous of CR and
 * LF counts each kind of body exactly and a mix to within a factor two.
 */
static bool too_many_lines(const uint8_t *p, const uint8_t *end)
{
	return count_byte(p, end, '\n', SIP_MAX_BODY_LINES) > SIP_MAX_BODY_LINES ||
	       count_byte(p, end, '\r', SIP_MAX_BODY_LINES) > SIP_MAX_BODY_LINES;
}

int vq_sip_precheck(const uint8_t *data, size_t len, struct vq_sip_brief *b)
{
	const uint8_t *p = data, *end = data + len, *eol, *hdr_end;
	unsigned int lines = 0;
	bool have_cseq = false;
	int err;

	memset(b, 0, sizeof(*b));
	if (len < 16 || len > SIP_MAX_MESSAGE)
		return -EINVAL;

	eol = line_end(p, end);
	if (eol == end)
		return -EINVAL;
	err = parse_start_line(p, eol, b);
	if (err)
		return err;

	for (p = eol + 1; p < end; p = eol + 1) {
		eol = line_end(p, end);
		if (eol == end)
			return -EINVAL; /* no blank line: headers cut short */
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break;
		if (++lines > SIP_MAX_HEADER_LINES)
			return -E2BIG;
		if (!have_cseq && eol - p > 5 && !strncasecmp((const char *)p, "cseq", 4) &&
		    (p[4] == ':' || p[4] == ' ' || p[4] == '\t')) {
			if (parse_cseq(p, eol, b))
				return -EINVAL;
			have_cseq = true;
		}
	}
	if (p >= end || !have_cseq)
		return -EINVAL;
	hdr_end = eol + 1;
	b->body_len = (size_t)(end - hdr_end);
	if (b->is_request && b->method != b->cseq_method)
		return -EINVAL; /* RFC 3261 8.1.1.5 */
	if (!state_relevant(b))
		return VQ_SIP_SKIP;
	/* Only what will be parsed is worth counting. */
	if (too_many_items(data, hdr_end) || too_many_lines(hdr_end, end))
		return -E2BIG;
	return VQ_SIP_PARSE;
}

/* Copy a libosip2 string into a fixed field; oversize is an error. */
static int copy_field(char *dst, size_t dlen, const char *src)
{
	size_t n;

	if (!src) {
		dst[0] = '\0';
		return 0;
	}
	n = strlen(src);
	if (n >= dlen)
		return -EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

static int copy_tag(char *dst, osip_list_t *params)
{
	osip_generic_param_t *tag = NULL;

	osip_generic_param_get_byname(params, "tag", &tag);
	return copy_field(dst, VQ_TAG_LEN, tag ? tag->gvalue : NULL);
}

/* Append @src to @dst (of VQ_URI_LEN) at *@pos, truncating quietly. */
static void append(char *dst, size_t *pos, const char *src)
{
	while (*src && *pos < VQ_URI_LEN - 1)
		dst[(*pos)++] = *src++;
	dst[*pos] = '\0';
}

/* "user@host" for display; snprintf would cost more than the rest. */
static void copy_uri(char *dst, const osip_uri_t *u)
{
	size_t pos = 0;

	dst[0] = '\0';
	if (!u)
		return;
	if (u->host) {
		if (u->username) {
			append(dst, &pos, u->username);
			append(dst, &pos, "@");
		}
		append(dst, &pos, u->host);
	} else if (u->string) {
		append(dst, &pos, u->string);
	}
}

static bool is_sdp(const osip_content_type_t *ct)
{
	return ct && ct->type && ct->subtype && !strcasecmp(ct->type, "application") &&
	       !strcasecmp(ct->subtype, "sdp");
}

static void find_sdp(osip_message_t *sip, struct vq_sip_msg *m)
{
	osip_body_t *body;
	int n = osip_list_size(&sip->bodies);

	for (int i = 0; i < n; i++) {
		body = osip_list_get(&sip->bodies, i);
		if (!body || !body->body)
			continue;
		/* One body: the message's Content-Type; multipart: the part's. */
		if (!is_sdp(n == 1 && !body->content_type ? sip->content_type
							  : body->content_type))
			continue;
		m->sdp_err = vq_sdp_parse(body->body, body->length, &m->sdp);
		m->has_sdp = m->sdp_err == 0;
		return;
	}
}

static void session_expires(osip_message_t *sip, struct vq_sip_msg *m)
{
	osip_header_t *h = NULL;
	unsigned long v;
	char *end;

	if (osip_message_header_get_byname(sip, "session-expires", 0, &h) < 0 &&
	    osip_message_header_get_byname(sip, "x", 0, &h) < 0)
		return;
	if (!h || !h->hvalue)
		return;
	v = strtoul(h->hvalue, &end, 10);
	if (end != h->hvalue && v > 0 && v <= 86400 * 7)
		m->session_expires = (uint32_t)v;
}

int vq_sip_parse(const uint8_t *data, size_t len,
		 const struct vq_sip_brief *brief, struct vq_sip_msg *m)
{
	osip_message_t *sip = NULL;
	int err;

	memset(m, 0, sizeof(*m));
	if (brief) {
		m->brief = *brief;
	} else {
		err = vq_sip_precheck(data, len, &m->brief);
		if (err < 0)
			return err;
	}

	arena_begin();
	err = -ENOMEM;
	if (osip_message_init(&sip) != 0)
		goto out;
	err = -EINVAL;
	if (osip_message_parse(sip, (const char *)data, len) != 0)
		goto out_free_msg;
	if (!sip->call_id || !sip->call_id->number || !sip->from || !sip->to ||
	    !sip->cseq)
		goto out_free_msg;

	if (sip->call_id->host) {
		int n = snprintf(m->call_id, sizeof(m->call_id), "%s@%s",
				 sip->call_id->number, sip->call_id->host);

		if (n < 0 || (size_t)n >= sizeof(m->call_id))
			goto out_free_msg;
	} else if (copy_field(m->call_id, sizeof(m->call_id),
			      sip->call_id->number)) {
		goto out_free_msg;
	}
	if (copy_tag(m->from_tag, &sip->from->gen_params) ||
	    copy_tag(m->to_tag, &sip->to->gen_params) || !m->from_tag[0])
		goto out_free_msg;
	copy_uri(m->from_uri, sip->from->url);
	copy_uri(m->to_uri, sip->to->url);
	session_expires(sip, m);
	find_sdp(sip, m);
	err = 0;

out_free_msg:
	osip_message_free(sip);
out:
	arena_end();
	return err;
}
