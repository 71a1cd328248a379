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
 * untouched on failure. */
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

/* Is this a crypt(3) hash we accept as a factory password?  "$id$...$hash"
 * with a non-empty hash part that libxcrypt calls valid and not legacy;
 * never ':' or a newline (they would break the file).  Locked markers ("!",
 * "*") and DES/MD5 are refused. */
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
