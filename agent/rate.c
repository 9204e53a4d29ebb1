// SPDX-License-Identifier: GPL-2.0
/* Rates in tc's units, with errors that say what to write instead. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rate.h"

enum why {
	OK,
	MISSING,
	NOT_A_RATE,
	NO_UNIT,
	BYTES_UNIT,
	BAD_UNIT,
	TOO_LOW,
	TOO_HIGH,
};

static const struct unit {
	const char *name;
	uint64_t mult;
} units[] = {
	{ "bit", 1 },
	{ "kbit", 1000ULL },
	{ "mbit", 1000000ULL },
	{ "gbit", 1000000000ULL },
	{ "tbit", 1000000000000ULL },
	{ "kibit", 1ULL << 10 },
	{ "mibit", 1ULL << 20 },
	{ "gibit", 1ULL << 30 },
	{ "tibit", 1ULL << 40 },
};

static enum why parse(const char *s, uint64_t *bps, const char **unit_at)
{
	unsigned __int128 v = 0, div = 1;
	unsigned int digits = 0;
	const char *p = s;
	int frac = 0;
	size_t i;

	*unit_at = NULL;
	if (!s || !*s)
		return MISSING;
	for (; (*p >= '0' && *p <= '9') || (*p == '.' && !frac); p++) {
		if (*p == '.') {
			frac = 1;
			continue;
		}
		/* More digits than any sane rate has: don't overflow. */
		if (++digits > 24)
			return TOO_HIGH;
		v = v * 10 + (unsigned)(*p - '0');
		if (frac)
			div *= 10;
	}
	if (!digits)
		return NOT_A_RATE;
	*unit_at = p;
	if (!*p)
		return NO_UNIT;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcasecmp(p, units[i].name))
			break;
	if (i == sizeof(units) / sizeof(units[0])) {
		size_t n = strlen(p);

		if (n >= 3 && !strcasecmp(p + n - 3, "bps"))
			return BYTES_UNIT;
		return BAD_UNIT;
	}
	v = (v * units[i].mult + div / 2) / div;
	if (v > VQ_RATE_MAX)
		return TOO_HIGH;
	*bps = (uint64_t)v;
	if (v < VQ_RATE_MIN)
		return TOO_LOW;
	return OK;
}

int vq_rate_parse(const char *str, uint64_t *bps)
{
	const char *unit;
	uint64_t v = 0;

	switch (parse(str, &v, &unit)) {
	case OK:
		*bps = v;
		return 0;
	case TOO_LOW:
	case TOO_HIGH:
		return -ERANGE;
	default:
		return -EINVAL;
	}
}

int vq_rate_parse_opt(const char *what, const char *opt, const char *str,
		      uint64_t *bps, char *err, size_t errlen)
{
	const char *unit;
	uint64_t v = 0;
	int num;

	switch (parse(str, &v, &unit)) {
	case OK:
		*bps = v;
		return 0;
	case MISSING:
		snprintf(err, errlen, "%s rate required, e.g. %s 20mbit",
			 what, opt);
		return -EINVAL;
	case NOT_A_RATE:
		snprintf(err, errlen,
			 "%s rate '%s' is not a rate: write e.g. %s 20mbit, 1.5gbit or 800kbit",
			 what, str, opt);
		return -EINVAL;
	case NO_UNIT:
		snprintf(err, errlen,
			 "%s rate '%s' has no unit: write %smbit or %skbit (k = 1000)",
			 what, str, str, str);
		return -EINVAL;
	case BYTES_UNIT:
		num = (int)(unit - str);
		snprintf(err, errlen,
			 "%s rate '%s' is ambiguous: tc reads 'bps' as bytes per second; write %.*smbit (or 8 times that for bytes)",
			 what, str, num, str);
		return -EINVAL;
	case BAD_UNIT:
		snprintf(err, errlen,
			 "%s rate '%s' has an unknown unit '%s': use bit, kbit, mbit or gbit",
			 what, str, unit);
		return -EINVAL;
	case TOO_LOW:
		snprintf(err, errlen,
			 "%s rate '%s' is too low: at least 64kbit", what, str);
		return -ERANGE;
	case TOO_HIGH:
		snprintf(err, errlen,
			 "%s rate '%s' is absurd: at most 100gbit", what, str);
		return -ERANGE;
	}
	return -EINVAL;
}

const char *vq_rate_format(uint64_t bps, char *buf, size_t len)
{
	static const struct { uint64_t mult; const char *name; } f[] = {
		{ 1000000000ULL, "Gbit" },
		{ 1000000ULL, "Mbit" },
		{ 1000ULL, "Kbit" },
	};
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (bps < f[i].mult)
			continue;
		if (bps % f[i].mult == 0)
			snprintf(buf, len, "%llu%s",
				 (unsigned long long)(bps / f[i].mult),
				 f[i].name);
		else
			snprintf(buf, len, "%.3g%s",
				 (double)bps / (double)f[i].mult, f[i].name);
		return buf;
	}
	snprintf(buf, len, "%llubit", (unsigned long long)bps);
	return buf;
}
