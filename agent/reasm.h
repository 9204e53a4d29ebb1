/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP stream reassembly and SIP framing (RFC 3261 section 18.3: on a stream
 * a message ends Content-Length bytes after the blank line). Connections are
 * followed in both directions, capped in number, in bytes held per direction
 * and in bytes held by all of them together, and expire on packet time:
 * sooner while they have not yet framed a SIP message.
 */
#ifndef VOIPQ_REASM_H
#define VOIPQ_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* Out-of-order segments held per direction before a hole is given up. */
#define VQ_REASM_MAX_OOO 8

/* Segment flags, as in the TCP header. */
#define VQ_TCP_FIN 0x01
#define VQ_TCP_SYN 0x02
#define VQ_TCP_RST 0x04

/* Defaults for the fields of struct vq_reasm_cfg left at 0. */
#define VQ_REASM_MAX_TOTAL (4u << 20)
#define VQ_REASM_UNFRAMED_TIMEOUT_MS 30000

struct vq_reasm_cfg {
	unsigned int max_streams;
	unsigned int max_buffer;  /* per direction, in order and out of order */
	unsigned int max_total;   /* all streams together; 0: the default */
	unsigned int timeout_ms;  /* idle expiry once a message was framed */
	/* Idle expiry before any message was framed; 0: the default. Never
	 * longer than timeout_ms. */
	unsigned int unframed_timeout_ms;
	unsigned int max_message;
};

typedef void (*vq_reasm_deliver_fn)(void *ctx, const struct vq_pkt_meta *m,
				    const uint8_t *msg, size_t len);

struct vq_reasm;

struct vq_reasm *vq_reasm_new(const struct vq_reasm_cfg *cfg,
			      struct vq_pkt_stats *st,
			      vq_reasm_deliver_fn deliver, void *ctx);
void vq_reasm_free(struct vq_reasm *r);

/*
 * One TCP segment from m->src to m->dst. Each complete SIP message is handed
 * to the deliver callback (which must not call back into this reassembler)
 * with @m. Returns 0, or -ENOMEM.
 */
int vq_reasm_segment(struct vq_reasm *r, const struct vq_pkt_meta *m,
		     uint32_t seq, uint8_t flags, const uint8_t *data,
		     size_t len);

/* Drop connections idle since before @now_ns minus the timeout. */
void vq_reasm_expire(struct vq_reasm *r, uint64_t now_ns);

/* Connections currently followed. */
unsigned int vq_reasm_count(const struct vq_reasm *r);

/* Bytes allocated for all connections' buffers: never above max_total. */
size_t vq_reasm_held(const struct vq_reasm *r);

/*
 * Length of the SIP message at the start of @buf (headers plus body), 0 when
 * more bytes are needed, -EBADMSG when it cannot be framed within
 * @max_message. Leading CRLFs are not skipped here.
 */
long vq_sip_frame_len(const uint8_t *buf, size_t len, size_t max_message);

#endif
