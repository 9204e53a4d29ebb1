/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IP fragment reassembly for IPv4 and IPv6. Queues are keyed like the
 * kernel's (RFC 791: src, dst, id, protocol; RFC 8200: src, dst, id), capped
 * in number and size, and expire on packet time. Overlapping fragments drop
 * the whole datagram (RFC 5722; what Linux does for both families): an
 * attacker must not choose which bytes of an overlap we believe.
 */
#ifndef VOIPQ_IPFRAG_H
#define VOIPQ_IPFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* Fragments held per datagram: 64 x 1280 bytes covers any MTU >= 1280. */
#define VQ_FRAG_MAX_PIECES 64

/* Compared with memcmp: zero it before filling it in. */
struct vq_frag_key {
	uint8_t family;
	uint8_t proto; /* IPv4 only; 0 for IPv6 */
	uint8_t pad[2];
	uint32_t id;
	uint8_t src[16];
	uint8_t dst[16];
};

struct vq_frag {
	uint32_t offset; /* bytes from the start of the fragmentable part */
	bool more;
	uint8_t nexthdr; /* IPv6: the fragment header's next header */
	const uint8_t *data;
	size_t len;
};

/* A reassembled datagram payload; @data is malloc'ed and the caller's. */
struct vq_frag_done {
	uint8_t *data;
	size_t len;
	uint8_t proto; /* IPv4 protocol, or IPv6 next header after the frag */
};

struct vq_ipfrag;

struct vq_ipfrag *vq_ipfrag_new(unsigned int max_queues, unsigned int max_bytes,
				unsigned int timeout_ms, struct vq_pkt_stats *st);
void vq_ipfrag_free(struct vq_ipfrag *f);

/*
 * Add one fragment seen at @ts_ns. Returns 1 and fills @done when it
 * completed a datagram, 0 when it is held, -errno when it (and its queue)
 * was dropped: -EMSGSIZE over max_bytes, -EINVAL malformed or overlapping,
 * -ENOMEM.
 */
int vq_ipfrag_add(struct vq_ipfrag *f, const struct vq_frag_key *key,
		  const struct vq_frag *frag, uint64_t ts_ns,
		  struct vq_frag_done *done);

/* Drop queues started before @now_ns minus the timeout. */
void vq_ipfrag_expire(struct vq_ipfrag *f, uint64_t now_ns);

/* Datagrams currently being reassembled. */
unsigned int vq_ipfrag_count(const struct vq_ipfrag *f);

#endif
