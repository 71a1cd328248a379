/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the configuration store (store.c): the pure index logic,
 * then the whole protocol on a temporary root under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "ctx.h"
#include "fsutil.h"
#include "store.h"

/* ---- fixture: a temporary root with a factory configuration ---------- */

struct fixture {
        char root[64];
        char store[160];
        struct rk_ctx ctx;
};

static const char FACTORY[] = "{ \"factory\": true }\n";

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        if (!f)
                return -1;
        strcpy(f->root, "/tmp/rk-test-store.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        snprintf(f->store, sizeof f->store, "%s/var/lib/resetkit/config", f->root);
        char p[256];
        int rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rootfd >= 0);
        int fd = rk_mkdir_p_at(rootfd, "usr/lib/resetkit", 0755);
        assert_true(fd >= 0);
        close(fd);
        close(rootfd);
        snprintf(p, sizeof p, "%s/usr/lib/resetkit/factory-config.json", f->root);
        write_file(p, FACTORY);

        rk_log_init(&f->ctx.log, "test-store");
        f->ctx.log.max_level = getenv("RESETKIT_DEBUG") ? LOG_DEBUG : LOG_CRIT;
        assert_int_equal(rk_config_init(&f->ctx.cfg), 0);
        f->ctx.cfg.backups = 3;
        assert_int_equal(rk_root_open(&f->ctx.root, f->root), 0);
        setenv("RESETKIT_LOCK_TIMEOUT_MS", "0", 1);
        *state = f;
        return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        struct fixture *f = *state;
        rk_config_free(&f->ctx.cfg);
        rk_root_close(&f->ctx.root);
        rk_log_close(&f->ctx.log);
        nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static struct rk_store *open_store(struct fixture *f, unsigned flags) {
        struct rk_store *s = NULL;
        assert_int_equal(rk_store_open(&f->ctx, flags, &s), 0);
        assert_non_null(s);
        return s;
}

static int commit_text(struct fixture *f, const char *text) {
        _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE | RK_STORE_CREATE);
        return rk_store_commit_buffer(s, text, strlen(text), "unit test");
}

static char *load(struct fixture *f, const char *name, int *ret) {
        _cleanup_store_ struct rk_store *s = open_store(f, 0);
        char *data = NULL;
        *ret = rk_store_load(s, name, NULL, &data, NULL);
        return data;
}

static void assert_loads(struct fixture *f, const char *name, const char *expect) {
        int r;
        _cleanup_free_ char *d = load(f, name, &r);
        assert_int_equal(r, 0);
        assert_string_equal(d, expect);
}

static size_t count_objects(struct fixture *f) {
        char p[256];
        snprintf(p, sizeof p, "%s/objects", f->store);
        DIR *d = opendir(p);
        assert_non_null(d);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

/* Every name, mode and byte below the store (but the lock file's pid), as
 * one string: "unchanged" means this string is equal before and after. */
static void snap_dir(const char *dir, char **acc) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent **list;
        int n = scandir(dir, &list, NULL, alphasort);
        closedir(d);
        for (int i = 0; i < n; i++) {
                const char *nm = list[i]->d_name;
                if (strcmp(nm, ".") && strcmp(nm, "..") && strcmp(nm, ".lock")) {
                        char p[512];
                        struct stat st;
                        snprintf(p, sizeof p, "%s/%s", dir, nm);
                        assert_int_equal(lstat(p, &st), 0);
                        char *content = NULL;
                        if (S_ISREG(st.st_mode))
                                assert_int_equal(rk_read_at(AT_FDCWD, p, 0, 1 << 26, &content, NULL), 0);
                        char *next;
                        assert_true(asprintf(&next, "%s%s %o [%s]\n", *acc, p, st.st_mode, content ? content : "") > 0);
                        free(content);
                        free(*acc);
                        *acc = next;
                        if (S_ISDIR(st.st_mode))
                                snap_dir(p, acc);
                }
                free(list[i]);
        }
        free(list);
}

static char *snapshot(struct fixture *f) {
        char *acc = strdup("");
        snap_dir(f->store, &acc);
        return acc;
}

static void corrupt_object(struct fixture *f, const char *name) {
        _cleanup_store_ struct rk_store *s = open_store(f, 0);
        struct rk_store_entry e = {};
        char *data = NULL;
        assert_int_equal(rk_store_load(s, name, &e, &data, NULL), 0);
        free(data);
        char p[512];
        snprintf(p, sizeof p, "%s/objects/%s.json", f->store, e.sha256);
        rk_store_entry_done(&e);
        /* one flipped bit, same size: only the hash can tell */
        int fd = open(p, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        char c;
        assert_int_equal(pread(fd, &c, 1, 2), 1);
        c ^= 0x01;
        assert_int_equal(pwrite(fd, &c, 1, 2), 1);
        close(fd);
}

/* ---- pure logic ------------------------------------------------------- */

static void test_check_document(void **state) {
        char err[256];
        assert_int_equal(rk_store_check_document("{\"a\": [1, 2, {\"b\": null}]}\n", 27, err, sizeof err), 0);
        assert_int_equal(rk_store_check_document("", 0, err, sizeof err), -EILSEQ);
        assert_non_null(strstr(err, "empty"));
        assert_int_equal(rk_store_check_document("{\"a\": ", 6, err, sizeof err), -EILSEQ);
        assert_non_null(strstr(err, "not valid JSON"));
        assert_int_equal(rk_store_check_document("{} {}", 5, err, sizeof err), -EILSEQ);
        assert_non_null(strstr(err, "not valid JSON at byte 3"));
        assert_int_equal(rk_store_check_document("[1]", 3, err, sizeof err), -EILSEQ);
        assert_non_null(strstr(err, "not a JSON object"));
        assert_int_equal(rk_store_check_document("{}\0", 3, err, sizeof err), -EILSEQ);
        /* what json-c alone would take */
        static const char *const not_json[] = {
                "{'a': 1}", "{\"a\": NaN}", "{\"a\": \"tab\there\"}", "{\"a\": 01}", "{\"a\": 1,}",
                "{\"a\": [1,]}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12\"}", "{\"a\": -}", "{\"a\": 1.}",
                "{\"a\": 1e}", "{\"a\": tru}", "{\"a\" 1}", "{\"a\": \"open}", "/*c*/{}", "{} x",
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(not_json); i++) {
                assert_int_equal(rk_store_check_document(not_json[i], strlen(not_json[i]), err, sizeof err), -EILSEQ);
                assert_non_null(strstr(err, "not valid JSON at byte"));
        }
        static const char *const json[] = {
                "{}", " {\"a\": -0.5e+3, \"b\": [true, false, null, \"\\u00e9\\n\"], \"c\": {}} \r\n",
                "{\"\u00e9\": \"UTF-8 \u00e9 is fine\"}",
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(json); i++)
                assert_int_equal(rk_store_check_document(json[i], strlen(json[i]), err, sizeof err), 0);
        assert_int_equal(rk_store_check_document("{}", RK_STORE_MAX_SIZE + 1ul, err, sizeof err), -EILSEQ);
        assert_non_null(strstr(err, "limit"));

        /* deeper than json-c's default limit of 32 */
        char *d = NULL;
        assert_true(asprintf(&d, "%s", "") >= 0);
        for (int i = 0; i < 60; i++) {
                char *n;
                assert_true(asprintf(&n, "{\"k\": %s}", i ? d : "1") > 0);
                free(d);
                d = n;
        }
        assert_int_equal(rk_store_check_document(d, strlen(d), err, sizeof err), 0);
        free(d);
}

static struct rk_store_entry entry(char c, time_t t, const char *origin) {
        struct rk_store_entry e = { .present = true, .size = 10, .time = t, .origin = (char *) origin };
        memset(e.sha256, c, RK_SHA256_HEX_LEN);
        e.sha256[RK_SHA256_HEX_LEN] = 0;
        return e;
}

static void test_index_push_rotates(void **state) {
        struct rk_store_index idx = {};
        const char shas[] = "abcdef";
        for (int i = 0; i < 6; i++) {
                struct rk_store_entry e = entry(shas[i], 1000 + i, "push");
                assert_int_equal(rk_store_index_push(&idx, &e, 3), 0);
        }
        assert_true(idx.running.present);
        assert_int_equal(idx.running.sha256[0], 'f');
        assert_int_equal(idx.n_backups, 3);
        assert_int_equal(idx.backups[0].sha256[0], 'e');
        assert_int_equal(idx.backups[1].sha256[0], 'd');
        assert_int_equal(idx.backups[2].sha256[0], 'c');
        assert_true(rk_store_index_references(&idx, idx.backups[2].sha256));
        struct rk_store_entry gone = entry('b', 0, NULL);
        assert_false(rk_store_index_references(&idx, gone.sha256));

        /* backups = 0: none kept, older ones dropped */
        struct rk_store_entry e = entry('1', 2000, "push");
        assert_int_equal(rk_store_index_push(&idx, &e, 0), 0);
        assert_int_equal(idx.n_backups, 0);
        assert_int_equal(idx.running.sha256[0], '1');
        rk_store_index_done(&idx);
}

static void test_index_roundtrip(void **state) {
        struct rk_store_index idx = {}, back = {};
        char err[256];
        struct rk_store_entry a = entry('a', 1714564800, "commit /tmp/x \"quoted\""), b = entry('b', 1714564801, "factory");
        assert_int_equal(rk_store_index_push(&idx, &a, 5), 0);
        assert_int_equal(rk_store_index_push(&idx, &b, 5), 0);
        struct rk_store_entry r = entry('c', 1714564802, "rescue save");
        idx.rescue = r;
        idx.rescue.origin = strdup(r.origin);
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        assert_int_equal(rk_store_index_format(&idx, &text), 0);
        assert_non_null(strstr(text, "\"2024-05-01T12:00:00Z\""));
        assert_int_equal(rk_store_index_parse(text, strlen(text), &back, err, sizeof err), 0);
        assert_int_equal(back.n_backups, 1);
        assert_string_equal(back.backups[0].origin, "commit /tmp/x \"quoted\"");
        assert_int_equal(back.backups[0].time, 1714564800);
        assert_true(back.rescue.present);
        assert_int_equal(rk_store_index_format(&back, &text2), 0);
        assert_string_equal(text, text2);
        rk_store_index_done(&idx);
        rk_store_index_done(&back);
}

static void test_index_parse_rejects(void **state) {
        static const char *const bad[] = {
                "",
                "{",
                "[]",
                "{\"format\": 2}",
                "{\"running\": null}",
                "{\"format\": 1, \"running\": {\"sha256\": \"xyz\", \"size\": 1, \"time\": \"2024-05-01T12:00:00Z\"}}",
                "{\"format\": 1, \"running\": {\"sha256\": \"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\", \"size\": -1, \"time\": \"2024-05-01T12:00:00Z\"}}",
                "{\"format\": 1, \"running\": {\"sha256\": \"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\", \"size\": 1, \"time\": \"yesterday\"}}",
                "{\"format\": 1, \"backups\": {}}",
                "{\"format\": 1} trailing",
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(bad); i++) {
                struct rk_store_index idx = {};
                char err[256] = "";
                assert_int_equal(rk_store_index_parse(bad[i], strlen(bad[i]), &idx, err, sizeof err), -EBADMSG);
                assert_true(strlen(err) > 0);
        }
        struct rk_store_index idx = {};
        char err[256];
        assert_int_equal(rk_store_index_parse("{\"format\": 1}", 13, &idx, err, sizeof err), 0);
        assert_false(idx.running.present);
        rk_store_index_done(&idx);
}

/* ---- the protocol on disk --------------------------------------------- */

static void test_commit_rotate_and_modes(void **state) {
        struct fixture *f = *state;
        char doc[64];
        for (int i = 1; i <= 5; i++) {
                snprintf(doc, sizeof doc, "{\"n\": %d}\n", i);
                assert_int_equal(commit_text(f, doc), 0);
        }
        assert_loads(f, "running", "{\"n\": 5}\n");
        assert_loads(f, "backup-1", "{\"n\": 4}\n");
        assert_loads(f, "backup-3", "{\"n\": 2}\n");
        int r;
        free(load(f, "backup-4", &r));
        assert_int_equal(r, -ENOENT);
        /* objects no longer named are gone: running + 3 backups */
        assert_int_equal(count_objects(f), 4);

        struct stat st;
        assert_int_equal(stat(f->store, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        char p[256];
        snprintf(p, sizeof p, "%s/index.json", f->store);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        snprintf(p, sizeof p, "%s/var/lib", f->root);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0755, 0755);
}

static void test_empty_store_reads_as_empty(void **state) {
        struct fixture *f = *state;
        int r;
        free(load(f, "running", &r));
        assert_int_equal(r, -ENOENT);
        struct stat st;
        assert_int_equal(stat(f->store, &st), -1);      /* a reader created nothing */

        _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
        assert_int_equal(rk_store_rescue_save(s), -ENOENT);
        assert_int_equal(rk_store_rollback(s, 1), -ENOENT);
        assert_int_equal(rk_store_rescue_load(s), -ENOENT);
        assert_int_equal(stat(f->store, &st), -1);
}

static void test_rollback(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"v\": \"a\"}"), 0);
        assert_int_equal(commit_text(f, "{\"v\": \"b\"}"), 0);
        assert_int_equal(commit_text(f, "{\"v\": \"c\"}"), 0);
        _cleanup_free_ char *before = snapshot(f);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rollback(s, 3), -ENOENT);
                assert_int_equal(rk_store_rollback(s, 9), -ENOENT);
        }
        _cleanup_free_ char *after = snapshot(f);
        assert_string_equal(before, after);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rollback(s, 2), 0);
        }
        /* commit backup 2: the old running becomes backup 1 */
        assert_loads(f, "running", "{\"v\": \"a\"}");
        assert_loads(f, "backup-1", "{\"v\": \"c\"}");
        assert_loads(f, "backup-2", "{\"v\": \"b\"}");
        assert_loads(f, "backup-3", "{\"v\": \"a\"}");
        _cleanup_store_ struct rk_store *s = open_store(f, 0);
        struct rk_store_entry e = {};
        char *d = NULL;
        assert_int_equal(rk_store_load(s, "running", &e, &d, NULL), 0);
        assert_string_equal(e.origin, "rollback 2");
        free(d);
        rk_store_entry_done(&e);
}

static void test_rescue(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"good\": 1}"), 0);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rescue_save(s), 0);
        }
        /* the rescue outlives the rotation of every backup */
        for (int i = 0; i < 5; i++) {
                char doc[32];
                snprintf(doc, sizeof doc, "{\"later\": %d}", i);
                assert_int_equal(commit_text(f, doc), 0);
        }
        assert_loads(f, "rescue", "{\"good\": 1}");
        assert_int_equal(count_objects(f), 5);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rescue_load(s), 0);
        }
        assert_loads(f, "running", "{\"good\": 1}");
        assert_loads(f, "backup-1", "{\"later\": 4}");
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rescue_delete(s), 0);
                assert_int_equal(rk_store_rescue_delete(s), 0);        /* idempotent */
                assert_int_equal(rk_store_rescue_load(s), -ENOENT);
        }
        int r;
        free(load(f, "rescue", &r));
        assert_int_equal(r, -ENOENT);
}

static void test_integrity(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"one\": 1}"), 0);
        assert_int_equal(commit_text(f, "{\"two\": 2}"), 0);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rescue_save(s), 0);
        }
        corrupt_object(f, "backup-1");
        _cleanup_free_ char *before = snapshot(f);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rollback(s, 1), -EBADMSG);
                struct rk_store_index idx = {};
                assert_int_equal(rk_store_verify(s, &idx), -EBADMSG);
                assert_int_equal(idx.running.status, 0);
                assert_int_equal(idx.backups[0].status, -EBADMSG);
                rk_store_index_done(&idx);
        }
        int r;
        free(load(f, "backup-1", &r));
        assert_int_equal(r, -EBADMSG);
        /* the running one (also the rescue) is damaged: show, rescue save
         * and rescue load all refuse */
        corrupt_object(f, "running");
        _cleanup_free_ char *before2 = snapshot(f);
        free(load(f, "running", &r));
        assert_int_equal(r, -EBADMSG);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rescue_save(s), -EBADMSG);
                assert_int_equal(rk_store_rescue_load(s), -EBADMSG);
        }
        _cleanup_free_ char *after2 = snapshot(f);
        assert_string_equal(before2, after2);
        assert_string_not_equal(before, before2);

        /* a commit still works: it is how one recovers */
        assert_int_equal(commit_text(f, "{\"three\": 3}"), 0);
        assert_loads(f, "running", "{\"three\": 3}");
}

static void test_missing_object(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"x\": 1}"), 0);
        _cleanup_store_ struct rk_store *s = open_store(f, 0);
        struct rk_store_entry e = {};
        char *d = NULL, p[512];
        assert_int_equal(rk_store_load(s, "running", &e, &d, NULL), 0);
        free(d);
        snprintf(p, sizeof p, "%s/objects/%s.json", f->store, e.sha256);
        rk_store_entry_done(&e);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(rk_store_load(s, "running", NULL, &d, NULL), -EBADMSG);
}

static void test_corrupt_index(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"x\": 1}"), 0);
        char p[256];
        snprintf(p, sizeof p, "%s/index.json", f->store);
        write_file(p, "{\"format\": 1, \"running\": {\"sha256\": \"trunc");
        _cleanup_free_ char *before = snapshot(f);
        int r;
        free(load(f, "running", &r));
        assert_int_equal(r, -EBADMSG);
        assert_int_equal(commit_text(f, "{\"y\": 2}"), -EBADMSG);
        _cleanup_free_ char *after = snapshot(f);
        assert_string_equal(before, after);
        /* the factory reset does not need the index: it repairs the store */
        _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
        assert_int_equal(rk_store_factory_reset(s), 0);
        assert_loads(f, "running", FACTORY);
        assert_int_equal(count_objects(f), 1);
}

static void test_factory_reset(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"secret\": \"hunter2\"}"), 0);
        assert_int_equal(commit_text(f, "{\"secret\": \"hunter3\"}"), 0);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_rescue_save(s), 0);
                assert_int_equal(rk_store_factory_reset(s), 0);
        }
        assert_loads(f, "running", FACTORY);
        int r;
        free(load(f, "backup-1", &r));
        assert_int_equal(r, -ENOENT);
        free(load(f, "rescue", &r));
        assert_int_equal(r, -ENOENT);
        assert_int_equal(count_objects(f), 1);
        _cleanup_free_ char *once = snapshot(f);
        assert_null(strstr(once, "hunter"));
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_factory_reset(s), 0);
        }
        _cleanup_free_ char *twice = snapshot(f);
        assert_string_equal(once, twice);
}

static void test_factory_reset_needs_factory(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"keep\": 1}"), 0);
        char p[256];
        snprintf(p, sizeof p, "%s/usr/lib/resetkit/factory-config.json", f->root);
        write_file(p, "not json");
        _cleanup_free_ char *before = snapshot(f);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_factory_reset(s), -EILSEQ);
        }
        assert_int_equal(unlink(p), 0);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
                assert_int_equal(rk_store_factory_reset(s), -ENOENT);
        }
        _cleanup_free_ char *after = snapshot(f);
        assert_string_equal(before, after);
}

static void test_factory_config_rooted(void **state) {
        struct fixture *f = *state;
        /* an absolute symlink inside the image resolves inside the image */
        char p[256], t[256];
        snprintf(p, sizeof p, "%s/usr/lib/resetkit/factory-config.json", f->root);
        snprintf(t, sizeof t, "%s/usr/lib/resetkit/real.json", f->root);
        assert_int_equal(rename(p, t), 0);
        assert_int_equal(symlink("/usr/lib/resetkit/real.json", p), 0);
        _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE | RK_STORE_CREATE);
        assert_int_equal(rk_store_factory_reset(s), 0);
        assert_loads(f, "running", FACTORY);
}

static void test_validate_and_apply_commands(void **state) {
        struct fixture *f = *state;
        char marker[256];
        snprintf(marker, sizeof marker, "%s/applied", f->root);
        f->ctx.cfg.validate_command = strdup("grep -q '\"ok\"'");
        assert_true(asprintf(&f->ctx.cfg.apply_command, "cp -- \"$1\" '%s'; true", marker) > 0);
        assert_int_equal(commit_text(f, "{\"ok\": 1}"), 0);
        _cleanup_free_ char *applied = NULL;
        assert_int_equal(rk_read_at(AT_FDCWD, marker, 0, 4096, &applied, NULL), 0);
        assert_string_equal(applied, "{\"ok\": 1}");

        _cleanup_free_ char *before = snapshot(f);
        assert_int_equal(commit_text(f, "{\"bad\": 1}"), -EILSEQ);
        _cleanup_free_ char *after = snapshot(f);
        assert_string_equal(before, after);

        /* the factory reset under --root runs no command of the host */
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE | RK_STORE_NO_COMMANDS);
                assert_int_equal(rk_store_commit_buffer(s, "{\"bad\": 2}", 10, "no commands"), 0);
        }
        assert_loads(f, "running", "{\"bad\": 2}");

        free(f->ctx.cfg.apply_command);
        f->ctx.cfg.apply_command = strdup("exit 7");
        assert_int_equal(commit_text(f, "{\"ok\": 2}"), RK_STORE_APPLY_FAILED);
        assert_loads(f, "running", "{\"ok\": 2}");        /* the commit stands */
}

static void test_lock_excludes_second_writer(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{}"), 0);
        _cleanup_store_ struct rk_store *a = open_store(f, RK_STORE_WRITE);
        struct rk_store *b = NULL;
        assert_int_equal(rk_store_open(&f->ctx, RK_STORE_WRITE, &b), -EBUSY);
        assert_null(b);
        /* readers are never blocked */
        _cleanup_store_ struct rk_store *c = open_store(f, 0);
        rk_store_close(a);
        a = NULL;
        _cleanup_store_ struct rk_store *d = open_store(f, RK_STORE_WRITE);
}

static void test_unsafe_store_dir(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{}"), 0);
        struct rk_store *s = NULL;
        assert_int_equal(chmod(f->store, 0777), 0);
        assert_int_equal(rk_store_open(&f->ctx, 0, &s), -EPERM);
        assert_int_equal(chmod(f->store, 0770), 0);
        assert_int_equal(rk_store_open(&f->ctx, RK_STORE_WRITE, &s), -EPERM);
        assert_int_equal(chmod(f->store, 0700), 0);
        assert_int_equal(chown(f->store, 4321, 4321), 0);
        assert_int_equal(rk_store_open(&f->ctx, 0, &s), -EPERM);
        assert_int_equal(chown(f->store, 0, 0), 0);

        /* a symlink as the store, or on its path */
        char real[256], link[256];
        snprintf(real, sizeof real, "%s/elsewhere", f->root);
        assert_int_equal(rename(f->store, real), 0);
        assert_int_equal(symlink(real, f->store), 0);
        assert_int_equal(rk_store_open(&f->ctx, RK_STORE_WRITE | RK_STORE_CREATE, &s), -EPERM);
        assert_int_equal(unlink(f->store), 0);
        snprintf(link, sizeof link, "%s/var/lib/resetkit", f->root);
        snprintf(real, sizeof real, "%s/var/lib/resetkit-real", f->root);
        assert_int_equal(rename(link, real), 0);
        assert_int_equal(symlink("resetkit-real", link), 0);
        assert_int_equal(rk_store_open(&f->ctx, RK_STORE_WRITE | RK_STORE_CREATE, &s), -EPERM);
        assert_null(s);
}

static void test_crash_leftovers_cleaned(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"a\": 1}"), 0);
        char p[512];
        /* what a killed writer leaves: a temporary and an orphan object */
        snprintf(p, sizeof p, "%s/.#rk-index.json.1234abcd", f->store);
        write_file(p, "{\"torn");
        snprintf(p, sizeof p, "%s/objects/%064d.json", f->store, 0);
        write_file(p, "{\"orphan\": 1}");
        assert_int_equal(count_objects(f), 2);
        /* a reader leaves them alone; the next writer removes them */
        int r;
        free(load(f, "running", &r));
        assert_int_equal(r, 0);
        assert_int_equal(count_objects(f), 2);
        {
                _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE);
        }
        assert_int_equal(count_objects(f), 1);
        snprintf(p, sizeof p, "%s/.#rk-index.json.1234abcd", f->store);
        assert_int_equal(access(p, F_OK), -1);
        assert_loads(f, "running", "{\"a\": 1}");
}

/* What the factory reset's preflight asks: is the store fit to keep?  It
 * reads only: a corrupt or unsafe store is reported, never touched. */
static void test_health(void **state) {
        struct fixture *f = *state;
        assert_int_equal(rk_store_health(&f->ctx), 0);          /* no store yet */
        assert_int_equal(commit_text(f, "{\"a\": 1}"), 0);
        assert_int_equal(rk_store_health(&f->ctx), 0);
        assert_int_equal(chmod(f->store, 0770), 0);
        assert_int_equal(rk_store_health(&f->ctx), -EPERM);
        assert_int_equal(chmod(f->store, 0700), 0);
        corrupt_object(f, "running");
        assert_int_equal(rk_store_health(&f->ctx), -EBADMSG);
        char p[256];
        snprintf(p, sizeof p, "%s/.#rk-index.json.0badc0de", f->store);
        write_file(p, "a writer's temporary");
        snprintf(p, sizeof p, "%s/index.json", f->store);
        write_file(p, "{\"format\": 1, \"running\": {");
        _cleanup_free_ char *before = snapshot(f);
        assert_int_equal(rk_store_health(&f->ctx), -EBADMSG);
        _cleanup_free_ char *after = snapshot(f);
        assert_string_equal(before, after);
}

/* "<factory-config>.sha256" beside the factory configuration, when there,
 * must match it. */
static void test_factory_checksum(void **state) {
        struct fixture *f = *state;
        struct rk_store_entry e = {};
        char p[256], sum[RK_SHA256_HEX_LEN + 1], line[128];
        assert_int_equal(rk_store_check_factory(&f->ctx, &e), 0);
        memcpy(sum, e.sha256, sizeof sum);
        rk_store_entry_done(&e);
        snprintf(p, sizeof p, "%s/usr/lib/resetkit/factory-config.json.sha256", f->root);
        snprintf(line, sizeof line, "%s  factory-config.json\n", sum);
        write_file(p, line);
        assert_int_equal(rk_store_check_factory(&f->ctx, &e), 0);
        rk_store_entry_done(&e);
        line[0] = line[0] == '0' ? '1' : '0';
        write_file(p, line);
        assert_int_equal(rk_store_check_factory(&f->ctx, &e), -EBADMSG);
        _cleanup_store_ struct rk_store *s = open_store(f, RK_STORE_WRITE | RK_STORE_CREATE);
        assert_int_equal(rk_store_factory_reset(s), -EBADMSG);
        write_file(p, "not a digest\n");
        assert_int_equal(rk_store_check_factory(&f->ctx, &e), -EBADMSG);
}

/* A store in another directory: the factory reset builds one beside the
 * old store before swapping it in. */
static void test_open_dir(void **state) {
        struct fixture *f = *state;
        assert_int_equal(commit_text(f, "{\"old\": 1}"), 0);
        {
                struct rk_store *s = NULL;
                assert_int_equal(rk_store_open_dir(&f->ctx, "/var/lib/resetkit/config.rk-new",
                                                   RK_STORE_WRITE | RK_STORE_CREATE, &s), 0);
                assert_int_equal(rk_store_factory_reset(s), 0);
                rk_store_close(s);
        }
        char p[256];
        struct stat st;
        snprintf(p, sizeof p, "%s/var/lib/resetkit/config.rk-new/index.json", f->root);
        assert_int_equal(stat(p, &st), 0);
        assert_loads(f, "running", "{\"old\": 1}");    /* the old store is untouched */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check_document),
                cmocka_unit_test(test_index_push_rotates),
                cmocka_unit_test(test_index_roundtrip),
                cmocka_unit_test(test_index_parse_rejects),
                cmocka_unit_test_setup_teardown(test_commit_rotate_and_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty_store_reads_as_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rescue, setup, teardown),
                cmocka_unit_test_setup_teardown(test_integrity, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_object, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_index, setup, teardown),
                cmocka_unit_test_setup_teardown(test_factory_reset, setup, teardown),
                cmocka_unit_test_setup_teardown(test_factory_reset_needs_factory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_factory_config_rooted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_validate_and_apply_commands, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_excludes_second_writer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsafe_store_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_leftovers_cleaned, setup, teardown),
                cmocka_unit_test_setup_teardown(test_health, setup, teardown),
                cmocka_unit_test_setup_teardown(test_factory_checksum, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_dir, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
