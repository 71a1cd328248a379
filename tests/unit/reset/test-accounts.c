/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the accounts step (accounts.c) on temporary roots shaped like a
 * Debian/SSR system.  Never touches the host's /etc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "accounts.h"
#include "fsutil.h"
#include "log.h"
#include "rk-build-config.h"
#include "util.h"

#define HASH_R "$6$rootsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV."
#define HASH_B "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"
#define HASH_F "$6$factory1$Ab0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV."

#define GID_SHADOW 42
#define GID_MAIL 8
#define GID_CRONTAB 107

static const char PASSWD[] =
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        "# SSR accounts\n"
        "admin:x:1000:1000:Admin,,,:/home/admin:/bin/bash\n"
        "t128:x:1001:1001::/home/t128:/bin/bash\n"
        "bob:x:1002:1002:Bob:/home/bob:/bin/bash\n"
        "carol:x:1003:1003::/home/carol:/bin/bash\n"
        "big:x:70000:70000::/home/big:/bin/sh\n"
        "short:x:1004\n"
        "+@nis::::::\n";
static const char SHADOW[] =
        "root:" HASH_R ":19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n"
        "nobody:*:19000:0:99999:7:::\n"
        "admin:" HASH_R ":19500:0:99999:7:::\n"
        "t128:" HASH_R ":19500:0:99999:7:::\n"
        "bob:" HASH_B ":19600:0:99999:7:::\n"
        "carol:" HASH_B ":19601:0:99999:7:::\n"
        "big:!:19602:0:99999:7:::\n";
static const char GROUP[] =
        "root:x:0:\n"
        "sudo:x:27:admin,bob\n"
        "shadow:x:42:\n"
        "users:x:100:bob,carol\n"
        "admin:x:1000:\n"
        "t128:x:1001:\n"
        "bob:x:1002:\n"
        "carol:x:1003:t128\n"
        "big:x:70000:\n";
static const char GSHADOW[] =
        "root:*::\n"
        "sudo:*:bob:admin,bob\n"
        "shadow:*::\n"
        "users:*::bob,carol\n"
        "admin:!::\n"
        "t128:!::\n"
        "bob:!::\n"
        "carol:!::t128\n"
        "big:!::\n";
static const char SUBID[] =
        "admin:100000:65536\n"
        "bob:165536:65536\n"
        "1003:231072:65536\n"
        "t128:296608:65536\n";
static const char LOGIN_DEFS[] =
        "# /etc/login.defs\n"
        "MAIL_DIR        /var/mail\n"
        "UID_MIN\t\t\t 1000\n"
        "UID_MAX\t\t\t60000\n";

/* After deleting bob and carol (keep-users admin t128). */
static const char PASSWD_AFTER[] =
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        "# SSR accounts\n"
        "admin:x:1000:1000:Admin,,,:/home/admin:/bin/bash\n"
        "t128:x:1001:1001::/home/t128:/bin/bash\n"
        "big:x:70000:70000::/home/big:/bin/sh\n"
        "short:x:1004\n"
        "+@nis::::::\n";
static const char SHADOW_AFTER[] =
        "root:" HASH_R ":19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n"
        "nobody:*:19000:0:99999:7:::\n"
        "admin:" HASH_R ":19500:0:99999:7:::\n"
        "t128:" HASH_R ":19500:0:99999:7:::\n"
        "big:!:19602:0:99999:7:::\n";
static const char GROUP_AFTER[] =
        "root:x:0:\n"
        "sudo:x:27:admin\n"
        "shadow:x:42:\n"
        "users:x:100:\n"
        "admin:x:1000:\n"
        "t128:x:1001:\n"
        "carol:x:1003:t128\n" /* carol's group has a member who stays */
        "big:x:70000:\n";
static const char GSHADOW_AFTER[] =
        "root:*::\n"
        "sudo:*::admin\n"
        "shadow:*::\n"
        "users:*::\n"
        "admin:!::\n"
        "t128:!::\n"
        "carol:!::t128\n"
        "big:!::\n";
static const char SUBID_AFTER[] =
        "admin:100000:65536\n"
        "t128:296608:65536\n";

static char *const KEEP[] = { (char *) "admin", (char *) "t128", NULL };

struct fixture {
        char base[64];
        char root[96];
        int root_fd;
        struct rk_log log;
};

static bool is_root(void) { return geteuid() == 0; }

static void put(const char *root, const char *rel, const char *content, mode_t mode, uid_t uid, gid_t gid) {
        _cleanup_free_ char *p = rk_path_join(root, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        assert_true(fd >= 0);
        assert_int_equal(rk_write_all(fd, content, strlen(content)), 0);
        if (is_root())
                assert_int_equal(fchown(fd, uid, gid), 0);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void mkd(const char *root, const char *rel, mode_t mode, uid_t uid, gid_t gid) {
        _cleanup_free_ char *p = rk_path_join(root, rel);
        assert_int_equal(mkdir(p, mode), 0);
        if (is_root())
                assert_int_equal(chown(p, uid, gid), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static void lnk(const char *root, const char *rel, const char *target) {
        _cleanup_free_ char *p = rk_path_join(root, rel);
        assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *root, const char *rel) {
        _cleanup_free_ char *p = rk_path_join(root, rel);
        struct stat st;
        return lstat(p, &st) == 0;
}

static char *slurp(const char *root, const char *rel) {
        _cleanup_free_ char *p = rk_path_join(root, rel);
        char *buf = NULL;
        assert_int_equal(rk_read_at(AT_FDCWD, p, 0, 1 << 20, &buf, NULL), 0);
        return buf;
}

static void assert_file(const char *root, const char *rel, const char *want, mode_t mode, uid_t uid, gid_t gid) {
        _cleanup_free_ char *p = rk_path_join(root, rel);
        _cleanup_free_ char *got = slurp(root, rel);
        if (strcmp(got, want) != 0)
                fail_msg("%s:\n--- got ---\n%s--- want ---\n%s", rel, got, want);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        if ((st.st_mode & 07777) != mode)
                fail_msg("%s: mode %o, want %o", rel, st.st_mode & 07777, mode);
        if (is_root()) {
                assert_int_equal(st.st_uid, uid);
                assert_int_equal(st.st_gid, gid);
        }
}

/* A Debian-shaped root: every database and backup with Debian's owners
 * and modes, homes, mail spools, crontabs, a directory outside the root
 * that a symlink in a home points at. */
static void build_root(const char *base, const char *root) {
        assert_int_equal(mkdir(root, 0755), 0);
        _cleanup_free_ char *outside = rk_path_join(base, "outside");
        (void) mkdir(outside, 0755);
        put(base, "outside/precious", "do not delete\n", 0644, 0, 0);

        mkd(root, "etc", 0755, 0, 0);
        put(root, "etc/passwd", PASSWD, 0644, 0, 0);
        put(root, "etc/passwd-", PASSWD, 0644, 0, 0);
        put(root, "etc/shadow", SHADOW, 0640, 0, GID_SHADOW);
        put(root, "etc/shadow-", SHADOW, 0600, 0, 0);
        put(root, "etc/group", GROUP, 0644, 0, 0);
        put(root, "etc/group-", GROUP, 0644, 0, 0);
        put(root, "etc/gshadow", GSHADOW, 0640, 0, GID_SHADOW);
        /* no gshadow-: it must be created (shadow-utils always keeps one) */
        put(root, "etc/subuid", SUBID, 0644, 0, 0);
        put(root, "etc/subuid-", SUBID, 0644, 0, 0);
        put(root, "etc/subgid", SUBID, 0644, 0, 0);
        /* no subgid-: not created */
        put(root, "etc/login.defs", LOGIN_DEFS, 0644, 0, 0);
        put(root, "etc/.pwd.lock", "", 0600, 0, 0);

        mkd(root, "home", 0755, 0, 0);
        mkd(root, "home/admin", 0750, 1000, 1000);
        put(root, "home/admin/.profile", "admin\n", 0644, 1000, 1000);
        mkd(root, "home/t128", 0750, 1001, 1001);
        mkd(root, "home/bob", 0700, 1002, 1002);
        mkd(root, "home/bob/.ssh", 0700, 1002, 1002);
        put(root, "home/bob/.ssh/id_ed25519", "PRIVATE KEY\n", 0600, 1002, 1002);
        put(root, "home/bob/.ssh/authorized_keys", "ssh-ed25519 AAAA bob\n", 0600, 1002, 1002);
        put(root, "home/bob/.bash_history", "sudo -i\n", 0600, 1002, 1002);
        mkd(root, "home/bob/deep", 0755, 1002, 1002);
        mkd(root, "home/bob/deep/a", 0755, 1002, 1002);
        mkd(root, "home/bob/deep/a/b", 0000, 1002, 1002); /* unreadable to its owner: root still removes it */
        lnk(root, "home/bob/deep/out-dir", "../../../../outside");
        lnk(root, "home/bob/out-file", "../../../outside/precious");
        mkd(root, "home/carol", 0755, 0, 0); /* not carol's: userdel leaves it */
        put(root, "home/carol/notes", "root's\n", 0644, 0, 0);

        mkd(root, "var", 0755, 0, 0);
        mkd(root, "var/mail", 02775, 0, GID_MAIL);
        put(root, "var/mail/bob", "From x\n", 0660, 1002, GID_MAIL);
        put(root, "var/mail/carol", "From y\n", 0660, 0, GID_MAIL); /* not carol's: stays */
        put(root, "var/mail/admin", "From z\n", 0660, 1000, GID_MAIL);
        mkd(root, "var/spool", 0755, 0, 0);
        lnk(root, "var/spool/mail", "../mail");
        mkd(root, "var/spool/cron", 0755, 0, 0);
        mkd(root, "var/spool/cron/crontabs", 01730, 0, GID_CRONTAB);
        put(root, "var/spool/cron/crontabs/bob", "* * * * * true\n", 0600, 1002, GID_CRONTAB);
        put(root, "var/spool/cron/crontabs/carol", "* * * * * true\n", 0600, 0, GID_CRONTAB);
        put(root, "var/spool/cron/crontabs/admin", "* * * * * true\n", 0600, 1000, GID_CRONTAB);
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        strcpy(f->base, "/tmp/rk-accounts-XXXXXX");
        assert_non_null(mkdtemp(f->base));
        snprintf(f->root, sizeof f->root, "%s/root", f->base);
        build_root(f->base, f->root);
        f->root_fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->root_fd >= 0);
        rk_log_init(&f->log, "test-accounts");
        f->log.max_level = getenv("RESETKIT_DEBUG") ? LOG_DEBUG : LOG_ERR;
        *state = f;
        return 0;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_DP || flag == FTW_D)
                (void) chmod(p, 0700);
        return remove(p) < 0 ? 0 : 0;
}

static void rm_rf(const char *p) {
        /* make unreadable directories readable first, then remove depth first */
        (void) nftw(p, rm_cb, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int teardown(void **state) {
        struct fixture *f = *state;
        close(f->root_fd);
        rm_rf(f->base);
        free(f);
        return 0;
}

/* ---- a snapshot of a whole tree: path, type, mode, owner, content ---- */

static char *snap_buf;
static size_t snap_len;
static FILE *snap_f;
static size_t snap_skip;

static int snap_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        const char *rel = p + snap_skip;
        fprintf(snap_f, "%s %o %u:%u", *rel ? rel : "/", st->st_mode, st->st_uid, st->st_gid);
        if (S_ISREG(st->st_mode)) {
                char *c = NULL;
                if (rk_read_at(AT_FDCWD, p, 0, 1 << 20, &c, NULL) == 0)
                        fprintf(snap_f, " [%s]", c);
                free(c);
        } else if (S_ISLNK(st->st_mode)) {
                char t[PATH_MAX];
                ssize_t n = readlink(p, t, sizeof t - 1);
                t[n > 0 ? n : 0] = 0;
                fprintf(snap_f, " -> %s", t);
        }
        fputc('\n', snap_f);
        return 0;
}

static int cmp_lines(const void *a, const void *b) { return strcmp(*(char *const *) a, *(char *const *) b); }

/* Sorted listing (nftw order is readdir order, which differs between two
 * trees built alike). */
static char *snapshot(const char *root) {
        snap_buf = NULL;
        snap_len = 0;
        snap_f = open_memstream(&snap_buf, &snap_len);
        snap_skip = strlen(root);
        assert_int_equal(nftw(root, snap_cb, 64, FTW_PHYS), 0);
        fclose(snap_f);
        char **lines = NULL;
        size_t n = 0;
        for (char *s = strtok(snap_buf, "\n"); s; s = strtok(NULL, "\n")) {
                lines = realloc(lines, (n + 1) * sizeof *lines);
                lines[n++] = s;
        }
        qsort(lines, n, sizeof *lines, cmp_lines);
        char *out = NULL;
        size_t ol = 0;
        FILE *o = open_memstream(&out, &ol);
        for (size_t i = 0; i < n; i++)
                fprintf(o, "%s\n", lines[i]);
        fclose(o);
        free(lines);
        free(snap_buf);
        return out;
}

static RK_UNUSED void assert_same_tree(const char *a, const char *b) {
        _cleanup_free_ char *sa = snapshot(a), *sb = snapshot(b);
        if (strcmp(sa, sb) != 0)
                fail_msg("trees differ:\n=== %s ===\n%s=== %s ===\n%s", a, sa, b, sb);
}

static int plan_and_delete(int root_fd, struct rk_log *log) {
        struct rk_accounts_plan p;
        char err[512] = "";
        int r = rk_accounts_plan(root_fd, 1000, KEEP, &p, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "plan: %s\n", err);
                return r;
        }
        r = rk_accounts_delete(root_fd, &p, log);
        rk_accounts_plan_free(&p);
        return r;
}

/* ---- tests ---- */

static void test_plan(void **state) {
        struct fixture *f = *state;
        struct rk_accounts_plan p;
        char err[512] = "";
        assert_int_equal(rk_accounts_plan(f->root_fd, 1000, KEEP, &p, err, sizeof err), 0);
        assert_int_equal(p.n_users, 2);
        assert_string_equal(p.users[0], "bob");
        assert_string_equal(p.users[1], "carol");
        assert_null(p.users[2]);
        assert_string_equal(p.homes[0], "/home/bob");
        assert_int_equal(p.uids[1], 1003);
        assert_string_equal(p.groups_deleted[0], "bob");
        assert_null(p.groups_deleted[1]);
        assert_int_equal(p.uid_max, 60000);
        rk_accounts_plan_free(&p);

        /* a lower UID_MAX in the target's login.defs caps the deletion */
        put(f->root, "etc/login.defs", "UID_MAX 1002\n", 0644, 0, 0);
        assert_int_equal(rk_accounts_plan(f->root_fd, 1000, KEEP, &p, err, sizeof err), 0);
        assert_int_equal(p.n_users, 1);
        assert_string_equal(p.users[0], "bob");
        rk_accounts_plan_free(&p);

        put(f->root, "etc/login.defs", "# x\nUID_MAX lots\n", 0644, 0, 0);
        assert_int_equal(rk_accounts_plan(f->root_fd, 1000, KEEP, &p, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "etc/login.defs:2"));
}

static void test_delete(void **state) {
        struct fixture *f = *state;
        assert_int_equal(plan_and_delete(f->root_fd, &f->log), 0);

        assert_file(f->root, "etc/passwd", PASSWD_AFTER, 0644, 0, 0);
        assert_file(f->root, "etc/passwd-", PASSWD_AFTER, 0644, 0, 0);
        assert_file(f->root, "etc/shadow", SHADOW_AFTER, 0640, 0, GID_SHADOW);
        assert_file(f->root, "etc/shadow-", SHADOW_AFTER, 0600, 0, 0);
        assert_file(f->root, "etc/group", GROUP_AFTER, 0644, 0, 0);
        assert_file(f->root, "etc/group-", GROUP_AFTER, 0644, 0, 0);
        assert_file(f->root, "etc/gshadow", GSHADOW_AFTER, 0640, 0, GID_SHADOW);
        assert_file(f->root, "etc/gshadow-", GSHADOW_AFTER, 0640, 0, GID_SHADOW); /* created like gshadow */
        assert_file(f->root, "etc/subuid", SUBID_AFTER, 0644, 0, 0);
        assert_file(f->root, "etc/subuid-", SUBID_AFTER, 0644, 0, 0);
        assert_file(f->root, "etc/subgid", SUBID_AFTER, 0644, 0, 0);
        assert_false(exists(f->root, "etc/subgid-"));
        assert_file(f->root, "etc/login.defs", LOGIN_DEFS, 0644, 0, 0);

        /* no temporaries left */
        DIR *d = opendir(f->root);
        assert_non_null(d);
        closedir(d);
        _cleanup_free_ char *etc = rk_path_join(f->root, "etc");
        d = opendir(etc);
        struct dirent *de;
        while ((de = readdir(d)))
                assert_null(rk_startswith(de->d_name, ".#rk-"));
        closedir(d);

        assert_false(exists(f->root, "home/bob"));
        assert_true(exists(f->root, "home/admin/.profile"));
        assert_true(exists(f->root, "home/t128"));
        assert_true(exists(f->root, "home/carol/notes")); /* not carol's */
        assert_false(exists(f->root, "var/mail/bob"));
        assert_true(exists(f->root, "var/mail/carol"));   /* not carol's */
        assert_true(exists(f->root, "var/mail/admin"));
        assert_true(exists(f->root, "var/spool/mail"));   /* the symlink itself stays */
        assert_false(exists(f->root, "var/spool/cron/crontabs/bob"));
        assert_false(exists(f->root, "var/spool/cron/crontabs/carol"));
        assert_true(exists(f->root, "var/spool/cron/crontabs/admin"));
        /* symlinks out of bob's home were unlinked, not followed */
        assert_true(exists(f->base, "outside/precious"));
        _cleanup_free_ char *c = slurp(f->base, "outside/precious");
        assert_string_equal(c, "do not delete\n");
}

static void inodes(const char *root, ino_t *ret) {
        static const char *const names[] = { "etc/passwd", "etc/passwd-", "etc/shadow", "etc/shadow-", "etc/group",
                                             "etc/group-", "etc/gshadow", "etc/gshadow-", "etc/subuid", "etc/subgid" };
        for (size_t i = 0; i < RK_ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = rk_path_join(root, names[i]);
                struct stat st;
                assert_int_equal(stat(p, &st), 0);
                ret[i] = st.st_ino;
        }
}

static void test_idempotent(void **state) {
        struct fixture *f = *state;
        assert_int_equal(plan_and_delete(f->root_fd, &f->log), 0);
        _cleanup_free_ char *s1 = snapshot(f->root);
        ino_t i1[10], i2[10];
        inodes(f->root, i1);
        assert_int_equal(plan_and_delete(f->root_fd, &f->log), 0);
        _cleanup_free_ char *s2 = snapshot(f->root);
        inodes(f->root, i2);
        assert_string_equal(s1, s2);
        assert_memory_equal(i1, i2, sizeof i1); /* nothing was even rewritten */

        /* an empty plan (a resume after passwd was written) changes nothing */
        struct rk_accounts_plan empty = { .min_uid = 1000 };
        assert_int_equal(rk_accounts_delete(f->root_fd, &empty, &f->log), 0);
        _cleanup_free_ char *s3 = snapshot(f->root);
        assert_string_equal(s1, s3);
}

static void test_plan_only_planned_users_go(void **state) {
        struct fixture *f = *state;
        struct rk_accounts_plan p;
        char err[512] = "";
        assert_int_equal(rk_accounts_plan(f->root_fd, 1000, KEEP, &p, err, sizeof err), 0);
        /* carol is made a keep-user after the plan: the delete re-checks */
        char *keep2[] = { (char *) "admin", (char *) "t128", (char *) "carol", NULL };
        rk_strv_free(p.keep_users);
        p.keep_users = NULL;
        for (size_t i = 0; keep2[i]; i++)
                assert_int_equal(rk_strv_push(&p.keep_users, keep2[i]), 0);
        assert_int_equal(rk_accounts_delete(f->root_fd, &p, &f->log), 0);
        rk_accounts_plan_free(&p);
        _cleanup_free_ char *pw = slurp(f->root, "etc/passwd");
        assert_non_null(strstr(pw, "\ncarol:"));
        assert_null(strstr(pw, "\nbob:"));
        assert_true(exists(f->root, "var/spool/cron/crontabs/carol"));
}

static void check_refused(struct fixture *f, const char *what) {
        _cleanup_free_ char *before = snapshot(f->root);
        struct rk_accounts_plan p;
        char err[512] = "";
        assert_int_equal(rk_accounts_plan(f->root_fd, 1000, KEEP, &p, err, sizeof err), -ELOOP);
        assert_non_null(strstr(err, what));
        assert_non_null(strstr(err, "symlink"));
        /* the delete meets it too, under the lock, before writing anything */
        struct rk_accounts_plan manual = { .min_uid = 1000, .keep_users = (char **) KEEP };
        char *users[] = { (char *) "bob", (char *) "carol", NULL };
        manual.users = users;
        manual.n_users = 2;
        assert_int_equal(rk_accounts_delete(f->root_fd, &manual, &f->log), -ELOOP);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "admin", HASH_F, true, &f->log), -ELOOP);
        _cleanup_free_ char *after = snapshot(f->root);
        assert_string_equal(before, after);
}

static void test_shadow_symlink_refused(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *a = rk_path_join(f->root, "etc/shadow"), *b = rk_path_join(f->root, "etc/shadow.real");
        assert_int_equal(rename(a, b), 0);
        assert_int_equal(symlink("shadow.real", a), 0);
        check_refused(f, "etc/shadow:");
}

static void test_backup_symlink_refused(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *a = rk_path_join(f->root, "etc/group-");
        assert_int_equal(unlink(a), 0);
        assert_int_equal(symlink("../../outside/precious", a), 0);
        check_refused(f, "etc/group-:");
}

static void test_etc_symlink_refused(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *a = rk_path_join(f->root, "etc"), *b = rk_path_join(f->root, "etc.real");
        assert_int_equal(rename(a, b), 0);
        assert_int_equal(symlink("etc.real", a), 0);
        check_refused(f, "etc:");
}

/* A child that holds etc/.pwd.lock the way glibc's lckpwdf() does (classic
 * POSIX lock) for hold_ms, then exits. */
static pid_t hold_lock(const char *root, unsigned hold_ms) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *p = rk_path_join(root, "etc/.pwd.lock");
                int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
                if (fd < 0 || fcntl(fd, F_SETLKW, &fl) < 0)
                        _exit(1);
                (void) !write(pfd[1], "x", 1);
                struct timespec ts = { hold_ms / 1000, (long) (hold_ms % 1000) * 1000000L };
                nanosleep(&ts, NULL);
                _exit(0);
        }
        close(pfd[1]);
        char c;
        assert_int_equal(read(pfd[0], &c, 1), 1);
        close(pfd[0]);
        return pid;
}

static void test_lock_held(void **state) {
        struct fixture *f = *state;
        pid_t pid = hold_lock(f->root, 1500);
        uint64_t t_locked = rk_now_ms(); /* the child took the lock before this */
        char err[512] = "";
        uint64_t t0 = rk_now_ms();
        int r = rk_accounts_lock(f->root_fd, 200, err, sizeof err);
        uint64_t waited = rk_now_ms() - t0;
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(waited >= 200);
        char want[64];
        snprintf(want, sizeof want, "held by process %d", (int) pid);
        if (!strstr(err, want))
                fail_msg("error \"%s\" does not name the holder %d", err, (int) pid);

        /* a delete with a short timeout fails clearly and changes nothing */
        _cleanup_free_ char *before = snapshot(f->root);
        struct rk_accounts_plan p;
        assert_int_equal(rk_accounts_plan(f->root_fd, 1000, KEEP, &p, err, sizeof err), 0);
        p.lock_timeout_ms = 100;
        assert_int_equal(rk_accounts_delete(f->root_fd, &p, &f->log), -ETIMEDOUT);
        _cleanup_free_ char *after = snapshot(f->root);
        assert_string_equal(before, after);

        /* with time to wait, it waits for the holder and then works */
        p.lock_timeout_ms = 10000;
        assert_int_equal(rk_accounts_delete(f->root_fd, &p, &f->log), 0);
        /* the holder kept it 1.5 s from before t_locked: we must have waited */
        assert_true(rk_now_ms() - t_locked >= 1000); /* (less the pipe latency) */
        rk_accounts_plan_free(&p);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_file(f->root, "etc/passwd", PASSWD_AFTER, 0644, 0, 0);

        /* and the lock is ours while we hold it: a child cannot take it */
        int lfd = rk_accounts_lock(f->root_fd, 1000, err, sizeof err);
        assert_true(lfd >= 0);
        pid = fork();
        if (pid == 0) {
                char e2[256];
                _exit(rk_accounts_lock(f->root_fd, 50, e2, sizeof e2) == -ETIMEDOUT ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(lfd);
}

static void test_lock_symlink_refused(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *a = rk_path_join(f->root, "etc/.pwd.lock");
        assert_int_equal(unlink(a), 0);
        assert_int_equal(symlink("../../outside/lockfile", a), 0);
        char err[256] = "";
        assert_int_equal(rk_accounts_lock(f->root_fd, 100, err, sizeof err), -ELOOP);
        assert_non_null(strstr(err, "etc/.pwd.lock"));
        assert_false(exists(f->base, "outside/lockfile"));
}

static void test_reset_password(void **state) {
        struct fixture *f = *state;
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "t128", HASH_F, true, &f->log), 0);
        _cleanup_free_ char *s = slurp(f->root, "etc/shadow");
        assert_non_null(strstr(s, "\nt128:" HASH_F ":0:0:99999:7:::\n"));
        assert_non_null(strstr(s, "\nadmin:" HASH_R ":19500:")); /* others untouched */
        _cleanup_free_ char *sb = slurp(f->root, "etc/shadow-");
        assert_string_equal(s, sb); /* no old hash left in the backup */
        assert_null(strstr(sb, "t128:" HASH_R));
        assert_file(f->root, "etc/shadow", s, 0640, 0, GID_SHADOW);
        assert_file(f->root, "etc/shadow-", s, 0600, 0, 0);
        assert_file(f->root, "etc/passwd", PASSWD, 0644, 0, 0); /* already "x": unchanged */

        /* expire-passwords = false: lastchg is today */
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "admin", HASH_F, false, &f->log), 0);
        _cleanup_free_ char *s2 = slurp(f->root, "etc/shadow");
        char want[256];
        snprintf(want, sizeof want, "\nadmin:%s:%ld:0:", HASH_F, (long) (time(NULL) / 86400));
        assert_non_null(strstr(s2, want));

        /* a hash in passwd's field would still log in: it becomes "x" */
        put(f->root, "etc/passwd", "root:" HASH_R ":0:0:root:/root:/bin/bash\n", 0644, 0, 0);
        put(f->root, "etc/shadow", "root:" HASH_R ":19000:0:99999:7:::\n", 0640, 0, GID_SHADOW);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "root", HASH_F, true, &f->log), 0);
        assert_file(f->root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644, 0, 0);
        assert_file(f->root, "etc/passwd-", "root:x:0:0:root:/root:/bin/bash\n", 0644, 0, 0);
        assert_file(f->root, "etc/shadow", "root:" HASH_F ":0:0:99999:7:::\n", 0640, 0, GID_SHADOW);
}

static void test_reset_password_bad(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *before = snapshot(f->root);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "ghost", HASH_F, true, &f->log), -ENOENT);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "t128", "secret", true, &f->log), -EINVAL);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "t128", "$6$salt", true, &f->log), -EINVAL);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "t128", "!", true, &f->log), -EINVAL);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "", HASH_F, true, &f->log), -EINVAL);
        _cleanup_free_ char *after = snapshot(f->root);
        assert_string_equal(before, after);
        /* in passwd but not in shadow */
        put(f->root, "etc/passwd", PASSWD, 0644, 0, 0);
        _cleanup_free_ char *sh = slurp(f->root, "etc/shadow");
        char *t = strstr(sh, "t128:");
        memmove(t, strchr(t, '\n') + 1, strlen(strchr(t, '\n') + 1) + 1);
        put(f->root, "etc/shadow", sh, 0640, 0, GID_SHADOW);
        _cleanup_free_ char *before2 = snapshot(f->root);
        assert_int_equal(rk_accounts_reset_password(f->root_fd, "t128", HASH_F, true, &f->log), -ENOENT);
        _cleanup_free_ char *after2 = snapshot(f->root);
        assert_string_equal(before2, after2);
}

static void test_missing_root_files(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *p = rk_path_join(f->root, "etc/passwd");
        assert_int_equal(unlink(p), 0);
        struct rk_accounts_plan plan;
        char err[256] = "";
        assert_int_equal(rk_accounts_plan(f->root_fd, 1000, KEEP, &plan, err, sizeof err), -ENOENT);
        assert_non_null(strstr(err, "etc/passwd"));
}

static void test_home_edge_cases(void **state) {
        struct fixture *f = *state;
        /* homes that must never be removed: "/", "..", relative, through a
         * symlink, a symlink itself, shared with a remaining user */
        put(f->root, "etc/passwd",
            "root:x:0:0::/root:/bin/sh\n"
            "u1:x:2001:2001::/:/bin/sh\n"
            "u2:x:2002:2002::/home/../etc:/bin/sh\n"
            "u3:x:2003:2003::home/u3:/bin/sh\n"
            "u4:x:2004:2004::/lnk/u4:/bin/sh\n"
            "u5:x:2005:2005::/home/u5:/bin/sh\n"
            "u6:x:2006:2006::/home/shared:/bin/sh\n"
            "keeper:x:2007:2006::/home/shared/:/bin/sh\n",
            0644, 0, 0);
        mkd(f->root, "home/u3", 0755, 2003, 2003);
        lnk(f->root, "lnk", "home");
        mkd(f->root, "home/u4", 0755, 2004, 2004);
        lnk(f->root, "home/u5", "../../outside");
        mkd(f->root, "home/shared", 0755, 2006, 2006);
        put(f->root, "home/shared/f", "x\n", 0644, 2006, 2006);
        if (is_root()) {
                _cleanup_free_ char *e = rk_path_join(f->root, "etc");
                assert_int_equal(chown(e, 2002, 2002), 0); /* even owned by u2, /home/../etc stays */
        }
        char *keep[] = { (char *) "keeper", NULL };
        struct rk_accounts_plan p;
        char err[256] = "";
        assert_int_equal(rk_accounts_plan(f->root_fd, 2000, keep, &p, err, sizeof err), 0);
        assert_int_equal(p.n_users, 6);
        assert_int_equal(rk_accounts_delete(f->root_fd, &p, &f->log), 0);
        rk_accounts_plan_free(&p);
        assert_true(exists(f->root, "etc/shadow"));
        assert_true(exists(f->root, "home/u3"));
        assert_true(exists(f->root, "home/u4"));
        assert_true(exists(f->root, "home/u5"));
        assert_true(exists(f->base, "outside/precious"));
        assert_true(exists(f->root, "home/shared/f"));
        assert_file(f->root, "etc/passwd",
                    "root:x:0:0::/root:/bin/sh\nkeeper:x:2007:2006::/home/shared/:/bin/sh\n", 0644, 0, 0);
}

#if RK_FAULT_INJECTION
/* Power loss: kill the step at every fault point it reaches, re-run
 * (plan + delete, as a resume does), compare with an uninterrupted run. */

struct point {
        char name[64];
        unsigned count;
};

static size_t trace_points(const char *trace, struct point *pts, size_t max) {
        _cleanup_free_ char *t = NULL;
        assert_int_equal(rk_read_at(AT_FDCWD, trace, 0, 1 << 20, &t, NULL), 0);
        size_t n = 0;
        for (char *s = strtok(t, "\n"); s; s = strtok(NULL, "\n")) {
                /* the trace names the failure points (RK_FAIL) too: every
                 * "fsutil:" one is, and none of them kills */
                if (strncmp(s, "fsutil:", 7) == 0)
                        continue;
                size_t i;
                for (i = 0; i < n && strcmp(pts[i].name, s) != 0; i++)
                        ;
                if (i == n) {
                        assert_true(n < max);
                        snprintf(pts[n].name, sizeof pts[n].name, "%s", s);
                        pts[n++].count = 0;
                }
                pts[i].count++;
        }
        return n;
}

enum child_job { JOB_DELETE, JOB_RESET_PASSWORD };

static int run_child_job(const char *root, enum child_job job, const char *fault, const char *trace) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (fault)
                        setenv("RESETKIT_FAULT", fault, 1);
                if (trace)
                        setenv("RESETKIT_FAULT_TRACE", trace, 1);
                int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct rk_log log;
                rk_log_init(&log, "child");
                log.max_level = LOG_ERR;
                if (rfd < 0)
                        _exit(3);
                if (job == JOB_DELETE)
                        _exit(plan_and_delete(rfd, &log) == 0 ? 0 : 3);
                /* root's passwd field holds a hash here: passwd changes too */
                _exit(rk_accounts_reset_password(rfd, "root", HASH_F, true, &log) == 0 &&
                      rk_accounts_reset_password(rfd, "t128", HASH_F, true, &log) == 0 ? 0 : 3);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static int run_child(const char *root, const char *fault, const char *trace) {
        return run_child_job(root, JOB_DELETE, fault, trace);
}

static void prepare_reset(const char *root) {
        put(root, "etc/passwd", "root:" HASH_R ":0:0:root:/root:/bin/bash\nt128:x:1001:1001::/home/t128:/bin/bash\n",
            0644, 0, 0);
}

static void test_crash_reset_password(void **state) {
        struct fixture *f = *state;
        char trace[128];
        snprintf(trace, sizeof trace, "%s/trace", f->base);
        prepare_reset(f->root);
        int st = run_child_job(f->root, JOB_RESET_PASSWORD, NULL, trace);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        _cleanup_free_ char *sh = slurp(f->root, "etc/shadow-");
        assert_non_null(strstr(sh, "root:" HASH_F ":0:"));
        struct point pts[32];
        size_t n = trace_points(trace, pts, RK_ELEMENTSOF(pts));
        unsigned runs = 0;
        for (size_t i = 0; i < n; i++)
                for (unsigned k = 1; k <= pts[i].count; k++) {
                        char dir[128], fault[96];
                        snprintf(dir, sizeof dir, "%s/crash%u", f->base, runs++);
                        build_root(f->base, dir);
                        prepare_reset(dir);
                        snprintf(fault, sizeof fault, "%.63s:%u", pts[i].name, k);
                        st = run_child_job(dir, JOB_RESET_PASSWORD, fault, NULL);
                        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
                                fail_msg("%s: the child was not killed at the point (status %d)", fault, st);
                        st = run_child_job(dir, JOB_RESET_PASSWORD, NULL, NULL);
                        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
                        print_message("reset-password: crash at %s, re-run: comparing\n", fault);
                        assert_same_tree(f->root, dir);
                        rm_rf(dir);
                }
        assert_true(runs >= 8); /* shadow, shadow-, passwd, passwd-: temp + rename each */
}

static void test_crash_resume(void **state) {
        struct fixture *f = *state;
        /* the reference: an uninterrupted run, traced */
        char trace[128];
        snprintf(trace, sizeof trace, "%s/trace", f->base);
        int st = run_child(f->root, NULL, trace);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        struct point pts[32];
        size_t n = trace_points(trace, pts, RK_ELEMENTSOF(pts));
        bool seen_file = false, seen_home = false, seen_user = false;
        for (size_t i = 0; i < n; i++) {
                seen_file |= strcmp(pts[i].name, "accounts:file") == 0;
                seen_home |= strcmp(pts[i].name, "accounts:home-dir") == 0;
                seen_user |= strcmp(pts[i].name, "accounts:user-files") == 0;
        }
        assert_true(seen_file && seen_home && seen_user);

        unsigned runs = 0;
        for (size_t i = 0; i < n; i++)
                for (unsigned k = 1; k <= pts[i].count; k++) {
                        char dir[128], fault[96];
                        snprintf(dir, sizeof dir, "%s/crash%u", f->base, runs++);
                        build_root(f->base, dir);
                        snprintf(fault, sizeof fault, "%.63s:%u", pts[i].name, k);
                        st = run_child(dir, fault, NULL);
                        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
                                fail_msg("%s: the child was not killed at the point (status %d)", fault, st);
                        /* consistency right after the crash: passwd still
                         * parses and lists root */
                        _cleanup_free_ char *pw = slurp(dir, "etc/passwd");
                        assert_non_null(strstr(pw, "root:x:0:0:"));
                        st = run_child(dir, NULL, NULL);
                        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
                                fail_msg("%s: the resume failed (status %d)", fault, st);
                        print_message("crash at %s, resumed: comparing\n", fault);
                        assert_same_tree(f->root, dir);
                        rm_rf(dir);
                }
        assert_true(runs >= 15);
}
#endif

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_idempotent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_plan_only_planned_users_go, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shadow_symlink_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backup_symlink_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_etc_symlink_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_held, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_symlink_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reset_password, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reset_password_bad, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_root_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_home_edge_cases, setup, teardown),
#if RK_FAULT_INJECTION
                cmocka_unit_test_setup_teardown(test_crash_resume, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_reset_password, setup, teardown),
#endif
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
