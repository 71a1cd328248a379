/* SPDX-License-Identifier: GPL-2.0-or-later */
/* led.h — the status LED as feedback: show a pattern (solid, blink, fade)
 * in a colour, then give the LED back exactly as it was found.
 *
 * Sinks ([led] device): mono:DIR, rgb:R,G,B, multicolor:DIR (LED class
 * sysfs directories), file:PATH (a trace of one line per change, for tests
 * and the simulator), none.
 *
 * The device animates itself where it can (the kernel's "pattern" trigger,
 * else "timer" for blinks), so feedback stays smooth while the process is
 * busy.  Otherwise the owner steps it in software: rk_led_deadline() is
 * when rk_led_advance() must run next (the daemon's timerfd), at ≥ 25 Hz
 * for fades; UINT64_MAX when nothing is animated in software — an LED that
 * shows nothing never wakes anybody.
 *
 * A sink that cannot be opened (a missing sysfs path) is logged once and
 * behaves as none: feedback is a nicety, the button must work without it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devspec.h"
#include "log.h"

enum rk_led_pattern {
        RK_LED_PAT_OFF,
        RK_LED_PAT_SOLID,
        RK_LED_PAT_BLINK,       /* on for half the period, off for the other half */
        RK_LED_PAT_FADE_IN,     /* black -> colour over the period, then holds */
        RK_LED_PAT_FADE_OUT,    /* colour -> black over the period, then holds */
        _RK_LED_PAT_MAX,
};

struct rk_rgb {
        uint8_t r, g, b;
};

#define RK_RGB_GREEN ((struct rk_rgb) { 0, 255, 0 })
#define RK_RGB_AMBER ((struct rk_rgb) { 255, 160, 0 })
#define RK_RGB_RED ((struct rk_rgb) { 255, 0, 0 })
#define RK_RGB_WHITE ((struct rk_rgb) { 255, 255, 255 })
#define RK_RGB_BLACK ((struct rk_rgb) { 0, 0, 0 })

/* software step interval for fades: 50 Hz */
#define RK_LED_STEP_NS (20 * 1000000ULL)

struct rk_led;

struct rk_led_ops {
        /* remember the LED's owner state (trigger, brightness, ...) */
        int (*save)(struct rk_led *l);
        /* put it back */
        int (*restore)(struct rk_led *l, uint64_t now_ns);
        /* show the pattern by the device's own means: 1 if it animates
         * itself, 0 if the caller must step it with set() */
        int (*show)(struct rk_led *l, enum rk_led_pattern p, struct rk_rgb c, uint32_t period_ms,
                    uint64_t now_ns);
        /* a steady colour (software steps); level 0..255 scales c */
        int (*set)(struct rk_led *l, struct rk_rgb c, uint64_t now_ns);
        void (*free)(struct rk_led *l);
};

struct rk_led {
        const struct rk_led_ops *ops;   /* NULL: none */
        struct rk_log *log;
        char *name;
        uint64_t start_ns;              /* for file: timestamps */
        bool failed_logged;             /* a write failed once: say so once */

        /* current feedback */
        bool showing;                   /* saved state is held; restore on release */
        bool software;                  /* stepped by rk_led_advance() */
        enum rk_led_pattern pattern;
        struct rk_rgb color;
        uint32_t period_ms;
        unsigned count;                 /* periods to show, 0 = until changed */
        uint64_t shown_ns;              /* when the pattern started */
        uint64_t next_ns;               /* next software step, UINT64_MAX none */
};

/* Never fails but for -ENOMEM: an unusable sink becomes a logged no-op. */
int rk_led_open(const struct rk_led_spec *spec, struct rk_log *log, uint64_t start_ns, struct rk_led **ret);
void rk_led_free(struct rk_led *l);     /* gives the LED back first */
static inline void rk_led_freep(struct rk_led **l) { rk_led_free(*l); }

/* Show p in c.  The first show after a release saves the owner's state.
 * count > 0: after count periods the LED is given back by itself (through
 * rk_led_advance()). */
int rk_led_show(struct rk_led *l, enum rk_led_pattern p, struct rk_rgb c, uint32_t period_ms,
                unsigned count, uint64_t now_ns);
/* Give the LED back as it was before the first show. */
int rk_led_release(struct rk_led *l, uint64_t now_ns);
bool rk_led_is_showing(const struct rk_led *l);
uint64_t rk_led_deadline(const struct rk_led *l);
void rk_led_advance(struct rk_led *l, uint64_t now_ns);

const char *rk_led_pattern_name(enum rk_led_pattern p);
/* Software stepping, pure: the brightness level (0..255) of pattern p at
 * `elapsed` into it, and when the level next changes (relative to the
 * pattern's start; UINT64_MAX if never). */
uint8_t rk_led_level_at(enum rk_led_pattern p, uint32_t period_ms, uint64_t elapsed_ns, uint64_t *next_ns);

/* backends */
int rk_led_file_open(const char *path, struct rk_log *log, struct rk_led **ret, char *err, size_t errlen);
int rk_led_sysfs_open(const struct rk_led_spec *spec, struct rk_log *log, struct rk_led **ret,
                      char *err, size_t errlen);
/* helpers for backends */
int rk_led_init_base(struct rk_led *l, const struct rk_led_ops *ops, struct rk_log *log, const char *name);
void rk_led_write_failed(struct rk_led *l, int r, const char *what);
