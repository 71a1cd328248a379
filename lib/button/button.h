/* SPDX-License-Identifier: GPL-2.0-or-later */
/* button.h — the reset button as a pollable fd giving timestamped edges.
 *
 * Three sources ([button] source):
 *   evdev:PATH        an input device (gpio-keys), key = KEY_*; libevdev
 *   gpio:CHIP:LINE    a GPIO line through the kernel's v2 character-device uAPI
 *   fifo:PATH         a named pipe taking lines "down" / "up" (simulation, tests)
 *
 * Timestamps are CLOCK_MONOTONIC ns taken by the kernel when the edge
 * happened (evdev with EVIOCSCLOCKID, GPIO timestamp_ns); only the FIFO
 * stamps lines when they arrive.  rk_button_read() never blocks: the fd is
 * non-blocking and watched by the daemon's epoll. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devspec.h"
#include "log.h"

struct rk_button_event {
        bool resync;            /* events were lost: .down is the level now */
        bool down;
        uint64_t ts_ns;
};

struct rk_button_opts {
        unsigned key_code;      /* evdev */
        bool active_low;        /* gpio */
        uint64_t debounce_ms;   /* gpio: asks the kernel to debounce too */
        const char *consumer;   /* gpio: label shown to other users of the line */
};

struct rk_button;

struct rk_button_ops {
        /* >= 0 events stored (n: there may be more, call again),
         * -ENODEV when the device went away, other negative errno on
         * failure (messages already logged) */
        int (*read)(struct rk_button *b, struct rk_button_event *ev, size_t n);
        void (*free)(struct rk_button *b);
};

struct rk_button {
        const struct rk_button_ops *ops;
        int fd;                 /* for epoll; owned */
        bool down;              /* level when opened */
        struct rk_log *log;
        char *name;             /* the source string, for messages */
};

/* Open the source.  On failure returns a negative errno and writes what
 * failed, naming the source, into err.  Missing or busy devices
 * (rk_button_error_is_transient) are worth retrying; anything else (a
 * regular file where a device should be, a device without the key) is a
 * configuration error. */
int rk_button_open(const struct rk_button_spec *spec, const struct rk_button_opts *opts,
                   struct rk_log *log, struct rk_button **ret, char *err, size_t errlen);
int rk_button_read(struct rk_button *b, struct rk_button_event *ev, size_t n);
void rk_button_free(struct rk_button *b);
static inline void rk_button_freep(struct rk_button **b) { rk_button_free(*b); }
bool rk_button_error_is_transient(int r);

/* backends (button-*.c) */
int rk_button_evdev_open(const char *path, const struct rk_button_opts *opts, struct rk_log *log,
                         struct rk_button **ret, char *err, size_t errlen);
int rk_button_gpio_open(const char *chip, const char *line, const struct rk_button_opts *opts,
                        struct rk_log *log, struct rk_button **ret, char *err, size_t errlen);
int rk_button_fifo_open(const char *path, struct rk_log *log, struct rk_button **ret,
                        char *err, size_t errlen);

/* Pure parts, for tests. */
/* One FIFO line (without its newline): 1 and *down set for "down"/"up"
 * (surrounding blanks and a CR allowed), 0 for an empty line, -EINVAL for
 * anything else. */
int rk_fifo_parse_line(const char *line, size_t len, bool *down);
/* Printable copy of untrusted bytes for a log line: escapes controls and
 * non-ASCII as \xNN, truncates with "..." to fit dstlen. */
void rk_escape_for_log(const char *src, size_t len, char *dst, size_t dstlen);
/* gpio LINE: a decimal offset (1, offset stored) or a name (0). */
int rk_gpio_parse_offset(const char *s, unsigned *ret);
