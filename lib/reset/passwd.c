/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "passwd.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- small pieces ---- */

struct buf {
        char *p;
        size_t len, cap;
};

static int buf_grow(struct buf *b, size_t extra) {
        if (b->len + extra + 1 <= b->cap)
                return 0;
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + extra + 1) {
                if (ncap > SIZE_MAX / 2)
                        return -ENOMEM;
                ncap *= 2;
        }
        char *n = realloc(b->p, ncap);
        if (!n)
                return -ENOMEM;
        b->p = n;
        b->cap = ncap;
        return 0;
}

static int buf_add(struct buf *b, const char *s, size_t n) {
        int r = buf_grow(b, n);
        if (r < 0)
                return r;
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = 0;
        return 0;
}

static int buf_adds(struct buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

static void buf_done(struct buf *b) { free(b->p); *b = (struct buf) {}; }

static char *buf_take(struct buf *b) {
        if (!b->p) /* empty input gives an empty, not a NULL, result */
                return strdup("");
        char *p = b->p;
        *b = (struct buf) {};
        return p;
}

/* One line of a file: [s, s+len) without the newline; nl says whether one
 * followed (the last line of a file may lack it, and must keep lacking it). */
struct line {
        const char *s;
        size_t len;
        bool nl;
};

static bool next_line(const char **cursor, struct line *ret) {
        const char *p = *cursor;
        if (!p || !*p)
                return false;
        const char *e = strchr(p, '\n');
        if (e) {
                *ret = (struct line) { p, (size_t) (e - p), true };
                *cursor = e + 1;
        } else {
                size_t l = strlen(p);
                *ret = (struct line) { p, l, false };
                *cursor = p + l;
        }
        return true;
}

/* Lines that are not records: blank, comments, NIS compat entries.  They
 * are copied as they are, whatever they contain. */
static bool line_is_verbatim(const struct line *l) {
        size_t i = 0;
        while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t' || l->s[i] == '\r'))
                i++;
        if (i == l->len)
                return true;
        return l->s[0] == '#' || l->s[0] == '+' || l->s[0] == '-';
}

#define MAX_FIELDS 9

struct fields {
        const char *f[MAX_FIELDS];
        size_t len[MAX_FIELDS];
        size_t n;
};

/* Split on ':'; false unless there are exactly `want` fields. */
static bool split_fields(const struct line *l, size_t want, struct fields *ret) {
        size_t n = 0, start = 0;
        for (size_t i = 0; i <= l->len; i++) {
                if (i < l->len && l->s[i] != ':')
                        continue;
                if (n >= want)
                        return false;
                ret->f[n] = l->s + start;
                ret->len[n] = i - start;
                n++;
                start = i + 1;
        }
        ret->n = n;
        return n == want;
}

static bool field_eq(const struct fields *f, size_t i, const char *s) {
        size_t l = strlen(s);
        return f->len[i] == l && memcmp(f->f[i], s, l) == 0;
}

/* Numeric ID field: decimal digits only, fits 32 bits (what shadow-utils'
 * get_uid() accepts, less the sign). */
static bool field_id(const struct fields *f, size_t i, uint32_t *ret) {
        if (f->len[i] == 0 || f->len[i] > 10)
                return false;
        uint64_t v = 0;
        for (size_t k = 0; k < f->len[i]; k++) {
                char c = f->f[i][k];
                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (uint64_t) (c - '0');
        }
        if (v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static char *field_dup(const struct fields *f, size_t i) { return strndup(f->f[i], f->len[i]); }

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

/* bsearch over a sorted array of strings for a (s, len) key. */
static bool sorted_has(char *const *v, size_t n, const char *s, size_t len) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strncmp(v[mid], s, len);
                if (c == 0 && v[mid][len] != 0)
                        c = 1; /* v[mid] is longer: it sorts after the key */
                if (c == 0)
                        return true;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

static bool sorted_has_u32(const uint32_t *v, size_t n, uint32_t x) {
        return n > 0 && bsearch(&x, v, n, sizeof *v, cmp_u32);
}

/* ---- login.defs ---- */


int rk_login_defs_parse(const char *text, const char *fname, struct rk_login_defs *ret,
                        char *err, size_t errlen) {
        struct rk_login_defs d = { .uid_max = RK_UID_MAX_DEFAULT };
        const char *cur = text;
        struct line l;
        for (size_t lineno = 1; next_line(&cur, &l); lineno++) {
                size_t i = 0;
                while (i < l.len && isspace((unsigned char) l.s[i]))
                        i++;
                if (i == l.len || l.s[i] == '#')
                        continue;
                size_t ks = i;
                while (i < l.len && !isspace((unsigned char) l.s[i]))
                        i++;
                if (i - ks != strlen("UID_MAX") || memcmp(l.s + ks, "UID_MAX", i - ks) != 0)
                        continue;
                while (i < l.len && isspace((unsigned char) l.s[i]))
                        i++;
                size_t ve = l.len;
                while (ve > i && isspace((unsigned char) l.s[ve - 1]))
                        ve--;
                /* getdef strips one pair of double quotes around a value */
                if (ve - i >= 2 && l.s[i] == '"' && l.s[ve - 1] == '"') {
                        i++;
                        ve--;
                }
                char val[32];
                if (ve - i == 0 || ve - i >= sizeof val) {
                        rk_set_err(err, errlen, "%s:%zu: UID_MAX has no usable value", fname, lineno);
                        return -EINVAL;
                }
                memcpy(val, l.s + i, ve - i);
                val[ve - i] = 0;
                /* shadow-utils reads numbers with strtoul(..., 0): 0x.. and 0.. too */
                errno = 0;
                char *end;
                if (!isdigit((unsigned char) val[0])) {
                        rk_set_err(err, errlen, "%s:%zu: UID_MAX \"%s\" is not a number", fname, lineno, val);
                        return -EINVAL;
                }
                unsigned long long v = strtoull(val, &end, 0);
                if (errno != 0 || *end || v > UINT32_MAX) {
                        rk_set_err(err, errlen, "%s:%zu: UID_MAX \"%s\" is not a valid UID", fname, lineno, val);
                        return -EINVAL;
                }
                d.uid_max = (unsigned) v;
        }
        *ret = d;
        return 0;
}

/* ---- passwd table ---- */

void rk_pw_table_free(struct rk_pw_table *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++) {
                free(t->entries[i].name);
                free(t->entries[i].home);
        }
        free(t->entries);
        *t = (struct rk_pw_table) {};
}

static bool parse_passwd_line(const struct line *l, struct fields *f, uint32_t *uid, uint32_t *gid) {
        return !line_is_verbatim(l) && split_fields(l, 7, f) && f->len[0] > 0 &&
               field_id(f, 2, uid) && field_id(f, 3, gid);
}

int rk_pw_table_parse(const char *passwd, struct rk_pw_table *ret) {
        struct rk_pw_table t = {};
        size_t cap = 0;
        const char *cur = passwd;
        struct line l;
        while (next_line(&cur, &l)) {
                struct fields f;
                uint32_t uid, gid;
                if (!parse_passwd_line(&l, &f, &uid, &gid))
                        continue;
                if (t.n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        struct rk_pw_entry *n = realloc(t.entries, ncap * sizeof *n);
                        if (!n)
                                goto oom;
                        t.entries = n;
                        cap = ncap;
                }
                struct rk_pw_entry e = { field_dup(&f, 0), uid, gid, field_dup(&f, 5) };
                if (!e.name || !e.home) {
                        free(e.name);
                        free(e.home);
                        goto oom;
                }
                t.entries[t.n++] = e;
        }
        *ret = t;
        return 0;
oom:
        rk_pw_table_free(&t);
        return -ENOMEM;
}

/* ---- selection ---- */

bool rk_pw_rules_match(const struct rk_pw_rules *rules, const struct rk_pw_entry *e) {
        if (e->uid == 0 || e->uid == RK_UID_NOBODY)
                return false; /* root and nobody, whatever min_uid says */
        if (e->uid < rules->min_uid || e->uid > rules->uid_max)
                return false;
        if (rk_strv_contains(rules->keep_users, e->name))
                return false;
        if (rules->only && !rk_strv_contains(rules->only, e->name))
                return false;
        return true;
}

void rk_pw_deletion_free(struct rk_pw_deletion *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n_users; i++) {
                free(d->users[i].name);
                free(d->users[i].home);
        }
        free(d->users);
        free(d->orphan_uids);
        rk_strv_free(d->groups);
        *d = (struct rk_pw_deletion) {};
}

/* Lookups over a deletion are done on sorted copies built per call: the
 * struct stays plain data that callers may also fill by hand. */
struct index {
        char **users;
        size_t n_users;
        char **groups;
        size_t n_groups;
        uint32_t *uids;
        size_t n_uids;
};

static void index_done(struct index *x) {
        free(x->users);
        free(x->groups);
        free(x->uids);
        *x = (struct index) {};
}

static int index_build(const struct rk_pw_deletion *d, struct index *ret) {
        struct index x = {};
        x.n_users = d ? d->n_users : 0;
        x.n_groups = d ? rk_strv_length(d->groups) : 0;
        x.n_uids = d ? d->n_orphan_uids : 0;
        x.users = calloc(x.n_users + 1, sizeof(char *));
        x.groups = calloc(x.n_groups + 1, sizeof(char *));
        x.uids = calloc(x.n_uids + 1, sizeof(uint32_t));
        if (!x.users || !x.groups || !x.uids) {
                index_done(&x);
                return -ENOMEM;
        }
        for (size_t i = 0; i < x.n_users; i++)
                x.users[i] = d->users[i].name;
        for (size_t i = 0; i < x.n_groups; i++)
                x.groups[i] = d->groups[i];
        if (x.n_uids)
                memcpy(x.uids, d->orphan_uids, x.n_uids * sizeof(uint32_t));
        qsort(x.users, x.n_users, sizeof(char *), cmp_str);
        qsort(x.groups, x.n_groups, sizeof(char *), cmp_str);
        qsort(x.uids, x.n_uids, sizeof(uint32_t), cmp_u32);
        *ret = x;
        return 0;
}

bool rk_pw_deletion_has_user(const struct rk_pw_deletion *d, const char *name) {
        for (size_t i = 0; d && i < d->n_users; i++)
                if (strcmp(d->users[i].name, name) == 0)
                        return true;
        return false;
}

bool rk_pw_deletion_has_group(const struct rk_pw_deletion *d, const char *name) {
        return d && rk_strv_contains(d->groups, name);
}

/* A well-formed group line, kept for the user-private-group decision. */
struct grp {
        char *name;
        uint32_t gid;
        char *members;
};

static int cmp_grp(const void *a, const void *b) {
        return strcmp(((const struct grp *) a)->name, ((const struct grp *) b)->name);
}

static void grps_free(struct grp *g, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(g[i].name);
                free(g[i].members);
        }
        free(g);
}

static int grps_parse(const char *text, struct grp **ret, size_t *ret_n) {
        struct grp *v = NULL;
        size_t n = 0, cap = 0;
        const char *cur = text;
        struct line l;
        while (next_line(&cur, &l)) {
                struct fields f;
                uint32_t gid;
                if (line_is_verbatim(&l) || !split_fields(&l, 4, &f) || f.len[0] == 0 || !field_id(&f, 2, &gid))
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        struct grp *nv = realloc(v, ncap * sizeof *nv);
                        if (!nv)
                                goto oom;
                        v = nv;
                        cap = ncap;
                }
                struct grp g = { field_dup(&f, 0), gid, field_dup(&f, 3) };
                if (!g.name || !g.members) {
                        free(g.name);
                        free(g.members);
                        goto oom;
                }
                v[n++] = g;
        }
        if (n > 0) /* v is NULL when no line was a group: qsort's base must not be */
                qsort(v, n, sizeof *v, cmp_grp);
        *ret = v;
        *ret_n = n;
        return 0;
oom:
        grps_free(v, n);
        return -ENOMEM;
}

/* Does a comma-separated member list name anyone who stays? */
static bool members_remain(const char *members, char *const *deleted, size_t n_deleted) {
        const char *p = members;
        while (*p) {
                size_t l = strcspn(p, ",");
                if (l > 0 && !sorted_has(deleted, n_deleted, p, l))
                        return true;
                p += l;
                if (*p == ',')
                        p++;
        }
        return false;
}

/* userdel's remove_usergroup(), for a batch: the group named like the user
 * goes only if it is the user's primary group, has no member left once the
 * deleted users are gone, and no remaining user has it as primary group.
 * Duplicate group lines must all agree. */
static bool is_private_group(const struct rk_pw_entry *u, const struct grp *g, size_t n_g,
                             char *const *deleted, size_t n_deleted,
                             const uint32_t *kept_gids, size_t n_kept_gids) {
        struct grp key = { .name = u->name };
        if (n_g == 0)
                return false;
        struct grp *hit = bsearch(&key, g, n_g, sizeof *g, cmp_grp);
        if (!hit)
                return false;
        while (hit > g && strcmp(hit[-1].name, u->name) == 0)
                hit--;
        for (; hit < g + n_g && strcmp(hit->name, u->name) == 0; hit++)
                if (hit->gid != u->gid || members_remain(hit->members, deleted, n_deleted))
                        return false;
        return !sorted_has_u32(kept_gids, n_kept_gids, u->gid);
}

static int sorted_copy(char *const *v, char ***ret, size_t *ret_n) {
        size_t n = rk_strv_length(v);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        if (n)
                memcpy(c, v, n * sizeof(char *));
        qsort(c, n, sizeof(char *), cmp_str);
        *ret = c;
        *ret_n = n;
        return 0;
}

/* Sorted views of the rules' lists: selection over 10,000 users must not
 * be quadratic. */
struct rules_index {
        const struct rk_pw_rules *rules;
        char **keep, **only;
        size_t n_keep, n_only;
};

static bool rules_index_match(const struct rules_index *ri, const struct rk_pw_entry *e) {
        const struct rk_pw_rules *rules = ri->rules;
        if (e->uid == 0 || e->uid == RK_UID_NOBODY)
                return false;
        if (e->uid < rules->min_uid || e->uid > rules->uid_max)
                return false;
        size_t l = strlen(e->name);
        if (sorted_has(ri->keep, ri->n_keep, e->name, l))
                return false;
        if (rules->only && !sorted_has(ri->only, ri->n_only, e->name, l))
                return false;
        return true;
}

struct name_idx {
        const char *name;
        size_t i;
};

static int cmp_name_idx(const void *a, const void *b) {
        const struct name_idx *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c ? c : (x->i < y->i ? -1 : x->i > y->i);
}

int rk_pw_select(const struct rk_pw_table *t, const struct rk_pw_rules *rules,
                 const char *group_text, struct rk_pw_deletion *ret) {
        struct rk_pw_deletion d = {};
        struct rules_index ri = { .rules = rules };
        _cleanup_free_ char **protected = calloc(t->n + 1, sizeof(char *));
        _cleanup_free_ char **deleted = calloc(t->n + 1, sizeof(char *));
        _cleanup_free_ uint32_t *kept_uids = calloc(t->n + 1, sizeof(uint32_t));
        _cleanup_free_ uint32_t *kept_gids = calloc(t->n + 1, sizeof(uint32_t));
        _cleanup_free_ struct name_idx *byname = calloc(t->n + 1, sizeof(struct name_idx));
        _cleanup_free_ bool *first = calloc(t->n + 1, sizeof(bool));
        struct grp *g = NULL;
        size_t n_prot = 0, n_del = 0, n_kept = 0, n_g = 0;
        int r = -ENOMEM;

        if (!protected || !deleted || !kept_uids || !kept_gids || !byname || !first)
                return -ENOMEM;
        if (sorted_copy(rules->keep_users, &ri.keep, &ri.n_keep) < 0 ||
            sorted_copy(rules->only, &ri.only, &ri.n_only) < 0)
                goto fail;

        /* A name with any line that does not qualify is protected whole:
         * shadow and group are keyed by name, they cannot tell two passwd
         * lines of one name apart. */
        for (size_t i = 0; i < t->n; i++)
                if (!rules_index_match(&ri, &t->entries[i]))
                        protected[n_prot++] = t->entries[i].name;
        qsort(protected, n_prot, sizeof(char *), cmp_str);

        /* Of duplicate lines of one name, the first (in file order) speaks. */
        for (size_t i = 0; i < t->n; i++)
                byname[i] = (struct name_idx) { t->entries[i].name, i };
        qsort(byname, t->n, sizeof *byname, cmp_name_idx);
        for (size_t k = 0; k < t->n; k++)
                first[byname[k].i] = k == 0 || strcmp(byname[k - 1].name, byname[k].name) != 0;

        d.users = calloc(t->n + 1, sizeof *d.users);
        if (!d.users)
                goto fail;
        for (size_t i = 0; i < t->n; i++) {
                const struct rk_pw_entry *e = &t->entries[i];
                if (!first[i] || !rules_index_match(&ri, e) ||
                    sorted_has(protected, n_prot, e->name, strlen(e->name)))
                        continue;
                struct rk_pw_entry c = { strdup(e->name), e->uid, e->gid, strdup(e->home) };
                if (!c.name || !c.home) {
                        free(c.name);
                        free(c.home);
                        goto fail;
                }
                d.users[d.n_users++] = c;
                deleted[n_del++] = c.name;
        }
        qsort(deleted, n_del, sizeof(char *), cmp_str);

        for (size_t i = 0; i < t->n; i++)
                if (!sorted_has(deleted, n_del, t->entries[i].name, strlen(t->entries[i].name))) {
                        kept_uids[n_kept] = t->entries[i].uid;
                        kept_gids[n_kept++] = t->entries[i].gid;
                }
        qsort(kept_uids, n_kept, sizeof(uint32_t), cmp_u32);
        qsort(kept_gids, n_kept, sizeof(uint32_t), cmp_u32);

        /* subuid/subgid may name the owner by UID: only a UID no remaining
         * user holds can go (duplicate UIDs exist: toor, aliases). */
        d.orphan_uids = calloc(d.n_users + 1, sizeof(uint32_t));
        if (!d.orphan_uids)
                goto fail;
        for (size_t i = 0; i < d.n_users; i++)
                if (!sorted_has_u32(kept_uids, n_kept, d.users[i].uid))
                        d.orphan_uids[d.n_orphan_uids++] = d.users[i].uid;
        qsort(d.orphan_uids, d.n_orphan_uids, sizeof(uint32_t), cmp_u32);
        size_t w = 0;
        for (size_t i = 0; i < d.n_orphan_uids; i++)
                if (w == 0 || d.orphan_uids[w - 1] != d.orphan_uids[i])
                        d.orphan_uids[w++] = d.orphan_uids[i];
        d.n_orphan_uids = w;

        d.groups = calloc(d.n_users + 1, sizeof(char *));
        if (!d.groups)
                goto fail;
        if (group_text) {
                r = grps_parse(group_text, &g, &n_g);
                if (r < 0)
                        goto fail;
                r = -ENOMEM;
                size_t n_groups = 0;
                for (size_t i = 0; i < d.n_users; i++) {
                        if (!is_private_group(&d.users[i], g, n_g, deleted, n_del, kept_gids, n_kept))
                                continue;
                        if (!(d.groups[n_groups++] = strdup(d.users[i].name)))
                                goto fail;
                }
        }
        grps_free(g, n_g);
        free(ri.keep);
        free(ri.only);
        *ret = d;
        return 0;
fail:
        grps_free(g, n_g);
        free(ri.keep);
        free(ri.only);
        rk_pw_deletion_free(&d);
        return r;
}

/* ---- editors ---- */

static const struct {
        const char *name;
        size_t nfields;
} db_info[_RK_DB_MAX] = {
        [RK_DB_PASSWD] = { "passwd", 7 },
        [RK_DB_SHADOW] = { "shadow", 9 },
        [RK_DB_GROUP] = { "group", 4 },
        [RK_DB_GSHADOW] = { "gshadow", 4 },
        [RK_DB_SUBID] = { "subuid", 3 },
};

const char *rk_db_name(enum rk_db db) {
        return db >= 0 && db < _RK_DB_MAX ? db_info[db].name : NULL;
}

/* Is the line a well-formed record of db? */
static bool record_ok(enum rk_db db, const struct line *l, struct fields *f) {
        uint32_t id;
        if (line_is_verbatim(l) || !split_fields(l, db_info[db].nfields, f) || f->len[0] == 0)
                return false;
        switch (db) {
        case RK_DB_PASSWD:
                return field_id(f, 2, &id) && field_id(f, 3, &id);
        case RK_DB_GROUP:
                return field_id(f, 2, &id);
        case RK_DB_SUBID:
                return field_id(f, 1, &id) && field_id(f, 2, &id);
        default:
                return true;
        }
}

/* Append a member list without the deleted users; *changed when one went. */
static int add_members(struct buf *b, const char *s, size_t len, const struct index *x, bool *changed) {
        bool first = true;
        size_t i = 0;
        while (i <= len && len > 0) {
                size_t e = i;
                while (e < len && s[e] != ',')
                        e++;
                if (e > i && sorted_has(x->users, x->n_users, s + i, e - i)) {
                        *changed = true;
                } else {
                        if (!first) {
                                int r = buf_add(b, ",", 1);
                                if (r < 0)
                                        return r;
                        }
                        int r = buf_add(b, s + i, e - i);
                        if (r < 0)
                                return r;
                        first = false;
                }
                i = e + 1;
        }
        return 0;
}

static void note_malformed(const struct line *l, size_t lineno, const struct index *x,
                           struct rk_edit_stats *st) {
        if (line_is_verbatim(l))
                return;
        st->malformed++;
        if (!st->first_malformed)
                st->first_malformed = lineno;
        size_t nl = strcspn(l->s, ":\n");
        if (nl > l->len)
                nl = l->len;
        if (sorted_has(x->users, x->n_users, l->s, nl) || sorted_has(x->groups, x->n_groups, l->s, nl))
                st->malformed_named++;
}

/* group/gshadow line that stays: filter the member (and admin) lists. */
static int emit_group_line(enum rk_db db, const struct line *l, const struct fields *f,
                           const struct index *x, struct buf *out, struct rk_edit_stats *st) {
        struct buf nb = {};
        bool changed = false;
        int r = buf_add(&nb, l->s, (size_t) (f->f[2] - l->s)); /* name:passwd: */
        if (r >= 0 && db == RK_DB_GSHADOW)
                r = add_members(&nb, f->f[2], f->len[2], x, &changed); /* admins */
        else if (r >= 0)
                r = buf_add(&nb, f->f[2], f->len[2]); /* gid */
        if (r >= 0)
                r = buf_add(&nb, ":", 1);
        if (r >= 0)
                r = add_members(&nb, f->f[3], f->len[3], x, &changed);
        if (r >= 0) {
                if (changed) {
                        st->changed++;
                        r = buf_add(out, nb.p, nb.len);
                } else /* untouched: the original bytes, not a re-serialisation */
                        r = buf_add(out, l->s, l->len);
        }
        buf_done(&nb);
        return r;
}

/* Hand the edited text out on success (and the counts), drop it on error. */
static int finish_edit(struct buf *out, int r, char **ret, struct rk_edit_stats *stats,
                       const struct rk_edit_stats *st) {
        if (r < 0) {
                buf_done(out);
                return r;
        }
        char *s = buf_take(out);
        if (!s)
                return -ENOMEM;
        *ret = s;
        if (stats)
                *stats = *st;
        return 0;
}

int rk_db_delete(enum rk_db db, const char *in, const struct rk_pw_deletion *d,
                 char **ret, struct rk_edit_stats *stats) {
        if (db < 0 || db >= _RK_DB_MAX || !in)
                return -EINVAL;
        struct index x;
        int r = index_build(d, &x);
        if (r < 0)
                return r;
        struct rk_edit_stats st = {};
        struct buf out = {};
        const char *cur = in;
        struct line l;
        while (next_line(&cur, &l)) {
                struct fields f;
                st.lines++;
                if (!record_ok(db, &l, &f)) {
                        note_malformed(&l, st.lines, &x, &st);
                        r = buf_add(&out, l.s, l.len);
                } else {
                        bool drop = false;
                        uint32_t owner;
                        switch (db) {
                        case RK_DB_PASSWD:
                        case RK_DB_SHADOW:
                                drop = sorted_has(x.users, x.n_users, f.f[0], f.len[0]);
                                break;
                        case RK_DB_GROUP:
                        case RK_DB_GSHADOW:
                                drop = sorted_has(x.groups, x.n_groups, f.f[0], f.len[0]);
                                break;
                        case RK_DB_SUBID:
                                drop = sorted_has(x.users, x.n_users, f.f[0], f.len[0]) ||
                                       (field_id(&f, 0, &owner) && sorted_has_u32(x.uids, x.n_uids, owner));
                                break;
                        default:
                                break;
                        }
                        if (drop) {
                                st.removed++;
                                continue; /* the line and its newline go */
                        }
                        if (db == RK_DB_GROUP || db == RK_DB_GSHADOW)
                                r = emit_group_line(db, &l, &f, &x, &out, &st);
                        else
                                r = buf_add(&out, l.s, l.len);
                }
                if (r >= 0 && l.nl)
                        r = buf_add(&out, "\n", 1);
                if (r < 0)
                        break;
        }
        index_done(&x);
        return finish_edit(&out, r, ret, stats, &st);
}

/* ---- passwords ---- */

/* crypt(5)'s hash alphabet ("./0-9A-Za-z", the same for every method). */
static bool is_crypt64(char c) {
        return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static size_t span_crypt64(const char *s) {
        size_t n = 0;
        while (is_crypt64(s[n]))
                n++;
        return n;
}

/* `n` crypt64 characters, then the end of the string: the hash part. */
static const char *check_tail(const char *s, size_t n) {
        size_t l = span_crypt64(s);
        if (l != n || s[l])
                return "the hash part has the wrong length or characters outside [./0-9A-Za-z]";
        return NULL;
}

/* yescrypt, gost-yescrypt: $y$PARAMS$SALT$HASH43 */
static const char *check_yescrypt(const char *s) {
        size_t l = span_crypt64(s);
        if (l == 0 || s[l] != '$')
                return "bad yescrypt parameters";
        s += l + 1;
        l = span_crypt64(s);
        if (l == 0 || l > 86 || s[l] != '$')
                return "bad yescrypt salt (1 to 86 characters of [./0-9A-Za-z])";
        return check_tail(s + l + 1, 43);
}

/* scrypt: $7$SETTING(11..97)$HASH43 */
static const char *check_scrypt(const char *s) {
        size_t l = span_crypt64(s);
        if (l < 11 || l > 97 || s[l] != '$')
                return "bad scrypt setting";
        return check_tail(s + l + 1, 43);
}

/* bcrypt: $2b$CC$ SALT22+HASH31 (cost 04..31) */
static const char *check_bcrypt(const char *s) {
        if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == '$'))
                return "bad bcrypt cost (two digits)";
        int cost = (s[0] - '0') * 10 + (s[1] - '0');
        if (cost < 4 || cost > 31)
                return "bcrypt cost outside 04..31";
        return check_tail(s + 3, 53);
}

/* sha256crypt, sha512crypt: [rounds=N$]SALT(1..16, no '$')$HASH */
static const char *check_sha(const char *s, size_t hash_len) {
        const char *r = rk_startswith(s, "rounds=");
        if (r) {
                size_t d = strspn(r, "0123456789");
                if (d < 2 || d > 9 || r[0] == '0' || r[d] != '$')
                        return "bad rounds= (10 to 999999999)";
                s = r + d + 1;
        }
        size_t l = strcspn(s, "$");
        if (l == 0 || l > 16 || s[l] != '$')
                return "bad salt (1 to 16 characters, no '$')";
        return check_tail(s + l + 1, hash_len);
}

/* md5crypt: $1$SALT(1..8, no '$')$HASH22 */
static const char *check_md5(const char *s) {
        size_t l = strcspn(s, "$");
        if (l == 0 || l > 8 || s[l] != '$')
                return "bad md5crypt salt (1 to 8 characters, no '$')";
        return check_tail(s + l + 1, 22);
}

const char *rk_crypt_hash_problem(const char *hash) {
        if (rk_isempty(hash))
                return "empty";
        if (hash[0] == '!' || hash[0] == '*')
                return "a locked-account marker, not a password hash";
        if (strlen(hash) >= RK_CRYPT_HASH_MAX)
                return "longer than any crypt(3) output";
        for (const char *p = hash; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f || *p == ':')
                        return "contains ':' or a control character";
        if (hash[0] != '$')
                return "no \"$id$\" method prefix (traditional DES is refused: it cannot be told apart "
                       "from a clear-text password)";
        static const struct {
                const char *prefix;
                int kind;
        } methods[] = {
                { "$y$", 'y' }, { "$gy$", 'y' }, { "$7$", '7' }, { "$2b$", '2' }, { "$2y$", '2' },
                { "$2a$", '2' }, { "$6$", '6' }, { "$5$", '5' }, { "$1$", '1' },
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(methods); i++) {
                const char *rest = rk_startswith(hash, methods[i].prefix);
                if (!rest)
                        continue;
                switch (methods[i].kind) {
                case 'y': return check_yescrypt(rest);
                case '7': return check_scrypt(rest);
                case '2': return check_bcrypt(rest);
                case '6': return check_sha(rest, 86);
                case '5': return check_sha(rest, 43);
                default: return check_md5(rest);
                }
        }
        return "not an accepted method ($y$, $gy$, $7$, $2b$, $2y$, $2a$, $6$, $5$, $1$)";
}

bool rk_crypt_hash_valid(const char *hash) {
        return !rk_crypt_hash_problem(hash);
}

/* Rewrite one field of one user's record; the other lines and fields stay
 * byte for byte. */
static int set_fields(enum rk_db db, const char *in, const char *user, const char *const *values,
                      char **ret, struct rk_edit_stats *stats) {
        struct rk_edit_stats st = {};
        struct buf out = {};
        const char *cur = in;
        struct line l;
        bool found = false;
        int r = 0;
        while (r >= 0 && next_line(&cur, &l)) {
                struct fields f;
                st.lines++;
                if (!record_ok(db, &l, &f) || !field_eq(&f, 0, user)) {
                        r = buf_add(&out, l.s, l.len);
                } else {
                        found = true;
                        struct buf nb = {};
                        bool changed = false;
                        for (size_t i = 0; r >= 0 && i < f.n; i++) {
                                const char *v = i < db_info[db].nfields && values[i] ? values[i] : NULL;
                                if (i > 0)
                                        r = buf_add(&nb, ":", 1);
                                if (r < 0)
                                        break;
                                if (v && !field_eq(&f, i, v)) {
                                        changed = true;
                                        r = buf_adds(&nb, v);
                                } else
                                        r = buf_add(&nb, f.f[i], f.len[i]);
                        }
                        if (r >= 0 && changed) {
                                st.changed++;
                                r = buf_add(&out, nb.p, nb.len);
                        } else if (r >= 0)
                                r = buf_add(&out, l.s, l.len);
                        buf_done(&nb);
                }
                if (r >= 0 && l.nl)
                        r = buf_add(&out, "\n", 1);
        }
        if (r >= 0 && !found)
                r = -ENOENT;
        return finish_edit(&out, r, ret, stats, &st);
}

int rk_shadow_set_password(const char *in, const char *user, const char *hash, bool expire,
                           long now_days, char **ret, struct rk_edit_stats *stats) {
        if (!rk_crypt_hash_valid(hash) || rk_isempty(user) || now_days < 0)
                return -EINVAL;
        char lastchg[24];
        snprintf(lastchg, sizeof lastchg, "%ld", expire ? 0L : now_days);
        const char *values[MAX_FIELDS] = { [1] = hash, [2] = lastchg };
        return set_fields(RK_DB_SHADOW, in, user, values, ret, stats);
}

int rk_passwd_set_shadowed(const char *in, const char *user, char **ret, struct rk_edit_stats *stats) {
        if (rk_isempty(user))
                return -EINVAL;
        const char *values[MAX_FIELDS] = { [1] = "x" };
        return set_fields(RK_DB_PASSWD, in, user, values, ret, stats);
}

int rk_shadow_add_password(const char *in, const char *user, const char *hash, bool expire, long now_days,
                           char **ret) {
        if (!in || !rk_crypt_hash_valid(hash) || rk_isempty(user) || strchr(user, ':') || strchr(user, '\n') ||
            now_days < 0)
                return -EINVAL;
        /* Any line naming the user, even one we cannot parse, means a
         * second line would be a duplicate whose winner depends on the
         * reader: leave that to a human. */
        size_t ul = strlen(user);
        const char *cur = in;
        struct line l;
        while (next_line(&cur, &l))
                if (l.len > ul && memcmp(l.s, user, ul) == 0 && l.s[ul] == ':')
                        return -EEXIST;
        struct buf out = {};
        size_t inl = strlen(in);
        int r = buf_add(&out, in, inl);
        if (r >= 0 && inl > 0 && in[inl - 1] != '\n')
                r = buf_add(&out, "\n", 1);
        /* aging fields empty: no minimum, maximum or warning period is
         * invented; lastchg 0 alone forces the change at first login */
        char tail[64];
        snprintf(tail, sizeof tail, ":%ld::::::\n", expire ? 0L : now_days);
        if (r >= 0)
                r = buf_adds(&out, user);
        if (r >= 0)
                r = buf_add(&out, ":", 1);
        if (r >= 0)
                r = buf_adds(&out, hash);
        if (r >= 0)
                r = buf_adds(&out, tail);
        struct rk_edit_stats st = { .changed = 1 };
        return finish_edit(&out, r, ret, NULL, &st);
}

int rk_passwd_set_hash(const char *in, const char *user, const char *hash, char **ret, struct rk_edit_stats *stats) {
        if (!rk_crypt_hash_valid(hash) || rk_isempty(user))
                return -EINVAL;
        const char *values[MAX_FIELDS] = { [1] = hash };
        return set_fields(RK_DB_PASSWD, in, user, values, ret, stats);
}

/* ---- homes ---- */

int rk_home_canonical(const char *home, char **ret) {
        if (rk_isempty(home) || home[0] != '/')
                return -EINVAL;
        struct buf b = {};
        int r = 0;
        for (const char *p = home; *p && r >= 0;) {
                p += strspn(p, "/");
                size_t cl = strcspn(p, "/");
                if (cl == 0)
                        break;
                if (cl == 1 && p[0] == '.') {
                        p += cl;
                        continue;
                }
                if (cl == 2 && p[0] == '.' && p[1] == '.') {
                        /* never resolved by hand: /home/x/.. may be
                         * anything once symlinks are involved */
                        buf_done(&b);
                        return -EINVAL;
                }
                for (size_t i = 0; i < cl; i++)
                        if ((unsigned char) p[i] < 0x20) {
                                buf_done(&b);
                                return -EINVAL;
                        }
                r = buf_add(&b, "/", 1);
                if (r >= 0)
                        r = buf_add(&b, p, cl);
                p += cl;
        }
        if (r < 0) {
                buf_done(&b);
                return r;
        }
        if (b.len == 0)
                r = buf_add(&b, "/", 1);
        if (r < 0) {
                buf_done(&b);
                return r;
        }
        *ret = buf_take(&b);
        return *ret ? 0 : -ENOMEM;
}

/* First index whose string is >= key. */
static size_t lower_bound(char *const *v, size_t n, const char *key) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(v[mid], key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

enum rk_home_verdict rk_home_rule(const char *home, const char *base, char *const *remaining, size_t n_remaining) {
        if (rk_isempty(home) || home[0] != '/' || rk_isempty(base) || base[0] != '/' || strcmp(base, "/") == 0)
                return RK_HOME_KEEP_INVALID;
        if (strcmp(home, base) == 0)
                return RK_HOME_KEEP_BASE;
        size_t bl = strlen(base);
        if (strncmp(home, base, bl) != 0 || home[bl] != '/')
                return RK_HOME_KEEP_OUTSIDE;
        /* a remaining account's home is this one or lies inside it: in the
         * sorted list, "H" itself, then everything starting "H/" follows the
         * lower bound of "H/" */
        size_t i = lower_bound(remaining, n_remaining, home);
        if (i < n_remaining && strcmp(remaining[i], home) == 0)
                return RK_HOME_KEEP_SHARED;
        size_t hl = strlen(home);
        _cleanup_free_ char *key = malloc(hl + 2);
        if (!key)
                return RK_HOME_KEEP_INVALID; /* out of memory: keep, never guess towards removal */
        memcpy(key, home, hl);
        key[hl] = '/';
        key[hl + 1] = 0;
        i = lower_bound(remaining, n_remaining, key);
        if (i < n_remaining && strncmp(remaining[i], key, hl + 1) == 0)
                return RK_HOME_KEEP_SHARED;
        return RK_HOME_REMOVE;
}

const char *rk_home_verdict_str(enum rk_home_verdict v) {
        switch (v) {
        case RK_HOME_REMOVE: return "removed";
        case RK_HOME_KEEP_INVALID: return "not an absolute path without \"..\"";
        case RK_HOME_KEEP_OUTSIDE: return "not under the home base";
        case RK_HOME_KEEP_BASE: return "the home base itself";
        case RK_HOME_KEEP_SHARED: return "a remaining account's home is it or lies inside it";
        }
        return "?";
}

int rk_useradd_home_parse(const char *text, const char *fname, char **ret, char *err, size_t errlen) {
        _cleanup_free_ char *base = NULL;
        const char *cur = text;
        struct line l;
        for (size_t lineno = 1; next_line(&cur, &l); lineno++) {
                /* useradd's get_defaults(): a line starting "HOME=" exactly,
                 * the rest of the line is the value; the last one wins */
                if (l.len < 5 || memcmp(l.s, "HOME=", 5) != 0)
                        continue;
                size_t vs = 5, ve = l.len;
                while (ve > vs && isspace((unsigned char) l.s[ve - 1]))
                        ve--;
                if (ve - vs >= 2 && l.s[vs] == '"' && l.s[ve - 1] == '"') {
                        vs++;
                        ve--;
                }
                _cleanup_free_ char *v = strndup(l.s + vs, ve - vs);
                if (!v)
                        return -ENOMEM;
                free(base);
                base = NULL;
                int r = rk_home_canonical(v, &base);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || strcmp(base, "/") == 0) {
                        rk_set_err(err, errlen, "%s:%zu: HOME=%.*s is not a usable home base (an absolute "
                                   "directory other than /, without \"..\")", fname, lineno,
                                   (int) (ve - vs > 200 ? 200 : ve - vs), l.s + vs);
                        return -EINVAL;
                }
        }
        if (!base && !(base = strdup(RK_HOME_BASE_DEFAULT)))
                return -ENOMEM;
        *ret = RK_TAKE_PTR(base);
        return 0;
}
