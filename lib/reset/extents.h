/* SPDX-License-Identifier: GPL-2.0-or-later */
/* extents.h — where a file's blocks are on the block device under its
 * filesystem, and that device opened: what lets the free-space fill have
 * the device zero the blocks it reserved (zero.c) instead of writing every
 * zero through the filesystem. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* One run of a file's blocks: logical bytes [logical, logical + length)
 * are device bytes [physical, physical + length). */
struct rk_extent {
        uint64_t logical, physical, length;
};

/* The extents of several files laid end to end: logical offsets run from
 * 0 to total without a gap, file after file, as the read-back's plan
 * counts them. */
struct rk_extent_map {
        struct rk_extent *v;
        size_t n, cap;
        uint64_t total;
};

void rk_extent_map_done(struct rk_extent_map *m);

/* Append the extents of [0, size) of fd (FIEMAP) to m.  Refused, with m
 * unchanged: -EOPNOTSUPP when the filesystem has no FIEMAP or an extent is
 * not plain blocks of the device (inline data, delayed allocation, encoded,
 * encrypted, shared, unknown location); -ERANGE when [0, size) has a hole
 * (a block that is not the file's cannot be counted as zeroed). */
int rk_extent_map_add(struct rk_extent_map *m, int fd, uint64_t size);

/* The index of the extent holding logical offset off (< m->total). Pure. */
size_t rk_extent_map_find(const struct rk_extent_map *m, uint64_t off);

/* Open the block device that holds the filesystem of fd (its st_dev, by
 * the kernel's name: rk_sysfs_block_dir()), with flags (O_CLOEXEC
 * added), and check the node opened is that device.  -ENODEV when the
 * filesystem is not on one block device (tmpfs, overlay, btrfs). */
int rk_fs_block_device_open(int fd, int flags);

/* Commit the filesystem of fd (syncfs) and drop the clean cached pages of
 * its block device.  ext4 zeroes a new directory block only when the
 * kernel has no uptodate copy of it: a cached page of the device (a raw
 * read of it: blkid, a backup, fsck; the blocks of a directory removed a
 * moment ago) lends its old bytes to the unused part of the new block.
 * Blocks in use keep those bytes where no free-space fill reaches.
 * 0, -ENODEV when the filesystem is not on one block device (nothing is
 * cached for it), or -errno. */
int rk_fs_drop_device_cache(int fd);
