/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "accounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "fault.h"
#include "fsutil.h"
#include "mount.h"
#include "passwd.h"
#include "rmtree.h"

#define DB_MAX_SIZE ((size_t) 256 << 20)
#define SELINUX_XATTR "security.selinux"
#define VAR_BACKUPS "var/backups"

/* The databases in WRITE ORDER.  passwd is last on purpose: it is how a
 * re-run finds the users, so it may only lose them once everything else
 * about them is gone (see accounts.h). */
enum {
        I_GSHADOW,
        I_GROUP,
        I_SUBUID,
        I_SUBGID,
        I_SHADOW,
        I_PASSWD,
        N_DB,
};

static const struct dbdesc {
        const char *name;
        const char *bak;
        const char *vbak;   /* Debian's copy in var/backups (cron.daily/passwd); NULL: none */
        enum rk_db db;
        bool always_backup; /* shadow-utils keeps these four backups: create them if missing */
} dbdesc[N_DB] = {
        [I_GSHADOW] = { "gshadow", "gshadow-", "gshadow.bak", RK_DB_GSHADOW, true },
        [I_GROUP] = { "group", "group-", "group.bak", RK_DB_GROUP, true },
        [I_SUBUID] = { "subuid", "subuid-", NULL, RK_DB_SUBID, false },
        [I_SUBGID] = { "subgid", "subgid-", NULL, RK_DB_SUBID, false },
        [I_SHADOW] = { "shadow", "shadow-", "shadow.bak", RK_DB_SHADOW, true },
        [I_PASSWD] = { "passwd", "passwd-", "passwd.bak", RK_DB_PASSWD, true },
};

struct blob {
        bool exists;
        char *text;
        size_t len;
        struct stat st;
        char *label; /* SELinux label, carried over to the replacement */
        size_t label_len;
};

/* One database: the live file, its "-" backup in etc and its .bak copy in
 * var/backups, and the content each is given (NULL: left alone). */
struct dbfile {
        struct blob main, bak, vbak;
        char *new_main;
        char *new_bak;
        char *new_vbak;
        struct rk_edit_stats stats;
};

/* The directories the databases live in, opened once. */
struct dirs {
        int etc;
        int vb; /* var/backups; -1 when the target has none */
};

static void blob_done(struct blob *b) {
        free(b->text);
        free(b->label);
        *b = (struct blob) {};
}

static void dbfiles_done(struct dbfile *f) {
        for (size_t i = 0; i < N_DB; i++) {
                blob_done(&f[i].main);
                blob_done(&f[i].bak);
                blob_done(&f[i].vbak);
                free(f[i].new_main);
                free(f[i].new_bak);
                free(f[i].new_vbak);
                f[i] = (struct dbfile) {};
        }
}

static void dirs_done(struct dirs *d) {
        rk_closep(&d->etc);
        rk_closep(&d->vb);
}

static int open_etc(int root_fd, char *err, size_t errlen) {
        int fd = rk_openat2(root_fd, "etc", O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
        if (fd == -ELOOP)
                rk_set_err(err, errlen, "etc: is a symlink (or crosses one): refused, nothing changed");
        else if (fd < 0)
                rk_set_err(err, errlen, "etc: %s", strerror(-fd));
        return fd;
}

/* etc and var/backups.  A target without var/backups has no .bak copies;
 * one reached through a symlink is refused like a symlinked etc: its
 * copies could be neither read safely nor left with the old hashes. */
static int open_dirs(int root_fd, struct dirs *ret, char *err, size_t errlen) {
        struct dirs d = { .etc = open_etc(root_fd, err, errlen), .vb = -1 };
        if (d.etc < 0)
                return d.etc;
        int fd = rk_openat2(root_fd, VAR_BACKUPS, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
        if (fd < 0 && fd != -ENOENT) {
                rk_set_err(err, errlen, VAR_BACKUPS ": %s", fd == -ELOOP
                           ? "is a symlink (or crosses one): refused, nothing changed" : strerror(-fd));
                dirs_done(&d);
                return fd;
        }
        d.vb = fd;
        *ret = d;
        return 0;
}

/* Read DIR/NAME (dfd being DIR) without following any symlink.  Missing
 * is not an error (b->exists stays false); a symlink or anything but a
 * regular file is. */
static int load_blob(int dfd, const char *dir, const char *name, struct blob *b, char *err, size_t errlen) {
        int r = RK_FAIL("accounts:open");
        _cleanup_close_ int fd = r < 0 ? r
                : rk_openat2(dfd, name, O_RDONLY | O_NOCTTY | O_NOFOLLOW, 0, RK_RESOLVE_STRICT);
        if (fd == -ENOENT)
                return 0;
        if (fd == -ELOOP) {
                rk_set_err(err, errlen, "%s/%s: is a symlink: refused, nothing changed", dir, name);
                return fd;
        }
        if (fd < 0) {
                rk_set_err(err, errlen, "%s/%s: %s", dir, name, strerror(-fd));
                return fd;
        }
        struct blob n = { .exists = true };
        if (fstat(fd, &n.st) < 0) {
                rk_set_err(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
                return -errno;
        }
        r = rk_read_fd(fd, DB_MAX_SIZE, &n.text, &n.len);
        if (r < 0) {
                rk_set_err(err, errlen, "%s/%s: %s", dir, name,
                        r == -EINVAL || r == -EISDIR ? "not a regular file: refused, nothing changed" : strerror(-r));
                return r;
        }
        if (strlen(n.text) != n.len) {
                rk_set_err(err, errlen, "%s/%s: contains a NUL byte: refused, nothing changed", dir, name);
                free(n.text);
                return -EINVAL;
        }
        /* the label must survive the rewrite (shadow_t on SELinux
         * systems: login breaks without it) */
        ssize_t ll = fgetxattr(fd, SELINUX_XATTR, NULL, 0);
        if (ll > 0) {
                n.label = malloc((size_t) ll);
                if (!n.label) {
                        free(n.text);
                        rk_set_err(err, errlen, "%s/%s: %s", dir, name, strerror(ENOMEM));
                        return -ENOMEM;
                }
                ll = fgetxattr(fd, SELINUX_XATTR, n.label, (size_t) ll);
                n.label_len = ll > 0 ? (size_t) ll : 0;
        }
        *b = n;
        return 0;
}

static int load_all(const struct dirs *d, struct dbfile *f, char *err, size_t errlen) {
        for (size_t i = 0; i < N_DB; i++) {
                int r = load_blob(d->etc, "etc", dbdesc[i].name, &f[i].main, err, errlen);
                if (r >= 0)
                        r = load_blob(d->etc, "etc", dbdesc[i].bak, &f[i].bak, err, errlen);
                if (r >= 0 && d->vb >= 0 && dbdesc[i].vbak)
                        r = load_blob(d->vb, VAR_BACKUPS, dbdesc[i].vbak, &f[i].vbak, err, errlen);
                if (r < 0)
                        return r;
        }
        if (!f[I_PASSWD].main.exists) {
                rk_set_err(err, errlen, "etc/passwd: %s", strerror(ENOENT));
                return -ENOENT;
        }
        return 0;
}

static int load_uid_max(int etc_fd, unsigned *ret, char *err, size_t errlen) {
        struct blob b = {};
        int r = load_blob(etc_fd, "etc", "login.defs", &b, err, errlen);
        if (r < 0)
                return r;
        struct rk_login_defs defs;
        r = rk_login_defs_parse(b.exists ? b.text : NULL, "etc/login.defs", &defs, err, errlen);
        blob_done(&b);
        if (r < 0)
                return r;
        *ret = defs.uid_max;
        return 0;
}

/* The home base: HOME= of etc/default/useradd, else /home. */
static int load_home_base(int etc_fd, char **ret, char *err, size_t errlen) {
        struct blob b = {};
        int r = load_blob(etc_fd, "etc", "default/useradd", &b, err, errlen);
        if (r == -ENOTDIR)
                r = 0; /* etc/default is not a directory: no defaults */
        if (r < 0)
                return r;
        r = rk_useradd_home_parse(b.exists ? b.text : NULL, "etc/default/useradd", ret, err, errlen);
        blob_done(&b);
        return r;
}

/* Everything step 4 decides from: the databases, UID_MAX, the home base. */
static int load_everything(const struct dirs *d, struct dbfile *f, unsigned *ret_uid_max, char **ret_base,
                           char *err, size_t errlen) {
        int r = load_all(d, f, err, errlen);
        if (r >= 0)
                r = load_uid_max(d->etc, ret_uid_max, err, errlen);
        if (r >= 0)
                r = load_home_base(d->etc, ret_base, err, errlen);
        return r;
}

static char *const empty_strv[] = { NULL };

/* The decision, from files already loaded. */
static int select_users(const struct dbfile *f, const struct rk_pw_rules *rules,
                        struct rk_pw_table *ret_table, struct rk_pw_deletion *ret_sel) {
        struct rk_pw_table t;
        int r = rk_pw_table_parse(f[I_PASSWD].main.text, &t);
        if (r < 0)
                return r;
        const char *group = f[I_GROUP].main.exists ? f[I_GROUP].main.text : NULL;
        r = rk_pw_select(&t, rules, group, ret_sel);
        if (r < 0) {
                rk_pw_table_free(&t);
                return r;
        }
        *ret_table = t;
        return 0;
}

/* ---- plan ---- */

void rk_accounts_plan_free(struct rk_accounts_plan *p) {
        if (!p)
                return;
        rk_strv_free(p->users);
        rk_strv_free(p->homes);
        rk_strv_free(p->groups_deleted);
        rk_strv_free(p->keep_users);
        free(p->uids);
        free(p->home_base);
        *p = (struct rk_accounts_plan) {};
}

static char **strv_new(size_t n) { return calloc(n + 1, sizeof(char *)); }

int rk_accounts_plan(int root_fd, unsigned min_uid, char *const *keep_users,
                     struct rk_accounts_plan *ret, char *err, size_t errlen) {
        struct dbfile f[N_DB] = {};
        struct rk_pw_table t = {};
        struct rk_pw_deletion sel = {};
        struct rk_accounts_plan p = { .min_uid = min_uid };
        struct dirs d = { -1, -1 };

        int r = open_dirs(root_fd, &d, err, errlen);
        if (r < 0)
                return r;
        /* Load everything, not only passwd and group: the preflight must
         * meet a symlinked shadow before the reset starts, not half-way. */
        r = load_everything(&d, f, &p.uid_max, &p.home_base, err, errlen);
        if (r < 0)
                goto out;
        struct rk_pw_rules rules = { .min_uid = min_uid, .uid_max = p.uid_max, .keep_users = keep_users };
        r = select_users(f, &rules, &t, &sel);
        if (r < 0) {
                rk_set_err(err, errlen, "etc/passwd: %s", strerror(-r));
                goto out;
        }
        r = -ENOMEM;
        p.n_users = sel.n_users;
        p.users = strv_new(sel.n_users);
        p.homes = strv_new(sel.n_users);
        p.uids = calloc(sel.n_users + 1, sizeof(uint32_t));
        p.groups_deleted = strv_new(rk_strv_length(sel.groups));
        p.keep_users = strv_new(rk_strv_length(keep_users));
        if (!p.users || !p.homes || !p.uids || !p.groups_deleted || !p.keep_users)
                goto oom;
        for (size_t i = 0; i < sel.n_users; i++) {
                if (!(p.users[i] = strdup(sel.users[i].name)) || !(p.homes[i] = strdup(sel.users[i].home)))
                        goto oom;
                p.uids[i] = sel.users[i].uid;
        }
        for (size_t i = 0; sel.groups[i]; i++)
                if (!(p.groups_deleted[i] = strdup(sel.groups[i])))
                        goto oom;
        for (size_t i = 0; keep_users && keep_users[i]; i++)
                if (!(p.keep_users[i] = strdup(keep_users[i])))
                        goto oom;
        *ret = p;
        p = (struct rk_accounts_plan) {};
        r = 0;
        goto out;
oom:
        rk_set_err(err, errlen, "accounts plan: %s", strerror(ENOMEM));
out:
        rk_accounts_plan_free(&p);
        rk_pw_deletion_free(&sel);
        rk_pw_table_free(&t);
        dbfiles_done(f);
        dirs_done(&d);
        return r;
}

/* ---- the lock ---- */

static int lock_etc(int etc_fd, uint64_t timeout_ms, char *err, size_t errlen) {
        /* lckpwdf(3): open (creating, 0600) etc/.pwd.lock and take a write
         * lock on the whole file; give up after a timeout.  We use an
         * open-file-description lock: it conflicts with the classic POSIX
         * lock glibc and shadow-utils take, but is not dropped when some
         * other code of this process closes another fd of the file, and
         * needs no SIGALRM: we poll with F_OFD_SETLK until the deadline. */
        int r = RK_FAIL("accounts:lock");
        _cleanup_close_ int fd = r < 0 ? r : rk_openat2(etc_fd, ".pwd.lock", O_WRONLY | O_CREAT | O_NOCTTY | O_NOFOLLOW,
                                                        0600, RK_RESOLVE_STRICT);
        if (fd < 0) {
                rk_set_err(err, errlen, "etc/.pwd.lock: %s", fd == -ELOOP ? "is a symlink: refused" : strerror(-fd));
                return fd;
        }
        uint64_t deadline = rk_now_ms() + timeout_ms;
        for (;;) {
                struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
                if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
                        return RK_TAKE_FD(fd);
                if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
                        rk_set_err(err, errlen, "etc/.pwd.lock: locking: %s", strerror(errno));
                        return -errno;
                }
                uint64_t now = rk_now_ms();
                if (now >= deadline)
                        break;
                uint64_t step = deadline - now < 20 ? deadline - now : 20;
                struct timespec ts = { 0, (long) step * 1000000L };
                nanosleep(&ts, NULL);
        }
        struct flock who = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(fd, F_OFD_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0)
                rk_set_err(err, errlen, "etc/.pwd.lock: held by process %d, gave up after %llu ms (another userdel/passwd running?)",
                        (int) who.l_pid, (unsigned long long) timeout_ms);
        else
                rk_set_err(err, errlen, "etc/.pwd.lock: held by another process, gave up after %llu ms",
                        (unsigned long long) timeout_ms);
        return -ETIMEDOUT;
}

int rk_accounts_lock(int root_fd, uint64_t timeout_ms, char *err, size_t errlen) {
        _cleanup_close_ int etc_fd = open_etc(root_fd, err, errlen);
        if (etc_fd < 0)
                return etc_fd;
        return lock_etc(etc_fd, timeout_ms, err, errlen);
}

/* ---- atomic rewrite keeping owner, mode and label ---- */

/* Account files keep their owner (shadow is root:shadow 0640 on Debian) and
 * SELinux label (shadow_t), set on the temporary before it becomes visible.
 * Two failure points: before anything is written (the old content stays)
 * and after the rename (the new content is in place, but the fsync of the
 * directory is reported failed): both are states a re-run finishes. */
static int write_owned(int dfd, const char *name, const char *data, size_t len, const struct stat *like,
                       const char *label, size_t label_len) {
        struct rk_atomic_attrs a = {
                .mode = like->st_mode & 07777,
                .chown = true,
                .uid = like->st_uid,
                .gid = like->st_gid,
                .xattr_name = label && label_len ? SELINUX_XATTR : NULL,
                .xattr_value = label,
                .xattr_len = label_len,
        };
        int r = RK_FAIL("accounts:write");
        if (r < 0)
                return r;
        r = rk_write_atomic_attrs_at(dfd, name, data, len, &a);
        if (r < 0)
                return r;
        return RK_FAIL("accounts:fsync");
}

/* Temporaries of ours a crash left in etc or var/backups (only for our
 * file names: other writers' temporaries are theirs). */
static void remove_stale_temps(int dfd, const char *dir, bool vbak, struct rk_log *log) {
        DIR *d;
        if (dfd < 0 || rk_opendir_at(dfd, &d) < 0)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *rest = rk_startswith(de->d_name, RK_TEMP_PREFIX);
                if (!rest)
                        continue;
                for (size_t i = 0; i < N_DB; i++) {
                        const char *names[2] = { vbak ? dbdesc[i].vbak : dbdesc[i].name, vbak ? NULL : dbdesc[i].bak };
                        bool ours = false;
                        for (size_t k = 0; k < 2; k++) {
                                const char *a = names[k] ? rk_startswith(rest, names[k]) : NULL;
                                ours |= a && *a == '.';
                        }
                        if (!ours)
                                continue;
                        if (unlinkat(dfd, de->d_name, 0) == 0)
                                rk_info(log, "accounts: removed %s/%s left by an interrupted run", dir, de->d_name);
                        break;
                }
        }
        closedir(d);
}

/* Give one copy its new content; a file already holding it is not touched
 * (a re-run writes nothing).  like: whose owner, mode and label a copy
 * that does not exist yet takes. */
static int write_copy(int dfd, const char *dir, const char *name, const char *text, const struct blob *cur,
                      const struct blob *like, struct rk_log *log) {
        if (!text || dfd < 0)
                return 0;
        if (cur->exists && strcmp(text, cur->text) == 0)
                return 0;
        const struct blob *b = cur->exists ? cur : like;
        int r = write_owned(dfd, name, text, strlen(text), &b->st, b->label, b->label_len);
        if (r < 0)
                return rk_log_errno(log, r, "accounts: writing %s/%s: %s (a re-run writes it again)",
                                    dir, name, strerror(-r));
        rk_info(log, "accounts: %s/%s %s", dir, name, cur->exists ? "rewritten" : "created");
        RK_FAULT("accounts:file");
        return 0;
}

/* Bring one database, its "-" backup and its var/backups copy to the new
 * content.  Goes on after a failure (every copy holding an old hash less
 * is a gain) and returns the first one. */
static int write_db(const struct dirs *d, size_t i, const struct dbfile *f, struct rk_log *log) {
        const struct dbdesc *dd = &dbdesc[i];
        int r = 0, k;
        if (f->main.exists && f->new_main && strcmp(f->new_main, f->main.text) != 0) {
                k = write_copy(d->etc, "etc", dd->name, f->new_main, &f->main, &f->main, log);
                if (k < 0)
                        return k; /* its copies must not get ahead of it */
                rk_info(log, "accounts: etc/%s: %zu lines removed, %zu changed",
                        dd->name, f->stats.removed, f->stats.changed);
        }
        /* a new "-" backup takes the main file's owner and mode */
        k = write_copy(d->etc, "etc", dd->bak, f->new_bak, &f->bak, &f->main, log);
        if (k < 0 && r == 0)
                r = k;
        if (dd->vbak) {
                k = write_copy(d->vb, VAR_BACKUPS, dd->vbak, f->new_vbak, &f->vbak, &f->vbak, log);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

/* ---- homes, mail spools, crontabs ---- */

/* Remove directory `base` in pfd and everything below it: the factory
 * reset's own safe removal (iterative, never following a symlink, never
 * entering another filesystem), with pfd as its root so nothing above the
 * home's parent can be reached.  A tree that is itself a mount point (an
 * NFS home, a bind mount of a directory from anywhere, of this filesystem
 * too) is another filesystem's data: left in place. */
static int rm_tree_at(int pfd, const char *base, const char *what, struct rk_log *log) {
        int m = rk_mount_root_at(pfd, base);
        if (m == -ENOENT)
                return 0;
        if (m < 0)
                return m;
        if (m > 0) {
                rk_warn(log, "accounts: %s is a mount point, left in place", what);
                return 0;
        }
        struct rk_rm_opts o = { .log = log };
        struct rk_rm_stats st = {};
        int r = rk_rm_path(pfd, base, false, &o, &st);
        if (r < 0)
                return r;
        if (st.skipped_mounts)
                rk_warn(log, "accounts: %s: %llu mount point(s) inside left in place", what,
                        (unsigned long long) st.skipped_mounts);
        RK_FAULT("accounts:home-dir");
        return 0;
}

/* A name usable as one path component (passwd allows more than that). */
static bool name_is_component(const char *s) {
        return !rk_isempty(s) && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Open the directory `rel` below the root strictly; -ENOENT/-ELOOP say
 * there is nothing of ours there. */
static int open_dir_strict(int root_fd, const char *rel) {
        return rk_openat2(root_fd, rel, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
}

/* Remove dir/NAME (file, symlink or tree), dfd being dir, whoever owns it:
 * it is named after the deleted user in a directory of per-user files. */
static int remove_named(int dfd, const char *dir, const char *name, bool files_only, struct rk_log *log) {
        struct stat s;
        if (dfd < 0)
                return 0;
        if (fstatat(dfd, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : rk_log_errno(log, errno, "accounts: %s/%s: %m", dir, name);
        if (S_ISDIR(s.st_mode) && files_only)
                return 0;
        int r = RK_FAIL("accounts:unlink");
        if (r < 0)
                return rk_log_errno(log, r, "accounts: removing %s/%s: %s", dir, name, strerror(-r));
        if (S_ISDIR(s.st_mode)) {
                char what[PATH_MAX];
                snprintf(what, sizeof what, "%s/%s", dir, name);
                r = rm_tree_at(dfd, name, what, log);
                if (r < 0)
                        return rk_log_errno(log, r, "accounts: removing %s: %s", what, strerror(-r));
        } else if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return rk_log_errno(log, errno, "accounts: removing %s/%s: %m", dir, name);
        rk_info(log, "accounts: removed %s/%s", dir, name);
        return 0;
}

/* Where a user's spool files are, opened once per run.  They go whoever
 * owns them: a mail spool chowned to root (or a crontab, root's on RHEL)
 * holds the deleted user's data all the same. */
static const struct spool_desc {
        const char *dir;
        bool files_only;
} spool_desc[] = {
        { "var/mail", false },
        { "var/spool/mail", false },
        { "var/spool/cron/crontabs", true },
        { "var/spool/cron", true },
};

/* Identity of a directory, for the homes of the accounts that stay. */
struct ident {
        dev_t dev;
        ino_t ino;
};

static int cmp_ident(const void *a, const void *b) {
        const struct ident *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        return x->ino < y->ino ? -1 : x->ino > y->ino;
}

struct user_dirs {
        int spool[RK_ELEMENTSOF(spool_desc)];
        char *home_parent; /* consecutive homes share a parent: keep it open */
        int home_parent_fd;
        const char *home_base;      /* canonical */
        char **kept_homes;          /* canonical homes of the accounts that stay, sorted */
        size_t n_kept_homes;
        struct ident *kept_ids;     /* ... as directories, with every directory above them, sorted */
        size_t n_kept_ids;
};

static void user_dirs_done(struct user_dirs *d) {
        for (size_t i = 0; i < RK_ELEMENTSOF(d->spool); i++)
                rk_closep(&d->spool[i]);
        rk_closep(&d->home_parent_fd);
        free(d->home_parent);
        rk_strv_free(d->kept_homes);
        free(d->kept_ids);
        *d = (struct user_dirs) { .home_parent_fd = -1 };
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool deleted(char *const *del_sorted, size_t n, const char *name) {
        return bsearch(&name, del_sorted, n, sizeof(char *), cmp_str);
}

/* The homes of the users who stay, canonical and sorted: the pure rule
 * keeps a home one of them is in.  Built once: 10,000 deletions must not
 * scan the table 10,000 times. */
static int kept_homes(const struct rk_pw_table *t, char *const *del, size_t n_del, struct user_dirs *ud) {
        ud->kept_homes = calloc(t->n + 1, sizeof(char *));
        if (!ud->kept_homes)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < t->n; i++) {
                if (deleted(del, n_del, t->entries[i].name))
                        continue;
                int r = rk_home_canonical(t->entries[i].home, &ud->kept_homes[n]);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        n++;
        }
        qsort(ud->kept_homes, n, sizeof(char *), cmp_str);
        ud->n_kept_homes = n;
        return 0;
}

static int push_ident(struct ident **v, size_t *n, size_t *cap, const struct stat *st) {
        if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                struct ident *nv = realloc(*v, nc * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                *cap = nc;
        }
        (*v)[(*n)++] = (struct ident) { st->st_dev, st->st_ino };
        return 0;
}

/* The same by identity: a remaining account's home spelled through a
 * symlink ("/srv/x" -> "/home/alice") is alice's home all the same.  Each
 * existing home is resolved inside the root as its owner's login would
 * and walked up to the root. */
static int kept_home_ids(int root_fd, struct user_dirs *ud) {
        struct stat root_st;
        if (fstat(root_fd, &root_st) < 0)
                return -errno;
        size_t cap = 0;
        for (size_t i = 0; i < ud->n_kept_homes; i++) {
                if (strcmp(ud->kept_homes[i], "/") == 0)
                        continue;
                int fd = rk_openat2(root_fd, ud->kept_homes[i] + 1, O_PATH | O_DIRECTORY, 0, RK_RESOLVE_ROOTED);
                for (unsigned depth = 0; fd >= 0 && depth < 4096; depth++) {
                        struct stat st;
                        if (fstat(fd, &st) < 0 ||
                            (st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino))
                                break;
                        if (push_ident(&ud->kept_ids, &ud->n_kept_ids, &cap, &st) < 0) {
                                close(fd);
                                return -ENOMEM;
                        }
                        int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        close(fd);
                        fd = up;
                }
                rk_closep(&fd);
        }
        if (ud->n_kept_ids)
                qsort(ud->kept_ids, ud->n_kept_ids, sizeof(struct ident), cmp_ident);
        return 0;
}

static bool is_kept_id(const struct user_dirs *ud, const struct stat *st) {
        struct ident k = { st->st_dev, st->st_ino };
        return ud->n_kept_ids && bsearch(&k, ud->kept_ids, ud->n_kept_ids, sizeof k, cmp_ident);
}

static int user_dirs_open(int root_fd, const char *home_base, const struct rk_pw_table *t,
                          const struct rk_pw_deletion *sel, struct user_dirs *d, struct rk_log *log) {
        *d = (struct user_dirs) { .home_parent_fd = -1, .home_base = home_base };
        for (size_t i = 0; i < RK_ELEMENTSOF(spool_desc); i++)
                d->spool[i] = -1;
        _cleanup_free_ char **del = calloc(sel->n_users + 1, sizeof(char *));
        if (!del)
                return -ENOMEM;
        for (size_t i = 0; i < sel->n_users; i++)
                del[i] = sel->users[i].name;
        qsort(del, sel->n_users, sizeof(char *), cmp_str);
        int r = kept_homes(t, del, sel->n_users, d);
        if (r >= 0)
                r = kept_home_ids(root_fd, d);
        if (r < 0) {
                user_dirs_done(d);
                return rk_log_errno(log, r, "accounts: the homes of the remaining accounts: %s", strerror(-r));
        }
        for (size_t i = 0; i < RK_ELEMENTSOF(spool_desc); i++) {
                int fd = open_dir_strict(root_fd, spool_desc[i].dir);
                /* none, or a symlink (Debian's var/spool/mail -> ../mail):
                 * the real directory is in the list too */
                if (fd == -ENOENT || fd == -ELOOP || fd == -ENOTDIR)
                        continue;
                if (fd < 0) {
                        user_dirs_done(d);
                        return rk_log_errno(log, fd, "accounts: %s: %s", spool_desc[i].dir, strerror(-fd));
                }
                d->spool[i] = fd;
        }
        return 0;
}

/* The home rule (rk_home_rule(), pure) decides from the paths; here what
 * only the disk can say: no symlink on the way, a directory, the same
 * filesystem as its parent, not a remaining account's home by identity. */
static int remove_home(int root_fd, struct user_dirs *ud, const struct rk_pw_entry *u, struct rk_log *log) {
        _cleanup_free_ char *canon = NULL;
        int r = rk_home_canonical(u->home, &canon);
        if (r == -ENOMEM)
                return rk_log_errno(log, r, "accounts: home of %s: %s", u->name, strerror(-r));
        enum rk_home_verdict v = r < 0 ? RK_HOME_KEEP_INVALID
                                       : rk_home_rule(canon, ud->home_base, ud->kept_homes, ud->n_kept_homes);
        if (v != RK_HOME_REMOVE) {
                if (!rk_isempty(u->home))
                        rk_notice(log, "accounts: home %s of %s kept: %s (home base %s)", u->home, u->name,
                                  rk_home_verdict_str(v), ud->home_base);
                return 0;
        }
        char *rel = canon + 1; /* under a base other than "/": at least "x/y" */
        char *slash = strrchr(rel, '/');
        *slash = 0;
        const char *dir = rel, *base = slash + 1;
        if (!rk_streq(ud->home_parent, dir)) {
                rk_closep(&ud->home_parent_fd);
                free(ud->home_parent);
                ud->home_parent = strdup(dir);
                if (!ud->home_parent)
                        return -ENOMEM;
                ud->home_parent_fd = open_dir_strict(root_fd, dir);
        }
        int pfd = ud->home_parent_fd;
        if (pfd == -ENOENT)
                return 0;
        if (pfd == -ELOOP || pfd == -EXDEV || pfd == -ENOTDIR) {
                rk_warn(log, "accounts: home %s of %s: a path component is a symlink, left in place", u->home, u->name);
                return 0;
        }
        if (pfd < 0)
                return rk_log_errno(log, pfd, "accounts: home %s of %s: %s", u->home, u->name, strerror(-pfd));
        struct stat s;
        if (fstatat(pfd, base, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : rk_log_errno(log, errno, "accounts: home %s: %m", u->home);
        if (!S_ISDIR(s.st_mode)) {
                rk_warn(log, "accounts: home %s of %s is not a directory (symlink?), left in place", u->home, u->name);
                return 0;
        }
        if (is_kept_id(ud, &s)) {
                rk_warn(log, "accounts: home %s of %s is, or holds, a remaining account's home (through a symlink), "
                        "left in place", u->home, u->name);
                return 0;
        }
        r = RK_FAIL("accounts:rm-home");
        if (r >= 0)
                r = rm_tree_at(pfd, base, u->home, log);
        if (r < 0)
                return rk_log_errno(log, r, "accounts: removing home %s of %s: %s", u->home, u->name, strerror(-r));
        rk_info(log, "accounts: removed home %s of %s", u->home, u->name);
        return 0;
}

/* Home, mail spools, crontabs of one user; all are tried, the first
 * failure is returned. */
static int remove_user_files(int root_fd, struct user_dirs *ud, const struct rk_pw_entry *u, struct rk_log *log) {
        int ret = remove_home(root_fd, ud, u, log);
        if (!name_is_component(u->name)) {
                rk_warn(log, "accounts: user name \"%s\" is not a file name: no mail spool or crontab removed", u->name);
                return ret;
        }
        for (size_t i = 0; i < RK_ELEMENTSOF(spool_desc); i++) {
                int r = remove_named(ud->spool[i], spool_desc[i].dir, u->name, spool_desc[i].files_only, log);
                if (r < 0 && ret >= 0)
                        ret = r;
        }
        return ret;
}

static int remove_all_user_files(int root_fd, const char *home_base, const struct rk_pw_table *t,
                                 const struct rk_pw_deletion *sel, struct rk_log *log) {
        if (sel->n_users == 0)
                return 0;
        struct user_dirs ud;
        int ret = user_dirs_open(root_fd, home_base, t, sel, &ud, log);
        if (ret < 0)
                return ret;
        for (size_t k = 0; k < sel->n_users; k++) {
                int r = remove_user_files(root_fd, &ud, &sel->users[k], log);
                if (r < 0 && ret >= 0)
                        ret = r;
                RK_FAULT("accounts:user-files");
        }
        user_dirs_done(&ud);
        return ret;
}

/* ---- delete ---- */

static void log_malformed(struct rk_log *log, const char *name, const struct rk_edit_stats *st) {
        if (st->malformed == 0)
                return;
        rk_warn(log, "accounts: %s: %zu malformed line(s) kept verbatim (first at line %zu)",
                name, st->malformed, st->first_malformed);
        if (st->malformed_named > 0)
                rk_warn(log, "accounts: %s: %zu of them name a deleted user or group and were NOT "
                        "removed: check by hand", name, st->malformed_named);
}

/* A copy whose live file is missing still holds the old data: edit it on
 * its own. */
static int edit_orphan(const struct dbdesc *dd, const char *dir, const char *name, const struct blob *b,
                       const struct rk_pw_deletion *sel, char **ret, struct rk_log *log) {
        if (!b->exists)
                return 0;
        struct rk_edit_stats st;
        int r = rk_db_delete(dd->db, b->text, sel, ret, &st);
        if (r < 0)
                return rk_log_errno(log, r, "accounts: editing %s/%s: %s", dir, name, strerror(-r));
        char what[64];
        snprintf(what, sizeof what, "%s/%s", dir, name);
        log_malformed(log, what, &st);
        return 0;
}

/* New content for every database and copy: the copies get the live
 * file's new content, so no old hash survives in them either. */
static int compute_new(struct dbfile *f, const struct rk_pw_deletion *sel, struct rk_log *log) {
        for (size_t i = 0; i < N_DB; i++) {
                const struct dbdesc *dd = &dbdesc[i];
                int r;
                if (!f[i].main.exists) {
                        r = edit_orphan(dd, "etc", dd->bak, &f[i].bak, sel, &f[i].new_bak, log);
                        if (r >= 0 && dd->vbak)
                                r = edit_orphan(dd, VAR_BACKUPS, dd->vbak, &f[i].vbak, sel, &f[i].new_vbak, log);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = rk_db_delete(dd->db, f[i].main.text, sel, &f[i].new_main, &f[i].stats);
                if (r < 0)
                        return rk_log_errno(log, r, "accounts: editing etc/%s: %s", dd->name, strerror(-r));
                char what[64];
                snprintf(what, sizeof what, "etc/%s", dd->name);
                log_malformed(log, what, &f[i].stats);
                if ((f[i].bak.exists || dd->always_backup) && !(f[i].new_bak = strdup(f[i].new_main)))
                        return -ENOMEM;
                if (f[i].vbak.exists && !(f[i].new_vbak = strdup(f[i].new_main)))
                        return -ENOMEM;
        }
        return 0;
}

/* Open the directories, take the lock, clear our stale temporaries. */
static int begin(int root_fd, uint64_t timeout_ms, struct dirs *d, int *ret_lock, struct rk_log *log) {
        char err[512] = "";
        int r = open_dirs(root_fd, d, err, sizeof err);
        if (r < 0)
                return rk_log_errno(log, r, "accounts: %s", err);
        int lock_fd = lock_etc(d->etc, timeout_ms ? timeout_ms : RK_PWD_LOCK_TIMEOUT_MS, err, sizeof err);
        if (lock_fd < 0) {
                dirs_done(d);
                return rk_log_errno(log, lock_fd, "accounts: %s; nothing changed", err);
        }
        RK_FAULT("accounts:locked");
        remove_stale_temps(d->etc, "etc", false, log);
        remove_stale_temps(d->vb, VAR_BACKUPS, true, log);
        *ret_lock = lock_fd;
        return 0;
}

int rk_accounts_delete(int root_fd, const struct rk_accounts_plan *p, struct rk_log *log) {
        char err[512] = "";
        struct dbfile f[N_DB] = {};
        struct rk_pw_table t = {};
        struct rk_pw_deletion sel = {};
        struct dirs d = { -1, -1 };
        _cleanup_close_ int lock_fd = -1;
        _cleanup_free_ char *home_base = NULL;
        unsigned uid_max;

        int r = begin(root_fd, p->lock_timeout_ms, &d, &lock_fd, log);
        if (r < 0)
                return r;
        r = load_everything(&d, f, &uid_max, &home_base, err, sizeof err);
        if (r < 0) {
                r = rk_log_errno(log, r, "accounts: %s; nothing changed", err);
                goto out;
        }
        /* Re-decide under the lock: only users planned AND still
         * qualifying go (the files may have changed since the plan). */
        struct rk_pw_rules rules = {
                .min_uid = p->min_uid,
                .uid_max = uid_max,
                .keep_users = p->keep_users,
                .only = p->users ? p->users : empty_strv,
        };
        r = select_users(f, &rules, &t, &sel);
        if (r < 0) {
                r = rk_log_errno(log, r, "accounts: etc/passwd: %s; nothing changed", strerror(-r));
                goto out;
        }
        if (sel.n_users < p->n_users)
                rk_info(log, "accounts: %zu planned user(s) already gone or no longer qualifying",
                        p->n_users - sel.n_users);
        r = compute_new(f, &sel, log);
        if (r < 0)
                goto out;

        /* The databases in order, then the users' files, then passwd.  A
         * failed database stops the later ones (gshadow must lose a private
         * group before group does: group is what the re-run decides private
         * groups from), but the users' files are still removed (they depend
         * on passwd alone, and every secret less is a gain); passwd, which a
         * re-run finds the users by, is written only when all went well. */
        r = 0;
        for (size_t i = 0; i < N_DB; i++) {
                if (i == I_PASSWD) {
                        int k = remove_all_user_files(root_fd, home_base, &t, &sel, log);
                        if (k < 0 && r == 0)
                                r = k;
                        if (r < 0) {
                                rk_err(log, "accounts: etc/passwd left unchanged after the failure above: the "
                                       "users stay listed so that a re-run finishes the job");
                                goto out;
                        }
                }
                if (r == 0)
                        r = write_db(&d, i, &f[i], log);
        }
        if (r >= 0)
                rk_info(log, "accounts: %zu user(s) and %zu private group(s) deleted",
                        sel.n_users, rk_strv_length(sel.groups));
out:
        rk_pw_deletion_free(&sel);
        rk_pw_table_free(&t);
        dbfiles_done(f);
        dirs_done(&d);
        return r;
}

/* ---- reset-password ---- */

/* The new passwd and shadow texts, from files already loaded: shadow's
 * line gets the hash (added when passwd has the user and shadow has no
 * line), passwd's field becomes "x"; a system without shadow keeps the
 * hash in passwd.  -ESRCH: no such user; *ret_shadow NULL: shadow is not
 * written. */
static int password_edit(const struct dbfile *f, const char *user, const char *hash, bool expire,
                         char **ret_shadow, char **ret_passwd, char *err, size_t errlen) {
        _cleanup_free_ char *ns = NULL, *np = NULL;
        const char *passwd = f[I_PASSWD].main.text;
        int r;
        if (!f[I_SHADOW].main.exists)
                r = rk_passwd_set_hash(passwd, user, hash, &np, NULL);
        else
                r = rk_passwd_set_shadowed(passwd, user, &np, NULL);
        if (r == -ENOENT) {
                rk_set_err(err, errlen, "no user \"%s\" in etc/passwd", user);
                return -ESRCH;
        }
        if (r < 0) {
                rk_set_err(err, errlen, "etc/passwd: %s", strerror(-r));
                return r;
        }
        if (f[I_SHADOW].main.exists) {
                long now_days = (long) (time(NULL) / 86400);
                const char *shadow = f[I_SHADOW].main.text;
                r = rk_shadow_set_password(shadow, user, hash, expire, now_days, &ns, NULL);
                if (r == -ENOENT)
                        r = rk_shadow_add_password(shadow, user, hash, expire, now_days, &ns);
                if (r == -EEXIST) {
                        rk_set_err(err, errlen, "etc/shadow: the line of \"%s\" is malformed (not 9 fields): "
                                   "check it by hand", user);
                        return -EBADMSG;
                }
                if (r < 0) {
                        rk_set_err(err, errlen, "etc/shadow: %s", strerror(-r));
                        return r;
                }
        }
        *ret_shadow = RK_TAKE_PTR(ns);
        *ret_passwd = RK_TAKE_PTR(np);
        return 0;
}

int rk_accounts_password_check(int root_fd, const char *user, const char *hash, char *err, size_t errlen) {
        const char *why = rk_crypt_hash_problem(hash);
        if (why) {
                rk_set_err(err, errlen, "not a crypt(5) password hash: %s", why);
                return -EINVAL;
        }
        struct dbfile f[N_DB] = {};
        struct dirs d = { -1, -1 };
        _cleanup_free_ char *ns = NULL, *np = NULL;
        int r = open_dirs(root_fd, &d, err, errlen);
        if (r >= 0)
                r = load_all(&d, f, err, errlen);
        if (r >= 0)
                r = password_edit(f, user, hash, true, &ns, &np, err, errlen);
        dbfiles_done(f);
        dirs_done(&d);
        return r;
}

/* Give database i and all its copies the text. */
static int write_with_copies(const struct dirs *d, size_t i, struct dbfile *f, const char *text, struct rk_log *log) {
        f->new_main = strdup(text);
        f->new_bak = strdup(text);
        if (!f->new_main || !f->new_bak)
                return -ENOMEM;
        if (f->vbak.exists && !(f->new_vbak = strdup(text)))
                return -ENOMEM;
        f->stats = (struct rk_edit_stats) {};
        return write_db(d, i, f, log);
}

int rk_accounts_reset_password(int root_fd, const char *user, const char *hash, bool expire,
                               struct rk_log *log) {
        char err[512] = "";
        struct dbfile f[N_DB] = {};
        struct dirs d = { -1, -1 };
        _cleanup_close_ int lock_fd = -1;
        _cleanup_free_ char *new_shadow = NULL, *new_passwd = NULL;

        if (rk_isempty(user))
                return rk_log_errno(log, EINVAL, "accounts: reset-password: empty user name");
        const char *why = rk_crypt_hash_problem(hash);
        if (why)
                return rk_log_errno(log, EINVAL, "accounts: reset-password %s: not a crypt(5) password hash: %s; "
                                    "nothing changed", user, why);
        int r = begin(root_fd, 0, &d, &lock_fd, log);
        if (r < 0)
                return r;
        r = load_all(&d, f, err, sizeof err);
        if (r >= 0)
                r = password_edit(f, user, hash, expire, &new_shadow, &new_passwd, err, sizeof err);
        if (r == -ESRCH)
                goto out; /* the caller says it: a warning, not an error */
        if (r < 0) {
                r = rk_log_errno(log, r, "accounts: reset-password %s: %s; nothing changed", user, err);
                goto out;
        }
        /* shadow first: until passwd says "x", its own field is what logs in,
         * and the new hash must be in place before that switch */
        if (new_shadow) {
                r = write_with_copies(&d, I_SHADOW, &f[I_SHADOW], new_shadow, log);
                if (r < 0)
                        goto out;
        } else if (expire)
                rk_warn(log, "accounts: reset-password %s: no etc/shadow: the hash goes in etc/passwd, and "
                        "it cannot be marked expired there", user);
        r = write_with_copies(&d, I_PASSWD, &f[I_PASSWD], new_passwd, log);
        if (r >= 0)
                rk_info(log, "accounts: password of %s reset to the factory hash%s", user,
                        expire && new_shadow ? ", expired (must be changed at first login)" : "");
out:
        dbfiles_done(f);
        dirs_done(&d);
        return r;
}
