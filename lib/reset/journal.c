/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "journal.h"

#include <fcntl.h>
#include <json-c/json.h>

#include "fault.h"
#include "fsutil.h"
#include "util.h"

#define JOURNAL_MAX_SIZE (4 * 1024 * 1024)

void rk_journal_init(struct rk_journal *j) {
        *j = (struct rk_journal) { .reserve_orig = -1 };
}

void rk_journal_free(struct rk_journal *j) {
        rk_manifest_free(&j->plan);
        free(j->then);
        free(j->reserve_fs);
        /* zeroing identity */
        free(j->offset_target);
        free(j->trigger);
        free(j->failed);
        rk_unreached_free(j->unreached, j->n_unreached);
        rk_media_free(j->media, j->n_media);
        rk_journal_init(j);
}

static void unreached_done(struct rk_unreached *u) {
        free(u->where);
        free(u->path);
        free(u->process);
}

void rk_unreached_free(struct rk_unreached *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                unreached_done(&v[i]);
        free(v);
}

int rk_unreached_add(struct rk_unreached **v, size_t *n, const struct rk_unreached *u) {
        struct rk_unreached c = { .where = strdup(u->where), .path = strdup(u->path), .bytes = u->bytes,
                                  .pid = u->pid, .process = strdup(u->process ? u->process : "?") };
        struct rk_unreached *nv = c.where && c.path && c.process ? realloc(*v, (*n + 1) * sizeof *nv) : NULL;
        if (!nv) {
                unreached_done(&c);
                return -ENOMEM;
        }
        nv[(*n)++] = c;
        *v = nv;
        return 0;
}

void rk_unreached_drop(struct rk_unreached *v, size_t *n, const char *where) {
        size_t k = 0;
        for (size_t i = 0; i < *n; i++) {
                if (strcmp(v[i].where, where) == 0)
                        unreached_done(&v[i]);
                else
                        v[k++] = v[i];
        }
        *n = k;
}

void rk_reset_record_free(struct rk_reset_record *rec) {
        rk_unreached_free(rec->unreached, rec->n_unreached);
        rec->unreached = NULL;
        rec->n_unreached = 0;
}

bool rk_journal_is_failed(const struct rk_journal *j, size_t idx) {
        for (size_t i = 0; i < j->n_failed; i++)
                if (j->failed[i] == idx)
                        return true;
        return false;
}

int rk_journal_set_failed(struct rk_journal *j, size_t idx, bool failed) {
        size_t i = 0;
        while (i < j->n_failed && j->failed[i] < idx)
                i++;
        bool present = i < j->n_failed && j->failed[i] == idx;
        if (present && !failed) {
                memmove(j->failed + i, j->failed + i + 1, (j->n_failed - i - 1) * sizeof *j->failed);
                j->n_failed--;
        } else if (!present && failed) {
                size_t *n = realloc(j->failed, (j->n_failed + 1) * sizeof *n);
                if (!n)
                        return -ENOMEM;
                j->failed = n;
                memmove(n + i + 1, n + i, (j->n_failed - i) * sizeof *n);
                n[i] = idx;
                j->n_failed++;
        }
        return 0;
}

static void json_put_free(json_object **o) { json_object_put(*o); }
#define _cleanup_json_ _cleanup_(json_put_free)

static json_object *entry_to_json(const struct rk_mf_entry *e) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "action", json_object_new_string(rk_mf_action_name(e->action)));
        json_object_object_add(o, "path", json_object_new_string(e->path ? e->path : "-"));
        if (e->arg)
                json_object_object_add(o, "arg", json_object_new_string(e->arg));
        json_object_object_add(o, "number", json_object_new_int64(e->number));
        json_object_object_add(o, "file", json_object_new_string(e->file ? e->file : ""));
        json_object_object_add(o, "line", json_object_new_int64(e->line));
        return o;
}

/* The attempts block: its own keys, so older journals (without it) still
 * parse as one attempt with nothing failed. */
json_object *rk_unreached_json(const struct rk_unreached *v, size_t n, const char *where_key) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < n; i++) {
                json_object *u = json_object_new_object();
                if (!u || json_object_array_add(arr, u) < 0) {
                        json_object_put(u);
                        json_object_put(arr);
                        return NULL;
                }
                json_object_object_add(u, where_key, json_object_new_string(v[i].where));
                json_object_object_add(u, "path", json_object_new_string(v[i].path));
                json_object_object_add(u, "bytes", json_object_new_int64((int64_t) v[i].bytes));
                json_object_object_add(u, "pid", json_object_new_int(v[i].pid));
                json_object_object_add(u, "process", json_object_new_string(v[i].process));
        }
        return arr;
}

/* "not-reached": [ {where, path, bytes, pid, process}, ... ], only when
 * there is one. */
static int unreached_to_json(const struct rk_unreached *v, size_t n, json_object *o) {
        if (n == 0)
                return 0;
        json_object *arr = rk_unreached_json(v, n, "where");
        if (!arr)
                return -ENOMEM;
        json_object_object_add(o, "not-reached", arr);
        return 0;
}

static int get_int(json_object *o, const char *key, int64_t *ret);

/* "media": [...] (only when there is one) and "removed": {...}: the
 * certificate's record of what earlier attempts did */
static int cert_to_json(const struct rk_journal *j, json_object *o) {
        json_object *rm = json_object_new_object();
        if (!rm)
                return -ENOMEM;
        json_object_object_add(rm, "files", json_object_new_int64((int64_t) j->removed.files));
        json_object_object_add(rm, "bytes", json_object_new_int64((int64_t) j->removed.bytes));
        json_object_object_add(rm, "users", json_object_new_int64((int64_t) j->removed.users));
        json_object_object_add(rm, "passwords", json_object_new_int64((int64_t) j->removed.passwords));
        json_object_object_add(o, "removed", rm);
        if (j->n_media == 0)
                return 0;
        json_object *arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;
        json_object_object_add(o, "media", arr);
        for (size_t i = 0; i < j->n_media; i++) {
                json_object *m = rk_media_to_json(&j->media[i], true);
                if (!m)
                        return -ENOMEM;
                json_object_array_add(arr, m);
        }
        return 0;
}

static int cert_from_json(struct rk_journal *j, json_object *o, char *err, size_t errlen) {
        json_object *rm, *arr;
        if (json_object_object_get_ex(o, "removed", &rm)) {
                int64_t v[4];
                static const char *const k[4] = { "files", "bytes", "users", "passwords" };
                for (size_t i = 0; i < 4; i++)
                        if (get_int(rm, k[i], &v[i]) < 0 || v[i] < 0) {
                                snprintf(err, errlen, "\"removed\" malformed");
                                return -EBADMSG;
                        }
                j->removed = (struct rk_cert_removed) { (uint64_t) v[0], (uint64_t) v[1], (uint64_t) v[2],
                                                        (uint64_t) v[3] };
        }
        if (!json_object_object_get_ex(o, "media", &arr))
                return 0;
        if (!json_object_is_type(arr, json_type_array)) {
                snprintf(err, errlen, "\"media\" is not a list");
                return -EBADMSG;
        }
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct rk_media m;
                int r = rk_media_from_json(json_object_array_get_idx(arr, i), &m);
                if (r < 0 || m.entry >= j->plan.n) {
                        if (r == 0)
                                rk_media_done(&m);
                        snprintf(err, errlen, "\"media\" item %zu malformed", i + 1);
                        return r < 0 ? r : -EBADMSG;
                }
                r = rk_media_set(&j->media, &j->n_media, &m);
                rk_media_done(&m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int format_attempts(const struct rk_journal *j, json_object *o) {
        json_object *failed = json_object_new_array();
        if (!failed)
                return -ENOMEM;
        for (size_t i = 0; i < j->n_failed; i++)
                json_object_array_add(failed, json_object_new_int64((int64_t) j->failed[i]));
        json_object_object_add(o, "failed", failed);
        json_object_object_add(o, "attempts", json_object_new_int64(j->attempts));
        json_object_object_add(o, "current", json_object_new_int64((int64_t) j->current));
        return 0;
}

int rk_journal_format(const struct rk_journal *j, char **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *entries = json_object_new_array();
        if (!o || !entries) {
                json_object_put(entries);
                return -ENOMEM;
        }
        json_object_object_add(o, "version", json_object_new_int(RK_JOURNAL_VERSION));
        json_object_object_add(o, "state", json_object_new_string(j->requested ? "requested" :
                                                                  j->failed_state ? "failed" : "in-progress"));
        if (j->trigger)
                json_object_object_add(o, "trigger", json_object_new_string(j->trigger));
        json_object_object_add(o, "started", json_object_new_int64((int64_t) j->started));
        json_object_object_add(o, "then", json_object_new_string(j->then ? j->then : "none"));
        json_object_object_add(o, "zeroize", json_object_new_boolean(j->zeroize));
        json_object_object_add(o, "next", json_object_new_int64((int64_t) j->next));
        json_object_object_add(o, "offset", json_object_new_int64((int64_t) j->offset));
        if (j->reserve_orig >= 0 && j->reserve_fs) {
                json_object_object_add(o, "reserve-orig", json_object_new_int64(j->reserve_orig));
                json_object_object_add(o, "reserve-fs", json_object_new_string(j->reserve_fs));
        }
        if (format_attempts(j, o) < 0 || unreached_to_json(j->unreached, j->n_unreached, o) < 0 ||
            cert_to_json(j, o) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < j->plan.n; i++) {
                json_object *e = entry_to_json(&j->plan.entries[i]);
                if (!e)
                        return -ENOMEM;
                json_object_array_add(entries, e);
        }
        json_object_object_add(o, "entries", entries);
        /* zeroing identity */
        if (j->offset_target)
                json_object_object_add(o, "offset-target", json_object_new_string(j->offset_target));
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || !(*ret = malloc(strlen(s) + 2)))
                return -ENOMEM;
        sprintf(*ret, "%s\n", s);
        return 0;
}

static int get_string(json_object *o, const char *key, const char **ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = json_object_get_string(v);
        return 0;
}

static int get_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        *ret = json_object_get_int64(v);
        return 0;
}

static int unreached_from_json(json_object *o, struct rk_unreached **v, size_t *n, char *err, size_t errlen) {
        json_object *arr;
        if (!json_object_object_get_ex(o, "not-reached", &arr))
                return 0;
        if (!json_object_is_type(arr, json_type_array)) {
                snprintf(err, errlen, "\"not-reached\" is not a list");
                return -EBADMSG;
        }
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *u = json_object_array_get_idx(arr, i);
                struct rk_unreached x = {};
                const char *where, *path, *process;
                int64_t bytes, pid;
                if (!json_object_is_type(u, json_type_object) || get_string(u, "where", &where) < 0 ||
                    get_string(u, "path", &path) < 0 || get_string(u, "process", &process) < 0 ||
                    get_int(u, "bytes", &bytes) < 0 || get_int(u, "pid", &pid) < 0 || bytes < 0 ||
                    pid <= 0 || pid > INT32_MAX) {
                        snprintf(err, errlen, "\"not-reached\" item %zu malformed", i + 1);
                        return -EBADMSG;
                }
                x = (struct rk_unreached) { .where = (char *) where, .path = (char *) path, .bytes = (uint64_t) bytes,
                                            .pid = (int) pid, .process = (char *) process };
                if (rk_unreached_add(v, n, &x) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int action_from_name(const char *s, enum rk_mf_action *ret) {
        int a = rk_mf_action_from_name(s);
        if (a < 0)
                return -EBADMSG;
        *ret = (enum rk_mf_action) a;
        return 0;
}

static int parse_attempts(struct rk_journal *j, json_object *o, size_t n, char *err, size_t errlen) {
        json_object *failed;
        int64_t v;
        j->attempts = 1;
        j->current = j->next;
        if (get_int(o, "attempts", &v) == 0) {
                if (v < 0 || v > 1000) {
                        snprintf(err, errlen, "attempts %lld out of range", (long long) v);
                        return -EBADMSG;
                }
                j->attempts = (unsigned) v;
        }
        if (get_int(o, "current", &v) == 0) {
                if (v < 0 || (uint64_t) v > n) {
                        snprintf(err, errlen, "current entry %lld beyond the %zu entries", (long long) v, n);
                        return -EBADMSG;
                }
                j->current = (size_t) v;
        }
        if (!json_object_object_get_ex(o, "failed", &failed))
                return 0;
        if (!json_object_is_type(failed, json_type_array)) {
                snprintf(err, errlen, "\"failed\" is not a list");
                return -EBADMSG;
        }
        for (size_t i = 0; i < json_object_array_length(failed); i++) {
                json_object *x = json_object_array_get_idx(failed, i);
                int64_t idx = json_object_get_int64(x);
                if (!json_object_is_type(x, json_type_int) || idx < 0 || (uint64_t) idx >= n) {
                        snprintf(err, errlen, "failed entry %zu is not an entry index", i + 1);
                        return -EBADMSG;
                }
                if (rk_journal_set_failed(j, (size_t) idx, true) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int entry_from_json(json_object *o, struct rk_mf_entry *e) {
        const char *action, *path, *file, *arg = NULL;
        int64_t number, line;
        if (!json_object_is_type(o, json_type_object) || get_string(o, "action", &action) < 0 ||
            get_string(o, "path", &path) < 0 || get_string(o, "file", &file) < 0 ||
            get_int(o, "number", &number) < 0 || get_int(o, "line", &line) < 0 ||
            action_from_name(action, &e->action) < 0 || number < 0 || line < 0 ||
            number > UINT32_MAX || line > UINT32_MAX)
                return -EBADMSG;
        (void) get_string(o, "arg", &arg);
        e->number = (unsigned) number;
        e->line = (unsigned) line;
        if (!(e->path = strdup(path)) || !(e->file = strdup(file)) || (arg && !(e->arg = strdup(arg))))
                return -ENOMEM;
        return 0;
}

int rk_journal_parse(struct rk_journal *j, const char *text, char *err, size_t errlen) {
        _cleanup_json_ json_object *o = json_tokener_parse(text);
        int64_t version, next, offset, started, reserved;
        const char *state, *then, *rpath;
        json_object *entries, *zero;

        if (!o || !json_object_is_type(o, json_type_object)) {
                snprintf(err, errlen, "not a JSON object");
                return -EBADMSG;
        }
        if (get_int(o, "version", &version) < 0 || version != RK_JOURNAL_VERSION) {
                snprintf(err, errlen, "unknown journal version");
                return -EBADMSG;
        }
        if (get_string(o, "state", &state) < 0 ||
            (strcmp(state, "in-progress") != 0 && strcmp(state, "failed") != 0 && strcmp(state, "requested") != 0) ||
            get_string(o, "then", &then) < 0 || get_int(o, "next", &next) < 0 ||
            get_int(o, "offset", &offset) < 0 || get_int(o, "started", &started) < 0 ||
            !json_object_object_get_ex(o, "zeroize", &zero) ||
            !json_object_object_get_ex(o, "entries", &entries) ||
            !json_object_is_type(entries, json_type_array) || next < 0 || offset < 0) {
                snprintf(err, errlen, "missing or malformed fields");
                return -EBADMSG;
        }
        size_t n = json_object_array_length(entries);
        if ((size_t) next > n) {
                snprintf(err, errlen, "next step %lld beyond the %zu entries", (long long) next, n);
                return -EBADMSG;
        }
        j->plan.entries = calloc(n ? n : 1, sizeof(struct rk_mf_entry));
        if (!j->plan.entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = entry_from_json(json_object_array_get_idx(entries, i), &j->plan.entries[i]);
                j->plan.n = i + 1; /* so rk_journal_free() frees a partial entry */
                if (r < 0) {
                        snprintf(err, errlen, "entry %zu malformed", i + 1);
                        return r;
                }
        }
        if (strcmp(then, "reboot") != 0 && strcmp(then, "poweroff") != 0 && strcmp(then, "none") != 0) {
                snprintf(err, errlen, "unknown final action '%s'", then);
                return -EBADMSG;
        }
        j->plan.n = n;
        j->next = (size_t) next;
        j->offset = (uint64_t) offset;
        j->started = (uint64_t) started;
        j->zeroize = json_object_get_boolean(zero);
        j->failed_state = strcmp(state, "failed") == 0;
        j->requested = strcmp(state, "requested") == 0;
        if (!(j->then = strdup(then)))
                return -ENOMEM;
        const char *trigger;
        if (get_string(o, "trigger", &trigger) == 0 && !(j->trigger = strdup(trigger)))
                return -ENOMEM;
        if (j->requested && (j->next != 0 || j->offset != 0)) {
                snprintf(err, errlen, "a request that has already made progress");
                return -EBADMSG;
        }
        int r = parse_attempts(j, o, n, err, errlen);
        if (r < 0)
                return r;
        r = unreached_from_json(o, &j->unreached, &j->n_unreached, err, errlen);
        if (r < 0)
                return r;
        r = cert_from_json(j, o, err, errlen);
        if (r < 0)
                return r;
        if (get_int(o, "reserve-orig", &reserved) == 0 && get_string(o, "reserve-fs", &rpath) == 0) {
                j->reserve_orig = reserved;
                if (!(j->reserve_fs = strdup(rpath)))
                        return -ENOMEM;
        }
        /* zeroing identity: optional (an older journal has none, and its
         * offset is then not trusted) */
        const char *target;
        if (get_string(o, "offset-target", &target) == 0 && !(j->offset_target = strdup(target)))
                return -ENOMEM;
        return 0;
}

/* The journal's directory, created on demand (0700: it names what is being
 * wiped), and the file name inside it. */
static int open_dir(int root_fd, const char *path, bool create, const char **ret_name) {
        return rk_open_parent_at(root_fd, rk_path_relative(path), create ? 0700 : 0, ret_name);
}

int rk_journal_load(int root_fd, const char *path, struct rk_journal *j, char *err, size_t errlen) {
        _cleanup_free_ char *text = NULL;
        int r = rk_read_at(root_fd, rk_path_relative(path), RK_RESOLVE_STRICT, JOURNAL_MAX_SIZE, &text, NULL);
        if (r < 0) {
                snprintf(err, errlen, "%s: %s", path, strerror(-r));
                return r;
        }
        char why[256] = "";
        r = rk_journal_parse(j, text, why, sizeof why);
        if (r < 0) {
                snprintf(err, errlen, "%s: corrupt journal: %s", path, why);
                return r;
        }
        return 0;
}

int rk_journal_save(int root_fd, const char *path, const struct rk_journal *j) {
        const char *name;
        _cleanup_close_ int dfd = open_dir(root_fd, path, true, &name);
        if (dfd < 0)
                return dfd;
        _cleanup_free_ char *text = NULL;
        int r = rk_journal_format(j, &text);
        if (r < 0)
                return r;
        if ((r = RK_FAIL("journal:save")) < 0)
                return r;
        return rk_write_atomic_at(dfd, name, text, strlen(text), 0600);
}

/* The journal's directory if it is there: its fd, 0 when there is none
 * (nothing to clean up or remove), or a negative errno. */
static int open_existing_dir(int root_fd, const char *path, const char **ret_name) {
        int dfd = open_dir(root_fd, path, false, ret_name);
        return dfd == -ENOENT ? 0 : dfd;
}

int rk_journal_cleanup(int root_fd, const char *path) {
        const char *name;
        int r = open_existing_dir(root_fd, path, &name);
        if (r <= 0)
                return r;
        _cleanup_close_ int dfd = r;
        /* the rename never happened, so the old journal is the truth */
        return rk_remove_stale_temps(dfd);
}

int rk_journal_remove(int root_fd, const char *path) {
        const char *name;
        int r = open_existing_dir(root_fd, path, &name);
        if (r <= 0)
                return r;
        _cleanup_close_ int dfd = r;
        r = RK_FAIL("journal:remove");
        if (r < 0)
                return r;
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return rk_fsync_dir(dfd);
}

/* ---- the record of the last completed reset ------------------------------ */

int rk_journal_record_path(const char *journal, char **ret) {
        size_t n = strlen(journal);
        const char *suffix = ".journal";
        size_t k = strlen(suffix);
        if (n > k && strcmp(journal + n - k, suffix) == 0)
                return asprintf(ret, "%.*s.status", (int) (n - k), journal) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "%s.status", journal) < 0 ? -ENOMEM : 0;
}

int rk_journal_record_save(int root_fd, const char *journal, const struct rk_reset_record *rec) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r = rk_journal_record_path(journal, &path);
        if (r < 0)
                return r;
        _cleanup_json_ json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "version", json_object_new_int(RK_JOURNAL_VERSION));
        json_object_object_add(o, "state", json_object_new_string("complete"));
        json_object_object_add(o, "started", json_object_new_int64((int64_t) rec->started));
        json_object_object_add(o, "finished", json_object_new_int64((int64_t) rec->finished));
        json_object_object_add(o, "attempts", json_object_new_int64(rec->attempts));
        json_object_object_add(o, "entries", json_object_new_int64((int64_t) rec->entries));
        if (unreached_to_json(rec->unreached, rec->n_unreached, o) < 0)
                return -ENOMEM;
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(&text, "%s\n", s) < 0)
                return -ENOMEM;
        const char *name;
        _cleanup_close_ int dfd = open_dir(root_fd, path, true, &name);
        if (dfd < 0)
                return dfd;
        if ((r = RK_FAIL("journal:record")) < 0)
                return r;
        return rk_write_atomic_at(dfd, name, text, strlen(text), 0600);
}

int rk_journal_record_load(int root_fd, const char *journal, struct rk_reset_record *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r = rk_journal_record_path(journal, &path);
        if (r < 0)
                return r;
        r = rk_read_at(root_fd, rk_path_relative(path), RK_RESOLVE_STRICT, JOURNAL_MAX_SIZE, &text, NULL);
        if (r < 0)
                return r;
        _cleanup_json_ json_object *o = json_tokener_parse(text);
        const char *state;
        int64_t started, finished, attempts, entries;
        if (!o || get_string(o, "state", &state) < 0 || strcmp(state, "complete") != 0 ||
            get_int(o, "started", &started) < 0 || get_int(o, "finished", &finished) < 0 ||
            get_int(o, "attempts", &attempts) < 0 || get_int(o, "entries", &entries) < 0 ||
            started < 0 || finished < 0 || attempts < 0 || entries < 0)
                return -EBADMSG;
        *ret = (struct rk_reset_record) { .started = (uint64_t) started, .finished = (uint64_t) finished,
                                          .attempts = (unsigned) attempts, .entries = (size_t) entries };
        char why[128];
        r = unreached_from_json(o, &ret->unreached, &ret->n_unreached, why, sizeof why);
        if (r < 0)
                rk_reset_record_free(ret);
        return r;
}
