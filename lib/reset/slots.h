/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slots.h — the A/B root slots of [slots] and the safety rules of factory
 * reset step 6 (zero the inactive slot).
 *
 * Slot devices are host paths (block devices, /dev/disk/by-partlabel
 * symlinks, or image files in tests), never inside --root.  A slot is
 * compared by identity, not by name: st_rdev for a block device, (st_dev,
 * st_ino) for an image file, so a symlink cannot make the active slot look
 * like another one.
 *
 * "Under the root" means: the device of the root filesystem (st_dev of the
 * root fd), the whole disk of that partition, every device below it
 * (/sys/dev/block/M:m/slaves, recursively: dm-crypt, LVM, md), and the
 * backing file of any loop device among them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

struct rk_slot {
        char name;              /* 'a' or 'b' */
        char *config;           /* as configured; NULL: not set */
        char *resolved;         /* after symlinks (realpath) */
        int error;              /* 0, or -errno of the lookup (-ENOENT: missing) */
        bool is_block;
        dev_t rdev;             /* block device */
        dev_t dev;              /* image file: identity */
        ino_t ino;
        uint64_t size;          /* bytes; 0 when unknown */
        bool under_root;        /* backs the root filesystem */
};

#define RK_UNDER_ROOT_MAX 32

struct rk_slots {
        struct rk_slot slot[2];
        int active;             /* 0 = a, 1 = b, -1: undecided */
        bool active_auto;       /* decided by `active = auto` */
        int target;             /* the slot preflight accepted, -1 before */
        dev_t root_dev;
        /* what lies under the root (see above) */
        dev_t under_dev[RK_UNDER_ROOT_MAX];
        size_t n_under_dev;
        struct { dev_t dev; ino_t ino; } under_file[RK_UNDER_ROOT_MAX];
        size_t n_under_file;
};

void rk_slots_done(struct rk_slots *s);

/* Add dev and everything below it (see "under the root" above) to
 * s->under_dev / under_file; is a block device (rdev) or an image file
 * (dev, ino) among them?  crypto-erase's preflight uses these for the
 * root and for each filesystem a later step needs. */
void rk_slots_add_under(struct rk_slots *s, dev_t dev);
bool rk_slots_is_under(const struct rk_slots *s, bool is_block, dev_t rdev, dev_t dev, ino_t ino);

/* Pure: the mount point of the first /proc/self/mountinfo line on device
 * `dev` (major:minor field), or of one whose device is_part(dev) says is a
 * partition of it.  1 found (mountpoint copied), 0 not, -EINVAL bad text. */
int rk_mountinfo_find(const char *text, dev_t dev, bool (*is_part)(dev_t part, dev_t whole),
                      char *mountpoint, size_t len);

/* Resolve both slots and the devices under root_fd; decide the active slot.
 * Does not refuse anything by itself (a missing slot is recorded in
 * slot[i].error). */
int rk_slots_resolve(const struct rk_config *cfg, int root_fd, struct rk_slots *s, char *err, size_t errlen);

/* Preflight of `zero-partition`: want = -1 for the inactive slot (what the
 * manifest says), or 0/1 for an explicit one (tests, tools).  Refuses,
 * with a reason in err and nothing changed, unless the target is the
 * configured inactive slot, exists, is a block device or regular file, is
 * not the active slot (even through a symlink), is not under the root, is
 * not mounted or held (mountinfo, holders, loop devices, O_EXCL), and its
 * boot metadata can be removed without touching the active slot's (the
 * grubenv block parses, no key or file belongs to both slots).  Returns
 * the target index (also in s->target). */
int rk_slots_preflight(const struct rk_config *cfg, int root_fd, int want, struct rk_slots *s,
                       char *err, size_t errlen);

/* Open the preflighted target for zeroing: O_RDWR, O_EXCL on a block
 * device (held for as long as the fd is open, so nothing can mount it
 * meanwhile), then check it is still the same device or file. */
int rk_slot_open_target(const struct rk_slots *s, char *err, size_t errlen);

struct rk_boot_meta_result {
        size_t keys_removed;
        unsigned files_removed;
};

/* Remove the target slot's boot metadata: its keys in the grubenv block
 * (atomic rewrite) and the files its boot-files globs match inside the
 * root.  The active slot's keys and files are never touched.  Idempotent:
 * a second run finds nothing and changes nothing. */
int rk_slot_remove_boot_metadata(const struct rk_config *cfg, int root_fd, int target,
                                 struct rk_boot_meta_result *res, char *err, size_t errlen);
