// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "rate.h"
#include "shaper.h"

#define LINE_MAX_LEN 512

void vq_config_defaults(struct vq_config *c)
{
	memset(c, 0, sizeof(*c));
	c->shape = true;
	c->shape_pct = VQ_SHAPER_SHAPE_PCT;
	c->down_pct = VQ_SHAPER_DOWN_PCT;
	c->voice_pct = VQ_SHAPER_VOICE_PCT;
	c->downstream = VQ_DOWN_IFB;
	c->backend = VQ_BACKEND_AUTO;
	c->dscp_ef = true;
	c->sip_priority = true;
	c->sip_ports[c->n_sip_ports++] = 5060;
	c->tls_ports[c->n_tls_ports++] = 5061;
	c->max_calls = 4096;
	c->max_endpoints = 16384;
	c->dialog_timeout_s = 4 * 3600;
	c->idle_timeout_s = 120;
	snprintf(c->pin_dir, sizeof(c->pin_dir), "/sys/fs/bpf/voipq");
	snprintf(c->socket_path, sizeof(c->socket_path), "/run/voipq.sock");
	snprintf(c->state_file, sizeof(c->state_file), "/run/voipq.state");
	c->log_level = VQ_LOG_INFO;
}

const char *vq_backend_str(uint8_t b)
{
	switch (b) {
	case VQ_BACKEND_BPF:
		return "bpf";
	case VQ_BACKEND_KMOD:
		return "kmod";
	case VQ_BACKEND_NONE:
		return "none";
	default:
		return "auto";
	}
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcasecmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcasecmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_uint(const char *v, unsigned long min, unsigned long max,
		      unsigned int *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max || *v == '-')
		return -EINVAL;
	*out = (unsigned int)n;
	return 0;
}

static int parse_ports(const char *v, uint16_t *ports, unsigned int *n)
{
	char buf[LINE_MAX_LEN], *tok, *save = NULL;
	unsigned int p;

	snprintf(buf, sizeof(buf), "%s", v);
	*n = 0;
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (*n == VQ_MAX_SIP_PORTS || parse_uint(tok, 1, 65535, &p))
			return -EINVAL;
		ports[(*n)++] = (uint16_t)p;
	}
	return *n ? 0 : -EINVAL;
}

static int parse_ifname(const char *v, char *out)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE || strpbrk(v, " /:\t"))
		return -EINVAL;
	memcpy(out, v, n + 1);
	return 0;
}

static int copy_str(const char *v, char *out, size_t len)
{
	if (strlen(v) >= len)
		return -ENAMETOOLONG;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

int vq_config_set(struct vq_config *c, const char *key, const char *v,
		  char *err, size_t errlen)
{
	const char *want = NULL;
	int ret = 0;

	if (!strcmp(key, "wan")) {
		want = "an interface name, e.g. eth0";
		ret = *v ? parse_ifname(v, c->wan) : (c->wan[0] = '\0', 0);
	} else if (!strcmp(key, "lan")) {
		char buf[LINE_MAX_LEN], *tok, *save = NULL;
		struct vq_config tmp = *c;

		want = "interface names separated by commas, e.g. br-lan";
		snprintf(buf, sizeof(buf), "%s", v);
		tmp.n_lan = 0;
		for (tok = strtok_r(buf, ", ", &save); tok && !ret;
		     tok = strtok_r(NULL, ", ", &save)) {
			if (tmp.n_lan == VQ_MAX_LAN)
				ret = -E2BIG;
			else
				ret = parse_ifname(tok, tmp.lan[tmp.n_lan++]);
		}
		if (!ret)
			*c = tmp;
	} else if (!strcmp(key, "uplink") || !strcmp(key, "downlink")) {
		uint64_t bps = 0;

		if (*v) {
			ret = vq_rate_parse_opt(key, key, v, &bps, err, errlen);
			if (ret)
				return ret;
		}
		*(key[0] == 'u' ? &c->uplink_bps : &c->downlink_bps) = bps;
	} else if (!strcmp(key, "shape")) {
		want = "yes or no";
		ret = parse_bool(v, &c->shape);
	} else if (!strcmp(key, "shape_percent")) {
		want = "a percentage from 50 to 100";
		ret = parse_uint(v, 50, 100, &c->shape_pct);
	} else if (!strcmp(key, "shape_percent_down")) {
		want = "a percentage from 50 to 100";
		ret = parse_uint(v, 50, 100, &c->down_pct);
	} else if (!strcmp(key, "voice_percent")) {
		want = "a percentage from 5 to 90";
		ret = parse_uint(v, 5, 90, &c->voice_pct);
	} else if (!strcmp(key, "downstream")) {
		want = "ifb, lan or none";
		if (!strcmp(v, "ifb"))
			c->downstream = VQ_DOWN_IFB;
		else if (!strcmp(v, "lan"))
			c->downstream = VQ_DOWN_LAN;
		else if (!strcmp(v, "none"))
			c->downstream = VQ_DOWN_NONE;
		else
			ret = -EINVAL;
	} else if (!strcmp(key, "backend")) {
		want = "auto, bpf, kmod or none";
		if (!strcmp(v, "auto"))
			c->backend = VQ_BACKEND_AUTO;
		else if (!strcmp(v, "bpf"))
			c->backend = VQ_BACKEND_BPF;
		else if (!strcmp(v, "kmod"))
			c->backend = VQ_BACKEND_KMOD;
		else if (!strcmp(v, "none"))
			c->backend = VQ_BACKEND_NONE;
		else
			ret = -EINVAL;
	} else if (!strcmp(key, "dscp_ef")) {
		want = "yes or no";
		ret = parse_bool(v, &c->dscp_ef);
	} else if (!strcmp(key, "sip_priority")) {
		want = "yes or no";
		ret = parse_bool(v, &c->sip_priority);
	} else if (!strcmp(key, "sip_ports") || !strcmp(key, "tls_ports")) {
		want = "1 to 16 ports separated by commas, e.g. 5060,5080";
		ret = key[0] == 's' ? parse_ports(v, c->sip_ports, &c->n_sip_ports)
				    : parse_ports(v, c->tls_ports, &c->n_tls_ports);
	} else if (!strcmp(key, "max_calls")) {
		want = "a number from 16 to 1000000";
		ret = parse_uint(v, 16, 1000000, &c->max_calls);
	} else if (!strcmp(key, "max_endpoints")) {
		want = "a number from 64 to 4000000";
		ret = parse_uint(v, 64, 4000000, &c->max_endpoints);
	} else if (!strcmp(key, "dialog_timeout")) {
		want = "seconds, from 60 to 604800";
		ret = parse_uint(v, 60, 604800, &c->dialog_timeout_s);
	} else if (!strcmp(key, "idle_timeout")) {
		want = "seconds, from 5 to 86400";
		ret = parse_uint(v, 5, 86400, &c->idle_timeout_s);
	} else if (!strcmp(key, "pin_dir")) {
		want = "a path under a bpf filesystem";
		ret = *v == '/' ? copy_str(v, c->pin_dir, sizeof(c->pin_dir)) : -EINVAL;
	} else if (!strcmp(key, "socket")) {
		want = "an absolute path of at most 107 characters";
		ret = *v == '/' ? copy_str(v, c->socket_path, sizeof(c->socket_path))
				: -EINVAL;
	} else if (!strcmp(key, "socket_group")) {
		want = "a group name";
		ret = copy_str(v, c->socket_group, sizeof(c->socket_group));
	} else if (!strcmp(key, "state_file")) {
		want = "an absolute path";
		ret = *v == '/' ? copy_str(v, c->state_file, sizeof(c->state_file))
				: -EINVAL;
	} else if (!strcmp(key, "log")) {
		want = "stderr or syslog";
		if (!strcmp(v, "syslog"))
			c->syslog = true;
		else if (!strcmp(v, "stderr"))
			c->syslog = false;
		else
			ret = -EINVAL;
	} else if (!strcmp(key, "log_level")) {
		want = "warn, info or debug";
		if (!strcmp(v, "warn"))
			c->log_level = VQ_LOG_WARN;
		else if (!strcmp(v, "info"))
			c->log_level = VQ_LOG_INFO;
		else if (!strcmp(v, "debug"))
			c->log_level = VQ_LOG_DEBUG;
		else
			ret = -EINVAL;
	} else {
		snprintf(err, errlen, "unknown key '%s' (see voipq.conf(5) "
			 "or the commented example in /etc/voipq/voipq.conf)", key);
		return -ENOENT;
	}
	if (ret)
		snprintf(err, errlen, "%s = '%s' is not valid: want %s", key, v,
			 want ? want : "a valid value");
	return ret;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int vq_config_load(struct vq_config *c, const char *path, char *err,
		   size_t errlen)
{
	struct vq_config tmp = *c;
	char line[LINE_MAX_LEN + 2], e[256];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *val, *eq;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			ret = -EINVAL;
			break;
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", path,
				 lineno);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		ret = vq_config_set(&tmp, key, val, e, sizeof(e));
		if (ret) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, e);
			break;
		}
	}
	fclose(f);
	if (!ret)
		*c = tmp;
	return ret;
}

int vq_config_validate(const struct vq_config *c, char *err, size_t errlen)
{
	if (c->shape && c->backend != VQ_BACKEND_NONE && !c->uplink_bps) {
		snprintf(err, errlen, "uplink rate required for shaping, e.g. "
			 "--uplink 20mbit (or shape = no to prioritise without shaping)");
		return -EINVAL;
	}
	if (c->shape && c->backend != VQ_BACKEND_NONE &&
	    c->downstream != VQ_DOWN_NONE && !c->downlink_bps) {
		snprintf(err, errlen, "downlink rate required for shaping, e.g. "
			 "--downlink 100mbit (or shape = no)");
		return -EINVAL;
	}
	if (c->downstream == VQ_DOWN_LAN && c->shape && !c->n_lan) {
		snprintf(err, errlen, "downstream = lan needs the LAN interfaces, "
			 "e.g. lan = br-lan");
		return -EINVAL;
	}
	/* The shaper shapes one device downstream: a bridge, or the IFB. */
	if (c->downstream == VQ_DOWN_LAN && c->shape && c->n_lan > 1) {
		snprintf(err, errlen, "downstream = lan shapes one interface, "
			 "but lan names %u: shape them all with downstream = ifb, "
			 "or name the bridge that joins them", c->n_lan);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < c->n_lan; i++) {
		if (c->wan[0] && !strcmp(c->lan[i], c->wan)) {
			snprintf(err, errlen, "interface %s is both WAN and LAN",
				 c->wan);
			return -EINVAL;
		}
	}
	return 0;
}

static void print_ports(FILE *f, const char *key, const uint16_t *p,
			unsigned int n)
{
	fprintf(f, "%s = ", key);
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, "%s%u", i ? "," : "", p[i]);
	fputc('\n', f);
}

void vq_config_print(const struct vq_config *c, FILE *f)
{
	static const char *const levels[] = { "warn", "info", "debug" };

	fprintf(f, "wan = %s\n", c->wan[0] ? c->wan : "");
	fprintf(f, "lan = ");
	for (unsigned int i = 0; i < c->n_lan; i++)
		fprintf(f, "%s%s", i ? "," : "", c->lan[i]);
	fputc('\n', f);
	if (c->uplink_bps)
		fprintf(f, "uplink = %llubit\n", (unsigned long long)c->uplink_bps);
	else
		fprintf(f, "uplink =\n");
	if (c->downlink_bps)
		fprintf(f, "downlink = %llubit\n", (unsigned long long)c->downlink_bps);
	else
		fprintf(f, "downlink =\n");
	fprintf(f, "shape = %s\n", c->shape ? "yes" : "no");
	fprintf(f, "shape_percent = %u\n", c->shape_pct);
	fprintf(f, "shape_percent_down = %u\n", c->down_pct);
	fprintf(f, "voice_percent = %u\n", c->voice_pct);
	fprintf(f, "downstream = %s\n", vq_down_mode_name(c->downstream));
	fprintf(f, "backend = %s\n", vq_backend_str(c->backend));
	fprintf(f, "dscp_ef = %s\n", c->dscp_ef ? "yes" : "no");
	fprintf(f, "sip_priority = %s\n", c->sip_priority ? "yes" : "no");
	print_ports(f, "sip_ports", c->sip_ports, c->n_sip_ports);
	print_ports(f, "tls_ports", c->tls_ports, c->n_tls_ports);
	fprintf(f, "max_calls = %u\n", c->max_calls);
	fprintf(f, "max_endpoints = %u\n", c->max_endpoints);
	fprintf(f, "dialog_timeout = %u\n", c->dialog_timeout_s);
	fprintf(f, "idle_timeout = %u\n", c->idle_timeout_s);
	fprintf(f, "pin_dir = %s\n", c->pin_dir);
	fprintf(f, "socket = %s\n", c->socket_path);
	fprintf(f, "socket_group = %s\n", c->socket_group);
	fprintf(f, "state_file = %s\n", c->state_file);
	fprintf(f, "log = %s\n", c->syslog ? "syslog" : "stderr");
	fprintf(f, "log_level = %s\n", levels[c->log_level < 3 ? c->log_level : 1]);
}
