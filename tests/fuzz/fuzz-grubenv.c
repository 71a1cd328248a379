/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the GRUB environment block parser (grubenv.c).  GRUB
 * reads the block before any OS runs and cannot repair it, so whatever bytes
 * are there must give either an error naming the block, or lines that
 * serialise back to the very same 1024 bytes; removing and setting keys
 * must keep it a block that parses, with every other line kept verbatim.
 *
 * The first input byte picks the shape: even, the input is the block as it
 * is (the size and signature checks); odd, the rest follows the signature
 * and is cut or '#'-padded to 1024 bytes, so most inputs reach the line
 * parser. */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "grubenv.h"
#include "util.h"

static void check_lines(const struct rk_grubenv *env) {
        for (size_t i = 0; i < env->n_lines; i++) {
                const struct rk_grubenv_line *l = &env->lines[i];
                assert(l->raw);
                if (!l->name) {
                        assert(l->raw[0] == '#' && !l->value);
                        continue;
                }
                assert(l->value && l->name[0] && l->name[0] != '#');
                assert(!strchr(l->name, '=') && !strchr(l->name, '\n'));
                assert(rk_startswith(l->raw, l->name) && l->raw[strlen(l->name)] == '=');
        }
}

static void parse_ok(const char *blk, struct rk_grubenv *env) {
        char err[512] = "";
        int r = rk_grubenv_parse(blk, RK_GRUBENV_SIZE, "fuzz", env, err, sizeof err);
        assert(r == 0);
        check_lines(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 8192)
                return 0;
        const size_t siglen = strlen(RK_GRUBENV_SIGNATURE);
        char blk[RK_GRUBENV_SIZE];
        const char *in;
        size_t len;
        if (data[0] & 1) {
                size_t n = size - 1 < sizeof blk - siglen ? size - 1 : sizeof blk - siglen;
                memcpy(blk, RK_GRUBENV_SIGNATURE, siglen);
                memcpy(blk + siglen, data + 1, n);
                memset(blk + siglen + n, '#', sizeof blk - siglen - n);
                in = blk;
                len = sizeof blk;
        } else {
                in = (const char *) data + 1;
                len = size - 1;
        }

        struct rk_grubenv env = {};
        char err[512] = "";
        int r = rk_grubenv_parse(in, len, "fuzz", &env, err, sizeof err);
        if (r < 0) {
                assert(r == -EINVAL || r == -ENOMEM);
                assert(r == -ENOMEM || rk_startswith(err, "fuzz: "));
                assert(env.n_lines == 0 && !env.lines);
                return 0;
        }
        assert(len == RK_GRUBENV_SIZE);
        check_lines(&env);

        /* what parsed serialises back byte for byte */
        char out[RK_GRUBENV_SIZE];
        assert(rk_grubenv_serialize(&env, out) == 0);
        assert(memcmp(out, in, RK_GRUBENV_SIZE) == 0);

        /* removing a key (the reset's own edit) shrinks the block; every
         * other line stays as it was */
        const char *victim = NULL;
        for (size_t i = 0; i < env.n_lines && !victim; i++)
                victim = env.lines[i].name;
        if (victim) {
                char *name = strdup(victim);
                assert(name);
                size_t before = env.n_lines, removed = rk_grubenv_unset(&env, name);
                assert(removed >= 1 && env.n_lines == before - removed);
                assert(!rk_grubenv_get(&env, name));
                assert(rk_grubenv_serialize(&env, out) == 0);
                struct rk_grubenv again = {};
                parse_ok(out, &again);
                assert(again.n_lines == env.n_lines);
                for (size_t i = 0; i < env.n_lines; i++)
                        assert(strcmp(again.lines[i].raw, env.lines[i].raw) == 0);
                assert(!rk_grubenv_get(&again, name));
                rk_grubenv_done(&again);
                free(name);
        }

        /* setting a value (any bytes but NUL) reads back as set, escaped */
        char *value = strndup((const char *) data + 1, size - 1 < 200 ? size - 1 : 200);
        assert(value);
        assert(rk_grubenv_set(&env, "fuzz_key", value) == 0);
        assert(strcmp(rk_grubenv_get(&env, "fuzz_key"), value) == 0);
        if (rk_grubenv_serialize(&env, out) == 0) {
                struct rk_grubenv again = {};
                parse_ok(out, &again);
                const char *got = rk_grubenv_get(&again, "fuzz_key");
                assert(got && strcmp(got, value) == 0);
                rk_grubenv_done(&again);
        }
        assert(rk_grubenv_set(&env, "bad=name", "x") == -EINVAL);
        assert(rk_grubenv_set(&env, "#comment", "x") == -EINVAL);
        free(value);
        rk_grubenv_done(&env);
        return 0;
}
