/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "grubenv.h"

#include <fcntl.h>

#include "fault.h"
#include "fsutil.h"
#include "util.h"

static void line_done(struct rk_grubenv_line *l) {
        free(l->raw);
        free(l->name);
        free(l->value);
        *l = (struct rk_grubenv_line) {};
}

void rk_grubenv_done(struct rk_grubenv *env) {
        for (size_t i = 0; i < env->n_lines; i++)
                line_done(&env->lines[i]);
        free(env->lines);
        *env = (struct rk_grubenv) {};
}

static void grubenv_donep(struct rk_grubenv *env) { rk_grubenv_done(env); }

static int push_line(struct rk_grubenv *env, struct rk_grubenv_line *l) {
        struct rk_grubenv_line *n = realloc(env->lines, (env->n_lines + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        env->lines = n;
        env->lines[env->n_lines++] = *l;
        *l = (struct rk_grubenv_line) {};
        return 0;
}

/* "a\\b\\\nc" -> "a\b\nc": a backslash takes the next byte literally, as
 * GRUB's own reader does. */
static char *unescape(const char *s, size_t len) {
        char *out = malloc(len + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 1 < len)
                        i++;
                *o++ = s[i];
        }
        *o = 0;
        return out;
}

static char *escape_line(const char *name, const char *value) {
        size_t nl = strlen(name), vl = strlen(value);
        char *out = malloc(nl + 1 + 2 * vl + 1), *o = out;
        if (!out)
                return NULL;
        memcpy(o, name, nl);
        o += nl;
        *o++ = '=';
        for (const char *v = value; *v; v++) {
                if (*v == '\\' || *v == '\n')
                        *o++ = '\\';
                *o++ = *v;
        }
        *o = 0;
        return out;
}

/* The end of the value that starts at p: the first '\n' not escaped. */
static const char *value_end(const char *p, const char *end) {
        while (p < end && *p != '\n')
                p += *p == '\\' ? 2 : 1;
        return p < end ? p : NULL;
}

int rk_grubenv_parse(const char *buf, size_t len, const char *what,
                     struct rk_grubenv *ret, char *err, size_t errlen) {
        _cleanup_(grubenv_donep) struct rk_grubenv env = {};
        const size_t siglen = strlen(RK_GRUBENV_SIGNATURE);

        if (len != RK_GRUBENV_SIZE) {
                snprintf(err, errlen, "%s: not a GRUB environment block: %zu bytes, expected exactly %d",
                         what, len, RK_GRUBENV_SIZE);
                return -EINVAL;
        }
        if (memcmp(buf, RK_GRUBENV_SIGNATURE, siglen) != 0) {
                snprintf(err, errlen, "%s: not a GRUB environment block: it does not start with '# GRUB Environment Block'",
                         what);
                return -EINVAL;
        }
        const char *nul = memchr(buf, 0, len);
        if (nul) {
                snprintf(err, errlen, "%s: corrupt GRUB environment block: NUL byte at offset %zu",
                         what, (size_t) (nul - buf));
                return -EINVAL;
        }

        const char *p = buf + siglen, *end = buf + len;
        unsigned lineno = 1;
        while (p < end) {
                lineno++;
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                if (*p == '#' && !nl) {
                        /* the padding: '#' up to the last byte, nothing else */
                        for (const char *q = p; q < end; q++)
                                if (*q != '#') {
                                        snprintf(err, errlen, "%s: corrupt GRUB environment block: '%c' in the padding at offset %zu",
                                                 what, *q, (size_t) (q - buf));
                                        return -EINVAL;
                                }
                        break;
                }
                struct rk_grubenv_line l = {};
                const char *stop;
                if (*p == '#') {
                        stop = nl;
                } else {
                        const char *eq = memchr(p, '=', (size_t) (end - p));
                        if (!eq || (nl && nl < eq) || eq == p) {
                                snprintf(err, errlen, "%s: corrupt GRUB environment block: line %u is neither a comment nor name=value",
                                         what, lineno);
                                return -EINVAL;
                        }
                        stop = value_end(eq + 1, end);
                        if (!stop) {
                                snprintf(err, errlen, "%s: corrupt GRUB environment block: line %u is not terminated",
                                         what, lineno);
                                return -EINVAL;
                        }
                        l.name = strndup(p, (size_t) (eq - p));
                        l.value = unescape(eq + 1, (size_t) (stop - eq - 1));
                        if (!l.name || !l.value) {
                                line_done(&l);
                                return -ENOMEM;
                        }
                        /* escaped newlines inside the value are lines too */
                        for (const char *q = eq + 1; q < stop; q++)
                                lineno += *q == '\n';
                }
                l.raw = strndup(p, (size_t) (stop - p));
                if (!l.raw || push_line(&env, &l) < 0) {
                        line_done(&l);
                        return -ENOMEM;
                }
                p = stop + 1;
        }
        *ret = env;
        env = (struct rk_grubenv) {};
        return 0;
}

int rk_grubenv_serialize(const struct rk_grubenv *env, char out[static RK_GRUBENV_SIZE]) {
        size_t pos = strlen(RK_GRUBENV_SIGNATURE);
        memcpy(out, RK_GRUBENV_SIGNATURE, pos);
        for (size_t i = 0; i < env->n_lines; i++) {
                size_t l = strlen(env->lines[i].raw);
                if (pos + l + 1 > RK_GRUBENV_SIZE)
                        return -ENOSPC;
                memcpy(out + pos, env->lines[i].raw, l);
                pos += l;
                out[pos++] = '\n';
        }
        memset(out + pos, '#', RK_GRUBENV_SIZE - pos);
        return 0;
}

const char *rk_grubenv_get(const struct rk_grubenv *env, const char *name) {
        for (size_t i = 0; i < env->n_lines; i++)
                if (rk_streq(env->lines[i].name, name))
                        return env->lines[i].value;
        return NULL;
}

int rk_grubenv_set(struct rk_grubenv *env, const char *name, const char *value) {
        if (rk_isempty(name) || strpbrk(name, "=\n") || name[0] == '#')
                return -EINVAL;
        struct rk_grubenv_line l = {
                .raw = escape_line(name, value),
                .name = strdup(name),
                .value = strdup(value),
        };
        if (!l.raw || !l.name || !l.value) {
                line_done(&l);
                return -ENOMEM;
        }
        for (size_t i = 0; i < env->n_lines; i++)
                if (rk_streq(env->lines[i].name, name)) {
                        line_done(&env->lines[i]);
                        env->lines[i] = l;
                        return 0;
                }
        int r = push_line(env, &l);
        if (r < 0)
                line_done(&l);
        return r;
}

size_t rk_grubenv_unset(struct rk_grubenv *env, const char *name) {
        size_t removed = 0, j = 0;
        for (size_t i = 0; i < env->n_lines; i++) {
                if (rk_streq(env->lines[i].name, name)) {
                        line_done(&env->lines[i]);
                        removed++;
                } else
                        env->lines[j++] = env->lines[i];
        }
        env->n_lines = j;
        return removed;
}

int rk_grubenv_remove_keys_at(int dirfd, const char *path, char *const *keys,
                              size_t *ret_removed, char *err, size_t errlen) {
        /* configured paths are absolute "inside the root": make them
         * relative to dirfd, as RESOLVE_BENEATH requires */
        const char *rel = rk_path_relative(path), *base;
        *ret_removed = 0;

        /* The directory fd is what the rename happens in: opened strictly,
         * so a symlinked /boot in an image cannot redirect the rewrite. */
        _cleanup_close_ int dfd = rk_open_parent_at(dirfd, rel, 0, &base);
        if (dfd < 0) {
                snprintf(err, errlen, "%s: cannot open its directory: %s (left unchanged)", path, strerror(-dfd));
                return dfd;
        }
        _cleanup_close_ int fd = rk_openat2(dfd, base, O_RDONLY | O_NOCTTY, 0, RK_RESOLVE_STRICT);
        if (fd < 0) {
                snprintf(err, errlen, "%s: %s (left unchanged)", path, strerror(-fd));
                return fd;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = rk_read_fd(fd, RK_GRUBENV_SIZE * 4, &buf, &len);
        if (r < 0) {
                snprintf(err, errlen, "%s: cannot read: %s (left unchanged)", path, strerror(-r));
                return r;
        }
        _cleanup_(grubenv_donep) struct rk_grubenv env = {};
        r = rk_grubenv_parse(buf, len, path, &env, err, errlen);
        if (r < 0) {
                size_t l = strlen(err);
                snprintf(err + l, errlen > l ? errlen - l : 0, " (left unchanged)");
                return r;
        }
        size_t removed = 0;
        for (char *const *k = keys; k && *k; k++)
                removed += rk_grubenv_unset(&env, *k);
        if (removed == 0)
                return 0;       /* nothing to do: the file is not touched */

        char out[RK_GRUBENV_SIZE];
        r = rk_grubenv_serialize(&env, out);
        if (r < 0)
                return r;       /* cannot happen: removing lines only shrinks */
        RK_FAULT("grubenv:rewrite");
        r = rk_write_atomic_at(dfd, base, out, sizeof out, st.st_mode & 07777);
        if (r < 0) {
                snprintf(err, errlen, "%s: atomic rewrite failed: %s (left unchanged)", path, strerror(-r));
                return r;
        }
        *ret_removed = removed;
        return 0;
}
