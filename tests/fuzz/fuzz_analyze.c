// SPDX-License-Identifier: GPL-2.0
/*
 * `voipqctl analyze` under arbitrary capture files: the input is the file,
 * handed to vq_analyze_file() through a memfd, as the command would open
 * it. libpcap reads the format; the decoder, the tracker, the RTP
 * statistics and the report (text and JSON, to /dev/null) run on whatever
 * it lets through, with small caps so the eviction paths run too. A broken
 * or truncated file must give an error or a partial report, never a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void report(const struct vq_analysis *a, bool json)
{
	struct vq_out *o = vq_out_new(devnull, json);

	if (!o)
		return;
	vq_analysis_print(a, o);
	vq_out_finish(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_analysis *a = NULL;
	struct vq_analyze_cfg cfg;
	char path[64], err[256];
	int fd;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	fd = memfd_create("fuzz_analyze", MFD_CLOEXEC);
	if (fd < 0 || !devnull)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	vq_analyze_cfg_init(&cfg);
	cfg.trk.max_calls = 4;
	cfg.trk.max_endpoints = 16;
	cfg.max_calls = 4;
	cfg.max_streams = 4;
	vq_analyze_file(path, &cfg, &a, err, sizeof(err));
	if (a) {
		report(a, false);
		report(a, true);
		vq_analysis_free(a);
	}
	close(fd);
	return 0;
}
