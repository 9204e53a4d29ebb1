/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RTP receiver statistics as RFC 3550 defines them: sequence tracking with
 * wrap-around (A.1), expected/lost (A.3) and interarrival jitter (A.8).
 * The BPF classifier and the kernel module compute the same figures; this is
 * the userspace reference they are tested against.
 */
#ifndef VOIPQ_RTPSTATS_H
#define VOIPQ_RTPSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vq_rtp_hdr {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	size_t payload_off; /* after CSRCs and header extension */
};

/*
 * RFC 5761 §4: where RTP and RTCP share a port, a second byte of 192..223
 * is RTCP (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR and the rest of the
 * range), so RTP there must not use payload types 64..95.
 */
#define VQ_RTCP_PT_FIRST	192
#define VQ_RTCP_PT_LAST		223

/*
 * Whether a second byte @b1 could be RTCP's: payload type 64..95, taken as
 * RTCP with or without the marker bit, as bpf/voipq.bpf.c and kmod/rtp.h
 * take it.
 */
static inline bool vq_rtp_pt_is_rtcp(uint8_t b1)
{
	return (b1 & 0x7f) >= VQ_RTCP_PT_FIRST - 128 &&
	       (b1 & 0x7f) <= VQ_RTCP_PT_LAST - 128;
}

/*
 * Parse an RTP version 2 header, bounded by @len. Returns 0, or -EINVAL for
 * anything that is not RTP (wrong version, RTCP's payload types 64-95 with
 * or without the marker bit, CSRC list or extension past the end, padding
 * past the end).
 */
int vq_rtp_parse(const uint8_t *p, size_t len, struct vq_rtp_hdr *h);

struct vq_rtp_stream {
	uint32_t ssrc;
	uint32_t clock_rate;   /* Hz; 8000 when unknown */
	uint16_t max_seq;
	uint32_t cycles;       /* shifted count of wraps, as in A.1 */
	uint32_t base_seq;
	uint32_t bad_seq;
	uint64_t received;
	bool started;
	bool have_transit;
	int64_t transit;       /* last arrival - timestamp, clock units */
	double jitter;         /* clock units, A.8 estimator */
	uint64_t first_ns, last_ns;
};

void vq_rtp_stream_init(struct vq_rtp_stream *s, uint32_t ssrc,
			uint32_t clock_rate);
void vq_rtp_stream_update(struct vq_rtp_stream *s, const struct vq_rtp_hdr *h,
			  uint64_t arrival_ns);

uint64_t vq_rtp_expected(const struct vq_rtp_stream *s);
/* May be negative with duplicates, as RFC 3550 allows. */
int64_t vq_rtp_lost(const struct vq_rtp_stream *s);
/* Loss in percent of expected, clamped to 0..100. */
double vq_rtp_loss_pct(const struct vq_rtp_stream *s);
/* The same from the A.3 figures, for statistics kept elsewhere. */
double vq_rtp_loss_pct_of(uint64_t expected, int64_t lost);
double vq_rtp_jitter_ms(const struct vq_rtp_stream *s);

/* Clock rate for a static payload type (RFC 3551), 0 when unknown. */
uint32_t vq_rtp_static_clock(uint8_t pt);

#endif
