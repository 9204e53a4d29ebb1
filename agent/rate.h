/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Link rates as users write them, in tc's units: "20mbit", "1.5gbit",
 * "800kbit", "100000bit" (k = 1000; kibit = 1024). tc reads "mbps" as
 * megaBYTES per second, which nobody means on a command line, so the
 * "bps" forms are refused with the reading spelled out.
 */
#ifndef VOIPQ_RATE_H
#define VOIPQ_RATE_H

#include <stddef.h>
#include <stdint.h>

#define VQ_RATE_MIN 64000ULL	       /* 64kbit: below it nothing works */
#define VQ_RATE_MAX 100000000000ULL  /* 100gbit: above it, a typo */

/*
 * Parse @str into bits per second. 0, -EINVAL (missing, not a rate, no or
 * unknown unit) or -ERANGE (below VQ_RATE_MIN or above VQ_RATE_MAX).
 */
int vq_rate_parse(const char *str, uint64_t *bps);

/*
 * The same, with an error that says what to do in @err, naming the
 * option: @what "uplink", @opt "--uplink" gives "uplink rate required,
 * e.g. --uplink 20mbit" for a missing value.
 */
int vq_rate_parse_opt(const char *what, const char *opt, const char *str,
		      uint64_t *bps, char *err, size_t errlen);

/* "20Mbit", "1.5Gbit", "800Kbit", "64000bit": for status output. */
const char *vq_rate_format(uint64_t bps, char *buf, size_t len);

#endif
