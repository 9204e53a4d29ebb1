// SPDX-License-Identifier: GPL-2.0
/* The classifier, frame by frame, through BPF_PROG_TEST_RUN. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/pktbuild.h"
#include "dp.h"
#include "rtpstats.h"

#define MS		1000000ull
#define PHONE		"192.0.2.20"
#define FAR		"198.51.100.7"
#define PHONE6		"2001:db8:1::20"
#define FAR6		"2001:db8:2::7"
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86dd

static uint8_t rtp[256];
static size_t rtp_len;

static void setup(void)
{
	rtp_len = dp_rtp(rtp, 8, 1000, 160000, 0xabcd);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- matching --------------------------------------------------------- */

START_TEST(ipv4_hit_by_destination)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX];
	size_t n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len);
	uint64_t t0 = mono_ns(), t1;
	struct voipq_ep_val v;
	struct voipq_stats s;

	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0); /* nothing learned yet */

	dp_add(b, FAR, 30000, 0);
	dp_add(b, PHONE, 4000, 0); /* the source matches too: dst wins */
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	t1 = mono_ns();

	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.packets, 1);
	ck_assert_uint_eq(v.bytes, n);
	ck_assert_uint_eq(v.demoted, 0);
	/* the production clock: bpf_ktime_get_ns() is CLOCK_MONOTONIC */
	ck_assert_uint_ge(v.last_seen_ns, t0);
	ck_assert_uint_le(v.last_seen_ns, t1);
	ck_assert_uint_eq(dp_val(b, PHONE, 4000).packets, 0);

	s = dp_stats(b);
	ck_assert_uint_eq(s.packets, 2);
	ck_assert_uint_eq(s.udp, 2);
	ck_assert_uint_eq(s.hits, 1);
}
END_TEST

START_TEST(ipv4_hit_by_source)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX];
	size_t n;

	/* downstream on WAN ingress (IFB): the far end's endpoint as source */
	dp_add(b, FAR, 30000, 0);
	n = dp_udp4(f, FAR, 30000, PHONE, 4000, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).packets, 1);

	/* same port, another host: not ours */
	n = dp_udp4(f, "198.51.100.8", 30000, PHONE, 4000, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	ck_assert_uint_eq(dp_stats(b).hits, 1);
}
END_TEST

START_TEST(ipv6_hit)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX];
	size_t n;

	dp_add(b, FAR6, 30000, 0);
	n = dp_udp6(f, PHONE6, 4000, FAR6, 30000, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	n = dp_udp6(f, FAR6, 30000, PHONE6, 4000, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b, FAR6, 30000).packets, 2);

	/* an IPv4 endpoint never matches an IPv6 packet of the same port */
	dp_add(b, FAR, 31000, 0);
	n = dp_udp6(f, PHONE6, 4000, "::ffff:198.51.100.7", 31000, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
}
END_TEST

/* UDP to FAR6:30000 behind the given chain of extension headers. */
static size_t ext_chain(uint8_t *out, const uint8_t *chain, int n,
			bool long_dstopts)
{
	uint8_t a[PB_MAX], c[PB_MAX];
	size_t len;

	len = udp_wrap(a, 4000, 30000, rtp, rtp_len);
	/* innermost first */
	for (int i = n - 1; i >= 0; i--) {
		uint8_t nh = i == n - 1 ? IPPROTO_UDP : chain[i + 1];

		switch (chain[i]) {
		case IPPROTO_FRAGMENT:
			len = ipv6_frag_wrap(c, nh, 7, 0, 1, a, len);
			break;
		case IPPROTO_DSTOPTS:
			if (long_dstopts) { /* hdrlen 1: 16 bytes */
				memset(c, 0, 16);
				c[0] = nh;
				c[1] = 1;
				c[2] = 1; /* PadN */
				c[3] = 12;
				memcpy(c + 16, a, len);
				len += 16;
				break;
			}
			/* fall through */
		default:
			len = ext8_wrap(c, nh, a, len);
			break;
		}
		memcpy(a, c, len);
	}
	len = ipv6_wrap(c, PHONE6, FAR6, n ? chain[0] : IPPROTO_UDP, a, len);
	return eth_wrap(out, ETH_P_IPV6, c, len);
}

START_TEST(ipv6_extension_headers_hit)
{
	static const uint8_t chain[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING,
					 IPPROTO_DSTOPTS, IPPROTO_FRAGMENT };
	static const uint8_t too_many[] = {
		IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING,
		IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
		IPPROTO_DSTOPTS,
	};
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX];
	size_t n;

	dp_add(b, FAR6, 30000, 0);
	n = ext_chain(f, chain, 4, false);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	n = ext_chain(f, chain, 4, true); /* a 16-byte destination options */
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	n = ext_chain(f, chain + 3, 1, false); /* first fragment only */
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b, FAR6, 30000).packets, 3);

	/* past the walk's bound: bulk, and counted as malformed */
	n = ext_chain(f, too_many, 7, false);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	ck_assert_uint_eq(dp_stats(b).malformed, 1);
}
END_TEST

START_TEST(vlan_tagged_hit)
{
	static const uint16_t one[] = { 0x8100 };
	static const uint16_t qinq[] = { 0x88a8, 0x8100 };
	static const uint16_t three[] = { 0x88a8, 0x8100, 0x8100 };
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], ip[PB_MAX];
	size_t n, iplen;

	dp_add(b, FAR, 30000, 0);
	iplen = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len) - 14;
	memcpy(ip, f + 14, iplen);

	n = eth_wrap_tags(f, one, 1, ETH_P_IP, ip, iplen);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	n = eth_wrap_tags(f, qinq, 2, ETH_P_IP, ip, iplen);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).packets, 2);

	/* a third tag is past what we parse: not IP to us, bulk */
	n = eth_wrap_tags(f, three, 3, ETH_P_IP, ip, iplen);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	ck_assert_uint_eq(dp_stats(b).udp, 2);
}
END_TEST

START_TEST(udp_miss_is_bulk)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX];
	struct voipq_stats s;
	size_t n;

	dp_add(b, FAR, 30000, 0);
	/* neither port in the bitmap */
	n = dp_udp4(f, PHONE, 4001, FAR, 30002, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	/* port bit set, address differs: the hash lookup misses */
	n = dp_udp4(f, PHONE, 4001, "198.51.100.9", 30000, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	s = dp_stats(b);
	ck_assert_uint_eq(s.udp, 2);
	ck_assert_uint_eq(s.hits, 0);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).packets, 0);
}
END_TEST

START_TEST(tcp_is_bulk)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], t[PB_MAX], ip[PB_MAX];
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	struct voipq_stats s;
	size_t n;

	dp_add(b, FAR, 30000, 0);
	n = tcp_wrap(t, 4000, 30000, 1, 0, rtp, rtp_len);
	n = ipv4_wrap(ip, PHONE, FAR, IPPROTO_TCP, t, n);
	n = eth_wrap(f, ETH_P_IP, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	n = eth_wrap(f, 0x0806, arp, sizeof(arp));
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);

	s = dp_stats(b);
	ck_assert_uint_eq(s.packets, 2);
	ck_assert_uint_eq(s.udp, 0);
	ck_assert_uint_eq(s.hits, 0);
	ck_assert_uint_eq(s.malformed, 0);
}
END_TEST

/* Ethernet + IPv4 + TCP from the phone, @flags besides ACK, @n bytes. */
static size_t tcp4(uint8_t *f, uint8_t flags, size_t n)
{
	uint8_t t[PB_MAX], ip[PB_MAX], pl[1400] = { 0 };
	size_t len = tcp_wrap(t, 51000, 443, 1, flags, pl, n);

	len = ipv4_wrap(ip, PHONE, FAR, IPPROTO_TCP, t, len);
	return eth_wrap(f, ETH_P_IP, ip, len);
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* Ethernet + IPv4 header length, where the TCP header starts in tcp4(). */
#define TCP4_OFF (14 + 20)

START_TEST(pure_ack_goes_to_the_ack_class)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], t[PB_MAX], ip[PB_MAX], opts[12] = { 1, 1, 8, 10 };
	static const uint16_t tag[] = { 0x8100 };
	size_t n;

	n = tcp4(f, 0, 0);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), ACK_PRIO);
	/* ECN's flags and PSH say nothing about carrying data */
	n = tcp4(f, TCP_ECE | TCP_CWR | TCP_PSH, 0);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), ACK_PRIO);
	/* a frame padded to Ethernet's minimum, as it arrives from a wire */
	n = tcp4(f, 0, 0);
	memset(f + n, 0, 60 - n);
	ck_assert_uint_eq(dp_prio(b, f, 60, 0), ACK_PRIO);

	/* TCP options (NOP, NOP, timestamps) are header, not payload */
	n = tcp_wrap(t, 51000, 443, 1, 0, opts, sizeof(opts));
	t[12] = 8 << 4;
	n = ipv4_wrap_opt(ip, PHONE, FAR, IPPROTO_TCP, 1, 0, 8, t, n);
	n = eth_wrap_tags(f, tag, 1, ETH_P_IP, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), ACK_PRIO);

	/* IPv6, behind a destination options header */
	n = tcp_wrap(t, 51000, 443, 1, 0, NULL, 0);
	n = ext8_wrap(ip, IPPROTO_TCP, t, n);
	memcpy(t, ip, n);
	n = ipv6_wrap(ip, PHONE6, FAR6, IPPROTO_DSTOPTS, t, n);
	n = eth_wrap(f, ETH_P_IPV6, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), ACK_PRIO);

	ck_assert_uint_eq(dp_stats(b).acks, 5);
	ck_assert_uint_eq(dp_stats(b).hits, 0);
}
END_TEST

START_TEST(tcp_with_data_or_other_flags_stays_bulk)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], t[PB_MAX], ip[PB_MAX];
	static const uint8_t flags[] = { TCP_SYN, TCP_FIN, TCP_RST };
	size_t n;

	n = tcp4(f, 0, 1);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	n = tcp4(f, TCP_PSH, 1200);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	for (size_t i = 0; i < sizeof(flags); i++) {
		n = tcp4(f, flags[i], 0);
		ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	}
	/* no ACK flag at all */
	n = tcp4(f, 0, 0);
	f[TCP4_OFF + 13] = 0;
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	/* IPv6 with one byte of data */
	n = tcp_wrap(t, 51000, 443, 1, 0, "x", 1);
	n = ipv6_wrap(ip, PHONE6, FAR6, IPPROTO_TCP, t, n);
	n = eth_wrap(f, ETH_P_IPV6, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	/* a first fragment holding only the header is not a whole segment */
	n = tcp_wrap(t, 51000, 443, 1, 0, NULL, 0);
	n = ipv4_wrap_opt(ip, PHONE, FAR, IPPROTO_TCP, 1, 0x2000, 0, t, n);
	n = eth_wrap(f, ETH_P_IP, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	/* cut short anywhere in the TCP header */
	n = tcp4(f, 0, 0);
	for (size_t cut = TCP4_OFF; cut < n; cut++)
		ck_assert_uint_eq(dp_prio(b, f, cut, 0), 0);
	ck_assert_uint_eq(dp_stats(b).acks, 0);
}
END_TEST

/* Ethernet + IPv4 + TCP between the phone's 51000 and FAR's @fport. */
static size_t tcp4_sip(uint8_t *f, bool up, uint16_t fport, size_t n)
{
	uint8_t t[PB_MAX], ip[PB_MAX], pl[1400] = { 0 };
	size_t len;

	len = up ? tcp_wrap(t, 51000, fport, 1, TCP_PSH, pl, n)
		 : tcp_wrap(t, fport, 51000, 1, TCP_PSH, pl, n);
	len = ipv4_wrap(ip, up ? PHONE : FAR, up ? FAR : PHONE, IPPROTO_TCP,
			t, len);
	return eth_wrap(f, ETH_P_IP, ip, len);
}

START_TEST(tcp_endpoint_hit_both_ways)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], t[PB_MAX], ip[PB_MAX];
	size_t n;

	/* SIP over TCP: the proxy's FAR:5060/tcp, learned by the agent */
	dp_add_tcp(b, FAR, 5060, NULL);
	n = tcp4_sip(f, true, 5060, 700);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	n = tcp4_sip(f, false, 5060, 900);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_val_tcp(b, FAR, 5060).packets, 2);
	/* its pure ACKs still go to the ACK class, uncounted */
	n = tcp_wrap(t, 51000, 5060, 1, 0, NULL, 0);
	n = ipv4_wrap(ip, PHONE, FAR, IPPROTO_TCP, t, n);
	n = eth_wrap(f, ETH_P_IP, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), ACK_PRIO);
	ck_assert_uint_eq(dp_val_tcp(b, FAR, 5060).packets, 2);

	/* the same address and port over UDP is another endpoint */
	n = dp_udp4(f, PHONE, 51000, FAR, 5060, rtp, rtp_len);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	/* and a TCP segment never matches a UDP endpoint */
	dp_add(b, FAR, 5070, 0);
	n = tcp4_sip(f, true, 5070, 100);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	ck_assert_uint_eq(dp_val(b, FAR, 5070).packets, 0);
	ck_assert_uint_eq(dp_stats(b).hits, 2);
	ck_assert_uint_eq(dp_stats(b).udp, 1);
}
END_TEST

START_TEST(tcp_endpoint_budget_demotes)
{
	struct vq_bpf *b = dp_open(true);
	const struct vq_bpf_policy small = { .rate_bps = 1000, .burst = 1500,
					     .clock_rate = 8000 };
	uint8_t f[PB_MAX];
	size_t n = tcp4_sip(f, true, 5060, 1000);
	unsigned int voice = 0;

	dp_add_tcp(b, FAR, 5060, &small);
	/* 1054-byte frames at one instant: the 1500-byte burst pays one */
	for (int i = 0; i < 4; i++)
		voice += dp_prio(b, f, n, 1000000000ull) == VOICE_PRIO;
	ck_assert_uint_eq(voice, 1);
	ck_assert_uint_eq(dp_val_tcp(b, FAR, 5060).demoted, 3);
	ck_assert_uint_eq(dp_stats(b).demoted, 3);
}
END_TEST

START_TEST(ack_class_can_be_turned_off)
{
	struct vq_bpf *b = dp_open_cfg((struct vq_bpf_cfg){ .no_ack = true });
	uint8_t f[PB_MAX];
	size_t n = tcp4(f, 0, 0);

	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	ck_assert_uint_eq(dp_stats(b).acks, 0);
}
END_TEST

START_TEST(non_first_fragment_is_bulk_and_counted)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], u[PB_MAX], ip[PB_MAX], fr[PB_MAX];
	struct voipq_stats s;
	size_t n;

	dp_add(b, FAR, 30000, 0);
	dp_add(b, FAR6, 30000, 0);
	/* payload that looks like a matching UDP header: must not be read */
	n = udp_wrap(u, 4000, 30000, rtp, rtp_len);

	n = ipv4_wrap_opt(ip, PHONE, FAR, IPPROTO_UDP, 9, 185, 0, u, n);
	n = eth_wrap(f, ETH_P_IP, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);

	n = udp_wrap(u, 4000, 30000, rtp, rtp_len);
	n = ipv6_frag_wrap(fr, IPPROTO_UDP, 9, 1480, 0, u, n);
	n = ipv6_wrap(ip, PHONE6, FAR6, IPPROTO_FRAGMENT, fr, n);
	n = eth_wrap(f, ETH_P_IPV6, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);

	s = dp_stats(b);
	ck_assert_uint_eq(s.frags, 2);
	ck_assert_uint_eq(s.udp, 0);

	/* the first fragment carries the ports: it matches */
	n = udp_wrap(u, 4000, 30000, rtp, rtp_len);
	n = ipv4_wrap_opt(ip, PHONE, FAR, IPPROTO_UDP, 9, 0x2000, 0, u, n);
	n = eth_wrap(f, ETH_P_IP, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_stats(b).frags, 2);
}
END_TEST

/* Cut @f at every length from @from short of the UDP header's end. */
static unsigned int cut_everywhere(struct vq_bpf *b, const uint8_t *f,
				   size_t from, size_t l4_end, size_t full)
{
	unsigned int runs = 0;

	for (size_t len = from; len < l4_end; len++, runs++)
		ck_assert_msg(dp_prio(b, f, len, 0) == 0,
			      "frame cut at %zu of %zu was prioritised", len,
			      full);
	ck_assert_uint_eq(dp_prio(b, f, full, 0), VOICE_PRIO);
	return runs;
}

/*
 * BPF_PROG_TEST_RUN itself refuses an untagged IPv4 (IPv6) frame shorter
 * than its IP header, so those cuts start after it; behind VLAN tags the
 * kernel does not look, and every cut from the Ethernet header on is run.
 */
START_TEST(truncated_headers_never_prioritised)
{
	static const uint16_t qinq[] = { 0x88a8, 0x8100 };
	static const uint16_t one[] = { 0x8100 };
	static const uint8_t chain[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
					 IPPROTO_FRAGMENT };
	const size_t ext_end = 14 + 40 + 8 + 16 + 8 + 8;
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], u[PB_MAX], ip[PB_MAX];
	unsigned int runs = 0;
	size_t n;

	dp_add(b, FAR, 30000, 0);
	dp_add(b, FAR6, 30000, 0);

	/* QinQ + IPv4 with 12 bytes of options */
	n = udp_wrap(u, 4000, 30000, rtp, rtp_len);
	n = ipv4_wrap_opt(ip, PHONE, FAR, IPPROTO_UDP, 1, 0, 12, u, n);
	n = eth_wrap_tags(f, qinq, 2, ETH_P_IP, ip, n);
	runs += cut_everywhere(b, f, 14, 14 + 8 + 32 + 8, n);

	/* IPv6 behind three extension headers, tagged and not */
	n = ext_chain(f, chain, 3, true);
	runs += cut_everywhere(b, f, 14 + 40, ext_end, n);
	memcpy(ip, f + 14, n - 14);
	n = eth_wrap_tags(f, one, 1, ETH_P_IPV6, ip, n - 14);
	runs += cut_everywhere(b, f, 14, ext_end + 4, n);

	/* plain IPv4 */
	n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len);
	runs += cut_everywhere(b, f, 14 + 20, 14 + 20 + 8, n);

	ck_assert_uint_ge(runs, 180);
	ck_assert_uint_eq(dp_stats(b).malformed, runs);
	ck_assert_uint_eq(dp_stats(b).hits, 4);
}
END_TEST

START_TEST(malformed_ihl)
{
	struct vq_bpf *b = dp_open(false);
	uint8_t f[PB_MAX], u[PB_MAX], ip[PB_MAX];
	size_t n, un;

	dp_add(b, FAR, 30000, 0);

	n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len);
	f[14] = 0x44; /* ihl 4: shorter than the fixed header */
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	f[14] = 0x65; /* version 6 under an IPv4 ethertype */
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);

	/* ihl 15 (60 bytes) on a frame that ends before that */
	un = udp_wrap(u, 4000, 30000, NULL, 0);
	n = ipv4_wrap(ip, PHONE, FAR, IPPROTO_UDP, u, un);
	n = eth_wrap(f, ETH_P_IP, ip, n);
	f[14] = 0x4f;
	ck_assert_uint_eq(dp_prio(b, f, n, 0), 0);
	ck_assert_uint_eq(dp_stats(b).malformed, 3);

	/* ihl 6 with its 4 option bytes present: parsed, matched */
	un = udp_wrap(u, 4000, 30000, rtp, rtp_len);
	n = ipv4_wrap_opt(ip, PHONE, FAR, IPPROTO_UDP, 1, 0, 4, u, un);
	n = eth_wrap(f, ETH_P_IP, ip, n);
	ck_assert_uint_eq(dp_prio(b, f, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_stats(b).hits, 1);
}
END_TEST

/* ---- DSCP --------------------------------------------------------------- */

START_TEST(dscp_rewrite_checksum_valid_keeps_ecn)
{
	struct vq_bpf *b = dp_open(false);
	static struct dp_result r;
	uint8_t f[PB_MAX];
	uint16_t before;
	size_t n;

	dp_add(b, FAR, 30000, VOIPQ_EP_DSCP_EF);
	dp_add(b, FAR, 30001, 0);
	dp_add(b, FAR6, 30000, VOIPQ_EP_DSCP_EF);

	/* AF11 with ECT(1), and a valid header checksum */
	n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len);
	f[15] = 10 << 2 | 1;
	pb_put16(f + 24, ip_csum(f + 14, 20));
	before = f[24] << 8 | f[25];
	ck_assert_uint_eq(ip_csum(f + 14, 20), 0);

	dp_run(b, f, n, 0, &r);
	ck_assert_uint_eq(r.priority, VOICE_PRIO);
	ck_assert_uint_eq(r.out[15], VOIPQ_DSCP_EF << 2 | 1); /* EF, ECT(1) */
	ck_assert_uint_eq(ip_csum(r.out + 14, 20), 0);       /* still valid */
	ck_assert_uint_ne(r.out[24] << 8 | r.out[25], before);
	/* nothing else changed */
	r.out[15] = f[15];
	r.out[24] = f[24];
	r.out[25] = f[25];
	ck_assert_mem_eq(r.out, f, n);

	/* CE survives too */
	f[15] = 3;
	pb_put16(f + 24, 0);
	pb_put16(f + 24, ip_csum(f + 14, 20));
	dp_run(b, f, n, 0, &r);
	ck_assert_uint_eq(r.out[15], VOIPQ_DSCP_EF << 2 | 3);
	ck_assert_uint_eq(ip_csum(r.out + 14, 20), 0);

	/* an entry without the flag: marked voice, DSCP untouched */
	n = dp_udp4(f, PHONE, 4000, FAR, 30001, rtp, rtp_len);
	f[15] = 10 << 2 | 1;
	dp_run(b, f, n, 0, &r);
	ck_assert_uint_eq(r.priority, VOICE_PRIO);
	ck_assert_mem_eq(r.out, f, n);

	/* IPv6: traffic class, flow label kept */
	n = dp_udp6(f, PHONE6, 4000, FAR6, 30000, rtp, rtp_len);
	f[14] = 0x60 | (10 << 2 | 2) >> 4;     /* tc = AF11 | ECT(0) */
	f[15] = ((10 << 2 | 2) & 0xf) << 4 | 0xa; /* flow label 0xabcde */
	f[16] = 0xbc;
	f[17] = 0xde;
	dp_run(b, f, n, 0, &r);
	ck_assert_uint_eq(r.priority, VOICE_PRIO);
	ck_assert_uint_eq((r.out[14] & 0xf) << 4 | r.out[15] >> 4,
			  VOIPQ_DSCP_EF << 2 | 2);
	ck_assert_uint_eq(r.out[14] >> 4, 6);
	ck_assert_uint_eq((r.out[15] & 0xf) << 16 | r.out[16] << 8 | r.out[17],
			  0xabcde);
	ck_assert_uint_eq(dp_stats(b).dscp_rewritten, 3);
}
END_TEST

/*
 * Upstream only: packets leaving another interface than the WAN keep their
 * DSCP but are still prioritised. BPF_PROG_TEST_RUN runs tc programs on
 * the loopback device (ifindex 1).
 */
START_TEST(dscp_rewrite_only_leaving_the_wan)
{
	static struct dp_result r;
	struct vq_bpf *b = dp_open_ef(false, 1);
	uint8_t f[PB_MAX];
	size_t n;

	dp_add(b, FAR, 30000, VOIPQ_EP_DSCP_EF);
	n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len);
	dp_run(b, f, n, 0, &r);
	ck_assert_uint_eq(r.out[15] >> 2, VOIPQ_DSCP_EF);
	dp_close();

	b = dp_open_ef(false, 9999); /* the WAN is elsewhere */
	dp_add(b, FAR, 30000, VOIPQ_EP_DSCP_EF);
	dp_run(b, f, n, 0, &r);
	ck_assert_uint_eq(r.priority, VOICE_PRIO);
	ck_assert_mem_eq(r.out, f, n);
	ck_assert_uint_eq(dp_stats(b).dscp_rewritten, 0);
}
END_TEST

/* ---- no link-layer header ---------------------------------------------- */

#define ETH_HLEN	14

/*
 * On ppp0, WireGuard or tun, and the IFB fed from one, a packet starts at
 * its IP header: these are dp_udp4()'s frames without their first 14
 * bytes. The Ethernet program reads an address as the ethertype and leaves
 * the packet as not IP, unprioritised; the headerless program classifies
 * it as the Ethernet one classifies the framed packet.
 */
START_TEST(headerless_ipv4_hit_and_miss)
{
	struct vq_bpf *b = dp_open(false);
	static struct dp_result r;
	uint8_t f[PB_MAX], *p = f + ETH_HLEN, junk[40] = { 0x20 };
	struct voipq_ep_val v;
	struct voipq_stats s;
	size_t n;

	dp_add(b, FAR, 30000, 0);
	dp_add(b, FAR, 30004, VOIPQ_EP_DSCP_EF);
	n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio(b, p, n, 0), 0);
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), VOICE_PRIO);
	/* by source: the far end's stream, on the IFB */
	n = dp_udp4(f, FAR, 30000, PHONE, 4000, rtp, rtp_len) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), VOICE_PRIO);
	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.packets, 2);
	ck_assert_uint_eq(v.bytes, 2 * n);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].received, 1);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_FROM].received, 1);

	/* another port, another host */
	n = dp_udp4(f, PHONE, 4000, FAR, 30002, rtp, rtp_len) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), 0);
	n = dp_udp4(f, PHONE, 4000, "198.51.100.8", 30000, rtp, rtp_len) -
	    ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), 0);

	/* a pure TCP ACK: its length is measured from offset 0 */
	n = tcp4(f, 0, 0) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), ACK_PRIO);
	n = tcp4(f, 0, 1) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), 0);

	/* EF at offset 0, the header checksum still valid */
	n = dp_udp4(f, PHONE, 4000, FAR, 30004, rtp, rtp_len) - ETH_HLEN;
	p[1] = 10 << 2 | 1;
	pb_put16(p + 10, ip_csum(p, 20));
	dp_run_prog(vq_bpf_prog_fd_l3(b), p, n, 0, &r);
	ck_assert_uint_eq(r.priority, VOICE_PRIO);
	ck_assert_uint_eq(r.out[1], VOIPQ_DSCP_EF << 2 | 1);
	ck_assert_uint_eq(ip_csum(r.out, 20), 0);

	/* version 2: not IP, not malformed */
	ck_assert_uint_eq(dp_prio_l3(b, junk, sizeof(junk), 0), 0);
	s = dp_stats(b);
	ck_assert_uint_eq(s.hits, 3);
	ck_assert_uint_eq(s.acks, 1);
	ck_assert_uint_eq(s.malformed, 0);
}
END_TEST

START_TEST(headerless_ipv6_hit_and_miss)
{
	struct vq_bpf *b = dp_open(false);
	static struct dp_result r;
	uint8_t f[PB_MAX], *p = f + ETH_HLEN;
	size_t n;

	dp_add(b, FAR6, 30000, VOIPQ_EP_DSCP_EF);
	n = dp_udp6(f, PHONE6, 4000, FAR6, 30000, rtp, rtp_len) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio(b, p, n, 0), 0);
	dp_run_prog(vq_bpf_prog_fd_l3(b), p, n, 0, &r);
	ck_assert_uint_eq(r.priority, VOICE_PRIO);
	/* the traffic class, at offset 0 after the version, is EF's */
	ck_assert_uint_eq(r.out[0] >> 4, 6);
	ck_assert_uint_eq(((r.out[0] & 0x0f) << 4 | r.out[1] >> 4) >> 2,
			  VOIPQ_DSCP_EF);
	n = dp_udp6(f, FAR6, 30000, PHONE6, 4000, rtp, rtp_len) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), VOICE_PRIO);
	ck_assert_uint_eq(dp_val(b, FAR6, 30000).packets, 2);

	/* another port; the same address as an IPv4-mapped one */
	n = dp_udp6(f, PHONE6, 4000, FAR6, 30002, rtp, rtp_len) - ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), 0);
	n = dp_udp6(f, PHONE6, 4000, "2001:db8:2::8", 30000, rtp, rtp_len) -
	    ETH_HLEN;
	ck_assert_uint_eq(dp_prio_l3(b, p, n, 0), 0);
	ck_assert_uint_eq(dp_stats(b).hits, 2);
}
END_TEST

/* ---- RTP statistics ----------------------------------------------------- */

/* One RTP packet from @src to @dst through the classifier and the reference. */
static void feed(struct vq_bpf *b, struct vq_rtp_stream *ref, const char *src,
		 uint16_t sport, const char *dst, uint16_t dport, uint8_t pt,
		 uint16_t seq, uint32_t ts, uint32_t ssrc, uint64_t arrival)
{
	uint8_t f[PB_MAX], r[256];
	struct vq_rtp_hdr h;
	size_t rl = dp_rtp(r, pt, seq, ts, ssrc), n;

	n = dp_udp4(f, src, sport, dst, dport, r, rl);
	dp_prio(b, f, n, arrival);
	if (ref) {
		ck_assert_int_eq(vq_rtp_parse(r, rl, &h), 0);
		vq_rtp_stream_update(ref, &h, arrival);
	}
}

/* The same, from the phone to @dst: the entry matches as destination. */
static void feed_both(struct vq_bpf *b, struct vq_rtp_stream *ref,
		      const char *dst, uint16_t dport, uint8_t pt, uint16_t seq,
		      uint32_t ts, uint32_t ssrc, uint64_t arrival)
{
	feed(b, ref, PHONE, 4000, dst, dport, pt, seq, ts, ssrc, arrival);
}

static void assert_seq_matches(const struct voipq_rtp_dir *r,
			       const struct vq_rtp_stream *ref)
{
	ck_assert_uint_eq(r->ssrc, ref->ssrc);
	ck_assert_uint_eq(r->received, ref->received);
	ck_assert_uint_eq(r->base_seq, ref->base_seq);
	ck_assert_uint_eq(r->ext_max_seq, ref->cycles + ref->max_seq);
}

/* Sequence, loss and jitter of one direction against the reference. */
static void assert_dir_matches(const struct voipq_ep_val *v, unsigned int dir,
			       const struct vq_rtp_stream *ref)
{
	struct vq_rtp_figures fig;

	assert_seq_matches(&v->rtp[dir], ref);
	ck_assert(vq_bpf_rtp_figures(v, dir, &fig));
	ck_assert_uint_eq(fig.expected, vq_rtp_expected(ref));
	ck_assert_int_eq(fig.lost, vq_rtp_lost(ref));
	ck_assert_double_eq_tol(fig.loss_pct, vq_rtp_loss_pct(ref), 1e-9);
	ck_assert_double_eq_tol(v->rtp[dir].jitter_q4 / 16.0, ref->jitter, 0.5);
	ck_assert_double_eq_tol(fig.jitter_ms, vq_rtp_jitter_ms(ref),
				0.5 * 1000.0 / ref->clock_rate);
}

START_TEST(rtp_sequence_gap_counts_loss)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_rtp_stream ref;
	const struct voipq_rtp_dir *r;
	struct voipq_ep_val v;
	uint64_t expected;
	int i = 0;

	dp_add(b, FAR, 30000, 0);
	vq_rtp_stream_init(&ref, 0x5151, 8000);
	/* across the 16-bit wrap, with 2 and 3 never arriving */
	for (uint32_t s = 65530; s < 65536 + 10; s++, i++) {
		if (s == 65536 + 2 || s == 65536 + 3)
			continue;
		feed_both(b, &ref, FAR, 30000, 8, (uint16_t)s, 160u * i,
			  0x5151, 1000 * MS + 20 * MS * i);
	}
	v = dp_val(b, FAR, 30000);
	r = &v.rtp[VOIPQ_DIR_TO];
	assert_seq_matches(r, &ref);
	expected = (uint64_t)r->ext_max_seq - r->base_seq + 1;
	ck_assert_uint_eq(expected, 16);
	ck_assert_uint_eq(expected - r->received, 2);
	ck_assert_int_eq(vq_rtp_lost(&ref), 2);
	/* nothing came from the endpoint */
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_FROM].flags, 0);

	/* RTCP on the same port (RFC 5761) is not RTP: not counted */
	feed_both(b, NULL, FAR, 30000, 200, 11, 0, 0x5151, 2000 * MS);
	ck_assert_uint_eq(dp_val(b, FAR, 30000).rtp[VOIPQ_DIR_TO].received, 14);

	/* a new SSRC restarts the statistics */
	feed_both(b, NULL, FAR, 30000, 8, 7, 0, 0x6262, 2100 * MS);
	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(r->ssrc, 0x6262);
	ck_assert_uint_eq(r->received, 1);
	ck_assert_uint_eq(r->base_seq, 7);
	ck_assert_uint_eq(r->ext_max_seq, 7);
}
END_TEST

/*
 * RTCP multiplexed on the RTP port (RFC 5761): the phone's generic NACK for
 * the far end's stream goes to the far end's endpoint, as the phone's RTP
 * does. Its bytes 8..11 are the far end's SSRC: taken for RTP, they would
 * restart the phone's statistics. It leaves them as they were, as the
 * reference does, and so does every other second byte of RTCP's 192..223;
 * the payload types either side of the range still count.
 */
START_TEST(rtcp_feedback_leaves_rtp_statistics_alone)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_rtp_stream ref;
	struct voipq_rtp_dir before;
	struct voipq_ep_val v;
	struct vq_rtp_hdr h;
	uint8_t f[PB_MAX], r[16];
	size_t n, rl;

	dp_add(b, FAR, 30000, 0);
	vq_rtp_stream_init(&ref, 0x5151, 8000);
	for (int i = 0; i < 10; i++)
		feed_both(b, &ref, FAR, 30000, 8, (uint16_t)(100 + i), 160u * i,
			  0x5151, 1000 * MS + 20 * MS * i);
	before = dp_val(b, FAR, 30000).rtp[VOIPQ_DIR_TO];
	ck_assert_uint_eq(before.received, 10);

	rl = rtcp_nack(r, 0x5151, 0x7777, 104);
	ck_assert_int_eq(vq_rtp_parse(r, rl, &h), -EINVAL);
	n = dp_udp4(f, PHONE, 4000, FAR, 30000, r, rl);
	/* still the call's: prioritised, only not counted as RTP */
	ck_assert_uint_eq(dp_prio(b, f, n, 1300 * MS), VOICE_PRIO);
	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].ssrc, 0x5151);
	ck_assert_mem_eq(&v.rtp[VOIPQ_DIR_TO], &before, sizeof(before));
	assert_dir_matches(&v, VOIPQ_DIR_TO, &ref);

	for (int b1 = 192; b1 <= 223; b1++) {
		r[1] = (uint8_t)b1;
		ck_assert_int_eq(vq_rtp_parse(r, rl, &h), -EINVAL);
		n = dp_udp4(f, PHONE, 4000, FAR, 30000, r, rl);
		dp_prio(b, f, n, 1300 * MS + b1);
	}
	v = dp_val(b, FAR, 30000);
	ck_assert_mem_eq(&v.rtp[VOIPQ_DIR_TO], &before, sizeof(before));
	ck_assert_uint_eq(v.packets, 10 + 1 + 32);

	/* payload types 63 and 96 with the marker: 191 and 224 */
	feed_both(b, &ref, FAR, 30000, 191, 110, 1600, 0x5151, 1400 * MS);
	feed_both(b, &ref, FAR, 30000, 224, 111, 1760, 0x5151, 1420 * MS);
	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].received, 12);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &ref);
}
END_TEST

/* A deterministic generator, so a failure can be replayed. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * BPF_PROG_TEST_RUN has no controllable clock, so this classifier is
 * loaded with clock_from_tstamp and each packet's arrival is put in
 * skb->tstamp. The classifier keeps J * 16 in integers (RFC 3550 A.8's own
 * form), the reference a double: each step rounds by at most half a
 * sixteenth and old errors decay by 15/16, so the two differ by at most
 * 0.5 clock units, whatever the stream.
 */
START_TEST(rtp_jitter_matches_reference)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_rtp_stream a, vd;
	struct vq_bpf_policy video = {
		.rate_bps = 100000000, .burst = 100000000, .clock_rate = 90000,
	};
	struct voipq_ep_val v;
	uint32_t seed = 12345;
	uint64_t t = 5000 * MS;

	dp_add(b, FAR, 30000, 0);
	dp_add_policy(b, FAR, 30002, &video);
	vq_rtp_stream_init(&a, 0xa0d10, 8000);
	vq_rtp_stream_init(&vd, 0x1de0, 90000);

	for (int i = 0; i < 600; i++) {
		/* 20 ms audio with 0..12 ms of network jitter */
		uint64_t arr = t + 20 * MS * i + lcg(&seed) % (12 * MS);
		uint16_t seq = (uint16_t)(65000 + i); /* wraps at i = 536 */
		uint32_t ts = 0xfffff000u + 160u * i; /* so does the timestamp */

		feed_both(b, &a, FAR, 30000, 8, seq, ts, 0xa0d10, arr);
		/* ~30 fps video on a 90 kHz clock, 0..40 ms of jitter */
		arr = t + 33333333ull * i + lcg(&seed) % (40 * MS);
		feed_both(b, &vd, FAR, 30002, 96, (uint16_t)(100 + i),
			  3000u * i, 0x1de0, arr);
	}

	v = dp_val(b, FAR, 30000);
	/* E|D| of two uniform 0..12 ms delays is 4 ms: 32 units at 8 kHz */
	ck_assert_double_gt(a.jitter, 20.0);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &a);

	v = dp_val(b, FAR, 30002);
	ck_assert_double_gt(vd.jitter, 500.0);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &vd);
}
END_TEST

START_TEST(rtp_paced_stream_has_zero_jitter)
{
	struct vq_bpf *b = dp_open(true);
	struct voipq_ep_val v;

	dp_add(b, FAR, 30000, 0);
	for (int i = 0; i < 100; i++)
		feed_both(b, NULL, FAR, 30000, 0, 100 + i, 160u * i, 7,
			  3000 * MS + 20 * MS * i);
	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].received, 100);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].jitter_q4, 0);
}
END_TEST

/* One direction's figures, after checking its stream and A.3 loss. */
static struct vq_rtp_figures dir_figures(const struct voipq_ep_val *v,
					 unsigned int dir, uint32_t ssrc,
					 uint64_t expected, int64_t lost)
{
	struct vq_rtp_figures fig;

	ck_assert(vq_bpf_rtp_figures(v, dir, &fig));
	ck_assert_uint_eq(fig.ssrc, ssrc);
	ck_assert_uint_eq(fig.expected, expected);
	ck_assert_int_eq(fig.lost, lost);
	return fig;
}

/*
 * Arrivals are counted in clock units from the stream's first packet. Late
 * in a long call (here 78 h: ns * 90 kHz no longer fits 64 bits) the
 * classifier splits the product as the reference does; early, it divides
 * once. Both ways, on 8 kHz and 90 kHz clocks, the figures agree.
 */
START_TEST(rtp_arrival_exact_over_a_long_call)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_bpf_policy video = {
		.rate_bps = 100000000, .burst = 100000000, .clock_rate = 90000,
	};
	struct vq_rtp_stream a, vd;
	struct voipq_ep_val v;
	uint64_t t = 1000 * MS, late = (1ull << 48) - 30 * MS;
	uint32_t seed = 99;

	dp_add(b, FAR, 30000, 0);
	dp_add_policy(b, FAR, 30002, &video);
	vq_rtp_stream_init(&a, 0xa, 8000);
	vq_rtp_stream_init(&vd, 0xb, 90000);
	for (int i = 0; i < 40; i++) {
		/* the last 20 packets come 2^48 ns after the first */
		uint64_t base = i < 20 ? t + 20 * MS * i
				       : t + late + 20 * MS * (i - 20);
		uint64_t arr = base + lcg(&seed) % (7 * MS);
		uint32_t units = (uint32_t)((base - t) / 125000); /* 8 kHz */

		feed_both(b, &a, FAR, 30000, 8, (uint16_t)i, units, 0xa, arr);
		feed_both(b, &vd, FAR, 30002, 96, (uint16_t)i,
			  (uint32_t)((base - t) / 100000 * 9), 0xb, arr);
	}
	v = dp_val(b, FAR, 30000);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &a);
	v = dp_val(b, FAR, 30002);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &vd);
	ck_assert_double_gt(a.jitter, 1.0);
}
END_TEST

/*
 * The far end's entry on a NAT router: the phone's stream reaches it as
 * the packets' destination (WAN egress), its own stream leaves it as their
 * source (downstream IFB). Two SSRCs, sequence spaces and timings on one
 * entry, interleaved packet by packet: each direction must keep its own
 * loss and jitter. Sharing one state, every packet restarted the other's
 * stream (or, with an echoed SSRC, counted as a duplicate).
 */
START_TEST(rtp_directions_kept_apart)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_rtp_stream up, down;
	struct voipq_ep_val v;
	struct vq_rtp_figures fig;
	uint32_t seed = 777;
	uint64_t t = 7000 * MS;
	int i;

	dp_add(b, FAR, 30000, 0);
	vq_rtp_stream_init(&up, 0x11111111, 8000);
	vq_rtp_stream_init(&down, 0x22222222, 8000);
	for (i = 0; i < 500; i++) {
		/* up: paced, no jitter, 3 packets lost */
		if (i != 100 && i != 101 && i != 300)
			feed(b, &up, PHONE, 4000, FAR, 30000, 8,
			     (uint16_t)(1000 + i), 4000u + 160u * i, 0x11111111,
			     t + 20 * MS * i);
		/* down: 0..15 ms of jitter, across the sequence wrap, 5 lost */
		if (i % 97 != 50)
			feed(b, &down, FAR, 30000, PHONE, 4000, 8,
			     (uint16_t)(65300 + i), 0x80000000u + 160u * i,
			     0x22222222,
			     t + 5 * MS + 20 * MS * i + lcg(&seed) % (15 * MS));
	}

	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.packets, 497 + 495);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &up);
	assert_dir_matches(&v, VOIPQ_DIR_FROM, &down);

	dir_figures(&v, VOIPQ_DIR_TO, 0x11111111, 500, 3);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].jitter_q4, 0);
	fig = dir_figures(&v, VOIPQ_DIR_FROM, 0x22222222, 500, 5);
	/* E|D| of two uniform 0..15 ms delays is 5 ms */
	ck_assert_double_gt(fig.jitter_ms, 2.5);
	ck_assert_double_lt(fig.jitter_ms, 8.0);
}
END_TEST

/*
 * sipp's RTP echo: the far end sends the phone's packets back, same SSRC
 * and sequence numbers. Each direction sees every sequence number once.
 */
START_TEST(rtp_echo_same_ssrc_both_ways)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_rtp_stream up, down;
	struct voipq_ep_val v;
	uint64_t t = 9000 * MS;

	dp_add(b, FAR, 30000, 0);
	vq_rtp_stream_init(&up, 0x4242, 8000);
	vq_rtp_stream_init(&down, 0x4242, 8000);
	for (int i = 0; i < 200; i++) {
		feed(b, &up, PHONE, 4000, FAR, 30000, 8, (uint16_t)(10 + i),
		     160u * i, 0x4242, t + 20 * MS * i);
		feed(b, &down, FAR, 30000, PHONE, 4000, 8, (uint16_t)(10 + i),
		     160u * i, 0x4242, t + 20 * MS * i + 3 * MS);
	}
	v = dp_val(b, FAR, 30000);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &up);
	assert_dir_matches(&v, VOIPQ_DIR_FROM, &down);
	ck_assert_int_eq(vq_rtp_lost(&up), 0);
	ck_assert_int_eq(vq_rtp_lost(&down), 0);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].jitter_q4, 0);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_FROM].jitter_q4, 0);
}
END_TEST

/*
 * Both ends installed (downstream on the LAN egress, after NAT): the
 * destination wins, so the far end's stream is the phone's "to" and the
 * far end's entry sees nothing from itself.
 */
START_TEST(rtp_destination_match_wins)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_rtp_stream down;
	struct voipq_ep_val v;

	dp_add(b, FAR, 30000, 0);
	dp_add(b, PHONE, 4000, 0);
	vq_rtp_stream_init(&down, 0x77, 8000);
	for (int i = 0; i < 50; i++)
		feed(b, &down, FAR, 30000, PHONE, 4000, 0, (uint16_t)i,
		     160u * i, 0x77, 1000 * MS + 20 * MS * i);
	v = dp_val(b, PHONE, 4000);
	assert_dir_matches(&v, VOIPQ_DIR_TO, &down);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_FROM].flags, 0);
	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.packets, 0);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_FROM].flags, 0);
}
END_TEST

/* ---- static prefix rules ------------------------------------------------ */

static uint32_t prio4(struct vq_bpf *b, const char *src, uint16_t sport,
		      const char *dst, uint16_t dport)
{
	uint8_t f[PB_MAX];
	size_t n = dp_udp4(f, src, sport, dst, dport, rtp, rtp_len);

	return dp_prio(b, f, n, 0);
}

static uint32_t prio6(struct vq_bpf *b, const char *src, uint16_t sport,
		      const char *dst, uint16_t dport)
{
	uint8_t f[PB_MAX];
	size_t n = dp_udp6(f, src, sport, dst, dport, rtp, rtp_len);

	return dp_prio(b, f, n, 0);
}

START_TEST(prefix_hit_inside_miss_outside)
{
	struct vq_bpf *b = dp_open(false);
	struct voipq_ep_val v;

	dp_add_prefix(b, "198.51.100.0/24", 30000);
	/* to and from any host inside, on the rule's port */
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "198.51.100.77", 30000),
			  VOICE_PRIO);
	ck_assert_uint_eq(prio4(b, "198.51.100.0", 30000, PHONE, 4000),
			  VOICE_PRIO);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "198.51.100.255", 30000),
			  VOICE_PRIO);
	/* outside the prefix, or another port: bulk */
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "198.51.101.1", 30000), 0);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "198.51.99.255", 30000), 0);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "198.51.100.77", 30001), 0);
	ck_assert_uint_eq(prio4(b, "198.51.100.77", 30001, PHONE, 30000), 0);

	v = dp_prefix_val(b, "198.51.100.0/24", 30000);
	ck_assert_uint_eq(v.packets, 3);
	ck_assert_uint_eq(v.cookie, 42);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_TO].received, 2);
	ck_assert_uint_eq(v.rtp[VOIPQ_DIR_FROM].received, 1);
	ck_assert_uint_eq(dp_stats(b).hits, 3);
	/* an address inside is not a rule of its own */
	{
		struct vq_prefix p = dp_prefix("198.51.100.0/25", 30000);

		ck_assert_int_eq(vq_bpf_pfx_lookup(b, &p, &v), -ENOENT);
		ck_assert_int_eq(vq_bpf_pfx_del(b, &p), -ENOENT);
	}
}
END_TEST

START_TEST(prefix_exact_endpoint_and_longest_prefix_win)
{
	struct vq_bpf *b = dp_open(false);

	dp_add_prefix(b, "198.51.0.0/16", 30000);
	dp_add_prefix(b, "198.51.100.0/24", 30000);
	dp_add(b, FAR, 30000, 0);
	/* a learned endpoint's destination match beats a rule for its source */
	dp_add_prefix(b, "192.0.2.0/24", 4000);

	ck_assert_uint_eq(prio4(b, PHONE, 4000, FAR, 30000), VOICE_PRIO);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "198.51.100.8", 30000),
			  VOICE_PRIO);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "198.51.7.1", 30000),
			  VOICE_PRIO);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "203.0.113.1", 30001),
			  VOICE_PRIO); /* only the source's rule */

	ck_assert_uint_eq(dp_val(b, FAR, 30000).packets, 1);
	ck_assert_uint_eq(dp_prefix_val(b, "198.51.100.0/24", 30000).packets, 1);
	ck_assert_uint_eq(dp_prefix_val(b, "198.51.0.0/16", 30000).packets, 1);
	ck_assert_uint_eq(dp_prefix_val(b, "192.0.2.0/24", 4000).packets, 1);
	ck_assert_uint_eq(dp_prefix_val(b, "192.0.2.0/24", 4000)
				  .rtp[VOIPQ_DIR_FROM].received, 1);
	/* a full-length "prefix" is the endpoint itself */
	ck_assert_uint_eq(dp_prefix_val(b, FAR "/32", 30000).packets, 1);
}
END_TEST

START_TEST(prefix_ipv6)
{
	struct vq_bpf *b = dp_open(false);

	dp_add_prefix(b, "2001:db8:2::/48", 30000);
	dp_add_prefix(b, "::/0", 30002);
	ck_assert_uint_eq(prio6(b, PHONE6, 4000, "2001:db8:2:5::7", 30000),
			  VOICE_PRIO);
	ck_assert_uint_eq(prio6(b, "2001:db8:2:ffff::1", 30000, PHONE6, 4000),
			  VOICE_PRIO);
	ck_assert_uint_eq(prio6(b, PHONE6, 4000, "2001:db8:3::7", 30000), 0);
	/* ::/0 holds every IPv6 address on its port, and no IPv4 one */
	ck_assert_uint_eq(prio6(b, PHONE6, 4000, "2001:db8:3::7", 30002),
			  VOICE_PRIO);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, FAR, 30002), 0);
	ck_assert_uint_eq(dp_prefix_val(b, "2001:db8:2::/48", 30000).packets, 2);
	ck_assert_uint_eq(dp_prefix_val(b, "::/0", 30002).packets, 1);
}
END_TEST

/* Endpoints and rules on one port share its bit; each keeps it alive. */
START_TEST(prefix_and_endpoint_share_a_port)
{
	struct vq_bpf *b = dp_open(false);
	struct vq_endpoint far = dp_prefix(FAR, 30000).ep;
	struct vq_prefix p = dp_prefix("10.0.0.0/8", 30000);

	dp_add(b, FAR, 30000, 0);
	dp_add_prefix(b, "10.0.0.0/8", 30000);

	ck_assert_int_eq(vq_bpf_ep_del(b, &far), 0);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "10.1.2.3", 30000), VOICE_PRIO);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, FAR, 30000), 0);

	ck_assert_int_eq(vq_bpf_pfx_del(b, &p), 0);
	ck_assert_int_eq(vq_bpf_pfx_del(b, &p), -ENOENT);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "10.1.2.3", 30000), 0);

	/* back, with fresh counters; an update keeps them */
	dp_add_prefix(b, "10.0.0.0/8", 30000);
	ck_assert_uint_eq(prio4(b, PHONE, 4000, "10.1.2.3", 30000), VOICE_PRIO);
	dp_add_prefix(b, "10.0.0.0/8", 30000);
	ck_assert_uint_eq(dp_prefix_val(b, "10.0.0.0/8", 30000).packets, 1);
}
END_TEST

/* ---- budget ------------------------------------------------------------- */

START_TEST(token_bucket_demotes_excess)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_bpf_policy pol = {
		.rate_bps = 1000, .burst = 0, .clock_rate = 8000,
	};
	uint8_t f[PB_MAX];
	size_t n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len);
	uint64_t t = 10000 * MS;
	struct voipq_ep_val v;

	pol.burst = 3 * n; /* three frames' worth */
	dp_add_policy(b, FAR, 30000, &pol);

	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(dp_prio(b, f, n, t), VOICE_PRIO);
	ck_assert_uint_eq(dp_prio(b, f, n, t), 0);
	ck_assert_uint_eq(dp_prio(b, f, n, t), 0);

	/* one frame's worth of time refills one frame */
	t += n * 1000000000ull / pol.rate_bps;
	ck_assert_uint_eq(dp_prio(b, f, n, t), VOICE_PRIO);
	ck_assert_uint_eq(dp_prio(b, f, n, t), 0);

	/* a long silence refills to the burst, not beyond */
	t += 3600 * 1000 * MS;
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(dp_prio(b, f, n, t), VOICE_PRIO);
	ck_assert_uint_eq(dp_prio(b, f, n, t), 0);

	v = dp_val(b, FAR, 30000);
	ck_assert_uint_eq(v.packets, 11);
	ck_assert_uint_eq(v.demoted, 4);
	ck_assert_uint_eq(dp_stats(b).demoted, 4);
	ck_assert_uint_eq(dp_stats(b).hits, 11);
}
END_TEST

/* The largest budget: a refill after a long idle time must not wrap. */
START_TEST(token_bucket_largest_budget_never_wraps)
{
	struct vq_bpf *b = dp_open(true);
	struct vq_bpf_policy pol = {
		.rate_bps = UINT32_MAX, .burst = UINT32_MAX, .clock_rate = 8000,
	};
	uint8_t f[PB_MAX];
	size_t n = dp_udp4(f, PHONE, 4000, FAR, 30000, rtp, rtp_len);
	uint64_t t = 5000 * MS;

	dp_add_policy(b, FAR, 30000, &pol);
	/* each refill fills the bucket again, each packet takes its share */
	for (int i = 0; i < 4; i++, t += 3600 * 1000 * MS) {
		ck_assert_uint_eq(dp_prio(b, f, n, t), VOICE_PRIO);
		ck_assert_uint_eq(dp_val(b, FAR, 30000).tokens_nb,
				  (UINT32_MAX - n) * 1000000000ull);
	}
}
END_TEST

Suite *datapath_suite(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc;

	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, ipv4_hit_by_destination);
	tcase_add_test(tc, ipv4_hit_by_source);
	tcase_add_test(tc, ipv6_hit);
	tcase_add_test(tc, ipv6_extension_headers_hit);
	tcase_add_test(tc, vlan_tagged_hit);
	tcase_add_test(tc, udp_miss_is_bulk);
	tcase_add_test(tc, tcp_is_bulk);
	suite_add_tcase(s, tc);

	tc = tcase_create("ack");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, pure_ack_goes_to_the_ack_class);
	tcase_add_test(tc, tcp_with_data_or_other_flags_stays_bulk);
	tcase_add_test(tc, ack_class_can_be_turned_off);
	tcase_add_test(tc, tcp_endpoint_hit_both_ways);
	tcase_add_test(tc, tcp_endpoint_budget_demotes);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, non_first_fragment_is_bulk_and_counted);
	tcase_add_test(tc, truncated_headers_never_prioritised);
	tcase_add_test(tc, malformed_ihl);
	suite_add_tcase(s, tc);

	tc = tcase_create("dscp");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, dscp_rewrite_checksum_valid_keeps_ecn);
	tcase_add_test(tc, dscp_rewrite_only_leaving_the_wan);
	suite_add_tcase(s, tc);

	tc = tcase_create("headerless");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, headerless_ipv4_hit_and_miss);
	tcase_add_test(tc, headerless_ipv6_hit_and_miss);
	suite_add_tcase(s, tc);

	tc = tcase_create("rtp");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, rtp_sequence_gap_counts_loss);
	tcase_add_test(tc, rtp_jitter_matches_reference);
	tcase_add_test(tc, rtp_paced_stream_has_zero_jitter);
	tcase_add_test(tc, rtp_arrival_exact_over_a_long_call);
	tcase_add_test(tc, rtp_directions_kept_apart);
	tcase_add_test(tc, rtp_echo_same_ssrc_both_ways);
	tcase_add_test(tc, rtp_destination_match_wins);
	tcase_add_test(tc, rtcp_feedback_leaves_rtp_statistics_alone);
	suite_add_tcase(s, tc);

	tc = tcase_create("prefix");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, prefix_hit_inside_miss_outside);
	tcase_add_test(tc, prefix_exact_endpoint_and_longest_prefix_win);
	tcase_add_test(tc, prefix_ipv6);
	tcase_add_test(tc, prefix_and_endpoint_share_a_port);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_checked_fixture(tc, setup, dp_close);
	tcase_add_test(tc, token_bucket_demotes_excess);
	tcase_add_test(tc, token_bucket_largest_budget_never_wraps);
	suite_add_tcase(s, tc);
	return s;
}
