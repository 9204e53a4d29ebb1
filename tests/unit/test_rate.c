// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <string.h>

#include "rate.h"
#include "suites.h"

START_TEST(tc_units_are_decimal_and_case_blind)
{
	static const struct { const char *s; uint64_t bps; } t[] = {
		{ "20mbit", 20000000ULL },
		{ "20Mbit", 20000000ULL },
		{ "20MBIT", 20000000ULL },
		{ "1.5gbit", 1500000000ULL },
		{ "800kbit", 800000ULL },
		{ "100000bit", 100000ULL },
		{ "64kbit", 64000ULL },
		{ "100gbit", 100000000000ULL },
		{ "0.5mbit", 500000ULL },
		{ "1kibit", 0 }, /* too low, below */
		{ "100kibit", 102400ULL },
		{ "2mibit", 2097152ULL },
		{ "19.95mbit", 19950000ULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0;
		int ret = vq_rate_parse(t[i].s, &v);

		if (!t[i].bps) {
			ck_assert_int_eq(ret, -ERANGE);
			continue;
		}
		ck_assert_msg(ret == 0, "%s: %d", t[i].s, ret);
		ck_assert_msg(v == t[i].bps, "%s: %llu, want %llu", t[i].s,
			      (unsigned long long)v,
			      (unsigned long long)t[i].bps);
	}
}
END_TEST

START_TEST(malformed_rates_are_einval)
{
	static const char *const bad[] = {
		"", "mbit", "20", "20 mbit", "-20mbit", "+20mbit", "20mbits",
		"1.2.3mbit", "20xbit", "fast", ".mbit", "20mbitx", "1e6bit",
		"20mbps", "20kbps", "20Bps",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 42;

		ck_assert_msg(vq_rate_parse(bad[i], &v) == -EINVAL, "'%s'",
			      bad[i]);
		ck_assert_msg(v == 42, "'%s' wrote the output", bad[i]);
	}
	ck_assert_int_eq(vq_rate_parse(NULL, &(uint64_t){ 0 }), -EINVAL);
}
END_TEST

START_TEST(out_of_range_rates_are_erange)
{
	uint64_t v = 42;

	ck_assert_int_eq(vq_rate_parse("0mbit", &v), -ERANGE);
	ck_assert_int_eq(vq_rate_parse("63999bit", &v), -ERANGE);
	ck_assert_int_eq(vq_rate_parse("5tbit", &v), -ERANGE);
	ck_assert_int_eq(vq_rate_parse("100.000001gbit", &v), -ERANGE);
	ck_assert_int_eq(vq_rate_parse("99999999999999999999999999gbit", &v),
			 -ERANGE);
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(errors_say_what_to_write)
{
	char err[256];
	uint64_t v;

	ck_assert_int_eq(vq_rate_parse_opt("uplink", "--uplink", NULL, &v,
					   err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "uplink rate required, e.g. --uplink 20mbit");
	ck_assert_int_eq(vq_rate_parse_opt("uplink", "--uplink", "0mbit", &v,
					   err, sizeof(err)), -ERANGE);
	ck_assert_str_eq(err, "uplink rate '0mbit' is too low: at least 64kbit");
	ck_assert_int_eq(vq_rate_parse_opt("downlink", "--downlink", "5tbit",
					   &v, err, sizeof(err)), -ERANGE);
	ck_assert_str_eq(err, "downlink rate '5tbit' is absurd: at most 100gbit");
	ck_assert_int_eq(vq_rate_parse_opt("uplink", "--uplink", "20", &v,
					   err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no unit"));
	ck_assert_ptr_nonnull(strstr(err, "20mbit"));
	ck_assert_int_eq(vq_rate_parse_opt("uplink", "--uplink", "20mbps", &v,
					   err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bytes per second"));
	ck_assert_ptr_nonnull(strstr(err, "write 20mbit"));
	ck_assert_int_eq(vq_rate_parse_opt("uplink", "--uplink", "1.5gbit", &v,
					   err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 1500000000ULL);
}
END_TEST

START_TEST(format_is_readable_and_exact_when_it_can_be)
{
	char buf[32];

	ck_assert_str_eq(vq_rate_format(20000000, buf, sizeof(buf)), "20Mbit");
	ck_assert_str_eq(vq_rate_format(1500000000, buf, sizeof(buf)), "1.5Gbit");
	ck_assert_str_eq(vq_rate_format(800000, buf, sizeof(buf)), "800Kbit");
	ck_assert_str_eq(vq_rate_format(999, buf, sizeof(buf)), "999bit");
	ck_assert_str_eq(vq_rate_format(19000000, buf, sizeof(buf)), "19Mbit");
}
END_TEST

Suite *rate_suite(void)
{
	Suite *s = suite_create("rate");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, tc_units_are_decimal_and_case_blind);
	tcase_add_test(tc, malformed_rates_are_einval);
	tcase_add_test(tc, out_of_range_rates_are_erange);
	tcase_add_test(tc, errors_say_what_to_write);
	tcase_add_test(tc, format_is_readable_and_exact_when_it_can_be);
	suite_add_tcase(s, tc);
	return s;
}
