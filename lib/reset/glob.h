/* SPDX-License-Identifier: GPL-2.0-or-later */
/* glob.h — manifest globs expanded inside a root, the way the factory reset
 * may act on them.
 *
 * Component by component with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS):
 * a symlink is never followed (one that matches is itself a match, one on
 * the way yields nothing); '*' matches dot-files but never "." or "..".
 *
 * Mounts: the glob's literal prefix (the components before the first one
 * with a wildcard) may name and cross mounts — "/var/log/x.gz" on a /var/log
 * filesystem is what the entry asked for.  Past the first wildcard nothing
 * crosses: a match that is a mount point, or a path through one, is skipped
 * and logged, so "/home/ * /.ssh" never follows a bind mount out of the root
 * and "/var/crash/ *" never empties a tmpfs mounted below it.  The same rule
 * holds when a match is acted on (rk_glob_open_parent, RESOLVE_NO_XDEV),
 * so a mount appearing between expansion and removal is not crossed
 * either. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct rk_glob {
        char **matches;         /* sorted root-relative paths ("var/log/x"), NULL-terminated */
        size_t literal;         /* leading components without wildcards */
        size_t components;      /* components of the glob */
        uint64_t skipped_mounts; /* matches skipped: a mount point, or through one */
};

/* Expand glob (absolute inside the root, "/var/log/ *.gz").  No match is an
 * empty list, not an error; -EINVAL for a glob naming the root itself or
 * with a "."/".." component. */
int rk_glob_expand(int root_fd, const char *glob, struct rk_log *log, struct rk_glob *ret);
void rk_glob_done(struct rk_glob *g);

/* Is every component literal, i.e. may the match itself name a mount? */
static inline bool rk_glob_is_literal(const struct rk_glob *g) {
        return g->literal == g->components;
}

/* Split a root-relative path into its components; -EINVAL for the root
 * itself or a "."/".." component. */
int rk_path_components(const char *path, char ***ret);

/* Open the directory that holds match `rel` (a root-relative path with
 * components as the glob had): its first `literal` components may cross
 * mounts, the rest may not (-EXDEV), and no symlink is followed anywhere
 * (-ELOOP).  *ret_name points at the last component inside rel. */
int rk_glob_open_parent(int root_fd, const char *rel, size_t literal, const char **ret_name);
