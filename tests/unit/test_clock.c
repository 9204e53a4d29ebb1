// SPDX-License-Identifier: GPL-2.0
/*
 * voipqd's timeline (clock.h) under wall-clock steps. The clocks are
 * simulated: a router that booted without a real-time clock thinks it is
 * 2000-01-01 until NTP steps it. Packets go through the decoder and the
 * tracker as voipqd feeds them: libpcap's wall-clock stamp moved to the
 * timeline by vq_clock_pkt_ns(), and the once-a-second vq_clock_expire().
 */
#include <check.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "dialog.h"
#include "packet.h"
#include "pktbuild.h"
#include "suites.h"

#define SEC 1000000000ull
#define HOUR (3600 * SEC)

static struct vq_clock clk;
static struct vq_tracker *trk;
static struct vq_decoder *dec;
static int n_eps; /* media endpoints the tracker holds, from its events */

static int on_ep(void *ctx, const struct vq_ep_event *ev)
{
	(void)ctx;
	n_eps += ev->type == VQ_EP_ADDED ? 1 : ev->type == VQ_EP_REMOVED ? -1 : 0;
	return 0;
}

static const struct vq_tracker_ops trk_ops = { .ep_event = on_ep };

/* What voipqd's on_sip does, without the dedup. */
static void on_sip(void *ctx, const struct vq_pkt_meta *m, const uint8_t *data,
		   size_t len)
{
	(void)ctx;
	vq_tracker_input(trk, data, len, m->ts_ns);
}

static const struct vq_pkt_ops pkt_ops = { .sip = on_sip };

static void setup(void)
{
	struct vq_tracker_cfg tc;
	struct vq_decoder_cfg dc;

	clk.real_ns = 946684800 * SEC; /* 2000-01-01T00:00:00Z */
	clk.mono_ns = 30 * SEC;        /* 30 s after boot */
	n_eps = 0;
	vq_tracker_cfg_init(&tc);
	trk = vq_tracker_new(&tc, &trk_ops, NULL);
	vq_decoder_cfg_init(&dc);
	dec = vq_decoder_new(&dc, &pkt_ops, NULL);
	ck_assert_ptr_nonnull(trk);
	ck_assert_ptr_nonnull(dec);
}

static void teardown(void)
{
	vq_tracker_free(trk);
	vq_decoder_free(dec);
}

/* @s seconds pass, with voipqd's tick once a second. */
static void run_for(unsigned int s)
{
	while (s--) {
		clk.real_ns += SEC;
		clk.mono_ns += SEC;
		vq_clock_expire(&clk, trk, dec);
	}
}

/* A frame received 100 µs ago, read now: what vq_capture_dispatch does. */
static void input(uint8_t proto, const void *l4, size_t n)
{
	uint8_t l3[PB_MAX], fr[PB_MAX];

	n = ipv4_wrap(l3, "192.0.2.10", "198.51.100.20", proto, l4, n);
	n = eth_wrap(fr, 0x0800, l3, n);
	ck_assert_int_eq(vq_decoder_input(dec, DLT_EN10MB,
					  vq_clock_pkt_ns(&clk, clk.real_ns - 100000),
					  fr, n), 0);
}

static void send_udp(const char *msg)
{
	uint8_t l4[PB_MAX];

	input(IPPROTO_UDP, l4, udp_wrap(l4, 5060, 5060, msg, strlen(msg)));
}

static void send_tcp(uint32_t seq, uint8_t flags, const char *data, size_t len)
{
	uint8_t l4[PB_MAX];

	input(IPPROTO_TCP, l4, tcp_wrap(l4, 40000, 5060, seq, flags, data, len));
}

/*
 * One SIP message of call step-1: @start line, CSeq @method, To tagged
 * @to_tag, an SDP on @port when it is not 0.
 */
static const char *msg(const char *start, const char *method,
		       const char *to_tag, unsigned int port)
{
	static char buf[2048];
	char body[256] = "";

	if (port)
		snprintf(body, sizeof(body),
			 "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
			 "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n",
			 port);
	snprintf(buf, sizeof(buf),
		 "%s\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-%s\r\n"
		 "From: <sip:alice@192.0.2.10>;tag=a-1\r\n"
		 "To: <sip:bob@198.51.100.20>%s\r\n"
		 "Call-ID: step-1@192.0.2.10\r\n"
		 "CSeq: 1 %s\r\n"
		 "%sContent-Length: %zu\r\n\r\n%s",
		 start, method, to_tag, method,
		 port ? "Content-Type: application/sdp\r\n" : "", strlen(body),
		 body);
	return buf;
}

static const char *invite(void)
{
	return msg("INVITE sip:bob@198.51.100.20 SIP/2.0", "INVITE", "", 4000);
}

/* INVITE, 200 with SDP, ACK: a call in conversation, four endpoints. */
static void confirmed_call(void)
{
	send_udp(invite());
	run_for(2);
	send_udp(msg("SIP/2.0 200 OK", "INVITE", ";tag=b-1", 5000));
	send_udp(msg("ACK sip:bob@198.51.100.20 SIP/2.0", "ACK", ";tag=b-1", 0));
	run_for(1);
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_active, 1);
	ck_assert_int_eq(n_eps, 4);
}

/* The call is live @from seconds of the timeline on, gone @to seconds on. */
static void expires_between(unsigned int from, unsigned int to)
{
	run_for(from);
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_expired, 0);
	run_for(to - from);
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_expired, 1);
	ck_assert_int_eq(n_eps, 0);
}

START_TEST(packet_stamps_follow_wall_clock_steps)
{
	uint64_t r = clk.real_ns, m = clk.mono_ns;

	/* Steady clocks: the offset between them, nothing more. */
	ck_assert_uint_eq(vq_clock_pkt_ns(&clk, r - 3 * SEC), m - 3 * SEC);
	/* NTP steps the wall clock 5 h forward; a second passes. */
	clk.real_ns = r + 5 * HOUR + SEC;
	clk.mono_ns = m + SEC;
	ck_assert_uint_eq(vq_clock_pkt_ns(&clk, clk.real_ns - 1000), clk.mono_ns - 1000);
	/* Stamped before the step, read after: not 5 h ago. */
	ck_assert_uint_eq(vq_clock_pkt_ns(&clk, r + SEC / 2),
			  clk.mono_ns - VQ_CLOCK_MAX_LAG_NS);
	/* Then 1 h back; another second passes. */
	clk.real_ns = r + 4 * HOUR + 2 * SEC;
	clk.mono_ns = m + 2 * SEC;
	ck_assert_uint_eq(vq_clock_pkt_ns(&clk, clk.real_ns - 1000), clk.mono_ns - 1000);
	/* Stamped before that step: not in the future. */
	ck_assert_uint_eq(vq_clock_pkt_ns(&clk, r + 5 * HOUR + SEC + 1000),
			  clk.mono_ns);
	/* Early in boot, the lag floor does not wrap. */
	clk.mono_ns = SEC;
	ck_assert_uint_eq(vq_clock_pkt_ns(&clk, clk.real_ns - HOUR), 0);
}
END_TEST

/* The router's clock is set 5 h forward mid-call: the call goes on. */
START_TEST(confirmed_call_survives_wall_clock_step_forward)
{
	confirmed_call();
	clk.real_ns += 5 * HOUR;
	run_for(5);
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_active, 1);
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_expired, 0);
	ck_assert_int_eq(n_eps, 4);
	/* Its BYE, stamped after the step, still ends it. */
	send_udp(msg("BYE sip:bob@198.51.100.20 SIP/2.0", "BYE", ";tag=b-1", 0));
	ck_assert_int_eq(n_eps, 0);
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_ended, 1);
}
END_TEST

/* And after 4 h of the timeline with no SIP, it does expire. */
START_TEST(confirmed_call_expires_on_the_timeline)
{
	confirmed_call();
	clk.real_ns += 5 * HOUR;
	expires_between(4 * 3600 - 10, 4 * 3600 + 10);
}
END_TEST

/* Set 1 h back: an unanswered INVITE still times out (Timer C, 180 s). */
START_TEST(expiry_goes_on_after_wall_clock_step_backward)
{
	send_udp(invite());
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_active, 1);
	clk.real_ns -= HOUR;
	expires_between(170, 190);
}
END_TEST

/* A TCP stream with half a message buffered outlives a 5 h step. */
START_TEST(tcp_stream_survives_wall_clock_step_forward)
{
	const char *inv = invite();
	size_t half = strlen(inv) / 2;

	send_tcp(1, 0x02, "", 0); /* SYN */
	send_tcp(2, 0x08, inv, half);
	run_for(1);
	clk.real_ns += 5 * HOUR;
	run_for(1);
	send_tcp(2 + (uint32_t)half, 0x08, inv + half, strlen(inv) - half);
	ck_assert_uint_eq(vq_tracker_stats(trk)->calls_created, 1);
	ck_assert_int_eq(n_eps, 2);
}
END_TEST

Suite *clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("steps");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, packet_stamps_follow_wall_clock_steps);
	tcase_add_test(tc, confirmed_call_survives_wall_clock_step_forward);
	tcase_add_test(tc, confirmed_call_expires_on_the_timeline);
	tcase_add_test(tc, expiry_goes_on_after_wall_clock_step_backward);
	tcase_add_test(tc, tcp_stream_survives_wall_clock_step_forward);
	suite_add_tcase(s, tc);
	return s;
}
