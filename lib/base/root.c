/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "root.h"

#include <fcntl.h>

#include "util.h"

int rk_root_open(struct rk_root *r, const char *path) {
        *r = (struct rk_root) { .fd = -1 };
        r->is_host = path == NULL;
        /* O_PATH would do for *at() lookups, but fstatfs/readdir on the root
         * need a real descriptor. */
        int fd = open(path ? path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r->path = strdup(path ? path : "/");
        if (!r->path) {
                close(fd);
                return -ENOMEM;
        }
        r->fd = fd;
        return 0;
}

void rk_root_close(struct rk_root *r) {
        rk_closep(&r->fd);
        r->fd = -1;
        free(r->path);
        r->path = NULL;
}
