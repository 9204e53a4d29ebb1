/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A router sees most SIP messages twice: once arriving on the LAN, once
 * leaving on the WAN (or the other way round), maybe rewritten by NAT in
 * the IP header but not in the payload. The tracker must count each once,
 * so messages are remembered by a hash of their bytes for a short window.
 * A genuine retransmission comes 500 ms or more later (RFC 3261 T1) and
 * must still reach the tracker: the window is shorter than that.
 */
#ifndef VOIPQ_DEDUP_H
#define VOIPQ_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_DEDUP_WINDOW_NS (200 * 1000000ull)
#define VQ_DEDUP_SLOTS 1024 /* power of two */

struct vq_dedup {
	struct {
		uint64_t hash;
		uint64_t ts_ns;
	} slot[VQ_DEDUP_SLOTS];
	uint64_t dups;
};

/* True when the same bytes were seen less than the window ago. */
bool vq_dedup_seen(struct vq_dedup *d, const uint8_t *data, size_t len,
		   uint64_t ts_ns);

#endif
