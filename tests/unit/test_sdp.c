// SPDX-License-Identifier: GPL-2.0
/*
 * vq_sdp_parse on the bodies in tests/data/sdp/: where each stream's RTP and
 * RTCP arrive, its direction and codec, and what is refused. The files keep
 * LF line ends for reading; they are sent with CRLF, as on the wire.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"
#include "suites.h"

#define SDP_DIR VQ_TESTDATA "/sdp"

static char *load(const char *name, size_t *len)
{
	char path[256], line[512], *buf;
	size_t n = 0, cap = 65536;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", SDP_DIR, name);
	f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	while (fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");

		ck_assert_uint_lt(n + l + 2, cap);
		memcpy(buf + n, line, l);
		n += l;
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	fclose(f);
	*len = n;
	return buf;
}

static int parse_file(const char *name, struct vq_sdp *sdp)
{
	size_t len;
	char *body = load(name, &len);
	int err = vq_sdp_parse(body, len, sdp);

	free(body);
	return err;
}

static void parse_ok(const char *name, struct vq_sdp *sdp)
{
	int err = parse_file(name, sdp);

	ck_assert_msg(err == 0, "%s: %s", name, strerror(-err));
}

/* Assert an endpoint's family, text address, port and protocol. */
#define ck_assert_ep(e, fam, a, p, pr)                                      \
	do {                                                                 \
		char buf_[VQ_ADDRSTRLEN];                                    \
		ck_assert_int_eq((e)->family, (fam));                        \
		ck_assert_str_eq(vq_addr_str((e), buf_, sizeof(buf_)), (a)); \
		ck_assert_uint_eq((e)->port, (p));                           \
		ck_assert_uint_eq((e)->proto, (pr));                         \
	} while (0)

/* --- connection data -------------------------------------------------- */

START_TEST(session_level_c_applies_to_stream)
{
	struct vq_sdp sdp;
	const struct vq_sdp_stream *s = &sdp.streams[0];

	parse_ok("session_level_c.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 1);
	ck_assert_uint_eq(sdp.n_ignored, 0);
	ck_assert_uint_eq(sdp.sess_version, 2890844527ull);
	ck_assert_uint_eq(s->media, VQ_MEDIA_AUDIO);
	ck_assert_ep(&s->rtp, AF_INET, "192.0.2.10", 49170, IPPROTO_UDP);
	ck_assert(s->has_rtcp);
	ck_assert_ep(&s->rtcp, AF_INET, "192.0.2.10", 49171, IPPROTO_UDP);
	ck_assert(!s->disabled && !s->hold_addr && !s->multicast && !s->rtcp_mux);
	ck_assert_uint_eq(s->dir, VQ_DIR_SENDRECV);
}
END_TEST

START_TEST(media_level_c_overrides_session_level)
{
	struct vq_sdp sdp;

	parse_ok("media_level_c_overrides.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 2);
	ck_assert_ep(&sdp.streams[0].rtp, AF_INET, "192.0.2.10", 4000, IPPROTO_UDP);
	ck_assert_uint_eq(sdp.streams[1].media, VQ_MEDIA_VIDEO);
	ck_assert_ep(&sdp.streams[1].rtp, AF_INET, "192.0.2.12", 4010, IPPROTO_UDP);
	ck_assert_ep(&sdp.streams[1].rtcp, AF_INET, "192.0.2.12", 4011, IPPROTO_UDP);
}
END_TEST

START_TEST(media_level_c_only_and_disabled_stream_without_c)
{
	struct vq_sdp sdp;

	/* RFC 4566 5.7: c= in every enabled m= section is enough. */
	parse_ok("media_level_c_only.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 2);
	ck_assert_ep(&sdp.streams[0].rtp, AF_INET, "198.51.100.21", 5000, IPPROTO_UDP);
	ck_assert(sdp.streams[1].disabled);
	ck_assert(!sdp.streams[1].has_rtcp);
}
END_TEST

START_TEST(ipv6_session_and_media_level)
{
	struct vq_sdp sdp;

	parse_ok("ipv6.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 2);
	ck_assert_ep(&sdp.streams[0].rtp, AF_INET6, "2001:db8::10", 4000, IPPROTO_UDP);
	ck_assert_ep(&sdp.streams[0].rtcp, AF_INET6, "2001:db8::10", 4001, IPPROTO_UDP);
	/* Any spelling of the address is the same endpoint. */
	ck_assert_ep(&sdp.streams[1].rtp, AF_INET6, "2001:db8::12", 4010, IPPROTO_UDP);
	ck_assert_str_eq(sdp.streams[1].codec.name, "VP8");
	ck_assert_uint_eq(sdp.streams[1].codec.clock_rate, 90000);
}
END_TEST

START_TEST(multicast_group_without_ttl_or_count)
{
	struct vq_sdp sdp;

	parse_ok("multicast.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 2);
	ck_assert(sdp.streams[0].multicast);
	ck_assert_ep(&sdp.streams[0].rtp, AF_INET, "224.2.1.1", 49170, IPPROTO_UDP);
	ck_assert_ep(&sdp.streams[0].rtcp, AF_INET, "224.2.1.1", 49171, IPPROTO_UDP);
	ck_assert(sdp.streams[1].multicast);
	ck_assert_ep(&sdp.streams[1].rtp, AF_INET6, "ff0e::101", 51372, IPPROTO_UDP);
	ck_assert_str_eq(sdp.streams[1].codec.name, "H261");
	ck_assert_uint_eq(sdp.streams[1].codec.clock_rate, 90000);
}
END_TEST

START_TEST(port_zero_disables_stream)
{
	struct vq_sdp sdp;

	parse_ok("port_zero.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 2);
	ck_assert(!sdp.streams[0].disabled);
	ck_assert(sdp.streams[1].disabled);
	ck_assert(!sdp.streams[1].has_rtcp);
	ck_assert_uint_eq(sdp.streams[1].rtp.port, 0);
}
END_TEST

START_TEST(hold_address_ipv4_and_ipv6)
{
	struct vq_sdp sdp;

	parse_ok("hold_address.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 2);
	ck_assert(sdp.streams[0].hold_addr);
	ck_assert_uint_eq(sdp.streams[0].dir, VQ_DIR_SENDONLY);
	ck_assert_ep(&sdp.streams[0].rtp, AF_INET, "0.0.0.0", 4000, IPPROTO_UDP);
	ck_assert(sdp.streams[1].hold_addr);
	ck_assert_ep(&sdp.streams[1].rtp, AF_INET6, "::", 4002, IPPROTO_UDP);
	ck_assert_uint_eq(sdp.streams[1].dir, VQ_DIR_SENDRECV);
}
END_TEST

/* --- RTCP ------------------------------------------------------------- */

START_TEST(rtcp_attribute_with_and_without_address)
{
	struct vq_sdp sdp;
	const struct vq_sdp_stream *s = sdp.streams;

	parse_ok("rtcp_attribute.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 5);
	ck_assert(s[0].has_rtcp);
	ck_assert_ep(&s[0].rtcp, AF_INET, "192.0.2.10", 4005, IPPROTO_UDP);
	ck_assert(s[1].has_rtcp);
	ck_assert_ep(&s[1].rtp, AF_INET, "192.0.2.10", 4010, IPPROTO_UDP);
	ck_assert_ep(&s[1].rtcp, AF_INET, "198.51.100.99", 53020, IPPROTO_UDP);
	ck_assert(s[2].has_rtcp);
	ck_assert_ep(&s[2].rtcp, AF_INET6, "2001:db8::9", 9001, IPPROTO_UDP);
	/* a=rtcp naming the RTP port itself is multiplexing by another name. */
	ck_assert(!s[3].has_rtcp);
	/* port+1 does not exist above 65535. */
	ck_assert_uint_eq(s[4].rtp.port, 65535);
	ck_assert(!s[4].has_rtcp);
}
END_TEST

/* WebRTC's "a=rtcp:9 IN IP4 0.0.0.0" names no address (ICE finds it). */
START_TEST(rtcp_mux_with_placeholder_rtcp_has_no_rtcp)
{
	struct vq_sdp sdp;
	const struct vq_sdp_stream *s = sdp.streams;

	parse_ok("rtcp_mux.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 1);
	ck_assert(s->rtcp_mux);
	ck_assert(!s->has_rtcp);
	ck_assert_ep(&s->rtp, AF_INET, "203.0.113.40", 9000, IPPROTO_UDP);
	ck_assert_str_eq(s->codec.name, "opus");
	ck_assert_uint_eq(s->codec.clock_rate, 48000);
	ck_assert_uint_eq(s->codec.pt, 111);
	ck_assert_uint_eq(sdp.sess_version, 2);
}
END_TEST

/*
 * a=rtcp-mux is an offer the answer may decline (RFC 5761 5.1.1): the RTCP
 * port it would use then, port+1 or a=rtcp, stays known.
 */
START_TEST(rtcp_mux_keeps_rtcp_port_for_a_declining_answer)
{
	struct vq_sdp sdp;
	const struct vq_sdp_stream *s = sdp.streams;

	parse_ok("rtcp_mux_offer.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 2);
	ck_assert(s[0].rtcp_mux && s[0].has_rtcp);
	ck_assert_ep(&s[0].rtcp, AF_INET, "192.0.2.10", 4001, IPPROTO_UDP);
	ck_assert(s[1].rtcp_mux && s[1].has_rtcp);
	ck_assert_ep(&s[1].rtcp, AF_INET, "192.0.2.10", 4010, IPPROTO_UDP);
}
END_TEST

/* --- codec, bandwidth, direction --------------------------------------- */

START_TEST(bandwidth_media_level_overrides_session_level)
{
	struct vq_sdp sdp;

	parse_ok("bandwidth.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 3);
	ck_assert_uint_eq(sdp.streams[0].codec.bw_kbps, 64);
	ck_assert_uint_eq(sdp.streams[1].codec.bw_kbps, 256);
	/* Only b=AS counts; CT and TIAS fall back to the session's AS. */
	ck_assert_uint_eq(sdp.streams[2].codec.bw_kbps, 256);
}
END_TEST

START_TEST(codec_from_rtpmap_or_static_payload_type)
{
	struct vq_sdp sdp;
	const struct vq_sdp_stream *s = sdp.streams;

	parse_ok("codecs.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 8);
	/* RFC 3551 table 4: static types need no rtpmap. */
	ck_assert_str_eq(s[0].codec.name, "PCMU");
	ck_assert_uint_eq(s[0].codec.clock_rate, 8000);
	ck_assert_uint_eq(s[0].codec.pt, 0);
	ck_assert_uint_eq(s[0].codec.ptime_ms, 0);
	/* The first payload type is the codec; a later rtpmap is not. */
	ck_assert_str_eq(s[1].codec.name, "opus");
	ck_assert_uint_eq(s[1].codec.clock_rate, 48000);
	ck_assert_uint_eq(s[1].codec.ptime_ms, 20);
	/* G.722's RTP clock is 8000 though it samples at 16 kHz. */
	ck_assert_str_eq(s[2].codec.name, "G722");
	ck_assert_uint_eq(s[2].codec.clock_rate, 8000);
	ck_assert_uint_eq(s[3].media, VQ_MEDIA_VIDEO);
	ck_assert_str_eq(s[3].codec.name, "H264");
	ck_assert_uint_eq(s[3].codec.clock_rate, 90000);
	ck_assert_str_eq(s[4].codec.name, "G729");
	ck_assert_uint_eq(s[4].codec.ptime_ms, 30);
	/* A dynamic type without rtpmap is unknown. */
	ck_assert_str_eq(s[5].codec.name, "");
	ck_assert_uint_eq(s[5].codec.clock_rate, 0);
	ck_assert_uint_eq(s[5].codec.pt, 98);
	ck_assert_uint_eq(s[6].media, VQ_MEDIA_IMAGE);
	ck_assert_str_eq(s[6].codec.name, "t38");
	ck_assert_uint_eq(s[7].media, VQ_MEDIA_TEXT);
	ck_assert_str_eq(s[7].codec.name, "t140");
	ck_assert_uint_eq(s[7].codec.clock_rate, 1000);
}
END_TEST

START_TEST(direction_session_level_media_level_overrides)
{
	struct vq_sdp sdp;

	parse_ok("direction.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 4);
	ck_assert_uint_eq(sdp.streams[0].dir, VQ_DIR_SENDONLY);
	ck_assert_uint_eq(sdp.streams[1].dir, VQ_DIR_RECVONLY);
	ck_assert_uint_eq(sdp.streams[2].dir, VQ_DIR_INACTIVE);
	ck_assert_uint_eq(sdp.streams[3].dir, VQ_DIR_SENDRECV);
}
END_TEST

START_TEST(direction_defaults_to_sendrecv)
{
	struct vq_sdp sdp;

	parse_ok("direction_default.sdp", &sdp);
	ck_assert_uint_eq(sdp.streams[0].dir, VQ_DIR_SENDRECV);
	ck_assert_uint_eq(sdp.streams[1].dir, VQ_DIR_INACTIVE);
	ck_assert_str_eq(vq_media_dir_str(sdp.streams[1].dir), "inactive");
}
END_TEST

START_TEST(streams_past_the_cap_are_counted)
{
	struct vq_sdp sdp;

	parse_ok("too_many_streams.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, VQ_SDP_MAX_STREAMS);
	ck_assert_uint_eq(sdp.n_ignored, 10 - VQ_SDP_MAX_STREAMS);
	ck_assert_uint_eq(sdp.streams[VQ_SDP_MAX_STREAMS - 1].rtp.port,
			  4000 + 2 * (VQ_SDP_MAX_STREAMS - 1));
}
END_TEST

START_TEST(tcp_and_udptl_have_no_rtcp_port)
{
	struct vq_sdp sdp;
	const struct vq_sdp_stream *s = sdp.streams;

	parse_ok("tcp_and_udptl.sdp", &sdp);
	ck_assert_uint_eq(sdp.n_streams, 3);
	ck_assert_ep(&s[0].rtp, AF_INET, "192.0.2.10", 9, IPPROTO_TCP);
	ck_assert(!s[0].has_rtcp);
	ck_assert_ep(&s[1].rtp, AF_INET, "192.0.2.10", 4020, IPPROTO_UDP);
	ck_assert(!s[1].has_rtcp);
	ck_assert_uint_eq(s[2].media, VQ_MEDIA_OTHER);
	ck_assert_str_eq(vq_media_type_str(s[2].media), "other");
	ck_assert_uint_eq(s[2].rtp.proto, IPPROTO_TCP);
}
END_TEST

/* --- what is refused ----------------------------------------------------- */

START_TEST(stream_without_any_connection_is_invalid)
{
	struct vq_sdp sdp;

	ck_assert_int_eq(parse_file("no_connection.sdp", &sdp), -EINVAL);
	/* Nothing half-parsed is left for a caller that ignores the error. */
	ck_assert_uint_eq(sdp.n_streams, 0);
}
END_TEST

START_TEST(ip4_address_type_with_ipv6_address_is_invalid)
{
	struct vq_sdp sdp;

	ck_assert_int_eq(parse_file("ip4_type_ipv6_address.sdp", &sdp), -EINVAL);
}
END_TEST

START_TEST(port_out_of_range_is_invalid)
{
	struct vq_sdp sdp;

	ck_assert_int_eq(parse_file("port_out_of_range.sdp", &sdp), -EINVAL);
}
END_TEST

START_TEST(address_out_of_range_is_invalid)
{
	struct vq_sdp sdp;

	ck_assert_int_eq(parse_file("address_out_of_range.sdp", &sdp), -EINVAL);
}
END_TEST

START_TEST(fqdn_connection_address_is_invalid)
{
	struct vq_sdp sdp;

	/* Nothing can be matched on a name: refused rather than guessed. */
	ck_assert_int_eq(parse_file("fqdn_connection.sdp", &sdp), -EINVAL);
}
END_TEST

START_TEST(version_overflow_is_ignored_not_wrapped)
{
	struct vq_sdp sdp;

	parse_ok("version_overflow.sdp", &sdp);
	ck_assert_uint_eq(sdp.sess_version, 0);
	ck_assert_uint_eq(sdp.n_streams, 1);
}
END_TEST

START_TEST(huge_body_is_too_big)
{
	size_t len = 64 * 1024 + 1;
	char *body = malloc(len);
	struct vq_sdp sdp;

	memset(body, 'a', len);
	ck_assert_int_eq(vq_sdp_parse(body, len, &sdp), -E2BIG);
	free(body);
}
END_TEST

/* An SDP whose one m= line lists @n formats, lines ended by @eol. */
static int parse_formats(unsigned int n, const char *eol)
{
	static char body[65536];
	struct vq_sdp sdp;
	int o = snprintf(body, sizeof(body),
			 "v=0%so=- 1 1 IN IP4 192.0.2.1%ss=-%s"
			 "c=IN IP4 192.0.2.1%st=0 0%sm=audio 4000 RTP/AVP",
			 eol, eol, eol, eol, eol);

	for (unsigned int i = 0; i < n; i++)
		o += snprintf(body + o, sizeof(body) - (size_t)o, " %u", i % 128);
	o += snprintf(body + o, sizeof(body) - (size_t)o, "%sa=sendonly%s",
		      eol, eol);
	ck_assert_uint_lt((size_t)o, sizeof(body) - 1);
	return vq_sdp_parse(body, (size_t)o, &sdp);
}

/* libosip2 lists formats at a cost of their square: past 128 is refused. */
START_TEST(too_many_formats_is_too_big)
{
	ck_assert_int_eq(parse_formats(128, "\r\n"), 0);
	ck_assert_int_eq(parse_formats(129, "\r\n"), -E2BIG);
	ck_assert_int_eq(parse_formats(129, "\n"), -E2BIG);
	ck_assert_int_eq(parse_formats(129, "\r"), -E2BIG);
	ck_assert_int_eq(parse_formats(20000, "\r\n"), -E2BIG);
}
END_TEST

START_TEST(binary_garbage_is_invalid)
{
	char body[512];
	struct vq_sdp sdp;
	unsigned int x = 12345;

	for (size_t i = 0; i < sizeof(body); i++) {
		x = x * 1103515245u + 12345u;
		body[i] = (char)(x >> 16);
	}
	ck_assert_int_eq(vq_sdp_parse(body, sizeof(body), &sdp), -EINVAL);
	ck_assert_int_eq(vq_sdp_parse("v=0\r\n\0\x01\xff", 8, &sdp), -EINVAL);
}
END_TEST

START_TEST(empty_body_is_invalid)
{
	struct vq_sdp sdp;

	ck_assert_int_eq(vq_sdp_parse("", 0, &sdp), -EINVAL);
	ck_assert_int_eq(vq_sdp_parse("\r\n", 2, &sdp), -EINVAL);
}
END_TEST

START_TEST(body_need_not_be_terminated)
{
	static const char text[] = "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
				   "c=IN IP4 192.0.2.1\r\nt=0 0\r\n"
				   "m=audio 4000 RTP/AVP 0\r\nXXXX";
	struct vq_sdp sdp;

	/* The length ends the body, not a NUL: trailing bytes are not read. */
	ck_assert_int_eq(vq_sdp_parse(text, sizeof(text) - 5, &sdp), 0);
	ck_assert_uint_eq(sdp.n_streams, 1);
	ck_assert_uint_eq(sdp.streams[0].rtp.port, 4000);
}
END_TEST

Suite *sdp_suite(void)
{
	Suite *s = suite_create("sdp");
	TCase *tc;

	tc = tcase_create("connection");
	tcase_add_test(tc, session_level_c_applies_to_stream);
	tcase_add_test(tc, media_level_c_overrides_session_level);
	tcase_add_test(tc, media_level_c_only_and_disabled_stream_without_c);
	tcase_add_test(tc, ipv6_session_and_media_level);
	tcase_add_test(tc, multicast_group_without_ttl_or_count);
	tcase_add_test(tc, port_zero_disables_stream);
	tcase_add_test(tc, hold_address_ipv4_and_ipv6);
	suite_add_tcase(s, tc);

	tc = tcase_create("rtcp");
	tcase_add_test(tc, rtcp_attribute_with_and_without_address);
	tcase_add_test(tc, rtcp_mux_with_placeholder_rtcp_has_no_rtcp);
	tcase_add_test(tc, rtcp_mux_keeps_rtcp_port_for_a_declining_answer);
	tcase_add_test(tc, tcp_and_udptl_have_no_rtcp_port);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_test(tc, bandwidth_media_level_overrides_session_level);
	tcase_add_test(tc, codec_from_rtpmap_or_static_payload_type);
	tcase_add_test(tc, direction_session_level_media_level_overrides);
	tcase_add_test(tc, direction_defaults_to_sendrecv);
	tcase_add_test(tc, streams_past_the_cap_are_counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_test(tc, stream_without_any_connection_is_invalid);
	tcase_add_test(tc, ip4_address_type_with_ipv6_address_is_invalid);
	tcase_add_test(tc, port_out_of_range_is_invalid);
	tcase_add_test(tc, address_out_of_range_is_invalid);
	tcase_add_test(tc, fqdn_connection_address_is_invalid);
	tcase_add_test(tc, version_overflow_is_ignored_not_wrapped);
	tcase_add_test(tc, huge_body_is_too_big);
	tcase_add_test(tc, too_many_formats_is_too_big);
	tcase_add_test(tc, binary_garbage_is_invalid);
	tcase_add_test(tc, empty_body_is_invalid);
	tcase_add_test(tc, body_need_not_be_terminated);
	suite_add_tcase(s, tc);
	return s;
}
