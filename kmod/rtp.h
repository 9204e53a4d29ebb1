/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RTP receiver statistics for sch_voipq: RFC 3550 A.1 sequence tracking and
 * A.8 jitter, figure for figure as bpf/voipq.bpf.c computes them (no
 * probation; J kept * 16 in integers) and agent/rtpstats.c defines them.
 *
 * Header only, on fixed-width types and the two kernel helpers below, so
 * that tests/kmod/test_rtp.c compiles this very code in userspace and
 * checks it against agent/rtpstats.c.
 */
#ifndef VOIPQ_KMOD_RTP_H
#define VOIPQ_KMOD_RTP_H

#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/types.h>
#endif

#define VOIPQ_RTP_SEQ_MOD	(1u << 16)
#define VOIPQ_RTP_MAX_DROPOUT	3000
#define VOIPQ_RTP_MAX_MISORDER	100
#define VOIPQ_RTP_HDR_LEN	12

enum {
	VOIPQ_RTP_F_STARTED = 1 << 0,
	VOIPQ_RTP_F_HAVE_TRANSIT = 1 << 1,
};

struct voipq_rtp {
	u32 ssrc;
	u32 received;
	u32 base_seq;
	u32 ext_max_seq;	/* cycles << 16 | max_seq */
	u32 bad_seq;
	u32 jitter_q4;		/* J * 16, RTP clock units */
	u32 flags;
	s64 transit;		/* arrival - timestamp, clock units */
	u64 first_ns;		/* arrival of the stream's first packet */
};

/* The header is a copy in a byte array: no alignment to rely on. */
static inline u16 voipq_rtp_be16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

static inline u32 voipq_rtp_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/*
 * Whether the fixed header @h, of a UDP payload @len bytes long, is RTP as
 * agent/rtpstats.c's vq_rtp_parse() takes it (tests/kmod/test_rtp.c checks
 * every first and second byte): version 2, its CSRC list inside @len, and
 * not RTCP multiplexed on the port (RFC 5761 §4: a second byte 192..223,
 * i.e. payload types 64..95, taken as RTCP with or without the marker bit,
 * feedback and XR as much as SR..APP).
 */
static inline bool voipq_rtp_hdr_ok(const u8 *h, u32 len)
{
	u8 pt = h[1] & 0x7f;

	return h[0] >> 6 == 2 && (pt < 64 || pt > 95) &&
	       VOIPQ_RTP_HDR_LEN + 4u * (h[0] & 0x0f) <= len;
}

static inline void voipq_rtp_init_seq(struct voipq_rtp *r, u16 seq)
{
	r->base_seq = seq;
	r->ext_max_seq = seq;
	r->bad_seq = VOIPQ_RTP_SEQ_MOD + 1;
	r->received = 0;
}

/* Arrival since the stream's first packet, in RTP clock units. */
static inline s64 voipq_rtp_arrival(const struct voipq_rtp *r, u32 clock_rate,
				    u64 now)
{
	u64 rate = clock_rate ? clock_rate : 8000;
	u64 d = now >= r->first_ns ? now - r->first_ns : r->first_ns - now;
	u32 rem;
	u64 u;

	/* Split so that ns * rate cannot overflow, as rtpstats.c does. */
	u = div_u64_rem(d, 1000000000u, &rem) * rate;
	u += div_u64((u64)rem * rate, 1000000000u);
	return now >= r->first_ns ? (s64)u : -(s64)u;
}

/* One RTP packet (@h: its fixed 12-byte header) arrived at @now ns. */
static inline void voipq_rtp_update(struct voipq_rtp *r, u32 clock_rate,
				    const u8 *h, u64 now)
{
	u16 seq = voipq_rtp_be16(h + 2);
	u32 ts = voipq_rtp_be32(h + 4);
	u32 ssrc = voipq_rtp_be32(h + 8);
	u32 flags = r->flags;
	s64 transit;

	if (!(flags & VOIPQ_RTP_F_STARTED) || r->ssrc != ssrc) {
		/* A new stream, or a new SSRC on the same endpoint. */
		r->ssrc = ssrc;
		voipq_rtp_init_seq(r, seq);
		r->received = 1;
		r->jitter_q4 = 0;
		r->first_ns = now;
		flags = VOIPQ_RTP_F_STARTED;
	} else {
		u16 max_seq = r->ext_max_seq & 0xffff;
		u32 cycles = r->ext_max_seq & 0xffff0000;
		u16 udelta = seq - max_seq;

		if (udelta < VOIPQ_RTP_MAX_DROPOUT) {
			if (seq < max_seq)
				cycles += VOIPQ_RTP_SEQ_MOD;
			r->ext_max_seq = cycles | seq;
		} else if (udelta <= VOIPQ_RTP_SEQ_MOD - VOIPQ_RTP_MAX_MISORDER) {
			/* A big jump counts once the next packet follows it. */
			if (seq != r->bad_seq) {
				r->bad_seq = (seq + 1) & (VOIPQ_RTP_SEQ_MOD - 1);
				return;
			}
			voipq_rtp_init_seq(r, seq);
			flags &= ~VOIPQ_RTP_F_HAVE_TRANSIT;
		}
		r->received++;
	}

	transit = voipq_rtp_arrival(r, clock_rate, now) - (s64)ts;
	if (flags & VOIPQ_RTP_F_HAVE_TRANSIT) {
		s32 d = (s32)((u32)transit - (u32)r->transit);
		u64 ad = d < 0 ? -(s64)d : d;
		u64 j = r->jitter_q4;

		/* A.8 in integers: J is kept * 16; J += |D| - J / 16. */
		j = j + ad - ((j + 8) >> 4);
		r->jitter_q4 = j > 0xffffffffull ? 0xffffffffu : (u32)j;
	}
	r->transit = transit;
	r->flags = flags | VOIPQ_RTP_F_HAVE_TRANSIT;
}

#endif
