/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the datapath tests: load the real classifier through the
 * backend into a private pin directory, run crafted frames through
 * BPF_PROG_TEST_RUN and read back skb->priority and the rewritten frame.
 */
#ifndef VOIPQ_TEST_DP_H
#define VOIPQ_TEST_DP_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend_bpf.h"

/* HTB class 1:10, what the classifier sets on a prioritised packet. */
#define VOICE_PRIO ((1u << 16) | VOIPQ_VOICE_MINOR)
/* HTB class 1:30, for pure TCP ACKs. */
#define ACK_PRIO ((1u << 16) | VOIPQ_ACK_MINOR)

/* The reason BPF tests cannot run here, or NULL when they can. */
const char *dp_unavailable(void);

/* Load into /sys/fs/bpf/voipq-test-<pid>; clock from skb->tstamp if asked. */
struct vq_bpf *dp_open(bool tstamp_clock);
/* The same, re-marking EF only on packets leaving @ef_ifindex (0: any). */
struct vq_bpf *dp_open_ef(bool tstamp_clock, uint32_t ef_ifindex);
/* The same, with @cfg's knobs (its pin directory is replaced). */
struct vq_bpf *dp_open_cfg(struct vq_bpf_cfg cfg);
/* Unpin and close what dp_open() made (a checked-fixture teardown). */
void dp_close(void);
const char *dp_pin_dir(void);

struct dp_result {
	uint32_t priority;
	uint32_t retval;
	uint8_t out[9000];
	uint32_t out_len;
};

/* Run one frame; @tstamp is "now" when the clock comes from tstamp. */
void dp_run(struct vq_bpf *b, const void *frame, size_t len, uint64_t tstamp,
	    struct dp_result *r);
/* The same through another program (the headerless one). */
void dp_run_prog(int prog_fd, const void *frame, size_t len, uint64_t tstamp,
		 struct dp_result *r);
/* Run one frame, return the priority it left with. */
uint32_t dp_prio(struct vq_bpf *b, const void *frame, size_t len,
		 uint64_t tstamp);
/* The same for a packet without a link-layer header (it starts at IP). */
uint32_t dp_prio_l3(struct vq_bpf *b, const void *packet, size_t len,
		    uint64_t tstamp);

/* Install @addr:@port (UDP) with a generous budget and @flags. */
void dp_add(struct vq_bpf *b, const char *addr, uint16_t port, uint32_t flags);
void dp_add_policy(struct vq_bpf *b, const char *addr, uint16_t port,
		   const struct vq_bpf_policy *pol);
struct voipq_ep_val dp_val(struct vq_bpf *b, const char *addr, uint16_t port);
/* The same for a TCP endpoint (@pol NULL: the generous budget). */
void dp_add_tcp(struct vq_bpf *b, const char *addr, uint16_t port,
		const struct vq_bpf_policy *pol);
struct voipq_ep_val dp_val_tcp(struct vq_bpf *b, const char *addr,
			       uint16_t port);
/* "ADDRESS/LEN" and a UDP port as a prefix rule. */
struct vq_prefix dp_prefix(const char *prefix, uint16_t port);
/* Install a prefix rule with dp_add()'s generous budget. */
void dp_add_prefix(struct vq_bpf *b, const char *prefix, uint16_t port);
struct voipq_ep_val dp_prefix_val(struct vq_bpf *b, const char *prefix,
				  uint16_t port);
struct voipq_stats dp_stats(struct vq_bpf *b);

/* Frames: Ethernet + IPv4/IPv6 + UDP with @pl as payload. */
size_t dp_udp4(uint8_t *out, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport, const void *pl, size_t n);
size_t dp_udp6(uint8_t *out, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport, const void *pl, size_t n);
/* A 12-byte RTP header (version 2, payload type @pt) plus 160 bytes. */
size_t dp_rtp(uint8_t *out, uint8_t pt, uint16_t seq, uint32_t ts,
	      uint32_t ssrc);

Suite *datapath_suite(void);
/* The budget needs no kernel; the rest only when @kernel. */
Suite *backend_bpf_suite(bool kernel);

#endif
