/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 through OpenSSL's libcrypto, loaded on first use.
 *
 * Why dlopen and not a link: libcrypto's load-time relocations alone keep
 * about 1.5 MB resident in every process that maps it, whether it hashes or
 * not.  resetd idles for the appliance's whole life and hashes only inside
 * the child that carries out a rescue or a factory reset; linked, libcrypto
 * would triple its resident set (issue 5's goal is under 2 MiB).  systemd
 * loads its heavy optional libraries the same way.  The headers still come
 * from pkg-config, so the prototypes are checked at build time, and the
 * soname (RK_LIBCRYPTO_SONAME) from the version meson found. */
#include "sha256.h"

#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "rk-build-config.h"

struct crypto_fns {
        const EVP_MD *(*sha256)(void);
        int (*digest)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *, ENGINE *);
};

/* RTLD_NODELETE: once loaded it stays, so the next hash in this process is
 * a lookup, not another load; there is no handle to keep, no global. */
static int crypto_load(struct crypto_fns *f) {
        void *dl = dlopen(RK_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl)
                return -ELIBACC;
        /* the assignments check each symbol's type against the header */
        typeof(EVP_sha256) *sha256 = (typeof(EVP_sha256) *) dlsym(dl, "EVP_sha256");
        typeof(EVP_Digest) *digest = (typeof(EVP_Digest) *) dlsym(dl, "EVP_Digest");
        (void) dlclose(dl);
        if (!sha256 || !digest)
                return -ELIBBAD;
        *f = (struct crypto_fns) { .sha256 = sha256, .digest = digest };
        return 0;
}

int rk_sha256_hex(const void *data, size_t len, char out[static RK_SHA256_HEX_LEN + 1]) {
        struct crypto_fns f;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        int r = crypto_load(&f);
        if (r < 0)
                return r;
        if (!f.digest(data, len, md, &mdlen, f.sha256(), NULL) || mdlen != 32)
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
