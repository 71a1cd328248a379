/* SPDX-License-Identifier: GPL-2.0-or-later */
/* evdev:PATH — the button as a key of an input device (gpio-keys reports
 * the SSR's reset button as KEY_RESTART).  libevdev keeps the device state
 * and does the SYN_DROPPED resynchronisation for us. */
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <linux/input.h>
#include <sys/stat.h>
#include <time.h>

#include "button.h"

struct evdev_button {
        struct rk_button base;
        struct libevdev *dev;
        unsigned code;
};

static int evdev_read(struct rk_button *b, struct rk_button_event *ev, size_t n) {
        struct evdev_button *e = (struct evdev_button *) b;
        size_t got = 0;

        while (got < n) {
                struct input_event ie;
                int rc = libevdev_next_event(e->dev, LIBEVDEV_READ_FLAG_NORMAL, &ie);
                if (rc == -EAGAIN)
                        break;
                if (rc == -ENODEV)
                        return -ENODEV;
                if (rc < 0)
                        return rk_log_errno(b->log, rc, "%s: read: %s", b->name, strerror(-rc));
                if (rc == LIBEVDEV_READ_STATUS_SYNC) {
                        /* SYN_DROPPED: the kernel's buffer overflowed and
                         * edges were lost.  Drain libevdev's resync deltas
                         * (they carry no real edge times) and report the
                         * level as it is now. */
                        do
                                rc = libevdev_next_event(e->dev, LIBEVDEV_READ_FLAG_SYNC, &ie);
                        while (rc == LIBEVDEV_READ_STATUS_SYNC);
                        if (rc == -ENODEV)
                                return -ENODEV;
                        rk_warn(b->log, "%s: input events were dropped by the kernel; state re-read", b->name);
                        ev[got++] = (struct rk_button_event) {
                                .resync = true,
                                .down = libevdev_get_event_value(e->dev, EV_KEY, e->code) != 0,
                                .ts_ns = rk_now_ns(),
                        };
                        continue;
                }
                if (ie.type != EV_KEY || ie.code != e->code || ie.value == 2)
                        continue;       /* other keys, SYN_REPORT, autorepeat */
                ev[got++] = (struct rk_button_event) {
                        .down = ie.value != 0,
                        /* EVIOCSCLOCKID made this CLOCK_MONOTONIC */
                        .ts_ns = (uint64_t) ie.input_event_sec * 1000000000ULL +
                                 (uint64_t) ie.input_event_usec * 1000ULL,
                };
        }
        return (int) got;
}

static void evdev_free(struct rk_button *b) {
        struct evdev_button *e = (struct evdev_button *) b;
        libevdev_free(e->dev);
        free(e);
}

static const struct rk_button_ops evdev_ops = {
        .read = evdev_read,
        .free = evdev_free,
};

static const char *file_kind(mode_t m) {
        if (S_ISREG(m)) return "a regular file";
        if (S_ISDIR(m)) return "a directory";
        if (S_ISFIFO(m)) return "a named pipe";
        if (S_ISSOCK(m)) return "a socket";
        if (S_ISBLK(m)) return "a block device";
        return "not a character device";
}

int rk_button_evdev_open(const char *path, const struct rk_button_opts *opts, struct rk_log *log,
                         struct rk_button **ret, char *err, size_t errlen) {
        const char *keyname = libevdev_event_code_get_name(EV_KEY, opts->key_code);
        struct stat st;
        int r;

        /* read-only: we only listen; no EVIOCGRAB either, so other readers
         * (a console, logind which the drop-in silences) still see it */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                snprintf(err, errlen, "evdev:%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(err, errlen, "evdev:%s: cannot stat: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISCHR(st.st_mode)) {
                snprintf(err, errlen, "evdev:%s: not an input event device (it is %s)", path,
                         file_kind(st.st_mode));
                return -ENOTTY;
        }
        struct evdev_button *e = calloc(1, sizeof *e);
        if (!e) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        /* libevdev reads the device's capabilities and its key state
         * (EVIOCGBIT, EVIOCGKEY) here */
        r = libevdev_new_from_fd(fd, &e->dev);
        if (r < 0) {
                snprintf(err, errlen, "evdev:%s: not an input event device: %s", path, strerror(-r));
                free(e);
                return r == -ENODEV ? r : -ENOTTY;
        }
        if (!libevdev_has_event_code(e->dev, EV_KEY, opts->key_code)) {
                snprintf(err, errlen, "evdev:%s: device '%s' has no key %s (%u); check [button] key",
                         path, rk_strna(libevdev_get_name(e->dev)), rk_strna(keyname), opts->key_code);
                libevdev_free(e->dev);
                free(e);
                return -EMEDIUMTYPE;
        }
        /* Kernel timestamps on the monotonic clock, so hold times do not
         * jump with the wall clock (NTP, an RTC-less board setting time). */
        r = libevdev_set_clock_id(e->dev, CLOCK_MONOTONIC);
        if (r < 0) {
                snprintf(err, errlen, "evdev:%s: EVIOCSCLOCKID CLOCK_MONOTONIC: %s", path, strerror(-r));
                libevdev_free(e->dev);
                free(e);
                return r;
        }
        if (asprintf(&e->base.name, "evdev:%s", path) < 0) {
                libevdev_free(e->dev);
                free(e);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        e->code = opts->key_code;
        e->base.ops = &evdev_ops;
        e->base.log = log;
        e->base.down = libevdev_get_event_value(e->dev, EV_KEY, e->code) != 0;
        e->base.fd = RK_TAKE_FD(fd);
        rk_debug(log, "%s: '%s', %s %s at start", e->base.name, rk_strna(libevdev_get_name(e->dev)),
                 rk_strna(keyname), e->base.down ? "held" : "released");
        *ret = &e->base;
        return 0;
}
