/* SPDX-License-Identifier: GPL-2.0 */
/* Leveled logging for the agent and the tools (after xdp-tools logging.h). */
#ifndef VOIPQ_LOG_H
#define VOIPQ_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum vq_log_level {
	VQ_LOG_WARN,
	VQ_LOG_INFO,
	VQ_LOG_DEBUG,
};

void vq_log_set_level(enum vq_log_level level);
/* Send messages to syslog (daemon facility) instead of stderr. */
void vq_log_set_syslog(bool on);
enum vq_log_level vq_log_get_level(void);
void vq_log(enum vq_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vq_vlog(enum vq_log_level level, const char *fmt, va_list ap);

#define pr_warn(fmt, ...) vq_log(VQ_LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) vq_log(VQ_LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) vq_log(VQ_LOG_DEBUG, fmt, ##__VA_ARGS__)

#endif
