// SPDX-License-Identifier: GPL-2.0
/*
 * One datapath, two backends: a tagged struct (dp->backend says which
 * handle is live) rather than an ops table, because the two differ in
 * only a few places — how the endpoint table is reached and what sits at
 * the root of the shaped devices — and the shaper, the state file and
 * teardown are shared.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datapath.h"
#include "log.h"

_Static_assert((int)VOIPQ_EP_DSCP_EF == (int)VOIPQ_EP_F_DSCP_EF &&
	       (int)VOIPQ_EP_STATIC == (int)VOIPQ_EP_F_STATIC,
	       "entry flags mean the same on both backends");

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
	fprintf(f, "backend=%s\n", vq_backend_str(dp->backend));
	fprintf(f, "dscp_ef=%d\n", dp->dscp_ef);
	for (unsigned int i = 0; i < dp->n_attached; i++)
		fprintf(f, "attached=%s\n", dp->attached[i]);
	if (fclose(f) || rename(tmp, dp->state_path))
		return -errno;
	return 0;
}

/* A state file without a backend line is from before kmod: bpf. */
static int state_load(struct vq_dp *dp)
{
	char line[128], sp[300];
	FILE *f = fopen(dp->state_path, "r");
	int ret;

	if (!f)
		return -errno;
	dp->backend = VQ_BACKEND_BPF;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "attached=", 9) && dp->n_attached < 2 &&
		    strlen(line + 9) < IFNAMSIZ)
			strcpy(dp->attached[dp->n_attached++], line + 9);
		else if (!strncmp(line, "dscp_ef=", 8))
			dp->dscp_ef = line[8] == '1';
		else if (!strcmp(line, "backend=kmod"))
			dp->backend = VQ_BACKEND_KMOD;
	}
	fclose(f);
	shaper_path(dp, sp, sizeof(sp));
	ret = vq_shaper_state_load(&dp->shaper, sp);
	return ret == -ENOENT ? 0 : ret;
}

static bool attached(const struct vq_dp *dp, const char *ifname)
{
	for (unsigned int i = 0; i < dp->n_attached; i++)
		if (!strcmp(dp->attached[i], ifname))
			return true;
	return false;
}

static void attached_add(struct vq_dp *dp, const char *ifname)
{
	if (!attached(dp, ifname) && dp->n_attached < 2)
		snprintf(dp->attached[dp->n_attached++], IFNAMSIZ, "%s",
			 ifname);
}

/* @frames_of: whose framing @ifname's packets have (NULL: its own). */
static int attach(struct vq_dp *dp, const char *ifname, const char *frames_of,
		  char *err, size_t errlen)
{
	int ret;

	if (attached(dp, ifname)) /* replace in place */
		return vq_bpf_attach(dp->bpf, ifname, frames_of);
	ret = vq_bpf_attach(dp->bpf, ifname, frames_of);
	if (ret) {
		snprintf(err, errlen, "attach classifier to %s: %s%s", ifname,
			 strerror(-ret), ret == -EPERM ? " — run as root" : "");
		return ret;
	}
	attached_add(dp, ifname);
	return 0;
}

/*
 * The classifier comes off what an earlier run or configuration attached
 * it to and this one does not want (@want0, @want1: NULL for none), so
 * that the list stays the truth that teardown and status go by.
 */
static void attached_prune(struct vq_dp *dp, const char *want0,
			   const char *want1)
{
	unsigned int i = 0;

	while (i < dp->n_attached) {
		const char *name = dp->attached[i];
		int ret;

		if ((want0 && !strcmp(name, want0)) ||
		    (want1 && !strcmp(name, want1))) {
			i++;
			continue;
		}
		ret = dp->bpf ? vq_bpf_detach(dp->bpf, name) : 0;
		if (ret && ret != -ENODEV)
			pr_warn("datapath: classifier still on %s: %s\n", name,
				strerror(-ret));
		else
			pr_info("datapath: classifier off %s, which this configuration does not use\n",
				name);
		memmove(dp->attached[i], dp->attached[--dp->n_attached],
			IFNAMSIZ);
	}
}

/* --- bringing up one backend -------------------------------------------- */

static int bpf_up(struct vq_dp *dp, const struct vq_dp_cfg *cfg,
		  struct vq_shaper_config *sc, char *err, size_t errlen)
{
	struct vq_bpf_cfg bc = {
		.pin_dir = cfg->pin_dir,
		.max_endpoints = cfg->max_endpoints,
		/* EF on the way up only (the WAN's egress). */
		.ef_ifindex = if_nametoindex(cfg->shaper.wan),
		/* 1:30 exists only in our own tree */
		.no_ack = !cfg->shape,
	};
	const char *down;
	int ret;

	if (cfg->shape) {
		ret = vq_shaper_setup(sc, &dp->shaper, err, errlen);
		if (ret)
			return ret;
	} else if (dp->shaper.wan[0]) {
		/* shape = no now: the trees shape = yes made go. */
		ret = vq_shaper_teardown(&dp->shaper, err, errlen);
		if (ret)
			return ret;
	}
	ret = vq_bpf_open(&dp->bpf, &bc);
	if (ret) {
		snprintf(err, errlen, "load the classifier: %s%s", strerror(-ret),
			 ret == -EPERM ? " — run as root" : "");
		return ret;
	}
	down = cfg->shape && dp->shaper.down_dev[0] ? dp->shaper.down_dev :
	       !cfg->shape && sc->lan[0] ? sc->lan : NULL;
	attached_prune(dp, sc->wan, down);
	ret = attach(dp, sc->wan, NULL, err, errlen);
	/* The IFB carries the WAN's ingress as it came: the WAN's framing. */
	if (!ret && down)
		ret = attach(dp, down,
			     cfg->shape && dp->shaper.down == VQ_DOWN_IFB ?
			     sc->wan : NULL, err, errlen);
	return ret;
}

/* modprobe @name; 0 when it ran and succeeded. */
static int modprobe(const char *name)
{
	char *argv[] = { "modprobe", "-q", (char *)name, NULL };
	extern char **environ;
	int status;
	pid_t pid;

	if (posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ))
		return -ENOENT;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ENOENT;
}

/* The genl family, loading the module once if it is not there yet. */
static int kmod_open(struct vq_kmod **k, char *err, size_t errlen)
{
	int ret = vq_kmod_open(k);

	if (ret == -ENOENT && !modprobe("sch_voipq"))
		ret = vq_kmod_open(k);
	if (ret == -ENOENT)
		snprintf(err, errlen,
			 "the sch_voipq module is not loaded and 'modprobe sch_voipq' failed: build and install it (kmod/README.md: make kmod, or dkms with kmod/dkms.conf), or use backend = bpf");
	else if (ret)
		snprintf(err, errlen, "open the generic netlink family '%s': %s%s",
			 VOIPQ_GENL_NAME, strerror(-ret),
			 ret == -EPERM ? " — run as root" : "");
	return ret;
}

static int kmod_up(struct vq_dp *dp, const struct vq_dp_cfg *cfg,
		   struct vq_shaper_config *sc, char *err, size_t errlen)
{
	int ret;

	if (!cfg->shape) {
		snprintf(err, errlen,
			 "the kmod backend is sch_voipq, a shaper: it needs shape = yes with the uplink and downlink rates");
		return -EINVAL;
	}
	ret = kmod_open(&dp->kmod, err, errlen);
	if (ret)
		return ret;
	sc->root = VQ_ROOT_VOIPQ;
	ret = vq_shaper_setup(sc, &dp->shaper, err, errlen);
	/*
	 * What was made is recorded, failed or not, for teardown: the roots
	 * the shaper's state holds now (it removed those no longer wanted).
	 */
	dp->n_attached = 0;
	if (dp->shaper.up_root)
		attached_add(dp, dp->shaper.wan);
	if (dp->shaper.down_root)
		attached_add(dp, dp->shaper.down_dev);
	return ret;
}

/* Open the handle an earlier run's datapath needs, changing nothing. */
static int handle_open(struct vq_dp *dp, const char *pin_dir, char *err,
		       size_t errlen)
{
	struct vq_bpf_cfg bc = { .pin_dir = pin_dir };
	int ret;

	if (dp->backend == VQ_BACKEND_KMOD)
		return kmod_open(&dp->kmod, err, errlen);
	ret = vq_bpf_open(&dp->bpf, &bc);
	if (ret)
		snprintf(err, errlen, "open the classifier's maps under %s: %s",
			 pin_dir ? pin_dir : VOIPQ_PIN_DIR, strerror(-ret));
	return ret;
}

static int dp_new(struct vq_dp **out, const char *state_path, char *err,
		  size_t errlen)
{
	struct vq_dp *dp = calloc(1, sizeof(*dp));
	int ret;

	*out = dp;
	if (!dp)
		return -ENOMEM;
	if (!state_path)
		return -ENOENT;
	snprintf(dp->state_path, sizeof(dp->state_path), "%s", state_path);
	ret = state_load(dp);
	if (ret && ret != -ENOENT)
		snprintf(err, errlen, "read %s: %s", state_path, strerror(-ret));
	return ret;
}

/* One backend, from what the state file says is there. */
static int dp_up_as(struct vq_dp **out, const struct vq_dp_cfg *cfg,
		    uint8_t backend, char *err, size_t errlen)
{
	struct vq_shaper_config sc = cfg->shaper;
	struct vq_dp *dp;
	int ret;

	ret = dp_new(&dp, cfg->state_path, err, errlen);
	if (ret == -ENOMEM)
		return ret;
	if (ret && ret != -ENOENT)
		pr_warn("datapath: ignoring unreadable state: %s\n", err);
	err[0] = '\0';
	if (!ret && dp->backend != backend) {
		/* An earlier run's datapath on the other backend goes first. */
		pr_info("datapath: removing the %s datapath an earlier run left\n",
			vq_backend_str(dp->backend));
		/* Without a handle, what the state names still goes. */
		if (handle_open(dp, cfg->pin_dir, err, errlen))
			pr_warn("datapath: %s\n", err);
		err[0] = '\0';
		if (vq_dp_down(dp, false, err, errlen))
			pr_warn("datapath: %s\n", err);
		err[0] = '\0';
		if (dp_new(&dp, NULL, err, errlen) == -ENOMEM)
			return -ENOMEM;
		snprintf(dp->state_path, sizeof(dp->state_path), "%s",
			 cfg->state_path);
	}
	dp->backend = backend;
	dp->dscp_ef = cfg->dscp_ef;
	dp->idle_ms = cfg->idle_ms;

	ret = 0;
	if (cfg->shape)
		ret = vq_shaper_config_check(&sc, err, errlen);
	if (!ret && backend == VQ_BACKEND_KMOD)
		ret = kmod_up(dp, cfg, &sc, err, errlen);
	else if (!ret)
		ret = bpf_up(dp, cfg, &sc, err, errlen);

	/* Saved on failure too: a half-done setup can still be undone. */
	if (state_save(dp))
		pr_warn("datapath: cannot write state %s\n", dp->state_path);
	if (ret) {
		vq_dp_down(dp, cfg->keep_on_failure, err[0] ? NULL : err, errlen);
		return ret;
	}
	*out = dp;
	return 0;
}

/* The backend an earlier run left, if the state file names one. */
static uint8_t backend_left(const char *state_path)
{
	struct vq_dp *dp;
	char err[128];
	uint8_t b;

	if (dp_new(&dp, state_path, err, sizeof(err))) {
		free(dp);
		return VQ_BACKEND_AUTO;
	}
	b = dp->backend;
	free(dp);
	return b;
}

int vq_dp_up(struct vq_dp **out, const struct vq_dp_cfg *cfg, char *err,
	     size_t errlen)
{
	char why[VQ_SHAPER_ERRLEN], why2[VQ_SHAPER_ERRLEN];
	uint8_t first, second;
	int ret;

	if (cfg->backend != VQ_BACKEND_AUTO)
		return dp_up_as(out, cfg, cfg->backend, err, errlen);
	/* Auto: what an earlier run chose, if it still works; else bpf. */
	first = backend_left(cfg->state_path) == VQ_BACKEND_KMOD ?
		VQ_BACKEND_KMOD : VQ_BACKEND_BPF;
	second = first == VQ_BACKEND_BPF ? VQ_BACKEND_KMOD : VQ_BACKEND_BPF;
	ret = dp_up_as(out, cfg, first, err, errlen);
	/*
	 * Someone else's root in the way, or an interface missing: the
	 * other backend would meet the same, and trying it would first
	 * remove what this one left running.
	 */
	if (!ret || cfg->stay_on_backend || ret == -EEXIST || ret == -ENODEV)
		return ret;
	snprintf(why, sizeof(why), "%s", err);
	pr_info("datapath: %s backend unavailable (%s): trying %s\n",
		vq_backend_str(first), why, vq_backend_str(second));
	ret = dp_up_as(out, cfg, second, err, errlen);
	if (ret) {
		snprintf(why2, sizeof(why2), "%s", err);
		snprintf(err, errlen, "no datapath backend works here — %s: %s; %s: %s",
			 vq_backend_str(first), why, vq_backend_str(second), why2);
	}
	return ret;
}

int vq_dp_adopt(struct vq_dp **out, const char *pin_dir,
		const char *state_path, char *err, size_t errlen)
{
	struct vq_dp *dp;
	int ret;

	ret = dp_new(&dp, state_path, err, errlen);
	if (ret == -ENOMEM || (ret && ret != -ENOENT)) {
		free(dp);
		return ret;
	}
	if (ret)
		dp->backend = VQ_BACKEND_BPF;
	ret = handle_open(dp, pin_dir, err, errlen);
	if (ret) {
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
		/* sch_voipq goes with the shaper state's roots. */
		r = vq_shaper_teardown(&dp->shaper, e, sizeof(e));
		if (r && !ret) {
			ret = r;
			if (err)
				snprintf(err, errlen, "%s", e);
		}
		if (dp->bpf)
			vq_bpf_unpin(dp->bpf);
		/* The table is the namespace's, and voipqd owns it. */
		if (dp->kmod && (r = vq_kmod_ep_flush(dp->kmod)) && !ret) {
			ret = r;
			if (err)
				snprintf(err, errlen, "flush the sch_voipq endpoint table: %s",
					 strerror(-r));
		}
		if (dp->state_path[0]) {
			shaper_path(dp, sp, sizeof(sp));
			unlink(sp);
			unlink(dp->state_path);
		}
	}
	vq_bpf_close(dp->bpf);
	vq_kmod_close(dp->kmod);
	free(dp);
	return ret;
}

/* --- endpoints ----------------------------------------------------------- */

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

/* Keep sch_voipq's reason for a refusal; log it unless it is "not there". */
static int kmod_said(struct vq_dp *dp, int ret)
{
	snprintf(dp->msg, sizeof(dp->msg), "%s", ret ? vq_kmod_msg(dp->kmod) : "");
	if (dp->msg[0] && ret != -ENOENT)
		pr_warn("sch_voipq refused a request: %s\n", dp->msg);
	return ret;
}

/* @pol as sch_voipq's table takes it. */
static struct vq_kmod_policy kmod_policy(const struct vq_dp *dp,
					 const struct vq_bpf_policy *pol)
{
	struct vq_kmod_policy kp = {
		.rate_bps = pol->rate_bps,
		.burst = pol->burst,
		.clock_rate = pol->clock_rate,
		.flags = pol->flags,
		.idle_ms = dp->idle_ms,
		.cookie = pol->cookie,
	};

	return kp;
}

/* Program @ep with @pol on whichever backend runs. */
static int dp_ep_set(struct vq_dp *dp, const struct vq_endpoint *ep,
		     const struct vq_bpf_policy *pol)
{
	if (dp->backend == VQ_BACKEND_KMOD) {
		struct vq_kmod_policy kp = kmod_policy(dp, pol);

		return kmod_said(dp, vq_kmod_ep_set(dp->kmod, ep, &kp, false));
	}
	return vq_bpf_ep_set(dp->bpf, ep, pol);
}

int vq_dp_ep_add(struct vq_dp *dp, const struct vq_endpoint *ep,
		 const struct vq_codec *codec, uint8_t media, bool upstream_ef,
		 uint32_t flags, uint64_t cookie)
{
	struct vq_bpf_policy pol = dp_policy(dp, codec, media, upstream_ef,
					     flags, cookie);

	return dp_ep_set(dp, ep, &pol);
}

int vq_dp_sig_add(struct vq_dp *dp, const struct vq_endpoint *ep)
{
	struct vq_bpf_policy pol = {
		.rate_bps = VQ_DP_SIG_RATE,
		.burst = VQ_DP_SIG_BURST,
		.clock_rate = 8000,
	};

	return dp_ep_set(dp, ep, &pol);
}

int vq_dp_ep_get(struct vq_dp *dp, const struct vq_endpoint *ep,
		 struct voipq_ep_val *val)
{
	if (dp->backend == VQ_BACKEND_KMOD) {
		struct vq_kmod_entry e;
		int err = vq_kmod_ep_get(dp->kmod, ep, &e);

		if (!err)
			*val = e.val;
		return err;
	}
	return vq_bpf_ep_lookup(dp->bpf, ep, val);
}

int vq_dp_ep_del(struct vq_dp *dp, const struct vq_endpoint *ep)
{
	if (dp->backend == VQ_BACKEND_KMOD)
		return kmod_said(dp, vq_kmod_ep_del(dp->kmod, ep));
	return vq_bpf_ep_del(dp->bpf, ep);
}

const char *vq_dp_msg(const struct vq_dp *dp)
{
	return dp->msg;
}

int vq_dp_pfx_add(struct vq_dp *dp, const struct vq_prefix *p, uint32_t flags)
{
	struct vq_bpf_policy pol = dp_policy(dp, NULL, VQ_MEDIA_AUDIO, true,
					     flags, 0);
	unsigned int host_bits = vq_prefix_full(p->ep.family) - p->len;
	uint64_t n = VQ_DP_PREFIX_EPS;

	if (host_bits < 63 && (1ull << host_bits) < n)
		n = 1ull << host_bits;
	pol.rate_bps = (uint32_t)min_u64((uint64_t)pol.rate_bps * n, UINT32_MAX);
	pol.burst = (uint32_t)min_u64((uint64_t)pol.burst * n, UINT32_MAX);
	if (dp->backend == VQ_BACKEND_KMOD) {
		struct vq_kmod_policy kp = kmod_policy(dp, &pol);

		return kmod_said(dp, vq_kmod_pfx_set(dp->kmod, p, &kp));
	}
	return vq_bpf_pfx_set(dp->bpf, p, &pol);
}

int vq_dp_pfx_del(struct vq_dp *dp, const struct vq_prefix *p)
{
	if (dp->backend == VQ_BACKEND_KMOD)
		return kmod_said(dp, vq_kmod_pfx_del(dp->kmod, p));
	return vq_bpf_pfx_del(dp->bpf, p);
}


/* sch_voipq's one table holds both: each walk takes its own kind. */
struct kmod_visit {
	int (*ep_fn)(void *arg, const struct vq_endpoint *ep,
		     const struct voipq_ep_val *val);
	int (*pfx_fn)(void *arg, const struct vq_prefix *p,
		      const struct voipq_ep_val *val);
	void *arg;
};

static int kmod_entry(void *arg, const struct vq_kmod_entry *e)
{
	const struct kmod_visit *v = arg;
	struct vq_prefix p = { .ep = e->ep, .len = e->plen };

	if (vq_prefix_is_host(&p))
		return v->ep_fn ? v->ep_fn(v->arg, &e->ep, &e->val) : 0;
	return v->pfx_fn ? v->pfx_fn(v->arg, &p, &e->val) : 0;
}

int vq_dp_ep_for_each(struct vq_dp *dp,
		      int (*fn)(void *arg, const struct vq_endpoint *ep,
				const struct voipq_ep_val *val),
		      void *arg)
{
	struct kmod_visit v = { .ep_fn = fn, .arg = arg };

	if (dp->backend == VQ_BACKEND_KMOD)
		return vq_kmod_ep_for_each(dp->kmod, kmod_entry, &v);
	return vq_bpf_ep_for_each(dp->bpf, fn, arg);
}

int vq_dp_pfx_for_each(struct vq_dp *dp,
		       int (*fn)(void *arg, const struct vq_prefix *p,
				 const struct voipq_ep_val *val),
		       void *arg)
{
	struct kmod_visit v = { .pfx_fn = fn, .arg = arg };

	if (dp->backend == VQ_BACKEND_KMOD)
		return vq_kmod_ep_for_each(dp->kmod, kmod_entry, &v);
	return vq_bpf_pfx_for_each(dp->bpf, fn, arg);
}

int vq_dp_stats(struct vq_dp *dp, struct voipq_stats *out)
{
	if (dp->backend != VQ_BACKEND_KMOD)
		return vq_bpf_stats(dp->bpf, out);
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < dp->n_attached; i++) {
		struct tc_voipq_xstats xs;

		if (vq_kmod_qdisc_get(dp->attached[i], NULL, &xs))
			continue;
		out->packets += xs.voice_packets + xs.bulk_packets;
		out->hits += xs.by_table + xs.demoted;
		out->demoted += xs.demoted;
	}
	return 0;
}

const char *vq_dp_backend_name(const struct vq_dp *dp)
{
	return dp ? vq_backend_str(dp->backend) : "none";
}

const char *vq_dp_qdisc_name(const struct vq_dp *dp)
{
	if (dp && dp->backend == VQ_BACKEND_KMOD)
		return "voipq";
	return dp ? vq_leaf_name(dp->shaper.leaf) : "";
}
