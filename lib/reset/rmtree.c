/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rmtree.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fault.h"
#include "fsutil.h"
#include "glob.h"
#include "mount.h"
#include "util.h"

/* Directories of the walk that keep their fd open.  Deeper ancestors are
 * closed and reopened through ".." (checked by identity) when the walk
 * climbs back, so a 100,000-level tree needs no more fds than this. */
#define RK_RM_MAX_OPEN_DIRS 64
/* A name that flips between directory and non-directory while we look at
 * it (an attack, or another process) is retried this often, then left. */
#define RK_RM_MAX_RETRIES 4

#define STATX_WANT (STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_MNT_ID)

struct ident {
        dev_t dev;
        ino_t ino;
};

struct rm_ctx {
        const struct rk_rm_opts *o;
        struct rk_rm_stats *st;
        struct ident *prot;
        size_t n_prot;
        int error;      /* the first error met; the walk goes on */
};

static struct rk_log *ctx_log(const struct rm_ctx *c) {
        return c->o ? c->o->log : NULL;
}

static void note_error(struct rm_ctx *c, int r) {
        if (r < 0 && c->error == 0)
                c->error = r;
}

static struct ident sx_ident(const struct statx *sx) {
        return (struct ident) { makedev(sx->stx_dev_major, sx->stx_dev_minor), sx->stx_ino };
}

static bool ident_eq(struct ident a, struct ident b) {
        return a.dev == b.dev && a.ino == b.ino;
}

static bool is_protected(const struct rm_ctx *c, const struct statx *sx) {
        struct ident id = sx_ident(sx);
        for (size_t i = 0; i < c->n_prot; i++)
                if (ident_eq(c->prot[i], id))
                        return true;
        return false;
}

static int statx_at(int dfd, const char *name, struct statx *sx) {
        return rk_statx_at(dfd, name, STATX_WANT, sx);
}

/* The parent a frame stands for, as the mount primitive compares it. */
static struct statx frame_statx(dev_t dev, uint64_t mnt_id) {
        return (struct statx) {
                .stx_mask = mnt_id ? STATX_MNT_ID : 0,
                .stx_mnt_id = mnt_id,
                .stx_dev_major = major(dev),
                .stx_dev_minor = minor(dev),
        };
}

/* ---- protected paths --------------------------------------------------- */

static int protect_resolve(struct rm_ctx *c, int root_fd) {
        if (!c->o || !c->o->protect)
                return 0;
        size_t n = rk_strv_length(c->o->protect);
        c->prot = calloc(n ? n : 1, sizeof *c->prot);
        if (!c->prot)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *p = c->o->protect[i];
                while (*p == '/')
                        p++;
                if (!*p)
                        continue;       /* "/" is never removed anyway */
                /* Resolved the way the engine reaches the file (symlinks of
                 * the image followed inside the root), then compared by
                 * identity: the walk, which follows nothing, can only meet
                 * the file where it really is. */
                _cleanup_close_ int fd = rk_openat2(root_fd, p, O_PATH | O_NOFOLLOW, 0, RK_RESOLVE_ROOTED);
                if (fd < 0)
                        continue;       /* does not exist (yet): nothing to protect */
                struct statx sx;
                if (statx_at(fd, NULL, &sx) < 0)
                        continue;
                c->prot[c->n_prot++] = sx_ident(&sx);
        }
        return 0;
}

/* ---- the iterative walk ------------------------------------------------ */

struct frame {
        int fd;                 /* -1 while closed to save fds */
        struct ident id;
        uint64_t mnt_id;
        char *name;             /* name in the parent frame; NULL for the top */
        char *names;            /* the directory's entries, NUL separated */
        size_t names_len, pos;
        bool keep;              /* something below stays: do not rmdir */
        unsigned retries;       /* times this name was looked at again */
};

static void frame_done(struct frame *f) {
        rk_closep(&f->fd);
        f->fd = -1;
        free(f->name);
        free(f->names);
}

/* Read all names of a directory up front (as fts does): unlinking while a
 * getdents stream is open is allowed but makes positions fuzzy, and a
 * frame whose fd was closed can carry on from its list without rereading. */
static int read_names(int fd, char **ret, size_t *ret_len) {
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *names = malloc(cap);
        if (!names)
                return -ENOMEM;
        char buf[32768] __attribute__((aligned(8)));
        for (;;) {
                ssize_t n = getdents64(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *de = (struct dirent64 *) (buf + off);
                        off += de->d_reclen;
                        const char *nm = de->d_name;
                        if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0)))
                                continue;
                        size_t l = strlen(nm) + 1;
                        if (len + l > cap) {
                                while (len + l > cap)
                                        cap *= 2;
                                char *nn = realloc(names, cap);
                                if (!nn)
                                        return -ENOMEM;
                                names = nn;
                        }
                        memcpy(names + len, nm, l);
                        len += l;
                }
        }
        *ret = RK_TAKE_PTR(names);
        *ret_len = len;
        return 0;
}

struct walk {
        struct frame *stack;
        size_t n, cap;
};

static void walk_free(struct walk *w) {
        while (w->n > 0)
                frame_done(&w->stack[--w->n]);
        free(w->stack);
        w->stack = NULL;
}

static int walk_push(struct walk *w, int fd, struct ident id, uint64_t mnt_id, const char *name, unsigned retries) {
        if (w->n == w->cap) {
                size_t ncap = w->cap ? w->cap * 2 : 64;
                struct frame *ns = realloc(w->stack, ncap * sizeof *ns);
                if (!ns)
                        return -ENOMEM;
                w->stack = ns;
                w->cap = ncap;
        }
        struct frame f = { .fd = fd, .id = id, .mnt_id = mnt_id, .retries = retries };
        if (name && !(f.name = strdup(name)))
                return -ENOMEM;
        int r = read_names(fd, &f.names, &f.names_len);
        if (r < 0) {
                free(f.name);
                return r;
        }
        /* park the fd of the ancestor that is now furthest from the top */
        if (w->n >= RK_RM_MAX_OPEN_DIRS) {
                struct frame *old = &w->stack[w->n - RK_RM_MAX_OPEN_DIRS];
                rk_closep(&old->fd);
                old->fd = -1;
        }
        w->stack[w->n++] = f;
        return 0;
}

/* Reopen a parked parent through ".." of its child.  ".." is never a
 * symlink; the identity check refuses a directory that is no longer the
 * one we walked down through (renamed away meanwhile). */
static int reopen_parent(struct frame *parent, const struct frame *child) {
        int fd = openat(child->fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct statx sx;
        int r = statx_at(fd, NULL, &sx);
        if (r < 0 || !ident_eq(sx_ident(&sx), parent->id)) {
                close(fd);
                return r < 0 ? r : -ESTALE;
        }
        parent->fd = fd;
        return 0;
}

static void count_nondir(struct rm_ctx *c, const struct statx *sx) {
        if (S_ISLNK(sx->stx_mode))
                c->st->symlinks++;
        else {
                c->st->files++;
                if (S_ISREG(sx->stx_mode))
                        c->st->bytes += sx->stx_size;
        }
}

/* Unlink a non-directory (count it in dry run).  Returns 0 when gone, 1
 * when it turned into a directory under us (retry), <0 on error. */
static int unlink_nondir(struct rm_ctx *c, int dfd, const char *name, const struct statx *sx) {
        if (!c->o->dry_run) {
                if (unlinkat(dfd, name, 0) < 0) {
                        if (errno == ENOENT)
                                return 0;
                        if (errno == EISDIR || errno == EPERM)
                                /* EPERM: Linux's answer to unlink() of a
                                 * directory; re-stat to tell from a real
                                 * permission error */
                                return 1;
                        return -errno;
                }
                RK_FAULT("rm:unlink");
        }
        count_nondir(c, sx);
        return 0;
}

enum { ENTRY_DONE, ENTRY_KEEP, ENTRY_DESCEND };

/* One entry of directory f: unlink it, leave it (protected, a mount), or
 * open it for descending (*ret_fd). */
static int walk_entry(struct rm_ctx *c, struct frame *f, const char *name, int *ret_fd, struct statx *ret_sx) {
        struct rk_log *log = ctx_log(c);
        for (int tries = 0; tries < RK_RM_MAX_RETRIES; tries++) {
                struct statx sx;
                int r = statx_at(f->fd, name, &sx);
                if (r == -ENOENT)
                        return ENTRY_DONE;
                if (r < 0) {
                        rk_warn(log, "cannot stat '%s': %s", name, strerror(-r));
                        note_error(c, r);
                        return ENTRY_KEEP;
                }
                if (is_protected(c, &sx)) {
                        rk_info(log, "keeping protected '%s'", name);
                        c->st->skipped_protected++;
                        return ENTRY_KEEP;
                }
                struct statx psx = frame_statx(f->id.dev, f->mnt_id);
                if (rk_statx_crosses_mount(&sx, &psx)) {
                        rk_notice(log, "not crossing into the mount at '%s': left alone", name);
                        c->st->skipped_mounts++;
                        return ENTRY_KEEP;
                }
                if (!S_ISDIR(sx.stx_mode)) {
                        r = unlink_nondir(c, f->fd, name, &sx);
                        if (r == 1)
                                continue;
                        if (r < 0) {
                                rk_warn(log, "cannot remove '%s': %s", name, strerror(-r));
                                note_error(c, r);
                                return ENTRY_KEEP;
                        }
                        return ENTRY_DONE;
                }
                /* NO_XDEV: even if a mount appears between the statx and
                 * here, the open refuses to step into it */
                int fd = rk_openat2(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                                    RK_RESOLVE_STRICT | RESOLVE_NO_XDEV);
                if (fd == -ENOENT)
                        return ENTRY_DONE;
                if (fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV)
                        continue;       /* swapped under us: look again */
                if (fd < 0) {
                        rk_warn(log, "cannot open directory '%s': %s", name, strerror(-fd));
                        note_error(c, fd);
                        return ENTRY_KEEP;
                }
                *ret_fd = fd;
                *ret_sx = sx;
                return ENTRY_DESCEND;
        }
        rk_warn(log, "'%s' keeps changing type while being removed: left alone", name);
        note_error(c, -EBUSY);
        return ENTRY_KEEP;
}

/* Handle one name of the top frame: unlink, keep, or descend (push). */
static void walk_step(struct rm_ctx *c, struct walk *w, const char *name, unsigned retries) {
        struct frame *f = &w->stack[w->n - 1];
        int fd = -1;
        struct statx sx;
        int e = walk_entry(c, f, name, &fd, &sx);
        if (e == ENTRY_KEEP)
                f->keep = true;
        else if (e == ENTRY_DESCEND) {
                /* below a directory on this mount, same mount id */
                int r = walk_push(w, fd, sx_ident(&sx), f->mnt_id, name, retries);
                if (r < 0) {
                        close(fd);
                        rk_warn(ctx_log(c), "cannot read directory '%s': %s", name, strerror(-r));
                        note_error(c, r);
                        w->stack[w->n - 1].keep = true;
                }
        }
}

/* Remove everything below the directory top_fd (taken over).  *ret_keep
 * tells whether something stayed (the directory cannot go). */
static int remove_contents(struct rm_ctx *c, int top_fd, const struct statx *top_sx, bool *ret_keep) {
        struct rk_log *log = ctx_log(c);
        struct walk w = {};
        uint64_t top_mnt = (top_sx->stx_mask & STATX_MNT_ID) ? top_sx->stx_mnt_id : 0;
        int r = walk_push(&w, top_fd, sx_ident(top_sx), top_mnt, NULL, 0);
        if (r < 0) {
                close(top_fd);
                *ret_keep = true;
                note_error(c, r);
                return r;
        }

        while (w.n > 0) {
                struct frame *f = &w.stack[w.n - 1];

                if (f->pos < f->names_len) {
                        const char *name = f->names + f->pos;
                        f->pos += strlen(name) + 1;
                        walk_step(c, &w, name, 0);
                        continue;
                }

                /* f is done */
                if (w.n == 1) {
                        *ret_keep = f->keep;
                        break;
                }
                struct frame *p = &w.stack[w.n - 2];
                if (p->fd < 0) {
                        r = reopen_parent(p, f);
                        if (r < 0) {
                                /* the tree moved under us: stop rather than
                                 * act on a directory we cannot vouch for */
                                rk_err(log, "directory changed while being removed: %s", strerror(-r));
                                note_error(c, r);
                                *ret_keep = true;
                                walk_free(&w);
                                return r;
                        }
                }
                if (f->keep)
                        p->keep = true;
                else if (c->o->dry_run)
                        c->st->dirs++;
                else {
                        rk_closep(&f->fd);
                        f->fd = -1;
                        if (unlinkat(p->fd, f->name, AT_REMOVEDIR) < 0) {
                                if ((errno == ENOTDIR || errno == ENOTEMPTY) && f->retries + 1 < RK_RM_MAX_RETRIES) {
                                        /* swapped for something else or
                                         * refilled under us: look again */
                                        _cleanup_free_ char *name = RK_TAKE_PTR(f->name);
                                        unsigned retries = f->retries + 1;
                                        frame_done(f);
                                        w.n--;
                                        walk_step(c, &w, name, retries);
                                        continue;
                                }
                                if (errno != ENOENT) {
                                        int e = errno;
                                        rk_warn(log, "cannot remove directory '%s': %s", f->name, strerror(e));
                                        note_error(c, -e);
                                        p->keep = true;
                                }
                        } else {
                                c->st->dirs++;
                                RK_FAULT("rm:rmdir");
                        }
                }
                frame_done(f);
                w.n--;
        }
        walk_free(&w);
        return 0;
}

/* ---- one match --------------------------------------------------------- */

/* Act on name in directory dfd (the parent of a glob match).  literal:
 * the entry names this path without wildcards, so it may name a mount
 * (its contents go, the mount point stays); a wildcard match that is a
 * mount point is left alone. */
static int rm_match(struct rm_ctx *c, int dfd, const char *name, const char *shown, bool keep_dir, bool literal) {
        struct rk_log *log = ctx_log(c);
        struct statx psx;
        int r = statx_at(dfd, NULL, &psx);
        if (r < 0)
                return r;

        for (int tries = 0; tries < RK_RM_MAX_RETRIES; tries++) {
                struct statx sx;
                r = statx_at(dfd, name, &sx);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return rk_log_errno(log, r, "cannot stat /%s: %s", shown, strerror(abs(r)));
                if (is_protected(c, &sx)) {
                        rk_info(log, "keeping protected /%s", shown);
                        c->st->skipped_protected++;
                        return 0;
                }
                bool mount_root = rk_statx_crosses_mount(&sx, &psx);
                if (mount_root && !literal) {
                        rk_notice(log, "/%s is a mount point reached through a wildcard: skipped, nothing in it removed", shown);
                        c->st->skipped_mounts++;
                        return 0;
                }

                if (!S_ISDIR(sx.stx_mode)) {
                        if (keep_dir) {
                                rk_info(log, "/%s is not a directory: nothing to empty, left alone", shown);
                                return 0;
                        }
                        if (mount_root) {
                                rk_notice(log, "/%s is a mount point: left alone", shown);
                                c->st->skipped_mounts++;
                                return 0;
                        }
                        c->st->matches++;
                        r = unlink_nondir(c, dfd, name, &sx);
                        if (r == 1) {
                                c->st->matches--;
                                continue;
                        }
                        if (r < 0)
                                return rk_log_errno(log, r, "cannot remove /%s: %s", shown, strerror(abs(r)));
                        rk_debug(log, "removed /%s", shown);
                        return 0;
                }

                /* The entry itself may name a mount (e.g. /var/log on its own
                 * filesystem): stepping into it is what was asked for.  Mounts
                 * below it are left alone by the walk. */
                int fd = rk_openat2(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, RK_RESOLVE_STRICT);
                if (fd == -ENOENT)
                        return 0;
                if (fd == -ELOOP || fd == -ENOTDIR)
                        continue;
                if (fd < 0)
                        return rk_log_errno(log, fd, "cannot open /%s: %s", shown, strerror(abs(fd)));
                /* what we opened is the truth; the name may have changed */
                struct statx fsx;
                r = statx_at(fd, NULL, &fsx);
                if (r < 0) {
                        close(fd);
                        return rk_log_errno(log, r, "cannot stat /%s: %s", shown, strerror(abs(r)));
                }
                if (!ident_eq(sx_ident(&fsx), sx_ident(&sx))) {
                        close(fd);
                        continue;
                }
                c->st->matches++;
                bool keep = false;
                uint64_t before = c->st->files + c->st->symlinks + c->st->dirs;
                (void) remove_contents(c, fd, &fsx, &keep);
                uint64_t gone = c->st->files + c->st->symlinks + c->st->dirs - before;
                if (keep_dir) {
                        rk_debug(log, "emptied /%s (%" PRIu64 " entries)", shown, gone);
                        return 0;
                }
                if (mount_root) {
                        rk_notice(log, "/%s is a mount point: contents removed, the mount point stays", shown);
                        return 0;
                }
                if (keep) {
                        rk_info(log, "/%s: kept, something inside it stays", shown);
                        return 0;
                }
                if (c->o->dry_run) {
                        c->st->dirs++;
                        return 0;
                }
                if (unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
                        if (errno == ENOENT)
                                return 0;
                        if (errno == ENOTDIR || errno == ENOTEMPTY) {
                                c->st->matches--;
                                continue;       /* changed under us: look again */
                        }
                        return rk_log_errno(log, -errno, "cannot remove directory /%s: %s", shown, strerror(errno));
                }
                c->st->dirs++;
                RK_FAULT("rm:rmdir");
                rk_debug(log, "removed /%s (%" PRIu64 " entries)", shown, gone + 1);
                return 0;
        }
        rk_warn(log, "/%s keeps changing type while being removed: left alone", shown);
        return -EBUSY;
}

/* Act on one root-relative path: open its parent strictly (no symlink on
 * the way, no mount past the first `literal` components), then the match
 * itself. */
static int rm_relpath(struct rm_ctx *c, int root_fd, const char *rel, size_t literal, size_t components,
                      bool keep_dir) {
        struct rk_log *log = ctx_log(c);
        const char *name;
        _cleanup_close_ int dfd = rk_glob_open_parent(root_fd, rel, literal, &name);
        if (dfd == -ENOENT || dfd == -ENOTDIR)
                return 0;
        if (dfd == -ELOOP) {
                rk_notice(log, "/%s: a symlink on the way, not followed: left alone", rel);
                return 0;
        }
        if (dfd == -EXDEV) {
                rk_notice(log, "/%s: a mount point on the way past a wildcard: left alone", rel);
                c->st->skipped_mounts++;
                return 0;
        }
        if (dfd < 0)
                return rk_log_errno(log, dfd, "cannot open the directory of /%s: %s", rel, strerror(abs(dfd)));
        return rm_match(c, dfd, name, rel, keep_dir, literal == components);
}

/* ---- entry points ------------------------------------------------------ */

struct dated {
        char *rel;
        int64_t sec;
        uint32_t nsec;
};

static int dated_cmp(const void *a, const void *b) {
        const struct dated *x = a, *y = b;
        /* newest first; equal times: the greater name (rotation suffixes
         * and dates sort that way) counts as newer */
        if (x->sec != y->sec)
                return x->sec > y->sec ? -1 : 1;
        if (x->nsec != y->nsec)
                return x->nsec > y->nsec ? -1 : 1;
        return -strcmp(x->rel, y->rel);
}

/* The matches that keep-newest removes: all but the `keep` newest.  Stable
 * under repetition: the newest stay the newest, so a second run (or a
 * resumed one) selects nothing more. */
static int select_old(int root_fd, const struct rk_glob *g, unsigned keep, struct rk_log *log, char ***ret) {
        char **matches = g->matches;
        size_t n = rk_strv_length(matches), m = 0;
        _cleanup_free_ struct dated *v = calloc(n ? n : 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct statx sx;
                const char *name;
                _cleanup_close_ int dfd = rk_glob_open_parent(root_fd, matches[i], g->literal, &name);
                if (dfd < 0 || statx_at(dfd, name, &sx) < 0)
                        continue;       /* gone or unreachable: not a candidate */
                v[m++] = (struct dated) { matches[i], sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec };
        }
        qsort(v, m, sizeof *v, dated_cmp);
        _cleanup_strv_free_ char **out = calloc(1, sizeof(char *));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < m; i++) {
                if (i < keep) {
                        rk_debug(log, "keep-newest: keeping /%s", v[i].rel);
                        continue;
                }
                if (rk_strv_push(&out, v[i].rel) < 0)
                        return -ENOMEM;
        }
        *ret = RK_TAKE_PTR(out);
        return 0;
}

static int ctx_init(struct rm_ctx *c, int root_fd, const struct rk_rm_opts *o, struct rk_rm_stats *st) {
        *c = (struct rm_ctx) { .o = o, .st = st };
        return protect_resolve(c, root_fd);
}

int rk_rm_entry(int root_fd, enum rk_mf_action action, const char *glob, unsigned keep,
                const struct rk_rm_opts *o, struct rk_rm_stats *st) {
        static const struct rk_rm_opts defaults = {};
        if (!o)
                o = &defaults;
        if (!glob || !st || !rk_mf_action_removes(action))
                return -EINVAL;

        struct rk_glob g = {};
        int r = rk_glob_expand(root_fd, glob, o->log, &g);
        if (r == -EINVAL)
                return rk_log_errno(o->log, r, "refusing glob '%s': it names the root or has a '.'/'..' component", glob);
        if (r < 0)
                return rk_log_errno(o->log, r, "cannot expand '%s': %s", glob, strerror(abs(r)));

        st->skipped_mounts += g.skipped_mounts;
        if (action == RK_MF_KEEP_NEWEST) {
                char **old = NULL;
                r = select_old(root_fd, &g, keep, o->log, &old);
                if (r < 0) {
                        rk_glob_done(&g);
                        return r;
                }
                rk_strv_free(g.matches);
                g.matches = old;
        }

        struct rm_ctx c;
        r = ctx_init(&c, root_fd, o, st);
        for (char **m = g.matches; r >= 0 && *m; m++)
                note_error(&c, rm_relpath(&c, root_fd, *m, g.literal, g.components, action == RK_MF_EMPTY));
        rk_glob_done(&g);
        free(c.prot);
        return r < 0 ? r : c.error;
}

int rk_rm_path(int root_fd, const char *path, bool keep_dir,
               const struct rk_rm_opts *o, struct rk_rm_stats *st) {
        static const struct rk_rm_opts defaults = {};
        if (!o)
                o = &defaults;
        if (!path || !st)
                return -EINVAL;
        /* the same normal form the glob walk produces: "a/b/c" */
        _cleanup_strv_free_ char **comps = NULL;
        int r = rk_path_components(path, &comps);
        if (r < 0)
                return rk_log_errno(o->log, r, "refusing path '%s': it names the root or has a '.'/'..' component", path);
        _cleanup_free_ char *rel = NULL;
        for (char **p = comps; *p; p++) {
                char *n = rel ? rk_path_join(rel, *p) : strdup(*p);
                if (!n)
                        return -ENOMEM;
                free(rel);
                rel = n;
        }

        struct rm_ctx c;
        r = ctx_init(&c, root_fd, o, st);
        if (r < 0)
                return r;
        /* literal: every component may name a mount */
        size_t n = rk_strv_length(comps);
        note_error(&c, rm_relpath(&c, root_fd, rel, n, n, keep_dir));
        free(c.prot);
        return c.error;
}
