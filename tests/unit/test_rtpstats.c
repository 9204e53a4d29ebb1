// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pktbuild.h"
#include "rtpstats.h"
#include "suites.h"

#define MS	1000000ull	/* ns */
#define UNIT_8K	125000ull	/* one 8 kHz clock tick in ns */

static struct vq_rtp_hdr hdr(uint16_t seq, uint32_t ts)
{
	return (struct vq_rtp_hdr){ .pt = 8, .seq = seq, .ts = ts,
				    .ssrc = 0x1234 };
}

/* Feed @n packets 20 ms apart starting at @seq, with matching timestamps. */
static void feed(struct vq_rtp_stream *s, uint16_t seq, int n)
{
	for (int i = 0; i < n; i++) {
		uint32_t k = (uint32_t)seq + i;	/* does not wrap */
		struct vq_rtp_hdr h = hdr(seq + i, 160u * k);

		vq_rtp_stream_update(s, &h, 1000 * MS + 20 * MS * k);
	}
}

static void feed_seqs(struct vq_rtp_stream *s, const uint16_t *seq, int n)
{
	for (int i = 0; i < n; i++) {
		struct vq_rtp_hdr h = hdr(seq[i], 160u * i);

		vq_rtp_stream_update(s, &h, 20 * MS * i);
	}
}

/* ---- sequence tracking and loss ---- */

START_TEST(in_order_stream_has_no_loss)
{
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed(&s, 1000, 100);
	ck_assert_uint_eq(s.received, 100);
	ck_assert_uint_eq(vq_rtp_expected(&s), 100);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
	ck_assert_double_eq(vq_rtp_loss_pct(&s), 0.0);
	ck_assert_uint_eq(s.max_seq, 1099);
}
END_TEST

START_TEST(empty_stream_expects_nothing)
{
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 1, 8000);
	ck_assert_uint_eq(vq_rtp_expected(&s), 0);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
	ck_assert_double_eq(vq_rtp_loss_pct(&s), 0.0);
	ck_assert_double_eq(vq_rtp_jitter_ms(&s), 0.0);
}
END_TEST

START_TEST(gap_of_k_counts_k_lost)
{
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed(&s, 0, 10);
	feed(&s, 15, 5);	/* 10..14 never arrive */
	ck_assert_uint_eq(vq_rtp_expected(&s), 20);
	ck_assert_uint_eq(s.received, 15);
	ck_assert_int_eq(vq_rtp_lost(&s), 5);
	ck_assert_double_eq_tol(vq_rtp_loss_pct(&s), 25.0, 1e-12);
}
END_TEST

START_TEST(seq_wrap_extends_without_loss)
{
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed(&s, 65530, 20);	/* 65530..65535, 0..13 */
	ck_assert_uint_eq(s.cycles, 65536);
	ck_assert_uint_eq(s.max_seq, 13);
	ck_assert_uint_eq(vq_rtp_expected(&s), 20);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
}
END_TEST

START_TEST(seq_wrap_exactly_at_65535_to_0)
{
	static const uint16_t seq[] = { 65534, 65535, 0, 1 };
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed_seqs(&s, seq, 4);
	ck_assert_uint_eq(s.cycles, 65536);
	ck_assert_uint_eq(vq_rtp_expected(&s), 4);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
}
END_TEST

START_TEST(duplicates_make_lost_negative)
{
	static const uint16_t seq[] = { 1, 2, 3, 3, 4, 5, 5, 5 };
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed_seqs(&s, seq, 8);
	ck_assert_uint_eq(s.received, 8);
	ck_assert_uint_eq(vq_rtp_expected(&s), 5);
	ck_assert_int_eq(vq_rtp_lost(&s), -3);
	/* RFC 3550 lets "lost" go negative; the percentage does not. */
	ck_assert_double_eq(vq_rtp_loss_pct(&s), 0.0);
}
END_TEST

START_TEST(reorder_counts_no_loss)
{
	static const uint16_t seq[] = { 1, 2, 4, 3, 5, 7, 6, 8 };
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed_seqs(&s, seq, 8);
	ck_assert_uint_eq(s.max_seq, 8);
	ck_assert_uint_eq(vq_rtp_expected(&s), 8);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
}
END_TEST

START_TEST(reorder_across_wrap_keeps_one_cycle)
{
	/* 0 arrives after 1: late, not another wrap. */
	static const uint16_t seq[] = { 65534, 65535, 1, 0, 2 };
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed_seqs(&s, seq, 5);
	ck_assert_uint_eq(s.cycles, 65536);
	ck_assert_uint_eq(s.max_seq, 2);
	ck_assert_uint_eq(vq_rtp_expected(&s), 5);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
}
END_TEST

START_TEST(single_large_jump_is_ignored)
{
	static const uint16_t seq[] = { 100, 101, 102, 40000, 103, 104 };
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed_seqs(&s, seq, 6);
	ck_assert_uint_eq(s.received, 5);
	ck_assert_uint_eq(s.max_seq, 104);
	ck_assert_uint_eq(vq_rtp_expected(&s), 5);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
}
END_TEST

START_TEST(confirmed_jump_resyncs_like_a_restart)
{
	/* A.1: the second consecutive packet after the jump re-syncs. */
	static const uint16_t seq[] = { 100, 101, 102, 5000, 5001, 5002 };
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed_seqs(&s, seq, 6);
	ck_assert_uint_eq(s.base_seq, 5001);
	ck_assert_uint_eq(s.max_seq, 5002);
	ck_assert_uint_eq(s.cycles, 0);
	ck_assert_uint_eq(s.received, 2);
	ck_assert_uint_eq(vq_rtp_expected(&s), 2);
	ck_assert_int_eq(vq_rtp_lost(&s), 0);
}
END_TEST

START_TEST(gap_below_max_dropout_is_loss_not_restart)
{
	static const uint16_t seq[] = { 10, 11, 3010 };
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed_seqs(&s, seq, 3);
	ck_assert_uint_eq(s.max_seq, 3010);
	ck_assert_uint_eq(vq_rtp_expected(&s), 3001);
	ck_assert_int_eq(vq_rtp_lost(&s), 2998);
}
END_TEST

/* ---- A.8 jitter ---- */

START_TEST(constant_transit_has_zero_jitter)
{
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed(&s, 7, 200);
	ck_assert_double_eq(s.jitter, 0.0);
	ck_assert_double_eq(vq_rtp_jitter_ms(&s), 0.0);
}
END_TEST

START_TEST(timestamp_wrap_keeps_zero_jitter)
{
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	for (uint32_t i = 0; i < 50; i++) {
		struct vq_rtp_hdr h = hdr(i, 0xffffff00u + 160u * i);

		vq_rtp_stream_update(&s, &h, 20 * MS * i);
	}
	ck_assert_double_eq(s.jitter, 0.0);
}
END_TEST

START_TEST(alternating_delay_converges_to_its_step)
{
	/* Every odd packet 5 ms (40 ticks) late: |D| = 40 every time. */
	struct vq_rtp_stream s;
	double ref = 0.0;
	int n = 300;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	for (int i = 0; i < n; i++) {
		struct vq_rtp_hdr h = hdr(i, 160u * i);

		vq_rtp_stream_update(&s, &h, 20 * MS * i + (i & 1) * 5 * MS);
		if (i == 1)
			ck_assert_double_eq_tol(s.jitter, 2.5, 1e-12);
		if (i > 0)
			ref += (40.0 - ref) / 16.0;
	}
	ck_assert_double_eq_tol(s.jitter, ref, 1e-9);
	/* 40 * (1 - (15/16)^299) is 40 to well within 1e-6. */
	ck_assert_double_eq_tol(s.jitter, 40.0, 1e-6);
	ck_assert_double_eq_tol(vq_rtp_jitter_ms(&s), 5.0, 1e-6);
}
END_TEST

START_TEST(jitter_matches_independent_reference)
{
	/* Pseudo-random delays on a tick grid, so transits are integers. */
	struct vq_rtp_stream s;
	uint32_t lcg = 12345;
	int64_t prev = 0;
	double ref = 0.0;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	for (int i = 0; i < 500; i++) {
		int64_t delay, arrival, transit;
		struct vq_rtp_hdr h = hdr(i, 3000000u + 160u * i);

		lcg = lcg * 1103515245u + 12345u;
		delay = (lcg >> 16) % 400;	/* 0..50 ms in ticks */
		arrival = 160 * i + delay;
		vq_rtp_stream_update(&s, &h, 7 * MS + arrival * UNIT_8K);

		transit = arrival - (3000000 + 160 * i);
		if (i > 0)
			ref += (llabs(transit - prev) - ref) / 16.0;
		prev = transit;
	}
	ck_assert_double_eq_tol(s.jitter, ref, 1e-9);
	ck_assert_double_eq_tol(vq_rtp_jitter_ms(&s), ref / 8.0, 1e-9);
}
END_TEST

START_TEST(jitter_ms_uses_the_stream_clock)
{
	/* 90 kHz video at 25 fps, odd frames 10 ms (900 ticks) late. */
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 0x1234, 90000);
	for (int i = 0; i < 400; i++) {
		struct vq_rtp_hdr h = hdr(i, 3600u * i);

		vq_rtp_stream_update(&s, &h, 40 * MS * i + (i & 1) * 10 * MS);
	}
	ck_assert_double_eq_tol(s.jitter, 900.0, 1e-6);
	ck_assert_double_eq_tol(vq_rtp_jitter_ms(&s), 10.0, 1e-6);
}
END_TEST

START_TEST(resync_does_not_fake_a_jitter_spike)
{
	struct vq_rtp_stream s;
	struct vq_rtp_hdr h;

	vq_rtp_stream_init(&s, 0x1234, 8000);
	feed(&s, 100, 10);
	/* Restart: new seq and a timestamp far from the old timeline. */
	h = hdr(30000, 999999);
	vq_rtp_stream_update(&s, &h, 10 * 1000 * MS);
	h = hdr(30001, 999999 + 160);
	vq_rtp_stream_update(&s, &h, 10 * 1000 * MS + 20 * MS);
	h = hdr(30002, 999999 + 320);
	vq_rtp_stream_update(&s, &h, 10 * 1000 * MS + 40 * MS);
	ck_assert_uint_eq(s.base_seq, 30001);
	ck_assert_double_eq(s.jitter, 0.0);
}
END_TEST

/* ---- clock table ---- */

START_TEST(static_clock_rates_follow_rfc3551)
{
	static const struct { uint8_t pt; uint32_t hz; } t[] = {
		{ 0, 8000 }, { 3, 8000 }, { 4, 8000 }, { 5, 8000 },
		{ 6, 16000 }, { 7, 8000 }, { 8, 8000 }, { 9, 8000 },
		{ 10, 44100 }, { 11, 44100 }, { 12, 8000 }, { 13, 8000 },
		{ 14, 90000 }, { 15, 8000 }, { 16, 11025 }, { 17, 22050 },
		{ 18, 8000 }, { 25, 90000 }, { 26, 90000 }, { 28, 90000 },
		{ 31, 90000 }, { 32, 90000 }, { 33, 90000 }, { 34, 90000 },
		{ 1, 0 }, { 2, 0 }, { 19, 0 }, { 24, 0 }, { 27, 0 },
		{ 35, 0 }, { 96, 0 }, { 127, 0 }, { 255, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(vq_rtp_static_clock(t[i].pt) == t[i].hz,
			      "pt %u: %u, want %u", t[i].pt,
			      vq_rtp_static_clock(t[i].pt), t[i].hz);
}
END_TEST

START_TEST(unknown_clock_defaults_to_8000)
{
	struct vq_rtp_stream s;

	vq_rtp_stream_init(&s, 1, 0);
	ck_assert_uint_eq(s.clock_rate, 8000);
}
END_TEST

/* ---- header parsing ---- */

static const uint8_t rtp_min[12] = {
	0x80, 0x88, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
	0x01, 0x02, 0x03, 0x04,
};

START_TEST(parse_reads_fixed_header)
{
	struct vq_rtp_hdr h;

	ck_assert_int_eq(vq_rtp_parse(rtp_min, sizeof(rtp_min), &h), 0);
	ck_assert_uint_eq(h.pt, 8);
	ck_assert(h.marker);
	ck_assert_uint_eq(h.seq, 0x1234);
	ck_assert_uint_eq(h.ts, 0xdeadbeef);
	ck_assert_uint_eq(h.ssrc, 0x01020304);
	ck_assert_uint_eq(h.payload_off, 12);
}
END_TEST

START_TEST(parse_rejects_short)
{
	struct vq_rtp_hdr h;

	ck_assert_int_eq(vq_rtp_parse(rtp_min, 11, &h), -EINVAL);
	ck_assert_int_eq(vq_rtp_parse(rtp_min, 0, &h), -EINVAL);
}
END_TEST

START_TEST(parse_rejects_other_versions)
{
	uint8_t p[12];
	struct vq_rtp_hdr h;

	memcpy(p, rtp_min, sizeof(p));
	p[0] = 0x40;	/* version 1 */
	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), -EINVAL);
	p[0] = 0x00;	/* version 0, e.g. STUN */
	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), -EINVAL);
	p[0] = 0xc0;
	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), -EINVAL);
}
END_TEST

START_TEST(parse_skips_csrcs)
{
	uint8_t p[20] = { 0 };
	struct vq_rtp_hdr h;

	memcpy(p, rtp_min, sizeof(rtp_min));
	p[0] = 0x82;	/* two CSRCs */
	ck_assert_int_eq(vq_rtp_parse(p, 20, &h), 0);
	ck_assert_uint_eq(h.payload_off, 20);
}
END_TEST

START_TEST(parse_rejects_csrc_past_end)
{
	uint8_t p[20] = { 0 };
	struct vq_rtp_hdr h;

	memcpy(p, rtp_min, sizeof(rtp_min));
	p[0] = 0x82;
	ck_assert_int_eq(vq_rtp_parse(p, 19, &h), -EINVAL);
	p[0] = 0x8f;	/* 15 CSRCs need 72 bytes */
	ck_assert_int_eq(vq_rtp_parse(p, 20, &h), -EINVAL);
}
END_TEST

START_TEST(parse_skips_extension)
{
	uint8_t p[24] = { 0 };
	struct vq_rtp_hdr h;

	memcpy(p, rtp_min, sizeof(rtp_min));
	p[0] = 0x90;			/* X */
	p[12] = 0xbe; p[13] = 0xde;	/* RFC 8285 one-byte profile */
	p[15] = 2;			/* two words */
	ck_assert_int_eq(vq_rtp_parse(p, 24, &h), 0);
	ck_assert_uint_eq(h.payload_off, 24);
}
END_TEST

START_TEST(parse_rejects_extension_past_end)
{
	uint8_t p[24] = { 0 };
	struct vq_rtp_hdr h;

	memcpy(p, rtp_min, sizeof(rtp_min));
	p[0] = 0x90;
	p[15] = 2;
	ck_assert_int_eq(vq_rtp_parse(p, 23, &h), -EINVAL);
	/* extension header itself cut short */
	ck_assert_int_eq(vq_rtp_parse(p, 15, &h), -EINVAL);
	ck_assert_int_eq(vq_rtp_parse(p, 12, &h), -EINVAL);
	p[14] = 0xff;			/* 65282 words */
	ck_assert_int_eq(vq_rtp_parse(p, 24, &h), -EINVAL);
}
END_TEST

START_TEST(parse_checks_padding)
{
	uint8_t p[16] = { 0 };
	struct vq_rtp_hdr h;

	memcpy(p, rtp_min, sizeof(rtp_min));
	p[0] = 0xa0;	/* P */
	p[15] = 4;	/* the whole payload is padding */
	ck_assert_int_eq(vq_rtp_parse(p, 16, &h), 0);
	p[15] = 5;	/* reaches into the header */
	ck_assert_int_eq(vq_rtp_parse(p, 16, &h), -EINVAL);
	p[15] = 0;	/* the count includes itself */
	ck_assert_int_eq(vq_rtp_parse(p, 16, &h), -EINVAL);
	p[0] = 0xa1;	/* one CSRC leaves no room for padding */
	p[15] = 1;
	ck_assert_int_eq(vq_rtp_parse(p, 16, &h), -EINVAL);
}
END_TEST

START_TEST(parse_rejects_rtcp)
{
	/* An RTCP RR header with one report block: 2nd byte is 201. */
	uint8_t p[32] = { 0x81, 201, 0x00, 0x07 };
	struct vq_rtp_hdr h;

	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), -EINVAL);
	/*
	 * RFC 5761 §4: all of 192..223 is RTCP's, not only SR..APP
	 * (200..204) but RTPFB, PSFB, XR (205..207) and the rest; without
	 * the marker too (payload types 64..95).
	 */
	for (int b1 = 192; b1 <= 223; b1++) {
		p[1] = b1;
		ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), -EINVAL);
		p[1] = b1 - 128;
		ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), -EINVAL);
	}
	/* Neighbours of the RTCP range are ordinary payload types. */
	p[1] = 191;
	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), 0);
	ck_assert_uint_eq(h.pt, 63);
	p[1] = 224;
	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), 0);
	ck_assert_uint_eq(h.pt, 96);
	p[1] = 63;
	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), 0);
	p[1] = 96;
	ck_assert_int_eq(vq_rtp_parse(p, sizeof(p), &h), 0);
}
END_TEST

/* Parse, and update only what parses as RTP, as analyze.c does. */
static int take(struct vq_rtp_stream *s, const uint8_t *p, size_t len,
		uint64_t arrival)
{
	struct vq_rtp_hdr h;
	int err = vq_rtp_parse(p, len, &h);

	if (!err)
		vq_rtp_stream_update(s, &h, arrival);
	return err;
}

START_TEST(generic_nack_after_rtp_leaves_stream_alone)
{
	uint8_t p[16] = { 0x80, 8 };
	struct vq_rtp_stream s, before;

	vq_rtp_stream_init(&s, 0x5151, 8000);
	for (int i = 0; i < 10; i++) {
		pb_put16(p + 2, 100 + i);
		pb_put32(p + 4, 160u * i);
		pb_put32(p + 8, 0x5151);
		ck_assert_int_eq(take(&s, p, 12, 1000 * MS + 20 * MS * i), 0);
	}
	ck_assert_uint_eq(s.received, 10);
	memcpy(&before, &s, sizeof(s));
	/* muxed on the port: the NACK's bytes 8..11 are another SSRC */
	rtcp_nack(p, 0x5151, 0x7777, 104);
	ck_assert_int_eq(take(&s, p, 16, 1300 * MS), -EINVAL);
	ck_assert_mem_eq(&s, &before, sizeof(s));
}
END_TEST

Suite *rtpstats_suite(void)
{
	Suite *s = suite_create("rtpstats");
	TCase *tc;

	tc = tcase_create("sequence");
	tcase_add_test(tc, in_order_stream_has_no_loss);
	tcase_add_test(tc, empty_stream_expects_nothing);
	tcase_add_test(tc, gap_of_k_counts_k_lost);
	tcase_add_test(tc, seq_wrap_extends_without_loss);
	tcase_add_test(tc, seq_wrap_exactly_at_65535_to_0);
	tcase_add_test(tc, duplicates_make_lost_negative);
	tcase_add_test(tc, reorder_counts_no_loss);
	tcase_add_test(tc, reorder_across_wrap_keeps_one_cycle);
	tcase_add_test(tc, single_large_jump_is_ignored);
	tcase_add_test(tc, confirmed_jump_resyncs_like_a_restart);
	tcase_add_test(tc, gap_below_max_dropout_is_loss_not_restart);
	suite_add_tcase(s, tc);

	tc = tcase_create("jitter");
	tcase_add_test(tc, constant_transit_has_zero_jitter);
	tcase_add_test(tc, timestamp_wrap_keeps_zero_jitter);
	tcase_add_test(tc, alternating_delay_converges_to_its_step);
	tcase_add_test(tc, jitter_matches_independent_reference);
	tcase_add_test(tc, jitter_ms_uses_the_stream_clock);
	tcase_add_test(tc, resync_does_not_fake_a_jitter_spike);
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_add_test(tc, static_clock_rates_follow_rfc3551);
	tcase_add_test(tc, unknown_clock_defaults_to_8000);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_reads_fixed_header);
	tcase_add_test(tc, parse_rejects_short);
	tcase_add_test(tc, parse_rejects_other_versions);
	tcase_add_test(tc, parse_skips_csrcs);
	tcase_add_test(tc, parse_rejects_csrc_past_end);
	tcase_add_test(tc, parse_skips_extension);
	tcase_add_test(tc, parse_rejects_extension_past_end);
	tcase_add_test(tc, parse_checks_padding);
	tcase_add_test(tc, parse_rejects_rtcp);
	tcase_add_test(tc, generic_nack_after_rtp_leaves_stream_alone);
	suite_add_tcase(s, tc);
	return s;
}
