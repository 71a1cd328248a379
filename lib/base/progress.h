/* SPDX-License-Identifier: GPL-2.0-or-later */
/* progress.h — a one-line terminal progress bar for the zeroing steps:
 * bytes done of total, rate, ETA.  Drawn only when enabled (the caller
 * passes isatty(STDERR_FILENO)), redrawn at most 10 times a second.  Time is
 * passed in, so the formatting and throttling are unit-testable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rk_progress {
        int fd;
        bool enabled;
        char label[64];
        uint64_t total;
        uint64_t start_ns, last_draw_ns;
        uint64_t first_done;    /* bytes already done at start (a resume) */
        uint64_t done;
        unsigned width;         /* of the bar, in cells */
        bool drawn;
};

/* Human-readable size: "512 B", "1.5 KiB", "2.00 GiB". */
void rk_format_bytes(uint64_t n, char *buf, size_t len);

/* The line itself (pure): label, bar, percent, done/total, rate, ETA.
 * rate in bytes/s (0: unknown, no ETA). */
void rk_progress_format(char *buf, size_t len, const char *label, uint64_t done, uint64_t total,
                        double rate, unsigned bar_width);

void rk_progress_start(struct rk_progress *p, int fd, bool enabled, const char *label,
                       uint64_t done, uint64_t total, uint64_t now_ns);
/* Record progress; redraws when 100 ms passed since the last draw, or at
 * the end.  total 0 keeps the previous total.  Returns true if it drew. */
bool rk_progress_update(struct rk_progress *p, uint64_t done, uint64_t total, uint64_t now_ns);
/* Final draw and a newline (nothing when disabled). */
void rk_progress_end(struct rk_progress *p, uint64_t now_ns);
/* The rate since start in bytes/s (0 before any time passed). */
double rk_progress_rate(const struct rk_progress *p, uint64_t now_ns);

/* rk_zero_ops/rk_fill_ops progress callback: userdata is a struct
 * rk_progress, time from the monotonic clock. */
void rk_progress_callback(void *userdata, uint64_t done, uint64_t total);
