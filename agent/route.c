// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

/* /proc/net/route: "Iface Destination Gateway Flags ..." in hex. */
static int from_ipv4(const char *path, char *ifname, size_t len)
{
	char line[256], dev[64];
	unsigned long dst, gw, flags, mask;
	FILE *f = fopen(path, "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lx %lx %lx %*s %*s %*s %lx", dev, &dst, &gw,
			   &flags, &mask) != 5)
			continue;
		/* RTF_UP (1), destination 0/0 */
		if (dst == 0 && mask == 0 && (flags & 1)) {
			snprintf(ifname, len, "%s", dev);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* /proc/net/ipv6_route: dst(32 hex) plen src splen nh metric ref use flags dev */
static int from_ipv6(const char *path, char *ifname, size_t len)
{
	char line[512], dst[40], dev[64];
	unsigned int plen;
	unsigned long flags;
	FILE *f = fopen(path, "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %lx %63s", dst,
			   &plen, &flags, dev) != 4)
			continue;
		/* ::/0 that is up (RTF_UP) and not the loopback reject route */
		if (plen == 0 && !strcmp(dst, "00000000000000000000000000000000") &&
		    (flags & 1) && strcmp(dev, "lo")) {
			snprintf(ifname, len, "%s", dev);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

int vq_default_route_dev(char *ifname, size_t len, const char *ipv4,
			 const char *ipv6)
{
	int ret = from_ipv4(ipv4 ? ipv4 : "/proc/net/route", ifname, len);

	if (ret)
		ret = from_ipv6(ipv6 ? ipv6 : "/proc/net/ipv6_route", ifname, len);
	return ret;
}
