// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

/* A client gets this long to send its request and take its reply. */
#define CTL_CLIENT_TIMEOUT_MS 500

struct vq_ctl {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	vq_ctl_handler handler;
	void *ctx;
};

json_object *vq_ctl_error(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(buf));
	return o;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/* Is someone answering on @path? A stale socket file is not. */
static bool socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

int vq_ctl_listen(struct vq_ctl **out, const char *path, const char *group,
		  vq_ctl_handler handler, void *ctx, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct vq_ctl *c;
	mode_t mode = 0600;
	gid_t gid = (gid_t)-1;
	int ret;

	if (fill_addr(&sa, path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	if (group && *group) {
		struct group *g = getgrnam(group);

		if (!g) {
			snprintf(err, errlen, "socket_group '%s' does not exist", group);
			return -ENOENT;
		}
		gid = g->gr_gid;
		mode = 0660;
	}
	if (socket_alive(&sa)) {
		snprintf(err, errlen, "another voipqd is running (it answers on %s)",
			 path);
		return -EADDRINUSE;
	}
	unlink(path);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, mode) || (gid != (gid_t)-1 && chown(path, 0, gid)) ||
	    listen(c->fd, 16)) {
		ret = -errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return ret;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->handler = handler;
	c->ctx = ctx;
	*out = c;
	return 0;
}

int vq_ctl_fd(const struct vq_ctl *c)
{
	return c->fd;
}

/* Read one line, bounded in size and time. */
static ssize_t read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static int write_all(int fd, const char *s, size_t len, int timeout_ms)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t w;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		/* A peer gone early is an error here, not a SIGPIPE for all. */
		w = send(fd, s, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

static void serve_one(struct vq_ctl *c, int fd)
{
	char buf[VQ_CTL_MAX_REQUEST];
	json_object *req, *reply;
	const char *s;
	ssize_t n;

	n = read_line(fd, buf, sizeof(buf), CTL_CLIENT_TIMEOUT_MS);
	if (n <= 0)
		return;
	req = json_tokener_parse(buf);
	if (!req || !json_object_is_type(req, json_type_object))
		reply = vq_ctl_error("request is not a JSON object");
	else
		reply = c->handler(c->ctx, req);
	json_object_put(req);
	if (!reply)
		reply = vq_ctl_error("out of memory");
	s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	if (write_all(fd, s, strlen(s), CTL_CLIENT_TIMEOUT_MS) == 0)
		write_all(fd, "\n", 1, CTL_CLIENT_TIMEOUT_MS);
	json_object_put(reply);
}

void vq_ctl_serve(struct vq_ctl *c)
{
	int fd;

	/* A bounded number per wakeup, so the packet path is never starved. */
	for (int i = 0; i < 16; i++) {
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		serve_one(c, fd);
		close(fd);
	}
}

void vq_ctl_close(struct vq_ctl *c)
{
	if (!c)
		return;
	close(c->fd);
	unlink(c->path);
	free(c);
}

int vq_ctl_request(const char *path, json_object *req, json_object **reply,
		   int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	static char buf[1 << 22]; /* replies list every call and flow */
	size_t n = 0;
	int fd, ret;

	*reply = NULL;
	if (fill_addr(&sa, path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ECONNREFUSED)
			snprintf(err, errlen, "voipqd is not running (no socket at %s)",
				 path);
		else if (ret == -EACCES)
			snprintf(err, errlen, "permission denied on %s: run as root "
				 "or as a member of voipqd's socket_group", path);
		else
			snprintf(err, errlen, "cannot reach voipqd at %s: %s", path,
				 strerror(-ret));
		close(fd);
		return ret;
	}
	ret = write_all(fd, s, strlen(s), timeout_ms);
	if (!ret)
		ret = write_all(fd, "\n", 1, timeout_ms);
	while (!ret && n + 1 < sizeof(buf)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (ret) {
		snprintf(err, errlen, "voipqd did not answer on %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	*reply = json_tokener_parse(buf);
	if (!*reply) {
		snprintf(err, errlen, "voipqd sent a reply that is not JSON");
		return -EPROTO;
	}
	return 0;
}
