/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the factory-reset journal (journal.c): format/parse round
 * trip, refusal of anything malformed, save/load/remove on a temp root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "journal.h"
#include "rktest.h"
#include "util.h"

static void make_plan(struct rk_journal *j) {
        char err[256];
        rk_journal_init(j);
        assert_int_equal(rk_manifest_parse_string(&j->plan,
                "remove /var/log/*\n"
                "keep-newest /etc/128technology/*.xml 1\n"
                "delete-users - 1000\n"
                "reset-password root @/usr/lib/resetkit/root.hash\n"
                "zero-free-space /\n", "ssr.conf", err, sizeof err), 0);
        j->then = strdup("reboot");
        j->zeroize = true;
        j->started = 1700000000;
        j->next = 2;
        j->offset = 123456789;
}

static void test_round_trip(void **state) {
        struct rk_journal j, k;
        char err[256] = "";
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        make_plan(&j);
        j.reserve_orig = 4096;
        j.reserve_fs = strdup("loop0");
        assert_int_equal(rk_journal_format(&j, &text), 0);
        rk_journal_init(&k);
        assert_int_equal(rk_journal_parse(&k, text, err, sizeof err), 0);
        assert_int_equal(k.plan.n, 5);
        assert_int_equal(k.next, 2);
        assert_int_equal(k.offset, 123456789);
        assert_true(k.zeroize);
        assert_string_equal(k.then, "reboot");
        assert_int_equal(k.plan.entries[1].action, RK_MF_KEEP_NEWEST);
        assert_int_equal(k.plan.entries[1].number, 1);
        assert_string_equal(k.plan.entries[3].arg, "@/usr/lib/resetkit/root.hash");
        assert_string_equal(k.plan.entries[4].file, "ssr.conf");
        assert_int_equal(k.plan.entries[4].line, 5);
        assert_int_equal(k.reserve_orig, 4096);
        assert_int_equal(rk_journal_format(&k, &text2), 0);
        assert_string_equal(text, text2);
        rk_journal_free(&j);
        rk_journal_free(&k);
}

static void expect_bad(const char *text) {
        struct rk_journal j;
        char err[256] = "";
        rk_journal_init(&j);
        assert_int_equal(rk_journal_parse(&j, text, err, sizeof err), -EBADMSG);
        assert_true(err[0] != 0);
        rk_journal_free(&j);
}

static void test_malformed(void **state) {
        expect_bad("");
        expect_bad("{");
        expect_bad("[]");
        expect_bad("{\"version\": 2}");
        expect_bad("{\"version\": 1, \"state\": \"done\"}");
        expect_bad("{\"version\":1,\"state\":\"in-progress\",\"started\":0,\"then\":\"none\",\"zeroize\":true,"
                   "\"next\":3,\"offset\":0,\"entries\":[]}");
        expect_bad("{\"version\":1,\"state\":\"in-progress\",\"started\":0,\"then\":\"none\",\"zeroize\":true,"
                   "\"next\":0,\"offset\":-1,\"entries\":[]}");
        expect_bad("{\"version\":1,\"state\":\"in-progress\",\"started\":0,\"then\":\"none\",\"zeroize\":true,"
                   "\"next\":0,\"offset\":0,\"entries\":[{\"action\":\"explode\",\"path\":\"/\",\"number\":0,"
                   "\"file\":\"x\",\"line\":1}]}");
}

static void test_files(void **state) {
        char tmpl[] = "/tmp/rk-journal-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        int root = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root >= 0);
        struct rk_journal j, k;
        char err[256] = "";
        make_plan(&j);
        rk_journal_init(&k);
        const char *path = "/var/lib/resetkit/factory-reset.journal";
        assert_int_equal(rk_journal_load(root, path, &k, err, sizeof err), -ENOENT);
        assert_int_equal(rk_journal_save(root, path, &j), 0);
        struct stat st;
        assert_int_equal(fstatat(root, "var/lib/resetkit/factory-reset.journal", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(fstatat(root, "var/lib/resetkit", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(rk_journal_load(root, path, &k, err, sizeof err), 0);
        assert_int_equal(k.next, 2);
        assert_int_equal(rk_journal_remove(root, path), 0);
        assert_int_equal(rk_journal_remove(root, path), 0);
        rk_journal_free(&k);
        assert_int_equal(rk_journal_load(root, path, &k, err, sizeof err), -ENOENT);
        rk_journal_free(&j);
        rk_journal_free(&k);
        close(root);
        assert_int_equal(rkt_rm_rf(tmpl), 0);
}

/* zeroing identity: the target the offset belongs to and the filesystem
 * the ext4 reserve belongs to, by stable identity; optional on parse */
static void test_zeroing_identity(void **state) {
        struct rk_journal j, k;
        char err[256] = "";
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        make_plan(&j);
        j.offset_target = strdup("block dev=7:3 size=16777216 stable=loop-file:254:1:77@0");
        j.reserve_orig = 1310;
        j.reserve_fs = strdup("uuid:4a5fb1c8-37cd-4f4d-85f1-719b392f143e");
        assert_int_equal(rk_journal_format(&j, &text), 0);
        assert_non_null(strstr(text, "\"offset-target\""));
        assert_non_null(strstr(text, "\"block dev=7:3 size=16777216 stable=loop-file:254:1:77@0\""));
        rk_journal_init(&k);
        assert_int_equal(rk_journal_parse(&k, text, err, sizeof err), 0);
        assert_string_equal(k.offset_target, j.offset_target);
        assert_string_equal(k.reserve_fs, j.reserve_fs);
        assert_int_equal(k.reserve_orig, 1310);
        assert_int_equal(rk_journal_format(&k, &text2), 0);
        assert_string_equal(text, text2);
        rk_journal_free(&k);
        rk_journal_free(&j);

        /* a journal without it parses, with no target */
        make_plan(&j);
        free(text);
        assert_int_equal(rk_journal_format(&j, &text), 0);
        assert_null(strstr(text, "offset-target"));
        rk_journal_init(&k);
        assert_int_equal(rk_journal_parse(&k, text, err, sizeof err), 0);
        assert_null(k.offset_target);
        rk_journal_free(&k);
        rk_journal_free(&j);
}

/* The attempts block: failed entries, the attempt count, the entry the
 * zeroing offset belongs to, and the "failed" state. */
static void test_attempts_round_trip(void **state) {
        struct rk_journal j, k;
        char err[256] = "";
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        make_plan(&j);
        j.attempts = 2;
        j.current = 4;
        j.failed_state = true;
        assert_int_equal(rk_journal_set_failed(&j, 3, true), 0);
        assert_int_equal(rk_journal_set_failed(&j, 0, true), 0);
        assert_int_equal(rk_journal_set_failed(&j, 3, true), 0);       /* no duplicate */
        assert_int_equal(j.n_failed, 2);
        assert_int_equal(j.failed[0], 0);
        assert_int_equal(j.failed[1], 3);
        assert_int_equal(rk_journal_format(&j, &text), 0);
        assert_non_null(strstr(text, "\"state\":\"failed\""));
        rk_journal_init(&k);
        assert_int_equal(rk_journal_parse(&k, text, err, sizeof err), 0);
        assert_true(k.failed_state);
        assert_int_equal(k.attempts, 2);
        assert_int_equal(k.current, 4);
        assert_int_equal(k.n_failed, 2);
        assert_true(rk_journal_is_failed(&k, 0) && rk_journal_is_failed(&k, 3) && !rk_journal_is_failed(&k, 1));
        /* pending: the failed ones and all from `next` (2) on */
        assert_true(rk_journal_pending(&k, 0) && !rk_journal_pending(&k, 1) && rk_journal_pending(&k, 2));
        assert_int_equal(rk_journal_format(&k, &text2), 0);
        assert_string_equal(text, text2);
        assert_int_equal(rk_journal_set_failed(&k, 0, false), 0);
        assert_int_equal(k.n_failed, 1);
        assert_int_equal(k.failed[0], 3);
        rk_journal_free(&j);
        rk_journal_free(&k);
}

/* A journal written before attempts were counted is one attempt, nothing
 * failed, the offset belonging to `next`. */
static void test_older_journal(void **state) {
        struct rk_journal j;
        char err[256] = "";
        rk_journal_init(&j);
        assert_int_equal(rk_journal_parse(&j,
                "{\"version\":1,\"state\":\"in-progress\",\"started\":0,\"then\":\"none\",\"zeroize\":true,"
                "\"next\":1,\"offset\":512,\"entries\":[{\"action\":\"remove\",\"path\":\"/x\",\"number\":0,"
                "\"file\":\"a.conf\",\"line\":1},{\"action\":\"zero-free-space\",\"path\":\"/\",\"number\":0,"
                "\"file\":\"a.conf\",\"line\":2}]}", err, sizeof err), 0);
        assert_int_equal(j.attempts, 1);
        assert_int_equal(j.n_failed, 0);
        assert_int_equal(j.current, 1);
        assert_false(j.failed_state);
        rk_journal_free(&j);
}

static void test_attempts_malformed(void **state) {
        const char *head = "{\"version\":1,\"state\":\"failed\",\"started\":0,\"then\":\"none\",\"zeroize\":true,"
                           "\"next\":1,\"offset\":0,\"entries\":[{\"action\":\"remove\",\"path\":\"/x\","
                           "\"number\":0,\"file\":\"a.conf\",\"line\":1}]";
        const char *tails[] = { ",\"failed\":[1]}", ",\"failed\":[-1]}", ",\"failed\":\"0\"}",
                                ",\"attempts\":-1}", ",\"current\":2}" };
        for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
                _cleanup_free_ char *text = NULL;
                assert_true(asprintf(&text, "%s%s", head, tails[i]) > 0);
                expect_bad(text);
        }
}

/* The deleted-but-open files zeroing missed: kept in the journal, replaced
 * per entry when the step runs again, refused when malformed. */
static void test_unreached(void **state) {
        struct rk_journal j, k;
        char err[256] = "";
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        make_plan(&j);
        struct rk_unreached a = { .where = "/", .path = "/var/log/a", .bytes = 4096, .pid = 42, .process = "journald" },
                            b = { .where = "/data", .path = "/data/b", .bytes = 1, .pid = 7, .process = "sh" };
        assert_int_equal(rk_unreached_add(&j.unreached, &j.n_unreached, &a), 0);
        assert_int_equal(rk_unreached_add(&j.unreached, &j.n_unreached, &b), 0);
        assert_int_equal(rk_journal_format(&j, &text), 0);
        rk_journal_init(&k);
        assert_int_equal(rk_journal_parse(&k, text, err, sizeof err), 0);
        assert_int_equal(k.n_unreached, 2);
        assert_string_equal(k.unreached[0].path, "/var/log/a");
        assert_int_equal(k.unreached[0].bytes, 4096);
        assert_int_equal(k.unreached[0].pid, 42);
        assert_string_equal(k.unreached[1].process, "sh");
        assert_int_equal(rk_journal_format(&k, &text2), 0);
        assert_string_equal(text, text2);
        rk_unreached_drop(k.unreached, &k.n_unreached, "/");
        assert_int_equal(k.n_unreached, 1);
        assert_string_equal(k.unreached[0].where, "/data");
        rk_journal_free(&j);
        rk_journal_free(&k);

        const char *head = "{\"version\":1,\"state\":\"in-progress\",\"started\":0,\"then\":\"none\",\"zeroize\":true,"
                           "\"next\":1,\"offset\":0,\"entries\":[{\"action\":\"remove\",\"path\":\"/x\","
                           "\"number\":0,\"file\":\"a.conf\",\"line\":1}]";
        const char *tails[] = { ",\"not-reached\":{}}", ",\"not-reached\":[1]}",
                                ",\"not-reached\":[{\"where\":\"/\",\"path\":\"/a\",\"bytes\":1,\"pid\":0,\"process\":\"x\"}]}",
                                ",\"not-reached\":[{\"where\":\"/\",\"path\":\"/a\",\"bytes\":-1,\"pid\":3,\"process\":\"x\"}]}",
                                ",\"not-reached\":[{\"where\":\"/\",\"bytes\":1,\"pid\":3,\"process\":\"x\"}]}" };
        for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
                _cleanup_free_ char *bad = NULL;
                assert_true(asprintf(&bad, "%s%s", head, tails[i]) > 0);
                expect_bad(bad);
        }
}

/* load only reads (a dry run may call it); cleanup removes what a power cut
 * left beside the journal; the record of the last reset lives beside it. */
static void test_cleanup_and_record(void **state) {
        char tmpl[] = "/tmp/rk-journal-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        int root = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root >= 0);
        const char *path = "/var/lib/resetkit/factory-reset.journal";
        struct rk_journal j, k;
        char err[256] = "";
        make_plan(&j);
        assert_int_equal(rk_journal_save(root, path, &j), 0);
        int fd = openat(root, "var/lib/resetkit/.#rk-factory-reset.journal.0badc0de", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        rk_journal_init(&k);
        assert_int_equal(rk_journal_load(root, path, &k, err, sizeof err), 0);
        assert_int_equal(faccessat(root, "var/lib/resetkit/.#rk-factory-reset.journal.0badc0de", F_OK, 0), 0);
        assert_int_equal(rk_journal_cleanup(root, path), 1);
        assert_int_equal(faccessat(root, "var/lib/resetkit/.#rk-factory-reset.journal.0badc0de", F_OK, 0), -1);

        _cleanup_free_ char *rp = NULL;
        assert_int_equal(rk_journal_record_path(path, &rp), 0);
        assert_string_equal(rp, "/var/lib/resetkit/factory-reset.status");
        struct rk_reset_record rec = { .started = 100, .finished = 200, .attempts = 2, .entries = 5 }, got;
        assert_int_equal(rk_journal_record_load(root, path, &got), -ENOENT);
        assert_int_equal(rk_journal_record_save(root, path, &rec), 0);
        assert_int_equal(rk_journal_record_load(root, path, &got), 0);
        assert_int_equal(got.started, 100);
        assert_int_equal(got.finished, 200);
        assert_int_equal(got.attempts, 2);
        assert_int_equal(got.entries, 5);
        assert_int_equal(got.n_unreached, 0);
        struct rk_unreached u = { .where = "/", .path = "/var/log/x", .bytes = 9, .pid = 5, .process = "sleep" };
        rec.unreached = &u;
        rec.n_unreached = 1;
        assert_int_equal(rk_journal_record_save(root, path, &rec), 0);
        assert_int_equal(rk_journal_record_load(root, path, &got), 0);
        assert_int_equal(got.n_unreached, 1);
        assert_string_equal(got.unreached[0].path, "/var/log/x");
        rk_reset_record_free(&got);
        rk_journal_free(&j);
        rk_journal_free(&k);
        close(root);
        assert_int_equal(rkt_rm_rf(tmpl), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_zeroing_identity),
                cmocka_unit_test(test_attempts_round_trip),
                cmocka_unit_test(test_older_journal),
                cmocka_unit_test(test_attempts_malformed),
                cmocka_unit_test(test_unreached),
                cmocka_unit_test(test_cleanup_and_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
