/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the account-database parsers and editors of passwd.c,
 * fed what a target's etc may hold.
 *
 * Input: one selector byte, then up to three NUL-separated texts: a
 * passwd, a group, and the database to edit (passwd, shadow, group,
 * gshadow or subuid, by the selector).  Checked: the parsers' promises
 * (names without ':' or newline, selection within the rules), that an edit
 * keeps every line it does not remove or rewrite byte for byte, that no
 * well-formed line of a deleted user survives, that an edit applied twice
 * changes nothing more, and the password editors' results. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "passwd.h"
#include "util.h"

#define HASH "$6$fuzzsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV."

static size_t count_lines(const char *s) {
        size_t n = 0;
        for (const char *p = s; *p;) {
                const char *e = strchr(p, '\n');
                n++;
                if (!e)
                        break;
                p = e + 1;
        }
        return n;
}

/* Is the line [s, s+len) one of the lines of text? */
static bool has_line(const char *text, const char *s, size_t len) {
        for (const char *p = text; *p;) {
                size_t l = strcspn(p, "\n");
                if (l == len && memcmp(p, s, len) == 0)
                        return true;
                p += l;
                if (*p)
                        p++;
        }
        return false;
}

static void check_edit(enum rk_db db, const char *in, const struct rk_pw_deletion *d) {
        char *out = NULL, *again = NULL;
        struct rk_edit_stats st, st2;
        int r = rk_db_delete(db, in, d, &out, &st);
        if (r < 0) {
                assert(r == -ENOMEM && !out);
                return;
        }
        assert(st.lines == count_lines(in));
        assert(count_lines(out) == st.lines - st.removed);
        assert(st.malformed_named <= st.malformed);
        if (st.changed == 0) {
                /* every line kept is an input line, byte for byte */
                for (const char *p = out; *p;) {
                        size_t l = strcspn(p, "\n");
                        assert(has_line(in, p, l));
                        p += l;
                        if (*p)
                                p++;
                }
        }
        if (db == RK_DB_PASSWD) {
                struct rk_pw_table t;
                if (rk_pw_table_parse(out, &t) == 0) {
                        for (size_t i = 0; i < t.n; i++)
                                assert(!rk_pw_deletion_has_user(d, t.entries[i].name));
                        rk_pw_table_free(&t);
                }
        }
        /* the same deletion again: nothing left to do */
        if (rk_db_delete(db, out, d, &again, &st2) == 0) {
                assert(strcmp(out, again) == 0);
                assert(st2.removed == 0 && st2.changed == 0);
        }
        free(again);
        free(out);
}

static void check_passwords(const char *shadow, const char *passwd, const char *user, bool expire) {
        char *out = NULL;
        struct rk_edit_stats st;
        int r = rk_shadow_set_password(shadow, user, HASH, expire, 20000, &out, &st);
        if (r == 0) {
                char *want = NULL;
                if (asprintf(&want, "%s:%s:%s:", user, HASH, expire ? "0" : "20000") > 0)
                        assert(strstr(out, want));
                free(want);
                assert(count_lines(out) == count_lines(shadow));
        } else
                assert(r == -ENOENT || r == -ENOMEM || r == -EINVAL);
        free(out);
        out = NULL;
        r = rk_shadow_add_password(shadow, user, HASH, expire, 20000, &out);
        if (r == 0) {
                assert(strncmp(out, shadow, strlen(shadow)) == 0);
                assert(rk_endswith(out, expire ? ":0::::::\n" : ":20000::::::\n"));
        } else
                assert(r == -EEXIST || r == -EINVAL || r == -ENOMEM);
        free(out);
        out = NULL;
        r = rk_passwd_set_shadowed(passwd, user, &out, &st);
        assert(r == 0 || r == -ENOENT || r == -ENOMEM || r == -EINVAL);
        if (r == 0)
                assert(count_lines(out) == count_lines(passwd));
        free(out);
        out = NULL;
        r = rk_passwd_set_hash(passwd, user, HASH, &out, &st);
        assert(r == 0 || r == -ENOENT || r == -ENOMEM || r == -EINVAL);
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 256 * 1024)
                return 0;
        uint8_t sel = data[0];
        /* split the rest at NUL bytes: passwd, group, the edited database */
        char *part[3] = {};
        const uint8_t *p = data + 1, *end = data + size;
        for (size_t i = 0; i < 3; i++) {
                const uint8_t *z = p < end ? memchr(p, 0, (size_t) (end - p)) : NULL;
                size_t l = z ? (size_t) (z - p) : (size_t) (end - p);
                part[i] = strndup((const char *) p, l);
                if (!part[i])
                        goto out;
                p = z ? z + 1 : end;
        }

        struct rk_pw_table t;
        if (rk_pw_table_parse(part[0], &t) < 0)
                goto out;
        for (size_t i = 0; i < t.n; i++) {
                const struct rk_pw_entry *e = &t.entries[i];
                assert(*e->name && !strpbrk(e->name, ":\n") && !strpbrk(e->home, ":\n"));
        }
        char *keep[] = { (char *) "keep", NULL };
        struct rk_pw_rules rules = { .min_uid = 1000, .uid_max = 60000, .keep_users = keep };
        struct rk_pw_deletion d;
        if (rk_pw_select(&t, &rules, sel & 0x80 ? NULL : part[1], &d) == 0) {
                for (size_t i = 0; i < d.n_users; i++) {
                        const struct rk_pw_entry *u = &d.users[i];
                        assert(rk_pw_rules_match(&rules, u));
                        assert(u->uid != 0 && u->uid != RK_UID_NOBODY && strcmp(u->name, "keep") != 0);
                }
                for (size_t i = 1; i < d.n_orphan_uids; i++)
                        assert(d.orphan_uids[i - 1] < d.orphan_uids[i]);
                for (size_t i = 0; d.groups && d.groups[i]; i++)
                        assert(rk_pw_deletion_has_user(&d, d.groups[i]));
                enum rk_db db = (enum rk_db) ((sel & 0x7f) % _RK_DB_MAX);
                check_edit(db, part[2], &d);
                check_edit(RK_DB_PASSWD, part[0], &d);
                rk_pw_deletion_free(&d);
        }
        const char *user = t.n > 0 ? t.entries[(size_t) sel % t.n].name : "root";
        check_passwords(part[2], part[0], user, sel & 1);
        rk_pw_table_free(&t);
out:
        for (size_t i = 0; i < 3; i++)
                free(part[i]);
        return 0;
}
