/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TEMPORARY, until the factory-reset engine (engine.h) and power.h land on
 * main: the same declarations, the engine answering "not available".
 * failsafe-run.c uses engine.h as soon as it exists; delete this file in the
 * merge. */
#pragma once

#include <sys/wait.h>

#include "ctx.h"
#include "exitcode.h"

enum rk_power { RK_POWER_NONE, RK_POWER_REBOOT, RK_POWER_POWEROFF };

struct rk_reset_opts {
        bool dry_run, yes, resume, zeroize, progress;
        enum rk_power then;
};

static inline int rk_factory_reset(struct rk_ctx *ctx, const struct rk_reset_opts *o) {
        rk_err(&ctx->log, "factory reset: the engine is not on this branch yet");
        return RK_EXIT_FAILURE;
}

static inline bool rk_factory_reset_pending(struct rk_ctx *ctx) { return false; }

static inline int rk_power_do(struct rk_ctx *ctx, enum rk_power what) {
        const char *cmd = what == RK_POWER_REBOOT ? ctx->cfg.reboot_command : ctx->cfg.poweroff_command;
        if (!cmd)
                return 0;
        int st = system(cmd);
        return st == 0 ? 0 : -EIO;
}
