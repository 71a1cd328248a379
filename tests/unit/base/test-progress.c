/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the progress bar (progress.c): formatting, rate and ETA,
 * redraw throttling, and silence when not on a terminal.  Time is passed
 * in; output goes to a pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>

#include "progress.h"
#include "util.h"

#define MS (1000ULL * 1000)
#define S (1000 * MS)

static void test_format_bytes(void **state) {
        char b[32];
        rk_format_bytes(0, b, sizeof b);
        assert_string_equal(b, "0 B");
        rk_format_bytes(1023, b, sizeof b);
        assert_string_equal(b, "1023 B");
        rk_format_bytes(1536, b, sizeof b);
        assert_string_equal(b, "1.50 KiB");
        rk_format_bytes(200ULL << 20, b, sizeof b);
        assert_string_equal(b, "200 MiB");
        rk_format_bytes(3ULL << 30, b, sizeof b);
        assert_string_equal(b, "3.00 GiB");
}

static void test_format_line(void **state) {
        char line[256];
        /* half of 2 GiB at 100 MiB/s: 10 s left */
        rk_progress_format(line, sizeof line, "zero", 1ULL << 30, 2ULL << 30, 100.0 * (1 << 20), 10);
        assert_string_equal(line, "zero [#####-----]  50% 1.00 GiB / 2.00 GiB  100 MiB/s  ETA 0:10");
        /* unknown rate: no ETA */
        rk_progress_format(line, sizeof line, "fill", 0, 1000, 0, 4);
        assert_string_equal(line, "fill [----]   0% 0 B / 1000 B  -  ETA --:--");
        /* done beyond total (a fill that found more than statvfs said) */
        rk_progress_format(line, sizeof line, "fill", 2000, 1000, 1000, 4);
        assert_string_equal(line, "fill [####] 100% 1.95 KiB / 1.95 KiB  1000 B/s  ETA 0:00");
        /* hours */
        rk_progress_format(line, sizeof line, "z", 0, 7200ULL << 20, 1 << 20, 2);
        assert_non_null(strstr(line, "ETA 2h00m"));
}

static size_t drain(int fd, char *buf, size_t len) {
        ssize_t n = read(fd, buf, len - 1);
        buf[n > 0 ? n : 0] = 0;
        return n > 0 ? (size_t) n : 0;
}

static void test_throttle_rate_and_tty(void **state) {
        int p[2];
        assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
        char out[1024];
        struct rk_progress pr;
        rk_progress_start(&pr, p[1], true, "zero", 0, 1000ULL << 20, 10 * S);
        assert_true(rk_progress_update(&pr, 10 << 20, 0, 10 * S + 1 * MS));    /* first draw */
        assert_false(rk_progress_update(&pr, 20 << 20, 0, 10 * S + 50 * MS));  /* < 100 ms */
        assert_true(rk_progress_update(&pr, 100ULL << 20, 0, 11 * S));
        assert_true(drain(p[0], out, sizeof out) > 0);
        assert_non_null(strstr(out, "\r"));
        assert_non_null(strstr(out, "100 MiB/s"));      /* 100 MiB in 1 s */
        assert_non_null(strstr(out, "ETA 0:09"));
        /* the end is always drawn */
        assert_true(rk_progress_update(&pr, 1000ULL << 20, 0, 11 * S + 10 * MS));
        rk_progress_end(&pr, 11 * S + 20 * MS);
        drain(p[0], out, sizeof out);
        assert_non_null(strstr(out, "100%"));
        assert_non_null(strstr(out, "\n"));

        /* a resume: the rate counts only this run's bytes */
        rk_progress_start(&pr, p[1], true, "zero", 500ULL << 20, 1000ULL << 20, 0);
        rk_progress_update(&pr, 600ULL << 20, 0, 2 * S);
        assert_true(rk_progress_rate(&pr, 2 * S) > 49.0 * (1 << 20));
        assert_true(rk_progress_rate(&pr, 2 * S) < 51.0 * (1 << 20));
        drain(p[0], out, sizeof out);

        /* not a terminal: nothing at all */
        rk_progress_start(&pr, p[1], false, "zero", 0, 100, 0);
        assert_false(rk_progress_update(&pr, 50, 0, S));
        rk_progress_end(&pr, 2 * S);
        assert_int_equal(drain(p[0], out, sizeof out), 0);
        close(p[0]);
        close(p[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_format_line),
                cmocka_unit_test(test_throttle_rate_and_tty),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
