/* SPDX-License-Identifier: GPL-2.0-or-later */
/* certificate.h — the sanitization certificate (SPEC §3): what was done to
 * which medium, with the fields of NIST SP 800-88's sample certificate and
 * IEEE 2883, as JSON at RK_RESET_CERTIFICATE inside the root.
 *
 * Building is pure (structs in, JSON text out) and separate from writing
 * and from gathering (DMI, sysfs), so the builder is unit-tested and the
 * engine only fills in what it did.  The media records are kept in the
 * journal as the steps complete (rk_media_to_json / rk_media_from_json), so
 * the certificate of a reset resumed after a power cut still lists what
 * the first attempt did.
 *
 * Optional signing ([reset] certificate-key): a detached signature beside
 * the certificate (RK_CERT_SIG_SUFFIX), the raw bytes OpenSSL's
 * EVP_DigestSign gives — SHA-256 for RSA and EC keys, pure Ed25519 for
 * Ed25519 keys — so `openssl dgst -sha256 -verify PUB -signature FILE.sig
 * FILE` checks it without resetkit.  libcrypto is loaded on first use, as
 * in lib/base/sha256.c. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define RK_CERT_SIG_SUFFIX ".sig"
#define RK_CERT_MAX_SIZE (1024 * 1024)

/* SP 800-88: only a cryptographic erase or the device's own
 * sanitize/secure erase is Purge; every overwrite is Clear. */
enum rk_media_category { RK_MEDIA_CLEAR, RK_MEDIA_PURGE };
const char *rk_media_category_name(enum rk_media_category c);
/* From the method's name as the log and the certificate say it
 * (rk_zero_method_name(), "crypto-erase", ...): purge for "crypto-erase",
 * NVMe format / sanitize and secure erase / BLKSECDISCARD (any spelling
 * containing "nvme-format", "sanitize", "secure" or "crypto"), clear for
 * everything else, unknown names and NULL included: never claim more. */
enum rk_media_category rk_media_category_of(const char *method);

/* One zeroed or erased target. */
struct rk_media {
        size_t entry;           /* index of the manifest entry (plan) that produced it */
        char *path;
        char *kind;             /* filesystem, partition, luks, nvme-namespace, image */
        char *model, *serial;   /* NULL: unknown */
        uint64_t size;
        char *method;
        char *verify_method;    /* "read-back sample", "read-back full", "header read-back" */
        uint64_t verify_bytes, verify_places;
        bool pass;
        char **caveats;         /* strv, may be NULL */
};
void rk_media_done(struct rk_media *m);
/* Replace the record of m->entry (a step that runs again reports again),
 * or append; takes a deep copy. */
int rk_media_set(struct rk_media **v, size_t *n, const struct rk_media *m);
void rk_media_free(struct rk_media *v, size_t n);

/* The journal's form of a record (also the certificate's media item, plus
 * "entry").  from_json: -EBADMSG for a malformed item. */
json_object *rk_media_to_json(const struct rk_media *m, bool with_entry);
int rk_media_from_json(json_object *o, struct rk_media *ret);

struct rk_cert_removed {
        uint64_t files, bytes, users, passwords;
};

struct rk_cert_device {
        char *vendor, *model, *serial, *hostname;       /* NULL: unknown */
};
void rk_cert_device_done(struct rk_cert_device *d);

struct rk_cert {
        const char *tool_version;
        uint64_t started, finished;     /* realtime seconds */
        bool complete;                  /* result: complete | failed */
        struct rk_cert_device device;
        const char *trigger;            /* "command line", "button", "fail-safe", "fleet" */
        struct rk_cert_removed removed;
        const struct rk_media *media;
        size_t n_media;
        /* signing: NULL key = not configured */
        const char *sign_key;
        const char *unsigned_why;       /* set: the certificate is unsigned, and why */
};

/* Pure: the certificate as JSON text (pretty, trailing newline). */
int rk_cert_format(const struct rk_cert *c, char **ret);
/* "2026-11-26T14:00:00Z" */
void rk_cert_time(uint64_t t, char buf[static 32]);

/* Pure: the human text of `resetctl certificate` from the stored JSON.
 * -EBADMSG (why in err) when it is not a certificate. */
int rk_cert_print_text(const char *json_text, FILE *out, char *err, size_t errlen);

/* What the running machine says of itself: DMI from sysfs_dmi
 * (/sys/class/dmi/id; files that are missing or unreadable stay NULL) and
 * the hostname (the root's etc/hostname, else NULL). */
int rk_cert_device_read(const char *sysfs_dmi, int root_fd, struct rk_cert_device *ret);

/* sysfs model and serial of block device rdev (its disk's, for a
 * partition); NULL when the kernel does not know them. */
void rk_cert_block_identity(dev_t rdev, char **ret_model, char **ret_serial);

/* ---- signing (libcrypto, loaded on first use) ---- */

/* Sign data with the PEM private key in key_pem.  -ELIBACC: no libcrypto;
 * -EINVAL: not a private key (why in err). */
int rk_cert_sign(const char *key_pem, size_t key_len, const void *data, size_t len,
                 unsigned char **ret_sig, size_t *ret_siglen, char *err, size_t errlen);

enum rk_cert_verdict {
        RK_CERT_VALID,
        RK_CERT_NO_SIGNATURE,   /* no .sig file */
        RK_CERT_TAMPERED,       /* the signature does not match the content (or the key) */
        RK_CERT_BAD_KEY,        /* the key/certificate given cannot be read */
};
/* Verify with a PEM public key, X.509 certificate or private key (its
 * public half).  A signature that fails with the given key: TAMPERED
 * (content changed or another key; the caller tells them apart where it
 * can). */
int rk_cert_verify(const char *pem, size_t pem_len, const void *data, size_t len, const unsigned char *sig,
                   size_t siglen, enum rk_cert_verdict *ret, char *err, size_t errlen);
