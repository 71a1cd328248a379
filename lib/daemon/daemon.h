/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon.h — resetd's event loop.
 *
 * One epoll over: the button fd, one timerfd (the next window threshold,
 * LED software step, button retry or watchdog ping — whichever is first;
 * disarmed when there is none) and a signalfd (SIGTERM/SIGINT stop, SIGHUP
 * reloads the configuration, SIGCHLD ends an action).  Idle, the process
 * sleeps in epoll_wait() with no timeout: no periodic wake-up at all unless
 * systemd's watchdog asks for pings.
 *
 * Actions run in a child process (fork), so the loop stays responsive while
 * they run: the LED keeps blinking, the watchdog keeps being fed, and
 * presses are logged as ignored.  The child calls the action through
 * struct rk_action_ops, which tests and the simulator can replace. */
#pragma once

#include "classifier.h"
#include "ctx.h"

struct rk_action_args {
        struct rk_ctx *ctx;             /* log, root, configuration */
};

struct rk_action_ops {
        /* Each runs in the action child.  0 on success; a negative errno
         * with `why` (one line, no trailing dot) on failure — it becomes
         * "action NAME failed: WHY". */
        int (*reboot)(const struct rk_action_args *a, char *why, size_t whylen);
        int (*rescue)(const struct rk_action_args *a, char *why, size_t whylen);
        int (*factory_reset)(const struct rk_action_args *a, char *why, size_t whylen);
};

/* reboot: sync + reboot-command (or systemctl reboot / reboot(2) on the
 * host only); rescue: the store's rescue load; factory reset: the engine,
 * then reboot.  The last two are loaded from resetd-actions.so in the
 * action child (lib/daemon/resetd-actions.c). */
extern const struct rk_action_ops rk_default_action_ops;

/* What resetd-actions.so exports as `rk_resetd_actions`: its version and
 * structure sizes (they must be resetd's own) and the rescue and
 * factory-reset ops. */
struct rk_action_module {
        const char *version;
        /* the structures the two share, as each was built: a module of the
         * same version built with other options must not be used either */
        size_t ctx_size, config_size;
        struct rk_action_ops ops;
};

struct rk_daemon_opts {
        const char *config_path;        /* --config, re-read on SIGHUP; NULL: the root's */
        bool foreground;                /* no sd_notify even if NOTIFY_SOCKET is set */
        const struct rk_action_ops *ops;
};

/* Run until SIGTERM/SIGINT.  Returns an exit code (exitcode.h). */
int rk_daemon_run(struct rk_ctx *ctx, const struct rk_daemon_opts *opts);

/* [timing] and [button] debounce-ms in the classifier's terms */
void rk_timing_from_config(const struct rk_config *cfg, struct rk_timing *t);

/* Button retry back-off: 1 s, 2 s, 4 s ... at most 60 s. */
uint64_t rk_backoff_next_ms(uint64_t prev_ms);
