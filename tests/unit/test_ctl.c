// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "suites.h"

static char sock_path[64];

static json_object *echo_handler(void *ctx, json_object *req)
{
	json_object *cmd, *reply;

	if (!json_object_object_get_ex(req, "cmd", &cmd))
		return vq_ctl_error("no command");
	reply = json_object_new_object();
	json_object_object_add(reply, "echo",
			       json_object_new_string(json_object_get_string(cmd)));
	return reply;
}

struct server {
	struct vq_ctl *ctl;
	volatile bool stop;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	while (!s->stop) {
		struct pollfd p = { .fd = vq_ctl_fd(s->ctl), .events = POLLIN };

		if (poll(&p, 1, 20) > 0)
			vq_ctl_serve(s->ctl);
	}
	return NULL;
}

static void setup(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/voipq-ctl-test-%d.sock",
		 (int)getpid());
	unlink(sock_path);
}

START_TEST(request_gets_reply)
{
	struct server s = { 0 };
	json_object *req = json_object_new_object(), *reply, *v;
	pthread_t th;
	struct stat st;
	char err[256];

	ck_assert_int_eq(vq_ctl_listen(&s.ctl, sock_path, NULL, echo_handler,
				       NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600); /* root only by default */
	pthread_create(&th, NULL, serve, &s);

	json_object_object_add(req, "cmd", json_object_new_string("status"));
	ck_assert_int_eq(vq_ctl_request(sock_path, req, &reply, 2000, err,
					sizeof(err)), 0);
	ck_assert(json_object_object_get_ex(reply, "echo", &v));
	ck_assert_str_eq(json_object_get_string(v), "status");
	json_object_put(reply);
	json_object_put(req);

	/* A second instance must not steal a live socket. */
	{
		struct vq_ctl *other;

		ck_assert_int_eq(vq_ctl_listen(&other, sock_path, NULL, echo_handler,
					       NULL, err, sizeof(err)), -EADDRINUSE);
		ck_assert_msg(strstr(err, "another voipqd"), "err: %s", err);
	}
	s.stop = true;
	pthread_join(th, NULL);
	vq_ctl_close(s.ctl);
	ck_assert_int_ne(access(sock_path, F_OK), 0);
}
END_TEST

START_TEST(garbage_request_gets_error_reply)
{
	struct server s = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t th;
	char err[256], buf[256] = "";
	ssize_t n;
	int fd;

	ck_assert_int_eq(vq_ctl_listen(&s.ctl, sock_path, NULL, echo_handler,
				       NULL, err, sizeof(err)), 0);
	pthread_create(&th, NULL, serve, &s);
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, "{not json\n", 10), 10);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(strstr(buf, "\"error\"") && strstr(buf, "not a JSON object"),
		      "reply: %s", buf);
	close(fd);
	s.stop = true;
	pthread_join(th, NULL);
	vq_ctl_close(s.ctl);
}
END_TEST

/* A client that hangs up before its reply must not take the server down. */
START_TEST(client_gone_before_reply_is_survived)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_object *req = json_object_new_object(), *reply, *v;
	struct server s = { 0 };
	pthread_t th;
	char err[256];
	int fd;

	ck_assert_int_eq(vq_ctl_listen(&s.ctl, sock_path, NULL, echo_handler,
				       NULL, err, sizeof(err)), 0);
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, "{\"cmd\":\"status\"}\n", 17), 17);
	close(fd);
	vq_ctl_serve(s.ctl); /* the reply meets a closed socket: EPIPE */

	pthread_create(&th, NULL, serve, &s);
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	ck_assert_int_eq(vq_ctl_request(sock_path, req, &reply, 2000, err,
					sizeof(err)), 0);
	ck_assert(json_object_object_get_ex(reply, "echo", &v));
	json_object_put(reply);
	json_object_put(req);
	s.stop = true;
	pthread_join(th, NULL);
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

Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, request_gets_reply);
	tcase_add_test(tc, garbage_request_gets_error_reply);
	tcase_add_test(tc, client_gone_before_reply_is_survived);
	tcase_add_test(tc, stale_socket_file_is_replaced);
	tcase_add_test(tc, client_says_daemon_not_running);
	suite_add_tcase(s, tc);
	return s;
}
