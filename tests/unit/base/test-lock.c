/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of lock.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lock.h"

struct fx { char dir[64]; int fd; };

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof *f);
        strcpy(f->dir, "/tmp/rk-test-lock.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->fd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        unlinkat(f->fd, "lock", 0);
        unlinkat(f->fd, "link", 0);
        close(f->fd);
        rmdir(f->dir);
        free(f);
        return 0;
}

static void test_exclusive_names_holder(void **state) {
        struct fx *f = *state;
        pid_t holder = -1;
        int a = rk_lock_take(f->fd, "lock", LOCK_EX, 0, &holder);
        assert_true(a >= 0);
        assert_int_equal(rk_lock_take(f->fd, "lock", LOCK_EX, 0, &holder), -EWOULDBLOCK);
        assert_int_equal(holder, getpid());
        uint64_t t0 = rk_now_ms();
        assert_int_equal(rk_lock_take(f->fd, "lock", LOCK_SH, 150, &holder), -EBUSY);
        assert_true(rk_now_ms() - t0 >= 150);
        rk_lock_release(a);
        /* released: the pid is gone with it */
        struct stat st;
        assert_int_equal(fstatat(f->fd, "lock", &st, 0), 0);
        assert_int_equal(st.st_size, 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        int b = rk_lock_take(f->fd, "lock", LOCK_EX, 0, NULL);
        assert_true(b >= 0);
        rk_lock_release(b);
}

static void test_shared(void **state) {
        struct fx *f = *state;
        int a = rk_lock_take(f->fd, "lock", LOCK_SH, 0, NULL);
        int b = rk_lock_take(f->fd, "lock", LOCK_SH, 0, NULL);
        assert_true(a >= 0 && b >= 0);
        assert_int_equal(rk_lock_take(f->fd, "lock", LOCK_EX, 0, NULL), -EWOULDBLOCK);
        rk_lock_release(a);
        rk_lock_release(b);
}

static void test_waits_for_release(void **state) {
        struct fx *f = *state;
        int a = rk_lock_take(f->fd, "lock", LOCK_EX, 0, NULL);
        assert_true(a >= 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                /* the child inherits a; dropping our copy is not a release,
                 * the parent's unlock is */
                close(a);
                int b = rk_lock_take(f->fd, "lock", LOCK_EX, 5000, NULL);
                _exit(b >= 0 ? 0 : 1);
        }
        usleep(200 * 1000);
        rk_lock_release(a);
        int st;
        assert_int_equal(waitpid(child, &st, 0), child);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_refuses_symlink(void **state) {
        struct fx *f = *state;
        assert_int_equal(symlinkat("/tmp", f->fd, "link"), 0);
        assert_int_equal(rk_lock_take(f->fd, "link", LOCK_EX, 0, NULL), -ELOOP);
        assert_int_equal(rk_lock_take(f->fd, "lock", 0, 0, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_exclusive_names_holder, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shared, setup, teardown),
                cmocka_unit_test_setup_teardown(test_waits_for_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_symlink, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
