/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store.h — the configuration store (SPEC §2): running, backups, rescue.
 *
 * On disk, below [store] dir inside the root (0700, never a symlink):
 *
 *   objects/<sha256>.json   every stored document, named by its SHA-256,
 *                           written once, never modified (0600)
 *   index.json              which object is running, the backups (newest
 *                           first) and the rescue, each with its SHA-256,
 *                           size, commit time (UTC) and origin (0600)
 *   .lock                   writers hold flock(LOCK_EX) on it
 *
 * A commit writes the new object, then replaces index.json (temp, fsync,
 * rename, fsync dir): that rename is the single atomic switch, so a power cut
 * at any instant leaves the old or the new index, and both only name objects
 * that were durable before the index was written.  Objects the index no
 * longer names are removed afterwards; a crash before that leaves orphans and
 * temporaries, which the next writer removes.
 *
 * Integrity: every load re-hashes the object and compares hash and size with
 * the index; a mismatch names the file and the document is never returned.
 * Readers take no lock: they retry when a writer replaced the index between
 * their reading it and opening an object.
 *
 * Errors are negative errno values, logged with a message that names the
 * file and says what was left unchanged.  The ones with a meaning here:
 *   -EBADMSG   a stored configuration (or index.json) fails its check
 *   -EILSEQ    a candidate document is invalid: not JSON, empty, over
 *              RK_STORE_MAX_SIZE, or validate-command refused it
 *   -ENOENT    no such configuration (no running, no rescue, no backup N)
 *   -EBUSY     another writer holds the lock (bounded wait expired)
 *   -EPERM     the store directory is unsafe (a symlink on its path,
 *              group/world-writable, foreign owner): refused, untouched
 * and the commit functions return RK_STORE_APPLY_FAILED (> 0) when the commit
 * is done and durable but apply-command failed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ctx.h"
#include "sha256.h"

#define RK_STORE_MAX_SIZE (16U * 1024 * 1024)
#define RK_STORE_INDEX "index.json"
#define RK_STORE_OBJECTS "objects"
#define RK_STORE_LOCK ".lock"
/* how long a writer waits for the lock; RESETKIT_LOCK_TIMEOUT_MS overrides */
#define RK_STORE_LOCK_TIMEOUT_MS 10000
/* validate-command and apply-command get this long */
#define RK_STORE_COMMAND_TIMEOUT_MS (5 * 60 * 1000)

/* Returned (positive) by commit functions: committed, apply-command failed. */
#define RK_STORE_APPLY_FAILED 1

enum {
        RK_STORE_WRITE = 1 << 0,        /* take the writer lock; clean up after crashed writers */
        RK_STORE_CREATE = 1 << 1,       /* create the store directory when missing */
        RK_STORE_NO_COMMANDS = 1 << 2,  /* skip validate-command and apply-command (logged) */
        RK_STORE_QUIET = 1 << 3,        /* log nothing: the caller reports (preflight's health check) */
};

struct rk_store_entry {
        bool present;
        char sha256[RK_SHA256_HEX_LEN + 1];
        uint64_t size;
        time_t time;            /* commit time, UTC seconds */
        char *origin;           /* "commit FILE", "rollback 2", "rescue load", "factory", ... */
        int status;             /* set by rk_store_verify(): 0 intact, -EBADMSG corrupt or missing */
};

struct rk_store_index {
        struct rk_store_entry running;
        struct rk_store_entry rescue;
        struct rk_store_entry *backups; /* newest first */
        size_t n_backups;
};

struct rk_store;

/* Pure index logic (no I/O): parse/format index.json text, rotate. */
void rk_store_entry_done(struct rk_store_entry *e);
void rk_store_index_done(struct rk_store_index *idx);
/* Returns -EBADMSG with a reason in err for anything malformed. */
int rk_store_index_parse(const char *text, size_t len, struct rk_store_index *ret, char *err, size_t errlen);
int rk_store_index_format(const struct rk_store_index *idx, char **ret);
/* running := e; the old running becomes backup 1; at most max_backups kept. */
int rk_store_index_push(struct rk_store_index *idx, const struct rk_store_entry *e, unsigned max_backups);
/* true if some entry of idx names sha */
bool rk_store_index_references(const struct rk_store_index *idx, const char *sha);
/* "2024-05-01T12:00:00Z" */
void rk_store_format_time(time_t t, char buf[static 32]);

/* A document is acceptable: non-empty, at most RK_STORE_MAX_SIZE, one JSON
 * object and nothing after it.  -EILSEQ with the reason in err. */
int rk_store_check_document(const char *data, size_t len, char *err, size_t errlen);

int rk_store_open(struct rk_ctx *ctx, unsigned flags, struct rk_store **ret);
/* The same for a store in another directory (an absolute path inside the
 * root): the factory reset builds a fresh store beside the old one. */
int rk_store_open_dir(struct rk_ctx *ctx, const char *dir, unsigned flags, struct rk_store **ret);
void rk_store_close(struct rk_store *s);
static inline void rk_store_closep(struct rk_store **s) { rk_store_close(*s); }
#define _cleanup_store_ _cleanup_(rk_store_closep)

/* The store directory as the user knows it ("<root>/var/lib/…"). */
const char *rk_store_path(const struct rk_store *s);
/* Absolute path of an object, for messages and commands; NULL on ENOMEM. */
char *rk_store_object_path(const struct rk_store *s, const char *sha);

/* Read index.json (an absent store or index is an empty index). */
int rk_store_read_index(struct rk_store *s, struct rk_store_index *ret);
/* Load and verify one entry's document (NUL-terminated). */
int rk_store_load_entry(struct rk_store *s, const struct rk_store_entry *e, const char *name,
                        char **ret_data, size_t *ret_len);
/* Load a named configuration: "running", "rescue", "backup-N"; the entry is
 * copied to ret_entry (if not NULL).  Retries over concurrent commits. */
int rk_store_load(struct rk_store *s, const char *name, struct rk_store_entry *ret_entry,
                  char **ret_data, size_t *ret_len);

/* Writers (the store must be opened with RK_STORE_WRITE). */
int rk_store_commit_path(struct rk_store *s, const char *path);
int rk_store_commit_buffer(struct rk_store *s, const char *data, size_t len, const char *origin);
int rk_store_rollback(struct rk_store *s, unsigned n);
int rk_store_rescue_save(struct rk_store *s);
int rk_store_rescue_delete(struct rk_store *s);
int rk_store_rescue_load(struct rk_store *s);

/* Read the index and verify every entry it names (each entry's status);
 * retries over concurrent commits so that the result is one consistent
 * state.  0 if all are intact, -EBADMSG if some are not (ret filled, each bad
 * one logged), other errors with ret empty. */
int rk_store_verify(struct rk_store *s, struct rk_store_index *ret);

/* Read and check [store] factory-config inside the root (resolved like a
 * chroot would): a JSON object, and when "<factory-config>.sha256" exists
 * (sha256sum(1) format) its digest must match (-EBADMSG otherwise).  The
 * entry's time is the file's mtime, origin "factory".  quiet: return the
 * error without logging it (listing). */
int rk_store_read_factory(struct rk_store *s, bool quiet, struct rk_store_entry *ret_entry,
                          char **ret_data, size_t *ret_len);
/* The same check without a store (the factory reset's preflight, which
 * must not depend on the store it is about to replace); logs the reason. */
int rk_store_check_factory(struct rk_ctx *ctx, struct rk_store_entry *ret_entry);

/* Is the store at [store] dir fit to keep?  0 (also: no store yet), -EPERM
 * unsafe (a symlink on its path, group/world-writable, foreign owner),
 * -EBADMSG corrupt (index or a stored configuration), other errors: not
 * readable.  Logs nothing; changes nothing. */
int rk_store_health(struct rk_ctx *ctx);

/* Step 5 of the factory reset: drop every backup and the rescue, make
 * [store] factory-config (read inside the root) the running configuration
 * without keeping the old one as a backup (it holds secrets), remove every
 * other object.  Runs neither command: the device reboots afterwards.  It
 * does not need a readable index, so it also repairs a corrupt one, and it is
 * idempotent: twice, or again after a crash in the middle, gives the same
 * store. */
int rk_store_factory_reset(struct rk_store *s);
