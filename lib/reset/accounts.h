/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accounts.h — step 4 of the factory reset: delete the users, reset the
 * factory passwords.  The editing rules live in passwd.h (pure); this is
 * the I/O around them, always inside a root fd:
 *
 *   - every file is opened with openat2(RK_RESOLVE_STRICT) below the root:
 *     a symlinked etc/shadow (or etc, or a backup) is refused before
 *     anything is written;
 *   - the shadow-utils lock (etc/.pwd.lock, lckpwdf(3) semantics: a write
 *     lock on the whole file, 15 s timeout) is held while reading and
 *     writing, so userdel, passwd, systemd-sysusers … in the target wait;
 *   - each database is rewritten once, atomically (temporary file in etc,
 *     fsync, rename, fsync etc), keeping owner, mode and SELinux label, and
 *     its "-" backup is given the same new content, so no deleted user and
 *     no old hash survives in passwd-, shadow-, group-, gshadow-, subuid-,
 *     subgid-;
 *   - order: gshadow, group, subuid, subgid, shadow, then homes, mail
 *     spools, crontabs, and passwd last.  passwd is how a re-run finds the
 *     users again: while it still lists them, every other step can be
 *     repeated; once it is written, everything else is done.  So a crash
 *     at any point leaves consistent files and a re-run (plan + delete)
 *     finishes the job with the same result as an uninterrupted run. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define RK_PWD_LOCK_TIMEOUT_MS 15000 /* glibc's lckpwdf() waits 15 s */

struct rk_accounts_plan {
        char **users;          /* names to delete, passwd order, NULL-terminated */
        char **homes;          /* home of users[i] as passwd says ("" when none) */
        char **groups_deleted; /* user-private groups that go with them */
        uint32_t *uids;        /* UID of users[i] */
        size_t n_users;
        /* the rules, so rk_accounts_delete() re-applies them under the lock */
        unsigned min_uid;
        unsigned uid_max;      /* from the target's etc/login.defs */
        char **keep_users;
        uint64_t lock_timeout_ms; /* 0: RK_PWD_LOCK_TIMEOUT_MS */
};

/* Read the target's passwd, group and login.defs (and check that every
 * database and backup can be opened safely) and decide who goes.  Changes
 * nothing, takes no lock.  Errors name the file (and line). */
int rk_accounts_plan(int root_fd, unsigned min_uid, char *const *keep_users,
                     struct rk_accounts_plan *ret, char *err, size_t errlen);

/* Delete the planned users.  Under the lock the files are read again and
 * the rules re-applied: only users both planned and still qualifying go.
 * Idempotent; an empty plan still brings the backups in line. */
int rk_accounts_delete(int root_fd, const struct rk_accounts_plan *p, struct rk_log *log);

/* Set `user`'s shadow hash (a crypt(3) "$id$salt$hash" string) and, when
 * expire, lastchg 0 so the first login must choose a new password; else
 * lastchg is today.  passwd's field becomes "x" if it held a hash.  The
 * backups get the new content.  -ENOENT: no such user (logged by name);
 * -EINVAL: not a crypt hash. */
int rk_accounts_reset_password(int root_fd, const char *user, const char *hash, bool expire,
                               struct rk_log *log);

void rk_accounts_plan_free(struct rk_accounts_plan *p);

/* Take the shadow-utils lock of the root: etc/.pwd.lock, created 0600 if
 * missing, write lock on the whole file.  Waits up to timeout_ms, then
 * -ETIMEDOUT (err says who holds it).  Returns the fd; closing it unlocks. */
int rk_accounts_lock(int root_fd, uint64_t timeout_ms, char *err, size_t errlen);
