/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the resetd.conf parser and its cross-key checks. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "conf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        if (!text)
                return 0;
        struct rk_config c;
        char err[512] = "";
        if (rk_config_init(&c) == 0) {
                int r = rk_config_parse_string(&c, text, "fuzz.conf", err, sizeof err);
                if (r == 0)
                        (void) rk_config_validate(&c, "fuzz.conf", err, sizeof err);
                else
                        assert(r == -ENOMEM || rk_startswith(err, "fuzz.conf"));
                rk_config_free(&c);
        }
        free(text);
        return 0;
}
