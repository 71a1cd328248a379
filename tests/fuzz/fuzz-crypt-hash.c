/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the factory-hash check (a reset-password hash, inline
 * in a manifest or in a @FILE of the target).  What it accepts must be
 * safe to write into shadow (one field: no ':', no newline, no control
 * character) and shaped like a crypt(5) hash; what it refuses it says why. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "passwd.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        if (!text)
                return 0;
        const char *why = rk_crypt_hash_problem(text);
        assert(rk_crypt_hash_valid(text) == !why);
        if (why)
                assert(*why);
        else {
                assert(text[0] == '$' && strlen(text) < RK_CRYPT_HASH_MAX);
                for (const char *p = text; *p; p++)
                        assert((unsigned char) *p >= 0x20 && *p != 0x7f && *p != ':');
                /* the hash part: the last '$' is followed by [./0-9A-Za-z] only */
                const char *h = strrchr(text, '$') + 1;
                assert(*h && strspn(h, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == strlen(h));
                /* and it edits into a shadow line that stays one line of 9 fields */
                char *out = NULL;
                assert(rk_shadow_add_password("root:*:1::::::\n", "u", text, true, 1, &out) == 0 || !out);
                if (out) {
                        char *line = strchr(out, '\n') + 1;
                        size_t colons = 0;
                        for (const char *p = line; *p && *p != '\n'; p++)
                                colons += *p == ':';
                        assert(colons == 8 && rk_endswith(out, "\n") && !strchr(line, '\n')[1]);
                }
                free(out);
        }
        free(text);
        return 0;
}
