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

/* --- dispatch ------------------------------------------------------------ */

static const struct command commands[] = {
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
