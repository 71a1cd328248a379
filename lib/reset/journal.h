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

#include "certificate.h"
#include "manifest.h"

#define RK_JOURNAL_VERSION 1

/* A deleted file that a zero-free-space step found still held open by a
 * running process: its blocks were not free, so the fill did not reach them
 * (SPEC §3 "When it runs").  Kept in the journal and in the record of the
 * completed reset, so `resetctl status` names it after the run too. */
struct rk_unreached {
        char *where;                    /* the zero-free-space entry's path */
        char *path;                     /* as the holder saw it */
        uint64_t bytes;
        int pid;
        char *process;                  /* /proc/PID/comm */
};

/* Add a copy of *u; drop every one found by the entry `where` (a step that
 * runs again scans again). */
int rk_unreached_add(struct rk_unreached **v, size_t *n, const struct rk_unreached *u);
void rk_unreached_drop(struct rk_unreached *v, size_t *n, const char *where);
void rk_unreached_free(struct rk_unreached *v, size_t n);
/* A JSON array of them, the entry's path under where_key (the journal's
 * "where", the status's "filesystem"); NULL on ENOMEM. */
struct json_object;
struct json_object *rk_unreached_json(const struct rk_unreached *v, size_t n, const char *where_key);

struct rk_journal {
        /* the plan, frozen at the start */
        struct rk_manifest plan;        /* entries in execution order */
        char *then;                     /* "reboot", "poweroff", "none" */
        bool zeroize;
        uint64_t started;               /* realtime, seconds */
        /* progress */
        size_t next;                    /* index of the first entry not completed */
        uint64_t offset;                /* inside entry `current`: bytes already zeroed */
        int64_t reserve_orig;         /* ext4 reserved_clusters to restore, -1: none */
        char *reserve_fs;               /* the filesystem it belongs to, by stable identity
                                         * (rk_fs_identity(): its UUID), never by the kernel's
                                         * name: the sysfs name is found from the mount at resume */

        /* ---- zeroing identity (SPEC §3 "Every claim is checked") ---- */
        char *offset_target;            /* rk_zero_target_id() of the device or image that
                                         * `offset` was zeroed on; a resume on anything else
                                         * starts from 0.  NULL: none recorded */

        /* attempts (engine.c): a failed entry does not stop the reset; it is
         * recorded here and only the failed entries (and those not reached)
         * run again, at most RK_JOURNAL_MAX_ATTEMPTS times in all */
        bool failed_state;              /* "state": "failed": the last attempt ended with failures */
        unsigned attempts;              /* attempts started, the current one included */
        size_t *failed;                 /* indices of the entries that failed, ascending */
        size_t n_failed;
        size_t current;                 /* the entry `offset` belongs to (the one running) */

        /* the request (SPEC §3 "When it runs"): a plan recorded to be carried
         * out at the next boot by the early-boot program; nothing has
         * changed while it is only requested */
        bool requested;                 /* "state": "requested" */
        char *trigger;                  /* who asked: "command line", "button", "fleet", ... */

        /* deleted files held open that zeroing did not reach, so far */
        struct rk_unreached *unreached;
        size_t n_unreached;

        /* for the sanitization certificate (certificate.h): one record per
         * zeroed or erased medium, by entry, and what the removal steps
         * removed, so the certificate of a resumed reset still lists what
         * the first attempt did */
        struct rk_media *media;
        size_t n_media;
        struct rk_cert_removed removed;
};

#define RK_JOURNAL_MAX_ATTEMPTS 3

/* The failed list: add (keeps it sorted, no duplicates), drop, test. */
int rk_journal_set_failed(struct rk_journal *j, size_t idx, bool failed);
bool rk_journal_is_failed(const struct rk_journal *j, size_t idx);
/* Entry idx still has to run: it failed, or the plan never got that far. */
static inline bool rk_journal_pending(const struct rk_journal *j, size_t idx) {
        return idx >= j->next || rk_journal_is_failed(j, idx);
}

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
/* A power cut during a save leaves its temporary beside the journal: remove
 * it.  Only the reset holding the lock may (never a dry run, which must not
 * touch a temporary a running reset is about to rename). */
int rk_journal_cleanup(int root_fd, const char *path);

/* The record of the last completed reset, beside the journal (".status"
 * instead of ".journal"): written, durably, before the journal is removed,
 * so `resetctl status` can say "complete" and when. */
struct rk_reset_record {
        uint64_t started, finished;     /* realtime, seconds */
        unsigned attempts;
        size_t entries;
        /* save: borrowed from the journal; load: owned, rk_reset_record_free() */
        struct rk_unreached *unreached;
        size_t n_unreached;
};
void rk_reset_record_free(struct rk_reset_record *rec);
int rk_journal_record_path(const char *journal, char **ret);
int rk_journal_record_save(int root_fd, const char *journal, const struct rk_reset_record *rec);
/* -ENOENT: no reset completed (or the record is gone). */
int rk_journal_record_load(int root_fd, const char *journal, struct rk_reset_record *ret);
