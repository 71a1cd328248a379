/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "manifest.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>

#include "fsutil.h"
#include "util.h"

static const char *const action_names[_RK_MF_ACTION_MAX] = {
        [RK_MF_EXEC] = "exec",
        [RK_MF_REMOVE] = "remove",
        [RK_MF_EMPTY] = "empty",
        [RK_MF_KEEP_NEWEST] = "keep-newest",
        [RK_MF_DELETE_USERS] = "delete-users",
        [RK_MF_RESET_PASSWORD] = "reset-password",
        [RK_MF_FACTORY_CONFIG] = "factory-config",
        [RK_MF_ZERO_PARTITION] = "zero-partition",
        [RK_MF_ZERO_FREE_SPACE] = "zero-free-space",
        [RK_MF_CRYPTO_ERASE] = "crypto-erase",
};

const char *rk_mf_action_name(enum rk_mf_action a) {
        if ((unsigned) a >= _RK_MF_ACTION_MAX)
                return NULL;
        return action_names[a];
}

int rk_mf_action_from_name(const char *s) {
        for (int i = 0; i < _RK_MF_ACTION_MAX; i++)
                if (rk_streq(s, action_names[i]))
                        return i;
        return -EINVAL;
}

static void entry_done(struct rk_mf_entry *e) {
        free(e->path);
        free(e->arg);
        free(e->file);
        *e = (struct rk_mf_entry) {};
}

/* Drop entries appended after `keep`: a failed parse leaves m as it was. */
static void manifest_truncate(struct rk_manifest *m, size_t keep) {
        while (m->n > keep)
                entry_done(&m->entries[--m->n]);
}

void rk_manifest_free(struct rk_manifest *m) {
        if (!m)
                return;
        manifest_truncate(m, 0);
        free(m->entries);
        m->entries = NULL;
}

/* One line being parsed; errors are formatted "FILE:LINE: what". */
struct line_ctx {
        const char *file;
        unsigned line;
        char *err;
        size_t errlen;
};

RK_PRINTF(2, 3)
static int line_error(const struct line_ctx *lc, const char *fmt, ...) {
        char what[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        if (lc->err && lc->errlen > 0)
                snprintf(lc->err, lc->errlen, "%s:%u: %s", lc->file, lc->line, what);
        return -EINVAL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool has_glob_chars(const char *s) {
        return strpbrk(s, "*?[\\") != NULL;
}

/* Check and normalise an absolute path or glob: it must start with '/', and
 * no component may be "." or ".." (a glob inside the root must never be
 * able to name its way out, and "." only hides what an entry means).
 * Repeated and trailing slashes are folded: "/etc//x/" -> "/etc/x". */
static int normalize_path(const struct line_ctx *lc, const char *what, const char *p, char **ret) {
        if (p[0] != '/')
                return line_error(lc, "%s '%s' is not absolute", what, p);
        if (strlen(p) >= PATH_MAX)
                return line_error(lc, "%s is longer than %d bytes", what, PATH_MAX - 1);

        char *out = malloc(strlen(p) + 1);
        if (!out)
                return -ENOMEM;
        size_t o = 0;
        for (const char *c = p; *c;) {
                while (*c == '/')
                        c++;
                if (!*c)
                        break;
                size_t len = strcspn(c, "/");
                if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
                        free(out);
                        return line_error(lc, "%s '%s' has a '%.*s' component", what, p, (int) len, c);
                }
                out[o++] = '/';
                memcpy(out + o, c, len);
                o += len;
                c += len;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = 0;
        *ret = out;
        return 0;
}

/* A user name as shadow-utils and adduser accept it (lenient about case and
 * dots, which some vendors use), and nothing that could break a passwd
 * line: no ':', ',', '/', whitespace, no leading '-', '+' or '.'. */
static bool valid_user_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 256 || s[0] == '-' || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.')
                        continue;
                if (c == '$' && i == n - 1 && n > 1)
                        continue;
                return false;
        }
        return true;
}

/* A crypt(3) string: "$id$...", a locked "!..."/"*...", or classic DES
 * (13 characters of [./0-9A-Za-z]).  Catches a clear-text password written
 * where a hash belongs, which would otherwise become an unusable hash. */
static bool valid_hash(const char *s) {
        if (strchr(s, ':'))
                return false;
        if (s[0] == '$' || s[0] == '!' || s[0] == '*')
                return true;
        if (strlen(s) != 13)
                return false;
        for (const char *c = s; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '.' || *c == '/'))
                        return false;
        return true;
}

/* "/ *", "/?*"...: a first component made only of wildcards */
static bool first_component_matches_all(const char *path) {
        const char *c = path;
        while (*c == '/')
                c++;
        if (!*c || *c == '/')
                return false;
        for (; *c && *c != '/'; c++)
                if (*c != '*' && *c != '?')
                        return false;
        return true;
}

/* Split off the next blank-separated word of *p (modified in place). */
static char *next_word(char **p) {
        char *s = *p;
        while (is_blank(*s))
                s++;
        if (!*s) {
                *p = s;
                return NULL;
        }
        char *w = s;
        while (*s && !is_blank(*s))
                s++;
        if (*s)
                *s++ = 0;
        *p = s;
        return w;
}

static int parse_number(const struct line_ctx *lc, const char *action, const char *s, unsigned *ret) {
        int r = rk_parse_uint(s, ret);
        if (r == -ERANGE)
                return line_error(lc, "%s: number '%s' is out of range", action, s);
        if (r < 0)
                return line_error(lc, "%s: '%s' is not a number", action, s);
        return 0;
}

void rk_crypto_opts_done(struct rk_crypto_opts *o) {
        free(o->keyfile);
        free(o->mkfs);
        *o = (struct rk_crypto_opts) {};
}

int rk_crypto_opts_parse(const char *arg, struct rk_crypto_opts *ret, char **ret_normalized,
                         char *err, size_t errlen) {
        struct rk_crypto_opts o = {};
        _cleanup_free_ char *copy = strdup(arg ? arg : "");
        struct line_ctx lc = { .file = "", .err = NULL };
        if (!copy)
                return -ENOMEM;
        char *p = copy;
        for (char *w = next_word(&p); w; w = next_word(&p)) {
                char *eq = strchr(w, '=');
                if (!eq || eq == w || !eq[1]) {
                        rk_set_err(err, errlen, "option '%s' is not KEY=VALUE", w);
                        goto bad;
                }
                *eq = 0;
                const char *v = eq + 1;
                if (strcmp(w, "keyfile") == 0) {
                        if (o.keyfile) {
                                rk_set_err(err, errlen, "keyfile given twice");
                                goto bad;
                        }
                        /* "/" after normalising too: "//" is no file either */
                        if (v[0] != '/' || has_glob_chars(v) || normalize_path(&lc, "keyfile", v, &o.keyfile) < 0 ||
                            rk_streq(o.keyfile, "/")) {
                                free(o.keyfile);
                                o.keyfile = NULL;
                                rk_set_err(err, errlen, "keyfile '%s' is not an absolute file path without '.', '..' or globs", v);
                                goto bad;
                        }
                } else if (strcmp(w, "mkfs") == 0) {
                        if (o.mkfs) {
                                rk_set_err(err, errlen, "mkfs given twice");
                                goto bad;
                        }
                        if (strlen(v) > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789.") != strlen(v)) {
                                rk_set_err(err, errlen, "mkfs '%s' is not a filesystem type ([a-z0-9.]+) or 'none'", v);
                                goto bad;
                        }
                        if (!(o.mkfs = strdup(v)))
                                goto oom;
                } else {
                        rk_set_err(err, errlen, "unknown option '%s' (keyfile=PATH, mkfs=TYPE)", w);
                        goto bad;
                }
        }
        if (o.mkfs && !o.keyfile) {
                rk_set_err(err, errlen, "mkfs=%s without keyfile=: nothing would re-create the volume", o.mkfs);
                goto bad;
        }
        if (o.keyfile && !o.mkfs && !(o.mkfs = strdup("ext4")))
                goto oom;
        if (ret_normalized) {
                *ret_normalized = NULL;
                if (o.keyfile && asprintf(ret_normalized, "keyfile=%s mkfs=%s", o.keyfile, o.mkfs) < 0)
                        goto oom;
        }
        if (ret)
                *ret = o;
        else
                rk_crypto_opts_done(&o);
        return 0;
oom:
        rk_crypto_opts_done(&o);
        return -ENOMEM;
bad:
        rk_crypto_opts_done(&o);
        return -EINVAL;
}

/* Parse one trimmed, non-empty, non-comment line into e. */
static int parse_line(const struct line_ctx *lc, char *line, struct rk_mf_entry *e) {
        char *p = line;
        const char *word = next_word(&p);
        int a = rk_mf_action_from_name(word);
        if (a < 0)
                return line_error(lc, "unknown action '%s'", word);
        const char *act = action_names[a];
        e->action = (enum rk_mf_action) a;

        const char *path = next_word(&p);
        if (!path)
                return line_error(lc, "%s: missing path", act);

        /* exec takes the whole rest of the line; every other action at
         * most one more word */
        while (is_blank(*p))
                p++;
        const char *rest = *p ? p : NULL;
        const char *arg = NULL;
        if (a == RK_MF_EXEC || a == RK_MF_CRYPTO_ERASE)
                arg = rest;
        else if (rest) {
                arg = next_word(&p);
                while (is_blank(*p))
                        p++;
                if (*p)
                        return line_error(lc, "%s: unexpected extra argument '%s'", act, p);
        }

        int r;
        switch (e->action) {
        case RK_MF_EXEC:
                if (!rk_streq(path, "-"))
                        return line_error(lc, "exec: path must be '-', got '%s'", path);
                if (!arg)
                        return line_error(lc, "exec: missing command");
                break;

        case RK_MF_REMOVE:
        case RK_MF_EMPTY:
        case RK_MF_KEEP_NEWEST:
                if (e->action != RK_MF_KEEP_NEWEST && arg)
                        return line_error(lc, "%s: unexpected argument '%s'", act, arg);
                if (e->action == RK_MF_KEEP_NEWEST) {
                        if (!arg)
                                return line_error(lc, "keep-newest: missing count");
                        r = parse_number(lc, act, arg, &e->number);
                        if (r < 0)
                                return r;
                        if (e->number == 0)
                                return line_error(lc, "keep-newest: a count of 0 keeps nothing, use 'remove'");
                }
                r = normalize_path(lc, "path", path, &e->path);
                if (r < 0)
                        return r;
                if (rk_streq(e->path, "/"))
                        return line_error(lc, "%s: refusing to remove the whole root '/'", act);
                /* "/ *" and the like would wipe every top-level directory:
                 * always a mistake in a manifest, never what a vendor means */
                if (first_component_matches_all(e->path))
                        return line_error(lc, "%s: refusing '%s': its first component matches every top-level directory",
                                          act, e->path);
                break;

        case RK_MF_DELETE_USERS:
                if (!rk_streq(path, "-"))
                        return line_error(lc, "delete-users: path must be '-', got '%s'", path);
                e->number = RK_MANIFEST_DEFAULT_MIN_UID;
                if (arg) {
                        r = parse_number(lc, act, arg, &e->number);
                        if (r < 0)
                                return r;
                        if (e->number == 0)
                                return line_error(lc, "delete-users: minimum UID 0 would delete root");
                }
                break;

        case RK_MF_RESET_PASSWORD:
                if (!valid_user_name(path))
                        return line_error(lc, "reset-password: invalid user name '%s'", path);
                if (!arg)
                        return line_error(lc, "reset-password: missing hash or @FILE");
                if (arg[0] == '@') {
                        _cleanup_free_ char *f = NULL;
                        r = normalize_path(lc, "reset-password: hash file", arg + 1, &f);
                        if (r < 0)
                                return r;
                        if (rk_streq(f, "/"))
                                return line_error(lc, "reset-password: hash file '/' is a directory");
                        e->arg = malloc(strlen(f) + 2);
                        if (!e->arg)
                                return -ENOMEM;
                        e->arg[0] = '@';
                        strcpy(e->arg + 1, f);
                } else if (!valid_hash(arg))
                        return line_error(lc, "reset-password: '%s' is not a crypt(3) hash (\"$id$...\", \"!\", \"*\" or DES)", arg);
                break;

        case RK_MF_FACTORY_CONFIG:
                if (!rk_streq(path, "-"))
                        return line_error(lc, "factory-config: path must be '-', got '%s'", path);
                if (arg)
                        return line_error(lc, "factory-config: unexpected argument '%s'", arg);
                break;

        case RK_MF_ZERO_PARTITION:
                if (!rk_streq(path, "inactive"))
                        return line_error(lc, "zero-partition: only 'inactive' is supported, got '%s'", path);
                if (arg)
                        return line_error(lc, "zero-partition: unexpected argument '%s'", arg);
                break;

        case RK_MF_ZERO_FREE_SPACE:
                if (arg)
                        return line_error(lc, "zero-free-space: unexpected argument '%s'", arg);
                if (has_glob_chars(path))
                        return line_error(lc, "zero-free-space: '%s' must be a mount point, not a glob", path);
                r = normalize_path(lc, "mount point", path, &e->path);
                if (r < 0)
                        return r;
                break;

        case RK_MF_CRYPTO_ERASE: {
                /* a device as the running system sees it, like [slots] */
                if (has_glob_chars(path))
                        return line_error(lc, "crypto-erase: '%s' must be one device, not a glob", path);
                r = normalize_path(lc, "device", path, &e->path);
                if (r < 0)
                        return r;
                if (rk_streq(e->path, "/"))
                        return line_error(lc, "crypto-erase: '/' is not a device");
                char why[256] = "";
                r = rk_crypto_opts_parse(arg, NULL, &e->arg, why, sizeof why);
                if (r == -EINVAL)
                        return line_error(lc, "crypto-erase: %s", why);
                if (r < 0)
                        return r;
                arg = NULL;     /* e->arg holds the normalised options, or none */
                break;
        }

        default:
                return line_error(lc, "internal error: unhandled action");
        }

        if (!e->path && !(e->path = strdup(path)))
                return -ENOMEM;
        if (arg && !e->arg && !(e->arg = strdup(arg)))
                return -ENOMEM;
        if (!(e->file = strdup(lc->file)))
                return -ENOMEM;
        e->line = lc->line;
        return 0;
}

static int manifest_append(struct rk_manifest *m, struct rk_mf_entry *e) {
        /* manifests are a few hundred lines: growing one by one is fine and
         * keeps the struct free of a capacity field the engine must mind */
        struct rk_mf_entry *ne = realloc(m->entries, (m->n + 1) * sizeof *ne);
        if (!ne)
                return -ENOMEM;
        m->entries = ne;
        m->entries[m->n++] = *e;
        *e = (struct rk_mf_entry) {};
        return 0;
}

int rk_manifest_parse_string(struct rk_manifest *m, const char *text, const char *filename,
                             char *err, size_t errlen) {
        size_t start_n = m->n;
        struct line_ctx lc = { .file = filename ? filename : "<string>", .err = err, .errlen = errlen };
        const char *p = text;
        int r = 0;

        for (lc.line = 1; *p; lc.line++) {
                size_t len = strcspn(p, "\n");
                _cleanup_free_ char *line = strndup(p, len);
                if (!line) {
                        r = -ENOMEM;
                        break;
                }
                p += len;
                if (*p == '\n')
                        p++;

                /* control characters: a stray \r (DOS file), escape sequence
                 * or binary junk means the file is not what its author saw */
                for (const char *c = line; *c; c++)
                        if (((unsigned char) *c < 0x20 && *c != '\t') || *c == 0x7f) {
                                r = line_error(&lc, "control character 0x%02x in line", (unsigned) (unsigned char) *c);
                                goto fail;
                        }

                char *s = line;
                while (is_blank(*s))
                        s++;
                size_t sl = strlen(s);
                while (sl > 0 && is_blank(s[sl - 1]))
                        s[--sl] = 0;
                if (!*s || *s == '#')
                        continue;

                struct rk_mf_entry e = {};
                r = parse_line(&lc, s, &e);
                if (r >= 0)
                        r = manifest_append(m, &e);
                entry_done(&e);
                if (r < 0) {
                        if (r == -ENOMEM)
                                line_error(&lc, "out of memory");
                        goto fail;
                }
        }
        if (r >= 0)
                return 0;
fail:
        manifest_truncate(m, start_n);
        return r;
}

/* ---- loading the drop-in directories ---------------------------------- */

struct dropin {
        char *name;
        int dir;        /* index into dirs[] */
};

static const char *const dirs[] = { RK_MANIFEST_VENDOR_DIR, RK_MANIFEST_ADMIN_DIR };

static int dropin_cmp(const void *a, const void *b) {
        const struct dropin *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        /* same name: vendor first, so the admin file is the one kept */
        return c ? c : x->dir - y->dir;
}

static void dropins_free(struct dropin *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(d[i].name);
        free(d);
}

static int list_dir(int root_fd, int which, struct dropin **list, size_t *n, char *err, size_t errlen) {
        int fd = rk_openat2(root_fd, dirs[which], O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_ROOTED);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0) {
                snprintf(err, errlen, "/%s: %s", dirs[which], strerror(-fd));
                return fd;
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                snprintf(err, errlen, "/%s: %s", dirs[which], strerror(-r));
                return r;
        }
        int r = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (de->d_name[0] == '.' || !rk_endswith(de->d_name, ".conf"))
                        continue;
                struct dropin *nl = realloc(*list, (*n + 1) * sizeof **list);
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                *list = nl;
                if (!(nl[*n].name = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                nl[(*n)++].dir = which;
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                snprintf(err, errlen, "/%s: %s", dirs[which], strerror(-r));
        return r;
}

/* systemd's convention: an administrator masks a vendor drop-in with a
 * symlink to /dev/null of the same name. */
static bool is_masked(int root_fd, const char *dir, const char *name) {
        char target[64];
        _cleanup_close_ int dfd = rk_openat2(root_fd, dir, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_ROOTED);
        if (dfd < 0)
                return false;
        ssize_t l = readlinkat(dfd, name, target, sizeof target - 1);
        if (l < 0)
                return false;
        target[l] = 0;
        return rk_streq(target, "/dev/null");
}

int rk_manifest_load(struct rk_manifest *m, int root_fd, char *err, size_t errlen) {
        struct dropin *list = NULL;
        size_t n = 0, start_n = m->n;
        int r = 0;

        for (int i = 0; i < (int) RK_ELEMENTSOF(dirs) && r >= 0; i++)
                r = list_dir(root_fd, i, &list, &n, err, errlen);
        if (r < 0)
                goto out;
        if (n > 0)
                qsort(list, n, sizeof *list, dropin_cmp);

        for (size_t i = 0; i < n; i++) {
                if (i + 1 < n && rk_streq(list[i].name, list[i + 1].name))
                        continue;       /* overridden by the next (admin) one */
                _cleanup_free_ char *rel = rk_path_join(dirs[list[i].dir], list[i].name);
                if (!rel) {
                        r = -ENOMEM;
                        goto out;
                }
                /* the admin dir is resolved inside the root as a whole, but
                 * a mask link must be looked at itself, not followed */
                if (list[i].dir == 1 && is_masked(root_fd, dirs[1], list[i].name))
                        continue;
                _cleanup_free_ char *shown = NULL;
                if (asprintf(&shown, "/%s", rel) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                _cleanup_free_ char *text = NULL;
                size_t len;
                r = rk_read_at(root_fd, rel, RK_RESOLVE_ROOTED, RK_MANIFEST_MAX_FILE_SIZE, &text, &len);
                if (r < 0) {
                        snprintf(err, errlen, "%s: %s", shown,
                                 r == -EFBIG ? "file larger than 1 MiB" : strerror(-r));
                        goto out;
                }
                if (strlen(text) != len) {
                        snprintf(err, errlen, "%s: contains a NUL byte", shown);
                        r = -EINVAL;
                        goto out;
                }
                r = rk_manifest_parse_string(m, text, shown, err, errlen);
                if (r < 0)
                        goto out;
        }
out:
        dropins_free(list, n);
        if (r < 0)
                manifest_truncate(m, start_n);
        return r;
}
