/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "button.h"
#include "exitcode.h"
#include "fsutil.h"
#include "led.h"
#include "rk-build-config.h"
#include "sdnotify.h"

#define NS_PER_MS 1000000ULL
#define BACKOFF_MIN_MS 1000ULL
#define BACKOFF_MAX_MS 60000ULL
#define FAIL_BLINK_PERIOD_MS 400
#define FAIL_BLINK_COUNT 3

enum { SRC_BUTTON = 1, SRC_TIMER, SRC_SIGNAL };

struct daemon {
        struct rk_ctx *ctx;
        const struct rk_daemon_opts *opts;
        struct rk_log *log;
        int epfd, tfd, sfd;
        sigset_t saved_mask;
        uint64_t start_ns;

        struct rk_button *button;
        uint64_t retry_ns, backoff_ms;  /* button reopen: when, and the current back-off */
        struct rk_classifier cls;
        struct rk_led *led;

        pid_t child;                    /* the running action, 0 if none */
        int result_fd;                  /* its "why" */
        enum rk_action running;

        bool notify;                    /* sd_notify to systemd */
        uint64_t watchdog_ns, next_ping_ns;
        bool stop, reload_pending;
        int inhibit_fd;                 /* logind handle-reboot-key lock */
        uint64_t armed_deadline;        /* what the timerfd is set to */
};

void rk_timing_from_config(const struct rk_config *cfg, struct rk_timing *t) {
        *t = (struct rk_timing) {
                .debounce_ns = cfg->debounce_ms * NS_PER_MS,
                .window_ns = {
                        cfg->reboot_ms * NS_PER_MS, cfg->rescue_ms * NS_PER_MS,
                        cfg->factory_ms * NS_PER_MS, cfg->cancel_ms * NS_PER_MS,
                },
        };
}

uint64_t rk_backoff_next_ms(uint64_t prev_ms) {
        if (prev_ms < BACKOFF_MIN_MS)
                return BACKOFF_MIN_MS;
        return prev_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : prev_ms * 2;
}

static void notify(struct daemon *d, const char *what) {
        if (!d->notify)
                return;
        int r = rk_notify(what);
        if (r < 0)
                rk_warn(d->log, "cannot notify systemd (%s): %s", what, strerror(-r));
}

/* --- logind ------------------------------------------------------------ */

/* logind reboots on KEY_RESTART unless told otherwise; the drop-in says
 * HandleRebootKey=ignore, and this lock covers a system without it.  Only
 * evdev keys reach logind, and only a system with seats runs it.  Called at
 * start and after each reload: a reload may turn a fifo or GPIO button into
 * an evdev one (or back), and is the one moment a refused lock is asked
 * for again. */
static void update_inhibitor(struct daemon *d) {
        char err[512];
        if (d->ctx->cfg.button.type != RK_BUTTON_EVDEV) {
                if (d->inhibit_fd >= 0) {
                        rk_closep(&d->inhibit_fd);
                        rk_info(d->log, "released logind's handle-reboot-key inhibitor lock: the button is no input device now");
                }
                return;
        }
        if (d->inhibit_fd >= 0 || access("/run/systemd/seats/", F_OK) < 0)
                return;
        int fd = rk_logind_inhibit("handle-reboot-key", "resetd", "resetd handles the reset button", err, sizeof err);
        if (fd < 0) {
                rk_warn(d->log, "logind: %s; relying on HandleRebootKey=ignore", err);
                return;
        }
        d->inhibit_fd = fd;
        rk_info(d->log, "holding logind's handle-reboot-key inhibitor lock");
}

/* --- timer ------------------------------------------------------------- */

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c) {
        uint64_t m = a < b ? a : b;
        return m < c ? m : c;
}

static int rearm(struct daemon *d) {
        uint64_t when = min3(rk_classifier_deadline(&d->cls), rk_led_deadline(d->led), d->retry_ns);
        if (d->watchdog_ns && d->next_ping_ns < when)
                when = d->next_ping_ns;
        if (when == d->armed_deadline)
                return 0;       /* no system call when nothing changed */
        struct itimerspec its = {};
        if (when != UINT64_MAX) {
                /* 0 would disarm; a deadline at 0 is "now" */
                its.it_value.tv_sec = (time_t) (when / 1000000000ULL);
                its.it_value.tv_nsec = (long) (when % 1000000000ULL);
                if (when == 0)
                        its.it_value.tv_nsec = 1;
        }
        if (timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return rk_log_errno(d->log, errno, "timerfd_settime: %m");
        d->armed_deadline = when;
        return 0;
}

/* --- button ------------------------------------------------------------ */

static void button_close(struct daemon *d) {
        if (!d->button)
                return;
        (void) epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->button->fd, NULL);
        rk_button_free(d->button);
        d->button = NULL;
}

static void schedule_retry(struct daemon *d, const char *what) {
        d->backoff_ms = rk_backoff_next_ms(d->backoff_ms);
        d->retry_ns = rk_now_ns() + d->backoff_ms * NS_PER_MS;
        rk_err(d->log, "%s; retrying in %llu s", what, (unsigned long long) (d->backoff_ms / 1000));
}

/* 0 open, 1 retry scheduled, negative: a configuration error */
static int button_open(struct daemon *d) {
        const struct rk_config *cfg = &d->ctx->cfg;
        struct rk_button_opts bo = {
                .key_code = cfg->key_code,
                .active_low = cfg->active_low,
                .debounce_ms = cfg->debounce_ms,
                .consumer = "resetd",
        };
        struct rk_timing t;
        char err[512];
        int r;

        d->retry_ns = UINT64_MAX;
        r = rk_button_open(&cfg->button, &bo, d->log, &d->button, err, sizeof err);
        if (r < 0) {
                if (!rk_button_error_is_transient(r) && r != -ENOMEM) {
                        rk_err(d->log, "%s", err);
                        return r;
                }
                schedule_retry(d, err);
                return 1;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = SRC_BUTTON };
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->button->fd, &ev) < 0) {
                r = rk_log_errno(d->log, errno, "%s: epoll_ctl: %m", d->button->name);
                button_close(d);
                return r;
        }
        if (d->backoff_ms)
                rk_info(d->log, "button %s is back", d->button->name);
        d->backoff_ms = 0;
        if (d->cls.state != RK_CLS_BUSY) {
                rk_timing_from_config(cfg, &t);
                rk_classifier_init(&d->cls, &t, d->button->down, rk_now_ns());
        } else
                d->cls.down = d->button->down;
        if (d->button->down)
                rk_info(d->log, "button %s is held: waiting for its release (not a press)", d->button->name);
        return 0;
}

/* --- feedback and actions ---------------------------------------------- */

static void led_for_window(struct daemon *d, enum rk_window w, uint64_t now) {
        switch (w) {
        case RK_WINDOW_REBOOT:
                rk_led_show(d->led, RK_LED_PAT_SOLID, RK_RGB_GREEN, 0, 0, now);
                break;
        case RK_WINDOW_RESCUE:
                rk_led_show(d->led, RK_LED_PAT_BLINK, RK_RGB_AMBER, 1000, 0, now);     /* 1 Hz */
                break;
        case RK_WINDOW_FACTORY:
                rk_led_show(d->led, RK_LED_PAT_BLINK, RK_RGB_RED, 250, 0, now);        /* 4 Hz */
                break;
        default:
                rk_led_release(d->led, now);    /* cancel: back to its owner */
                break;
        }
}

static int run_op(const struct rk_action_ops *ops, enum rk_action a, const struct rk_action_args *args,
                  char *why, size_t len) {
        int (*fn)(const struct rk_action_args *, char *, size_t) =
                a == RK_ACTION_REBOOT ? ops->reboot : a == RK_ACTION_RESCUE ? ops->rescue : ops->factory_reset;
        if (!fn) {
                snprintf(why, len, "not available in this build");
                return -EOPNOTSUPP;
        }
        return fn(args, why, len);
}

static void action_start(struct daemon *d, enum rk_action a) {
        int p[2];
        rk_info(d->log, "action %s started", rk_action_name(a));
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
                rk_err(d->log, "action %s failed: cannot create a pipe: %m", rk_action_name(a));
                rk_led_show(d->led, RK_LED_PAT_BLINK, RK_RGB_RED, FAIL_BLINK_PERIOD_MS, FAIL_BLINK_COUNT, rk_now_ns());
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                rk_err(d->log, "action %s failed: cannot fork: %m", rk_action_name(a));
                close(p[0]);
                close(p[1]);
                rk_led_show(d->led, RK_LED_PAT_BLINK, RK_RGB_RED, FAIL_BLINK_PERIOD_MS, FAIL_BLINK_COUNT, rk_now_ns());
                return;
        }
        if (pid == 0) {
                /* the action child: ordinary signal handling again */
                char why[1024] = "";
                close(p[0]);
                (void) sigprocmask(SIG_SETMASK, &d->saved_mask, NULL);
                signal(SIGPIPE, SIG_DFL);
                const struct rk_action_args args = { .ctx = d->ctx };
                int r = run_op(d->opts->ops, a, &args, why, sizeof why);
                if (r < 0 && !*why)
                        snprintf(why, sizeof why, "%s", strerror(-r));
                if (r < 0)
                        (void) rk_write_all(p[1], why, strlen(why));
                _exit(r < 0 ? 1 : 0);
        }
        close(p[1]);
        d->child = pid;
        d->result_fd = p[0];
        d->running = a;
        /* the press is taken: red, solid, until the reboot (or the outcome) */
        if (a == RK_ACTION_FACTORY_RESET)
                rk_led_show(d->led, RK_LED_PAT_SOLID, RK_RGB_RED, 0, 0, rk_now_ns());
        rk_classifier_set_busy(&d->cls);
}

static void action_finished(struct daemon *d, int status) {
        char why[1024] = "";
        ssize_t n = read(d->result_fd, why, sizeof why - 1);
        why[n > 0 ? n : 0] = 0;
        rk_closep(&d->result_fd);
        d->result_fd = -1;
        uint64_t now = rk_now_ns();
        enum rk_action a = d->running;
        d->child = 0;
        d->running = RK_ACTION_NONE;

        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                rk_info(d->log, "action %s done", rk_action_name(a));
                rk_led_release(d->led, now);
        } else {
                if (!*why) {
                        if (WIFSIGNALED(status))
                                snprintf(why, sizeof why, "killed by signal %s", strsignal(WTERMSIG(status)));
                        else
                                snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
                }
                rk_err(d->log, "action %s failed: %s", rk_action_name(a), why);
                /* the sign that nothing happened: red, three blinks, then
                 * the LED goes back to its owner */
                rk_led_show(d->led, RK_LED_PAT_BLINK, RK_RGB_RED, FAIL_BLINK_PERIOD_MS, FAIL_BLINK_COUNT, now);
        }
        rk_classifier_set_idle(&d->cls, now);
}

static void handle_event(struct daemon *d, const struct rk_cls_event *ev, uint64_t now) {
        switch (ev->type) {
        case RK_CLS_EV_ARMED:
                rk_info(d->log, "armed %s", rk_window_name(ev->window));
                led_for_window(d, ev->window, now);
                break;
        case RK_CLS_EV_RELEASED:
                if (ev->action == RK_ACTION_NONE) {
                        if (ev->window == RK_WINDOW_CANCEL)
                                rk_info(d->log, "released after %llu ms: cancelled, nothing done",
                                        (unsigned long long) (ev->held_ns / NS_PER_MS));
                        else
                                rk_info(d->log, "released after %llu ms: too short for an action",
                                        (unsigned long long) (ev->held_ns / NS_PER_MS));
                        rk_led_release(d->led, now);
                        break;
                }
                rk_info(d->log, "released after %llu ms", (unsigned long long) (ev->held_ns / NS_PER_MS));
                action_start(d, ev->action);
                break;
        case RK_CLS_EV_IGNORED:
                if (d->running != RK_ACTION_NONE)
                        rk_info(d->log, "press ignored: action %s is running", rk_action_name(d->running));
                else
                        rk_warn(d->log, "%s", ev->why);
                if (ev->window != RK_WINDOW_NONE)
                        rk_led_release(d->led, now);
                break;
        default:
                break;
        }
}

static void advance(struct daemon *d, uint64_t now) {
        struct rk_cls_event ev;
        while (rk_classifier_advance(&d->cls, now, &ev) > 0)
                handle_event(d, &ev, now);
}

static int on_button(struct daemon *d) {
        struct rk_button_event evs[16];
        int n;
        do {
                n = rk_button_read(d->button, evs, RK_ELEMENTSOF(evs));
                if (n < 0) {
                        char what[512];
                        struct rk_cls_event ev;
                        snprintf(what, sizeof what, "button %s %s", d->button->name,
                                 n == -ENODEV ? "disappeared" : "failed");
                        button_close(d);
                        /* a press in progress cannot finish without its device */
                        if (rk_classifier_resync(&d->cls, false, rk_now_ns(), &ev) > 0)
                                handle_event(d, &ev, rk_now_ns());
                        schedule_retry(d, what);
                        return 0;
                }
                for (int i = 0; i < n; i++) {
                        struct rk_cls_event ev;
                        if (evs[i].resync) {
                                if (rk_classifier_resync(&d->cls, evs[i].down, evs[i].ts_ns, &ev) > 0)
                                        handle_event(d, &ev, evs[i].ts_ns);
                                continue;
                        }
                        /* what was due before this edge happened first */
                        advance(d, evs[i].ts_ns);
                        if (rk_classifier_edge(&d->cls, evs[i].down, evs[i].ts_ns, &ev) > 0)
                                handle_event(d, &ev, evs[i].ts_ns);
                }
        } while (n == (int) RK_ELEMENTSOF(evs));
        advance(d, rk_now_ns());
        return 0;
}

/* --- configuration reload ---------------------------------------------- */

static void reload(struct daemon *d) {
        struct rk_config c;
        char err[1024] = "out of memory";

        if (d->child) {
                rk_info(d->log, "reload: deferred until action %s is finished", rk_action_name(d->running));
                d->reload_pending = true;
                return;
        }
        d->reload_pending = false;
        notify(d, "RELOADING=1");
        if (rk_config_init(&c) < 0 || rk_config_load(&c, d->ctx->root.fd, d->opts->config_path, err, sizeof err) < 0) {
                rk_err(d->log, "reload failed: %s; the old configuration stays in force", err);
                rk_config_free(&c);
                notify(d, "READY=1");
                return;
        }
        rk_config_free(&d->ctx->cfg);
        d->ctx->cfg = c;
        /* new LED and button: give the LED back, drop a press in progress */
        rk_led_free(d->led);
        d->led = NULL;
        if (rk_led_open(&c.led, d->log, d->start_ns, &d->led) < 0) {
                rk_err(d->log, "reload: out of memory");
                d->stop = true;
                return;
        }
        button_close(d);
        d->backoff_ms = 0;
        d->cls.state = RK_CLS_IDLE;
        int r = button_open(d);
        if (r < 0) {
                /* it worked before: keep trying rather than dying */
                schedule_retry(d, "reload: the new button source cannot be used");
        }
        update_inhibitor(d);
        rk_info(d->log, "configuration reloaded (button %s, LED %s)", c.button_source, c.led_device);
        notify(d, "READY=1");
}

/* --- signals ----------------------------------------------------------- */

static void on_signal(struct daemon *d) {
        struct signalfd_siginfo si;
        while (read(d->sfd, &si, sizeof si) == (ssize_t) sizeof si) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        if (d->child)
                                rk_info(d->log, "stopping once action %s is finished", rk_action_name(d->running));
                        d->stop = true;
                        break;
                case SIGHUP:
                        reload(d);
                        break;
                case SIGCHLD:
                        break;  /* reaped below: signals coalesce */
                }
        }
        if (d->child) {
                int status;
                pid_t p = waitpid(d->child, &status, WNOHANG);
                if (p == d->child) {
                        action_finished(d, status);
                        if (d->reload_pending && !d->stop)
                                reload(d);
                }
        }
}

/* --- setup and loop ---------------------------------------------------- */

static int setup(struct daemon *d) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, &d->saved_mask) < 0)
                return rk_log_errno(d->log, errno, "sigprocmask: %m");
        signal(SIGPIPE, SIG_IGN);       /* a FIFO or LED file reader going away is not fatal */

        d->epfd = epoll_create1(EPOLL_CLOEXEC);
        d->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (d->epfd < 0 || d->sfd < 0 || d->tfd < 0)
                return rk_log_errno(d->log, errno, "cannot create the event loop: %m");
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = SRC_SIGNAL };
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sfd, &ev) < 0)
                return rk_log_errno(d->log, errno, "epoll_ctl: %m");
        ev.data.u32 = SRC_TIMER;
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev) < 0)
                return rk_log_errno(d->log, errno, "epoll_ctl: %m");
        d->armed_deadline = UINT64_MAX;

        if (!d->opts->foreground && rk_notify_available()) {
                uint64_t usec = rk_watchdog_usec();
                d->notify = true;
                if (usec > 0) {
                        /* ping at half the interval, as sd_watchdog_enabled(3) advises;
                         * the only periodic wake-up resetd has */
                        d->watchdog_ns = usec * 1000 / 2;
                        d->next_ping_ns = rk_now_ns() + d->watchdog_ns;
                }
        }
        return 0;
}

static void on_timer(struct daemon *d) {
        uint64_t expirations, now = rk_now_ns();
        (void) read(d->tfd, &expirations, sizeof expirations);
        d->armed_deadline = UINT64_MAX;         /* it fired: no longer armed */
        advance(d, now);
        rk_led_advance(d->led, now);
        if (!d->button && now >= d->retry_ns) {
                int r = button_open(d);
                if (r < 0)
                        schedule_retry(d, "the button source cannot be used");
        }
        if (d->watchdog_ns && now >= d->next_ping_ns) {
                notify(d, "WATCHDOG=1");
                d->next_ping_ns = now + d->watchdog_ns;
        }
}

int rk_daemon_run(struct rk_ctx *ctx, const struct rk_daemon_opts *opts) {
        struct daemon d = {
                .ctx = ctx,
                .opts = opts,
                .log = &ctx->log,
                .epfd = -1, .tfd = -1, .sfd = -1,
                .result_fd = -1,
                .inhibit_fd = -1,
                .retry_ns = UINT64_MAX,
                .start_ns = rk_now_ns(),
        };
        const struct rk_config *cfg = &ctx->cfg;
        int ret = RK_EXIT_OK, r;

        if (setup(&d) < 0) {
                ret = RK_EXIT_FAILURE;
                goto out;
        }
        if (rk_led_open(&cfg->led, d.log, d.start_ns, &d.led) < 0) {
                rk_err(d.log, "out of memory");
                ret = RK_EXIT_FAILURE;
                goto out;
        }
        rk_info(d.log, "resetd %s: button %s, LED %s, windows from reboot %llu ms, rescue %llu ms, "
                "factory-reset %llu ms, cancel %llu ms, debounce %llu ms, root %s",
                RK_VERSION, cfg->button_source, cfg->led_device, (unsigned long long) cfg->reboot_ms,
                (unsigned long long) cfg->rescue_ms, (unsigned long long) cfg->factory_ms,
                (unsigned long long) cfg->cancel_ms, (unsigned long long) cfg->debounce_ms, ctx->root.path);
        r = button_open(&d);
        if (r < 0) {
                /* a regular file where the device should be, a device
                 * without the key: retrying will not help */
                ret = RK_EXIT_FAILURE;
                goto out;
        }
        update_inhibitor(&d);
        notify(&d, "READY=1\nSTATUS=watching the reset button");
        rk_info(d.log, "ready");

        while (!(d.stop && !d.child)) {
                struct epoll_event evs[4];
                if (rearm(&d) < 0) {
                        ret = RK_EXIT_FAILURE;
                        break;
                }
                int n = epoll_wait(d.epfd, evs, RK_ELEMENTSOF(evs), -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        rk_err(d.log, "epoll_wait: %m");
                        ret = RK_EXIT_FAILURE;
                        break;
                }
                for (int i = 0; i < n; i++) {
                        switch (evs[i].data.u32) {
                        case SRC_SIGNAL:
                                on_signal(&d);
                                break;
                        case SRC_TIMER:
                                on_timer(&d);
                                break;
                        case SRC_BUTTON:
                                if (d.button)
                                        on_button(&d);
                                break;
                        }
                }
        }
        notify(&d, "STOPPING=1");
        rk_info(d.log, "stopping");
out:
        button_close(&d);
        rk_led_free(d.led);
        rk_closep(&d.inhibit_fd);
        rk_closep(&d.result_fd);
        rk_closep(&d.tfd);
        rk_closep(&d.sfd);
        rk_closep(&d.epfd);
        return ret;
}
