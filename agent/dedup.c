// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "dedup.h"
#include "hash.h"

static uint64_t hash64(const uint8_t *p, size_t len)
{
	uint64_t h = vq_fnv64(VQ_FNV64_INIT, p, len);

	return h ? h : 1; /* 0 marks an empty slot */
}

/*
 * Direct-mapped: a collision between two different messages in the same
 * slot only costs a missed duplicate, never a lost message, because a hit
 * needs the full 64-bit hash to match.
 */
bool vq_dedup_seen(struct vq_dedup *d, const uint8_t *data, size_t len,
		   uint64_t ts_ns)
{
	uint64_t h = hash64(data, len);
	unsigned int i = (unsigned int)(h ^ (h >> 32)) & (VQ_DEDUP_SLOTS - 1);

	if (d->slot[i].hash == h && ts_ns >= d->slot[i].ts_ns &&
	    ts_ns - d->slot[i].ts_ns < VQ_DEDUP_WINDOW_NS) {
		d->dups++;
		return true;
	}
	d->slot[i].hash = h;
	d->slot[i].ts_ns = ts_ns;
	return false;
}
