/* SPDX-License-Identifier: GPL-2.0-or-later */
/* led.c — what every LED sink shares: the feedback state, saving and giving
 * back, software steps, finite patterns. */
#include "led.h"

#define NS_PER_MS 1000000ULL

const char *rk_led_pattern_name(enum rk_led_pattern p) {
        static const char *const n[] = { "off", "solid", "blink", "fade-in", "fade-out" };
        return (unsigned) p < RK_ELEMENTSOF(n) ? n[p] : "?";
}

uint8_t rk_led_level_at(enum rk_led_pattern p, uint32_t period_ms, uint64_t elapsed_ns, uint64_t *next_ns) {
        uint64_t period = (uint64_t) (period_ms ? period_ms : 1) * NS_PER_MS;
        switch (p) {
        case RK_LED_PAT_OFF:
                *next_ns = UINT64_MAX;
                return 0;
        case RK_LED_PAT_SOLID:
                *next_ns = UINT64_MAX;
                return 255;
        case RK_LED_PAT_BLINK: {
                uint64_t half = period / 2, phase = elapsed_ns % period;
                bool on = phase < half;
                *next_ns = elapsed_ns - phase + (on ? half : period);
                return on ? 255 : 0;
        }
        case RK_LED_PAT_FADE_IN:
        case RK_LED_PAT_FADE_OUT: {
                if (elapsed_ns >= period) {
                        *next_ns = UINT64_MAX;
                        return p == RK_LED_PAT_FADE_IN ? 255 : 0;
                }
                uint64_t lvl = elapsed_ns * 255 / period;
                *next_ns = elapsed_ns + RK_LED_STEP_NS;
                if (*next_ns > period)
                        *next_ns = period;      /* land exactly on the end */
                return (uint8_t) (p == RK_LED_PAT_FADE_IN ? lvl : 255 - lvl);
        }
        default:
                *next_ns = UINT64_MAX;
                return 0;
        }
}

static struct rk_rgb scale(struct rk_rgb c, uint8_t level) {
        return (struct rk_rgb) {
                (uint8_t) (c.r * level / 255), (uint8_t) (c.g * level / 255), (uint8_t) (c.b * level / 255),
        };
}

void rk_led_write_failed(struct rk_led *l, int r, const char *what) {
        if (l->failed_logged)
                return;
        l->failed_logged = true;
        rk_warn(l->log, "LED %s: %s: %s (further LED errors are not logged)", l->name, what, strerror(r < 0 ? -r : r));
}

int rk_led_init_base(struct rk_led *l, const struct rk_led_ops *ops, struct rk_log *log, const char *name) {
        l->ops = ops;
        l->log = log;
        l->next_ns = UINT64_MAX;
        l->name = strdup(name);
        return l->name ? 0 : -ENOMEM;
}

void rk_led_free(struct rk_led *l) {
        if (!l)
                return;
        if (l->showing)
                rk_led_release(l, rk_now_ns());
        free(l->name);
        if (l->ops && l->ops->free)
                l->ops->free(l);        /* frees l */
        else
                free(l);
}

bool rk_led_is_showing(const struct rk_led *l) {
        return l->showing;
}

static void step(struct rk_led *l, uint64_t now_ns) {
        uint64_t elapsed = now_ns - l->shown_ns, next;
        uint8_t level = rk_led_level_at(l->pattern, l->period_ms, elapsed, &next);
        int r = l->ops->set(l, scale(l->color, level), now_ns);
        if (r < 0)
                rk_led_write_failed(l, r, "cannot set brightness");
        l->next_ns = next == UINT64_MAX ? UINT64_MAX : l->shown_ns + next;
}

static uint64_t end_ns(const struct rk_led *l) {
        if (l->count == 0)
                return UINT64_MAX;
        return l->shown_ns + (uint64_t) l->count * l->period_ms * NS_PER_MS;
}

int rk_led_show(struct rk_led *l, enum rk_led_pattern p, struct rk_rgb c, uint32_t period_ms,
                unsigned count, uint64_t now_ns) {
        int r;
        if (!l->ops)
                return 0;
        if (!l->showing) {
                r = l->ops->save(l);
                if (r < 0) {
                        rk_led_write_failed(l, r, "cannot read its state");
                        return r;       /* never take over an LED we could not give back */
                }
                l->showing = true;
        }
        l->pattern = p;
        l->color = c;
        l->period_ms = period_ms ? period_ms : 1000;
        l->count = count;
        l->shown_ns = now_ns;
        l->next_ns = UINT64_MAX;
        r = l->ops->show(l, p, c, l->period_ms, now_ns);
        if (r < 0) {
                rk_led_write_failed(l, r, "cannot show the pattern");
                return r;
        }
        l->software = r == 0;
        if (l->software)
                step(l, now_ns);
        return 0;
}

int rk_led_release(struct rk_led *l, uint64_t now_ns) {
        if (!l->ops || !l->showing)
                return 0;
        l->showing = l->software = false;
        l->next_ns = UINT64_MAX;
        int r = l->ops->restore(l, now_ns);
        if (r < 0)
                rk_led_write_failed(l, r, "cannot restore its state");
        return r;
}

uint64_t rk_led_deadline(const struct rk_led *l) {
        if (!l->showing)
                return UINT64_MAX;
        uint64_t d = l->software ? l->next_ns : UINT64_MAX, e = end_ns(l);
        return d < e ? d : e;
}

void rk_led_advance(struct rk_led *l, uint64_t now_ns) {
        if (!l->showing)
                return;
        if (now_ns >= end_ns(l)) {
                rk_led_release(l, now_ns);
                return;
        }
        if (l->software && now_ns >= l->next_ns)
                step(l, now_ns);
}
