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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "log.h"

/*
 * A client of the daemon, in a slot of its own. It is read while it has no
 * reply yet, written once it has one, and dropped when its reply is out,
 * when it goes away, or at its deadline, whichever comes first.
 */
struct ctl_client {
	int fd;		   /* -1: the slot is free */
	uint64_t deadline; /* CLOCK_MONOTONIC, ms */
	char *reply;	   /* the reply line; NULL while the request comes in */
	size_t len;	   /* of the request read, or of the reply */
	size_t sent;	   /* of the reply */
	char req[VQ_CTL_MAX_REQUEST];
};

struct vq_ctl {
	int fd, epfd;
	uint32_t tag;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	vq_ctl_handler handler;
	void *ctx;
	struct vq_ctl_stats stats;
	struct ctl_client clients[VQ_CTL_MAX_CLIENTS];
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
	c->epfd = -1;
	for (int i = 0; i < VQ_CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
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

static uint64_t mono_ms(void)
{
	return vq_clock_mono_ns() / 1000000;
}

/* @reply as the line that goes out (JSON and a newline), or NULL. */
static char *reply_line(json_object *reply, size_t *len)
{
	const char *s;
	char *line;

	if (!reply)
		reply = vq_ctl_error("out of memory");
	s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	*len = strlen(s) + 1;
	line = malloc(*len);
	if (line) {
		memcpy(line, s, *len - 1);
		line[*len - 1] = '\n';
	}
	json_object_put(reply);
	return line;
}

static int client_watch(struct vq_ctl *c, struct ctl_client *cl, int op,
			uint32_t events)
{
	struct epoll_event ev = {
		.events = events,
		.data.u32 = c->tag + 1 + (uint32_t)(cl - c->clients),
	};

	return epoll_ctl(c->epfd, op, cl->fd, &ev) ? -errno : 0;
}

static void client_drop(struct ctl_client *cl)
{
	close(cl->fd); /* which takes it out of the epoll set too */
	cl->fd = -1;
	free(cl->reply);
	cl->reply = NULL;
}

/*
 * Read what has come of the request: 1 once it is whole (a line, or all
 * the client sent before it shut its side), 0 while more is to come,
 * -EMSGSIZE when it does not fit, another -errno when the client is gone.
 */
static int client_read(struct ctl_client *cl)
{
	for (;;) {
		size_t room = sizeof(cl->req) - 1 - cl->len;
		ssize_t r;
		char *nl;

		if (!room)
			return -EMSGSIZE;
		r = recv(cl->fd, cl->req + cl->len, room, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (r == 0)
			return cl->len ? 1 : -ECONNRESET;
		nl = memchr(cl->req + cl->len, '\n', (size_t)r);
		cl->len += (size_t)r;
		if (nl) {
			cl->len = (size_t)(nl - cl->req);
			return 1;
		}
	}
}

/* The reply to a whole request, or to one that did not fit (@ret). */
static json_object *client_answer(struct vq_ctl *c, struct ctl_client *cl,
				  int ret)
{
	json_object *req, *reply;

	if (ret == -EMSGSIZE)
		return vq_ctl_error("request longer than %d bytes: send one JSON "
				    "object on one line", VQ_CTL_MAX_REQUEST - 1);
	cl->req[cl->len] = '\0';
	req = json_tokener_parse(cl->req);
	if (!req || !json_object_is_type(req, json_type_object))
		reply = vq_ctl_error("request is not a JSON object");
	else
		reply = c->handler(c->ctx, req);
	json_object_put(req);
	return reply;
}

/* Send what the socket takes now: 1 when all is out, 0 for later, -errno. */
static int client_write(struct ctl_client *cl)
{
	while (cl->sent < cl->len) {
		/* A peer gone early is an error here, not a SIGPIPE for all. */
		ssize_t w = send(cl->fd, cl->reply + cl->sent, cl->len - cl->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? 0 : -errno;
		cl->sent += (size_t)w;
	}
	return 1;
}

/* Drop @cl if its deadline has passed; true if it has. */
static bool client_expire(struct vq_ctl *c, struct ctl_client *cl, uint64_t now)
{
	if (now < cl->deadline)
		return false;
	c->stats.expired++;
	client_drop(cl);
	return true;
}

static void client_event(struct vq_ctl *c, struct ctl_client *cl)
{
	int ret;

	/* (An event for a client dropped since finds its slot free.) */
	if (cl->fd < 0 || client_expire(c, cl, mono_ms()))
		return;
	if (!cl->reply) {
		ret = client_read(cl);
		if (!ret)
			return;
		if (ret < 0 && ret != -EMSGSIZE) {
			client_drop(cl);
			return;
		}
		cl->reply = reply_line(client_answer(c, cl, ret), &cl->len);
		cl->sent = 0;
		if (!cl->reply || client_watch(c, cl, EPOLL_CTL_MOD, EPOLLOUT)) {
			client_drop(cl);
			return;
		}
	}
	ret = client_write(cl);
	if (ret) {
		c->stats.served += ret > 0;
		client_drop(cl);
	}
}

/*
 * One client more than there are slots: say so if its socket takes the
 * line at once (a fresh socket does), and close it.
 */
static void refuse(struct vq_ctl *c, int fd)
{
	size_t len;
	json_object *busy = vq_ctl_error("voipqd is busy serving %d other "
					 "clients: try again", VQ_CTL_MAX_CLIENTS);
	char *line = reply_line(busy, &len);

	if (line)
		send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	pr_debug("control: %d clients at once already, one more refused\n",
		 VQ_CTL_MAX_CLIENTS);
	free(line);
	close(fd);
	c->stats.refused++;
}

static struct ctl_client *free_slot(struct vq_ctl *c)
{
	for (int i = 0; i < VQ_CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd < 0)
			return &c->clients[i];
	return NULL;
}

static void accept_clients(struct vq_ctl *c)
{
	/* A bounded number per wakeup, so the packet path is never starved. */
	for (int i = 0; i < VQ_CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = free_slot(c);
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (!cl) {
			refuse(c, fd);
			continue;
		}
		cl->fd = fd;
		cl->len = 0;
		cl->deadline = mono_ms() + VQ_CTL_DEADLINE_MS;
		if (client_watch(c, cl, EPOLL_CTL_ADD, EPOLLIN))
			client_drop(cl);
	}
}

int vq_ctl_attach(struct vq_ctl *c, int epfd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev))
		return -errno;
	c->epfd = epfd;
	c->tag = tag;
	return 0;
}

void vq_ctl_event(struct vq_ctl *c, uint32_t tag)
{
	if (tag == c->tag)
		accept_clients(c);
	else if (tag - c->tag - 1 < VQ_CTL_MAX_CLIENTS)
		client_event(c, &c->clients[tag - c->tag - 1]);
}

void vq_ctl_expire(struct vq_ctl *c)
{
	uint64_t now = mono_ms();

	for (int i = 0; i < VQ_CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			client_expire(c, &c->clients[i], now);
}

const struct vq_ctl_stats *vq_ctl_stats(const struct vq_ctl *c)
{
	return &c->stats;
}

void vq_ctl_close(struct vq_ctl *c)
{
	if (!c)
		return;
	for (int i = 0; i < VQ_CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			client_drop(&c->clients[i]);
	close(c->fd);
	unlink(c->path);
	free(c);
}

/* The client's side: a blocking socket, each step bounded by @timeout_ms. */
static int write_all(int fd, const char *s, size_t len, int timeout_ms)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t w;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
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
	/* Closed before it took the request: it may have said why (busy). */
	if (ret == -EPIPE || ret == -ECONNRESET)
		ret = 0;
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
	if (!n) {
		snprintf(err, errlen, "voipqd closed the connection on %s without "
			 "a reply: try again", path);
		return -ECONNRESET;
	}
	*reply = json_tokener_parse(buf);
	if (!*reply) {
		snprintf(err, errlen, "voipqd sent a reply that is not JSON");
		return -EPROTO;
	}
	return 0;
}
