/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the factory-reset manifest parser (manifest.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "manifest.h"
#include "util.h"

static void test_every_action(void **state) {
        struct rk_manifest m = {};
        char err[512] = "";
        const char *text =
                "# the SSR manifest\n"
                "\n"
                "exec - /bin/systemctl stop  influxdb.service   # not a comment\n"
                "remove /var/lib/128technology/t128-running.json\n"
                "  empty\t/var/log/128technology/  \n"
                "keep-newest /var/lib/128technology/factory-default*.xml 1\n"
                "delete-users -\n"
                "delete-users - 2000\n"
                "reset-password root $6$salt$hash\n"
                "reset-password admin @/usr/lib/resetkit/factory-passwords//admin\n"
                "factory-config -\n"
                "zero-partition inactive\n"
                "zero-free-space /\n"
                "zero-free-space /var/\n"
                "remove /home/*/.ssh\n";
        assert_int_equal(rk_manifest_parse_string(&m, text, "ssr.conf", err, sizeof err), 0);
        assert_int_equal(m.n, 13);

        assert_int_equal(m.entries[0].action, RK_MF_EXEC);
        assert_string_equal(m.entries[0].path, "-");
        assert_string_equal(m.entries[0].arg, "/bin/systemctl stop  influxdb.service   # not a comment");
        assert_string_equal(m.entries[0].file, "ssr.conf");
        assert_int_equal(m.entries[0].line, 3);

        assert_int_equal(m.entries[1].action, RK_MF_REMOVE);
        assert_string_equal(m.entries[1].path, "/var/lib/128technology/t128-running.json");
        assert_null(m.entries[1].arg);

        assert_int_equal(m.entries[2].action, RK_MF_EMPTY);
        assert_string_equal(m.entries[2].path, "/var/log/128technology");
        assert_int_equal(m.entries[2].line, 5);

        assert_int_equal(m.entries[3].action, RK_MF_KEEP_NEWEST);
        assert_string_equal(m.entries[3].path, "/var/lib/128technology/factory-default*.xml");
        assert_int_equal(m.entries[3].number, 1);

        assert_int_equal(m.entries[4].action, RK_MF_DELETE_USERS);
        assert_int_equal(m.entries[4].number, 1000);
        assert_null(m.entries[4].arg);
        assert_int_equal(m.entries[5].number, 2000);

        assert_int_equal(m.entries[6].action, RK_MF_RESET_PASSWORD);
        assert_string_equal(m.entries[6].path, "root");
        assert_string_equal(m.entries[6].arg, "$6$salt$hash");
        assert_string_equal(m.entries[7].arg, "@/usr/lib/resetkit/factory-passwords/admin");

        assert_int_equal(m.entries[8].action, RK_MF_FACTORY_CONFIG);
        assert_int_equal(m.entries[9].action, RK_MF_ZERO_PARTITION);
        assert_string_equal(m.entries[9].path, "inactive");
        assert_int_equal(m.entries[10].action, RK_MF_ZERO_FREE_SPACE);
        assert_string_equal(m.entries[10].path, "/");
        assert_string_equal(m.entries[11].path, "/var");
        assert_string_equal(m.entries[12].path, "/home/*/.ssh");
        assert_int_equal(m.entries[12].line, 15);
        rk_manifest_free(&m);
        assert_int_equal(m.n, 0);
        assert_null(m.entries);
}

static void test_action_names(void **state) {
        for (int a = 0; a < _RK_MF_ACTION_MAX; a++) {
                const char *n = rk_mf_action_name(a);
                assert_non_null(n);
                assert_int_equal(rk_mf_action_from_name(n), a);
        }
        assert_null(rk_mf_action_name(_RK_MF_ACTION_MAX));
        assert_int_equal(rk_mf_action_from_name("Remove"), -EINVAL);
        assert_true(rk_mf_action_removes(RK_MF_KEEP_NEWEST));
        assert_false(rk_mf_action_removes(RK_MF_EXEC));
}

/* Every malformed line: -EINVAL, "FILE:LINE: what", and the manifest as
 * it was before the call. */
static void test_malformed(void **state) {
        static const struct {
                const char *line, *what;
        } bad[] = {
                { "frobnicate /x", "unknown action 'frobnicate'" },
                { "REMOVE /x", "unknown action 'REMOVE'" },
                { "remove", "remove: missing path" },
                { "remove var/log", "not absolute" },
                { "remove /var/log extra", "unexpected argument 'extra'" },
                { "remove /var/log a b", "unexpected extra argument 'b'" },
                { "remove /var/../etc", "'..' component" },
                { "remove /var/log/..", "'..' component" },
                { "remove /var/./log", "'.' component" },
                { "remove /", "whole root" },
                { "remove ///", "whole root" },
                { "empty /*", "every top-level directory" },
                { "remove /?*/x", "every top-level directory" },
                { "keep-newest /var/x*", "missing count" },
                { "keep-newest /var/x* abc", "'abc' is not a number" },
                { "keep-newest /var/x* -1", "'-1' is not a number" },
                { "keep-newest /var/x* 99999999999", "out of range" },
                { "keep-newest /var/x* 0", "use 'remove'" },
                { "keep-newest /var/x* 1 2", "unexpected extra argument" },
                { "exec", "exec: missing path" },
                { "exec /bin/true", "path must be '-'" },
                { "exec -", "missing command" },
                { "delete-users /home", "path must be '-'" },
                { "delete-users - 1k", "'1k' is not a number" },
                { "delete-users - 0", "would delete root" },
                { "delete-users - 1000 2000", "unexpected extra argument" },
                { "reset-password root", "missing hash" },
                { "reset-password ro:ot $6$x", "invalid user name" },
                { "reset-password -root $6$x", "invalid user name" },
                { "reset-password - $6$x", "invalid user name" },
                { "reset-password root hunter2", "not a crypt(3) hash" },
                { "reset-password root $6$a:b", "not a crypt(3) hash" },
                { "reset-password root @relative/file", "not absolute" },
                { "reset-password root @/a/../etc/shadow", "'..' component" },
                { "reset-password root @/", "is a directory" },
                { "factory-config", "missing path" },
                { "factory-config /x", "path must be '-'" },
                { "factory-config - now", "unexpected argument" },
                { "zero-partition active", "only 'inactive'" },
                { "zero-partition inactive now", "unexpected argument" },
                { "zero-free-space", "missing path" },
                { "zero-free-space var", "not absolute" },
                { "zero-free-space /mnt/*", "not a glob" },
                { "zero-free-space / /var", "unexpected argument" },
                { "zero-free-space /a/../b", "'..' component" },
                { "remove /var/log\r", "control character 0x0d" },
                { "remove /var/\033[31mlog", "control character 0x1b" },
                { "remove /var/log\x7f", "control character 0x7f" },
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(bad); i++) {
                struct rk_manifest m = {};
                char err[512] = "", text[512], expect[64];
                /* two good lines first, a comment, then the bad one on line 4 */
                snprintf(text, sizeof text, "remove /a\n# c\nremove /b\n%s\nremove /c\n", bad[i].line);
                assert_int_equal(rk_manifest_parse_string(&m, "remove /keep\n", "first.conf", err, sizeof err), 0);
                int r = rk_manifest_parse_string(&m, text, "/etc/resetkit/factory-reset.d/x.conf", err, sizeof err);
                if (r != -EINVAL || !strstr(err, bad[i].what))
                        fail_msg("line '%s': r=%d err='%s', expected '%s'", bad[i].line, r, err, bad[i].what);
                snprintf(expect, sizeof expect, "/etc/resetkit/factory-reset.d/x.conf:4: ");
                if (!rk_startswith(err, expect))
                        fail_msg("line '%s': err '%s' does not start with '%s'", bad[i].line, err, expect);
                /* nothing of the failed text was kept */
                assert_int_equal(m.n, 1);
                assert_string_equal(m.entries[0].path, "/keep");
                rk_manifest_free(&m);
        }
}

static void test_comments_blank_whitespace(void **state) {
        struct rk_manifest m = {};
        char err[256] = "";
        assert_int_equal(rk_manifest_parse_string(&m, "", "e.conf", err, sizeof err), 0);
        assert_int_equal(m.n, 0);
        assert_int_equal(rk_manifest_parse_string(&m, "\n\n   \n\t\n# x\n   # y\nremove\t\t/x  \n", "e.conf", err, sizeof err), 0);
        assert_int_equal(m.n, 1);
        assert_int_equal(m.entries[0].line, 7);
        /* no final newline */
        assert_int_equal(rk_manifest_parse_string(&m, "remove /y", "f.conf", err, sizeof err), 0);
        assert_int_equal(m.n, 2);
        assert_string_equal(m.entries[1].file, "f.conf");
        assert_int_equal(m.entries[1].line, 1);
        rk_manifest_free(&m);
}

/* ---- loading from a root ---------------------------------------------- */

static char *make_root(void) {
        char tmpl[] = "/tmp/rk-test-manifest-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        return strdup(tmpl);
}

static void write_file(int root_fd, const char *rel, const char *text) {
        _cleanup_free_ char *dir = strdup(rel);
        *strrchr(dir, '/') = 0;
        _cleanup_close_ int dfd = rk_mkdir_p_at(root_fd, dir, 0755);
        assert_true(dfd >= 0);
        assert_int_equal(rk_write_atomic_at(dfd, strrchr(rel, '/') + 1, text, strlen(text), 0644), 0);
}

static void rm_root(const char *path) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf --one-file-system '%s'", path);
        assert_int_equal(system(cmd), 0);
}

static void test_load_override_order_mask(void **state) {
        _cleanup_free_ char *root = make_root();
        _cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rfd >= 0);

        struct rk_manifest m = {};
        char err[512] = "";
        /* no directories at all: fine, nothing */
        assert_int_equal(rk_manifest_load(&m, rfd, err, sizeof err), 0);
        assert_int_equal(m.n, 0);

        write_file(rfd, "usr/lib/resetkit/factory-reset.d/50-b.conf", "remove /vendor-b\n");
        write_file(rfd, "usr/lib/resetkit/factory-reset.d/10-a.conf", "remove /vendor-a\nremove /vendor-a2\n");
        write_file(rfd, "usr/lib/resetkit/factory-reset.d/70-c.conf", "remove /vendor-c\n");
        write_file(rfd, "usr/lib/resetkit/factory-reset.d/README", "not a drop-in\n");
        write_file(rfd, "usr/lib/resetkit/factory-reset.d/.hidden.conf", "bogus line\n");
        write_file(rfd, "etc/resetkit/factory-reset.d/50-b.conf", "remove /admin-b\n");
        write_file(rfd, "etc/resetkit/factory-reset.d/60-d.conf", "remove /admin-d\n");
        write_file(rfd, "etc/resetkit/factory-reset.d/05-z.conf", "# only a comment\n");
        assert_int_equal(symlinkat("/dev/null", rfd, "etc/resetkit/factory-reset.d/70-c.conf"), 0);

        assert_int_equal(rk_manifest_load(&m, rfd, err, sizeof err), 0);
        assert_int_equal(m.n, 4);
        assert_string_equal(m.entries[0].path, "/vendor-a");
        assert_string_equal(m.entries[0].file, "/usr/lib/resetkit/factory-reset.d/10-a.conf");
        assert_int_equal(m.entries[0].line, 1);
        assert_string_equal(m.entries[1].path, "/vendor-a2");
        assert_int_equal(m.entries[1].line, 2);
        assert_string_equal(m.entries[2].path, "/admin-b");
        assert_string_equal(m.entries[2].file, "/etc/resetkit/factory-reset.d/50-b.conf");
        assert_string_equal(m.entries[3].path, "/admin-d");
        rk_manifest_free(&m);

        /* a bad line in any file: the error names it, and nothing is added */
        write_file(rfd, "etc/resetkit/factory-reset.d/65-bad.conf", "remove /ok\n\nremove relative\n");
        struct rk_manifest m2 = {};
        assert_int_equal(rk_manifest_parse_string(&m2, "remove /before\n", "x", err, sizeof err), 0);
        assert_int_equal(rk_manifest_load(&m2, rfd, err, sizeof err), -EINVAL);
        assert_string_equal(err, "/etc/resetkit/factory-reset.d/65-bad.conf:3: path 'relative' is not absolute");
        assert_int_equal(m2.n, 1);
        rk_manifest_free(&m2);
        assert_int_equal(unlinkat(rfd, "etc/resetkit/factory-reset.d/65-bad.conf", 0), 0);

        /* a NUL byte would hide the rest of the file from the parser */
        _cleanup_close_ int dfd = openat(rfd, "etc/resetkit/factory-reset.d", O_RDONLY | O_DIRECTORY);
        assert_int_equal(rk_write_atomic_at(dfd, "66-nul.conf", "remove /a\0remove /b\n", 20, 0644), 0);
        assert_int_equal(rk_manifest_load(&m2, rfd, err, sizeof err), -EINVAL);
        assert_string_equal(err, "/etc/resetkit/factory-reset.d/66-nul.conf: contains a NUL byte");
        assert_int_equal(m2.n, 0);
        assert_int_equal(unlinkat(dfd, "66-nul.conf", 0), 0);

        /* a directory named *.conf is an error, not silently skipped */
        assert_int_equal(mkdirat(dfd, "67-dir.conf", 0755), 0);
        assert_true(rk_manifest_load(&m2, rfd, err, sizeof err) < 0);
        assert_non_null(strstr(err, "/etc/resetkit/factory-reset.d/67-dir.conf: "));
        assert_int_equal(m2.n, 0);
        rk_manifest_free(&m2);
        rm_root(root);
}

/* The drop-in directories are found inside the root even through the
 * image's own absolute symlinks, and never outside it. */
static void test_load_rooted_symlink(void **state) {
        _cleanup_free_ char *root = make_root();
        _cleanup_free_ char *outside = make_root();
        _cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int ofd = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        write_file(ofd, "etc/resetkit/factory-reset.d/evil.conf", "remove /outside\n");
        write_file(rfd, "real/factory-reset.d/ok.conf", "remove /inside\n");
        _cleanup_close_ int efd = rk_mkdir_p_at(rfd, "etc/resetkit", 0755);
        /* absolute: resolved against the root, not the host */
        assert_int_equal(symlinkat("/real/factory-reset.d", efd, "factory-reset.d"), 0);
        /* the vendor dir pointing at the outside tree by a relative climb */
        _cleanup_close_ int ufd = rk_mkdir_p_at(rfd, "usr/lib/resetkit", 0755);
        _cleanup_free_ char *target = NULL;
        assert_true(asprintf(&target, "../../../../../../../..%s/etc/resetkit/factory-reset.d", outside) > 0);
        assert_int_equal(symlinkat(target, ufd, "factory-reset.d"), 0);

        struct rk_manifest m = {};
        char err[512] = "";
        assert_int_equal(rk_manifest_load(&m, rfd, err, sizeof err), 0);
        assert_int_equal(m.n, 1);
        assert_string_equal(m.entries[0].path, "/inside");
        rk_manifest_free(&m);
        rm_root(root);
        rm_root(outside);
}

static const struct rk_mf_entry *find(const struct rk_manifest *m, enum rk_mf_action a, const char *path) {
        for (size_t i = 0; i < m->n; i++)
                if (m->entries[i].action == a && (!path || rk_streq(m->entries[i].path, path)))
                        return &m->entries[i];
        return NULL;
}

/* The shipped SSR manifest parses and covers every item SPEC 3 names. */
static void test_shipped_ssr_conf(void **state) {
        _cleanup_free_ char *text = NULL;
        assert_int_equal(rk_read_at(AT_FDCWD, RK_TEST_SRCDIR "/../data/factory-reset.d/ssr.conf", 0, 1 << 20, &text, NULL), 0);
        struct rk_manifest m = {};
        char err[512] = "";
        if (rk_manifest_parse_string(&m, text, "ssr.conf", err, sizeof err) < 0)
                fail_msg("%s", err);

        static const char *const removed[] = {
                "/var/lib/128technology/t128-running.json", "/var/lib/128technology/user-running.json",
                "/etc/128technology/global.init", "/etc/128technology/local.init",
                "/etc/128technology/salt/pki", "/etc/128technology/config-exports",
                "/etc/ssh/ssh_host_*", "/root/.ssh", "/home/*/.ssh", "/etc/ipsec.secrets",
                "/etc/pam_radius_auth.conf", "/etc/tacplus_servers",
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(removed); i++)
                if (!find(&m, RK_MF_REMOVE, removed[i]))
                        fail_msg("ssr.conf does not remove %s", removed[i]);
        static const char *const emptied[] = { "/var/lib/influxdb", "/var/log/128technology", "/var/log", "/etc/ipsec.d" };
        for (size_t i = 0; i < RK_ELEMENTSOF(emptied); i++)
                if (!find(&m, RK_MF_EMPTY, emptied[i]))
                        fail_msg("ssr.conf does not empty %s", emptied[i]);

        const struct rk_mf_entry *e = find(&m, RK_MF_KEEP_NEWEST, NULL);
        assert_non_null(e);
        assert_non_null(strstr(e->path, "factory-default"));
        assert_int_equal(e->number, 1);
        e = find(&m, RK_MF_DELETE_USERS, NULL);
        assert_non_null(e);
        assert_int_equal(e->number, 1000);
        const struct rk_mf_entry *root = find(&m, RK_MF_RESET_PASSWORD, "root");
        const struct rk_mf_entry *t128 = find(&m, RK_MF_RESET_PASSWORD, "t128");
        const struct rk_mf_entry *admin = find(&m, RK_MF_RESET_PASSWORD, "admin");
        assert_true(root && t128 && admin);
        assert_string_equal(root->arg, t128->arg);      /* root and t128 share one */
        assert_string_not_equal(root->arg, admin->arg); /* admin has its own */
        assert_non_null(find(&m, RK_MF_FACTORY_CONFIG, NULL));
        assert_non_null(find(&m, RK_MF_ZERO_PARTITION, "inactive"));
        assert_non_null(find(&m, RK_MF_ZERO_FREE_SPACE, "/"));
        assert_non_null(find(&m, RK_MF_EXEC, NULL));

        /* the hash files it names are shipped and hold a hash */
        const struct rk_mf_entry *pw[] = { root, admin };
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *p = NULL, *h = NULL;
                assert_non_null(rk_startswith(pw[i]->arg, "@/usr/lib/resetkit/factory-passwords/"));
                assert_true(asprintf(&p, "%s/../data/factory-passwords/%s", RK_TEST_SRCDIR, strrchr(pw[i]->arg, '/') + 1) > 0);
                assert_int_equal(rk_read_at(AT_FDCWD, p, 0, 4096, &h, NULL), 0);
                assert_non_null(rk_startswith(h, "$6$"));
        }
        rk_manifest_free(&m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_action),
                cmocka_unit_test(test_action_names),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_comments_blank_whitespace),
                cmocka_unit_test(test_load_override_order_mask),
                cmocka_unit_test(test_load_rooted_symlink),
                cmocka_unit_test(test_shipped_ssr_conf),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
