/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz.h — the libFuzzer entry point every target defines, and the input
 * as the parsers take it: NUL-terminated text of bounded size. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* NULL for inputs not worth parsing (over 256 KiB) or out of memory */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        if (size > 256 * 1024)
                return NULL;
        return strndup((const char *) data, size);
}
