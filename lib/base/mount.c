/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "mount.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>

int rk_statx_at(int dfd, const char *name, unsigned mask, struct statx *ret) {
        /* DONT_SYNC: a network filesystem's fresh attributes are not worth
         * a round trip per file here; identity and type do not change */
        int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC;
        if (!name) {
                name = "";
                flags |= AT_EMPTY_PATH;
        }
        return statx(dfd, name, flags, mask, ret) < 0 ? -errno : 0;
}

static bool is_mount_root(const struct statx *sx) {
        return (sx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (sx->stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

bool rk_statx_crosses_mount(const struct statx *sx, const struct statx *psx) {
        if (is_mount_root(sx))
                return true;
        if ((sx->stx_mask & STATX_MNT_ID) && (psx->stx_mask & STATX_MNT_ID) &&
            sx->stx_mnt_id != psx->stx_mnt_id)
                return true;
        return sx->stx_dev_major != psx->stx_dev_major || sx->stx_dev_minor != psx->stx_dev_minor;
}

int rk_mount_root_at(int dfd, const char *name) {
        struct statx sx, psx;
        int r = rk_statx_at(dfd, name, RK_STATX_MOUNT, &sx);
        if (r < 0)
                return r;
        if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
                return is_mount_root(&sx);
        /* kernels without the attribute: compare with the parent */
        r = name ? rk_statx_at(dfd, NULL, RK_STATX_MOUNT, &psx)
                 : (statx(dfd, "..", AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, RK_STATX_MOUNT, &psx) < 0 ? -errno : 0);
        if (r < 0)
                return r;
        if (!name && sx.stx_ino == psx.stx_ino && sx.stx_dev_major == psx.stx_dev_major &&
            sx.stx_dev_minor == psx.stx_dev_minor)
                return 1;       /* ".." is itself: the top of the tree */
        return rk_statx_crosses_mount(&sx, &psx);
}
