/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failsafe-run.h — reset-failsafe's runtime around the pure sequence of
 * failsafe.h: the button read once at start, the LED, the event loop (epoll,
 * timerfd, a pidfd for the reset child, a signalfd), making the target root
 * writable, the factory reset in a child process so the LED keeps going,
 * and the power-off or reboot at the end. */
#pragma once

#include <stdbool.h>

#include "ctx.h"

struct rk_failsafe_run_opts {
        /* We run in the initramfs: the --root tree is the system being
         * booted, so a reboot or power-off acts on this machine (reboot(2),
         * as no systemd runs yet) even without an [actions] command.  Off,
         * with --root, only configured commands ever run: a test or a run by
         * hand on an image never takes the host down. */
        bool initrd;
        /* Log to /dev/kmsg as well (early boot has no journal yet): every
         * decision of a held button and every error.  A normal boot (the
         * button not held) leaves no line in the kernel log. */
        bool kmsg;
};

/* How long a missing button device (udev not done yet) is waited for. */
#define RK_FAILSAFE_OPEN_WAIT_MS 1000u

/* Returns the program's exit code (lib/exitcode.h):
 *   0  nothing to do (disabled, button not held), released early, cancelled,
 *      or the reset is done and the power-off was started
 *   1  the button could not be read, the reset failed (its journal stays:
 *      the next boot resumes it), or the power action failed */
int rk_failsafe_run(struct rk_ctx *ctx, const struct rk_failsafe_run_opts *o);

/* The root's mount is read-only: remount it read-write (only when the root
 * is itself a mount point: never the filesystem around a plain directory).
 * *remounted tells whether it changed anything. */
int rk_root_make_writable(struct rk_ctx *ctx, bool *remounted);
/* Undo rk_root_make_writable(): back to read-only. */
int rk_root_restore_readonly(struct rk_ctx *ctx);
