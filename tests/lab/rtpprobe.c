// SPDX-License-Identifier: GPL-2.0
/*
 * rtpprobe: a voice-like stream for the lab. The sender paces RTP v2
 * packets (G.711 sized: 12 + 160 bytes, 50/s) carrying their send time;
 * the receiver measures one-way delay from it (the lab's namespaces share
 * CLOCK_MONOTONIC), loss and jitter with the agent's own RFC 3550 code,
 * and a G.107 MOS with the measured delay.
 *
 *   rtpprobe PORT [--peer ADDR:PORT] [--count N] [--pps R] [--size B]
 *                 [--delay MS] [--timeout S] [--json]
 *
 * One socket sends and receives, as a phone's symmetric RTP does. It stops
 * by itself: after N packets each way, or S seconds past the start.
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void send_one(int fd, const struct sockaddr_storage *dst, socklen_t dlen,
		     unsigned int i, unsigned int pps, unsigned int size, uint32_t ssrc)
{
	uint8_t pkt[MAX_PKT] = { 0 };
	uint64_t t = now_ns();

	pkt[0] = 0x80;
	pkt[1] = 8; /* PCMA */
	put_be16(pkt + 2, (uint16_t)i);
	put_be32(pkt + 4, i * 8000 / pps);
	put_be32(pkt + 8, ssrc);
	memcpy(pkt + RTP_HDR, &t, sizeof(t));
	if (sendto(fd, pkt, size, 0, (const struct sockaddr *)dst, dlen) < 0 &&
	    errno != ENOBUFS && errno != ECONNREFUSED)
		perror("rtpprobe: sendto");
}

/*
 * One socket, like a phone's symmetric RTP: bound to PORT, it receives the
 * peer's stream and, with --peer, sends its own from the same port.
 */
static int do_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "peer", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "pps", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'b' },
		{ "delay", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "dump", required_argument, NULL, 'D' },
		{ 0 },
	};
	unsigned int count = 500, pps = 50, size = RTP_HDR + 160, timeout = 30;
	const char *dump = NULL;
	unsigned int delay_ms = 0, n = 0, sent = 0;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_storage peer;
	socklen_t plen = 0;
	struct vq_rtp_stream rs;
	struct vq_rtp_hdr h;
	uint8_t pkt[MAX_PKT];
	uint64_t *owd, deadline, start, step;
	uint32_t ssrc;
	bool json = false, started = false;
	int c, fd, off = 0;

	while ((c = getopt_long(argc, argv, "p:n:r:b:d:t:j", opts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			char host[64], *colon = strrchr(optarg, ':');

			if (!colon || (size_t)(colon - optarg) >= sizeof(host))
				return 2;
			memcpy(host, optarg, (size_t)(colon - optarg));
			host[colon - optarg] = '\0';
			if (resolve(host, colon + 1, &peer, &plen))
				return 2;
			break;
		}
		case 'n': count = (unsigned int)atoi(optarg); break;
		case 'r': pps = (unsigned int)atoi(optarg); break;
		case 'b': size = (unsigned int)atoi(optarg); break;
		case 'd': delay_ms = (unsigned int)atoi(optarg); break;
		case 't': timeout = (unsigned int)atoi(optarg); break;
		case 'j': json = true; break;
		case 'D': dump = optarg; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !count || count > 1000000 || !timeout ||
	    !pps || pps > 10000 || size < RTP_HDR + 8 || size > MAX_PKT) {
		fprintf(stderr, "usage: rtpprobe PORT [--peer ADDR:PORT] [--count N] "
				"[--pps R] [--size B] [--delay MS] [--timeout S] [--json] [--dump FILE]\n");
		return 2;
	}
	owd = calloc(count, sizeof(*owd));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (!owd || fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off))) {
		perror("rtpprobe: socket");
		return 1;
	}
	sa.sin6_port = htons((uint16_t)atoi(argv[optind]));
	/* "vo" and the port: each direction of a call its own stream, as
	 * two phones' SSRCs are. */
	ssrc = 0x766f0000u | ntohs(sa.sin6_port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("rtpprobe: bind");
		return 1;
	}
	/* An IPv4 peer through a dual-stack socket: v4-mapped. */
	if (plen && peer.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&peer;
		struct sockaddr_in6 m = { .sin6_family = AF_INET6, .sin6_port = in->sin_port };

		m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m.sin6_addr.s6_addr[12], &in->sin_addr, 4);
		memcpy(&peer, &m, sizeof(m));
		plen = sizeof(m);
	}
	/* Ready: the lab waits for this line before it starts the flood. */
	printf("ready\n");
	fflush(stdout);

	step = 1000000000ull / pps;
	start = now_ns() + (uint64_t)delay_ms * 1000000ull;
	deadline = start + (uint64_t)timeout * 1000000000ull;
	for (;;) {
		uint64_t t = now_ns(), next = start + sent * step, sent_ns;
		int wait_ms = plen && sent < count
				      ? (next > t ? (int)((next - t) / 1000000) : 0)
				      : (int)((deadline - t) / 1000000 + 1);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t len;

		if (t >= deadline || (n >= count && (!plen || sent >= count)))
			break;
		if (plen && sent < count && t >= next) {
			send_one(fd, &peer, plen, sent++, pps, size, ssrc);
			continue;
		}
		if (poll(&pfd, 1, wait_ms) <= 0)
			continue;
		len = recv(fd, pkt, sizeof(pkt), 0);
		t = now_ns();
		if (len < RTP_HDR + 8 || vq_rtp_parse(pkt, (size_t)len, &h) || n >= count)
			continue;
		if (!started) {
			vq_rtp_stream_init(&rs, h.ssrc, 8000);
			started = true;
		}
		vq_rtp_stream_update(&rs, &h, t);
		memcpy(&sent_ns, pkt + RTP_HDR, sizeof(sent_ns));
		owd[n++] = t > sent_ns ? t - sent_ns : 0;
	}
	close(fd);

	/* One-way delays in arrival order, ms, for plots. */
	if (dump) {
		FILE *f = fopen(dump, "w");

		for (unsigned int i = 0; f && i < n; i++)
			fprintf(f, "%.3f\n", (double)owd[i] / 1e6);
		if (!f || fclose(f))
			perror("rtpprobe: --dump");
	}
	qsort(owd, n, sizeof(*owd), cmp_u64);
	{
		double p50 = n ? (double)owd[n / 2] / 1e6 : 0;
		double p99 = n ? (double)owd[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6 : 0;
		double maxd = n ? (double)owd[n - 1] / 1e6 : 0;
		/* Loss against what the peer was asked to send, not just gaps. */
		double loss = 100.0 * (double)(count - n) / (double)count;
		double jit = started ? vq_rtp_jitter_ms(&rs) : 0;
		struct vq_codec_impairment ci = vq_codec_impairment("PCMA");
		double mos = vq_emodel_mos(vq_emodel_r(p50 + 2 * jit, loss, &ci));

		if (json)
			printf("{\"expected\":%u,\"received\":%u,\"loss_pct\":%.3f,"
			       "\"owd_p50_ms\":%.3f,\"owd_p99_ms\":%.3f,"
			       "\"owd_max_ms\":%.3f,\"jitter_ms\":%.3f,\"mos\":%.2f}\n",
			       count, n, loss, p50, p99, maxd, jit, mos);
		else
			printf("expected=%u received=%u loss_pct=%.3f owd_p50_ms=%.3f "
			       "owd_p99_ms=%.3f owd_max_ms=%.3f jitter_ms=%.3f mos=%.2f\n",
			       count, n, loss, p50, p99, maxd, jit, mos);
	}
	free(owd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: rtpprobe PORT [--peer ADDR:PORT] [--count N] [--pps R] "
		       "[--size B] [--delay MS] [--timeout S] [--json] [--dump FILE]\n"
		       "A voice-like RTP stream on one socket: sends to --peer from PORT\n"
		       "and measures what arrives on PORT: loss, one-way delay, jitter, MOS.\n");
		return 0;
	}
	return do_run(argc, argv);
}
