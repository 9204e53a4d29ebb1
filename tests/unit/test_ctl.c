// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "suites.h"

#define BIG_REPLY (2u << 20) /* far more than a socket buffer holds */
#define CTL_TAG 100	     /* any tag: the loop's, not vq_ctl's */

static char sock_path[64];

/* "status" and "big" are commands; anything else is an error, as in voipqd. */
static json_object *echo_handler(void *ctx, json_object *req)
{
	json_object *cmd, *reply;
	const char *c;

	if (!json_object_object_get_ex(req, "cmd", &cmd))
		return vq_ctl_error("no command");
	c = json_object_get_string(cmd);
	reply = json_object_new_object();
	if (!strcmp(c, "big")) {
		char *s = malloc(BIG_REPLY + 1);

		memset(s, 'x', BIG_REPLY);
		s[BIG_REPLY] = '\0';
		json_object_object_add(reply, "big", json_object_new_string(s));
		free(s);
	} else if (!strcmp(c, "status")) {
		json_object_object_add(reply, "echo", json_object_new_string(c));
	} else {
		json_object_put(reply);
		reply = vq_ctl_error("unknown command '%s'", c);
	}
	return reply;
}

/* The daemon's loop in small: one epoll set, a periodic expiry. */
struct server {
	struct vq_ctl *ctl;
	int epfd;
	pthread_t th;
	volatile bool stop;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	while (!s->stop) {
		struct epoll_event evs[8];
		int n = epoll_wait(s->epfd, evs, 8, 20);

		for (int i = 0; i < n; i++)
			vq_ctl_event(s->ctl, evs[i].data.u32);
		vq_ctl_expire(s->ctl);
	}
	return NULL;
}

static void server_start(struct server *s)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(vq_ctl_listen(&s->ctl, sock_path, NULL, echo_handler,
				       NULL, err, sizeof(err)), 0);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(s->epfd, 0);
	ck_assert_int_eq(vq_ctl_attach(s->ctl, s->epfd, CTL_TAG), 0);
	ck_assert_int_eq(pthread_create(&s->th, NULL, serve, s), 0);
}

/* Stops the loop; the stats are the caller's to read until vq_ctl_close(). */
static void server_stop(struct server *s)
{
	s->stop = true;
	pthread_join(s->th, NULL);
	close(s->epfd);
}

static void setup(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/voipq-ctl-test-%d.sock",
		 (int)getpid());
	unlink(sock_path);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int client_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void client_send(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Has voipqd closed its side of @fd? (Unread data of ours does not hide it.) */
static bool closed_by_server(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLHUP | POLLRDHUP));
}

/* The whole reply on @fd up to voipqd's close, NUL-terminated. */
static size_t read_reply(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

/* {"cmd": @cmd} through the client side, answered within @within_ms. */
static json_object *request(const char *cmd, int within_ms)
{
	json_object *req = json_object_new_object(), *reply;
	uint64_t t0 = ms_now();
	char err[256];

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	ck_assert_msg(vq_ctl_request(sock_path, req, &reply, within_ms, err,
				     sizeof(err)) == 0, "request: %s", err);
	ck_assert_uint_lt(ms_now() - t0, (uint64_t)within_ms);
	json_object_put(req);
	return reply;
}

/* The string @key of @reply, which must have it. */
static const char *field(json_object *reply, const char *key)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(reply, key, &v), "no \"%s\" in %s",
		      key, json_object_to_json_string(reply));
	return json_object_get_string(v);
}

static void status_answered(int within_ms)
{
	json_object *reply = request("status", within_ms);

	ck_assert_str_eq(field(reply, "echo"), "status");
	json_object_put(reply);
}

START_TEST(request_gets_reply)
{
	struct server s;
	struct stat st;
	char err[256];

	server_start(&s);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600); /* root only by default */
	status_answered(2000);

	/* A second instance must not steal a live socket. */
	{
		struct vq_ctl *other;

		ck_assert_int_eq(vq_ctl_listen(&other, sock_path, NULL, echo_handler,
					       NULL, err, sizeof(err)), -EADDRINUSE);
		ck_assert_msg(strstr(err, "another voipqd"), "err: %s", err);
	}
	server_stop(&s);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->served, 1);
	vq_ctl_close(s.ctl);
	ck_assert_int_ne(access(sock_path, F_OK), 0);
}
END_TEST

/* @req sent as it is gets @want back, to the byte, and the close. */
static void raw_exchange(const char *req, const char *want)
{
	struct server s;
	char buf[256];
	int fd;

	server_start(&s);
	fd = client_connect();
	client_send(fd, req);
	read_reply(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	close(fd);
	server_stop(&s);
	vq_ctl_close(s.ctl);
}

/* The bytes on the wire: one JSON document and a newline. */
START_TEST(reply_is_one_json_line)
{
	raw_exchange("{\"cmd\":\"status\"}\n", "{\"echo\":\"status\"}\n");
}
END_TEST

START_TEST(garbage_request_gets_error_reply)
{
	raw_exchange("{not json\n", "{\"error\":\"request is not a JSON object\"}\n");
}
END_TEST

/* The handler's error replies go out as they are. */
START_TEST(unknown_command_gets_error_reply)
{
	struct server s;
	json_object *reply;

	server_start(&s);
	reply = request("nope", 2000);
	ck_assert_str_eq(field(reply, "error"), "unknown command 'nope'");
	json_object_put(reply);
	server_stop(&s);
	vq_ctl_close(s.ctl);
}
END_TEST

START_TEST(request_longer_than_limit_gets_error_reply)
{
	static char req[VQ_CTL_MAX_REQUEST + 100];

	memset(req, ' ', sizeof(req) - 2);
	req[0] = '{';
	req[sizeof(req) - 2] = '}';
	raw_exchange(req, "{\"error\":\"request longer than 4095 bytes: send one "
			  "JSON object on one line\"}\n");
}
END_TEST

/* A client that hangs up before its reply must not take the server down. */
START_TEST(client_gone_before_reply_is_survived)
{
	struct server s;
	int fd;

	server_start(&s);
	fd = client_connect();
	client_send(fd, "{\"cmd\":\"big\"}\n");
	close(fd); /* the reply meets a closed socket: EPIPE */
	status_answered(2000);
	server_stop(&s);
	vq_ctl_close(s.ctl);
}
END_TEST

START_TEST(large_reply_arrives_whole)
{
	struct server s;
	json_object *reply;

	server_start(&s);
	reply = request("big", 2000);
	ck_assert_uint_eq(strlen(field(reply, "big")), BIG_REPLY);
	json_object_put(reply);
	server_stop(&s);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->served, 1);
	vq_ctl_close(s.ctl);
}
END_TEST

START_TEST(stale_socket_file_is_replaced)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vq_ctl *c;
	char err[256];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* A socket file nobody listens on, as a crashed daemon leaves it. */
	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(vq_ctl_listen(&c, sock_path, NULL, echo_handler, NULL,
				       err, sizeof(err)), 0);
	vq_ctl_close(c);
}
END_TEST

START_TEST(client_says_daemon_not_running)
{
	json_object *req = json_object_new_object(), *reply;
	char err[256];

	ck_assert_int_eq(vq_ctl_request(sock_path, req, &reply, 500, err,
					sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "voipqd is not running") && strstr(err, sock_path),
		      "err: %s", err);
	ck_assert_ptr_null(reply);
	json_object_put(req);
}
END_TEST

/*
 * Clients that connect and say nothing hold a slot each, not the loop:
 * another client is answered while they are all still connected, and they
 * are dropped at their deadline, not before.
 */
START_TEST(silent_clients_do_not_delay_others_and_expire)
{
	int fds[VQ_CTL_MAX_CLIENTS - 1];
	uint64_t t0 = ms_now();
	struct server s;
	size_t n = sizeof(fds) / sizeof(fds[0]);

	server_start(&s);
	for (size_t i = 0; i < n; i++)
		fds[i] = client_connect();
	status_answered(VQ_CTL_DEADLINE_MS / 2);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(!closed_by_server(fds[i], 0),
			      "silent client %zu dropped before its deadline", i);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(closed_by_server(fds[i], VQ_CTL_DEADLINE_MS + 3000),
			      "silent client %zu still connected", i);
		ck_assert_uint_ge(ms_now() - t0, VQ_CTL_DEADLINE_MS);
		close(fds[i]);
	}
	server_stop(&s);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->expired, n);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->served, 1);
	vq_ctl_close(s.ctl);
}
END_TEST

/*
 * A client that asks for more than the socket holds and never reads: the
 * reply goes out as far as the socket takes it, others are answered
 * meanwhile, and the client is dropped at its deadline with what it got.
 */
START_TEST(unread_large_reply_does_not_block_others)
{
	static char buf[BIG_REPLY + 64];
	struct pollfd p;
	uint64_t t0 = ms_now();
	struct server s;
	size_t n;
	int fd;

	server_start(&s);
	fd = client_connect();
	client_send(fd, "{\"cmd\":\"big\"}\n");
	/* The reply has started: the server has filled what the socket takes. */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	status_answered(VQ_CTL_DEADLINE_MS / 2);
	ck_assert(!closed_by_server(fd, 0));
	ck_assert(closed_by_server(fd, VQ_CTL_DEADLINE_MS + 3000));
	ck_assert_uint_ge(ms_now() - t0, VQ_CTL_DEADLINE_MS);
	n = read_reply(fd, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, BIG_REPLY); /* cut short: it did not read in time */
	close(fd);
	server_stop(&s);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->expired, 1);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->served, 1);
	vq_ctl_close(s.ctl);
}
END_TEST

/* A request that comes in pieces is answered; others are served meanwhile. */
START_TEST(dribbled_request_is_answered_within_deadline)
{
	static const char *const pieces[] = { "{\"cm", "d\":\"st", "atus\"", "}\n" };
	struct timespec gap = { 0, 150 * 1000000 };
	struct server s;
	char buf[256];
	int fd;

	server_start(&s);
	fd = client_connect();
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		client_send(fd, pieces[i]);
		nanosleep(&gap, NULL);
		if (i == 1)
			status_answered(VQ_CTL_DEADLINE_MS / 2);
	}
	read_reply(fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "{\"echo\":\"status\"}\n");
	close(fd);
	server_stop(&s);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->served, 2);
	vq_ctl_close(s.ctl);
}
END_TEST

/* A request that never ends within the deadline is not waited for. */
START_TEST(dribbled_request_past_deadline_is_dropped)
{
	struct timespec gap = { 0, 200 * 1000000 };
	uint64_t t0 = ms_now();
	struct server s;
	char buf[256];
	int fd;

	server_start(&s);
	fd = client_connect();
	client_send(fd, "{\"cmd\":\"status\",\"pad\":\"");
	/* A byte at a time, each well within any per-read timeout. */
	while (!closed_by_server(fd, 0) &&
	       ms_now() - t0 < VQ_CTL_DEADLINE_MS + 3000) {
		send(fd, "x", 1, MSG_NOSIGNAL);
		nanosleep(&gap, NULL);
	}
	ck_assert_msg(closed_by_server(fd, 0), "still connected after %llu ms",
		      (unsigned long long)(ms_now() - t0));
	ck_assert_uint_ge(ms_now() - t0, VQ_CTL_DEADLINE_MS);
	ck_assert_uint_eq(read_reply(fd, buf, sizeof(buf)), 0); /* no answer */
	status_answered(VQ_CTL_DEADLINE_MS / 2);
	close(fd);
	server_stop(&s);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->expired, 1);
	vq_ctl_close(s.ctl);
}
END_TEST

/*
 * With every slot held, one more client is told voipqd is busy at once;
 * the clients holding the slots are then answered as if nothing happened.
 */
START_TEST(over_cap_client_is_refused_others_served)
{
	int fds[VQ_CTL_MAX_CLIENTS];
	json_object *reply;
	struct server s;
	char buf[256];

	server_start(&s);
	for (int i = 0; i < VQ_CTL_MAX_CLIENTS; i++)
		fds[i] = client_connect();
	reply = request("status", VQ_CTL_DEADLINE_MS / 2);
	ck_assert_str_eq(field(reply, "error"),
			 "voipqd is busy serving 16 other clients: try again");
	json_object_put(reply);
	for (int i = 0; i < VQ_CTL_MAX_CLIENTS; i++) {
		client_send(fds[i], "{\"cmd\":\"status\"}\n");
		read_reply(fds[i], buf, sizeof(buf));
		ck_assert_str_eq(buf, "{\"echo\":\"status\"}\n");
		close(fds[i]);
	}
	server_stop(&s);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->refused, 1);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->served, VQ_CTL_MAX_CLIENTS);
	ck_assert_uint_eq(vq_ctl_stats(s.ctl)->expired, 0);
	vq_ctl_close(s.ctl);
}
END_TEST

Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("socket");
	TCase *slow = tcase_create("clients");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, request_gets_reply);
	tcase_add_test(tc, reply_is_one_json_line);
	tcase_add_test(tc, garbage_request_gets_error_reply);
	tcase_add_test(tc, unknown_command_gets_error_reply);
	tcase_add_test(tc, request_longer_than_limit_gets_error_reply);
	tcase_add_test(tc, client_gone_before_reply_is_survived);
	tcase_add_test(tc, large_reply_arrives_whole);
	tcase_add_test(tc, stale_socket_file_is_replaced);
	tcase_add_test(tc, client_says_daemon_not_running);
	suite_add_tcase(s, tc);

	/* Clients that misbehave until their deadline: seconds each. */
	tcase_add_checked_fixture(slow, setup, NULL);
	tcase_set_timeout(slow, 20);
	tcase_add_test(slow, silent_clients_do_not_delay_others_and_expire);
	tcase_add_test(slow, unread_large_reply_does_not_block_others);
	tcase_add_test(slow, dribbled_request_is_answered_within_deadline);
	tcase_add_test(slow, dribbled_request_past_deadline_is_dropped);
	tcase_add_test(slow, over_cap_client_is_refused_others_served);
	suite_add_tcase(s, slow);
	return s;
}
