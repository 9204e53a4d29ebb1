// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static enum vq_log_level log_level = VQ_LOG_WARN;

void vq_log_set_level(enum vq_log_level level)
{
	log_level = level;
}

enum vq_log_level vq_log_get_level(void)
{
	return log_level;
}

void vq_vlog(enum vq_log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	vfprintf(stderr, fmt, ap);
}

void vq_log(enum vq_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vq_vlog(level, fmt, ap);
	va_end(ap);
}
