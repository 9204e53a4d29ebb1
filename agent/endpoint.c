// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* "a:port", or "[a]:port" for IPv6. */
static const char *with_port(const struct vq_endpoint *ep, const char *a,
			     char *buf, size_t len)
{
	if (ep->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, ep->port);
	else
		snprintf(buf, len, "%s:%u", a, ep->port);
	return buf;
}

const char *vq_endpoint_str(const struct vq_endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	return with_port(ep, vq_addr_str(ep, a, sizeof(a)), buf, len);
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

unsigned int vq_prefix_full(uint8_t family)
{
	return family == AF_INET6 ? 128 : 32;
}

bool vq_prefix_is_host(const struct vq_prefix *p)
{
	return p->len == vq_prefix_full(p->ep.family);
}

/* @p with every address bit past its length cleared: its network. */
static void prefix_clear_host_bits(struct vq_prefix *p)
{
	unsigned int n = vq_prefix_full(p->ep.family) / 8;

	for (unsigned int i = p->len / 8; i < n; i++)
		p->ep.addr[i] &= i == p->len / 8 ?
				 (uint8_t)~(0xff >> (p->len % 8)) : 0;
}

int vq_prefix_parse(struct vq_prefix *p, const char *s, char *err,
		    size_t errlen)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct vq_prefix r = { .ep = p->ep }, net;
	char addr[INET6_ADDRSTRLEN + 1], *end;
	unsigned long len;
	unsigned int full;

	if (n < sizeof(addr)) {
		memcpy(addr, s, n);
		addr[n] = '\0';
	}
	if (n >= sizeof(addr) || vq_addr_parse(&r.ep, addr)) {
		snprintf(err, errlen, "'%.*s' is not an IPv4 or IPv6 address "
			 "(e.g. 192.0.2.7, 198.51.100.0/24, 2001:db8::/32)",
			 (int)(n > 64 ? 64 : n), s);
		return -EINVAL;
	}
	full = vq_prefix_full(r.ep.family);
	len = full;
	if (slash) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end ||
		    !(slash[1] >= '0' && slash[1] <= '9') || len > full) {
			snprintf(err, errlen, "prefix length '%.8s' is not "
				 "0-%u, as an %s prefix needs", slash + 1, full,
				 full == 32 ? "IPv4" : "IPv6");
			return -EINVAL;
		}
	}
	r.len = (uint8_t)len;
	net = r;
	prefix_clear_host_bits(&net);
	if (memcmp(net.ep.addr, r.ep.addr, sizeof(r.ep.addr))) {
		char buf[VQ_PREFIXSTRLEN];

		snprintf(err, errlen, "%s has host bits set: the prefix is %s",
			 s, vq_prefix_addr_str(&net, buf, sizeof(buf)));
		return -EINVAL;
	}
	*p = r;
	return 0;
}

const char *vq_prefix_addr_str(const struct vq_prefix *p, char *buf,
			       size_t len)
{
	char a[INET6_ADDRSTRLEN];

	vq_addr_str(&p->ep, a, sizeof(a));
	if (vq_prefix_is_host(p))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

const char *vq_prefix_str(const struct vq_prefix *p, char *buf, size_t len)
{
	char a[VQ_PREFIXSTRLEN];

	return with_port(&p->ep, vq_prefix_addr_str(p, a, sizeof(a)), buf,
			 len);
}
