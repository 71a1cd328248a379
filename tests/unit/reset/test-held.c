/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The held-open scan against real processes: a child keeps a deleted file
 * open in the test's own temporary directory. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "held.h"
#include "rktest.h"
#include "util.h"

struct fx {
        char dir[64];
        pid_t child;
        dev_t dev;
        int proc_fd;
};

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof *f);
        strcpy(f->dir, "/tmp/rk-held-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        struct stat st;
        assert_int_equal(stat(f->dir, &st), 0);
        f->dev = st.st_dev;
        f->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->proc_fd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        if (f->child > 0) {
                kill(f->child, SIGKILL);
                waitpid(f->child, NULL, 0);
        }
        close(f->proc_fd);
        rkt_rm_rf(f->dir);
        free(f);
        return 0;
}

/* A child that opens `name` (bytes long), unlinks it when `unlink_it`,
 * and waits to be killed; returns once it has. */
static pid_t holder(struct fx *f, const char *name, size_t bytes, bool unlink_it) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", f->dir, name);
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || ftruncate(fd, (off_t) bytes) < 0 || (unlink_it && unlink(path) < 0))
                        _exit(1);
                (void) !write(p[1], "x", 1);
                for (;;)
                        pause();
        }
        char c;
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

static void test_names_a_deleted_file_held_by_another_process(void **state) {
        struct fx *f = *state;
        f->child = holder(f, "journal.log", 123456, true);
        struct rk_held_list l = {};
        assert_int_equal(rk_held_scan(f->proc_fd, f->dev, &l), 0);
        size_t found = 0;
        for (size_t i = 0; i < l.n; i++) {
                if (l.files[i].pid != f->child)
                        continue;
                found++;
                char want[128];
                snprintf(want, sizeof want, "%s/journal.log", f->dir);
                assert_string_equal(l.files[i].path, want);
                assert_int_equal(l.files[i].size, 123456);
                assert_string_equal(l.files[i].comm, "test-held");
                assert_true(l.files[i].fd >= 3);
        }
        assert_int_equal(found, 1);
        rk_held_list_done(&l);

        /* another filesystem's deleted files are not this one's */
        assert_int_equal(rk_held_scan(f->proc_fd, f->dev + 1, &l), 0);
        for (size_t i = 0; i < l.n; i++)
                assert_int_not_equal(l.files[i].pid, f->child);
        rk_held_list_done(&l);
}

static void test_files_with_a_name_and_own_files_are_not_listed(void **state) {
        struct fx *f = *state;
        f->child = holder(f, "still-named", 10, false);
        /* this process's own deleted file: the engine never counts itself */
        char path[128];
        snprintf(path, sizeof path, "%s/mine", f->dir);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(unlink(path), 0);
        struct rk_held_list l = {};
        assert_int_equal(rk_held_scan(f->proc_fd, f->dev, &l), 0);
        for (size_t i = 0; i < l.n; i++) {
                assert_int_not_equal(l.files[i].pid, f->child);
                assert_int_not_equal(l.files[i].pid, getpid());
        }
        rk_held_list_done(&l);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_names_a_deleted_file_held_by_another_process, setup, teardown),
                cmocka_unit_test_setup_teardown(test_files_with_a_name_and_own_files_are_not_listed, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
