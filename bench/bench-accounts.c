/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-accounts — delete N users (default 10,000) from passwd, shadow,
 * group, gshadow, subuid, subgid with their homes and mail spools under a
 * temporary root: resetkit's accounts step against a shell loop of
 * `userdel -P ROOT -r NAME` on an identical copy.
 *
 *   bench-accounts [USERS [USERDEL_CAP]]
 *
 * userdel rewrites every file once per user, so the loop is capped
 * (default 500 users) and its time extrapolated linearly to USERS — which
 * flatters userdel slightly (its files shrink as it goes).  Needs root
 * (homes are chowned to their users, as userdel -r insists on).  Never
 * touches anything outside its temporary directory. */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "accounts.h"
#include "fsutil.h"
#include "log.h"
#include "util.h"

#define HASH "$6$benchsalt$Jx0A8y7nOQe0Q2z8tYQp4u7TqkUoN9Oq2dLrAdd.yT0Ld0ZpXKX7rU6s3N6e8vTzB0N0ykqF3E5x2hWZ9t8YV."

static int put(const char *root, const char *rel, const char *content, size_t len, mode_t mode) {
        _cleanup_free_ char *p = rk_path_join(root, rel);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0 || rk_write_all(fd, content, len) < 0) {
                fprintf(stderr, "bench-accounts: writing %s: %m\n", p);
                return -1;
        }
        return 0;
}

/* One database text built with a printf per line. */
struct text {
        char *p;
        size_t len;
        FILE *f;
};

static void text_open(struct text *t) {
        *t = (struct text) {};
        t->f = open_memstream(&t->p, &t->len);
}

static int text_put(const char *root, const char *rel, struct text *t, mode_t mode) {
        fclose(t->f);
        int r = put(root, rel, t->p, t->len, mode);
        free(t->p);
        return r;
}

static int build_root(const char *root, unsigned n) {
        struct text pw, sh, gr, gs, sub;
        text_open(&pw);
        text_open(&sh);
        text_open(&gr);
        text_open(&gs);
        text_open(&sub);
        fprintf(pw.f, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        fprintf(sh.f, "root:" HASH ":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n");
        fprintf(gr.f, "root:x:0:\nmail:x:8:\nnogroup:x:65534:\nsudo:x:27:");
        fprintf(gs.f, "root:*::\nmail:*::\nnogroup:*::\nsudo:*::");
        /* sudo and users hold every 10th user: member lists to edit */
        for (unsigned i = 0; i < n; i += 10) {
                fprintf(gr.f, "%su%u", i ? "," : "", i);
                fprintf(gs.f, "%su%u", i ? "," : "", i);
        }
        fprintf(gr.f, "\nusers:x:100:");
        fprintf(gs.f, "\nusers:*::");
        for (unsigned i = 5; i < n; i += 10) {
                fprintf(gr.f, "%su%u", i > 5 ? "," : "", i);
                fprintf(gs.f, "%su%u", i > 5 ? "," : "", i);
        }
        fprintf(gr.f, "\n");
        fprintf(gs.f, "\n");
        for (unsigned i = 0; i < n; i++) {
                unsigned id = 1000 + i;
                fprintf(pw.f, "u%u:x:%u:%u:User %u,,,:/home/u%u:/bin/bash\n", i, id, id, i, i);
                fprintf(sh.f, "u%u:" HASH ":19500:0:99999:7:::\n", i);
                fprintf(gr.f, "u%u:x:%u:\n", i, id);
                fprintf(gs.f, "u%u:!::\n", i);
                fprintf(sub.f, "u%u:%u:65536\n", i, 100000 + i * 65536);
        }
        _cleanup_free_ char *sub2 = NULL;
        fflush(sub.f);
        sub2 = strndup(sub.p, sub.len);
        _cleanup_free_ char *etc = rk_path_join(root, "etc"), *home = rk_path_join(root, "home"),
                            *var = rk_path_join(root, "var"), *mail = rk_path_join(root, "var/mail");
        if (mkdir(root, 0755) < 0 || mkdir(etc, 0755) < 0 || mkdir(home, 0755) < 0 || mkdir(var, 0755) < 0 ||
            mkdir(mail, 02775) < 0) {
                fprintf(stderr, "bench-accounts: mkdir under %s: %m\n", root);
                return -1;
        }
        if (text_put(root, "etc/passwd", &pw, 0644) < 0 || text_put(root, "etc/shadow", &sh, 0640) < 0 ||
            text_put(root, "etc/group", &gr, 0644) < 0 || text_put(root, "etc/gshadow", &gs, 0640) < 0 ||
            text_put(root, "etc/subuid", &sub, 0644) < 0 || put(root, "etc/subgid", sub2, strlen(sub2), 0644) < 0)
                return -1;
        static const char defs[] = "MAIL_DIR /var/mail\nUID_MIN 1000\nUID_MAX 60000\nUSERGROUPS_ENAB yes\n";
        if (put(root, "etc/login.defs", defs, sizeof defs - 1, 0644) < 0)
                return -1;
        /* a home with a profile and an .ssh, a mail spool */
        for (unsigned i = 0; i < n; i++) {
                char rel[64], rel2[96];
                snprintf(rel, sizeof rel, "home/u%u", i);
                _cleanup_free_ char *h = rk_path_join(root, rel);
                snprintf(rel2, sizeof rel2, "%s/.ssh", h);
                if (mkdir(h, 0750) < 0 || mkdir(rel2, 0700) < 0)
                        return -1;
                snprintf(rel2, sizeof rel2, "home/u%u/.profile", i);
                if (put(root, rel2, "# profile\n", 10, 0644) < 0)
                        return -1;
                snprintf(rel2, sizeof rel2, "home/u%u/.ssh/authorized_keys", i);
                if (put(root, rel2, "ssh-ed25519 AAAA\n", 17, 0600) < 0)
                        return -1;
                snprintf(rel2, sizeof rel2, "var/mail/u%u", i);
                if (put(root, rel2, "From x\n", 7, 0660) < 0)
                        return -1;
                uid_t uid = 1000 + i;
                _cleanup_free_ char *m = rk_path_join(root, rel2);
                char p1[256], p2[256], p3[256];
                snprintf(p1, sizeof p1, "%s/.ssh", h);
                snprintf(p2, sizeof p2, "%s/.profile", h);
                snprintf(p3, sizeof p3, "%s/.ssh/authorized_keys", h);
                if (chown(h, uid, uid) < 0 || chown(p1, uid, uid) < 0 || chown(p2, uid, uid) < 0 ||
                    chown(p3, uid, uid) < 0 || chown(m, uid, 8) < 0) {
                        fprintf(stderr, "bench-accounts: chown: %m (run as root)\n");
                        return -1;
                }
        }
        return 0;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(p);
        return 0;
}

static double secs(uint64_t ns) { return (double) ns / 1e9; }

static int run(const char *base, unsigned n, unsigned cap) {
        _cleanup_free_ char *ra = rk_path_join(base, "resetkit"), *rb = rk_path_join(base, "userdel"),
                            *rc = rk_path_join(base, "rm");
        printf("bench-accounts: %u users (+ private groups, 2 shared groups, subuid/subgid, homes, mail) in %s\n",
               n, base);
        if (build_root(ra, n) < 0 || build_root(rb, n) < 0 || build_root(rc, n) < 0)
                return 1;
        /* flush the setup: the first fsync of either contender would
         * otherwise pay for writing back both trees */
        _cleanup_close_ int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd < 0 || syncfs(bfd) < 0) {
                perror("bench-accounts: syncfs");
                return 1;
        }

        /* resetkit: plan + delete, everything in one pass per file */
        struct rk_log log;
        rk_log_init(&log, "bench-accounts");
        log.max_level = LOG_WARNING;
        _cleanup_close_ int root_fd = open(ra, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct rk_accounts_plan plan;
        char err[512] = "";
        uint64_t t0 = rk_now_ns();
        if (root_fd < 0 || rk_accounts_plan(root_fd, 1000, NULL, &plan, err, sizeof err) < 0) {
                fprintf(stderr, "bench-accounts: plan: %s\n", err);
                return 1;
        }
        int r = rk_accounts_delete(root_fd, &plan, &log);
        uint64_t t_rk = rk_now_ns() - t0;
        size_t planned = plan.n_users;
        rk_accounts_plan_free(&plan);
        if (r < 0 || planned != n) {
                fprintf(stderr, "bench-accounts: delete failed or planned %zu of %u\n", planned, n);
                return 1;
        }

        /* the floor: the same homes and spools removed by one rm -rf
         * (no database work at all) — most of resetkit's time is here */
        char rmcmd[512];
        snprintf(rmcmd, sizeof rmcmd, "rm -rf '%s/home' '%s/var/mail'", rc, rc);
        t0 = rk_now_ns();
        if (system(rmcmd) != 0) {
                fprintf(stderr, "bench-accounts: %s failed\n", rmcmd);
                return 1;
        }
        uint64_t t_rm = rk_now_ns() - t0;

        /* userdel: one process per user, as a shell loop does it */
        _cleanup_free_ char *script = rk_path_join(base, "loop.sh");
        FILE *s = fopen(script, "we");
        if (!s)
                return 1;
        fprintf(s, "fail=0\nfor u in");
        for (unsigned i = 0; i < cap; i++)
                fprintf(s, " u%u", i);
        fprintf(s, "; do\n  userdel -P '%s' -r \"$u\" 2>>'%s/userdel.err' || fail=$((fail+1))\ndone\necho $fail\n",
                rb, base);
        fclose(s);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "sh '%s'", script);
        t0 = rk_now_ns();
        FILE *pp = popen(cmd, "re");
        unsigned fails = 0;
        if (!pp || fscanf(pp, "%u", &fails) != 1) {
                fprintf(stderr, "bench-accounts: running the userdel loop failed\n");
                if (pp)
                        pclose(pp);
                return 1;
        }
        pclose(pp);
        uint64_t t_ud = rk_now_ns() - t0;
        double per_user = secs(t_ud) / cap;
        double t_ud_n = per_user * n;

        printf("  resetkit rk_accounts_delete: %u users in %.3f s (%.1f us/user)\n", n, secs(t_rk),
               secs(t_rk) * 1e6 / n);
        printf("  (floor: rm -rf of the same homes and spools: %.3f s)\n", secs(t_rm));
        printf("  userdel -P ROOT -r loop:     %u users in %.3f s (%.2f ms/user)%s\n", cap, secs(t_ud),
               per_user * 1e3, fails ? " [some userdel calls failed]" : "");
        if (cap < n)
                printf("  userdel extrapolated to %u users: %.1f s (capped at %u, linear; userdel's files shrink "
                       "as it goes, so this slightly flatters userdel)\n", n, t_ud_n, cap);
        double ratio = t_ud_n / secs(t_rk);
        printf("  ratio userdel/resetkit: %.0fx (goal > 100x): %s\n", ratio, ratio > 100 ? "PASS" : "MISS");
        if (fails) {
                printf("  note: %u userdel call(s) returned an error; first messages:\n", fails);
                char c[512];
                snprintf(c, sizeof c, "grep -v 'mail spool' '%s/userdel.err' | head -3 | sed 's/^/    /'", base);
                fflush(stdout);
                (void) !system(c);
        }
        return 0;
}

int main(int argc, char **argv) {
        unsigned n = 10000, cap = 500;
        if ((argc > 1 && rk_parse_uint(argv[1], &n) < 0) || (argc > 2 && rk_parse_uint(argv[2], &cap) < 0) ||
            n == 0 || n > 50000) {
                fprintf(stderr, "usage: bench-accounts [USERS (1..50000) [USERDEL_CAP]]\n");
                return 2;
        }
        if (cap > n)
                cap = n;
        if (geteuid() != 0) {
                fprintf(stderr, "bench-accounts: needs root (homes owned by their users, userdel)\n");
                return 77;
        }
        char base[] = "/tmp/rk-bench-accounts-XXXXXX";
        if (!mkdtemp(base)) {
                perror("mkdtemp");
                return 1;
        }
        int rc = run(base, n, cap);
        (void) nftw(base, rm_cb, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        return rc;
}
