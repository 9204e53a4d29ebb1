// SPDX-License-Identifier: GPL-2.0
/*
 * Learning-path benchmark: a realistic mix of SIP messages through the
 * tracker, the way voipqd sees them. Each call is INVITE with SDP, 100,
 * 180, 183 with SDP, 200 with SDP, ACK, BYE, 200; each registration is
 * REGISTER, 401, REGISTER, 200; plus one OPTIONS — thirteen messages.
 *
 *   bench_sip            time the mix, print messages per second, and time
 *                        TCP reassembly fed a header of CRs one byte per
 *                        segment (the worst case for finding its end)
 *   bench_sip --feed N   feed the mix N times (for callgrind, which counts
 *                        only inside feed_all: --toggle-collect=feed_all)
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dialog.h"
#include "reasm.h"

#define MIX_LEN 13

struct msg {
	char *data;
	size_t len;
};

static const char sdp_a[] =
	"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\n"
	"c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio %u RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
	"a=ptime:20\r\na=sendrecv\r\n";
static const char sdp_b[] =
	"v=0\r\no=bob 2808844564 2808844564 IN IP4 198.51.100.20\r\ns=-\r\n"
	"c=IN IP4 198.51.100.20\r\nt=0 0\r\nm=audio %u RTP/AVP 0 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	"a=ptime:20\r\na=sendrecv\r\n";

#define HDR_REQ \
	"%s sip:bob@198.51.100.20 SIP/2.0\r\n" \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%u%s;rport\r\n" \
	"Max-Forwards: 70\r\n" \
	"From: \"Alice\" <sip:alice@example.com>;tag=%u\r\n" \
	"To: <sip:bob@example.net>%s\r\n" \
	"Call-ID: %u-bench@192.0.2.10\r\n" \
	"CSeq: %u %s\r\n" \
	"Contact: <sip:alice@192.0.2.10:5060>\r\n" \
	"User-Agent: voipq-bench\r\n" \
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK\r\n" \
	"%s" \
	"Content-Length: %zu\r\n\r\n%s"

#define HDR_RESP \
	"SIP/2.0 %s\r\n" \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%u%s;rport=5060\r\n" \
	"From: \"Alice\" <sip:alice@example.com>;tag=%u\r\n" \
	"To: <sip:bob@example.net>%s\r\n" \
	"Call-ID: %u-bench@192.0.2.10\r\n" \
	"CSeq: %u %s\r\n" \
	"Contact: <sip:bob@198.51.100.20:5060>\r\n" \
	"Server: voipq-bench\r\n" \
	"%s" \
	"Content-Length: %zu\r\n\r\n%s"

static struct msg mk(bool req, const char *first, unsigned int id,
		     const char *branch, const char *totag, unsigned int cseq,
		     const char *method, const char *body)
{
	const char *ct = *body ? "Content-Type: application/sdp\r\n" : "";
	struct msg m;
	int n;

	if (req)
		n = asprintf(&m.data, HDR_REQ, first, id, branch, id, totag, id,
			     cseq, method, ct, strlen(body), body);
	else
		n = asprintf(&m.data, HDR_RESP, first, id, branch, id, totag, id,
			     cseq, method, ct, strlen(body), body);
	if (n < 0)
		abort();
	m.len = (size_t)n;
	return m;
}

/* One mix with its own Call-IDs, so that every INVITE is a new call. */
static void make_mix(struct msg *out, unsigned int id)
{
	char a[512], b[512], totag[32];
	unsigned int port = 10000 + (id % 20000) * 2;

	snprintf(a, sizeof(a), sdp_a, port);
	snprintf(b, sizeof(b), sdp_b, port + 40000 > 65534 ? port : port + 1000);
	snprintf(totag, sizeof(totag), ";tag=b%u", id);
	out[0] = mk(true, "INVITE", id, "i", "", 1, "INVITE", a);
	out[1] = mk(false, "100 Trying", id, "i", "", 1, "INVITE", "");
	out[2] = mk(false, "180 Ringing", id, "i", totag, 1, "INVITE", "");
	out[3] = mk(false, "183 Session Progress", id, "i", totag, 1,
		    "INVITE", b);
	out[4] = mk(false, "200 OK", id, "i", totag, 1, "INVITE", b);
	out[5] = mk(true, "ACK", id, "a", totag, 1, "ACK", "");
	out[6] = mk(true, "BYE", id, "b", totag, 2, "BYE", "");
	out[7] = mk(false, "200 OK", id, "b", totag, 2, "BYE", "");
	out[8] = mk(true, "REGISTER", id + 1000000, "r", "", 1, "REGISTER", "");
	out[9] = mk(false, "401 Unauthorized", id + 1000000, "r", totag, 1,
		    "REGISTER", "");
	out[10] = mk(true, "REGISTER", id + 1000000, "s", "", 2, "REGISTER", "");
	out[11] = mk(false, "200 OK", id + 1000000, "s", totag, 2, "REGISTER", "");
	out[12] = mk(true, "OPTIONS", id + 2000000, "o", "", 1, "OPTIONS", "");
}

static unsigned long events;

static int on_ep(void *ctx, const struct vq_ep_event *ev)
{
	events++;
	return 0;
}

static const struct vq_tracker_ops ops = { .ep_event = on_ep };

/* Not static and not inlined: callgrind toggles collection on it. */
__attribute__((noinline)) void feed_all(struct vq_tracker *t,
					const struct msg *msgs, size_t n);
__attribute__((noinline)) void feed_all(struct vq_tracker *t,
					const struct msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vq_tracker_input(t, (const uint8_t *)msgs[i].data, msgs[i].len,
				 1000000000ull + i * 1000000ull);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void no_sip(void *ctx, const struct vq_pkt_meta *m, const uint8_t *msg,
		   size_t len)
{
	abort();
}

/*
 * "INVITE sip:a@b SIP/2.0\r\nX: " and then CRs, one per segment: each
 * append may end the header section, and never does. max_message makes the
 * stream start over every 64 KiB, as a sender would.
 */
static double reasm_cr_ns_per_segment(void)
{
	static const char start[] = "INVITE sip:a@b SIP/2.0\r\nX: ";
	struct vq_reasm_cfg cfg = {
		.max_streams = 1, .max_buffer = 65536, .timeout_ms = 1000,
		.max_message = 65535,
	};
	struct vq_pkt_meta m = { 0 };
	struct vq_pkt_stats st = { 0 };
	struct vq_reasm *r = vq_reasm_new(&cfg, &st, no_sip, NULL);
	unsigned int n = 500000;
	uint32_t seq = 1;
	double t0, dt;

	if (!r)
		abort();
	m.src.family = m.dst.family = AF_INET;
	m.src.proto = m.dst.proto = IPPROTO_TCP;
	m.src.port = 40000;
	m.dst.port = 5060;
	vq_reasm_segment(r, &m, 0, VQ_TCP_SYN, NULL, 0);
	vq_reasm_segment(r, &m, seq, 0, (const uint8_t *)start,
			 strlen(start));
	seq += strlen(start);
	t0 = now_s();
	for (unsigned int i = 0; i < n; i++)
		vq_reasm_segment(r, &m, seq++, 0, (const uint8_t *)"\r", 1);
	dt = now_s() - t0;
	if (!st.sip_bad_framing) {
		fprintf(stderr,
			"bench_sip: the CR stream never hit max_message\n");
		abort();
	}
	vq_reasm_free(r);
	return dt / n * 1e9;
}

int main(int argc, char **argv)
{
	unsigned int mixes = argc > 2 && !strcmp(argv[1], "--feed")
				     ? (unsigned int)atoi(argv[2]) : 20000;
	size_t n = (size_t)mixes * MIX_LEN;
	struct msg *msgs = calloc(n, sizeof(*msgs));
	struct vq_tracker_cfg cfg;
	struct vq_tracker *t;
	double t0, dt, best = 1e9;
	int rounds = argc > 1 ? 1 : 3;

	if (!msgs || !mixes)
		return 1;
	for (unsigned int i = 0; i < mixes; i++)
		make_mix(&msgs[(size_t)i * MIX_LEN], i);
	vq_tracker_cfg_init(&cfg);

	for (int r = 0; r < rounds; r++) {
		t = vq_tracker_new(&cfg, &ops, NULL);
		if (!t)
			return 1;
		t0 = now_s();
		feed_all(t, msgs, n);
		dt = now_s() - t0;
		if (dt < best)
			best = dt;
		if (vq_tracker_stats(t)->calls_created != mixes) {
			fprintf(stderr, "bench_sip: %llu calls learned, want %u\n",
				(unsigned long long)vq_tracker_stats(t)->calls_created,
				mixes);
			return 1;
		}
		vq_tracker_free(t);
	}
	if (argc == 1) {
		printf("BENCH sip_learn_msgs_per_sec %.0f msg/s target >= 200000\n",
		       (double)n / best);
		printf("BENCH reasm_cr_header_ns_per_segment %.0f ns target <= 1000\n",
		       reasm_cr_ns_per_segment());
	}
	for (size_t i = 0; i < n; i++)
		free(msgs[i].data);
	free(msgs);
	return 0;
}
