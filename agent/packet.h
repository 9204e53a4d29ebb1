/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The packet layer: link-layer decoding, IP defragmentation, IP-in-IP
 * decapsulation and TCP stream reassembly, turning captured frames into
 * whole SIP messages and UDP payloads. Everything here reads untrusted bytes
 * and keeps bounded state: every table has a cap, every buffer a limit, and
 * every drop a counter.
 */
#ifndef VOIPQ_PACKET_H
#define VOIPQ_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

#define VQ_MAX_SIP_PORTS 16

struct vq_decoder_cfg {
	uint16_t sip_ports[VQ_MAX_SIP_PORTS]; /* plain SIP, UDP and TCP */
	unsigned int n_sip_ports;
	uint16_t tls_ports[VQ_MAX_SIP_PORTS]; /* SIP over TLS: counted only */
	unsigned int n_tls_ports;

	unsigned int frag_max_queues;  /* datagrams being reassembled */
	unsigned int frag_max_bytes;   /* largest reassembled datagram */
	unsigned int frag_timeout_ms;

	unsigned int tcp_max_streams;  /* TCP connections followed */
	unsigned int tcp_max_buffer;   /* bytes held per direction */
	unsigned int tcp_max_total;    /* bytes held by all streams */
	unsigned int tcp_timeout_ms;   /* idle stream expiry */
	unsigned int tcp_unframed_timeout_ms; /* the same, before any SIP */
	unsigned int sip_max_message;  /* largest SIP message accepted */
};

/* Fill @cfg with the defaults (SIP on 5060, TLS on 5061, sane caps). */
void vq_decoder_cfg_init(struct vq_decoder_cfg *cfg);

/* What one packet or message came with. proto is IPPROTO_UDP/TCP. */
struct vq_pkt_meta {
	uint64_t ts_ns; /* capture time (live: CLOCK_MONOTONIC, clock.h) */
	struct vq_endpoint src;
	struct vq_endpoint dst;
};

struct vq_pkt_ops {
	/* One whole SIP message (UDP datagram, or framed from a TCP stream). */
	void (*sip)(void *ctx, const struct vq_pkt_meta *m, const uint8_t *data,
		    size_t len);
	/* Every UDP datagram that is not SIP: candidate RTP/RTCP. May be NULL. */
	void (*udp)(void *ctx, const struct vq_pkt_meta *m,
		    const uint8_t *payload, size_t len);
};

struct vq_pkt_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t unsupported;     /* unknown link type or ethertype */
	uint64_t truncated;       /* headers cut short */
	uint64_t malformed;       /* impossible lengths, bad versions */
	uint64_t tunnelled;       /* IP-in-IP packets decapsulated */
	uint64_t frags;           /* fragments seen */
	uint64_t frag_reassembled;
	uint64_t frag_timeouts;
	uint64_t frag_evicted;    /* dropped at the queue cap */
	uint64_t frag_oversize;   /* datagram over frag_max_bytes */
	uint64_t udp_sip;         /* SIP messages over UDP */
	uint64_t tcp_sip;         /* SIP messages framed from TCP */
	uint64_t tcp_segments;
	uint64_t tcp_streams;     /* streams opened */
	uint64_t tcp_evicted;     /* streams dropped at the cap */
	uint64_t tcp_overflow;    /* data dropped at tcp_max_buffer */
	uint64_t tcp_budget_evicted; /* streams dropped at tcp_max_total */
	uint64_t tcp_gaps;        /* streams resynchronised after a hole */
	uint64_t sip_bad_framing; /* no/invalid Content-Length on TCP */
	uint64_t tls_packets;     /* SIP over TLS: seen but unreadable */
	uint64_t frag_overlaps;   /* datagrams dropped for overlapping frags */
};

struct vq_decoder;

struct vq_decoder *vq_decoder_new(const struct vq_decoder_cfg *cfg,
				  const struct vq_pkt_ops *ops, void *ctx);
void vq_decoder_free(struct vq_decoder *d);

/*
 * Decode one captured frame of pcap link type @dlt (DLT_EN10MB,
 * DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL).
 * Returns 0 when the frame was used or skipped cleanly, -EPROTONOSUPPORT
 * for a link type this decoder does not know.
 */
int vq_decoder_input(struct vq_decoder *d, int dlt, uint64_t ts_ns,
		     const uint8_t *frame, size_t caplen);

/* Drop fragment queues and TCP streams idle since before @now_ns. */
void vq_decoder_expire(struct vq_decoder *d, uint64_t now_ns);

const struct vq_pkt_stats *vq_decoder_stats(const struct vq_decoder *d);

#endif
