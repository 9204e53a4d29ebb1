// SPDX-License-Identifier: GPL-2.0
/*
 * Shaper tests in the manner of tc-testing: each case sets up a fresh
 * network namespace with veth pairs (setup), runs the shaper (command),
 * reads the qdisc/class tree back over netlink (verify), and lets the
 * namespace die with the forked test process (teardown, also on failure).
 * Exit status 4 means "skipped" (no root / no namespaces), with the reason.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "nsutil.h"
#include "rate.h"
#include "shaper.h"
#include "../../bpf/voipq.h"

#define KSFT_SKIP 4
#define VOICE 0x10010U
#define BULK 0x10020U
#define ACK 0x10030U
#define LINK 0x10001U

static char err[VQ_SHAPER_ERRLEN];

/* setup: wan0 <-> wan1, lan0 <-> lan1, all up */
static void topo(void)
{
	ns_fresh();
	ck_assert_int_eq(ns_veth("wan0", "wan1"), 0);
	ck_assert_int_eq(ns_veth("lan0", "lan1"), 0);
	ck_assert_int_eq(ns_up("wan0"), 0);
	ck_assert_int_eq(ns_up("wan1"), 0);
	ck_assert_int_eq(ns_up("lan0"), 0);
	ck_assert_int_eq(ns_up("lan1"), 0);
}

static struct vq_shaper_config cfg(const char *up, const char *down,
				   enum vq_down_mode mode)
{
	struct vq_shaper_config c = { .wan = "wan0", .down = mode };

	ck_assert_int_eq(vq_rate_parse(up, &c.uplink_bps), 0);
	if (down)
		ck_assert_int_eq(vq_rate_parse(down, &c.downlink_bps), 0);
	if (mode == VQ_DOWN_LAN)
		strcpy(c.lan, "lan0");
	return c;
}

static void setup_ok(const struct vq_shaper_config *c,
		     struct vq_shaper_state *st)
{
	int ret = vq_shaper_setup(c, st, err, sizeof(err));

	ck_assert_msg(ret == 0, "setup: %d %s", ret, err);
}

static void status(const char *dev, struct vq_shaper_dev_status *ds)
{
	int ret = vq_shaper_dev_status(dev, ds, err, sizeof(err));

	ck_assert_msg(ret == 0, "status %s: %d %s", dev, ret, err);
}

static const struct vq_shaper_class *cls(const struct vq_shaper_dev_status *ds,
					 uint32_t id)
{
	const struct vq_shaper_class *c = vq_shaper_find_class(ds, id);

	ck_assert_msg(c, "%s: no class %x:%x", ds->dev, id >> 16, id & 0xffff);
	return c;
}

/* The leaf the kernel should give us: the first one it has. */
static const char *best_leaf(void)
{
	if (ns_has_qdisc("fq_codel"))
		return "fq_codel";
	if (ns_has_qdisc("sfq"))
		return "sfq";
	return "pfifo";
}

/* The whole expected tree at @link_bps shaped, @voice_bps for voice. */
static void verify_tree(const char *dev, uint64_t link_bps,
			uint64_t voice_bps)
{
	struct vq_shaper_dev_status ds;
	const struct vq_shaper_class *l, *v, *a, *b;
	const char *leaf = best_leaf();
	uint64_t ack_bps = link_bps / 100 * VQ_SHAPER_ACK_PCT;
	uint64_t bulk_bps = link_bps - voice_bps - ack_bps;
	uint64_t tick, burst;

	status(dev, &ds);
	ck_assert_str_eq(ds.root_kind, "htb");
	ck_assert_uint_eq(ds.root_handle, 0x10000);
	ck_assert_uint_eq(ds.defcls, VOIPQ_BULK_MINOR);
	ck_assert(ds.like_ours);
	ck_assert_uint_eq(ds.nclasses, 4);
	l = cls(&ds, LINK);
	v = cls(&ds, VOICE);
	a = cls(&ds, ACK);
	b = cls(&ds, BULK);
	ck_assert_uint_eq(l->parent, TC_H_ROOT);
	ck_assert_uint_eq(v->parent, LINK);
	ck_assert_uint_eq(a->parent, LINK);
	ck_assert_uint_eq(b->parent, LINK);
	ck_assert_uint_eq(l->rate_bps, link_bps);
	ck_assert_uint_eq(l->ceil_bps, link_bps);
	ck_assert_uint_eq(v->rate_bps, voice_bps);
	ck_assert_uint_eq(v->ceil_bps, link_bps);
	/* HTB keeps rates in bytes per second */
	ck_assert_uint_eq(a->rate_bps, ack_bps / 8 * 8);
	ck_assert_uint_eq(a->ceil_bps, link_bps);
	ck_assert_uint_eq(b->rate_bps, bulk_bps / 8 * 8);
	ck_assert_uint_eq(b->ceil_bps, link_bps);
	/* voice, then pure ACKs, then bulk */
	ck_assert_uint_eq(v->prio, 0);
	ck_assert_uint_eq(a->prio, 1);
	ck_assert_uint_eq(b->prio, 2);
	ck_assert_uint_ge(v->quantum, 1514);
	ck_assert_uint_le(b->quantum, 200000);
	/* burst: a millisecond at the rate plus a frame, give or take a
	 * 64 ns tick's worth of bytes */
	tick = bulk_bps / 8 / 15625000 + 2;
	burst = bulk_bps / 8000 + 1514;
	ck_assert_uint_ge(b->buffer_bytes + tick, burst);
	ck_assert_uint_le(b->buffer_bytes, burst + tick);
	ck_assert_str_eq(v->leaf_kind, leaf);
	ck_assert_str_eq(a->leaf_kind, leaf);
	ck_assert_str_eq(b->leaf_kind, leaf);
	ck_assert_str_eq(l->leaf_kind, "");
	if (!strcmp(leaf, "pfifo")) {
		ck_assert_uint_ge(b->leaf_limit, 16);
		ck_assert_uint_le(b->leaf_limit, 1000);
	}
}

static uint64_t class_bytes(const char *dev, uint32_t id)
{
	struct vq_shaper_dev_status ds;

	status(dev, &ds);
	return cls(&ds, id)->bytes;
}

/* Poll a class's byte counter until it reaches @want (at most 2 s). */
static uint64_t wait_bytes(const char *dev, uint32_t id, uint64_t want)
{
	uint64_t got = 0;

	for (int i = 0; i < 200; i++) {
		got = class_bytes(dev, id);
		if (got >= want)
			break;
		usleep(10000);
	}
	return got;
}

/* ---- the tree --------------------------------------------------------- */

START_TEST(setup_creates_exactly_the_expected_tree)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };

	setup_ok(&c, &st);
	/* 95 % of 20 Mbit/s, 30 % of that for voice */
	verify_tree("wan0", 19000000, 5700000);
	ck_assert(st.up_root);
	ck_assert_uint_eq(st.up_bps, 19000000);
	ck_assert_uint_eq(st.up_voice_bps, 5700000);
	ck_assert_str_eq(vq_leaf_name(st.leaf), best_leaf());
	/* root + two leaves, nothing else */
	ck_assert_int_eq(ns_qdisc_count("wan0"), 4);
	ck_assert_int_eq(ns_qdisc_count("wan1"), 0);
}
END_TEST

START_TEST(setup_twice_is_idempotent)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_dev_status a, b;
	struct vq_shaper_state st = { 0 };

	setup_ok(&c, &st);
	status("wan0", &a);
	setup_ok(&c, &st);
	status("wan0", &b);
	verify_tree("wan0", 19000000, 5700000);
	verify_tree("ifb-wan0", 85000000, 25500000);
	ck_assert_int_eq(ns_qdisc_count("wan0"), 5); /* + clsact */
	ck_assert_int_eq(ns_qdisc_count("ifb-wan0"), 4);
	/* leaves changed in place, not replaced */
	ck_assert_uint_eq(cls(&a, VOICE)->leaf_handle, cls(&b, VOICE)->leaf_handle);
	ck_assert_uint_eq(cls(&a, BULK)->leaf_handle, cls(&b, BULK)->leaf_handle);
	ck_assert(st.ifb_created && st.clsact_created && st.redirect);
}
END_TEST

/* A tree voipq's state knows nothing of is not voipq's to change. */
static void setup_refused(const struct vq_shaper_config *c,
			  struct vq_shaper_state *st)
{
	char want[128];
	int ret = vq_shaper_setup(c, st, err, sizeof(err));

	ck_assert_msg(ret == -EEXIST, "setup: %d %s", ret, err);
	snprintf(want, sizeof(want), "that voipq has no record of making: remove it (tc qdisc del dev %s root)",
		 c->wan);
	ck_assert_msg(strstr(err, want), "message: %s", err);
	ck_assert(!st->up_root);
}

START_TEST(a_tree_without_a_record_in_the_state_is_refused_and_kept)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 }, st2 = { 0 };
	int n;

	setup_ok(&c, &st);
	n = ns_qdisc_count("wan0");
	/* a restarted agent that lost its state file, at other rates */
	c.uplink_bps = 50000000;
	setup_refused(&c, &st2);
	verify_tree("wan0", 19000000, 5700000);
	/* so its teardown takes nothing; the first state's takes it all */
	ck_assert_int_eq(vq_shaper_teardown(&st2, err, sizeof(err)), 0);
	ck_assert_int_eq(ns_qdisc_count("wan0"), n);
	ck_assert_int_gt(ns_ifindex("ifb-wan0"), 0);
	ck_assert_int_eq(vq_shaper_teardown(&st, err, sizeof(err)), 0);
	ck_assert_int_eq(ns_qdisc_count("wan0"), 0);
	ck_assert_int_eq(ns_ifindex("ifb-wan0"), 0);
}
END_TEST

/* What someone else set up with tc: the command must succeed. */
static void tc(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

START_TEST(someone_elses_root_is_refused_and_kept)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };
	char kind[16];

	tc("tc qdisc add dev wan0 root tbf rate 10mbit burst 20k latency 50ms");
	setup_refused(&c, &st);
	ck_assert_int_eq(vq_shaper_teardown(&st, err, sizeof(err)), 0);
	ns_qdisc_kind("wan0", TC_H_ROOT, kind, sizeof(kind));
	ck_assert_str_eq(kind, "tbf");
}
END_TEST

START_TEST(a_tree_shaped_like_ours_is_not_taken_for_ours)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };
	struct vq_shaper_dev_status ds;

	/* wondershaper's root: HTB 1: with default 20 (hex, so 1:20) */
	tc("tc qdisc add dev wan0 root handle 1: htb default 20");
	tc("tc class add dev wan0 parent 1: classid 1:40 htb rate 1mbit");
	status("wan0", &ds);
	ck_assert(ds.like_ours);
	setup_refused(&c, &st);
	ck_assert_int_eq(vq_shaper_teardown(&st, err, sizeof(err)), 0);
	status("wan0", &ds);
	ck_assert_int_eq(ds.nclasses, 1);
	ck_assert_ptr_nonnull(vq_shaper_find_class(&ds, 0x10040));
}
END_TEST

START_TEST(changed_rate_replaces_the_class_rates)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };

	setup_ok(&c, &st);
	c.uplink_bps = 50000000;
	c.shape_pct = 90;
	c.voice_pct = 20;
	setup_ok(&c, &st);
	verify_tree("wan0", 45000000, 9000000);
	ck_assert_int_eq(ns_qdisc_count("wan0"), 4);
	/* Each direction at its own percentage of its own line. */
	c.downlink_bps = 100000000;
	c.down = VQ_DOWN_IFB;
	c.down_pct = 80;
	setup_ok(&c, &st);
	verify_tree("wan0", 45000000, 9000000);
	verify_tree("ifb-wan0", 80000000, 16000000);
}
END_TEST

START_TEST(voice_share_has_a_floor_on_slow_links)
{
	struct vq_shaper_config c = cfg("1mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };

	setup_ok(&c, &st);
	/* 30 % of 950 kbit/s is 285 kbit/s: below three G.711 calls */
	verify_tree("wan0", 950000, VQ_SHAPER_VOICE_MIN);
	c.uplink_bps = 64000; /* the floor never takes more than half */
	setup_ok(&c, &st);
	verify_tree("wan0", 60800, 30400);
}
END_TEST

START_TEST(rates_above_32_bits_use_rate64)
{
	struct vq_shaper_config c = cfg("100gbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };

	setup_ok(&c, &st);
	/* 95 Gbit/s is 11.9 GB/s: past the u32 bytes/s field */
	verify_tree("wan0", 95000000000ULL, 28500000000ULL);
}
END_TEST

START_TEST(leaf_falls_back_to_what_the_kernel_has)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };
	struct vq_shaper_status s;

	setup_ok(&c, &st);
	ck_assert_int_eq(vq_shaper_status(&st, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(vq_leaf_name(s.leaf), best_leaf());
	ck_assert_str_eq(cls(&s.up, VOICE)->leaf_kind, best_leaf());
	/* and the pfifo path is taken whenever the better ones are out */
	c.leaf_skip = 1U << VQ_LEAF_FQ_CODEL | 1U << VQ_LEAF_SFQ;
	setup_ok(&c, &st);
	ck_assert_int_eq(st.leaf, VQ_LEAF_PFIFO);
	ck_assert_int_eq(vq_shaper_status(&st, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(cls(&s.up, BULK)->leaf_kind, "pfifo");
	/* 100 ms of 12.35 Mbit/s (19 less 5.7 voice, 0.95 ACKs) in 1514-byte frames */
	ck_assert_uint_eq(cls(&s.up, BULK)->leaf_limit, 101);
	ck_assert_int_eq(ns_qdisc_count("wan0"), 4);
}
END_TEST

/* ---- downstream ------------------------------------------------------- */

START_TEST(ifb_downstream_creates_ifb_redirect_and_tree)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 };
	struct vq_shaper_status s;
	char kind[16];

	setup_ok(&c, &st);
	ck_assert_str_eq(st.down_dev, "ifb-wan0");
	ck_assert_int_gt(ns_ifindex("ifb-wan0"), 0);
	ns_qdisc_kind("wan0", TC_H_INGRESS, kind, sizeof(kind));
	ck_assert_str_eq(kind, "clsact");
	verify_tree("ifb-wan0", 85000000, 25500000);
	ck_assert_int_eq(vq_shaper_status(&st, &s, err, sizeof(err)), 0);
	ck_assert(s.redirect_ok);
	ck_assert(s.up.has_clsact);

	/* functional: what arrives on wan0 is shaped on the IFB */
	ck_assert_int_eq(ns_addr("wan1", "198.51.100.1", 24), 0);
	ck_assert_int_eq(ns_neigh("wan1", "198.51.100.2", "wan0"), 0);
	ck_assert_int_eq(ns_udp_send("198.51.100.2", 9, 0, 20, 200), 0);
	ck_assert_uint_ge(wait_bytes("ifb-wan0", BULK, 20 * 228), 20 * 228);

	ck_assert_int_eq(vq_shaper_teardown(&st, err, sizeof(err)), 0);
	ck_assert_int_eq(ns_ifindex("ifb-wan0"), 0);
	ns_qdisc_kind("wan0", TC_H_INGRESS, kind, sizeof(kind));
	ck_assert_str_eq(kind, "");
	ck_assert_int_eq(ns_qdisc_count("wan0"), 0);
}
END_TEST

START_TEST(lan_downstream_shapes_the_lan_egress)
{
	struct vq_shaper_config c = cfg("10mbit", "200mbit", VQ_DOWN_LAN);
	struct vq_shaper_state st = { 0 };

	setup_ok(&c, &st);
	verify_tree("wan0", 9500000, 2850000);
	verify_tree("lan0", 170000000, 51000000);
	ck_assert_int_eq(ns_ifindex("ifb-wan0"), 0);
	ck_assert(!st.clsact_created && !st.redirect && !st.ifb_created);
	/* switching to IFB undoes the LAN tree */
	c.down = VQ_DOWN_IFB;
	setup_ok(&c, &st);
	ck_assert_int_eq(ns_qdisc_count("lan0"), 0);
	verify_tree("ifb-wan0", 170000000, 51000000);
}
END_TEST

/* ---- teardown --------------------------------------------------------- */

START_TEST(teardown_leaves_what_others_made_alone)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 };
	struct vq_shaper_dev_status ds;
	char kind[16];

	/* someone else's: an ingress qdisc on the WAN, a pfifo on the peer */
	ck_assert_int_eq(ns_qdisc_ingress("wan0"), 0);
	ck_assert_int_eq(ns_qdisc_pfifo_root("wan1", 0x50000), 0);
	setup_ok(&c, &st);
	ck_assert(!st.clsact_created); /* used the existing ingress */
	ck_assert(st.redirect);
	ck_assert_int_eq(vq_shaper_teardown(&st, err, sizeof(err)), 0);

	ns_qdisc_kind("wan0", TC_H_INGRESS, kind, sizeof(kind));
	ck_assert_str_eq(kind, "ingress");
	ns_qdisc_kind("wan1", TC_H_ROOT, kind, sizeof(kind));
	ck_assert_str_eq(kind, "pfifo");
	status("wan0", &ds);
	ck_assert(!ds.like_ours);
	ck_assert_int_eq(ds.nclasses, 0);
	ck_assert_int_eq(ns_ifindex("ifb-wan0"), 0);
	/* the redirect filter went, the ingress qdisc stayed: one qdisc */
	ck_assert_int_eq(ns_qdisc_count("wan0"), 1);
	/* and teardown again is harmless */
	ck_assert_int_eq(vq_shaper_teardown(&st, err, sizeof(err)), 0);
}
END_TEST

START_TEST(a_configuration_that_cannot_be_applied_changes_nothing)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_config lan = cfg("20mbit", "100mbit", VQ_DOWN_LAN);
	struct vq_shaper_state st = { 0 };
	struct vq_shaper_dev_status before, after;
	int ifb, ret;

	setup_ok(&c, &st);
	ifb = ns_ifindex("ifb-wan0");
	status("wan0", &before);
	/* the new downstream device has someone else's root */
	tc("tc qdisc add dev lan0 root tbf rate 10mbit burst 20k latency 50ms");
	ret = vq_shaper_setup(&lan, &st, err, sizeof(err));
	ck_assert_msg(ret == -EEXIST, "setup: %d %s", ret, err);
	ck_assert_msg(strstr(err, "lan0 already has a root qdisc (tbf"), "%s", err);
	/* the running one is as it was: same IFB, same tree, same state */
	ck_assert_int_eq(ns_ifindex("ifb-wan0"), ifb);
	verify_tree("ifb-wan0", 85000000, 25500000);
	status("wan0", &after);
	ck_assert_uint_eq(cls(&after, BULK)->leaf_handle,
			  cls(&before, BULK)->leaf_handle);
	ck_assert(st.redirect && st.down == VQ_DOWN_IFB);
	ck_assert_str_eq(st.down_dev, "ifb-wan0");
}
END_TEST

START_TEST(teardown_keeps_an_ifb_someone_else_made)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 };

	tc("ip link add ifb-wan0 type ifb");
	setup_ok(&c, &st);
	ck_assert(!st.ifb_created);
	verify_tree("ifb-wan0", 85000000, 25500000);
	ck_assert_int_eq(vq_shaper_teardown(&st, err, sizeof(err)), 0);
	/* the tree on it went, the device stayed */
	ck_assert_int_eq(ns_qdisc_count("ifb-wan0"), 0);
	ck_assert_int_gt(ns_ifindex("ifb-wan0"), 0);
}
END_TEST

START_TEST(state_file_survives_a_restart_and_drives_teardown)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 }, back;
	char path[] = "/tmp/vq-shaper-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	setup_ok(&c, &st);
	ck_assert_int_eq(vq_shaper_state_save(&st, path), 0);
	ck_assert_int_eq(vq_shaper_state_load(&back, path), 0);
	unlink(path);
	ck_assert_int_eq(vq_shaper_teardown(&back, err, sizeof(err)), 0);
	ck_assert_int_eq(ns_ifindex("ifb-wan0"), 0);
	ck_assert_int_eq(ns_qdisc_count("wan0"), 0);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

START_TEST(missing_interface_is_enodev_with_a_hint)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 };

	strcpy(c.wan, "eth9");
	ck_assert_int_eq(vq_shaper_setup(&c, &st, err, sizeof(err)), -ENODEV);
	ck_assert_str_eq(err, "no such interface 'eth9' — check the WAN name with 'ip link'");
	c = cfg("20mbit", "100mbit", VQ_DOWN_LAN);
	strcpy(c.lan, "br9");
	ck_assert_int_eq(vq_shaper_setup(&c, &st, err, sizeof(err)), -ENODEV);
	ck_assert_ptr_nonnull(strstr(err, "'br9'"));
	ck_assert_ptr_nonnull(strstr(err, "LAN"));
	/* nothing was touched */
	ck_assert_int_eq(ns_qdisc_count("wan0"), 0);
}
END_TEST

START_TEST(absurd_or_missing_rate_is_einval)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 };

	c.uplink_bps = 5000000000000ULL;
	ck_assert_int_eq(vq_shaper_setup(&c, &st, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "absurd"));
	c.uplink_bps = 0;
	ck_assert_int_eq(vq_shaper_setup(&c, &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "uplink rate required, e.g. --uplink 20mbit");
	ck_assert_int_eq(ns_qdisc_count("wan0"), 0);
}
END_TEST

START_TEST(kernel_extack_message_is_surfaced)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };
	char buf[VQ_NL_REQLEN], why[VQ_NL_MSGLEN + 24];
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	struct tcmsg *tcm;
	struct tc_htb_glob g = { .version = 3, .defcls = 0x20 };
	struct vq_nl nl;
	int ret;

	setup_ok(&c, &st);
	ck_assert_int_eq(vq_nl_open(&nl, NETLINK_ROUTE), 0);
	/* HTB has no qdisc change operation: options on 1: are refused
	 * (-EOPNOTSUPP on 6.1, -EINVAL on 6.18; the message is the same) */
	nlh = vq_nl_msg(&nl, buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE,
			sizeof(*tcm), (void **)&tcm);
	tcm->tcm_ifindex = ns_ifindex("wan0");
	tcm->tcm_parent = TC_H_ROOT;
	tcm->tcm_handle = 0x10000;
	mnl_attr_put_strz(nlh, TCA_KIND, "htb");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_HTB_INIT, sizeof(g), &g);
	mnl_attr_nest_end(nlh, opts);
	ret = ns_talk(&nl, nlh);
	ck_assert_msg(ret == -EOPNOTSUPP || ret == -EINVAL, "%d: %s", ret,
		      nl.msg);
	ck_assert_msg(nl.msg[0], "no extack message");
	ck_assert_ptr_nonnull(strstr(nl.msg, "not supported"));
	ck_assert_ptr_nonnull(strstr(vq_nl_why(&nl, why, sizeof(why)),
				     "kernel says: "));

	/* an unknown qdisc kind: the message the leaf fallback relies on */
	nlh = vq_nl_msg(&nl, buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE,
			sizeof(*tcm), (void **)&tcm);
	tcm->tcm_ifindex = ns_ifindex("wan0");
	tcm->tcm_parent = VOICE;
	mnl_attr_put_strz(nlh, TCA_KIND, "no_such_qdisc");
	ck_assert_int_eq(ns_talk(&nl, nlh), -ENOENT);
	ck_assert_str_eq(nl.msg, "Specified qdisc kind is unknown");

	/* a successful request clears the message */
	nlh = vq_nl_msg(&nl, buf, RTM_GETLINK, 0, sizeof(struct ifinfomsg), NULL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "wan0");
	ck_assert_int_eq(ns_talk(&nl, nlh), 0);
	ck_assert_str_eq(nl.msg, "");
	vq_nl_close(&nl);
}
END_TEST

START_TEST(no_permission_says_run_as_root)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };
	int ret;

	/* the namespace stays; this process loses CAP_NET_ADMIN in it */
	ck_assert_int_eq(setresgid(65534, 65534, 65534), 0);
	ck_assert_int_eq(setresuid(65534, 65534, 65534), 0);
	ret = vq_shaper_setup(&c, &st, err, sizeof(err));
	ck_assert_msg(ret == -EPERM, "%d %s", ret, err);
	ck_assert_msg(strstr(err, "run as root"), "%s", err);
	ck_assert_msg(strstr(err, "wan0"), "%s", err);
}
END_TEST

START_TEST(teardown_copes_with_things_already_gone)
{
	struct vq_shaper_config c = cfg("20mbit", "100mbit", VQ_DOWN_IFB);
	struct vq_shaper_state st = { 0 };

	setup_ok(&c, &st);
	/* someone deleted the WAN (a PPP link going down) and the IFB */
	ck_assert_int_eq(ns_del("ifb-wan0"), 0);
	ck_assert_int_eq(ns_del("wan0"), 0);
	ck_assert_msg(vq_shaper_teardown(&st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(st.wan, "");
}
END_TEST

/* ---- the hand-off from the classifier --------------------------------- */

START_TEST(skb_priority_1_10_lands_in_the_voice_class)
{
	struct vq_shaper_config c = cfg("20mbit", NULL, VQ_DOWN_NONE);
	struct vq_shaper_state st = { 0 };
	uint64_t v0, b0, v1, b1;
	/* 200 bytes of payload + UDP 8 + IPv4 20 + Ethernet 14 */
	const uint64_t wire = 20 * 242;

	setup_ok(&c, &st);
	ck_assert_int_eq(ns_addr("wan0", "192.0.2.1", 24), 0);
	ck_assert_int_eq(ns_neigh("wan0", "192.0.2.2", "wan1"), 0);
	v0 = class_bytes("wan0", VOICE);
	b0 = class_bytes("wan0", BULK);

	ck_assert_int_eq(ns_udp_send("192.0.2.2", 4000,
				     TC_H_MAKE(0x10000, VOIPQ_VOICE_MINOR),
				     20, 200), 0);
	v1 = wait_bytes("wan0", VOICE, v0 + wire);
	ck_assert_uint_eq(v1 - v0, wire);
	ck_assert_uint_eq(class_bytes("wan0", BULK), b0);

	/* no priority: the default class, and voice stays where it was */
	ck_assert_int_eq(ns_udp_send("192.0.2.2", 4000, 0, 20, 200), 0);
	b1 = wait_bytes("wan0", BULK, b0 + wire);
	ck_assert_uint_eq(b1 - b0, wire);
	ck_assert_uint_eq(class_bytes("wan0", VOICE), v1);
}
END_TEST

static Suite *shaper_suite(void)
{
	Suite *s = suite_create("shaper");
	TCase *tree = tcase_create("tree");
	TCase *down = tcase_create("downstream");
	TCase *td = tcase_create("teardown");
	TCase *errs = tcase_create("errors");
	TCase *func = tcase_create("functional");
	TCase *all[] = { tree, down, td, errs, func };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], topo, NULL);
		tcase_set_timeout(all[i], 20);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(tree, setup_creates_exactly_the_expected_tree);
	tcase_add_test(tree, setup_twice_is_idempotent);
	tcase_add_test(tree, a_tree_without_a_record_in_the_state_is_refused_and_kept);
	tcase_add_test(tree, someone_elses_root_is_refused_and_kept);
	tcase_add_test(tree, a_tree_shaped_like_ours_is_not_taken_for_ours);
	tcase_add_test(tree, changed_rate_replaces_the_class_rates);
	tcase_add_test(tree, voice_share_has_a_floor_on_slow_links);
	tcase_add_test(tree, rates_above_32_bits_use_rate64);
	tcase_add_test(tree, leaf_falls_back_to_what_the_kernel_has);
	tcase_add_test(down, ifb_downstream_creates_ifb_redirect_and_tree);
	tcase_add_test(down, lan_downstream_shapes_the_lan_egress);
	tcase_add_test(td, teardown_leaves_what_others_made_alone);
	tcase_add_test(td, teardown_keeps_an_ifb_someone_else_made);
	tcase_add_test(td, a_configuration_that_cannot_be_applied_changes_nothing);
	tcase_add_test(td, state_file_survives_a_restart_and_drives_teardown);
	tcase_add_test(td, teardown_copes_with_things_already_gone);
	tcase_add_test(errs, missing_interface_is_enodev_with_a_hint);
	tcase_add_test(errs, absurd_or_missing_rate_is_einval);
	tcase_add_test(errs, kernel_extack_message_is_surfaced);
	tcase_add_test(errs, no_permission_says_run_as_root);
	tcase_add_test(func, skb_priority_1_10_lands_in_the_voice_class);
	return s;
}

int main(void)
{
	char why[128];
	SRunner *sr;
	int failed;

	if (ns_probe(why, sizeof(why))) {
		printf("SKIP: shaper tests: %s\n", why);
		return KSFT_SKIP;
	}
	sr = srunner_create(shaper_suite());
	/* each test's namespace dies with its process: never run in-process */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
