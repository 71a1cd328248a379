/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of safe removal (rmtree.c) on temporary trees.
 *
 * Every test works in a fresh mkdtemp root and a second temp dir, the
 * "outside", that symlinks and bind mounts point at.  Nothing here points
 * at the machine's own /etc or any other real path: after each attack the
 * outside is checked byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fsutil.h"
#include "log.h"
#include "rk-build-config.h"
#include "glob.h"
#include "rmtree.h"
#include "util.h"

struct fx {
        char *root, *outside;
        int rfd, ofd;
        char *mounts[4];
        size_t n_mounts;
        pid_t child;            /* race helper, killed in teardown */
        struct rk_log log;
};

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof *f);
        char t1[] = "/tmp/rk-test-rm-root-XXXXXX", t2[] = "/tmp/rk-test-rm-out-XXXXXX";
        assert_non_null(mkdtemp(t1));
        assert_non_null(mkdtemp(t2));
        f->root = strdup(t1);
        f->outside = strdup(t2);
        f->rfd = open(t1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        f->ofd = open(t2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->rfd >= 0 && f->ofd >= 0);
        rk_log_init(&f->log, "test-rmtree");
        f->log.to_stderr = getenv("RK_TEST_VERBOSE") != NULL;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        if (f->child > 0) {
                kill(f->child, SIGKILL);
                (void) waitpid(f->child, NULL, 0);
        }
        while (f->n_mounts > 0) {
                char *m = f->mounts[--f->n_mounts];
                if (umount2(m, MNT_DETACH) < 0)
                        fprintf(stderr, "umount %s: %m\n", m);
                free(m);
        }
        close(f->rfd);
        close(f->ofd);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "rm -rf --one-file-system '%s' '%s'", f->root, f->outside);
        assert_int_equal(system(cmd), 0);
        free(f->root);
        free(f->outside);
        free(f);
        return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void mkfile(int dfd, const char *rel, const char *content) {
        _cleanup_free_ char *dir = strdup(rel);
        char *slash = strrchr(dir, '/');
        _cleanup_close_ int pfd = -1;
        if (slash) {
                *slash = 0;
                pfd = rk_mkdir_p_at(dfd, dir, 0755);
                assert_true(pfd >= 0);
        } else
                pfd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        const char *name = slash ? strrchr(rel, '/') + 1 : rel;
        _cleanup_close_ int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        assert_true(fd >= 0);
        assert_int_equal(rk_write_all(fd, content, strlen(content)), 0);
}

static void mkdirs(int dfd, const char *rel) {
        int fd = rk_mkdir_p_at(dfd, rel, 0755);
        assert_true(fd >= 0);
        close(fd);
}

static void mksymlink(int dfd, const char *target, const char *rel) {
        _cleanup_free_ char *dir = strdup(rel);
        char *slash = strrchr(dir, '/');
        if (slash) {
                *slash = 0;
                mkdirs(dfd, dir);
        }
        assert_int_equal(symlinkat(target, dfd, rel), 0);
}

static bool exists(int dfd, const char *rel) {
        struct stat st;
        return fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void assert_content(int dfd, const char *rel, const char *want) {
        _cleanup_free_ char *got = NULL;
        if (rk_read_at(dfd, rel, 0, 1 << 20, &got, NULL) < 0)
                fail_msg("%s: missing", rel);
        assert_string_equal(got, want);
}

/* the outside tree every attack aims at */
static void make_outside(struct fx *f) {
        mkfile(f->ofd, "secret", "secret");
        mkfile(f->ofd, "dir/file", "file");
        mkfile(f->ofd, "dir/.hidden", "hidden");
        mkfile(f->ofd, "etc128/global.init", "global");
}

static void assert_outside_intact(struct fx *f) {
        assert_content(f->ofd, "secret", "secret");
        assert_content(f->ofd, "dir/file", "file");
        assert_content(f->ofd, "dir/.hidden", "hidden");
        assert_content(f->ofd, "etc128/global.init", "global");
}

static char *outside_path(struct fx *f, const char *rel) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", f->outside, rel) > 0);
        return p;
}

static int rm(struct fx *f, enum rk_mf_action a, const char *glob, unsigned keep, char *const *protect,
              bool dry, struct rk_rm_stats *st) {
        struct rk_rm_opts o = { .protect = protect, .dry_run = dry, .log = &f->log };
        *st = (struct rk_rm_stats) {};
        return rk_rm_entry(f->rfd, a, glob, keep, &o, st);
}

/* A stable listing of a tree ("path type size" lines), to compare trees. */
static void list_tree(int dfd, const char *prefix, FILE *out) {
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fdopendir(fd);
        assert_non_null(d);
        struct dirent **names;
        int n = scandirat(fd, ".", &names, NULL, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                const char *nm = names[i]->d_name;
                if (strcmp(nm, ".") && strcmp(nm, "..")) {
                        struct stat st;
                        assert_int_equal(fstatat(fd, nm, &st, AT_SYMLINK_NOFOLLOW), 0);
                        fprintf(out, "%s/%s %o %lld\n", prefix, nm, st.st_mode, S_ISDIR(st.st_mode) ? 0LL : (long long) st.st_size);
                        if (S_ISDIR(st.st_mode)) {
                                _cleanup_close_ int sub = openat(fd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                                _cleanup_free_ char *p = NULL;
                                assert_true(asprintf(&p, "%s/%s", prefix, nm) > 0);
                                list_tree(sub, p, out);
                        }
                }
                free(names[i]);
        }
        free(names);
        closedir(d);
}

static char *listing(int dfd) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        list_tree(dfd, "", m);
        fclose(m);
        return buf;
}

/* ---- tests -------------------------------------------------------------- */

static void test_remove_tree_counts_idempotent(void **state) {
        struct fx *f = *state;
        mkfile(f->rfd, "var/lib/128technology/t128-running.json", "12345");
        mkfile(f->rfd, "var/lib/128technology/user-running.json", "1234567890");
        mkfile(f->rfd, "var/lib/influxdb/data/db/shard/000001.tsm", "abc");
        mkfile(f->rfd, "var/lib/influxdb/.hidden", "x");
        mkdirs(f->rfd, "var/lib/influxdb/wal/empty");
        mksymlink(f->rfd, "data/db", "var/lib/influxdb/link");
        assert_int_equal(mkfifoat(f->rfd, "var/lib/influxdb/fifo", 0600), 0);
        mkfile(f->rfd, "var/lib/keep/me", "stay");

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/lib/128technology/*-running.json", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches, 2);
        assert_int_equal(st.files, 2);
        assert_int_equal(st.bytes, 15);
        assert_false(exists(f->rfd, "var/lib/128technology/t128-running.json"));
        assert_true(exists(f->rfd, "var/lib/128technology"));

        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/lib/influxdb", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches, 1);
        assert_int_equal(st.files, 3);          /* tsm, .hidden, fifo */
        assert_int_equal(st.bytes, 4);
        assert_int_equal(st.symlinks, 1);
        assert_int_equal(st.dirs, 6);           /* influxdb data db shard wal empty */
        assert_false(exists(f->rfd, "var/lib/influxdb"));
        assert_content(f->rfd, "var/lib/keep/me", "stay");

        /* again: nothing there, no error, nothing counted */
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/lib/influxdb", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches + st.files + st.dirs + st.symlinks, 0);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/no/such/dir/*", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches, 0);
}

static void test_symlinks_inside_tree_to_outside(void **state) {
        struct fx *f = *state;
        make_outside(f);
        _cleanup_free_ char *secret = outside_path(f, "secret");
        _cleanup_free_ char *dir = outside_path(f, "dir");
        _cleanup_free_ char *rel = NULL;
        assert_true(asprintf(&rel, "../../../../../../../../../..%s", dir) > 0);
        mkfile(f->rfd, "home/alice/file", "x");
        mksymlink(f->rfd, secret, "home/alice/secret-link");
        mksymlink(f->rfd, dir, "home/alice/dir-link");
        mksymlink(f->rfd, rel, "home/alice/sub/relative-dir-link");
        /* a loop back up, inside the root (never a link to the host's
         * own paths: a broken walk must not be able to reach them) */
        mksymlink(f->rfd, "..", "home/alice/sub/up-link");

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/home/alice", 0, NULL, false, &st), 0);
        assert_int_equal(st.symlinks, 4);
        assert_int_equal(st.files, 1);
        assert_false(exists(f->rfd, "home/alice"));
        assert_outside_intact(f);

        /* a symlink that is itself the match is unlinked, not followed */
        mksymlink(f->rfd, dir, "var/log/link-to-dir");
        mksymlink(f->rfd, secret, "var/log/link-to-file");
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/log/*", 0, NULL, false, &st), 0);
        assert_int_equal(st.symlinks, 2);
        assert_false(exists(f->rfd, "var/log/link-to-dir"));
        assert_outside_intact(f);
        /* empty on a symlink to a directory: not a directory, left alone */
        mksymlink(f->rfd, dir, "var/log/link-to-dir");
        assert_int_equal(rm(f, RK_MF_EMPTY, "/var/log/link-to-dir", 0, NULL, false, &st), 0);
        assert_true(exists(f->rfd, "var/log/link-to-dir"));
        assert_outside_intact(f);
}

static void test_symlink_as_path_component(void **state) {
        struct fx *f = *state;
        make_outside(f);
        _cleanup_free_ char *etc128 = outside_path(f, "etc128");
        mksymlink(f->rfd, etc128, "etc/128technology");
        mkfile(f->rfd, "etc/other/global.init", "inside");

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/etc/128technology/global.init", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches, 0);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/etc/128technology/*", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches, 0);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/etc/*/global.init", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches, 1);        /* only the real one */
        assert_false(exists(f->rfd, "etc/other/global.init"));
        assert_int_equal(rm(f, RK_MF_EMPTY, "/etc/128technology", 0, NULL, false, &st), 0);
        assert_outside_intact(f);
        /* naming the link itself removes the link */
        assert_int_equal(rm(f, RK_MF_REMOVE, "/etc/128technology", 0, NULL, false, &st), 0);
        assert_int_equal(st.symlinks, 1);
        assert_false(exists(f->rfd, "etc/128technology"));
        assert_outside_intact(f);

        /* the root's own absolute symlinks (like /var/run -> /run) are not
         * followed either: a manifest must name the real path.  The target
         * is a name the host does not have, so even a broken
         * implementation resolving it on the host would find nothing. */
        mkfile(f->rfd, "rk-test-run/x.pid", "1");
        mksymlink(f->rfd, "/rk-test-run", "var/run");
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/run/x.pid", 0, NULL, false, &st), 0);
        assert_true(exists(f->rfd, "rk-test-run/x.pid"));
}

/* rk_glob_expand's matches, taken over by the caller */
static int expand(struct fx *f, const char *pattern, char ***ret) {
        struct rk_glob g = {};
        int r = rk_glob_expand(f->rfd, pattern, &f->log, &g);
        *ret = g.matches;
        return r;
}

static void test_glob_never_dot_dotdot(void **state) {
        struct fx *f = *state;
        mkfile(f->rfd, "etc/.hidden", "h");
        mkfile(f->rfd, "etc/..weird", "w");
        mkfile(f->rfd, "etc/visible", "v");
        mkfile(f->rfd, "top", "t");

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/etc/.*", 0, NULL, false, &st), 0);
        assert_int_equal(st.matches, 2);
        assert_false(exists(f->rfd, "etc/.hidden"));
        assert_false(exists(f->rfd, "etc/..weird"));
        assert_true(exists(f->rfd, "etc/visible"));
        assert_true(exists(f->rfd, "top"));

        char **v = NULL;
        assert_int_equal(expand(f, "/etc/.?", &v), 0);
        assert_null(v[0]);
        rk_strv_free(v);
        assert_int_equal(expand(f, "/*/../top", &v), -EINVAL);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/etc/../top", 0, NULL, false, &st), -EINVAL);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/etc/./visible", 0, NULL, false, &st), -EINVAL);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/", 0, NULL, false, &st), -EINVAL);
        assert_int_equal(rm(f, RK_MF_EMPTY, "//", 0, NULL, false, &st), -EINVAL);
        assert_int_equal(rm(f, RK_MF_EXEC, "/etc", 0, NULL, false, &st), -EINVAL);
        assert_true(exists(f->rfd, "top"));
        assert_true(exists(f->rfd, "etc/visible"));
}

static void test_dotfiles_and_glob_order(void **state) {
        struct fx *f = *state;
        mkfile(f->rfd, "home/alice/.ssh/id_ed25519", "k");
        mkfile(f->rfd, "home/alice/.ssh/authorized_keys", "k");
        mkfile(f->rfd, "home/bob/.ssh/id_rsa", "k");
        mkfile(f->rfd, "home/bob/.bashrc", "b");
        mkfile(f->rfd, "home/bob/notes", "n");
        mkfile(f->rfd, "home/.skel-file", "s");

        char **v = NULL;
        assert_int_equal(expand(f, "/home/*/.ssh", &v), 0);
        assert_int_equal(rk_strv_length(v), 2);
        assert_string_equal(v[0], "home/alice/.ssh");
        assert_string_equal(v[1], "home/bob/.ssh");
        rk_strv_free(v);
        assert_int_equal(expand(f, "/home/*", &v), 0);
        assert_int_equal(rk_strv_length(v), 3);
        assert_string_equal(v[0], "home/.skel-file");
        rk_strv_free(v);

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/home/*/.ssh", 0, NULL, false, &st), 0);
        assert_int_equal(st.files, 3);
        assert_int_equal(st.dirs, 2);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/home/bob/.[a-z]*", 0, NULL, false, &st), 0);
        assert_int_equal(st.files, 1);
        assert_false(exists(f->rfd, "home/bob/.bashrc"));
        assert_true(exists(f->rfd, "home/bob/notes"));
}

static void test_empty(void **state) {
        struct fx *f = *state;
        mkfile(f->rfd, "var/log/syslog", "123");
        mkfile(f->rfd, "var/log/128technology/a.log", "1");
        mkfile(f->rfd, "var/log/.hidden", "1");
        mkfile(f->rfd, "var/log2", "file, not dir");

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_EMPTY, "/var/log", 0, NULL, false, &st), 0);
        assert_int_equal(st.files, 3);
        assert_int_equal(st.dirs, 1);
        assert_int_equal(st.bytes, 5);
        assert_true(exists(f->rfd, "var/log"));
        _cleanup_free_ char *l = listing(f->rfd);
        assert_string_equal(l, "/var 40755 0\n/var/log 40755 0\n/var/log2 100644 13\n");
        assert_int_equal(rm(f, RK_MF_EMPTY, "/var/log*", 0, NULL, false, &st), 0);
        assert_true(exists(f->rfd, "var/log2"));        /* a file is not emptied */
        assert_int_equal(st.files, 0);
}

static void set_mtime(int dfd, const char *rel, time_t sec) {
        struct timespec ts[2] = { { sec, 0 }, { sec, 0 } };
        assert_int_equal(utimensat(dfd, rel, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_keep_newest(void **state) {
        struct fx *f = *state;
        const char *names[] = { "factory-default.xml.1", "factory-default.xml.2", "factory-default.xml",
                                "factory-default.xml.3", "factory-default.xml.4" };
        time_t times[] = { 4000, 3000, 5000, 2000, 2000 };
        for (size_t i = 0; i < RK_ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "var/lib/128technology/%s", names[i]) > 0);
                mkfile(f->rfd, p, "<xml/>");
                set_mtime(f->rfd, p, times[i]);
        }
        /* a rotated directory counts as one match too */
        mkfile(f->rfd, "var/lib/128technology/factory-default.xml.d/x", "1");
        set_mtime(f->rfd, "var/lib/128technology/factory-default.xml.d", 1000);

        struct rk_rm_stats st;
        /* dry run first: same counts, nothing gone */
        assert_int_equal(rm(f, RK_MF_KEEP_NEWEST, "/var/lib/128technology/factory-default.xml*", 2, NULL, true, &st), 0);
        assert_int_equal(st.matches, 4);
        assert_int_equal(st.files, 4);
        assert_int_equal(st.dirs, 1);
        assert_true(exists(f->rfd, "var/lib/128technology/factory-default.xml.4"));

        assert_int_equal(rm(f, RK_MF_KEEP_NEWEST, "/var/lib/128technology/factory-default.xml*", 2, NULL, false, &st), 0);
        assert_int_equal(st.matches, 4);
        assert_int_equal(st.files, 4);
        assert_int_equal(st.dirs, 1);
        assert_true(exists(f->rfd, "var/lib/128technology/factory-default.xml"));
        assert_true(exists(f->rfd, "var/lib/128technology/factory-default.xml.1"));
        assert_false(exists(f->rfd, "var/lib/128technology/factory-default.xml.2"));
        assert_false(exists(f->rfd, "var/lib/128technology/factory-default.xml.3"));
        assert_false(exists(f->rfd, "var/lib/128technology/factory-default.xml.4"));
        assert_false(exists(f->rfd, "var/lib/128technology/factory-default.xml.d"));

        /* again (a resumed run): the newest are still the newest */
        assert_int_equal(rm(f, RK_MF_KEEP_NEWEST, "/var/lib/128technology/factory-default.xml*", 2, NULL, false, &st), 0);
        assert_int_equal(st.matches, 0);
        assert_int_equal(rm(f, RK_MF_KEEP_NEWEST, "/var/lib/128technology/factory-default.xml*", 1, NULL, false, &st), 0);
        assert_int_equal(st.matches, 1);
        assert_true(exists(f->rfd, "var/lib/128technology/factory-default.xml"));
        assert_false(exists(f->rfd, "var/lib/128technology/factory-default.xml.1"));

        /* equal mtimes: the greater name is kept */
        mkfile(f->rfd, "t/a", "");
        mkfile(f->rfd, "t/b", "");
        set_mtime(f->rfd, "t/a", 100);
        set_mtime(f->rfd, "t/b", 100);
        assert_int_equal(rm(f, RK_MF_KEEP_NEWEST, "/t/*", 1, NULL, false, &st), 0);
        assert_true(exists(f->rfd, "t/b"));
        assert_false(exists(f->rfd, "t/a"));
}

static void test_protected(void **state) {
        struct fx *f = *state;
        mkfile(f->rfd, "var/lib/resetkit/factory-reset.journal", "journal");
        mkfile(f->rfd, "var/lib/resetkit/config/backup.json", "b");
        mkfile(f->rfd, "var/lib/other/x", "x");
        /* an image's absolute link, to a name the host does not have */
        mkfile(f->rfd, "rk-test-run/resetkit/store.lock", "");
        mksymlink(f->rfd, "/rk-test-run", "var/run");
        mkfile(f->rfd, "tmp/factory-reset.log", "log");
        mkfile(f->rfd, "tmp/junk", "j");
        char *protect[] = { "var/lib/resetkit/factory-reset.journal", "/tmp/factory-reset.log",
                            "var/run/resetkit/store.lock", "/no/such/file", NULL };

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/lib", 0, protect, true, &st), 0);
        struct rk_rm_stats dry = st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/lib", 0, protect, false, &st), 0);
        assert_memory_equal(&dry, &st, sizeof st);
        assert_int_equal(st.skipped_protected, 1);
        assert_int_equal(st.files, 2);
        assert_int_equal(st.dirs, 2);           /* config, other */
        assert_content(f->rfd, "var/lib/resetkit/factory-reset.journal", "journal");
        assert_false(exists(f->rfd, "var/lib/resetkit/config"));
        assert_false(exists(f->rfd, "var/lib/other"));

        /* the protected file matched by a glob directly */
        assert_int_equal(rm(f, RK_MF_REMOVE, "/tmp/*", 0, protect, false, &st), 0);
        assert_int_equal(st.skipped_protected, 1);
        assert_content(f->rfd, "tmp/factory-reset.log", "log");
        assert_false(exists(f->rfd, "tmp/junk"));
        /* protected through the image's var/run -> /rk-test-run link */
        assert_int_equal(rm(f, RK_MF_EMPTY, "/rk-test-run", 0, protect, false, &st), 0);
        assert_int_equal(st.skipped_protected, 1);
        assert_true(exists(f->rfd, "rk-test-run/resetkit/store.lock"));
        /* and through a hard link elsewhere (same inode) */
        assert_int_equal(linkat(f->rfd, "tmp/factory-reset.log", f->rfd, "var/lib/hardlink", 0), 0);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var", 0, protect, false, &st), 0);
        assert_true(exists(f->rfd, "var/lib/hardlink"));
        assert_content(f->rfd, "var/lib/resetkit/factory-reset.journal", "journal");
        assert_false(exists(f->rfd, "var/run"));
        /* without protection everything goes */
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var", 0, NULL, false, &st), 0);
        assert_false(exists(f->rfd, "var"));
}

static void test_dry_run_changes_nothing(void **state) {
        struct fx *f = *state;
        make_outside(f);
        _cleanup_free_ char *dir = outside_path(f, "dir");
        for (int i = 0; i < 50; i++) {
                char p[64];
                snprintf(p, sizeof p, "data/d%02d/sub/f%d", i % 7, i);
                mkfile(f->rfd, p, "0123456789");
        }
        mksymlink(f->rfd, dir, "data/d00/link");
        mkfile(f->rfd, "data/d01/.x", "");
        _cleanup_free_ char *before = listing(f->rfd);

        struct rk_rm_stats dry, real;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/data/*", 0, NULL, true, &dry), 0);
        _cleanup_free_ char *after = listing(f->rfd);
        assert_string_equal(before, after);
        assert_int_equal(dry.files, 51);
        assert_int_equal(dry.bytes, 500);
        assert_int_equal(dry.dirs, 14);
        assert_int_equal(dry.symlinks, 1);

        assert_int_equal(rm(f, RK_MF_REMOVE, "/data/*", 0, NULL, false, &real), 0);
        assert_memory_equal(&dry, &real, sizeof dry);
        _cleanup_free_ char *gone = listing(f->rfd);
        assert_string_equal(gone, "/data 40755 0\n");
        assert_outside_intact(f);
}

static bool try_mount(struct fx *f, const char *source, const char *rel, const char *type,
                      unsigned long flags, const char *data) {
        _cleanup_free_ char *target = NULL;
        assert_true(asprintf(&target, "%s/%s", f->root, rel) > 0);
        if (mount(source, target, type, flags, data) < 0) {
                fprintf(stderr, "mount %s on %s: %m (skipping)\n", source, target);
                return false;
        }
        f->mounts[f->n_mounts++] = RK_TAKE_PTR(target);
        return true;
}

static void test_mounts_inside_tree(void **state) {
        struct fx *f = *state;
        make_outside(f);
        mkfile(f->rfd, "var/log/syslog", "s");
        mkfile(f->rfd, "var/log/sub/deep/x", "x");
        mkdirs(f->rfd, "var/log/sub/deep/tmpfs");
        mkdirs(f->rfd, "var/log/bind");
        mkfile(f->rfd, "var/log/file-bind", "placeholder");
        if (!try_mount(f, "rk-test", "var/log/sub/deep/tmpfs", "tmpfs", 0, "size=1m")) {
                skip();
                return;
        }
        mkfile(f->rfd, "var/log/sub/deep/tmpfs/on-tmpfs", "t");
        mkfile(f->rfd, "var/log/sub/deep/tmpfs/dir/on-tmpfs-2", "t");
        /* a bind mount of the outside: same filesystem, same st_dev —
         * only the mount id / mount-root attribute tells it apart */
        _cleanup_free_ char *dir = outside_path(f, "dir");
        _cleanup_free_ char *secret = outside_path(f, "secret");
        assert_true(try_mount(f, dir, "var/log/bind", NULL, MS_BIND, NULL));
        assert_true(try_mount(f, secret, "var/log/file-bind", NULL, MS_BIND, NULL));

        struct rk_rm_stats dry, st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/log", 0, NULL, true, &dry), 0);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/log", 0, NULL, false, &st), 0);
        assert_memory_equal(&dry, &st, sizeof st);
        assert_int_equal(st.skipped_mounts, 3);
        assert_int_equal(st.files, 2);          /* syslog, x */
        assert_false(exists(f->rfd, "var/log/syslog"));
        assert_false(exists(f->rfd, "var/log/sub/deep/x"));
        assert_content(f->rfd, "var/log/sub/deep/tmpfs/on-tmpfs", "t");
        assert_content(f->rfd, "var/log/sub/deep/tmpfs/dir/on-tmpfs-2", "t");
        assert_outside_intact(f);

        /* the entry naming the mount itself: its contents go, the mount
         * point stays (it cannot be removed while mounted) */
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/log/sub/deep/tmpfs", 0, NULL, false, &st), 0);
        assert_int_equal(st.files, 2);
        assert_int_equal(st.dirs, 1);
        assert_true(exists(f->rfd, "var/log/sub/deep/tmpfs"));
        assert_false(exists(f->rfd, "var/log/sub/deep/tmpfs/on-tmpfs"));
        /* a glob below a mount point reaches into it: the path names it */
        mkfile(f->rfd, "var/log/sub/deep/tmpfs/again", "a");
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/log/sub/deep/tmpfs/*", 0, NULL, false, &st), 0);
        assert_int_equal(st.files, 1);
        /* a bind-mounted file named directly is left alone too */
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/log/file-bind", 0, NULL, false, &st), 0);
        assert_int_equal(st.skipped_mounts, 1);
        assert_outside_intact(f);
}

/* A directory swapped for a symlink to the outside while removal runs
 * (renameat2 RENAME_EXCHANGE in a loop, in a child process): whatever the
 * interleaving, nothing outside the root is touched. */
static void race_child(int rfd, const char *target) {
        for (;;) {
                mkdirat(rfd, "tree/d", 0755);
                int fd = openat(rfd, "tree/d/f", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd >= 0)
                        close(fd);
                mkdirat(rfd, "tree/d/sub", 0755);
                (void) symlinkat(target, rfd, "tree/l");
                for (int i = 0; i < 50; i++)
                        (void) renameat2(rfd, "tree/d", rfd, "tree/l", RENAME_EXCHANGE);
        }
}

static void test_race_swap_dir_for_symlink(void **state) {
        struct fx *f = *state;
        make_outside(f);
        _cleanup_free_ char *dir = outside_path(f, "dir");
        mkdirs(f->rfd, "tree");
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                race_child(f->rfd, dir);
        }
        f->child = pid;

        static const char *const globs[] = { "/tree", "/tree/*", "/tree/d/*", "/tree/l/*", "/tree/*/sub" };
        for (int i = 0; i < 400; i++) {
                struct rk_rm_stats st;
                mkdirs(f->rfd, "tree");
                for (int j = 0; j < 10; j++) {
                        char p[64];
                        snprintf(p, sizeof p, "tree/x%d/y/z", j);
                        mkfile(f->rfd, p, "z");
                }
                struct rk_rm_opts o = { .log = &f->log };
                int r = rk_rm_entry(f->rfd, i % 3 == 0 ? RK_MF_EMPTY : RK_MF_REMOVE,
                                    globs[i % RK_ELEMENTSOF(globs)], 0, &o, &st);
                /* a lost race may be reported, never acted on outside */
                if (!(r == 0 || r == -EBUSY || r == -ENOTEMPTY || r == -ENOTDIR))
                        fail_msg("iteration %d (%s): %s", i, globs[i % RK_ELEMENTSOF(globs)], strerror(-r));
                assert_outside_intact(f);
        }
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        f->child = 0;
        assert_outside_intact(f);
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        int n = 0;
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void test_deep_tree(void **state) {
        struct fx *f = *state;
        enum { DEPTH = 10000 };
        int cur = openat(f->rfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(mkdirat(cur, "deep", 0755), 0);
        int next = openat(cur, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(cur);
        cur = next;
        for (int i = 0; i < DEPTH; i++) {
                assert_int_equal(mkdirat(cur, "d", 0755), 0);
                if (i % 1000 == 0) {
                        int fd = openat(cur, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                        assert_true(fd >= 0);
                        assert_int_equal(write(fd, "12", 2), 2);
                        close(fd);
                }
                next = openat(cur, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(next >= 0);
                close(cur);
                cur = next;
        }
        close(cur);

        int fds = count_fds();
        struct rk_rm_stats dry, st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/deep", 0, NULL, true, &dry), 0);
        assert_int_equal(dry.dirs, DEPTH + 1);
        assert_int_equal(dry.files, 10);
        assert_true(exists(f->rfd, "deep/d/d/d"));
        assert_int_equal(rm(f, RK_MF_REMOVE, "/deep", 0, NULL, false, &st), 0);
        assert_memory_equal(&dry, &st, sizeof st);
        assert_false(exists(f->rfd, "deep"));
        assert_int_equal(count_fds(), fds);
}

static void test_rm_path_literal(void **state) {
        struct fx *f = *state;
        mkfile(f->rfd, "home/we*ird/x", "1");
        mkfile(f->rfd, "home/weXird/y", "1");
        struct rk_rm_stats st = {};
        assert_int_equal(rk_rm_path(f->rfd, "/home/we*ird", false, NULL, &st), 0);
        assert_false(exists(f->rfd, "home/we*ird"));
        assert_true(exists(f->rfd, "home/weXird/y"));
        assert_int_equal(st.files, 1);
        assert_int_equal(rk_rm_path(f->rfd, "home/weXird", true, NULL, &st), 0);
        assert_true(exists(f->rfd, "home/weXird"));
        assert_false(exists(f->rfd, "home/weXird/y"));
        assert_int_equal(rk_rm_path(f->rfd, "/", false, NULL, &st), -EINVAL);
        assert_int_equal(rk_rm_path(f->rfd, "home/..", false, NULL, &st), -EINVAL);
}

#if RK_FAULT_INJECTION
/* Killed after the N-th unlink (a power cut), then run again: the tree
 * ends exactly as one uninterrupted run leaves it. */
static void test_fault_kill_and_rerun(void **state) {
        struct fx *f = *state;
        char *protect[] = { "data/keep/journal", NULL };
        for (int n = 1; n <= 8; n += 2) {
                for (int i = 0; i < 8; i++) {
                        char p[64];
                        snprintf(p, sizeof p, "data/a%d/b/c%d", i % 3, i);
                        mkfile(f->rfd, p, "c");
                }
                mkfile(f->rfd, "data/keep/journal", "j");
                mkfile(f->rfd, "other", "o");
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        char v[32];
                        snprintf(v, sizeof v, "rm:unlink:%d", n);
                        setenv("RESETKIT_FAULT", v, 1);
                        struct rk_rm_stats st;
                        struct rk_rm_opts o = { .protect = protect };
                        rk_rm_entry(f->rfd, RK_MF_REMOVE, "/data", 0, &o, &st);
                        _exit(0);
                }
                int status;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                struct rk_rm_stats st;
                assert_int_equal(rm(f, RK_MF_REMOVE, "/data", 0, protect, false, &st), 0);
                _cleanup_free_ char *l = listing(f->rfd);
                assert_string_equal(l, "/data 40755 0\n/data/keep 40755 0\n/data/keep/journal 100644 1\n/other 100644 1\n");
        }
}
#endif

/* SPEC §3 Safety: a wildcard never carries a removal into another mount.
 * A match that is a mount point (a bind mount of a directory outside the
 * root, a tmpfs) or a path through one is skipped, while the same mount
 * named literally is emptied. */
static void test_wildcards_never_cross_mounts(void **state) {
        struct fx *f = *state;
        make_outside(f);
        mkfile(f->rfd, "home/alice/.ssh/id_ed25519", "a");
        mkdirs(f->rfd, "home/nfsuser");
        mkdirs(f->rfd, "var/crash/usb");
        mkfile(f->rfd, "var/crash/core.1", "c");
        mkfile(f->ofd, "dir/.ssh/id_ed25519", "outside");
        _cleanup_free_ char *dir = outside_path(f, "dir");
        if (!try_mount(f, dir, "home/nfsuser", NULL, MS_BIND, NULL)) {
                skip();
                return;
        }
        assert_true(try_mount(f, "rk-test", "var/crash/usb", "tmpfs", 0, "size=1m"));
        mkfile(f->rfd, "var/crash/usb/on-tmpfs", "t");

        char **v = NULL;
        assert_int_equal(expand(f, "/home/*/.ssh", &v), 0);
        assert_int_equal(rk_strv_length(v), 1);
        assert_string_equal(v[0], "home/alice/.ssh");
        rk_strv_free(v);
        assert_int_equal(expand(f, "/var/crash/*", &v), 0);
        assert_int_equal(rk_strv_length(v), 1);
        assert_string_equal(v[0], "var/crash/core.1");
        rk_strv_free(v);
        /* literal: the mount itself, and a path through it, are matches */
        assert_int_equal(expand(f, "/home/nfsuser/.ssh", &v), 0);
        assert_int_equal(rk_strv_length(v), 1);
        rk_strv_free(v);

        struct rk_rm_stats st;
        assert_int_equal(rm(f, RK_MF_REMOVE, "/home/*/.ssh", 0, NULL, false, &st), 0);
        assert_int_equal(st.skipped_mounts, 1);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/var/crash/*", 0, NULL, false, &st), 0);
        assert_int_equal(st.skipped_mounts, 1);
        assert_int_equal(rm(f, RK_MF_REMOVE, "/home/nfs*/.ssh/*", 0, NULL, false, &st), 0);
        assert_int_equal(st.skipped_mounts, 1);
        assert_int_equal(st.files, 0);
        assert_true(exists(f->ofd, "dir/.ssh/id_ed25519"));
        assert_outside_intact(f);
        assert_true(exists(f->rfd, "var/crash/usb/on-tmpfs"));
        assert_false(exists(f->rfd, "home/alice/.ssh"));
        assert_false(exists(f->rfd, "var/crash/core.1"));

        /* named literally: what the entry asked for */
        assert_int_equal(rm(f, RK_MF_EMPTY, "/var/crash/usb", 0, NULL, false, &st), 0);
        assert_false(exists(f->rfd, "var/crash/usb/on-tmpfs"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_remove_tree_counts_idempotent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlinks_inside_tree_to_outside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_as_path_component, setup, teardown),
                cmocka_unit_test_setup_teardown(test_glob_never_dot_dotdot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dotfiles_and_glob_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keep_newest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_protected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mounts_inside_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wildcards_never_cross_mounts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_race_swap_dir_for_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deep_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rm_path_literal, setup, teardown),
#if RK_FAULT_INJECTION
                cmocka_unit_test_setup_teardown(test_fault_kill_and_rerun, setup, teardown),
#endif
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
