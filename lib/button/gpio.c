/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpio:CHIP:LINE — the button wired straight to a GPIO line, through the
 * kernel's GPIO character-device v2 uAPI (<linux/gpio.h>), no libgpiod.
 *
 * CHIP is a path (/dev/gpiochip0), a chip name (gpiochip0) or a chip label
 * (the driver's name for it, e.g. "INT34C5:00"); LINE is an offset or a
 * line name from the device tree / ACPI (gpio-line-names).  With
 * active-low the kernel inverts the level for us, so "active" is always
 * "pressed", and edges arrive with the kernel's CLOCK_MONOTONIC stamp. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "button.h"

struct gpio_button {
        struct rk_button base;
        uint32_t last_seqno;    /* 0: none yet */
};

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static int line_value(int req_fd, bool *active) {
        struct gpio_v2_line_values v = { .mask = 1 };
        if (ioctl(req_fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0)
                return -errno;
        *active = v.bits & 1;
        return 0;
}

static int gpio_read(struct rk_button *b, struct rk_button_event *ev, size_t n) {
        struct gpio_button *g = (struct gpio_button *) b;
        size_t got = 0;

        while (got < n) {
                struct gpio_v2_line_event le;
                ssize_t k = read(b->fd, &le, sizeof le);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        break;
                if (k < 0 && errno == ENODEV)
                        return -ENODEV;         /* the chip went away */
                if (k < 0)
                        return rk_log_errno(b->log, errno, "%s: read: %m", b->name);
                if (k != (ssize_t) sizeof le)
                        return rk_log_errno(b->log, EIO, "%s: short event read (%zd bytes)", b->name, k);

                /* A gap in the line's sequence numbers: the kernel's event
                 * buffer overflowed and edges were lost.  Re-read the level. */
                if (g->last_seqno && le.line_seqno != g->last_seqno + 1) {
                        bool active = false;
                        int r = line_value(b->fd, &active);
                        if (r < 0)
                                return rk_log_errno(b->log, r, "%s: GPIO_V2_LINE_GET_VALUES_IOCTL: %s",
                                                    b->name, strerror(-r));
                        rk_warn(b->log, "%s: %u line events were lost; level re-read", b->name,
                                le.line_seqno - g->last_seqno - 1);
                        g->last_seqno = le.line_seqno;
                        ev[got++] = (struct rk_button_event) { .resync = true, .down = active, .ts_ns = rk_now_ns() };
                        continue;
                }
                g->last_seqno = le.line_seqno;
                if (le.id != GPIO_V2_LINE_EVENT_RISING_EDGE && le.id != GPIO_V2_LINE_EVENT_FALLING_EDGE)
                        continue;
                /* edges are logical: with ACTIVE_LOW, "rising" is the press */
                ev[got++] = (struct rk_button_event) {
                        .down = le.id == GPIO_V2_LINE_EVENT_RISING_EDGE,
                        .ts_ns = le.timestamp_ns,
                };
        }
        return (int) got;
}

static void gpio_free(struct rk_button *b) {
        free(b);
}

static const struct rk_button_ops gpio_ops = {
        .read = gpio_read,
        .free = gpio_free,
};

static int open_chip_path(const char *path, char *err, size_t errlen) {
        struct stat st;
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = -errno;
                snprintf(err, errlen, "gpio:%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
                close(fd);
                snprintf(err, errlen, "gpio:%s: not a GPIO character device", path);
                return -ENOTTY;
        }
        return fd;
}

/* The chip by path, by name (gpiochipN) or by label. */
static int open_chip(const char *chip, char *err, size_t errlen) {
        if (chip[0] == '/')
                return open_chip_path(chip, err, errlen);

        _cleanup_(closedirp) DIR *d = opendir("/dev");
        if (!d) {
                int r = -errno;
                snprintf(err, errlen, "gpio:%s: cannot list /dev: %s", chip, strerror(-r));
                return r;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!rk_startswith(de->d_name, "gpiochip"))
                        continue;
                char path[300];
                snprintf(path, sizeof path, "/dev/%s", de->d_name);
                _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        continue;
                struct gpiochip_info info = {};
                if (ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &info) < 0)
                        continue;
                if (strncmp(info.name, chip, sizeof info.name) == 0 ||
                    strncmp(info.label, chip, sizeof info.label) == 0)
                        return RK_TAKE_FD(fd);
        }
        snprintf(err, errlen, "gpio:%s: no GPIO chip with that name or label in /dev", chip);
        return -ENOENT;
}

static int find_line(int chip_fd, const char *chip, const char *line, unsigned *ret, char *err, size_t errlen) {
        int r = rk_gpio_parse_offset(line, ret);
        if (r < 0) {
                snprintf(err, errlen, "gpio:%s:%s: bad line (expected an offset or a line name)", chip, line);
                return r;
        }
        struct gpiochip_info info = {};
        if (ioctl(chip_fd, GPIO_GET_CHIPINFO_IOCTL, &info) < 0) {
                r = -errno;
                snprintf(err, errlen, "gpio:%s: GPIO_GET_CHIPINFO_IOCTL: %s", chip, strerror(-r));
                return r == -ENOTTY || r == -EINVAL ? -ENOTTY : r;
        }
        if (r == 1) {
                if (*ret >= info.lines) {
                        snprintf(err, errlen, "gpio:%s:%s: the chip has only %u lines", chip, line, info.lines);
                        return -ERANGE;
                }
                return 0;
        }
        for (unsigned i = 0; i < info.lines; i++) {
                struct gpio_v2_line_info li = { .offset = i };
                if (ioctl(chip_fd, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0)
                        continue;
                if (strncmp(li.name, line, sizeof li.name) == 0) {
                        *ret = i;
                        return 0;
                }
        }
        snprintf(err, errlen, "gpio:%s:%s: the chip (%u lines) has no line of that name", chip, line, info.lines);
        return -ENOENT;
}

int rk_button_gpio_open(const char *chip, const char *line, const struct rk_button_opts *opts,
                        struct rk_log *log, struct rk_button **ret, char *err, size_t errlen) {
        unsigned offset;
        int r;

        _cleanup_close_ int chip_fd = open_chip(chip, err, errlen);
        if (chip_fd < 0)
                return chip_fd;
        r = find_line(chip_fd, chip, line, &offset, err, errlen);
        if (r < 0)
                return r;

        struct gpio_v2_line_request req = {
                .offsets = { offset },
                .num_lines = 1,
                .config.flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING |
                                GPIO_V2_LINE_FLAG_EDGE_FALLING |
                                (opts->active_low ? GPIO_V2_LINE_FLAG_ACTIVE_LOW : 0),
        };
        snprintf(req.consumer, sizeof req.consumer, "%s", opts->consumer ? opts->consumer : "resetd");
        if (opts->debounce_ms > 0) {
                /* The kernel debounces in hardware when the chip can, else
                 * in software; either way chatter never reaches us, and our
                 * own debounce (the classifier) stays as a second line. */
                req.config.num_attrs = 1;
                req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE;
                req.config.attrs[0].attr.debounce_period_us =
                        (uint32_t) (opts->debounce_ms > 4000000 ? 4000000000U : opts->debounce_ms * 1000);
                req.config.attrs[0].mask = 1;   /* bit 0: the first (only) line of the request */
        }
        if (ioctl(chip_fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
                r = -errno;
                if (r == -EBUSY) {
                        struct gpio_v2_line_info li = { .offset = offset };
                        const char *who = "another user";
                        if (ioctl(chip_fd, GPIO_V2_GET_LINEINFO_IOCTL, &li) == 0 && li.consumer[0])
                                who = li.consumer;
                        snprintf(err, errlen, "gpio:%s:%s: line %u is busy (requested by '%.*s')", chip, line,
                                 offset, (int) sizeof li.consumer, who);
                } else
                        snprintf(err, errlen, "gpio:%s:%s: GPIO_V2_GET_LINE_IOCTL (line %u, input, both edges): %s",
                                 chip, line, offset, strerror(-r));
                return r;
        }
        _cleanup_close_ int req_fd = req.fd;

        /* the request fd blocks by default; epoll drives us */
        int fl = fcntl(req_fd, F_GETFL);
        if (fl < 0 || fcntl(req_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                r = -errno;
                snprintf(err, errlen, "gpio:%s:%s: cannot make the line fd non-blocking: %s", chip, line, strerror(-r));
                return r;
        }
        bool active = false;
        r = line_value(req_fd, &active);
        if (r < 0) {
                snprintf(err, errlen, "gpio:%s:%s: GPIO_V2_LINE_GET_VALUES_IOCTL: %s", chip, line, strerror(-r));
                return r;
        }
        struct gpio_button *g = calloc(1, sizeof *g);
        if (!g || asprintf(&g->base.name, "gpio:%s:%s", chip, line) < 0) {
                free(g);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        g->base.ops = &gpio_ops;
        g->base.log = log;
        g->base.down = active;
        g->base.fd = RK_TAKE_FD(req_fd);
        rk_debug(log, "%s: line %u, %s at start", g->base.name, offset, active ? "held" : "released");
        *ret = &g->base;
        return 0;
}
