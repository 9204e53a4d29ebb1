// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the packet layer: the input is a sequence of frames,
 * each [link type selector][time step][length, 2 bytes BE][frame bytes],
 * fed through one decoder with tiny caps so eviction, expiry, overflow and
 * resync paths run all the time. The callbacks read every byte they get, so
 * ASan sees any pointer that outlived its buffer, and check the bounds the
 * decoder promises. A message framed from TCP, a few bytes at a time, must
 * frame by itself, in one call, to exactly its length.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iagent \
 *     tests/fuzz/fuzz_reasm.c agent/decode.c agent/ipfrag.c agent/reasm.c \
 *     agent/endpoint.c agent/log.c
 *   ./a.out tests/fuzz/corpus/reasm
 */
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "reasm.h"

static size_t max_message;

static const int dlts[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
	DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP,
};

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t len)
{
	uint8_t x = 0;

	for (size_t i = 0; i < len; i++)
		x ^= p[i];
	sink = x;
}

static void on_sip(void *ctx, const struct vq_pkt_meta *m, const uint8_t *data,
		   size_t len)
{
	if (m->src.proto == IPPROTO_TCP &&
	    (len > max_message || len == 0 ||
	     vq_sip_frame_len(data, len, max_message) != (long)len))
		abort();
	if (m->src.family != AF_INET && m->src.family != AF_INET6)
		abort();
	touch(data, len);
}

static void on_udp(void *ctx, const struct vq_pkt_meta *m,
		   const uint8_t *data, size_t len)
{
	touch(data, len);
}

static const struct vq_pkt_ops ops = { .sip = on_sip, .udp = on_udp };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_decoder_cfg cfg;
	struct vq_decoder *d;
	uint64_t ts = 0;

	if (size < 1)
		return 0;
	vq_decoder_cfg_init(&cfg);
	cfg.frag_max_queues = 3;
	cfg.frag_max_bytes = 2048;
	cfg.frag_timeout_ms = 1000;
	cfg.tcp_max_streams = 3;
	/* Buffers both smaller and larger than the message limit. */
	cfg.tcp_max_buffer = 256 << (data[0] & 3);
	cfg.sip_max_message = 128 << ((data[0] >> 2) & 3);
	/* 1 to 8 KiB for all streams: often less than the streams want. */
	cfg.tcp_max_total = 1024 << ((data[0] >> 4) & 3);
	cfg.tcp_timeout_ms = 2000;
	cfg.tcp_unframed_timeout_ms = 500;
	max_message = cfg.sip_max_message;
	data++;
	size--;
	d = vq_decoder_new(&cfg, &ops, NULL);
	if (!d)
		return 0;

	while (size >= 4) {
		int dlt = dlts[data[0] % (sizeof(dlts) / sizeof(dlts[0]))];
		size_t len = (size_t)data[2] << 8 | data[3];
		uint8_t *frame;

		/* Steps of 0 to 2.55 s: enough to cross every timeout. */
		ts += (uint64_t)data[1] * 10000000;
		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		/* A copy of exactly len bytes, so overreads are caught. */
		frame = malloc(len ? len : 1);
		if (!frame)
			break;
		memcpy(frame, data, len);
		vq_decoder_input(d, dlt, ts, frame, len);
		free(frame);
		data += len;
		size -= len;
	}
	vq_decoder_free(d);
	return 0;
}
