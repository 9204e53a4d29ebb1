/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one netlink helper (after iproute2 lib/mnl_utils.c): a libmnl socket
 * with NETLINK_EXT_ACK and NETLINK_CAP_ACK, a request that waits for its
 * ack, and a dump. When the kernel rejects a request, its extack message is
 * kept in the handle so that the caller can put it in its own error text.
 */
#ifndef VOIPQ_NL_H
#define VOIPQ_NL_H

#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_NL_MSGLEN 256
/* Room for one request message: large enough for a filter with actions. */
#define VQ_NL_REQLEN 4096

struct vq_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
	/* The kernel's extack text for the last request ("" when none). */
	char msg[VQ_NL_MSGLEN];
};

/* Open a NETLINK_ROUTE (or other @bus) socket. 0 or -errno. */
int vq_nl_open(struct vq_nl *nl, int bus);
void vq_nl_close(struct vq_nl *nl);

/*
 * Start a request in @buf (VQ_NL_REQLEN bytes): header with @type and
 * @flags (NLM_F_REQUEST is added), a sequence number, and a zeroed fixed
 * header of @hdrlen bytes whose address is returned in *@hdr.
 */
struct nlmsghdr *vq_nl_msg(struct vq_nl *nl, void *buf, uint16_t type,
			   uint16_t flags, size_t hdrlen, void **hdr);

/*
 * Send a request and wait for the kernel's ack (NLM_F_ACK is added).
 * Returns 0 or the kernel's -errno; the extack message (error or warning)
 * is in nl->msg. @cb, if set, sees any reply other than the ack.
 */
int vq_nl_talk(struct vq_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *data);

/* Send a dump request (NLM_F_DUMP is added), @cb for each message. */
int vq_nl_dump(struct vq_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *data);

/* "kernel says: <msg>" when there is a message, "" otherwise. */
const char *vq_nl_why(const struct vq_nl *nl, char *buf, size_t len);

/*
 * Policy-driven attribute parsing (libmnl examples style): @tb[type] is
 * set for each attribute whose type is known (mnl_attr_type_valid against
 * @max) and whose payload passes mnl_attr_validate for its policy type, or
 * is at least @len bytes for MNL_TYPE_BINARY / MNL_TYPE_UNSPEC structs.
 * Unknown attributes are skipped (newer kernels add them); malformed ones
 * fail the parse with -EINVAL.
 */
struct vq_nl_policy {
	enum mnl_attr_data_type type;
	size_t len; /* minimum payload for binary structs, 0: any */
};

struct vq_nl_parse {
	const struct vq_nl_policy *pol;
	uint16_t max;
	const struct nlattr **tb;
	int err;
};

int vq_nl_parse_attrs(const struct nlmsghdr *nlh, unsigned int offset,
		      const struct vq_nl_policy *pol, uint16_t max,
		      const struct nlattr **tb);
int vq_nl_parse_nested(const struct nlattr *nest,
		       const struct vq_nl_policy *pol, uint16_t max,
		       const struct nlattr **tb);

#endif
