/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Offline analysis of a capture: the same decoder and tracker the daemon
 * runs, plus a record of every call (timeline, learned endpoints) and RTP
 * statistics for the streams that reach a learned endpoint.
 */
#ifndef VOIPQ_ANALYZE_H
#define VOIPQ_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>

#include "dialog.h"
#include "output.h"
#include "packet.h"

struct vq_analyze_cfg {
	struct vq_decoder_cfg dec;
	struct vq_tracker_cfg trk;
	unsigned int max_calls;   /* calls recorded for the report */
	unsigned int max_streams; /* RTP streams followed */
	/* Called now and then with bytes read and file size; may be NULL. */
	void (*progress)(void *arg, uint64_t pos, uint64_t size);
	void *progress_arg;
};

void vq_analyze_cfg_init(struct vq_analyze_cfg *cfg);

struct vq_analysis;

/*
 * Analyse @path. Returns 0; or -errno with a one-line reason in @err, in
 * which case *out is still set when part of the file could be read (a
 * truncated capture), and NULL when nothing could.
 */
int vq_analyze_file(const char *path, const struct vq_analyze_cfg *cfg,
		    struct vq_analysis **out, char *err, size_t errlen);

void vq_analysis_print(const struct vq_analysis *a, struct vq_out *o);
void vq_analysis_free(struct vq_analysis *a);

#endif
