/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h — one logger object per program, passed down explicitly.
 * Sinks: stderr (with the program name), syslog/journal, an optional
 * file (the factory-reset log, with UTC timestamps), and /dev/kmsg for
 * early boot where no journal runs yet. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "util.h"

struct rk_log {
        const char *ident;      /* program name, prefix on stderr */
        int max_level;          /* LOG_DEBUG..LOG_ERR: messages above are dropped */
        bool to_stderr;
        bool to_syslog;         /* journal when libsystemd is there, else syslog(3) */
        bool to_kmsg;
        int file_fd;            /* -1: no log file */
        int kmsg_fd;
};

void rk_log_init(struct rk_log *l, const char *ident);
void rk_log_close(struct rk_log *l);
/* Attach (or with fd < 0 detach) the log file; the logger owns fd. */
void rk_log_set_file(struct rk_log *l, int fd);
void rk_log_enable_kmsg(struct rk_log *l);

void rk_logv(struct rk_log *l, int prio, const char *fmt, va_list ap) RK_PRINTF(3, 0);
void rk_log(struct rk_log *l, int prio, const char *fmt, ...) RK_PRINTF(3, 4);

/* Log and return -abs(err) so callers can `return rk_log_errno(...)` */
int rk_log_errno(struct rk_log *l, int err, const char *fmt, ...) RK_PRINTF(3, 4);

#define rk_err(l, ...) rk_log((l), LOG_ERR, __VA_ARGS__)
#define rk_warn(l, ...) rk_log((l), LOG_WARNING, __VA_ARGS__)
#define rk_notice(l, ...) rk_log((l), LOG_NOTICE, __VA_ARGS__)
#define rk_info(l, ...) rk_log((l), LOG_INFO, __VA_ARGS__)
#define rk_debug(l, ...) rk_log((l), LOG_DEBUG, __VA_ARGS__)
