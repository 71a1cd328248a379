/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The press classifier at every boundary, with chatter, a button held at
 * start, releases without a press and presses during an action. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "classifier.h"
#include "util.h"

#define MS 1000000ULL
#define T0 (1000 * MS)  /* an arbitrary non-zero start: monotonic clocks do not start at 0 */

static const struct rk_timing defaults = {
        .debounce_ns = 30 * MS,
        .window_ns = { 1000 * MS, 5000 * MS, 16000 * MS, 31000 * MS },
};

/* What a run produced, in order: "armed:reboot", "released:rescue:5000",
 * "ignored", as one string the tests compare. */
struct trace {
        char buf[1024];
};

static void add(struct trace *t, const struct rk_cls_event *ev) {
        char one[128];
        switch (ev->type) {
        case RK_CLS_EV_ARMED:
                snprintf(one, sizeof one, "armed:%s ", rk_window_name(ev->window));
                break;
        case RK_CLS_EV_RELEASED:
                snprintf(one, sizeof one, "released:%s:%llu ", rk_action_name(ev->action),
                         (unsigned long long) (ev->held_ns / MS));
                break;
        case RK_CLS_EV_IGNORED:
                snprintf(one, sizeof one, "ignored ");
                break;
        default:
                snprintf(one, sizeof one, "? ");
        }
        strncat(t->buf, one, sizeof t->buf - strlen(t->buf) - 1);
}

/* What the daemon does: run time forward to `now` following the deadlines
 * (as its timerfd would), then feed the edge. */
static void run_to(struct rk_classifier *c, uint64_t now, struct trace *t) {
        struct rk_cls_event ev;
        for (;;) {
                uint64_t d = rk_classifier_deadline(c);
                if (d > now)
                        d = now;
                if (rk_classifier_advance(c, d, &ev) > 0) {
                        add(t, &ev);
                        continue;
                }
                if (d >= now)
                        break;
                /* a deadline with nothing to report (settle): re-read */
                if (rk_classifier_deadline(c) <= d)
                        break;
        }
}

static void edge(struct rk_classifier *c, bool down, uint64_t ts, struct trace *t) {
        struct rk_cls_event ev;
        run_to(c, ts, t);
        if (rk_classifier_edge(c, down, ts, &ev) > 0)
                add(t, &ev);
        /* the daemon advances right after an edge (debounce 0 is final now) */
        run_to(c, ts, t);
}

/* One clean press of held_ms, then time runs on for a second. */
static const char *press(const struct rk_timing *tm, uint64_t held_ms, struct trace *t) {
        struct rk_classifier c;
        memset(t, 0, sizeof *t);
        rk_classifier_init(&c, tm, false, T0);
        edge(&c, true, T0 + 10 * MS, t);
        edge(&c, false, T0 + 10 * MS + held_ms * MS, t);
        run_to(&c, T0 + 10 * MS + held_ms * MS + 1000 * MS, t);
        assert_int_equal(rk_classifier_deadline(&c), UINT64_MAX);      /* idle: no wake-up */
        return t->buf;
}

static void test_names(void **state) {
        assert_string_equal(rk_window_name(RK_WINDOW_FACTORY), "factory-reset");
        assert_string_equal(rk_window_name(RK_WINDOW_CANCEL), "cancel");
        assert_string_equal(rk_action_name(RK_ACTION_FACTORY_RESET), "factory-reset");
        assert_string_equal(rk_action_name(RK_ACTION_RESCUE), "rescue");
        assert_string_equal(rk_window_name(_RK_WINDOW_MAX), "?");
}

static void test_window_of(void **state) {
        assert_int_equal(rk_window_of(&defaults, 0), RK_WINDOW_NONE);
        assert_int_equal(rk_window_of(&defaults, 999 * MS + 999999), RK_WINDOW_NONE);
        assert_int_equal(rk_window_of(&defaults, 1000 * MS), RK_WINDOW_REBOOT);
        assert_int_equal(rk_window_of(&defaults, 16000 * MS - 1), RK_WINDOW_RESCUE);
        assert_int_equal(rk_window_of(&defaults, UINT64_MAX), RK_WINDOW_CANCEL);
        assert_int_equal(rk_action_of_window(RK_WINDOW_CANCEL), RK_ACTION_NONE);
        assert_int_equal(rk_action_of_window(RK_WINDOW_NONE), RK_ACTION_NONE);
}

static void test_short_press(void **state) {
        struct trace t;
        assert_string_equal(press(&defaults, 100, &t), "released:none:100 ");
        assert_string_equal(press(&defaults, 999, &t), "released:none:999 ");
}

static void test_reboot_boundary(void **state) {
        struct trace t;
        assert_string_equal(press(&defaults, 999, &t), "released:none:999 ");
        assert_string_equal(press(&defaults, 1000, &t), "armed:reboot released:reboot:1000 ");
        assert_string_equal(press(&defaults, 1001, &t), "armed:reboot released:reboot:1001 ");
}

static void test_rescue_boundary(void **state) {
        struct trace t;
        assert_string_equal(press(&defaults, 4999, &t), "armed:reboot released:reboot:4999 ");
        assert_string_equal(press(&defaults, 5000, &t), "armed:reboot armed:rescue released:rescue:5000 ");
        assert_string_equal(press(&defaults, 5001, &t), "armed:reboot armed:rescue released:rescue:5001 ");
}

static void test_factory_boundary(void **state) {
        struct trace t;
        assert_string_equal(press(&defaults, 15999, &t), "armed:reboot armed:rescue released:rescue:15999 ");
        assert_string_equal(press(&defaults, 16000, &t),
                            "armed:reboot armed:rescue armed:factory-reset released:factory-reset:16000 ");
        assert_string_equal(press(&defaults, 16001, &t),
                            "armed:reboot armed:rescue armed:factory-reset released:factory-reset:16001 ");
}

static void test_cancel_boundary(void **state) {
        struct trace t;
        assert_string_equal(press(&defaults, 30999, &t),
                            "armed:reboot armed:rescue armed:factory-reset released:factory-reset:30999 ");
        assert_string_equal(press(&defaults, 31000, &t),
                            "armed:reboot armed:rescue armed:factory-reset armed:cancel released:none:31000 ");
        assert_string_equal(press(&defaults, 31001, &t),
                            "armed:reboot armed:rescue armed:factory-reset armed:cancel released:none:31001 ");
        /* held for an hour: still cancel, and nothing after cancel */
        assert_string_equal(press(&defaults, 3600 * 1000, &t),
                            "armed:reboot armed:rescue armed:factory-reset armed:cancel released:none:3600000 ");
}

static void test_deadlines_follow_windows(void **state) {
        struct rk_classifier c;
        struct rk_cls_event ev;
        rk_classifier_init(&c, &defaults, false, T0);
        assert_int_equal(rk_classifier_deadline(&c), UINT64_MAX);
        assert_int_equal(rk_classifier_edge(&c, true, T0, &ev), 0);
        /* the timerfd is armed exactly at each threshold */
        assert_int_equal(rk_classifier_deadline(&c), T0 + 1000 * MS);
        assert_int_equal(rk_classifier_advance(&c, T0 + 1000 * MS - 1, &ev), 0);
        assert_int_equal(rk_classifier_advance(&c, T0 + 1000 * MS, &ev), 1);
        assert_int_equal(ev.type, RK_CLS_EV_ARMED);
        assert_int_equal(ev.window, RK_WINDOW_REBOOT);
        assert_int_equal(rk_classifier_advance(&c, T0 + 1000 * MS, &ev), 0);
        assert_int_equal(rk_classifier_deadline(&c), T0 + 5000 * MS);
        assert_int_equal(rk_classifier_advance(&c, T0 + 5000 * MS, &ev), 1);
        assert_int_equal(rk_classifier_deadline(&c), T0 + 16000 * MS);
        assert_int_equal(rk_classifier_advance(&c, T0 + 16000 * MS, &ev), 1);
        assert_int_equal(rk_classifier_deadline(&c), T0 + 31000 * MS);
        assert_int_equal(rk_classifier_advance(&c, T0 + 31000 * MS, &ev), 1);
        assert_int_equal(ev.window, RK_WINDOW_CANCEL);
        /* cancel armed: nothing more to wake up for while held */
        assert_int_equal(rk_classifier_deadline(&c), UINT64_MAX);
        /* release: final after debounce */
        assert_int_equal(rk_classifier_edge(&c, false, T0 + 40000 * MS, &ev), 0);
        assert_int_equal(rk_classifier_deadline(&c), T0 + 40030 * MS);
        assert_int_equal(rk_classifier_advance(&c, T0 + 40029 * MS, &ev), 0);
        assert_int_equal(rk_classifier_advance(&c, T0 + 40030 * MS, &ev), 1);
        assert_int_equal(ev.type, RK_CLS_EV_RELEASED);
        assert_int_equal(ev.action, RK_ACTION_NONE);
        assert_int_equal(ev.window, RK_WINDOW_CANCEL);
}

static void test_late_wakeup_catches_up(void **state) {
        /* The daemon was busy and saw the release edge before the timer for
         * the rescue window: the windows are still announced in order and
         * the action comes from the kernel timestamps. */
        struct rk_classifier c;
        struct rk_cls_event ev;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, false, T0);
        rk_classifier_edge(&c, true, T0, &ev);
        /* no advance at all until the release edge has been read */
        rk_classifier_edge(&c, false, T0 + 6000 * MS, &ev);
        run_to(&c, T0 + 9000 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot armed:rescue released:rescue:6000 ");
}

static void test_debounce_zero_is_immediate(void **state) {
        struct rk_timing tm = defaults;
        struct rk_classifier c;
        struct rk_cls_event ev;
        tm.debounce_ns = 0;
        rk_classifier_init(&c, &tm, false, T0);
        rk_classifier_edge(&c, true, T0, &ev);
        while (rk_classifier_advance(&c, T0 + 1500 * MS, &ev))
                ;
        rk_classifier_edge(&c, false, T0 + 1500 * MS, &ev);
        assert_int_equal(rk_classifier_deadline(&c), T0 + 1500 * MS);
        assert_int_equal(rk_classifier_advance(&c, T0 + 1500 * MS, &ev), 1);
        assert_int_equal(ev.type, RK_CLS_EV_RELEASED);
        assert_int_equal(ev.action, RK_ACTION_REBOOT);
}

static void test_chatter_on_press_and_release(void **state) {
        struct rk_classifier c;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, false, T0);
        /* contact bounce at the press: the press starts at the first edge */
        edge(&c, true, T0, &t);
        edge(&c, false, T0 + 2 * MS, &t);
        edge(&c, true, T0 + 5 * MS, &t);
        /* a bounce while held (up for 29 ms): the press goes on */
        edge(&c, false, T0 + 3000 * MS, &t);
        edge(&c, true, T0 + 3029 * MS, &t);
        /* bounce at the release: the first up edge is the release */
        edge(&c, false, T0 + 5500 * MS, &t);
        edge(&c, true, T0 + 5510 * MS, &t);
        edge(&c, false, T0 + 5512 * MS, &t);
        run_to(&c, T0 + 7000 * MS, &t);
        /* 5500 ms from the first down edge to the release that stuck; the
         * bounce at 5510..5512 extends the press to its last up edge */
        assert_string_equal(t.buf, "armed:reboot armed:rescue released:rescue:5512 ");
}

static void test_gap_at_debounce_is_a_release(void **state) {
        /* up for exactly debounce-ms: not chatter, a release and a new press */
        struct rk_classifier c;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, false, T0);
        edge(&c, true, T0, &t);
        edge(&c, false, T0 + 2000 * MS, &t);
        edge(&c, true, T0 + 2030 * MS, &t);
        edge(&c, false, T0 + 2100 * MS, &t);
        run_to(&c, T0 + 3000 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot released:reboot:2000 released:none:70 ");
}

static void test_gap_below_debounce_is_chatter(void **state) {
        struct rk_classifier c;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, false, T0);
        edge(&c, true, T0, &t);
        edge(&c, false, T0 + 2000 * MS, &t);
        edge(&c, true, T0 + 2029 * MS, &t);
        edge(&c, false, T0 + 2100 * MS, &t);
        run_to(&c, T0 + 3000 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot released:reboot:2100 ");
}

static void test_very_short_blip(void **state) {
        /* a brush shorter than debounce: no action, nothing armed */
        struct trace t;
        assert_string_equal(press(&defaults, 5, &t), "released:none:5 ");
}

static void test_held_at_start(void **state) {
        struct rk_classifier c;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, true, T0);
        assert_int_equal(rk_classifier_deadline(&c), UINT64_MAX);
        /* held 20 s past our start: no window is armed, no action */
        run_to(&c, T0 + 20000 * MS, &t);
        edge(&c, false, T0 + 20000 * MS, &t);
        run_to(&c, T0 + 21000 * MS, &t);
        assert_string_equal(t.buf, "");
        /* the next press is a real one */
        edge(&c, true, T0 + 22000 * MS, &t);
        edge(&c, false, T0 + 23500 * MS, &t);
        run_to(&c, T0 + 25000 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot released:reboot:1500 ");
}

static void test_held_at_start_release_bounce(void **state) {
        /* the release of the start-up hold bounces: still not a press */
        struct rk_classifier c;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, true, T0);
        edge(&c, false, T0 + 100 * MS, &t);
        edge(&c, true, T0 + 110 * MS, &t);
        run_to(&c, T0 + 5000 * MS, &t);
        edge(&c, false, T0 + 6000 * MS, &t);
        run_to(&c, T0 + 8000 * MS, &t);
        assert_string_equal(t.buf, "");
        assert_int_equal(c.state, RK_CLS_IDLE);
}

static void test_release_without_press(void **state) {
        struct rk_classifier c;
        struct rk_cls_event ev;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, false, T0);
        /* an up edge while up (a source reporting its level twice) */
        assert_int_equal(rk_classifier_edge(&c, false, T0 + 5 * MS, &ev), 0);
        run_to(&c, T0 + 10000 * MS, &t);
        assert_string_equal(t.buf, "");
        assert_int_equal(c.state, RK_CLS_IDLE);
        /* a repeated down while held does not restart the press */
        edge(&c, true, T0 + 10000 * MS, &t);
        edge(&c, true, T0 + 11000 * MS, &t);
        edge(&c, false, T0 + 12000 * MS, &t);
        run_to(&c, T0 + 13000 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot released:reboot:2000 ");
}

static void test_press_during_action(void **state) {
        struct rk_classifier c;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, false, T0);
        edge(&c, true, T0, &t);
        edge(&c, false, T0 + 1200 * MS, &t);
        run_to(&c, T0 + 1300 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot released:reboot:1200 ");
        rk_classifier_set_busy(&c);
        memset(&t, 0, sizeof t);
        /* pressed twice while the action runs: reported, never armed */
        edge(&c, true, T0 + 2000 * MS, &t);
        run_to(&c, T0 + 9000 * MS, &t);
        edge(&c, false, T0 + 9000 * MS, &t);
        edge(&c, true, T0 + 10000 * MS, &t);
        /* chatter of that press is not reported twice */
        edge(&c, false, T0 + 10002 * MS, &t);
        edge(&c, true, T0 + 10004 * MS, &t);
        assert_string_equal(t.buf, "ignored ignored ");
        assert_int_equal(rk_classifier_deadline(&c), UINT64_MAX);
        /* the action ends while the button is held: that press began during
         * the action, so it is not a press; wait for its release */
        rk_classifier_set_idle(&c, T0 + 11000 * MS);
        memset(&t, 0, sizeof t);
        run_to(&c, T0 + 40000 * MS, &t);
        edge(&c, false, T0 + 40000 * MS, &t);
        run_to(&c, T0 + 41000 * MS, &t);
        assert_string_equal(t.buf, "");
        edge(&c, true, T0 + 42000 * MS, &t);
        edge(&c, false, T0 + 48000 * MS, &t);
        run_to(&c, T0 + 49000 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot armed:rescue released:rescue:6000 ");
}

static void test_resync(void **state) {
        struct rk_classifier c;
        struct rk_cls_event ev;
        struct trace t = {};
        rk_classifier_init(&c, &defaults, false, T0);
        edge(&c, true, T0, &t);
        run_to(&c, T0 + 6000 * MS, &t);
        /* events were lost and the button is up now: no action, LED back */
        assert_int_equal(rk_classifier_resync(&c, false, T0 + 7000 * MS, &ev), 1);
        assert_int_equal(ev.type, RK_CLS_EV_IGNORED);
        assert_int_equal(ev.window, RK_WINDOW_RESCUE);
        assert_int_equal(rk_classifier_deadline(&c), UINT64_MAX);
        /* lost while idle and down now: the press's start is unknown */
        assert_int_equal(rk_classifier_resync(&c, true, T0 + 8000 * MS, &ev), 0);
        memset(&t, 0, sizeof t);
        run_to(&c, T0 + 20000 * MS, &t);
        edge(&c, false, T0 + 20000 * MS, &t);
        run_to(&c, T0 + 21000 * MS, &t);
        assert_string_equal(t.buf, "");
        /* held again after a loss while pressed: edges in between are
         * unknown, so the press is dropped too and its release does
         * nothing; the next whole press counts */
        edge(&c, true, T0 + 22000 * MS, &t);
        assert_int_equal(rk_classifier_resync(&c, true, T0 + 22500 * MS, &ev), 1);
        assert_int_equal(ev.type, RK_CLS_EV_IGNORED);
        assert_int_equal(ev.window, RK_WINDOW_NONE);
        edge(&c, false, T0 + 23500 * MS, &t);
        run_to(&c, T0 + 24000 * MS, &t);
        assert_string_equal(t.buf, "");
        edge(&c, true, T0 + 25000 * MS, &t);
        edge(&c, false, T0 + 26500 * MS, &t);
        run_to(&c, T0 + 27000 * MS, &t);
        assert_string_equal(t.buf, "armed:reboot released:reboot:1500 ");
}

static void test_millisecond_thresholds(void **state) {
        /* what the e2e tests use: windows of tens of ms, debounce 0..5 */
        const struct rk_timing tm = {
                .debounce_ns = 5 * MS,
                .window_ns = { 100 * MS, 200 * MS, 300 * MS, 400 * MS },
        };
        struct trace t;
        assert_string_equal(press(&tm, 99, &t), "released:none:99 ");
        assert_string_equal(press(&tm, 100, &t), "armed:reboot released:reboot:100 ");
        assert_string_equal(press(&tm, 199, &t), "armed:reboot released:reboot:199 ");
        assert_string_equal(press(&tm, 200, &t), "armed:reboot armed:rescue released:rescue:200 ");
        assert_string_equal(press(&tm, 301, &t),
                            "armed:reboot armed:rescue armed:factory-reset released:factory-reset:301 ");
        assert_string_equal(press(&tm, 399, &t),
                            "armed:reboot armed:rescue armed:factory-reset released:factory-reset:399 ");
        assert_string_equal(press(&tm, 400, &t),
                            "armed:reboot armed:rescue armed:factory-reset armed:cancel released:none:400 ");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_window_of),
                cmocka_unit_test(test_short_press),
                cmocka_unit_test(test_reboot_boundary),
                cmocka_unit_test(test_rescue_boundary),
                cmocka_unit_test(test_factory_boundary),
                cmocka_unit_test(test_cancel_boundary),
                cmocka_unit_test(test_deadlines_follow_windows),
                cmocka_unit_test(test_late_wakeup_catches_up),
                cmocka_unit_test(test_debounce_zero_is_immediate),
                cmocka_unit_test(test_chatter_on_press_and_release),
                cmocka_unit_test(test_gap_at_debounce_is_a_release),
                cmocka_unit_test(test_gap_below_debounce_is_chatter),
                cmocka_unit_test(test_very_short_blip),
                cmocka_unit_test(test_held_at_start),
                cmocka_unit_test(test_held_at_start_release_bounce),
                cmocka_unit_test(test_release_without_press),
                cmocka_unit_test(test_press_during_action),
                cmocka_unit_test(test_resync),
                cmocka_unit_test(test_millisecond_thresholds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
