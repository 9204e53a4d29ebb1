// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath.h"
#include "log.h"

/* The shaper's own state sits beside ours: "<state>.shaper". */
static void shaper_path(const struct vq_dp *dp, char *buf, size_t len)
{
	snprintf(buf, len, "%s.shaper", dp->state_path);
}

static int state_save(const struct vq_dp *dp)
{
	char tmp[300], sp[300];
	FILE *f;

	if (!dp->state_path[0])
		return 0;
	shaper_path(dp, sp, sizeof(sp));
	if (vq_shaper_state_save(&dp->shaper, sp))
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp", dp->state_path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# voipq datapath state: what voipqd installed\n");
	fprintf(f, "dscp_ef=%d\n", dp->dscp_ef);
	for (unsigned int i = 0; i < dp->n_attached; i++)
		fprintf(f, "attached=%s\n", dp->attached[i]);
	if (fclose(f) || rename(tmp, dp->state_path))
		return -errno;
	return 0;
}

static int state_load(struct vq_dp *dp)
{
	char line[128], sp[300];
	FILE *f = fopen(dp->state_path, "r");
	int ret;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "attached=", 9) && dp->n_attached < 2 &&
		    strlen(line + 9) < IFNAMSIZ)
			strcpy(dp->attached[dp->n_attached++], line + 9);
		else if (!strncmp(line, "dscp_ef=", 8))
			dp->dscp_ef = line[8] == '1';
	}
	fclose(f);
	shaper_path(dp, sp, sizeof(sp));
	ret = vq_shaper_state_load(&dp->shaper, sp);
	return ret == -ENOENT ? 0 : ret;
}

static int attach(struct vq_dp *dp, const char *ifname, char *err, size_t errlen)
{
	int ret;

	for (unsigned int i = 0; i < dp->n_attached; i++)
		if (!strcmp(dp->attached[i], ifname))
			return vq_bpf_attach(dp->bpf, ifname); /* replace in place */
	ret = vq_bpf_attach(dp->bpf, ifname);
	if (ret) {
		snprintf(err, errlen, "attach classifier to %s: %s%s", ifname,
			 strerror(-ret), ret == -EPERM ? " — run as root" : "");
		return ret;
	}
	snprintf(dp->attached[dp->n_attached++], IFNAMSIZ, "%s", ifname);
	return 0;
}

int vq_dp_up(struct vq_dp **out, const struct vq_dp_cfg *cfg, char *err,
	     size_t errlen)
{
	struct vq_shaper_config sc = cfg->shaper;
	struct vq_bpf_cfg bc = {
		.pin_dir = cfg->pin_dir,
		.max_endpoints = cfg->max_endpoints,
		/* EF on the way up only (the WAN's egress). */
		.ef_ifindex = if_nametoindex(cfg->shaper.wan),
	};
	struct vq_dp *dp;
	int ret;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->dscp_ef = cfg->dscp_ef;
	if (cfg->state_path) {
		snprintf(dp->state_path, sizeof(dp->state_path), "%s",
			 cfg->state_path);
		/* What an earlier run made is ours to update and to remove. */
		ret = state_load(dp);
		if (ret && ret != -ENOENT)
			pr_warn("datapath: ignoring unreadable state %s: %s\n",
				dp->state_path, strerror(-ret));
	}

	if (cfg->shape) {
		ret = vq_shaper_config_check(&sc, err, errlen);
		if (!ret)
			ret = vq_shaper_setup(&sc, &dp->shaper, err, errlen);
		if (ret)
			goto out_save;
	}

	ret = vq_bpf_open(&dp->bpf, &bc);
	if (ret) {
		snprintf(err, errlen, "load the classifier: %s%s", strerror(-ret),
			 ret == -EPERM ? " — run as root" : "");
		goto out_save;
	}
	ret = attach(dp, sc.wan, err, errlen);
	if (!ret && cfg->shape && dp->shaper.down_dev[0])
		ret = attach(dp, dp->shaper.down_dev, err, errlen);
	else if (!ret && !cfg->shape && sc.lan[0])
		ret = attach(dp, sc.lan, err, errlen);

out_save:
	/* Saved on failure too: a half-done setup can still be undone. */
	if (state_save(dp))
		pr_warn("datapath: cannot write state %s\n", dp->state_path);
	if (ret) {
		vq_dp_down(dp, false, err[0] ? NULL : err, errlen);
		return ret;
	}
	*out = dp;
	return 0;
}

int vq_dp_adopt(struct vq_dp **out, const char *pin_dir,
		const char *state_path, char *err, size_t errlen)
{
	struct vq_bpf_cfg bc = { .pin_dir = pin_dir };
	struct vq_dp *dp = calloc(1, sizeof(*dp));
	int ret;

	if (!dp)
		return -ENOMEM;
	if (state_path) {
		snprintf(dp->state_path, sizeof(dp->state_path), "%s", state_path);
		ret = state_load(dp);
		if (ret && ret != -ENOENT) {
			snprintf(err, errlen, "read %s: %s", state_path, strerror(-ret));
			free(dp);
			return ret;
		}
	}
	ret = vq_bpf_open(&dp->bpf, &bc);
	if (ret) {
		snprintf(err, errlen, "open the classifier's maps under %s: %s",
			 pin_dir ? pin_dir : VOIPQ_PIN_DIR, strerror(-ret));
		free(dp);
		return ret;
	}
	*out = dp;
	return 0;
}

int vq_dp_down(struct vq_dp *dp, bool keep, char *err, size_t errlen)
{
	char e[VQ_SHAPER_ERRLEN] = "", sp[300];
	int ret = 0, r;

	if (!dp)
		return 0;
	if (!keep) {
		for (unsigned int i = 0; dp->bpf && i < dp->n_attached; i++) {
			r = vq_bpf_detach(dp->bpf, dp->attached[i]);
			if (r && r != -ENOENT && r != -ENODEV && !ret)
				ret = r;
		}
		dp->n_attached = 0;
		r = vq_shaper_teardown(&dp->shaper, e, sizeof(e));
		if (r && !ret) {
			ret = r;
			if (err)
				snprintf(err, errlen, "%s", e);
		}
		if (dp->bpf)
			vq_bpf_unpin(dp->bpf);
		if (dp->state_path[0]) {
			shaper_path(dp, sp, sizeof(sp));
			unlink(sp);
			unlink(dp->state_path);
		}
	}
	vq_bpf_close(dp->bpf);
	free(dp);
	return ret;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* An entry's policy: a budget sized from the codec, EF upstream if asked. */
static struct vq_bpf_policy dp_policy(const struct vq_dp *dp,
				      const struct vq_codec *codec,
				      uint8_t media, bool upstream_ef,
				      uint32_t flags, uint64_t cookie)
{
	struct vq_bpf_policy pol = {
		.clock_rate = codec && codec->clock_rate ? codec->clock_rate : 8000,
		.flags = flags | (upstream_ef && dp->dscp_ef ? VOIPQ_EP_DSCP_EF : 0),
		.cookie = cookie,
	};
	struct vq_codec none = { 0 };

	vq_bpf_budget(codec ? codec : &none, media, &pol.rate_bps, &pol.burst);
	return pol;
}

int vq_dp_ep_add(struct vq_dp *dp, const struct vq_endpoint *ep,
		 const struct vq_codec *codec, uint8_t media, bool upstream_ef,
		 uint32_t flags, uint64_t cookie)
{
	struct vq_bpf_policy pol = dp_policy(dp, codec, media, upstream_ef,
					     flags, cookie);

	return vq_bpf_ep_set(dp->bpf, ep, &pol);
}

int vq_dp_ep_del(struct vq_dp *dp, const struct vq_endpoint *ep)
{
	return vq_bpf_ep_del(dp->bpf, ep);
}

int vq_dp_pfx_add(struct vq_dp *dp, const struct vq_prefix *p, uint32_t flags)
{
	struct vq_bpf_policy pol = dp_policy(dp, NULL, VQ_MEDIA_AUDIO, true,
					     flags, 0);
	unsigned int host_bits = vq_prefix_full(p->ep.family) - p->len;
	uint64_t n = VQ_DP_PREFIX_EPS;

	if (!dp->bpf)
		return -EOPNOTSUPP;
	if (host_bits < 63 && (1ull << host_bits) < n)
		n = 1ull << host_bits;
	pol.rate_bps = (uint32_t)min_u64((uint64_t)pol.rate_bps * n, UINT32_MAX);
	pol.burst = (uint32_t)min_u64((uint64_t)pol.burst * n, UINT32_MAX);
	return vq_bpf_pfx_set(dp->bpf, p, &pol);
}

int vq_dp_pfx_del(struct vq_dp *dp, const struct vq_prefix *p)
{
	if (!dp->bpf)
		return -EOPNOTSUPP;
	return vq_bpf_pfx_del(dp->bpf, p);
}

int vq_dp_pfx_for_each(struct vq_dp *dp,
		       int (*fn)(void *arg, const struct vq_prefix *p,
				 const struct voipq_ep_val *val),
		       void *arg)
{
	return dp->bpf ? vq_bpf_pfx_for_each(dp->bpf, fn, arg) : 0;
}
