/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the resetd.conf parser (conf.c) and device strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/input.h>

#include "conf.h"
#include "util.h"

static int parse(struct rk_config *c, const char *text, char *err, size_t errlen) {
        assert_int_equal(rk_config_init(c), 0);
        int r = rk_config_parse_string(c, text, "test.conf", err, errlen);
        if (r == 0)
                r = rk_config_validate(c, "test.conf", err, errlen);
        return r;
}

static void test_empty_gives_defaults(void **state) {
        struct rk_config c;
        char err[512] = "";
        assert_int_equal(parse(&c, "", err, sizeof err), 0);
        assert_string_equal(c.button_source, "evdev:/dev/input/by-path/platform-gpio-keys-event");
        assert_int_equal(c.button.type, RK_BUTTON_EVDEV);
        assert_int_equal(c.key_code, KEY_RESTART);
        assert_false(c.active_low);
        assert_int_equal(c.debounce_ms, 30);
        assert_int_equal(c.reboot_ms, 1000);
        assert_int_equal(c.rescue_ms, 5000);
        assert_int_equal(c.factory_ms, 16000);
        assert_int_equal(c.cancel_ms, 31000);
        assert_int_equal(c.led.type, RK_LED_NONE);
        assert_null(c.reboot_command);
        assert_string_equal(c.store_dir, "/var/lib/resetkit/config");
        assert_string_equal(c.factory_config, "/usr/lib/resetkit/factory-config.json");
        assert_int_equal(c.backups, 5);
        assert_int_equal(c.active, RK_SLOT_AUTO);
        assert_true(c.failsafe_enabled);
        assert_int_equal(c.hold_ms, 10000);
        assert_int_equal(c.release_timeout_ms, 30000);
        assert_int_equal(c.on_early_release, RK_EARLY_REBOOT);
        assert_string_equal(c.reset_log, "/tmp/factory-reset.log");
        assert_string_equal(c.final_log, "/var/log/resetkit/factory-reset.log");
        assert_true(c.expire_passwords);
        assert_int_equal(c.verify, RK_VERIFY_SAMPLE);
        assert_int_equal(c.reset_when, RK_RESET_AUTO);
        rk_config_free(&c);
}

static void test_full_file(void **state) {
        struct rk_config c;
        char err[512] = "";
        const char *text =
                "# comment\n"
                "[button]\nsource = gpio:/dev/gpiochip0:reset\nkey = 408\nactive-low = yes\ndebounce-ms = 50\n"
                "[timing]\nreboot-ms = 1s\nrescue-ms = 2500ms\nfactory-ms = 3.5s\ncancel-ms = 4000\n"
                "[led]\ndevice = rgb:/sys/class/leds/r,/sys/class/leds/g,/sys/class/leds/b\n"
                "[actions]\nreboot-command = /bin/echo reboot\napply-command = /usr/bin/apply --now\n"
                "[store]\ndir = /data/store\nbackups = 3\n"
                "[slots]\na = /dev/vda2\nb = /dev/vda3\nactive = b\ngrubenv = /boot/grub/grubenv\n"
                "a-grubenv-keys = slot_a_ok slot_a_try\n"
                "[failsafe]\nenabled = false\nhold-ms = 200\nrelease-timeout-ms = 300\non-early-release = continue\n"
                "[reset]\nkeep-users = alice, bob\nexpire-passwords = off\nverify = full\nwhen = at-boot\n";
        assert_int_equal(parse(&c, text, err, sizeof err), 0);
        assert_int_equal(c.button.type, RK_BUTTON_GPIO);
        assert_string_equal(c.button.path, "/dev/gpiochip0");
        assert_string_equal(c.button.line, "reset");
        assert_int_equal(c.key_code, 408);
        assert_true(c.active_low);
        assert_int_equal(c.debounce_ms, 50);
        assert_int_equal(c.reboot_ms, 1000);
        assert_int_equal(c.rescue_ms, 2500);
        assert_int_equal(c.factory_ms, 3500);
        assert_int_equal(c.cancel_ms, 4000);
        assert_int_equal(c.led.type, RK_LED_RGB);
        assert_int_equal(c.led.n_paths, 3);
        assert_string_equal(c.led.paths[2], "/sys/class/leds/b");
        assert_string_equal(c.reboot_command, "/bin/echo reboot");
        assert_string_equal(c.store_dir, "/data/store");
        assert_int_equal(c.backups, 3);
        assert_string_equal(c.slot[0].device, "/dev/vda2");
        assert_int_equal(c.active, RK_SLOT_B);
        assert_int_equal(rk_strv_length(c.slot[0].grubenv_keys), 2);
        assert_false(c.failsafe_enabled);
        assert_int_equal(c.on_early_release, RK_EARLY_CONTINUE);
        assert_int_equal(rk_strv_length(c.keep_users), 2);
        assert_true(rk_strv_contains(c.keep_users, "bob"));
        assert_false(c.expire_passwords);
        assert_int_equal(c.verify, RK_VERIFY_FULL);
        assert_int_equal(c.reset_when, RK_RESET_AT_BOOT);
        rk_config_free(&c);
}

/* Each bad line must be named by file and line number. */
static void expect_error(const char *text, const char *needle) {
        struct rk_config c;
        char err[512] = "";
        assert_int_equal(parse(&c, text, err, sizeof err), -EINVAL);
        if (!strstr(err, needle))
                fail_msg("error '%s' does not contain '%s'", err, needle);
        rk_config_free(&c);
}

static void test_errors_name_file_and_line(void **state) {
        expect_error("[button]\nbogus = 1\n", "test.conf:2: unknown key 'bogus' in [button]");
        expect_error("[nosuch]\nx = 1\n", "test.conf:2: unknown section [nosuch]");
        expect_error("x = 1\n", "test.conf:1: key 'x' outside of any section");
        expect_error("\n\n[timing]\nreboot-ms = soon\n", "test.conf:4: [timing] reboot-ms");
        expect_error("[timing]\nreboot-ms = -5\n", "test.conf:2:");
        expect_error("[timing]\nreboot-ms = 5h\n", "test.conf:2:");
        expect_error("[timing]\nreboot-ms = 1.5ms\n", "test.conf:2:");
        expect_error("[timing]\nreboot-ms = 99999999999999999999999\n", "test.conf:2:");
        expect_error("[store]\nbackups = many\n", "test.conf:2: [store] backups");
        expect_error("[store]\ndir = relative/path\n", "test.conf:2: [store] dir: expected an absolute path");
        expect_error("[button]\nactive-low = maybe\n", "test.conf:2: [button] active-low");
        expect_error("[button]\nsource = usb:/dev/x\n", "test.conf:2: [button] source: unknown button source");
        expect_error("[button]\nsource = evdev:relative\n", "test.conf:2: [button] source");
        expect_error("[button]\nsource = gpio:chip\n", "test.conf:2: [button] source: expected gpio:CHIP:LINE");
        expect_error("[button]\nsource = gpio::3\n", "test.conf:2:");
        expect_error("[button]\nkey = KEY_NOPE\n", "test.conf:2: [button] key: unknown key name");
        expect_error("[button]\nkey = 99999\n", "test.conf:2: [button] key");
        expect_error("[led]\ndevice = rgb:/a,/b\n", "test.conf:2: [led] device");
        expect_error("[led]\ndevice = rgb:/a,/b,/c,/d\n", "test.conf:2: [led] device");
        expect_error("[led]\ndevice = lamp:/x\n", "test.conf:2: [led] device: unknown LED device");
        expect_error("[slots]\nactive = c\n", "test.conf:2: [slots] active");
        expect_error("[reset]\nverify = some\n", "test.conf:2: [reset] verify");
        expect_error("[reset]\nwhen = later\n", "test.conf:2: [reset] when: expected auto, at-boot or now");
        expect_error("[failsafe]\non-early-release = panic\n", "test.conf:2: [failsafe] on-early-release");
        expect_error("[button\n", "test.conf:1:");
        expect_error("[button]\njust words\n", "test.conf:2:");
}

static void test_thresholds_out_of_order(void **state) {
        expect_error("[timing]\nrescue-ms = 500\n", "windows out of order");
        expect_error("[timing]\nfactory-ms = 40000\n", "windows out of order");
        expect_error("[timing]\ncancel-ms = 16000\n", "windows out of order");
        expect_error("[button]\ndebounce-ms = 1000\n", "debounce-ms");
        expect_error("[slots]\na = /dev/x\nb = /dev/x\n", "same device");
}

static void test_key_names(void **state) {
        struct rk_config c;
        char err[512];
        assert_int_equal(parse(&c, "[button]\nkey = KEY_POWER\n", err, sizeof err), 0);
        assert_int_equal(c.key_code, KEY_POWER);
        rk_config_free(&c);
        assert_int_equal(parse(&c, "[button]\nkey = BTN_0\n", err, sizeof err), 0);
        assert_int_equal(c.key_code, BTN_0);
        rk_config_free(&c);
}

static void test_led_specs(void **state) {
        struct rk_led_spec l;
        const char *why = NULL;
        assert_int_equal(rk_led_spec_parse("none", &l, &why), 0);
        assert_int_equal(l.type, RK_LED_NONE);
        assert_int_equal(rk_led_spec_parse("file:/tmp/led", &l, &why), 0);
        assert_int_equal(l.type, RK_LED_FILE);
        assert_string_equal(l.paths[0], "/tmp/led");
        rk_led_spec_done(&l);
        assert_int_equal(rk_led_spec_parse("multicolor:/sys/class/leds/status", &l, &why), 0);
        assert_int_equal(l.type, RK_LED_MULTICOLOR);
        rk_led_spec_done(&l);
        assert_int_equal(rk_led_spec_parse("mono:", &l, &why), -EINVAL);
        assert_int_equal(rk_led_spec_parse("file:/tmp/a\nb", &l, &why), -EINVAL);
}

static void test_duration_parser(void **state) {
        uint64_t v;
        assert_int_equal(rk_parse_duration_ms("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(rk_parse_duration_ms("1.25s", &v), 0);
        assert_int_equal(v, 1250);
        assert_int_equal(rk_parse_duration_ms("2min", &v), 0);
        assert_int_equal(v, 120000);
        assert_int_equal(rk_parse_duration_ms("", &v), -EINVAL);
        assert_int_equal(rk_parse_duration_ms("s", &v), -EINVAL);
        assert_int_equal(rk_parse_duration_ms("1.s", &v), -EINVAL);
        assert_int_equal(rk_parse_duration_ms(" 5", &v), -EINVAL);
        assert_int_equal(rk_parse_duration_ms("5 ", &v), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_gives_defaults),
                cmocka_unit_test(test_full_file),
                cmocka_unit_test(test_errors_name_file_and_line),
                cmocka_unit_test(test_thresholds_out_of_order),
                cmocka_unit_test(test_key_names),
                cmocka_unit_test(test_led_specs),
                cmocka_unit_test(test_duration_parser),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
