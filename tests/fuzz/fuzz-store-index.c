/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the configuration store's index.json parser.  The
 * index is read from the target's disk (after bit rot, a torn write, or
 * tampering), so any bytes must give either an index that formats and
 * parses again to the same text, or an error that says why. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "store.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        if (!text)
                return 0;
        struct rk_store_index a = {}, b = {};
        char err[256] = "";
        if (rk_store_index_parse(text, strlen(text), &a, err, sizeof err) == 0) {
                char *fa = NULL, *fb = NULL;
                assert(rk_store_index_format(&a, &fa) == 0);
                assert(rk_store_index_parse(fa, strlen(fa), &b, err, sizeof err) == 0);
                assert(rk_store_index_format(&b, &fb) == 0);
                assert(strcmp(fa, fb) == 0);
                /* a name the index gives is exactly 64 hex digits: it
                 * becomes a file name in the store's directory */
                if (a.running.present) {
                        assert(strlen(a.running.sha256) == RK_SHA256_HEX_LEN);
                        assert(strspn(a.running.sha256, "0123456789abcdef") == RK_SHA256_HEX_LEN);
                        assert(rk_store_index_references(&a, a.running.sha256));
                }
                /* rotation keeps every invariant the parser checks */
                struct rk_store_entry e = { .present = true, .size = 1, .time = 1 };
                memset(e.sha256, 'a', RK_SHA256_HEX_LEN);
                assert(rk_store_index_push(&a, &e, 5) == 0);
                assert(a.n_backups <= 5);
                free(fa);
                free(fb);
        } else
                assert(err[0] != 0);
        rk_store_index_done(&a);
        rk_store_index_done(&b);
        free(text);
        return 0;
}
