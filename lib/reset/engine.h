/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.h — the factory-reset engine.  One engine serves the button
 * (resetd), the command line (resetctl factory-reset) and the fail-safe.
 *
 * Order (SPEC §3): 1 preflight, 2 stop (exec), 3 remove, 4 accounts,
 * 5 configuration, 6 inactive partition, 7 free space, 8 finish.  The
 * manifest entries are sorted into these stages (stable within a stage) and
 * frozen into the journal before anything changes; each entry is one
 * idempotent unit of work, and the journal records how far the plan got, so
 * a resume after a power cut picks up where it stopped.
 *
 * After the first change the reset only moves forward: an entry that fails
 * is logged and recorded in the journal, and the entries after it still
 * run.  The outcome is then "failed" (exit 1); `--resume` (run at every
 * boot) retries only the failed entries and those not reached, at most
 * RK_JOURNAL_MAX_ATTEMPTS attempts in all, then gives up without retrying
 * (no boot loop).  An explicit reset after that starts a fresh plan. */
#pragma once

#include "ctx.h"
#include "power.h"

struct rk_reset_opts {
        enum rk_reset_when when;        /* AUTO: as [reset] when says */
        bool cancel;            /* withdraw a request that has not started */
        const char *trigger;    /* who asked: "command line" (NULL), "button", "fail-safe", "fleet" */
        bool dry_run;           /* print the plan, change nothing */
        bool yes;               /* no confirmation question */
        bool resume;            /* finish an interrupted reset (no-op without one) */
        bool zeroize;           /* false: --no-zeroize, skip steps 6 and 7 */
        bool progress;          /* draw progress on a terminal */
        /* With --root, reboot-command and poweroff-command come from the
         * target's configuration and are skipped (logged): they would run on
         * this machine.  true: the configuration is this system's own or the
         * operator's (resetd's tree, resetctl --config FILE). */
        bool trusted_config;
        enum rk_power then;
        bool then_set;          /* `then` was given; else a request reboots (to run it) */
};

/* The sanitization certificate, inside the root: one of the engine's own
 * files, which its entries never remove. */
#define RK_RESET_CERTIFICATE "/var/log/resetkit/sanitization.json"

/* Returns an exit code (lib/exitcode.h): 0 done, 1 an entry failed (the
 * journal stays, --resume retries the failed ones) or --resume gave up, 2
 * bad manifest, 4 another reset runs, 6 refused by a safety check or not
 * confirmed (nothing changed). */
int rk_factory_reset(struct rk_ctx *ctx, const struct rk_reset_opts *o);

/* true when the root holds a reset that --resume would carry out: a
 * request, an interrupted reset, or a failed one with retries left */
bool rk_factory_reset_pending(struct rk_ctx *ctx);

/* What the early-boot program finds, without taking the lock or changing
 * anything.  CORRUPT: the journal cannot be read (why says so); it is never
 * acted on, and never made a boot loop. */
enum rk_pending_state {
        RK_PENDING_NONE,
        RK_PENDING_REQUESTED,   /* requested, not started */
        RK_PENDING_INTERRUPTED, /* started (cut off, or failed with retries left) */
        RK_PENDING_GAVE_UP,     /* failed RK_JOURNAL_MAX_ATTEMPTS times: nothing more to do */
        RK_PENDING_CORRUPT,
};
struct rk_reset_pending {
        enum rk_pending_state state;
        enum rk_power then;     /* what the request asked for once the reset is done */
        char trigger[32];
        char why[256];
};
int rk_factory_reset_pending_state(struct rk_ctx *ctx, struct rk_reset_pending *ret);

/* Written by reset-failsafe at every boot of the system it runs on (never
 * under --root of another tree): proof that the early-boot program of this
 * boot exists, which is what `--at-boot` by default relies on. */
#define RK_EARLY_BOOT_STAMP "/run/resetkit/failsafe-ran"

/* `resetctl status`: none | in-progress (which entry) | complete (when) |
 * failed (which entries, retries left), as text or (ctx->json) JSON with
 * the state under "factory_reset".  Returns an exit code: 0, or 1 when the
 * journal cannot be read. */
int rk_factory_reset_status(struct rk_ctx *ctx);
