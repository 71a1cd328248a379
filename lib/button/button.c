/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "button.h"

#include <ctype.h>

int rk_button_read(struct rk_button *b, struct rk_button_event *ev, size_t n) {
        return b->ops->read(b, ev, n);
}

void rk_button_free(struct rk_button *b) {
        if (!b)
                return;
        rk_closep(&b->fd);
        free(b->name);
        b->ops->free(b);        /* frees the containing object */
}

bool rk_button_error_is_transient(int r) {
        /* not there yet (module loading, hotplug), gone, or held by someone
         * else for now */
        return r == -ENOENT || r == -ENODEV || r == -ENXIO || r == -EBUSY || r == -EAGAIN;
}

int rk_fifo_parse_line(const char *line, size_t len, bool *down) {
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
                len--;
        while (len > 0 && (*line == ' ' || *line == '\t')) {
                line++;
                len--;
        }
        if (len == 0)
                return 0;
        if (len == 4 && memcmp(line, "down", 4) == 0) {
                *down = true;
                return 1;
        }
        if (len == 2 && memcmp(line, "up", 2) == 0) {
                *down = false;
                return 1;
        }
        return -EINVAL;
}

void rk_escape_for_log(const char *src, size_t len, char *dst, size_t dstlen) {
        size_t o = 0;
        if (dstlen == 0)
                return;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char) src[i];
                char tmp[5];
                size_t w;
                if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
                        tmp[0] = (char) ch;
                        w = 1;
                } else
                        w = (size_t) snprintf(tmp, sizeof tmp, "\\x%02x", ch);
                /* room for the NUL, and for "..." if more is to come */
                if (o + w + (i + 1 < len ? 4 : 1) > dstlen) {
                        if (o + 4 <= dstlen) {
                                memcpy(dst + o, "...", 3);
                                o += 3;
                        }
                        break;
                }
                memcpy(dst + o, tmp, w);
                o += w;
        }
        dst[o < dstlen ? o : dstlen - 1] = 0;
}

int rk_gpio_parse_offset(const char *s, unsigned *ret) {
        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++)
                if (!isdigit((unsigned char) *p))
                        return 0;       /* a line name */
        return rk_parse_uint(s, ret) < 0 ? -EINVAL : 1;
}
