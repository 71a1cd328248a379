/* SPDX-License-Identifier: GPL-2.0-or-later */
/* open.c — the table of button sources: [button] source's type picks the
 * backend.  Kept apart from button.c (what every backend shares) so the
 * arrows point one way: open.c -> backends -> button.c. */
#include "button.h"

int rk_button_open(const struct rk_button_spec *spec, const struct rk_button_opts *opts,
                   struct rk_log *log, struct rk_button **ret, char *err, size_t errlen) {
        switch (spec->type) {
        case RK_BUTTON_EVDEV:
                return rk_button_evdev_open(spec->path, opts, log, ret, err, errlen);
        case RK_BUTTON_GPIO:
                return rk_button_gpio_open(spec->path, spec->line, opts, log, ret, err, errlen);
        case RK_BUTTON_FIFO:
                return rk_button_fifo_open(spec->path, log, ret, err, errlen);
        }
        snprintf(err, errlen, "unknown button source type %d", (int) spec->type);
        return -EINVAL;
}
