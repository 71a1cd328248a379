/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetd-actions.so: rescue and factory reset for resetd's action child.
 *
 * They call the same library functions as `resetctl rescue load` and
 * `resetctl factory-reset --yes --then reboot` (SPEC §1: "the same
 * operation"), on the daemon's own context — its root, its configuration as
 * last (re)loaded, its log — so the store's and the engine's messages land
 * in resetd's log and the outcome comes back as a value, not an exit code.
 *
 * Why a module: the store and the engine bring json-c and (on
 * the first checksum) libcrypto, and their code; mapped in the daemon they
 * would stay resident for the appliance's whole life, idle.  The daemon
 * loads this module in the forked child only, when a press asks for one of
 * these actions (lib/daemon/actions.c).  Only `rk_resetd_actions` is
 * exported (resetd-actions.sym). */
#include "daemon.h"
#include "engine.h"
#include "exitcode.h"
#include "rk-build-config.h"
#include "store.h"

static const char *rescue_why(int r) {
        if (r == RK_STORE_APPLY_FAILED)
                return "the rescue configuration is committed, but apply-command failed";
        switch (-r) {
        case ENOENT:
                return "no rescue configuration; the running configuration is unchanged";
        case EBADMSG:
        case EILSEQ:
                return "the rescue configuration fails its checksum or validation; the running configuration is unchanged";
        case EBUSY:
        case EWOULDBLOCK:
                return "the configuration store is locked by another writer; nothing changed";
        default:
                return NULL;
        }
}

static int action_rescue(const struct rk_action_args *a, char *why, size_t whylen) {
        _cleanup_store_ struct rk_store *s = NULL;
        int r = rk_store_open(a->ctx, RK_STORE_WRITE, &s);
        if (r >= 0)
                r = rk_store_rescue_load(s);
        if (r == 0)
                return 0;
        const char *w = rescue_why(r);
        if (w)
                snprintf(why, whylen, "%s", w);
        else
                snprintf(why, whylen, "%s; the running configuration is unchanged", strerror(-r));
        return r > 0 ? -EIO : r;
}

static const char *exit_meaning(int code) {
        switch (code) {
        case RK_EXIT_USAGE: return "bad configuration or manifest; nothing changed";
        case RK_EXIT_BUSY: return "another factory reset is running";
        case RK_EXIT_REFUSED: return "refused by a safety check; nothing changed";
        default: return "a step failed; the journal stays, `resetctl factory-reset --resume` finishes it";
        }
}

static int action_factory_reset(const struct rk_action_args *a, char *why, size_t whylen) {
        /* zeroize as configured; no question (the 16 s hold was the
         * confirmation); no progress bar (no terminal) */
        /* resetd's tree is the system whose button it watches: its
         * reboot-command is this machine's own */
        /* On the running system the reset is requested and the device
         * reboots into the early-boot program, which carries it out before
         * any service holds a file (SPEC §1, §3 "When it runs"); under
         * --root (tests, the simulator), or with no early-boot program, it
         * runs at once (the engine says why). */
        const struct rk_reset_opts o = { .when = RK_RESET_AUTO, .trigger = "button",
                                         .yes = true, .zeroize = true, .trusted_config = true,
                                         .then = RK_POWER_REBOOT, .then_set = true };
        int code = rk_factory_reset(a->ctx, &o);
        if (code == RK_EXIT_OK)
                return 0;
        snprintf(why, whylen, "exit %d: %s", code, exit_meaning(code));
        return -EIO;
}

const struct rk_action_module rk_resetd_actions = {
        .version = RK_VERSION,
        .ctx_size = sizeof(struct rk_ctx),
        .config_size = sizeof(struct rk_config),
        .ops = {
                .rescue = action_rescue,
                .factory_reset = action_factory_reset,
        },
};
