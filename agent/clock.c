// SPDX-License-Identifier: GPL-2.0
#include <time.h>

#include "clock.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vq_clock_read(struct vq_clock *now)
{
	now->real_ns = clock_ns(CLOCK_REALTIME);
	now->mono_ns = clock_ns(CLOCK_MONOTONIC);
}

uint64_t vq_clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/*
 * mono = pcap - (real - mono), computed as a signed distance from now so
 * that neither clock's magnitude can wrap it.
 */
uint64_t vq_clock_pkt_ns(const struct vq_clock *now, uint64_t pcap_ns)
{
	uint64_t floor = now->mono_ns > VQ_CLOCK_MAX_LAG_NS ?
			 now->mono_ns - VQ_CLOCK_MAX_LAG_NS : 0;
	uint64_t ago;

	if (pcap_ns >= now->real_ns)
		return now->mono_ns; /* stamped after the reading, or a step back */
	ago = now->real_ns - pcap_ns;
	return ago < now->mono_ns - floor ? now->mono_ns - ago : floor;
}

void vq_clock_expire(const struct vq_clock *now, struct vq_tracker *t,
		     struct vq_decoder *d)
{
	vq_tracker_expire(t, now->mono_ns);
	vq_decoder_expire(d, now->mono_ns);
}
