/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal.h — the factory reset's power-loss journal.
 *
 * One small JSON file (default /var/lib/resetkit/factory-reset.journal inside
 * the root), replaced atomically (temp, fsync, rename, fsync dir) after every
 * completed step and at every zeroing checkpoint.  It holds the whole plan
 * (the sorted manifest entries and the options), so a resume never depends
 * on files the reset itself may already have removed (drop-ins in /etc, the
 * configuration file), plus how far the plan got.  It is deleted last. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"

#define RK_JOURNAL_VERSION 1

struct rk_journal {
        /* the plan, frozen at the start */
        struct rk_manifest plan;        /* entries in execution order */
        char *then;                     /* "reboot", "poweroff", "none" */
        bool zeroize;
        uint64_t started;               /* realtime, seconds */
        /* progress */
        size_t next;                    /* index of the first entry not completed */
        uint64_t offset;                /* inside entry `next`: bytes already zeroed */
        int64_t reserve_orig;         /* ext4 reserved_clusters to restore, -1: none */
        char *reserve_fs;               /* the filesystem it belongs to, by stable identity
                                         * (rk_fs_identity(): its UUID), never by the kernel's
                                         * name: the sysfs name is found from the mount at resume */

        /* ---- zeroing identity (SPEC §3 "Every claim is checked") ---- */
        char *offset_target;            /* rk_zero_target_id() of the device or image that
                                         * `offset` was zeroed on; a resume on anything else
                                         * starts from 0.  NULL: none recorded */
};

void rk_journal_init(struct rk_journal *j);
void rk_journal_free(struct rk_journal *j);

/* Pure: JSON text <-> struct.  Parse errors name the problem in err. */
int rk_journal_format(const struct rk_journal *j, char **ret);
int rk_journal_parse(struct rk_journal *j, const char *text, char *err, size_t errlen);

/* File operations relative to the root fd; path is the absolute in-root path
 * from [reset] journal.  load: -ENOENT when there is no reset in progress. */
int rk_journal_load(int root_fd, const char *path, struct rk_journal *j, char *err, size_t errlen);
int rk_journal_save(int root_fd, const char *path, const struct rk_journal *j);
int rk_journal_remove(int root_fd, const char *path);
