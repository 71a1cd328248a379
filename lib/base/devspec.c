/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "devspec.h"

#include "util.h"

const char *rk_button_type_name(enum rk_button_type t) {
        switch (t) {
        case RK_BUTTON_EVDEV: return "evdev";
        case RK_BUTTON_GPIO: return "gpio";
        case RK_BUTTON_FIFO: return "fifo";
        }
        return "?";
}

const char *rk_led_type_name(enum rk_led_type t) {
        static const char *const n[] = { "none", "file", "mono", "rgb", "multicolor" };
        return (unsigned) t < RK_ELEMENTSOF(n) ? n[t] : "?";
}

void rk_button_spec_done(struct rk_button_spec *s) {
        free(s->path);
        free(s->line);
        s->path = s->line = NULL;
}

void rk_led_spec_done(struct rk_led_spec *s) {
        for (size_t i = 0; i < RK_ELEMENTSOF(s->paths); i++) {
                free(s->paths[i]);
                s->paths[i] = NULL;
        }
        s->n_paths = 0;
}

static bool path_ok(const char *p) {
        /* absolute, no control characters: these end up in log lines */
        if (!p || p[0] != '/')
                return false;
        for (; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int rk_button_spec_parse(const char *s, struct rk_button_spec *ret, const char **why) {
        const char *v;
        struct rk_button_spec b = {};
        if ((v = rk_startswith(s, "evdev:")) || (v = rk_startswith(s, "fifo:"))) {
                b.type = s[0] == 'e' ? RK_BUTTON_EVDEV : RK_BUTTON_FIFO;
                if (!path_ok(v)) {
                        *why = "expected an absolute path after the source type";
                        return -EINVAL;
                }
                if (!(b.path = strdup(v)))
                        return -ENOMEM;
        } else if ((v = rk_startswith(s, "gpio:"))) {
                /* CHIP:LINE; the chip may be a path (/dev/gpiochip0) or a
                 * name (gpiochip0, or a label); the line is the text after
                 * the last colon. */
                const char *colon = strrchr(v, ':');
                if (!colon || colon == v || colon[1] == 0) {
                        *why = "expected gpio:CHIP:LINE (chip path or name, line offset or name)";
                        return -EINVAL;
                }
                b.type = RK_BUTTON_GPIO;
                b.path = strndup(v, (size_t) (colon - v));
                b.line = strdup(colon + 1);
                if (!b.path || !b.line) {
                        rk_button_spec_done(&b);
                        return -ENOMEM;
                }
        } else {
                *why = "unknown button source (expected evdev:PATH, gpio:CHIP:LINE or fifo:PATH)";
                return -EINVAL;
        }
        *ret = b;
        return 0;
}

int rk_led_spec_parse(const char *s, struct rk_led_spec *ret, const char **why) {
        struct rk_led_spec l = {};
        const char *v;
        if (strcmp(s, "none") == 0) {
                *ret = l;
                return 0;
        }
        if ((v = rk_startswith(s, "file:")))
                l.type = RK_LED_FILE;
        else if ((v = rk_startswith(s, "mono:")))
                l.type = RK_LED_MONO;
        else if ((v = rk_startswith(s, "multicolor:")))
                l.type = RK_LED_MULTICOLOR;
        else if ((v = rk_startswith(s, "rgb:")))
                l.type = RK_LED_RGB;
        else {
                *why = "unknown LED device (expected none, file:PATH, mono:DIR, rgb:R,G,B or multicolor:DIR)";
                return -EINVAL;
        }
        size_t want = l.type == RK_LED_RGB ? 3 : 1;
        const char *p = v;
        for (size_t i = 0; i < want; i++) {
                size_t len = want == 1 ? strlen(p) : strcspn(p, ",");
                l.paths[i] = strndup(p, len);
                if (!l.paths[i]) {
                        rk_led_spec_done(&l);
                        return -ENOMEM;
                }
                l.n_paths++;
                if (!path_ok(l.paths[i])) {
                        *why = want == 1 ? "expected an absolute path after the LED type"
                                         : "rgb: expects three absolute LED paths separated by commas";
                        rk_led_spec_done(&l);
                        return -EINVAL;
                }
                p += len;
                if (i + 1 < want) {
                        if (*p != ',') {
                                *why = "rgb: expects three absolute LED paths separated by commas";
                                rk_led_spec_done(&l);
                                return -EINVAL;
                        }
                        p++;
                }
        }
        if (*p) {
                *why = "rgb: expects exactly three LED paths";
                rk_led_spec_done(&l);
                return -EINVAL;
        }
        *ret = l;
        return 0;
}
