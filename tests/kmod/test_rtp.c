// SPDX-License-Identifier: GPL-2.0
/*
 * sch_voipq's RTP statistics (kmod/rtp.h, compiled here in userspace) against
 * the reference, agent/rtpstats.c: sequence figures exactly, jitter to half
 * a clock unit (integers * 16 against a double, as tests/bpf does it).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtpstats.h"

/* The kernel's types and helpers that rtp.h uses. */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

static inline u64 div_u64_rem(u64 a, u32 b, u32 *rem)
{
	*rem = (u32)(a % b);
	return a / b;
}

static inline u64 div_u64(u64 a, u32 b)
{
	return a / b;
}

#include "rtp.h"

#define MS 1000000ull

struct pair {
	struct voipq_rtp k;
	struct vq_rtp_stream ref;
	u32 clock;
};

static void pair_init(struct pair *p, u32 ssrc, u32 clock)
{
	memset(&p->k, 0, sizeof(p->k));
	vq_rtp_stream_init(&p->ref, ssrc, clock);
	p->clock = clock;
}

static void feed(struct pair *p, u16 seq, u32 ts, u32 ssrc, u64 arrival)
{
	u8 h[12] = { 0x80, 8 };
	struct vq_rtp_hdr rh;

	h[2] = (u8)(seq >> 8);
	h[3] = (u8)seq;
	h[4] = (u8)(ts >> 24);
	h[5] = (u8)(ts >> 16);
	h[6] = (u8)(ts >> 8);
	h[7] = (u8)ts;
	h[8] = (u8)(ssrc >> 24);
	h[9] = (u8)(ssrc >> 16);
	h[10] = (u8)(ssrc >> 8);
	h[11] = (u8)ssrc;
	voipq_rtp_update(&p->k, p->clock, h, arrival);
	ck_assert_int_eq(vq_rtp_parse(h, sizeof(h), &rh), 0);
	vq_rtp_stream_update(&p->ref, &rh, arrival);
}

static void assert_same(const struct pair *p)
{
	u64 expected = (u64)p->k.ext_max_seq - p->k.base_seq + 1;

	ck_assert_uint_eq(p->k.received, p->ref.received);
	ck_assert_uint_eq(p->k.base_seq, p->ref.base_seq);
	ck_assert_uint_eq(p->k.ext_max_seq, p->ref.cycles + p->ref.max_seq);
	ck_assert_uint_eq(expected, vq_rtp_expected(&p->ref));
	ck_assert_int_eq((s64)expected - p->k.received, vq_rtp_lost(&p->ref));
	ck_assert_double_eq_tol(p->k.jitter_q4 / 16.0, p->ref.jitter, 0.5);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

START_TEST(loss_across_the_wrap_matches_reference)
{
	struct pair p;
	int i = 0;

	pair_init(&p, 0x5151, 8000);
	for (u32 s = 65530; s < 65536 + 10; s++, i++) {
		if (s == 65536 + 2 || s == 65536 + 3)
			continue;
		feed(&p, (u16)s, 160u * i, 0x5151, 1000 * MS + 20 * MS * i);
	}
	assert_same(&p);
	ck_assert_int_eq(vq_rtp_lost(&p.ref), 2);
}
END_TEST

START_TEST(reorder_duplicates_and_restart_match_reference)
{
	uint32_t seed = 99;
	struct pair p;
	u16 seq = 40000;

	pair_init(&p, 7, 8000);
	for (int i = 0; i < 3000; i++) {
		u32 r = lcg(&seed) % 100;
		u16 s = seq;

		if (r < 5)
			s = seq - 1 - (u16)(lcg(&seed) % 50); /* late */
		else if (r < 7)
			s = seq - 1;	/* duplicate */
		else if (r < 12)
			seq += 2;	/* a loss */
		if (i == 1500)
			seq += 20000;	/* the sender restarts, twice confirmed */
		feed(&p, s, 160u * i, 7, 10 * MS * i + lcg(&seed) % (5 * MS));
		seq++;
		assert_same(&p);
	}
}
END_TEST

START_TEST(jitter_matches_reference_audio_and_video)
{
	uint32_t seed = 12345;
	struct pair a, v;

	pair_init(&a, 0xa0d10, 8000);
	pair_init(&v, 0x1de0, 90000);
	for (int i = 0; i < 600; i++) {
		feed(&a, (u16)(65000 + i), 0xfffff000u + 160u * i, 0xa0d10,
		     5000 * MS + 20 * MS * i + lcg(&seed) % (12 * MS));
		feed(&v, (u16)(100 + i), 3000u * i, 0x1de0,
		     5000 * MS + 33333333ull * i + lcg(&seed) % (40 * MS));
	}
	assert_same(&a);
	assert_same(&v);
	ck_assert_double_gt(a.ref.jitter, 20.0);
	ck_assert_double_gt(v.ref.jitter, 500.0);
}
END_TEST

START_TEST(paced_stream_has_zero_jitter)
{
	struct pair p;

	pair_init(&p, 3, 8000);
	for (int i = 0; i < 100; i++)
		feed(&p, (u16)(100 + i), 160u * i, 3, 3000 * MS + 20 * MS * i);
	assert_same(&p);
	ck_assert_uint_eq(p.k.jitter_q4, 0);
}
END_TEST

START_TEST(new_ssrc_restarts_the_statistics)
{
	struct pair p;

	pair_init(&p, 0x6262, 8000);
	for (int i = 0; i < 10; i++)
		feed(&p, (u16)(500 + 2 * i), 160u * i, 0x5151, 20 * MS * i);
	ck_assert_uint_eq(p.k.received, 10);
	feed(&p, 7, 0, 0x6262, 300 * MS);
	ck_assert_uint_eq(p.k.ssrc, 0x6262);
	ck_assert_uint_eq(p.k.received, 1);
	ck_assert_uint_eq(p.k.base_seq, 7);
	ck_assert_uint_eq(p.k.ext_max_seq, 7);
}
END_TEST

/*
 * What sch_voipq counts as RTP is what the reference parses as RTP, for
 * every version, CSRC count, marker and payload type (X and P, which only
 * the reference follows, left clear), with the CSRC list just fitting and
 * one word short.
 */
START_TEST(rtp_or_not_agrees_with_reference)
{
	struct vq_rtp_hdr rh;
	u8 h[12 + 4 * 15] = { 0 };
	int rtcp = 0;

	for (unsigned int b0 = 0; b0 < 256; b0++) {
		u32 need = 12 + 4 * (b0 & 0x0f);

		if (b0 & 0x30)
			continue;
		for (unsigned int b1 = 0; b1 < 256; b1++) {
			h[0] = (u8)b0;
			h[1] = (u8)b1;
			for (u32 len = need - 4; len <= need; len += 4) {
				bool ok = !vq_rtp_parse(h, len, &rh);

				ck_assert_msg(voipq_rtp_hdr_ok(h, len) == ok,
					      "%02x %02x, %u bytes: kmod %d, "
					      "reference %d", b0, b1, len,
					      !ok, ok);
			}
			if (b0 == 0x80 && b1 >= 192 && b1 <= 223 &&
			    !voipq_rtp_hdr_ok(h, need))
				rtcp++;
		}
	}
	/* RFC 5761 §4: all of 192..223 is RTCP's, feedback and XR too */
	ck_assert_int_eq(rtcp, 32);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kmod_rtp");
	TCase *tc = tcase_create("rfc3550");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, loss_across_the_wrap_matches_reference);
	tcase_add_test(tc, reorder_duplicates_and_restart_match_reference);
	tcase_add_test(tc, jitter_matches_reference_audio_and_video);
	tcase_add_test(tc, paced_stream_has_zero_jitter);
	tcase_add_test(tc, new_ssrc_restarts_the_statistics);
	tcase_add_test(tc, rtp_or_not_agrees_with_reference);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
