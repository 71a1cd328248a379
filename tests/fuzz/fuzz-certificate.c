/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: what issue 15 added that reads text.  The first line
 * is a crypto-erase line's options (rk_crypto_opts_parse: accepted ones
 * normalise to a fixed point); the rest is a stored certificate
 * (`resetctl certificate` prints whatever it finds, or names why not) and,
 * when it is a JSON object, a media record of the journal (round trip:
 * the record formats and parses back to the same). */
#include <assert.h>
#include <stdint.h>

#include "fuzz.h"

#include "certificate.h"
#include "manifest.h"
#include "util.h"

static void opts(const char *line) {
        struct rk_crypto_opts o;
        char err[256] = "", *norm = NULL, *again = NULL;
        if (rk_crypto_opts_parse(line, &o, &norm, err, sizeof err) != 0) {
                assert(err[0]);
                return;
        }
        assert(!o.mkfs || o.keyfile);
        rk_crypto_opts_done(&o);
        if (norm) {
                assert(rk_crypto_opts_parse(norm, NULL, &again, err, sizeof err) == 0);
                assert(again && strcmp(norm, again) == 0);
        }
        free(norm);
        free(again);
}

static void media(const char *text) {
        json_object *o = json_tokener_parse(text);
        struct rk_media m, k;
        if (o && rk_media_from_json(o, &m) == 0) {
                json_object *a = rk_media_to_json(&m, true);
                assert(a && rk_media_from_json(a, &k) == 0);
                json_object *b = rk_media_to_json(&k, true);
                assert(strcmp(json_object_to_json_string(a), json_object_to_json_string(b)) == 0);
                json_object_put(a);
                json_object_put(b);
                rk_media_done(&m);
                rk_media_done(&k);
        }
        json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        if (!text)
                return 0;
        char *nl = strchr(text, '\n'), *rest = nl ? nl + 1 : text + strlen(text);
        if (nl)
                *nl = 0;
        opts(text);
        FILE *out = fopen("/dev/null", "we");
        char err[256] = "";
        if (out) {
                if (rk_cert_print_text(rest, out, err, sizeof err) != 0)
                        assert(err[0]);
                fclose(out);
        }
        media(rest);
        free(text);
        return 0;
}
