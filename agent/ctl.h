/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket between voipqd and voipqctl: a unix stream socket,
 * one JSON request line in, one JSON document out, then close. Root-only
 * by default (mode 0600), or group-readable for a configured group.
 */
#ifndef VOIPQ_CTL_H
#define VOIPQ_CTL_H

#include <json-c/json.h>
#include <stddef.h>

#define VQ_CTL_MAX_REQUEST 4096

/*
 * Handles one request; returns the reply (owned by the caller), or NULL
 * for "out of memory". Errors are replies too: {"error": "..."}.
 */
typedef json_object *(*vq_ctl_handler)(void *ctx, json_object *req);

struct vq_ctl;

/* Listen on @path (replacing a stale socket; refusing a live one). */
int vq_ctl_listen(struct vq_ctl **out, const char *path, const char *group,
		  vq_ctl_handler handler, void *ctx, char *err, size_t errlen);
int vq_ctl_fd(const struct vq_ctl *c);
/* Serve what is pending on the listening socket; never blocks for long. */
void vq_ctl_serve(struct vq_ctl *c);
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
