// SPDX-License-Identifier: GPL-2.0
/*
 * Live capture, for real: in a private network namespace (so nothing else
 * is seen or disturbed), open loopback with the SIP filter, send an INVITE
 * and an unrelated datagram over UDP, and check that the INVITE arrives as
 * a SIP message — through the kernel filter and immediate mode — while the
 * unrelated datagram is filtered out, stamped on the daemon's monotonic
 * timeline.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "clock.h"
#include "suites.h"

struct seen {
	unsigned int sip, udp;
	char first[16];
	uint64_t ts_ns; /* the first SIP message's stamp */
};

static void on_sip(void *ctx, const struct vq_pkt_meta *m, const uint8_t *d,
		   size_t len)
{
	struct seen *s = ctx;

	if (!s->sip)
		s->ts_ns = m->ts_ns;
	if (!s->sip++)
		snprintf(s->first, sizeof(s->first), "%.*s", (int)(len < 6 ? len : 6), d);
}

static void on_udp(void *ctx, const struct vq_pkt_meta *m, const uint8_t *d,
		   size_t len)
{
	((struct seen *)ctx)->udp++;
}

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return ret ? -errno : 0;
}

static void send_udp(uint16_t port, const char *msg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}

/* Runs in the child, in its own namespace: 0 ok, 77 skip, else failure. */
static int live_child(void)
{
	static const char invite[] =
		"INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-live\r\n"
		"From: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:bob@127.0.0.1>\r\n"
		"Call-ID: live@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	struct vq_pkt_ops ops = { .sip = on_sip, .udp = on_udp };
	struct vq_decoder_cfg cfg;
	struct vq_capture *c;
	struct vq_decoder *d;
	struct seen seen = { 0 };
	char err[256];
	uint64_t sent_ns, read_ns;
	int tries;

	if (unshare(CLONE_NEWNET)) {
		printf("live capture: skipped, cannot create a network namespace: %s\n",
		       strerror(errno));
		return 77;
	}
	if (lo_up())
		return 1;
	vq_decoder_cfg_init(&cfg);
	d = vq_decoder_new(&cfg, &ops, &seen);
	if (!d || vq_capture_open_live(&c, "lo", &cfg, err, sizeof(err))) {
		printf("live capture: open lo: %s\n", err);
		return 2;
	}
	send_udp(40000, "not sip, not on a SIP port");
	sent_ns = vq_clock_mono_ns();
	send_udp(5060, invite);
	for (tries = 0; tries < 200 && !seen.sip; tries++) {
		struct pollfd pfd = { .fd = vq_capture_fd(c), .events = POLLIN };

		poll(&pfd, 1, 10);
		if (vq_capture_dispatch(c, d, 0, err, sizeof(err)) < 0)
			return 3;
	}
	read_ns = vq_clock_mono_ns();
	vq_capture_close(c);
	vq_decoder_free(d);
	if (seen.sip != 1 || strcmp(seen.first, "INVITE") || seen.udp != 0) {
		printf("live capture: sip=%u udp=%u first='%s'\n", seen.sip,
		       seen.udp, seen.first);
		return 4;
	}
	/*
	 * Stamped on voipqd's timeline, CLOCK_MONOTONIC, not the wall clock;
	 * libpcap's microseconds and the two clocks' readings allow 1 ms.
	 */
	if (seen.ts_ns + 1000000 < sent_ns || seen.ts_ns > read_ns + 1000000) {
		printf("live capture: stamp %" PRIu64 " not within %" PRIu64
		       "-%" PRIu64 " (CLOCK_MONOTONIC)\n", seen.ts_ns, sent_ns,
		       read_ns);
		return 5;
	}
	return 0;
}

START_TEST(live_loopback_capture_delivers_sip_and_filters_the_rest)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(live_child());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		return;
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(live_capture_on_missing_interface_says_so)
{
	struct vq_decoder_cfg cfg;
	struct vq_capture *c;
	char err[256] = "";

	vq_decoder_cfg_init(&cfg);
	ck_assert_int_lt(vq_capture_open_live(&c, "vq-nonexistent0", &cfg, err,
					      sizeof(err)), 0);
	ck_assert_msg(strstr(err, "vq-nonexistent0"), "err: '%s'", err);
}
END_TEST

Suite *live_suite(void)
{
	Suite *s = suite_create("live");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, live_loopback_capture_delivers_sip_and_filters_the_rest);
	tcase_add_test(tc, live_capture_on_missing_interface_says_so);
	suite_add_tcase(s, tc);
	return s;
}
