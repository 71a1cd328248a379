/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "fault.h"
#include "util.h"

static int m(const char *spec, const char *name, unsigned hit) {
        bool bad;
        int r = rk_fault_spec_match(spec, name, hit, &bad);
        assert_true(!bad || r == -EINVAL);
        return bad ? 1 : r;
}

static void test_selects_one_passage(void **state) {
        assert_int_equal(m("rm:unlink", "rm:unlink", 1), -EIO);
        assert_int_equal(m("rm:unlink", "rm:unlink", 2), 0);
        assert_int_equal(m("rm:unlink:3", "rm:unlink", 2), 0);
        assert_int_equal(m("rm:unlink:3", "rm:unlink", 3), -EIO);
        assert_int_equal(m("rm:unlink:3", "rm:unlink", 4), 0);
}

static void test_onward_and_errno(void **state) {
        assert_int_equal(m("zero:chunk:2+=ENOSPC", "zero:chunk", 1), 0);
        assert_int_equal(m("zero:chunk:2+=ENOSPC", "zero:chunk", 2), -ENOSPC);
        assert_int_equal(m("zero:chunk:2+=ENOSPC", "zero:chunk", 9), -ENOSPC);
        assert_int_equal(m("x=EACCES", "x", 1), -EACCES);
        assert_int_equal(m("x=28", "x", 1), -28);
}

static void test_other_names_never_match(void **state) {
        /* a prefix of another point is not that point */
        assert_int_equal(m("rm:unlink", "rm:unlinkat", 1), 0);
        assert_int_equal(m("rm:unlinkat", "rm:unlink", 1), 0);
        assert_int_equal(m("store:index-written", "store:index", 1), 0);
}

static void test_malformed(void **state) {
        assert_int_equal(m("x:", "x", 1), 1);
        assert_int_equal(m("x:0", "x", 1), 1);
        assert_int_equal(m("x:2-", "x", 2), 1);
        assert_int_equal(m("x=EWHAT", "x", 1), 1);
        assert_int_equal(m("x=", "x", 1), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_selects_one_passage),
                cmocka_unit_test(test_onward_and_errno),
                cmocka_unit_test(test_other_names_never_match),
                cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
