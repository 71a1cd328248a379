/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of nvme.c's pure part: the Identify data read as the NVMe base
 * specification lays it out, the choice of the secure erase (never one that
 * reaches another namespace, which may hold the active slot), and the Format
 * NVM command word that keeps the namespace's format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "nvme.h"

static void put16(uint8_t *p, uint32_t v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }

static void ctrl_id(uint8_t *id, uint16_t oacs, uint8_t fna, uint32_t nn) {
        memset(id, 0, RK_NVME_IDENTIFY_LEN);
        memcpy(id + 4, "SN-0042             ", 20);
        memcpy(id + 24, "QEMU NVMe Ctrl                          ", 40);
        put16(id + 256, oacs);
        put32(id + 516, nn);
        id[524] = fna;
}

static void test_parse_ctrl(void **state) {
        uint8_t id[RK_NVME_IDENTIFY_LEN];
        struct rk_nvme_ctrl c;
        ctrl_id(id, 0x0002, 0x04, 2);
        rk_nvme_parse_ctrl(id, &c);
        assert_true(c.format);
        assert_false(c.format_all_ns);
        assert_false(c.erase_all_ns);
        assert_true(c.crypto_erase);
        assert_int_equal(c.namespaces, 2);
        assert_string_equal(c.serial, "SN-0042");
        assert_string_equal(c.model, "QEMU NVMe Ctrl");
        ctrl_id(id, 0x0005, 0x03, 1);   /* no format bit; FNA 0,1 */
        id[30] = 0x07;                  /* a control byte in the model */
        rk_nvme_parse_ctrl(id, &c);
        assert_false(c.format);
        assert_true(c.format_all_ns && c.erase_all_ns && !c.crypto_erase);
        assert_string_equal(c.model, "QEMU N?Me Ctrl");
}

static void test_parse_ns(void **state) {
        uint8_t id[RK_NVME_IDENTIFY_LEN] = {};
        struct rk_nvme_ns ns;
        put32(id, 0x00200000);
        id[26] = 0x12 | (0x1 << 5);     /* LBAF 2 low, metadata extended, high bits 01 */
        id[29] = 0x09;                  /* PI type 1, in the first bytes */
        id[33] = 0x01;                  /* deallocated blocks read as zeros */
        rk_nvme_parse_ns(id, &ns);
        assert_int_equal(ns.blocks, 0x00200000);
        assert_int_equal(ns.lbaf, 0x12);
        assert_true(ns.mset);
        assert_int_equal(ns.pi, 1);
        assert_int_equal(ns.pil, 1);
        assert_true(ns.reads_zero);
        id[33] = 0x02;                  /* reads 0xff */
        rk_nvme_parse_ns(id, &ns);
        assert_false(ns.reads_zero);
}

static void test_choose_ses(void **state) {
        char why[192];
        struct rk_nvme_ctrl c = { .format = true, .namespaces = 2 };
        assert_int_equal(rk_nvme_choose_ses(&c, why, sizeof why), RK_NVME_SES_USER_DATA);
        c.crypto_erase = true;
        assert_int_equal(rk_nvme_choose_ses(&c, why, sizeof why), RK_NVME_SES_CRYPTO);
        assert_non_null(strstr(why, "cryptographic"));
        /* a format or an erase that reaches every namespace: never, when
         * there is more than one (the active slot may be the other) */
        c.erase_all_ns = true;
        assert_int_equal(rk_nvme_choose_ses(&c, why, sizeof why), RK_NVME_SES_NONE);
        assert_non_null(strstr(why, "all of its 2 namespaces"));
        c.erase_all_ns = false;
        c.format_all_ns = true;
        assert_int_equal(rk_nvme_choose_ses(&c, why, sizeof why), RK_NVME_SES_NONE);
        c.namespaces = 1;
        assert_int_equal(rk_nvme_choose_ses(&c, why, sizeof why), RK_NVME_SES_CRYPTO);
        c.format = false;
        assert_int_equal(rk_nvme_choose_ses(&c, why, sizeof why), RK_NVME_SES_NONE);
        assert_non_null(strstr(why, "no Format NVM"));
}

static void test_format_cdw10(void **state) {
        struct rk_nvme_ns ns = { .lbaf = 0, .mset = false, .pi = 0, .pil = 0 };
        assert_int_equal(rk_nvme_format_cdw10(&ns, RK_NVME_SES_USER_DATA), 1u << 9);
        assert_int_equal(rk_nvme_format_cdw10(&ns, RK_NVME_SES_CRYPTO), 2u << 9);
        ns = (struct rk_nvme_ns) { .lbaf = 0x12, .mset = true, .pi = 1, .pil = 1 };
        /* LBAF low 2, MSET, PI 1 at 5, PIL at 8, SES 1 at 9, LBAF high 1 at 12 */
        assert_int_equal(rk_nvme_format_cdw10(&ns, RK_NVME_SES_USER_DATA),
                         0x2u | 1u << 4 | 1u << 5 | 1u << 8 | 1u << 9 | 1u << 12);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ctrl),
                cmocka_unit_test(test_parse_ns),
                cmocka_unit_test(test_choose_ses),
                cmocka_unit_test(test_format_cdw10),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
