// SPDX-License-Identifier: GPL-2.0
/*
 * voipqctl analyze over captures of real sipp calls (recorded by
 * tests/captures/record.sh): the JSON report must list exactly the
 * endpoints in each capture's .expect file, and follow its RTP.
 */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "suites.h"

#define CAPTURES VQ_TESTDATA "/captures"

static const char *const captures[] = {
	"sipp_udp4", "sipp_tcp4", "sipp_udp6",
	"sipp_udp4_mangled", "sipp_tcp4_mangled",
};
#define N_CAPTURES (sizeof(captures) / sizeof(captures[0]))

/*
 * The committed captures, and, when VQ_LIVE_CAPTURES names a directory
 * that record.sh just filled (make check does), the same calls recorded
 * afresh from sipp on this machine.
 */
static const char *capture_dir(int i)
{
	const char *live = getenv("VQ_LIVE_CAPTURES");

	return i < (int)N_CAPTURES || !live ? CAPTURES : live;
}

/* Expected endpoint lines, and the SIP ports from the "# ports:" line. */
static unsigned int read_expect(const char *dir, const char *name,
				char **lines, struct vq_decoder_cfg *dec)
{
	char path[512], line[512];
	unsigned int n = 0, a, b;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.expect", dir, name);
	f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "# ports: SIP %u (UAC) <-> %u", &a, &b) == 2) {
			dec->sip_ports[0] = (uint16_t)a;
			dec->sip_ports[1] = (uint16_t)b;
			dec->n_sip_ports = 2;
		}
		if (line[0] && line[0] != '#' && n < 32)
			lines[n++] = strdup(line);
	}
	fclose(f);
	ck_assert_msg(dec->n_sip_ports == 2, "%s: no '# ports:' line", path);
	return n;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static json_object *analyze_json(const char *dir, const char *name,
				 struct vq_analyze_cfg *cfg)
{
	struct vq_analysis *a;
	char path[512], err[256], *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct vq_out *o = vq_out_new(mem, true);
	json_object *doc;
	int ret;

	snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
	ret = vq_analyze_file(path, cfg, &a, err, sizeof(err));
	ck_assert_msg(ret == 0, "%s: %s", path, err);
	vq_analysis_print(a, o);
	vq_out_finish(o);
	fclose(mem);
	vq_analysis_free(a);
	doc = json_tokener_parse(buf);
	ck_assert_msg(doc, "%s: analyze printed invalid JSON", name);
	free(buf);
	return doc;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return v;
}

START_TEST(sipp_capture_yields_expected_endpoints_and_streams)
{
	const char *name = captures[_i % N_CAPTURES], *dir = capture_dir(_i);
	struct vq_analyze_cfg cfg;
	char *want[32], *got[32], buf[256];
	unsigned int n_want, n_got = 0;
	json_object *doc, *calls, *call, *eps, *streams;
	uint64_t rtp = 0;

	vq_analyze_cfg_init(&cfg);
	n_want = read_expect(dir, name, want, &cfg.dec);
	doc = analyze_json(dir, name, &cfg);
	calls = get(doc, "calls");
	ck_assert_int_eq(json_object_array_length(calls), 1);
	call = json_object_array_get_idx(calls, 0);
	ck_assert_str_eq(json_object_get_string(get(call, "state")), "ended");

	eps = get(call, "endpoints");
	for (size_t i = 0; i < json_object_array_length(eps) && n_got < 32; i++) {
		json_object *e = json_object_array_get_idx(eps, i);

		snprintf(buf, sizeof(buf), "%s %d %s %s",
			 json_object_get_string(get(e, "addr")),
			 json_object_get_int(get(e, "port")),
			 json_object_get_string(get(e, "kind")),
			 json_object_get_string(get(e, "side")));
		got[n_got++] = strdup(buf);
	}
	qsort(want, n_want, sizeof(*want), cmp_str);
	qsort(got, n_got, sizeof(*got), cmp_str);
	ck_assert_uint_eq(n_got, n_want);
	for (unsigned int i = 0; i < n_want; i++) {
		ck_assert_str_eq(got[i], want[i]);
		free(got[i]);
		free(want[i]);
	}

	/* The G.711 stream sipp plays reaches the learned endpoints, whole. */
	streams = get(call, "streams");
	ck_assert_int_ge(json_object_array_length(streams), 2);
	for (size_t i = 0; i < json_object_array_length(streams); i++) {
		json_object *s = json_object_array_get_idx(streams, i);

		rtp += (uint64_t)json_object_get_int64(get(s, "packets"));
		ck_assert_double_eq(json_object_get_double(get(s, "loss_pct")), 0);
		ck_assert_double_ge(json_object_get_double(get(s, "mos")), 4.3);
	}
	ck_assert_uint_ge(rtp, 400);
	json_object_put(doc);
}
END_TEST

START_TEST(missing_file_is_a_clear_error)
{
	struct vq_analyze_cfg cfg;
	struct vq_analysis *a;
	char err[256] = "";

	vq_analyze_cfg_init(&cfg);
	ck_assert_int_eq(vq_analyze_file("/nonexistent/x.pcap", &cfg, &a, err,
					 sizeof(err)), -ENOENT);
	ck_assert_ptr_null(a);
	ck_assert_msg(strlen(err) > 0 && !strchr(err, '\n'), "err: '%s'", err);
}
END_TEST

START_TEST(text_file_is_not_a_capture)
{
	struct vq_analyze_cfg cfg;
	struct vq_analysis *a;
	char err[256] = "";

	vq_analyze_cfg_init(&cfg);
	ck_assert_int_lt(vq_analyze_file(VQ_TESTDATA "/sip/basic_call_offer_answer_bye.sip",
					 &cfg, &a, err, sizeof(err)), 0);
	ck_assert_ptr_null(a);
	ck_assert_msg(strlen(err) > 0 && !strchr(err, '\n'), "err: '%s'", err);
}
END_TEST

/* A capture cut mid-record: an error, and what came before is kept. */
START_TEST(truncated_capture_keeps_what_was_read)
{
	char src[256], dst[] = "/tmp/voipq-trunc-XXXXXX", err[256] = "";
	struct vq_analyze_cfg cfg;
	struct vq_analysis *a;
	static char buf[1 << 20];
	size_t n;
	FILE *in, *out;
	int fd;

	snprintf(src, sizeof(src), "%s/sipp_udp4.pcap", CAPTURES);
	in = fopen(src, "rb");
	ck_assert_ptr_nonnull(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	fd = mkstemp(dst);
	ck_assert_int_ge(fd, 0);
	out = fdopen(fd, "wb");
	/* Keep about two thirds: past the SIP, into the RTP. */
	ck_assert_uint_eq(fwrite(buf, 1, n * 2 / 3 + 7, out), n * 2 / 3 + 7);
	fclose(out);

	vq_analyze_cfg_init(&cfg);
	cfg.dec.sip_ports[0] = 15060;
	cfg.dec.sip_ports[1] = 15062;
	cfg.dec.n_sip_ports = 2;
	ck_assert_int_eq(vq_analyze_file(dst, &cfg, &a, err, sizeof(err)), -EIO);
	ck_assert_ptr_nonnull(a);
	ck_assert_msg(strstr(err, "truncated"), "err: '%s'", err);
	vq_analysis_free(a);
	unlink(dst);
}
END_TEST

Suite *analyze_suite(void)
{
	Suite *s = suite_create("analyze");
	TCase *tc = tcase_create("captures");
	TCase *te = tcase_create("errors");

	tcase_add_loop_test(tc, sipp_capture_yields_expected_endpoints_and_streams,
			    0, (int)N_CAPTURES * (getenv("VQ_LIVE_CAPTURES") ? 2 : 1));
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(te, missing_file_is_a_clear_error);
	tcase_add_test(te, text_file_is_not_a_capture);
	tcase_add_test(te, truncated_capture_keeps_what_was_read);
	suite_add_tcase(s, te);
	return s;
}
