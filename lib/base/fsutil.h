/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsutil.h — fd-relative file primitives: bounded reads, atomic durable
 * writes, openat2 wrappers, directory creation without following links. */
#pragma once

#include <dirent.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <stdbool.h>

#include "util.h"

/* The name prefix of every temporary resetkit makes (atomic writes, the
 * store's candidate): what a crash may leave, and what
 * rk_remove_stale_temps() removes. */
#define RK_TEMP_PREFIX ".#rk-"

/* openat2(2); falls back to nothing: a kernel without it (< 5.6) is refused
 * rather than silently resolved unsafely. */
int rk_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Strict: no symlink anywhere, never above dirfd.  For everything that
 * writes or removes. */
#define RK_RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
/* Chroot-like: absolute symlinks inside an image resolve against its root.
 * For reading configuration inside --root. */
#define RK_RESOLVE_ROOTED (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

/* Read a whole file, at most max bytes (-EFBIG beyond).  The buffer is NUL
 * terminated.  Refuses anything but a regular file (-EISDIR, -EINVAL). */
int rk_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
int rk_read_at(int dirfd, const char *path, uint64_t resolve, size_t max, char **ret, size_t *ret_len);

/* Write `name` in dirfd atomically and durably: a temporary file in the same
 * directory, write, fsync, rename over name, fsync the directory.  A crash at
 * any instant leaves the old or the new content, never a mix, never none.
 * A failure removes the temporary file. */
int rk_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* The same with the owner and an extended attribute (the SELinux label) set
 * on the temporary before it becomes visible: account files are root:shadow
 * 0640.  The temporary is 0600 until then, never readable by others. */
struct rk_atomic_attrs {
        mode_t mode;
        bool chown;                     /* set uid/gid */
        uid_t uid;
        gid_t gid;
        const char *xattr_name;         /* NULL: none */
        const void *xattr_value;
        size_t xattr_len;
};
int rk_write_atomic_attrs_at(int dirfd, const char *name, const void *data, size_t len,
                             const struct rk_atomic_attrs *a);
/* Same, but the data comes from another fd (copied in full). */
int rk_copy_atomic_at(int dirfd, const char *name, int src_fd, mode_t mode);
/* Append everything src_fd holds to `name` in dirfd (created with mode,
 * never through a symlink), then fsync it (and dirfd when it was created). */
int rk_append_copy_at(int dirfd, const char *name, int src_fd, mode_t mode);

int rk_fsync_dir(int dirfd);
int rk_write_all(int fd, const void *buf, size_t len);

/* mkdir -p below dirfd, refusing symlinks on the way; returns an O_DIRECTORY
 * fd of the last component. */
int rk_mkdir_p_at(int dirfd, const char *relpath, mode_t mode);

/* A directory stream of its own over dirfd, from the first entry: on a
 * dup, so closedir() leaves dirfd open (it is still in use for the *at()
 * calls on the entries).  0 or a negative errno. */
int rk_opendir_at(int dirfd, DIR **ret);

/* Remove temporaries a crashed rk_write_atomic_at() left in dirfd. */
int rk_remove_stale_temps(int dirfd);
/* Unlink every entry of dirfd whose name starts with prefix (leftovers of a
 * crash); fsync the directory when something went.  Returns the count. */
int rk_remove_prefixed(int dirfd, const char *prefix);

/* The directory that holds `path` (relative to dirfd, no symlinks): created
 * with its parents and `mode` when mode != 0, else only opened.  *ret_name
 * points at the last component inside path. */
int rk_open_parent_at(int dirfd, const char *path, mode_t mode, const char **ret_name);
/* The same, only opening, with the given openat2 RESOLVE_* flags (e.g.
 * RK_RESOLVE_STRICT | RESOLVE_NO_XDEV).  The one way every module opens
 * the parent of a relative path. */
int rk_open_parent_resolve(int dirfd, const char *path, uint64_t resolve, const char **ret_name);

/* The sysfs directory of block device dev: the realpath of
 * /sys/dev/block/MAJ:MIN (e.g. /sys/devices/virtual/block/loop0/loop0p1;
 * its last component is the kernel's name).  NULL with errno set. */
char *rk_sysfs_block_dir(dev_t dev);
/* The loop devices (kernel names, "loop0" ...) whose backing file is the
 * file (dev, ino), from sysfs_fd (an O_DIRECTORY fd of /sys, or of a tree
 * laid out like it), pushed to *ret.  0 (none is no error) or -ENOMEM. */
int rk_sysfs_loops_of(int sysfs_fd, dev_t dev, ino_t ino, char ***ret);
