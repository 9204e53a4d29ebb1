// SPDX-License-Identifier: GPL-2.0
/*
 * RTP receiver statistics, following RFC 3550 appendix A closely so that the
 * BPF and kernel implementations can be checked against it figure by figure.
 *
 * Differences from A.1: there is no probation. A router sees the first
 * packet of a stream it already learned from SDP, so the first packet is
 * trusted; a restart (a large jump confirmed by a second, consecutive
 * packet) is still detected through bad_seq exactly as A.1 does it.
 */
#include <errno.h>
#include <math.h>

#include "rtpstats.h"

#define RTP_SEQ_MOD	(1u << 16)
#define MAX_DROPOUT	3000
#define MAX_MISORDER	100
#define NSEC_PER_SEC	1000000000ull

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int vq_rtp_parse(const uint8_t *p, size_t len, struct vq_rtp_hdr *h)
{
	size_t off;
	uint8_t pt;

	if (!p || len < 12)
		return -EINVAL;
	if (p[0] >> 6 != 2)
		return -EINVAL;
	/*
	 * RTCP muxed on the RTP port: not only SR..APP (200..204, the
	 * payload types 72..76 RFC 3550 §5.1 keeps free) but feedback
	 * (RTPFB 205, PSFB 206) and XR (207) too, whose SSRC field would
	 * otherwise pass for a new stream's.
	 */
	if (vq_rtp_pt_is_rtcp(p[1]))
		return -EINVAL;
	pt = p[1] & 0x7f;

	off = 12 + 4 * (size_t)(p[0] & 0x0f);
	if (off > len)
		return -EINVAL;

	if (p[0] & 0x10) {
		/* 16-bit profile id, 16-bit length in 32-bit words */
		if (len - off < 4)
			return -EINVAL;
		off += 4 + 4 * (size_t)get_be16(p + off + 2);
		if (off > len)
			return -EINVAL;
	}

	if (p[0] & 0x20) {
		/* The count includes itself, so 0 is malformed. */
		uint8_t pad = p[len - 1];

		if (pad == 0 || pad > len - off)
			return -EINVAL;
	}

	h->pt = pt;
	h->marker = p[1] & 0x80;
	h->seq = get_be16(p + 2);
	h->ts = get_be32(p + 4);
	h->ssrc = get_be32(p + 8);
	h->payload_off = off;
	return 0;
}

static void init_seq(struct vq_rtp_stream *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
}

void vq_rtp_stream_init(struct vq_rtp_stream *s, uint32_t ssrc,
			uint32_t clock_rate)
{
	*s = (struct vq_rtp_stream){
		.ssrc = ssrc,
		.clock_rate = clock_rate ? clock_rate : 8000,
	};
}

/* A.1 update_seq(); returns false for a packet that is not counted. */
static bool update_seq(struct vq_rtp_stream *s, uint16_t seq)
{
	uint16_t udelta = seq - s->max_seq;

	if (udelta < MAX_DROPOUT) {
		/* in order, with a permissible gap */
		if (seq < s->max_seq)
			s->cycles += RTP_SEQ_MOD;
		s->max_seq = seq;
	} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
		/*
		 * A very large jump: believe it only when the next packet
		 * follows it, i.e. the sender restarted without telling us.
		 */
		if (seq != s->bad_seq) {
			s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			return false;
		}
		init_seq(s, seq);
		/* New timeline: the old transit would fake a jitter spike. */
		s->have_transit = false;
	}
	/* else: duplicate or reordered, counted but max_seq unchanged */
	s->received++;
	return true;
}

/* Arrival time since the first packet, in RTP clock units. */
static int64_t arrival_units(const struct vq_rtp_stream *s, uint64_t now_ns)
{
	uint64_t d = now_ns - s->first_ns;
	bool neg = now_ns < s->first_ns;
	uint64_t u;

	if (neg)
		d = s->first_ns - now_ns;
	/* Split so that ns * rate cannot overflow 64 bits. */
	u = d / NSEC_PER_SEC * s->clock_rate +
	    d % NSEC_PER_SEC * s->clock_rate / NSEC_PER_SEC;
	return neg ? -(int64_t)u : (int64_t)u;
}

void vq_rtp_stream_update(struct vq_rtp_stream *s, const struct vq_rtp_hdr *h,
			  uint64_t arrival_ns)
{
	int64_t transit;
	int32_t d;

	if (!s->started) {
		init_seq(s, h->seq);
		s->started = true;
		s->first_ns = arrival_ns;
		s->received = 1;
	} else if (!update_seq(s, h->seq)) {
		return;
	}
	s->last_ns = arrival_ns;

	/*
	 * A.8. The RTP timestamp is 32 bits and wraps, so take D modulo 2^32:
	 * the difference of two transits is small even when each is not.
	 */
	transit = arrival_units(s, arrival_ns) - (int64_t)h->ts;
	if (s->have_transit) {
		d = (int32_t)((uint32_t)transit - (uint32_t)s->transit);
		s->jitter += (fabs((double)d) - s->jitter) / 16.0;
	}
	s->transit = transit;
	s->have_transit = true;
}

uint64_t vq_rtp_expected(const struct vq_rtp_stream *s)
{
	if (!s->started)
		return 0;
	return (uint64_t)s->cycles + s->max_seq - s->base_seq + 1;
}

int64_t vq_rtp_lost(const struct vq_rtp_stream *s)
{
	return (int64_t)vq_rtp_expected(s) - (int64_t)s->received;
}

double vq_rtp_loss_pct_of(uint64_t expected, int64_t lost)
{
	double pct;

	if (!expected)
		return 0.0;
	pct = 100.0 * (double)lost / (double)expected;
	if (pct < 0.0)
		return 0.0;
	return pct > 100.0 ? 100.0 : pct;
}

double vq_rtp_loss_pct(const struct vq_rtp_stream *s)
{
	return vq_rtp_loss_pct_of(vq_rtp_expected(s), vq_rtp_lost(s));
}

double vq_rtp_jitter_ms(const struct vq_rtp_stream *s)
{
	if (!s->clock_rate)
		return 0.0;
	return s->jitter / s->clock_rate * 1000.0;
}

/* RFC 3551 tables 4 and 5; G722 is 8000 there by a historical error. */
static const uint32_t static_clock[35] = {
	[0] = 8000,   /* PCMU */
	[3] = 8000,   /* GSM */
	[4] = 8000,   /* G723 */
	[5] = 8000,   /* DVI4 */
	[6] = 16000,  /* DVI4 */
	[7] = 8000,   /* LPC */
	[8] = 8000,   /* PCMA */
	[9] = 8000,   /* G722 */
	[10] = 44100, /* L16 stereo */
	[11] = 44100, /* L16 mono */
	[12] = 8000,  /* QCELP */
	[13] = 8000,  /* CN */
	[14] = 90000, /* MPA */
	[15] = 8000,  /* G728 */
	[16] = 11025, /* DVI4 */
	[17] = 22050, /* DVI4 */
	[18] = 8000,  /* G729 */
	[25] = 90000, /* CelB */
	[26] = 90000, /* JPEG */
	[28] = 90000, /* nv */
	[31] = 90000, /* H261 */
	[32] = 90000, /* MPV */
	[33] = 90000, /* MP2T */
	[34] = 90000, /* H263 */
};

uint32_t vq_rtp_static_clock(uint8_t pt)
{
	if (pt >= sizeof(static_clock) / sizeof(static_clock[0]))
		return 0;
	return static_clock[pt];
}
