// SPDX-License-Identifier: GPL-2.0
/*
 * vqlab: drives the datapath API (agent/datapath.h) from the lab scripts,
 * the same calls voipqd makes, before and without the daemon.
 *
 *   vqlab [--pin-dir D] [--state F] up --wan IF --uplink R --downlink R
 *                                   [--lan IF --down lan|ifb|none]
 *   vqlab [--pin-dir D] [--state F] down
 *   vqlab [--pin-dir D] add ADDR PORT      (a G.711 call's budget)
 *   vqlab [--pin-dir D] del ADDR PORT
 *   vqlab [--pin-dir D] stats
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath.h"
#include "log.h"
#include "rate.h"

static const char *pin_dir;
static const char *state_path;

static int usage(void)
{
	fprintf(stderr,
		"usage: vqlab [--pin-dir D] [--state F] up --wan IF --uplink R --downlink R\n"
		"                                   [--lan IF] [--down ifb|lan|none]\n"
		"       vqlab [--pin-dir D] [--state F] down\n"
		"       vqlab [--pin-dir D] add|del ADDR PORT\n"
		"       vqlab [--pin-dir D] stats\n");
	return 2;
}

static int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wan", required_argument, NULL, 'w' },
		{ "lan", required_argument, NULL, 'l' },
		{ "uplink", required_argument, NULL, 'u' },
		{ "downlink", required_argument, NULL, 'd' },
		{ "down", required_argument, NULL, 'm' },
		{ 0 },
	};
	struct vq_dp_cfg cfg = { .shape = true, .pin_dir = pin_dir,
				 .dscp_ef = true, .state_path = state_path };
	char err[VQ_SHAPER_ERRLEN] = "";
	struct vq_dp *dp;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			snprintf(cfg.shaper.wan, IFNAMSIZ, "%s", optarg);
			break;
		case 'l':
			snprintf(cfg.shaper.lan, IFNAMSIZ, "%s", optarg);
			break;
		case 'u':
		case 'd':
			if (vq_rate_parse_opt(c == 'u' ? "uplink" : "downlink",
					      c == 'u' ? "--uplink" : "--downlink", optarg,
					      c == 'u' ? &cfg.shaper.uplink_bps
						       : &cfg.shaper.downlink_bps,
					      err, sizeof(err))) {
				fprintf(stderr, "vqlab: %s\n", err);
				return 2;
			}
			break;
		case 'm':
			cfg.shaper.down = !strcmp(optarg, "lan")  ? VQ_DOWN_LAN
					  : !strcmp(optarg, "none") ? VQ_DOWN_NONE
								    : VQ_DOWN_IFB;
			break;
		default:
			return usage();
		}
	}
	if (vq_dp_up(&dp, &cfg, err, sizeof(err))) {
		fprintf(stderr, "vqlab: up: %s\n", err);
		return 1;
	}
	printf("leaf %s, classifier on", vq_leaf_name(dp->shaper.leaf));
	for (unsigned int i = 0; i < dp->n_attached; i++)
		printf(" %s", dp->attached[i]);
	printf("\n");
	vq_dp_down(dp, true, NULL, 0);
	return 0;
}

static int cmd_down(void)
{
	char err[VQ_SHAPER_ERRLEN] = "";
	struct vq_dp *dp;

	if (vq_dp_adopt(&dp, pin_dir, state_path, err, sizeof(err))) {
		fprintf(stderr, "vqlab: down: %s\n", err);
		return 1;
	}
	if (vq_dp_down(dp, false, err, sizeof(err))) {
		fprintf(stderr, "vqlab: down: %s\n", err);
		return 1;
	}
	return 0;
}

static int cmd_ep(bool add, int argc, char **argv)
{
	struct vq_codec pcma = { .name = "PCMA", .clock_rate = 8000, .ptime_ms = 20, .pt = 8 };
	struct vq_endpoint ep = { .proto = IPPROTO_UDP };
	char err[VQ_SHAPER_ERRLEN] = "";
	struct vq_dp *dp;
	int ret;

	if (argc != 3 || vq_addr_parse(&ep, argv[1]) || !atoi(argv[2]))
		return usage();
	ep.port = (uint16_t)atoi(argv[2]);
	if (vq_dp_adopt(&dp, pin_dir, state_path, err, sizeof(err))) {
		fprintf(stderr, "vqlab: %s\n", err);
		return 1;
	}
	ret = add ? vq_dp_ep_add(dp, &ep, &pcma, VQ_MEDIA_AUDIO, true,
				 VOIPQ_EP_STATIC, 0)
		  : vq_dp_ep_del(dp, &ep);
	if (ret)
		fprintf(stderr, "vqlab: %s %s %s: %s\n", add ? "add" : "del",
			argv[1], argv[2], strerror(-ret));
	vq_dp_down(dp, true, NULL, 0);
	return ret ? 1 : 0;
}

static int print_ep(void *arg, const struct vq_endpoint *ep,
		    const struct voipq_ep_val *v)
{
	char buf[VQ_ADDRSTRLEN + 8];

	printf("%s packets=%" PRIu64 " bytes=%" PRIu64 " demoted=%" PRIu64
	       " rtp_received_to=%u rtp_received_from=%u\n",
	       vq_endpoint_str(ep, buf, sizeof(buf)), (uint64_t)v->packets,
	       (uint64_t)v->bytes, (uint64_t)v->demoted,
	       v->rtp[VOIPQ_DIR_TO].received, v->rtp[VOIPQ_DIR_FROM].received);
	return 0;
}

static int cmd_stats(void)
{
	char err[VQ_SHAPER_ERRLEN] = "";
	struct voipq_stats s;
	struct vq_dp *dp;

	if (vq_dp_adopt(&dp, pin_dir, state_path, err, sizeof(err))) {
		fprintf(stderr, "vqlab: %s\n", err);
		return 1;
	}
	if (!vq_bpf_stats(dp->bpf, &s))
		printf("packets=%llu udp=%llu hits=%llu demoted=%llu acks=%llu\n",
		       (unsigned long long)s.packets, (unsigned long long)s.udp,
		       (unsigned long long)s.hits, (unsigned long long)s.demoted,
		       (unsigned long long)s.acks);
	vq_bpf_ep_for_each(dp->bpf, print_ep, NULL);
	vq_dp_down(dp, true, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	vq_log_set_level(VQ_LOG_WARN);
	while (i + 1 < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--pin-dir"))
			pin_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--state"))
			state_path = argv[i + 1];
		else
			return usage();
		i += 2;
	}
	if (i >= argc)
		return usage();
	if (!strcmp(argv[i], "up"))
		return cmd_up(argc - i, argv + i);
	if (!strcmp(argv[i], "down"))
		return cmd_down();
	if (!strcmp(argv[i], "add") || !strcmp(argv[i], "del"))
		return cmd_ep(argv[i][0] == 'a', argc - i, argv + i);
	if (!strcmp(argv[i], "stats"))
		return cmd_stats();
	return usage();
}
