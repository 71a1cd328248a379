/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fifo:PATH — a named pipe taking text lines "down" / "up", for the
 * simulator and the tests.  Lines are stamped when they arrive (there is no
 * kernel timestamp to be had). */
#include <fcntl.h>
#include <sys/stat.h>

#include "button.h"

#define FIFO_LINE_MAX 256

struct fifo_button {
        struct rk_button base;
        char buf[FIFO_LINE_MAX];
        size_t len;
        bool overlong;          /* discarding the rest of a line too long to be a command */
        uint64_t ts;            /* arrival of the bytes last read */
};

static void garbage(struct fifo_button *f, const char *line, size_t len) {
        char esc[96];
        rk_escape_for_log(line, len, esc, sizeof esc);
        rk_warn(f->base.log, "%s: ignoring line '%s' (expected 'down' or 'up')", f->base.name, esc);
}

/* Complete lines in the buffer become events (or warnings). */
static void parse_buffered(struct fifo_button *f, struct rk_button_event *ev, size_t n, size_t *got) {
        char *start = f->buf, *nl;
        while (*got < n && (nl = memchr(start, '\n', f->len - (size_t) (start - f->buf)))) {
                size_t len = (size_t) (nl - start);
                bool down;
                if (f->overlong)
                        f->overlong = false;    /* tail of a line already reported */
                else {
                        int r = rk_fifo_parse_line(start, len, &down);
                        if (r < 0)
                                garbage(f, start, len);
                        else if (r > 0)
                                ev[(*got)++] = (struct rk_button_event) { .down = down, .ts_ns = f->ts };
                }
                start = nl + 1;
        }
        f->len -= (size_t) (start - f->buf);
        memmove(f->buf, start, f->len);
        if (f->len == sizeof f->buf) {
                /* no newline in a full buffer: not a command */
                if (!f->overlong)
                        garbage(f, f->buf, f->len);
                f->overlong = true;
                f->len = 0;
        }
}

static int fifo_read(struct rk_button *b, struct rk_button_event *ev, size_t n) {
        struct fifo_button *f = (struct fifo_button *) b;
        size_t got = 0;

        parse_buffered(f, ev, n, &got);
        /* When ev[] is full, what is left stays in our buffer or the pipe;
         * the caller reads again (a full return means "maybe more"). */
        while (got < n) {
                ssize_t k = read(b->fd, f->buf + f->len, sizeof f->buf - f->len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        break;
                if (k < 0)
                        return rk_log_errno(b->log, errno, "%s: read: %m", b->name);
                if (k == 0)
                        break;  /* cannot happen while we hold a write end; be safe */
                f->ts = rk_now_ns();
                f->len += (size_t) k;
                parse_buffered(f, ev, n, &got);
        }
        return (int) got;
}

static void fifo_free(struct rk_button *b) {
        free(b);
}

static const struct rk_button_ops fifo_ops = {
        .read = fifo_read,
        .free = fifo_free,
};

int rk_button_fifo_open(const char *path, struct rk_log *log, struct rk_button **ret,
                        char *err, size_t errlen) {
        struct stat st;
        /* O_RDWR: we hold a write end ourselves, so a writer closing never
         * leaves the pipe at EOF (which would make epoll report it readable
         * forever — a busy loop). */
        _cleanup_close_ int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = -errno;
                snprintf(err, errlen, "fifo:%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                snprintf(err, errlen, "fifo:%s: cannot stat: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISFIFO(st.st_mode)) {
                snprintf(err, errlen, "fifo:%s: not a named pipe (create one with mkfifo)", path);
                return -ENOTTY;
        }
        struct fifo_button *f = calloc(1, sizeof *f);
        if (!f || asprintf(&f->base.name, "fifo:%s", path) < 0) {
                free(f);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        f->base.ops = &fifo_ops;
        f->base.fd = RK_TAKE_FD(fd);
        f->base.log = log;
        f->base.down = false;
        *ret = &f->base;
        return 0;
}
