/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bounds-checked packet parsing for the classifier. Every read of packet
 * memory goes through vq_pull(): it is the one place that compares against
 * data_end, so the verifier sees one pattern and a reviewer checks one
 * function. The cursor only ever moves forward, by a length the verifier can
 * bound (a constant, or a header length field masked to its width). Bytes
 * past the linear area are copied out by vq_pull_or_copy(), never read in
 * place.
 */
#ifndef VOIPQ_BPF_PARSE_H
#define VOIPQ_BPF_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define VQ_MAX_VLAN	2
/* hop-by-hop, routing, fragment, destination options, with room to spare */
#define VQ_MAX_EXTHDR	6

#define VQ_IP_MF	0x2000
#define VQ_IP_OFFSET	0x1fff

struct vq_cursor {
	void *start;	/* skb->data: offsets for helpers are from here */
	void *pos;
	void *end;
};

/*
 * Take @len bytes at the cursor: a pointer to them, or NULL when the packet
 * is shorter. @len must be bounded for the verifier (constant or masked).
 */
static __always_inline void *vq_pull(struct vq_cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

/*
 * The same, for a header that may lie past the linear area: a socket that
 * corks or splices, or a driver that builds its skbs with only the headers
 * linear, leaves the payload in page fragments, where data_end does not
 * reach. Then the @len bytes are copied into @buf with bpf_skb_load_bytes(),
 * which reads fragments too and, unlike bpf_skb_pull_data(), leaves every
 * packet pointer valid; the cursor stays where it is. Costs one branch when
 * the bytes are linear. NULL when the packet is shorter than that.
 */
static __always_inline void *vq_pull_or_copy(struct vq_cursor *c,
					     struct __sk_buff *skb, void *buf,
					     __u32 len)
{
	void *p = vq_pull(c, len);

	if (p)
		return p;
	if (bpf_skb_load_bytes(skb, (__u32)(c->pos - c->start), buf, len))
		return NULL;
	return buf;
}

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/*
 * Ethernet and up to VQ_MAX_VLAN tags: the ethertype, or 0 when cut short.
 * *l3_off is where the network header starts, for helpers that take offsets.
 */
static __always_inline __u16 vq_parse_eth(struct vq_cursor *c, __u32 *l3_off)
{
	struct ethhdr *eth = vq_pull(c, sizeof(*eth));
	__u16 proto;

	if (!eth)
		return 0;
	proto = bpf_ntohs(eth->h_proto);
	*l3_off = sizeof(*eth);
#pragma unroll
	for (int i = 0; i < VQ_MAX_VLAN; i++) {
		struct vlan_hdr *vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		vh = vq_pull(c, sizeof(*vh));
		if (!vh)
			return 0;
		proto = bpf_ntohs(vh->proto);
		*l3_off += sizeof(*vh);
	}
	return proto;
}

/* What vq_parse_none() returns for a packet that is not IP. */
#define VQ_P_NOT_IP	0x0001

/*
 * No link-layer header (PPP, WireGuard, tun, IP-in-IP): the packet starts
 * with its IP header, and the version says which. The ethertype, VQ_P_NOT_IP
 * for another version (what else such a device carries, MPLS, say), or 0
 * when there is not even a byte. The cursor stays at the network header.
 * The version, not skb->protocol: the two agree on these devices, and the
 * version is what BPF_PROG_TEST_RUN lets a test set.
 */
static __always_inline __u16 vq_parse_none(struct vq_cursor *c, __u32 *l3_off)
{
	__u8 *ver = c->pos;

	if ((void *)(ver + 1) > c->end)
		return 0;
	*l3_off = 0;
	switch (*ver >> 4) {
	case 4:
		return ETH_P_IP;
	case 6:
		return ETH_P_IPV6;
	default:
		return VQ_P_NOT_IP;
	}
}

/* Outcome of the L3 parse. */
enum {
	VQ_L3_OK,
	VQ_L3_MALFORMED,
	VQ_L3_FRAGMENT, /* a non-first fragment: no transport header */
};

/*
 * IPv4 with options. On VQ_L3_OK, *l4proto is the protocol and the cursor is
 * at the transport header.
 */
static __always_inline int vq_parse_ipv4(struct vq_cursor *c,
					 struct iphdr **iphp, __u8 *l4proto)
{
	struct iphdr *iph = vq_pull(c, sizeof(*iph));
	__u32 ihl;

	if (!iph)
		return VQ_L3_MALFORMED;
	if (iph->version != 4)
		return VQ_L3_MALFORMED;
	ihl = iph->ihl;
	if (ihl < 5)
		return VQ_L3_MALFORMED;
	/* options: 0..40 bytes; masking makes the bound visible */
	if (ihl > 5 && !vq_pull(c, ((ihl - 5) * 4) & 0x3f))
		return VQ_L3_MALFORMED;
	*iphp = iph;
	*l4proto = iph->protocol;
	if (iph->frag_off & bpf_htons(VQ_IP_OFFSET))
		return VQ_L3_FRAGMENT;
	return VQ_L3_OK;
}

struct vq_ipv6_opt {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct vq_ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

/*
 * IPv6, walking extension headers (hop-by-hop, routing, destination
 * options, fragment) in a bounded loop. On VQ_L3_OK, *l4proto is the upper
 * layer protocol and the cursor is at its header.
 */
static __always_inline int vq_parse_ipv6(struct vq_cursor *c,
					 struct ipv6hdr **ip6p, __u8 *l4proto)
{
	struct ipv6hdr *ip6 = vq_pull(c, sizeof(*ip6));
	__u8 nexthdr;

	if (!ip6)
		return VQ_L3_MALFORMED;
	if (ip6->version != 6)
		return VQ_L3_MALFORMED;
	*ip6p = ip6;
	nexthdr = ip6->nexthdr;

#pragma unroll
	for (int i = 0; i < VQ_MAX_EXTHDR; i++) {
		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS: {
			struct vq_ipv6_opt *opt = vq_pull(c, sizeof(*opt));

			if (!opt)
				return VQ_L3_MALFORMED;
			nexthdr = opt->nexthdr;
			/* (hdrlen + 1) * 8 bytes in all, 2 already taken */
			if (!vq_pull(c, (__u32)opt->hdrlen * 8 + 6))
				return VQ_L3_MALFORMED;
			break;
		}
		case IPPROTO_FRAGMENT: {
			struct vq_ipv6_frag *fh = vq_pull(c, sizeof(*fh));

			if (!fh)
				return VQ_L3_MALFORMED;
			*l4proto = fh->nexthdr;
			if (fh->frag_off & bpf_htons(0xfff8))
				return VQ_L3_FRAGMENT;
			nexthdr = fh->nexthdr;
			break;
		}
		default:
			*l4proto = nexthdr;
			return VQ_L3_OK;
		}
	}
	/* More extension headers than anyone sends: treat as not ours. */
	return VQ_L3_MALFORMED;
}

#endif
