/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

int rk_sha256_hex(const void *data, size_t len, char out[static RK_SHA256_HEX_LEN + 1]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
                return -EIO;
        static const char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < 32; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
        out[RK_SHA256_HEX_LEN] = 0;
        return 0;
}

int rk_sha256_hex_valid(const char *s) {
        if (!s || strlen(s) != RK_SHA256_HEX_LEN)
                return 0;
        return strspn(s, "0123456789abcdef") == RK_SHA256_HEX_LEN;
}
