/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mount.h — "is this another mounted filesystem?", the one answer every
 * removal and zeroing relies on.
 *
 * st_dev alone misses bind mounts (a bind mount of a directory of the same
 * filesystem, or of one outside the root, has the same device number), so
 * the answer comes from the kernel's own mount bookkeeping: the
 * STATX_ATTR_MOUNT_ROOT attribute (5.8+), the mount id (STATX_MNT_ID, 5.8+),
 * and only as a last resort the device number. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

/* What the primitives ask statx for. */
#define RK_STATX_MOUNT (STATX_TYPE | STATX_MODE | STATX_INO | STATX_MNT_ID)

/* statx(2) of name in dfd (NULL: dfd itself) that never follows a symlink
 * and never triggers an automount.  0 or a negative errno. */
int rk_statx_at(int dfd, const char *name, unsigned mask, struct statx *ret);

/* Pure: is sx, seen from its parent directory psx, the root of a mount
 * other than the parent's?  True when the kernel marks it a mount root,
 * when its mount id differs, or when it lies on another device. */
bool rk_statx_crosses_mount(const struct statx *sx, const struct statx *psx);

/* Is name in dfd (NULL: dfd itself, compared with its "..") the root of a
 * mount?  1 yes, 0 no, negative errno.  The top of the whole tree counts
 * as a mount root. */
int rk_mount_root_at(int dfd, const char *name);
