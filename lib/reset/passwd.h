/* SPDX-License-Identifier: GPL-2.0-or-later */
/* passwd.h — pure editor of the account databases: passwd, shadow, group,
 * gshadow, subuid, subgid, and the UID_MAX of login.defs.
 *
 * No I/O: text in, text out.  The rules are userdel(8)'s, applied to many
 * users in one pass per file:
 *   - a line is edited only when it is well formed (exactly the file's
 *     number of ':' fields, numeric IDs where the format has them);
 *     comments, blank lines, NIS "+"/"-" lines and malformed lines are
 *     copied byte for byte — never deleted, never "fixed" (shadow-utils'
 *     commonio keeps what it cannot parse the same way);
 *   - a user is deleted when min_uid <= UID <= UID_MAX, UID is not 0 and
 *     not 65534 (nobody), and the name is not in keep-users; a name that
 *     also appears on a passwd line that does not qualify is kept whole;
 *   - its user-private group goes with it: the group named like the user,
 *     with the user's primary GID, with no members left, and not the
 *     primary group of any user that stays;
 *   - it leaves the member lists of every other group (group: members;
 *     gshadow: admins and members) and its subuid/subgid ranges go (owner
 *     written as name or as UID).
 *
 * Every function returns 0 or a negative errno and leaves its outputs
 * untouched on failure.  Every parser here reads data from the target and
 * has a libFuzzer target (tests/fuzz/fuzz-passwd.c, fuzz-login-defs.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RK_UID_NOBODY 65534u
#define RK_UID_MAX_DEFAULT 60000u /* shadow-utils' default when login.defs lacks UID_MAX */

/* ---- login.defs ---- */

struct rk_login_defs {
        unsigned uid_max;
};

/* Parse login.defs text ("KEY VALUE" lines, '#' comments, values maybe in
 * double quotes, numbers in C notation as shadow-utils' getdef reads them;
 * the last definition wins).  NULL text means "no file": defaults.  An
 * unparsable UID_MAX is an error naming fname and the line: the cap is a
 * safety limit, guessing it would be wrong either way. */
int rk_login_defs_parse(const char *text, const char *fname, struct rk_login_defs *ret,
                        char *err, size_t errlen);

/* ---- passwd parsing and selection ---- */

struct rk_pw_entry {
        char *name;
        uint32_t uid;
        uint32_t gid;
        char *home;
};

struct rk_pw_table {
        struct rk_pw_entry *entries;
        size_t n;
};

/* Every well-formed passwd line, in file order (NIS lines, comments and
 * malformed lines are not users). */
int rk_pw_table_parse(const char *passwd, struct rk_pw_table *ret);
void rk_pw_table_free(struct rk_pw_table *t);

struct rk_pw_rules {
        unsigned min_uid;
        unsigned uid_max;
        char *const *keep_users; /* NULL-terminated, may be NULL */
        char *const *only;       /* when non-NULL: select only these names (a plan re-checked) */
};

/* What is deleted: the users (copies of their passwd entries, file
 * order), the UIDs no remaining user shares (subuid/subgid owners given as
 * numbers), and the user-private groups. */
struct rk_pw_deletion {
        struct rk_pw_entry *users;
        size_t n_users;
        uint32_t *orphan_uids;
        size_t n_orphan_uids;
        char **groups; /* NULL-terminated */
};

bool rk_pw_rules_match(const struct rk_pw_rules *rules, const struct rk_pw_entry *e);

/* Select users from the table by the rules; group_text (may be NULL) gives
 * the user-private groups.  A user whose name also sits on a passwd line
 * that does not qualify is kept. */
int rk_pw_select(const struct rk_pw_table *t, const struct rk_pw_rules *rules,
                 const char *group_text, struct rk_pw_deletion *ret);
void rk_pw_deletion_free(struct rk_pw_deletion *d);
bool rk_pw_deletion_has_user(const struct rk_pw_deletion *d, const char *name);
bool rk_pw_deletion_has_group(const struct rk_pw_deletion *d, const char *name);

/* ---- editors ---- */

struct rk_edit_stats {
        size_t lines;            /* lines read */
        size_t removed;          /* lines deleted */
        size_t changed;          /* lines rewritten (member lists, password fields) */
        size_t malformed;        /* lines kept verbatim because they could not be parsed */
        size_t malformed_named;  /* ... of which name a deleted user or group: needs a human */
        size_t first_malformed;  /* 1-based line number of the first malformed line, 0: none */
};

enum rk_db {
        RK_DB_PASSWD,
        RK_DB_SHADOW,
        RK_DB_GROUP,
        RK_DB_GSHADOW,
        RK_DB_SUBID, /* subuid and subgid share the format */
        _RK_DB_MAX,
};

/* "passwd", "shadow", ... (subid: "subuid") */
const char *rk_db_name(enum rk_db db);

/* Apply a deletion to the text of one database.  *ret is newly allocated
 * (equal to in when nothing applies); stats may be NULL. */
int rk_db_delete(enum rk_db db, const char *in, const struct rk_pw_deletion *d,
                 char **ret, struct rk_edit_stats *stats);

/* Is this a hash we accept as a factory password?  Pure crypt(5) syntax,
 * whatever the host's libxcrypt supports (the target may be another
 * system):
 *   yescrypt        $y$PARAMS$SALT$HASH43        (salt 1..86)
 *   gost-yescrypt   $gy$PARAMS$SALT$HASH43
 *   scrypt          $7$SETTING$HASH43            (setting 11..97)
 *   bcrypt          $2b$CC$SALT+HASH53           ($2y$, $2a$ too; cost 04..31)
 *   sha512crypt     $6$[rounds=N$]SALT$HASH86    (salt 1..16, no '$')
 *   sha256crypt     $5$[rounds=N$]SALT$HASH43
 *   md5crypt        $1$SALT$HASH22               (salt 1..8)
 * where PARAMS, SALT (except sha/md5's) and HASH are in crypt(5)'s
 * alphabet [./0-9A-Za-z].  Refused: empty, locked markers ("!", "*",
 * "!$6$..."), ':' or control characters (they would break the file),
 * settings without a hash part, any other method, anything of
 * RK_CRYPT_HASH_MAX bytes or more, and traditional DES
 * (13 characters of the alphabet, no prefix): it cannot be told apart
 * from a clear-text password put where a hash belongs, and it keeps only
 * 8 characters of the password anyway.
 * rk_crypt_hash_problem() says why not (a static string), NULL when fine. */
#define RK_CRYPT_HASH_MAX 384 /* libxcrypt's CRYPT_OUTPUT_SIZE, the NUL included */
const char *rk_crypt_hash_problem(const char *hash);
bool rk_crypt_hash_valid(const char *hash);

/* Set the hash of `user` in shadow text; expire: lastchg = 0 (the first
 * login must choose a new password), else lastchg = now_days (days since
 * the epoch).  -ENOENT when the user has no well-formed shadow line,
 * -EINVAL for a bad hash. */
int rk_shadow_set_password(const char *in, const char *user, const char *hash, bool expire,
                           long now_days, char **ret, struct rk_edit_stats *stats);

/* Make passwd's password field of `user` "x" (the hash lives in shadow): an
 * old hash left in passwd would still log in.  -ENOENT: no such user. */
int rk_passwd_set_shadowed(const char *in, const char *user, char **ret, struct rk_edit_stats *stats);

/* Append a shadow line for `user`, who has none (in passwd but not in
 * shadow): "user:HASH:LASTCHG::::::", lastchg as rk_shadow_set_password().
 * -EEXIST when any line, even a malformed one, names the user (a second
 * line would be a duplicate: that is for a human), -EINVAL for a bad hash
 * or name. */
int rk_shadow_add_password(const char *in, const char *user, const char *hash, bool expire, long now_days,
                           char **ret);

/* A system without etc/shadow keeps the hash in passwd's own field: set
 * it there.  -ENOENT: no such user; -EINVAL: bad hash. */
int rk_passwd_set_hash(const char *in, const char *user, const char *hash, char **ret, struct rk_edit_stats *stats);

/* ---- homes (SPEC §3 step 4) ---- */

#define RK_HOME_BASE_DEFAULT "/home"

/* passwd's home field as a canonical absolute path: no repeated or
 * trailing '/', no "." component ("//home/./a/" -> "/home/a"; "/" stays).
 * -EINVAL for an empty or relative path, a ".." component (never resolved
 * by hand: symlinks decide what it means) or a control character. */
int rk_home_canonical(const char *home, char **ret);

enum rk_home_verdict {
        RK_HOME_REMOVE,
        RK_HOME_KEEP_INVALID, /* not canonical, or no usable base */
        RK_HOME_KEEP_OUTSIDE, /* not under the home base */
        RK_HOME_KEEP_BASE,    /* the home base itself */
        RK_HOME_KEEP_SHARED,  /* a remaining account's home is it or lies inside it */
};

/* The home rule: a deleted user's home goes when it lies strictly under
 * the home base and no remaining account's home is that directory or lies
 * inside it, whoever owns it (chroot-SFTP homes are root's).  home and base
 * are canonical (rk_home_canonical); remaining: the canonical homes of the
 * accounts that stay, sorted by strcmp.  Whether the path is reachable
 * without a symlink, on the same filesystem, is the caller's (I/O). */
enum rk_home_verdict rk_home_rule(const char *home, const char *base, char *const *remaining, size_t n_remaining);
const char *rk_home_verdict_str(enum rk_home_verdict v);

/* The home base from the text of etc/default/useradd: the last line
 * starting "HOME=" (as useradd reads it; one pair of double quotes around
 * the value is dropped, trailing blanks too), canonical.  NULL text or no
 * HOME=: RK_HOME_BASE_DEFAULT.  A value that is not an absolute path other
 * than "/" without ".." is an error naming fname and the line: the base
 * bounds what the reset removes, guessing it would be wrong either way. */
int rk_useradd_home_parse(const char *text, const char *fname, char **ret, char *err, size_t errlen);
