// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "packet.h"
#include "pktbuild.h"
#include "reasm.h"
#include "suites.h"

#define INVITE_BODY "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
#define INVITE                                                               \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                             \
	"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK2\r\n"                \
	"Content-Type: application/sdp\r\n"                                  \
	"Content-Length: 36\r\n\r\n" INVITE_BODY
#define OK200 "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

static struct vq_pkt_stats stats;
static struct vq_reasm *ra;
static struct rec rec;
static struct vq_reasm_cfg rcfg;
static struct vq_pkt_meta fwd, rev;

static void make(unsigned int streams, unsigned int buffer,
		 unsigned int max_message)
{
	memset(&rcfg, 0, sizeof(rcfg));
	rcfg.max_streams = streams;
	rcfg.max_buffer = buffer;
	rcfg.timeout_ms = 1000;
	rcfg.max_message = max_message;
	ra = vq_reasm_new(&rcfg, &stats, rec_sip, &rec);
	ck_assert_ptr_nonnull(ra);
}

/* A new reassembler from rcfg as the test changed it. */
static void remake(void)
{
	vq_reasm_free(ra);
	ra = vq_reasm_new(&rcfg, &stats, rec_sip, &rec);
	ck_assert_ptr_nonnull(ra);
}

static void setup(void)
{
	memset(&stats, 0, sizeof(stats));
	memset(&rec, 0, sizeof(rec));
	memset(&fwd, 0, sizeof(fwd));
	fwd.src.family = fwd.dst.family = AF_INET;
	fwd.src.proto = fwd.dst.proto = IPPROTO_TCP;
	fwd.src.port = 40000;
	fwd.dst.port = 5060;
	fwd.src.addr[0] = 192;
	fwd.dst.addr[0] = 198;
	rev = fwd;
	rev.src = fwd.dst;
	rev.dst = fwd.src;
	make(8, 65536, 65535);
}

static void teardown(void)
{
	vq_reasm_free(ra);
}

static void seg(const struct vq_pkt_meta *m, uint32_t seq, uint8_t flags,
		const char *data, size_t len)
{
	ck_assert_int_eq(vq_reasm_segment(ra, m, seq, flags,
					  (const uint8_t *)data, len), 0);
}

static void sseg(uint32_t seq, const char *s)
{
	seg(&fwd, seq, 0, s, strlen(s));
}

START_TEST(two_messages_in_one_segment_are_framed_separately)
{
	static const char two[] = INVITE OK200;

	seg(&fwd, 99, VQ_TCP_SYN, "", 0);
	sseg(100, two);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_str_eq(rec.msg[0], INVITE);
	ck_assert_str_eq(rec.msg[1], OK200);
	ck_assert_uint_eq(stats.tcp_sip, 2);
	ck_assert_uint_eq(stats.tcp_streams, 1);
}
END_TEST

START_TEST(sip_split_across_three_segments_is_framed_once)
{
	static const char m[] = INVITE;

	seg(&fwd, 99, VQ_TCP_SYN, "", 0);
	seg(&fwd, 100, 0, m, 30);          /* mid start line */
	seg(&fwd, 130, 0, m + 30, 120);    /* mid body */
	ck_assert_int_eq(rec.nsip, 0);
	seg(&fwd, 250, 0, m + 150, strlen(m) - 150);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], INVITE);
	ck_assert_uint_eq(rec.len[0], strlen(INVITE));
	ck_assert_uint_eq(stats.tcp_sip, 1);
}
END_TEST

/* Every message delivered, as "<length>:<bytes>" one after the other. */
struct transcript {
	size_t n;
	char text[4096];
};

static void transcribe(void *ctx, const struct vq_pkt_meta *m,
		       const uint8_t *msg, size_t len)
{
	struct transcript *tr = ctx;
	int k = snprintf(tr->text + tr->n, sizeof(tr->text) - tr->n, "%zu:",
			 len);

	ck_assert_uint_lt(tr->n + k + len, sizeof(tr->text));
	tr->n += k;
	memcpy(tr->text + tr->n, msg, len);
	tr->n += len;
}

/*
 * @s fed from seq 1 after a SYN, cut at each offset of @cuts (ascending,
 * inside @s), through a new reassembler with @max_message.
 */
static void feed_cut(struct transcript *tr, struct vq_pkt_stats *st,
		     unsigned int max_message, const char *s, size_t len,
		     const size_t *cuts, size_t ncuts)
{
	struct vq_reasm_cfg cfg = {
		.max_streams = 1, .max_buffer = 4096, .timeout_ms = 1000,
		.max_message = max_message,
	};
	struct vq_reasm *r;
	size_t from = 0;

	memset(tr, 0, sizeof(*tr));
	memset(st, 0, sizeof(*st));
	r = vq_reasm_new(&cfg, st, transcribe, tr);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(vq_reasm_segment(r, &fwd, 0, VQ_TCP_SYN, NULL, 0), 0);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		ck_assert_int_eq(vq_reasm_segment(r, &fwd, 1 + from, 0,
						  (const uint8_t *)s + from,
						  to - from), 0);
		from = to;
	}
	vq_reasm_free(r);
}

#define LONG_X "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" /* 50 */
#define LONG_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

START_TEST(framing_is_the_same_however_the_stream_is_cut)
{
	/*
	 * Keepalives, a body, compact Content-Length, no headers, a body
	 * holding CRLFCRLF, garbage, a Content-Length over the limit, a
	 * header section over 200 bytes and a 300-byte line without a start
	 * line: every cut lands in each of them, CRLFCRLF included.
	 */
	static const char s[] =
		"\r\n\r\n" INVITE "\r\n"
		"MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello"
		"OPTIONS sip:a@b SIP/2.0\r\n\r\n"
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 8\r\n\r\n\r\n\r\nab\r\n"
		"\x16\x03\x01garbage\r\nmore junk\r\n" OK200
		"INFO sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\nxx\r\n" OK200
		"INFO sip:a@b SIP/2.0\r\nX: " LONG_A LONG_A LONG_A LONG_A LONG_A
		"\r\n\r\n" OK200
		LONG_X LONG_X LONG_X LONG_X LONG_X LONG_X "\r\n" OK200;
	/* Messages and bad framings with max_message 65535, then 200. */
	static const struct {
		unsigned int max_message, nsip, bad;
	} want[] = { { 65535, 9, 3 }, { 200, 8, 4 } };
	size_t len = strlen(s), every[sizeof(s)];
	static struct transcript ref, got;
	struct vq_pkt_stats rst, gst;
	char first[512];

	for (size_t i = 0; i < len - 1; i++)
		every[i] = i + 1;
	for (size_t w = 0; w < 2; w++) {
		unsigned int mm = want[w].max_message;

		feed_cut(&ref, &rst, mm, s, len, NULL, 0);
		ck_assert_uint_eq(rst.tcp_sip, want[w].nsip);
		ck_assert_uint_eq(rst.sip_bad_framing, want[w].bad);
		/* Cut once, anywhere. */
		for (size_t k = 1; k < len; k++) {
			feed_cut(&got, &gst, mm, s, len, &k, 1);
			ck_assert_msg(got.n == ref.n &&
				      !memcmp(got.text, ref.text, ref.n),
				      "max_message %u, cut at %zu", mm, k);
			ck_assert_uint_eq(gst.sip_bad_framing, want[w].bad);
		}
		/* One byte per segment. */
		feed_cut(&got, &gst, mm, s, len, every, len - 1);
		ck_assert_uint_eq(got.n, ref.n);
		ck_assert_mem_eq(got.text, ref.text, ref.n);
		ck_assert_uint_eq(gst.sip_bad_framing, want[w].bad);
	}
	/* The first is the INVITE, keepalives skipped, body included. */
	snprintf(first, sizeof(first), "%zu:" INVITE, strlen(INVITE));
	ck_assert_mem_eq(ref.text, first, strlen(first));
}
END_TEST

START_TEST(header_end_cut_in_every_way_across_three_segments)
{
	static const char s[] = "OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS"
				"\r\n\r\n" OK200;
	size_t end = strlen(s) - strlen(OK200), len = strlen(s);
	static struct transcript ref, got;
	struct vq_pkt_stats st;

	feed_cut(&ref, &st, 65535, s, len, NULL, 0);
	ck_assert_uint_eq(st.tcp_sip, 2);
	/* Two cuts anywhere in or next to the CRLFCRLF. */
	for (size_t i = end - 5; i < end + 1; i++)
		for (size_t j = i + 1; j <= end + 1; j++) {
			size_t cuts[2] = { i, j };

			feed_cut(&got, &st, 65535, s, len, cuts, 2);
			ck_assert_msg(got.n == ref.n &&
				      !memcmp(got.text, ref.text, ref.n),
				      "cut at %zu and %zu", i, j);
		}
}
END_TEST

START_TEST(retransmitted_segment_is_not_delivered_twice)
{
	seg(&fwd, 99, VQ_TCP_SYN, "", 0);
	sseg(100, OK200);
	sseg(100, OK200);
	ck_assert_int_eq(rec.nsip, 1);
	/* A retransmission that overlaps new data delivers only the new. */
	seg(&fwd, 100, 0, OK200 OK200, 2 * strlen(OK200));
	ck_assert_int_eq(rec.nsip, 2);
	/* A retransmitted SYN does not rewind the stream. */
	seg(&fwd, 99, VQ_TCP_SYN, "", 0);
	sseg(100, OK200);
	ck_assert_int_eq(rec.nsip, 2);
}
END_TEST

START_TEST(out_of_order_segment_is_held_until_hole_fills)
{
	static const char m[] = INVITE;
	size_t n = strlen(m);

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	seg(&fwd, 1 + 100, 0, m + 100, n - 100);
	seg(&fwd, 1 + 100, 0, m + 100, n - 100); /* held twice: one copy */
	ck_assert_int_eq(rec.nsip, 0);
	seg(&fwd, 1, 0, m, 100);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], INVITE);
	ck_assert_uint_eq(stats.tcp_gaps, 0);
}
END_TEST

START_TEST(sequence_wraparound_is_followed)
{
	static const char m[] = INVITE;

	seg(&fwd, 0xffffffe0u, VQ_TCP_SYN, "", 0);
	seg(&fwd, 0xffffffe1u, 0, m, 64);
	seg(&fwd, 0xffffffe1u + 64, 0, m + 64, strlen(m) - 64);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], INVITE);
}
END_TEST

START_TEST(crlf_keepalives_between_messages_are_skipped)
{
	static const char s[] = "\r\n\r\n" OK200 "\r\n" OK200 "\r\n\r\n";

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, s);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_str_eq(rec.msg[0], OK200);
	ck_assert_str_eq(rec.msg[1], OK200);
	ck_assert_uint_eq(stats.sip_bad_framing, 0);
}
END_TEST

START_TEST(compact_and_mixed_case_content_length_are_honoured)
{
	static const char a[] = "MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";
	static const char b[] =
		"MESSAGE sip:a@b SIP/2.0\r\nCONTENT-length  :\t3 \r\n\r\nbye";

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, a);
	sseg(1 + strlen(a), b);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_str_eq(rec.msg[0], a);
	ck_assert_str_eq(rec.msg[1], b);
}
END_TEST

START_TEST(missing_content_length_means_empty_body)
{
	static const char a[] = "BYE sip:a@b SIP/2.0\r\nCSeq: 2 BYE\r\n\r\n";

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, a);
	sseg(1 + strlen(a), OK200);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_str_eq(rec.msg[0], a);
}
END_TEST

START_TEST(huge_content_length_is_bad_framing_and_resyncs)
{
	static const char a[] =
		"INFO sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\nxx\r\n";

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, a);
	ck_assert_uint_eq(stats.sip_bad_framing, 1);
	sseg(1 + strlen(a), OK200);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], OK200);
}
END_TEST

START_TEST(invalid_content_length_is_bad_framing)
{
	static const char *bad[] = {
		"INFO sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\n",
		"INFO sip:a@b SIP/2.0\r\nContent-Length:\r\n\r\n",
		"INFO sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
		"INFO sip:a@b SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n",
	};

	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(vq_sip_frame_len((const uint8_t *)bad[i],
						  strlen(bad[i]), 65535),
				 -EBADMSG);
}
END_TEST

START_TEST(frame_len_needs_whole_message)
{
	static const char m[] = INVITE;
	const uint8_t *p = (const uint8_t *)m;

	ck_assert_int_eq(vq_sip_frame_len(p, strlen(m), 65535), strlen(m));
	ck_assert_int_eq(vq_sip_frame_len(p, strlen(m) - 1, 65535), 0);
	ck_assert_int_eq(vq_sip_frame_len(p, 10, 65535), 0);
	/* Over the size limit, however it is cut. */
	ck_assert_int_eq(vq_sip_frame_len(p, strlen(m), 100), -EBADMSG);
	ck_assert_int_eq(vq_sip_frame_len((const uint8_t *)"HELLO\r\n", 7,
					  65535), -EBADMSG);
}
END_TEST

START_TEST(midstream_join_skips_to_start_line)
{
	static const char tail[] = "a=rtpmap:0 PCMU/8000\r\n" OK200;

	sseg(5000, tail);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], OK200);
	ck_assert_uint_eq(stats.sip_bad_framing, 0);
}
END_TEST

START_TEST(garbage_between_messages_resyncs)
{
	static const char s[] = OK200 "\x16\x03\x01garbage\r\nmore junk\r\n" OK200;

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, s);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_uint_eq(stats.sip_bad_framing, 1);
}
END_TEST

START_TEST(hole_beyond_ooo_capacity_resyncs_on_start_line)
{
	static const char m[] = INVITE;
	uint32_t seq = 1 + 10; /* the first 10 bytes never arrive */
	size_t n = strlen(m);

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	/* Nine segments after the hole, the last ones starting a message. */
	for (int i = 0; i < 7; i++, seq += 10)
		seg(&fwd, seq, 0, "xxxxxxxx\r\n", 10);
	seg(&fwd, seq, 0, m, 40);
	ck_assert_uint_eq(stats.tcp_gaps, 0);
	seg(&fwd, seq + 40, 0, m + 40, n - 40);
	ck_assert_uint_eq(stats.tcp_gaps, 1);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], INVITE);
	/* The hole's bytes arriving late are old news. */
	seg(&fwd, 1, 0, "yyyyyyyyyy", 10);
	ck_assert_int_eq(rec.nsip, 1);
}
END_TEST

START_TEST(line_longer_than_max_message_is_bad_framing)
{
	char junk[300];

	vq_reasm_free(ra);
	make(8, 256, 200);
	memset(junk, 'x', sizeof(junk));
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	/* No newline in 300 bytes: no start line is that long. */
	seg(&fwd, 1, 0, junk, sizeof(junk));
	seg(&fwd, 301, 0, "\r\n", 2);
	sseg(303, OK200);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], OK200);
	ck_assert_uint_eq(stats.sip_bad_framing, 1);
	ck_assert_uint_eq(stats.tcp_overflow, 0);
}
END_TEST

START_TEST(buffer_overflow_is_counted_and_recovers)
{
	char junk[300];

	vq_reasm_free(ra);
	make(8, 256, 1000);
	memset(junk, 'x', sizeof(junk));
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	/* Could still frame within max_message, but not within the buffer. */
	seg(&fwd, 1, 0, junk, sizeof(junk));
	ck_assert_uint_eq(stats.tcp_overflow, 1);
	seg(&fwd, 301, 0, "\r\n", 2);
	sseg(303, OK200);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], OK200);
}
END_TEST

START_TEST(out_of_order_bytes_count_against_the_buffer)
{
	char junk[200];

	vq_reasm_free(ra);
	make(8, 256, 200);
	memset(junk, 'x', sizeof(junk));
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	seg(&fwd, 101, 0, junk, 200);
	/* 200 held + 100 more do not fit in 256: the hole is given up. */
	seg(&fwd, 401, 0, junk, 100);
	ck_assert_uint_eq(stats.tcp_gaps, 1);
}
END_TEST

START_TEST(directions_are_framed_independently)
{
	static const char m[] = INVITE;

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	seg(&rev, 5000, VQ_TCP_SYN, "", 0);
	seg(&fwd, 1, 0, m, 50);
	seg(&rev, 5001, 0, OK200, strlen(OK200));
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], OK200);
	ck_assert_uint_eq(rec.meta[0].src.port, 5060);
	seg(&fwd, 51, 0, m + 50, strlen(m) - 50);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_str_eq(rec.msg[1], INVITE);
	ck_assert_uint_eq(rec.meta[1].src.port, 40000);
	ck_assert_uint_eq(stats.tcp_streams, 1);
	ck_assert_uint_eq(vq_reasm_count(ra), 1);
}
END_TEST

START_TEST(stream_cap_evicts_least_recent)
{
	struct vq_pkt_meta m = fwd;

	vq_reasm_free(ra);
	make(2, 65536, 65535);
	for (int i = 0; i < 3; i++) {
		m.src.port = 40000 + i;
		seg(&m, 0, VQ_TCP_SYN, "", 0);
	}
	ck_assert_uint_eq(vq_reasm_count(ra), 2);
	ck_assert_uint_eq(stats.tcp_evicted, 1);
	ck_assert_uint_eq(stats.tcp_streams, 3);
	/* Port 40001 survived; 40000 must resync (no start at seq 1). */
	m.src.port = 40001;
	seg(&m, 1, 0, OK200, strlen(OK200));
	m.src.port = 40000;
	seg(&m, 1, 0, "xx\r\n", 4);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(stats.tcp_evicted, 2);
}
END_TEST

START_TEST(idle_stream_expires)
{
	fwd.ts_ns = 1000;
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	vq_reasm_expire(ra, 1000000999);
	ck_assert_uint_eq(vq_reasm_count(ra), 1);
	vq_reasm_expire(ra, 1000001000);
	ck_assert_uint_eq(vq_reasm_count(ra), 0);
}
END_TEST

START_TEST(rst_and_double_fin_release_the_stream)
{
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	seg(&fwd, 1, VQ_TCP_RST, "", 0);
	ck_assert_uint_eq(vq_reasm_count(ra), 0);

	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	seg(&fwd, 1, VQ_TCP_FIN, OK200, strlen(OK200));
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(vq_reasm_count(ra), 1);
	seg(&rev, 7, VQ_TCP_FIN, "", 0);
	ck_assert_uint_eq(vq_reasm_count(ra), 0);
}
END_TEST

/*
 * The start of a message with one header line of @n bytes and no blank
 * line yet, into @buf of at least @n + 64 bytes; returns its length. With
 * @end, the message is finished (an empty body).
 */
static size_t long_header(char *buf, size_t n, bool end)
{
	static const char start[] = "INVITE sip:a@b SIP/2.0\r\nX: ";
	static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";
	size_t len = strlen(start);

	memcpy(buf, start, len);
	memset(buf + len, 'a', n);
	len += n;
	if (end) {
		memcpy(buf + len, tail, strlen(tail));
		len += strlen(tail);
	}
	buf[len] = 0;
	return len;
}

START_TEST(partial_messages_on_many_streams_stay_in_budget)
{
	static char big[65000];
	struct vq_pkt_meta f = fwd, b = rev;
	size_t n = long_header(big, sizeof(big) - 64, false);

	/* One segment each way on 1024 spoofed ports, no handshake. */
	vq_reasm_free(ra);
	make(1024, 65536, 65535);
	for (int i = 0; i < 1024; i++) {
		f.src.port = b.dst.port = 10000 + i;
		seg(&f, 1000, 0, big, n);
		ck_assert_uint_le(vq_reasm_held(ra), VQ_REASM_MAX_TOTAL);
		seg(&b, 5000, 0, big, n);
		ck_assert_uint_le(vq_reasm_held(ra), VQ_REASM_MAX_TOTAL);
	}
	/* 64 KiB buffers each way: 32 streams fit in 4 MiB. */
	ck_assert_uint_eq(vq_reasm_held(ra), VQ_REASM_MAX_TOTAL);
	ck_assert_uint_eq(vq_reasm_count(ra), 32);
	ck_assert_uint_eq(stats.tcp_budget_evicted, 1024 - 32);
	ck_assert_uint_eq(stats.tcp_evicted, 0);
	ck_assert_int_eq(rec.nsip, 0);
	vq_reasm_free(ra);
	ra = NULL;
}
END_TEST

START_TEST(stream_that_carried_sip_outlives_garbage)
{
	static char msg[12000];
	struct vq_pkt_meta g = fwd;
	size_t n = long_header(msg, 10000, true), part = n - 100;

	rcfg.max_streams = 64;
	rcfg.max_total = 65536;
	rcfg.max_buffer = 16384;
	remake();
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, OK200);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(vq_reasm_held(ra), 0); /* framed: nothing held */
	/* The oldest and largest stream: 16 KiB for a partial message. */
	seg(&fwd, 1 + strlen(OK200), 0, msg, part);
	ck_assert_uint_eq(vq_reasm_held(ra), 16384);
	/* 40 streams of 3000 bytes of garbage, 4 KiB each. */
	for (int i = 0; i < 40; i++) {
		char junk[3000];

		memset(junk, 'x', sizeof(junk));
		g.src.port = 20000 + i;
		seg(&g, 1, 0, junk, sizeof(junk));
		ck_assert_uint_le(vq_reasm_held(ra), 65536);
	}
	ck_assert_uint_eq(stats.tcp_budget_evicted, 40 - 12);
	ck_assert_uint_eq(vq_reasm_count(ra), 1 + 12);
	/* Its message completes as if nothing happened. */
	seg(&fwd, 1 + strlen(OK200) + part, 0, msg + part, n - part);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_uint_eq(rec.len[1], n);
	/* rec keeps the first 4095 bytes */
	ck_assert_mem_eq(rec.msg[1], msg, sizeof(rec.msg[1]) - 1);
}
END_TEST

START_TEST(stream_that_alone_exceeds_the_budget_overflows)
{
	char junk[3000];

	/* 2 KiB per direction at most: the first 3000 bytes cannot fit. */
	rcfg.max_total = 4096;
	remake();
	memset(junk, 'x', sizeof(junk));
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	seg(&fwd, 1, 0, junk, sizeof(junk));
	ck_assert_uint_le(vq_reasm_held(ra), 4096);
	ck_assert_uint_eq(stats.tcp_overflow, 1);
	seg(&fwd, 3001, 0, "\r\n", 2);
	sseg(3003, OK200);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], OK200);
	ck_assert_uint_eq(stats.tcp_budget_evicted, 0);
}
END_TEST

START_TEST(stream_cap_spares_streams_that_carried_sip)
{
	static const char m[] = INVITE;
	struct vq_pkt_meta g = fwd;

	vq_reasm_free(ra);
	make(2, 65536, 65535);
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, OK200);
	seg(&fwd, 1 + strlen(OK200), 0, m, 50);
	/* The oldest stream, but the only one that carried SIP. */
	for (int i = 0; i < 3; i++) {
		g.src.port = 30000 + i;
		seg(&g, 1, 0, "xx\r\n", 4);
	}
	ck_assert_uint_eq(stats.tcp_evicted, 2);
	seg(&fwd, 1 + strlen(OK200) + 50, 0, m + 50, strlen(m) - 50);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_str_eq(rec.msg[1], INVITE);
}
END_TEST

START_TEST(stream_without_sip_expires_sooner)
{
	struct vq_pkt_meta g = fwd;

	rcfg.unframed_timeout_ms = 100;
	remake();
	fwd.ts_ns = g.ts_ns = 1000;
	g.src.port = 30000;
	seg(&fwd, 0, VQ_TCP_SYN, "", 0);
	sseg(1, OK200);
	seg(&g, 1, 0, "OPTIONS sip:a@b SIP/2.0\r\n", 25);
	ck_assert_uint_eq(vq_reasm_count(ra), 2);
	vq_reasm_expire(ra, 100000999);
	ck_assert_uint_eq(vq_reasm_count(ra), 2);
	vq_reasm_expire(ra, 100001000);
	ck_assert_uint_eq(vq_reasm_count(ra), 1); /* the one without SIP */
	ck_assert_uint_eq(vq_reasm_held(ra), 0);
	vq_reasm_expire(ra, 1000001000);
	ck_assert_uint_eq(vq_reasm_count(ra), 0);
}
END_TEST

START_TEST(bare_ack_opens_no_stream)
{
	seg(&fwd, 1, 0, "", 0);
	ck_assert_uint_eq(vq_reasm_count(ra), 0);
	ck_assert_uint_eq(stats.tcp_streams, 0);
}
END_TEST

Suite *reasm_suite(void)
{
	Suite *s = suite_create("reasm");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, two_messages_in_one_segment_are_framed_separately);
	tcase_add_test(tc, sip_split_across_three_segments_is_framed_once);
	tcase_add_test(tc, crlf_keepalives_between_messages_are_skipped);
	tcase_add_test(tc, compact_and_mixed_case_content_length_are_honoured);
	tcase_add_test(tc, missing_content_length_means_empty_body);
	tcase_add_test(tc, huge_content_length_is_bad_framing_and_resyncs);
	tcase_add_test(tc, invalid_content_length_is_bad_framing);
	tcase_add_test(tc, frame_len_needs_whole_message);
	tcase_add_test(tc, midstream_join_skips_to_start_line);
	tcase_add_test(tc, garbage_between_messages_resyncs);
	tcase_add_test(tc, framing_is_the_same_however_the_stream_is_cut);
	tcase_add_test(tc, header_end_cut_in_every_way_across_three_segments);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, retransmitted_segment_is_not_delivered_twice);
	tcase_add_test(tc, out_of_order_segment_is_held_until_hole_fills);
	tcase_add_test(tc, sequence_wraparound_is_followed);
	tcase_add_test(tc, hole_beyond_ooo_capacity_resyncs_on_start_line);
	tcase_add_test(tc, line_longer_than_max_message_is_bad_framing);
	tcase_add_test(tc, buffer_overflow_is_counted_and_recovers);
	tcase_add_test(tc, out_of_order_bytes_count_against_the_buffer);
	tcase_add_test(tc, directions_are_framed_independently);
	tcase_add_test(tc, stream_cap_evicts_least_recent);
	tcase_add_test(tc, idle_stream_expires);
	tcase_add_test(tc, rst_and_double_fin_release_the_stream);
	tcase_add_test(tc, bare_ack_opens_no_stream);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, partial_messages_on_many_streams_stay_in_budget);
	tcase_add_test(tc, stream_that_carried_sip_outlives_garbage);
	tcase_add_test(tc, stream_that_alone_exceeds_the_budget_overflows);
	tcase_add_test(tc, stream_cap_spares_streams_that_carried_sip);
	tcase_add_test(tc, stream_without_sip_expires_sooner);
	suite_add_tcase(s, tc);
	return s;
}
