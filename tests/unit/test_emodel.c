// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <math.h>

#include "emodel.h"
#include "suites.h"

/* Half a unit in the last printed decimal: the value rounds to the ref. */
#define ROUNDS_TO	0.005

START_TEST(r_without_loss_is_base_minus_delay)
{
	struct vq_codec_impairment ci = vq_codec_impairment("PCMU");

	ck_assert_double_eq_tol(vq_emodel_r(40, 0, &ci), 92.24, 1e-9);
	ck_assert_double_eq_tol(vq_emodel_r(0, 0, &ci), 93.2, 1e-9);
}
END_TEST

START_TEST(g711_mos_matches_design_references)
{
	/* DESIGN.md: d = 40 ms, random loss 0/1/2/5 % */
	static const struct { double loss, mos; } t[] = {
		{ 0, 4.39 }, { 1, 4.30 }, { 2, 4.21 }, { 5, 3.88 },
	};
	struct vq_codec_impairment ci = vq_codec_impairment("PCMA");

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		double mos = vq_emodel_mos(vq_emodel_r(40, t[i].loss, &ci));

		ck_assert_msg(fabs(mos - t[i].mos) < ROUNDS_TO,
			      "loss %g%%: MOS %.4f, want %.2f", t[i].loss,
			      mos, t[i].mos);
	}
}
END_TEST

START_TEST(ie_eff_follows_g107)
{
	/* 1 % loss: Ie_eff = 95 * 1 / (1 + 25.1) */
	struct vq_codec_impairment g711 = vq_codec_impairment("PCMA");
	struct vq_codec_impairment g729 = vq_codec_impairment("G729");

	ck_assert_double_eq_tol(vq_emodel_r(40, 1, &g711),
				92.24 - 95.0 / 26.1, 1e-9);
	/* G.729A: 11 + 84 * 1 / (1 + 19) = 15.2 */
	ck_assert_double_eq_tol(vq_emodel_r(40, 1, &g729), 77.04, 1e-9);
}
END_TEST

START_TEST(delay_impairment_steepens_above_177_3_ms)
{
	struct vq_codec_impairment ci = vq_codec_impairment("PCMA");
	double below, above;

	/* 0.024 per ms below the kink, 0.024 + 0.11 above it */
	below = vq_emodel_r(100, 0, &ci) - vq_emodel_r(110, 0, &ci);
	above = vq_emodel_r(177.3, 0, &ci) - vq_emodel_r(187.3, 0, &ci);
	ck_assert_double_eq_tol(below, 0.24, 1e-9);
	ck_assert_double_eq_tol(above, 1.34, 1e-9);
	ck_assert_double_eq_tol(vq_emodel_r(177.3, 0, &ci),
				93.2 - 0.024 * 177.3, 1e-9);
	ck_assert_double_eq_tol(vq_emodel_r(277.3, 0, &ci), 75.5448, 1e-9);
}
END_TEST

START_TEST(r_is_clamped_to_0_100)
{
	struct vq_codec_impairment ci = vq_codec_impairment("G723");

	ck_assert_double_eq(vq_emodel_r(2000, 50, &ci), 0.0);
	ck_assert_double_eq(vq_emodel_r(-5, 0, &ci), vq_emodel_r(0, 0, &ci));
	ck_assert_double_eq(vq_emodel_r(0, -1, &ci), vq_emodel_r(0, 0, &ci));
	ck_assert_double_eq(vq_emodel_r(0, 150, &ci),
			    vq_emodel_r(0, 100, &ci));
	ck_assert_double_eq(vq_emodel_r(NAN, NAN, &ci),
			    vq_emodel_r(0, 0, &ci));
}
END_TEST

START_TEST(mos_is_clamped_to_1_4_5)
{
	ck_assert_double_eq(vq_emodel_mos(-10), 1.0);
	ck_assert_double_eq(vq_emodel_mos(0), 1.0);
	/* the cubic dips to 0.99 at R = 5 */
	ck_assert_double_eq(vq_emodel_mos(5), 1.0);
	ck_assert_double_eq(vq_emodel_mos(100), 4.5);
	ck_assert_double_eq(vq_emodel_mos(130), 4.5);
	ck_assert_double_eq(vq_emodel_mos(NAN), 1.0);
	/* R = 50: 1 + 1.75 + 7e-6 * 50 * -10 * 50 */
	ck_assert_double_eq_tol(vq_emodel_mos(50), 2.575, 1e-9);
}
END_TEST

START_TEST(codec_lookup_is_case_insensitive)
{
	struct vq_codec_impairment ci;

	ci = vq_codec_impairment("pcmu");
	ck_assert_double_eq(ci.ie, 0);
	ck_assert_double_eq(ci.bpl, 25.1);
	ci = vq_codec_impairment("g729a");
	ck_assert_double_eq(ci.ie, 11);
	ck_assert_double_eq(ci.bpl, 19.0);
	ci = vq_codec_impairment("G723");
	ck_assert_double_eq(ci.ie, 15);
	ck_assert_double_eq(ci.bpl, 16.1);
	ci = vq_codec_impairment("gsm-efr");
	ck_assert_double_eq(ci.ie, 5);
	ck_assert_double_eq(ci.bpl, 10.0);
	ci = vq_codec_impairment("G729/8000");
	ck_assert_double_eq(ci.ie, 11);
}
END_TEST

START_TEST(unknown_codec_gets_g711_values)
{
	static const char *const names[] = { "opus", "G7", "G7290", "", NULL };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct vq_codec_impairment ci = vq_codec_impairment(names[i]);

		ck_assert_double_eq(ci.ie, 0);
		ck_assert_double_eq(ci.bpl, 25.1);
	}
	ck_assert_double_eq(vq_emodel_r(40, 1, NULL),
			    vq_emodel_r(40, 1, &(struct vq_codec_impairment){
					0, 25.1 }));
}
END_TEST

Suite *emodel_suite(void)
{
	Suite *s = suite_create("emodel");
	TCase *tc;

	tc = tcase_create("r");
	tcase_add_test(tc, r_without_loss_is_base_minus_delay);
	tcase_add_test(tc, ie_eff_follows_g107);
	tcase_add_test(tc, delay_impairment_steepens_above_177_3_ms);
	tcase_add_test(tc, r_is_clamped_to_0_100);
	suite_add_tcase(s, tc);

	tc = tcase_create("mos");
	tcase_add_test(tc, g711_mos_matches_design_references);
	tcase_add_test(tc, mos_is_clamped_to_1_4_5);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec");
	tcase_add_test(tc, codec_lookup_is_case_insensitive);
	tcase_add_test(tc, unknown_codec_gets_g711_values);
	suite_add_tcase(s, tc);
	return s;
}
