// SPDX-License-Identifier: GPL-2.0
/*
 * The one netlink helper. Every request asks for an ack; with
 * NETLINK_EXT_ACK the kernel explains a rejection in a string ("Specified
 * qdisc kind is unknown"), and NETLINK_CAP_ACK keeps it from echoing our
 * whole request back. The string is kept in the handle, because only the
 * caller knows what it was trying to do and what the user should do next.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netlink.h>

#include "log.h"
#include "nl.h"

/* A dump message can be as large as the kernel's dump skb: 32 KB. */
#define VQ_NL_RCVLEN 65536

int vq_nl_open(struct vq_nl *nl, int bus)
{
	int one = 1;
	int err;

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open(bus);
	if (!nl->sock)
		return -errno;
	/* Both are best effort: old kernels simply send plain acks. */
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void vq_nl_close(struct vq_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

struct nlmsghdr *vq_nl_msg(struct vq_nl *nl, void *buf, uint16_t type,
			   uint16_t flags, size_t hdrlen, void **hdr)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, VQ_NL_REQLEN);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	if (hdrlen) {
		void *h = mnl_nlmsg_put_extra_header(nlh, hdrlen);

		if (hdr)
			*hdr = h;
	}
	return nlh;
}

/*
 * mnl_cb_run2 hands one data pointer to the reply callback and to the
 * control callbacks: wrap the caller's pair with the handle.
 */
struct wrap {
	struct vq_nl *nl;
	mnl_cb_t cb;
	void *data;
};

static int cb_wrap(const struct nlmsghdr *nlh, void *data)
{
	struct wrap *w = data;

	return w->cb ? w->cb(nlh, w->data) : MNL_CB_OK;
}

static const struct vq_nl_policy extack_policy[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG] = { MNL_TYPE_NUL_STRING },
	[NLMSGERR_ATTR_OFFS] = { MNL_TYPE_U32 },
};

/* Keep the extack message, if the kernel sent one, after @offset. */
static void keep_extack(struct vq_nl *nl, const struct nlmsghdr *nlh,
			unsigned int offset, int error)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { NULL };
	const char *msg;
	size_t n;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (vq_nl_parse_attrs(nlh, offset, extack_policy, NLMSGERR_ATTR_MAX,
			      tb) < 0 || !tb[NLMSGERR_ATTR_MSG])
		return;
	msg = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
	snprintf(nl->msg, sizeof(nl->msg), "%s", msg);
	/* The kernel ends some messages with a period, some without. */
	n = strlen(nl->msg);
	while (n && (nl->msg[n - 1] == '.' || nl->msg[n - 1] == '\n'))
		nl->msg[--n] = '\0';
	if (!error && n)
		pr_info("netlink: kernel warning: %s\n", nl->msg);
}

static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct vq_nl *nl = ((struct wrap *)data)->nl;
	unsigned int offset;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* The TLVs follow the error, and our request unless it was capped. */
	offset = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		offset += e->msg.nlmsg_len - sizeof(e->msg);
	keep_extack(nl, nlh, offset, e->error);
	/* Subsystems disagree on the sign. */
	errno = e->error < 0 ? -e->error : e->error;
	return e->error ? MNL_CB_ERROR : MNL_CB_STOP;
}

/* A dump ends with DONE, which carries an error code (and extack) too. */
static int cb_done(const struct nlmsghdr *nlh, void *data)
{
	struct vq_nl *nl = ((struct wrap *)data)->nl;
	int error = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(int));
	keep_extack(nl, nlh, sizeof(int), error);
	if (error) {
		errno = error < 0 ? -error : error;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int run(struct vq_nl *nl, struct nlmsghdr *nlh, struct wrap *w)
{
	static const mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = cb_noop,
		[NLMSG_ERROR] = cb_error,
		[NLMSG_DONE] = cb_done,
	};
	uint32_t seq = nlh->nlmsg_seq;
	char *buf;
	int ret;

	if (!nl->sock)
		return -EBADF;
	nl->msg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	buf = malloc(VQ_NL_RCVLEN);
	if (!buf)
		return -ENOMEM;
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, VQ_NL_RCVLEN);

		if (n < 0) {
			ret = -errno;
			break;
		}
		errno = 0;
		ret = mnl_cb_run2(buf, (size_t)n, seq, nl->portid, cb_wrap,
				  w, (mnl_cb_t *)ctl, NLMSG_MIN_TYPE);
		/* A callback may fail without setting errno: still a failure. */
		if (ret == MNL_CB_ERROR)
			ret = errno ? -errno : -EPROTO;
	} while (ret > 0);
	free(buf);
	return ret < 0 ? ret : 0;
}

int vq_nl_talk(struct vq_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *data)
{
	struct wrap w = { nl, cb, data };

	nlh->nlmsg_flags |= NLM_F_ACK;
	return run(nl, nlh, &w);
}

int vq_nl_dump(struct vq_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *data)
{
	struct wrap w = { nl, cb, data };

	nlh->nlmsg_flags |= NLM_F_DUMP;
	return run(nl, nlh, &w);
}

const char *vq_nl_why(const struct vq_nl *nl, char *buf, size_t len)
{
	if (!nl->msg[0])
		return "";
	snprintf(buf, len, " (kernel says: %s)", nl->msg);
	return buf;
}

static int parse_cb(const struct nlattr *attr, void *data)
{
	struct vq_nl_parse *p = data;
	uint16_t type = mnl_attr_get_type(attr);
	const struct vq_nl_policy *pol;

	if (mnl_attr_type_valid(attr, p->max) < 0)
		return MNL_CB_OK; /* newer than us: skip */
	pol = &p->pol[type];
	switch (pol->type) {
	case MNL_TYPE_UNSPEC:
	case MNL_TYPE_BINARY:
		if (mnl_attr_get_payload_len(attr) < pol->len) {
			p->err = -EINVAL;
			return MNL_CB_ERROR;
		}
		break;
	default:
		if (mnl_attr_validate(attr, pol->type) < 0) {
			p->err = -EINVAL;
			return MNL_CB_ERROR;
		}
	}
	p->tb[type] = attr;
	return MNL_CB_OK;
}

int vq_nl_parse_attrs(const struct nlmsghdr *nlh, unsigned int offset,
		      const struct vq_nl_policy *pol, uint16_t max,
		      const struct nlattr **tb)
{
	struct vq_nl_parse p = { pol, max, tb, 0 };

	if (mnl_attr_parse(nlh, offset, parse_cb, &p) < 0)
		return p.err ? p.err : -EINVAL;
	return 0;
}

int vq_nl_parse_nested(const struct nlattr *nest,
		       const struct vq_nl_policy *pol, uint16_t max,
		       const struct nlattr **tb)
{
	struct vq_nl_parse p = { pol, max, tb, 0 };

	if (mnl_attr_parse_nested(nest, parse_cb, &p) < 0)
		return p.err ? p.err : -EINVAL;
	return 0;
}
