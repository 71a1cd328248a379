/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rmtree.h — safe removal inside a root: the remove, empty and keep-newest
 * entries of the factory-reset manifest.
 *
 * Everything is relative to the root fd.  Globs are expanded by glob.h
 * (no symlink followed; past the first wildcard no mount crossed: a match
 * that is a mount point, or lies behind one, is skipped and logged).  Trees
 * are removed iteratively (an explicit stack, so depth is bounded by
 * memory, not by the C stack or the fd limit) with unlinkat() on directory
 * fds, never crossing into another mount (mount.h, plus RESOLVE_NO_XDEV
 * when descending).  Only an entry's literal path may name a mount: its
 * contents go, the mount point stays.  A mount found inside a removed tree
 * is left alone and logged; its mount point stays, and so do the
 * directories above it.
 *
 * Every operation is idempotent: a missing match is no error, and running
 * an entry twice gives the same tree as running it once.
 *
 * Fault-injection points (RESETKIT_FAULT=name[:N]): "rm:unlink" after each
 * unlinked non-directory, "rm:rmdir" after each removed directory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "manifest.h"

struct rk_rm_stats {
        uint64_t matches;               /* glob matches acted on */
        uint64_t files;                 /* regular and special files unlinked */
        uint64_t dirs;                  /* directories removed */
        uint64_t bytes;                 /* st_size of the regular files */
        uint64_t symlinks;              /* symlinks unlinked (never followed) */
        uint64_t skipped_mounts;        /* mount points left alone */
        uint64_t skipped_protected;     /* protected paths left alone */
};

struct rk_rm_opts {
        /* Root-relative paths ("var/lib/resetkit/journal" or with a leading
         * '/'), NULL-terminated, that are never removed even when a glob
         * matches them or a removed tree contains them; the directories
         * above them stay.  They are resolved inside the root (symlinks
         * followed as a chroot would) and compared by identity (st_dev,
         * st_ino), so no spelling of a path reaches them.  May be NULL. */
        char *const *protect;
        /* Count what would go (the same counts a real run returns) and
         * change nothing. */
        bool dry_run;
        struct rk_log *log;     /* may be NULL */
};

/* Apply one manifest entry: action RK_MF_REMOVE (unlink files, remove
 * trees), RK_MF_EMPTY (remove a directory's contents, keep it; non-
 * directory matches are left alone) or RK_MF_KEEP_NEWEST (remove all
 * matches but the `keep` newest by mtime; ties broken by name, the greater
 * kept).  glob is absolute inside the root ("/var/log/ *.gz").  Counts are
 * ADDED to *st.  Goes on after errors and returns the first one (negative
 * errno), 0 when everything matched is gone (or was protected/a mount);
 * -EINVAL for a glob naming the root itself or with a "."/".." component. */
int rk_rm_entry(int root_fd, enum rk_mf_action action, const char *glob, unsigned keep,
                const struct rk_rm_opts *o, struct rk_rm_stats *st);

/* Remove one literal root-relative path (no glob characters interpreted):
 * a file, symlink or tree; with keep_dir only a directory's contents.  For
 * other modules (home directories, spools).  Same rules and counts. */
int rk_rm_path(int root_fd, const char *path, bool keep_dir,
               const struct rk_rm_opts *o, struct rk_rm_stats *st);

