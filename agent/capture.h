/* SPDX-License-Identifier: GPL-2.0 */
/* libpcap sources: a live interface or a pcap/pcapng file. */
#ifndef VOIPQ_CAPTURE_H
#define VOIPQ_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

struct vq_capture;

/*
 * Open a capture file. On failure returns -errno and writes a one-line,
 * user-facing reason into @err ("not a pcap or pcapng file", ...).
 */
int vq_capture_open_file(struct vq_capture **out, const char *path,
			 char *err, size_t errlen);

/*
 * Open a live interface in immediate mode with a kernel filter that passes
 * SIP on @cfg's ports (UDP and TCP, plain and TLS), IP fragments and IP-in-IP.
 */
int vq_capture_open_live(struct vq_capture **out, const char *ifname,
			 const struct vq_decoder_cfg *cfg, char *err,
			 size_t errlen);

/* The BPF filter text used for a live capture. */
int vq_capture_filter(const struct vq_decoder_cfg *cfg, char *buf, size_t len);

/* Selectable fd of a live capture (for epoll), or -1 for a file. */
int vq_capture_fd(const struct vq_capture *c);

/*
 * Feed up to @max frames (0: all available) to @d, stamped with the file's
 * timestamps, or for a live capture on the daemon's CLOCK_MONOTONIC
 * timeline (clock.h). Returns the number of
 * frames, 0 at end of file, or -errno with a reason in @err. A file cut
 * short in the middle of a record is reported as -EIO ("truncated").
 */
int vq_capture_dispatch(struct vq_capture *c, struct vq_decoder *d, int max,
			char *err, size_t errlen);

/* For progress display of files: bytes read so far and file size. */
void vq_capture_progress(const struct vq_capture *c, uint64_t *pos,
			 uint64_t *size);

/* Kernel drop counters of a live capture (0 for files). */
uint64_t vq_capture_drops(const struct vq_capture *c);

void vq_capture_close(struct vq_capture *c);

#endif
