// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "packet.h"
#include "pktbuild.h"
#include "suites.h"

static struct vq_decoder_cfg cfg;
static struct vq_decoder *dec;
static struct rec rec;
static uint8_t l4[PB_MAX], l3[PB_MAX], fr[PB_MAX];

static void setup(void)
{
	vq_decoder_cfg_init(&cfg);
	memset(&rec, 0, sizeof(rec));
	dec = vq_decoder_new(&cfg, &rec_ops, &rec);
	ck_assert_ptr_nonnull(dec);
}

static void teardown(void)
{
	vq_decoder_free(dec);
}

static const struct vq_pkt_stats *st(void)
{
	return vq_decoder_stats(dec);
}

/* An IPv4 UDP SIP datagram 192.0.2.1:5060 -> 192.0.2.2:5060 in @l3. */
static size_t sip_udp4(void)
{
	size_t n = udp_wrap(l4, 5060, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));

	return ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
}

static size_t sip_udp6(void)
{
	size_t n = udp_wrap(l4, 40000, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));

	return ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_UDP, l4, n);
}

static void assert_one_options(void)
{
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(rec.len[0], strlen(SIP_OPTIONS));
	ck_assert_str_eq(rec.msg[0], SIP_OPTIONS);
}

/* --- link layers ------------------------------------------------------ */

START_TEST(defaults_match_the_documented_values)
{
	ck_assert_uint_eq(cfg.n_sip_ports, 1);
	ck_assert_uint_eq(cfg.sip_ports[0], 5060);
	ck_assert_uint_eq(cfg.n_tls_ports, 1);
	ck_assert_uint_eq(cfg.tls_ports[0], 5061);
	ck_assert_uint_eq(cfg.frag_max_queues, 256);
	ck_assert_uint_eq(cfg.frag_max_bytes, 65535);
	ck_assert_uint_eq(cfg.frag_timeout_ms, 30000);
	ck_assert_uint_eq(cfg.tcp_max_streams, 1024);
	ck_assert_uint_eq(cfg.tcp_max_buffer, 65536);
	ck_assert_uint_eq(cfg.tcp_max_total, 4 << 20);
	ck_assert_uint_eq(cfg.tcp_timeout_ms, 300000);
	ck_assert_uint_eq(cfg.tcp_unframed_timeout_ms, 30000);
	ck_assert_uint_eq(cfg.sip_max_message, 65535);
}
END_TEST

START_TEST(ethernet_udp_sip_is_delivered_with_meta)
{
	size_t n = eth_wrap(fr, 0x0800, l3, sip_udp4());
	char buf[VQ_ADDRSTRLEN];

	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 1234567, fr, n), 0);
	assert_one_options();
	ck_assert_uint_eq(rec.meta[0].ts_ns, 1234567);
	ck_assert_uint_eq(rec.meta[0].src.family, AF_INET);
	ck_assert_uint_eq(rec.meta[0].src.proto, IPPROTO_UDP);
	ck_assert_str_eq(vq_endpoint_str(&rec.meta[0].src, buf, sizeof(buf)),
			 "192.0.2.1:5060");
	ck_assert_str_eq(vq_endpoint_str(&rec.meta[0].dst, buf, sizeof(buf)),
			 "192.0.2.2:5060");
	ck_assert_uint_eq(st()->packets, 1);
	ck_assert_uint_eq(st()->bytes, n);
	ck_assert_uint_eq(st()->udp_sip, 1);
}
END_TEST

/* Bytes as `tcpdump -i lo -w` on Linux wrote them: DLT_EN10MB, zero MACs. */
START_TEST(linux_lo_capture_frame_decodes)
{
	static const uint8_t lo[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00,
		0x45, 0x00, 0x00, 0x1f, 0x15, 0xcc, 0x40, 0x00, 0x40, 0x11,
		0x27, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
		0xd6, 0x4a, 0x17, 0x6f, 0x00, 0x0b, 0x00, 0x00, 'h', 'i', '\n',
	};

	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, lo, sizeof(lo)),
			 0);
	ck_assert_int_eq(rec.nudp, 1);
	ck_assert_str_eq(rec.udp, "hi\n");
	ck_assert_uint_eq(rec.udp_meta.src.port, 54858);
	ck_assert_uint_eq(rec.udp_meta.dst.port, 5999);
	ck_assert_int_eq(rec.nsip, 0);
}
END_TEST

START_TEST(vlan_qinq_udp_sip_is_delivered)
{
	static const uint16_t tags[] = { 0x88a8, 0x8100 };
	size_t n = eth_wrap_tags(fr, tags, 2, 0x0800, l3, sip_udp4());

	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, n), 0);
	assert_one_options();
}
END_TEST

START_TEST(five_vlan_tags_are_unsupported)
{
	static const uint16_t tags[] = { 0x8100, 0x8100, 0x8100, 0x8100,
					 0x8100 };
	size_t n = eth_wrap_tags(fr, tags, 5, 0x0800, l3, sip_udp4());

	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, n), 0);
	ck_assert_int_eq(rec.nsip, 0);
	ck_assert_uint_eq(st()->unsupported, 1);
}
END_TEST

START_TEST(arp_ethertype_is_unsupported)
{
	uint8_t arp[28] = { 0 };
	size_t n = eth_wrap(fr, 0x0806, arp, sizeof(arp));

	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, n), 0);
	ck_assert_uint_eq(st()->unsupported, 1);
}
END_TEST

START_TEST(sll_frame_decodes)
{
	size_t n = sip_udp6();

	memset(fr, 0, 16);
	pb_put16(fr + 2, 1);  /* ARPHRD_ETHER */
	pb_put16(fr + 4, 6);
	pb_put16(fr + 14, 0x86dd);
	memcpy(fr + 16, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_LINUX_SLL, 0, fr, n + 16),
			 0);
	assert_one_options();
	ck_assert_uint_eq(rec.meta[0].src.family, AF_INET6);
	ck_assert_uint_eq(rec.meta[0].src.port, 40000);
}
END_TEST

START_TEST(sll2_frame_decodes)
{
	size_t n = sip_udp4();

	memset(fr, 0, 20);
	pb_put16(fr, 0x0800);
	pb_put32(fr + 4, 2); /* ifindex */
	pb_put16(fr + 8, 1);
	fr[11] = 6;
	memcpy(fr + 20, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_LINUX_SLL2, 0, fr, n + 20),
			 0);
	assert_one_options();
}
END_TEST

START_TEST(raw_ipv4_and_ipv6_link_types_decode)
{
	size_t n = sip_udp4();

	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_IPV4, 0, l3, n), 0);
	n = sip_udp6();
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_IPV6, 0, l3, n), 0);
	ck_assert_int_eq(rec.nsip, 4);
	/* An IPv4 packet on an IPv6-only link type is not IPv6. */
	n = sip_udp4();
	ck_assert_int_eq(vq_decoder_input(dec, DLT_IPV6, 0, l3, n), 0);
	ck_assert_int_eq(rec.nsip, 4);
	ck_assert_uint_eq(st()->malformed, 1);
}
END_TEST

START_TEST(null_is_host_order_and_loop_is_network_order)
{
	size_t n = sip_udp4();
	uint32_t af = AF_INET;

	memcpy(fr, &af, 4);
	memcpy(fr + 4, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_NULL, 0, fr, n + 4), 0);
	ck_assert_int_eq(rec.nsip, 1);

	pb_put32(fr, AF_INET);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_LOOP, 0, fr, n + 4), 0);
	ck_assert_int_eq(rec.nsip, 2);

	/* NULL written by a host of the other byte order. */
	af = __builtin_bswap32(AF_INET);
	memcpy(fr, &af, 4);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_NULL, 0, fr, n + 4), 0);
	ck_assert_int_eq(rec.nsip, 3);

	n = sip_udp6();
	pb_put32(fr, 30); /* macOS AF_INET6 */
	memcpy(fr + 4, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_LOOP, 0, fr, n + 4), 0);
	ck_assert_int_eq(rec.nsip, 4);
}
END_TEST

START_TEST(unknown_link_type_is_eprotonosupport)
{
	size_t n = sip_udp4();

	ck_assert_int_eq(vq_decoder_input(dec, 147 /* DLT_USER0 */, 0, l3, n),
			 -EPROTONOSUPPORT);
	ck_assert_uint_eq(st()->unsupported, 1);
	ck_assert_uint_eq(st()->packets, 1);
	ck_assert_int_eq(rec.nsip, 0);
}
END_TEST

START_TEST(short_link_headers_are_truncated)
{
	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, 13), 0);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_LINUX_SLL, 0, fr, 15), 0);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_LINUX_SLL2, 0, fr, 19), 0);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_NULL, 0, fr, 3), 0);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, fr, 0), 0);
	ck_assert_uint_eq(st()->truncated, 5);
}
END_TEST

/* --- IP --------------------------------------------------------------- */

START_TEST(ipv4_options_are_skipped)
{
	size_t n = udp_wrap(l4, 5060, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));

	n = ipv4_wrap_opt(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, 7, 0, 8,
			  l4, n);
	ck_assert_uint_eq(l3[0], 0x47);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	assert_one_options();
}
END_TEST

START_TEST(truncated_ipv4_header_is_counted_not_delivered)
{
	size_t n = eth_wrap(fr, 0x0800, l3, sip_udp4());

	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, 14 + 19), 0);
	ck_assert_uint_eq(st()->truncated, 1);
	/* Whole header, but the snap length cut the datagram. */
	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, n - 1), 0);
	ck_assert_uint_eq(st()->truncated, 2);
	ck_assert_int_eq(rec.nsip, 0);
}
END_TEST

START_TEST(impossible_ipv4_lengths_are_malformed)
{
	size_t n = sip_udp4();

	l3[0] = 0x44; /* IHL 16 bytes */
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	l3[0] = 0x45;
	pb_put16(l3 + 2, 19); /* total length shorter than the header */
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_uint_eq(st()->malformed, 2);
	ck_assert_int_eq(rec.nsip, 0);
}
END_TEST

START_TEST(ethernet_padding_is_not_payload)
{
	size_t n = tcp_wrap(l4, 40000, 5060, 1, 0x02, "", 0);

	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	n = eth_wrap(fr, 0x0800, l3, n);
	memset(fr + n, 0, 60 - n); /* minimum Ethernet frame */
	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, 60), 0);
	/* A 2-byte keepalive padded to 60: the zeros are not stream bytes. */
	n = tcp_wrap(l4, 40000, 5060, 2, 0x08, "\r\n", 2);
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	n = eth_wrap(fr, 0x0800, l3, n);
	memset(fr + n, 0, 60 - n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, 60), 0);
	n = tcp_wrap(l4, 40000, 5060, 4, 0x08, SIP_OPTIONS, strlen(SIP_OPTIONS));
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	n = eth_wrap(fr, 0x0800, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, fr, n), 0);
	assert_one_options();
	ck_assert_uint_eq(st()->sip_bad_framing, 0);
}
END_TEST

START_TEST(ipv6_extension_headers_are_walked)
{
	uint8_t a[PB_MAX], b[PB_MAX];
	size_t n = udp_wrap(l4, 40000, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));

	n = ext8_wrap(a, IPPROTO_UDP, l4, n);      /* destination options */
	n = ext8_wrap(b, IPPROTO_DSTOPTS, a, n);   /* routing */
	n = ext8_wrap(a, IPPROTO_ROUTING, b, n);   /* hop-by-hop */
	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_HOPOPTS, a, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	assert_one_options();
}
END_TEST

START_TEST(nine_ipv6_extension_headers_are_malformed)
{
	uint8_t a[PB_MAX], b[PB_MAX];
	size_t n = udp_wrap(l4, 40000, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));

	memcpy(a, l4, n);
	for (int i = 0; i < 9; i++) {
		n = ext8_wrap(b, i ? IPPROTO_DSTOPTS : IPPROTO_UDP, a, n);
		memcpy(a, b, n);
	}
	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_DSTOPTS, a, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_int_eq(rec.nsip, 0);
	ck_assert_uint_eq(st()->malformed, 1);
}
END_TEST

START_TEST(ipv6_extension_header_past_the_end_is_truncated)
{
	uint8_t a[64];
	size_t n;

	n = ext8_wrap(a, IPPROTO_UDP, "", 0);
	a[1] = 3; /* claims 32 bytes */
	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_DSTOPTS, a, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_uint_eq(st()->truncated, 1);
}
END_TEST

START_TEST(ipip_inner_sip_is_delivered)
{
	size_t n = sip_udp4();
	char buf[VQ_ADDRSTRLEN];

	n = ipv4_wrap(fr, "198.51.100.1", "198.51.100.2", IPPROTO_IPIP, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, fr, n), 0);
	assert_one_options();
	ck_assert_uint_eq(st()->tunnelled, 1);
	ck_assert_str_eq(vq_addr_str(&rec.meta[0].src, buf, sizeof(buf)),
			 "192.0.2.1");
}
END_TEST

START_TEST(ipv6_in_ipv4_and_ipv4_in_ipv6_are_delivered)
{
	size_t n = sip_udp6();

	n = ipv4_wrap(fr, "198.51.100.1", "198.51.100.2", IPPROTO_IPV6, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, fr, n), 0);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(rec.meta[0].src.family, AF_INET6);

	n = sip_udp4();
	n = ipv6_wrap(fr, "2001:db8::a", "2001:db8::b", IPPROTO_IPIP, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, fr, n), 0);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_uint_eq(rec.meta[1].src.family, AF_INET);
	ck_assert_uint_eq(st()->tunnelled, 2);
}
END_TEST

START_TEST(third_tunnel_level_is_not_followed)
{
	uint8_t a[PB_MAX];
	size_t n = sip_udp4();

	n = ipv4_wrap(a, "198.51.100.1", "198.51.100.2", IPPROTO_IPIP, l3, n);
	n = ipv4_wrap(fr, "198.51.100.3", "198.51.100.4", IPPROTO_IPIP, a, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, fr, n), 0);
	ck_assert_int_eq(rec.nsip, 1); /* depth 2: followed */

	n = ipv4_wrap(a, "198.51.100.5", "198.51.100.6", IPPROTO_IPIP, fr, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, a, n), 0);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(st()->unsupported, 1);
}
END_TEST

/* --- UDP and TCP dispatch --------------------------------------------- */

START_TEST(non_sip_udp_goes_to_udp_callback)
{
	size_t n = udp_wrap(l4, 4000, 4002, "\x80\x00rtp", 5);

	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 9, l3, n), 0);
	ck_assert_int_eq(rec.nudp, 1);
	ck_assert_uint_eq(rec.udp_len, 5);
	ck_assert_uint_eq(rec.udp_meta.ts_ns, 9);
	ck_assert_uint_eq(rec.udp_meta.dst.port, 4002);
	ck_assert_uint_eq(rec.udp_meta.dst.proto, IPPROTO_UDP);
	ck_assert_int_eq(rec.nsip, 0);
	ck_assert_uint_eq(st()->udp_sip, 0);
}
END_TEST

START_TEST(crlf_keepalive_datagram_is_ignored)
{
	size_t n = udp_wrap(l4, 5060, 5060, "\r\n\r\n", 4);

	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_int_eq(rec.nsip, 0);
	ck_assert_int_eq(rec.nudp, 0);
	ck_assert_uint_eq(st()->udp_sip, 0);
}
END_TEST

START_TEST(udp_length_past_the_datagram_is_truncated)
{
	size_t n = sip_udp4();

	pb_put16(l3 + 20 + 4, 8 + strlen(SIP_OPTIONS) + 1);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	pb_put16(l3 + 20 + 4, 7);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_int_eq(rec.nsip, 0);
	ck_assert_uint_eq(st()->truncated, 1);
	ck_assert_uint_eq(st()->malformed, 1);
}
END_TEST

START_TEST(configured_sip_port_is_used)
{
	size_t n = udp_wrap(l4, 5080, 40000, SIP_OPTIONS, strlen(SIP_OPTIONS));

	vq_decoder_free(dec);
	cfg.sip_ports[1] = 5080;
	cfg.n_sip_ports = 2;
	dec = vq_decoder_new(&cfg, &rec_ops, &rec);
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	assert_one_options();
}
END_TEST

START_TEST(tls_port_is_counted_only)
{
	size_t n = tcp_wrap(l4, 40000, 5061, 1, 0x02, "", 0);

	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_uint_eq(st()->tls_packets, 0); /* SYN: no payload */

	n = tcp_wrap(l4, 40000, 5061, 2, 0x08, "\x16\x03\x01\x00\x05hello",
		     10);
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_uint_eq(st()->tls_packets, 1);
	ck_assert_uint_eq(st()->tcp_segments, 0);
	ck_assert_uint_eq(st()->tcp_streams, 0);
	ck_assert_int_eq(rec.nsip, 0);
	ck_assert_int_eq(rec.nudp, 0);
}
END_TEST

START_TEST(tcp_sip_is_framed_through_the_decoder)
{
	static const char two[] = SIP_OPTIONS SIP_OPTIONS;
	size_t n = tcp_wrap(l4, 40000, 5060, 1000, 0x02, "", 0);

	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	n = tcp_wrap(l4, 40000, 5060, 1001, 0x08, two, strlen(two));
	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 5, l3, n), 0);
	ck_assert_int_eq(rec.nsip, 2);
	ck_assert_str_eq(rec.msg[1], SIP_OPTIONS);
	ck_assert_uint_eq(rec.meta[1].src.proto, IPPROTO_TCP);
	ck_assert_uint_eq(rec.meta[1].dst.port, 5060);
	ck_assert_uint_eq(rec.meta[1].ts_ns, 5);
	ck_assert_uint_eq(st()->tcp_sip, 2);
	ck_assert_uint_eq(st()->tcp_segments, 2);
	ck_assert_uint_eq(st()->tcp_streams, 1);
}
END_TEST

START_TEST(tcp_header_longer_than_segment_is_truncated)
{
	size_t n = tcp_wrap(l4, 40000, 5060, 1, 0x08, "x", 1);

	l4[12] = 15 << 4; /* 60-byte header in a 21-byte segment */
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, l3, n), 0);
	ck_assert_uint_eq(st()->truncated, 1);
	ck_assert_uint_eq(st()->tcp_segments, 0);
}
END_TEST

/* One TCP segment 192.0.2.1:40000 -> 192.0.2.2:5060 at @t_ns. */
static void tcp4_seg(uint64_t t_ns, uint32_t seq, const char *data)
{
	size_t n = tcp_wrap(l4, 40000, 5060, seq, 0x08, data, strlen(data));

	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, t_ns, l3, n), 0);
}

/* Any later packet lets idle state go. */
static void udp_at(uint64_t t_ns)
{
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, t_ns, l3, sip_udp4()),
			 0);
}

START_TEST(input_expires_state_on_packet_time)
{
	/* A stream that has carried SIP, now in the middle of a message. */
	static const char part[] = SIP_OPTIONS "OPTIONS sip:a@b SIP/2.0\r\n";
	uint64_t s = 1000000000ull;

	tcp4_seg(10 * s, 1, part);
	ck_assert_uint_eq(st()->tcp_streams, 1);
	ck_assert_uint_eq(st()->tcp_sip, 1);
	/* Idle for 299 s: kept. */
	udp_at(309 * s);
	tcp4_seg(309 * s, 1 + strlen(part), "Via: a\r\n");
	ck_assert_uint_eq(st()->tcp_streams, 1); /* still the same stream */

	/* Idle for 301 s: gone. */
	udp_at(610 * s);
	tcp4_seg(610 * s, 9 + strlen(part), "Via: b\r\n");
	ck_assert_uint_eq(st()->tcp_streams, 2); /* the old one expired */
	ck_assert_int_eq(rec.nsip, 3);
	ck_assert_uint_eq(st()->tcp_sip, 1);
}
END_TEST

START_TEST(stream_without_sip_expires_after_30_s)
{
	static const char part[] = "OPTIONS sip:a@b SIP/2.0\r\n";
	uint64_t s = 1000000000ull;

	tcp4_seg(10 * s, 1, part);
	udp_at(39 * s);
	tcp4_seg(39 * s, 1 + strlen(part), "Via: a\r\n");
	ck_assert_uint_eq(st()->tcp_streams, 1); /* idle 29 s: kept */
	udp_at(70 * s);
	tcp4_seg(70 * s, 9 + strlen(part), "Via: b\r\n");
	ck_assert_uint_eq(st()->tcp_streams, 2); /* idle 31 s: expired */
	ck_assert_uint_eq(st()->tcp_sip, 0);
}
END_TEST

Suite *decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc;

	tc = tcase_create("link");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_match_the_documented_values);
	tcase_add_test(tc, ethernet_udp_sip_is_delivered_with_meta);
	tcase_add_test(tc, linux_lo_capture_frame_decodes);
	tcase_add_test(tc, vlan_qinq_udp_sip_is_delivered);
	tcase_add_test(tc, five_vlan_tags_are_unsupported);
	tcase_add_test(tc, arp_ethertype_is_unsupported);
	tcase_add_test(tc, sll_frame_decodes);
	tcase_add_test(tc, sll2_frame_decodes);
	tcase_add_test(tc, raw_ipv4_and_ipv6_link_types_decode);
	tcase_add_test(tc, null_is_host_order_and_loop_is_network_order);
	tcase_add_test(tc, unknown_link_type_is_eprotonosupport);
	tcase_add_test(tc, short_link_headers_are_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("ip");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ipv4_options_are_skipped);
	tcase_add_test(tc, truncated_ipv4_header_is_counted_not_delivered);
	tcase_add_test(tc, impossible_ipv4_lengths_are_malformed);
	tcase_add_test(tc, ethernet_padding_is_not_payload);
	tcase_add_test(tc, ipv6_extension_headers_are_walked);
	tcase_add_test(tc, nine_ipv6_extension_headers_are_malformed);
	tcase_add_test(tc, ipv6_extension_header_past_the_end_is_truncated);
	tcase_add_test(tc, ipip_inner_sip_is_delivered);
	tcase_add_test(tc, ipv6_in_ipv4_and_ipv4_in_ipv6_are_delivered);
	tcase_add_test(tc, third_tunnel_level_is_not_followed);
	suite_add_tcase(s, tc);

	tc = tcase_create("transport");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, non_sip_udp_goes_to_udp_callback);
	tcase_add_test(tc, crlf_keepalive_datagram_is_ignored);
	tcase_add_test(tc, udp_length_past_the_datagram_is_truncated);
	tcase_add_test(tc, configured_sip_port_is_used);
	tcase_add_test(tc, tls_port_is_counted_only);
	tcase_add_test(tc, tcp_sip_is_framed_through_the_decoder);
	tcase_add_test(tc, tcp_header_longer_than_segment_is_truncated);
	tcase_add_test(tc, input_expires_state_on_packet_time);
	tcase_add_test(tc, stream_without_sip_expires_after_30_s);
	suite_add_tcase(s, tc);
	return s;
}
