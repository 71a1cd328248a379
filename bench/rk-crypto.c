/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rk-crypto — crypto.c driven directly, for bench-zero.py's crypto-erase
 * row: the erase the factory reset's `crypto-erase` entry does, timed.
 *
 *   rk-crypto erase PATH     prints "crypto-erase PATH: N bytes in S s (verified)"
 *
 * Exit codes as resetctl's: 0 ok, 1 failed, 2 usage. */
#include <stdio.h>

#include "crypto.h"
#include "exitcode.h"
#include "util.h"

int main(int argc, char **argv) {
        if (argc != 3 || strcmp(argv[1], "erase") != 0) {
                fprintf(stderr, "usage: rk-crypto erase PATH\n");
                return RK_EXIT_USAGE;
        }
        struct rk_crypto_result res;
        char err[1024] = "";
        uint64_t t0 = rk_now_ns();
        int r = rk_crypto_erase(argv[2], &res, err, sizeof err);
        double secs = (double) (rk_now_ns() - t0) / 1e9;
        if (r < 0) {
                fprintf(stderr, "rk-crypto: %s\n", err);
                return RK_EXIT_FAILURE;
        }
        printf("crypto-erase %s: %llu bytes in %.4f s (%s, %u keyslots destroyed, %llu keyslot-area bytes zeroed, verified)\n",
               argv[2], (unsigned long long) res.size, secs, res.type, res.slots_destroyed,
               (unsigned long long) res.area_bytes);
        return RK_EXIT_OK;
}
