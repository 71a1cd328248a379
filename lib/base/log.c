/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <endian.h>
#include <fcntl.h>
#include <time.h>

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "rk-build-config.h"

void rk_log_init(struct rk_log *l, const char *ident) {
        *l = (struct rk_log) {
                .ident = ident,
                .max_level = LOG_INFO,
                .to_stderr = true,
                .file_fd = -1,
                .kmsg_fd = -1,
        };
        const char *dbg = getenv("RESETKIT_DEBUG");
        if (dbg && *dbg && strcmp(dbg, "0") != 0)
                l->max_level = LOG_DEBUG;
}

void rk_log_close(struct rk_log *l) {
        rk_closep(&l->file_fd);
        rk_closep(&l->kmsg_fd);
        l->file_fd = l->kmsg_fd = -1;
}

void rk_log_set_file(struct rk_log *l, int fd) {
        rk_closep(&l->file_fd);
        l->file_fd = fd;
}

void rk_log_enable_kmsg(struct rk_log *l) {
        if (l->kmsg_fd < 0)
                l->kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        l->to_kmsg = l->kmsg_fd >= 0;
}

/* The journal's native protocol (systemd.journal-fields(7), "Native
 * Journal Protocol"): one datagram of KEY=VALUE lines; MESSAGE in the
 * length-prefixed form so a newline in it cannot forge fields.  Spoken
 * directly rather than through libsystemd so the daemons do not carry
 * libsystemd's dependencies in memory.  false: no journal (use syslog). */
static bool journal_send(int prio, const char *ident, const char *msg) {
        static const struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
        char head[300];
        uint64_t len = strlen(msg), le = htole64(len);
        int n = snprintf(head, sizeof head, "PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nMESSAGE\n", prio, ident);
        if (n < 0 || (size_t) n >= sizeof head)
                return false;
        struct iovec iov[] = {
                { head, (size_t) n }, { &le, sizeof le }, { (char *) msg, len }, { (char *) "\n", 1 },
        };
        struct msghdr mh = {
                .msg_name = (void *) &sa, .msg_namelen = sizeof sa, .msg_iov = iov, .msg_iovlen = 4,
        };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        bool ok = sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0;
        close(fd);
        return ok;
}

static void write_all_quiet(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* a logger must not fail its caller */
                buf += n;
                len -= (size_t) n;
        }
}

void rk_logv(struct rk_log *l, int prio, const char *fmt, va_list ap) {
        if (!l || prio > l->max_level)
                return;
        int saved_errno = errno;
        char msg[2048];
        vsnprintf(msg, sizeof msg, fmt, ap);

        if (l->to_stderr) {
                char line[2200];
                int n = snprintf(line, sizeof line, "%s: %s\n", l->ident, msg);
                write_all_quiet(STDERR_FILENO, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
        }
        if (l->file_fd >= 0) {
                /* UTC, ISO 8601, millisecond resolution: the log outlives the
                 * timezone configuration the reset wipes. */
                struct timespec ts;
                struct tm tm;
                char stamp[40], line[2200];
                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
                int n = snprintf(line, sizeof line, "%s.%03ldZ %s\n", stamp, ts.tv_nsec / 1000000, msg);
                write_all_quiet(l->file_fd, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
        }
        if (l->to_kmsg && l->kmsg_fd >= 0) {
                char line[2200];
                int n = snprintf(line, sizeof line, "<%d>%s: %s\n", prio, l->ident, msg);
                write_all_quiet(l->kmsg_fd, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
        }
        if (l->to_syslog) {
                if (!journal_send(prio, l->ident, msg))
                        syslog(prio, "%s", msg);
        }
        errno = saved_errno;
}

void rk_log(struct rk_log *l, int prio, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        rk_logv(l, prio, fmt, ap);
        va_end(ap);
}

int rk_log_errno(struct rk_log *l, int err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        rk_logv(l, LOG_ERR, fmt, ap);
        va_end(ap);
        return err > 0 ? -err : err;
}
