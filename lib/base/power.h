/* SPDX-License-Identifier: GPL-2.0-or-later */
/* power.h — reboot and power off, the way the appliance is configured:
 * [actions] reboot-command / poweroff-command when set; otherwise
 * `systemctl reboot|poweroff` when systemd runs, else reboot(2) after sync.
 * For a --root target the host is never rebooted by default: only a
 * configured command runs. */
#pragma once

#include "ctx.h"

enum rk_power { RK_POWER_NONE, RK_POWER_REBOOT, RK_POWER_POWEROFF };

int rk_power_parse(const char *s, enum rk_power *ret);
const char *rk_power_name(enum rk_power p);
/* Returns 0 when the command ran (or the syscall returned, which it does
 * not on success); negative errno on failure. */
int rk_power_do(struct rk_ctx *ctx, enum rk_power what);
