// SPDX-License-Identifier: GPL-2.0
/*
 * q_voipq.so: teaches tc(8) the voipq qdisc, as a plugin tc loads from
 * $TC_LIB_DIR (default /usr/lib/tc) when it meets an unknown kind:
 *
 *   tc qdisc add dev eth0 root voipq rate 95mbit [share 30] [limit 10240]
 *       [target 5ms] [interval 100ms] [ecn|noecn] [trust_dscp|notrust_dscp]
 *   tc -s qdisc show dev eth0
 *
 * tc exports its helpers (parsing, netlink attributes, the text/JSON output
 * layer) to plugins; they are declared here as iproute2 6.1 defines them,
 * because iproute2 installs no headers. The kernel validates every value
 * again and says why it refuses one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <linux/voipq.h>

/* --- what tc exports (iproute2 include/utils.h, json_print.h, color.h) --- */
enum output_type { PRINT_FP = 1, PRINT_JSON = 2, PRINT_ANY = 4 };
enum color_attr { COLOR_NONE = 6 };

int get_rate64(__u64 *rate, const char *str);
int get_time(unsigned int *time, const char *str);
int get_u32(__u32 *val, const char *arg, int base);
int addattr_l(struct nlmsghdr *n, int maxlen, int type, const void *data,
	      int alen);
struct rtattr *addattr_nest(struct nlmsghdr *n, int maxlen, int type);
int addattr_nest_end(struct nlmsghdr *n, struct rtattr *nest);
int print_color_uint(enum output_type t, enum color_attr c, const char *key,
		     const char *fmt, unsigned int value);
int print_color_lluint(enum output_type t, enum color_attr c, const char *key,
		       const char *fmt, unsigned long long value);
int print_color_bool(enum output_type t, enum color_attr c, const char *key,
		     const char *fmt, int value);
void tc_print_rate(enum output_type t, const char *key, const char *fmt,
		   unsigned long long rate);
void print_nl(void);

/* The head of iproute2's struct qdisc_util; tc reads nothing past it. */
struct qdisc_util {
	struct qdisc_util *next;
	const char *id;
	int (*parse_qopt)(struct qdisc_util *qu, int argc, char **argv,
			  struct nlmsghdr *n, const char *dev);
	int (*print_qopt)(struct qdisc_util *qu, FILE *f, struct rtattr *opt);
	int (*print_xstats)(struct qdisc_util *qu, FILE *f,
			    struct rtattr *xstats);
	void *parse_copt;
	void *print_copt;
	void *has_block;
};

#define MAXLEN 1024

static void explain(void)
{
	fprintf(stderr,
		"Usage: ... voipq rate RATE [ share PERCENT ] [ limit PACKETS ]\n"
		"                [ target TIME ] [ interval TIME ]\n"
		"                [ ecn | noecn ] [ trust_dscp | notrust_dscp ]\n");
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "voipq: illegal \"%s\": \"%s\"\n", what, arg);
	explain();
	return -1;
}

static int voipq_parse_opt(struct qdisc_util *qu, int argc, char **argv,
			   struct nlmsghdr *n, const char *dev)
{
	struct rtattr *tail;
	__u64 rate = 0;
	__u32 v;
	__u8 b;

	tail = addattr_nest(n, MAXLEN, TCA_OPTIONS | NLA_F_NESTED);
	for (; argc > 0; argc--, argv++) {
		const char *k = *argv;

		if (!strcmp(k, "help")) {
			explain();
			return -1;
		}
		if (!strcmp(k, "ecn") || !strcmp(k, "noecn")) {
			b = k[0] == 'e';
			addattr_l(n, MAXLEN, TCA_VOIPQ_ECN, &b, sizeof(b));
			continue;
		}
		if (!strcmp(k, "trust_dscp") || !strcmp(k, "notrust_dscp")) {
			b = k[0] == 't';
			addattr_l(n, MAXLEN, TCA_VOIPQ_TRUST_DSCP, &b, sizeof(b));
			continue;
		}
		if (argc < 2)
			return bad(k, "(missing value)");
		argc--;
		argv++;
		if (!strcmp(k, "rate")) {
			if (get_rate64(&rate, *argv))
				return bad(k, *argv);
			addattr_l(n, MAXLEN, TCA_VOIPQ_RATE, &rate, sizeof(rate));
		} else if (!strcmp(k, "share")) {
			if (get_u32(&v, *argv, 10))
				return bad(k, *argv);
			addattr_l(n, MAXLEN, TCA_VOIPQ_VOICE_SHARE, &v, sizeof(v));
		} else if (!strcmp(k, "limit")) {
			if (get_u32(&v, *argv, 10))
				return bad(k, *argv);
			addattr_l(n, MAXLEN, TCA_VOIPQ_LIMIT, &v, sizeof(v));
		} else if (!strcmp(k, "target") || !strcmp(k, "interval")) {
			if (get_time(&v, *argv))
				return bad(k, *argv);
			addattr_l(n, MAXLEN, k[0] == 't' ? TCA_VOIPQ_TARGET :
				  TCA_VOIPQ_INTERVAL, &v, sizeof(v));
		} else {
			fprintf(stderr, "voipq: unknown option \"%s\"\n", k);
			explain();
			return -1;
		}
	}
	addattr_nest_end(n, tail);
	return 0;
}

static int voipq_print_opt(struct qdisc_util *qu, FILE *f, struct rtattr *opt)
{
	struct rtattr *tb[TCA_VOIPQ_MAX + 1] = { NULL };
	struct rtattr *a;
	int len;

	if (!opt)
		return 0;
	len = RTA_PAYLOAD(opt);
	for (a = RTA_DATA(opt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		unsigned short type = a->rta_type & NLA_TYPE_MASK;

		if (type <= TCA_VOIPQ_MAX)
			tb[type] = a;
	}
#define GOT(t, sz) (tb[t] && RTA_PAYLOAD(tb[t]) >= (sz))
	if (GOT(TCA_VOIPQ_RATE, sizeof(__u64))) {
		__u64 rate;

		memcpy(&rate, RTA_DATA(tb[TCA_VOIPQ_RATE]), sizeof(rate));
		tc_print_rate(PRINT_ANY, "rate", "rate %s ", rate);
	}
	if (GOT(TCA_VOIPQ_VOICE_SHARE, 4))
		print_color_uint(PRINT_ANY, COLOR_NONE, "voice_share", "share %u%% ",
				 *(__u32 *)RTA_DATA(tb[TCA_VOIPQ_VOICE_SHARE]));
	if (GOT(TCA_VOIPQ_LIMIT, 4))
		print_color_uint(PRINT_ANY, COLOR_NONE, "limit", "limit %up ",
				 *(__u32 *)RTA_DATA(tb[TCA_VOIPQ_LIMIT]));
	if (GOT(TCA_VOIPQ_TARGET, 4))
		print_color_uint(PRINT_ANY, COLOR_NONE, "target_us", "target %uus ",
				 *(__u32 *)RTA_DATA(tb[TCA_VOIPQ_TARGET]));
	if (GOT(TCA_VOIPQ_INTERVAL, 4))
		print_color_uint(PRINT_ANY, COLOR_NONE, "interval_us", "interval %uus ",
				 *(__u32 *)RTA_DATA(tb[TCA_VOIPQ_INTERVAL]));
	if (GOT(TCA_VOIPQ_ECN, 1))
		print_color_bool(PRINT_ANY, COLOR_NONE, "ecn",
				 *(__u8 *)RTA_DATA(tb[TCA_VOIPQ_ECN]) ? "ecn " : "noecn ",
				 *(__u8 *)RTA_DATA(tb[TCA_VOIPQ_ECN]));
	if (GOT(TCA_VOIPQ_TRUST_DSCP, 1))
		print_color_bool(PRINT_ANY, COLOR_NONE, "trust_dscp",
				 *(__u8 *)RTA_DATA(tb[TCA_VOIPQ_TRUST_DSCP]) ?
				 "trust_dscp " : "notrust_dscp ",
				 *(__u8 *)RTA_DATA(tb[TCA_VOIPQ_TRUST_DSCP]));
#undef GOT
	return 0;
}

static int voipq_print_xstats(struct qdisc_util *qu, FILE *f,
			      struct rtattr *xstats)
{
	struct tc_voipq_xstats st = { 0 };
	unsigned int i;
	static const struct {
		const char *key;
		size_t off;
	} u64s[] = {
#define F(x) { #x, __builtin_offsetof(struct tc_voipq_xstats, x) }
		F(voice_packets), F(voice_bytes), F(bulk_packets), F(bulk_bytes),
		F(by_priority), F(by_table), F(by_dscp), F(demoted),
		F(voice_over_cap), F(voice_drops), F(overlimit_drops),
		F(codel_drops), F(ecn_marks), F(throttled), F(gso_split),
	}, u32s[] = {
		F(voice_qlen), F(bulk_qlen), F(voice_backlog), F(bulk_backlog),
		F(new_flows_len), F(old_flows_len),
#undef F
	};
	char fmt[48];

	if (!xstats)
		return 0;
	/* An older module may send less: what is missing reads as zero. */
	memcpy(&st, RTA_DATA(xstats), RTA_PAYLOAD(xstats) < sizeof(st) ?
	       RTA_PAYLOAD(xstats) : sizeof(st));
	for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++) {
		__u64 v;

		if (i % 4 == 0)
			print_nl();
		memcpy(&v, (char *)&st + u64s[i].off, sizeof(v));
		snprintf(fmt, sizeof(fmt), " %s %%llu", u64s[i].key);
		print_color_lluint(PRINT_ANY, COLOR_NONE, u64s[i].key, fmt, v);
	}
	for (i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++) {
		__u32 v;

		if (i % 4 == 0)
			print_nl();
		memcpy(&v, (char *)&st + u32s[i].off, sizeof(v));
		snprintf(fmt, sizeof(fmt), " %s %%u", u32s[i].key);
		print_color_uint(PRINT_ANY, COLOR_NONE, u32s[i].key, fmt, v);
	}
	return 0;
}

struct qdisc_util voipq_qdisc_util = {
	.id		= "voipq",
	.parse_qopt	= voipq_parse_opt,
	.print_qopt	= voipq_print_opt,
	.print_xstats	= voipq_print_xstats,
};
