// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipfrag.h"
#include "packet.h"
#include "pktbuild.h"
#include "suites.h"

static struct vq_pkt_stats stats;
static struct vq_ipfrag *fq;
static uint8_t pattern[4096];

static void setup(void)
{
	memset(&stats, 0, sizeof(stats));
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	fq = vq_ipfrag_new(4, 4000, 1000, &stats);
	ck_assert_ptr_nonnull(fq);
}

static void teardown(void)
{
	vq_ipfrag_free(fq);
}

static struct vq_frag_key key4(uint32_t id)
{
	struct vq_frag_key k;

	memset(&k, 0, sizeof(k));
	k.family = AF_INET;
	k.proto = IPPROTO_UDP;
	k.id = id;
	k.src[0] = 192;
	k.dst[0] = 198;
	return k;
}

/* Add pattern[off, off + len) as a fragment of datagram @id at @ts. */
static int add(uint32_t id, uint32_t off, size_t len, int more, uint64_t ts,
	       struct vq_frag_done *done)
{
	struct vq_frag_key k = key4(id);
	struct vq_frag f = {
		.offset = off, .more = more, .data = pattern + off, .len = len,
	};

	return vq_ipfrag_add(fq, &k, &f, ts, done);
}

static void assert_done(struct vq_frag_done *done, size_t len)
{
	ck_assert_uint_eq(done->len, len);
	ck_assert_uint_eq(done->proto, IPPROTO_UDP);
	ck_assert_mem_eq(done->data, pattern, len);
	free(done->data);
}

START_TEST(fragments_in_order_reassemble)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 0, 1480, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, 1480, 1480, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, 2960, 100, 0, 0, &done), 1);
	assert_done(&done, 3060);
	ck_assert_uint_eq(stats.frag_reassembled, 1);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 0);
}
END_TEST

START_TEST(last_fragment_first_reassembles)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 16, 5, 0, 0, &done), 0);
	ck_assert_int_eq(add(1, 8, 8, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, 0, 8, 1, 0, &done), 1);
	assert_done(&done, 21);
}
END_TEST

START_TEST(duplicate_fragment_is_ignored)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 0, 8, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, 0, 8, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, 8, 4, 0, 0, &done), 1);
	assert_done(&done, 12);
	ck_assert_uint_eq(stats.frag_overlaps, 0);
}
END_TEST

START_TEST(overlapping_fragment_drops_datagram)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 0, 16, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, 8, 16, 1, 0, &done), -EINVAL);
	ck_assert_uint_eq(stats.frag_overlaps, 1);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 0);
	/* What is left cannot complete a datagram on its own. */
	ck_assert_int_eq(add(1, 24, 4, 0, 0, &done), 0);
	ck_assert_uint_eq(stats.frag_reassembled, 0);
}
END_TEST

START_TEST(fragment_past_the_last_is_an_overlap)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 8, 8, 0, 0, &done), 0);
	ck_assert_int_eq(add(1, 16, 8, 1, 0, &done), -EINVAL);
	ck_assert_uint_eq(stats.frag_overlaps, 1);
	ck_assert_int_eq(add(2, 8, 8, 0, 0, &done), 0);
	ck_assert_int_eq(add(2, 8, 16, 0, 0, &done), -EINVAL);
	ck_assert_uint_eq(stats.frag_overlaps, 2);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 0);
}
END_TEST

START_TEST(unaligned_middle_fragment_is_malformed)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 0, 12, 1, 0, &done), -EINVAL);
	ck_assert_uint_eq(stats.malformed, 1);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 0);
}
END_TEST

START_TEST(oversize_datagram_is_dropped)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 0, 8, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, 3992, 16, 0, 0, &done), -EMSGSIZE);
	ck_assert_uint_eq(stats.frag_oversize, 1);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 0);
	/* Exactly at the cap is fine. */
	ck_assert_int_eq(add(2, 0, 3992, 1, 0, &done), 0);
	ck_assert_int_eq(add(2, 3992, 8, 0, 0, &done), 1);
	assert_done(&done, 4000);
}
END_TEST

START_TEST(fragment_queue_cap_evicts_oldest)
{
	struct vq_frag_done done;

	for (uint32_t id = 1; id <= 5; id++)
		ck_assert_int_eq(add(id, 0, 8, 1, id, &done), 0);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 4);
	ck_assert_uint_eq(stats.frag_evicted, 1);
	/* Datagram 1 went; its tail now opens a queue of its own. */
	ck_assert_int_eq(add(1, 8, 4, 0, 6, &done), 0);
	ck_assert_uint_eq(stats.frag_evicted, 2);
	ck_assert_int_eq(add(3, 8, 4, 0, 6, &done), 1);
	assert_done(&done, 12);
	ck_assert_int_eq(add(2, 8, 4, 0, 6, &done), 0); /* 2 was evicted */
}
END_TEST

START_TEST(fragment_timeout_drops_queue)
{
	struct vq_frag_done done;

	ck_assert_int_eq(add(1, 0, 8, 1, 5000000, &done), 0);
	ck_assert_int_eq(add(2, 0, 8, 1, 600000000, &done), 0);
	vq_ipfrag_expire(fq, 1004999999);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 2);
	vq_ipfrag_expire(fq, 1005000000);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 1);
	ck_assert_uint_eq(stats.frag_timeouts, 1);
	ck_assert_int_eq(add(1, 8, 4, 0, 1005000000, &done), 0);
	ck_assert_int_eq(add(2, 8, 4, 0, 1005000000, &done), 1);
	assert_done(&done, 12);
}
END_TEST

START_TEST(too_many_pieces_drop_datagram)
{
	struct vq_frag_done done;
	int i;

	/* Every other 8-byte piece, so none is adjacent to another. */
	for (i = 0; i < VQ_FRAG_MAX_PIECES; i++)
		ck_assert_int_eq(add(1, i * 16, 8, 1, 0, &done), 0);
	ck_assert_int_eq(add(1, i * 16, 8, 1, 0, &done), -EINVAL);
	ck_assert_uint_eq(stats.malformed, 1);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 0);
}
END_TEST

START_TEST(different_protocol_is_a_different_datagram)
{
	struct vq_frag_done done;
	struct vq_frag_key k = key4(1);
	struct vq_frag f = { .offset = 8, .more = 0, .data = pattern + 8,
			     .len = 4 };

	ck_assert_int_eq(add(1, 0, 8, 1, 0, &done), 0);
	k.proto = IPPROTO_TCP;
	ck_assert_int_eq(vq_ipfrag_add(fq, &k, &f, 0, &done), 0);
	ck_assert_uint_eq(vq_ipfrag_count(fq), 2);
}
END_TEST

/* --- through the decoder ---------------------------------------------- */

static struct vq_decoder *dec;
static struct rec rec;

static void dsetup(void)
{
	struct vq_decoder_cfg cfg;

	vq_decoder_cfg_init(&cfg);
	memset(&rec, 0, sizeof(rec));
	dec = vq_decoder_new(&cfg, &rec_ops, &rec);
	ck_assert_ptr_nonnull(dec);
}

static void dteardown(void)
{
	vq_decoder_free(dec);
}

START_TEST(ipv4_fragmented_sip_reassembles)
{
	uint8_t udp[2048], ip[2048], frame[2048];
	size_t n = udp_wrap(udp, 5060, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));
	const struct vq_pkt_stats *st = vq_decoder_stats(dec);
	size_t cut[] = { 0, 64, 128, n };

	for (int i = 2; i >= 0; i--) {
		size_t len = cut[i + 1] - cut[i];
		uint16_t frag = (cut[i] / 8) | (i < 2 ? 0x2000 : 0);
		size_t m = ipv4_wrap_opt(ip, "192.0.2.1", "192.0.2.2",
					 IPPROTO_UDP, 77, frag, 0,
					 udp + cut[i], len);

		m = eth_wrap(frame, 0x0800, ip, m);
		ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB, 0, frame, m),
				 0);
	}
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], SIP_OPTIONS);
	ck_assert_uint_eq(rec.meta[0].src.port, 5060);
	ck_assert_uint_eq(st->frags, 3);
	ck_assert_uint_eq(st->frag_reassembled, 1);
	ck_assert_uint_eq(st->udp_sip, 1);
}
END_TEST

START_TEST(ipv6_fragments_out_of_order_reassemble)
{
	uint8_t udp[2048], dst[2048], frag[2048], ip[2048];
	size_t n = udp_wrap(udp, 40000, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));
	const struct vq_pkt_stats *st = vq_decoder_stats(dec);
	/* A destination-options header after the fragment header. */
	size_t total = ext8_wrap(dst, IPPROTO_UDP, udp, n);
	size_t cut[] = { 0, 48, 96, total };
	static const int order[] = { 1, 2, 0 };

	for (int j = 0; j < 3; j++) {
		int i = order[j];
		size_t m = ipv6_frag_wrap(frag, IPPROTO_DSTOPTS, 0xdeadbeef,
					  cut[i], i < 2, dst + cut[i],
					  cut[i + 1] - cut[i]);

		m = ipv6_wrap(ip, "2001:db8::1", "2001:db8::2",
			      IPPROTO_FRAGMENT, frag, m);
		ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, ip, m), 0);
		ck_assert_int_eq(rec.nsip, j == 2);
	}
	ck_assert_str_eq(rec.msg[0], SIP_OPTIONS);
	ck_assert_uint_eq(rec.meta[0].src.family, AF_INET6);
	ck_assert_uint_eq(rec.meta[0].src.port, 40000);
	ck_assert_uint_eq(st->frags, 3);
	ck_assert_uint_eq(st->frag_reassembled, 1);
}
END_TEST

START_TEST(ipv6_atomic_fragment_is_a_whole_datagram)
{
	uint8_t udp[2048], frag[2048], ip[2048];
	size_t n = udp_wrap(udp, 40000, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));

	n = ipv6_frag_wrap(frag, IPPROTO_UDP, 5, 0, 0, udp, n);
	n = ipv6_wrap(ip, "2001:db8::1", "2001:db8::2", IPPROTO_FRAGMENT, frag,
		      n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, ip, n), 0);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(vq_decoder_stats(dec)->frags, 0);
}
END_TEST

START_TEST(fragmented_tunnel_inner_sip_is_delivered)
{
	uint8_t udp[2048], inner[2048], ip[2048];
	size_t n = udp_wrap(udp, 5060, 5060, SIP_OPTIONS, strlen(SIP_OPTIONS));

	n = ipv4_wrap(inner, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, udp, n);
	/* The outer IPv4 datagram, carrying IPIP, in two fragments. */
	n = ipv4_wrap_opt(ip, "198.51.100.1", "198.51.100.2", IPPROTO_IPIP, 9,
			  0x2000, 0, inner, 104);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, ip, n), 0);
	n = ipv4_wrap_opt(ip, "198.51.100.1", "198.51.100.2", IPPROTO_IPIP, 9,
			  13, 0, inner + 104,
			  20 + 8 + strlen(SIP_OPTIONS) - 104);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_RAW, 0, ip, n), 0);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_str_eq(rec.msg[0], SIP_OPTIONS);
	ck_assert_uint_eq(vq_decoder_stats(dec)->tunnelled, 1);
}
END_TEST

Suite *ipfrag_suite(void)
{
	Suite *s = suite_create("ipfrag");
	TCase *tc;

	tc = tcase_create("queue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fragments_in_order_reassemble);
	tcase_add_test(tc, last_fragment_first_reassembles);
	tcase_add_test(tc, duplicate_fragment_is_ignored);
	tcase_add_test(tc, overlapping_fragment_drops_datagram);
	tcase_add_test(tc, fragment_past_the_last_is_an_overlap);
	tcase_add_test(tc, unaligned_middle_fragment_is_malformed);
	tcase_add_test(tc, oversize_datagram_is_dropped);
	tcase_add_test(tc, fragment_queue_cap_evicts_oldest);
	tcase_add_test(tc, fragment_timeout_drops_queue);
	tcase_add_test(tc, too_many_pieces_drop_datagram);
	tcase_add_test(tc, different_protocol_is_a_different_datagram);
	suite_add_tcase(s, tc);

	tc = tcase_create("decoder");
	tcase_add_checked_fixture(tc, dsetup, dteardown);
	tcase_add_test(tc, ipv4_fragmented_sip_reassembles);
	tcase_add_test(tc, ipv6_fragments_out_of_order_reassemble);
	tcase_add_test(tc, ipv6_atomic_fragment_is_a_whole_datagram);
	tcase_add_test(tc, fragmented_tunnel_inner_sip_is_delivered);
	suite_add_tcase(s, tc);
	return s;
}
