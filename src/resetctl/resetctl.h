/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl.h — the verbs of resetctl; each file implements one group and
 * returns an exit code from exitcode.h. */
#pragma once

#include "ctx.h"
#include "exitcode.h"

struct rk_verb {
        const char *name;
        const char *sub;        /* NULL: no sub-verb */
        int min_args, max_args; /* after name (and sub) */
        int (*run)(struct rk_ctx *ctx, int argc, char **argv);
        const char *usage;
};

extern const struct rk_verb rk_config_verbs[];
extern const struct rk_verb rk_reset_verbs[];
