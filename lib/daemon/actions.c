/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The actions behind the button.  They run in resetd's action child (see
 * daemon.c), so they may block.
 *
 * reboot is done here: the simplest action must not depend on anything
 * being loadable.  rescue and factory reset live in resetd-actions.so
 * (lib/daemon/resetd-actions.c), which the child loads on demand, so the idle
 * daemon never maps the store, the engine or their libraries. */
#include <dlfcn.h>

#include "daemon.h"
#include "power.h"
#include "rk-build-config.h"

static int action_reboot(const struct rk_action_args *a, char *why, size_t whylen) {
        struct rk_ctx *ctx = a->ctx;
        if (!ctx->cfg.reboot_command && !ctx->root.is_host) {
                /* --root names another tree: rebooting this machine would
                 * be acting outside it (the engine's `--then reboot` only
                 * logs this; a button press must show it failed) */
                snprintf(why, whylen, "no [actions] reboot-command and --root %s is not this system: not rebooting the host",
                         ctx->root.path);
                return -EPERM;
        }
        /* sync, then reboot-command, `systemctl reboot` or reboot(2); the
         * details of a failure are logged by rk_power_do */
        int r = rk_power_do(ctx, RK_POWER_REBOOT);
        if (r < 0)
                snprintf(why, whylen, "%s", ctx->cfg.reboot_command ? "reboot-command failed" : strerror(-r));
        return r;
}

/* Found through resetd's RUNPATH (the build tree's lib/, or
 * LIBDIR/resetkit when installed), as systemd finds its private
 * libsystemd-shared; LD_LIBRARY_PATH may point elsewhere. */
static int load_module(const struct rk_action_module **ret, char *why, size_t whylen) {
        void *dl = dlopen(RK_ACTIONS_MODULE, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
                snprintf(why, whylen, "cannot load %s: %s", RK_ACTIONS_MODULE, dlerror());
                return -ELIBACC;
        }
        const struct rk_action_module *m = dlsym(dl, "rk_resetd_actions");
        if (!m) {
                snprintf(why, whylen, "%s has no rk_resetd_actions", RK_ACTIONS_MODULE);
                return -ELIBBAD;
        }
        /* the module shares our structures (struct rk_ctx): only the one
         * built with this resetd will do */
        if (strcmp(m->version, RK_VERSION) != 0) {
                snprintf(why, whylen, "%s is version %s, resetd is %s", RK_ACTIONS_MODULE, m->version, RK_VERSION);
                return -ELIBBAD;
        }
        if (m->ctx_size != sizeof(struct rk_ctx) || m->config_size != sizeof(struct rk_config)) {
                snprintf(why, whylen, "%s was not built with this resetd (structure sizes differ)", RK_ACTIONS_MODULE);
                return -ELIBBAD;
        }
        /* never unloaded: the child exits when the action is done */
        *ret = m;
        return 0;
}

static int action_rescue(const struct rk_action_args *a, char *why, size_t whylen) {
        const struct rk_action_module *m;
        int r = load_module(&m, why, whylen);
        return r < 0 ? r : m->ops.rescue(a, why, whylen);
}

static int action_factory_reset(const struct rk_action_args *a, char *why, size_t whylen) {
        const struct rk_action_module *m;
        int r = load_module(&m, why, whylen);
        return r < 0 ? r : m->ops.factory_reset(a, why, whylen);
}

const struct rk_action_ops rk_default_action_ops = {
        .reboot = action_reboot,
        .rescue = action_rescue,
        .factory_reset = action_factory_reset,
};
