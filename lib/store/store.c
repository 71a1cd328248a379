/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store.c — the configuration store; the on-disk protocol is described in
 * store.h.  Pure index logic first, then reading, then the writers. */
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <strings.h>
#include <sys/stat.h>

#include "cmdexec.h"
#include "fault.h"
#include "fsutil.h"
#include "lock.h"

#define RK_STORE_INDEX_MAX (1024 * 1024)
#define RK_STORE_INDEX_FORMAT 1
#define RK_STORE_CANDIDATE RK_TEMP_PREFIX "candidate.json"
/* json-c's default nesting limit (32) is below what real configuration
 * documents use; this still bounds the parser's recursion. */
#define RK_STORE_JSON_DEPTH 512
/* a reader retries this often when writers keep replacing the index */
#define RK_STORE_READ_RETRIES 5

struct rk_store {
        struct rk_ctx *ctx;
        unsigned flags;
        int dir_fd;             /* -1: the store does not exist (yet) */
        int objects_fd;         /* -1: no objects directory */
        int lock_fd;
        char *path;             /* for messages: "<root>/var/lib/resetkit/config" */
};

static void entry_freep(struct rk_store_entry *e) { rk_store_entry_done(e); }
static void index_freep(struct rk_store_index *idx) { rk_store_index_done(idx); }
#define _cleanup_entry_ _cleanup_(entry_freep)
#define _cleanup_index_ _cleanup_(index_freep)
static void json_putp(json_object **o) { if (*o) json_object_put(*o); }
#define _cleanup_json_ _cleanup_(json_putp)

/* ---- pure logic ------------------------------------------------------- */

void rk_store_entry_done(struct rk_store_entry *e) {
        free(e->origin);
        *e = (struct rk_store_entry) {};
}

void rk_store_index_done(struct rk_store_index *idx) {
        rk_store_entry_done(&idx->running);
        rk_store_entry_done(&idx->rescue);
        for (size_t i = 0; i < idx->n_backups; i++)
                rk_store_entry_done(&idx->backups[i]);
        free(idx->backups);
        *idx = (struct rk_store_index) {};
}

static int entry_copy(struct rk_store_entry *dst, const struct rk_store_entry *src) {
        *dst = *src;
        dst->origin = NULL;
        if (src->origin && !(dst->origin = strdup(src->origin)))
                return -ENOMEM;
        return 0;
}

void rk_store_format_time(time_t t, char buf[static 32]) {
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, 32, "@%lld", (long long) t);
}

static int parse_time(const char *s, time_t *ret) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                return -EINVAL;
        *ret = timegm(&tm);
        return 0;
}

static int parse_entry(json_object *o, const char *what, struct rk_store_entry *e, char *err, size_t errlen) {
        json_object *sha, *size, *t, *origin;
        if (!json_object_is_type(o, json_type_object)) {
                snprintf(err, errlen, "%s: expected an object", what);
                return -EBADMSG;
        }
        if (!json_object_object_get_ex(o, "sha256", &sha) || !json_object_is_type(sha, json_type_string) ||
            !rk_sha256_hex_valid(json_object_get_string(sha))) {
                snprintf(err, errlen, "%s: missing or malformed \"sha256\"", what);
                return -EBADMSG;
        }
        if (!json_object_object_get_ex(o, "size", &size) || !json_object_is_type(size, json_type_int) ||
            json_object_get_int64(size) < 0 || json_object_get_int64(size) > RK_STORE_MAX_SIZE) {
                snprintf(err, errlen, "%s: missing or malformed \"size\"", what);
                return -EBADMSG;
        }
        if (!json_object_object_get_ex(o, "time", &t) || !json_object_is_type(t, json_type_string) ||
            parse_time(json_object_get_string(t), &e->time) < 0) {
                snprintf(err, errlen, "%s: missing or malformed \"time\"", what);
                return -EBADMSG;
        }
        if (json_object_object_get_ex(o, "origin", &origin) && json_object_is_type(origin, json_type_string) &&
            !(e->origin = strdup(json_object_get_string(origin))))
                return -ENOMEM;
        memcpy(e->sha256, json_object_get_string(sha), RK_SHA256_HEX_LEN + 1);
        e->size = (uint64_t) json_object_get_int64(size);
        e->present = true;
        return 0;
}

/* RFC 8259 syntax, strictly.  json-c's strict mode still takes single-quoted
 * keys, NaN and raw control characters in strings, which the programs that
 * consume the configuration may well reject; a document is stored only if
 * every JSON parser would read it the same way. */
struct jscan {
        const char *p, *end;
        const char *why;
};

static void js_ws(struct jscan *j) {
        while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
                j->p++;
}

static bool js_fail(struct jscan *j, const char *why) {
        j->why = why;
        return false;
}

static bool js_literal(struct jscan *j, const char *lit) {
        size_t n = strlen(lit);
        if ((size_t) (j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
                return js_fail(j, "unexpected character");
        j->p += n;
        return true;
}

static bool js_digits(struct jscan *j) {
        const char *start = j->p;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
                j->p++;
        return j->p > start || js_fail(j, "malformed number");
}

static bool js_number(struct jscan *j) {
        if (*j->p == '-')
                j->p++;
        if (j->p < j->end && *j->p == '0')
                j->p++;
        else if (!js_digits(j))
                return false;
        if (j->p < j->end && *j->p == '.') {
                j->p++;
                if (!js_digits(j))
                        return false;
        }
        if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
                j->p++;
                if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
                        j->p++;
                if (!js_digits(j))
                        return false;
        }
        return true;
}

static bool js_string(struct jscan *j) {
        j->p++; /* the opening quote */
        while (j->p < j->end) {
                unsigned char c = (unsigned char) *j->p++;
                if (c == '"')
                        return true;
                if (c < 0x20)
                        return js_fail(j, "control character inside a string");
                if (c != '\\')
                        continue;
                if (j->p >= j->end)
                        break;
                c = (unsigned char) *j->p++;
                if (c == 'u') {
                        for (int i = 0; i < 4; i++, j->p++)
                                if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
                                        return js_fail(j, "malformed \\u escape");
                } else if (!strchr("\"\\/bfnrt", c) || !c)
                        return js_fail(j, "invalid escape in a string");
        }
        return js_fail(j, "unterminated string");
}

static bool js_value(struct jscan *j, unsigned depth) {
        js_ws(j);
        if (j->p >= j->end)
                return js_fail(j, "unexpected end of input");
        if (depth > RK_STORE_JSON_DEPTH)
                return js_fail(j, "nested too deeply");
        char c = *j->p;
        if (c == '{' || c == '[') {
                char close = c == '{' ? '}' : ']';
                j->p++;
                js_ws(j);
                if (j->p < j->end && *j->p == close) {
                        j->p++;
                        return true;
                }
                for (;;) {
                        if (c == '{') {
                                js_ws(j);
                                if (j->p >= j->end || *j->p != '"')
                                        return js_fail(j, "expected a \"key\"");
                                if (!js_string(j))
                                        return false;
                                js_ws(j);
                                if (j->p >= j->end || *j->p != ':')
                                        return js_fail(j, "expected ':'");
                                j->p++;
                        }
                        if (!js_value(j, depth + 1))
                                return false;
                        js_ws(j);
                        if (j->p < j->end && *j->p == ',') {
                                j->p++;
                                continue;
                        }
                        if (j->p < j->end && *j->p == close) {
                                j->p++;
                                return true;
                        }
                        return js_fail(j, c == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
                }
        }
        if (c == '"')
                return js_string(j);
        if (c == '-' || (c >= '0' && c <= '9'))
                return js_number(j);
        if (c == 't')
                return js_literal(j, "true");
        if (c == 'f')
                return js_literal(j, "false");
        if (c == 'n')
                return js_literal(j, "null");
        return js_fail(j, "unexpected character");
}

/* 0, or -EINVAL with the reason and the byte offset */
static int json_strict_check(const char *text, size_t len, const char **ret_why, size_t *ret_off) {
        struct jscan j = { .p = text, .end = text + len };
        if (js_value(&j, 0)) {
                js_ws(&j);
                if (j.p == j.end)
                        return 0;
                j.why = "unexpected data after the document";
        }
        *ret_why = j.why;
        *ret_off = (size_t) (j.p - text);
        return -EINVAL;
}

static json_object *parse_json(const char *text, size_t len, char *err, size_t errlen) {
        const char *why;
        size_t off;
        if (json_strict_check(text, len, &why, &off) < 0) {
                snprintf(err, errlen, "not valid JSON at byte %zu: %s", off, why);
                return NULL;
        }
        json_tokener *tok = json_tokener_new_ex(RK_STORE_JSON_DEPTH);
        if (!tok) {
                snprintf(err, errlen, "out of memory");
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *o = json_tokener_parse_ex(tok, text, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t used = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o || jerr != json_tokener_success) {
                if (jerr == json_tokener_continue)
                        snprintf(err, errlen, "not valid JSON: unexpected end of input");
                else
                        snprintf(err, errlen, "not valid JSON at byte %zu: %s", used,
                                 json_tokener_error_desc(jerr));
                json_object_put(o);
                return NULL;
        }
        /* json-c stops after the first value; anything but white space after
         * it means the file is not one JSON document */
        for (size_t i = used; i < len; i++)
                if (!strchr(" \t\r\n", text[i])) {
                        snprintf(err, errlen, "not valid JSON: unexpected data after the document at byte %zu", i);
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

int rk_store_index_parse(const char *text, size_t len, struct rk_store_index *ret, char *err, size_t errlen) {
        _cleanup_index_ struct rk_store_index idx = {};
        _cleanup_json_ json_object *o = NULL;
        json_object *v;
        char sub[256];
        int r;

        if (memchr(text, 0, len)) {
                snprintf(err, errlen, "contains a NUL byte");
                return -EBADMSG;
        }
        o = parse_json(text, len, sub, sizeof sub);
        if (!o) {
                snprintf(err, errlen, "%s", sub);
                return -EBADMSG;
        }
        if (!json_object_is_type(o, json_type_object)) {
                snprintf(err, errlen, "not a JSON object");
                return -EBADMSG;
        }
        if (!json_object_object_get_ex(o, "format", &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int(v) != RK_STORE_INDEX_FORMAT) {
                snprintf(err, errlen, "missing or unsupported \"format\" (this resetkit reads format %d)",
                         RK_STORE_INDEX_FORMAT);
                return -EBADMSG;
        }
        if (json_object_object_get_ex(o, "running", &v) && !json_object_is_type(v, json_type_null) &&
            (r = parse_entry(v, "running", &idx.running, err, errlen)) < 0)
                return r;
        if (json_object_object_get_ex(o, "rescue", &v) && !json_object_is_type(v, json_type_null) &&
            (r = parse_entry(v, "rescue", &idx.rescue, err, errlen)) < 0)
                return r;
        if (json_object_object_get_ex(o, "backups", &v)) {
                if (!json_object_is_type(v, json_type_array)) {
                        snprintf(err, errlen, "\"backups\": expected an array");
                        return -EBADMSG;
                }
                size_t n = json_object_array_length(v);
                if (n > 0 && !(idx.backups = calloc(n, sizeof *idx.backups)))
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        char what[32];
                        snprintf(what, sizeof what, "backup %zu", i + 1);
                        r = parse_entry(json_object_array_get_idx(v, i), what, &idx.backups[i], err, errlen);
                        if (r < 0)
                                return r;
                        idx.n_backups++;
                }
        }
        *ret = idx;
        idx = (struct rk_store_index) {};
        return 0;
}

static json_object *entry_to_json(const struct rk_store_entry *e) {
        char t[32];
        if (!e->present)
                return NULL;    /* json-c's null */
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        rk_store_format_time(e->time, t);
        json_object_object_add(o, "sha256", json_object_new_string(e->sha256));
        json_object_object_add(o, "size", json_object_new_int64((int64_t) e->size));
        json_object_object_add(o, "time", json_object_new_string(t));
        json_object_object_add(o, "origin", json_object_new_string(e->origin ? e->origin : ""));
        return o;
}

int rk_store_index_format(const struct rk_store_index *idx, char **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *backups = json_object_new_array();
        if (!o || !backups) {
                json_object_put(backups);
                return -ENOMEM;
        }
        json_object_object_add(o, "format", json_object_new_int(RK_STORE_INDEX_FORMAT));
        json_object_object_add(o, "running", entry_to_json(&idx->running));
        json_object_object_add(o, "backups", backups);
        for (size_t i = 0; i < idx->n_backups; i++)
                json_object_array_add(backups, entry_to_json(&idx->backups[i]));
        json_object_object_add(o, "rescue", entry_to_json(&idx->rescue));
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(ret, "%s\n", s) < 0)
                return -ENOMEM;
        return 0;
}

int rk_store_index_push(struct rk_store_index *idx, const struct rk_store_entry *e, unsigned max_backups) {
        struct rk_store_entry next = {};
        int r = entry_copy(&next, e);
        if (r < 0)
                return r;
        if (idx->running.present && max_backups > 0) {
                size_t keep = idx->n_backups < max_backups ? idx->n_backups : max_backups - 1;
                struct rk_store_entry *b = calloc(keep + 1, sizeof *b);
                if (!b) {
                        rk_store_entry_done(&next);
                        return -ENOMEM;
                }
                b[0] = idx->running;
                for (size_t i = 0; i < idx->n_backups; i++) {
                        if (i < keep)
                                b[i + 1] = idx->backups[i];
                        else
                                rk_store_entry_done(&idx->backups[i]);
                }
                free(idx->backups);
                idx->backups = b;
                idx->n_backups = keep + 1;
        } else {
                rk_store_entry_done(&idx->running);
                /* backups = 0 in resetd.conf: keep none, drop older ones too */
                while (idx->n_backups > max_backups)
                        rk_store_entry_done(&idx->backups[--idx->n_backups]);
        }
        idx->running = next;
        return 0;
}

bool rk_store_index_references(const struct rk_store_index *idx, const char *sha) {
        if (idx->running.present && rk_streq(idx->running.sha256, sha))
                return true;
        if (idx->rescue.present && rk_streq(idx->rescue.sha256, sha))
                return true;
        for (size_t i = 0; i < idx->n_backups; i++)
                if (rk_streq(idx->backups[i].sha256, sha))
                        return true;
        return false;
}

int rk_store_check_document(const char *data, size_t len, char *err, size_t errlen) {
        char why[256];
        if (len == 0) {
                snprintf(err, errlen, "empty file, expected a JSON document");
                return -EILSEQ;
        }
        if (len > RK_STORE_MAX_SIZE) {
                snprintf(err, errlen, "%zu bytes, above the limit of %u bytes (16 MiB)", len, RK_STORE_MAX_SIZE);
                return -EILSEQ;
        }
        if (memchr(data, 0, len)) {
                snprintf(err, errlen, "not valid JSON: contains a NUL byte");
                return -EILSEQ;
        }
        _cleanup_json_ json_object *o = parse_json(data, len, why, sizeof why);
        if (!o) {
                snprintf(err, errlen, "%s", why);
                return -EILSEQ;
        }
        if (!json_object_is_type(o, json_type_object)) {
                snprintf(err, errlen, "valid JSON, but not a JSON object: a configuration is one object {...}");
                return -EILSEQ;
        }
        return 0;
}

/* ---- opening ---------------------------------------------------------- */

const char *rk_store_path(const struct rk_store *s) { return s->path; }

char *rk_store_object_path(const struct rk_store *s, const char *sha) {
        char *p;
        if (asprintf(&p, "%s/" RK_STORE_OBJECTS "/%s.json", s->path, sha) < 0)
                return NULL;
        return p;
}

static struct rk_log *LOG(struct rk_store *s) { return (s->flags & RK_STORE_QUIET) ? NULL : &s->ctx->log; }

/* Secrets live here: a directory others can write to (or replace entries
 * in) cannot be trusted to hold what we wrote. */
static int check_dir_safe(struct rk_store *s, int fd, const char *path) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return rk_log_errno(LOG(s), errno, "%s: cannot stat: %m", path);
        if (!S_ISDIR(st.st_mode))
                return rk_log_errno(LOG(s), ENOTDIR, "%s: not a directory; refusing to use it as the store", path);
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                rk_err(LOG(s), "%s: writable by group or others (mode %04o); refusing to use it as the "
                       "configuration store (fix with chmod 0700); nothing was changed",
                       path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                rk_err(LOG(s), "%s: owned by uid %u, neither root nor us; refusing to use it as the "
                       "configuration store; nothing was changed", path, (unsigned) st.st_uid);
                return -EPERM;
        }
        return 0;
}

static int open_failed(struct rk_store *s, int r, const char *path) {
        if (r == -ELOOP || r == -EXDEV) {
                rk_err(LOG(s), "%s: is or lies below a symbolic link (or leaves the root); refusing to use it "
                       "as the configuration store; nothing was changed", path);
                return -EPERM;
        }
        if (r == -ENOTDIR)
                return rk_log_errno(LOG(s), r, "%s: not a directory (or a path component is not); refusing to "
                                    "use it as the configuration store", path);
        return rk_log_errno(LOG(s), r, "%s: cannot open the configuration store: %s", path, strerror(-r));
}

static int create_dir(struct rk_store *s, const char *rel) {
        /* Parents are ordinary system directories (0755); only the store
         * itself is private. */
        const char *last;
        _cleanup_close_ int pfd = rk_open_parent_at(s->ctx->root.fd, rel, 0755, &last);
        if (pfd < 0)
                return pfd;
        int r = RK_FAIL("store:mkdir");
        if (r < 0)
                return r;
        if (mkdirat(pfd, last, 0700) < 0 && errno != EEXIST)
                return -errno;
        return rk_fsync_dir(pfd);
}

static int open_objects(struct rk_store *s) {
        _cleanup_free_ char *opath = rk_path_join(s->path, RK_STORE_OBJECTS);
        if (!opath)
                return -ENOMEM;
        int fd = rk_openat2(s->dir_fd, RK_STORE_OBJECTS, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
        if (fd == -ENOENT && (s->flags & RK_STORE_WRITE)) {
                int r = RK_FAIL("store:mkdir");
                if (r < 0)
                        return rk_log_errno(LOG(s), r, "%s: cannot create: %s", opath, strerror(-r));
                if (mkdirat(s->dir_fd, RK_STORE_OBJECTS, 0700) < 0 && errno != EEXIST)
                        return rk_log_errno(LOG(s), errno, "%s: cannot create: %m", opath);
                /* durable before an object is written into it */
                r = rk_fsync_dir(s->dir_fd);
                if (r < 0)
                        return rk_log_errno(LOG(s), r, "%s: cannot sync: %s", s->path, strerror(-r));
                fd = rk_openat2(s->dir_fd, RK_STORE_OBJECTS, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
        }
        if (fd == -ENOENT)
                return 0;       /* an empty store: readers see nothing */
        if (fd < 0)
                return open_failed(s, fd, opath);
        s->objects_fd = fd;
        return check_dir_safe(s, fd, opath);
}

static int gc_objects(struct rk_store *s, const struct rk_store_index *idx);
static int read_index_text(struct rk_store *s, char **ret, size_t *ret_len);
static int parse_index_text(struct rk_store *s, const char *text, size_t len, struct rk_store_index *ret);

/* What a writer that crashed may have left: temporaries, and objects the
 * index stopped naming before they were removed. */
static void cleanup_after_crash(struct rk_store *s) {
        (void) rk_remove_stale_temps(s->dir_fd);
        if (s->objects_fd < 0)
                return;
        (void) rk_remove_stale_temps(s->objects_fd);
        _cleanup_free_ char *text = NULL;
        _cleanup_index_ struct rk_store_index idx = {};
        size_t len;
        /* Without a readable index nothing tells an orphan from a running
         * configuration: then remove nothing. */
        if (read_index_text(s, &text, &len) < 0)
                return;
        char err[256];
        if (rk_store_index_parse(text, len, &idx, err, sizeof err) < 0)
                return;
        (void) gc_objects(s, &idx);
}

static uint64_t lock_timeout_ms(void) {
        /* Tests shorten the wait; the environment is read here so that every
         * program gets the same knob without a config key. */
        uint64_t t;
        const char *e = getenv("RESETKIT_LOCK_TIMEOUT_MS");
        if (e && rk_parse_uint64(e, &t) == 0)
                return t;
        return RK_STORE_LOCK_TIMEOUT_MS;
}

static int take_lock(struct rk_store *s) {
        uint64_t timeout = lock_timeout_ms();
        pid_t holder = 0;
        int fd = RK_FAIL("store:lock");
        if (fd >= 0)
                fd = rk_lock_take(s->dir_fd, RK_STORE_LOCK, LOCK_EX, timeout, &holder);
        if (fd >= 0) {
                s->lock_fd = fd;
                return 0;
        }
        if (fd == -EBUSY || fd == -EWOULDBLOCK) {
                char who[64] = "another writer";
                if (holder > 0)
                        snprintf(who, sizeof who, "another writer (pid %d)", (int) holder);
                rk_err(LOG(s), "%s/" RK_STORE_LOCK ": held by %s; gave up after %llu ms; the store is unchanged",
                       s->path, who, (unsigned long long) timeout);
                return -EBUSY;
        }
        return rk_log_errno(LOG(s), fd, "%s/" RK_STORE_LOCK ": cannot take the lock: %s", s->path, strerror(-fd));
}

int rk_store_open(struct rk_ctx *ctx, unsigned flags, struct rk_store **ret) {
        return rk_store_open_dir(ctx, ctx->cfg.store_dir, flags, ret);
}

int rk_store_open_dir(struct rk_ctx *ctx, const char *dir, unsigned flags, struct rk_store **ret) {
        struct rk_store *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (struct rk_store) { .ctx = ctx, .flags = flags, .dir_fd = -1, .objects_fd = -1, .lock_fd = -1 };
        _cleanup_store_ struct rk_store *owned = s;
        const char *rel = rk_path_relative(dir);
        int r;

        s->path = ctx->root.is_host ? strdup(dir) : rk_path_join(ctx->root.path, rel);
        if (!s->path)
                return -ENOMEM;
        int fd = rk_openat2(ctx->root.fd, rel, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
        if (fd == -ENOENT && (flags & RK_STORE_CREATE)) {
                r = create_dir(s, rel);
                if (r == -ELOOP || r == -ENOTDIR || r == -EXDEV)
                        return open_failed(s, r, s->path);
                if (r < 0)
                        return rk_log_errno(LOG(s), r, "%s: cannot create the configuration store: %s",
                                            s->path, strerror(-r));
                fd = rk_openat2(ctx->root.fd, rel, O_RDONLY | O_DIRECTORY, 0, RK_RESOLVE_STRICT);
        }
        if (fd == -ENOENT) {
                /* no store yet: it reads as empty; writers that need an
                 * existing configuration fail with "no such ..." */
                *ret = RK_TAKE_PTR(owned);
                return 0;
        }
        if (fd < 0)
                return open_failed(s, fd, s->path);
        s->dir_fd = fd;
        r = check_dir_safe(s, fd, s->path);
        if (r < 0)
                return r;
        if (flags & RK_STORE_WRITE) {
                r = take_lock(s);
                if (r < 0)
                        return r;
        }
        r = open_objects(s);
        if (r < 0)
                return r;
        if (flags & RK_STORE_WRITE)
                cleanup_after_crash(s);
        *ret = RK_TAKE_PTR(owned);
        return 0;
}

void rk_store_close(struct rk_store *s) {
        if (!s)
                return;
        rk_closep(&s->objects_fd);
        rk_closep(&s->dir_fd);
        rk_lock_release(s->lock_fd);
        free(s->path);
        free(s);
}

/* ---- reading ---------------------------------------------------------- */

static int read_index_text(struct rk_store *s, char **ret, size_t *ret_len) {
        if (s->dir_fd < 0)
                return -ENOENT;
        return rk_read_at(s->dir_fd, RK_STORE_INDEX, RK_RESOLVE_STRICT, RK_STORE_INDEX_MAX, ret, ret_len);
}

static int parse_index_text(struct rk_store *s, const char *text, size_t len, struct rk_store_index *ret) {
        char err[512];
        int r = rk_store_index_parse(text, len, ret, err, sizeof err);
        if (r == -EBADMSG)
                rk_err(LOG(s), "%s/" RK_STORE_INDEX ": corrupt: %s; no configuration is loaded from it and "
                       "nothing is changed (a factory reset rebuilds the store)", s->path, err);
        return r;
}

static int index_read_failed(struct rk_store *s, int r) {
        if (r == -EFBIG) {
                rk_err(LOG(s), "%s/" RK_STORE_INDEX ": corrupt: larger than %d bytes; no configuration is "
                       "loaded from it and nothing is changed", s->path, RK_STORE_INDEX_MAX);
                return -EBADMSG;
        }
        return rk_log_errno(LOG(s), r, "%s/" RK_STORE_INDEX ": cannot read: %s", s->path, strerror(-r));
}

int rk_store_read_index(struct rk_store *s, struct rk_store_index *ret) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_index_text(s, &text, &len);
        if (r == -ENOENT) {
                *ret = (struct rk_store_index) {};
                return 0;
        }
        if (r < 0)
                return index_read_failed(s, r);
        return parse_index_text(s, text, len, ret);
}

/* -ENOENT (unlogged) when the object file is missing, so that a reader can
 * tell a concurrent commit from a damaged store. */
static int load_object(struct rk_store *s, const struct rk_store_entry *e, const char *name,
                       char **ret_data, size_t *ret_len) {
        char file[RK_SHA256_HEX_LEN + 8], actual[RK_SHA256_HEX_LEN + 1];
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        snprintf(file, sizeof file, "%s.json", e->sha256);
        r = s->objects_fd < 0 ? -ENOENT :
                rk_read_at(s->objects_fd, file, RK_RESOLVE_STRICT, RK_STORE_MAX_SIZE, &data, &len);
        if (r == -ENOENT)
                return r;
        if (r == -EFBIG) {
                rk_err(LOG(s), "%s/" RK_STORE_OBJECTS "/%s: corrupt: larger than the %u-byte limit; the %s "
                       "configuration is not loaded", s->path, file, RK_STORE_MAX_SIZE, name);
                return -EBADMSG;
        }
        if (r == -ELOOP || r == -EINVAL || r == -EISDIR) {
                /* objects are regular files we wrote: anything else was put there */
                rk_err(LOG(s), "%s/" RK_STORE_OBJECTS "/%s: corrupt: not a regular file (%s); the %s "
                       "configuration is not loaded", s->path, file,
                       r == -ELOOP ? "a symbolic link" : r == -EISDIR ? "a directory" : "a special file", name);
                return -EBADMSG;
        }
        if (r < 0)
                return rk_log_errno(LOG(s), r, "%s/" RK_STORE_OBJECTS "/%s: cannot read the %s configuration: %s",
                                    s->path, file, name, strerror(-r));
        r = rk_sha256_hex(data, len, actual);
        if (r < 0)
                return rk_log_errno(LOG(s), r, "SHA-256 failed");
        if (strcmp(actual, e->sha256) != 0 || len != e->size) {
                rk_err(LOG(s), "%s/" RK_STORE_OBJECTS "/%s: corrupt: SHA-256 %s and size %zu, but "
                       RK_STORE_INDEX " records SHA-256 %s and size %llu; the %s configuration is not loaded",
                       s->path, file, actual, len, e->sha256, (unsigned long long) e->size, name);
                return -EBADMSG;
        }
        *ret_data = RK_TAKE_PTR(data);
        if (ret_len)
                *ret_len = len;
        return 0;
}

static int object_missing(struct rk_store *s, const struct rk_store_entry *e, const char *name) {
        rk_err(LOG(s), "%s/" RK_STORE_OBJECTS "/%s.json: missing, but " RK_STORE_INDEX " names it as the %s "
               "configuration; it is not loaded", s->path, e->sha256, name);
        return -EBADMSG;
}

int rk_store_load_entry(struct rk_store *s, const struct rk_store_entry *e, const char *name,
                        char **ret_data, size_t *ret_len) {
        if (!e->present)
                return rk_log_errno(LOG(s), ENOENT, "%s: no %s configuration", s->path, name);
        int r = load_object(s, e, name, ret_data, ret_len);
        return r == -ENOENT ? object_missing(s, e, name) : r;
}

/* "running", "rescue", "backup-N" -> the entry in idx, or NULL */
static const struct rk_store_entry *lookup(const struct rk_store_index *idx, const char *name) {
        if (rk_streq(name, "running"))
                return &idx->running;
        if (rk_streq(name, "rescue"))
                return &idx->rescue;
        const char *n = rk_startswith(name, "backup-");
        unsigned i;
        if (n && rk_parse_uint(n, &i) == 0 && i >= 1 && i <= idx->n_backups)
                return &idx->backups[i - 1];
        return NULL;
}

static int no_such(struct rk_store *s, const struct rk_store_index *idx, const char *name) {
        if (rk_startswith(name, "backup-"))
                return rk_log_errno(LOG(s), ENOENT, "%s: no %s: the store holds %zu backup%s", s->path,
                                    name, idx->n_backups, idx->n_backups == 1 ? "" : "s");
        return rk_log_errno(LOG(s), ENOENT, "%s: no %s configuration", s->path, name);
}

int rk_store_load(struct rk_store *s, const char *name, struct rk_store_entry *ret_entry,
                  char **ret_data, size_t *ret_len) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_index_text(s, &text, &len);

        for (unsigned attempt = 0;; attempt++) {
                _cleanup_index_ struct rk_store_index idx = {};
                if (r == -ENOENT)
                        return no_such(s, &idx, name);
                if (r < 0)
                        return index_read_failed(s, r);
                r = parse_index_text(s, text, len, &idx);
                if (r < 0)
                        return r;
                const struct rk_store_entry *e = lookup(&idx, name);
                if (!e || !e->present)
                        return no_such(s, &idx, name);
                r = load_object(s, e, name, ret_data, ret_len);
                if (r == -ENOENT) {
                        /* A writer may have replaced the index and removed the
                         * object between our two reads: read the index again
                         * and retry if it changed. */
                        _cleanup_free_ char *again = NULL;
                        size_t alen = 0;
                        int r2 = read_index_text(s, &again, &alen);
                        if (attempt < RK_STORE_READ_RETRIES && r2 >= 0 &&
                            (alen != len || memcmp(again, text, len) != 0)) {
                                free(text);
                                text = RK_TAKE_PTR(again);
                                len = alen;
                                r = 0;
                                continue;
                        }
                        return object_missing(s, e, name);
                }
                if (r < 0)
                        return r;
                if (ret_entry && (r = entry_copy(ret_entry, e)) < 0) {
                        free(*ret_data);
                        *ret_data = NULL;
                        return r;
                }
                return 0;
        }
}

static struct rk_store_entry *index_entry(struct rk_store_index *idx, size_t i, char name[static 32]) {
        snprintf(name, 32, i == 0 ? "running" : i == 1 ? "rescue" : "backup-%zu", i - 1);
        return i == 0 ? &idx->running : i == 1 ? &idx->rescue : &idx->backups[i - 2];
}

/* Each entry's status: 0, -EBADMSG (damage, logged) or -ENOENT (a missing
 * object, not logged yet: it may be a concurrent commit). */
static bool verify_index(struct rk_store *s, struct rk_store_index *idx) {
        bool missing = false;
        for (size_t i = 0; i < idx->n_backups + 2; i++) {
                char name[32];
                struct rk_store_entry *e = index_entry(idx, i, name);
                _cleanup_free_ char *data = NULL;
                if (!e->present)
                        continue;
                e->status = load_object(s, e, name, &data, NULL);
                if (e->status == -ENOENT)
                        missing = true;
        }
        return missing;
}

int rk_store_verify(struct rk_store *s, struct rk_store_index *ret) {
        for (unsigned attempt = 0;; attempt++) {
                _cleanup_free_ char *text = NULL, *again = NULL;
                _cleanup_index_ struct rk_store_index idx = {};
                size_t len = 0, alen = 0;
                int r = read_index_text(s, &text, &len), bad = 0;
                if (r == -ENOENT) {
                        *ret = (struct rk_store_index) {};
                        return 0;
                }
                if (r < 0)
                        return index_read_failed(s, r);
                r = parse_index_text(s, text, len, &idx);
                if (r < 0)
                        return r;
                /* a concurrent commit removes objects only after it replaced
                 * the index: if the index changed, look again */
                if (verify_index(s, &idx) && attempt < RK_STORE_READ_RETRIES &&
                    read_index_text(s, &again, &alen) >= 0 && (alen != len || memcmp(again, text, len) != 0))
                        continue;
                for (size_t i = 0; i < idx.n_backups + 2; i++) {
                        char name[32];
                        struct rk_store_entry *e = index_entry(&idx, i, name);
                        if (e->present && e->status == -ENOENT)
                                e->status = object_missing(s, e, name);
                        if (e->present && e->status < 0)
                                bad = e->status == -EBADMSG || bad == 0 ? e->status : bad;
                }
                *ret = idx;
                idx = (struct rk_store_index) {};
                return bad;
        }
}

/* ---- writing ---------------------------------------------------------- */

static int require_writer(struct rk_store *s) {
        if (!(s->flags & RK_STORE_WRITE))
                return -EBADF;  /* a programming error: opened read-only */
        return 0;
}

static int require_dir(struct rk_store *s) {
        if (s->dir_fd >= 0 && s->objects_fd >= 0)
                return 0;
        return rk_log_errno(LOG(s), ENOENT, "%s: the configuration store does not exist", s->path);
}

static int write_object(struct rk_store *s, const char *data, size_t len, const char *sha) {
        char file[RK_SHA256_HEX_LEN + 8];
        snprintf(file, sizeof file, "%s.json", sha);

        /* Content-addressed: an intact object with this name already holds
         * exactly these bytes; a damaged one is replaced. */
        _cleanup_free_ char *old = NULL;
        size_t olen;
        char osha[RK_SHA256_HEX_LEN + 1];
        if (rk_read_at(s->objects_fd, file, RK_RESOLVE_STRICT, RK_STORE_MAX_SIZE, &old, &olen) == 0 &&
            rk_sha256_hex(old, olen, osha) == 0 && strcmp(osha, sha) == 0)
                return 0;
        int r = RK_FAIL("store:write-object");
        if (r >= 0)
                r = rk_write_atomic_at(s->objects_fd, file, data, len, 0600);
        if (r < 0)
                return rk_log_errno(LOG(s), r, "%s/" RK_STORE_OBJECTS "/%s: cannot write: %s; the running "
                                    "configuration is unchanged", s->path, file, strerror(-r));
        RK_FAULT("store:object-written");
        return 0;
}

/* The one atomic switch of every writer. */
static int write_index(struct rk_store *s, const struct rk_store_index *idx) {
        _cleanup_free_ char *text = NULL;
        int r = rk_store_index_format(idx, &text);
        if (r < 0)
                return rk_log_errno(LOG(s), r, "out of memory");
        RK_FAULT("store:index-formatted");
        r = RK_FAIL("store:write-index");
        if (r >= 0)
                r = rk_write_atomic_at(s->dir_fd, RK_STORE_INDEX, text, strlen(text), 0600);
        if (r < 0)
                return rk_log_errno(LOG(s), r, "%s/" RK_STORE_INDEX ": cannot write: %s; the store is unchanged",
                                    s->path, strerror(-r));
        RK_FAULT("store:index-written");
        return 0;
}

static bool is_object_name(const char *n) {
        char sha[RK_SHA256_HEX_LEN + 1];
        if (strlen(n) != RK_SHA256_HEX_LEN + 5 || !rk_endswith(n, ".json"))
                return false;
        memcpy(sha, n, RK_SHA256_HEX_LEN);
        sha[RK_SHA256_HEX_LEN] = 0;
        return rk_sha256_hex_valid(sha);
}

/* Remove objects idx does not name.  Returns how many, or the first error
 * after trying them all.  Commits only warn about a failure (the index is
 * already the truth, and the next writer tries again); the factory reset
 * fails, because what is left may hold secrets. */
static int gc_objects(struct rk_store *s, const struct rk_store_index *idx) {
        DIR *d;
        int r = rk_opendir_at(s->objects_fd, &d);
        if (r < 0)
                return r;
        RK_FAULT("store:gc-start");
        unsigned removed = 0;
        int failed = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!is_object_name(de->d_name))
                        continue;
                char sha[RK_SHA256_HEX_LEN + 1];
                memcpy(sha, de->d_name, RK_SHA256_HEX_LEN);
                sha[RK_SHA256_HEX_LEN] = 0;
                if (rk_store_index_references(idx, sha))
                        continue;
                int k = RK_FAIL("store:unlink");
                if (k >= 0 && unlinkat(s->objects_fd, de->d_name, 0) < 0)
                        k = -errno;
                if (k < 0) {
                        if (!failed)
                                failed = k;
                        rk_warn(LOG(s), "%s/" RK_STORE_OBJECTS "/%s: cannot remove: %s", s->path, de->d_name,
                                strerror(-k));
                        continue;
                }
                removed++;
                RK_FAULT("store:object-removed");
        }
        closedir(d);
        if (removed > 0)
                (void) rk_fsync_dir(s->objects_fd);
        RK_FAULT("store:gc-done");
        return failed ? failed : (int) removed;
}

static char **strv_of(char *a) {
        char **v = calloc(2, sizeof(char *));
        if (v && !(v[0] = strdup(a))) {
                free(v);
                return NULL;
        }
        return v;
}

/* validate-command sees exactly the bytes that will be committed: a private
 * copy in the store, not the caller's file, which could change meanwhile. */
/* A configured command this store was opened not to run: say so, once per
 * command, with the reason. */
static bool command_skipped(struct rk_store *s, const char *key, const char *cmd) {
        if (rk_isempty(cmd))
                return true;
        if (!(s->flags & RK_STORE_NO_COMMANDS))
                return false;
        if (!s->ctx->root.is_host)
                rk_notice(LOG(s), "%s '%s' skipped: it comes from the configuration of --root %s, which is not "
                          "this system, and would run on this machine", key, cmd, s->ctx->root.path);
        else
                rk_notice(LOG(s), "%s '%s' skipped: the factory reset runs no configured command", key, cmd);
        return true;
}

static int run_validate(struct rk_store *s, const char *data, size_t len, const char *what) {
        const char *cmd = s->ctx->cfg.validate_command;
        if (command_skipped(s, "validate-command", cmd))
                return 0;
        (void) unlinkat(s->dir_fd, RK_STORE_CANDIDATE, 0);
        int r = RK_FAIL("store:candidate");
        if (r < 0)
                return rk_log_errno(LOG(s), r, "%s/" RK_STORE_CANDIDATE ": cannot create: %s", s->path, strerror(-r));
        _cleanup_close_ int fd = openat(s->dir_fd, RK_STORE_CANDIDATE,
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return rk_log_errno(LOG(s), errno, "%s/" RK_STORE_CANDIDATE ": cannot create: %m", s->path);
        r = rk_write_all(fd, data, len);
        if (r < 0) {
                (void) unlinkat(s->dir_fd, RK_STORE_CANDIDATE, 0);
                return rk_log_errno(LOG(s), r, "%s/" RK_STORE_CANDIDATE ": cannot write: %s", s->path, strerror(-r));
        }
        _cleanup_free_ char *path = rk_path_join(s->path, RK_STORE_CANDIDATE);
        _cleanup_strv_free_ char **argv = path ? strv_of(path) : NULL;
        int status = 0;
        r = argv ? rk_exec_command_timeout(cmd, argv, LOG(s), RK_STORE_COMMAND_TIMEOUT_MS, &status) : -ENOMEM;
        (void) unlinkat(s->dir_fd, RK_STORE_CANDIDATE, 0);
        if (r < 0) {
                rk_err(LOG(s), "%s: validate-command '%s' could not run: %s; the store is unchanged",
                       what, cmd, strerror(-r));
                return -EILSEQ;
        }
        if (status != 0) {
                rk_err(LOG(s), "%s: rejected by validate-command '%s' (exit status %d); the store is unchanged",
                       what, cmd, status);
                return -EILSEQ;
        }
        return 0;
}

static int run_apply(struct rk_store *s, const char *sha) {
        const char *cmd = s->ctx->cfg.apply_command;
        if (command_skipped(s, "apply-command", cmd))
                return 0;
        _cleanup_free_ char *path = rk_store_object_path(s, sha);
        _cleanup_strv_free_ char **argv = path ? strv_of(path) : NULL;
        if (!argv)
                return -ENOMEM;
        int status = 0;
        int r = rk_exec_command_timeout(cmd, argv, LOG(s), RK_STORE_COMMAND_TIMEOUT_MS, &status);
        if (r < 0 || status != 0) {
                char why[64];
                if (r < 0)
                        snprintf(why, sizeof why, "could not run: %s", strerror(-r));
                else
                        snprintf(why, sizeof why, "exit status %d", status);
                rk_err(LOG(s), "apply-command '%s' failed (%s): the new configuration IS committed and running "
                       "in the store, but it was not applied", cmd, why);
                return RK_STORE_APPLY_FAILED;
        }
        return 0;
}

/* Validate, write, switch, clean up, apply: the commit protocol.  what names
 * the document in messages (a path, "backup 2", "the rescue configuration"). */
static int commit(struct rk_store *s, const char *data, size_t len, const char *what, const char *origin) {
        char err[512], sha[RK_SHA256_HEX_LEN + 1];
        int r;

        if ((r = require_writer(s)) < 0)
                return r;
        r = rk_store_check_document(data, len, err, sizeof err);
        if (r < 0) {
                rk_err(LOG(s), "%s: %s; the store is unchanged", what, err);
                return r;
        }
        if ((r = require_dir(s)) < 0)
                return r;
        _cleanup_index_ struct rk_store_index idx = {};
        r = rk_store_read_index(s, &idx);
        if (r < 0)
                return r;
        r = run_validate(s, data, len, what);
        if (r < 0)
                return r;
        if ((r = rk_sha256_hex(data, len, sha)) < 0)
                return rk_log_errno(LOG(s), r, "SHA-256 failed");
        RK_FAULT("store:validated");

        r = write_object(s, data, len, sha);
        if (r < 0)
                return r;
        struct rk_store_entry e = { .present = true, .size = len, .time = time(NULL), .origin = (char *) origin };
        memcpy(e.sha256, sha, sizeof sha);
        r = rk_store_index_push(&idx, &e, s->ctx->cfg.backups);
        if (r < 0)
                return rk_log_errno(LOG(s), r, "out of memory");
        r = write_index(s, &idx);
        if (r < 0)
                return r;
        (void) gc_objects(s, &idx);
        rk_info(LOG(s), "committed %s as the running configuration (sha256 %s, %zu bytes)", what, sha, len);
        RK_FAULT("store:committed");
        return run_apply(s, sha);
}

int rk_store_commit_buffer(struct rk_store *s, const char *data, size_t len, const char *origin) {
        return commit(s, data, len, origin ? origin : "the configuration", origin ? origin : "commit");
}

int rk_store_commit_path(struct rk_store *s, const char *path) {
        _cleanup_free_ char *data = NULL, *origin = NULL;
        size_t len = 0;
        int r = require_writer(s);
        if (r < 0)
                return r;
        r = rk_read_at(AT_FDCWD, path, 0, RK_STORE_MAX_SIZE, &data, &len);
        switch (r) {
        case 0:
                break;
        case -EFBIG:
                rk_err(LOG(s), "%s: larger than the limit of %u bytes (16 MiB); the store is unchanged",
                       path, RK_STORE_MAX_SIZE);
                return -EILSEQ;
        case -EISDIR:
                return rk_log_errno(LOG(s), r, "%s: is a directory, expected a JSON file; the store is unchanged", path);
        case -EINVAL:
                return rk_log_errno(LOG(s), r, "%s: not a regular file; the store is unchanged", path);
        default:
                return rk_log_errno(LOG(s), r, "%s: cannot read: %s; the store is unchanged", path, strerror(-r));
        }
        if (asprintf(&origin, "commit %s", path) < 0)
                return -ENOMEM;
        return commit(s, data, len, path, origin);
}

int rk_store_rollback(struct rk_store *s, unsigned n) {
        char name[32], what[64], origin[32];
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = require_writer(s);
        if (r < 0)
                return r;
        snprintf(name, sizeof name, "backup-%u", n);
        r = rk_store_load(s, name, NULL, &data, &len);
        if (r < 0) {
                rk_err(LOG(s), "rollback %u failed; the store is unchanged", n);
                return r;
        }
        snprintf(what, sizeof what, "backup %u", n);
        snprintf(origin, sizeof origin, "rollback %u", n);
        return commit(s, data, len, what, origin);
}

int rk_store_rescue_load(struct rk_store *s) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = require_writer(s);
        if (r < 0)
                return r;
        r = rk_store_load(s, "rescue", NULL, &data, &len);
        if (r < 0) {
                rk_err(LOG(s), "rescue load failed; the store is unchanged");
                return r;
        }
        return commit(s, data, len, "the rescue configuration", "rescue load");
}

int rk_store_rescue_save(struct rk_store *s) {
        _cleanup_free_ char *data = NULL, *origin = NULL;
        _cleanup_entry_ struct rk_store_entry running = {};
        _cleanup_index_ struct rk_store_index idx = {};
        char err[512];
        size_t len = 0;
        int r = require_writer(s);
        if (r < 0)
                return r;
        /* only a configuration that verifies now, not merely one the index
         * names, may become the last resort */
        r = rk_store_load(s, "running", &running, &data, &len);
        if (r == 0 && (r = rk_store_check_document(data, len, err, sizeof err)) < 0)
                rk_err(LOG(s), "%s: the running configuration: %s", s->path, err);
        if (r < 0) {
                rk_err(LOG(s), "rescue save failed; the rescue configuration is unchanged");
                return r;
        }
        r = rk_store_read_index(s, &idx);
        if (r < 0)
                return r;
        if (!idx.running.present || strcmp(idx.running.sha256, running.sha256) != 0)
                return -EIO;    /* impossible under the lock */
        rk_store_entry_done(&idx.rescue);
        idx.rescue = (struct rk_store_entry) { .present = true, .size = len, .time = time(NULL) };
        memcpy(idx.rescue.sha256, running.sha256, sizeof running.sha256);
        if (asprintf(&origin, "rescue save (running: %s)", running.origin ? running.origin : "?") < 0)
                return -ENOMEM;
        idx.rescue.origin = RK_TAKE_PTR(origin);
        r = write_index(s, &idx);
        if (r < 0)
                return r;
        (void) gc_objects(s, &idx);
        rk_info(LOG(s), "saved the running configuration (sha256 %s) as the rescue configuration", running.sha256);
        return 0;
}

int rk_store_rescue_delete(struct rk_store *s) {
        _cleanup_index_ struct rk_store_index idx = {};
        int r = require_writer(s);
        if (r < 0)
                return r;
        r = rk_store_read_index(s, &idx);
        if (r < 0)
                return r;
        if (!idx.rescue.present) {
                rk_info(LOG(s), "%s: no rescue configuration; nothing to delete", s->path);
                return 0;
        }
        rk_store_entry_done(&idx.rescue);
        r = write_index(s, &idx);
        if (r < 0)
                return r;
        (void) gc_objects(s, &idx);
        rk_info(LOG(s), "deleted the rescue configuration");
        return 0;
}

/* The optional checksum shipped beside the factory configuration
 * ("<factory-config>.sha256", as sha256sum(1) writes it: the hex digest
 * first).  No file: nothing to check. */
static int check_factory_sum(struct rk_ctx *ctx, struct rk_log *log, const char *sha) {
        _cleanup_free_ char *sumpath = NULL, *text = NULL;
        const char *path = ctx->cfg.factory_config;
        if (asprintf(&sumpath, "%s.sha256", path) < 0)
                return -ENOMEM;
        int r = rk_read_at(ctx->root.fd, rk_path_relative(sumpath), RK_RESOLVE_ROOTED, 4096, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return rk_log_errno(log, r, "factory configuration checksum %s (in %s): cannot read: %s",
                                    sumpath, ctx->root.path, strerror(-r));
        text[strcspn(text, " \t\r\n")] = 0;
        if (!rk_sha256_hex_valid(text)) {
                rk_err(log, "factory configuration checksum %s (in %s): not a SHA-256 digest", sumpath, ctx->root.path);
                return -EBADMSG;
        }
        if (strcasecmp(text, sha) != 0) {
                rk_err(log, "factory configuration %s (in %s): SHA-256 %s, but %s records %s: damaged, not used",
                       path, ctx->root.path, sha, sumpath, text);
                return -EBADMSG;
        }
        return 0;
}

static int read_factory(struct rk_ctx *ctx, struct rk_log *log, struct rk_store_entry *ret_entry,
                        char **ret_data, size_t *ret_len) {
        const char *path = ctx->cfg.factory_config;
        _cleanup_close_ int fd = rk_openat2(ctx->root.fd, rk_path_relative(path), O_RDONLY | O_NOCTTY, 0,
                                            RK_RESOLVE_ROOTED);
        _cleanup_free_ char *data = NULL;
        struct rk_store_entry e = {};
        struct stat st;
        size_t len = 0;
        char err[512];
        int r = fd;
        if (r >= 0)
                r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r >= 0)
                r = rk_read_fd(fd, RK_STORE_MAX_SIZE, &data, &len);
        if (r < 0)
                return rk_log_errno(log, r, "factory configuration %s (in %s): cannot read: %s", path,
                                    ctx->root.path, r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
        r = rk_store_check_document(data, len, err, sizeof err);
        if (r < 0) {
                rk_err(log, "factory configuration %s (in %s): %s", path, ctx->root.path, err);
                return r;
        }
        e = (struct rk_store_entry) { .present = true, .size = len, .time = st.st_mtime };
        if ((r = rk_sha256_hex(data, len, e.sha256)) < 0)
                return r;
        if ((r = check_factory_sum(ctx, log, e.sha256)) < 0)
                return r;
        if (!(e.origin = strdup("factory")))
                return -ENOMEM;
        *ret_entry = e;
        *ret_data = RK_TAKE_PTR(data);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int rk_store_read_factory(struct rk_store *s, bool quiet, struct rk_store_entry *ret_entry,
                          char **ret_data, size_t *ret_len) {
        return read_factory(s->ctx, quiet ? NULL : LOG(s), ret_entry, ret_data, ret_len);
}

int rk_store_check_factory(struct rk_ctx *ctx, struct rk_store_entry *ret_entry) {
        _cleanup_free_ char *data = NULL;
        return read_factory(ctx, &ctx->log, ret_entry, &data, NULL);
}

int rk_store_health(struct rk_ctx *ctx) {
        _cleanup_store_ struct rk_store *s = NULL;
        int r = rk_store_open(ctx, RK_STORE_QUIET, &s);
        if (r < 0)
                return r;
        struct rk_store_index idx = {};
        r = rk_store_verify(s, &idx);
        rk_store_index_done(&idx);
        return r;
}

int rk_store_factory_reset(struct rk_store *s) {
        _cleanup_index_ struct rk_store_index idx = {};
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = require_writer(s);
        if (r < 0)
                return r;
        if ((r = require_dir(s)) < 0)
                return r;
        /* The old index is deliberately not read: whatever it says (even if
         * it is corrupt) is replaced, so a damaged store does not block the
         * last-resort reset.  The factory entry's time is the file's mtime,
         * so a second run writes a byte-identical index. */
        r = rk_store_read_factory(s, false, &idx.running, &data, &len);
        if (r < 0) {
                rk_err(LOG(s), "factory reset of the configuration store failed; the store is unchanged");
                return r;
        }
        r = write_object(s, data, len, idx.running.sha256);
        if (r < 0)
                return r;
        r = write_index(s, &idx);
        if (r < 0)
                return r;
        r = gc_objects(s, &idx);
        if (r < 0)
                return rk_log_errno(LOG(s), r, "%s/" RK_STORE_OBJECTS ": cannot remove the old configurations: %s",
                                    s->path, strerror(-r));
        rk_info(LOG(s), "configuration store reset: running is the factory configuration (sha256 %s), "
                "no backups, no rescue; %d old configuration file%s removed", idx.running.sha256, r,
                r == 1 ? "" : "s");
        return 0;
}
