/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FNV-1a, the one hash of the agent's tables: keys are short (endpoints,
 * Call-IDs, tags), tables are capped, and the spread is plenty for that.
 * Chain calls with the previous result as @h to hash several fields.
 */
#ifndef VOIPQ_HASH_H
#define VOIPQ_HASH_H

#include <stddef.h>
#include <stdint.h>

#define VQ_FNV32_INIT 2166136261u
#define VQ_FNV64_INIT 14695981039346656037ull

static inline uint32_t vq_fnv32(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* A string, then a separator byte, so ("ab","c") and ("a","bc") differ. */
static inline uint32_t vq_fnv32_str(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ 0xff) * 16777619u;
}

static inline uint64_t vq_fnv64(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static inline uint64_t vq_fnv64_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

#endif
