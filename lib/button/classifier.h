/* SPDX-License-Identifier: GPL-2.0-or-later */
/* classifier.h — the reset button's press classifier.  Pure: no I/O, no
 * clock; every function takes the time (CLOCK_MONOTONIC ns, the kernel's
 * event timestamps) as an argument, so unit tests drive it directly.
 *
 * Edges go in (rk_classifier_edge), time goes in (rk_classifier_advance),
 * events come out one at a time: a window armed while the button is held,
 * the action decided on release, or an edge ignored (and why, so the daemon
 * can log it).  rk_classifier_deadline() says when advance() must be called
 * next — the daemon arms its timerfd with it; UINT64_MAX means "never",
 * which is what lets an idle daemon sleep in the kernel.
 *
 * Debounce: an up edge followed by a down edge less than debounce apart is
 * chatter, and the press goes on as if neither happened.  So a release only
 * becomes final debounce after its edge (with debounce 0: at once).  The
 * hold time is measured from the press edge to the release edge, never to
 * the moment the release became final. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum rk_window {
        RK_WINDOW_NONE,         /* held less than reboot-ms */
        RK_WINDOW_REBOOT,
        RK_WINDOW_RESCUE,
        RK_WINDOW_FACTORY,
        RK_WINDOW_CANCEL,
        _RK_WINDOW_MAX,
};

enum rk_action {
        RK_ACTION_NONE,
        RK_ACTION_REBOOT,
        RK_ACTION_RESCUE,
        RK_ACTION_FACTORY_RESET,
        _RK_ACTION_MAX,
};

struct rk_timing {
        uint64_t debounce_ns;
        /* start of the reboot, rescue, factory and cancel windows, strictly
         * increasing (rk_config_validate checks the configuration) */
        uint64_t window_ns[4];
};

enum rk_cls_state {
        RK_CLS_WAIT_RELEASE,    /* held when we started or after an action: not a press */
        RK_CLS_WAIT_SETTLE,     /* released from WAIT_RELEASE, not yet final */
        RK_CLS_IDLE,
        RK_CLS_PRESSED,
        RK_CLS_RELEASING,       /* released, final at release_ns + debounce */
        RK_CLS_BUSY,            /* an action runs: edges are ignored */
};

struct rk_classifier {
        struct rk_timing timing;
        enum rk_cls_state state;
        bool down;              /* level after the last edge seen */
        uint64_t press_ns;      /* the validated press */
        uint64_t release_ns;    /* the pending release edge */
        uint64_t last_edge_ns;
        enum rk_window armed;   /* the window announced so far in this press */
};

enum rk_cls_event_type {
        RK_CLS_EV_NONE,
        RK_CLS_EV_ARMED,        /* .window: a new window began while held */
        RK_CLS_EV_RELEASED,     /* .action, .window, .held_ns: the press is over */
        RK_CLS_EV_IGNORED,      /* .why: an edge that is not a press (logged) */
};

struct rk_cls_event {
        enum rk_cls_event_type type;
        enum rk_window window;
        enum rk_action action;
        uint64_t held_ns;
        const char *why;        /* static text */
};

void rk_classifier_init(struct rk_classifier *c, const struct rk_timing *t, bool down, uint64_t now_ns);

/* Feed an edge.  Call rk_classifier_advance(c, ts_ns) until it returns 0
 * before each edge, so what was due earlier is reported first.  Returns 1
 * and fills *ev when the edge itself yields an event, else 0.  A repeated
 * level (down while down) is ignored silently: sources may report a level
 * twice after a resynchronisation. */
int rk_classifier_edge(struct rk_classifier *c, bool down, uint64_t ts_ns, struct rk_cls_event *ev);

/* Report at most one event due at or before now_ns; 1 with *ev filled, else 0. */
int rk_classifier_advance(struct rk_classifier *c, uint64_t now_ns, struct rk_cls_event *ev);

/* When advance() has something to report, or UINT64_MAX. */
uint64_t rk_classifier_deadline(const struct rk_classifier *c);

/* An action starts (edges ignored from now on) / is finished.  After it, a
 * button still held is not a new press: wait for its release. */
void rk_classifier_set_busy(struct rk_classifier *c);
void rk_classifier_set_idle(struct rk_classifier *c, uint64_t now_ns);

/* The level the source reported after a resynchronisation (evdev
 * SYN_DROPPED, a reopened device): a press during which edges were lost
 * never turns into an action.  It is dropped (1 and an IGNORED event with
 * .window the window that was armed, so the daemon gives the LED back),
 * and a button held now waits for its release. */
int rk_classifier_resync(struct rk_classifier *c, bool down, uint64_t now_ns, struct rk_cls_event *ev);

enum rk_window rk_window_of(const struct rk_timing *t, uint64_t held_ns);
enum rk_action rk_action_of_window(enum rk_window w);
const char *rk_window_name(enum rk_window w);   /* "none", "reboot", "rescue", "factory-reset", "cancel" */
const char *rk_action_name(enum rk_action a);   /* "none", "reboot", "rescue", "factory-reset" */
