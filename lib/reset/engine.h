/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.h — the factory-reset engine.  One engine serves the button
 * (resetd), the command line (resetctl factory-reset) and the fail-safe.
 *
 * Order (SPEC §3): 1 preflight, 2 stop (exec), 3 remove, 4 accounts,
 * 5 configuration, 6 inactive partition, 7 free space, 8 finish.  The
 * manifest entries are sorted into these stages (stable within a stage) and
 * frozen into the journal before anything changes; each entry is one
 * idempotent unit of work, and the journal records the first one not yet
 * completed, so a resume after a power cut picks up where it stopped. */
#pragma once

#include "ctx.h"
#include "power.h"

struct rk_reset_opts {
        bool dry_run;           /* print the plan, change nothing */
        bool yes;               /* no confirmation question */
        bool resume;            /* finish an interrupted reset (no-op without one) */
        bool zeroize;           /* false: --no-zeroize, skip steps 6 and 7 */
        bool progress;          /* draw progress on a terminal */
        enum rk_power then;
};

/* Returns an exit code (lib/exitcode.h): 0 done, 1 a step failed (the journal
 * stays, --resume retries), 2 bad manifest, 4 another reset runs, 6 refused
 * by a safety check or not confirmed. */
int rk_factory_reset(struct rk_ctx *ctx, const struct rk_reset_opts *o);

/* true when the root holds a journal of an interrupted reset */
bool rk_factory_reset_pending(struct rk_ctx *ctx);
