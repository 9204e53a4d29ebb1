/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the shaper tests: a fresh network namespace per test (it
 * dies with the forked test process, so cleanup happens even when a test
 * fails or crashes), veth pairs, addresses, neighbours and raw qdiscs, all
 * over the agent's netlink helper.
 */
#ifndef VOIPQ_TEST_NSUTIL_H
#define VOIPQ_TEST_NSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl.h"

/* 0, or -errno with the reason in @why when namespaces are unusable. */
int ns_probe(char *why, size_t len);
/* Enter a fresh network namespace with lo up; fails the test if not. */
void ns_fresh(void);

int ns_veth(const char *a, const char *b);
int ns_up(const char *dev);
int ns_del(const char *dev);
int ns_addr(const char *dev, const char *ip4, int plen);
/* A permanent neighbour on @dev: @ip4 is at @peer's MAC address. */
int ns_neigh(const char *dev, const char *ip4, const char *peer);
int ns_ifindex(const char *dev);
/* A qdisc as someone else would add it: pfifo root or ingress. */
int ns_qdisc_pfifo_root(const char *dev, uint32_t handle);
int ns_qdisc_ingress(const char *dev);
/* Kind of the qdisc at @parent on @dev ("" when none). */
void ns_qdisc_kind(const char *dev, uint32_t parent, char *kind, size_t len);
/* Count the qdiscs on @dev with a non-zero handle (the ones someone made). */
int ns_qdisc_count(const char *dev);
/* Does the kernel have qdisc @kind? (tries it as root on a scratch veth) */
bool ns_has_qdisc(const char *kind);

/* Send @n UDP datagrams of @len bytes to @ip4:@port with SO_PRIORITY. */
int ns_udp_send(const char *ip4, uint16_t port, uint32_t priority, int n,
		size_t len);

/* Send a raw request (for tests that poke the kernel directly). */
int ns_talk(struct vq_nl *nl, struct nlmsghdr *nlh);

#endif
