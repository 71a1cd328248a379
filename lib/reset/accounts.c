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
#include "passwd.h"
#include "rmtree.h"

#define DB_MAX_SIZE ((size_t) 256 << 20)
#define TEMP_PREFIX ".#rk-" /* the prefix of fsutil's temporaries, which write_owned() makes */
#define SELINUX_XATTR "security.selinux"

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
        enum rk_db db;
        bool always_backup; /* shadow-utils keeps these four backups: create them if missing */
} dbdesc[N_DB] = {
        [I_GSHADOW] = { "gshadow", "gshadow-", RK_DB_GSHADOW, true },
        [I_GROUP] = { "group", "group-", RK_DB_GROUP, true },
        [I_SUBUID] = { "subuid", "subuid-", RK_DB_SUBID, false },
        [I_SUBGID] = { "subgid", "subgid-", RK_DB_SUBID, false },
        [I_SHADOW] = { "shadow", "shadow-", RK_DB_SHADOW, true },
        [I_PASSWD] = { "passwd", "passwd-", RK_DB_PASSWD, true },
};

struct blob {
        bool exists;
        char *text;
        size_t len;
        struct stat st;
        char *label; /* SELinux label, carried over to the replacement */
        size_t label_len;
};

struct dbfile {
        struct blob main, bak;
        char *new_main; /* NULL: main absent */
        char *new_bak;  /* NULL: leave the backup alone */
        struct rk_edit_stats stats;
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
                free(f[i].new_main);
                free(f[i].new_bak);
                f[i] = (struct dbfile) {};
        }
}


static int open_etc(int root_fd, char *err, size_t errlen) {
        int fd = rk_openat2(root_fd, "etc", O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
        if (fd == -ELOOP)
                rk_set_err(err, errlen, "etc: is a symlink (or crosses one): refused, nothing changed");
        else if (fd < 0)
                rk_set_err(err, errlen, "etc: %s", strerror(-fd));
        return fd;
}

/* Read etc/NAME without following any symlink.  Missing is not an error
 * (b->exists stays false); a symlink or anything but a regular file is. */
static int load_blob(int etc_fd, const char *name, struct blob *b, char *err, size_t errlen) {
        _cleanup_close_ int fd = rk_openat2(etc_fd, name, O_RDONLY | O_NOCTTY | O_NOFOLLOW, 0, RK_RESOLVE_STRICT);
        if (fd == -ENOENT)
                return 0;
        if (fd == -ELOOP) {
                rk_set_err(err, errlen, "etc/%s: is a symlink: refused, nothing changed", name);
                return fd;
        }
        if (fd < 0) {
                rk_set_err(err, errlen, "etc/%s: %s", name, strerror(-fd));
                return fd;
        }
        struct blob n = { .exists = true };
        if (fstat(fd, &n.st) < 0) {
                rk_set_err(err, errlen, "etc/%s: %s", name, strerror(errno));
                return -errno;
        }
        int r = rk_read_fd(fd, DB_MAX_SIZE, &n.text, &n.len);
        if (r < 0) {
                rk_set_err(err, errlen, "etc/%s: %s", name,
                        r == -EINVAL || r == -EISDIR ? "not a regular file: refused, nothing changed" : strerror(-r));
                return r;
        }
        if (strlen(n.text) != n.len) {
                rk_set_err(err, errlen, "etc/%s: contains a NUL byte: refused, nothing changed", name);
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
                        rk_set_err(err, errlen, "etc/%s: %s", name, strerror(ENOMEM));
                        return -ENOMEM;
                }
                ll = fgetxattr(fd, SELINUX_XATTR, n.label, (size_t) ll);
                n.label_len = ll > 0 ? (size_t) ll : 0;
        }
        *b = n;
        return 0;
}

static int load_all(int etc_fd, struct dbfile *f, char *err, size_t errlen) {
        for (size_t i = 0; i < N_DB; i++) {
                int r = load_blob(etc_fd, dbdesc[i].name, &f[i].main, err, errlen);
                if (r >= 0)
                        r = load_blob(etc_fd, dbdesc[i].bak, &f[i].bak, err, errlen);
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
        int r = load_blob(etc_fd, "login.defs", &b, err, errlen);
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
        *p = (struct rk_accounts_plan) {};
}

static char **strv_new(size_t n) { return calloc(n + 1, sizeof(char *)); }

int rk_accounts_plan(int root_fd, unsigned min_uid, char *const *keep_users,
                     struct rk_accounts_plan *ret, char *err, size_t errlen) {
        struct dbfile f[N_DB] = {};
        struct rk_pw_table t = {};
        struct rk_pw_deletion sel = {};
        struct rk_accounts_plan p = { .min_uid = min_uid };

        _cleanup_close_ int etc_fd = open_etc(root_fd, err, errlen);
        if (etc_fd < 0)
                return etc_fd;
        /* Load everything, not only passwd and group: the preflight must
         * meet a symlinked shadow before the reset starts, not half-way. */
        int r = load_all(etc_fd, f, err, errlen);
        if (r >= 0)
                r = load_uid_max(etc_fd, &p.uid_max, err, errlen);
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
        _cleanup_close_ int fd = rk_openat2(etc_fd, ".pwd.lock", O_WRONLY | O_CREAT | O_NOCTTY | O_NOFOLLOW,
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
 * SELinux label (shadow_t), set on the temporary before it becomes visible. */
static int write_owned(int etc_fd, const char *name, const char *data, size_t len, const struct stat *like,
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
        return rk_write_atomic_attrs_at(etc_fd, name, data, len, &a);
}

/* Temporaries of ours a crash left in etc (only for our file names: other
 * writers' temporaries are theirs). */
static void remove_stale_temps(int etc_fd, struct rk_log *log) {
        DIR *d;
        if (rk_opendir_at(etc_fd, &d) < 0)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *rest = rk_startswith(de->d_name, TEMP_PREFIX);
                if (!rest)
                        continue;
                for (size_t i = 0; i < N_DB; i++) {
                        const char *a = rk_startswith(rest, dbdesc[i].name);
                        const char *b = rk_startswith(rest, dbdesc[i].bak);
                        if (!((a && *a == '.') || (b && *b == '.')))
                                continue;
                        if (unlinkat(etc_fd, de->d_name, 0) == 0)
                                rk_info(log, "accounts: removed etc/%s left by an interrupted run", de->d_name);
                        break;
                }
        }
        closedir(d);
}

/* Bring one database and its backup to the new content; a file already
 * holding it is not touched (a re-run writes nothing). */
static int write_db(int etc_fd, size_t i, const struct dbfile *f, struct rk_log *log) {
        const struct dbdesc *dd = &dbdesc[i];
        int r;
        if (f->main.exists && strcmp(f->new_main, f->main.text) != 0) {
                r = write_owned(etc_fd, dd->name, f->new_main, strlen(f->new_main), &f->main.st,
                                f->main.label, f->main.label_len);
                if (r < 0)
                        return rk_log_errno(log, r, "accounts: writing etc/%s: %s (earlier files are done, "
                                            "a re-run finishes)", dd->name, strerror(-r));
                rk_info(log, "accounts: etc/%s rewritten: %zu lines removed, %zu changed",
                        dd->name, f->stats.removed, f->stats.changed);
                RK_FAULT("accounts:file");
        }
        if (!f->new_bak)
                return 0;
        if (f->bak.exists && strcmp(f->new_bak, f->bak.text) == 0)
                return 0;
        /* a new backup takes the main file's owner and mode */
        const struct blob *like = f->bak.exists ? &f->bak : &f->main;
        r = write_owned(etc_fd, dd->bak, f->new_bak, strlen(f->new_bak), &like->st, like->label, like->label_len);
        if (r < 0)
                return rk_log_errno(log, r, "accounts: writing etc/%s: %s", dd->bak, strerror(-r));
        rk_info(log, "accounts: etc/%s %s", dd->bak, f->bak.exists ? "rewritten" : "created");
        RK_FAULT("accounts:file");
        return 0;
}

/* ---- homes, mail spools, crontabs ---- */

/* Remove directory `base` in pfd and everything below it: the factory
 * reset's own safe removal (iterative, never following a symlink, never
 * entering another filesystem), with pfd as its root so nothing above the
 * home's parent can be reached.  dev is the filesystem the tree must be on. */
static int rm_tree_at(int pfd, const char *base, dev_t dev, const char *what, struct rk_log *log) {
        struct stat s;
        if (fstatat(pfd, base, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (s.st_dev != dev)
                return 0;
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

/* Remove dir/NAME (file, symlink or tree), dfd being dir.  owner_uid:
 * only if owned by it ((uid_t) -1: any owner). */
static int remove_named(int dfd, const char *dir, const char *name, uid_t owner_uid, bool files_only,
                        struct rk_log *log) {
        struct stat s;
        if (dfd < 0)
                return 0;
        if (fstatat(dfd, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : rk_log_errno(log, errno, "accounts: %s/%s: %m", dir, name);
        if (owner_uid != (uid_t) -1 && s.st_uid != owner_uid) {
                rk_warn(log, "accounts: %s/%s is not owned by UID %u, left in place", dir, name, (unsigned) owner_uid);
                return 0;
        }
        if (S_ISDIR(s.st_mode)) {
                if (files_only)
                        return 0;
                struct stat ds;
                if (fstat(dfd, &ds) < 0)
                        return -errno;
                if (ds.st_dev != s.st_dev) {
                        rk_warn(log, "accounts: %s/%s is a mount point, left in place", dir, name);
                        return 0;
                }
                char what[PATH_MAX];
                snprintf(what, sizeof what, "%s/%s", dir, name);
                int r = rm_tree_at(dfd, name, s.st_dev, what, log);
                if (r < 0)
                        return rk_log_errno(log, r, "accounts: removing %s: %s", what, strerror(-r));
        } else if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return rk_log_errno(log, errno, "accounts: removing %s/%s: %m", dir, name);
        rk_info(log, "accounts: removed %s/%s", dir, name);
        return 0;
}

/* Where a user's spool files are, opened once per run. */
static const struct spool_desc {
        const char *dir;
        bool owner_only; /* userdel: the mail spool goes only when it is the user's */
        bool files_only;
} spool_desc[] = {
        { "var/mail", true, false },
        { "var/spool/mail", true, false },
        /* crontabs are named after the user whoever owns them (the user on
         * Debian, root on RHEL) */
        { "var/spool/cron/crontabs", false, true },
        { "var/spool/cron", false, true },
};

struct user_dirs {
        int spool[RK_ELEMENTSOF(spool_desc)];
        char *home_parent; /* consecutive homes share a parent: keep it open */
        int home_parent_fd;
};

static void user_dirs_done(struct user_dirs *d) {
        for (size_t i = 0; i < RK_ELEMENTSOF(d->spool); i++)
                rk_closep(&d->spool[i]);
        rk_closep(&d->home_parent_fd);
        free(d->home_parent);
}

static int user_dirs_open(int root_fd, struct user_dirs *d, struct rk_log *log) {
        *d = (struct user_dirs) { .home_parent_fd = -1 };
        for (size_t i = 0; i < RK_ELEMENTSOF(spool_desc); i++)
                d->spool[i] = -1;
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

/* passwd's home field -> a path relative to the root, or NULL when it is
 * not one we may remove ("/", relative, "..", empty). */
static char *home_relative(const char *home) {
        if (rk_isempty(home) || home[0] != '/')
                return NULL;
        _cleanup_free_ char *c = strdup(home);
        if (!c)
                return NULL;
        size_t l = strlen(c);
        while (l > 1 && c[l - 1] == '/')
                c[--l] = 0;
        for (char *p = c; *p;) {
                size_t cl = strcspn(p, "/");
                if (cl == 2 && p[0] == '.' && p[1] == '.')
                        return NULL;
                p += cl;
                p += strspn(p, "/");
        }
        const char *rel = rk_path_relative(c);
        if (strcmp(rel, ".") == 0)
                return NULL;
        return strdup(rel);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The homes of the users who stay, normalised and sorted: a home one of
 * them shares is never removed.  Built once: 10,000 deletions must not
 * scan the table 10,000 times. */
static int remaining_homes(const struct rk_pw_table *t, const struct rk_pw_deletion *sel,
                           char ***ret, size_t *ret_n) {
        _cleanup_free_ char **del = calloc(sel->n_users + 1, sizeof(char *));
        char **homes = calloc(t->n + 1, sizeof(char *));
        size_t n = 0;
        if (!del || !homes) {
                free(homes);
                return -ENOMEM;
        }
        for (size_t i = 0; i < sel->n_users; i++)
                del[i] = sel->users[i].name;
        qsort(del, sel->n_users, sizeof(char *), cmp_str);
        for (size_t i = 0; i < t->n; i++) {
                char *key = t->entries[i].name;
                if (bsearch(&key, del, sel->n_users, sizeof(char *), cmp_str))
                        continue;
                char *h = home_relative(t->entries[i].home);
                if (h)
                        homes[n++] = h;
        }
        qsort(homes, n, sizeof(char *), cmp_str);
        *ret = homes;
        *ret_n = n;
        return 0;
}

static bool home_shared(const char *home, char *const *kept_homes, size_t n) {
        _cleanup_free_ char *a = home_relative(home);
        return a && bsearch(&a, kept_homes, n, sizeof(char *), cmp_str);
}

static int remove_home(int root_fd, struct user_dirs *ud, const struct rk_pw_entry *u, bool shared,
                       struct rk_log *log) {
        _cleanup_free_ char *rel = home_relative(u->home);
        if (!rel) {
                if (!rk_isempty(u->home))
                        rk_info(log, "accounts: home \"%s\" of %s is not removable (root, relative or \"..\"), left",
                                u->home, u->name);
                return 0;
        }
        if (shared) {
                rk_warn(log, "accounts: home /%s of %s is also a remaining user's home, left in place", rel, u->name);
                return 0;
        }
        char *slash = strrchr(rel, '/');
        const char *dir = ".", *base = rel;
        if (slash) {
                *slash = 0;
                dir = rel;
                base = slash + 1;
        }
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
        struct stat ps, s;
        if (fstat(pfd, &ps) < 0)
                return -errno;
        if (fstatat(pfd, base, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : rk_log_errno(log, errno, "accounts: home %s: %m", u->home);
        if (!S_ISDIR(s.st_mode)) {
                rk_warn(log, "accounts: home %s of %s is not a directory (symlink?), left in place", u->home, u->name);
                return 0;
        }
        if (s.st_uid != u->uid) {
                rk_warn(log, "accounts: home %s is not owned by %s (UID %u), left in place", u->home, u->name,
                        (unsigned) u->uid);
                return 0;
        }
        if (s.st_dev != ps.st_dev) {
                rk_warn(log, "accounts: home %s of %s is a mount point, left in place", u->home, u->name);
                return 0;
        }
        int r = rm_tree_at(pfd, base, s.st_dev, u->home, log);
        if (r < 0)
                return rk_log_errno(log, r, "accounts: removing home %s of %s: %s", u->home, u->name, strerror(-r));
        rk_info(log, "accounts: removed home %s of %s", u->home, u->name);
        return 0;
}

static int remove_user_files(int root_fd, struct user_dirs *ud, const struct rk_pw_entry *u, bool home_is_shared,
                             struct rk_log *log) {
        int r = remove_home(root_fd, ud, u, home_is_shared, log);
        if (r < 0)
                return r;
        if (!name_is_component(u->name)) {
                rk_warn(log, "accounts: user name \"%s\" is not a file name: no mail spool or crontab removed", u->name);
                return 0;
        }
        for (size_t i = 0; i < RK_ELEMENTSOF(spool_desc); i++) {
                const struct spool_desc *sd = &spool_desc[i];
                r = remove_named(ud->spool[i], sd->dir, u->name, sd->owner_only ? u->uid : (uid_t) -1,
                                 sd->files_only, log);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int remove_all_user_files(int root_fd, const struct rk_pw_table *t, const struct rk_pw_deletion *sel,
                                 struct rk_log *log) {
        if (sel->n_users == 0)
                return 0;
        _cleanup_strv_free_ char **kept_homes = NULL;
        size_t n_kept_homes = 0;
        int r = remaining_homes(t, sel, &kept_homes, &n_kept_homes);
        if (r < 0)
                return r;
        struct user_dirs ud;
        r = user_dirs_open(root_fd, &ud, log);
        if (r < 0)
                return r;
        for (size_t k = 0; k < sel->n_users; k++) {
                bool shared = home_shared(sel->users[k].home, kept_homes, n_kept_homes);
                r = remove_user_files(root_fd, &ud, &sel->users[k], shared, log);
                if (r < 0)
                        break;
                RK_FAULT("accounts:user-files");
        }
        user_dirs_done(&ud);
        return r;
}

/* ---- delete ---- */

static void log_malformed(struct rk_log *log, const char *name, const struct rk_edit_stats *st) {
        if (st->malformed == 0)
                return;
        rk_warn(log, "accounts: etc/%s: %zu malformed line(s) kept verbatim (first at line %zu)",
                name, st->malformed, st->first_malformed);
        if (st->malformed_named > 0)
                rk_warn(log, "accounts: etc/%s: %zu of them name a deleted user or group and were NOT "
                        "removed: check by hand", name, st->malformed_named);
}

/* New content for every database and backup. */
static int compute_new(struct dbfile *f, const struct rk_pw_deletion *sel, struct rk_log *log) {
        for (size_t i = 0; i < N_DB; i++) {
                const struct dbdesc *dd = &dbdesc[i];
                int r;
                if (f[i].main.exists) {
                        r = rk_db_delete(dd->db, f[i].main.text, sel, &f[i].new_main, &f[i].stats);
                        if (r < 0)
                                return rk_log_errno(log, r, "accounts: editing etc/%s: %s", dd->name, strerror(-r));
                        log_malformed(log, dd->name, &f[i].stats);
                        if (f[i].bak.exists || dd->always_backup)
                                if (!(f[i].new_bak = strdup(f[i].new_main)))
                                        return -ENOMEM;
                } else if (f[i].bak.exists) {
                        /* an orphan backup still holds the old data: edit it on its own */
                        struct rk_edit_stats st;
                        r = rk_db_delete(dd->db, f[i].bak.text, sel, &f[i].new_bak, &st);
                        if (r < 0)
                                return rk_log_errno(log, r, "accounts: editing etc/%s: %s", dd->bak, strerror(-r));
                        log_malformed(log, dd->bak, &st);
                }
        }
        return 0;
}

int rk_accounts_delete(int root_fd, const struct rk_accounts_plan *p, struct rk_log *log) {
        char err[512] = "";
        struct dbfile f[N_DB] = {};
        struct rk_pw_table t = {};
        struct rk_pw_deletion sel = {};
        int r;

        _cleanup_close_ int etc_fd = open_etc(root_fd, err, sizeof err);
        if (etc_fd < 0)
                return rk_log_errno(log, etc_fd, "accounts: %s", err);
        _cleanup_close_ int lock_fd = lock_etc(etc_fd, p->lock_timeout_ms ? p->lock_timeout_ms : RK_PWD_LOCK_TIMEOUT_MS,
                                               err, sizeof err);
        if (lock_fd < 0)
                return rk_log_errno(log, lock_fd, "accounts: %s; nothing changed", err);
        RK_FAULT("accounts:locked");
        remove_stale_temps(etc_fd, log);

        unsigned uid_max;
        r = load_all(etc_fd, f, err, sizeof err);
        if (r >= 0)
                r = load_uid_max(etc_fd, &uid_max, err, sizeof err);
        if (r < 0) {
                r = rk_log_errno(log, r, "accounts: %s", err);
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
                r = rk_log_errno(log, r, "accounts: etc/passwd: %s", strerror(-r));
                goto out;
        }
        if (sel.n_users < p->n_users)
                rk_info(log, "accounts: %zu planned user(s) already gone or no longer qualifying",
                        p->n_users - sel.n_users);
        r = compute_new(f, &sel, log);
        if (r < 0)
                goto out;

        for (size_t i = 0; i < N_DB; i++) {
                if (i == I_PASSWD) {
                        /* everything but passwd is done: now the files of
                         * the users, while passwd still lists them */
                        r = remove_all_user_files(root_fd, &t, &sel, log);
                        if (r < 0)
                                goto out;
                }
                r = write_db(etc_fd, i, &f[i], log);
                if (r < 0)
                        goto out;
        }
        rk_info(log, "accounts: %zu user(s) and %zu private group(s) deleted",
                sel.n_users, rk_strv_length(sel.groups));
        r = 0;
out:
        rk_pw_deletion_free(&sel);
        rk_pw_table_free(&t);
        dbfiles_done(f);
        return r;
}

/* ---- reset-password ---- */

static int write_with_backup(int etc_fd, size_t i, struct dbfile *f, const char *text, struct rk_log *log) {
        f->new_main = strdup(text);
        f->new_bak = strdup(text);
        if (!f->new_main || !f->new_bak)
                return -ENOMEM;
        f->stats = (struct rk_edit_stats) {};
        return write_db(etc_fd, i, f, log);
}

int rk_accounts_reset_password(int root_fd, const char *user, const char *hash, bool expire,
                               struct rk_log *log) {
        char err[512] = "";
        struct dbfile f[N_DB] = {};
        _cleanup_free_ char *new_shadow = NULL, *new_passwd = NULL;
        int r;

        if (rk_isempty(user))
                return rk_log_errno(log, EINVAL, "accounts: reset-password: empty user name");
        if (!rk_crypt_hash_valid(hash))
                return rk_log_errno(log, EINVAL, "accounts: reset-password %s: the hash is not a crypt(3) "
                                    "\"$id$salt$hash\" string libxcrypt accepts; nothing changed", user);

        _cleanup_close_ int etc_fd = open_etc(root_fd, err, sizeof err);
        if (etc_fd < 0)
                return rk_log_errno(log, etc_fd, "accounts: %s", err);
        _cleanup_close_ int lock_fd = lock_etc(etc_fd, RK_PWD_LOCK_TIMEOUT_MS, err, sizeof err);
        if (lock_fd < 0)
                return rk_log_errno(log, lock_fd, "accounts: %s; nothing changed", err);
        remove_stale_temps(etc_fd, log);
        r = load_all(etc_fd, f, err, sizeof err);
        if (r < 0) {
                r = rk_log_errno(log, r, "accounts: %s", err);
                goto out;
        }
        r = rk_passwd_set_shadowed(f[I_PASSWD].main.text, user, &new_passwd, NULL);
        if (r == -ENOENT) {
                r = rk_log_errno(log, r, "accounts: reset-password: user \"%s\" does not exist in etc/passwd; "
                                 "nothing changed", user);
                goto out;
        }
        if (r < 0) {
                r = rk_log_errno(log, r, "accounts: reset-password %s: %s", user, strerror(-r));
                goto out;
        }
        if (!f[I_SHADOW].main.exists) {
                r = rk_log_errno(log, ENOENT, "accounts: reset-password %s: etc/shadow does not exist; nothing changed",
                                 user);
                goto out;
        }
        long now_days = (long) (time(NULL) / 86400);
        r = rk_shadow_set_password(f[I_SHADOW].main.text, user, hash, expire, now_days, &new_shadow, NULL);
        if (r == -ENOENT) {
                r = rk_log_errno(log, r, "accounts: reset-password: user \"%s\" has no entry in etc/shadow; "
                                 "nothing changed", user);
                goto out;
        }
        if (r < 0) {
                r = rk_log_errno(log, r, "accounts: reset-password %s: %s", user, strerror(-r));
                goto out;
        }
        /* shadow first: until passwd says "x", its own field is what logs in,
         * and the new hash must be in place before that switch */
        r = write_with_backup(etc_fd, I_SHADOW, &f[I_SHADOW], new_shadow, log);
        if (r >= 0)
                r = write_with_backup(etc_fd, I_PASSWD, &f[I_PASSWD], new_passwd, log);
        if (r >= 0)
                rk_info(log, "accounts: password of %s reset to the factory hash%s", user,
                        expire ? ", expired (must be changed at first login)" : "");
out:
        dbfiles_done(f);
        return r;
}
