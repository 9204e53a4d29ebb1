// SPDX-License-Identifier: GPL-2.0
/*
 * The classifier's cost per packet, from BPF_PROG_TEST_RUN with repeat:
 * a hit, a UDP miss and a non-UDP packet, each minus an empty tc program
 * measured in the same run (so the harness's own cost cancels), with 1, 1k
 * and 64k endpoints in the map. Each figure is the minimum of several
 * rounds: the least disturbed one on a shared machine.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "../unit/pktbuild.h"
#include "backend_bpf.h"
#include "log.h"

#define REPEAT	1000000
#define ROUNDS	7

/* return 0, after calling @helper when non-zero */
static int tiny_prog(int helper)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = helper },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "vq_tiny", "GPL",
			     helper ? insns : insns + 1, helper ? 3 : 2, NULL);
}

/* Average ns per run of @fd over REPEAT runs of @frame. */
static double run_ns(int fd, const uint8_t *frame, size_t len)
{
	struct __sk_buff ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = REPEAT);

	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "bench_bpf: BPF_PROG_TEST_RUN: %s\n",
			strerror(errno));
		exit(1);
	}
	return o.duration; /* the kernel reports ns per repetition */
}

struct frame {
	uint8_t data[PB_MAX];
	size_t len;
};

struct figures {
	double hit, miss, collide, non_udp;
};

/* Min over rounds of (program - empty), interleaved so drift cancels. */
static struct figures measure(int prog, int empty, const struct frame *hit,
			      const struct frame *miss,
			      const struct frame *collide,
			      const struct frame *tcp)
{
	struct figures best = { 1e9, 1e9, 1e9, 1e9 };

	for (int r = 0; r < ROUNDS; r++) {
		double e = run_ns(empty, hit->data, hit->len);
		double h = run_ns(prog, hit->data, hit->len) - e;
		double m = run_ns(prog, miss->data, miss->len) - e;
		double c = run_ns(prog, collide->data, collide->len) - e;
		double t = run_ns(prog, tcp->data, tcp->len) - e;

		best.hit = h < best.hit ? h : best.hit;
		best.miss = m < best.miss ? m : best.miss;
		best.collide = c < best.collide ? c : best.collide;
		best.non_udp = t < best.non_udp ? t : best.non_udp;
	}
	return best;
}

static size_t udp4(uint8_t *out, const char *src, uint16_t sport,
		   const char *dst, uint16_t dport, size_t paylen)
{
	uint8_t pl[PB_MAX] = { 0x80, 8 }, u[PB_MAX], ip[PB_MAX];
	size_t n = udp_wrap(u, sport, dport, pl, paylen);

	n = ipv4_wrap(ip, src, dst, IPPROTO_UDP, u, n);
	return eth_wrap(out, 0x0800, ip, n);
}

static void fill(struct vq_bpf *b, unsigned int from, unsigned int to)
{
	struct vq_bpf_policy pol = { .rate_bps = 16000, .burst = 3200 };

	for (unsigned int i = from; i < to; i++) {
		/* 10.x.y.z, RTP-range ports: none of the bulk ports below */
		struct vq_endpoint ep = {
			.family = AF_INET, .proto = IPPROTO_UDP,
			.port = 16384 + (i * 2) % 16384,
			.addr = { 10, i >> 16, i >> 8, i },
		};
		int err = vq_bpf_ep_set(b, &ep, &pol);

		if (err) {
			fprintf(stderr, "bench_bpf: add endpoint %u: %s\n", i,
				strerror(-err));
			exit(1);
		}
	}
}

int main(void)
{
	static const unsigned int sizes[] = { 1, 1024, 65536 };
	static const char *const names[] = { "1", "1k", "64k" };
	char pin[64];
	struct vq_bpf_cfg cfg = { .pin_dir = pin, .max_endpoints = 131072 };
	struct vq_bpf_policy big = { .rate_bps = UINT32_MAX,
				     .burst = UINT32_MAX, .clock_rate = 8000 };
	struct vq_endpoint target = { .family = AF_INET, .proto = IPPROTO_UDP,
				      .port = 30000,
				      .addr = { 198, 51, 100, 7 } };
	static struct frame hit, miss, collide, tcp, ack;
	struct bpf_prog_info info = { 0 };
	uint32_t info_len = sizeof(info);
	double hmin = 1e9, hmax = 0;
	unsigned int have = 0;
	struct vq_bpf *b;
	int empty, err;

	snprintf(pin, sizeof(pin), "/sys/fs/bpf/voipq-bench-%d", (int)getpid());
	if (geteuid() != 0) {
		printf("bench_bpf: skipped: needs root for BPF_PROG_TEST_RUN\n");
		return 0;
	}
	err = vq_bpf_open(&b, &cfg);
	if (err) {
		printf("bench_bpf: skipped: cannot load the classifier: %s\n",
		       strerror(-err));
		return 0;
	}
	empty = tiny_prog(0);
	if (empty < 0) {
		fprintf(stderr, "bench_bpf: load empty program: %s\n",
			strerror(errno));
		return 1;
	}

	/* 20 ms of G.711: 160 bytes of payload after the RTP header */
	hit.len = udp4(hit.data, "192.0.2.20", 4000, "198.51.100.7", 30000,
		       172);
	miss.len = udp4(miss.data, "192.0.2.20", 51000, "198.51.100.9", 443,
			1200);
	collide.len = udp4(collide.data, "192.0.2.20", 51000, "198.51.100.9",
			   30000, 172);
	{
		uint8_t t[PB_MAX], ip[PB_MAX], pl[1200] = { 0 };
		size_t n = tcp_wrap(t, 51000, 443, 1, 0, pl, sizeof(pl));

		n = ipv4_wrap(ip, "192.0.2.20", "198.51.100.9", IPPROTO_TCP,
			      t, n);
		tcp.len = eth_wrap(tcp.data, 0x0800, ip, n);
		/* the download's ACK going up: to the ACK class */
		n = tcp_wrap(t, 51000, 443, 1, 0, NULL, 0);
		n = ipv4_wrap(ip, "192.0.2.20", "198.51.100.9", IPPROTO_TCP,
			      t, n);
		ack.len = eth_wrap(ack.data, 0x0800, ip, n);
	}

	err = vq_bpf_ep_set(b, &target, &big);
	if (err)
		return 1;
	have = 1;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct figures f;

		fill(b, have, sizes[i]);
		have = sizes[i];
		f = measure(vq_bpf_prog_fd(b), empty, &hit, &miss, &collide,
			    &tcp);
		printf("BENCH bpf_hit_ns_over_empty_%s %.1f ns target <= 70\n",
		       names[i], f.hit);
		printf("BENCH bpf_udp_miss_ns_over_empty_%s %.1f ns target <= 15\n",
		       names[i], f.miss);
		printf("BENCH bpf_non_udp_ns_over_empty_%s %.1f ns target <= 10\n",
		       names[i], f.non_udp);
		/* a bulk flow on a voice port: the bitmap can't help */
		printf("BENCH bpf_port_collision_ns_over_empty_%s %.1f ns target <= 70\n",
		       names[i], f.collide);
		hmin = f.hit < hmin ? f.hit : hmin;
		hmax = f.hit > hmax ? f.hit : hmax;
	}
	printf("BENCH bpf_hit_flatness_1_to_64k %.2f ratio target <= 1.10\n",
	       hmax / (hmin > 1 ? hmin : 1));

	/* A pure TCP ACK: non-UDP too, and its path reads no table. */
	{
		double best = 1e9;

		for (int r = 0; r < ROUNDS; r++) {
			double e = run_ns(empty, ack.data, ack.len);
			double a = run_ns(vq_bpf_prog_fd(b), ack.data, ack.len) - e;

			best = a < best ? a : best;
		}
		printf("BENCH bpf_tcp_pure_ack_ns_over_empty %.1f ns target <= 10\n",
		       best);
	}

	/*
	 * Context for the hit figure: what one bpf_ktime_get_ns() costs on
	 * this machine (the classifier calls it once per hit). Retpolines and
	 * return thunks make helper calls dear on some hosts.
	 */
	{
		int kt = tiny_prog(BPF_FUNC_ktime_get_ns);
		double best = 1e9;

		for (int r = 0; kt >= 0 && r < ROUNDS; r++) {
			double e = run_ns(empty, hit.data, hit.len);
			double k = run_ns(kt, hit.data, hit.len) - e;

			best = k < best ? k : best;
		}
		if (kt >= 0) {
			printf("# bpf_ktime_get_ns() alone: %.1f ns over empty "
			       "on this machine\n", best);
			close(kt);
		}
	}

	if (!bpf_obj_get_info_by_fd(vq_bpf_prog_fd(b), &info, &info_len))
		printf("BENCH bpf_xlated_insns %u insns target <= 4096\n",
		       info.xlated_prog_len / 8);
	{
		struct voipq_ep_val v;

		/* the hit figure is meant to be the prioritised path */
		if (!vq_bpf_ep_lookup(b, &target, &v) && v.demoted)
			fprintf(stderr, "bench_bpf: warning: %llu hits were "
				"demoted\n", (unsigned long long)v.demoted);
	}
	close(empty);
	vq_bpf_unpin(b);
	vq_bpf_close(b);
	return 0;
}
