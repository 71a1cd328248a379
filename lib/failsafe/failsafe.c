/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failsafe.c — the Fail-Safe Restore sequence.  Pure: see failsafe.h. */
#include "failsafe.h"

#include <inttypes.h>
#include <stdarg.h>

#include "util.h"

void rk_failsafe_params_from_config(struct rk_failsafe_params *p, const struct rk_config *c) {
        *p = (struct rk_failsafe_params) {
                .hold_ms = c->hold_ms,
                .release_timeout_ms = c->release_timeout_ms,
                .debounce_ms = c->debounce_ms,
                .on_early_release = c->on_early_release,
        };
}

void rk_failsafe_init(struct rk_failsafe *fs, const struct rk_failsafe_params *p) {
        *fs = (struct rk_failsafe) { .p = *p, .state = RK_FS_INIT };
        /* The fade to red only says "seen": a tenth of the hold, so a short
         * test configuration stays short, never more than a second. */
        if (fs->p.ramp_ms == 0)
                fs->p.ramp_ms = p->hold_ms / 10 < RK_FAILSAFE_RAMP_MAX_MS ? p->hold_ms / 10
                                                                           : RK_FAILSAFE_RAMP_MAX_MS;
}

RK_PRINTF(2, 3)
static void say(struct rk_failsafe_step *out, const char *fmt, ...) {
        size_t len = strlen(out->msg);
        va_list ap;

        /* Several transitions can fall into one step (a late wake-up); keep
         * them all, in order, on one line. */
        if (len > 0 && len + 2 < sizeof out->msg) {
                memcpy(out->msg + len, "; ", 3);
                len += 2;
        }
        va_start(ap, fmt);
        vsnprintf(out->msg + len, sizeof out->msg - len, fmt, ap);
        va_end(ap);
}

static void show(struct rk_failsafe_step *out, enum rk_led_pattern pat, struct rk_rgb c, uint64_t period) {
        out->led_set = true;
        out->led = (struct rk_failsafe_led) {
                .pattern = pat,
                .color = c,
                /* an LED period is 32 bits of ms (49 days): clamp, never wrap */
                .period_ms = period > UINT32_MAX ? UINT32_MAX : (uint32_t) period,
        };
}

static void give_back(struct rk_failsafe_step *out) {
        out->led_set = true;
        out->led = (struct rk_failsafe_led) { .give_back = true, .pattern = RK_LED_PAT_OFF };
}

static void finish(struct rk_failsafe *fs, enum rk_failsafe_decision d, struct rk_failsafe_step *out) {
        fs->state = RK_FS_END;
        fs->up_pending = false;
        out->decision = d;
}

static void begin(struct rk_failsafe_step *out) {
        *out = (struct rk_failsafe_step) { .decision = RK_FS_KEEP_GOING };
}

static void enter_hold(struct rk_failsafe *fs, struct rk_failsafe_step *out) {
        fs->state = RK_FS_HOLD;
        show(out, RK_LED_PAT_FADE_OUT, RK_RGB_RED, fs->p.hold_ms);
        say(out, "red fade: keep holding for %" PRIu64 " ms", fs->p.hold_ms);
}

static void enter_release(struct rk_failsafe *fs, struct rk_failsafe_step *out) {
        fs->state = RK_FS_RELEASE;
        show(out, RK_LED_PAT_FADE_OUT, RK_RGB_WHITE, fs->p.release_timeout_ms);
        say(out, "held through the fade: release the button within %" PRIu64 " ms to factory-reset",
            fs->p.release_timeout_ms);
}

/* A confirmed release, judged by the time of its up edge against the
 * boundaries fixed at start. */
static void judge_release(struct rk_failsafe *fs, uint64_t t, uint64_t now, struct rk_failsafe_step *out) {
        uint64_t held = t - fs->start_ms;

        fs->down = false;
        if (t < fs->hold_end_ms) {
                bool reboot = fs->p.on_early_release == RK_EARLY_REBOOT;
                give_back(out);
                say(out, "released after %" PRIu64 " ms, %" PRIu64 " ms before the fade ended: no reset, %s",
                    held, fs->hold_end_ms - t, reboot ? "reboot" : "continue booting");
                finish(fs, reboot ? RK_FS_EARLY_REBOOT : RK_FS_EARLY_CONTINUE, out);
        } else if (t < fs->release_end_ms) {
                fs->state = RK_FS_RESET;
                fs->up_pending = false;
                fs->phase_end_ms = now + RK_FAILSAFE_RESET_PERIOD_MS;
                show(out, RK_LED_PAT_FADE_OUT, RK_RGB_WHITE, RK_FAILSAFE_RESET_PERIOD_MS);
                say(out, "released %" PRIu64 " ms after the sign to release: factory reset",
                    t - fs->hold_end_ms);
                out->decision = RK_FS_RUN_RESET;
        } else {
                /* The timeout was due before the release: the window is closed. */
                give_back(out);
                say(out, "not released within %" PRIu64 " ms of the sign to release: cancelled, no reset",
                    fs->p.release_timeout_ms);
                finish(fs, RK_FS_CANCEL, out);
        }
}

static bool in_sequence(const struct rk_failsafe *fs) {
        return fs->state == RK_FS_RAMP || fs->state == RK_FS_HOLD || fs->state == RK_FS_RELEASE;
}

static uint64_t phase_end(const struct rk_failsafe *fs) {
        switch (fs->state) {
        case RK_FS_RAMP: return fs->start_ms + fs->p.ramp_ms;
        case RK_FS_HOLD: return fs->hold_end_ms;
        case RK_FS_RELEASE: return fs->release_end_ms;
        case RK_FS_RESET:
        case RK_FS_FAILED: return fs->phase_end_ms;
        default: return UINT64_MAX;
        }
}

/* Everything that is due at now, in order: a release that has waited out
 * debounce-ms first (judged by its own timestamp, so it does not matter
 * whether the boundaries before it were passed yet), then the phase
 * boundaries.  Boundaries wait while a release may still turn out to be
 * chatter: the LED then changes up to debounce-ms late, the decision never. */
static void settle(struct rk_failsafe *fs, uint64_t now, struct rk_failsafe_step *out) {
        for (;;) {
                if (fs->up_pending) {
                        if (now < fs->up_ts_ms + fs->p.debounce_ms)
                                return;         /* may still be chatter: boundaries wait */
                        fs->up_pending = false;
                        judge_release(fs, fs->up_ts_ms, now, out);
                        continue;
                }
                if (now < phase_end(fs))
                        return;
                switch (fs->state) {
                case RK_FS_RAMP:
                        enter_hold(fs, out);
                        break;
                case RK_FS_HOLD:
                        enter_release(fs, out);
                        break;
                case RK_FS_RELEASE: {
                        give_back(out);
                        say(out, "still held %" PRIu64 " ms after the sign to release: cancelled, no reset "
                            "(a button stuck down, or its polarity inverted? see [button] active-low, "
                            "or the GPIO flags of gpio-keys)",
                            fs->p.release_timeout_ms);
                        finish(fs, RK_FS_CANCEL, out);
                        return;
                }
                case RK_FS_RESET:
                        /* white → black every 2 s: start the fade over (after
                         * a stall, from the next period on: no burst) */
                        fs->phase_end_ms += ((now - fs->phase_end_ms) / RK_FAILSAFE_RESET_PERIOD_MS + 1) *
                                            RK_FAILSAFE_RESET_PERIOD_MS;
                        show(out, RK_LED_PAT_FADE_OUT, RK_RGB_WHITE, RK_FAILSAFE_RESET_PERIOD_MS);
                        break;
                case RK_FS_FAILED:
                        show(out, RK_LED_PAT_OFF, RK_RGB_BLACK, 0);
                        say(out, "rebooting: the next boot resumes the interrupted reset");
                        finish(fs, RK_FS_FAILED_REBOOT, out);
                        return;
                default:
                        return;
                }
        }
}

void rk_failsafe_start(struct rk_failsafe *fs, bool held, uint64_t now_ms, struct rk_failsafe_step *out) {
        begin(out);
        if (fs->state != RK_FS_INIT)
                return;
        if (!held) {
                /* The normal boot: not even the LED is touched. */
                say(out, "button not held at start: nothing to do");
                finish(fs, RK_FS_EXIT_NOT_HELD, out);
                return;
        }
        fs->start_ms = now_ms;
        fs->hold_end_ms = now_ms + fs->p.ramp_ms + fs->p.hold_ms;
        fs->release_end_ms = fs->hold_end_ms + fs->p.release_timeout_ms;
        fs->down = true;
        fs->state = RK_FS_RAMP;
        show(out, RK_LED_PAT_FADE_IN, RK_RGB_RED, fs->p.ramp_ms);
        say(out, "button held at start: fail-safe restore armed; hold it %" PRIu64 " ms, then release "
            "within %" PRIu64 " ms (released earlier: %s)", fs->p.ramp_ms + fs->p.hold_ms,
            fs->p.release_timeout_ms,
            fs->p.on_early_release == RK_EARLY_REBOOT ? "reboot" : "continue booting");
        settle(fs, now_ms, out);
}

void rk_failsafe_start_pending(struct rk_failsafe *fs, bool poweroff, uint64_t now_ms,
                               struct rk_failsafe_step *out) {
        begin(out);
        if (fs->state != RK_FS_INIT)
                return;
        fs->start_ms = now_ms;
        fs->pending = true;
        fs->pending_poweroff = poweroff;
        fs->state = RK_FS_RESET;
        fs->phase_end_ms = now_ms + RK_FAILSAFE_RESET_PERIOD_MS;
        show(out, RK_LED_PAT_FADE_OUT, RK_RGB_WHITE, RK_FAILSAFE_RESET_PERIOD_MS);
        say(out, "a factory reset is pending: carrying it out before anything else boots");
        out->decision = RK_FS_RUN_RESET;
}

void rk_failsafe_button(struct rk_failsafe *fs, bool down, uint64_t ts_ms, uint64_t now_ms,
                        struct rk_failsafe_step *out) {
        begin(out);
        if (!in_sequence(fs))
                return;         /* while the reset runs, or after: the button means nothing */
        /* An edge cannot precede the level we started from, nor the read. */
        if (ts_ms < fs->start_ms)
                ts_ms = fs->start_ms;
        if (ts_ms > now_ms)
                ts_ms = now_ms;
        if (down) {
                if (fs->up_pending) {
                        fs->up_pending = false;
                        fs->chatter++;
                        say(out, "button bounced (up for %" PRIu64 " ms, under debounce-ms %" PRIu64
                            "): still held", ts_ms - fs->up_ts_ms, fs->p.debounce_ms);
                }
                fs->down = true;
        } else if (fs->down && !fs->up_pending) {
                fs->up_pending = true;
                fs->up_ts_ms = ts_ms;
        }
        settle(fs, now_ms, out);
}

void rk_failsafe_timer(struct rk_failsafe *fs, uint64_t now_ms, struct rk_failsafe_step *out) {
        begin(out);
        settle(fs, now_ms, out);
}

void rk_failsafe_reset_done(struct rk_failsafe *fs, bool ok, int exit_code, uint64_t now_ms,
                            struct rk_failsafe_step *out) {
        begin(out);
        if (fs->state != RK_FS_RESET)
                return;
        if (ok) {
                bool off = !fs->pending || fs->pending_poweroff;
                show(out, RK_LED_PAT_OFF, RK_RGB_BLACK, 0);
                say(out, "factory reset done: LED off, %s", off ? "powering off" : "rebooting into the factory state");
                finish(fs, off ? RK_FS_POWEROFF : RK_FS_REBOOT, out);
                return;
        }
        fs->state = RK_FS_FAILED;
        fs->phase_end_ms = now_ms + (uint64_t) RK_FAILSAFE_FAIL_BLINKS * RK_FAILSAFE_FAIL_BLINK_MS;
        show(out, RK_LED_PAT_BLINK, RK_RGB_RED, RK_FAILSAFE_FAIL_BLINK_MS);
        if (exit_code >= 0)
                say(out, "factory reset failed (exit code %d): its journal stays for the resume", exit_code);
        else
                say(out, "factory reset failed (killed by signal %d): its journal stays for the resume",
                    -exit_code);
}

void rk_failsafe_abort(struct rk_failsafe *fs, const char *why, struct rk_failsafe_step *out) {
        begin(out);
        if (in_sequence(fs)) {
                give_back(out);
                say(out, "%s: cancelled, no reset", why);
                finish(fs, RK_FS_CANCEL, out);
        } else if (fs->state == RK_FS_RESET)
                say(out, "%s: ignored, the factory reset runs on to its end", why);
}

uint64_t rk_failsafe_deadline(const struct rk_failsafe *fs) {
        if (in_sequence(fs) && fs->up_pending)
                return fs->up_ts_ms + fs->p.debounce_ms;
        return phase_end(fs);
}

const char *rk_failsafe_decision_name(enum rk_failsafe_decision d) {
        static const char *const names[] = {
                [RK_FS_KEEP_GOING] = "keep-going",
                [RK_FS_EXIT_NOT_HELD] = "not-held",
                [RK_FS_EARLY_REBOOT] = "early-release-reboot",
                [RK_FS_EARLY_CONTINUE] = "early-release-continue",
                [RK_FS_CANCEL] = "cancel",
                [RK_FS_RUN_RESET] = "reset",
                [RK_FS_POWEROFF] = "poweroff",
                [RK_FS_FAILED_REBOOT] = "failed-reboot",
                [RK_FS_REBOOT] = "reboot",
        };
        return (size_t) d < RK_ELEMENTSOF(names) ? names[d] : "?";
}

const char *rk_failsafe_state_name(enum rk_failsafe_state s) {
        static const char *const names[] = {
                [RK_FS_INIT] = "init", [RK_FS_RAMP] = "ramp", [RK_FS_HOLD] = "hold",
                [RK_FS_RELEASE] = "release", [RK_FS_RESET] = "reset", [RK_FS_FAILED] = "failed",
                [RK_FS_END] = "end",
        };
        return (size_t) s < RK_ELEMENTSOF(names) ? names[s] : "?";
}
