/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "glob.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>

#include "fsutil.h"
#include "mount.h"
#include "util.h"

static bool is_glob(const char *s) {
        return strpbrk(s, "*?[\\") != NULL;
}

int rk_path_components(const char *path, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        for (const char *p = path; *p;) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                size_t l = strcspn(p, "/");
                _cleanup_free_ char *comp = strndup(p, l);
                if (!comp)
                        return -ENOMEM;
                if (rk_streq(comp, ".") || rk_streq(comp, ".."))
                        return -EINVAL;
                if (rk_strv_push(&v, comp) < 0)
                        return -ENOMEM;
                p += l;
        }
        if (!v)
                return -EINVAL;         /* the root itself */
        *ret = RK_TAKE_PTR(v);
        return 0;
}

/* Where the component after the first `n` starts in rel ("a/b/c", 2 ->
 * "c"); rel itself when n is 0, its end when it has no more. */
static const char *skip_components(const char *rel, size_t n) {
        const char *p = rel;
        for (size_t k = 0; k < n && *p; k++) {
                p += strcspn(p, "/");
                if (*p == '/')
                        p++;
        }
        return p;
}

/* The first k components of rel, opened strictly: they may cross mounts
 * (the entry names them).  *ret_rest points at what follows in rel. */
static int open_prefix(int root_fd, const char *rel, size_t k, const char **ret_rest) {
        const char *rest = skip_components(rel, k);
        _cleanup_free_ char *prefix = strndup(rel, (size_t) (rest - rel));
        if (!prefix)
                return -ENOMEM;
        size_t pl = strlen(prefix);
        if (pl > 0 && prefix[pl - 1] == '/')
                prefix[pl - 1] = 0;
        *ret_rest = rest;
        return rk_openat2(root_fd, *prefix ? prefix : ".", O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
}

/* The directory rel ("" = the root): its first `literal` components may
 * cross mounts, the rest may not. */
static int open_dir(int root_fd, const char *rel, size_t literal) {
        const char *rest;
        _cleanup_close_ int fd = open_prefix(root_fd, rel, literal, &rest);
        if (fd < 0 || !*rest)
                return fd < 0 ? fd : RK_TAKE_FD(fd);
        return rk_openat2(fd, rest, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT | RESOLVE_NO_XDEV);
}

int rk_glob_open_parent(int root_fd, const char *rel, size_t literal, const char **ret_name) {
        /* the literal prefix may cross mounts, at most up to the parent;
         * the rest goes through the one parent-open primitive with
         * RESOLVE_NO_XDEV */
        size_t n = 1;
        for (const char *p = rel; (p = strchr(p, '/')); p++)
                n++;
        const char *rest;
        _cleanup_close_ int pfd = open_prefix(root_fd, rel, literal < n ? literal : n - 1, &rest);
        if (pfd < 0)
                return pfd;
        return rk_open_parent_resolve(pfd, rest, RK_RESOLVE_STRICT | RESOLVE_NO_XDEV, ret_name);
}

struct expansion {
        int root_fd;
        struct rk_log *log;
        struct rk_glob *g;
        size_t index;           /* of the component being expanded */
};

static char *rel_join(const char *dir, const char *name) {
        return *dir ? rk_path_join(dir, name) : strdup(name);
}

/* Add dir/name to *out if it may continue the walk: the last component
 * may be anything but a mount reached past a wildcard; an intermediate one
 * must be a real directory. */
static int consider(struct expansion *x, int dfd, const struct statx *dsx, const char *dir,
                    const char *name, char ***out) {
        bool last = x->index + 1 == x->g->components;
        _cleanup_free_ char *rel = rel_join(dir, name);
        if (!rel)
                return -ENOMEM;
        struct statx sx;
        int r = rk_statx_at(dfd, name, RK_STATX_MOUNT, &sx);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        if (x->index >= x->g->literal && rk_statx_crosses_mount(&sx, dsx)) {
                rk_notice(x->log, "/%s is a mount point reached through a wildcard: skipped, nothing in it removed", rel);
                x->g->skipped_mounts++;
                return 0;
        }
        if (!last) {
                if (S_ISLNK(sx.stx_mode)) {
                        rk_notice(x->log, "/%s is a symlink: not followed, nothing matched below it", rel);
                        return 0;
                }
                if (!S_ISDIR(sx.stx_mode))
                        return 0;
        }
        return rk_strv_push(out, rel);
}

static int expand_in(struct expansion *x, const char *dir, const char *comp, char ***out) {
        /* a directory past the literal prefix that sits behind a mount:
         * the open refuses with EXDEV, and nothing below it is a match */
        _cleanup_close_ int dfd = open_dir(x->root_fd, dir, x->g->literal);
        if (dfd == -ENOENT || dfd == -ENOTDIR)
                return 0;
        if (dfd == -ELOOP) {
                rk_notice(x->log, "/%s: a symlink on the way, not followed", dir);
                return 0;
        }
        if (dfd == -EXDEV) {
                rk_notice(x->log, "/%s: a mount point on the way past a wildcard: skipped", dir);
                x->g->skipped_mounts++;
                return 0;
        }
        if (dfd < 0)
                return rk_log_errno(x->log, dfd, "cannot open /%s: %s", dir, strerror(abs(dfd)));
        struct statx dsx;
        int r = rk_statx_at(dfd, NULL, RK_STATX_MOUNT, &dsx);
        if (r < 0)
                return r;

        if (!is_glob(comp))
                return consider(x, dfd, &dsx, dir, comp, out);

        DIR *d;
        r = rk_opendir_at(dfd, &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                /* never "." or "..": a glob like ".*" must not climb out or
                 * name the directory itself */
                if (rk_streq(de->d_name, ".") || rk_streq(de->d_name, ".."))
                        continue;
                /* no FNM_PERIOD: dot-files are secrets like any other */
                if (fnmatch(comp, de->d_name, 0) != 0)
                        continue;
                r = consider(x, dfd, &dsx, dir, de->d_name, out);
                if (r < 0)
                        break;
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        return r;
}

static int strv_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int rk_glob_expand(int root_fd, const char *glob, struct rk_log *log, struct rk_glob *ret) {
        _cleanup_strv_free_ char **comps = NULL;
        int r = rk_path_components(glob, &comps);
        if (r < 0)
                return r;
        struct rk_glob g = { .components = rk_strv_length(comps) };
        while (g.literal < g.components && !is_glob(comps[g.literal]))
                g.literal++;
        struct expansion x = { .root_fd = root_fd, .log = log, .g = &g };

        _cleanup_strv_free_ char **cur = calloc(2, sizeof(char *));
        if (!cur || !(cur[0] = strdup("")))
                return -ENOMEM;
        for (x.index = 0; x.index < g.components; x.index++) {
                _cleanup_strv_free_ char **next = NULL;
                for (char **d = cur; *d; d++) {
                        r = expand_in(&x, *d, comps[x.index], &next);
                        if (r < 0)
                                return r;
                }
                rk_strv_free(cur);
                cur = RK_TAKE_PTR(next);
                if (!cur)
                        break;
        }
        if (!cur && !(cur = calloc(1, sizeof(char *))))
                return -ENOMEM;
        qsort(cur, rk_strv_length(cur), sizeof *cur, strv_cmp);
        g.matches = RK_TAKE_PTR(cur);
        *ret = g;
        return 0;
}

void rk_glob_done(struct rk_glob *g) {
        rk_strv_free(g->matches);
        g->matches = NULL;
}
