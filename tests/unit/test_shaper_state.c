// SPDX-License-Identifier: GPL-2.0
/* The shaper's state file and configuration checks (no netlink here). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shaper.h"
#include "suites.h"

static char path[64];

static void tmp_setup(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/vq-shaper-state-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void tmp_teardown(void)
{
	unlink(path);
}

START_TEST(state_round_trips_through_the_file)
{
	struct vq_shaper_state a = {
		.wan = "eth0", .down_dev = "ifb-eth0", .down = VQ_DOWN_IFB,
		.up_root = true, .down_root = true, .ifb_created = true,
		.clsact_created = false, .redirect = true,
		.leaf = VQ_LEAF_PFIFO, .up_bps = 19000000,
		.down_bps = 95000000000ULL, .up_voice_bps = 5700000,
		.down_voice_bps = 28500000,
	}, b;

	ck_assert_int_eq(vq_shaper_state_save(&a, path), 0);
	ck_assert_int_eq(vq_shaper_state_load(&b, path), 0);
	ck_assert_str_eq(b.wan, "eth0");
	ck_assert_str_eq(b.down_dev, "ifb-eth0");
	ck_assert_int_eq(b.down, VQ_DOWN_IFB);
	ck_assert(b.up_root && b.down_root && b.ifb_created && b.redirect);
	ck_assert(!b.clsact_created);
	ck_assert_int_eq(b.leaf, VQ_LEAF_PFIFO);
	ck_assert_uint_eq(b.up_bps, 19000000);
	ck_assert_uint_eq(b.down_bps, 95000000000ULL);
	ck_assert_uint_eq(b.up_voice_bps, 5700000);
	ck_assert_uint_eq(b.down_voice_bps, 28500000);
	ck_assert_int_eq(b.root, VQ_ROOT_HTB);
}
END_TEST

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(state_keeps_a_voipq_root_and_old_files_mean_htb)
{
	struct vq_shaper_state a = {
		.wan = "eth0", .down_dev = "br0", .down = VQ_DOWN_LAN,
		.root = VQ_ROOT_VOIPQ, .up_root = true, .down_root = true,
	}, b;

	ck_assert_int_eq(vq_shaper_state_save(&a, path), 0);
	ck_assert_int_eq(vq_shaper_state_load(&b, path), 0);
	ck_assert_int_eq(b.root, VQ_ROOT_VOIPQ);
	ck_assert(b.up_root && b.down_root);
	/* Written before sch_voipq existed: no root key. */
	write_file("version=1\nwan=eth0\nup_root=1\n");
	ck_assert_int_eq(vq_shaper_state_load(&b, path), 0);
	ck_assert_int_eq(b.root, VQ_ROOT_HTB);
	write_file("version=1\nroot=cake\n");
	ck_assert_int_eq(vq_shaper_state_load(&b, path), -EINVAL);
}
END_TEST

START_TEST(state_load_refuses_garbage_and_ignores_new_keys)
{
	struct vq_shaper_state st;

	write_file("version=1\nwan=eth0\nfuture_key=7\nup_root=1\n");
	ck_assert_int_eq(vq_shaper_state_load(&st, path), 0);
	ck_assert_str_eq(st.wan, "eth0");
	ck_assert(st.up_root);

	write_file("version=1\nwan=an-interface-name-too-long\n");
	ck_assert_int_eq(vq_shaper_state_load(&st, path), -EINVAL);
	ck_assert_str_eq(st.wan, "");
	write_file("version=1\nup_root=yes\n");
	ck_assert_int_eq(vq_shaper_state_load(&st, path), -EINVAL);
	write_file("version=1\nup_bps=12x\n");
	ck_assert_int_eq(vq_shaper_state_load(&st, path), -EINVAL);
	write_file("version=1\njust a line\n");
	ck_assert_int_eq(vq_shaper_state_load(&st, path), -EINVAL);
	write_file("version=2\n");
	ck_assert_int_eq(vq_shaper_state_load(&st, path), -EPROTO);
	write_file("version=1\nleaf=cake\n");
	ck_assert_int_eq(vq_shaper_state_load(&st, path), -EINVAL);
	ck_assert_int_eq(vq_shaper_state_load(&st, "/nonexistent/vq"), -ENOENT);
}
END_TEST

START_TEST(config_check_fills_defaults_and_names_the_ifb)
{
	struct vq_shaper_config c = {
		.wan = "enp0s31f6long", .uplink_bps = 20000000,
		.downlink_bps = 100000000,
	};
	char err[VQ_SHAPER_ERRLEN];

	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.shape_pct, VQ_SHAPER_SHAPE_PCT);
	ck_assert_uint_eq(c.down_pct, VQ_SHAPER_DOWN_PCT);
	ck_assert_uint_eq(c.voice_pct, VQ_SHAPER_VOICE_PCT);
	ck_assert_int_eq(c.down, VQ_DOWN_IFB);
	ck_assert_str_eq(c.ifb, "ifb-enp0s31f6lo"); /* IFNAMSIZ - 1 chars */
}
END_TEST

START_TEST(config_check_says_what_is_missing)
{
	struct vq_shaper_config c = { .wan = "eth0", .downlink_bps = 1000000 };
	char err[VQ_SHAPER_ERRLEN];

	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "uplink rate required, e.g. --uplink 20mbit");
	c.uplink_bps = 1000000;
	c.downlink_bps = 0;
	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--downlink"));
	c.down = VQ_DOWN_NONE;
	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), 0);
	c.down = VQ_DOWN_LAN;
	c.downlink_bps = 1000000;
	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--lan"));
	c.down = VQ_DOWN_IFB;
	c.uplink_bps = 1000;
	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "too low"));
	c.uplink_bps = 1000000;
	c.voice_pct = 95;
	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "voice share"));
	c.voice_pct = 0;
	c.wan[0] = '\0';
	ck_assert_int_eq(vq_shaper_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--wan"));
}
END_TEST

Suite *shaper_state_suite(void)
{
	Suite *s = suite_create("shaper_state");
	TCase *tc = tcase_create("state_file");
	TCase *cfg = tcase_create("config");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, state_round_trips_through_the_file);
	tcase_add_test(tc, state_load_refuses_garbage_and_ignores_new_keys);
	tcase_add_test(tc, state_keeps_a_voipq_root_and_old_files_mean_htb);
	tcase_add_test(cfg, config_check_fills_defaults_and_names_the_ifb);
	tcase_add_test(cfg, config_check_says_what_is_missing);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, cfg);
	return s;
}
