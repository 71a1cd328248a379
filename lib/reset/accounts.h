/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accounts.h — step 4 of the factory reset: delete the users, reset the
 * factory passwords.  The editing rules live in passwd.h (pure); this is
 * the I/O around them, always inside a root fd:
 *
 *   - every file is opened with openat2(RK_RESOLVE_STRICT) below the root:
 *     a symlinked etc/shadow (or etc, or a backup, or var/backups) is
 *     refused before anything is written;
 *   - the shadow-utils lock (etc/.pwd.lock, lckpwdf(3) semantics: a write
 *     lock on the whole file, 15 s timeout) is held while reading and
 *     writing, so userdel, passwd, systemd-sysusers … in the target wait;
 *   - each database is rewritten once, atomically (temporary file in its
 *     directory, fsync, rename, fsync the directory), keeping owner, mode
 *     and SELinux label, and its copies are given the same new content, so
 *     no deleted user and no old hash survives in them: the "-" backups in
 *     etc (passwd-, shadow-, group-, gshadow-, subuid-, subgid-; the first
 *     four created when missing) and Debian's var/backups/{passwd,shadow,
 *     group,gshadow}.bak (rewritten when present, never created);
 *   - order: gshadow, group, subuid, subgid, shadow, then homes, mail
 *     spools, crontabs, and passwd last.  passwd is how a re-run finds the
 *     users again: while it still lists them, every other step can be
 *     repeated; once it is written, everything else is done.  So a crash
 *     at any point leaves consistent files and a re-run (plan + delete)
 *     finishes the job with the same result as an uninterrupted run.  A
 *     failure (a write, a home that cannot be removed) does not stop the
 *     other parts, but passwd is then left as it was and the error
 *     returned: the re-run finds the users and finishes.
 *
 * Homes: the home of a deleted user goes, whoever owns it, when it lies
 * under the home base (HOME= of etc/default/useradd, default /home) and no
 * remaining account's home is it or lies inside it (rk_home_rule(), by
 * path; and by identity, for homes spelled through symlinks); never through
 * a symlink, never a mount point, never into another filesystem.  Mail
 * spools (var/mail/NAME, var/spool/mail/NAME) and crontabs go whoever owns
 * them.
 *
 * Failure points (RESETKIT_FAIL, fault.h): "accounts:open" (each file read),
 * "accounts:lock", "accounts:write" (before each atomic rewrite),
 * "accounts:fsync" (after its rename: the directory fsync failing),
 * "accounts:rm-home", "accounts:unlink" (spool files, crontabs).  Kill
 * points (RESETKIT_FAULT): "accounts:locked", "accounts:file",
 * "accounts:home-dir", "accounts:user-files". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "passwd.h" /* rk_crypt_hash_problem(): callers check factory hashes in their preflight */

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
        char *home_base;       /* from etc/default/useradd HOME=, else /home (canonical) */
        char **keep_users;
        uint64_t lock_timeout_ms; /* 0: RK_PWD_LOCK_TIMEOUT_MS */
};

/* Read the target's databases, login.defs and default/useradd (and check
 * that every database and copy can be opened safely) and decide who goes.
 * Changes nothing, takes no lock.  Errors name the file (and line). */
int rk_accounts_plan(int root_fd, unsigned min_uid, char *const *keep_users,
                     struct rk_accounts_plan *ret, char *err, size_t errlen);

/* Delete the planned users.  Under the lock the files are read again and
 * the rules re-applied: only users both planned and still qualifying go.
 * Idempotent; an empty plan still brings the backups in line. */
int rk_accounts_delete(int root_fd, const struct rk_accounts_plan *p, struct rk_log *log);

/* Set `user`'s shadow hash (a crypt(5) hash, rk_crypt_hash_valid()) and,
 * when expire, lastchg 0 so the first login must choose a new password;
 * else lastchg is today.  A user in passwd without a shadow line gets one;
 * passwd's field becomes "x" if it held a hash; a system without
 * etc/shadow keeps the hash in passwd's field.  The copies get the new
 * content.  -ESRCH: no such user in etc/passwd, nothing changed and NOT
 * logged (a warning for the caller: the target simply lacks the account);
 * -EINVAL: not an accepted hash; -EBADMSG: the user's shadow line is
 * malformed (left to a human). */
int rk_accounts_reset_password(int root_fd, const char *user, const char *hash, bool expire,
                               struct rk_log *log);

/* Preflight of rk_accounts_reset_password(): the same checks and edits in
 * memory, without the lock, changing nothing.  0: it would apply; -ESRCH:
 * no such user; other errors as above.  err says why. */
int rk_accounts_password_check(int root_fd, const char *user, const char *hash, char *err, size_t errlen);

void rk_accounts_plan_free(struct rk_accounts_plan *p);

/* Take the shadow-utils lock of the root: etc/.pwd.lock, created 0600 if
 * missing, write lock on the whole file.  Waits up to timeout_ms, then
 * -ETIMEDOUT (err says who holds it).  Returns the fd; closing it unlocks. */
int rk_accounts_lock(int root_fd, uint64_t timeout_ms, char *err, size_t errlen);
