/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sha256.h — SHA-256 through OpenSSL's libcrypto (loaded on first use), as lowercase hex. */
#pragma once

#include <stddef.h>

#define RK_SHA256_HEX_LEN 64

/* out must hold RK_SHA256_HEX_LEN + 1 bytes; returns 0, -ELIBACC when
 * libcrypto cannot be loaded, -ELIBBAD when it lacks the calls, -EIO */
int rk_sha256_hex(const void *data, size_t len, char out[static RK_SHA256_HEX_LEN + 1]);
/* true if s is exactly 64 lowercase hex digits */
int rk_sha256_hex_valid(const char *s);
