// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "endpoint.h"
#include "hash.h"

bool vq_endpoint_eq(const struct vq_endpoint *a, const struct vq_endpoint *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

uint32_t vq_endpoint_hash(const struct vq_endpoint *ep)
{
	return vq_fnv32(VQ_FNV32_INIT, ep, sizeof(*ep));
}

const char *vq_addr_str(const struct vq_endpoint *ep, char *buf, size_t len)
{
	if (!inet_ntop(ep->family == AF_INET6 ? AF_INET6 : AF_INET, ep->addr,
		       buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *vq_endpoint_str(const struct vq_endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	vq_addr_str(ep, a, sizeof(a));
	if (ep->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, ep->port);
	else
		snprintf(buf, len, "%s:%u", a, ep->port);
	return buf;
}

int vq_addr_parse(struct vq_endpoint *ep, const char *s)
{
	uint8_t tmp[16] = { 0 };

	if (inet_pton(AF_INET, s, tmp) == 1) {
		ep->family = AF_INET;
	} else if (inet_pton(AF_INET6, s, tmp) == 1) {
		ep->family = AF_INET6;
	} else {
		return -EINVAL;
	}
	memcpy(ep->addr, tmp, sizeof(ep->addr));
	return 0;
}

bool vq_addr_is_unspecified(const struct vq_endpoint *ep)
{
	static const uint8_t zero[16];

	return memcmp(ep->addr, zero, sizeof(zero)) == 0;
}
