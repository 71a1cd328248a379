/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "classifier.h"

#include <string.h>

#include "util.h"

const char *rk_window_name(enum rk_window w) {
        static const char *const n[] = { "none", "reboot", "rescue", "factory-reset", "cancel" };
        return (unsigned) w < RK_ELEMENTSOF(n) ? n[w] : "?";
}

const char *rk_action_name(enum rk_action a) {
        static const char *const n[] = { "none", "reboot", "rescue", "factory-reset" };
        return (unsigned) a < RK_ELEMENTSOF(n) ? n[a] : "?";
}

enum rk_window rk_window_of(const struct rk_timing *t, uint64_t held_ns) {
        enum rk_window w = RK_WINDOW_NONE;
        for (unsigned i = 0; i < RK_ELEMENTSOF(t->window_ns); i++)
                if (held_ns >= t->window_ns[i])
                        w = (enum rk_window) (RK_WINDOW_REBOOT + i);
        return w;
}

enum rk_action rk_action_of_window(enum rk_window w) {
        switch (w) {
        case RK_WINDOW_REBOOT: return RK_ACTION_REBOOT;
        case RK_WINDOW_RESCUE: return RK_ACTION_RESCUE;
        case RK_WINDOW_FACTORY: return RK_ACTION_FACTORY_RESET;
        default: return RK_ACTION_NONE;   /* a brush, or cancel */
        }
}

void rk_classifier_init(struct rk_classifier *c, const struct rk_timing *t, bool down, uint64_t now_ns) {
        *c = (struct rk_classifier) {
                .timing = *t,
                /* held at start: the fail-safe owns presses that began before
                 * us; wait for the release */
                .state = down ? RK_CLS_WAIT_RELEASE : RK_CLS_IDLE,
                .down = down,
                .last_edge_ns = now_ns,
        };
}

static int emit(struct rk_cls_event *ev, enum rk_cls_event_type type) {
        *ev = (struct rk_cls_event) { .type = type };
        return 1;
}

static int ignored(struct rk_cls_event *ev, const char *why) {
        emit(ev, RK_CLS_EV_IGNORED);
        ev->why = why;
        return 1;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int rk_classifier_edge(struct rk_classifier *c, bool down, uint64_t ts_ns, struct rk_cls_event *ev) {
        if (down == c->down)
                return 0;
        /* Timestamps come from the kernel and are monotonic per device; a
         * source switch (reload) could still go back a little: clamp. */
        if (ts_ns < c->last_edge_ns)
                ts_ns = c->last_edge_ns;
        uint64_t since = ts_ns - c->last_edge_ns;
        c->down = down;
        c->last_edge_ns = ts_ns;

        switch (c->state) {
        case RK_CLS_WAIT_RELEASE:
                if (!down)
                        c->state = RK_CLS_WAIT_SETTLE;
                return 0;
        case RK_CLS_WAIT_SETTLE:
                /* bounce of the release we waited for: still held */
                if (down && since < c->timing.debounce_ns)
                        c->state = RK_CLS_WAIT_RELEASE;
                else if (down)
                        /* advance() was not called: the release is final,
                         * and this is a fresh press */
                        goto press;
                return 0;
        case RK_CLS_IDLE:
                if (!down)
                        return 0;
        press:
                c->state = RK_CLS_PRESSED;
                c->press_ns = ts_ns;
                c->armed = RK_WINDOW_NONE;
                return 0;
        case RK_CLS_PRESSED:
                if (!down) {
                        c->state = RK_CLS_RELEASING;
                        c->release_ns = ts_ns;
                }
                return 0;
        case RK_CLS_RELEASING:
                if (down && since < c->timing.debounce_ns) {
                        /* chatter: the press goes on from its first edge */
                        c->state = RK_CLS_PRESSED;
                        return 0;
                }
                /* the caller skipped advance(): finish the old press
                 * first is its job; treat this as a new press */
                goto press;
        case RK_CLS_BUSY:
                if (down && since >= c->timing.debounce_ns)
                        return ignored(ev, "an action is running");
                return 0;
        }
        return 0;
}

static uint64_t next_window_ns(const struct rk_classifier *c) {
        /* the window after the armed one; UINT64_MAX after cancel */
        unsigned next = (unsigned) c->armed;    /* NONE=0 -> window_ns[0] (reboot) */
        if (next >= RK_ELEMENTSOF(c->timing.window_ns))
                return UINT64_MAX;
        return sat_add(c->press_ns, c->timing.window_ns[next]);
}

uint64_t rk_classifier_deadline(const struct rk_classifier *c) {
        switch (c->state) {
        case RK_CLS_PRESSED:
                return next_window_ns(c);
        case RK_CLS_RELEASING:
                return sat_add(c->release_ns, c->timing.debounce_ns);
        case RK_CLS_WAIT_SETTLE:
                return sat_add(c->last_edge_ns, c->timing.debounce_ns);
        default:
                return UINT64_MAX;
        }
}

int rk_classifier_advance(struct rk_classifier *c, uint64_t now_ns, struct rk_cls_event *ev) {
        switch (c->state) {
        case RK_CLS_PRESSED:
                if (now_ns < next_window_ns(c))
                        return 0;
                c->armed++;
                emit(ev, RK_CLS_EV_ARMED);
                ev->window = c->armed;
                return 1;
        case RK_CLS_RELEASING: {
                if (now_ns < rk_classifier_deadline(c))
                        return 0;
                uint64_t held = c->release_ns - c->press_ns;
                /* Windows the release edge passed but the timer had not
                 * announced yet (a late wake-up): announce them first, so
                 * the log always reads armed ... then action. */
                enum rk_window w = rk_window_of(&c->timing, held);
                if (w > c->armed) {
                        c->armed++;
                        emit(ev, RK_CLS_EV_ARMED);
                        ev->window = c->armed;
                        return 1;
                }
                c->state = RK_CLS_IDLE;
                emit(ev, RK_CLS_EV_RELEASED);
                ev->window = w;
                ev->action = rk_action_of_window(w);
                ev->held_ns = held;
                return 1;
        }
        case RK_CLS_WAIT_SETTLE:
                if (now_ns >= rk_classifier_deadline(c))
                        c->state = RK_CLS_IDLE;
                return 0;
        default:
                return 0;
        }
}

void rk_classifier_set_busy(struct rk_classifier *c) {
        c->state = RK_CLS_BUSY;
        c->armed = RK_WINDOW_NONE;
}

void rk_classifier_set_idle(struct rk_classifier *c, uint64_t now_ns) {
        c->state = c->down ? RK_CLS_WAIT_RELEASE : RK_CLS_IDLE;
        c->armed = RK_WINDOW_NONE;
        if (now_ns > c->last_edge_ns)
                c->last_edge_ns = now_ns;
}

int rk_classifier_resync(struct rk_classifier *c, bool down, uint64_t now_ns, struct rk_cls_event *ev) {
        enum rk_cls_state old = c->state;
        enum rk_window armed = c->armed;
        c->down = down;
        if (now_ns > c->last_edge_ns)
                c->last_edge_ns = now_ns;
        switch (old) {
        case RK_CLS_BUSY:
                return 0;
        case RK_CLS_PRESSED:
        case RK_CLS_RELEASING:
                /* Edges were lost during the press: down now does not mean
                 * held all along (a release and a new press may be among
                 * them, and a release still queued behind the loss would
                 * end it with a made-up duration).  A reset button never
                 * acts on a press it did not see whole: drop it; if held,
                 * the next press starts after a release. */
                c->state = down ? RK_CLS_WAIT_RELEASE : RK_CLS_IDLE;
                c->armed = RK_WINDOW_NONE;
                ignored(ev, "button events were lost: the press is dropped");
                ev->window = armed;
                return 1;
        default:
                /* a press whose start we did not see is not a press */
                c->state = down ? RK_CLS_WAIT_RELEASE : RK_CLS_IDLE;
                return 0;
        }
}
