/* SPDX-License-Identifier: GPL-2.0-or-later */
/* file:PATH — the LED as a trace: one appended line per change,
 *   <ms since start> <pattern> <r>,<g>,<b> [<period-ms>]
 * The simulator draws it; the tests read it. */
#include <fcntl.h>

#include "fsutil.h"
#include "led.h"

struct file_led {
        struct rk_led base;
        int fd;
};

static int put(struct file_led *f, enum rk_led_pattern p, struct rk_rgb c, uint32_t period_ms, uint64_t now_ns) {
        char line[128];
        uint64_t ms = now_ns > f->base.start_ns ? (now_ns - f->base.start_ns) / 1000000ULL : 0;
        int n;
        if (p == RK_LED_PAT_BLINK || p == RK_LED_PAT_FADE_IN || p == RK_LED_PAT_FADE_OUT)
                n = snprintf(line, sizeof line, "%llu %s %u,%u,%u %u\n", (unsigned long long) ms,
                             rk_led_pattern_name(p), c.r, c.g, c.b, period_ms);
        else
                n = snprintf(line, sizeof line, "%llu %s %u,%u,%u\n", (unsigned long long) ms,
                             rk_led_pattern_name(p), c.r, c.g, c.b);
        /* one write(2) per line on an O_APPEND fd: a reader never sees half */
        return rk_write_all(f->fd, line, (size_t) n);
}

static int file_save(struct rk_led *l) {
        return 0;       /* a trace has no owner state: "given back" is off */
}

static int file_restore(struct rk_led *l, uint64_t now_ns) {
        return put((struct file_led *) l, RK_LED_PAT_OFF, RK_RGB_BLACK, 0, now_ns);
}

static int file_show(struct rk_led *l, enum rk_led_pattern p, struct rk_rgb c, uint32_t period_ms, uint64_t now_ns) {
        int r = put((struct file_led *) l, p, c, period_ms, now_ns);
        return r < 0 ? r : 1;   /* the line describes the animation */
}

static int file_set(struct rk_led *l, struct rk_rgb c, uint64_t now_ns) {
        return put((struct file_led *) l, RK_LED_PAT_SOLID, c, 0, now_ns);
}

static void file_free(struct rk_led *l) {
        struct file_led *f = (struct file_led *) l;
        rk_closep(&f->fd);
        free(f);
}

static const struct rk_led_ops file_ops = {
        .save = file_save,
        .restore = file_restore,
        .show = file_show,
        .set = file_set,
        .free = file_free,
};

int rk_led_file_open(const char *path, struct rk_log *log, struct rk_led **ret, char *err, size_t errlen) {
        _cleanup_free_ char *name = NULL;
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0) {
                int r = -errno;
                snprintf(err, errlen, "LED file:%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        struct file_led *f = calloc(1, sizeof *f);
        if (!f || asprintf(&name, "file:%s", path) < 0 || rk_led_init_base(&f->base, &file_ops, log, name) < 0) {
                close(fd);
                if (f)
                        free(f->base.name);
                free(f);
                return -ENOMEM;
        }
        f->fd = fd;
        *ret = &f->base;
        return 0;
}
