// SPDX-License-Identifier: GPL-2.0
/* The agent's side: budget, port bitmap, re-adoption, attach/detach. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

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

/*
 * The endpoint table at its smallest (max_endpoints 8: two buckets of
 * eight slots, and every key has both): sixteen endpoints fit, each found
 * by the classifier wherever it went, including those in their second
 * bucket; the seventeenth is refused with -ENOSPC and leaves nothing
 * behind; a delete makes room again.
 */
START_TEST(table_full_refuses_then_makes_room)
{
	struct vq_bpf *b = dp_open_cfg((struct vq_bpf_cfg){ .max_endpoints = 8 });
	struct vq_bpf_policy pol = { .rate_bps = 100000, .burst = 10000,
				     .cookie = 42 };
	struct vq_endpoint ep = ep4(FAR, 40000), first = ep4(FAR, 30000);
	struct voipq_ep_val v;
	int n = 0;

	for (int i = 0; i < 16; i++) {
		struct vq_endpoint e = ep4(FAR, (uint16_t)(30000 + 2 * i));

		ck_assert_int_eq(vq_bpf_ep_set(b, &e, &pol), 0);
	}
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(prio_to(b, FAR, (uint16_t)(30000 + 2 * i)),
				  VOICE_PRIO);
	ck_assert_int_eq(vq_bpf_ep_set(b, &ep, &pol), -ENOSPC);
	ck_assert_int_eq(vq_bpf_ep_lookup(b, &ep, &v), -ENOENT);
	ck_assert_uint_eq(prio_to(b, FAR, 40000), 0);
	ck_assert_int_eq(vq_bpf_ep_for_each(b, count_eps, &n), 0);
	ck_assert_int_eq(n, 16);

	/* an update of one that is there needs no room */
	pol.flags = VOIPQ_EP_DSCP_EF;
	ck_assert_int_eq(vq_bpf_ep_set(b, &first, &pol), 0);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).flags, VOIPQ_EP_DSCP_EF);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).packets, 1);

	ck_assert_int_eq(vq_bpf_ep_del(b, &first), 0);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), 0);
	ck_assert_int_eq(vq_bpf_ep_set(b, &ep, &pol), 0);
	ck_assert_uint_eq(prio_to(b, FAR, 40000), VOICE_PRIO);
	/* the new one starts from nothing, not from the slot's last user */
	ck_assert_uint_eq(dp_val(b, FAR, 40000).packets, 1);

	/* IPv6 keys share the table: one more goes once one leaves */
	ck_assert_int_eq(vq_bpf_ep_del(b, &ep), 0);
	ep = ep4("2001:db8::7", 30000);
	ck_assert_int_eq(vq_bpf_ep_set(b, &ep, &pol), 0);
	ck_assert_int_eq(vq_bpf_ep_lookup(b, &ep, &v), 0);
	ck_assert_uint_eq(v.cookie, 42);
}
END_TEST

/*
 * A pinned table that cannot be adopted as it is moves into a new one,
 * counters and all: one whose hashing pin is gone, one sized for another
 * max_endpoints, and an older voipq's LRU hash. A handle that asks for no
 * size adopts the table as it is.
 */
static int reopen_count(struct vq_bpf_cfg cfg, struct vq_bpf **b2)
{
	int n = 0;

	cfg.pin_dir = dp_pin_dir();
	ck_assert_int_eq(vq_bpf_open(b2, &cfg), 0);
	ck_assert_int_eq(vq_bpf_ep_for_each(*b2, count_eps, &n), 0);
	return n;
}

/* The id of the endpoint table pinned now. */
static uint32_t pinned_table_id(void)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/voipq_eps", dp_pin_dir());
	fd = bpf_obj_get(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

START_TEST(table_moves_when_it_cannot_be_adopted)
{
	struct vq_bpf *b = dp_open(false), *b2;
	char path[256];
	uint32_t id;

	dp_add(b, FAR, 30000, 0);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), VOICE_PRIO);

	/* its hashing lost */
	snprintf(path, sizeof(path), "%s/voipq_ep_meta", dp_pin_dir());
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(reopen_count((struct vq_bpf_cfg){ .max_endpoints = 1024 },
				      &b2), 1);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_uint_eq(prio_to(b2, FAR, 30000), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b2, FAR, 30000).packets, 2);
	vq_bpf_close(b2);

	/* another size: resized, not kept or dropped */
	ck_assert_int_eq(reopen_count((struct vq_bpf_cfg){ .max_endpoints = 5000 },
				      &b2), 1);
	ck_assert_uint_eq(prio_to(b2, FAR, 30000), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b2, FAR, 30000).packets, 3);
	vq_bpf_close(b2);

	/* no size asked (a handle that only adopts): the same table */
	id = pinned_table_id();
	ck_assert_int_eq(reopen_count((struct vq_bpf_cfg){ 0 }, &b2), 1);
	ck_assert_uint_eq(pinned_table_id(), id);
	ck_assert_uint_eq(dp_val(b2, FAR, 30000).packets, 3);
	vq_bpf_close(b2);
}
END_TEST

START_TEST(older_lru_table_moves_into_the_new_one)
{
	struct vq_bpf_cfg cfg = { .pin_dir = dp_pin_dir(), .max_endpoints = 64 };
	struct vq_endpoint ep = ep4(FAR, 30000);
	struct voipq_ep_val val = { .rate_bps = 100000, .burst = 10000,
				    .tokens_nb = 10000ull * 1000000000,
				    .clock_rate = 8000, .cookie = 42,
				    .packets = 7 };
	struct voipq_ep_key key;
	struct vq_bpf *b;
	char path[256];
	int fd;

	/* what voipq pinned before the table: an LRU hash, key to value */
	vq_ep_to_key(&ep, &key);
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "voipq_eps", sizeof(key),
			    sizeof(val), 64, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_ANY), 0);
	mkdir(dp_pin_dir(), 0700);
	snprintf(path, sizeof(path), "%s/voipq_eps", dp_pin_dir());
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	close(fd);

	ck_assert_int_eq(vq_bpf_open(&b, &cfg), 0);
	ck_assert_uint_eq(prio_to(b, FAR, 30000), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).packets, 8);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).cookie, 42);
	vq_bpf_unpin(b);
	vq_bpf_close(b);
}
END_TEST

/*
 * The key of FAR:*@port, the first port from there whose first or second
 * bucket is @bk and neither is @not_bk.
 */
static struct voipq_ep_key key_in(const struct voipq_ep_meta *m, uint32_t bk,
				  uint32_t not_bk, uint16_t *port)
{
	for (;; (*port)++) {
		struct vq_endpoint ep = ep4(FAR, *port);
		struct voipq_ep_key k;
		uint32_t b1, b2;

		vq_ep_to_key(&ep, &k);
		voipq_ep_buckets(voipq_ep_hash(&k, m->seed), m->buckets, &b1,
				 &b2);
		if ((b1 == bk || b2 == bk) && b1 != not_bk && b2 != not_bk)
			return k;
	}
}

/*
 * Both buckets of a key full (written by hand, as another run left them):
 * one of their keys moves to its other bucket to make room. The
 * classifier then finds every key where it is, in its first or second
 * bucket, in a table of 256 buckets where the hash decides which.
 */
START_TEST(full_buckets_make_room_by_moving_a_key)
{
	struct vq_bpf_cfg cfg = { .pin_dir = dp_pin_dir(), .max_endpoints = 1024 };
	struct vq_bpf_policy pol = { .rate_bps = 100000, .burst = 10000,
				     .cookie = 42 };
	struct vq_bpf *b2;
	struct vq_endpoint target = ep4(FAR, 30000);
	struct voipq_ep_slot slot = { .val = { .rate_bps = 100000,
		.burst = 10000, .tokens_nb = 10000ull * 1000000000,
		.clock_rate = 8000, .cookie = 42 } };
	struct voipq_ep_meta meta;
	struct voipq_ep_key tk;
	uint32_t zero = 0, bk[2];
	uint16_t port = 20000, ports[16];
	char path[256];
	int fd, n = 0;

	dp_open(false); /* the table and its hashing, pinned */
	snprintf(path, sizeof(path), "%s/voipq_ep_meta", dp_pin_dir());
	fd = bpf_obj_get(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	close(fd);
	ck_assert_uint_eq(meta.buckets, 256);
	vq_ep_to_key(&target, &tk);
	voipq_ep_buckets(voipq_ep_hash(&tk, meta.seed), meta.buckets, &bk[0],
			 &bk[1]);

	snprintf(path, sizeof(path), "%s/voipq_eps", dp_pin_dir());
	fd = bpf_obj_get(path);
	ck_assert_int_ge(fd, 0);
	for (uint32_t i = 0; i < 16; i++) {
		uint32_t h = i / VOIPQ_BUCKET_SLOTS;
		uint32_t at = bk[h] * VOIPQ_BUCKET_SLOTS + i % VOIPQ_BUCKET_SLOTS;

		slot.key = key_in(&meta, bk[h], bk[!h], &port);
		ports[i] = port++;
		ck_assert_int_eq(bpf_map_update_elem(fd, &at, &slot, BPF_ANY), 0);
	}
	close(fd);

	/* a second handle reads them: its port bits, its idea of the slots */
	ck_assert_int_eq(vq_bpf_open(&b2, &cfg), 0);
	ck_assert_int_eq(vq_bpf_ep_set(b2, &target, &pol), 0);
	ck_assert_uint_eq(prio_to(b2, FAR, 30000), VOICE_PRIO);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(prio_to(b2, FAR, ports[i]), VOICE_PRIO);
	ck_assert_int_eq(vq_bpf_ep_for_each(b2, count_eps, &n), 0);
	ck_assert_int_eq(n, 17);
	vq_bpf_close(b2);
}
END_TEST

/*
 * The table against a model, past its nominal load: random adds (three
 * in four) and deletes (one in four) of 200 keys in a table of 128 slots
 * (max_endpoints 64), so that it fills and stays full. An add is refused
 * only with -ENOSPC and only near full: not before 112 keys (in 40 runs
 * the first refusal came at 122 to 128). Every hundred steps, every key
 * the model holds is found by the agent and by the classifier, and no
 * other.
 */
START_TEST(table_matches_a_model_under_churn)
{
	struct vq_bpf *b = dp_open_cfg((struct vq_bpf_cfg){ .max_endpoints = 64 });
	struct vq_bpf_policy pol = { .rate_bps = 100000, .burst = 10000,
				     .cookie = 42 };
	unsigned int seed = (unsigned int)getpid(), held = 0, refused = 0;
	bool in[200] = { false };
	struct voipq_ep_val v;
	int n = 0;

	for (int step = 0; step < 3000; step++) {
		int k = rand_r(&seed) % 200, r = rand_r(&seed) % 4;
		struct vq_endpoint ep = ep4(FAR, (uint16_t)(20000 + 2 * k));
		int err;

		if (in[k] && r == 0) {
			ck_assert_int_eq(vq_bpf_ep_del(b, &ep), 0);
			in[k] = false;
			held--;
		} else if (!in[k] && r) {
			err = vq_bpf_ep_set(b, &ep, &pol);
			if (err) {
				ck_assert_int_eq(err, -ENOSPC);
				ck_assert_uint_ge(held, 112);
				refused++;
			} else {
				in[k] = true;
				held++;
			}
		}
		if (step % 100 != 99)
			continue;
		for (int i = 0; i < 200; i++) {
			uint16_t port = (uint16_t)(20000 + 2 * i);

			ep = ep4(FAR, port);
			ck_assert_int_eq(vq_bpf_ep_lookup(b, &ep, &v),
					 in[i] ? 0 : -ENOENT);
			ck_assert_uint_eq(prio_to(b, FAR, port),
					  in[i] ? VOICE_PRIO : 0);
		}
	}
	ck_assert_uint_gt(refused, 0); /* it did fill */
	ck_assert_int_eq(vq_bpf_ep_for_each(b, count_eps, &n), 0);
	ck_assert_int_eq(n, (int)held);
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
	char cmd[256];

	if (unshare(CLONE_NEWNET))
		return -errno;
	/* no IPv6: nothing leaves the link but what a test sends */
	snprintf(cmd, sizeof(cmd),
		 "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && "
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
	ck_assert_int_eq(vq_bpf_attach(b, "vqt0", NULL), 0);
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
	ck_assert_int_eq(vq_bpf_attach(b, "vqt0", NULL), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt0"), 0);
	ck_assert_int_eq(access(path, F_OK), -1);

	ck_assert_int_eq(vq_bpf_attach(b, "eth9", NULL), -ENODEV);
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
	ck_assert_int_eq(vq_bpf_attach(b, "vqt1", NULL), 0);
	ck_assert_int_eq(tc_filter_present(ifindex), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt1"), 0);
	ck_assert_int_eq(system("/usr/sbin/tc qdisc show dev vqt1 | grep -q clsact"), 256);

	/* someone else's clsact qdisc stays after we leave */
	ck_assert_int_eq(system("/usr/sbin/tc qdisc add dev vqt1 clsact"), 0);
	ck_assert_int_eq(vq_bpf_attach(b, "vqt1", NULL), 0);
	ck_assert_int_eq(tc_filter_present(ifindex), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt1"), 0);
	ck_assert_int_ne(tc_filter_present(ifindex), 0);
	ck_assert_int_eq(system("/usr/sbin/tc qdisc show dev vqt1 | grep -q clsact"), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt1"), -ENOENT);

	/* ours, but someone's filter joined it since: it stays, with theirs */
	ck_assert_int_eq(system("/usr/sbin/tc qdisc del dev vqt1 clsact"), 0);
	ck_assert_int_eq(vq_bpf_attach(b, "vqt1", NULL), 0);
	ck_assert_int_eq(system("/usr/sbin/tc filter add dev vqt1 ingress prio 5 protocol all u32 match u32 0 0 flowid 1:1"), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqt1"), 0);
	ck_assert_int_ne(tc_filter_present(ifindex), 0);
	ck_assert_int_eq(system("/usr/sbin/tc filter show dev vqt1 ingress | grep -q u32"), 0);

	vq_bpf_unpin(b);
	vq_bpf_close(b);
}
END_TEST

/* ---- the chain after the classifier ------------------------------------ */

#define CHAIN_SRC	"10.99.0.1"
#define CHAIN_DST	"10.99.0.2"
#define CHAIN_PEER_MAC	"02:00:00:00:76:02"
#define CHAIN_PORT	30000
#define CHAIN_PACKETS	7

/*
 * @name addressed and its peer up, with CHAIN_DST a permanent neighbour
 * behind the peer: no ARP, so each datagram a test sends to CHAIN_DST
 * leaves @name's egress once, before sendto() returns. The peer has no
 * address (CHAIN_DST would be local, and go over loopback), so it drops
 * what arrives.
 */
static int netns_with_addressed_veth(const char *name)
{
	char cmd[512];
	int err = netns_with_veth(name);

	if (err)
		return err;
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/ip link set %sp address " CHAIN_PEER_MAC " up && "
		 "/usr/sbin/ip addr add " CHAIN_SRC "/24 dev %s && "
		 "/usr/sbin/ip neigh replace " CHAIN_DST " lladdr "
		 CHAIN_PEER_MAC " dev %s nud permanent", name, name, name);
	return system(cmd) ? -EIO : 0;
}

#define INSN(c, d, s_, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s_), \
			    .off = (o), .imm = (i) })

/* What the counter keeps: the one value of its array map. */
struct counter_val {
	uint64_t packets;
	uint64_t linear; /* data_end - data of the last packet */
};

/*
 * Another tc program, the kind that runs after voipq on a real router (a
 * firewall, a counter): it counts the packets it sees in @map_fd's only
 * struct counter_val, notes how much of the last one was linear, and
 * passes them on without a verdict.
 */
static int counter_prog_load(int map_fd)
{
	const struct bpf_insn insns[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD,
		     0, map_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 6, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0,
		     BPF_ADD),
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_6,
		     offsetof(struct __sk_buff, data), 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_6,
		     offsetof(struct __sk_buff, data_end), 0),
		INSN(BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_3,
		     offsetof(struct counter_val, linear), 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0,
		     TC_ACT_UNSPEC),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "vq_next", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
}

static int counter_map_create(void)
{
	return bpf_map_create(BPF_MAP_TYPE_ARRAY, "vq_next_count", 4,
			      sizeof(struct counter_val), 1, NULL);
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* voipq and the counter after it on one veth's egress. */
struct chain {
	struct vq_bpf *b;
	int map_fd, prog_fd, link_fd;
};

/*
 * voipq attached to egress by tcx or (@voipq_tcx false) a clsact filter,
 * knowing CHAIN_DST:CHAIN_PORT, then the counter after it by tcx or a clsact
 * filter of a later priority.
 */
static void chain_open(struct chain *ch, bool voipq_tcx, bool next_tcx)
{
	struct vq_bpf_cfg cfg = { .no_tcx = !voipq_tcx };
	uint32_t ids[4], cnt = 4;
	int ifindex;

	ck_assert_int_eq(netns_with_addressed_veth("vqc0"), 0);
	ifindex = if_nametoindex("vqc0");
	ch->b = dp_open_cfg(cfg);
	dp_add(ch->b, CHAIN_DST, CHAIN_PORT, 0);
	ck_assert_int_eq(vq_bpf_attach(ch->b, "vqc0", NULL), 0);

	ch->link_fd = -1;
	ch->map_fd = counter_map_create();
	ck_assert_int_ge(ch->map_fd, 0);
	ch->prog_fd = counter_prog_load(ch->map_fd);
	ck_assert_msg(ch->prog_fd >= 0, "load the counter: %s",
		      strerror(errno));
	if (next_tcx) {
		ch->link_fd = bpf_link_create(ch->prog_fd, ifindex,
					      47 /* BPF_TCX_EGRESS */, NULL);
		ck_assert_msg(ch->link_fd >= 0, "tcx: %s", strerror(errno));
		/* appended: voipq runs first, the counter second */
		ck_assert_int_eq(bpf_prog_query(ifindex, 47, 0, NULL, ids,
						&cnt), 0);
		ck_assert_uint_eq(cnt, voipq_tcx ? 2 : 1);
		ck_assert_uint_eq(ids[cnt - 1], prog_id(ch->prog_fd));
		if (voipq_tcx)
			ck_assert_uint_eq(ids[0],
					  prog_id(vq_bpf_prog_fd(ch->b)));
	} else {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_EGRESS);
		/* voipq's filter has priority 1: this one comes after */
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 2, .priority = 2,
			    .prog_fd = ch->prog_fd);

		bpf_tc_hook_create(&hook); /* -EEXIST when voipq made it */
		ck_assert_int_eq(bpf_tc_attach(&hook, &opts), 0);
	}
}

static struct counter_val chain_counter(const struct chain *ch)
{
	struct counter_val c;
	uint32_t zero = 0;

	ck_assert_int_eq(bpf_map_lookup_elem(ch->map_fd, &zero, &c), 0);
	return c;
}

static void chain_close(struct chain *ch)
{
	if (ch->link_fd >= 0)
		close(ch->link_fd);
	ck_assert_int_eq(vq_bpf_detach(ch->b, "vqc0"), 0);
	close(ch->prog_fd);
	close(ch->map_fd);
}

/* A UDP socket connected to voipq's endpoint: it leaves through vqc0. */
static int chain_socket(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(CHAIN_PORT) };
	int sock = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(inet_pton(AF_INET, CHAIN_DST, &dst.sin_addr), 1);
	ck_assert_int_eq(connect(sock, (struct sockaddr *)&dst, sizeof(dst)),
			 0);
	return sock;
}

/*
 * CHAIN_PACKETS datagrams to the endpoint. The counter must see every
 * packet voipq saw: a verdict from voipq would end the chain there
 * (TCX_PASS skips later tcx programs and every clsact filter; TC_ACT_OK
 * from a direct-action filter skips later filters).
 */
static void chain_case(bool voipq_tcx, bool next_tcx)
{
	uint8_t payload[172] = { 0x80 };
	struct voipq_stats s;
	struct chain ch;
	int sock;

	chain_open(&ch, voipq_tcx, next_tcx);
	sock = chain_socket();
	for (int i = 0; i < CHAIN_PACKETS; i++)
		ck_assert_int_eq(send(sock, payload, sizeof(payload), 0),
				 (ssize_t)sizeof(payload));
	close(sock);

	s = dp_stats(ch.b);
	ck_assert_uint_eq(s.hits, CHAIN_PACKETS);
	ck_assert_uint_eq(s.packets, CHAIN_PACKETS);
	ck_assert_uint_eq(chain_counter(&ch).packets, s.packets);
	chain_close(&ch);
}

START_TEST(tcx_program_after_voipq_sees_every_packet)
{
	chain_case(true, true);
}
END_TEST

START_TEST(clsact_filter_after_voipq_tcx_sees_every_packet)
{
	chain_case(true, false);
}
END_TEST

START_TEST(clsact_filter_after_voipq_filter_sees_every_packet)
{
	chain_case(false, false);
}
END_TEST

/*
 * The RTP header past the linear area. A corked UDP socket (an empty
 * MSG_MORE send, then the datagram) on a device with scatter-gather builds
 * the skb as drivers that split headers do: Ethernet, IP and UDP linear,
 * the payload in a page fragment. BPF_PROG_TEST_RUN cannot make such an
 * skb (it copies the data in linear, and this kernel refuses a data_end in
 * ctx_in), so it goes out a veth; the counter after voipq confirms the
 * linear area ended before the RTP header. RTP statistics must count every
 * packet all the same.
 */
START_TEST(rtp_header_past_the_linear_area_is_counted)
{
	uint8_t rtp[172];
	struct voipq_ep_val v;
	struct chain ch;
	int sock;

	chain_open(&ch, true, true);
	sock = chain_socket();
	for (int i = 0; i < 10; i++) {
		size_t n = dp_rtp(rtp, 8, (uint16_t)(100 + i), 160u * i,
				  0x5151);

		ck_assert_int_eq(send(sock, rtp, 0, MSG_MORE), 0);
		ck_assert_int_eq(send(sock, rtp, n, 0), (ssize_t)n);
	}
	close(sock);

	/* Ethernet, IPv4 and UDP headers, and not one byte more */
	ck_assert_uint_eq(chain_counter(&ch).packets, 10);
	ck_assert_uint_eq(chain_counter(&ch).linear, 14 + 20 + 8);
	v = dp_val(ch.b, CHAIN_DST, CHAIN_PORT);
	ck_assert_uint_eq(v.packets, 10);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].ssrc, 0x5151);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].received, 10);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].base_seq, 100);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].ext_max_seq, 109);
	chain_close(&ch);
}
END_TEST

/* ---- framing: devices without a link-layer header ---------------------- */

#define TUN_PEER	"10.98.0.2"

/* The one program attached by tcx to @ifname's egress. */
static uint32_t tcx_prog(const char *ifname)
{
	uint32_t ids[4], cnt = 4;

	ck_assert_int_eq(bpf_prog_query(if_nametoindex(ifname),
					47 /* BPF_TCX_EGRESS */, 0, NULL, ids,
					&cnt), 0);
	ck_assert_uint_eq(cnt, 1);
	return ids[0];
}

/*
 * A tun device @name (ARPHRD_NONE, as WireGuard's; PPP's is ARPHRD_PPP:
 * both headerless) in this netns, up, with TUN_PEER behind it. Returns
 * the fd that keeps it; nobody reads what it queues.
 */
static int tun_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	char cmd[256];
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ck_assert_msg(!ioctl(fd, TUNSETIFF, &ifr), "TUNSETIFF: %s",
		      strerror(errno));
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/ip link set %s up && "
		 "/usr/sbin/ip addr add 10.98.0.1 peer " TUN_PEER " dev %s",
		 name, name);
	ck_assert_int_eq(system(cmd), 0);
	return fd;
}

/*
 * Each device gets the program for its framing: the headerless one on a
 * tun device, and on a veth fed from it (as an IFB from a ppp0's ingress)
 * when told so; the Ethernet one on the veth otherwise. Real traffic out
 * of the tun device is classified, RTP statistics and all.
 */
START_TEST(attach_picks_the_program_for_the_framing)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(CHAIN_PORT) };
	struct voipq_ep_val v;
	struct vq_bpf *b;
	uint8_t rtp[172];
	int tun, sock;

	ck_assert_int_eq(netns_with_addressed_veth("vqc0"), 0);
	tun = tun_open("vqtun0");
	b = dp_open(false);
	dp_add(b, TUN_PEER, CHAIN_PORT, 0);

	ck_assert_int_eq(vq_bpf_attach(b, "vqtun0", NULL), 0);
	ck_assert_uint_eq(tcx_prog("vqtun0"), prog_id(vq_bpf_prog_fd_l3(b)));
	ck_assert_int_eq(vq_bpf_attach(b, "vqc0", "vqtun0"), 0);
	ck_assert_uint_eq(tcx_prog("vqc0"), prog_id(vq_bpf_prog_fd_l3(b)));
	/* attaching again swaps in the program for the framing asked for */
	ck_assert_int_eq(vq_bpf_attach(b, "vqc0", NULL), 0);
	ck_assert_uint_eq(tcx_prog("vqc0"), prog_id(vq_bpf_prog_fd(b)));
	ck_assert_int_eq(vq_bpf_attach(b, "vqc0", "eth9"), -ENODEV);

	sock = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(inet_pton(AF_INET, TUN_PEER, &dst.sin_addr), 1);
	for (int i = 0; i < 5; i++) {
		size_t n = dp_rtp(rtp, 8, (uint16_t)(7 + i), 160u * i, 0x7e57);

		ck_assert_int_eq(sendto(sock, rtp, n, 0,
					(struct sockaddr *)&dst, sizeof(dst)),
				 (ssize_t)n);
	}
	close(sock);
	v = dp_val(b, TUN_PEER, CHAIN_PORT);
	ck_assert_uint_eq(v.packets, 5);
	ck_assert_uint_eq(v.bytes, 5 * (20 + 8 + 172)); /* no link header */
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].ssrc, 0x7e57);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].received, 5);

	ck_assert_int_eq(vq_bpf_detach(b, "vqc0"), 0);
	ck_assert_int_eq(vq_bpf_detach(b, "vqtun0"), 0);
	close(tun);
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
	tcase_add_test(tc, table_full_refuses_then_makes_room);
	tcase_add_test(tc, table_moves_when_it_cannot_be_adopted);
	tcase_add_test(tc, older_lru_table_moves_into_the_new_one);
	tcase_add_test(tc, full_buckets_make_room_by_moving_a_key);
	tcase_add_test(tc, table_matches_a_model_under_churn);
	tcase_add_test(tc, endpoint_events_program_the_map);
	suite_add_tcase(s, tc);

	tc = tcase_create("attach");
	tcase_add_checked_fixture(tc, NULL, dp_close);
	tcase_add_test(tc, attach_uses_a_pinned_tcx_link);
	tcase_add_test(tc, clsact_fallback_removes_only_its_own_qdisc);
	suite_add_tcase(s, tc);

	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, NULL, dp_close);
	tcase_add_test(tc, tcx_program_after_voipq_sees_every_packet);
	tcase_add_test(tc, clsact_filter_after_voipq_tcx_sees_every_packet);
	tcase_add_test(tc, clsact_filter_after_voipq_filter_sees_every_packet);
	tcase_add_test(tc, rtp_header_past_the_linear_area_is_counted);
	tcase_add_test(tc, attach_picks_the_program_for_the_framing);
	suite_add_tcase(s, tc);
	return s;
}
