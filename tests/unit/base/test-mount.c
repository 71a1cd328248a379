/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mount primitive against real mounts: a tmpfs, a bind mount of a
 * directory outside the tree, a bind mount of a directory of the same
 * filesystem (same st_dev: the case a device-number check misses), and a
 * plain directory.  The mounts are made in a private mount namespace of
 * this test process, so they vanish with it and the host never sees them. */
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "mount.h"
#include "rktest.h"
#include "util.h"

struct tree {
        char dir[64];
        int fd;
};

static int setup(void **state) {
        struct tree *t = calloc(1, sizeof *t);
        strcpy(t->dir, "/tmp/rk-mount-XXXXXX");
        if (!t || !mkdtemp(t->dir))
                return -1;
        t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *state = t;
        return t->fd < 0 ? -1 : 0;
}

static int teardown(void **state) {
        struct tree *t = *state;
        const char *names[] = { "tmpfs", "outside-bind", "same-fs-bind" };
        for (size_t i = 0; i < RK_ELEMENTSOF(names); i++) {
                char p[128];
                snprintf(p, sizeof p, "%s/%s", t->dir, names[i]);
                (void) umount2(p, MNT_DETACH);
        }
        close(t->fd);
        rkt_rm_rf(t->dir);
        free(t);
        return 0;
}

/* The mounts, or a skip when this process may not make them. */
static bool make_mounts(struct tree *t, char *outside, size_t len) {
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return false;
        /* an fd opened before unshare() sees the old namespace's mounts */
        close(t->fd);
        t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(t->fd >= 0);
        const char *dirs[] = { "tmpfs", "outside-bind", "same-fs-bind", "plain", "source" };
        for (size_t i = 0; i < RK_ELEMENTSOF(dirs); i++)
                assert_int_equal(mkdirat(t->fd, dirs[i], 0755), 0);
        snprintf(outside, len, "/tmp/rk-mount-out-XXXXXX");
        assert_non_null(mkdtemp(outside));
        char p[128], s[128];
        snprintf(p, sizeof p, "%s/tmpfs", t->dir);
        assert_int_equal(mount("rk-test", p, "tmpfs", 0, "size=64k"), 0);
        snprintf(p, sizeof p, "%s/outside-bind", t->dir);
        assert_int_equal(mount(outside, p, NULL, MS_BIND, NULL), 0);
        snprintf(p, sizeof p, "%s/same-fs-bind", t->dir);
        snprintf(s, sizeof s, "%s/source", t->dir);
        assert_int_equal(mount(s, p, NULL, MS_BIND, NULL), 0);
        return true;
}

static void test_mount_roots_by_name(void **state) {
        struct tree *t = *state;
        char outside[64];
        if (!make_mounts(t, outside, sizeof outside))
                skip();
        assert_int_equal(rk_mount_root_at(t->fd, "tmpfs"), 1);
        assert_int_equal(rk_mount_root_at(t->fd, "outside-bind"), 1);
        assert_int_equal(rk_mount_root_at(t->fd, "same-fs-bind"), 1);
        assert_int_equal(rk_mount_root_at(t->fd, "plain"), 0);
        assert_int_equal(rk_mount_root_at(t->fd, "source"), 0);
        assert_int_equal(rk_mount_root_at(t->fd, "missing"), -ENOENT);

        /* the bind mount of the same filesystem has the same st_dev: only
         * the attribute or the mount id can tell */
        struct stat a, b;
        assert_int_equal(fstatat(t->fd, "same-fs-bind", &a, 0), 0);
        assert_int_equal(fstatat(t->fd, "plain", &b, 0), 0);
        assert_true(a.st_dev == b.st_dev);
        rmdir(outside);
}

static void test_mount_root_of_an_open_directory(void **state) {
        struct tree *t = *state;
        char outside[64];
        if (!make_mounts(t, outside, sizeof outside))
                skip();
        const char *yes[] = { "tmpfs", "outside-bind", "same-fs-bind" };
        for (size_t i = 0; i < RK_ELEMENTSOF(yes); i++) {
                int fd = openat(t->fd, yes[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(rk_mount_root_at(fd, NULL), 1);
                close(fd);
        }
        int fd = openat(t->fd, "plain", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(rk_mount_root_at(fd, NULL), 0);
        close(fd);
        rmdir(outside);
}

static void test_crosses_mount_compares_with_the_parent(void **state) {
        struct tree *t = *state;
        char outside[64];
        if (!make_mounts(t, outside, sizeof outside))
                skip();
        struct statx parent, sx;
        assert_int_equal(rk_statx_at(t->fd, NULL, RK_STATX_MOUNT, &parent), 0);
        const char *names[] = { "tmpfs", "outside-bind", "same-fs-bind", "plain" };
        const bool want[] = { true, true, true, false };
        for (size_t i = 0; i < RK_ELEMENTSOF(names); i++) {
                assert_int_equal(rk_statx_at(t->fd, names[i], RK_STATX_MOUNT, &sx), 0);
                assert_int_equal(rk_statx_crosses_mount(&sx, &parent), want[i]);
                /* without the attribute (older kernels) the mount id still
                 * tells, even for the same-filesystem bind */
                sx.stx_attributes_mask &= ~(uint64_t) STATX_ATTR_MOUNT_ROOT;
                assert_int_equal(rk_statx_crosses_mount(&sx, &parent), want[i]);
        }
        rmdir(outside);
}

static void test_never_follows_a_symlink(void **state) {
        struct tree *t = *state;
        char outside[64];
        if (!make_mounts(t, outside, sizeof outside))
                skip();
        /* a symlink to a mount point is not a mount point */
        assert_int_equal(symlinkat("tmpfs", t->fd, "link"), 0);
        assert_int_equal(rk_mount_root_at(t->fd, "link"), 0);
        rmdir(outside);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_mount_roots_by_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mount_root_of_an_open_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crosses_mount_compares_with_the_parent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_never_follows_a_symlink, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
