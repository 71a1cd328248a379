/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl.h — the verbs of resetctl; each file implements one group and
 * returns an exit code from exitcode.h. */
#pragma once

#include "ctx.h"
#include "exitcode.h"

/* What a verb gets: the context, and whether the commands of the
 * configuration ([actions] validate-, apply-, reboot-, poweroff-command)
 * may run on this machine.  They may without --root (this system's own
 * configuration) and with --config FILE (the operator's); with --root and
 * the target's own resetd.conf they are skipped and logged: they would act
 * on this machine, not on the image. */
struct rk_cli {
        struct rk_ctx ctx;
        bool commands;
};

struct rk_verb {
        const char *name;
        const char *sub;        /* NULL: no sub-verb */
        int min_args, max_args; /* after name (and sub) */
        int (*run)(struct rk_cli *cli, int argc, char **argv);
        const char *usage;
};

extern const struct rk_verb rk_config_verbs[];
extern const struct rk_verb rk_reset_verbs[];
extern const struct rk_verb rk_cert_verbs[];
