/* SPDX-License-Identifier: GPL-2.0-or-later */
/* open.c — the table of LED sinks: [led] device's type picks the backend.
 * Kept apart from led.c (the patterns and what every sink shares) so the
 * arrows point one way: open.c -> sinks -> led.c. */
#include "led.h"

int rk_led_open(const struct rk_led_spec *spec, struct rk_log *log, uint64_t start_ns, struct rk_led **ret) {
        char err[512] = "";
        struct rk_led *l = NULL;
        int r = 0;

        switch (spec->type) {
        case RK_LED_NONE:
                break;
        case RK_LED_FILE:
                r = rk_led_file_open(spec->paths[0], log, &l, err, sizeof err);
                break;
        case RK_LED_MONO:
        case RK_LED_RGB:
        case RK_LED_MULTICOLOR:
                r = rk_led_sysfs_open(spec, log, &l, err, sizeof err);
                break;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                /* logged once, here: the LED stays dark, the button works */
                rk_warn(log, "%s; LED feedback disabled", err);
        if (!l) {
                l = calloc(1, sizeof *l);
                if (!l || rk_led_init_base(l, NULL, log, "none") < 0) {
                        free(l);
                        return -ENOMEM;
                }
        }
        l->start_ns = start_ns;
        *ret = l;
        return 0;
}
