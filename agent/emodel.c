// SPDX-License-Identifier: GPL-2.0
/*
 * ITU-T G.107 E-model with every parameter at its default except the three
 * a router can observe: delay, random loss and the codec. With the defaults
 * Ro - Is = 93.2 and A = 0, so R = 93.2 - Id - Ie,eff. For Id we use Cole and
 * Rosenbluth's piecewise-linear fit of G.107's delay terms at default echo
 * loss ("Voice over IP performance monitoring", ACM CCR 31(2), 2001):
 * a full G.107 Idd/Ie computation buys nothing when the delay itself is a
 * router's estimate.
 */
#include <string.h>
#include <strings.h>

#include "emodel.h"

/*
 * ITU-T G.113 (11/2007) Appendix I, provisional planning values for Ie and
 * for Bpl under random loss. Only codecs whose rtpmap name identifies the
 * variant G.113 measured are listed. Anything else gets G.711's values:
 * GSM full rate (Ie 20, but no Bpl in G.113), iLBC and AMR (not in
 * G.113's narrowband tables) and wideband G722 (rated on the G.107.1
 * scale, not this one).
 */
static const struct {
	const char *name;
	struct vq_codec_impairment ci;
} codec_table[] = {
	{ "PCMU",    { .ie = 0.0,  .bpl = 25.1 } }, /* G.711 with PLC */
	{ "PCMA",    { .ie = 0.0,  .bpl = 25.1 } },
	{ "G711",    { .ie = 0.0,  .bpl = 25.1 } },
	{ "G729",    { .ie = 11.0, .bpl = 19.0 } }, /* G.729A + VAD */
	{ "G729A",   { .ie = 11.0, .bpl = 19.0 } },
	/* 6.3 kbit/s; the 5.3 kbit/s mode has Ie 19 but no Bpl in G.113. */
	{ "G723",    { .ie = 15.0, .bpl = 16.1 } },
	{ "GSM-EFR", { .ie = 5.0,  .bpl = 10.0 } }, /* GSM 06.60 */
};

struct vq_codec_impairment vq_codec_impairment(const char *codec)
{
	size_t n;

	if (!codec)
		return codec_table[0].ci;
	/* Tolerate a full rtpmap encoding ("PCMA/8000"). */
	n = strcspn(codec, "/");
	for (size_t i = 0; i < sizeof(codec_table) / sizeof(codec_table[0]);
	     i++) {
		if (strlen(codec_table[i].name) == n &&
		    !strncasecmp(codec, codec_table[i].name, n))
			return codec_table[i].ci;
	}
	return codec_table[0].ci;
}

#define R_DEFAULT	93.2	/* Ro - Is with G.107 default parameters */
#define TA_KINK		177.3	/* ms, where the delay impairment steepens */
#define BURST_R		1.0	/* random (independent) loss */

double vq_emodel_r(double delay_ms, double loss_pct,
		   const struct vq_codec_impairment *ci)
{
	struct vq_codec_impairment def = vq_codec_impairment(NULL);
	double id, ie_eff, denom, r;

	if (!ci)
		ci = &def;
	/* !(x > 0) also catches NaN. */
	if (!(delay_ms > 0.0))
		delay_ms = 0.0;
	if (!(loss_pct > 0.0))
		loss_pct = 0.0;
	if (loss_pct > 100.0)
		loss_pct = 100.0;

	id = 0.024 * delay_ms;
	if (delay_ms > TA_KINK)
		id += 0.11 * (delay_ms - TA_KINK);

	denom = loss_pct / BURST_R + ci->bpl;
	ie_eff = ci->ie;
	if (denom > 0.0)
		ie_eff += (95.0 - ci->ie) * loss_pct / denom;

	r = R_DEFAULT - id - ie_eff;
	if (!(r > 0.0))
		return 0.0;
	return r > 100.0 ? 100.0 : r;
}

double vq_emodel_mos(double r)
{
	double mos;

	if (!(r > 0.0))
		return 1.0;
	if (r >= 100.0)
		return 4.5;
	mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
	/* The cubic dips below 1 for small R (e.g. R = 5 gives 0.99). */
	if (mos < 1.0)
		return 1.0;
	return mos > 4.5 ? 4.5 : mos;
}

#define NOMINAL_DELAY_MS 40.0

double vq_emodel_mos_observed(const char *codec, double loss_pct,
			      double jitter_ms)
{
	struct vq_codec_impairment ci = vq_codec_impairment(codec);

	return vq_emodel_mos(vq_emodel_r(NOMINAL_DELAY_MS + 2 * jitter_ms,
					 loss_pct, &ci));
}
