/* SPDX-License-Identifier: GPL-2.0-or-later */
/* devspec.h — the device strings of resetd.conf, parsed without I/O:
 *   [button] source = evdev:PATH | gpio:CHIP:LINE | fifo:PATH
 *   [led]    device = none | file:PATH | mono:DIR | rgb:R,G,B | multicolor:DIR */
#pragma once

#include <stddef.h>

enum rk_button_type {
        RK_BUTTON_EVDEV,
        RK_BUTTON_GPIO,
        RK_BUTTON_FIFO,
};

struct rk_button_spec {
        enum rk_button_type type;
        char *path;     /* evdev/fifo path; GPIO chip path or name */
        char *line;     /* GPIO line: offset (digits) or name */
};

enum rk_led_type {
        RK_LED_NONE,
        RK_LED_FILE,
        RK_LED_MONO,
        RK_LED_RGB,
        RK_LED_MULTICOLOR,
};

struct rk_led_spec {
        enum rk_led_type type;
        char *paths[3];
        size_t n_paths;
};

/* 0, or -EINVAL with *why a static explanation */
int rk_button_spec_parse(const char *s, struct rk_button_spec *ret, const char **why);
void rk_button_spec_done(struct rk_button_spec *s);
int rk_led_spec_parse(const char *s, struct rk_led_spec *ret, const char **why);
void rk_led_spec_done(struct rk_led_spec *s);
const char *rk_button_type_name(enum rk_button_type t);
const char *rk_led_type_name(enum rk_led_type t);
