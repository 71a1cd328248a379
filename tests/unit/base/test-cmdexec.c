/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of cmdexec.c: running administrator command lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>

#include "cmdexec.h"
#include "fsutil.h"

static void test_exit_status(void **state) {
        int st = -1;
        assert_int_equal(rk_exec_command("true", NULL, NULL, &st), 0);
        assert_int_equal(st, 0);
        assert_int_equal(rk_exec_command("exit 3", NULL, NULL, &st), 0);
        assert_int_equal(st, 3);
        assert_int_equal(rk_exec_command("kill -TERM $$", NULL, NULL, &st), 0);
        assert_int_equal(st, 128 + SIGTERM);
        assert_int_equal(rk_exec_command("/nonexistent/cmd", NULL, NULL, &st), 0);
        assert_int_equal(st, 127);
        assert_int_equal(rk_exec_command("", NULL, NULL, &st), -EINVAL);
}

static void test_arguments_are_words(void **state) {
        char dir[] = "/tmp/rk-test-cmdexec.XXXXXX";
        assert_non_null(mkdtemp(dir));
        char out[64];
        snprintf(out, sizeof out, "%s/out", dir);
        /* spaces, quotes, globs and $ in an argument reach the command as one word */
        char *const args[] = { (char *) "a b", (char *) "'q\"$HOME*", NULL };
        char *cmd;
        assert_true(asprintf(&cmd, "printf '%%s|' > %s", out) > 0);
        int st = -1;
        assert_int_equal(rk_exec_command(cmd, args, NULL, &st), 0);
        assert_int_equal(st, 0);
        char *text = NULL;
        assert_int_equal(rk_read_at(AT_FDCWD, out, 0, 4096, &text, NULL), 0);
        assert_string_equal(text, "a b|'q\"$HOME*|");
        free(text);
        free(cmd);
        unlink(out);
        rmdir(dir);
}

static void test_output_is_logged_not_printed(void **state) {
        /* the command's stdout goes through the log (stderr here), never to
         * our stdout, which may carry --json */
        char dir[] = "/tmp/rk-test-cmdexec.XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[64];
        snprintf(path, sizeof path, "%s/log", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        struct rk_log log;
        rk_log_init(&log, "t");
        log.to_stderr = false;
        rk_log_set_file(&log, fd);
        int st;
        assert_int_equal(rk_exec_command("echo hello; echo world >&2; printf tail", NULL, &log, &st), 0);
        assert_int_equal(st, 0);
        rk_log_close(&log);
        char *text = NULL;
        assert_int_equal(rk_read_at(AT_FDCWD, path, 0, 4096, &text, NULL), 0);
        assert_non_null(strstr(text, "echo: hello\n"));
        assert_non_null(strstr(text, "echo: world\n"));
        assert_non_null(strstr(text, "echo: tail\n"));
        free(text);
        unlink(path);
        rmdir(dir);
}

static void test_timeout_and_background_child(void **state) {
        int st = -1;
        uint64_t t0 = rk_now_ms();
        assert_int_equal(rk_exec_command_timeout("sleep 10", NULL, NULL, 200, &st), -ETIME);
        assert_true(rk_now_ms() - t0 < 5000);
        /* a daemon left holding the output pipe does not keep us waiting */
        t0 = rk_now_ms();
        assert_int_equal(rk_exec_command_timeout("sleep 3 & exit 4", NULL, NULL, 0, &st), 0);
        assert_int_equal(st, 4);
        assert_true(rk_now_ms() - t0 < 2500);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_status),
                cmocka_unit_test(test_arguments_are_words),
                cmocka_unit_test(test_output_is_logged_not_printed),
                cmocka_unit_test(test_timeout_and_background_child),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
