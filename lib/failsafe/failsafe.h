/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failsafe.h — the Fail-Safe Restore sequence (SPEC §4) as a pure state
 * machine: no I/O, no clock.  reset-failsafe feeds it the button level read
 * at start, the button's edges (with their kernel timestamps) and timer
 * expiries, all in milliseconds on one monotonic clock; it answers with the
 * LED pattern to show and the decision to carry out.
 *
 *   held at start ──► RAMP: fade to red (ramp-ms)
 *                     HOLD: red → black over hold-ms      released: early release
 *                     RELEASE: white → black, once, over  (reboot or continue)
 *                       release-timeout-ms                still held at its end: cancel
 *                     RESET: white → black, again every   released in the window: reset
 *                       2 s (a timer re-arms the fade)
 *                     done: off, power off    failed: red blinks 3×, off, reboot
 *   early release and cancel give the LED back as it was found.
 *
 * A release counts when the button has stayed up for debounce-ms (contact
 * chatter while the user holds on is not a release); it is judged by the
 * time of its up edge, so a late wake-up never changes the outcome.  A
 * button that is stuck down, or wired backwards (reads "down" at rest), can
 * at worst delay the boot by ramp + hold + release-timeout and then cancels:
 * a reset needs the level to go down → (held through the fade) → up inside
 * the release window. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "led.h"

#define RK_FAILSAFE_RESET_PERIOD_MS 2000u       /* white → black while the reset runs */
#define RK_FAILSAFE_RAMP_MAX_MS 1000u           /* the fade to red, at most */
#define RK_FAILSAFE_FAIL_BLINK_MS 500u          /* red blink period after a failed reset */
#define RK_FAILSAFE_FAIL_BLINKS 3u

/* The LED command of one step: a pattern of led.h, or "give the LED back as
 * it was found" (the boot goes on and the LED's owner gets it back). */
struct rk_failsafe_led {
        bool give_back;
        enum rk_led_pattern pattern;
        struct rk_rgb color;
        uint32_t period_ms;
};

enum rk_failsafe_state {
        RK_FS_INIT,
        RK_FS_RAMP,             /* fading to red */
        RK_FS_HOLD,             /* red → black over hold-ms */
        RK_FS_RELEASE,          /* white fading: release now */
        RK_FS_RESET,            /* the reset runs */
        RK_FS_FAILED,           /* the reset failed: red blinks, then reboot */
        RK_FS_END,              /* a final decision was given */
};

enum rk_failsafe_decision {
        RK_FS_KEEP_GOING,       /* nothing to do but wait */
        RK_FS_EXIT_NOT_HELD,    /* not held at start: exit at once, LED untouched */
        RK_FS_EARLY_REBOOT,     /* released during the fade, on-early-release = reboot */
        RK_FS_EARLY_CONTINUE,   /* released during the fade, on-early-release = continue */
        RK_FS_CANCEL,           /* not released within release-timeout-ms */
        RK_FS_RUN_RESET,        /* released in time: start the factory reset now */
        RK_FS_POWEROFF,         /* the reset is done */
        RK_FS_FAILED_REBOOT,    /* the reset failed; its journal makes the next boot resume */
        RK_FS_REBOOT,           /* a requested or interrupted reset is done: boot the factory state */
};

struct rk_failsafe_params {
        uint64_t ramp_ms;               /* 0: derived from hold_ms (a tenth, at most 1 s) */
        uint64_t hold_ms;
        uint64_t release_timeout_ms;
        uint64_t debounce_ms;
        enum rk_early_release on_early_release;
};

struct rk_failsafe {
        struct rk_failsafe_params p;
        enum rk_failsafe_state state;
        uint64_t start_ms;              /* power-on detection of the held button */
        uint64_t phase_end_ms;          /* RESET: next white fade; FAILED: end of the blinks */
        uint64_t hold_end_ms;           /* end of the red fade: releases from here on count */
        uint64_t release_end_ms;
        bool down;
        bool up_pending;                /* an up edge waiting out debounce-ms */
        uint64_t up_ts_ms;
        unsigned chatter;               /* up edges undone within debounce-ms */
        bool pending;                   /* carrying out a request or an interrupted reset */
        bool pending_poweroff;          /*   which asked to power off when done */
};

/* What one input produced.  led_set: show led now.  msg: one log line for
 * the change (empty when nothing worth logging happened). */
struct rk_failsafe_step {
        enum rk_failsafe_decision decision;
        bool led_set;
        struct rk_failsafe_led led;
        char msg[512];
};

void rk_failsafe_params_from_config(struct rk_failsafe_params *p, const struct rk_config *c);
void rk_failsafe_init(struct rk_failsafe *fs, const struct rk_failsafe_params *p);

/* The level read once at start. */
void rk_failsafe_start(struct rk_failsafe *fs, bool held, uint64_t now_ms, struct rk_failsafe_step *out);
/* A button edge (or a re-read level) at ts_ms, its kernel timestamp; now_ms
 * is when it was read (>= ts_ms). */
void rk_failsafe_button(struct rk_failsafe *fs, bool down, uint64_t ts_ms, uint64_t now_ms,
                        struct rk_failsafe_step *out);
/* The timer armed for rk_failsafe_deadline() expired (or any wake-up). */
void rk_failsafe_timer(struct rk_failsafe *fs, uint64_t now_ms, struct rk_failsafe_step *out);
/* The reset child ended; ok = it exited 0. */
/* A factory reset is requested or was interrupted (SPEC §3 "When it
 * runs"): it is carried out first, whatever the button does, with the white
 * fade of the reset; done, the system reboots into the factory state (or
 * powers off when the request said so). */
void rk_failsafe_start_pending(struct rk_failsafe *fs, bool poweroff, uint64_t now_ms,
                               struct rk_failsafe_step *out);
void rk_failsafe_reset_done(struct rk_failsafe *fs, bool ok, int exit_code, uint64_t now_ms,
                            struct rk_failsafe_step *out);

/* Stop the sequence from outside (a signal, the button device gone): before
 * the reset, cancel (no reset, LED given back); once the reset runs, it
 * runs on (the step only says so).  why goes into the log line. */
void rk_failsafe_abort(struct rk_failsafe *fs, const char *why, struct rk_failsafe_step *out);

/* When to call rk_failsafe_timer() next; UINT64_MAX: no timer needed. */
uint64_t rk_failsafe_deadline(const struct rk_failsafe *fs);

const char *rk_failsafe_decision_name(enum rk_failsafe_decision d);
const char *rk_failsafe_state_name(enum rk_failsafe_state s);
