// SPDX-License-Identifier: GPL-2.0
/*
 * BPF datapath tests: the real classifier object, crafted frames through
 * BPF_PROG_TEST_RUN. They need root and a kernel with BPF; elsewhere the
 * datapath cases are skipped with the reason printed, and the parts that
 * need no kernel (the budget) still run.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "../unit/pktbuild.h"
#include "dp.h"
#include "log.h"

static struct vq_bpf *cur;
static char pin_dir[64];

/* One directory for the run, named for the runner (tests fork from it). */
const char *dp_pin_dir(void)
{
	if (!pin_dir[0])
		snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/voipq-test-%d",
			 (int)getpid());
	return pin_dir;
}

/* Remove whatever a failed test left pinned, so the next starts clean. */
static void dp_wipe(void)
{
	DIR *d = opendir(dp_pin_dir());
	struct dirent *e;
	char path[320];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp_pin_dir(), e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dp_pin_dir());
}

struct vq_bpf *dp_open(bool tstamp_clock)
{
	return dp_open_ef(tstamp_clock, 0);
}

struct vq_bpf *dp_open_ef(bool tstamp_clock, uint32_t ef_ifindex)
{
	struct vq_bpf_cfg cfg = {
		.clock_from_tstamp = tstamp_clock,
		.ef_ifindex = ef_ifindex,
	};

	return dp_open_cfg(cfg);
}

struct vq_bpf *dp_open_cfg(struct vq_bpf_cfg cfg)
{
	int err;

	cfg.pin_dir = dp_pin_dir();
	if (!cfg.max_endpoints)
		cfg.max_endpoints = 1024;

	ck_assert_ptr_null(cur);
	dp_wipe();
	err = vq_bpf_open(&cur, &cfg);
	ck_assert_msg(!err, "vq_bpf_open: %s", strerror(-err));
	return cur;
}

void dp_close(void)
{
	if (!cur)
		return;
	vq_bpf_unpin(cur);
	vq_bpf_close(cur);
	cur = NULL;
}

void dp_run(struct vq_bpf *b, const void *frame, size_t len, uint64_t tstamp,
	    struct dp_result *r)
{
	dp_run_prog(vq_bpf_prog_fd(b), frame, len, tstamp, r);
}

void dp_run_prog(int prog_fd, const void *frame, size_t len, uint64_t tstamp,
		 struct dp_result *r)
{
	struct __sk_buff ctx_in = { .tstamp = tstamp }, ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame, .data_size_in = len,
		    .data_out = r->out, .data_size_out = sizeof(r->out),
		    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
		    .ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out),
		    .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &o);
	ck_assert_msg(!err, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	r->priority = ctx_out.priority;
	r->retval = o.retval;
	r->out_len = o.data_size_out;
	/*
	 * The datapath never drops, redirects or ends the chain: no verdict
	 * (TC_ACT_UNSPEC, TCX_NEXT), always.
	 */
	ck_assert_int_eq((int32_t)r->retval, TC_ACT_UNSPEC);
	ck_assert_uint_eq(r->out_len, len);
}

uint32_t dp_prio(struct vq_bpf *b, const void *frame, size_t len,
		 uint64_t tstamp)
{
	static struct dp_result r;

	dp_run(b, frame, len, tstamp, &r);
	return r.priority;
}

uint32_t dp_prio_l3(struct vq_bpf *b, const void *packet, size_t len,
		    uint64_t tstamp)
{
	static struct dp_result r;

	dp_run_prog(vq_bpf_prog_fd_l3(b), packet, len, tstamp, &r);
	return r.priority;
}

static struct vq_endpoint ep_of(const char *addr, uint16_t port)
{
	struct vq_endpoint ep = { .proto = IPPROTO_UDP, .port = port };

	ck_assert_int_eq(vq_addr_parse(&ep, addr), 0);
	return ep;
}

void dp_add_policy(struct vq_bpf *b, const char *addr, uint16_t port,
		   const struct vq_bpf_policy *pol)
{
	struct vq_endpoint ep = ep_of(addr, port);

	ck_assert_int_eq(vq_bpf_ep_set(b, &ep, pol), 0);
}

static const struct vq_bpf_policy generous = {
	.rate_bps = 1000000, .burst = 1000000, .clock_rate = 8000,
	.cookie = 42,
};

void dp_add(struct vq_bpf *b, const char *addr, uint16_t port, uint32_t flags)
{
	struct vq_bpf_policy pol = generous;

	pol.flags = flags;
	dp_add_policy(b, addr, port, &pol);
}

void dp_add_tcp(struct vq_bpf *b, const char *addr, uint16_t port,
		const struct vq_bpf_policy *pol)
{
	struct vq_endpoint ep = ep_of(addr, port);

	ep.proto = IPPROTO_TCP;
	ck_assert_int_eq(vq_bpf_ep_set(b, &ep, pol ? pol : &generous), 0);
}

struct voipq_ep_val dp_val_tcp(struct vq_bpf *b, const char *addr,
			       uint16_t port)
{
	struct vq_endpoint ep = ep_of(addr, port);
	struct voipq_ep_val v;

	ep.proto = IPPROTO_TCP;
	ck_assert_int_eq(vq_bpf_ep_lookup(b, &ep, &v), 0);
	return v;
}

struct vq_prefix dp_prefix(const char *prefix, uint16_t port)
{
	struct vq_prefix p = { .ep = { .proto = IPPROTO_UDP, .port = port } };
	char err[256];

	ck_assert_msg(!vq_prefix_parse(&p, prefix, err, sizeof(err)), "%s", err);
	return p;
}

void dp_add_prefix(struct vq_bpf *b, const char *prefix, uint16_t port)
{
	struct vq_prefix p = dp_prefix(prefix, port);

	ck_assert_int_eq(vq_bpf_pfx_set(b, &p, &generous), 0);
}

struct voipq_ep_val dp_prefix_val(struct vq_bpf *b, const char *prefix,
				  uint16_t port)
{
	struct vq_prefix p = dp_prefix(prefix, port);
	struct voipq_ep_val v;

	ck_assert_int_eq(vq_bpf_pfx_lookup(b, &p, &v), 0);
	return v;
}

struct voipq_ep_val dp_val(struct vq_bpf *b, const char *addr, uint16_t port)
{
	struct vq_endpoint ep = ep_of(addr, port);
	struct voipq_ep_val v;

	ck_assert_int_eq(vq_bpf_ep_lookup(b, &ep, &v), 0);
	return v;
}

struct voipq_stats dp_stats(struct vq_bpf *b)
{
	struct voipq_stats s;

	ck_assert_int_eq(vq_bpf_stats(b, &s), 0);
	return s;
}

size_t dp_udp4(uint8_t *out, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport, const void *pl, size_t n)
{
	uint8_t udp[PB_MAX], ip[PB_MAX];
	size_t len;

	len = udp_wrap(udp, sport, dport, pl, n);
	len = ipv4_wrap(ip, src, dst, IPPROTO_UDP, udp, len);
	return eth_wrap(out, 0x0800, ip, len);
}

size_t dp_udp6(uint8_t *out, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport, const void *pl, size_t n)
{
	uint8_t udp[PB_MAX], ip[PB_MAX];
	size_t len;

	len = udp_wrap(udp, sport, dport, pl, n);
	len = ipv6_wrap(ip, src, dst, IPPROTO_UDP, udp, len);
	return eth_wrap(out, 0x86dd, ip, len);
}

size_t dp_rtp(uint8_t *out, uint8_t pt, uint16_t seq, uint32_t ts,
	      uint32_t ssrc)
{
	out[0] = 0x80;
	out[1] = pt;
	pb_put16(out + 2, seq);
	pb_put32(out + 4, ts);
	pb_put32(out + 8, ssrc);
	memset(out + 12, 0xd5, 160);
	return 172;
}

/* Load an empty-ish check: can this process load and test-run BPF? */
const char *dp_unavailable(void)
{
	static char why[256];
	struct vq_bpf_cfg cfg = { .pin_dir = dp_pin_dir() };
	struct vq_bpf *b;
	uint8_t frame[64] = { 0 };
	struct __sk_buff ctx = { 0 };
	int err;

	if (geteuid() != 0)
		return "not root (BPF_PROG_TEST_RUN on tc programs needs CAP_BPF + CAP_NET_ADMIN)";
	vq_log_set_level(VQ_LOG_WARN);
	err = vq_bpf_open(&b, &cfg);
	if (err) {
		snprintf(why, sizeof(why), "cannot load the classifier: %s",
			 strerror(-err));
		return why;
	}
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
			    .data_size_in = sizeof(frame), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		err = bpf_prog_test_run_opts(vq_bpf_prog_fd(b), &o) ? -errno : 0;
	}
	vq_bpf_unpin(b);
	vq_bpf_close(b);
	if (err) {
		snprintf(why, sizeof(why), "BPF_PROG_TEST_RUN unavailable: %s",
			 strerror(-err));
		return why;
	}
	return NULL;
}

int main(void)
{
	const char *why;
	SRunner *sr;
	int failed;

	dp_pin_dir(); /* before any fork */
	why = dp_unavailable();

	sr = srunner_create(backend_bpf_suite(!why));
	if (why)
		printf("bpf: datapath tests skipped: %s\n", why);
	else
		srunner_add_suite(sr, datapath_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	dp_wipe();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
