// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

static enum vq_log_level log_level = VQ_LOG_WARN;
static bool log_syslog;

void vq_log_set_level(enum vq_log_level level)
{
	log_level = level;
}

enum vq_log_level vq_log_get_level(void)
{
	return log_level;
}

void vq_log_set_syslog(bool on)
{
	if (on && !log_syslog)
		openlog("voipqd", LOG_PID, LOG_DAEMON);
	else if (!on && log_syslog)
		closelog();
	log_syslog = on;
}

void vq_vlog(enum vq_log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_WARNING, LOG_INFO, LOG_DEBUG };

	if (level > log_level)
		return;
	if (log_syslog)
		vsyslog(prio[level], fmt, ap);
	else
		vfprintf(stderr, fmt, ap);
}

void vq_log(enum vq_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vq_vlog(level, fmt, ap);
	va_end(ap);
}
