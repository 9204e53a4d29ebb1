// SPDX-License-Identifier: GPL-2.0
/*
 * vq_sip_precheck and vq_sip_parse on messages written inline: start-line
 * forms, which messages are skipped without a parse, compact headers, and
 * the limits on what is copied out.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sip.h"
#include "suites.h"

/* Messages are written with LF; the wire has CRLF. */
static size_t crlf(const char *text, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = text; *p; p++) {
		ck_assert_uint_lt(o + 2, outlen);
		if (*p == '\n')
			out[o++] = '\r';
		out[o++] = *p;
	}
	out[o] = '\0';
	return o;
}

static int precheck(const char *text, struct vq_sip_brief *b)
{
	char buf[4096];
	size_t len = crlf(text, buf, sizeof(buf));

	return vq_sip_precheck((const uint8_t *)buf, len, b);
}

static int parse(const char *text, struct vq_sip_msg *m)
{
	char buf[4096];
	size_t len = crlf(text, buf, sizeof(buf));

	ck_assert_int_eq(vq_sip_init(), 0);
	return vq_sip_parse((const uint8_t *)buf, len, NULL, m);
}

#define HDRS(method, cseq)                                          \
	"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\n"            \
	"From: <sip:alice@192.0.2.10>;tag=a1\n"                     \
	"To: <sip:bob@198.51.100.20>;tag=b1\n"                      \
	"Call-ID: c1@192.0.2.10\n"                                  \
	"CSeq: " cseq " " method "\n"

/* --- pre-check ---------------------------------------------------------- */

/*
 * A message with @n repeats of @unit inserted at @at: "H" among the
 * headers (each unit a line), "L" at the end of one header line, "B" in
 * the body. Returns the pre-check's verdict.
 */
static int precheck_repeat(const char *method, char at, const char *unit,
			   unsigned int n)
{
	static char buf[65536];
	struct vq_sip_brief b;
	int o;

	o = snprintf(buf, sizeof(buf), "%s sip:bob@198.51.100.20 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\r\n"
		     "From: <sip:alice@192.0.2.10>;tag=a1\r\n"
		     "To: <sip:bob@198.51.100.20>\r\nCall-ID: c1@192.0.2.10\r\n"
		     "CSeq: 1 %s\r\nAllow: INVITE, ACK, CANCEL, BYE, UPDATE",
		     method, method);
	for (unsigned int i = 0; at == 'L' && i < n; i++)
		o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%s", unit);
	o += snprintf(buf + o, sizeof(buf) - (size_t)o, "\r\n");
	for (unsigned int i = 0; at == 'H' && i < n; i++)
		o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%s", unit);
	o += snprintf(buf + o, sizeof(buf) - (size_t)o,
		      "Content-Type: application/sdp\r\n\r\n"
		      "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
		      "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
	for (unsigned int i = 0; at == 'B' && i < n; i++)
		o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%s", unit);
	ck_assert_uint_lt((size_t)o, sizeof(buf) - 1);
	return vq_sip_precheck((const uint8_t *)buf, (size_t)o, &b);
}

/*
 * libosip2's parse costs the square of a message's lines and list items:
 * more than any real message has is refused before the parse. The message
 * has 7 header lines, 6 items and 6 body lines of its own.
 */
START_TEST(too_many_lines_or_items_are_refused)
{
	static const struct {
		const char *method;
		char at;
		const char *unit;
		unsigned int n;
		int want;
	} cases[] = {
		{ "INVITE", 'H', "X: a\r\n", 0, VQ_SIP_PARSE },
		{ "INVITE", 'H', "X: a\r\n", 121, VQ_SIP_PARSE },
		{ "INVITE", 'H', "X: a\r\n", 122, -E2BIG },
		{ "INVITE", 'H', "X:a\r\n", 13000, -E2BIG },
		/* Comma-separated values, parameters, URI headers. */
		{ "INVITE", 'L', ", INFO", 250, VQ_SIP_PARSE },
		{ "INVITE", 'L', ", INFO", 251, -E2BIG },
		{ "INVITE", 'L', ";x", 251, -E2BIG },
		{ "INVITE", 'L', "&h=1", 251, -E2BIG },
		{ "INVITE", 'L', ",A", 30000, -E2BIG },
		/* Body lines, however they end. */
		{ "INVITE", 'B', "a=x\r\n", 506, VQ_SIP_PARSE },
		{ "INVITE", 'B', "a=x\r\n", 507, -E2BIG },
		{ "INVITE", 'B', "a=x\n", 507, -E2BIG },
		{ "INVITE", 'B', "a=x\r", 507, -E2BIG },
		{ "INVITE", 'B', "a=x\r\n", 12000, -E2BIG },
		/* What is never parsed is not counted, only its header lines. */
		{ "OPTIONS", 'L', ";x", 20000, VQ_SIP_SKIP },
		{ "OPTIONS", 'B', "a=x\r\n", 12000, VQ_SIP_SKIP },
		{ "OPTIONS", 'H', "X: a\r\n", 122, -E2BIG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(precheck_repeat(cases[i].method, cases[i].at,
					      cases[i].unit, cases[i].n) ==
				      cases[i].want,
			      "case %zu: %s with %u x '%s' at %c: want %d", i,
			      cases[i].method, cases[i].n, cases[i].unit,
			      cases[i].at, cases[i].want);
}
END_TEST

START_TEST(request_line_is_classified)
{
	struct vq_sip_brief b;

	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("INVITE", "4711") "Content-Length: 0\n\n", &b),
			 VQ_SIP_PARSE);
	ck_assert(b.is_request);
	ck_assert_uint_eq(b.method, VQ_SIP_INVITE);
	ck_assert_uint_eq(b.cseq_method, VQ_SIP_INVITE);
	ck_assert_uint_eq(b.cseq, 4711);
	ck_assert_uint_eq(b.body_len, 0);
}
END_TEST

START_TEST(status_line_is_classified)
{
	struct vq_sip_brief b;

	ck_assert_int_eq(precheck("SIP/2.0 183 Session Progress\n"
				  HDRS("INVITE", "1") "\nv=0\n", &b),
			 VQ_SIP_PARSE);
	ck_assert(!b.is_request);
	ck_assert_uint_eq(b.status, 183);
	ck_assert_uint_eq(b.method, VQ_SIP_UNKNOWN);
	ck_assert_uint_eq(b.body_len, 5);
}
END_TEST

START_TEST(bad_start_lines_are_invalid)
{
	static const char *const lines[] = {
		"INVITE sip:bob@198.51.100.20 SIP/1.0\n",  /* version */
		"INVITE sip:bob@198.51.100.20\n",          /* no version */
		"INVITE  SIP/2.0\n",                       /* no URI */
		"IN(VITE sip:bob@198.51.100.20 SIP/2.0\n", /* not a token */
		"SIP/2.0 2x0 OK\n",                        /* status digits */
		"SIP/2.0 2000 OK\n",                       /* four digits */
		"SIP/2.0 700 Nope\n",                      /* no such class */
		"SIP/2.1 200 OK\n",                        /* version */
		"HTTP/1.1 200 OK\n",
	};
	struct vq_sip_brief b;
	char msg[512];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(msg, sizeof(msg), "%s" HDRS("INVITE", "1") "\n", lines[i]);
		ck_assert_msg(precheck(msg, &b) == -EINVAL, "accepted: %s", lines[i]);
	}
}
END_TEST

START_TEST(status_line_without_reason_is_accepted)
{
	struct vq_sip_brief b;

	/* Reason-Phrase may be empty (RFC 3261 25.1), the SP is not. */
	ck_assert_int_eq(precheck("SIP/2.0 200 \n" HDRS("BYE", "2") "\n", &b),
			 VQ_SIP_SKIP);
	ck_assert_uint_eq(b.status, 200);
}
END_TEST

START_TEST(cseq_method_mismatch_is_invalid)
{
	struct vq_sip_brief b;

	/* RFC 3261 8.1.1.5: the CSeq method matches the request's. */
	ck_assert_int_eq(precheck("BYE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("INVITE", "2") "\n", &b),
			 -EINVAL);
	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("invite", "1") "\n", &b),
			 -EINVAL);
}
END_TEST

START_TEST(cseq_missing_or_malformed_is_invalid)
{
	struct vq_sip_brief b;

	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  "Call-ID: x@y\n\n", &b), -EINVAL);
	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("INVITE", "99999999999") "\n", &b), -EINVAL);
	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("INVITE", "") "\n", &b), -EINVAL);
	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  "CSeq 1 INVITE\n\n", &b), -EINVAL);
}
END_TEST

START_TEST(missing_blank_line_is_invalid)
{
	struct vq_sip_brief b;

	/* Headers cut short (a truncated datagram): no end of headers. */
	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("INVITE", "1"), &b), -EINVAL);
	ck_assert_int_eq(precheck("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("INVITE", "1") "Content-Le", &b), -EINVAL);
}
END_TEST

START_TEST(too_short_or_too_long_is_invalid)
{
	static char big[70000];
	struct vq_sip_brief b;

	ck_assert_int_eq(vq_sip_precheck((const uint8_t *)"\r\n\r\n", 4, &b), -EINVAL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "INVITE sip:x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n", 40);
	ck_assert_int_eq(vq_sip_precheck((const uint8_t *)big, sizeof(big), &b),
			 -EINVAL);
}
END_TEST

START_TEST(trying_100_is_skipped)
{
	struct vq_sip_brief b;

	ck_assert_int_eq(precheck("SIP/2.0 100 Trying\n" HDRS("INVITE", "1") "\n", &b),
			 VQ_SIP_SKIP);
	ck_assert_int_eq(precheck("SIP/2.0 180 Ringing\n" HDRS("INVITE", "1") "\n", &b),
			 VQ_SIP_PARSE);
}
END_TEST

START_TEST(response_to_bye_is_skipped)
{
	struct vq_sip_brief b;

	ck_assert_int_eq(precheck("SIP/2.0 200 OK\n" HDRS("BYE", "2") "\n", &b),
			 VQ_SIP_SKIP);
	ck_assert_int_eq(precheck("BYE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("BYE", "2") "\n", &b), VQ_SIP_PARSE);
	ck_assert_int_eq(precheck("SIP/2.0 200 OK\n" HDRS("CANCEL", "1") "\n", &b),
			 VQ_SIP_SKIP);
}
END_TEST

START_TEST(non_session_methods_are_skipped)
{
	static const char *const methods[] = {
		"REGISTER", "OPTIONS", "SUBSCRIBE", "NOTIFY", "MESSAGE",
		"INFO", "REFER", "PUBLISH", "FOO",
	};
	struct vq_sip_brief b;
	char msg[512];

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(msg, sizeof(msg), "%s sip:example.com SIP/2.0\n"
			 HDRS("%s", "1") "\n", methods[i], methods[i]);
		ck_assert_msg(precheck(msg, &b) == VQ_SIP_SKIP, "%s", methods[i]);
		snprintf(msg, sizeof(msg), "SIP/2.0 200 OK\n" HDRS("%s", "1") "\n",
			 methods[i]);
		ck_assert_msg(precheck(msg, &b) == VQ_SIP_SKIP, "200 %s", methods[i]);
	}
	ck_assert_int_eq(precheck("REGISTER sip:example.com SIP/2.0\n"
				  HDRS("REGISTER", "1") "\n", &b), VQ_SIP_SKIP);
	ck_assert_uint_eq(b.method, VQ_SIP_REGISTER);
}
END_TEST

START_TEST(prack_and_update_parsed_when_they_matter)
{
	struct vq_sip_brief b;

	ck_assert_int_eq(precheck("PRACK sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("PRACK", "2") "\n", &b), VQ_SIP_SKIP);
	ck_assert_int_eq(precheck("PRACK sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("PRACK", "2") "\nv=0\n", &b), VQ_SIP_PARSE);
	/* A body-less UPDATE is a session refresh (RFC 4028). */
	ck_assert_int_eq(precheck("UPDATE sip:bob@198.51.100.20 SIP/2.0\n"
				  HDRS("UPDATE", "3") "\n", &b), VQ_SIP_PARSE);
	ck_assert_int_eq(precheck("SIP/2.0 200 OK\n" HDRS("UPDATE", "3") "\n", &b),
			 VQ_SIP_PARSE);
	ck_assert_int_eq(precheck("SIP/2.0 100 Trying\n" HDRS("UPDATE", "3") "\n", &b),
			 VQ_SIP_SKIP);
}
END_TEST

/* --- full parse ------------------------------------------------------------ */

static const char sdp_body[] = "v=0\n"
			       "o=alice 1 1 IN IP4 192.0.2.10\n"
			       "s=-\n"
			       "c=IN IP4 192.0.2.10\n"
			       "t=0 0\n"
			       "m=audio 4000 RTP/AVP 8\n";

START_TEST(parse_copies_dialog_fields_and_sdp)
{
	struct vq_sip_msg m;
	char msg[2048];

	snprintf(msg, sizeof(msg),
		 "INVITE sip:bob@198.51.100.20 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\n"
		 "Max-Forwards: 70\n"
		 "From: \"Alice\" <sip:alice@192.0.2.10>;tag=a1\n"
		 "To: <sip:bob@198.51.100.20>\n"
		 "Call-ID: 3848276298220188511@192.0.2.10\n"
		 "CSeq: 1 INVITE\n"
		 "Session-Expires: 1800;refresher=uac\n"
		 "Content-Type: application/sdp\n"
		 "Content-Length: %zu\n\n%s",
		 sizeof(sdp_body) - 1 + 6, sdp_body);
	ck_assert_int_eq(parse(msg, &m), 0);
	ck_assert_str_eq(m.call_id, "3848276298220188511@192.0.2.10");
	ck_assert_str_eq(m.from_tag, "a1");
	ck_assert_str_eq(m.to_tag, "");
	ck_assert_str_eq(m.from_uri, "alice@192.0.2.10");
	ck_assert_str_eq(m.to_uri, "bob@198.51.100.20");
	ck_assert_uint_eq(m.session_expires, 1800);
	ck_assert(m.has_sdp);
	ck_assert_int_eq(m.sdp_err, 0);
	ck_assert_uint_eq(m.sdp.n_streams, 1);
	ck_assert_uint_eq(m.sdp.streams[0].rtp.port, 4000);
}
END_TEST

START_TEST(parse_compact_header_forms)
{
	struct vq_sip_msg m;
	char msg[2048];

	/* RFC 3261 7.3.3: i, f, t, v, m, c, l, and x (RFC 4028). */
	snprintf(msg, sizeof(msg),
		 "SIP/2.0 200 OK\n"
		 "v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\n"
		 "f: <sip:alice@192.0.2.10>;tag=a1\n"
		 "t: <sip:bob@198.51.100.20>;tag=b1\n"
		 "i: compact-1\n"
		 "CSeq: 1 INVITE\n"
		 "m: <sip:bob@198.51.100.20>\n"
		 "x: 90\n"
		 "c: application/sdp\n"
		 "l: %zu\n\n%s",
		 sizeof(sdp_body) - 1 + 6, sdp_body);
	ck_assert_int_eq(parse(msg, &m), 0);
	ck_assert_str_eq(m.call_id, "compact-1");
	ck_assert_str_eq(m.from_tag, "a1");
	ck_assert_str_eq(m.to_tag, "b1");
	ck_assert_uint_eq(m.session_expires, 90);
	ck_assert(m.has_sdp);
	ck_assert_uint_eq(m.sdp.streams[0].rtp.port, 4000);
}
END_TEST

START_TEST(parse_non_sdp_body_is_ignored)
{
	struct vq_sip_msg m;

	ck_assert_int_eq(parse("INFO sip:bob@198.51.100.20 SIP/2.0\n"
			       HDRS("INFO", "3")
			       "Content-Type: application/dtmf-relay\n"
			       "Content-Length: 24\n\nSignal=5\nDuration=160\n",
			       &m), 0);
	ck_assert(!m.has_sdp);
	ck_assert_int_eq(m.sdp_err, 0);
}
END_TEST

START_TEST(parse_bad_sdp_is_not_an_error)
{
	struct vq_sip_msg m;

	ck_assert_int_eq(parse("INVITE sip:bob@198.51.100.20 SIP/2.0\n"
			       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\n"
			       "From: <sip:alice@192.0.2.10>;tag=a1\n"
			       "To: <sip:bob@198.51.100.20>\n"
			       "Call-ID: badsdp\n"
			       "CSeq: 1 INVITE\n"
			       "Content-Type: application/sdp\n"
			       "Content-Length: 14\n\nnot an SDP\n\n",
			       &m), 0);
	ck_assert(!m.has_sdp);
	ck_assert_int_eq(m.sdp_err, -EINVAL);
}
END_TEST

START_TEST(parse_missing_mandatory_header_is_invalid)
{
	struct vq_sip_msg m;

	ck_assert_int_eq(parse("BYE sip:bob@198.51.100.20 SIP/2.0\n"
			       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\n"
			       "From: <sip:alice@192.0.2.10>;tag=a1\n"
			       "To: <sip:bob@198.51.100.20>;tag=b1\n"
			       "CSeq: 2 BYE\n\n", &m), -EINVAL);
	/* A request's From must carry a tag (RFC 3261 8.1.1.3). */
	ck_assert_int_eq(parse("BYE sip:bob@198.51.100.20 SIP/2.0\n"
			       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\n"
			       "From: <sip:alice@192.0.2.10>\n"
			       "To: <sip:bob@198.51.100.20>;tag=b1\n"
			       "Call-ID: nofromtag\n"
			       "CSeq: 2 BYE\n\n", &m), -EINVAL);
}
END_TEST

static int parse_with(const char *call_id, const char *from_tag)
{
	struct vq_sip_msg m;
	char msg[2048];

	snprintf(msg, sizeof(msg),
		 "BYE sip:bob@198.51.100.20 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\n"
		 "From: <sip:alice@192.0.2.10>;tag=%s\n"
		 "To: <sip:bob@198.51.100.20>;tag=b1\n"
		 "Call-ID: %s\n"
		 "CSeq: 2 BYE\n\n", from_tag, call_id);
	return parse(msg, &m);
}

START_TEST(oversized_tag_or_call_id_is_invalid)
{
	char s[300];

	memset(s, 'x', sizeof(s));
	s[VQ_TAG_LEN - 1] = '\0';
	ck_assert_int_eq(parse_with("c1", s), 0);
	s[VQ_TAG_LEN - 1] = 'x';
	s[VQ_TAG_LEN] = '\0';
	ck_assert_int_eq(parse_with("c1", s), -EINVAL);

	memset(s, 'x', sizeof(s));
	s[VQ_CALLID_LEN - 1] = '\0';
	ck_assert_int_eq(parse_with(s, "a1"), 0);
	s[VQ_CALLID_LEN - 1] = 'x';
	s[VQ_CALLID_LEN] = '\0';
	ck_assert_int_eq(parse_with(s, "a1"), -EINVAL);

	/* The same limits with a host part ("number@host"). */
	memset(s, 'x', sizeof(s));
	s[60] = '@';
	s[VQ_CALLID_LEN - 1] = '\0';
	ck_assert_int_eq(parse_with(s, "a1"), 0);
	s[VQ_CALLID_LEN - 1] = 'x';
	s[VQ_CALLID_LEN] = '\0';
	ck_assert_int_eq(parse_with(s, "a1"), -EINVAL);
}
END_TEST

START_TEST(method_names_round_trip)
{
	for (uint8_t i = VQ_SIP_INVITE; i < __VQ_SIP_METHOD_MAX; i++) {
		const char *s = vq_sip_method_str(i);

		ck_assert_uint_eq(vq_sip_method_from(s, strlen(s)), i);
	}
	ck_assert_uint_eq(vq_sip_method_from("invite", 6), VQ_SIP_UNKNOWN);
	ck_assert_str_eq(vq_sip_method_str(200), "?");
}
END_TEST

Suite *sip_suite(void)
{
	Suite *s = suite_create("sip");
	TCase *tc;

	tc = tcase_create("precheck");
	tcase_add_test(tc, request_line_is_classified);
	tcase_add_test(tc, status_line_is_classified);
	tcase_add_test(tc, bad_start_lines_are_invalid);
	tcase_add_test(tc, status_line_without_reason_is_accepted);
	tcase_add_test(tc, cseq_method_mismatch_is_invalid);
	tcase_add_test(tc, cseq_missing_or_malformed_is_invalid);
	tcase_add_test(tc, missing_blank_line_is_invalid);
	tcase_add_test(tc, too_short_or_too_long_is_invalid);
	tcase_add_test(tc, trying_100_is_skipped);
	tcase_add_test(tc, response_to_bye_is_skipped);
	tcase_add_test(tc, non_session_methods_are_skipped);
	tcase_add_test(tc, prack_and_update_parsed_when_they_matter);
	tcase_add_test(tc, too_many_lines_or_items_are_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_copies_dialog_fields_and_sdp);
	tcase_add_test(tc, parse_compact_header_forms);
	tcase_add_test(tc, parse_non_sdp_body_is_ignored);
	tcase_add_test(tc, parse_bad_sdp_is_not_an_error);
	tcase_add_test(tc, parse_missing_mandatory_header_is_invalid);
	tcase_add_test(tc, oversized_tag_or_call_id_is_invalid);
	tcase_add_test(tc, method_names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
