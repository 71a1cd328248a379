/* SPDX-License-Identifier: GPL-2.0-or-later */
/* LED sinks on a fake LED class tree (plain files named like the sysfs
 * attributes), the file: trace, software steps and the give-back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "led.h"
#include "util.h"

#define MS 1000000ULL
#define T0 (5000 * MS)

struct fixture {
        char dir[64];
        struct rk_log log;
};

static void put(const char *dir, const char *name, const char *value) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(rk_write_all(fd, value, strlen(value)), 0);
        close(fd);
}

static char *get(const char *dir, const char *name) {
        static char buf[4][256];
        static int i;
        char p[512];
        char *b = buf[i++ % 4];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        ssize_t n = read(fd, b, 255);
        close(fd);
        assert_true(n >= 0);
        while (n > 0 && b[n - 1] == '\n')
                n--;
        b[n] = 0;
        return b;
}

/* One LED class directory as the kernel shows it. */
static void fake_led(const char *dir, const char *triggers, const char *brightness, const char *max) {
        assert_int_equal(mkdir(dir, 0755), 0);
        put(dir, "trigger", triggers);
        put(dir, "brightness", brightness);
        put(dir, "max_brightness", max);
        /* the kernel adds a trigger's attributes when the trigger is set;
         * a plain file tree has them from the start (we never create
         * files in an LED directory) */
        if (strstr(triggers, "timer")) {
                put(dir, "delay_on", "500");
                put(dir, "delay_off", "500");
        }
        if (strstr(triggers, "pattern")) {
                put(dir, "pattern", "");
                put(dir, "repeat", "-1");
        }
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        snprintf(f->dir, sizeof f->dir, "/tmp/test-led-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        rk_log_init(&f->log, "test-led");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static struct rk_led *open_spec(struct fixture *f, const char *spec_text) {
        struct rk_led_spec spec;
        const char *why;
        struct rk_led *l;
        assert_int_equal(rk_led_spec_parse(spec_text, &spec, &why), 0);
        assert_int_equal(rk_led_open(&spec, &f->log, T0, &l), 0);
        rk_led_spec_done(&spec);
        return l;
}

static void test_level_at(void **state) {
        uint64_t next;
        /* blink: on for the first half, off for the second */
        assert_int_equal(rk_led_level_at(RK_LED_PAT_BLINK, 1000, 0, &next), 255);
        assert_int_equal(next, 500 * MS);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_BLINK, 1000, 499 * MS, &next), 255);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_BLINK, 1000, 500 * MS, &next), 0);
        assert_int_equal(next, 1000 * MS);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_BLINK, 250, 1125 * MS, &next), 0);
        assert_int_equal(next, 1250 * MS);
        /* fades: steps of at most 20 ms (50 Hz, above the 25 Hz floor), exact end */
        assert_int_equal(rk_led_level_at(RK_LED_PAT_FADE_IN, 1000, 0, &next), 0);
        assert_int_equal(next, 20 * MS);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_FADE_IN, 1000, 500 * MS, &next), 127);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_FADE_IN, 1000, 990 * MS, &next), 252);
        assert_int_equal(next, 1000 * MS);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_FADE_IN, 1000, 1000 * MS, &next), 255);
        assert_int_equal(next, UINT64_MAX);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_FADE_OUT, 1000, 0, &next), 255);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_FADE_OUT, 1000, 2000 * MS, &next), 0);
        assert_int_equal(rk_led_level_at(RK_LED_PAT_SOLID, 1000, 0, &next), 255);
        assert_int_equal(next, UINT64_MAX);
}

static void test_file_trace(void **state) {
        struct fixture *f = *state;
        char spec[128], path[96];
        snprintf(path, sizeof path, "%s/led.trace", f->dir);
        snprintf(spec, sizeof spec, "file:%s", path);
        struct rk_led *l = open_spec(f, spec);
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        assert_int_equal(rk_led_show(l, RK_LED_PAT_SOLID, RK_RGB_GREEN, 0, 0, T0 + 1000 * MS), 0);
        assert_int_equal(rk_led_show(l, RK_LED_PAT_BLINK, RK_RGB_AMBER, 1000, 0, T0 + 5000 * MS), 0);
        /* the trace animates itself: no software steps, no wake-ups */
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        assert_int_equal(rk_led_show(l, RK_LED_PAT_FADE_OUT, RK_RGB_WHITE, 2000, 0, T0 + 6000 * MS), 0);
        assert_int_equal(rk_led_release(l, T0 + 7500 * MS), 0);
        /* a finite pattern ends by itself */
        assert_int_equal(rk_led_show(l, RK_LED_PAT_BLINK, RK_RGB_RED, 400, 3, T0 + 8000 * MS), 0);
        assert_int_equal(rk_led_deadline(l), T0 + 9200 * MS);
        rk_led_advance(l, T0 + 9199 * MS);
        assert_true(rk_led_is_showing(l));
        rk_led_advance(l, T0 + 9200 * MS);
        assert_false(rk_led_is_showing(l));
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        rk_led_free(l);

        _cleanup_free_ char *text = NULL;
        assert_int_equal(rk_read_at(AT_FDCWD, path, 0, 4096, &text, NULL), 0);
        assert_string_equal(text,
                            "1000 solid 0,255,0\n"
                            "5000 blink 255,160,0 1000\n"
                            "6000 fade-out 255,255,255 2000\n"
                            "7500 off 0,0,0\n"
                            "8000 blink 255,0,0 400\n"
                            "9200 off 0,0,0\n");
}

static void test_missing_led_is_none(void **state) {
        struct fixture *f = *state;
        char spec[128];
        snprintf(spec, sizeof spec, "mono:%s/no-such-led", f->dir);
        struct rk_led *l = open_spec(f, spec);
        /* works, shows nothing, never wakes anybody */
        assert_int_equal(rk_led_show(l, RK_LED_PAT_BLINK, RK_RGB_RED, 250, 0, T0), 0);
        assert_false(rk_led_is_showing(l));
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        assert_int_equal(rk_led_release(l, T0), 0);
        rk_led_free(l);
        /* a file: in a missing directory too */
        snprintf(spec, sizeof spec, "file:%s/no/such/dir/trace", f->dir);
        l = open_spec(f, spec);
        assert_int_equal(rk_led_show(l, RK_LED_PAT_SOLID, RK_RGB_GREEN, 0, 0, T0), 0);
        rk_led_free(l);
}

static void test_not_an_led_class_dir(void **state) {
        struct fixture *f = *state;
        char dir[128], spec[160];
        /* a directory without max_brightness is not an LED: refused, as none */
        snprintf(dir, sizeof dir, "%s/plain", f->dir);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(spec, sizeof spec, "mono:%s", dir);
        struct rk_led *l = open_spec(f, spec);
        assert_null(l->ops);
        rk_led_free(l);
}

static void test_mono_timer_and_restore(void **state) {
        struct fixture *f = *state;
        char dir[128], spec[160];
        snprintf(dir, sizeof dir, "%s/status", f->dir);
        /* owned by the heartbeat trigger; no pattern trigger in this kernel */
        fake_led(dir, "none timer [heartbeat] default-on", "1", "1");
        snprintf(spec, sizeof spec, "mono:%s", dir);
        struct rk_led *l = open_spec(f, spec);

        /* solid: trigger dropped, any colour is "on" */
        assert_int_equal(rk_led_show(l, RK_LED_PAT_SOLID, RK_RGB_GREEN, 0, 0, T0), 0);
        assert_string_equal(get(dir, "trigger"), "none");
        assert_string_equal(get(dir, "brightness"), "1");
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        /* blink through the timer trigger: the kernel does the blinking */
        assert_int_equal(rk_led_show(l, RK_LED_PAT_BLINK, RK_RGB_RED, 250, 0, T0 + 100 * MS), 0);
        assert_string_equal(get(dir, "trigger"), "timer");
        assert_string_equal(get(dir, "delay_on"), "125");
        assert_string_equal(get(dir, "delay_off"), "125");
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        /* given back: brightness, then the trigger itself */
        assert_int_equal(rk_led_release(l, T0 + 200 * MS), 0);
        assert_string_equal(get(dir, "trigger"), "heartbeat");
        assert_string_equal(get(dir, "brightness"), "1");
        rk_led_free(l);
}

static void test_mono_saves_timer_settings(void **state) {
        struct fixture *f = *state;
        char dir[128], spec[160];
        snprintf(dir, sizeof dir, "%s/blinky", f->dir);
        /* the owner blinks it with its own timer settings */
        fake_led(dir, "none [timer] pattern", "255", "255");
        /* the owner blinks it with its own timer settings */
        put(dir, "delay_on", "70");
        put(dir, "delay_off", "930");
        snprintf(spec, sizeof spec, "mono:%s", dir);
        struct rk_led *l = open_spec(f, spec);
        assert_int_equal(rk_led_show(l, RK_LED_PAT_BLINK, RK_RGB_AMBER, 1000, 0, T0), 0);
        /* pattern trigger preferred: on 500 ms, off 500 ms, forever */
        assert_string_equal(get(dir, "trigger"), "pattern");
        assert_string_equal(get(dir, "pattern"), "255 500 255 0 0 500 0 0");
        assert_string_equal(get(dir, "repeat"), "-1");
        assert_int_equal(rk_led_release(l, T0 + 100 * MS), 0);
        assert_string_equal(get(dir, "trigger"), "timer");
        assert_string_equal(get(dir, "brightness"), "255");
        assert_string_equal(get(dir, "delay_on"), "70");
        assert_string_equal(get(dir, "delay_off"), "930");
        rk_led_free(l);
}

static void test_rgb_software_steps(void **state) {
        struct fixture *f = *state;
        char r[128], g[128], b[128], spec[512];
        snprintf(r, sizeof r, "%s/r", f->dir);
        snprintf(g, sizeof g, "%s/g", f->dir);
        snprintf(b, sizeof b, "%s/b", f->dir);
        /* no timer, no pattern trigger: software steps */
        fake_led(r, "[none] default-on", "0", "100");
        fake_led(g, "[none] default-on", "7", "100");
        fake_led(b, "none [default-on]", "100", "100");
        snprintf(spec, sizeof spec, "rgb:%s,%s,%s", r, g, b);
        struct rk_led *l = open_spec(f, spec);

        assert_int_equal(rk_led_show(l, RK_LED_PAT_BLINK, RK_RGB_AMBER, 1000, 0, T0), 0);
        assert_string_equal(get(r, "brightness"), "100");
        assert_string_equal(get(g, "brightness"), "63");       /* 160/255 of 100 */
        assert_string_equal(get(b, "brightness"), "0");
        assert_string_equal(get(b, "trigger"), "none");
        /* the loop must wake at the half period */
        assert_int_equal(rk_led_deadline(l), T0 + 500 * MS);
        rk_led_advance(l, T0 + 499 * MS);
        assert_string_equal(get(r, "brightness"), "100");
        rk_led_advance(l, T0 + 500 * MS);
        assert_string_equal(get(r, "brightness"), "0");
        assert_string_equal(get(g, "brightness"), "0");
        assert_int_equal(rk_led_deadline(l), T0 + 1000 * MS);
        /* a fade steps at 50 Hz */
        assert_int_equal(rk_led_show(l, RK_LED_PAT_FADE_IN, RK_RGB_RED, 1000, 0, T0 + 2000 * MS), 0);
        assert_int_equal(rk_led_deadline(l), T0 + 2020 * MS);
        rk_led_advance(l, T0 + 2500 * MS);
        assert_string_equal(get(r, "brightness"), "50");
        assert_int_equal(rk_led_deadline(l), T0 + 2520 * MS);
        rk_led_advance(l, T0 + 3000 * MS);
        assert_string_equal(get(r, "brightness"), "100");
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        /* every channel back as found, default-on trigger included */
        assert_int_equal(rk_led_release(l, T0 + 3100 * MS), 0);
        assert_string_equal(get(r, "brightness"), "0");
        assert_string_equal(get(g, "brightness"), "7");
        assert_string_equal(get(b, "brightness"), "100");
        assert_string_equal(get(r, "trigger"), "none");
        assert_string_equal(get(b, "trigger"), "default-on");
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        rk_led_free(l);
}

static void test_multicolor(void **state) {
        struct fixture *f = *state;
        char dir[128], spec[160];
        snprintf(dir, sizeof dir, "%s/multi", f->dir);
        fake_led(dir, "[none] timer pattern", "40", "255");
        /* the kernel's order, not ours */
        put(dir, "multi_index", "green blue red");
        put(dir, "multi_intensity", "1 2 3");
        snprintf(spec, sizeof spec, "multicolor:%s", dir);
        struct rk_led *l = open_spec(f, spec);

        assert_int_equal(rk_led_show(l, RK_LED_PAT_SOLID, RK_RGB_AMBER, 0, 0, T0), 0);
        assert_string_equal(get(dir, "multi_intensity"), "160 0 255");
        assert_string_equal(get(dir, "brightness"), "255");
        assert_int_equal(rk_led_show(l, RK_LED_PAT_BLINK, RK_RGB_RED, 250, 0, T0 + 10 * MS), 0);
        assert_string_equal(get(dir, "multi_intensity"), "0 0 255");
        assert_string_equal(get(dir, "trigger"), "pattern");
        assert_string_equal(get(dir, "pattern"), "255 125 255 0 0 125 0 0");
        assert_int_equal(rk_led_show(l, RK_LED_PAT_FADE_OUT, RK_RGB_WHITE, 2000, 0, T0 + 20 * MS), 0);
        assert_string_equal(get(dir, "pattern"), "255 2000 0 0");
        assert_string_equal(get(dir, "repeat"), "1");
        assert_int_equal(rk_led_deadline(l), UINT64_MAX);
        /* back: intensities, brightness, trigger */
        assert_int_equal(rk_led_release(l, T0 + 30 * MS), 0);
        assert_string_equal(get(dir, "multi_intensity"), "1 2 3");
        assert_string_equal(get(dir, "brightness"), "40");
        assert_string_equal(get(dir, "trigger"), "none");
        rk_led_free(l);
}

static void test_multicolor_without_index(void **state) {
        struct fixture *f = *state;
        char dir[128], spec[160];
        snprintf(dir, sizeof dir, "%s/notmulti", f->dir);
        fake_led(dir, "[none]", "0", "255");
        snprintf(spec, sizeof spec, "multicolor:%s", dir);
        struct rk_led *l = open_spec(f, spec);
        assert_null(l->ops);    /* refused and logged: none */
        rk_led_free(l);
}

static void test_free_gives_back(void **state) {
        struct fixture *f = *state;
        char dir[128], spec[160];
        snprintf(dir, sizeof dir, "%s/shut", f->dir);
        fake_led(dir, "none [netdev]", "3", "5");
        snprintf(spec, sizeof spec, "mono:%s", dir);
        struct rk_led *l = open_spec(f, spec);
        assert_int_equal(rk_led_show(l, RK_LED_PAT_SOLID, RK_RGB_RED, 0, 0, T0), 0);
        assert_string_equal(get(dir, "brightness"), "5");
        rk_led_free(l);         /* resetd stopping mid-feedback */
        assert_string_equal(get(dir, "trigger"), "netdev");
        assert_string_equal(get(dir, "brightness"), "3");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_level_at),
                cmocka_unit_test_setup_teardown(test_file_trace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_led_is_none, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_an_led_class_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mono_timer_and_restore, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mono_saves_timer_settings, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rgb_software_steps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multicolor, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multicolor_without_index, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_gives_back, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
