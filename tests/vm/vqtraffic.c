// SPDX-License-Identifier: GPL-2.0
/*
 * vqtraffic: the VM tests' load. UDP, so results do not depend on the
 * guest's TCP stack or offloads, and deterministic enough to assert on —
 * but for stream/sink, which are there for the offloads:
 *
 *   send DST PORT [-s SECS] [-p PPS] [-l BYTES] [-t TOS] [-f FLOWS] [-r]
 *        [-P PRIORITY] [-S SOURCE_PORT] [-G N: skip a sequence number
 *        every N packets]
 *        PPS 0 floods (blocking sockets: the qdisc paces us); FLOWS sockets
 *        with their own source ports; -r sends RTP (G.711 timing).
 *   recv PORT [-s SECS] [-w SECS: count only the first SECS after the
 *        first packet]
 *        prints one line: packets, bytes, CE marks, one-way delay
 *        percentiles (sender and receiver share the guest's clock) and
 *        RTP loss from the sequence numbers.
 *   dgram DST PORT: send standard input as one datagram (a SIP message
 *        that the guest's tests hand-craft).
 *   stream DST PORT [-s SECS]: one TCP connection, written as fast as it
 *        takes for SECS: what hands a qdisc GSO packets (sink receives).
 *   sink PORT [-s SECS]: accept one TCP connection on PORT and read it
 *        until it ends or SECS pass; prints "bytes N".
 *
 * Every payload carries the send time (CLOCK_MONOTONIC) after a 12-byte
 * header, which is RTP version 2 with -r and zero otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 256
#define MAX_SAMPLES 500000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: vqtraffic send DST PORT [-s SECS] [-p PPS] [-l BYTES] [-t TOS] [-f FLOWS] [-r] [-P PRIO] [-S SPORT] [-G N]\n"
			"       vqtraffic recv PORT [-s SECS] [-w SECS]\n"
			"       vqtraffic dgram DST PORT < MESSAGE\n"
			"       vqtraffic stream DST PORT [-s SECS]\n"
			"       vqtraffic sink PORT [-s SECS]\n");
	exit(2);
}

static int addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int cmd_send(int argc, char **argv)
{
	int secs = 3, pps = 0, size = 200, tos = 0, flows = 1, rtp = 0, opt;
	int prio = -1, sport = 0, gap_every = 0;
	uint64_t gaps = 0;
	struct sockaddr_storage dst;
	int fds[MAX_FLOWS];
	unsigned char buf[1500];
	uint64_t start, end, next, sent = 0, gap;
	uint16_t seq = 1000;
	uint32_t ts = 0;
	socklen_t dlen;
	int i;

	if (argc < 3)
		usage();
	if (addr_parse(argv[1], (uint16_t)atoi(argv[2]), &dst, &dlen) < 0)
		usage();
	optind = 3;
	while ((opt = getopt(argc, argv, "s:p:l:t:f:rP:S:G:")) != -1) {
		switch (opt) {
		case 's': secs = atoi(optarg); break;
		case 'p': pps = atoi(optarg); break;
		case 'l': size = atoi(optarg); break;
		case 't': tos = (int)strtol(optarg, NULL, 0); break;
		case 'f': flows = atoi(optarg); break;
		case 'r': rtp = 1; break;
		case 'P': prio = (int)strtol(optarg, NULL, 0); break;
		case 'S': sport = atoi(optarg); break;
		case 'G': gap_every = atoi(optarg); break;
		default: usage();
		}
	}
	if (flows < 1 || flows > MAX_FLOWS || size < 24 || size > (int)sizeof(buf))
		usage();
	for (i = 0; i < flows; i++) {
		fds[i] = socket(dst.ss_family, SOCK_DGRAM, 0);
		if (fds[i] < 0) {
			perror("socket");
			return 1;
		}
		/* skb->priority, as the BPF classifier would set it. */
		if (prio >= 0 &&
		    setsockopt(fds[i], SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio))) {
			perror("SO_PRIORITY");
			return 1;
		}
		if (sport) {
			struct sockaddr_storage src;
			socklen_t slen;

			addr_parse(dst.ss_family == AF_INET ? "0.0.0.0" : "::",
				   (uint16_t)(sport + i), &src, &slen);
			if (bind(fds[i], (struct sockaddr *)&src, slen)) {
				perror("bind");
				return 1;
			}
		}
		if (dst.ss_family == AF_INET)
			setsockopt(fds[i], IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		else
			setsockopt(fds[i], IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	}
	memset(buf, 0, sizeof(buf));
	if (rtp) {
		buf[0] = 0x80; /* V=2 */
		buf[1] = 8;    /* PCMA */
		buf[8] = 0x12; buf[9] = 0x34; buf[10] = 0x56; buf[11] = 0x78;
	}
	start = now_ns();
	end = start + (uint64_t)secs * 1000000000ull;
	gap = pps ? 1000000000ull / (uint64_t)pps : 0;
	next = start;
	for (i = 0;; i = (i + 1) % flows) {
		uint64_t t = now_ns();

		if (t >= end)
			break;
		if (gap) {
			if (t < next) {
				struct timespec d = { 0, (long)(next - t) };

				nanosleep(&d, NULL);
			}
			next += gap;
		}
		if (rtp && gap_every && sent && sent % (uint64_t)gap_every == 0) {
			/* A packet "lost" before us: skip its number and time. */
			seq++;
			ts += 160;
			gaps++;
		}
		if (rtp) {
			buf[2] = (unsigned char)(seq >> 8);
			buf[3] = (unsigned char)seq;
			buf[4] = (unsigned char)(ts >> 24);
			buf[5] = (unsigned char)(ts >> 16);
			buf[6] = (unsigned char)(ts >> 8);
			buf[7] = (unsigned char)ts;
			seq++;
			ts += 160;
		}
		t = now_ns();
		memcpy(buf + 12, &t, sizeof(t));
		if (sendto(fds[i], buf, (size_t)size, 0, (struct sockaddr *)&dst,
			   dlen) >= 0)
			sent++;
	}
	printf("sent %" PRIu64 " gaps %" PRIu64 " pps %.0f\n", sent, gaps,
	       (double)sent / ((double)(now_ns() - start) / 1e9));
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_recv(int argc, char **argv)
{
	uint64_t packets = 0, bytes = 0, ce = 0, end, first = 0, last = 0;
	uint32_t seq_min = UINT32_MAX, seq_max = 0;
	struct sockaddr_in6 sa = { 0 };
	struct timeval tv = { 0, 100000 };
	unsigned char buf[2048], cbuf[256];
	uint64_t *delay;
	size_t nd = 0;
	int fd, one = 1, zero = 0, secs = 3, opt, rtp = 0;
	uint64_t window = 0;

	if (argc < 2)
		usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "s:w:")) != -1) {
		if (opt == 's')
			secs = atoi(optarg);
		else if (opt == 'w')
			window = (uint64_t)(atof(optarg) * 1e9);
		else
			usage();
	}
	delay = calloc(MAX_SAMPLES, sizeof(*delay));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0 || !delay) {
		perror("socket");
		return 1;
	}
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons((uint16_t)atoi(argv[1]));
	sa.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bind");
		return 1;
	}
	end = now_ns() + (uint64_t)secs * 1000000000ull;
	while (now_ns() < end) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &mh, 0);
		uint64_t t = now_ns(), sent;
		int tclass = 0;

		if (n < 20)
			continue;
		/* With a window, only what arrived while the load was on. */
		if (window && first && t > first + window)
			continue;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
				tclass = *(unsigned char *)CMSG_DATA(c);
			else if (c->cmsg_level == IPPROTO_IPV6 &&
				 c->cmsg_type == IPV6_TCLASS)
				tclass = *(int *)CMSG_DATA(c);
		}
		if ((tclass & 3) == 3)
			ce++;
		packets++;
		bytes += (uint64_t)n;
		if (!first)
			first = t;
		last = t;
		memcpy(&sent, buf + 12, sizeof(sent));
		if (nd < MAX_SAMPLES && t >= sent)
			delay[nd++] = t - sent;
		if (buf[0] >> 6 == 2) {
			uint32_t s = (uint32_t)(buf[2] << 8 | buf[3]);

			rtp = 1;
			seq_min = s < seq_min ? s : seq_min;
			seq_max = s > seq_max ? s : seq_max;
		}
	}
	qsort(delay, nd, sizeof(*delay), cmp_u64);
	printf("recv port %s packets %" PRIu64 " bytes %" PRIu64 " ce %" PRIu64
	       " pps %.0f delay_p50_us %" PRIu64 " delay_p99_us %" PRIu64
	       " delay_max_us %" PRIu64 " rtp_lost %" PRId64 "\n",
	       argv[1], packets, bytes, ce,
	       last > first ? (double)packets / ((double)(last - first) / 1e9) : 0.0,
	       nd ? delay[nd / 2] / 1000 : 0, nd ? delay[nd * 99 / 100] / 1000 : 0,
	       nd ? delay[nd - 1] / 1000 : 0,
	       rtp ? (int64_t)(seq_max - seq_min + 1) - (int64_t)packets : 0);
	free(delay);
	return 0;
}

static int cmd_dgram(int argc, char **argv)
{
	static char buf[65507];
	struct sockaddr_storage dst;
	socklen_t dlen;
	size_t n = 0;
	ssize_t r;
	int fd;

	if (argc != 3 || addr_parse(argv[1], (uint16_t)atoi(argv[2]), &dst, &dlen) < 0)
		usage();
	while (n < sizeof(buf) && (r = read(0, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, buf, n, 0, (struct sockaddr *)&dst, dlen) != (ssize_t)n) {
		perror("dgram");
		return 1;
	}
	close(fd);
	return 0;
}

/* SECS from argv's -s, the rest being DST PORT or PORT (@nargs of them). */
static int secs_arg(int argc, char **argv, int nargs)
{
	int secs = 3, opt;

	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt != 's')
			usage();
		secs = atoi(optarg);
	}
	if (argc - optind != nargs || secs <= 0)
		usage();
	return secs;
}

static int cmd_stream(int argc, char **argv)
{
	static char buf[1 << 16];
	int secs = secs_arg(argc, argv, 2);
	struct sockaddr_storage dst;
	uint64_t end;
	socklen_t dlen;
	int fd;

	if (addr_parse(argv[optind], (uint16_t)atoi(argv[optind + 1]), &dst,
		       &dlen) < 0)
		usage();
	fd = socket(dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dlen)) {
		perror("stream: connect");
		return 1;
	}
	end = now_ns() + (uint64_t)secs * 1000000000ull;
	while (now_ns() < end)
		if (write(fd, buf, sizeof(buf)) < 0) {
			perror("stream: write");
			return 1;
		}
	close(fd);
	return 0;
}

static int cmd_sink(int argc, char **argv)
{
	static char buf[1 << 16];
	int secs = secs_arg(argc, argv, 1);
	struct timeval tv = { .tv_sec = secs };
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons((uint16_t)atoi(argv[optind])),
	};
	uint64_t bytes = 0;
	int lfd, fd, one = 1;
	ssize_t r;

	lfd = socket(AF_INET6, SOCK_STREAM, 0); /* IPv4 too, mapped */
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
	    setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		perror("sink: listen");
		return 1;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("sink: accept");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		bytes += (uint64_t)r;
	printf("bytes %" PRIu64 "\n", bytes);
	close(fd);
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "recv"))
		return cmd_recv(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dgram"))
		return cmd_dgram(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stream"))
		return cmd_stream(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sink"))
		return cmd_sink(argc - 1, argv + 1);
	usage();
	return 2;
}
