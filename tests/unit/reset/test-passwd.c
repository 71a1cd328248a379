/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the pure account-database editor (passwd.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "passwd.h"
#include "util.h"

#define HASH_A "$6$saltsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV."
#define HASH_Y "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"

/* A Debian-shaped passwd with every kind of line the editor must survive. */
static const char PASSWD[] =
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "# local accounts below\n"
        "\n"
        "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
        "bob:x:1001:1001:Bob:/home/bob:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        "big:x:70000:70000::/home/big:/bin/sh\n"
        "short:x:1002\n"
        "+@netadmins::::::\n"
        "-baduser\n"
        "+\n"
        "t128:x:1003:1003::/home/t128:/bin/bash\n"
        "carol:x:1004:1004::/home/carol:/bin/bash\n"
        "dave:x:1005:1001::/home/dave:/bin/bash\n"
        "weird:x:abc:1000::/home/weird:/bin/sh\n"
        "   \n"
        "last:x:1006:1006::/home/last:/bin/sh";

static const char GROUP[] =
        "root:x:0:\n"
        "sudo:x:27:alice,bob,t128\n"
        "# comment\n"
        "alice:x:1000:\n"
        "bob:x:1001:\n"
        "t128:x:1003:\n"
        "carol:x:1004:t128\n"
        "users:x:100:bob,carol,alice,last\n"
        "last:x:2000:\n"
        "+:::\n"
        "broken:x:1007\n";

static const char SHADOW_FOR_ADD[] = "root:*:1::::::\nadmin:!:19500:0:99999:7:::\nbroken:x\n";

static struct rk_pw_rules rules_default(char *const *keep) {
        return (struct rk_pw_rules) { .min_uid = 1000, .uid_max = 60000, .keep_users = keep };
}

static void select_from(const char *passwd, const char *group, const struct rk_pw_rules *r, struct rk_pw_deletion *d) {
        struct rk_pw_table t;
        assert_int_equal(rk_pw_table_parse(passwd, &t), 0);
        assert_int_equal(rk_pw_select(&t, r, group, d), 0);
        rk_pw_table_free(&t);
}

static void test_table_parse(void **state) {
        struct rk_pw_table t;
        assert_int_equal(rk_pw_table_parse(PASSWD, &t), 0);
        /* root daemon alice bob nobody big t128 carol dave last: not short, not NIS, not weird */
        assert_int_equal(t.n, 10);
        assert_string_equal(t.entries[0].name, "root");
        assert_string_equal(t.entries[2].name, "alice");
        assert_string_equal(t.entries[2].home, "/home/alice");
        assert_int_equal(t.entries[9].uid, 1006);
        rk_pw_table_free(&t);
}

static void test_select_rules(void **state) {
        char *keep[] = { (char *) "alice", NULL };
        struct rk_pw_rules r = rules_default(keep);
        struct rk_pw_deletion d;
        select_from(PASSWD, GROUP, &r, &d);
        /* alice kept (keep-users), nobody (65534), big (> UID_MAX), short and
         * weird (malformed), root/daemon (< 1000) all stay */
        assert_int_equal(d.n_users, 5);
        assert_string_equal(d.users[0].name, "bob");
        assert_string_equal(d.users[1].name, "t128");
        assert_string_equal(d.users[2].name, "carol");
        assert_string_equal(d.users[3].name, "dave");
        assert_string_equal(d.users[4].name, "last");
        assert_false(rk_pw_deletion_has_user(&d, "nobody"));
        assert_false(rk_pw_deletion_has_user(&d, "big"));
        assert_false(rk_pw_deletion_has_user(&d, "alice"));
        rk_pw_deletion_free(&d);
}

static void test_select_root_and_nobody_never(void **state) {
        struct rk_pw_rules r = { .min_uid = 0, .uid_max = UINT32_MAX };
        struct rk_pw_deletion d;
        select_from("root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nsys:x:5:5::/:/bin/false\n",
                    NULL, &r, &d);
        assert_int_equal(d.n_users, 1);
        assert_string_equal(d.users[0].name, "sys");
        rk_pw_deletion_free(&d);
}

static void test_select_uid_max(void **state) {
        struct rk_pw_rules r = { .min_uid = 1000, .uid_max = 1001 };
        struct rk_pw_deletion d;
        select_from(PASSWD, NULL, &r, &d);
        assert_int_equal(d.n_users, 2); /* alice 1000 and bob 1001 */
        rk_pw_deletion_free(&d);
        r.uid_max = 999; /* below min: nobody at all */
        select_from(PASSWD, NULL, &r, &d);
        assert_int_equal(d.n_users, 0);
        rk_pw_deletion_free(&d);
}

static void test_select_duplicate_name_protected(void **state) {
        /* "x" appears as 1500 and as 50: shadow cannot tell them apart, keep both */
        const char *pw = "x:x:1500:1500::/home/x:/bin/sh\nx:x:50:50::/:/bin/sh\n"
                         "y:x:1600:1600::/home/y:/bin/sh\ny:x:1601:1600::/home/y2:/bin/sh\n";
        struct rk_pw_rules r = rules_default(NULL);
        struct rk_pw_deletion d;
        select_from(pw, NULL, &r, &d);
        assert_int_equal(d.n_users, 1);
        assert_string_equal(d.users[0].name, "y");
        assert_string_equal(d.users[0].home, "/home/y"); /* the first line speaks */
        rk_pw_deletion_free(&d);
}

static void test_select_only(void **state) {
        char *only[] = { (char *) "bob", (char *) "root", (char *) "nobody", (char *) "ghost", NULL };
        struct rk_pw_rules r = rules_default(NULL);
        r.only = only;
        struct rk_pw_deletion d;
        select_from(PASSWD, GROUP, &r, &d);
        assert_int_equal(d.n_users, 1); /* the plan cannot smuggle in root or nobody */
        assert_string_equal(d.users[0].name, "bob");
        rk_pw_deletion_free(&d);
}

static void test_private_groups(void **state) {
        char *keep[] = { (char *) "alice", NULL };
        struct rk_pw_rules r = rules_default(keep);
        struct rk_pw_deletion d;
        select_from(PASSWD, GROUP, &r, &d);
        /* bob's group 1001: dave (deleted too) has it as primary, no member
         * left: goes.  t128: goes.  carol: its member t128 is deleted: goes.
         * last: group "last" has GID 2000, not the user's 1006: stays. */
        assert_true(rk_pw_deletion_has_group(&d, "bob"));
        assert_true(rk_pw_deletion_has_group(&d, "t128"));
        assert_true(rk_pw_deletion_has_group(&d, "carol"));
        assert_false(rk_pw_deletion_has_group(&d, "last"));
        assert_false(rk_pw_deletion_has_group(&d, "alice"));
        assert_false(rk_pw_deletion_has_group(&d, "dave")); /* no such group */
        rk_pw_deletion_free(&d);

        /* keep dave: bob's group is a remaining user's primary group; keep
         * t128: carol's group still has a member */
        char *keep2[] = { (char *) "dave", (char *) "t128", NULL };
        r = rules_default(keep2);
        select_from(PASSWD, GROUP, &r, &d);
        assert_false(rk_pw_deletion_has_group(&d, "bob"));
        assert_false(rk_pw_deletion_has_group(&d, "carol"));
        assert_true(rk_pw_deletion_has_group(&d, "alice"));
        rk_pw_deletion_free(&d);
}

static void test_orphan_uids(void **state) {
        const char *pw = "a:x:1500:1500::/home/a:/bin/sh\nb:x:1600:1600::/home/b:/bin/sh\n"
                         "alias:x:1600:1600::/home/b:/bin/sh\n";
        char *keep[] = { (char *) "alias", NULL };
        struct rk_pw_rules r = rules_default(keep);
        struct rk_pw_deletion d;
        select_from(pw, NULL, &r, &d);
        assert_int_equal(d.n_users, 2);
        assert_int_equal(d.n_orphan_uids, 1);
        assert_int_equal(d.orphan_uids[0], 1500); /* 1600 still belongs to alias */
        _cleanup_free_ char *out = NULL;
        assert_int_equal(rk_db_delete(RK_DB_SUBID, "a:100000:65536\n1500:165536:65536\nb:231072:65536\n"
                                      "1600:296608:65536\nalias:362144:65536\n", &d, &out, NULL), 0);
        assert_string_equal(out, "1600:296608:65536\nalias:362144:65536\n");
        rk_pw_deletion_free(&d);
}

static void test_passwd_edit_verbatim(void **state) {
        char *keep[] = { (char *) "alice", NULL };
        struct rk_pw_rules r = rules_default(keep);
        struct rk_pw_deletion d;
        select_from(PASSWD, GROUP, &r, &d);
        _cleanup_free_ char *out = NULL;
        struct rk_edit_stats st;
        assert_int_equal(rk_db_delete(RK_DB_PASSWD, PASSWD, &d, &out, &st), 0);
        assert_string_equal(out,
                "root:x:0:0:root:/root:/bin/bash\n"
                "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                "# local accounts below\n"
                "\n"
                "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                "big:x:70000:70000::/home/big:/bin/sh\n"
                "short:x:1002\n"
                "+@netadmins::::::\n"
                "-baduser\n"
                "+\n"
                "weird:x:abc:1000::/home/weird:/bin/sh\n"
                "   \n");
        /* "last" had no final newline: its line goes, nothing is added */
        assert_int_equal(st.removed, 5);
        assert_int_equal(st.changed, 0);
        assert_int_equal(st.malformed, 2); /* short, weird */
        assert_int_equal(st.first_malformed, 9);
        assert_int_equal(st.malformed_named, 0);
        rk_pw_deletion_free(&d);
}

static void test_last_line_without_newline_kept(void **state) {
        struct rk_pw_deletion d = {};
        _cleanup_free_ char *out = NULL;
        assert_int_equal(rk_db_delete(RK_DB_PASSWD, PASSWD, &d, &out, NULL), 0);
        assert_string_equal(out, PASSWD); /* nothing to do: byte for byte */
        _cleanup_free_ char *empty = NULL;
        assert_int_equal(rk_db_delete(RK_DB_SHADOW, "", &d, &empty, NULL), 0);
        assert_string_equal(empty, "");
}

static void test_shadow_edit_malformed_named(void **state) {
        struct rk_pw_rules r = rules_default(NULL);
        struct rk_pw_deletion d;
        select_from("bob:x:1001:1001::/home/bob:/bin/sh\nann:x:1002:1002::/home/ann:/bin/sh\n", NULL, &r, &d);
        const char *shadow = "root:*:19000:0:99999:7:::\n"
                             "bob:" HASH_A ":19000:0:99999:7:::\n"
                             "ann:" HASH_A ":19000:0:99999\n" /* too few fields: kept, flagged */
                             "#bob:old\n";
        _cleanup_free_ char *out = NULL;
        struct rk_edit_stats st;
        assert_int_equal(rk_db_delete(RK_DB_SHADOW, shadow, &d, &out, &st), 0);
        assert_string_equal(out, "root:*:19000:0:99999:7:::\n"
                                 "ann:" HASH_A ":19000:0:99999\n"
                                 "#bob:old\n");
        assert_int_equal(st.removed, 1);
        assert_int_equal(st.malformed, 1);
        assert_int_equal(st.malformed_named, 1);
        assert_int_equal(st.first_malformed, 3);
        rk_pw_deletion_free(&d);
}

static void test_group_and_gshadow_membership(void **state) {
        char *keep[] = { (char *) "alice", NULL };
        struct rk_pw_rules r = rules_default(keep);
        struct rk_pw_deletion d;
        select_from(PASSWD, GROUP, &r, &d);
        _cleanup_free_ char *g = NULL;
        struct rk_edit_stats st;
        assert_int_equal(rk_db_delete(RK_DB_GROUP, GROUP, &d, &g, &st), 0);
        assert_string_equal(g,
                "root:x:0:\n"
                "sudo:x:27:alice\n"
                "# comment\n"
                "alice:x:1000:\n"
                "users:x:100:alice\n"
                "last:x:2000:\n"
                "+:::\n"
                "broken:x:1007\n");
        assert_int_equal(st.removed, 3);
        assert_int_equal(st.changed, 2);
        assert_int_equal(st.malformed, 1);

        const char *gshadow = "root:*::\n"
                              "sudo:*:bob,alice:alice,bob,t128\n"
                              "alice:!::\n"
                              "bob:!::\n"
                              "t128:!::\n"
                              "carol:!:carol:t128\n"
                              "users:*:last:bob,,carol,alice,\n"
                              "adm:*:alice:alice\n"
                              "short:*\n";
        _cleanup_free_ char *gs = NULL;
        assert_int_equal(rk_db_delete(RK_DB_GSHADOW, gshadow, &d, &gs, &st), 0);
        assert_string_equal(gs,
                "root:*::\n"
                "sudo:*:alice:alice\n"
                "alice:!::\n"
                "users:*::,alice,\n" /* empty entries are not ours to fix */
                "adm:*:alice:alice\n"
                "short:*\n");
        assert_int_equal(st.removed, 3);
        assert_int_equal(st.changed, 2);
        rk_pw_deletion_free(&d);
}

static void test_subuid(void **state) {
        struct rk_pw_rules r = rules_default(NULL);
        struct rk_pw_deletion d;
        select_from("bob:x:1001:1001::/home/bob:/bin/sh\n", NULL, &r, &d);
        const char *sub = "# subordinate ids\nalice:100000:65536\nbob:165536:65536\n1001:231072:65536\n"
                          "bob:garbage:1\nbob:1:2:3\n";
        _cleanup_free_ char *out = NULL;
        struct rk_edit_stats st;
        assert_int_equal(rk_db_delete(RK_DB_SUBID, sub, &d, &out, &st), 0);
        assert_string_equal(out, "# subordinate ids\nalice:100000:65536\nbob:garbage:1\nbob:1:2:3\n");
        assert_int_equal(st.removed, 2);
        assert_int_equal(st.malformed_named, 2);
        rk_pw_deletion_free(&d);
}

static void test_hash_valid(void **state) {
        static const char *const good[] = {
                HASH_A,
                HASH_Y,
                "$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
                "$7$CU..../....2KtPB1E5IbvdSTDm8Q/MM0$yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
                "$2b$12$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "$2y$04$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "$2a$31$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "$6$rounds=5000$saltsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.",
                "$6$sixteencharsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.",
                "$5$salt$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                "$1$saltsalt$cccccccccccccccccccccc",
                "$1$s$cccccccccccccccccccccc",
        };
        static const char *const bad[] = {
                "", "!", "*", "!!", "x", "!" HASH_A, "*LK*",
                "abcdefghijklm",                        /* DES: a 13-letter clear-text password looks the same */
                "_J9..CCCCXBrJUJV154M",                 /* BSDi extended DES */
                "$6$saltsalt",                          /* a setting, no hash */
                "$6$saltsalt$",                         /* empty hash part */
                "$6$$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.", /* no salt */
                "$6$seventeencharsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.",
                "$6$saltsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV",   /* 85 */
                "$6$saltsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.x", /* 87 */
                "$6$saltsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8Y!.",
                "$6$rounds=0$saltsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.",
                "$6$rounds=1234567890$s$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.",
                "$6$salt:x$hash",
                HASH_A "\nroot::0:0",
                "$6$saltsalt$!!!!",
                "$1$abc$defghijk",                      /* md5 hash part too short */
                "$1$ninechars$cccccccccccccccccccccc",
                "$5$salt$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                "$2b$03$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* cost below 4 */
                "$2b$12$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* 52 */
                "$2x$12$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* the buggy-compat variant */
                "$y$j9T$$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
                "$y$$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
                "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ",
                "$7$short$yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
                "$sha1$40000$salt$aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "$md5$salt$aaaaaaaaaaaaaaaaaaaaaa",
                "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
                "$6$salt\tsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV.",
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(good); i++)
                if (!rk_crypt_hash_valid(good[i]))
                        fail_msg("refused %s: %s", good[i], rk_crypt_hash_problem(good[i]));
        for (size_t i = 0; i < RK_ELEMENTSOF(bad); i++) {
                if (rk_crypt_hash_valid(bad[i]))
                        fail_msg("accepted \"%s\"", bad[i]);
                assert_non_null(rk_crypt_hash_problem(bad[i]));
        }
        assert_false(rk_crypt_hash_valid(NULL));
        char long_y[RK_CRYPT_HASH_MAX + 64] = "$y$";
        memset(long_y + 3, 'j', RK_CRYPT_HASH_MAX);
        memcpy(long_y + 3 + RK_CRYPT_HASH_MAX, "$salt$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", 50);
        assert_false(rk_crypt_hash_valid(long_y)); /* yescrypt's parameters are unbounded in the syntax */
        assert_non_null(strstr(rk_crypt_hash_problem("abcdefghijklm"), "DES"));
        assert_non_null(strstr(rk_crypt_hash_problem("!"), "locked"));
        assert_null(rk_crypt_hash_problem(HASH_A));
}

static void test_shadow_add_password(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        assert_int_equal(rk_shadow_add_password("root:*:1::::::\n", "admin", HASH_A, true, 20000, &a), 0);
        assert_string_equal(a, "root:*:1::::::\nadmin:" HASH_A ":0::::::\n");
        /* a last line without newline gets one first; not expired: today */
        assert_int_equal(rk_shadow_add_password("root:*:1::::::", "admin", HASH_A, false, 20000, &b), 0);
        assert_string_equal(b, "root:*:1::::::\nadmin:" HASH_A ":20000::::::\n");
        assert_int_equal(rk_shadow_add_password("", "admin", HASH_A, true, 1, &c), 0);
        assert_string_equal(c, "admin:" HASH_A ":0::::::\n");
        char *x = NULL;
        /* a line already names the user, even a malformed one */
        assert_int_equal(rk_shadow_add_password(SHADOW_FOR_ADD, "admin", HASH_A, true, 1, &x), -EEXIST);
        assert_int_equal(rk_shadow_add_password(SHADOW_FOR_ADD, "broken", HASH_A, true, 1, &x), -EEXIST);
        assert_int_equal(rk_shadow_add_password(SHADOW_FOR_ADD, "ghost", "!", true, 1, &x), -EINVAL);
        assert_int_equal(rk_shadow_add_password(SHADOW_FOR_ADD, "gh:ost", HASH_A, true, 1, &x), -EINVAL);
        assert_null(x);
}

static void test_passwd_set_hash(void **state) {
        _cleanup_free_ char *a = NULL;
        assert_int_equal(rk_passwd_set_hash("root:old:0:0::/root:/bin/sh\n", "root", HASH_A, &a, NULL), 0);
        assert_string_equal(a, "root:" HASH_A ":0:0::/root:/bin/sh\n");
        char *x = NULL;
        assert_int_equal(rk_passwd_set_hash("root:old:0:0::/root:/bin/sh\n", "ghost", HASH_A, &x, NULL), -ENOENT);
        assert_int_equal(rk_passwd_set_hash("root:old:0:0::/root:/bin/sh\n", "root", "*", &x, NULL), -EINVAL);
        assert_null(x);
}

static void canon_is(const char *in, const char *want) {
        _cleanup_free_ char *c = NULL;
        int r = rk_home_canonical(in, &c);
        if (!want) {
                if (r != -EINVAL)
                        fail_msg("\"%s\": %d, want -EINVAL", in, r);
                return;
        }
        assert_int_equal(r, 0);
        assert_string_equal(c, want);
}

static void test_home_canonical(void **state) {
        canon_is("/home/a", "/home/a");
        canon_is("//home/./a//", "/home/a");
        canon_is("/", "/");
        canon_is("///.//", "/");
        canon_is("/home/.a/..b", "/home/.a/..b");
        canon_is("", NULL);
        canon_is("home/a", NULL);
        canon_is("/home/../etc", NULL);
        canon_is("/home/a/..", NULL);
        canon_is("/home/a\n", NULL);
}

static void test_home_rule(void **state) {
        /* remaining homes, sorted: "-" and "." sort before "/" */
        char *kept[] = { (char *) "/home/a-b", (char *) "/home/a.b", (char *) "/home/g/svc",
                         (char *) "/home/shared", (char *) "/root" };
        size_t n = RK_ELEMENTSOF(kept);
        assert_int_equal(rk_home_rule("/home/alice", "/home", kept, n), RK_HOME_REMOVE);
        assert_int_equal(rk_home_rule("/home/deep/er/x", "/home", kept, n), RK_HOME_REMOVE);
        assert_int_equal(rk_home_rule("/home/a", "/home", kept, n), RK_HOME_REMOVE); /* a-b, a.b are not inside */
        assert_int_equal(rk_home_rule("/home", "/home", kept, n), RK_HOME_KEEP_BASE);
        assert_int_equal(rk_home_rule("/homer/x", "/home", kept, n), RK_HOME_KEEP_OUTSIDE);
        assert_int_equal(rk_home_rule("/srv/dave", "/home", kept, n), RK_HOME_KEEP_OUTSIDE);
        assert_int_equal(rk_home_rule("/", "/home", kept, n), RK_HOME_KEEP_OUTSIDE);
        assert_int_equal(rk_home_rule("/home/shared", "/home", kept, n), RK_HOME_KEEP_SHARED);
        assert_int_equal(rk_home_rule("/home/g", "/home", kept, n), RK_HOME_KEEP_SHARED); /* svc lives inside */
        assert_int_equal(rk_home_rule("/home/shared/sub", "/home", kept, n), RK_HOME_REMOVE);
        assert_int_equal(rk_home_rule("/home/alice", "/home", NULL, 0), RK_HOME_REMOVE);
        /* another base */
        assert_int_equal(rk_home_rule("/srv/users/ivan", "/srv/users", kept, n), RK_HOME_REMOVE);
        assert_int_equal(rk_home_rule("/home/alice", "/srv/users", kept, n), RK_HOME_KEEP_OUTSIDE);
        /* no usable base or home: keep */
        assert_int_equal(rk_home_rule("/etc", "/", kept, n), RK_HOME_KEEP_INVALID);
        assert_int_equal(rk_home_rule("", "/home", kept, n), RK_HOME_KEEP_INVALID);
        assert_int_equal(rk_home_rule("home/x", "/home", kept, n), RK_HOME_KEEP_INVALID);
        assert_int_equal(rk_home_rule(NULL, "/home", kept, n), RK_HOME_KEEP_INVALID);
        for (int v = RK_HOME_REMOVE; v <= RK_HOME_KEEP_SHARED; v++)
                assert_string_not_equal(rk_home_verdict_str(v), "?");
}

static void useradd_is(const char *text, const char *want) {
        _cleanup_free_ char *b = NULL;
        char err[256] = "";
        if (rk_useradd_home_parse(text, "etc/default/useradd", &b, err, sizeof err) < 0)
                fail_msg("\"%s\": %s", text, err);
        assert_string_equal(b, want);
}

static void test_useradd_home(void **state) {
        useradd_is(NULL, "/home");
        useradd_is("", "/home");
        useradd_is("# HOME=/srv\nSHELL=/bin/sh\n", "/home");
        useradd_is("  HOME=/srv\n", "/home"); /* useradd matches "HOME=" at the start only */
        useradd_is("HOMEDIR=/srv\n", "/home");
        useradd_is("HOME=/srv/users\n", "/srv/users");
        useradd_is("HOME=/srv/users/ \r\n", "/srv/users");
        useradd_is("HOME=\"/data/home\"\n", "/data/home");
        useradd_is("HOME=/a\nHOME=/b", "/b"); /* the last wins */
        static const char *const bad[] = { "HOME=\n", "HOME=home\n", "HOME=/\n", "HOME=/home/../etc\n",
                                           "HOME=\"\"\n", "HOME=//\n" };
        for (size_t i = 0; i < RK_ELEMENTSOF(bad); i++) {
                char *b = NULL;
                char err[256] = "";
                char text[64];
                snprintf(text, sizeof text, "SHELL=/bin/sh\n%s", bad[i]);
                assert_int_equal(rk_useradd_home_parse(text, "etc/default/useradd", &b, err, sizeof err), -EINVAL);
                assert_null(b);
                if (!strstr(err, "etc/default/useradd:2"))
                        fail_msg("\"%s\": error \"%s\" does not name the line", bad[i], err);
        }
}

static const char SHADOW[] =
        "root:*:19000:0:99999:7:::\n"
        "# c\n"
        "t128:$6$old$oldoldold:19500:0:99999:7:::\n"
        "admin:!:19500:0:99999:7:::\n"
        "broken:x\n";

static void test_set_password(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        struct rk_edit_stats st;
        assert_int_equal(rk_shadow_set_password(SHADOW, "t128", HASH_A, true, 20000, &a, &st), 0);
        assert_string_equal(a, "root:*:19000:0:99999:7:::\n"
                               "# c\n"
                               "t128:" HASH_A ":0:0:99999:7:::\n"
                               "admin:!:19500:0:99999:7:::\n"
                               "broken:x\n");
        assert_int_equal(st.changed, 1);
        /* expire-passwords = false: lastchg is today */
        assert_int_equal(rk_shadow_set_password(SHADOW, "admin", HASH_Y, false, 20000, &b, NULL), 0);
        assert_string_equal(b, "root:*:19000:0:99999:7:::\n"
                               "# c\n"
                               "t128:$6$old$oldoldold:19500:0:99999:7:::\n"
                               "admin:" HASH_Y ":20000:0:99999:7:::\n"
                               "broken:x\n");
        /* again: nothing changes */
        assert_int_equal(rk_shadow_set_password(a, "t128", HASH_A, true, 20001, &c, &st), 0);
        assert_string_equal(c, a);
        assert_int_equal(st.changed, 0);

        char *x = NULL;
        assert_int_equal(rk_shadow_set_password(SHADOW, "ghost", HASH_A, true, 1, &x, NULL), -ENOENT);
        assert_int_equal(rk_shadow_set_password(SHADOW, "broken", HASH_A, true, 1, &x, NULL), -ENOENT);
        assert_int_equal(rk_shadow_set_password(SHADOW, "t128", "plain", true, 1, &x, NULL), -EINVAL);
        assert_int_equal(rk_shadow_set_password(SHADOW, "t128", "$6$a:b$c", true, 1, &x, NULL), -EINVAL);
        assert_null(x);
}

static void test_passwd_set_shadowed(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        struct rk_edit_stats st;
        assert_int_equal(rk_passwd_set_shadowed("root:x:0:0::/root:/bin/sh\nadmin:$6$x$y:1000:1000::/home/admin:/bin/sh\n",
                                                "admin", &a, &st), 0);
        assert_string_equal(a, "root:x:0:0::/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\n");
        assert_int_equal(st.changed, 1);
        assert_int_equal(rk_passwd_set_shadowed(a, "root", &b, &st), 0);
        assert_string_equal(a, b);
        assert_int_equal(st.changed, 0);
        char *x = NULL;
        assert_int_equal(rk_passwd_set_shadowed(a, "nobody", &x, NULL), -ENOENT);
}

static void test_login_defs(void **state) {
        struct rk_login_defs d;
        char err[256] = "";
        assert_int_equal(rk_login_defs_parse(NULL, "etc/login.defs", &d, err, sizeof err), 0);
        assert_int_equal(d.uid_max, 60000);
        assert_int_equal(rk_login_defs_parse("# UID_MAX 5\nUID_MIN 1000\n", "f", &d, err, sizeof err), 0);
        assert_int_equal(d.uid_max, 60000);
        assert_int_equal(rk_login_defs_parse("MAIL_DIR /var/mail\nUID_MAX\t\t 29999 \n", "f", &d, err, sizeof err), 0);
        assert_int_equal(d.uid_max, 29999);
        assert_int_equal(rk_login_defs_parse("UID_MAX \"4000\"\n", "f", &d, err, sizeof err), 0);
        assert_int_equal(d.uid_max, 4000);
        assert_int_equal(rk_login_defs_parse("UID_MAX 0x1000\n", "f", &d, err, sizeof err), 0);
        assert_int_equal(d.uid_max, 4096);
        assert_int_equal(rk_login_defs_parse("UID_MAX 100\nUID_MAX 200", "f", &d, err, sizeof err), 0);
        assert_int_equal(d.uid_max, 200); /* the last wins, as in getdef */
        assert_int_equal(rk_login_defs_parse("UID_MAXIMUM 5\n", "f", &d, err, sizeof err), 0);
        assert_int_equal(d.uid_max, 60000);

        d.uid_max = 7;
        assert_int_equal(rk_login_defs_parse("A 1\nUID_MAX sixty\n", "etc/login.defs", &d, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "etc/login.defs:2"));
        assert_non_null(strstr(err, "sixty"));
        assert_int_equal(d.uid_max, 7); /* untouched on failure */
        assert_int_equal(rk_login_defs_parse("UID_MAX 99999999999\n", "f", &d, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "f:1"));
        assert_int_equal(rk_login_defs_parse("\n\nUID_MAX\n", "f", &d, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "f:3"));
        assert_int_equal(rk_login_defs_parse("UID_MAX -1\n", "f", &d, err, sizeof err), -EINVAL);
}

static void test_large_batch(void **state) {
        /* 5000 users, each with a private group and in one shared group:
         * must stay fast (sorted lookups) and exact */
        size_t n = 5000;
        char *pw = NULL, *gr = NULL;
        size_t pwl = 0, grl = 0;
        FILE *p = open_memstream(&pw, &pwl), *g = open_memstream(&gr, &grl);
        fprintf(p, "root:x:0:0::/root:/bin/sh\n");
        fprintf(g, "root:x:0:\nstaff:x:50:");
        for (size_t i = 0; i < n; i++)
                fprintf(g, "%su%zu", i ? "," : "", i);
        fprintf(g, ",root\n");
        for (size_t i = 0; i < n; i++) {
                fprintf(p, "u%zu:x:%zu:%zu::/home/u%zu:/bin/sh\n", i, 1000 + i, 1000 + i, i);
                fprintf(g, "u%zu:x:%zu:\n", i, 1000 + i);
        }
        fclose(p);
        fclose(g);
        struct rk_pw_rules r = rules_default(NULL);
        struct rk_pw_deletion d;
        select_from(pw, gr, &r, &d);
        assert_int_equal(d.n_users, n);
        assert_int_equal(rk_strv_length(d.groups), n);
        _cleanup_free_ char *p2 = NULL, *g2 = NULL;
        assert_int_equal(rk_db_delete(RK_DB_PASSWD, pw, &d, &p2, NULL), 0);
        assert_int_equal(rk_db_delete(RK_DB_GROUP, gr, &d, &g2, NULL), 0);
        assert_string_equal(p2, "root:x:0:0::/root:/bin/sh\n");
        assert_string_equal(g2, "root:x:0:\nstaff:x:50:root\n");
        rk_pw_deletion_free(&d);
        free(pw);
        free(gr);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_parse),
                cmocka_unit_test(test_select_rules),
                cmocka_unit_test(test_select_root_and_nobody_never),
                cmocka_unit_test(test_select_uid_max),
                cmocka_unit_test(test_select_duplicate_name_protected),
                cmocka_unit_test(test_select_only),
                cmocka_unit_test(test_private_groups),
                cmocka_unit_test(test_orphan_uids),
                cmocka_unit_test(test_passwd_edit_verbatim),
                cmocka_unit_test(test_last_line_without_newline_kept),
                cmocka_unit_test(test_shadow_edit_malformed_named),
                cmocka_unit_test(test_group_and_gshadow_membership),
                cmocka_unit_test(test_subuid),
                cmocka_unit_test(test_hash_valid),
                cmocka_unit_test(test_shadow_add_password),
                cmocka_unit_test(test_passwd_set_hash),
                cmocka_unit_test(test_home_canonical),
                cmocka_unit_test(test_home_rule),
                cmocka_unit_test(test_useradd_home),
                cmocka_unit_test(test_set_password),
                cmocka_unit_test(test_passwd_set_shadowed),
                cmocka_unit_test(test_login_defs),
                cmocka_unit_test(test_large_batch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
