// SPDX-License-Identifier: GPL-2.0
/*
 * rtpprobe: a voice-like stream for the lab. The sender paces RTP v2
 * packets (G.711 sized: 12 + 160 bytes, 50/s) carrying their send time;
 * the receiver measures one-way delay from it (the lab's namespaces share
 * CLOCK_MONOTONIC), loss and jitter with the agent's own RFC 3550 code,
 * and a G.107 MOS with the measured delay.
 *
 *   rtpprobe send ADDR PORT [--src-port P] [--count N] [--pps R] [--size B]
 *   rtpprobe recv PORT [--count N] [--timeout S] [--json]
 *
 * Both stop by themselves: after N packets, or S seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "emodel.h"
#include "rtpstats.h"

#define RTP_HDR 12
#define MAX_PKT 1500

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static int resolve(const char *host, const char *port, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	int err = getaddrinfo(host, port, &hints, &ai);

	if (err) {
		fprintf(stderr, "rtpprobe: bad address %s port %s: %s\n", host,
			port, gai_strerror(err));
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int do_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "src-port", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "pps", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'b' },
		{ 0 },
	};
	unsigned int count = 500, pps = 50, size = RTP_HDR + 160, sport = 0;
	struct sockaddr_storage dst, src = { 0 };
	socklen_t dlen;
	uint8_t pkt[MAX_PKT] = { 0 };
	uint64_t start, next, step;
	int c, fd;

	while ((c = getopt_long(argc, argv, "s:n:r:b:", opts, NULL)) != -1) {
		switch (c) {
		case 's': sport = (unsigned int)atoi(optarg); break;
		case 'n': count = (unsigned int)atoi(optarg); break;
		case 'r': pps = (unsigned int)atoi(optarg); break;
		case 'b': size = (unsigned int)atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind + 2 != argc || !pps || size < RTP_HDR + 8 || size > MAX_PKT ||
	    count > 1000000) {
		fprintf(stderr, "usage: rtpprobe send ADDR PORT [--src-port P] "
				"[--count N] [--pps R] [--size B (20-1500)]\n");
		return 2;
	}
	if (resolve(argv[optind], argv[optind + 1], &dst, &dlen))
		return 1;
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("rtpprobe: socket");
		return 1;
	}
	if (sport) {
		src.ss_family = dst.ss_family;
		if (dst.ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = htons((uint16_t)sport);
		else
			((struct sockaddr_in6 *)&src)->sin6_port = htons((uint16_t)sport);
		if (bind(fd, (struct sockaddr *)&src, dlen)) {
			perror("rtpprobe: bind source port");
			return 1;
		}
	}

	pkt[0] = 0x80;
	pkt[1] = 8; /* PCMA */
	put_be32(pkt + 8, 0x766f6970); /* SSRC "voip" */
	step = 1000000000ull / pps;
	start = next = now_ns();
	for (unsigned int i = 0; i < count; i++) {
		uint64_t t;

		while ((t = now_ns()) < next) {
			struct timespec ts = { 0, (long)(next - t) };

			nanosleep(&ts, NULL);
		}
		put_be16(pkt + 2, (uint16_t)i);
		put_be32(pkt + 4, i * 8000 / pps);
		memcpy(pkt + RTP_HDR, &t, sizeof(t));
		if (sendto(fd, pkt, size, 0, (struct sockaddr *)&dst, dlen) < 0 &&
		    errno != ENOBUFS && errno != ECONNREFUSED)
			perror("rtpprobe: sendto");
		next = start + (i + 1) * step;
	}
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int do_recv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	unsigned int count = 500, timeout = 30, n = 0;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct vq_rtp_stream rs;
	struct vq_rtp_hdr h;
	uint8_t pkt[MAX_PKT];
	uint64_t *owd, deadline;
	bool json = false, started = false;
	int c, fd, off = 0;

	while ((c = getopt_long(argc, argv, "n:t:j", opts, NULL)) != -1) {
		switch (c) {
		case 'n': count = (unsigned int)atoi(optarg); break;
		case 't': timeout = (unsigned int)atoi(optarg); break;
		case 'j': json = true; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !count || count > 1000000 || !timeout) {
		fprintf(stderr, "usage: rtpprobe recv PORT [--count N] [--timeout S] [--json]\n");
		return 2;
	}
	owd = calloc(count, sizeof(*owd));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (!owd || fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off))) {
		perror("rtpprobe: socket");
		return 1;
	}
	sa.sin6_port = htons((uint16_t)atoi(argv[optind]));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("rtpprobe: bind");
		return 1;
	}
	/* Ready: the lab waits for this line before starting the sender. */
	printf("ready\n");
	fflush(stdout);

	deadline = now_ns() + (uint64_t)timeout * 1000000000ull;
	while (n < count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t t = now_ns(), sent;
		ssize_t len;

		if (t >= deadline)
			break;
		if (poll(&pfd, 1, (int)((deadline - t) / 1000000 + 1)) <= 0)
			continue;
		len = recv(fd, pkt, sizeof(pkt), 0);
		t = now_ns();
		if (len < RTP_HDR + 8 || vq_rtp_parse(pkt, (size_t)len, &h))
			continue;
		if (!started) {
			vq_rtp_stream_init(&rs, h.ssrc, 8000);
			started = true;
		}
		vq_rtp_stream_update(&rs, &h, t);
		memcpy(&sent, pkt + RTP_HDR, sizeof(sent));
		owd[n++] = t > sent ? t - sent : 0;
	}
	close(fd);

	qsort(owd, n, sizeof(*owd), cmp_u64);
	{
		double p50 = n ? (double)owd[n / 2] / 1e6 : 0;
		double p99 = n ? (double)owd[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6 : 0;
		double maxd = n ? (double)owd[n - 1] / 1e6 : 0;
		/* Loss against what the sender was asked to send, not just gaps. */
		double loss = 100.0 * (double)(count - n) / (double)count;
		double jit = started ? vq_rtp_jitter_ms(&rs) : 0;
		struct vq_codec_impairment ci = vq_codec_impairment("PCMA");
		double mos = vq_emodel_mos(vq_emodel_r(p50 + 2 * jit, loss, &ci));

		if (json)
			printf("{\"sent\":%u,\"received\":%u,\"loss_pct\":%.3f,"
			       "\"owd_p50_ms\":%.3f,\"owd_p99_ms\":%.3f,"
			       "\"owd_max_ms\":%.3f,\"jitter_ms\":%.3f,\"mos\":%.2f}\n",
			       count, n, loss, p50, p99, maxd, jit, mos);
		else
			printf("sent=%u received=%u loss_pct=%.3f owd_p50_ms=%.3f "
			       "owd_p99_ms=%.3f owd_max_ms=%.3f jitter_ms=%.3f mos=%.2f\n",
			       count, n, loss, p50, p99, maxd, jit, mos);
	}
	free(owd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return do_send(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "recv"))
		return do_recv(argc - 1, argv + 1);
	fprintf(stderr, "usage: rtpprobe send ADDR PORT [...] | rtpprobe recv PORT [...]\n"
			"A paced RTP-like stream and its receiver: loss, one-way delay, jitter, MOS.\n");
	return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
}
