// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "shaper.h"
#include "suites.h"

#define D VQ_TESTDATA "/config/"

START_TEST(good_file_sets_every_key_it_names)
{
	struct vq_config c;
	char err[256] = "";

	vq_config_defaults(&c);
	ck_assert_int_eq(vq_config_load(&c, D "good.conf", err, sizeof(err)), 0);
	ck_assert_str_eq(c.wan, "eth1");
	ck_assert_uint_eq(c.n_lan, 2);
	ck_assert_str_eq(c.lan[1], "wlan0");
	ck_assert_uint_eq(c.uplink_bps, 20000000);
	ck_assert_uint_eq(c.downlink_bps, 100000000);
	ck_assert_uint_eq(c.voice_pct, 25);
	ck_assert_uint_eq(c.n_sip_ports, 2);
	ck_assert_uint_eq(c.sip_ports[1], 5080);
	ck_assert_uint_eq(c.log_level, VQ_LOG_DEBUG);
	ck_assert(!c.sip_priority);
	/* Untouched keys keep their defaults. */
	ck_assert_uint_eq(c.shape_pct, 95);
	ck_assert_uint_eq(c.down_pct, 85);
	ck_assert_int_eq(vq_config_validate(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(unknown_key_names_file_and_line_and_changes_nothing)
{
	struct vq_config c, before;
	char err[256] = "";

	vq_config_defaults(&c);
	before = c;
	ck_assert_int_eq(vq_config_load(&c, D "typo.conf", err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "typo.conf:3") && strstr(err, "voipq_percnt") == NULL &&
		      strstr(err, "voice_percnt"), "err: %s", err);
	ck_assert(!memcmp(&c, &before, sizeof(c)));
}
END_TEST

START_TEST(bad_rate_says_what_to_write)
{
	struct vq_config c;
	char err[256] = "";

	vq_config_defaults(&c);
	ck_assert_int_lt(vq_config_load(&c, D "bad_rate.conf", err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "bad_rate.conf:2") && strstr(err, "uplink"),
		      "err: %s", err);
}
END_TEST

START_TEST(line_without_equals_is_rejected)
{
	struct vq_config c;
	char err[256] = "";

	vq_config_defaults(&c);
	ck_assert_int_eq(vq_config_load(&c, D "no_equals.conf", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "no_equals.conf:2") && strstr(err, "key = value"),
		      "err: %s", err);
}
END_TEST

START_TEST(shaping_without_rates_is_refused_with_an_example)
{
	struct vq_config c;
	char err[256] = "";

	vq_config_defaults(&c);
	ck_assert_int_eq(vq_config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "uplink rate required") && strstr(err, "--uplink 20mbit"),
		      "err: %s", err);
	ck_assert_int_eq(vq_config_set(&c, "shape", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_validate(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(downstream_lan_with_two_lans_is_refused_with_the_way_out)
{
	struct vq_config c;
	char err[256] = "";

	vq_config_defaults(&c);
	ck_assert_int_eq(vq_config_set(&c, "uplink", "20mbit", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_set(&c, "downlink", "100mbit", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_set(&c, "downstream", "lan", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_set(&c, "lan", "eth1,eth2", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "lan names 2") && strstr(err, "downstream = ifb"),
		      "err: %s", err);
	/* one LAN, or the IFB, or no shaping: fine */
	ck_assert_int_eq(vq_config_set(&c, "downstream", "ifb", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_validate(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_set(&c, "downstream", "lan", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_set(&c, "lan", "br-lan", err, sizeof(err)), 0);
	ck_assert_int_eq(vq_config_validate(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(printed_configuration_reads_back_the_same)
{
	struct vq_config c, back;
	char err[256] = "", path[] = "/tmp/voipq-conf-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	vq_config_defaults(&c);
	ck_assert_int_eq(vq_config_load(&c, D "good.conf", err, sizeof(err)), 0);
	vq_config_print(&c, f);
	fclose(f);
	vq_config_defaults(&back);
	ck_assert_msg(vq_config_load(&back, path, err, sizeof(err)) == 0, "%s", err);
	unlink(path);
	ck_assert(!memcmp(&c, &back, sizeof(c)));
}
END_TEST

START_TEST(bad_values_are_refused_one_by_one)
{
	static const char *const bad[][2] = {
		{ "voice_percent", "95" }, { "shape_percent", "abc" },
		{ "backend", "ebpf" },     { "sip_ports", "0" },
		{ "sip_ports", "70000" },  { "wan", "eth0/1" },
		{ "max_calls", "-5" },     { "socket", "relative.sock" },
		{ "downstream", "both" },  { "log", "journal" },
	};
	struct vq_config c;
	char err[256];

	vq_config_defaults(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(vq_config_set(&c, bad[i][0], bad[i][1], err, sizeof(err)) < 0,
			      "%s = %s accepted", bad[i][0], bad[i][1]);
		ck_assert_msg(strstr(err, bad[i][0]), "err: %s", err);
	}
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, good_file_sets_every_key_it_names);
	tcase_add_test(tc, unknown_key_names_file_and_line_and_changes_nothing);
	tcase_add_test(tc, bad_rate_says_what_to_write);
	tcase_add_test(tc, line_without_equals_is_rejected);
	tcase_add_test(tc, shaping_without_rates_is_refused_with_an_example);
	tcase_add_test(tc, downstream_lan_with_two_lans_is_refused_with_the_way_out);
	tcase_add_test(tc, printed_configuration_reads_back_the_same);
	tcase_add_test(tc, bad_values_are_refused_one_by_one);
	suite_add_tcase(s, tc);
	return s;
}
