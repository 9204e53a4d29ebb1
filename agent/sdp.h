/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SDP bodies reduced to what the datapath needs: for every m= line, where
 * its RTP and RTCP arrive (RFC 4566 c=, RFC 3605 a=rtcp, RFC 5761
 * a=rtcp-mux), in which direction it flows, and enough about the codec to
 * size a priority budget (rtpmap, ptime, b=AS). Parsing is libosip2's.
 */
#ifndef VOIPQ_SDP_H
#define VOIPQ_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

#define VQ_SDP_MAX_STREAMS 8
#define VQ_CODEC_LEN 16

enum vq_media_type {
	VQ_MEDIA_AUDIO,
	VQ_MEDIA_VIDEO,
	VQ_MEDIA_IMAGE, /* T.38 fax */
	VQ_MEDIA_TEXT,  /* RFC 4103 real-time text */
	VQ_MEDIA_OTHER, /* application, message: not learned */
};

enum vq_media_dir {
	VQ_DIR_SENDRECV,
	VQ_DIR_SENDONLY,
	VQ_DIR_RECVONLY,
	VQ_DIR_INACTIVE,
};

/* What the datapath and the CLI want to know about a stream's codec. */
struct vq_codec {
	char name[VQ_CODEC_LEN]; /* "PCMA", "opus", "" when unknown */
	uint32_t clock_rate;     /* Hz, 0 when unknown */
	uint16_t ptime_ms;       /* 0 when not given */
	uint8_t pt;              /* first payload type of the m= line */
	uint32_t bw_kbps;        /* b=AS (media level, else session), 0 */
};

struct vq_sdp_stream {
	uint8_t media;    /* enum vq_media_type */
	uint8_t dir;      /* enum vq_media_dir */
	bool disabled;    /* port 0: the stream is rejected or removed */
	bool hold_addr;   /* c=0.0.0.0 / c=::: RFC 2543 hold */
	bool multicast;
	bool rtcp_mux;    /* a=rtcp-mux: RTCP on the RTP port once agreed */
	bool has_rtcp;    /* rtcp is where RTCP goes without multiplexing */
	struct vq_endpoint rtp;
	struct vq_endpoint rtcp;
	struct vq_codec codec;
};

struct vq_sdp {
	uint64_t sess_version; /* o= version, for idempotence */
	unsigned int n_streams;
	unsigned int n_ignored; /* m= lines past VQ_SDP_MAX_STREAMS */
	struct vq_sdp_stream streams[VQ_SDP_MAX_STREAMS];
};

/*
 * Parse an SDP body of @len bytes (need not be NUL-terminated). Returns 0,
 * -EINVAL for a body libosip2 rejects or that has a stream without any
 * usable connection address, -E2BIG for a body over 64 KiB.
 */
int vq_sdp_parse(const char *body, size_t len, struct vq_sdp *out);

const char *vq_media_type_str(uint8_t media);
const char *vq_media_dir_str(uint8_t dir);

#endif
