// SPDX-License-Identifier: GPL-2.0
/*
 * voipqctl: the command-line face of voipq. A table of commands, each with
 * its own options and usage text (after xdp-tools' DEFINE_COMMAND); every
 * view goes through the one output layer, so each has a --json form.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "ctl.h"
#include "endpoint.h"
#include "log.h"
#include "output.h"

/* Exit codes: 0 ok, 1 the operation failed, 2 usage error. */
#define EXIT_USAGE 2

struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *f);
};

static const struct command *find_command(const char *name);

/* --- analyze ------------------------------------------------------------- */

static void analyze_usage(FILE *f)
{
	fprintf(f,
		"Usage: voipqctl analyze [OPTIONS] FILE\n"
		"\n"
		"Read a pcap or pcapng capture and show every call in it: its\n"
		"timeline, final state, the media endpoints voipq learns from its\n"
		"SDP, and loss, jitter and an estimated MOS for each RTP stream that\n"
		"reaches a learned endpoint.\n"
		"\n"
		"Options:\n"
		"  -j, --json            print one JSON document\n"
		"  -p, --sip-ports LIST  SIP ports, comma-separated (default 5060)\n"
		"  -t, --tls-ports LIST  SIP-over-TLS ports, counted only (default 5061)\n"
		"  -q, --quiet           no progress indicator\n"
		"  -v, --verbose         log decoding problems to stderr\n"
		"  -h, --help            show this help\n");
}

static int parse_ports(const char *s, uint16_t *ports, unsigned int *n)
{
	char *end;
	unsigned long v;

	*n = 0;
	do {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end == s || v == 0 || v > 65535 ||
		    (*end && *end != ','))
			return -EINVAL;
		if (*n == VQ_MAX_SIP_PORTS)
			return -E2BIG;
		ports[(*n)++] = (uint16_t)v;
		s = end + 1;
	} while (*end == ',');
	return 0;
}

struct progress {
	const char *path;
	struct timespec last;
	bool shown;
};

static void show_progress(void *arg, uint64_t pos, uint64_t size)
{
	struct progress *p = arg;
	struct timespec now;

	if (!size)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - p->last.tv_sec) * 1000000000L +
		    (now.tv_nsec - p->last.tv_nsec) < 200000000L)
		return;
	p->last = now;
	p->shown = true;
	fprintf(stderr, "\ranalyzing %s: %3u%% (%llu of %llu MB)", p->path,
		(unsigned int)(pos * 100 / size), (unsigned long long)(pos >> 20),
		(unsigned long long)(size >> 20));
}

static int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sip-ports", required_argument, NULL, 'p' },
		{ "tls-ports", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vq_analyze_cfg cfg;
	struct progress prog = { 0 };
	struct vq_analysis *a;
	bool json = false, quiet = false;
	struct vq_out *o;
	char err[256];
	int c, ret;

	vq_analyze_cfg_init(&cfg);
	while ((c = getopt_long(argc, argv, "jp:t:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			if (parse_ports(optarg, cfg.dec.sip_ports,
					&cfg.dec.n_sip_ports)) {
				fprintf(stderr, "voipqctl analyze: bad port list '%s': "
					"give 1 to %d ports from 1-65535, e.g. 5060,5080\n",
					optarg, VQ_MAX_SIP_PORTS);
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (parse_ports(optarg, cfg.dec.tls_ports,
					&cfg.dec.n_tls_ports)) {
				fprintf(stderr, "voipqctl analyze: bad port list '%s': "
					"give 1 to %d ports from 1-65535, e.g. 5061\n",
					optarg, VQ_MAX_SIP_PORTS);
				return EXIT_USAGE;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			vq_log_set_level(VQ_LOG_DEBUG);
			break;
		case 'h':
			analyze_usage(stdout);
			return EXIT_SUCCESS;
		default:
			analyze_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "voipqctl analyze: %s\n",
			optind == argc ? "which capture file? e.g. "
					 "voipqctl analyze call.pcap"
				       : "give exactly one capture file");
		return EXIT_USAGE;
	}
	if (!quiet && isatty(STDERR_FILENO)) {
		prog.path = argv[optind];
		cfg.progress = show_progress;
		cfg.progress_arg = &prog;
	}

	ret = vq_analyze_file(argv[optind], &cfg, &a, err, sizeof(err));
	if (prog.shown)
		fprintf(stderr, "\r\033[K");
	if (a) {
		o = vq_out_new(stdout, json);
		if (!o) {
			vq_analysis_free(a);
			return EXIT_FAILURE;
		}
		vq_analysis_print(a, o);
		vq_out_finish(o);
		vq_analysis_free(a);
	}
	if (ret) {
		fprintf(stderr, "voipqctl analyze: %s: %s\n", argv[optind], err);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}


/* --- commands that ask voipqd ------------------------------------------- */

static const char *sock_path = "/run/voipq.sock";

/* common_opts() after printing --help: the command exits successfully. */
#define OPT_HELP (-1000)

/* Exit status for a negative common_opts() result. */
static int opt_exit(int ret)
{
	return ret == OPT_HELP ? EXIT_SUCCESS : EXIT_USAGE;
}

/* Common options of the daemon commands: --json, --socket, --help. */
struct common {
	bool json;
	unsigned int interval; /* watch */
};

static int common_opts(int argc, char **argv, struct common *c,
		       void (*usage_fn)(FILE *), int min_args, int max_args)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "js:i:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c->json = true;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'i':
			c->interval = (unsigned int)atoi(optarg);
			if (c->interval < 1 || c->interval > 3600) {
				fprintf(stderr, "voipqctl: --interval wants 1-3600 seconds\n");
				return -1;
			}
			break;
		case 'h':
			usage_fn(stdout);
			return OPT_HELP;
		default:
			usage_fn(stderr);
			return -1;
		}
	}
	if (argc - optind < min_args || argc - optind > max_args) {
		usage_fn(stderr);
		return -1;
	}
	return optind;
}

/* Ask voipqd; print its error and return non-zero when it has one. */
static int ask(json_object *req, json_object **reply)
{
	char err[512];
	json_object *e;

	if (vq_ctl_request(sock_path, req, reply, 3000, err, sizeof(err))) {
		fprintf(stderr, "voipqctl: %s\n", err);
		return EXIT_FAILURE;
	}
	if (json_object_object_get_ex(*reply, "error", &e)) {
		fprintf(stderr, "voipqctl: %s\n", json_object_get_string(e));
		json_object_put(*reply);
		*reply = NULL;
		return EXIT_FAILURE;
	}
	return 0;
}

static json_object *request(const char *cmd)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return req;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static uint64_t ju64(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static double jdbl(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : 0;
}

static json_object *jarr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) &&
			       json_object_is_type(v, json_type_array)
		       ? v : NULL;
}

static void render_status(struct vq_out *o, json_object *r)
{
	json_object *ifs = jarr(r, "interfaces"), *att = jarr(r, "attached"), *c;

	vq_out_object_open(o, NULL);
	vq_out_str(o, "backend", "backend", jstr(r, "backend"));
	vq_out_str(o, "uplink", "uplink", jstr(r, "uplink"));
	vq_out_str(o, "downlink", "downlink", jstr(r, "downlink"));
	vq_out_str(o, "leaf", "leaf qdisc", jstr(r, "leaf"));
	vq_out_list_open(o, "attached", "attached", ", ");
	for (size_t i = 0; att && i < json_object_array_length(att); i++)
		vq_out_elem_str(o, json_object_get_string(json_object_array_get_idx(att, i)));
	vq_out_array_close(o);
	vq_out_u64(o, "uptime_s", "uptime (s)", ju64(r, "uptime_s"));
	if (json_object_object_get_ex(r, "learn_latency_us", &c)) {
		/* SIP packet received -> its endpoint in the datapath. */
		vq_out_text(o, "learn latency (us):");
		vq_out_object_open(o, "learn_latency_us");
		vq_out_u64(o, "samples", "samples", ju64(c, "samples"));
		vq_out_u64(o, "p50", "p50", ju64(c, "p50"));
		vq_out_u64(o, "p99", "p99", ju64(c, "p99"));
		vq_out_u64(o, "max", "max", ju64(c, "max"));
		vq_out_object_close(o);
	}
	vq_out_text(o, "interfaces:");
	vq_out_table_open(o, "interfaces");
	for (size_t i = 0; ifs && i < json_object_array_length(ifs); i++) {
		json_object *f = json_object_array_get_idx(ifs, i);

		vq_out_object_open(o, NULL);
		vq_out_str(o, "name", "NAME", jstr(f, "name"));
		vq_out_str(o, "role", "ROLE", jstr(f, "role"));
		vq_out_str(o, "capture", "CAPTURE", jstr(f, "capture"));
		vq_out_u64(o, "capture_drops", "CAPTURE-DROPS", ju64(f, "capture_drops"));
		vq_out_object_close(o);
	}
	vq_out_array_close(o);
	if (json_object_object_get_ex(r, "counters", &c)) {
		static const char *const keys[] = {
			"sip_seen", "sip_tls_seen", "sip_duplicates", "sip_invalid",
			"calls_active", "learned", "evicted", "calls_refused",
			"endpoints_refused", "sip_flows", "sip_flows_refused",
			"prioritised", "demoted", "acks_prioritised",
			"backend_errors", "ctl_refused", "ctl_expired", "relinks",
		};

		vq_out_text(o, "counters:");
		vq_out_object_open(o, "counters");
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			vq_out_u64(o, keys[i], keys[i], ju64(c, keys[i]));
		vq_out_object_close(o);
	}
	vq_out_object_close(o);
}

/* One figure with two decimals, or "-" when there is none (@have false). */
static void fig(char *buf, size_t len, bool have, double v)
{
	if (have)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "-");
}

static void render_calls(struct vq_out *o, json_object *r)
{
	json_object *calls = jarr(r, "calls");

	vq_out_object_open(o, NULL);
	vq_out_table_open(o, "calls");
	for (size_t i = 0; calls && i < json_object_array_length(calls); i++) {
		json_object *c = json_object_array_get_idx(calls, i);
		json_object *eps = jarr(c, "endpoints");
		char num[24];
		bool rtp;

		vq_out_object_open(o, NULL);
		vq_out_str(o, "call_id", "CALL-ID", jstr(c, "call_id"));
		vq_out_str(o, "from", "FROM", jstr(c, "from"));
		vq_out_str(o, "to", "TO", jstr(c, "to"));
		vq_out_str(o, "state", "STATE", jstr(c, "state"));
		vq_out_u64(o, "age_s", "AGE(s)", ju64(c, "age_s"));
		vq_out_u64(o, NULL, "ENDPOINTS", eps ? json_object_array_length(eps) : 0);
		/*
		 * The call's worst RTP stream; in text "-", in JSON mos 0,
		 * before any RTP went through.
		 */
		rtp = jdbl(c, "mos") > 0;
		vq_out_dbl(o, "loss_pct", NULL, 2, jdbl(c, "loss_pct"));
		vq_out_dbl(o, "jitter_ms", NULL, 2, jdbl(c, "jitter_ms"));
		vq_out_dbl(o, "mos", NULL, 2, jdbl(c, "mos"));
		fig(num, sizeof(num), rtp, jdbl(c, "loss_pct"));
		vq_out_str(o, NULL, "LOSS%", num);
		fig(num, sizeof(num), rtp, jdbl(c, "jitter_ms"));
		vq_out_str(o, NULL, "JITTER-MS", num);
		fig(num, sizeof(num), rtp, jdbl(c, "mos"));
		vq_out_str(o, NULL, "MOS", num);
		if (vq_out_is_json(o)) {
			vq_out_table_open(o, "endpoints");
			for (size_t j = 0; eps && j < json_object_array_length(eps); j++) {
				json_object *e = json_object_array_get_idx(eps, j);

				vq_out_object_open(o, NULL);
				vq_out_str(o, "addr", NULL, jstr(e, "addr"));
				vq_out_u64(o, "port", NULL, ju64(e, "port"));
				vq_out_str(o, "kind", NULL, jstr(e, "kind"));
				vq_out_str(o, "side", NULL, jstr(e, "side"));
				vq_out_str(o, "codec", NULL, jstr(e, "codec"));
				vq_out_object_close(o);
			}
			vq_out_array_close(o);
		}
		vq_out_object_close(o);
	}
	vq_out_array_close(o);
	if (!calls || !json_object_array_length(calls))
		vq_out_text(o, "no calls");
	vq_out_object_close(o);
}

/* "to/from" of one figure of the two directions, "-" for one without RTP. */
static void dir_pair(char *buf, size_t len, json_object *to, json_object *from,
		     const char *key, int prec)
{
	json_object *d[2] = { to, from };
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		const char *sep = i ? "/" : "";

		if (d[i] && ju64(d[i], "packets"))
			n += snprintf(buf + n, len - n, "%s%.*f", sep, prec,
				      jdbl(d[i], key));
		else
			n += snprintf(buf + n, len - n, "%s-", sep);
		if (n >= len)
			return;
	}
}

/* A flow's address, with its prefix length when it is a prefix rule. */
static const char *flow_addr(json_object *f, char *buf, size_t len)
{
	struct vq_prefix p = { 0 };
	json_object *v;

	if (vq_addr_parse(&p.ep, jstr(f, "addr")))
		return jstr(f, "addr");
	p.len = (uint8_t)vq_prefix_full(p.ep.family);
	if (json_object_object_get_ex(f, "prefix_len", &v) &&
	    json_object_get_int64(v) >= 0 && json_object_get_int64(v) < p.len)
		p.len = (uint8_t)json_object_get_int64(v);
	return vq_prefix_addr_str(&p, buf, len);
}

/* One direction's RTP figures, in JSON only. */
static void render_rtp_dir(struct vq_out *o, const char *key, json_object *d)
{
	vq_out_object_open(o, key);
	vq_out_u64(o, "ssrc", NULL, ju64(d, "ssrc"));
	vq_out_u64(o, "packets", NULL, ju64(d, "packets"));
	vq_out_u64(o, "expected", NULL, ju64(d, "expected"));
	vq_out_i64(o, "lost", NULL, (int64_t)ju64(d, "lost"));
	vq_out_dbl(o, "loss_pct", NULL, 2, jdbl(d, "loss_pct"));
	vq_out_dbl(o, "jitter_ms", NULL, 2, jdbl(d, "jitter_ms"));
	vq_out_dbl(o, "mos", NULL, 2, jdbl(d, "mos"));
	vq_out_object_close(o);
}

static void render_flows(struct vq_out *o, json_object *r)
{
	json_object *flows = jarr(r, "flows");

	vq_out_object_open(o, NULL);
	vq_out_table_open(o, "flows");
	for (size_t i = 0; flows && i < json_object_array_length(flows); i++) {
		json_object *f = json_object_array_get_idx(flows, i);
		json_object *to = NULL, *from = NULL;
		char pair[64];

		json_object_object_get_ex(f, "rtp_to", &to);
		json_object_object_get_ex(f, "rtp_from", &from);
		vq_out_object_open(o, NULL);
		vq_out_str(o, "addr", NULL, jstr(f, "addr"));
		vq_out_u64(o, "prefix_len", NULL, ju64(f, "prefix_len"));
		vq_out_str(o, NULL, "ADDRESS", flow_addr(f, pair, sizeof(pair)));
		vq_out_u64(o, "port", "PORT", ju64(f, "port"));
		vq_out_str(o, "proto", NULL, jstr(f, "proto"));
		vq_out_str(o, "kind", "KIND", jstr(f, "kind"));
		vq_out_str(o, "why", "WHY", jstr(f, "why"));
		vq_out_str(o, "call_id", "CALL", jstr(f, "call_id"));
		vq_out_str(o, "codec", "CODEC", jstr(f, "codec"));
		vq_out_u64(o, "packets", "PACKETS", ju64(f, "packets"));
		vq_out_u64(o, "bytes", "BYTES", ju64(f, "bytes"));
		vq_out_u64(o, "demoted", "DEMOTED", ju64(f, "demoted"));
		/* JSON: the worse direction; text: both, to/from the endpoint */
		vq_out_i64(o, "lost", NULL, (int64_t)ju64(f, "lost"));
		vq_out_dbl(o, "loss_pct", NULL, 2, jdbl(f, "loss_pct"));
		vq_out_dbl(o, "jitter_ms", NULL, 2, jdbl(f, "jitter_ms"));
		vq_out_dbl(o, "mos", NULL, 2, jdbl(f, "mos"));
		dir_pair(pair, sizeof(pair), to, from, "lost", 0);
		vq_out_str(o, NULL, "LOST(TO/FROM)", pair);
		dir_pair(pair, sizeof(pair), to, from, "loss_pct", 2);
		vq_out_str(o, NULL, "LOSS%(TO/FROM)", pair);
		dir_pair(pair, sizeof(pair), to, from, "jitter_ms", 2);
		vq_out_str(o, NULL, "JITTER-MS(TO/FROM)", pair);
		dir_pair(pair, sizeof(pair), to, from, "mos", 2);
		vq_out_str(o, NULL, "MOS(TO/FROM)", pair);
		vq_out_u64(o, "idle_ms", "IDLE(ms)", ju64(f, "idle_ms"));
		if (vq_out_is_json(o)) {
			render_rtp_dir(o, "rtp_to", to);
			render_rtp_dir(o, "rtp_from", from);
		}
		vq_out_object_close(o);
	}
	vq_out_array_close(o);
	if (!flows || !json_object_array_length(flows))
		vq_out_text(o, "no flows");
	vq_out_object_close(o);
}

struct view {
	const char *name, *cmd;
	void (*render)(struct vq_out *o, json_object *reply);
};

static const struct view views[] = {
	{ "status", "status", render_status },
	{ "stats", "stats", render_status },
	{ "calls", "calls", render_calls },
	{ "flows", "flows", render_flows },
};

static int show_view(const struct view *v, bool json)
{
	json_object *req = request(v->cmd), *reply;
	struct vq_out *o;
	int ret = ask(req, &reply);

	json_object_put(req);
	if (ret)
		return ret;
	o = vq_out_new(stdout, json);
	v->render(o, reply);
	vq_out_finish(o);
	json_object_put(reply);
	return EXIT_SUCCESS;
}

static void view_usage(FILE *f, const char *name, const char *what)
{
	fprintf(f, "Usage: voipqctl %s [--json] [--socket PATH]\n\n%s\n\n"
		   "Options:\n"
		   "  -j, --json         print one JSON document\n"
		   "  -s, --socket PATH  voipqd's control socket (default /run/voipq.sock)\n"
		   "  -h, --help         show this help\n", name, what);
}

static void status_usage(FILE *f)
{
	view_usage(f, "status", "Interfaces, rates, backend, whether the datapath is attached,\n"
				"the learning latency (SIP packet received to endpoint in the\n"
				"datapath: p50, p99, max over the latest 4096 endpoints),\n"
				"and counters: SIP seen, TLS SIP seen, learned, evicted, demoted,\n"
				"and control clients refused (too many at once) or dropped at their\n"
				"deadline (ctl_refused, ctl_expired).");
}

static void stats_usage(FILE *f)
{
	view_usage(f, "stats", "voipqd's counters (the same document as status).");
}

static void calls_usage(FILE *f)
{
	view_usage(f, "calls", "The calls voipqd knows: Call-ID, from, to, state, age, endpoints,\n"
			       "and the loss, jitter and MOS of the call's worst RTP stream in the\n"
			       "datapath (\"-\", and mos 0 in JSON, before any RTP went through).");
}

static void flows_usage(FILE *f)
{
	view_usage(f, "flows", "Every prioritised endpoint: its call, codec, packets, bytes,\n"
			       "loss, jitter and MOS, and why it is prioritised (sip or static).\n"
			       "KIND is rtp or rtcp for a call's media, sip for the UDP endpoints\n"
			       "its SIP messages travel between (sip_priority), empty for a rule.\n"
			       "An endpoint sees two RTP streams: the one sent TO it (packets\n"
			       "whose destination it is) and the one FROM it (packets it sends);\n"
			       "each has its own loss, jitter and MOS, shown as TO/FROM (\"-\":\n"
			       "no RTP that way). In JSON, rtp_to and rtp_from hold them, and\n"
			       "lost, loss_pct, jitter_ms and mos are the worse direction's.");
}

static int run_view(const char *name, int argc, char **argv, void (*u)(FILE *))
{
	struct common c = { 0 };
	int ret = common_opts(argc, argv, &c, u, 0, 0);

	if (ret < 0)
		return opt_exit(ret);
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (!strcmp(views[i].name, name))
			return show_view(&views[i], c.json);
	return EXIT_USAGE;
}

static int cmd_status(int argc, char **argv)
{
	return run_view("status", argc, argv, status_usage);
}

static int cmd_stats(int argc, char **argv)
{
	return run_view("stats", argc, argv, stats_usage);
}

static int cmd_calls(int argc, char **argv)
{
	return run_view("calls", argc, argv, calls_usage);
}

static int cmd_flows(int argc, char **argv)
{
	return run_view("flows", argc, argv, flows_usage);
}

static void watch_usage(FILE *f)
{
	fprintf(f, "Usage: voipqctl watch [--interval S] [--socket PATH]\n\n"
		   "A live view of calls and flows that refreshes every S seconds\n"
		   "(default 1) until interrupted.\n");
}

static int cmd_watch(int argc, char **argv)
{
	struct common c = { .interval = 1 };
	int ret = common_opts(argc, argv, &c, watch_usage, 0, 0);

	if (ret < 0)
		return opt_exit(ret);
	for (;;) {
		time_t now = time(NULL);

		printf("\033[H\033[2J"); /* home, clear */
		printf("voipq  %s\n", ctime(&now));
		if (show_view(&views[2], false) || (printf("\n"), show_view(&views[3], false)))
			return EXIT_FAILURE;
		fflush(stdout);
		sleep(c.interval);
	}
}

static void rule_usage(FILE *f)
{
	fprintf(f, "Usage: voipqctl add|del ADDRESS[/LEN] PORT [udp|tcp] [--json] [--socket PATH]\n\n"
		   "Add or delete a static rule: UDP packets to or from PORT on\n"
		   "ADDRESS, or on any address in the prefix ADDRESS/LEN (IPv4 or\n"
		   "IPv6, host bits zero), are prioritised like a learned call's.\n"
		   "A tcp rule names one address: a SIP server over TLS, say, whose\n"
		   "messages voipqd cannot read.\n"
		   "A learned endpoint, then the longest matching prefix, wins.\n"
		   "A rule's budget is an audio call's; a prefix rule's is shared by\n"
		   "everything it matches, that of at most 8 endpoints. The bpf\n"
		   "backend holds 1024 prefix rules, sch_voipq 64.\n\n"
		   "Examples:\n"
		   "  voipqctl add 198.51.100.7 10000\n"
		   "  voipqctl add 198.51.100.0/24 10000\n"
		   "  voipqctl add 198.51.100.5 5061 tcp\n"
		   "  voipqctl del 2001:db8:20::/48 5004 udp\n\n"
		   "Options:\n"
		   "  -j, --json         print the reply as JSON\n"
		   "  -s, --socket PATH  voipqd's control socket (default /run/voipq.sock)\n"
		   "  -h, --help         show this help\n");
}

static int cmd_rule(bool add, int argc, char **argv)
{
	struct common c = { 0 };
	int i = common_opts(argc, argv, &c, rule_usage, 2, 3);
	json_object *req, *reply;
	struct vq_prefix p = { 0 };
	char *end, err[160];
	long port;
	int ret;

	if (i < 0)
		return opt_exit(i);
	if (vq_prefix_parse(&p, argv[i], err, sizeof(err))) {
		fprintf(stderr, "voipqctl: %s\n", err);
		return EXIT_USAGE;
	}
	port = strtol(argv[i + 1], &end, 10);
	if (*end || port < 1 || port > 65535) {
		fprintf(stderr, "voipqctl: port '%s' is not 1-65535\n", argv[i + 1]);
		return EXIT_USAGE;
	}
	if (i + 2 < argc && strcmp(argv[i + 2], "udp") &&
	    strcmp(argv[i + 2], "tcp")) {
		fprintf(stderr, "voipqctl: protocol '%s': give udp (the default) or tcp\n",
			argv[i + 2]);
		return EXIT_USAGE;
	}
	req = request(add ? "add" : "del");
	json_object_object_add(req, "addr", json_object_new_string(argv[i]));
	json_object_object_add(req, "port", json_object_new_int((int)port));
	json_object_object_add(req, "proto", json_object_new_string(
				       i + 2 < argc ? argv[i + 2] : "udp"));
	ret = ask(req, &reply);
	json_object_put(req);
	if (ret)
		return ret;
	if (c.json)
		printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		printf("%s %s\n", add ? "added" : "deleted", jstr(reply, add ? "added" : "deleted"));
	json_object_put(reply);
	return EXIT_SUCCESS;
}

static int cmd_add(int argc, char **argv)
{
	return cmd_rule(true, argc, argv);
}

static int cmd_del(int argc, char **argv)
{
	return cmd_rule(false, argc, argv);
}

/* --- dispatch ------------------------------------------------------------ */

static const struct command commands[] = {
	{ "status", "interfaces, rates, backend and counters of voipqd",
	  cmd_status, status_usage },
	{ "calls", "the calls voipqd knows", cmd_calls, calls_usage },
	{ "flows", "prioritised endpoints with loss, jitter and MOS",
	  cmd_flows, flows_usage },
	{ "stats", "voipqd's counters", cmd_stats, stats_usage },
	{ "watch", "a live view of calls and flows", cmd_watch, watch_usage },
	{ "add", "add a static rule (address or prefix, port)", cmd_add,
	  rule_usage },
	{ "del", "delete a static rule", cmd_del, rule_usage },
	{ "analyze", "show the calls, endpoints and RTP quality in a capture",
	  cmd_analyze, analyze_usage },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: voipqctl COMMAND [OPTIONS]\n\n"
		   "voipq keeps calls clean on a busy uplink. Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'voipqctl COMMAND --help' shows a command's options.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2 && (cmd = find_command(argv[2]))) {
			cmd->usage(stdout);
			return EXIT_SUCCESS;
		}
		usage(stdout);
		return EXIT_SUCCESS;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "voipqctl: unknown command '%s'; "
				"'voipqctl --help' lists them\n", argv[1]);
		return EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}
