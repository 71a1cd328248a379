/* SPDX-License-Identifier: GPL-2.0-or-later */
/* LED class sysfs sinks: mono:DIR, rgb:R,G,B (three single-colour LEDs),
 * multicolor:DIR (multi_index / multi_intensity / brightness).
 *
 * Each LED directory is opened once and every attribute is reached with
 * openat() on it, so the tests point the same code at a fake tree of plain
 * files.  What we take over we give back: the trigger, the brightness, the
 * trigger's own settings (timer delays, pattern) and the multicolor
 * intensities are saved before feedback and restored after.  Order matters
 * on real LEDs: writing brightness 0 removes the active trigger, so the
 * brightness is written first and the trigger last. */
#include <fcntl.h>

#include "fsutil.h"
#include "led.h"

#define ATTR_MAX 4096

struct channel {
        int dirfd;
        char *path;
        unsigned max;                   /* max_brightness */
        bool has_pattern, has_timer;    /* triggers this kernel offers */
        /* saved owner state */
        char *trigger;                  /* current trigger name ("none") */
        char *brightness;
        char *delay_on, *delay_off;     /* when trigger = timer */
        char *pattern, *repeat;         /* when trigger = pattern */
        char *multi_intensity;          /* multicolor */
        uint8_t color;                  /* rgb: which component feeds it (0 r, 1 g, 2 b) */
};

struct sysfs_led {
        struct rk_led base;
        enum rk_led_type type;
        size_t n;
        struct channel ch[3];
        /* multicolor: for each multi_index entry, the component (0..2) or -1 */
        int mc_map[16];
        size_t mc_n;
};

static int read_attr(int dirfd, const char *name, char **ret) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        char *buf = malloc(ATTR_MAX + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n;
        do
                n = read(fd, buf, ATTR_MAX);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                int r = -errno;
                free(buf);
                return r;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                n--;
        buf[n] = 0;
        *ret = buf;
        return 0;
}

static int write_attr(int dirfd, const char *name, const char *value) {
        /* O_TRUNC: harmless on sysfs, needed on the tests' plain files */
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        /* sysfs takes one write(2) per value */
        ssize_t n = write(fd, value, strlen(value));
        if (n < 0)
                return -errno;
        return (size_t) n == strlen(value) ? 0 : -EIO;
}

static int write_uint(int dirfd, const char *name, unsigned v) {
        char buf[16];
        snprintf(buf, sizeof buf, "%u", v);
        return write_attr(dirfd, name, buf);
}

/* "none rfkill0 [timer] pattern": the bracketed word is active.  A file
 * holding one bare word (what a plain-file fake tree holds after a write)
 * names the active trigger too. */
static int current_trigger(const char *list, char **ret) {
        const char *b = strchr(list, '['), *e;
        if (b && (e = strchr(b, ']'))) {
                *ret = strndup(b + 1, (size_t) (e - b - 1));
        } else if (*list && !strchr(list, ' '))
                *ret = strdup(list);
        else
                *ret = strdup("none");
        return *ret ? 0 : -ENOMEM;
}

static bool trigger_offered(const char *list, const char *name) {
        size_t len = strlen(name);
        for (const char *p = list; (p = strstr(p, name)); p += len) {
                bool start = p == list || p[-1] == ' ' || p[-1] == '[';
                bool end = p[len] == 0 || p[len] == ' ' || p[len] == ']';
                if (start && end)
                        return true;
        }
        return false;
}

static void channel_drop_saved(struct channel *c) {
        free(c->trigger);
        free(c->brightness);
        free(c->delay_on);
        free(c->delay_off);
        free(c->pattern);
        free(c->repeat);
        free(c->multi_intensity);
        c->trigger = c->brightness = c->delay_on = c->delay_off = NULL;
        c->pattern = c->repeat = c->multi_intensity = NULL;
}

static int channel_open(struct channel *c, const char *path, char *err, size_t errlen) {
        _cleanup_free_ char *max = NULL, *triggers = NULL;
        int r;
        c->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dirfd < 0) {
                r = -errno;
                snprintf(err, errlen, "LED %s: cannot open: %s", path, strerror(-r));
                return r;
        }
        if (!(c->path = strdup(path)))
                return -ENOMEM;
        r = read_attr(c->dirfd, "max_brightness", &max);
        if (r < 0 || rk_parse_uint(max, &c->max) < 0 || c->max == 0) {
                snprintf(err, errlen, "LED %s: no usable max_brightness (%s): not an LED class device?", path,
                         r < 0 ? strerror(-r) : "bad value");
                return r < 0 ? r : -EINVAL;
        }
        r = read_attr(c->dirfd, "trigger", &triggers);
        if (r < 0) {
                snprintf(err, errlen, "LED %s: cannot read trigger: %s", path, strerror(-r));
                return r;
        }
        c->has_pattern = trigger_offered(triggers, "pattern");
        c->has_timer = trigger_offered(triggers, "timer");
        return 0;
}

static void channel_close(struct channel *c) {
        rk_closep(&c->dirfd);
        c->dirfd = -1;
        free(c->path);
        c->path = NULL;
        channel_drop_saved(c);
}

static int channel_save(struct sysfs_led *s, struct channel *c) {
        _cleanup_free_ char *triggers = NULL;
        int r;
        channel_drop_saved(c);
        if ((r = read_attr(c->dirfd, "trigger", &triggers)) < 0 ||
            (r = current_trigger(triggers, &c->trigger)) < 0 ||
            (r = read_attr(c->dirfd, "brightness", &c->brightness)) < 0)
                return r;
        if (s->type == RK_LED_MULTICOLOR && (r = read_attr(c->dirfd, "multi_intensity", &c->multi_intensity)) < 0)
                return r;
        /* the trigger's own settings are lost when we switch it away */
        if (strcmp(c->trigger, "timer") == 0) {
                (void) read_attr(c->dirfd, "delay_on", &c->delay_on);
                (void) read_attr(c->dirfd, "delay_off", &c->delay_off);
        } else if (strcmp(c->trigger, "pattern") == 0) {
                (void) read_attr(c->dirfd, "pattern", &c->pattern);
                (void) read_attr(c->dirfd, "repeat", &c->repeat);
        }
        return 0;
}

static int channel_restore(struct sysfs_led *s, struct channel *c) {
        int r, ret = 0;
        if (!c->trigger)
                return 0;
        /* stop our own trigger first, so nothing races the values below */
        if ((r = write_attr(c->dirfd, "trigger", "none")) < 0)
                ret = r;
        if (c->multi_intensity && (r = write_attr(c->dirfd, "multi_intensity", c->multi_intensity)) < 0)
                ret = r;
        if ((r = write_attr(c->dirfd, "brightness", c->brightness)) < 0)
                ret = r;
        if (strcmp(c->trigger, "none") != 0) {
                /* brightness 0 just removed any trigger: set it again */
                if ((r = write_attr(c->dirfd, "trigger", c->trigger)) < 0)
                        ret = r;
                if (c->delay_on && (r = write_attr(c->dirfd, "delay_on", c->delay_on)) < 0)
                        ret = r;
                if (c->delay_off && (r = write_attr(c->dirfd, "delay_off", c->delay_off)) < 0)
                        ret = r;
                if (c->pattern && *c->pattern && (r = write_attr(c->dirfd, "pattern", c->pattern)) < 0)
                        ret = r;
                if (c->repeat && (r = write_attr(c->dirfd, "repeat", c->repeat)) < 0)
                        ret = r;
        }
        channel_drop_saved(c);
        return ret;
}

static int sysfs_save(struct rk_led *l) {
        struct sysfs_led *s = (struct sysfs_led *) l;
        for (size_t i = 0; i < s->n; i++) {
                int r = channel_save(s, &s->ch[i]);
                if (r < 0) {
                        for (size_t j = 0; j <= i; j++)
                                channel_drop_saved(&s->ch[j]);
                        return r;
                }
        }
        return 0;
}

static int sysfs_restore(struct rk_led *l, uint64_t now_ns) {
        struct sysfs_led *s = (struct sysfs_led *) l;
        int ret = 0;
        for (size_t i = 0; i < s->n; i++) {
                int r = channel_restore(s, &s->ch[i]);
                if (r < 0)
                        ret = r;
        }
        return ret;
}

/* The brightness (0..max) channel c should have for colour col at full level. */
static unsigned channel_level(const struct sysfs_led *s, const struct channel *c, struct rk_rgb col) {
        uint8_t comp[3] = { col.r, col.g, col.b };
        switch (s->type) {
        case RK_LED_MONO:
                /* one colour: any colour is "on" */
                return col.r || col.g || col.b ? c->max : 0;
        case RK_LED_RGB:
                return (unsigned) ((comp[c->color] * c->max + 127) / 255);
        default:
                /* multicolor: the colour is in multi_intensity, brightness
                 * is the overall level */
                return col.r || col.g || col.b ? c->max : 0;
        }
}

static int set_multi_intensity(struct sysfs_led *s, struct rk_rgb col) {
        uint8_t comp[3] = { col.r, col.g, col.b };
        char buf[16 * 12] = "";
        size_t o = 0;
        struct channel *c = &s->ch[0];
        for (size_t i = 0; i < s->mc_n; i++) {
                unsigned v = s->mc_map[i] < 0 ? 0 : (unsigned) ((comp[s->mc_map[i]] * c->max + 127) / 255);
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%s%u", i ? " " : "", v);
        }
        return write_attr(c->dirfd, "multi_intensity", buf);
}

static int sysfs_set(struct rk_led *l, struct rk_rgb col, uint64_t now_ns) {
        struct sysfs_led *s = (struct sysfs_led *) l;
        int r;
        if (s->type == RK_LED_MULTICOLOR && (col.r || col.g || col.b) && (r = set_multi_intensity(s, col)) < 0)
                return r;
        for (size_t i = 0; i < s->n; i++)
                if ((r = write_uint(s->ch[i].dirfd, "brightness", channel_level(s, &s->ch[i], col))) < 0)
                        return r;
        return 0;
}

static int channel_pattern(struct channel *c, enum rk_led_pattern p, unsigned level, uint32_t period_ms) {
        char buf[128];
        int r;
        /* ledtrig-pattern: "brightness duration" pairs; a step with
         * duration 0 is a jump, a step with a duration a linear ramp */
        switch (p) {
        case RK_LED_PAT_BLINK:
                snprintf(buf, sizeof buf, "%u %u %u 0 0 %u 0 0", level, period_ms / 2, level, period_ms - period_ms / 2);
                break;
        case RK_LED_PAT_FADE_IN:
                snprintf(buf, sizeof buf, "0 %u %u 0", period_ms, level);
                break;
        case RK_LED_PAT_FADE_OUT:
                snprintf(buf, sizeof buf, "%u %u 0 0", level, period_ms);
                break;
        default:
                return -EINVAL;
        }
        if ((r = write_attr(c->dirfd, "trigger", "pattern")) < 0 ||
            (r = write_attr(c->dirfd, "pattern", buf)) < 0)
                return r;
        /* fades run once and hold their last value; blinks repeat */
        return write_attr(c->dirfd, "repeat", p == RK_LED_PAT_BLINK ? "-1" : "1");
}

static int channel_timer(struct channel *c, unsigned level, uint32_t period_ms) {
        int r;
        /* Every delay write restarts the kernel's blink with a toggle of
         * whatever the LED shows at that moment, and a blink takes its on
         * level from the brightness it finds.  So: stop blinking (delay_on
         * 0 leaves the LED off), set the on level while nothing blinks,
         * delay_off (with delay_on still 0 that turns the LED off again),
         * and delay_on last: the blink starts from dark, so it starts with
         * its on half at `level` — not, depending on timing, with half a
         * period of dark after the threshold. */
        if ((r = write_attr(c->dirfd, "trigger", "timer")) < 0 ||
            (r = write_attr(c->dirfd, "delay_on", "0")) < 0 ||
            (r = write_uint(c->dirfd, "brightness", level)) < 0 ||
            (r = write_uint(c->dirfd, "delay_off", period_ms - period_ms / 2)) < 0)
                return r;
        return write_uint(c->dirfd, "delay_on", period_ms / 2);
}

static int sysfs_show(struct rk_led *l, enum rk_led_pattern p, struct rk_rgb col, uint32_t period_ms, uint64_t now_ns) {
        struct sysfs_led *s = (struct sysfs_led *) l;
        bool all_pattern = true, all_timer = true;
        int r;
        for (size_t i = 0; i < s->n; i++) {
                all_pattern = all_pattern && s->ch[i].has_pattern;
                all_timer = all_timer && s->ch[i].has_timer;
        }
        bool hw = false;
        if (p == RK_LED_PAT_BLINK)
                hw = all_pattern || all_timer;
        else if (p == RK_LED_PAT_FADE_IN || p == RK_LED_PAT_FADE_OUT)
                hw = all_pattern;       /* the timer trigger cannot fade */

        if (!hw) {
                /* steady values (solid, off) or software steps: no trigger */
                for (size_t i = 0; i < s->n; i++)
                        if ((r = write_attr(s->ch[i].dirfd, "trigger", "none")) < 0)
                                return r;
                return 0;       /* the caller sets the level now and steps it */
        }
        if (s->type == RK_LED_MULTICOLOR && (r = set_multi_intensity(s, col)) < 0)
                return r;
        for (size_t i = 0; i < s->n; i++) {
                struct channel *c = &s->ch[i];
                unsigned level = channel_level(s, c, col);
                if (level == 0) {
                        /* an rgb component that is off: just dark */
                        if ((r = write_attr(c->dirfd, "trigger", "none")) < 0 ||
                            (r = write_attr(c->dirfd, "brightness", "0")) < 0)
                                return r;
                } else if (all_pattern)
                        r = channel_pattern(c, p, level, period_ms);
                else
                        r = channel_timer(c, level, period_ms);
                if (r < 0)
                        return r;
        }
        return 1;
}

static void sysfs_free(struct rk_led *l) {
        struct sysfs_led *s = (struct sysfs_led *) l;
        for (size_t i = 0; i < s->n; i++)
                channel_close(&s->ch[i]);
        free(s);
}

static const struct rk_led_ops sysfs_ops = {
        .save = sysfs_save,
        .restore = sysfs_restore,
        .show = sysfs_show,
        .set = sysfs_set,
        .free = sysfs_free,
};

static int parse_multi_index(struct sysfs_led *s, char *err, size_t errlen) {
        _cleanup_free_ char *idx = NULL;
        _cleanup_strv_free_ char **names = NULL;
        bool any = false;
        int r = read_attr(s->ch[0].dirfd, "multi_index", &idx);
        if (r < 0) {
                snprintf(err, errlen, "LED %s: cannot read multi_index (%s): not a multicolor LED?", s->ch[0].path,
                         strerror(-r));
                return r;
        }
        if (rk_strv_split(idx, &names) < 0)
                return -ENOMEM;
        s->mc_n = rk_strv_length(names);
        if (s->mc_n == 0 || s->mc_n > RK_ELEMENTSOF(s->mc_map)) {
                snprintf(err, errlen, "LED %s: multi_index lists %zu colours", s->ch[0].path, s->mc_n);
                return -EINVAL;
        }
        for (size_t i = 0; i < s->mc_n; i++) {
                s->mc_map[i] = rk_streq(names[i], "red") ? 0 : rk_streq(names[i], "green") ? 1
                             : rk_streq(names[i], "blue") ? 2 : -1;
                any = any || s->mc_map[i] >= 0;
        }
        if (!any) {
                snprintf(err, errlen, "LED %s: multi_index '%s' has no red, green or blue", s->ch[0].path, idx);
                return -EINVAL;
        }
        return 0;
}

int rk_led_sysfs_open(const struct rk_led_spec *spec, struct rk_log *log, struct rk_led **ret,
                      char *err, size_t errlen) {
        _cleanup_free_ char *name = NULL;
        int r;
        struct sysfs_led *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < RK_ELEMENTSOF(s->ch); i++)
                s->ch[i].dirfd = -1;
        s->base.ops = &sysfs_ops;       /* for cleanup on the error paths */
        s->type = spec->type;
        s->n = spec->n_paths;
        for (size_t i = 0; i < s->n; i++) {
                s->ch[i].color = (uint8_t) i;
                r = channel_open(&s->ch[i], spec->paths[i], err, errlen);
                if (r < 0)
                        goto fail;
        }
        if (s->type == RK_LED_MULTICOLOR && (r = parse_multi_index(s, err, errlen)) < 0)
                goto fail;
        r = -ENOMEM;
        if (asprintf(&name, "%s:%s%s%s%s%s", rk_led_type_name(spec->type), spec->paths[0],
                     s->n > 1 ? "," : "", s->n > 1 ? spec->paths[1] : "",
                     s->n > 2 ? "," : "", s->n > 2 ? spec->paths[2] : "") < 0 ||
            rk_led_init_base(&s->base, &sysfs_ops, log, name) < 0)
                goto fail;
        *ret = &s->base;
        return 0;
fail:
        free(s->base.name);
        sysfs_free(&s->base);
        return r;
}
