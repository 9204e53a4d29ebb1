/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live daemon's timeline: CLOCK_MONOTONIC. Every age and expiry of
 * voipqd — calls, tombstones, TCP streams, fragment queues — runs on it, so
 * a step of the wall clock (NTP setting a router that booted without a
 * real-time clock, or an owner fixing the date) neither ends live calls nor
 * stops expiry.
 *
 * libpcap stamps packets on the wall clock (CLOCK_REALTIME). A live packet
 * is moved to the timeline with the offset between the two clocks as read
 * when the packet is read: a step shifts stamps and offset together, and
 * the timeline stays continuous. A packet stamped before a step and read
 * after it would land far in the past or in the future; it is put between
 * VQ_CLOCK_MAX_LAG_NS ago and now instead. Capture files keep their own
 * timestamps (voipqctl analyze): no live clock stands behind them.
 */
#ifndef VOIPQ_CLOCK_H
#define VOIPQ_CLOCK_H

#include <stdint.h>

#include "dialog.h"
#include "packet.h"

/* The most a live packet is taken to have waited in the capture ring. */
#define VQ_CLOCK_MAX_LAG_NS (10 * 1000000000ull)

/* One reading of both clocks, in ns. */
struct vq_clock {
	uint64_t real_ns; /* CLOCK_REALTIME: libpcap's stamps */
	uint64_t mono_ns; /* CLOCK_MONOTONIC: the timeline */
};

void vq_clock_read(struct vq_clock *now);

/* CLOCK_MONOTONIC now, in ns: the timeline's now. */
uint64_t vq_clock_mono_ns(void);

/* A live packet's libpcap stamp @pcap_ns on the timeline, as of @now. */
uint64_t vq_clock_pkt_ns(const struct vq_clock *now, uint64_t pcap_ns);

/* The once-a-second expiry of the tracker's and decoder's state at @now. */
void vq_clock_expire(const struct vq_clock *now, struct vq_tracker *t,
		     struct vq_decoder *d);

#endif
