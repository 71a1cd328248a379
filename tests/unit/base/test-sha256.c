/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 through the lazily loaded libcrypto: FIPS 180-2 test vectors, a
 * buffer larger than one block, and the hex validator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <string.h>

#include "rk-build-config.h"
#include "sha256.h"

static void hex_of(const char *s, size_t len, const char *want) {
        char out[RK_SHA256_HEX_LEN + 1];
        assert_int_equal(rk_sha256_hex(s, len, out), 0);
        assert_string_equal(out, want);
}

static void test_vectors(void **state) {
        hex_of("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        hex_of("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        hex_of(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a(void **state) {
        static char a[1000000];
        memset(a, 'a', sizeof a);
        hex_of(a, sizeof a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* loaded once and kept (RTLD_NODELETE): a second hash finds it mapped */
static void test_library_stays_loaded(void **state) {
        char out[RK_SHA256_HEX_LEN + 1];
        assert_int_equal(rk_sha256_hex("x", 1, out), 0);
        void *dl = dlopen(RK_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_NOLOAD);
        assert_non_null(dl);
        dlclose(dl);
}

static void test_valid(void **state) {
        assert_true(rk_sha256_hex_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert_false(rk_sha256_hex_valid("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
        assert_false(rk_sha256_hex_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
        assert_false(rk_sha256_hex_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"));
        assert_false(rk_sha256_hex_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag"));
        assert_false(rk_sha256_hex_valid(""));
        assert_false(rk_sha256_hex_valid(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors),
                cmocka_unit_test(test_million_a),
                cmocka_unit_test(test_library_stays_loaded),
                cmocka_unit_test(test_valid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
