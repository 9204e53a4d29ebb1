// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "nsutil.h"

static int talk(struct nlmsghdr *nlh)
{
	struct vq_nl nl;
	int ret = vq_nl_open(&nl, NETLINK_ROUTE);

	if (ret)
		return ret;
	nlh->nlmsg_seq = ++nl.seq;
	ret = vq_nl_talk(&nl, nlh, NULL, NULL);
	vq_nl_close(&nl);
	return ret;
}

int ns_talk(struct vq_nl *nl, struct nlmsghdr *nlh)
{
	return vq_nl_talk(nl, nlh, NULL, NULL);
}

static struct nlmsghdr *msg(void *buf, uint16_t type, uint16_t flags,
			    size_t hdrlen, void **hdr)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, VQ_NL_REQLEN);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

int ns_veth(const char *a, const char *b)
{
	char buf[VQ_NL_REQLEN];
	struct ifinfomsg *ifi, *peer;
	struct nlattr *info, *data, *pn;
	struct nlmsghdr *nlh;

	nlh = msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi),
		  (void **)&ifi);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, a);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pn = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	peer = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer));
	memset(peer, 0, sizeof(*peer));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, b);
	mnl_attr_nest_end(nlh, pn);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return talk(nlh);
}

int ns_ifindex(const char *dev)
{
	return (int)if_nametoindex(dev);
}

int ns_up(const char *dev)
{
	char buf[VQ_NL_REQLEN];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	nlh = msg(buf, RTM_NEWLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = ns_ifindex(dev);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return talk(nlh);
}

int ns_del(const char *dev)
{
	char buf[VQ_NL_REQLEN];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	nlh = msg(buf, RTM_DELLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = ns_ifindex(dev);
	return talk(nlh);
}

int ns_addr(const char *dev, const char *ip4, int plen)
{
	char buf[VQ_NL_REQLEN];
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	struct in_addr a;

	if (inet_pton(AF_INET, ip4, &a) != 1)
		return -EINVAL;
	nlh = msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa),
		  (void **)&ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_index = (unsigned int)ns_ifindex(dev);
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(a), &a);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a), &a);
	return talk(nlh);
}

static int mac_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		if (mnl_attr_get_type(a) == IFLA_ADDRESS &&
		    mnl_attr_get_payload_len(a) == 6)
			memcpy(data, mnl_attr_get_payload(a), 6);
	return MNL_CB_OK;
}

int ns_neigh(const char *dev, const char *ip4, const char *peer)
{
	char buf[VQ_NL_REQLEN];
	unsigned char mac[6] = { 0 };
	struct ifinfomsg *ifi;
	struct ndmsg *nd;
	struct nlmsghdr *nlh;
	struct in_addr a;
	struct vq_nl nl;
	int ret;

	if (inet_pton(AF_INET, ip4, &a) != 1)
		return -EINVAL;
	nlh = msg(buf, RTM_GETLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = ns_ifindex(peer);
	ret = vq_nl_open(&nl, NETLINK_ROUTE);
	if (ret)
		return ret;
	nlh->nlmsg_seq = ++nl.seq;
	ret = vq_nl_talk(&nl, nlh, mac_cb, mac);
	vq_nl_close(&nl);
	if (ret)
		return ret;
	nlh = msg(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
		  sizeof(*nd), (void **)&nd);
	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = ns_ifindex(dev);
	nd->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, sizeof(a), &a);
	mnl_attr_put(nlh, NDA_LLADDR, sizeof(mac), mac);
	return talk(nlh);
}

static int qdisc_add(const char *dev, uint32_t parent, uint32_t handle,
		     const char *kind, const void *opt, size_t optlen)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	nlh = msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, sizeof(*tcm),
		  (void **)&tcm);
	tcm->tcm_ifindex = ns_ifindex(dev);
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	if (opt)
		mnl_attr_put(nlh, TCA_OPTIONS, optlen, opt);
	return talk(nlh);
}

int ns_qdisc_pfifo_root(const char *dev, uint32_t handle)
{
	struct tc_fifo_qopt f = { .limit = 77 };

	/* NLM_F_EXCL on the root still replaces a default qdisc */
	return qdisc_add(dev, TC_H_ROOT, handle, "pfifo", &f, sizeof(f));
}

int ns_qdisc_ingress(const char *dev)
{
	return qdisc_add(dev, TC_H_INGRESS, TC_H_MAKE(TC_H_INGRESS, 0),
			 "ingress", NULL, 0);
}

struct qscan {
	int ifindex;
	uint32_t parent;
	char *kind;
	size_t len;
	int count;
};

static int qscan_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct qscan *q = data;
	const struct nlattr *a;

	if (tcm->tcm_ifindex != q->ifindex)
		return MNL_CB_OK;
	if (tcm->tcm_handle)
		q->count++;
	if (!q->kind || tcm->tcm_parent != q->parent)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*tcm))
		if (mnl_attr_get_type(a) == TCA_KIND)
			snprintf(q->kind, q->len, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int qscan(const char *dev, struct qscan *q)
{
	char buf[VQ_NL_REQLEN];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	struct vq_nl nl;
	int ret;

	q->ifindex = ns_ifindex(dev);
	nlh = msg(buf, RTM_GETQDISC, 0, sizeof(*tcm), (void **)&tcm);
	ret = vq_nl_open(&nl, NETLINK_ROUTE);
	if (ret)
		return ret;
	nlh->nlmsg_seq = ++nl.seq;
	ret = vq_nl_dump(&nl, nlh, qscan_cb, q);
	vq_nl_close(&nl);
	return ret;
}

void ns_qdisc_kind(const char *dev, uint32_t parent, char *kind, size_t len)
{
	struct qscan q = { .parent = parent, .kind = kind, .len = len };

	kind[0] = '\0';
	ck_assert_int_eq(qscan(dev, &q), 0);
}

int ns_qdisc_count(const char *dev)
{
	struct qscan q = { 0 };

	ck_assert_int_eq(qscan(dev, &q), 0);
	return q.count;
}

bool ns_has_qdisc(const char *kind)
{
	bool has;

	ck_assert_int_eq(ns_veth("probe0", "probe1"), 0);
	has = qdisc_add("probe0", TC_H_ROOT, 0x70000, kind, NULL, 0) == 0;
	ck_assert_int_eq(ns_del("probe0"), 0);
	return has;
}

int ns_udp_send(const char *ip4, uint16_t port, uint32_t priority, int n,
		size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char payload[1400] = { 0 };
	int fd, ret = 0, prio = (int)priority;

	if (len > sizeof(payload) || inet_pton(AF_INET, ip4, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (prio && setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio)))
		ret = -errno;
	for (int i = 0; !ret && i < n; i++)
		if (sendto(fd, payload, len, 0, (struct sockaddr *)&sa,
			   sizeof(sa)) < 0)
			ret = -errno;
	close(fd);
	return ret;
}

static void sysctl_set(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return; /* no IPv6 at all: nothing to silence */
	fputs(val, f);
	fclose(f);
}

void ns_fresh(void)
{
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s",
		      strerror(errno));
	ck_assert_int_eq(ns_up("lo"), 0);
	/* no IPv6 chatter (MLD, RS) in the counters the tests compare */
	sysctl_set("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	sysctl_set("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
}

int ns_probe(char *why, size_t len)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -errno;
	}
	if (!pid) {
		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (ns_veth("probe0", "probe1"))
			_exit(2);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		snprintf(why, len, "probe process died");
		return -ECHILD;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		return 0;
	case 1:
		snprintf(why, len, "cannot create a network namespace (needs root)");
		return -EPERM;
	default:
		snprintf(why, len, "cannot create a veth pair in a namespace");
		return -EOPNOTSUPP;
	}
}
