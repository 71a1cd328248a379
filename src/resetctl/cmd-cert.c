/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl certificate: the last reset's sanitization certificate (text,
 * --json as stored, --verify its detached signature); resetctl
 * recreate-volumes: the first-boot step that makes the volumes a
 * crypto-erase destroyed again (resetkit-cryptvol.service). */
#include <fcntl.h>
#include <getopt.h>

#include "certificate.h"
#include "crypto.h"
#include "engine.h"
#include "fsutil.h"
#include "manifest.h"
#include "resetctl.h"

#define KEY_MAX (64 * 1024)

/* argv[0] is the first argument after the verb: getopt wants a program
 * name in front */
static char **getopt_args(const char *verb, int argc, char **argv) {
        char **args = calloc((size_t) argc + 2, sizeof(char *));
        if (!args)
                return NULL;
        args[0] = (char *) verb;
        for (int i = 0; i < argc; i++)
                args[i + 1] = argv[i];
        optind = 1;
        return args;
}

static int read_root_file(struct rk_ctx *ctx, const char *abs, size_t max, char **ret, size_t *len) {
        return rk_read_at(ctx->root.fd, rk_path_relative(abs), RK_RESOLVE_ROOTED, max, ret, len);
}

/* The public key to check with: --cert FILE (as given, on this machine),
 * else [reset] certificate-key inside the root (its public half). */
static int verification_key(struct rk_ctx *ctx, const char *cert, char **ret, size_t *len, const char **what) {
        if (cert) {
                *what = cert;
                _cleanup_close_ int fd = open(cert, O_RDONLY | O_CLOEXEC);
                return fd < 0 ? -errno : rk_read_fd(fd, KEY_MAX, ret, len);
        }
        *what = ctx->cfg.certificate_key;
        if (!ctx->cfg.certificate_key)
                return -ENOKEY;
        return read_root_file(ctx, ctx->cfg.certificate_key, KEY_MAX, ret, len);
}

static int verify(struct rk_ctx *ctx, const char *cert, const char *text, size_t len) {
        _cleanup_free_ char *sigpath = NULL, *sig = NULL, *key = NULL;
        size_t siglen = 0, keylen = 0;
        const char *what = NULL;
        char err[256] = "";
        if (asprintf(&sigpath, "%s" RK_CERT_SIG_SUFFIX, RK_RESET_CERTIFICATE) < 0)
                return RK_EXIT_FAILURE;
        int r = read_root_file(ctx, sigpath, 64 * 1024, &sig, &siglen);
        if (r == -ENOENT) {
                rk_err(&ctx->log, "verification failed: missing signature: %s has no %s", RK_RESET_CERTIFICATE, sigpath);
                return RK_EXIT_FAILURE;
        }
        if (r < 0) {
                rk_err(&ctx->log, "verification failed: cannot read the signature %s: %s", sigpath, strerror(-r));
                return RK_EXIT_FAILURE;
        }
        r = verification_key(ctx, cert, &key, &keylen, &what);
        if (r < 0) {
                rk_err(&ctx->log, "verification failed: %s", r == -ENOKEY
                       ? "no key to check with: give --cert CERT (no [reset] certificate-key configured)" : strerror(-r));
                if (r != -ENOKEY)
                        rk_err(&ctx->log, "the key %s cannot be read", what);
                return RK_EXIT_FAILURE;
        }
        enum rk_cert_verdict v;
        r = rk_cert_verify(key, keylen, text, len, (unsigned char *) sig, siglen, &v, err, sizeof err);
        explicit_bzero(key, keylen);
        if (r < 0) {
                rk_err(&ctx->log, "verification failed: %s", err);
                return RK_EXIT_FAILURE;
        }
        switch (v) {
        case RK_CERT_VALID:
                printf("signature: valid (%s, key %s)\n", sigpath, what);
                return RK_EXIT_OK;
        case RK_CERT_BAD_KEY:
                rk_err(&ctx->log, "verification failed: unusable key: %s is %s", what, err);
                return RK_EXIT_FAILURE;
        case RK_CERT_NO_SIGNATURE:
                rk_err(&ctx->log, "verification failed: missing signature %s", sigpath);
                return RK_EXIT_FAILURE;
        case RK_CERT_TAMPERED:
                break;
        }
        /* Another key, or another content?  With --cert, the configured
         * key tells them apart when it is there: it verifies an untouched
         * certificate. */
        _cleanup_free_ char *own = NULL;
        size_t ownlen = 0;
        enum rk_cert_verdict ov;
        if (cert && ctx->cfg.certificate_key &&
            read_root_file(ctx, ctx->cfg.certificate_key, KEY_MAX, &own, &ownlen) == 0 &&
            rk_cert_verify(own, ownlen, text, len, (unsigned char *) sig, siglen, &ov, err, sizeof err) == 0 &&
            ov == RK_CERT_VALID) {
                explicit_bzero(own, ownlen);
                rk_err(&ctx->log, "verification failed: wrong key: the certificate is intact and signed by [reset] "
                       "certificate-key %s, not by the key in %s", ctx->cfg.certificate_key, cert);
                return RK_EXIT_INTEGRITY;
        }
        if (own)
                explicit_bzero(own, ownlen);
        rk_err(&ctx->log, "verification failed: tampered or wrong key: %s does not match its signature %s with the key "
               "in %s (its content changed after signing, or another key signed it)", RK_RESET_CERTIFICATE, sigpath, what);
        return RK_EXIT_INTEGRITY;
}

static int verb_certificate(struct rk_cli *cli, int argc, char **argv) {
        struct rk_ctx *ctx = &cli->ctx;
        enum { OPT_JSON = 0x100, OPT_VERIFY, OPT_CERT };
        static const struct option opts[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "verify", no_argument, NULL, OPT_VERIFY },
                { "cert", required_argument, NULL, OPT_CERT },
                {}
        };
        bool do_verify = false;
        const char *cert = NULL;
        _cleanup_free_ char **args = getopt_args("certificate", argc, argv);
        if (!args)
                return RK_EXIT_FAILURE;
        int c;
        while ((c = getopt_long(argc + 1, args, "", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_JSON: ctx->json = true; break;
                case OPT_VERIFY: do_verify = true; break;
                case OPT_CERT: cert = optarg; break;
                default: return RK_EXIT_USAGE;
                }
        }
        if (optind < argc + 1 || (cert && !do_verify)) {
                fprintf(stderr, "resetctl: usage: resetctl certificate [--json] | --verify [--cert CERT]\n");
                return RK_EXIT_USAGE;
        }
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_root_file(ctx, RK_RESET_CERTIFICATE, RK_CERT_MAX_SIZE, &text, &len);
        if (r < 0) {
                rk_err(&ctx->log, "no sanitization certificate %s in %s: %s", RK_RESET_CERTIFICATE, ctx->root.path,
                       r == -ENOENT ? "no reset has finished here" : strerror(-r));
                return RK_EXIT_FAILURE;
        }
        if (do_verify)
                return verify(ctx, cert, text, len);
        if (ctx->json) {
                fwrite(text, 1, len, stdout);
                return fflush(stdout) == 0 ? RK_EXIT_OK : RK_EXIT_FAILURE;
        }
        char err[256];
        if (rk_cert_print_text(text, stdout, err, sizeof err) < 0) {
                rk_err(&ctx->log, "%s: %s", RK_RESET_CERTIFICATE, err);
                return RK_EXIT_INTEGRITY;
        }
        return RK_EXIT_OK;
}

/* Every crypto-erase entry of the manifest with keyfile=: the volume is
 * re-created when (and only when) it is in the state the erase leaves. */
static int verb_recreate(struct rk_cli *cli, int argc, char **argv) {
        struct rk_ctx *ctx = &cli->ctx;
        bool dry = false;
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--dry-run") != 0) {
                        fprintf(stderr, "resetctl: usage: resetctl recreate-volumes [--dry-run]\n");
                        return RK_EXIT_USAGE;
                }
                dry = true;
        }
        struct rk_manifest m = {};
        char err[1024] = "";
        int r = rk_manifest_load(&m, ctx->root.fd, err, sizeof err);
        if (r < 0) {
                rk_err(&ctx->log, "%s", *err ? err : strerror(-r));
                return RK_EXIT_USAGE;
        }
        int ret = RK_EXIT_OK;
        for (size_t i = 0; i < m.n; i++) {
                const struct rk_mf_entry *en = &m.entries[i];
                struct rk_crypto_opts o = {};
                if (en->action != RK_MF_CRYPTO_ERASE)
                        continue;
                if (!en->arg || rk_crypto_opts_parse(en->arg, &o, NULL, err, sizeof err) < 0 || !o.keyfile) {
                        rk_info(&ctx->log, "%s: no keyfile= in %s:%u: not re-created", en->path, en->file, en->line);
                        rk_crypto_opts_done(&o);
                        continue;
                }
                int erased = rk_crypto_is_erased(en->path);
                if (erased <= 0)
                        rk_info(&ctx->log, "%s: not an erased volume (it has a keyslot, or is no LUKS volume): left alone",
                                en->path);
                else if (dry)
                        rk_info(&ctx->log, "%s: erased: would be re-created (key file %s, mkfs %s)", en->path, o.keyfile,
                                o.mkfs);
                else if ((r = rk_crypto_recreate(en->path, ctx->root.fd, &o, err, sizeof err)) < 0) {
                        rk_err(&ctx->log, "%s", err);
                        ret = RK_EXIT_FAILURE;
                } else
                        rk_notice(&ctx->log, "%s: re-created: a fresh LUKS2 volume, its new key in %s%s%s", en->path,
                                  o.keyfile, strcmp(o.mkfs, "none") ? ", an empty " : "",
                                  strcmp(o.mkfs, "none") ? o.mkfs : "");
                rk_crypto_opts_done(&o);
        }
        rk_manifest_free(&m);
        return ret;
}

const struct rk_verb rk_cert_verbs[] = {
        { "certificate", NULL, 0, -1, verb_certificate,
          "certificate [--json] | --verify [--cert CERT]  the last reset's sanitization certificate, its signature" },
        { "recreate-volumes", NULL, 0, 1, verb_recreate,
          "recreate-volumes [--dry-run]                 first boot: make the crypto-erased volumes again" },
        {}
};
