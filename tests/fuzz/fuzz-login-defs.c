/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the readers of the target's etc/login.defs (UID_MAX)
 * and etc/default/useradd (HOME=, the home base), and the home rule they
 * feed.  Any input gives a value that keeps the parsers' promises or an
 * error naming "FILE:LINE:" with the output untouched. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "passwd.h"
#include "util.h"

/* canonical: absolute, no empty, "." or ".." component, no trailing '/' */
static void assert_canonical(const char *p) {
        assert(p[0] == '/');
        if (strcmp(p, "/") == 0)
                return;
        assert(!rk_endswith(p, "/") && !strstr(p, "//"));
        assert(!strstr(p, "/./") && !rk_endswith(p, "/.") && !strstr(p, "/../") && !rk_endswith(p, "/.."));
        char *again = NULL;
        assert(rk_home_canonical(p, &again) == 0 || !again);
        if (again)
                assert(strcmp(again, p) == 0);
        free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        if (!text)
                return 0;
        char err[512] = "";

        struct rk_login_defs d = { .uid_max = 7 };
        int r = rk_login_defs_parse(text, "login.defs", &d, err, sizeof err);
        if (r < 0) {
                assert(r == -EINVAL && rk_startswith(err, "login.defs:"));
                assert(d.uid_max == 7);
        }

        char *base = NULL;
        r = rk_useradd_home_parse(text, "useradd", &base, err, sizeof err);
        if (r < 0) {
                assert(!base);
                assert(r == -ENOMEM || (r == -EINVAL && rk_startswith(err, "useradd:")));
        } else {
                assert_canonical(base);
                assert(strcmp(base, "/") != 0);
        }

        /* the input's first line as a passwd home field */
        char *home = strndup(text, strcspn(text, "\n"));
        char *canon = NULL;
        if (home && rk_home_canonical(home, &canon) == 0) {
                assert_canonical(canon);
                if (base) {
                        char *kept[] = { (char *) "/home/keep", (char *) "/srv/a/b" };
                        enum rk_home_verdict v = rk_home_rule(canon, base, kept, 2);
                        size_t bl = strlen(base);
                        if (v == RK_HOME_REMOVE) {
                                /* strictly under the base, not a kept home nor holding one */
                                assert(strncmp(canon, base, bl) == 0 && canon[bl] == '/' && canon[bl + 1]);
                                assert(strcmp(canon, "/home/keep") != 0 && strcmp(canon, "/srv/a/b") != 0);
                                assert(strcmp(canon, "/srv") != 0 && strcmp(canon, "/srv/a") != 0 &&
                                       strcmp(canon, "/home") != 0);
                        }
                        if (strcmp(canon, base) == 0)
                                assert(v == RK_HOME_KEEP_BASE);
                        assert(rk_home_verdict_str(v)[0] != '?');
                }
        }
        free(canon);
        free(home);
        free(base);
        free(text);
        return 0;
}
