/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frame builders and a recording vq_pkt_ops for the packet-layer tests.
 * Each *_wrap() writes a header followed by a copy of @pl into @out and
 * returns the total length; checksums are left zero (nobody verifies them).
 */
#ifndef VOIPQ_TEST_PKTBUILD_H
#define VOIPQ_TEST_PKTBUILD_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "packet.h"

#define PB_MAX 9000

static inline void pb_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void pb_put32(uint8_t *p, uint32_t v)
{
	pb_put16(p, v >> 16);
	pb_put16(p + 2, v);
}

static inline size_t udp_wrap(uint8_t *out, uint16_t sport, uint16_t dport,
			      const void *pl, size_t n)
{
	pb_put16(out, sport);
	pb_put16(out + 2, dport);
	pb_put16(out + 4, 8 + n);
	pb_put16(out + 6, 0);
	memcpy(out + 8, pl, n);
	return 8 + n;
}

/*
 * An RFC 4585 generic NACK (RTCP RTPFB, FMT 1, second byte 205): @sender
 * asks @media to resend packet @pid. 16 bytes.
 */
static inline size_t rtcp_nack(uint8_t *out, uint32_t sender, uint32_t media,
			       uint16_t pid)
{
	out[0] = 0x81;		/* version 2, FMT 1 */
	out[1] = 205;		/* RTPFB */
	pb_put16(out + 2, 3);	/* length in words, minus one */
	pb_put32(out + 4, sender);
	pb_put32(out + 8, media);
	pb_put16(out + 12, pid);
	pb_put16(out + 14, 0);	/* no more lost packets (BLP) */
	return 16;
}

static inline size_t tcp_wrap(uint8_t *out, uint16_t sport, uint16_t dport,
			      uint32_t seq, uint8_t flags, const void *pl,
			      size_t n)
{
	memset(out, 0, 20);
	pb_put16(out, sport);
	pb_put16(out + 2, dport);
	pb_put32(out + 4, seq);
	out[12] = 5 << 4;
	out[13] = flags | 0x10; /* ACK */
	pb_put16(out + 14, 65535);
	memcpy(out + 20, pl, n);
	return 20 + n;
}

/* IPv4 with @optlen bytes of NOP options; @frag is the flags+offset field. */
static inline size_t ipv4_wrap_opt(uint8_t *out, const char *src,
				   const char *dst, uint8_t proto, uint16_t id,
				   uint16_t frag, size_t optlen, const void *pl,
				   size_t n)
{
	size_t hl = 20 + optlen;

	memset(out, 0, hl);
	out[0] = 0x40 | (hl / 4);
	pb_put16(out + 2, hl + n);
	pb_put16(out + 4, id);
	pb_put16(out + 6, frag);
	out[8] = 64;
	out[9] = proto;
	inet_pton(AF_INET, src, out + 12);
	inet_pton(AF_INET, dst, out + 16);
	memset(out + 20, 1, optlen);
	memcpy(out + hl, pl, n);
	return hl + n;
}

static inline size_t ipv4_wrap(uint8_t *out, const char *src, const char *dst,
			       uint8_t proto, const void *pl, size_t n)
{
	return ipv4_wrap_opt(out, src, dst, proto, 1, 0, 0, pl, n);
}

static inline size_t ipv6_wrap(uint8_t *out, const char *src, const char *dst,
			       uint8_t nh, const void *pl, size_t n)
{
	memset(out, 0, 40);
	out[0] = 0x60;
	pb_put16(out + 4, n);
	out[6] = nh;
	out[7] = 64;
	inet_pton(AF_INET6, src, out + 8);
	inet_pton(AF_INET6, dst, out + 24);
	memcpy(out + 40, pl, n);
	return 40 + n;
}

/* An 8-byte extension header (hop-by-hop, routing, destination options). */
static inline size_t ext8_wrap(uint8_t *out, uint8_t nh, const void *pl,
			       size_t n)
{
	memset(out, 0, 8);
	out[0] = nh;
	out[2] = 1; /* PadN so the options parse, for any reader */
	out[3] = 4;
	memcpy(out + 8, pl, n);
	return 8 + n;
}

static inline size_t ipv6_frag_wrap(uint8_t *out, uint8_t nh, uint32_t id,
				    uint16_t offset, int more, const void *pl,
				    size_t n)
{
	out[0] = nh;
	out[1] = 0;
	pb_put16(out + 2, offset | (more ? 1 : 0));
	pb_put32(out + 4, id);
	memcpy(out + 8, pl, n);
	return 8 + n;
}

/* Ethernet with zero MACs (what `tcpdump -i lo` records) and @ntags tags. */
static inline size_t eth_wrap_tags(uint8_t *out, const uint16_t *tpids,
				   int ntags, uint16_t type, const void *pl,
				   size_t n)
{
	size_t off = 12;

	memset(out, 0, 12);
	out[5] = 1;
	for (int i = 0; i < ntags; i++) {
		pb_put16(out + off, tpids[i]);
		pb_put16(out + off + 2, 100 + i);
		off += 4;
	}
	pb_put16(out + off, type);
	memcpy(out + off + 2, pl, n);
	return off + 2 + n;
}

static inline size_t eth_wrap(uint8_t *out, uint16_t type, const void *pl,
			      size_t n)
{
	return eth_wrap_tags(out, NULL, 0, type, pl, n);
}

/* What the callbacks saw. */
#define REC_MAX 16
struct rec {
	int nsip, nudp;
	size_t len[REC_MAX];
	char msg[REC_MAX][4096];
	struct vq_pkt_meta meta[REC_MAX];
	size_t udp_len;
	char udp[2048];
	struct vq_pkt_meta udp_meta;
};

static inline void rec_sip(void *ctx, const struct vq_pkt_meta *m,
			   const uint8_t *data, size_t len)
{
	struct rec *r = ctx;

	if (r->nsip < REC_MAX) {
		size_t n = len < sizeof(r->msg[0]) - 1 ? len : sizeof(r->msg[0]) - 1;

		memcpy(r->msg[r->nsip], data, n);
		r->msg[r->nsip][n] = 0;
		r->len[r->nsip] = len;
		r->meta[r->nsip] = *m;
	}
	r->nsip++;
}

static inline void rec_udp(void *ctx, const struct vq_pkt_meta *m,
			   const uint8_t *data, size_t len)
{
	struct rec *r = ctx;
	size_t n = len < sizeof(r->udp) - 1 ? len : sizeof(r->udp) - 1;

	memcpy(r->udp, data, n);
	r->udp[n] = 0;
	r->udp_len = len;
	r->udp_meta = *m;
	r->nudp++;
}

static const struct vq_pkt_ops rec_ops __attribute__((unused)) = {
	.sip = rec_sip,
	.udp = rec_udp,
};

#define SIP_OPTIONS                                                          \
	"OPTIONS sip:bob@example.com SIP/2.0\r\n"                            \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"                \
	"Call-ID: a1@192.0.2.1\r\n"                                          \
	"CSeq: 1 OPTIONS\r\n"                                                \
	"Content-Length: 0\r\n\r\n"

#endif
