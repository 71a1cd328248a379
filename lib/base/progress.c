/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "progress.h"

#include "util.h"

#define REDRAW_NS (100ULL * 1000 * 1000)

void rk_format_bytes(uint64_t n, char *buf, size_t len) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        if (n < 1024) {
                snprintf(buf, len, "%llu B", (unsigned long long) n);
                return;
        }
        double v = (double) n;
        size_t u = 0;
        while (v >= 1024 && u + 1 < RK_ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void format_eta(double secs, char *buf, size_t len) {
        uint64_t s = (uint64_t) (secs + 0.5);
        if (s >= 100 * 3600)
                snprintf(buf, len, ">99h");
        else if (s >= 3600)
                snprintf(buf, len, "%lluh%02llum", (unsigned long long) (s / 3600), (unsigned long long) (s / 60 % 60));
        else
                snprintf(buf, len, "%llu:%02llu", (unsigned long long) (s / 60), (unsigned long long) (s % 60));
}

void rk_progress_format(char *buf, size_t len, const char *label, uint64_t done, uint64_t total,
                        double rate, unsigned bar_width) {
        if (done > total)
                total = done;
        unsigned pct = total ? (unsigned) (done * 100 / total) : 100;
        char bar[129];
        if (bar_width > sizeof bar - 1)
                bar_width = sizeof bar - 1;
        unsigned fill = total ? (unsigned) ((double) done / (double) total * bar_width) : bar_width;
        for (unsigned i = 0; i < bar_width; i++)
                bar[i] = i < fill ? '#' : '-';
        bar[bar_width] = 0;
        char d[32], t[32], r[32] = "-", eta[32] = "--:--";
        rk_format_bytes(done, d, sizeof d);
        rk_format_bytes(total, t, sizeof t);
        if (rate > 0) {
                rk_format_bytes((uint64_t) rate, r, sizeof r - 2);
                strcat(r, "/s");
                format_eta((double) (total - done) / rate, eta, sizeof eta);
        }
        snprintf(buf, len, "%s [%s] %3u%% %s / %s  %s  ETA %s", label, bar, pct, d, t, r, eta);
}

void rk_progress_start(struct rk_progress *p, int fd, bool enabled, const char *label,
                       uint64_t done, uint64_t total, uint64_t now_ns) {
        *p = (struct rk_progress) {
                .fd = fd, .enabled = enabled, .total = total, .start_ns = now_ns,
                .first_done = done, .done = done, .width = 30,
        };
        snprintf(p->label, sizeof p->label, "%s", label);
}

double rk_progress_rate(const struct rk_progress *p, uint64_t now_ns) {
        if (now_ns <= p->start_ns || p->done < p->first_done)
                return 0;
        return (double) (p->done - p->first_done) / ((double) (now_ns - p->start_ns) / 1e9);
}

static void draw(struct rk_progress *p, uint64_t now_ns) {
        char line[512];
        rk_progress_format(line, sizeof line, p->label, p->done, p->total, rk_progress_rate(p, now_ns), p->width);
        /* \r and clear to the end of the line: a shorter line leaves nothing behind */
        dprintf(p->fd, "\r%s\033[K", line);
        p->last_draw_ns = now_ns;
        p->drawn = true;
}

bool rk_progress_update(struct rk_progress *p, uint64_t done, uint64_t total, uint64_t now_ns) {
        p->done = done;
        if (total)
                p->total = total;
        if (!p->enabled)
                return false;
        bool end = p->total && done >= p->total;
        if (p->drawn && !end && now_ns - p->last_draw_ns < REDRAW_NS)
                return false;
        draw(p, now_ns);
        return true;
}

void rk_progress_end(struct rk_progress *p, uint64_t now_ns) {
        if (!p->enabled)
                return;
        draw(p, now_ns);
        dprintf(p->fd, "\n");
}

void rk_progress_callback(void *userdata, uint64_t done, uint64_t total) {
        rk_progress_update(userdata, done, total, rk_now_ns());
}
