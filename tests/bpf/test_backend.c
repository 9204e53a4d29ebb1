// SPDX-License-Identifier: GPL-2.0
/* The agent's side: budget, port bitmap, re-adoption, attach/detach. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../unit/pktbuild.h"
#include "dp.h"
#include "epset.h"

#define FAR "198.51.100.7"
#define PHONE "192.0.2.20"

/* ---- budget (no kernel needed) ------------------------------------------ */

static struct vq_codec codec(const char *name, uint32_t clock, uint16_t ptime,
			     uint32_t as)
{
	struct vq_codec c = { .clock_rate = clock, .ptime_ms = ptime,
			      .bw_kbps = as };

	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

START_TEST(budget_g711_is_bitrate_plus_headers_doubled)
{
	struct vq_codec c = codec("PCMA", 8000, 20, 0);
	uint32_t rate, burst;

	vq_bpf_budget(&c, VQ_MEDIA_AUDIO, &rate, &burst);
	/* (64000 / 8 + 50 pkt/s * 82 header bytes) * 2 */
	ck_assert_uint_eq(rate, 24200);
	ck_assert_uint_eq(burst, 4840); /* 200 ms */

	/* 10 ms packets: twice the headers */
	c.ptime_ms = 10;
	vq_bpf_budget(&c, VQ_MEDIA_AUDIO, &rate, &burst);
	ck_assert_uint_eq(rate, (8000 + 100 * 82) * 2);
	/* no ptime: 20 ms */
	c.ptime_ms = 0;
	vq_bpf_budget(&c, VQ_MEDIA_AUDIO, &rate, &burst);
	ck_assert_uint_eq(rate, 24200);
}
END_TEST

START_TEST(budget_opus_uses_b_as_else_its_maximum)
{
	struct vq_codec c = codec("opus", 48000, 20, 0);
	uint32_t rate, burst, rate_as;

	vq_bpf_budget(&c, VQ_MEDIA_AUDIO, &rate, &burst);
	ck_assert_uint_eq(rate, (510000 / 8 + 50 * 82) * 2);
	c.bw_kbps = 64;
	vq_bpf_budget(&c, VQ_MEDIA_AUDIO, &rate_as, &burst);
	ck_assert_uint_eq(rate_as, (64000 / 8 + 50 * 82) * 2);
	ck_assert_uint_lt(rate_as, rate);
}
END_TEST

START_TEST(budget_video_and_unknowns_are_sane)
{
	struct vq_codec c = codec("H264", 90000, 0, 1000);
	uint32_t rate, burst, r2, b2;

	vq_bpf_budget(&c, VQ_MEDIA_VIDEO, &rate, &burst);
	ck_assert_uint_eq(rate, (125000 + (125000 / 1200 + 30) * 82) * 2);
	ck_assert_uint_eq(burst, rate / 2);

	/* no b=AS: 2 Mbit/s; a forged 1 Gbit/s is capped at 10 */
	c.bw_kbps = 0;
	vq_bpf_budget(&c, VQ_MEDIA_VIDEO, &r2, &b2);
	ck_assert_uint_gt(r2, 2 * 250000);
	c.bw_kbps = 1000000;
	vq_bpf_budget(&c, VQ_MEDIA_VIDEO, &r2, &b2);
	ck_assert_uint_le(r2, 2 * (10000000 / 8 + 20000 * 82));

	/* an audio codec nobody knows: 128 kbit/s, not zero, not unbounded */
	c = codec("X-FOO", 0, 0, 0);
	vq_bpf_budget(&c, VQ_MEDIA_AUDIO, &r2, &b2);
	ck_assert_uint_eq(r2, (128000 / 8 + 50 * 82) * 2);
	ck_assert_uint_ge(b2, 3000);
	vq_bpf_budget(NULL, VQ_MEDIA_AUDIO, &r2, &b2);
	ck_assert_uint_eq(r2, (128000 / 8 + 50 * 82) * 2);
}
END_TEST

/* ---- with the kernel ---------------------------------------------------- */

static struct vq_endpoint ep4(const char *a, uint16_t port)
{
	struct vq_endpoint ep = { .proto = IPPROTO_UDP, .port = port };

	ck_assert_int_eq(vq_addr_parse(&ep, a), 0);
	return ep;
}

static uint32_t prio_to(struct vq_bpf *b, const char *dst, uint16_t dport)
{
	uint8_t f[PB_MAX], pl[32] = { 0 };
	size_t n = dp_udp4(f, PHONE, 4000, dst, dport, pl, sizeof(pl));

	return dp_prio(b, f, n, 0);
}

START_TEST(port_bitmap_counts_shared_ports)
{
	struct vq_bpf *b = dp_open(false);
	struct vq_endpoint a = ep4(FAR, 30000), c = ep4("198.51.100.8", 30000);
	struct voipq_stats s;

	dp_add(b, FAR, 30000, 0);
	dp_add(b, "198.51.100.8", 30000, 0);
	ck_assert_uint_eq(prio_to(b, "198.51.100.8", 30000), VOICE_PRIO);

	/* one of two endpoints on the port goes: the other still matches */
	ck_assert_int_eq(vq_bpf_ep_del(b, &a), 0);
	ck_assert_int_eq(vq_bpf_ep_del(b, &a), -ENOENT);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), 0);
	ck_assert_uint_eq(prio_to(b, "198.51.100.8", 30000), VOICE_PRIO);

	/* the last one goes: the bit is clear and no lookup happens */
	ck_assert_int_eq(vq_bpf_ep_del(b, &c), 0);
	ck_assert_uint_eq(prio_to(b, "198.51.100.8", 30000), 0);
	s = dp_stats(b);
	ck_assert_uint_eq(s.hits, 2);

	/* re-adding one that exists keeps its counters */
	dp_add(b, FAR, 30000, 0);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), VOICE_PRIO);
	dp_add(b, FAR, 30000, VOIPQ_EP_DSCP_EF);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).packets, 1);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).flags, VOIPQ_EP_DSCP_EF);
}
END_TEST

static int count_eps(void *arg, const struct vq_endpoint *ep,
		     const struct voipq_ep_val *v)
{
	(*(int *)arg)++;
	ck_assert_uint_eq(v->cookie, 42);
	return 0;
}

static int count_rules(void *arg, const struct vq_prefix *p,
		       const struct voipq_ep_val *v)
{
	char buf[VQ_PREFIXSTRLEN];

	(*(int *)arg)++;
	ck_assert_str_eq(vq_prefix_str(p, buf, sizeof(buf)),
			 "203.0.113.0/24:30004");
	ck_assert_uint_eq(v->cookie, 42);
	return 0;
}

START_TEST(reopen_readopts_pinned_endpoints)
{
	struct vq_bpf_cfg cfg = { .pin_dir = dp_pin_dir(), .max_endpoints = 1024 };
	struct vq_bpf *b = dp_open(false), *b2;
	int n = 0;

	dp_add(b, FAR, 30000, 0);
	dp_add(b, FAR, 30002, 0);
	dp_add_prefix(b, "203.0.113.0/24", 30004);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), VOICE_PRIO);

	/* a second voipqd: new program, same maps, bitmaps rebuilt */
	ck_assert_int_eq(vq_bpf_open(&b2, &cfg), 0);
	ck_assert_int_eq(vq_bpf_ep_for_each(b2, count_eps, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(prio_to(b2, FAR, 30002), VOICE_PRIO);
	ck_assert_uint_eq(prio_to(b2, "203.0.113.9", 30004), VOICE_PRIO);
	n = 0;
	ck_assert_int_eq(vq_bpf_pfx_for_each(b2, count_rules, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(dp_val(b2, FAR, 30000).packets, 1);
	ck_assert_uint_eq(dp_stats(b2).hits, 3);
	vq_bpf_close(b2);
}
END_TEST

/* An epset wired to the backend: SDP events program the map. */
START_TEST(endpoint_events_program_the_map)
{
	struct vq_bpf *b = dp_open(false);
	struct vq_epset *set = vq_epset_new(16, &vq_bpf_backend_ops, b);
	struct vq_media_ep m = {
		.ep = ep4(FAR, 30000), .kind = VQ_EP_RTP,
		.media = VQ_MEDIA_AUDIO, .codec = codec("PCMU", 8000, 20, 0),
	};
	struct vq_dialog_id d = { "call-1@x", "a", "b" };
	struct voipq_ep_val v;

	ck_assert_ptr_nonnull(set);
	ck_assert_int_eq(vq_epset_ref(set, &m, &d, "offer", 1), 0);
	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.rate_bps, 24200);
	ck_assert_uint_eq(v.burst, 4840);
	ck_assert_uint_eq(v.tokens_nb, 4840 * 1000000000ull);
	ck_assert_uint_eq(v.clock_rate, 8000);
	ck_assert_uint_eq(v.flags, VOIPQ_EP_DSCP_EF);
	ck_assert_uint_ne(v.cookie, 0);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), VOICE_PRIO);

	vq_epset_unref(set, &m, &d, "bye", 2);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), 0);
	ck_assert_uint_eq(vq_epset_stats(set)->backend_errors, 0);
	vq_epset_free(set);
}
END_TEST

/* A private network namespace with a veth pair, for attaching. */
static int netns_with_veth(const char *name)
{
	char cmd[128];

	if (unshare(CLONE_NEWNET))
		return -errno;
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/ip link add %s type veth peer name %sp && "
		 "/usr/sbin/ip link set %s up", name, name, name);
	return system(cmd) ? -EIO : 0;
}

START_TEST(attach_uses_a_pinned_tcx_link)
{
	struct vq_bpf *b = dp_open(false);
	struct bpf_link_info info = { 0 };
	struct { uint32_t ifindex, attach_type; } tcx;
	uint32_t len = sizeof(info);
	char path[256];
	int fd;

	ck_assert_int_eq(netns_with_veth("vqt0"), 0);
	ck_assert_int_eq(vq_bpf_attach(b, "vqt0"), 0);
	snprintf(path, sizeof(path), "%s/link_vqt0_egress", dp_pin_dir());
	fd = bpf_obj_get(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	/* 6.1 headers lack the tcx member: it is {ifindex, attach_type} */
	memcpy(&tcx, (char *)&info + offsetof(struct bpf_link_info, xdp),
	       sizeof(tcx));
	ck_assert_uint_eq(info.type, 11);		/* BPF_LINK_TYPE_TCX */
	ck_assert_uint_eq(tcx.ifindex, if_nametoindex("vqt0"));
	ck_assert_uint_eq(tcx.attach_type, 47);	/* BPF_TCX_EGRESS */
	close(fd);

	/* attaching again swaps the program under the same link */
	ck_assert_int_eq(vq_bpf_attach(b, "vqt0"), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt0"), 0);
	ck_assert_int_eq(access(path, F_OK), -1);

	ck_assert_int_eq(vq_bpf_attach(b, "eth9"), -ENODEV);
}
END_TEST

static int tc_filter_present(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0x7671, .priority = 1);

	return bpf_tc_query(&hook, &opts);
}

START_TEST(clsact_fallback_removes_only_its_own_qdisc)
{
	struct vq_bpf_cfg cfg = { .pin_dir = dp_pin_dir(), .no_tcx = true };
	struct vq_bpf *b;
	int ifindex;

	ck_assert_int_eq(netns_with_veth("vqt1"), 0);
	ifindex = if_nametoindex("vqt1");
	ck_assert_int_eq(vq_bpf_open(&b, &cfg), 0);

	/* we make the clsact qdisc, so detach removes it */
	ck_assert_int_eq(vq_bpf_attach(b, "vqt1"), 0);
	ck_assert_int_eq(tc_filter_present(ifindex), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt1"), 0);
	ck_assert_int_eq(system("/usr/sbin/tc qdisc show dev vqt1 | grep -q clsact"), 256);

	/* someone else's clsact qdisc stays after we leave */
	ck_assert_int_eq(system("/usr/sbin/tc qdisc add dev vqt1 clsact"), 0);
	ck_assert_int_eq(vq_bpf_attach(b, "vqt1"), 0);
	ck_assert_int_eq(tc_filter_present(ifindex), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt1"), 0);
	ck_assert_int_ne(tc_filter_present(ifindex), 0);
	ck_assert_int_eq(system("/usr/sbin/tc qdisc show dev vqt1 | grep -q clsact"), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt1"), -ENOENT);

	vq_bpf_unpin(b);
	vq_bpf_close(b);
}
END_TEST

Suite *backend_bpf_suite(bool kernel)
{
	Suite *s = suite_create("backend_bpf");
	TCase *tc;

	tc = tcase_create("budget");
	tcase_add_test(tc, budget_g711_is_bitrate_plus_headers_doubled);
	tcase_add_test(tc, budget_opus_uses_b_as_else_its_maximum);
	tcase_add_test(tc, budget_video_and_unknowns_are_sane);
	suite_add_tcase(s, tc);
	if (!kernel)
		return s;

	tc = tcase_create("maps");
	tcase_add_checked_fixture(tc, NULL, dp_close);
	tcase_add_test(tc, port_bitmap_counts_shared_ports);
	tcase_add_test(tc, reopen_readopts_pinned_endpoints);
	tcase_add_test(tc, endpoint_events_program_the_map);
	suite_add_tcase(s, tc);

	tc = tcase_create("attach");
	tcase_add_checked_fixture(tc, NULL, dp_close);
	tcase_add_test(tc, attach_uses_a_pinned_tcx_link);
	tcase_add_test(tc, clsact_fallback_removes_only_its_own_qdisc);
	suite_add_tcase(s, tc);
	return s;
}
