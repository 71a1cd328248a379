/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "power.h"

#include <sys/reboot.h>
#include <sys/stat.h>

#include "cmdexec.h"

int rk_power_parse(const char *s, enum rk_power *ret) {
        if (strcmp(s, "none") == 0) *ret = RK_POWER_NONE;
        else if (strcmp(s, "reboot") == 0) *ret = RK_POWER_REBOOT;
        else if (strcmp(s, "poweroff") == 0) *ret = RK_POWER_POWEROFF;
        else return -EINVAL;
        return 0;
}

const char *rk_power_name(enum rk_power p) {
        return p == RK_POWER_REBOOT ? "reboot" : p == RK_POWER_POWEROFF ? "poweroff" : "none";
}

static bool systemd_running(void) {
        struct stat st;
        /* sd_booted()'s test, without linking libsystemd for it */
        return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

int rk_power_do(struct rk_ctx *ctx, enum rk_power what) {
        if (what == RK_POWER_NONE)
                return 0;
        const char *name = rk_power_name(what);
        const char *cmd = what == RK_POWER_REBOOT ? ctx->cfg.reboot_command : ctx->cfg.poweroff_command;

        sync();
        if (cmd) {
                int status = 0;
                int r = rk_exec_command(cmd, NULL, &ctx->log, &status);
                if (r < 0)
                        return rk_log_errno(&ctx->log, r, "%s: cannot run '%s': %s", name, cmd, strerror(-r));
                if (status != 0) {
                        rk_err(&ctx->log, "%s: '%s' exited with status %d", name, cmd, status);
                        return -EIO;
                }
                return 0;
        }
        if (!ctx->root.is_host) {
                rk_notice(&ctx->log, "%s: not done: the target is --root %s and no [actions] %s-command is set",
                          name, ctx->root.path, name);
                return 0;
        }
        if (systemd_running()) {
                int status = 0;
                int r = rk_exec_command(what == RK_POWER_REBOOT ? "systemctl reboot" : "systemctl poweroff",
                                        NULL, &ctx->log, &status);
                if (r >= 0 && status == 0)
                        return 0;
                rk_warn(&ctx->log, "%s: systemctl failed, using the %s(2) system call", name, "reboot");
        }
        if (reboot(what == RK_POWER_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF) < 0)
                return rk_log_errno(&ctx->log, errno, "%s: reboot(2): %m", name);
        return 0;
}
