/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctx.h — what every operation needs, built once by a program's main and
 * passed down: the logger, the target root, the configuration.  The library
 * keeps no global state. */
#pragma once

#include "conf.h"
#include "log.h"
#include "root.h"

struct rk_ctx {
        struct rk_log log;
        struct rk_root root;
        struct rk_config cfg;
        bool json;              /* machine-readable output requested */
};

/* Open root, load config (explicit path or the root's resetd.conf).
 * Errors are logged; returns -EINVAL for a configuration error (exit 2). */
int rk_ctx_open(struct rk_ctx *ctx, const char *ident, const char *root, const char *config);
void rk_ctx_close(struct rk_ctx *ctx);
