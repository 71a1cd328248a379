/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "extents.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fault.h"
#include "fsutil.h"
#include "util.h"

#define FIEMAP_BATCH 256

/* Any of these and the extent is not simply "these device blocks hold
 * this file's bytes": zeroing the device there would not be the file's
 * zeros (or would be someone else's data). */
#define EXTENT_REFUSED (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED | \
                        FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_INLINE | \
                        FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_SHARED)

void rk_extent_map_done(struct rk_extent_map *m) {
        free(m->v);
        *m = (struct rk_extent_map) {};
}

static int map_push(struct rk_extent_map *m, uint64_t logical, uint64_t physical, uint64_t length) {
        if (m->n > 0) {
                struct rk_extent *last = &m->v[m->n - 1];
                if (last->logical + last->length == logical && last->physical + last->length == physical) {
                        last->length += length;
                        return 0;
                }
        }
        if (m->n == m->cap) {
                size_t ncap = m->cap ? m->cap * 2 : 64;
                struct rk_extent *v = realloc(m->v, ncap * sizeof *v);
                if (!v)
                        return -ENOMEM;
                m->v = v;
                m->cap = ncap;
        }
        m->v[m->n++] = (struct rk_extent) { logical, physical, length };
        return 0;
}

/* One FIEMAP batch from `start`; *pos advances to the end of the last
 * extent taken, *last says the file has no more. */
static int fiemap_batch(int fd, struct rk_extent_map *m, uint64_t base, uint64_t size, uint64_t *pos, bool *last) {
        size_t len = sizeof(struct fiemap) + FIEMAP_BATCH * sizeof(struct fiemap_extent);
        _cleanup_free_ struct fiemap *fm = calloc(1, len);
        if (!fm)
                return -ENOMEM;
        fm->fm_start = *pos;
        fm->fm_length = size - *pos;
        fm->fm_flags = FIEMAP_FLAG_SYNC;
        fm->fm_extent_count = FIEMAP_BATCH;
        int f = RK_FAIL("zero:fiemap");
        if (f < 0)
                errno = -f;
        if (f < 0 || ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
                return errno == ENOTTY || errno == EINVAL ? -EOPNOTSUPP : -errno;
        if (fm->fm_mapped_extents == 0) {
                *last = true;
                return 0;
        }
        for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
                const struct fiemap_extent *e = &fm->fm_extents[i];
                if (e->fe_flags & EXTENT_REFUSED)
                        return -EOPNOTSUPP;
                if (e->fe_logical != *pos)
                        return -ERANGE;         /* a hole before this extent */
                uint64_t l = e->fe_length;
                if (e->fe_logical + l > size)
                        l = size - e->fe_logical;       /* preallocated past the end: not counted */
                int r = map_push(m, base + e->fe_logical, e->fe_physical, l);
                if (r < 0)
                        return r;
                *pos = e->fe_logical + l;
                if ((e->fe_flags & FIEMAP_EXTENT_LAST) || *pos >= size) {
                        *last = true;
                        return 0;
                }
        }
        return 0;
}

int rk_extent_map_add(struct rk_extent_map *m, int fd, uint64_t size) {
        size_t n0 = m->n;
        struct rk_extent keep = n0 ? m->v[n0 - 1] : (struct rk_extent) {};
        uint64_t pos = 0;
        bool last = false;
        int r = 0;
        while (pos < size && !last && r >= 0)
                r = fiemap_batch(fd, m, m->total, size, &pos, &last);
        if (r >= 0 && pos < size)
                r = -ERANGE;    /* the file ends in a hole */
        if (r < 0) {
                m->n = n0;      /* unchanged: the last extent may have been merged into */
                if (n0)
                        m->v[n0 - 1] = keep;
                return r;
        }
        m->total += size;
        return 0;
}

size_t rk_extent_map_find(const struct rk_extent_map *m, uint64_t off) {
        size_t lo = 0, hi = m->n;
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (m->v[mid].logical <= off)
                        lo = mid;
                else
                        hi = mid;
        }
        return lo;
}

int rk_fs_block_device_open(int fd, int flags) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (major(st.st_dev) == 0)
                return -ENODEV;         /* an anonymous device: tmpfs, overlay, btrfs */
        /* the kernel's name (sysfs' last component) is devtmpfs' node name */
        _cleanup_free_ char *dir = rk_sysfs_block_dir(st.st_dev);
        const char *name = dir ? strrchr(dir, '/') : NULL;
        if (!name || !name[1])
                return -ENODEV;
        char path[96];
        snprintf(path, sizeof path, "/dev/%.80s", name + 1);
        for (char *c = path; *c; c++)
                if (*c == '!')
                        *c = '/';       /* sysfs spells cciss/c0d0 cciss!c0d0 */
        _cleanup_close_ int dev = open(path, flags | O_CLOEXEC | O_NOFOLLOW);
        if (dev < 0)
                return -errno;
        struct stat ds;
        if (fstat(dev, &ds) < 0)
                return -errno;
        /* a stale or foreign node under that name is not our device */
        if (!S_ISBLK(ds.st_mode) || ds.st_rdev != st.st_dev)
                return -ENODEV;
        return RK_TAKE_FD(dev);
}

int rk_fs_drop_device_cache(int fd) {
        /* syncfs first: blocks freed by the running transaction are still
         * the journal's, and a dirty page is not dropped */
        if (syncfs(fd) < 0)
                return -errno;
        _cleanup_close_ int bdev = rk_fs_block_device_open(fd, O_RDONLY);
        if (bdev < 0)
                return bdev;
        int r = posix_fadvise(bdev, 0, 0, POSIX_FADV_DONTNEED);
        return -r;
}
