/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VOIPQ_ROUTE_H
#define VOIPQ_ROUTE_H

#include <stddef.h>

/*
 * The interface of the default route (IPv4, else IPv6): the WAN when the
 * configuration does not name one. -ENOENT when there is no default route.
 * @ipv4/@ipv6 are the procfs tables to read (NULL: /proc/net/...).
 */
int vq_default_route_dev(char *ifname, size_t len, const char *ipv4,
			 const char *ipv6);

#endif
