/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the Fail-Safe Restore state machine (failsafe.c): every
 * boundary, debounce, late wake-ups, a stuck or backwards-wired button. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "failsafe.h"
#include "util.h"

/* start at T0, ramp 100, hold 1000, release window 2000, debounce 30:
 * ramp_end 1100, hold_end 2100, release_end 4100 */
#define T0 1000u
#define RAMP 100u
#define HOLD 1000u
#define REL 2000u
#define DEB 30u
#define RAMP_END (T0 + RAMP)
#define HOLD_END (RAMP_END + HOLD)
#define REL_END (HOLD_END + REL)

static void setup_fs(struct rk_failsafe *fs, uint64_t debounce, enum rk_early_release early) {
        struct rk_failsafe_params p = {
                .ramp_ms = RAMP, .hold_ms = HOLD, .release_timeout_ms = REL,
                .debounce_ms = debounce, .on_early_release = early,
        };
        rk_failsafe_init(fs, &p);
}

static void start_held(struct rk_failsafe *fs, uint64_t debounce, enum rk_early_release early) {
        struct rk_failsafe_step s;
        setup_fs(fs, debounce, early);
        rk_failsafe_start(fs, true, T0, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_true(s.led_set);
        assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_IN);
        assert_int_equal(s.led.color.r, 255);
        assert_int_equal(s.led.color.g, 0);
        assert_int_equal(s.led.color.b, 0);
        assert_int_equal(s.led.period_ms, RAMP);
                assert_non_null(strstr(s.msg, "armed"));
        assert_int_equal(fs->state, RK_FS_RAMP);
        assert_int_equal(rk_failsafe_deadline(fs), RAMP_END);
}

/* Drive the timers to the white "release now" fade. */
static void to_release(struct rk_failsafe *fs) {
        struct rk_failsafe_step s;
        rk_failsafe_timer(fs, RAMP_END, &s);
        rk_failsafe_timer(fs, HOLD_END, &s);
        assert_int_equal(fs->state, RK_FS_RELEASE);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
}

static void test_not_held(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        setup_fs(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_start(&fs, false, T0, &s);
        assert_int_equal(s.decision, RK_FS_EXIT_NOT_HELD);
        assert_false(s.led_set);        /* a normal boot never touches the LED */
        assert_int_equal(fs.state, RK_FS_END);
        assert_int_equal(rk_failsafe_deadline(&fs), UINT64_MAX);
        /* nothing afterwards revives it */
        rk_failsafe_button(&fs, true, T0 + 5, T0 + 5, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_false(s.led_set);
        rk_failsafe_start(&fs, true, T0 + 6, &s);
        assert_false(s.led_set);
        assert_int_equal(fs.state, RK_FS_END);
}

static void test_ramp_derived(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_params p = { .hold_ms = 10000, .release_timeout_ms = 30000 };
        rk_failsafe_init(&fs, &p);
        assert_int_equal(fs.p.ramp_ms, 1000);
        p.hold_ms = 300;
        rk_failsafe_init(&fs, &p);
        assert_int_equal(fs.p.ramp_ms, 30);
        p.hold_ms = 60000;
        rk_failsafe_init(&fs, &p);
        assert_int_equal(fs.p.ramp_ms, RK_FAILSAFE_RAMP_MAX_MS);
}

static void test_ramp_zero_goes_straight_to_hold(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        struct rk_failsafe_params p = { .hold_ms = 5, .release_timeout_ms = 10 };
        rk_failsafe_init(&fs, &p);          /* 5 / 10 = 0: no ramp */
        rk_failsafe_start(&fs, true, T0, &s);
        assert_int_equal(fs.state, RK_FS_HOLD);
        assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_OUT);
        assert_int_equal(s.led.period_ms, 5);
        assert_int_equal(rk_failsafe_deadline(&fs), T0 + 5);
}

static void test_phases_by_timer(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);

        rk_failsafe_timer(&fs, RAMP_END - 1, &s);
        assert_false(s.led_set);
        assert_int_equal(fs.state, RK_FS_RAMP);
        rk_failsafe_timer(&fs, RAMP_END, &s);
        assert_true(s.led_set);
        assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_OUT);
        assert_int_equal(s.led.color.r, 255);
        assert_int_equal(s.led.color.g, 0);
        assert_int_equal(s.led.period_ms, HOLD);
                assert_int_equal(rk_failsafe_deadline(&fs), HOLD_END);

        rk_failsafe_timer(&fs, HOLD_END - 1, &s);
        assert_false(s.led_set);
        rk_failsafe_timer(&fs, HOLD_END, &s);
        assert_true(s.led_set);
        assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_OUT);
        assert_int_equal(s.led.color.r, 255);
        assert_int_equal(s.led.color.g, 255);
        assert_int_equal(s.led.color.b, 255);
        assert_int_equal(s.led.period_ms, REL);
                assert_non_null(strstr(s.msg, "release the button within 2000 ms"));
        assert_int_equal(rk_failsafe_deadline(&fs), REL_END);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
}

static void test_stuck_button_cancels(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        to_release(&fs);
        rk_failsafe_timer(&fs, REL_END - 1, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        /* more "down" reports (a re-read level) change nothing */
        rk_failsafe_button(&fs, true, REL_END - 1, REL_END - 1, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        rk_failsafe_timer(&fs, REL_END, &s);
        assert_int_equal(s.decision, RK_FS_CANCEL);
        assert_true(s.led_set);
        assert_true(s.led.give_back);
        assert_non_null(strstr(s.msg, "cancelled, no reset"));
        assert_non_null(strstr(s.msg, "active-low"));
        assert_int_equal(rk_failsafe_deadline(&fs), UINT64_MAX);
        /* a release after the cancel does not start anything */
        rk_failsafe_button(&fs, false, REL_END + 10, REL_END + 10, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        rk_failsafe_timer(&fs, REL_END + 100, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_int_equal(fs.state, RK_FS_END);
}

/* One late wake-up past every boundary: a stuck button still only cancels. */
static void test_stuck_button_late_wakeup(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_timer(&fs, REL_END + 5000, &s);
        assert_int_equal(s.decision, RK_FS_CANCEL);
        assert_true(s.led.give_back);
        assert_non_null(strstr(s.msg, "red fade"));
        assert_non_null(strstr(s.msg, "sign to release"));
        assert_non_null(strstr(s.msg, "cancelled"));
}

static void release_at(uint64_t t, enum rk_early_release early, bool advance_timers,
                       enum rk_failsafe_decision want) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, 0, early);
        if (advance_timers) {
                if (t >= RAMP_END)
                        rk_failsafe_timer(&fs, RAMP_END, &s);
                if (t >= HOLD_END)
                        rk_failsafe_timer(&fs, HOLD_END, &s);
        }
        rk_failsafe_button(&fs, false, t, t, &s);
        assert_int_equal(s.decision, want);
        assert_true(s.led_set);
        if (want == RK_FS_RUN_RESET) {
                assert_int_equal(fs.state, RK_FS_RESET);
                assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_OUT);
                assert_int_equal(s.led.color.r, 255);
                assert_int_equal(s.led.color.g, 255);
                assert_int_equal(s.led.color.b, 255);
                assert_int_equal(s.led.period_ms, RK_FAILSAFE_RESET_PERIOD_MS);
                assert_int_equal(rk_failsafe_deadline(&fs), t + RK_FAILSAFE_RESET_PERIOD_MS);
        } else {
                assert_true(s.led.give_back);
                assert_int_equal(fs.state, RK_FS_END);
        }
}

static void test_release_boundaries(void **state) {
        for (int adv = 0; adv <= 1; adv++) {
                /* released during the fade to red, or the red fade */
                release_at(T0, RK_EARLY_REBOOT, adv, RK_FS_EARLY_REBOOT);
                release_at(RAMP_END - 1, RK_EARLY_REBOOT, adv, RK_FS_EARLY_REBOOT);
                release_at(RAMP_END, RK_EARLY_REBOOT, adv, RK_FS_EARLY_REBOOT);
                release_at(HOLD_END - 1, RK_EARLY_REBOOT, adv, RK_FS_EARLY_REBOOT);
                release_at(HOLD_END - 1, RK_EARLY_CONTINUE, adv, RK_FS_EARLY_CONTINUE);
                release_at(T0 + 1, RK_EARLY_CONTINUE, adv, RK_FS_EARLY_CONTINUE);
                /* the release window is [HOLD_END, REL_END) */
                release_at(HOLD_END, RK_EARLY_REBOOT, adv, RK_FS_RUN_RESET);
                release_at(HOLD_END + 1, RK_EARLY_CONTINUE, adv, RK_FS_RUN_RESET);
                release_at(REL_END - 1, RK_EARLY_REBOOT, adv, RK_FS_RUN_RESET);
                /* an up edge stamped at the timeout, read before its timer */
                release_at(REL_END, RK_EARLY_REBOOT, adv, RK_FS_CANCEL);
        }
}

static void test_early_release_message(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, 0, RK_EARLY_REBOOT);
        rk_failsafe_timer(&fs, RAMP_END, &s);
        rk_failsafe_button(&fs, false, T0 + 600, T0 + 600, &s);
        assert_int_equal(s.decision, RK_FS_EARLY_REBOOT);
        assert_string_equal(s.msg, "released after 600 ms, 500 ms before the fade ended: no reset, reboot");
        start_held(&fs, 0, RK_EARLY_CONTINUE);
        rk_failsafe_button(&fs, false, T0 + 50, T0 + 50, &s);
        assert_non_null(strstr(s.msg, "no reset, continue booting"));
}

static void test_debounce_release_confirmed(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        to_release(&fs);
        rk_failsafe_button(&fs, false, HOLD_END + 100, HOLD_END + 100, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);        /* not yet: may be chatter */
        assert_false(s.led_set);
        assert_int_equal(rk_failsafe_deadline(&fs), HOLD_END + 100 + DEB);
        rk_failsafe_timer(&fs, HOLD_END + 100 + DEB - 1, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        rk_failsafe_timer(&fs, HOLD_END + 100 + DEB, &s);
        assert_int_equal(s.decision, RK_FS_RUN_RESET);
        assert_string_equal(s.msg, "released 100 ms after the sign to release: factory reset");
}

static void test_debounce_chatter_is_not_release(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_timer(&fs, RAMP_END, &s);
        rk_failsafe_button(&fs, false, T0 + 500, T0 + 500, &s);
        rk_failsafe_button(&fs, true, T0 + 500 + DEB - 1, T0 + 500 + DEB - 1, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_non_null(strstr(s.msg, "bounced"));
        assert_int_equal(fs.chatter, 1);
        assert_int_equal(rk_failsafe_deadline(&fs), HOLD_END);
        rk_failsafe_timer(&fs, HOLD_END, &s);
        assert_int_equal(fs.state, RK_FS_RELEASE);
}

/* A release just before the end of the red fade, confirmed after it: still
 * early (judged by the edge); the white fade is not shown meanwhile. */
static void test_debounce_across_boundary(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_timer(&fs, RAMP_END, &s);
        rk_failsafe_button(&fs, false, HOLD_END - 5, HOLD_END - 5, &s);
        assert_int_equal(rk_failsafe_deadline(&fs), HOLD_END - 5 + DEB);
        rk_failsafe_timer(&fs, HOLD_END, &s);
        assert_false(s.led_set);
        assert_int_equal(fs.state, RK_FS_HOLD);
        rk_failsafe_timer(&fs, HOLD_END - 5 + DEB, &s);
        assert_int_equal(s.decision, RK_FS_EARLY_REBOOT);
}

/* The same, but it was chatter: the boundary that waited is passed at once. */
static void test_debounce_chatter_across_boundary(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_timer(&fs, RAMP_END, &s);
        rk_failsafe_button(&fs, false, HOLD_END - 5, HOLD_END - 5, &s);
        rk_failsafe_button(&fs, true, HOLD_END + 10, HOLD_END + 10, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_true(s.led_set);
        assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_OUT);
        assert_int_equal(s.led.color.g, 255);
        assert_int_equal(fs.state, RK_FS_RELEASE);
}

/* The release's own timestamp decides, however late it is read. */
static void test_late_read_release(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        /* read far past the timeout, stamped inside the window */
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_button(&fs, false, HOLD_END + 50, REL_END + 900, &s);
        assert_int_equal(s.decision, RK_FS_RUN_RESET);
        /* stamped inside the red fade, read in the window */
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_button(&fs, false, HOLD_END - 50, HOLD_END + 500, &s);
        assert_int_equal(s.decision, RK_FS_EARLY_REBOOT);
        /* a timestamp from the future is clamped to the read */
        start_held(&fs, 0, RK_EARLY_REBOOT);
        rk_failsafe_button(&fs, false, REL_END + 100, HOLD_END - 1, &s);
        assert_int_equal(s.decision, RK_FS_EARLY_REBOOT);
        /* one from before the start counts as at the start */
        start_held(&fs, 0, RK_EARLY_REBOOT);
        rk_failsafe_button(&fs, false, 3, T0 + 1, &s);
        assert_int_equal(s.decision, RK_FS_EARLY_REBOOT);
        assert_non_null(strstr(s.msg, "released after 0 ms"));
}

/* Wired backwards: "down" at rest starts the sequence every boot.  Pressing
 * (reported as up) during the fade reboots; pressing inside the window is
 * the only way to reset — never the button by itself. */
static void test_backwards_wired(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        to_release(&fs);
        rk_failsafe_timer(&fs, REL_END, &s);
        assert_int_equal(s.decision, RK_FS_CANCEL);

        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_timer(&fs, RAMP_END, &s);
        rk_failsafe_button(&fs, false, T0 + 300, T0 + 300, &s);
        rk_failsafe_timer(&fs, T0 + 300 + DEB, &s);
        assert_int_equal(s.decision, RK_FS_EARLY_REBOOT);
}

static void test_duplicate_edges(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_timer(&fs, RAMP_END, &s);
        rk_failsafe_button(&fs, true, T0 + 200, T0 + 200, &s);     /* already down */
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_false(s.led_set);
        rk_failsafe_button(&fs, false, T0 + 300, T0 + 300, &s);
        rk_failsafe_button(&fs, false, T0 + 320, T0 + 320, &s);    /* second up: first one counts */
        assert_int_equal(fs.up_ts_ms, T0 + 300);
        rk_failsafe_timer(&fs, T0 + 300 + DEB, &s);
        assert_int_equal(s.decision, RK_FS_EARLY_REBOOT);
        assert_non_null(strstr(s.msg, "released after 300 ms"));
}

static void run_to_reset(struct rk_failsafe *fs) {
        struct rk_failsafe_step s;
        start_held(fs, 0, RK_EARLY_REBOOT);
        to_release(fs);
        rk_failsafe_button(fs, false, HOLD_END + 10, HOLD_END + 10, &s);
        assert_int_equal(s.decision, RK_FS_RUN_RESET);
}

static void test_reset_done(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        run_to_reset(&fs);
        /* the button means nothing while the reset runs */
        rk_failsafe_button(&fs, true, HOLD_END + 20, HOLD_END + 20, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_false(s.led_set);
        rk_failsafe_button(&fs, false, HOLD_END + 30, HOLD_END + 30, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        rk_failsafe_reset_done(&fs, true, 0, HOLD_END + 60000, &s);
        assert_int_equal(s.decision, RK_FS_POWEROFF);
        assert_true(s.led_set);
        assert_int_equal(s.led.pattern, RK_LED_PAT_OFF);
        assert_false(s.led.give_back);
        assert_string_equal(s.msg, "factory reset done: LED off, powering off");
        /* only once */
        rk_failsafe_reset_done(&fs, true, 0, HOLD_END + 60001, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
}

/* A pending request goes first: white fade at once, the button means
 * nothing, done it reboots (or powers off when the request said so). */
static void test_pending_reset(void **state) {
        for (int off = 0; off <= 1; off++) {
                struct rk_failsafe fs;
                struct rk_failsafe_step s;
                setup_fs(&fs, 0, RK_EARLY_REBOOT);
                rk_failsafe_start_pending(&fs, off, T0, &s);
                assert_int_equal(s.decision, RK_FS_RUN_RESET);
                assert_int_equal(fs.state, RK_FS_RESET);
                assert_true(s.led_set);
                assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_OUT);
                assert_int_equal(s.led.color.r, 255);
                assert_int_equal(s.led.color.g, 255);
                assert_int_equal(s.led.period_ms, RK_FAILSAFE_RESET_PERIOD_MS);
                rk_failsafe_button(&fs, true, T0 + 10, T0 + 10, &s);
                assert_int_equal(s.decision, RK_FS_KEEP_GOING);
                assert_false(s.led_set);
                rk_failsafe_reset_done(&fs, true, 0, T0 + 5000, &s);
                assert_int_equal(s.decision, off ? RK_FS_POWEROFF : RK_FS_REBOOT);
                assert_int_equal(s.led.pattern, RK_LED_PAT_OFF);
        }
        /* failed: red blinks, then the reboot that retries it */
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        setup_fs(&fs, 0, RK_EARLY_REBOOT);
        rk_failsafe_start_pending(&fs, false, T0, &s);
        rk_failsafe_reset_done(&fs, false, 1, T0 + 5000, &s);
        assert_int_equal(fs.state, RK_FS_FAILED);
        /* only from the start */
        rk_failsafe_start_pending(&fs, false, T0 + 6000, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
}

/* White → black every 2 s for as long as the reset runs. */
static void test_reset_fade_repeats(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        const uint64_t t = HOLD_END + 10, p = RK_FAILSAFE_RESET_PERIOD_MS;
        run_to_reset(&fs);
        assert_int_equal(rk_failsafe_deadline(&fs), t + p);
        rk_failsafe_timer(&fs, t + p - 1, &s);
        assert_false(s.led_set);
        for (unsigned k = 1; k <= 5; k++) {
                rk_failsafe_timer(&fs, t + k * p, &s);
                assert_int_equal(s.decision, RK_FS_KEEP_GOING);
                assert_true(s.led_set);
                assert_int_equal(s.led.pattern, RK_LED_PAT_FADE_OUT);
                assert_int_equal(s.led.color.g, 255);
                assert_int_equal(s.led.period_ms, p);
                assert_string_equal(s.msg, "");
                assert_int_equal(rk_failsafe_deadline(&fs), t + (k + 1) * p);
        }
        /* a stall of a minute: one fade now, the next on the period grid */
        rk_failsafe_timer(&fs, t + 6 * p + 60000 + 5, &s);
        assert_true(s.led_set);
        assert_int_equal(rk_failsafe_deadline(&fs), t + 6 * p + 60000 + p);
        rk_failsafe_reset_done(&fs, true, 0, t + 6 * p + 60000 + 7, &s);
        assert_int_equal(s.decision, RK_FS_POWEROFF);
        assert_int_equal(rk_failsafe_deadline(&fs), UINT64_MAX);
}

static void test_reset_failed(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        const uint64_t t = HOLD_END + 5000;
        run_to_reset(&fs);
        rk_failsafe_reset_done(&fs, false, 1, t, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_true(s.led_set);
        assert_int_equal(s.led.pattern, RK_LED_PAT_BLINK);
        assert_int_equal(s.led.color.r, 255);
        assert_int_equal(s.led.color.g, 0);
        assert_int_equal(s.led.period_ms, RK_FAILSAFE_FAIL_BLINK_MS);
        assert_non_null(strstr(s.msg, "exit code 1"));
        assert_non_null(strstr(s.msg, "journal stays"));
        const uint64_t end = t + RK_FAILSAFE_FAIL_BLINKS * RK_FAILSAFE_FAIL_BLINK_MS;
        assert_int_equal(rk_failsafe_deadline(&fs), end);
        rk_failsafe_timer(&fs, end - 1, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        rk_failsafe_timer(&fs, end, &s);
        assert_int_equal(s.decision, RK_FS_FAILED_REBOOT);
        assert_int_equal(s.led.pattern, RK_LED_PAT_OFF);
        assert_false(s.led.give_back);

        run_to_reset(&fs);
        rk_failsafe_reset_done(&fs, false, -9, t, &s);
        assert_non_null(strstr(s.msg, "killed by signal 9"));
}

static void test_reset_done_out_of_place(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, 0, RK_EARLY_REBOOT);
        rk_failsafe_reset_done(&fs, true, 0, T0 + 1, &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_int_equal(fs.state, RK_FS_RAMP);
}

static void test_abort(void **state) {
        struct rk_failsafe fs;
        struct rk_failsafe_step s;
        start_held(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_button(&fs, false, T0 + 10, T0 + 10, &s);  /* pending release: still cancel */
        rk_failsafe_abort(&fs, "terminated by SIGTERM", &s);
        assert_int_equal(s.decision, RK_FS_CANCEL);
        assert_true(s.led.give_back);
        assert_string_equal(s.msg, "terminated by SIGTERM: cancelled, no reset");
        assert_int_equal(rk_failsafe_deadline(&fs), UINT64_MAX);

        run_to_reset(&fs);
        rk_failsafe_abort(&fs, "terminated by SIGTERM", &s);
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_false(s.led_set);
        assert_non_null(strstr(s.msg, "runs on"));
        assert_int_equal(fs.state, RK_FS_RESET);

        setup_fs(&fs, DEB, RK_EARLY_REBOOT);
        rk_failsafe_abort(&fs, "x", &s);        /* before start: nothing */
        assert_int_equal(s.decision, RK_FS_KEEP_GOING);
        assert_string_equal(s.msg, "");
}

static void test_params_from_config(void **state) {
        struct rk_config c;
        struct rk_failsafe_params p;
        assert_int_equal(rk_config_init(&c), 0);
        c.hold_ms = 300;
        c.release_timeout_ms = 500;
        c.debounce_ms = 7;
        c.on_early_release = RK_EARLY_CONTINUE;
        rk_failsafe_params_from_config(&p, &c);
        assert_int_equal(p.hold_ms, 300);
        assert_int_equal(p.release_timeout_ms, 500);
        assert_int_equal(p.debounce_ms, 7);
        assert_int_equal(p.on_early_release, RK_EARLY_CONTINUE);
        assert_int_equal(p.ramp_ms, 0);
        rk_config_free(&c);
}

static void test_names(void **state) {
        assert_string_equal(rk_failsafe_decision_name(RK_FS_RUN_RESET), "reset");
        assert_string_equal(rk_failsafe_decision_name(RK_FS_CANCEL), "cancel");
        assert_string_equal(rk_failsafe_decision_name(99), "?");
        assert_string_equal(rk_failsafe_state_name(RK_FS_RELEASE), "release");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_not_held),
                cmocka_unit_test(test_ramp_derived),
                cmocka_unit_test(test_ramp_zero_goes_straight_to_hold),
                cmocka_unit_test(test_phases_by_timer),
                cmocka_unit_test(test_stuck_button_cancels),
                cmocka_unit_test(test_stuck_button_late_wakeup),
                cmocka_unit_test(test_release_boundaries),
                cmocka_unit_test(test_early_release_message),
                cmocka_unit_test(test_debounce_release_confirmed),
                cmocka_unit_test(test_debounce_chatter_is_not_release),
                cmocka_unit_test(test_debounce_across_boundary),
                cmocka_unit_test(test_debounce_chatter_across_boundary),
                cmocka_unit_test(test_late_read_release),
                cmocka_unit_test(test_backwards_wired),
                cmocka_unit_test(test_duplicate_edges),
                cmocka_unit_test(test_reset_done),
                cmocka_unit_test(test_pending_reset),
                cmocka_unit_test(test_reset_fade_repeats),
                cmocka_unit_test(test_reset_failed),
                cmocka_unit_test(test_reset_done_out_of_place),
                cmocka_unit_test(test_abort),
                cmocka_unit_test(test_params_from_config),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
