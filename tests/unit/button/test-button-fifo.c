/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fifo: button source: line parsing, garbage, partial and overlong lines,
 * writers coming and going, wrong file types; and the pure helpers of the
 * other sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "button.h"
#include "util.h"

struct fixture {
        char dir[64], fifo[128];
        struct rk_log log;
        struct rk_button *b;
        int w;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        char err[256];
        snprintf(f->dir, sizeof f->dir, "/tmp/test-fifo-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->fifo, sizeof f->fifo, "%s/button", f->dir);
        assert_int_equal(mkfifo(f->fifo, 0600), 0);
        rk_log_init(&f->log, "test-button-fifo");
        assert_int_equal(rk_button_fifo_open(f->fifo, &f->log, &f->b, err, sizeof err), 0);
        f->w = open(f->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(f->w >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        rk_closep(&f->w);
        rk_button_free(f->b);
        unlink(f->fifo);
        rmdir(f->dir);
        free(f);
        return 0;
}

static void say(struct fixture *f, const char *s) {
        assert_int_equal(write(f->w, s, strlen(s)), (ssize_t) strlen(s));
}

static void test_parse_line(void **state) {
        bool down = false;
        assert_int_equal(rk_fifo_parse_line("down", 4, &down), 1);
        assert_true(down);
        assert_int_equal(rk_fifo_parse_line("up", 2, &down), 1);
        assert_false(down);
        assert_int_equal(rk_fifo_parse_line("  down\r", 7, &down), 1);
        assert_true(down);
        assert_int_equal(rk_fifo_parse_line("\tup ", 4, &down), 1);
        assert_false(down);
        assert_int_equal(rk_fifo_parse_line("", 0, &down), 0);
        assert_int_equal(rk_fifo_parse_line("   ", 3, &down), 0);
        assert_int_equal(rk_fifo_parse_line("DOWN", 4, &down), -EINVAL);
        assert_int_equal(rk_fifo_parse_line("downup", 6, &down), -EINVAL);
        assert_int_equal(rk_fifo_parse_line("down 5", 6, &down), -EINVAL);
        assert_int_equal(rk_fifo_parse_line("u\0p", 3, &down), -EINVAL);
}

static void test_escape(void **state) {
        char out[16];
        rk_escape_for_log("a\x1b[2Jb\\", 7, out, sizeof out);
        assert_string_equal(out, "a\\x1b[2Jb\\x5c");
        rk_escape_for_log("0123456789abcdefghij", 20, out, sizeof out);
        assert_string_equal(out, "0123456789ab...");
        assert_true(strlen(out) < sizeof out);
}

static void test_gpio_offset(void **state) {
        unsigned o = 99;
        assert_int_equal(rk_gpio_parse_offset("17", &o), 1);
        assert_int_equal(o, 17);
        assert_int_equal(rk_gpio_parse_offset("RESET_BTN", &o), 0);
        assert_int_equal(rk_gpio_parse_offset("gpio17", &o), 0);
        assert_int_equal(rk_gpio_parse_offset("", &o), -EINVAL);
        assert_int_equal(rk_gpio_parse_offset("99999999999", &o), -EINVAL);
}

static void test_transient(void **state) {
        assert_true(rk_button_error_is_transient(-ENOENT));
        assert_true(rk_button_error_is_transient(-ENODEV));
        assert_true(rk_button_error_is_transient(-EBUSY));
        assert_false(rk_button_error_is_transient(-ENOTTY));
        assert_false(rk_button_error_is_transient(-EMEDIUMTYPE));
}

static void test_lines(void **state) {
        struct fixture *f = *state;
        struct rk_button_event ev[8];
        assert_false(f->b->down);
        /* nothing written: nothing read, no blocking */
        assert_int_equal(rk_button_read(f->b, ev, 8), 0);
        uint64_t before = rk_now_ns();
        say(f, "down\nup\n");
        assert_int_equal(rk_button_read(f->b, ev, 8), 2);
        assert_true(ev[0].down);
        assert_false(ev[1].down);
        assert_false(ev[0].resync);
        /* stamped on arrival, on the monotonic clock */
        assert_true(ev[0].ts_ns >= before && ev[0].ts_ns <= rk_now_ns());
}

static void test_partial_line(void **state) {
        struct fixture *f = *state;
        struct rk_button_event ev[8];
        say(f, "do");
        assert_int_equal(rk_button_read(f->b, ev, 8), 0);
        say(f, "wn\r\nu");
        assert_int_equal(rk_button_read(f->b, ev, 8), 1);
        assert_true(ev[0].down);
        say(f, "p\n");
        assert_int_equal(rk_button_read(f->b, ev, 8), 1);
        assert_false(ev[0].down);
}

static void test_garbage_is_skipped(void **state) {
        struct fixture *f = *state;
        struct rk_button_event ev[8];
        say(f, "hello\n\n\x01\x02\ndown\nrm -rf /\nup\n");
        assert_int_equal(rk_button_read(f->b, ev, 8), 2);
        assert_true(ev[0].down);
        assert_false(ev[1].down);
}

static void test_overlong_line(void **state) {
        struct fixture *f = *state;
        struct rk_button_event ev[8];
        char big[1000];
        memset(big, 'x', sizeof big);
        /* a line far longer than any command, ending in "down": not a press */
        assert_int_equal(write(f->w, big, sizeof big), (ssize_t) sizeof big);
        say(f, "down\nup\n");
        assert_int_equal(rk_button_read(f->b, ev, 8), 1);
        assert_false(ev[0].down);
}

static void test_small_buffer_keeps_the_rest(void **state) {
        struct fixture *f = *state;
        struct rk_button_event ev[2];
        say(f, "down\nup\ndown\nup\ndown\n");
        /* a full return means "call again"; nothing is lost */
        assert_int_equal(rk_button_read(f->b, ev, 2), 2);
        assert_int_equal(rk_button_read(f->b, ev, 2), 2);
        assert_int_equal(rk_button_read(f->b, ev, 2), 1);
        assert_true(ev[0].down);
        assert_int_equal(rk_button_read(f->b, ev, 2), 0);
}

static void test_writer_goes_away(void **state) {
        struct fixture *f = *state;
        struct rk_button_event ev[8];
        say(f, "down\n");
        rk_closep(&f->w);
        f->w = -1;
        assert_int_equal(rk_button_read(f->b, ev, 8), 1);
        /* no EOF: we hold a write end ourselves, so the fd is not readable */
        assert_int_equal(rk_button_read(f->b, ev, 8), 0);
        f->w = open(f->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(f->w >= 0);
        say(f, "up\n");
        assert_int_equal(rk_button_read(f->b, ev, 8), 1);
        assert_false(ev[0].down);
}

static void test_wrong_files(void **state) {
        struct fixture *f = *state;
        struct rk_button *b = NULL;
        struct rk_button_spec spec;
        struct rk_button_opts opts = { .key_code = 0x198 };
        char err[256], path[128], src[160];
        const char *why;

        snprintf(path, sizeof path, "%s/missing", f->dir);
        assert_int_equal(rk_button_fifo_open(path, &f->log, &b, err, sizeof err), -ENOENT);
        assert_non_null(strstr(err, "cannot open"));
        assert_non_null(strstr(err, path));

        snprintf(path, sizeof path, "%s/regular", f->dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(rk_button_fifo_open(path, &f->log, &b, err, sizeof err), -ENOTTY);
        assert_non_null(strstr(err, "not a named pipe"));

        /* an evdev path that is a regular file, or a FIFO: a clear error */
        snprintf(src, sizeof src, "evdev:%s", path);
        assert_int_equal(rk_button_spec_parse(src, &spec, &why), 0);
        assert_int_equal(rk_button_open(&spec, &opts, &f->log, &b, err, sizeof err), -ENOTTY);
        assert_non_null(strstr(err, "not an input event device (it is a regular file)"));
        rk_button_spec_done(&spec);
        snprintf(src, sizeof src, "evdev:%s", f->fifo);
        assert_int_equal(rk_button_spec_parse(src, &spec, &why), 0);
        assert_int_equal(rk_button_open(&spec, &opts, &f->log, &b, err, sizeof err), -ENOTTY);
        assert_non_null(strstr(err, "a named pipe"));
        rk_button_spec_done(&spec);
        /* /dev/null is a character device but not an input device */
        assert_int_equal(rk_button_spec_parse("evdev:/dev/null", &spec, &why), 0);
        assert_int_equal(rk_button_open(&spec, &opts, &f->log, &b, err, sizeof err), -ENOTTY);
        assert_non_null(strstr(err, "not an input event device"));
        rk_button_spec_done(&spec);
        /* a GPIO chip path that is not one */
        assert_int_equal(rk_button_spec_parse("gpio:/dev/null:3", &spec, &why), 0);
        assert_int_equal(rk_button_open(&spec, &opts, &f->log, &b, err, sizeof err), -ENOTTY);
        rk_button_spec_done(&spec);
        snprintf(src, sizeof src, "gpio:%s:3", path);
        assert_int_equal(rk_button_spec_parse(src, &spec, &why), 0);
        assert_int_equal(rk_button_open(&spec, &opts, &f->log, &b, err, sizeof err), -ENOTTY);
        assert_non_null(strstr(err, "not a GPIO character device"));
        rk_button_spec_done(&spec);
        unlink(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_line),
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_gpio_offset),
                cmocka_unit_test(test_transient),
                cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_partial_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage_is_skipped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_overlong_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_small_buffer_keeps_the_rest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_writer_goes_away, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_files, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
