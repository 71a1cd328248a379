/* SPDX-License-Identifier: GPL-2.0-or-later */
/* root.h — the target root (--root DIR, or "/").  Opened once; every path
 * the programs touch is resolved relative to this fd, never by string
 * concatenation, so a symlink in the image cannot lead outside it. */
#pragma once

#include <stdbool.h>

struct rk_root {
        int fd;
        char *path;     /* as given, for messages ("/" when none) */
        bool is_host;   /* no --root: the running system itself */
};

/* path NULL: the host's "/".  -ENOENT/-ENOTDIR for a bad --root. */
int rk_root_open(struct rk_root *r, const char *path);
void rk_root_close(struct rk_root *r);
