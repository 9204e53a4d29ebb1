/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ITU-T G.107 E-model with default parameters, reduced to the inputs a
 * router can observe: one-way delay, packet loss and the codec.
 */
#ifndef VOIPQ_EMODEL_H
#define VOIPQ_EMODEL_H

struct vq_codec_impairment {
	double ie;  /* equipment impairment factor (G.113 App. I) */
	double bpl; /* packet-loss robustness factor */
};

/* Impairment values for a codec name as in an rtpmap ("PCMA", "G729"...);
 * unknown codecs get G.711's values. */
struct vq_codec_impairment vq_codec_impairment(const char *codec);

/* R factor for @delay_ms one-way delay and @loss_pct random loss. */
double vq_emodel_r(double delay_ms, double loss_pct,
		   const struct vq_codec_impairment *ci);
/* R to MOS-CQE (G.107 B-4), clamped to 1..4.5. */
double vq_emodel_mos(double r);

/*
 * The MOS one observation point can estimate for a stream of @codec: it
 * sees loss and jitter but not one-way delay, so the E-model gets a nominal
 * 40 ms network delay plus a jitter buffer of twice the measured jitter.
 */
double vq_emodel_mos_observed(const char *codec, double loss_pct,
			      double jitter_ms);

#endif
