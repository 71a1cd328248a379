/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zero.h — zeroization: a whole device or image file (factory reset step 6)
 * and the free space of a mounted filesystem (step 7), each verified by
 * reading it back.
 *
 * Methods, fastest first: BLKZEROOUT (the device or the block layer writes
 * zeros, WRITE ZEROES where the hardware has it; for free space, on the
 * blocks a fallocate()d fill holds, found with FIEMAP), aligned O_DIRECT zero
 * writes (no page cache, so "written" means "sent to the device"), buffered
 * zero writes + fdatasync (filesystems without O_DIRECT).  Never
 * fallocate(ZERO_RANGE/PUNCH_HOLE) on a file as the zeroing: that only
 * marks extents, the old data stays on the disk (the free-space fill's
 * fallocate() only reserves the blocks the device then zeroes).
 *
 * Claim, in SPEC §3's words: one verified zero pass is NIST SP 800-88 Clear
 * for what is reachable (the device's addressable blocks, or what the
 * filesystem reports free); flash cannot reach blocks the drive has
 * remapped, and ext4 keeps a few clusters that no file can take. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

enum rk_zero_method {
        RK_ZERO_NONE,
        RK_ZERO_BLKZEROOUT,
        RK_ZERO_DIRECT,         /* aligned O_DIRECT zero writes */
        RK_ZERO_BUFFERED,       /* buffered zero writes + fdatasync */
        /* the device's own erase (erase.c), SP 800-88 Purge */
        RK_ZERO_NVME_FORMAT,    /* NVMe Format NVM, user data erase (SES 1) */
        RK_ZERO_NVME_CRYPTO,    /* NVMe Format NVM, cryptographic erase (SES 2) */
        RK_ZERO_SECDISCARD,     /* BLKSECDISCARD: the device's secure erase */
};
const char *rk_zero_method_name(enum rk_zero_method m);

/* With no chunk size given, chunks are sized by time (rk_zero_next_chunk):
 * they start at RK_ZERO_CHUNK_DEFAULT and aim at one checkpoint (flush +
 * journal write) every RK_ZERO_CHECKPOINT_NS. */
#define RK_ZERO_CHUNK_DEFAULT (128ULL << 20)
#define RK_ZERO_CHUNK_MIN (16ULL << 20)
#define RK_ZERO_CHUNK_MAX (64ULL << 30)
#define RK_ZERO_CHECKPOINT_NS 1000000000ULL
/* nonzero data found by the read-back */
#define RK_ZERO_EVERIFY EBADMSG

/* ---- stable identity (SPEC §3: the journal records targets by stable
 * identity, never by a kernel name such as loop0 that can change across a
 * reboot) ---- */

#define RK_ZERO_ID_MAX 320

/* The filesystem fd lies on: "uuid:<UUID>" from FS_IOC_GETFSUUID (the
 * superblock's UUID, Linux 6.5+), else "fsid:<hex>" from statfs f_fsid.
 * ext4 derives f_fsid from its UUID too, so both survive a reboot and a
 * renamed device; a filesystem that derives f_fsid from the device number
 * only makes a journaled value look foreign (it is then not used). */
int rk_fs_identity(int fd, char *buf, size_t len);

/* What a zeroing target is, as one line of text for the journal:
 *   "file fs=<rk_fs_identity> dev=M:m ino=N size=N"     an image file
 *   "block dev=M:m size=N[ stable=KIND:VALUE]"           a block device
 * stable is the first the kernel knows of: dm-uuid, the partition's
 * PARTUUID (uevent), a loop device's backing file (its filesystem's
 * identity, inode and offset), the disk's wwid or serial (a partition adds
 * its start sector). */
int rk_zero_target_id(int fd, char *buf, size_t len);

/* Pure: do two identities name the same target?  Same kind and size, and
 * for a file the same inode on the same filesystem; for a block device the
 * same stable ID when both have one (a loop device renumbered after a
 * reboot is still the same), else the same device number. */
bool rk_zero_id_same(const char *recorded, const char *current);

/* Pure: where to resume zeroing `current`, given the offset journaled for
 * the target `recorded` (NULL: none).  The offset when both name the same
 * target, else 0 with the reason in why (empty when there is nothing to
 * say). */
uint64_t rk_zero_resume_offset(uint64_t offset, const char *recorded, const char *current,
                               char *why, size_t whylen);

/* ---- verification plan (pure) ----
 * sample: at least 10 % of the bytes in at least 1000 places, one place in
 * each of n equal strata at a seeded random aligned offset, so the places
 * never overlap and cover the whole device; full: everything in large
 * reads.  A region too small to sample that way is read in full. */
struct rk_verify_plan {
        uint64_t size, align;           /* bytes; reads are multiples of align */
        bool full;
        uint64_t n_places;              /* full: number of reads */
        uint64_t place_len;             /* bytes per place (last may be shorter in full mode) */
        uint64_t stratum;               /* sample: bytes per stratum (last one takes the rest) */
        uint64_t seed;
        uint64_t bytes;                 /* total bytes the plan reads */
};
void rk_verify_plan_init(struct rk_verify_plan *p, uint64_t size, uint64_t align,
                         enum rk_verify mode, uint64_t seed);
/* The i-th read (0 <= i < n_places): offset and length, aligned, in bounds,
 * in increasing order. */
void rk_verify_plan_place(const struct rk_verify_plan *p, uint64_t i, uint64_t *off, uint64_t *len);

struct rk_verify_result {
        bool done;                      /* read back and found all zero: only then "verified" */
        bool full;
        bool direct;                    /* read with O_DIRECT (else cache dropped first) */
        uint64_t bytes, places, nsec;
        bool nonzero;                   /* failure: */
        uint64_t nonzero_offset;        /*   first nonzero byte found */
        int error;                      /*   or the read error (-errno) */
};

typedef void (*rk_progress_fn)(void *userdata, uint64_t done, uint64_t total);

/* Read back [0, size) of fd per mode.  0 all zero; -RK_ZERO_EVERIFY with the
 * offset in err and res; other -errno for I/O errors. */
int rk_zero_verify(int fd, uint64_t size, enum rk_verify mode, uint64_t seed,
                   rk_progress_fn progress, void *userdata,
                   struct rk_verify_result *res, char *err, size_t errlen);

/* The same over the bytes an extent map (extents.h) places on fd (a block
 * device; the map's logical offsets are what the plan samples, the
 * reported offsets are fd's).  map->total must be whole blocks of fd. */
struct rk_extent_map;
int rk_zero_verify_mapped(int fd, const struct rk_extent_map *map, enum rk_verify mode, uint64_t seed,
                          struct rk_verify_result *res, char *err, size_t errlen);

/* ---- whole device or image file ---- */

/* A failed read-back (a nonzero byte, or a read error) zeroes the whole
 * target again from offset 0 and reads it back again, at most this many
 * more times; then the step fails.  Bounded: a device that keeps failing
 * is reported, never retried forever and never called verified. */
#define RK_ZERO_REPASS_MAX 2

struct rk_zero_ops {
        /* After every chunk, once it is zeroed AND flushed (fdatasync):
         * every byte below offset is zero on stable storage.  The engine
         * journals offset and passes it back as `start` on resume.  Also
         * called with 0 when a failed read-back restarts the zeroing, so a
         * power cut from then on starts again from 0.  A negative return
         * aborts zeroing with that error. */
        int (*checkpoint)(void *userdata, uint64_t offset);
        /* Before zero pass `pass` (1..RK_ZERO_REPASS_MAX) starts again from
         * 0; why: the failed read-back.  Optional (the log). */
        void (*repass)(void *userdata, unsigned pass, const char *why);
        rk_progress_fn progress;
        void *userdata;
};

struct rk_zero_stats {
        enum rk_zero_method method;
        bool is_block;
        bool hw_zeroes;                 /* BLKZEROOUT: the queue has WRITE ZEROES (else the kernel writes zero pages) */
        uint64_t size;                  /* of the device or file */
        uint64_t start;                 /* where this run began (resume offset, aligned down) */
        uint64_t written;               /* bytes zeroed by this run, all passes */
        uint64_t nsec;
        unsigned repasses;              /* passes from 0 after a failed read-back */
        struct rk_verify_result first_failure;  /* the read-back that caused the first one */
        struct rk_verify_result verify; /* the last read-back */
        /* erase.c: the device's own erase that ran before (RK_ZERO_NONE:
         * none), and what chose it or why none could run */
        enum rk_zero_method erase;
        char erase_note[384];
};

/* Zeros over [off, off + len) of fd (no flush: the caller's), and the
 * read of that range: 0 all zero, -EBADMSG not, or the read error.  For
 * small regions (a LUKS header's keyslot areas): no method choice, no
 * sampling. */
int rk_zero_range(int fd, uint64_t off, uint64_t len);
int rk_zero_range_check(int fd, uint64_t off, uint64_t len);

/* Size of what fd is: block device (BLKGETSIZE64) or regular file. */
int rk_zero_target_size(int fd, bool *ret_is_block, uint64_t *ret_size, unsigned *ret_align);

/* The next chunk after one of `chunk` bytes took `elapsed_ns` (zeroing,
 * flush and checkpoint): doubled when that was under half the checkpoint
 * interval, halved when over twice it, within [CHUNK_MIN, CHUNK_MAX].
 * Pure. */
uint64_t rk_zero_next_chunk(uint64_t chunk, uint64_t elapsed_ns);

/* Zero [start, end of device/file) of fd (opened O_RDWR; a block device
 * best with O_EXCL).  Never extends a file.  chunk 0 = sized by time (see
 * above), else that fixed size.  start is
 * aligned down to the device's block size, so a resumed run re-zeroes at
 * most one block before the recorded offset. */
int rk_zero_device(int fd, uint64_t start, uint64_t chunk, const struct rk_zero_ops *ops,
                   struct rk_zero_stats *st, char *err, size_t errlen);

/* rk_zero_device() from start, then rk_zero_verify() of the whole target
 * per mode and seed; a failed read-back zeroes it again from 0 (after
 * ops->checkpoint(0) and ops->repass) and reads it back again, at most
 * RK_ZERO_REPASS_MAX times.  0 only when the last read-back passed
 * (st->verify.done); a resumed run whose offset says "all done" is
 * therefore still zeroed again when what the device holds now is not
 * zero. */
int rk_zero_device_verified(int fd, uint64_t start, uint64_t chunk, enum rk_verify mode, uint64_t seed,
                            const struct rk_zero_ops *ops, struct rk_zero_stats *st, char *err, size_t errlen);

/* ---- free space of a mounted filesystem ---- */

#define RK_FILL_PREFIX ".resetkit-fill."

/* Open `path` (inside root_fd, no symlinks) and require it to be a mount
 * point; with refuse_dev != 0 also refuse the filesystem with that st_dev
 * (the host's /, when --root was given).  Returns an O_DIRECTORY fd. */
int rk_fill_open_mount(int root_fd, const char *path, dev_t refuse_dev, char *err, size_t errlen);

/* ext4 keeps reserved_clusters even from root; the fill lowers it to 0 and
 * puts it back.  The value to put back is journaled with the filesystem's
 * stable identity (rk_fs_identity(), or "dev:M:m" where a filesystem has
 * none), never with the kernel's name (/sys/fs/ext4/loop0 may be loop5's
 * after a reboot): the sysfs name is found again from the mount point,
 * and a journaled value is used only on the filesystem it names.  (The
 * value lives in memory: a remount resets it, so after a reboot the
 * restore is a no-op; it matters after a crash without one.) */
#define RK_FS_ID_MAX 80

struct rk_fill_ops {
        /* Called before ext4's reserved_clusters is lowered, with the
         * filesystem's identity and the value to restore: the engine
         * journals both so rk_fill_recover() can put it back after a crash.
         * A negative return aborts before anything changed. */
        int (*save_reserve)(void *userdata, const char *fs_id, uint64_t value);
        /* Before fill pass `pass` (1..RK_ZERO_REPASS_MAX) after a failed
         * read-back; optional (the log). */
        void (*repass)(void *userdata, unsigned pass, const char *why);
        rk_progress_fn progress;
        void *userdata;
};

struct rk_fill_opts {
        enum rk_verify verify;
        uint64_t seed;                  /* sampling seed */
        dev_t refuse_dev;               /* see rk_fill_open_mount() */
        int64_t reserve_orig;           /* resume: value journaled by save_reserve, else -1 */
        const char *reserve_fs;         /*   and the fs_id it was journaled with */
        uint64_t max_write;             /* 0 = default (8 MiB); also caps one fallocate/BLKZEROOUT */
        bool write_only;                /* never the device's zeroing: write zeros through the filesystem */
};

struct rk_fill_stats {
        enum rk_zero_method method;     /* BLKZEROOUT: the device zeroed the fill's blocks */
        bool hw_zeroes;                 /*   with the queue's WRITE ZEROES (else the kernel's zero pages) */
        char device_why[160];           /* why the fill wrote zeros instead, "" when it did not try */
        bool tmpfile;                   /* O_TMPFILE (else named, unlinked at once) */
        uint64_t free_before;           /* statvfs, after lowering the reserve */
        uint64_t bytes;                 /* written and kept until release (the last pass) */
        unsigned files;
        uint64_t nsec;
        char fs_name[64];               /* ext4 sysfs name now, "" if not ext4 */
        char fs_id[RK_FS_ID_MAX];       /* its stable identity */
        bool reserve_lowered;
        bool reserve_restored;
        bool reserve_foreign;           /* the journaled value named another filesystem: not used */
        uint64_t reserve_orig;
        unsigned repasses;              /* fills again after a failed read-back */
        struct rk_verify_result first_failure;
        struct rk_verify_result verify; /* the last read-back */
        int trim;                       /* 0 done, -EOPNOTSUPP etc. */
        int journal;                    /* ext4's journal checkpointed and zeroed: 0, or why not; 1 not ext4 */
        int tree_home;                  /* the fill's extent-tree blocks written home before the release: 0,
                                         * or why not; 1 not ext4 or no fill */
        uint64_t trimmed;
        unsigned stale_removed;         /* leftover named fill files removed */
};

/* Step 7 for one filesystem: refuse unless path is a mount point inside
 * root_fd; remove a leftover named fill file; lower ext4 reserved_clusters
 * (after save_reserve); fill with zeros until ENOSPC; fdatasync; verify;
 * (on ext4 over a block device the fill first reserves the free space with
 * fallocate(), finds its blocks with FIEMAP, has the device zero them with
 * BLKZEROOUT, flushes the device and reads those blocks back on it; where
 * any of that is missing it writes zeros through the filesystem);
 * release; a failed read-back fills and verifies again, at most
 * RK_ZERO_REPASS_MAX more times; restore the reserve; FITRIM.  The fill is
 * released and the reserve restored on every return path. */
int rk_zero_free_space(int root_fd, const char *path, const struct rk_fill_opts *opts,
                       const struct rk_fill_ops *ops, struct rk_fill_stats *st,
                       char *err, size_t errlen);

struct rk_fill_recovery {
        unsigned removed;               /* leftover named fill files */
        bool reserve_restored;          /* reserve_orig written back ... */
        char fs_name[64];               /*   to the filesystem's sysfs name now */
        bool reserve_foreign;           /* the mount holds another filesystem: not written */
        char fs_id[RK_FS_ID_MAX];       /*   (its identity) */
};

/* After a crash during step 7: remove leftover named fill files below the
 * mount point and, when fs_id names the filesystem mounted there now,
 * write reserve_orig (>= 0) back to its reserved_clusters, found by its
 * current sysfs name.  Idempotent. */
int rk_fill_recover(int root_fd, const char *path, const char *fs_id, int64_t reserve_orig,
                    struct rk_fill_recovery *rec, char *err, size_t errlen);

/* One log line each, with bytes, seconds, MiB/s, method, verification, and
 * the honest claim. */
void rk_zero_describe(const struct rk_zero_stats *st, const char *what, char *buf, size_t len);
void rk_fill_describe(const struct rk_fill_stats *st, const char *what, char *buf, size_t len);
