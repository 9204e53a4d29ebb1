// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "packet.h"
#include "pktbuild.h"
#include "suites.h"

static char path[64];
static char err[512];
static struct vq_decoder *dec;
static struct rec rec;

static void setup(void)
{
	struct vq_decoder_cfg cfg;
	int fd;

	snprintf(path, sizeof(path), "/tmp/voipq-capture-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	err[0] = 0;
	vq_decoder_cfg_init(&cfg);
	memset(&rec, 0, sizeof(rec));
	dec = vq_decoder_new(&cfg, &rec_ops, &rec);
	ck_assert_ptr_nonnull(dec);
}

static void teardown(void)
{
	unlink(path);
	vq_decoder_free(dec);
}

/* An Ethernet frame carrying UDP @sport -> @dport with @payload. */
static size_t udp_frame(uint8_t *out, uint16_t sport, uint16_t dport,
			const char *payload)
{
	uint8_t l4[2048], l3[2048];
	size_t n = udp_wrap(l4, sport, dport, payload, strlen(payload));

	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
	return eth_wrap(out, 0x0800, l3, n);
}

/* Write @count SIP frames to @path with libpcap's own writer. */
static void write_pcap(int count)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *dump = pcap_dump_open(p, path);
	uint8_t frame[2048];

	ck_assert_ptr_nonnull(dump);
	for (int i = 0; i < count; i++) {
		struct pcap_pkthdr h = { .ts = { .tv_sec = 100 + i } };

		h.caplen = h.len = udp_frame(frame, 5060, 5060, SIP_OPTIONS);
		pcap_dump((u_char *)dump, &h, frame);
	}
	pcap_dump_close(dump);
	pcap_close(p);
}

static void write_file(const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(missing_file_is_enoent)
{
	struct vq_capture *c = (void *)1;

	ck_assert_int_eq(vq_capture_open_file(&c, "/nonexistent/x.pcap", err,
					      sizeof(err)), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "/nonexistent/x.pcap: No such file or directory");
}
END_TEST

START_TEST(text_file_is_not_a_capture_file)
{
	static const char text[] = "INVITE sip:bob@example.com SIP/2.0\r\n";
	struct vq_capture *c;

	write_file(text, strlen(text));
	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a capture file"));
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(empty_file_is_not_a_capture_file)
{
	struct vq_capture *c;

	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a capture file"));
}
END_TEST

START_TEST(directory_is_eisdir)
{
	struct vq_capture *c;

	ck_assert_int_eq(vq_capture_open_file(&c, "/tmp", err, sizeof(err)),
			 -EISDIR);
}
END_TEST

START_TEST(pcap_file_is_read_to_the_end)
{
	struct vq_capture *c;
	uint64_t pos, size;

	write_pcap(3);
	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(vq_capture_fd(c), -1);
	ck_assert_int_eq(vq_capture_dispatch(c, dec, 2, err, sizeof(err)), 2);
	ck_assert_int_eq(vq_capture_dispatch(c, dec, 0, err, sizeof(err)), 1);
	ck_assert_int_eq(vq_capture_dispatch(c, dec, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(rec.nsip, 3);
	ck_assert_uint_eq(rec.meta[2].ts_ns, 102000000000ull);
	vq_capture_progress(c, &pos, &size);
	ck_assert_uint_eq(size, 24 + 3 * (16 + 14 + 28 + strlen(SIP_OPTIONS)));
	ck_assert_uint_eq(pos, size);
	ck_assert_uint_eq(vq_capture_drops(c), 0);
	vq_capture_close(c);
}
END_TEST

START_TEST(truncated_pcap_is_eio_after_good_packets)
{
	struct vq_capture *c;
	FILE *f;
	long size;

	write_pcap(3);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	/* Cut the last record in the middle of its data. */
	ck_assert_int_eq(truncate(path, size - 20), 0);

	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(vq_capture_dispatch(c, dec, 0, err, sizeof(err)),
			 -EIO);
	ck_assert_ptr_nonnull(strstr(err, "capture file is truncated"));
	ck_assert_int_eq(rec.nsip, 2);
	vq_capture_close(c);

	/* And cut inside a record header. */
	ck_assert_int_eq(truncate(path, 24 + 8), 0);
	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(vq_capture_dispatch(c, dec, 0, err, sizeof(err)),
			 -EIO);
	ck_assert_ptr_nonnull(strstr(err, "capture file is truncated"));
	vq_capture_close(c);
}
END_TEST

START_TEST(truncated_file_header_is_eio)
{
	static const uint8_t magic[] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0 };
	struct vq_capture *c;

	write_file(magic, sizeof(magic));
	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)),
			 -EIO);
	ck_assert_ptr_nonnull(strstr(err, "capture file is truncated"));
}
END_TEST

static size_t put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
	return 4;
}

START_TEST(pcapng_file_is_read)
{
	uint8_t f[4096], frame[2048];
	size_t n = udp_frame(frame, 5060, 5060, SIP_OPTIONS);
	size_t pad = (4 - n % 4) % 4, o = 0;
	struct vq_capture *c;

	/* Section header, interface description, one enhanced packet. */
	o += put_le32(f + o, 0x0a0d0d0a);
	o += put_le32(f + o, 28);
	o += put_le32(f + o, 0x1a2b3c4d);
	o += put_le32(f + o, 1);            /* version 1.0 */
	o += put_le32(f + o, 0xffffffff);   /* section length unknown */
	o += put_le32(f + o, 0xffffffff);
	o += put_le32(f + o, 28);
	o += put_le32(f + o, 1);
	o += put_le32(f + o, 20);
	o += put_le32(f + o, DLT_EN10MB);
	o += put_le32(f + o, 65535);
	o += put_le32(f + o, 20);
	o += put_le32(f + o, 6);
	o += put_le32(f + o, 32 + n + pad);
	o += put_le32(f + o, 0);
	o += put_le32(f + o, 0);            /* microseconds, high word */
	o += put_le32(f + o, 5000000);      /* 5 s */
	o += put_le32(f + o, n);
	o += put_le32(f + o, n);
	memcpy(f + o, frame, n);
	memset(f + o + n, 0, pad);
	o += n + pad;
	o += put_le32(f + o, 32 + n + pad);
	write_file(f, o);

	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(vq_capture_dispatch(c, dec, 0, err, sizeof(err)), 1);
	ck_assert_int_eq(rec.nsip, 1);
	ck_assert_uint_eq(rec.meta[0].ts_ns, 5000000000ull);
	vq_capture_close(c);
}
END_TEST

START_TEST(unsupported_link_type_is_refused)
{
	pcap_t *p = pcap_open_dead(DLT_IEEE802_11, 65535);
	pcap_dumper_t *dump = pcap_dump_open(p, path);
	struct vq_capture *c;

	pcap_dump_close(dump);
	pcap_close(p);
	ck_assert_int_eq(vq_capture_open_file(&c, path, err, sizeof(err)),
			 -EPROTONOSUPPORT);
	ck_assert_ptr_nonnull(strstr(err, "IEEE802_11"));
}
END_TEST

/* --- the live filter -------------------------------------------------- */

static int filter_passes(struct bpf_program *prog, const uint8_t *frame,
			 size_t len)
{
	struct pcap_pkthdr h = { .caplen = len, .len = len };

	return pcap_offline_filter(prog, &h, frame) != 0;
}

START_TEST(filter_compiles_and_selects_sip)
{
	static const uint16_t qinq[] = { 0x88a8, 0x8100 };
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	uint8_t l4[2048], l3[2048], fr[2048], tmp[2048];
	struct vq_decoder_cfg cfg;
	struct bpf_program prog;
	char filter[4096];
	size_t n;

	vq_decoder_cfg_init(&cfg);
	ck_assert_int_eq(vq_capture_filter(&cfg, filter, sizeof(filter)), 0);
	ck_assert_int_eq(pcap_compile(p, &prog, filter, 1,
				      PCAP_NETMASK_UNKNOWN), 0);

	n = udp_frame(fr, 40000, 5060, SIP_OPTIONS);
	ck_assert(filter_passes(&prog, fr, n));
	n = udp_frame(fr, 4000, 4002, "rtp");
	ck_assert(!filter_passes(&prog, fr, n));

	/* SIP behind one and two VLAN tags; RTP behind one. */
	n = udp_wrap(l4, 5060, 5060, "x", 1);
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
	ck_assert(filter_passes(&prog, fr, eth_wrap_tags(fr, qinq, 1, 0x0800,
							 l3, n)));
	ck_assert(filter_passes(&prog, fr, eth_wrap_tags(fr, qinq, 2, 0x0800,
							 l3, n)));
	n = udp_wrap(l4, 4000, 4002, "x", 1);
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
	ck_assert(!filter_passes(&prog, fr, eth_wrap_tags(fr, qinq, 1, 0x0800,
							  l3, n)));

	/* TLS and TCP SIP pass; HTTP does not. */
	n = tcp_wrap(l4, 40000, 5061, 1, 0, "x", 1);
	n = ipv4_wrap(l3, "192.0.2.1", "192.0.2.2", IPPROTO_TCP, l4, n);
	ck_assert(filter_passes(&prog, fr, eth_wrap(fr, 0x0800, l3, n)));
	n = tcp_wrap(l4, 40000, 80, 1, 0, "x", 1);
	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, l4, n);
	ck_assert(!filter_passes(&prog, fr, eth_wrap(fr, 0x86dd, l3, n)));

	/* Fragments without ports, and tunnels. */
	n = ipv4_wrap_opt(l3, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, 5, 1, 0,
			  "12345678", 8);
	ck_assert(filter_passes(&prog, fr, eth_wrap(fr, 0x0800, l3, n)));
	n = ipv6_frag_wrap(tmp, IPPROTO_UDP, 1, 8, 0, "12345678", 8);
	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_FRAGMENT, tmp,
		      n);
	ck_assert(filter_passes(&prog, fr, eth_wrap(fr, 0x86dd, l3, n)));
	n = udp_wrap(l4, 4000, 4002, "x", 1);
	n = ipv4_wrap(tmp, "192.0.2.1", "192.0.2.2", IPPROTO_UDP, l4, n);
	n = ipv4_wrap(l3, "198.51.100.1", "198.51.100.2", IPPROTO_IPIP, tmp,
		      n);
	ck_assert(filter_passes(&prog, fr, eth_wrap(fr, 0x0800, l3, n)));
	n = ipv6_wrap(l3, "2001:db8::1", "2001:db8::2", IPPROTO_IPIP, tmp,
		      48);
	ck_assert(filter_passes(&prog, fr, eth_wrap(fr, 0x86dd, l3, n)));

	pcap_freecode(&prog);
	pcap_close(p);
}
END_TEST

START_TEST(filter_with_every_port_compiles)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	struct vq_decoder_cfg cfg;
	struct bpf_program prog;
	char filter[4096];

	vq_decoder_cfg_init(&cfg);
	for (int i = 0; i < VQ_MAX_SIP_PORTS; i++) {
		cfg.sip_ports[i] = 65535 - i;
		cfg.tls_ports[i] = 60000 - i;
	}
	cfg.n_sip_ports = cfg.n_tls_ports = VQ_MAX_SIP_PORTS;
	ck_assert_int_eq(vq_capture_filter(&cfg, filter, sizeof(filter)), 0);
	ck_assert_int_eq(pcap_compile(p, &prog, filter, 1,
				      PCAP_NETMASK_UNKNOWN), 0);
	pcap_freecode(&prog);
	pcap_close(p);
	ck_assert_int_eq(vq_capture_filter(&cfg, filter, 100), -ENOSPC);
	cfg.n_sip_ports = cfg.n_tls_ports = 0;
	ck_assert_int_eq(vq_capture_filter(&cfg, filter, sizeof(filter)),
			 -EINVAL);
}
END_TEST

START_TEST(live_capture_on_missing_interface_is_enodev)
{
	struct vq_decoder_cfg cfg;
	struct vq_capture *c;
	int ret;

	vq_decoder_cfg_init(&cfg);
	ret = vq_capture_open_live(&c, "vq-no-such0", &cfg, err, sizeof(err));
	/* Unprivileged runs are refused before the lookup. */
	ck_assert(ret == -ENODEV || ret == -EPERM);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err, "vq-no-such0"));
}
END_TEST

Suite *capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tc;

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_file_is_enoent);
	tcase_add_test(tc, text_file_is_not_a_capture_file);
	tcase_add_test(tc, empty_file_is_not_a_capture_file);
	tcase_add_test(tc, directory_is_eisdir);
	tcase_add_test(tc, pcap_file_is_read_to_the_end);
	tcase_add_test(tc, truncated_pcap_is_eio_after_good_packets);
	tcase_add_test(tc, truncated_file_header_is_eio);
	tcase_add_test(tc, pcapng_file_is_read);
	tcase_add_test(tc, unsupported_link_type_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("live");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, filter_compiles_and_selects_sip);
	tcase_add_test(tc, filter_with_every_port_compiles);
	tcase_add_test(tc, live_capture_on_missing_interface_is_enodev);
	suite_add_tcase(s, tc);
	return s;
}
