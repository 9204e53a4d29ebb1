/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket between voipqd and voipqctl: a unix stream socket,
 * one JSON request line in, one JSON document out, then close. Root-only
 * by default (mode 0600), or group-readable for a configured group.
 *
 * The daemon serves it from its own epoll loop and never waits on a
 * client: each client is a non-blocking socket read and written as it
 * allows, with one deadline for its whole exchange, and there are at
 * most VQ_CTL_MAX_CLIENTS at once. A client that stops reading or never
 * finishes its request costs a slot until its deadline, nothing more.
 */
#ifndef VOIPQ_CTL_H
#define VOIPQ_CTL_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_CTL_MAX_REQUEST 4096
/* From its connection to the last byte of its reply, a client gets this. */
#define VQ_CTL_DEADLINE_MS 2000
/* Clients served at once; one more is told voipqd is busy, and closed. */
#define VQ_CTL_MAX_CLIENTS 16
/* The epoll tags vq_ctl_attach() uses: the listening socket, each slot's. */
#define VQ_CTL_TAGS (1 + VQ_CTL_MAX_CLIENTS)

/*
 * Handles one request; returns the reply (owned by the caller), or NULL
 * for "out of memory". Errors are replies too: {"error": "..."}.
 */
typedef json_object *(*vq_ctl_handler)(void *ctx, json_object *req);

struct vq_ctl;

struct vq_ctl_stats {
	uint64_t served;  /* replies sent whole */
	uint64_t refused; /* clients past VQ_CTL_MAX_CLIENTS, closed at once */
	uint64_t expired; /* clients dropped at their deadline */
};

/* Listen on @path (replacing a stale socket; refusing a live one). */
int vq_ctl_listen(struct vq_ctl **out, const char *path, const char *group,
		  vq_ctl_handler handler, void *ctx, char *err, size_t errlen);
/*
 * Serve from the caller's epoll loop @epfd: the listening socket joins it
 * with data.u32 = @tag, and each client, while it lasts, with a tag from
 * @tag + 1 to @tag + VQ_CTL_TAGS - 1. The loop hands every event with one
 * of those tags to vq_ctl_event() and calls vq_ctl_expire() at least once
 * a second.
 */
int vq_ctl_attach(struct vq_ctl *c, int epfd, uint32_t tag);
/* Accept, read, answer or write on as far as the sockets allow now. */
void vq_ctl_event(struct vq_ctl *c, uint32_t tag);
/* Drop the clients whose deadline has passed. */
void vq_ctl_expire(struct vq_ctl *c);
const struct vq_ctl_stats *vq_ctl_stats(const struct vq_ctl *c);
void vq_ctl_close(struct vq_ctl *c);

/*
 * Client side: send @req, wait for the reply (bounded by @timeout_ms).
 * -ENOENT/-ECONNREFUSED mean voipqd is not running; @err says so plainly.
 */
int vq_ctl_request(const char *path, json_object *req, json_object **reply,
		   int timeout_ms, char *err, size_t errlen);

json_object *vq_ctl_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
