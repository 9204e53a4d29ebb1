// SPDX-License-Identifier: GPL-2.0
/*
 * SIP parsing and dialog tracking under arbitrary input. The input is a
 * sequence of SIP messages separated by NUL bytes, fed to one tracker with
 * small caps so eviction and expiry paths run too; every NUL also moves the
 * clock forward, by a step the input chooses (at most 7.5 s). After every
 * step the calls must hold exactly the references the endpoint set counts.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dialog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int events;

static int on_ep(void *ctx, const struct vq_ep_event *ev)
{
	events++;
	return 0;
}

static size_t orphan_byes;

/* Reads the Call-ID to its end, so ASan sees a pointer that outlived it. */
static void on_orphan_bye(void *ctx, const char *call_id, uint64_t ts_ns)
{
	orphan_byes += strlen(call_id);
}

static size_t registrations;

static void on_registered(void *ctx, uint64_t ts_ns)
{
	registrations++;
}

static const struct vq_tracker_ops ops = {
	.ep_event = on_ep,
	.orphan_bye = on_orphan_bye,
	.registered = on_registered,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_tracker_cfg cfg;
	struct vq_tracker *t;
	uint64_t now = 1000000000ull;
	const uint8_t *p = data, *end = data + size, *nul;

	vq_tracker_cfg_init(&cfg);
	cfg.max_calls = 4;
	cfg.max_endpoints = 8;
	cfg.max_forks = 2;
	cfg.dialog_timeout_s = 60;
	cfg.early_timeout_s = 30;
	cfg.linger_s = 5;
	t = vq_tracker_new(&cfg, &ops, NULL);
	if (!t)
		return 0;
	while (p < end) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			nul = end;
		vq_tracker_input(t, p, (size_t)(nul - p), now);
		if (!vq_tracker_refs_match(t))
			__builtin_trap();
		/*
		 * The low nibble of the next message's first byte: 0.5 to
		 * 7.5 s for any start line ("I" 4.5 s, "S" 1.5 s), so calls
		 * live across messages and reach the caps, and expire after
		 * a few.
		 */
		if (nul + 1 < end)
			now += (uint64_t)(nul[1] & 0x0f) * 500000000ull;
		vq_tracker_expire(t, now);
		if (!vq_tracker_refs_match(t))
			__builtin_trap();
		p = nul + 1;
	}
	/* Every reference taken must be given back. */
	vq_tracker_flush(t, now);
	if (vq_epset_count(vq_tracker_epset(t)) != 0)
		__builtin_trap();
	vq_tracker_free(t);
	return 0;
}
