/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SIP messages as the dialog tracker needs them. A cheap pre-check reads
 * only the start line and CSeq so that traffic which cannot change session
 * state (REGISTER, OPTIONS, SUBSCRIBE, 100 Trying, responses to BYE, ...)
 * never reaches the full libosip2 parse; what does is parsed exactly once.
 */
#ifndef VOIPQ_SIP_H
#define VOIPQ_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sdp.h"

#define VQ_CALLID_LEN 128
#define VQ_TAG_LEN 64
#define VQ_URI_LEN 96

enum vq_sip_method {
	VQ_SIP_UNKNOWN,
	VQ_SIP_INVITE,
	VQ_SIP_ACK,
	VQ_SIP_BYE,
	VQ_SIP_CANCEL,
	VQ_SIP_PRACK,
	VQ_SIP_UPDATE,
	VQ_SIP_REGISTER,
	VQ_SIP_OPTIONS,
	VQ_SIP_SUBSCRIBE,
	VQ_SIP_NOTIFY,
	VQ_SIP_MESSAGE,
	VQ_SIP_INFO,
	VQ_SIP_REFER,
	VQ_SIP_PUBLISH,
	__VQ_SIP_METHOD_MAX,
};

/* What the pre-check learned from the start line and CSeq alone. */
struct vq_sip_brief {
	bool is_request;
	uint8_t method;      /* request method; VQ_SIP_UNKNOWN for responses */
	uint16_t status;     /* responses */
	uint8_t cseq_method;
	uint32_t cseq;
	size_t body_len;     /* bytes after the blank line */
};

enum vq_sip_verdict {
	VQ_SIP_SKIP,  /* well-formed, but cannot change session state */
	VQ_SIP_PARSE, /* may change session state: parse fully */
};

/*
 * Classify a message. Returns a verdict, -EINVAL for bytes that are not a
 * SIP message (no valid start line, no CSeq, no end of headers), or -E2BIG
 * for one with more header lines, or one to be parsed with more list items
 * (',' ';' '&') or body lines, than any real message has: the parse would
 * cost their square.
 */
int vq_sip_precheck(const uint8_t *data, size_t len, struct vq_sip_brief *b);

struct vq_sip_msg {
	struct vq_sip_brief brief;
	char call_id[VQ_CALLID_LEN];
	char from_tag[VQ_TAG_LEN];
	char to_tag[VQ_TAG_LEN];
	char from_uri[VQ_URI_LEN];
	char to_uri[VQ_URI_LEN];
	uint32_t session_expires; /* seconds, 0 when absent */
	bool has_sdp;
	int sdp_err;              /* -errno when an SDP body was unusable */
	struct vq_sdp sdp;
};

/*
 * Full parse of a message that the pre-check said to parse; pass the
 * pre-check's @brief so the start line is not read twice (NULL: run it). Returns 0,
 * -EINVAL when libosip2 rejects it or a mandatory header (Call-ID, From
 * with tag for requests, To, CSeq) is missing or oversized.
 * An unusable SDP body is not an error: has_sdp stays false, sdp_err says why.
 */
int vq_sip_parse(const uint8_t *data, size_t len,
		 const struct vq_sip_brief *brief, struct vq_sip_msg *m);

/* Once per process, before any parse. */
int vq_sip_init(void);

const char *vq_sip_method_str(uint8_t method);
uint8_t vq_sip_method_from(const char *s, size_t len);

#endif
