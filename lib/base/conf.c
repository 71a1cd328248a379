/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "conf.h"

#include <fcntl.h>
#include <ini.h>
#include <libevdev/libevdev.h>
#include <linux/input.h>
#include <stddef.h>

#include "fsutil.h"
#include "util.h"

enum key_type {
        T_STRING,       /* any text */
        T_PATH,         /* absolute path */
        T_COMMAND,      /* command line; empty = unset */
        T_BOOL,
        T_UINT,
        T_MS,
        T_STRV,
        T_BUTTON,
        T_LED,
        T_KEYCODE,
        T_ACTIVE,
        T_VERIFY,
        T_EARLY,
        T_WHEN,
};

struct key_def {
        const char *section, *name;
        enum key_type type;
        size_t offset;
};

#define K(sec, nm, t, field) { sec, nm, t, offsetof(struct rk_config, field) }
static const struct key_def keys[] = {
        K("button", "source", T_BUTTON, button_source),
        K("button", "key", T_KEYCODE, key_name),
        K("button", "active-low", T_BOOL, active_low),
        K("button", "debounce-ms", T_MS, debounce_ms),
        K("timing", "reboot-ms", T_MS, reboot_ms),
        K("timing", "rescue-ms", T_MS, rescue_ms),
        K("timing", "factory-ms", T_MS, factory_ms),
        K("timing", "cancel-ms", T_MS, cancel_ms),
        K("led", "device", T_LED, led_device),
        K("actions", "reboot-command", T_COMMAND, reboot_command),
        K("actions", "poweroff-command", T_COMMAND, poweroff_command),
        K("actions", "validate-command", T_COMMAND, validate_command),
        K("actions", "apply-command", T_COMMAND, apply_command),
        K("store", "dir", T_PATH, store_dir),
        K("store", "factory-config", T_PATH, factory_config),
        K("store", "backups", T_UINT, backups),
        K("slots", "a", T_PATH, slot[0].device),
        K("slots", "b", T_PATH, slot[1].device),
        K("slots", "active", T_ACTIVE, active),
        K("slots", "grubenv", T_PATH, grubenv),
        K("slots", "a-grubenv-keys", T_STRV, slot[0].grubenv_keys),
        K("slots", "b-grubenv-keys", T_STRV, slot[1].grubenv_keys),
        K("slots", "a-boot-files", T_STRV, slot[0].boot_files),
        K("slots", "b-boot-files", T_STRV, slot[1].boot_files),
        K("failsafe", "enabled", T_BOOL, failsafe_enabled),
        K("failsafe", "hold-ms", T_MS, hold_ms),
        K("failsafe", "release-timeout-ms", T_MS, release_timeout_ms),
        K("failsafe", "on-early-release", T_EARLY, on_early_release),
        K("reset", "log", T_PATH, reset_log),
        K("reset", "final-log", T_PATH, final_log),
        K("reset", "journal", T_PATH, journal),
        K("reset", "keep-users", T_STRV, keep_users),
        K("reset", "expire-passwords", T_BOOL, expire_passwords),
        K("reset", "verify", T_VERIFY, verify),
        K("reset", "when", T_WHEN, reset_when),
        K("reset", "certificate-key", T_PATH, certificate_key),
};
#undef K

int rk_config_init(struct rk_config *c) {
        *c = (struct rk_config) {
                .key_code = KEY_RESTART,
                .debounce_ms = 30,
                .reboot_ms = 1000,
                .rescue_ms = 5000,
                .factory_ms = 16000,
                .cancel_ms = 31000,
                .backups = 5,
                .active = RK_SLOT_AUTO,
                .failsafe_enabled = true,
                .hold_ms = 10000,
                .release_timeout_ms = 30000,
                .on_early_release = RK_EARLY_REBOOT,
                .expire_passwords = true,
                .verify = RK_VERIFY_SAMPLE,
        };
        const char *why;
        if (!(c->button_source = strdup("evdev:/dev/input/by-path/platform-gpio-keys-event")) ||
            !(c->key_name = strdup("KEY_RESTART")) ||
            !(c->led_device = strdup("none")) ||
            !(c->store_dir = strdup("/var/lib/resetkit/config")) ||
            !(c->factory_config = strdup("/usr/lib/resetkit/factory-config.json")) ||
            !(c->reset_log = strdup("/tmp/factory-reset.log")) ||
            !(c->final_log = strdup("/var/log/resetkit/factory-reset.log")) ||
            !(c->journal = strdup("/var/lib/resetkit/factory-reset.journal")) ||
            rk_button_spec_parse(c->button_source, &c->button, &why) < 0 ||
            rk_led_spec_parse(c->led_device, &c->led, &why) < 0) {
                rk_config_free(c);
                return -ENOMEM;
        }
        return 0;
}

void rk_config_free(struct rk_config *c) {
        for (size_t i = 0; i < RK_ELEMENTSOF(keys); i++) {
                void *f = (char *) c + keys[i].offset;
                switch (keys[i].type) {
                case T_STRING: case T_PATH: case T_COMMAND: case T_BUTTON: case T_LED: case T_KEYCODE:
                        free(*(char **) f);
                        *(char **) f = NULL;
                        break;
                case T_STRV:
                        rk_strv_free(*(char ***) f);
                        *(char ***) f = NULL;
                        break;
                default:
                        break;
                }
        }
        rk_button_spec_done(&c->button);
        rk_led_spec_done(&c->led);
}

struct parse_state {
        struct rk_config *c;
        const char *filename;
        char *err;
        size_t errlen;
        int lineno_hint;
};

static int fail(struct parse_state *s, const char *fmt, ...) RK_PRINTF(2, 3);
static int fail(struct parse_state *s, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, s->errlen, fmt, ap);
        va_end(ap);
        return 0; /* inih: 0 stops with the line number */
}

static int set_value(struct parse_state *s, const struct key_def *k, const char *v) {
        void *f = (char *) s->c + k->offset;
        const char *why = NULL;
        int r;

        switch (k->type) {
        case T_STRING:
        case T_COMMAND:
                return rk_free_and_strdup((char **) f, *v ? v : NULL) < 0 ? fail(s, "out of memory") : 1;
        case T_PATH:
                if (v[0] != '/')
                        return fail(s, "[%s] %s: expected an absolute path, got '%s'", k->section, k->name, v);
                return rk_free_and_strdup((char **) f, v) < 0 ? fail(s, "out of memory") : 1;
        case T_BOOL:
                if (rk_parse_bool(v, (bool *) f) < 0)
                        return fail(s, "[%s] %s: expected true or false, got '%s'", k->section, k->name, v);
                return 1;
        case T_UINT:
                if (rk_parse_uint(v, (unsigned *) f) < 0)
                        return fail(s, "[%s] %s: expected a non-negative integer, got '%s'", k->section, k->name, v);
                return 1;
        case T_MS: {
                uint64_t ms;
                if (rk_parse_duration_ms(v, &ms) < 0 || ms > 24ULL * 3600 * 1000)
                        return fail(s, "[%s] %s: expected a duration in milliseconds (e.g. 1500, 1500ms, 1.5s; at most 24 h), got '%s'",
                                    k->section, k->name, v);
                *(uint64_t *) f = ms;
                return 1;
        }
        case T_STRV: {
                char **l;
                if (rk_strv_split(v, &l) < 0)
                        return fail(s, "out of memory");
                rk_strv_free(*(char ***) f);
                *(char ***) f = l;
                return 1;
        }
        case T_BUTTON: {
                struct rk_button_spec b;
                r = rk_button_spec_parse(v, &b, &why);
                if (r < 0)
                        return fail(s, "[button] source: %s: '%s'", r == -ENOMEM ? "out of memory" : why, v);
                rk_button_spec_done(&s->c->button);
                s->c->button = b;
                return rk_free_and_strdup((char **) f, v) < 0 ? fail(s, "out of memory") : 1;
        }
        case T_LED: {
                struct rk_led_spec l;
                r = rk_led_spec_parse(v, &l, &why);
                if (r < 0)
                        return fail(s, "[led] device: %s: '%s'", r == -ENOMEM ? "out of memory" : why, v);
                rk_led_spec_done(&s->c->led);
                s->c->led = l;
                return rk_free_and_strdup((char **) f, v) < 0 ? fail(s, "out of memory") : 1;
        }
        case T_KEYCODE: {
                unsigned code;
                if (rk_parse_uint(v, &code) == 0) {
                        if (code > KEY_MAX)
                                return fail(s, "[button] key: code %u is above KEY_MAX", code);
                } else {
                        int c = libevdev_event_code_from_name(EV_KEY, v);
                        if (c < 0)
                                return fail(s, "[button] key: unknown key name '%s' (expected a KEY_* or BTN_* name or a number)", v);
                        code = (unsigned) c;
                }
                s->c->key_code = code;
                return rk_free_and_strdup((char **) f, v) < 0 ? fail(s, "out of memory") : 1;
        }
        case T_ACTIVE:
                if (strcmp(v, "auto") == 0) *(enum rk_slot_active *) f = RK_SLOT_AUTO;
                else if (strcmp(v, "a") == 0) *(enum rk_slot_active *) f = RK_SLOT_A;
                else if (strcmp(v, "b") == 0) *(enum rk_slot_active *) f = RK_SLOT_B;
                else return fail(s, "[slots] active: expected auto, a or b, got '%s'", v);
                return 1;
        case T_VERIFY:
                if (strcmp(v, "sample") == 0) *(enum rk_verify *) f = RK_VERIFY_SAMPLE;
                else if (strcmp(v, "full") == 0) *(enum rk_verify *) f = RK_VERIFY_FULL;
                else return fail(s, "[reset] verify: expected sample or full, got '%s'", v);
                return 1;
        case T_EARLY:
                if (strcmp(v, "reboot") == 0) *(enum rk_early_release *) f = RK_EARLY_REBOOT;
                else if (strcmp(v, "continue") == 0) *(enum rk_early_release *) f = RK_EARLY_CONTINUE;
                else return fail(s, "[failsafe] on-early-release: expected reboot or continue, got '%s'", v);
                return 1;
        case T_WHEN:
                if (strcmp(v, "auto") == 0) *(enum rk_reset_when *) f = RK_RESET_AUTO;
                else if (strcmp(v, "at-boot") == 0) *(enum rk_reset_when *) f = RK_RESET_AT_BOOT;
                else if (strcmp(v, "now") == 0) *(enum rk_reset_when *) f = RK_RESET_NOW;
                else return fail(s, "[reset] when: expected auto, at-boot or now, got '%s'", v);
                return 1;
        }
        return fail(s, "internal error");
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parse_state *s = user;
        if (!name) /* a section header alone (inih INI_CALL_HANDLER_ON_NEW_SECTION) */
                return 1;
        bool section_known = false;
        for (size_t i = 0; i < RK_ELEMENTSOF(keys); i++) {
                if (strcmp(keys[i].section, section) != 0)
                        continue;
                section_known = true;
                if (strcmp(keys[i].name, name) == 0)
                        return set_value(s, &keys[i], value ? value : "");
        }
        if (!*section)
                return fail(s, "key '%s' outside of any section", name);
        if (!section_known)
                return fail(s, "unknown section [%s]", section);
        return fail(s, "unknown key '%s' in [%s]", name, section);
}

int rk_config_parse_string(struct rk_config *c, const char *text, const char *filename,
                           char *err, size_t errlen) {
        char why[512] = "";
        struct parse_state s = { .c = c, .filename = filename, .err = why, .errlen = sizeof why };
        int line = ini_parse_string(text, handler, &s);
        if (line == 0)
                return 0;
        if (line < 0) {
                snprintf(err, errlen, "%s: cannot parse (inih error %d)", filename, line);
                return -EINVAL;
        }
        snprintf(err, errlen, "%s:%d: %s", filename, line,
                 *why ? why : "syntax error (expected [section] or key = value)");
        return -EINVAL;
}

int rk_config_validate(const struct rk_config *c, const char *filename, char *err, size_t errlen) {
        if (!(c->reboot_ms < c->rescue_ms && c->rescue_ms < c->factory_ms && c->factory_ms < c->cancel_ms)) {
                snprintf(err, errlen,
                         "%s: [timing] windows out of order: need reboot-ms < rescue-ms < factory-ms < cancel-ms, got %llu, %llu, %llu, %llu",
                         filename, (unsigned long long) c->reboot_ms, (unsigned long long) c->rescue_ms,
                         (unsigned long long) c->factory_ms, (unsigned long long) c->cancel_ms);
                return -EINVAL;
        }
        if (c->debounce_ms >= c->reboot_ms) {
                snprintf(err, errlen, "%s: [button] debounce-ms (%llu) must be below [timing] reboot-ms (%llu)",
                         filename, (unsigned long long) c->debounce_ms, (unsigned long long) c->reboot_ms);
                return -EINVAL;
        }
        if (c->backups > 100) {
                snprintf(err, errlen, "%s: [store] backups: at most 100, got %u", filename, c->backups);
                return -EINVAL;
        }
        if (c->slot[0].device && c->slot[1].device && strcmp(c->slot[0].device, c->slot[1].device) == 0) {
                snprintf(err, errlen, "%s: [slots] a and b name the same device '%s'", filename, c->slot[0].device);
                return -EINVAL;
        }
        if (c->hold_ms == 0 || c->release_timeout_ms == 0) {
                snprintf(err, errlen, "%s: [failsafe] hold-ms and release-timeout-ms must be above 0", filename);
                return -EINVAL;
        }
        return 0;
}

int rk_config_load(struct rk_config *c, int root_fd, const char *explicit_path, char *err, size_t errlen) {
        _cleanup_free_ char *text = NULL;
        int r;
        const char *name = explicit_path ? explicit_path : RK_CONFIG_PATH;

        if (explicit_path)
                r = rk_read_at(AT_FDCWD, explicit_path, 0, RK_CONFIG_MAX_SIZE, &text, NULL);
        else
                r = rk_read_at(root_fd, rk_path_relative(RK_CONFIG_PATH), RK_RESOLVE_ROOTED,
                               RK_CONFIG_MAX_SIZE, &text, NULL);
        if (r == -ENOENT && !explicit_path)
                return 0; /* no file: defaults */
        if (r < 0) {
                snprintf(err, errlen, "%s: cannot read: %s", name,
                         r == -EFBIG ? "file too large" : strerror(-r));
                return r;
        }
        r = rk_config_parse_string(c, text, name, err, errlen);
        if (r < 0)
                return r;
        return rk_config_validate(c, name, err, errlen);
}

static void dump_strv(FILE *f, const char *name, char *const *v) {
        fprintf(f, "%s =", name);
        for (size_t i = 0; v && v[i]; i++)
                fprintf(f, " %s", v[i]);
        fputc('\n', f);
}

int rk_config_dump(const struct rk_config *c, FILE *f) {
        static const char *const active[] = { "auto", "a", "b" };
        fprintf(f, "[button]\nsource = %s\nkey = %s\nactive-low = %s\ndebounce-ms = %llu\n\n",
                c->button_source, c->key_name, c->active_low ? "true" : "false",
                (unsigned long long) c->debounce_ms);
        fprintf(f, "[timing]\nreboot-ms = %llu\nrescue-ms = %llu\nfactory-ms = %llu\ncancel-ms = %llu\n\n",
                (unsigned long long) c->reboot_ms, (unsigned long long) c->rescue_ms,
                (unsigned long long) c->factory_ms, (unsigned long long) c->cancel_ms);
        fprintf(f, "[led]\ndevice = %s\n\n", c->led_device);
        fprintf(f, "[actions]\nreboot-command = %s\npoweroff-command = %s\nvalidate-command = %s\napply-command = %s\n\n",
                c->reboot_command ? c->reboot_command : "", c->poweroff_command ? c->poweroff_command : "",
                c->validate_command ? c->validate_command : "", c->apply_command ? c->apply_command : "");
        fprintf(f, "[store]\ndir = %s\nfactory-config = %s\nbackups = %u\n\n",
                c->store_dir, c->factory_config, c->backups);
        fprintf(f, "[slots]\n");
        if (c->slot[0].device) fprintf(f, "a = %s\n", c->slot[0].device);
        if (c->slot[1].device) fprintf(f, "b = %s\n", c->slot[1].device);
        fprintf(f, "active = %s\n", active[c->active]);
        if (c->grubenv) fprintf(f, "grubenv = %s\n", c->grubenv);
        dump_strv(f, "a-grubenv-keys", c->slot[0].grubenv_keys);
        dump_strv(f, "b-grubenv-keys", c->slot[1].grubenv_keys);
        dump_strv(f, "a-boot-files", c->slot[0].boot_files);
        dump_strv(f, "b-boot-files", c->slot[1].boot_files);
        fprintf(f, "\n[failsafe]\nenabled = %s\nhold-ms = %llu\nrelease-timeout-ms = %llu\non-early-release = %s\n\n",
                c->failsafe_enabled ? "true" : "false", (unsigned long long) c->hold_ms,
                (unsigned long long) c->release_timeout_ms,
                c->on_early_release == RK_EARLY_REBOOT ? "reboot" : "continue");
        fprintf(f, "[reset]\nlog = %s\nfinal-log = %s\njournal = %s\n", c->reset_log, c->final_log, c->journal);
        dump_strv(f, "keep-users", c->keep_users);
        fprintf(f, "expire-passwords = %s\nverify = %s\nwhen = %s\n", c->expire_passwords ? "true" : "false",
                c->verify == RK_VERIFY_FULL ? "full" : "sample",
                c->reset_when == RK_RESET_AT_BOOT ? "at-boot" : c->reset_when == RK_RESET_NOW ? "now" : "auto");
        if (c->certificate_key)
                fprintf(f, "certificate-key = %s\n", c->certificate_key);
        return ferror(f) ? -EIO : 0;
}
