/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rktest.h — what several unit tests share: their temporary directory. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

/* rm -rf a test's own mkdtemp() directory (never anything else: the
 * template is the test's /tmp/rk-…-XXXXXX). */
static inline int rkt_rm_rf(const char *dir) {
        char cmd[512];
        if (snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir) >= (int) sizeof cmd)
                return -1;
        return system(cmd) == 0 ? 0 : -1;
}
