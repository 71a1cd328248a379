/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "certificate.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"
#include "progress.h"
#include "rk-build-config.h"
#include "util.h"

/* ---- category ------------------------------------------------------------ */

const char *rk_media_category_name(enum rk_media_category c) {
        return c == RK_MEDIA_PURGE ? "purge" : "clear";
}

enum rk_media_category rk_media_category_of(const char *method) {
        static const char *const purge[] = { "crypto", "nvme-format", "sanitize", "secure" };
        if (!method)
                return RK_MEDIA_CLEAR;
        _cleanup_free_ char *low = strdup(method);
        if (!low)
                return RK_MEDIA_CLEAR;
        for (char *c = low; *c; c++)
                *c = (char) (*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c == ' ' || *c == '_' ? '-' : *c);
        for (size_t i = 0; i < RK_ELEMENTSOF(purge); i++)
                if (strstr(low, purge[i]))
                        return RK_MEDIA_PURGE;
        /* BLKSECDISCARD asks the device to erase the blocks itself */
        if (strstr(low, "blksecdiscard") || strstr(low, "secdiscard"))
                return RK_MEDIA_PURGE;
        return RK_MEDIA_CLEAR;
}

/* ---- media records ----------------------------------------------------- */

void rk_media_done(struct rk_media *m) {
        free(m->path);
        free(m->kind);
        free(m->model);
        free(m->serial);
        free(m->method);
        free(m->verify_method);
        rk_strv_free(m->caveats);
        *m = (struct rk_media) {};
}

void rk_media_free(struct rk_media *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                rk_media_done(&v[i]);
        free(v);
}

static int dup_or_null(char **dst, const char *src) {
        *dst = NULL;
        return src && !(*dst = strdup(src)) ? -ENOMEM : 0;
}

static int media_copy(struct rk_media *d, const struct rk_media *s) {
        *d = (struct rk_media) { .entry = s->entry, .size = s->size, .verify_bytes = s->verify_bytes,
                                 .verify_places = s->verify_places, .pass = s->pass };
        if (dup_or_null(&d->path, s->path) < 0 || dup_or_null(&d->kind, s->kind) < 0 ||
            dup_or_null(&d->model, s->model) < 0 || dup_or_null(&d->serial, s->serial) < 0 ||
            dup_or_null(&d->method, s->method) < 0 || dup_or_null(&d->verify_method, s->verify_method) < 0)
                goto fail;
        for (char **c = s->caveats; c && *c; c++)
                if (rk_strv_push(&d->caveats, *c) < 0)
                        goto fail;
        return 0;
fail:
        rk_media_done(d);
        return -ENOMEM;
}

int rk_media_set(struct rk_media **v, size_t *n, const struct rk_media *m) {
        struct rk_media c;
        if (media_copy(&c, m) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < *n; i++)
                if ((*v)[i].entry == m->entry) {
                        rk_media_done(&(*v)[i]);
                        (*v)[i] = c;
                        return 0;
                }
        struct rk_media *nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (!nv) {
                rk_media_done(&c);
                return -ENOMEM;
        }
        nv[(*n)++] = c;
        *v = nv;
        return 0;
}

static json_object *string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

json_object *rk_media_to_json(const struct rk_media *m, bool with_entry) {
        json_object *o = json_object_new_object(), *v = json_object_new_object(),
                    *cav = json_object_new_array();
        if (!o || !v || !cav) {
                json_object_put(o);
                json_object_put(v);
                json_object_put(cav);
                return NULL;
        }
        if (with_entry)
                json_object_object_add(o, "entry", json_object_new_int64((int64_t) m->entry));
        json_object_object_add(o, "path", json_object_new_string(m->path ? m->path : ""));
        json_object_object_add(o, "kind", json_object_new_string(m->kind ? m->kind : "image"));
        json_object_object_add(o, "model", string_or_null(m->model));
        json_object_object_add(o, "serial", string_or_null(m->serial));
        json_object_object_add(o, "size_bytes", json_object_new_int64((int64_t) m->size));
        json_object_object_add(o, "category",
                               json_object_new_string(rk_media_category_name(rk_media_category_of(m->method))));
        json_object_object_add(o, "method", json_object_new_string(m->method ? m->method : "none"));
        json_object_object_add(v, "method", json_object_new_string(m->verify_method ? m->verify_method : "none"));
        json_object_object_add(v, "bytes", json_object_new_int64((int64_t) m->verify_bytes));
        json_object_object_add(v, "places", json_object_new_int64((int64_t) m->verify_places));
        json_object_object_add(v, "result", json_object_new_string(m->pass ? "pass" : "fail"));
        json_object_object_add(o, "verification", v);
        for (char **c = m->caveats; c && *c; c++)
                json_object_array_add(cav, json_object_new_string(*c));
        json_object_object_add(o, "caveats", cav);
        return o;
}

static int get_str(json_object *o, const char *k, bool nullable, const char **ret) {
        json_object *v;
        *ret = NULL;
        if (!json_object_object_get_ex(o, k, &v))
                return -EBADMSG;
        if (!v && nullable)
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = json_object_get_string(v);
        return 0;
}

static int get_u64(json_object *o, const char *k, uint64_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 0)
                return -EBADMSG;
        *ret = (uint64_t) json_object_get_int64(v);
        return 0;
}

int rk_media_from_json(json_object *o, struct rk_media *ret) {
        const char *path, *kind, *model, *serial, *method, *vmethod, *result;
        json_object *v, *cav;
        uint64_t entry = 0;
        struct rk_media m = {};
        if (!json_object_is_type(o, json_type_object) || get_u64(o, "entry", &entry) < 0 ||
            get_str(o, "path", false, &path) < 0 || get_str(o, "kind", false, &kind) < 0 ||
            get_str(o, "model", true, &model) < 0 || get_str(o, "serial", true, &serial) < 0 ||
            get_u64(o, "size_bytes", &m.size) < 0 || get_str(o, "method", false, &method) < 0 ||
            !json_object_object_get_ex(o, "verification", &v) || !json_object_is_type(v, json_type_object) ||
            get_str(v, "method", false, &vmethod) < 0 || get_u64(v, "bytes", &m.verify_bytes) < 0 ||
            get_u64(v, "places", &m.verify_places) < 0 || get_str(v, "result", false, &result) < 0 ||
            (strcmp(result, "pass") != 0 && strcmp(result, "fail") != 0) ||
            !json_object_object_get_ex(o, "caveats", &cav) || !json_object_is_type(cav, json_type_array) ||
            entry > SIZE_MAX / 2)
                return -EBADMSG;
        struct rk_media s = { .entry = (size_t) entry, .path = (char *) path, .kind = (char *) kind,
                              .model = (char *) model, .serial = (char *) serial, .size = m.size,
                              .method = (char *) method, .verify_method = (char *) vmethod,
                              .verify_bytes = m.verify_bytes, .verify_places = m.verify_places,
                              .pass = strcmp(result, "pass") == 0 };
        if (media_copy(&m, &s) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(cav); i++) {
                json_object *c = json_object_array_get_idx(cav, i);
                if (!json_object_is_type(c, json_type_string)) {
                        rk_media_done(&m);
                        return -EBADMSG;
                }
                if (rk_strv_push(&m.caveats, json_object_get_string(c)) < 0) {
                        rk_media_done(&m);
                        return -ENOMEM;
                }
        }
        *ret = m;
        return 0;
}

/* ---- the certificate -------------------------------------------------- */

void rk_cert_device_done(struct rk_cert_device *d) {
        free(d->vendor);
        free(d->model);
        free(d->serial);
        free(d->hostname);
        *d = (struct rk_cert_device) {};
}

void rk_cert_time(uint64_t t, char buf[static 32]) {
        struct tm tm;
        time_t tt = (time_t) t;
        if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, 32, "@%llu", (unsigned long long) t);
}

int rk_cert_format(const struct rk_cert *c, char **ret) {
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        char t[32];
        json_object *tool = json_object_new_object();
        json_object_object_add(tool, "name", json_object_new_string("resetkit"));
        json_object_object_add(tool, "version", json_object_new_string(c->tool_version ? c->tool_version : "?"));
        json_object_object_add(o, "tool", tool);
        rk_cert_time(c->started, t);
        json_object_object_add(o, "started", json_object_new_string(t));
        rk_cert_time(c->finished, t);
        json_object_object_add(o, "finished", json_object_new_string(t));
        json_object_object_add(o, "result", json_object_new_string(c->complete ? "complete" : "failed"));
        json_object *dev = json_object_new_object();
        json_object_object_add(dev, "vendor", string_or_null(c->device.vendor));
        json_object_object_add(dev, "model", string_or_null(c->device.model));
        json_object_object_add(dev, "serial", string_or_null(c->device.serial));
        json_object_object_add(dev, "hostname", string_or_null(c->device.hostname));
        json_object_object_add(o, "device", dev);
        json_object_object_add(o, "trigger", json_object_new_string(c->trigger ? c->trigger : "command line"));
        json_object *rm = json_object_new_object();
        json_object_object_add(rm, "files", json_object_new_int64((int64_t) c->removed.files));
        json_object_object_add(rm, "bytes", json_object_new_int64((int64_t) c->removed.bytes));
        json_object_object_add(rm, "users", json_object_new_int64((int64_t) c->removed.users));
        json_object_object_add(rm, "passwords_reset", json_object_new_int64((int64_t) c->removed.passwords));
        json_object_object_add(o, "removed", rm);
        json_object *media = json_object_new_array();
        for (size_t i = 0; i < c->n_media; i++) {
                json_object *m = rk_media_to_json(&c->media[i], false);
                if (!m) {
                        json_object_put(media);
                        json_object_put(o);
                        return -ENOMEM;
                }
                json_object_array_add(media, m);
        }
        json_object_object_add(o, "media", media);
        /* what the signature (if any) covers is this text, this field
         * included: it says whether a .sig is to be expected */
        json_object *sig = json_object_new_object();
        if (c->sign_key && !c->unsigned_why) {
                json_object_object_add(sig, "state", json_object_new_string("signed"));
                json_object_object_add(sig, "key", json_object_new_string(c->sign_key));
                json_object_object_add(sig, "file", json_object_new_string("sanitization.json" RK_CERT_SIG_SUFFIX));
        } else {
                json_object_object_add(sig, "state", json_object_new_string("none"));
                json_object_object_add(sig, "why", json_object_new_string(c->unsigned_why ? c->unsigned_why
                                                                                          : "no [reset] certificate-key configured"));
        }
        json_object_object_add(o, "signature", sig);
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = s && asprintf(ret, "%s\n", s) >= 0 ? 0 : -ENOMEM;
        json_object_put(o);
        return r;
}

/* ---- human text ---------------------------------------------------------- */

static const char *jstr(json_object *o, const char *k) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *k) {
        json_object *v;
        return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static json_object *jobj(json_object *o, const char *k, json_type t) {
        json_object *v;
        return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, t) ? v : NULL;
}

int rk_cert_print_text(const char *json_text, FILE *out, char *err, size_t errlen) {
        json_object *o = json_tokener_parse(json_text);
        json_object *tool = jobj(o, "tool", json_type_object), *dev = jobj(o, "device", json_type_object),
                    *rm = jobj(o, "removed", json_type_object), *media = jobj(o, "media", json_type_array),
                    *sig = jobj(o, "signature", json_type_object);
        if (!o || !json_object_is_type(o, json_type_object) || !tool || !media || !jstr(o, "result")) {
                rk_set_err(err, errlen, "not a sanitization certificate (no tool, result or media)");
                json_object_put(o);
                return -EBADMSG;
        }
        fprintf(out, "Sanitization certificate (%s %s)\n", rk_strna(jstr(tool, "name")), rk_strna(jstr(tool, "version")));
        fprintf(out, "  result:    %s\n", jstr(o, "result"));
        fprintf(out, "  started:   %s\n  finished:  %s\n", rk_strna(jstr(o, "started")), rk_strna(jstr(o, "finished")));
        fprintf(out, "  trigger:   %s\n", rk_strna(jstr(o, "trigger")));
        fprintf(out, "  device:    vendor %s, model %s, serial %s, hostname %s\n", rk_strna(jstr(dev, "vendor")),
                rk_strna(jstr(dev, "model")), rk_strna(jstr(dev, "serial")), rk_strna(jstr(dev, "hostname")));
        char b[32];
        rk_format_bytes((uint64_t) jint(rm, "bytes"), b, sizeof b);
        fprintf(out, "  removed:   %lld files (%s), %lld users, %lld passwords reset\n", (long long) jint(rm, "files"), b,
                (long long) jint(rm, "users"), (long long) jint(rm, "passwords_reset"));
        size_t n = json_object_array_length(media);
        fprintf(out, "  media:     %zu\n", n);
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(media, i), *v = jobj(m, "verification", json_type_object),
                            *cav = jobj(m, "caveats", json_type_array);
                rk_format_bytes((uint64_t) jint(m, "size_bytes"), b, sizeof b);
                fprintf(out, "  %zu. %s (%s, %s", i + 1, rk_strna(jstr(m, "path")), rk_strna(jstr(m, "kind")), b);
                if (jstr(m, "model"))
                        fprintf(out, ", model %s", jstr(m, "model"));
                if (jstr(m, "serial"))
                        fprintf(out, ", serial %s", jstr(m, "serial"));
                fprintf(out, ")\n     %s by %s; verified by %s: %lld bytes in %lld places: %s\n",
                        jstr(m, "category") && strcmp(jstr(m, "category"), "purge") == 0 ? "PURGE" : "CLEAR",
                        rk_strna(jstr(m, "method")), rk_strna(jstr(v, "method")), (long long) jint(v, "bytes"),
                        (long long) jint(v, "places"),
                        jstr(v, "result") && strcmp(jstr(v, "result"), "pass") == 0 ? "pass" : "FAIL");
                for (size_t k = 0; cav && k < json_object_array_length(cav); k++)
                        fprintf(out, "     caveat: %s\n", json_object_get_string(json_object_array_get_idx(cav, k)));
        }
        if (sig && jstr(sig, "state") && strcmp(jstr(sig, "state"), "signed") == 0)
                fprintf(out, "  signature: detached, %s (key %s)\n", rk_strna(jstr(sig, "file")), rk_strna(jstr(sig, "key")));
        else
                fprintf(out, "  signature: none (%s)\n", sig ? rk_strna(jstr(sig, "why")) : "not recorded");
        json_object_put(o);
        return 0;
}

/* ---- gathering ----------------------------------------------------------- */

static char *read_attr(int dfd, const char *name) {
        _cleanup_free_ char *text = NULL;
        if (dfd < 0 || rk_read_at(dfd, name, 0, 4096, &text, NULL) < 0)
                return NULL;
        size_t l = strlen(text);
        while (l > 0 && (text[l - 1] == '\n' || text[l - 1] == ' '))
                text[--l] = 0;
        const char *s = text + strspn(text, " ");
        /* placeholders firmware leaves in the DMI tables are no identity */
        if (!*s || strcmp(s, "To Be Filled By O.E.M.") == 0 || strcmp(s, "Default string") == 0)
                return NULL;
        return strdup(s);
}

int rk_cert_device_read(const char *sysfs_dmi, int root_fd, struct rk_cert_device *ret) {
        *ret = (struct rk_cert_device) {};
        _cleanup_close_ int d = open(sysfs_dmi, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ret->vendor = read_attr(d, "sys_vendor");
        ret->model = read_attr(d, "product_name");
        ret->serial = read_attr(d, "product_serial");
        if (!ret->serial)
                ret->serial = read_attr(d, "board_serial");
        _cleanup_free_ char *h = NULL;
        if (rk_read_at(root_fd, "etc/hostname", RK_RESOLVE_ROOTED, 4096, &h, NULL) == 0) {
                h[strcspn(h, "\r\n")] = 0;
                if (*h)
                        ret->hostname = strdup(h);
        }
        return 0;
}

void rk_cert_block_identity(dev_t rdev, char **ret_model, char **ret_serial) {
        *ret_model = *ret_serial = NULL;
        _cleanup_free_ char *dir = rk_sysfs_block_dir(rdev);
        if (!dir)
                return;
        char p[PATH_MAX];
        /* a partition: the disk's attributes */
        snprintf(p, sizeof p, "%s/partition", dir);
        snprintf(p, sizeof p, access(p, F_OK) == 0 ? "%s/../device" : "%s/device", dir);
        _cleanup_close_ int d = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *ret_model = read_attr(d, "model");
        *ret_serial = read_attr(d, "serial");
        if (!*ret_serial)
                *ret_serial = read_attr(d, "wwid");
}

/* ---- signing ------------------------------------------------------------- */

struct crypto_fns {
        typeof(BIO_new_mem_buf) *bio_new_mem_buf;
        typeof(BIO_free) *bio_free;
        typeof(PEM_read_bio_PrivateKey) *read_private;
        typeof(PEM_read_bio_PUBKEY) *read_pubkey;
        typeof(PEM_read_bio_X509) *read_x509;
        typeof(X509_get_pubkey) *x509_pubkey;
        typeof(X509_free) *x509_free;
        typeof(EVP_PKEY_free) *pkey_free;
        typeof(EVP_PKEY_get_id) *pkey_id;
        typeof(EVP_MD_CTX_new) *ctx_new;
        typeof(EVP_MD_CTX_free) *ctx_free;
        typeof(EVP_DigestSignInit) *sign_init;
        typeof(EVP_DigestSign) *sign;
        typeof(EVP_DigestVerifyInit) *verify_init;
        typeof(EVP_DigestVerify) *verify;
        typeof(EVP_sha256) *sha256;
};

/* As in lib/base/sha256.c: loaded on first use, RTLD_NODELETE, no handle
 * kept; the typeof() assignments check each symbol against the header. */
static int crypto_load(struct crypto_fns *f) {
        void *dl = dlopen(RK_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl)
                return -ELIBACC;
#define SYM(field, name) f->field = (typeof(f->field)) dlsym(dl, name)
        SYM(bio_new_mem_buf, "BIO_new_mem_buf");
        SYM(bio_free, "BIO_free");
        SYM(read_private, "PEM_read_bio_PrivateKey");
        SYM(read_pubkey, "PEM_read_bio_PUBKEY");
        SYM(read_x509, "PEM_read_bio_X509");
        SYM(x509_pubkey, "X509_get_pubkey");
        SYM(x509_free, "X509_free");
        SYM(pkey_free, "EVP_PKEY_free");
        SYM(pkey_id, "EVP_PKEY_get_id");
        SYM(ctx_new, "EVP_MD_CTX_new");
        SYM(ctx_free, "EVP_MD_CTX_free");
        SYM(sign_init, "EVP_DigestSignInit");
        SYM(sign, "EVP_DigestSign");
        SYM(verify_init, "EVP_DigestVerifyInit");
        SYM(verify, "EVP_DigestVerify");
        SYM(sha256, "EVP_sha256");
#undef SYM
        (void) dlclose(dl);
        void **p = (void **) f;
        for (size_t i = 0; i < sizeof *f / sizeof(void *); i++)
                if (!p[i])
                        return -ELIBBAD;
        return 0;
}

/* Ed25519/Ed448 sign the message itself (no digest); the rest SHA-256 */
static const EVP_MD *digest_for(const struct crypto_fns *f, EVP_PKEY *k) {
        int id = f->pkey_id(k);
        return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : f->sha256();
}

int rk_cert_sign(const char *key_pem, size_t key_len, const void *data, size_t len,
                 unsigned char **ret_sig, size_t *ret_siglen, char *err, size_t errlen) {
        struct crypto_fns f;
        int r = crypto_load(&f);
        if (r < 0) {
                rk_set_err(err, errlen, "cannot load %s", RK_LIBCRYPTO_SONAME);
                return r;
        }
        BIO *bio = f.bio_new_mem_buf(key_pem, (int) key_len);
        EVP_PKEY *k = bio ? f.read_private(bio, NULL, NULL, NULL) : NULL;
        if (bio)
                f.bio_free(bio);
        if (!k) {
                rk_set_err(err, errlen, "not a PEM private key (or one with a passphrase)");
                return -EINVAL;
        }
        EVP_MD_CTX *ctx = f.ctx_new();
        size_t siglen = 0;
        unsigned char *sig = NULL;
        r = -EIO;
        if (ctx && f.sign_init(ctx, NULL, digest_for(&f, k), NULL, k) == 1 && f.sign(ctx, NULL, &siglen, data, len) == 1 &&
            (sig = malloc(siglen)) && f.sign(ctx, sig, &siglen, data, len) == 1) {
                *ret_sig = RK_TAKE_PTR(sig);
                *ret_siglen = siglen;
                r = 0;
        } else
                rk_set_err(err, errlen, "signing failed");
        free(sig);
        f.ctx_free(ctx);
        f.pkey_free(k);
        return r;
}

/* A public key from PEM: a public key, an X.509 certificate, or a private
 * key (its public half). */
static EVP_PKEY *read_any_key(const struct crypto_fns *f, const char *pem, size_t len) {
        EVP_PKEY *k = NULL;
        for (int kind = 0; kind < 3 && !k; kind++) {
                BIO *bio = f->bio_new_mem_buf(pem, (int) len);
                if (!bio)
                        return NULL;
                if (kind == 0)
                        k = f->read_pubkey(bio, NULL, NULL, NULL);
                else if (kind == 1) {
                        X509 *x = f->read_x509(bio, NULL, NULL, NULL);
                        if (x) {
                                k = f->x509_pubkey(x);
                                f->x509_free(x);
                        }
                } else
                        k = f->read_private(bio, NULL, NULL, NULL);
                f->bio_free(bio);
        }
        return k;
}

int rk_cert_verify(const char *pem, size_t pem_len, const void *data, size_t len, const unsigned char *sig,
                   size_t siglen, enum rk_cert_verdict *ret, char *err, size_t errlen) {
        struct crypto_fns f;
        int r = crypto_load(&f);
        if (r < 0) {
                rk_set_err(err, errlen, "cannot load %s", RK_LIBCRYPTO_SONAME);
                return r;
        }
        if (!sig) {
                *ret = RK_CERT_NO_SIGNATURE;
                rk_set_err(err, errlen, "no signature");
                return 0;
        }
        EVP_PKEY *k = read_any_key(&f, pem, pem_len);
        if (!k) {
                *ret = RK_CERT_BAD_KEY;
                rk_set_err(err, errlen, "not a PEM public key, certificate or private key");
                return 0;
        }
        EVP_MD_CTX *ctx = f.ctx_new();
        int ok = ctx && f.verify_init(ctx, NULL, digest_for(&f, k), NULL, k) == 1 &&
                 f.verify(ctx, sig, siglen, data, len) == 1;
        f.ctx_free(ctx);
        f.pkey_free(k);
        *ret = ok ? RK_CERT_VALID : RK_CERT_TAMPERED;
        if (!ok)
                rk_set_err(err, errlen, "the signature does not match the certificate's content with this key");
        return 0;
}
