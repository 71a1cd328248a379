/* SPDX-License-Identifier: GPL-2.0-or-later */
/* manifest.h — the factory-reset manifest (resetkit-factory-reset.d(5)).
 *
 * Drop-in files like tmpfiles.d: *.conf in usr/lib/resetkit/factory-reset.d
 * (vendor) and etc/resetkit/factory-reset.d (administrator; the same file
 * name overrides, a symlink to /dev/null masks), read in file-name order.
 * One entry per line, "ACTION PATH [ARGUMENT]", '#' starts a comment line.
 *
 * The parser is pure: text in, entries out.  Every malformed line is an
 * error "FILE:LINE: what", and on any error the manifest is left exactly as
 * it was before the call, so the engine can refuse before anything changed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define RK_MANIFEST_VENDOR_DIR "usr/lib/resetkit/factory-reset.d"
#define RK_MANIFEST_ADMIN_DIR "etc/resetkit/factory-reset.d"
#define RK_MANIFEST_MAX_FILE_SIZE (1024 * 1024)
#define RK_MANIFEST_DEFAULT_MIN_UID 1000u

enum rk_mf_action {
        RK_MF_EXEC,
        RK_MF_REMOVE,
        RK_MF_EMPTY,
        RK_MF_KEEP_NEWEST,
        RK_MF_DELETE_USERS,
        RK_MF_RESET_PASSWORD,
        RK_MF_FACTORY_CONFIG,
        RK_MF_ZERO_PARTITION,
        RK_MF_ZERO_FREE_SPACE,
        RK_MF_CRYPTO_ERASE,     /* runs right after the removals (SPEC §3) */
        _RK_MF_ACTION_MAX,
};

struct rk_mf_entry {
        enum rk_mf_action action;
        /* exec, delete-users, factory-config: "-"; zero-partition:
         * "inactive"; reset-password: the user name; otherwise an absolute
         * path (glob for remove/empty/keep-newest), normalised: single
         * slashes, no trailing slash. */
        char *path;
        /* exec: the command line (rest of the line); reset-password: the
         * hash or "@/absolute/file"; keep-newest, delete-users: the number
         * as written; crypto-erase: its options, normalised
         * ("keyfile=/etc/keys/data.key mkfs=ext4"), or NULL; else NULL. */
        char *arg;
        unsigned number;        /* keep-newest N, delete-users min uid */
        char *file;             /* where the entry came from, for messages */
        unsigned line;
};

struct rk_manifest {
        struct rk_mf_entry *entries;
        size_t n;
};

/* Parse text and append its entries to m.  filename is used in messages and
 * stored in each entry.  Returns 0, or -EINVAL with "FILE:LINE: what" in
 * err (m unchanged), or -ENOMEM. */
int rk_manifest_parse_string(struct rk_manifest *m, const char *text, const char *filename,
                             char *err, size_t errlen);

/* Read both drop-in directories inside root_fd (RK_RESOLVE_ROOTED) and
 * append every entry, files in name order, admin files overriding vendor
 * files of the same name.  A missing directory is no error.  On error m is
 * unchanged and err names the file (and line). */
int rk_manifest_load(struct rk_manifest *m, int root_fd, char *err, size_t errlen);

void rk_manifest_free(struct rk_manifest *m);

/* "remove", "keep-newest", ...; NULL for an invalid value. */
const char *rk_mf_action_name(enum rk_mf_action a);
/* The inverse; -EINVAL for an unknown word. */
int rk_mf_action_from_name(const char *s);

/* true for actions whose path is a glob of files to remove */
static inline bool rk_mf_action_removes(enum rk_mf_action a) {
        return a == RK_MF_REMOVE || a == RK_MF_EMPTY || a == RK_MF_KEEP_NEWEST;
}

/* The options of a crypto-erase line: what the first-boot step
 * (resetctl recreate-volumes, resetkit-cryptvol.service) needs to make the
 * erased volume again.  keyfile=PATH (absolute, inside the root): the
 * fresh random key is written there, and without it the volume is not
 * re-created; mkfs=TYPE (default ext4 with a keyfile; "none": no
 * filesystem): mkfs.TYPE on the opened volume. */
struct rk_crypto_opts {
        char *keyfile;
        char *mkfs;
};
void rk_crypto_opts_done(struct rk_crypto_opts *o);
/* Pure.  arg NULL or empty: no options.  Unknown or repeated keys, a
 * relative keyfile and a mkfs type that is not [a-z0-9.]+ are errors
 * (what in err); ret_normalized (optional) gets the canonical spelling. */
int rk_crypto_opts_parse(const char *arg, struct rk_crypto_opts *ret, char **ret_normalized,
                         char *err, size_t errlen);
