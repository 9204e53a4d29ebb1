/* SPDX-License-Identifier: GPL-2.0 */
/*
 * voipqd's configuration: /etc/voipq/voipq.conf, "key = value" lines, every
 * key with a default; command-line flags override the file. Parsing never
 * half-applies: a file with any error leaves the previous configuration in
 * force and says which line is wrong and why.
 */
#ifndef VOIPQ_CONFIG_H
#define VOIPQ_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

#define VQ_CONFIG_PATH "/etc/voipq/voipq.conf"
#define VQ_MAX_LAN 8

enum vq_backend_kind {
	VQ_BACKEND_AUTO,
	VQ_BACKEND_BPF,
	VQ_BACKEND_KMOD,
	VQ_BACKEND_NONE, /* learn and report only */
};

struct vq_config {
	char wan[IF_NAMESIZE];      /* "" = from the default route */
	char lan[VQ_MAX_LAN][IF_NAMESIZE];
	unsigned int n_lan;
	uint64_t uplink_bps;        /* 0 = not given */
	uint64_t downlink_bps;
	bool shape;                 /* shape the link (needs both rates) */
	unsigned int shape_pct;     /* shape upstream at this % of the line */
	unsigned int down_pct;      /* and downstream at this % */
	unsigned int voice_pct;     /* voice class share of the link */
	uint8_t downstream;         /* enum vq_down_mode (shaper.h) */
	uint8_t backend;            /* enum vq_backend_kind */
	bool dscp_ef;               /* rewrite upstream voice to EF */
	bool sip_priority;          /* prioritise calls' SIP over UDP too */
	uint16_t sip_ports[VQ_MAX_SIP_PORTS];
	unsigned int n_sip_ports;
	uint16_t tls_ports[VQ_MAX_SIP_PORTS];
	unsigned int n_tls_ports;
	unsigned int max_calls;
	unsigned int max_endpoints;
	unsigned int dialog_timeout_s;
	unsigned int idle_timeout_s; /* datapath idle expiry of endpoints */
	char pin_dir[256];
	char socket_path[108];
	char socket_group[64];      /* "" = root only */
	char state_file[256];
	bool syslog;
	unsigned int log_level;     /* enum vq_log_level */
};

void vq_config_defaults(struct vq_config *c);

/*
 * Parse @path into @c (which holds the defaults or flags already). On
 * error returns -errno and a one-line reason naming the file and line in
 * @err; @c is then unchanged. A missing file is -ENOENT.
 */
int vq_config_load(struct vq_config *c, const char *path, char *err,
		   size_t errlen);

/* Apply one "key=value" (from a file line or a --set flag). */
int vq_config_set(struct vq_config *c, const char *key, const char *value,
		  char *err, size_t errlen);

/* Cross-field checks: rates present when shaping, interfaces distinct. */
int vq_config_validate(const struct vq_config *c, char *err, size_t errlen);

/* Print the configuration in the file's own syntax. */
void vq_config_print(const struct vq_config *c, FILE *f);


const char *vq_backend_str(uint8_t b);

#endif
