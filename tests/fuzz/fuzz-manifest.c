/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the factory-reset manifest parser.  Any input must give
 * either entries that satisfy the parser's own promises or an error naming
 * "FILE:LINE:" with the manifest left as it was. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "manifest.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        if (!text)
                return 0;
        struct rk_manifest m = {};
        char err[512] = "";
        /* one good entry first: a failed parse must leave it alone */
        assert(rk_manifest_parse_string(&m, "remove /first\n", "a.conf", err, sizeof err) == 0);
        int r = rk_manifest_parse_string(&m, text, "fuzz.conf", err, sizeof err);
        if (r < 0) {
                assert(m.n == 1);
                assert(r == -ENOMEM || rk_startswith(err, "fuzz.conf:"));
        }
        for (size_t i = 0; i < m.n; i++) {
                const struct rk_mf_entry *e = &m.entries[i];
                assert(rk_mf_action_name(e->action));
                assert(e->path && e->file && e->line > 0);
                if (rk_mf_action_removes(e->action) || e->action == RK_MF_ZERO_FREE_SPACE) {
                        assert(e->path[0] == '/');
                        assert(!strstr(e->path, "/../") && !rk_endswith(e->path, "/.."));
                        assert(!strstr(e->path, "//"));
                }
                if (rk_mf_action_removes(e->action))
                        assert(strcmp(e->path, "/") != 0);
                for (const char *c = e->path; *c; c++)
                        assert((unsigned char) *c >= 0x20 || *c == '\t');
        }
        rk_manifest_free(&m);
        free(text);
        return 0;
}
