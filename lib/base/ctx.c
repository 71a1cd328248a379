/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ctx.h"

int rk_ctx_open(struct rk_ctx *ctx, const char *ident, const char *root, const char *config) {
        char err[1024];
        int r;

        rk_log_init(&ctx->log, ident);
        ctx->root.fd = -1;
        r = rk_config_init(&ctx->cfg);
        if (r < 0)
                return rk_log_errno(&ctx->log, r, "out of memory");
        r = rk_root_open(&ctx->root, root);
        if (r < 0)
                return rk_log_errno(&ctx->log, r, "--root %s: %s", root ? root : "/", strerror(-r));
        r = rk_config_load(&ctx->cfg, ctx->root.fd, config, err, sizeof err);
        if (r < 0) {
                rk_err(&ctx->log, "%s", err);
                return -EINVAL;
        }
        return 0;
}

void rk_ctx_close(struct rk_ctx *ctx) {
        rk_config_free(&ctx->cfg);
        rk_root_close(&ctx->root);
        rk_log_close(&ctx->log);
}
