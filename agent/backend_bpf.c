// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF backend: the agent's side of bpf/voipq.bpf.c.
 *
 * Lifetime (DESIGN.md decision 6): maps are pinned by name under the pin
 * directory and the tcx link is pinned next to them, so voipqd can exit or
 * crash and the classifier keeps classifying with the endpoints it has. A
 * new voipqd loads a fresh program over the same maps (libbpf re-adopts
 * pins whose layout matches), rebuilds the port bitmap's reference counts
 * and the table's occupancy from the endpoint table, and swaps the program
 * under the existing link.
 *
 * The endpoint table is an array of slots hashed by the classifier and by
 * this file alike (bpf/voipq.h says why): this file is its only writer.
 *
 * Attaching: tcx links (kernel 6.6+) where available — libbpf 1.1 has no
 * bpf_program__attach_tcx(), so the link is made with bpf_link_create() and
 * the attach type's number — and a clsact qdisc with a tc filter otherwise.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <netinet/in.h>

#include "backend_bpf.h"
#include "shaper.h"
#include "hash.h"
#include "log.h"
#include "rtpstats.h"
#include "voipq.skel.h"

/* Debian 12's linux-libc-dev (6.1) predates tcx; the uapi number is fixed. */
#ifndef BPF_TCX_EGRESS
#define BPF_TCX_EGRESS 47
#endif
/* Neither in glibc's net/if_arp.h of Debian 12. */
#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BPFFS_ROOT	"/sys/fs/bpf"
/* tc filter identity in the clsact fallback: "vq" and a low priority. */
#define VQ_TC_HANDLE	0x7671
#define VQ_TC_PRIO	1
#define VQ_MAX_ATTACH	16
#define NPORTS		65536
#define NSEC_PER_SEC	1000000000ull

struct vq_bpf_attach {
	char ifname[IF_NAMESIZE];
	int ifindex;
	bool tcx;
	bool made_qdisc; /* clsact created by this handle: ours to remove */
};

struct vq_bpf {
	struct voipq_bpf *skel;
	char pin_dir[PATH_MAX / 2]; /* room for the names pinned inside */
	struct voipq_ports *ports; /* the mmap-ed bitmap */
	struct voipq_ports *pfx_ports; /* the prefix rules' ports, mmap-ed */
	uint32_t *port_refs;       /* NPORTS reference counts */
	/* The endpoint table (voipq.h): its hashing, and which slots hold keys. */
	uint64_t seed;
	uint32_t buckets;
	uint64_t *used;            /* a bit per slot */
	int ncpus;
	bool no_tcx;
	unsigned int nattach;
	struct vq_bpf_attach attach[VQ_MAX_ATTACH];
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	enum vq_log_level l = level == LIBBPF_WARN ? VQ_LOG_WARN :
			      level == LIBBPF_INFO ? VQ_LOG_INFO : VQ_LOG_DEBUG;

	/*
	 * bpf_tc_hook_create() on an existing clsact qdisc is expected (we
	 * tolerate -EEXIST); don't let libbpf's echo of the extack alarm.
	 */
	if (l == VQ_LOG_WARN && strstr(fmt, "Kernel error message")) {
		va_list aq;
		char buf[256];

		va_copy(aq, ap);
		vsnprintf(buf, sizeof(buf), fmt, aq);
		va_end(aq);
		if (strstr(buf, "Exclusivity flag on"))
			l = VQ_LOG_DEBUG;
	}
	if (l <= vq_log_get_level())
		vq_vlog(l, fmt, ap);
	return 0;
}

/* What to do about a failed BPF operation, for the error message. */
static const char *bpf_hint(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return " — run as root (needs CAP_BPF and CAP_NET_ADMIN)";
	case -ENOSYS:
	case -EOPNOTSUPP:
		return " — BPF not supported by this kernel";
	default:
		return "";
	}
}

static int ensure_bpffs(const char *pin_dir)
{
	struct statfs st;
	int err;

	if (!strncmp(pin_dir, BPFFS_ROOT "/", sizeof(BPFFS_ROOT)) &&
	    (statfs(BPFFS_ROOT, &st) || st.f_type != BPF_FS_MAGIC)) {
		if (mkdir(BPFFS_ROOT, 0700) && errno != EEXIST) {
			err = -errno;
			pr_warn("create %s: %s\n", BPFFS_ROOT, strerror(-err));
			return err;
		}
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			err = -errno;
			pr_warn("mount bpffs on %s: %s%s\n", BPFFS_ROOT,
				strerror(-err), err == -EPERM ?
				" — run as root" : "");
			return err;
		}
		pr_info("mounted bpffs on %s\n", BPFFS_ROOT);
	}
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_warn("create pin directory %s: %s\n", pin_dir,
			strerror(-err));
		return err;
	}
	if (statfs(pin_dir, &st) || st.f_type != BPF_FS_MAGIC) {
		pr_warn("pin directory %s is not on a bpf filesystem — mount "
			"one there (mount -t bpf bpf %s) or pick another\n",
			pin_dir, pin_dir);
		return -ENOTDIR;
	}
	return 0;
}

/*
 * A pinned map from an older layout cannot be re-adopted: drop the pin so
 * the new program gets a fresh map (an old classifier still running keeps
 * its own until the link is switched over).
 */
static int check_pinned(const char *pin_dir, const struct bpf_map *map)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return -errno;
	if (info.type != bpf_map__type(map) ||
	    info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.map_flags != bpf_map__map_flags(map)) {
		pr_warn("pinned map %s has another layout (older voipq?); "
			"starting it afresh\n", path);
		if (unlink(path))
			return -errno;
	}
	return 0;
}

int vq_bpf_prog_fd(const struct vq_bpf *b)
{
	return bpf_program__fd(b->skel->progs.voipq_classify);
}

int vq_bpf_prog_fd_l3(const struct vq_bpf *b)
{
	return bpf_program__fd(b->skel->progs.voipq_classify_l3);
}

void vq_ep_to_key(const struct vq_endpoint *ep, struct voipq_ep_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = ep->family;
	key->proto = ep->proto;
	key->port = htons(ep->port);
	memcpy(key->addr, ep->addr, ep->family == AF_INET ? 4 : 16);
}

void vq_key_to_ep(const struct voipq_ep_key *key, struct vq_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = key->family;
	ep->proto = key->proto;
	ep->port = ntohs(key->port);
	memcpy(ep->addr, key->addr, key->family == AF_INET ? 4 : 16);
}

static void port_bit_set(struct voipq_ports *bm, uint16_t port, bool on)
{
	uint64_t mask = 1ull << (port & 63);
	__u64 *w = &bm->bits[port >> 6];

	if (on)
		__atomic_fetch_or(w, mask, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(w, ~mask, __ATOMIC_RELEASE);
}

static void port_ref(struct vq_bpf *b, uint16_t port)
{
	if (b->port_refs[port]++ == 0)
		port_bit_set(b->ports, port, true);
}

static void port_unref(struct vq_bpf *b, uint16_t port)
{
	if (b->port_refs[port] && --b->port_refs[port] == 0)
		port_bit_set(b->ports, port, false);
}

/* Prefix-rule keys and their prefix lengths, one at a time. */
static int pfx_next(struct vq_bpf *b, struct voipq_pfx_key *key)
{
	struct voipq_pfx_key cur = *key;

	return bpf_map_get_next_key(bpf_map__fd(b->skel->maps.voipq_pfx),
				    key->prefixlen == UINT32_MAX ? NULL : &cur,
				    key) ? -errno : 0;
}

#define PFX_FIRST { .prefixlen = UINT32_MAX }

static void bitmap_store(struct voipq_ports *dst, const struct voipq_ports *src)
{
	for (unsigned int w = 0; w < VOIPQ_PORT_WORDS; w++)
		__atomic_store_n(&dst->bits[w], src->bits[w], __ATOMIC_RELEASE);
}

/* The prefix rules' bitmap, recounted from the trie (few, static). */
static void pfx_ports_rebuild(struct vq_bpf *b)
{
	static struct voipq_ports bits;
	struct voipq_pfx_key key = PFX_FIRST;

	memset(&bits, 0, sizeof(bits));
	while (!pfx_next(b, &key)) {
		uint16_t port = ntohs(key.ep.port);

		bits.bits[port >> 6] |= 1ull << (port & 63);
	}
	bitmap_store(b->pfx_ports, &bits);
}

static void slot_mark(struct vq_bpf *b, uint32_t i, bool on)
{
	if (on)
		b->used[i / 64] |= 1ull << (i % 64);
	else
		b->used[i / 64] &= ~(1ull << (i % 64));
}

static uint32_t table_slots(const struct vq_bpf *b)
{
	return b->buckets * VOIPQ_BUCKET_SLOTS;
}

/*
 * Every slot of the endpoint table in @fd (@n slots) to @fn, in batches:
 * a handful of calls for the whole table, not one per slot.
 */
static int slots_walk(int fd, uint32_t n,
		      void (*fn)(void *arg, uint32_t i,
				 const struct voipq_ep_slot *s),
		      void *arg)
{
	enum { CHUNK = 256 };
	struct voipq_ep_slot *buf = calloc(CHUNK, sizeof(*buf));
	uint32_t keys[CHUNK], last = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i += CHUNK) {
		uint32_t count = CHUNK;
		LIBBPF_OPTS(bpf_map_batch_opts, o);

		/* in_batch: the last index read; the kernel goes on after it */
		if (bpf_map_lookup_batch(fd, i ? &last : NULL, &last, keys, buf,
					 &count, &o) && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (uint32_t j = 0; j < count; j++)
			if (buf[j].key.family && keys[j] < n)
				fn(arg, keys[j], &buf[j]);
	}
	free(buf);
	return err;
}

static void scan_one(void *arg, uint32_t i, const struct voipq_ep_slot *s)
{
	struct vq_bpf *b = arg;

	slot_mark(b, i, true);
	b->port_refs[ntohs(s->key.port)]++;
}

/*
 * Read the whole endpoint table: which slots hold keys, and the port
 * references they make, with the prefix rules' added; then rewrite both
 * bitmaps. Once, when the handle is opened.
 */
static int table_scan(struct vq_bpf *b)
{
	struct voipq_pfx_key pk = PFX_FIRST;
	static struct voipq_ports bits;
	int err;

	memset(b->port_refs, 0, NPORTS * sizeof(*b->port_refs));
	memset(b->used, 0, (table_slots(b) + 63) / 64 * sizeof(*b->used));
	err = slots_walk(bpf_map__fd(b->skel->maps.voipq_eps), table_slots(b),
			 scan_one, b);
	if (err) {
		pr_warn("read the endpoint table in %s: %s; if this persists, "
			"stop voipqd, remove that directory and start it "
			"again\n", b->pin_dir, strerror(-err));
		return err;
	}
	while (!pfx_next(b, &pk))
		b->port_refs[ntohs(pk.ep.port)]++;
	memset(&bits, 0, sizeof(bits));
	for (unsigned int p = 0; p < NPORTS; p++)
		if (b->port_refs[p])
			bits.bits[p >> 6] |= 1ull << (p & 63);
	bitmap_store(b->ports, &bits);
	pfx_ports_rebuild(b);
	return 0;
}

/* mmap a port bitmap map (an mmap-able array of one voipq_ports). */
static struct voipq_ports *ports_mmap(const struct bpf_map *map)
{
	void *p = mmap(NULL, sizeof(struct voipq_ports), PROT_READ | PROT_WRITE,
		       MAP_SHARED, bpf_map__fd(map), 0);

	if (p == MAP_FAILED) {
		int err = errno;

		pr_warn("map the port bitmap %s: %s\n", bpf_map__name(map),
			strerror(err));
		errno = err;
		return NULL;
	}
	return p;
}

/* Buckets for @max_eps endpoints: twice as many slots. */
static uint32_t table_buckets(uint32_t max_eps)
{
	uint64_t n = ((uint64_t)max_eps * 2 + VOIPQ_BUCKET_SLOTS - 1) /
		     VOIPQ_BUCKET_SLOTS;

	return n < 2 ? 2 : (uint32_t)n;
}

/*
 * The hashing of the endpoint table pinned in @pin_dir, holding @slots
 * slots, into *@meta. -ENOENT when there is no usable one: no pinned meta,
 * or one that does not describe this table.
 */
static int pinned_meta(const char *pin_dir, uint32_t slots,
		       struct voipq_ep_meta *meta)
{
	char path[PATH_MAX];
	uint32_t zero = 0;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/voipq_ep_meta", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(fd, &zero, meta) || meta->buckets < 2 ||
	    (uint64_t)meta->buckets * VOIPQ_BUCKET_SLOTS != slots)
		err = -ENOENT;
	close(fd);
	return err;
}

/*
 * A new table's seed. It needs to be unpredictable from outside, not
 * secret: early in a router's boot, before the kernel's pool is ready,
 * the monotonic clock's nanoseconds do.
 */
static uint64_t table_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^
		(uint64_t)getpid()) * 0x9e3779b97f4a7c15ull;
}

/* Entries carried over from a pinned table into a new one. */
struct carry {
	struct voipq_ep_slot *e;
	uint32_t n, cap;
	bool oom;
};

static int carry_add(struct carry *c, const struct voipq_ep_key *key,
		     const struct voipq_ep_val *val)
{
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 64;
		struct voipq_ep_slot *e = realloc(c->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
	c->e[c->n].key = *key;
	c->e[c->n++].val = *val;
	return 0;
}

static void carry_slot(void *arg, uint32_t i, const struct voipq_ep_slot *s)
{
	struct carry *c = arg;

	if (!c->oom && carry_add(c, &s->key, &s->val))
		c->oom = true; /* said by carry_read() */
}

/*
 * Every entry of the pinned endpoint table @fd into @c, whatever layout
 * voipq gave it: an array of slots, which hold their keys whole and need
 * no seed to be read, or the LRU hash of older versions. -EPROTO for
 * another layout.
 */
static int carry_read(int fd, const struct bpf_map_info *info,
		      struct carry *c)
{
	struct voipq_ep_key key, next, *prev = NULL;
	struct voipq_ep_val val;
	int err;

	if (info->type == BPF_MAP_TYPE_ARRAY && info->key_size == 4 &&
	    info->value_size == sizeof(struct voipq_ep_slot)) {
		err = slots_walk(fd, info->max_entries, carry_slot, c);
		return err ? err : c->oom ? -ENOMEM : 0;
	}
	if ((info->type != BPF_MAP_TYPE_LRU_HASH &&
	     info->type != BPF_MAP_TYPE_HASH) ||
	    info->key_size != sizeof(key) || info->value_size != sizeof(val))
		return -EPROTO;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue; /* gone meanwhile */
		err = carry_add(c, &key, &val);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The endpoint table to load with: the pinned one as it is when its
 * layout and hashing are this voipq's and its size is what @max_eps asks
 * for (any size when @max_eps is 0: a handle that only adopts what runs).
 * Otherwise (an older voipq's LRU hash, a table whose hashing pin is gone,
 * another max_endpoints) its entries are read into @c and its pin
 * removed: a new table with a new seed takes them after load, counters
 * and RTP state and all, so that an upgrade or a resize loses no call's
 * priority.
 */
static int table_plan(struct vq_bpf *b, uint32_t max_eps, struct carry *c,
		      bool *fresh)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	struct voipq_ep_meta meta;
	char path[PATH_MAX];
	const char *why;
	int fd, err;

	*fresh = true;
	b->buckets = table_buckets(max_eps ? max_eps : VQ_BPF_DEFAULT_MAX_EPS);
	snprintf(path, sizeof(path), "%s/voipq_eps", b->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (info.type != BPF_MAP_TYPE_ARRAY ||
	    info.value_size != sizeof(struct voipq_ep_slot))
		why = "has an older voipq's layout";
	else if (pinned_meta(b->pin_dir, info.max_entries, &meta))
		why = "has lost its hashing (voipq_ep_meta)";
	else if (max_eps && meta.buckets != b->buckets)
		why = "is sized for another max_endpoints";
	else {
		b->seed = meta.seed;
		b->buckets = meta.buckets;
		*fresh = false;
		close(fd);
		return 0;
	}
	err = carry_read(fd, &info, c);
	close(fd);
	if (err == -EPROTO)
		pr_warn("endpoint table %s has a layout this voipq cannot "
			"read: starting it afresh\n", path);
	else if (err)
		return err;
	else
		pr_info("endpoint table %s %s: moving its %u entries into a "
			"new one\n", path, why, c->n);
	return unlink(path) ? -errno : 0;
}

static void table_carry_in(struct vq_bpf *b, const struct carry *c);

/* A fresh table's hashing, pinned beside it for the next voipqd. */
static int table_meta_store(struct vq_bpf *b)
{
	struct voipq_ep_meta meta = { .seed = b->seed, .buckets = b->buckets };
	uint32_t zero = 0;

	int err = 0;

	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.voipq_ep_meta),
				&zero, &meta, BPF_ANY)) {
		err = -errno;
		pr_warn("store the endpoint table's hashing in %s: %s; if "
			"this persists, stop voipqd, remove that directory and "
			"start it again\n", b->pin_dir, strerror(-err));
	}
	return err;
}

int vq_bpf_open(struct vq_bpf **out, const struct vq_bpf_cfg *cfg)
{
	static const struct vq_bpf_cfg defaults;
	struct vq_bpf *b;
	struct carry carried = { 0 };
	uint32_t max_eps;
	bool fresh;
	int err;

	if (!cfg)
		cfg = &defaults;
	libbpf_set_print(libbpf_log);

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if ((size_t)snprintf(b->pin_dir, sizeof(b->pin_dir), "%s",
			     cfg->pin_dir ? cfg->pin_dir : VOIPQ_PIN_DIR) >=
	    sizeof(b->pin_dir)) {
		pr_warn("pin directory path is too long: pick a shorter one\n");
		free(b);
		return -ENAMETOOLONG;
	}
	b->port_refs = calloc(NPORTS, sizeof(*b->port_refs));
	b->ncpus = libbpf_num_possible_cpus();
	b->no_tcx = cfg->no_tcx;
	if (!b->port_refs || b->ncpus <= 0) {
		err = b->ncpus <= 0 ? b->ncpus : -ENOMEM;
		goto out_free;
	}

	err = ensure_bpffs(b->pin_dir);
	if (err)
		goto out_free;

	{
		LIBBPF_OPTS(bpf_object_open_opts, oo,
			    .pin_root_path = b->pin_dir);

		b->skel = voipq_bpf__open_opts(&oo);
	}
	if (!b->skel) {
		err = -errno;
		pr_warn("open BPF classifier: %s\n", strerror(-err));
		goto out_free;
	}

	max_eps = cfg->max_endpoints;
	/* the endpoint table has its own rules: table_plan() */
	err = check_pinned(b->pin_dir, b->skel->maps.voipq_ep_meta);
	if (!err)
		err = check_pinned(b->pin_dir, b->skel->maps.voipq_ports);
	if (!err)
		err = check_pinned(b->pin_dir, b->skel->maps.voipq_stats);
	if (!err)
		err = check_pinned(b->pin_dir, b->skel->maps.voipq_pfx);
	if (!err)
		err = check_pinned(b->pin_dir, b->skel->maps.voipq_pfx_ports);
	if (!err)
		err = table_plan(b, max_eps, &carried, &fresh);
	if (!err && fresh)
		b->seed = table_seed();
	if (err) {
		pr_warn("inspect pinned maps in %s: %s\n", b->pin_dir,
			strerror(-err));
		goto out_destroy;
	}
	b->used = calloc((table_slots(b) + 63) / 64, sizeof(*b->used));
	if (!b->used) {
		err = -ENOMEM;
		goto out_destroy;
	}
	bpf_map__set_max_entries(b->skel->maps.voipq_eps, table_slots(b));
	b->skel->rodata->ep_seed = b->seed;
	b->skel->rodata->ep_buckets = b->buckets;

	b->skel->rodata->voice_major = cfg->voice_major ? cfg->voice_major : 1;
	b->skel->rodata->voice_minor = cfg->voice_minor ? cfg->voice_minor :
							  VOIPQ_VOICE_MINOR;
	b->skel->rodata->dscp_rewrite = !cfg->no_dscp;
	b->skel->rodata->ef_ifindex = cfg->ef_ifindex;
	b->skel->rodata->ack_minor = cfg->no_ack ? 0 : VOIPQ_ACK_MINOR;
	b->skel->rodata->clock_from_tstamp = cfg->clock_from_tstamp;

	err = voipq_bpf__load(b->skel);
	if (err) {
		pr_warn("load BPF classifier: %s%s\n", strerror(-err),
			bpf_hint(err));
		goto out_destroy;
	}

	b->ports = ports_mmap(b->skel->maps.voipq_ports);
	b->pfx_ports = ports_mmap(b->skel->maps.voipq_pfx_ports);
	if (!b->ports || !b->pfx_ports) {
		err = -errno;
		goto out_unmap;
	}
	if (fresh)
		err = table_meta_store(b);
	if (!err)
		err = table_scan(b);
	if (err)
		goto out_unmap;
	table_carry_in(b, &carried);
	free(carried.e);
	pr_info("bpf: classifier loaded, maps in %s (room for %u endpoints "
		"in %u table slots)\n", b->pin_dir, table_slots(b) / 2,
		table_slots(b));
	*out = b;
	return 0;

out_unmap:
	if (b->ports)
		munmap(b->ports, sizeof(*b->ports));
	if (b->pfx_ports)
		munmap(b->pfx_ports, sizeof(*b->pfx_ports));
out_destroy:
	voipq_bpf__destroy(b->skel);
out_free:
	free(carried.e);
	free(b->used);
	free(b->port_refs);
	free(b);
	return err;
}

void vq_bpf_close(struct vq_bpf *b)
{
	if (!b)
		return;
	if (b->ports)
		munmap(b->ports, sizeof(*b->ports));
	if (b->pfx_ports)
		munmap(b->pfx_ports, sizeof(*b->pfx_ports));
	voipq_bpf__destroy(b->skel);
	free(b->used);
	free(b->port_refs);
	free(b);
}

static void link_pin_path(const struct vq_bpf *b, const char *ifname,
			  char *path, size_t len)
{
	snprintf(path, len, "%s/link_%s_egress", b->pin_dir, ifname);
}

int vq_bpf_unpin(struct vq_bpf *b)
{
	struct bpf_map *maps[] = {
		b->skel->maps.voipq_eps,
		b->skel->maps.voipq_ep_meta,
		b->skel->maps.voipq_ports,
		b->skel->maps.voipq_stats,
		b->skel->maps.voipq_pfx,
		b->skel->maps.voipq_pfx_ports,
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int e = bpf_map__unpin(maps[i], NULL);

		if (e && e != -ENOENT && !err)
			err = e;
	}
	if (rmdir(b->pin_dir) && errno != ENOENT) {
		if (!err)
			err = -errno;
		pr_warn("remove %s: %s (links still pinned there?)\n",
			b->pin_dir, strerror(errno));
	}
	return err;
}

static struct vq_bpf_attach *find_attach(struct vq_bpf *b, int ifindex)
{
	for (unsigned int i = 0; i < b->nattach; i++)
		if (b->attach[i].ifindex == ifindex)
			return &b->attach[i];
	return NULL;
}

static struct vq_bpf_attach *add_attach(struct vq_bpf *b, const char *ifname,
					int ifindex)
{
	struct vq_bpf_attach *a = find_attach(b, ifindex);

	if (!a && b->nattach < VQ_MAX_ATTACH) {
		a = &b->attach[b->nattach++];
		memset(a, 0, sizeof(*a));
		snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
		a->ifindex = ifindex;
	}
	return a;
}

/*
 * Whether @ifname's packets start at the IP header: 1, 0 (Ethernet, or a
 * type we do not know to be headerless), or -errno. The type comes from
 * SIOCGIFHWADDR, which answers for the caller's network namespace, as
 * attaching does (/sys/class/net shows the one sysfs was mounted in).
 */
static int dev_headerless(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	close(fd);
	if (err)
		return err;
	switch (ifr.ifr_hwaddr.sa_family) {
	case ARPHRD_PPP:	/* ppp0, over PPPoE or not */
	case ARPHRD_NONE:	/* WireGuard, tun */
	case ARPHRD_TUNNEL:	/* IPv4 in IPv4 */
	case ARPHRD_TUNNEL6:	/* IP in IPv6 */
	case ARPHRD_SIT:	/* IPv6 in IPv4 (6in4, 6rd) */
	case ARPHRD_RAWIP:	/* raw-IP cellular modems */
		return 1;
	default:
		return 0;
	}
}

static int attach_tc(const char *ifname, int ifindex, int prog_fd,
		     bool *made_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VQ_TC_HANDLE,
		    .priority = VQ_TC_PRIO, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("create clsact qdisc on %s: %s%s\n", ifname,
			strerror(-err), bpf_hint(err));
		return err;
	}
	*made_qdisc = !err;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		pr_warn("attach classifier to %s: %s%s\n", ifname,
			strerror(-err), bpf_hint(err));
		if (*made_qdisc) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
		return err;
	}
	return 0;
}

int vq_bpf_attach(struct vq_bpf *b, const char *ifname,
		  const char *frames_of)
{
	int ifindex = if_nametoindex(ifname);
	struct vq_bpf_attach *a;
	char path[PATH_MAX];
	bool made_qdisc = false;
	int fd, err, prog_fd, l3;

	if (!ifindex) {
		pr_warn("no such interface '%s'\n", ifname);
		return -ENODEV;
	}
	if (!frames_of)
		frames_of = ifname;
	l3 = dev_headerless(frames_of);
	if (l3 < 0) {
		pr_warn("read the device type of %s: %s\n", frames_of,
			strerror(-l3));
		return l3;
	}
	prog_fd = l3 ? vq_bpf_prog_fd_l3(b) : vq_bpf_prog_fd(b);
	if (l3)
		pr_info("bpf: no link-layer header on %s%s%s: the classifier "
			"reads from the IP header\n", ifname,
			frames_of == ifname ? "" : ", fed from ",
			frames_of == ifname ? "" : frames_of);
	link_pin_path(b, ifname, path, sizeof(path));

	/* A link a previous voipqd pinned: switch it to this program. */
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		err = bpf_link_update(fd, prog_fd, NULL);
		close(fd);
		if (!err) {
			pr_info("bpf: replaced the classifier on %s\n", ifname);
			goto out_record_tcx;
		}
		/* Interface gone and back: the old link is defunct. */
		pr_info("bpf: stale link %s (%s), attaching afresh\n", path,
			strerror(errno));
		unlink(path);
	}

	fd = b->no_tcx ? -EOPNOTSUPP :
			 bpf_link_create(prog_fd, ifindex, BPF_TCX_EGRESS, NULL);
	if (fd >= 0) {
		err = bpf_obj_pin(fd, path) ? -errno : 0;
		if (err) {
			pr_warn("pin link %s: %s\n", path, strerror(-err));
			close(fd);
			return err;
		}
		close(fd);
		pr_info("bpf: attached to %s egress (tcx)\n", ifname);
		goto out_record_tcx;
	}
	err = fd;
	if (err != -EINVAL && err != -EOPNOTSUPP) {
		pr_warn("attach classifier to %s: %s%s\n", ifname,
			strerror(-err), bpf_hint(err));
		return err;
	}

	if (!b->no_tcx)
		pr_info("bpf: no tcx on this kernel, using a clsact qdisc "
			"on %s\n", ifname);
	err = attach_tc(ifname, ifindex, prog_fd, &made_qdisc);
	if (err)
		return err;
	a = add_attach(b, ifname, ifindex);
	if (a) {
		a->tcx = false;
		a->made_qdisc = a->made_qdisc || made_qdisc;
	}
	pr_info("bpf: attached to %s egress (tc filter)\n", ifname);
	return 0;

out_record_tcx:
	a = add_attach(b, ifname, ifindex);
	if (a)
		a->tcx = true;
	return 0;
}

int vq_bpf_detach(struct vq_bpf *b, const char *ifname)
{
	int ifindex = if_nametoindex(ifname);
	struct vq_bpf_attach *a;
	char path[PATH_MAX];
	int fd, err;

	link_pin_path(b, ifname, path, sizeof(path));
	if (!ifindex) {
		/* Gone, and its link with it: only the pin is left. */
		unlink(path);
		pr_warn("no such interface '%s'\n", ifname);
		return -ENODEV;
	}
	a = find_attach(b, ifindex);

	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* Detach explicitly: someone may hold another fd on it. */
		err = bpf_link_detach(fd) ? -errno : 0;
		close(fd);
		unlink(path);
		if (err && err != -ENOLINK) {
			pr_warn("detach classifier from %s: %s%s\n", ifname,
				strerror(-err), bpf_hint(err));
			return err;
		}
	} else {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VQ_TC_HANDLE,
			    .priority = VQ_TC_PRIO);

		err = bpf_tc_detach(&hook, &opts);
		if (err) {
			pr_warn("detach classifier from %s: %s%s\n", ifname,
				strerror(-err), err == -ENOENT ?
				" — it is not attached there" : bpf_hint(err));
			return err;
		}
		if (a && a->made_qdisc) {
			unsigned int n;

			/* Ours, but others' filters may have joined ours. */
			err = vq_tc_clsact_filters(ifindex, &n);
			if (err)
				pr_warn("bpf: leaving clsact on %s: cannot count its filters: %s\n",
					ifname, strerror(-err));
			else if (n)
				pr_info("bpf: leaving clsact on %s: %u filters still use it\n",
					ifname, n);
			else {
				hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
				bpf_tc_hook_destroy(&hook);
			}
		}
	}
	if (a)
		*a = b->attach[--b->nattach];
	pr_info("bpf: detached from %s\n", ifname);
	return 0;
}

/* The policy half of an entry; the datapath's state is left as it is. */
static void val_set_policy(struct voipq_ep_val *val,
			   const struct vq_bpf_policy *pol)
{
	val->flags = pol->flags;
	val->clock_rate = pol->clock_rate;
	val->rate_bps = pol->rate_bps;
	val->burst = pol->burst;
	val->cookie = pol->cookie;
	if (val->tokens_nb > (uint64_t)val->burst * NSEC_PER_SEC)
		val->tokens_nb = (uint64_t)val->burst * NSEC_PER_SEC;
}

/*
 * Update an existing prefix rule's policy in place, keeping what the
 * datapath counted so far. Returns 0, or non-zero when there is no such
 * rule. The trie's lookup finds the longest prefix holding @key, not only
 * @key itself: the BPF_EXIST write tells whether @key is there. What the
 * datapath counted between the lookup and the write is lost.
 */
static int pfx_val_update(int fd, const struct voipq_pfx_key *key,
			  const struct vq_bpf_policy *pol)
{
	struct voipq_ep_val val;

	if (bpf_map_lookup_elem(fd, key, &val))
		return -errno;
	val_set_policy(&val, pol);
	return bpf_map_update_elem(fd, key, &val, BPF_EXIST) ? -errno : 0;
}

/* A new entry: the policy, a full bucket, no state. */
static void val_fresh(struct voipq_ep_val *val, const struct vq_bpf_policy *pol)
{
	memset(val, 0, sizeof(*val));
	val->tokens_nb = (uint64_t)pol->burst * NSEC_PER_SEC;
	val_set_policy(val, pol);
}

/* --- the endpoint table (bpf/voipq.h) ------------------------------------ */

static int slot_write(struct vq_bpf *b, uint32_t i,
		      const struct voipq_ep_slot *slot)
{
	return bpf_map_update_elem(bpf_map__fd(b->skel->maps.voipq_eps), &i,
				   slot, BPF_ANY) ? -errno : 0;
}

/*
 * @slot into slot @i, which is free: whole without its key, then whole
 * with it (voipq.h: the classifier never matches a half-written value).
 */
static int slot_publish(struct vq_bpf *b, uint32_t i,
			const struct voipq_ep_slot *slot)
{
	struct voipq_ep_slot unkeyed = *slot;
	int err;

	memset(&unkeyed.key, 0, sizeof(unkeyed.key));
	err = slot_write(b, i, &unkeyed);
	if (!err)
		err = slot_write(b, i, slot);
	if (!err)
		slot_mark(b, i, true);
	return err;
}

/* Free slot @i, which holds @slot: its family first, then the rest. */
static int slot_clear(struct vq_bpf *b, uint32_t i,
		      const struct voipq_ep_slot *slot)
{
	struct voipq_ep_slot s = *slot;
	int err;

	s.key.family = 0;
	err = slot_write(b, i, &s);
	if (!err) {
		memset(&s, 0, sizeof(s));
		err = slot_write(b, i, &s);
	}
	if (!err)
		slot_mark(b, i, false);
	return err;
}

/* Bucket @bk's slots as they are now, in one call. */
static int bucket_read(struct vq_bpf *b, uint32_t bk,
		       struct voipq_ep_slot s[VOIPQ_BUCKET_SLOTS])
{
	uint32_t before = bk * VOIPQ_BUCKET_SLOTS - 1, last;
	uint32_t keys[VOIPQ_BUCKET_SLOTS], count = VOIPQ_BUCKET_SLOTS;
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	/* in_batch: the index before the first; NULL for slot 0 */
	if (bpf_map_lookup_batch(bpf_map__fd(b->skel->maps.voipq_eps),
				 bk ? &before : NULL, &last, keys, s, &count,
				 &o) && errno != ENOENT)
		return -errno;
	return count == VOIPQ_BUCKET_SLOTS ? 0 : -EIO;
}

static int bucket_free_slot(const struct voipq_ep_slot *s)
{
	for (int j = 0; j < VOIPQ_BUCKET_SLOTS; j++)
		if (!s[j].key.family)
			return j;
	return -1;
}

static unsigned int bucket_fill(const struct voipq_ep_slot *s)
{
	unsigned int n = 0;

	for (int j = 0; j < VOIPQ_BUCKET_SLOTS; j++)
		n += !!s[j].key.family;
	return n;
}

static void key_buckets(const struct vq_bpf *b, const struct voipq_ep_key *key,
			uint32_t bk[2])
{
	voipq_ep_buckets(voipq_ep_hash(key, b->seed), b->buckets, &bk[0],
			 &bk[1]);
}

/*
 * A key's two buckets as read from the table, not from this handle's
 * idea of it, and where in them the key is: slot @at holding @slot, or
 * @slot NULL.
 */
struct table_loc {
	uint32_t bk[2];
	struct voipq_ep_slot s[2][VOIPQ_BUCKET_SLOTS];
	uint32_t at;
	struct voipq_ep_slot *slot;
};

static int table_locate(struct vq_bpf *b, const struct voipq_ep_key *key,
			struct table_loc *l)
{
	int err;

	key_buckets(b, key, l->bk);
	l->slot = NULL;
	for (int h = 0; h < 2; h++) {
		err = bucket_read(b, l->bk[h], l->s[h]);
		if (err)
			return err;
		for (int j = 0; j < VOIPQ_BUCKET_SLOTS; j++) {
			if (memcmp(&l->s[h][j].key, key, sizeof(*key)))
				continue;
			l->at = l->bk[h] * VOIPQ_BUCKET_SLOTS + (uint32_t)j;
			l->slot = &l->s[h][j];
			slot_mark(b, l->at, true);
			return 0;
		}
	}
	return 0;
}

/*
 * Room for @l's key: a free slot in the emptier of its buckets or, both
 * being full, the slot of one of their keys that moves to its own other
 * bucket (published there before it leaves here, so the classifier finds
 * it all along). -ENOSPC when no key in either bucket can move.
 */
static int table_make_room(struct vq_bpf *b, struct table_loc *l,
			   uint32_t *idx)
{
	int h = bucket_fill(l->s[1]) < bucket_fill(l->s[0]);
	int j = bucket_free_slot(l->s[h]);

	if (j >= 0) {
		*idx = l->bk[h] * VOIPQ_BUCKET_SLOTS + (uint32_t)j;
		return 0;
	}
	for (h = 0; h < 2; h++) {
		for (j = 0; j < VOIPQ_BUCKET_SLOTS; j++) {
			const struct voipq_ep_slot *r = &l->s[h][j];
			struct voipq_ep_slot alt[VOIPQ_BUCKET_SLOTS];
			uint32_t rb[2], other, here;
			int f;

			key_buckets(b, &r->key, rb);
			if (rb[0] != l->bk[h] && rb[1] != l->bk[h])
				continue; /* not where its hash puts it */
			other = rb[0] == l->bk[h] ? rb[1] : rb[0];
			if (bucket_read(b, other, alt))
				continue;
			f = bucket_free_slot(alt);
			if (f < 0)
				continue;
			here = l->bk[h] * VOIPQ_BUCKET_SLOTS + (uint32_t)j;
			if (slot_publish(b, other * VOIPQ_BUCKET_SLOTS +
					 (uint32_t)f, r) ||
			    slot_clear(b, here, r))
				return -EIO;
			*idx = here;
			return 0;
		}
	}
	return -ENOSPC;
}

/* @key's new entry with @val (whole: a fresh one, or one carried over). */
static int table_insert(struct vq_bpf *b, struct table_loc *l,
			const struct voipq_ep_key *key,
			const struct voipq_ep_val *val)
{
	struct voipq_ep_slot slot = { .key = *key, .val = *val };
	uint16_t port = ntohs(key->port);
	uint32_t i;
	int err;

	err = table_make_room(b, l, &i);
	if (err)
		return err;
	/* Bit first, entry second: a packet never misses a present entry. */
	port_ref(b, port);
	err = slot_publish(b, i, &slot);
	if (err)
		port_unref(b, port);
	return err;
}

static void table_carry_in(struct vq_bpf *b, const struct carry *c)
{
	struct table_loc l;
	uint32_t moved = 0;

	for (uint32_t i = 0; i < c->n; i++) {
		const struct voipq_ep_slot *e = &c->e[i];

		if (!table_locate(b, &e->key, &l) && !l.slot &&
		    !table_insert(b, &l, &e->key, &e->val))
			moved++;
	}
	if (moved < c->n)
		pr_warn("endpoint table: %u of %u entries did not fit the new "
			"table; raise max_endpoints and restart voipqd\n",
			c->n - moved, c->n);
}

static bool policy_same(const struct voipq_ep_val *val,
			const struct vq_bpf_policy *pol)
{
	return val->flags == pol->flags && val->clock_rate == pol->clock_rate &&
	       val->rate_bps == pol->rate_bps && val->burst == pol->burst &&
	       val->cookie == pol->cookie;
}

int vq_bpf_ep_set(struct vq_bpf *b, const struct vq_endpoint *ep,
		  const struct vq_bpf_policy *pol)
{
	struct voipq_ep_key key;
	struct voipq_ep_val val;
	char buf[VQ_ADDRSTRLEN];
	struct table_loc l;
	int err;

	if ((ep->proto != IPPROTO_UDP && ep->proto != IPPROTO_TCP) ||
	    (ep->family != AF_INET && ep->family != AF_INET6))
		return -EPROTONOSUPPORT;
	vq_ep_to_key(ep, &key);

	err = table_locate(b, &key, &l);
	if (!err && l.slot) {
		/*
		 * The policy half, in place (voipq.h); an update that
		 * changes nothing (a session refresh repeats its SDP) is
		 * not written at all.
		 */
		if (policy_same(&l.slot->val, pol))
			return 0;
		val_set_policy(&l.slot->val, pol);
		err = slot_write(b, l.at, l.slot);
	} else if (!err) {
		val_fresh(&val, pol);
		err = table_insert(b, &l, &key, &val);
	}
	if (err == -ENOSPC)
		pr_warn("program endpoint %s: no room for it in the endpoint "
			"table (%u slots); raise max_endpoints and restart "
			"voipqd, which resizes the table and keeps its "
			"entries\n", vq_endpoint_str(ep, buf, sizeof(buf)),
			table_slots(b));
	else if (err)
		pr_warn("program endpoint %s: %s\n",
			vq_endpoint_str(ep, buf, sizeof(buf)), strerror(-err));
	return err;
}

int vq_bpf_ep_del(struct vq_bpf *b, const struct vq_endpoint *ep)
{
	struct voipq_ep_key key;
	char buf[VQ_ADDRSTRLEN];
	struct table_loc l;
	int err;

	vq_ep_to_key(ep, &key);
	err = table_locate(b, &key, &l);
	if (!err && !l.slot)
		return -ENOENT;
	/* Entry first, bit second. */
	if (!err)
		err = slot_clear(b, l.at, l.slot);
	if (err) {
		pr_warn("remove endpoint %s: %s\n",
			vq_endpoint_str(ep, buf, sizeof(buf)), strerror(-err));
		return err;
	}
	port_unref(b, ep->port);
	return 0;
}

/* --- static prefix rules -------------------------------------------------- */

static void pfx_to_key(const struct vq_prefix *p, struct voipq_pfx_key *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = VOIPQ_PFX_KEY_BITS + p->len;
	vq_ep_to_key(&p->ep, &key->ep);
}

static int pfx_check(const struct vq_prefix *p)
{
	if (p->ep.proto != IPPROTO_UDP ||
	    (p->ep.family != AF_INET && p->ep.family != AF_INET6))
		return -EPROTONOSUPPORT;
	if (p->len > vq_prefix_full(p->ep.family))
		return -EINVAL;
	return 0;
}

int vq_bpf_pfx_set(struct vq_bpf *b, const struct vq_prefix *p,
		   const struct vq_bpf_policy *pol)
{
	int fd = bpf_map__fd(b->skel->maps.voipq_pfx);
	char buf[VQ_PREFIXSTRLEN];
	struct voipq_pfx_key key;
	struct voipq_ep_val val;
	int err = pfx_check(p);

	if (err)
		return err;
	if (vq_prefix_is_host(p))
		return vq_bpf_ep_set(b, &p->ep, pol);
	pfx_to_key(p, &key);
	if (!pfx_val_update(fd, &key, pol))
		return 0;
	val_fresh(&val, pol);

	/* Bits first, rule second, as for endpoints. */
	port_ref(b, p->ep.port);
	port_bit_set(b->pfx_ports, p->ep.port, true);
	if (bpf_map_update_elem(fd, &key, &val, BPF_NOEXIST)) {
		err = -errno;
		port_unref(b, p->ep.port);
		pfx_ports_rebuild(b);
		pr_warn("program rule %s: %s%s\n",
			vq_prefix_str(p, buf, sizeof(buf)), strerror(-err),
			err == -ENOSPC ? " — too many prefix rules, delete "
					 "some (voipqctl del)" : "");
		return err;
	}
	return 0;
}

int vq_bpf_pfx_del(struct vq_bpf *b, const struct vq_prefix *p)
{
	struct voipq_pfx_key key;
	int err = pfx_check(p);

	if (err)
		return err;
	if (vq_prefix_is_host(p))
		return vq_bpf_ep_del(b, &p->ep);
	pfx_to_key(p, &key);
	if (bpf_map_delete_elem(bpf_map__fd(b->skel->maps.voipq_pfx), &key))
		return -errno;
	port_unref(b, p->ep.port);
	pfx_ports_rebuild(b);
	return 0;
}

/* Whether @key is itself a rule (a trie lookup finds the longest match). */
static bool pfx_exists(struct vq_bpf *b, const struct voipq_pfx_key *key)
{
	struct voipq_pfx_key k = PFX_FIRST;

	while (!pfx_next(b, &k))
		if (!memcmp(&k, key, sizeof(k)))
			return true;
	return false;
}

int vq_bpf_pfx_lookup(struct vq_bpf *b, const struct vq_prefix *p,
		      struct voipq_ep_val *val)
{
	struct voipq_pfx_key key;

	if (vq_prefix_is_host(p))
		return vq_bpf_ep_lookup(b, &p->ep, val);
	pfx_to_key(p, &key);
	if (!pfx_exists(b, &key))
		return -ENOENT;
	if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.voipq_pfx), &key,
				val))
		return -errno;
	return 0;
}

int vq_bpf_pfx_for_each(struct vq_bpf *b,
			int (*fn)(void *arg, const struct vq_prefix *p,
				  const struct voipq_ep_val *val),
			void *arg)
{
	int fd = bpf_map__fd(b->skel->maps.voipq_pfx);
	struct voipq_pfx_key key = PFX_FIRST;
	struct voipq_ep_val val;
	struct vq_prefix p;
	int ret;

	while (!pfx_next(b, &key)) {
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue; /* deleted meanwhile */
		vq_key_to_ep(&key.ep, &p.ep);
		p.len = (uint8_t)(key.prefixlen - VOIPQ_PFX_KEY_BITS);
		ret = fn(arg, &p, &val);
		if (ret)
			return ret;
	}
	return 0;
}

int vq_bpf_ep_lookup(struct vq_bpf *b, const struct vq_endpoint *ep,
		     struct voipq_ep_val *val)
{
	struct voipq_ep_key key;
	struct table_loc l;
	int err;

	vq_ep_to_key(ep, &key);
	err = table_locate(b, &key, &l);
	if (err)
		return err;
	if (!l.slot)
		return -ENOENT;
	*val = l.slot->val;
	return 0;
}

int vq_bpf_ep_for_each(struct vq_bpf *b,
		       int (*fn)(void *arg, const struct vq_endpoint *ep,
				 const struct voipq_ep_val *val),
		       void *arg)
{
	int fd = bpf_map__fd(b->skel->maps.voipq_eps);
	uint32_t nslots = table_slots(b);
	struct voipq_ep_slot slot;
	struct vq_endpoint ep;
	int ret;

	for (uint32_t w = 0; w < (nslots + 63) / 64; w++) {
		for (uint64_t bits = b->used[w]; bits; bits &= bits - 1) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);

			if (bpf_map_lookup_elem(fd, &i, &slot))
				return -errno;
			if (!slot.key.family) {
				slot_mark(b, i, false); /* gone meanwhile */
				continue;
			}
			vq_key_to_ep(&slot.key, &ep);
			ret = fn(arg, &ep, &slot.val);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int vq_bpf_stats(struct vq_bpf *b, struct voipq_stats *out)
{
	struct voipq_stats *percpu;
	uint32_t zero = 0;
	int err = 0;

	percpu = calloc(b->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.voipq_stats), &zero,
				percpu)) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < b->ncpus; i++) {
		out->packets += percpu[i].packets;
		out->udp += percpu[i].udp;
		out->hits += percpu[i].hits;
		out->demoted += percpu[i].demoted;
		out->frags += percpu[i].frags;
		out->malformed += percpu[i].malformed;
		out->dscp_rewritten += percpu[i].dscp_rewritten;
		out->acks += percpu[i].acks;
	}
out:
	free(percpu);
	return err;
}

bool vq_bpf_rtp_figures(const struct voipq_ep_val *v, unsigned int dir,
			struct vq_rtp_figures *f)
{
	const struct voipq_rtp_dir *r = &v->rtp[dir % VOIPQ_NDIRS];
	uint32_t clock = v->clock_rate ? v->clock_rate : 8000;

	memset(f, 0, sizeof(*f));
	if (!(r->flags & VOIPQ_RTP_STARTED) || !r->received)
		return false;
	f->ssrc = r->ssrc;
	f->received = r->received;
	f->expected = (uint64_t)(r->ext_max_seq - r->base_seq) + 1;
	f->lost = (int64_t)f->expected - (int64_t)f->received;
	f->loss_pct = vq_rtp_loss_pct_of(f->expected, f->lost);
	f->jitter_ms = (double)r->jitter_q4 / 16.0 / clock * 1000.0;
	return true;
}

/* --- budget -------------------------------------------------------------- */

/*
 * Link, VLAN (two tags), IPv6, UDP and RTP headers: skb->len on egress
 * counts them all, and the bucket is charged skb->len.
 */
#define PKT_OVERHEAD	(14 + 8 + 40 + 8 + 12)
#define HEADROOM	2
#define AUDIO_DEFAULT	128000u   /* bit/s for an audio codec we don't know */
#define VIDEO_DEFAULT	2000000u  /* bit/s for video without b=AS */
#define MEDIA_MAX	10000000u /* no SDP buys more than this */
#define MTU_PAYLOAD	1200u

struct codec_bitrate {
	const char *name;
	uint32_t bps; /* the codec's maximum, without headers */
};

static const struct codec_bitrate codec_bitrates[] = {
	{ "PCMU", 64000 },   { "PCMA", 64000 },   { "G722", 64000 },
	{ "G729", 8000 },    { "G723", 6300 },    { "G728", 16000 },
	{ "G726-32", 32000 }, { "GSM", 13200 },   { "iLBC", 15200 },
	{ "AMR", 12200 },    { "AMR-WB", 23850 }, { "EVS", 128000 },
	{ "speex", 44200 },  { "SILK", 40000 },   { "G7221", 48000 },
	{ "opus", 510000 },  { "telephone-event", 8000 }, { "CN", 8000 },
	{ "t38", 64000 },    { "t140", 8000 },    { "red", 8000 },
};

static uint32_t codec_bps(const struct vq_codec *c)
{
	for (size_t i = 0; i < sizeof(codec_bitrates) /
			       sizeof(codec_bitrates[0]); i++)
		if (!strcasecmp(c->name, codec_bitrates[i].name))
			return codec_bitrates[i].bps;
	if (!strcasecmp(c->name, "L16"))
		return (c->clock_rate ? c->clock_rate : 44100) * 16;
	return 0;
}

void vq_bpf_budget(const struct vq_codec *codec, uint8_t media,
		   uint32_t *rate_bps, uint32_t *burst)
{
	uint64_t bps = codec ? codec_bps(codec) : 0;
	uint64_t as = codec ? (uint64_t)codec->bw_kbps * 1000 : 0;
	uint64_t pps, rate, b;
	unsigned int ptime;

	if (media == VQ_MEDIA_VIDEO) {
		/* video bitrates are whatever b=AS says; codecs don't tell */
		bps = as ? as : VIDEO_DEFAULT;
	} else if (!bps || (codec && !strcasecmp(codec->name, "opus"))) {
		/* variable-rate or unknown: b=AS bounds it when given */
		if (as)
			bps = as;
		else if (!bps)
			bps = media == VQ_MEDIA_AUDIO ? AUDIO_DEFAULT : 64000;
	}
	if (bps > MEDIA_MAX)
		bps = MEDIA_MAX;

	if (media == VQ_MEDIA_VIDEO) {
		pps = bps / 8 / MTU_PAYLOAD + 30; /* full packets + frame ends */
	} else {
		ptime = codec && codec->ptime_ms ? codec->ptime_ms : 20;
		if (ptime < 5)
			ptime = 5;
		if (ptime > 200)
			ptime = 200;
		pps = (1000 + ptime - 1) / ptime;
	}

	rate = (bps / 8 + pps * PKT_OVERHEAD) * HEADROOM;
	if (rate < 4000)
		rate = 4000;
	/*
	 * Depth: 200 ms of the (doubled) rate for audio, to ride out a Wi-Fi
	 * phone's bunching; half a second for video, whose key frames come
	 * as bursts of full packets. Never less than two full packets.
	 */
	b = media == VQ_MEDIA_VIDEO ? rate / 2 : rate / 5;
	if (media == VQ_MEDIA_VIDEO && b < 65536)
		b = 65536;
	if (b < 3000)
		b = 3000;
	*rate_bps = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
	*burst = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

/* --- endpoint events ------------------------------------------------------ */

static int bpf_ep_event(void *ctx, const struct vq_ep_event *ev)
{
	struct vq_bpf *b = ctx;
	const struct vq_media_ep *m = ev->mep;
	struct vq_bpf_policy pol = { 0 };
	int err;

	if (m->ep.proto != IPPROTO_UDP && m->ep.proto != IPPROTO_TCP)
		return 0;

	if (ev->type == VQ_EP_REMOVED) {
		err = vq_bpf_ep_del(b, &m->ep);
		/* -ENOENT: never programmed (no room for it then) */
		return err == -ENOENT ? 0 : err;
	}

	vq_bpf_budget(&m->codec, m->media, &pol.rate_bps, &pol.burst);
	if (m->kind == VQ_EP_RTCP) {
		/* RTCP: 5% of the session by RFC 3550 §6.2; be generous */
		pol.rate_bps = pol.rate_bps / 8 > 2000 ? pol.rate_bps / 8 : 2000;
		pol.burst = 3000;
	}
	pol.clock_rate = m->codec.clock_rate ? m->codec.clock_rate :
			 vq_rtp_static_clock(m->codec.pt);
	if (!pol.clock_rate)
		pol.clock_rate = 8000;
	if (m->media == VQ_MEDIA_AUDIO)
		pol.flags |= VOIPQ_EP_DSCP_EF;
	pol.cookie = vq_fnv64_str(VQ_FNV64_INIT, ev->dialog.call_id);
	return vq_bpf_ep_set(b, &m->ep, &pol);
}

const struct vq_backend_ops vq_bpf_backend_ops = {
	.ep_event = bpf_ep_event,
};
