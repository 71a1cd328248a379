/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the factory-reset journal parser.  The journal is read
 * back after a power cut, so whatever bytes are there must give either a
 * plan that formats and parses again to the same text, or an error. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "journal.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        if (!text)
                return 0;
        struct rk_journal j, k;
        char err[256] = "";
        rk_journal_init(&j);
        rk_journal_init(&k);
        if (rk_journal_parse(&j, text, err, sizeof err) == 0) {
                char *a = NULL, *b = NULL;
                assert(j.next <= j.plan.n);
                assert(rk_journal_format(&j, &a) == 0);
                assert(rk_journal_parse(&k, a, err, sizeof err) == 0);
                assert(rk_journal_format(&k, &b) == 0);
                assert(strcmp(a, b) == 0);
                free(a);
                free(b);
        } else
                assert(err[0] != 0);
        rk_journal_free(&j);
        rk_journal_free(&k);
        free(text);
        return 0;
}
