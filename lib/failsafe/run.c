/* SPDX-License-Identifier: GPL-2.0-or-later */
/* run.c — reset-failsafe's runtime: see failsafe-run.h.  All the
 * decisions are made by the pure sequence in failsafe.c; this file only
 * feeds it (button, timers, the reset child, signals) and carries out what
 * it says. */
#include "failsafe-run.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include "button.h"
#include "exitcode.h"
#include "engine.h"
#include "failsafe.h"
#include "fault.h"
#include "led.h"

#define NS_PER_MS 1000000ULL
#define N_EVENTS 16

enum { SRC_BUTTON = 1, SRC_TIMER, SRC_CHILD, SRC_SIGNAL };

struct run {
        struct rk_ctx *ctx;
        const struct rk_failsafe_run_opts *opts;
        struct rk_failsafe fs;
        struct rk_button *button;
        struct rk_led *led;
        int epoll_fd, timer_fd, signal_fd, pid_fd;
        pid_t child;
        bool remounted;         /* we made the root writable: put it back */
        bool done;
        enum rk_failsafe_decision decision;
        sigset_t old_mask;
};

static void run_done(struct run *r) {
        if (r->button && r->epoll_fd >= 0)
                epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, r->button->fd, NULL);
        rk_button_free(r->button);
        rk_led_free(r->led);
        rk_closep(&r->epoll_fd);
        rk_closep(&r->timer_fd);
        rk_closep(&r->signal_fd);
        rk_closep(&r->pid_fd);
        sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
}

/* ---- the target root, writable for the reset ---------------------------- */

/* Is the root directory itself the top of a mount?  Remounting anything
 * else would change the filesystem around it (the host's own /, for a
 * --root on a plain directory). */
static int root_is_mount_point(int root_fd) {
        struct statx sx, up;
        if (statx(root_fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &sx) < 0)
                return -errno;
        if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
                return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
        /* kernels before 5.8: a different device than "..", or "/" itself */
        if (statx(root_fd, "..", AT_STATX_DONT_SYNC, STATX_INO, &up) < 0)
                return -errno;
        return sx.stx_dev_major != up.stx_dev_major || sx.stx_dev_minor != up.stx_dev_minor ||
               sx.stx_ino == up.stx_ino;
}

/* statvfs() flags to mount(2) flags: a remount replaces the per-mount flags
 * with what it is given, so nosuid, nodev, noexec, atime... must be passed
 * again or they would be lost. */
static unsigned long ms_flags_from_statvfs(unsigned long f) {
        static const struct { unsigned long st, ms; } map[] = {
                { ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
                { ST_NOEXEC, MS_NOEXEC }, { ST_SYNCHRONOUS, MS_SYNCHRONOUS }, { ST_MANDLOCK, MS_MANDLOCK },
                { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
        };
        unsigned long ms = 0;
        for (size_t i = 0; i < RK_ELEMENTSOF(map); i++)
                if (f & map[i].st)
                        ms |= map[i].ms;
        return ms;
}

static int remount(struct rk_ctx *ctx, bool rdonly) {
        struct statvfs sv;
        if (fstatvfs(ctx->root.fd, &sv) < 0)
                return rk_log_errno(&ctx->log, errno, "%s: statvfs: %m", ctx->root.path);
        unsigned long flags = ms_flags_from_statvfs(sv.f_flag) & ~(unsigned long) MS_RDONLY;
        if (rdonly)
                flags |= MS_RDONLY;
        /* the path as given: in the initramfs it is ${rootmnt}, a plain mount */
        if (mount(NULL, ctx->root.path, NULL, MS_REMOUNT | flags, NULL) < 0)
                return rk_log_errno(&ctx->log, errno, "%s: remount %s: %m", ctx->root.path,
                                    rdonly ? "read-only" : "read-write");
        return 0;
}

int rk_root_make_writable(struct rk_ctx *ctx, bool *remounted) {
        struct statvfs sv;
        *remounted = false;
        if (fstatvfs(ctx->root.fd, &sv) < 0)
                return rk_log_errno(&ctx->log, errno, "%s: statvfs: %m", ctx->root.path);
        if (!(sv.f_flag & ST_RDONLY))
                return 0;
        int r = root_is_mount_point(ctx->root.fd);
        if (r < 0)
                return rk_log_errno(&ctx->log, r, "%s: cannot tell whether it is a mount point: %s",
                                    ctx->root.path, strerror(-r));
        if (r == 0) {
                rk_err(&ctx->log, "%s is on a read-only filesystem but is not itself a mount point: "
                       "not remounting the filesystem around it; nothing changed", ctx->root.path);
                return -EROFS;
        }
        r = remount(ctx, false);
        if (r < 0)
                return r;
        rk_notice(&ctx->log, "%s: remounted read-write for the factory reset", ctx->root.path);
        *remounted = true;
        return 0;
}

int rk_root_restore_readonly(struct rk_ctx *ctx) {
        sync();
        int r = remount(ctx, true);
        if (r >= 0)
                rk_info(&ctx->log, "%s: remounted read-only again", ctx->root.path);
        return r;
}

/* ---- power ---------------------------------------------------------------- */

static int power(struct run *r, enum rk_power what) {
        struct rk_ctx *ctx = r->ctx;
        const char *cmd = what == RK_POWER_REBOOT ? ctx->cfg.reboot_command : ctx->cfg.poweroff_command;
        int k;

        /* Outside the initramfs rk_power_do() knows best; with --root it
         * only ever runs a configured command. */
        if (!r->opts->initrd || ctx->root.is_host)
                return rk_power_do(ctx, what);
        /* In the initramfs the --root tree is this very machine, and no
         * init is there to ask: a configured command, else (or when it
         * fails: a reset that cannot power off would sit there forever)
         * the system call.  The root is read-only again or was never
         * written; sync anyway. */
        if (cmd) {
                k = rk_power_do(ctx, what);
                if (k >= 0)
                        return 0;
                rk_warn(&ctx->log, "%s-command failed: using the reboot(2) system call",
                        what == RK_POWER_REBOOT ? "reboot" : "poweroff");
        }
        sync();
        if (reboot(what == RK_POWER_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF) < 0)
                return rk_log_errno(&ctx->log, errno, "reboot(2): %m");
        return 0;
}

/* ---- the reset, in a child process ---------------------------------------- */

/* The one call into the factory-reset engine.  A journal of an interrupted
 * reset (a power cut during an earlier fail-safe reset) is finished rather
 * than started over: the result is the same and nothing is done twice. */
static int reset_child(struct rk_ctx *ctx) {
        struct rk_reset_opts o = {
                .yes = true,            /* holding the button through the fade is the confirmation */
                .zeroize = true,
                .resume = rk_factory_reset_pending(ctx),
                .trigger = "fail-safe",         /* a request carried out keeps its own */
                /* the parent powers off (or reboots) after the LED goes
                 * dark, whatever a request's plan recorded */
                .then = RK_POWER_NONE,
                .then_set = true,
        };
        if (o.resume)
                rk_notice(&ctx->log, "an interrupted factory reset is pending on %s: resuming it", ctx->root.path);
        return rk_factory_reset(ctx, &o);
}

static void apply(struct run *r, struct rk_failsafe_step *s);

static void reset_failed(struct run *r, int code) {
        struct rk_failsafe_step s;
        rk_failsafe_reset_done(&r->fs, false, code, rk_now_ms(), &s);
        apply(r, &s);
}

static void start_reset(struct run *r) {
        int k = rk_root_make_writable(r->ctx, &r->remounted);
        if (k < 0) {
                reset_failed(r, RK_EXIT_FAILURE);
                return;
        }
        rk_notice(&r->ctx->log, "factory reset of %s started", r->ctx->root.path);
        fflush(NULL);   /* nothing buffered may be written twice */
        pid_t pid = fork();
        if (pid < 0) {
                rk_log_errno(&r->ctx->log, errno, "cannot start the factory reset: fork: %m");
                reset_failed(r, RK_EXIT_FAILURE);
                return;
        }
        if (pid == 0) {
                /* The child only resets: the LED, the button and the
                 * power are the parent's. */
                sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
                int code = reset_child(r->ctx);
                fflush(NULL);
                _exit(code);
        }
        r->child = pid;
        RK_FAULT("failsafe-reset-spawned");
        r->pid_fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (r->pid_fd < 0 ||
            epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->pid_fd,
                      &(struct epoll_event) { .events = EPOLLIN, .data.u32 = SRC_CHILD }) < 0) {
                /* No pidfd (a kernel before 5.3): wait blind.  The LED still
                 * fades where the kernel animates it. */
                rk_warn(&r->ctx->log, "cannot watch the reset process (%m): waiting for it");
                rk_closep(&r->pid_fd);
                r->pid_fd = -1;
        }
}

static void child_exited(struct run *r) {
        struct rk_failsafe_step s;
        int status = 0;
        pid_t p;
        while ((p = waitpid(r->child, &status, 0)) < 0 && errno == EINTR)
                ;
        if (p < 0) {
                rk_log_errno(&r->ctx->log, errno, "waitpid: %m");
                status = RK_EXIT_FAILURE << 8;
        }
        if (r->pid_fd >= 0) {
                epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, r->pid_fd, NULL);
                rk_closep(&r->pid_fd);
                r->pid_fd = -1;
        }
        r->child = 0;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        rk_failsafe_reset_done(&r->fs, ok, code, rk_now_ms(), &s);
        apply(r, &s);
}

/* ---- carrying out a step --------------------------------------------------- */

static void apply(struct run *r, struct rk_failsafe_step *s) {
        uint64_t now = rk_now_ns();
        if (s->msg[0])
                rk_notice(&r->ctx->log, "%s", s->msg);
        if (s->led_set) {
                if (s->led.give_back)
                        rk_led_release(r->led, now);
                else
                        rk_led_show(r->led, s->led.pattern, s->led.color, s->led.period_ms, 0, now);
        }
        switch (s->decision) {
        case RK_FS_KEEP_GOING:
                break;
        case RK_FS_RUN_RESET:
                start_reset(r);
                if (r->child > 0 && r->pid_fd < 0)
                        child_exited(r);
                break;
        default:
                rk_info(&r->ctx->log, "decision: %s", rk_failsafe_decision_name(s->decision));
                r->done = true;
                r->decision = s->decision;
        }
}

/* ---- the event loop -------------------------------------------------------- */

static int arm_timer(struct run *r) {
        uint64_t d = rk_failsafe_deadline(&r->fs);
        uint64_t ns = d == UINT64_MAX ? UINT64_MAX : d * NS_PER_MS;
        uint64_t l = rk_led_deadline(r->led);
        if (l < ns)
                ns = l;
        struct itimerspec its = {};
        if (ns != UINT64_MAX) {
                its.it_value.tv_sec = (time_t) (ns / 1000000000ULL);
                its.it_value.tv_nsec = (long) (ns % 1000000000ULL);
                if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                        its.it_value.tv_nsec = 1;       /* all zero would disarm it */
        }
        if (timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return rk_log_errno(&r->ctx->log, errno, "timerfd_settime: %m");
        return 0;
}

static void button_gone(struct run *r, int err) {
        struct rk_failsafe_step s;
        char why[256];
        epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, r->button->fd, NULL);
        rk_button_free(r->button);
        r->button = NULL;
        /* Never guess a release from a lost device: that is how a broken
         * wire would start a reset. */
        snprintf(why, sizeof why, "the button cannot be read any more (%s)", strerror(-err));
        rk_failsafe_abort(&r->fs, why, &s);
        apply(r, &s);
}

static void on_button(struct run *r) {
        struct rk_button_event ev[N_EVENTS];
        int n;
        do {
                if (!r->button)
                        return;
                n = rk_button_read(r->button, ev, N_EVENTS);
                if (n < 0) {
                        button_gone(r, n);
                        return;
                }
                for (int i = 0; i < n && !r->done; i++) {
                        struct rk_failsafe_step s;
                        rk_failsafe_button(&r->fs, ev[i].down, ev[i].ts_ns / NS_PER_MS, rk_now_ms(), &s);
                        apply(r, &s);
                }
        } while (n == N_EVENTS && !r->done);
}

static void on_signal(struct run *r) {
        struct signalfd_siginfo si;
        struct rk_failsafe_step s;
        char why[64];
        if (read(r->signal_fd, &si, sizeof si) != (ssize_t) sizeof si)
                return;
        snprintf(why, sizeof why, "terminated by SIG%s", sigabbrev_np((int) si.ssi_signo));
        rk_failsafe_abort(&r->fs, why, &s);
        apply(r, &s);
}

static void on_timer(struct run *r) {
        struct rk_failsafe_step s;
        uint64_t expirations;
        /* read only to clear it: every wake-up settles what is due */
        (void) !read(r->timer_fd, &expirations, sizeof expirations);
        rk_failsafe_timer(&r->fs, rk_now_ms(), &s);
        apply(r, &s);
        if (!r->done)
                rk_led_advance(r->led, rk_now_ns());
}

static int loop(struct run *r) {
        while (!r->done) {
                struct epoll_event ev[4];
                bool ready[SRC_SIGNAL + 1] = {};
                int r_ = arm_timer(r);
                if (r_ < 0)
                        return r_;
                int n = epoll_wait(r->epoll_fd, ev, RK_ELEMENTSOF(ev), -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return rk_log_errno(&r->ctx->log, errno, "epoll_wait: %m");
                for (int i = 0; i < n; i++)
                        if (ev[i].data.u32 <= SRC_SIGNAL)
                                ready[ev[i].data.u32] = true;
                /* Edges first: one stamped before a boundary is judged
                 * before the boundary's timer can close the window. */
                if (ready[SRC_BUTTON])
                        on_button(r);
                if (ready[SRC_SIGNAL] && !r->done)
                        on_signal(r);
                if (ready[SRC_CHILD] && !r->done)
                        child_exited(r);
                if (!r->done)
                        on_timer(r);
        }
        return 0;
}

/* ---- setup ------------------------------------------------------------------ */

static int open_button(struct rk_ctx *ctx, struct rk_button **ret, char *why, size_t whylen) {
        const struct rk_button_opts bo = {
                .key_code = ctx->cfg.key_code,
                .active_low = ctx->cfg.active_low,
                .debounce_ms = ctx->cfg.debounce_ms,
                .consumer = "reset-failsafe",
        };
        uint64_t until = rk_now_ms() + RK_FAILSAFE_OPEN_WAIT_MS;
        char err[512];
        for (;;) {
                int r = rk_button_open(&ctx->cfg.button, &bo, &ctx->log, ret, err, sizeof err);
                if (r >= 0)
                        return 0;
                /* udev may not have created the node yet (the systemd unit
                 * runs very early): wait a little, not forever. */
                if (!rk_button_error_is_transient(r) || rk_now_ms() >= until) {
                        snprintf(why, whylen, "%s", err);
                        return r;
                }
                nanosleep(&(struct timespec) { .tv_nsec = 50 * NS_PER_MS }, NULL);
        }
}

/* The level at start: the device's state when opened, then whatever is
 * already queued (for a fifo: the lines waiting in the pipe, the last one
 * decides; none means not held). */
static int start_level(struct rk_button *b, bool *held) {
        struct rk_button_event ev[N_EVENTS];
        bool down = b->down;
        int n;
        do {
                n = rk_button_read(b, ev, N_EVENTS);
                if (n < 0)
                        return n;
                for (int i = 0; i < n; i++)
                        down = ev[i].down;
        } while (n == N_EVENTS);
        *held = down;
        return 0;
}

static int setup_loop(struct run *r) {
        struct rk_log *log = &r->ctx->log;
        sigset_t mask;

        r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (r->epoll_fd < 0)
                return rk_log_errno(log, errno, "epoll_create1: %m");
        r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (r->timer_fd < 0)
                return rk_log_errno(log, errno, "timerfd_create: %m");
        /* A stop request during the sequence cancels it cleanly (LED given
         * back); during the reset it is ignored: the reset must finish. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, &r->old_mask) < 0)
                return rk_log_errno(log, errno, "sigprocmask: %m");
        r->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (r->signal_fd < 0)
                return rk_log_errno(log, errno, "signalfd: %m");
        struct { int fd; uint32_t src; } add[] = {
                { r->button ? r->button->fd : -1, SRC_BUTTON }, { r->timer_fd, SRC_TIMER },
                { r->signal_fd, SRC_SIGNAL },
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(add); i++)
                if (add[i].fd >= 0 && epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, add[i].fd,
                              &(struct epoll_event) { .events = EPOLLIN, .data.u32 = add[i].src }) < 0)
                        return rk_log_errno(log, errno, "epoll_ctl: %m");
        return 0;
}

/* What the final decision asks for, after the loop. */
static int carry_out(struct run *r) {
        int ret = RK_EXIT_OK;
        switch (r->decision) {
        case RK_FS_EARLY_REBOOT:
                return power(r, RK_POWER_REBOOT) < 0 ? RK_EXIT_FAILURE : RK_EXIT_OK;
        case RK_FS_POWEROFF:
                if (r->remounted && rk_root_restore_readonly(r->ctx) < 0)
                        ret = RK_EXIT_FAILURE;
                /* The LED stays dark while the machine goes down: do not
                 * hand it back (its owner's state would light it again). */
                r->led->showing = false;
                return power(r, RK_POWER_POWEROFF) < 0 ? RK_EXIT_FAILURE : ret;
        case RK_FS_REBOOT:
                if (r->remounted && rk_root_restore_readonly(r->ctx) < 0)
                        ret = RK_EXIT_FAILURE;
                r->led->showing = false;
                return power(r, RK_POWER_REBOOT) < 0 ? RK_EXIT_FAILURE : ret;
        case RK_FS_FAILED_REBOOT:
                if (r->remounted)
                        (void) rk_root_restore_readonly(r->ctx);
                r->led->showing = false;
                (void) power(r, RK_POWER_REBOOT);
                return RK_EXIT_FAILURE;
        default:
                return RK_EXIT_OK;      /* continue booting */
        }
}

static void kmsg_on(struct rk_ctx *ctx, const struct rk_failsafe_run_opts *o) {
        if (o->kmsg)
                rk_log_enable_kmsg(&ctx->log);
}

/* Leave proof in /run that the early-boot program runs on this system, for
 * `resetctl factory-reset` to rely on a request being carried out.  Only
 * on the booted system itself (the initramfs, whose /run moves into the
 * root, or the early unit): never under --root of another tree. */
static void stamp_early_boot(struct rk_ctx *ctx, const struct rk_failsafe_run_opts *o) {
        if (!o->initrd && !ctx->root.is_host)
                return;
        (void) mkdir("/run/resetkit", 0755);
        _cleanup_close_ int fd = open(RK_EARLY_BOOT_STAMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0)
                (void) dprintf(fd, "%s\n", o->initrd ? "initramfs" : "early unit");
}

/* A requested or interrupted factory reset goes first, whatever the button
 * does (a held button is ignored: the device ends in the factory state
 * either way).  Carried out with the reset's white fade; done, the device
 * reboots into the factory state (or powers off when the request said so);
 * failed, red blinks and a reboot, and the next boot retries the failed
 * entries, at most RK_JOURNAL_MAX_ATTEMPTS attempts in all. */
static int run_pending(struct run *r, const struct rk_reset_pending *pend) {
        struct rk_ctx *ctx = r->ctx;
        struct rk_failsafe_params p;
        struct rk_failsafe_step s;
        char why[512];
        uint64_t start_ns = rk_now_ns();

        rk_notice(&ctx->log, "a factory reset is %s on %s (by %s): carrying it out now",
                  pend->state == RK_PENDING_REQUESTED ? "requested" : "interrupted", ctx->root.path, pend->trigger);
        if (open_button(ctx, &r->button, why, sizeof why) < 0)
                rk_warn(&ctx->log, "%s: the button is not watched during the reset", why);
        rk_failsafe_params_from_config(&p, &ctx->cfg);
        rk_failsafe_init(&r->fs, &p);
        rk_failsafe_start_pending(&r->fs, pend->then == RK_POWER_POWEROFF, start_ns / NS_PER_MS, &s);
        if (rk_led_open(&ctx->cfg.led, &ctx->log, start_ns, &r->led) < 0 || setup_loop(r) < 0) {
                rk_err(&ctx->log, "cannot set up the early-boot reset: booting on; the request stays");
                return RK_EXIT_FAILURE;
        }
        apply(r, &s);
        int k = loop(r);
        if (k < 0 && r->child > 0)
                child_exited(r);
        return k < 0 ? RK_EXIT_FAILURE : carry_out(r);
}

int rk_failsafe_run(struct rk_ctx *ctx, const struct rk_failsafe_run_opts *o) {
        struct run r = {
                .ctx = ctx, .opts = o,
                .epoll_fd = -1, .timer_fd = -1, .signal_fd = -1, .pid_fd = -1,
        };
        struct rk_failsafe_params p;
        struct rk_failsafe_step s;
        bool held;
        int k;

        sigprocmask(SIG_SETMASK, NULL, &r.old_mask);
        stamp_early_boot(ctx, o);
        struct rk_reset_pending pend;
        (void) rk_factory_reset_pending_state(ctx, &pend);
        if (pend.state == RK_PENDING_REQUESTED || pend.state == RK_PENDING_INTERRUPTED) {
                kmsg_on(ctx, o);
                int ret = run_pending(&r, &pend);
                run_done(&r);
                return ret;
        }
        if (pend.state == RK_PENDING_CORRUPT) {
                /* never acted on, never a loop: said, and the boot goes on */
                kmsg_on(ctx, o);
                rk_err(&ctx->log, "the factory-reset journal %s cannot be read (%s): not acted on; booting on "
                       "(`resetctl status` says so)", ctx->cfg.journal, pend.why);
        } else if (pend.state == RK_PENDING_GAVE_UP)
                rk_warn(&ctx->log, "the last factory reset gave up after its last attempt: not retried; "
                        "`resetctl status` lists what failed");
        if (!ctx->cfg.failsafe_enabled) {
                rk_info(&ctx->log, "disabled ([failsafe] enabled = false): nothing to do");
                return RK_EXIT_OK;
        }
        char why[512];
        if (open_button(ctx, &r.button, why, sizeof why) < 0) {
                kmsg_on(ctx, o);
                rk_err(&ctx->log, "%s: the fail-safe restore cannot see the button this boot", why);
                return RK_EXIT_FAILURE;
        }
        k = start_level(r.button, &held);
        if (k < 0) {
                kmsg_on(ctx, o);
                rk_err(&ctx->log, "%s: cannot read the button's level: %s", r.button->name, strerror(-k));
                run_done(&r);
                return RK_EXIT_FAILURE;
        }

        rk_failsafe_params_from_config(&p, &ctx->cfg);
        rk_failsafe_init(&r.fs, &p);
        uint64_t start_ns = rk_now_ns();
        rk_failsafe_start(&r.fs, held, start_ns / NS_PER_MS, &s);
        if (s.decision == RK_FS_EXIT_NOT_HELD) {
                /* The normal boot: the LED was never opened, so never touched. */
                rk_info(&ctx->log, "%s", s.msg);
                run_done(&r);
                return RK_EXIT_OK;
        }
        kmsg_on(ctx, o);

        if (rk_led_open(&ctx->cfg.led, &ctx->log, start_ns, &r.led) < 0 || setup_loop(&r) < 0) {
                rk_err(&ctx->log, "cannot set up the fail-safe restore: no reset, booting on");
                run_done(&r);
                return RK_EXIT_FAILURE;
        }
        apply(&r, &s);
        k = loop(&r);
        if (k < 0 && r.child > 0) {
                /* The loop broke with the reset running: never leave it
                 * behind half-watched; wait for it. */
                child_exited(&r);
        }
        int ret = k < 0 ? RK_EXIT_FAILURE : carry_out(&r);
        run_done(&r);
        return ret;
}
