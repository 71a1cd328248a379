/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubenv.h — the GRUB environment block (grub-editenv's file format).
 *
 * The block is exactly RK_GRUBENV_SIZE bytes: the signature line
 * "# GRUB Environment Block\n", then lines that are either comments
 * ('#' first) or "name=value\n" with '\\' escaping a backslash or newline
 * in the value, then '#' padding to the end.  GRUB reads it before any OS
 * runs and cannot repair it, so a block we do not understand is refused,
 * never "fixed".
 *
 * Parsing and serialising are pure; rk_grubenv_remove_keys_at() is the one
 * function with I/O: it rewrites the file atomically (temp + fsync + rename)
 * and keeps every line it does not remove byte for byte. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define RK_GRUBENV_SIZE 1024
#define RK_GRUBENV_SIGNATURE "# GRUB Environment Block\n"

struct rk_grubenv_line {
        char *raw;      /* the line as stored, without its final '\n' */
        char *name;     /* NULL for a comment line */
        char *value;    /* unescaped value; NULL for a comment line */
};

struct rk_grubenv {
        struct rk_grubenv_line *lines;  /* in file order, signature excluded */
        size_t n_lines;
};

void rk_grubenv_done(struct rk_grubenv *env);

/* Parse a block.  -EINVAL with "what is wrong" in err (wrong size, no
 * signature, a line without '=', a NUL before the padding, garbage after it).
 * `what` names the block in messages (usually its path). */
int rk_grubenv_parse(const char *buf, size_t len, const char *what,
                     struct rk_grubenv *ret, char *err, size_t errlen);

/* Serialise into exactly RK_GRUBENV_SIZE bytes; -ENOSPC when it does not
 * fit (GRUB's own limit: nothing is ever truncated). */
int rk_grubenv_serialize(const struct rk_grubenv *env, char out[static RK_GRUBENV_SIZE]);

const char *rk_grubenv_get(const struct rk_grubenv *env, const char *name);
/* Set (replace the first line of name, or append); -EINVAL for a name with
 * '=', '\n' or nothing in it. */
int rk_grubenv_set(struct rk_grubenv *env, const char *name, const char *value);
/* Remove every line of name; returns how many were removed. */
size_t rk_grubenv_unset(struct rk_grubenv *env, const char *name);

/* Remove `keys` from the block at `path` below dirfd (resolved without
 * following any symlink, never above dirfd).  The file is rewritten
 * atomically only when a key was present, so a second run changes nothing.
 * *ret_removed: how many lines went.  Errors in err name the file and
 * say that it was left unchanged. */
int rk_grubenv_remove_keys_at(int dirfd, const char *path, char *const *keys,
                              size_t *ret_removed, char *err, size_t errlen);
