/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A media endpoint is one {family, address, port, protocol}: the unit the
 * datapath matches (shared/DESIGN.md, decision 1). The layout mirrors the
 * BPF map key and the kernel module's netlink attributes, so the agent can
 * hand it to either backend without conversion.
 */
#ifndef VOIPQ_ENDPOINT_H
#define VOIPQ_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Long enough for any IPv6 text form, with a port and brackets. */
#define VQ_ADDRSTRLEN 48

struct vq_endpoint {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t proto;  /* IPPROTO_UDP or IPPROTO_TCP */
	uint16_t port;  /* host byte order */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes, rest zero */
};

_Static_assert(sizeof(struct vq_endpoint) == 20, "vq_endpoint layout");

bool vq_endpoint_eq(const struct vq_endpoint *a, const struct vq_endpoint *b);
uint32_t vq_endpoint_hash(const struct vq_endpoint *ep);

/* Text address without port or brackets ("192.0.2.1", "2001:db8::1"). */
const char *vq_addr_str(const struct vq_endpoint *ep, char *buf, size_t len);
/* "192.0.2.1:4000" or "[2001:db8::1]:4000". */
const char *vq_endpoint_str(const struct vq_endpoint *ep, char *buf, size_t len);

/*
 * Parse a textual address into ep->family/addr. Returns 0 or -EINVAL.
 * The port and protocol are left untouched.
 */
int vq_addr_parse(struct vq_endpoint *ep, const char *s);

bool vq_addr_is_unspecified(const struct vq_endpoint *ep);

/*
 * A static rule's match: every endpoint whose address lies in a prefix,
 * with the given port and protocol. A full-length prefix is one endpoint.
 */
struct vq_prefix {
	struct vq_endpoint ep; /* the network address (host bits zero) */
	uint8_t len;           /* 0-32 for IPv4, 0-128 for IPv6 */
};

/* Long enough for "[<IPv6>/128]:65535". */
#define VQ_PREFIXSTRLEN 64

/*
 * Parse "ADDRESS" or "ADDRESS/LEN" into p->ep.family/addr and p->len (a
 * plain address: the full length); the port and protocol are left alone.
 * Returns 0, or -EINVAL with @err saying what is wrong and what to give
 * instead: not an address, a length out of range, or host bits set.
 */
int vq_prefix_parse(struct vq_prefix *p, const char *s, char *err,
		    size_t errlen);
/* The prefix length of a single address: 32 or 128. */
unsigned int vq_prefix_full(uint8_t family);
bool vq_prefix_is_host(const struct vq_prefix *p);
/* "10.0.0.0/8" (no length for a single address). */
const char *vq_prefix_addr_str(const struct vq_prefix *p, char *buf,
			       size_t len);
/* "10.0.0.0/8:4000", "[2001:db8::/32]:4000", or as vq_endpoint_str. */
const char *vq_prefix_str(const struct vq_prefix *p, char *buf, size_t len);

#endif
