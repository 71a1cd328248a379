/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the sanitization certificate (certificate.c): the purge /
 * clear category of each method, the pure builder's fields, the media
 * records' journal form (round trip, malformed refused, replaced by
 * entry), the journal keeping them, the human text, DMI and hostname from
 * a fake sysfs and root, signing and verification with a generated key;
 * and crypto.c's pure parts: the LUKS magic, the crypto-erase options, the
 * open-mapping detection in a fake sysfs tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "certificate.h"
#include "crypto.h"
#include "fsutil.h"
#include "journal.h"
#include "manifest.h"
#include "rktest.h"
#include "util.h"

static void test_category(void **state) {
        /* only a cryptographic erase or the device's own secure erase is purge */
        assert_int_equal(rk_media_category_of("crypto-erase"), RK_MEDIA_PURGE);
        assert_int_equal(rk_media_category_of("NVMe Format NVM (secure erase)"), RK_MEDIA_PURGE);
        assert_int_equal(rk_media_category_of("nvme-format"), RK_MEDIA_PURGE);
        assert_int_equal(rk_media_category_of("BLKSECDISCARD"), RK_MEDIA_PURGE);
        assert_int_equal(rk_media_category_of("sanitize-crypto"), RK_MEDIA_PURGE);
        /* every overwrite is clear, and what is unknown never claims more */
        assert_int_equal(rk_media_category_of("BLKZEROOUT"), RK_MEDIA_CLEAR);
        assert_int_equal(rk_media_category_of("written zeros (O_DIRECT)"), RK_MEDIA_CLEAR);
        assert_int_equal(rk_media_category_of("buffered"), RK_MEDIA_CLEAR);
        assert_int_equal(rk_media_category_of("something new"), RK_MEDIA_CLEAR);
        assert_int_equal(rk_media_category_of(""), RK_MEDIA_CLEAR);
        assert_int_equal(rk_media_category_of(NULL), RK_MEDIA_CLEAR);
        assert_string_equal(rk_media_category_name(RK_MEDIA_PURGE), "purge");
        assert_string_equal(rk_media_category_name(RK_MEDIA_CLEAR), "clear");
}

static void make_media(struct rk_media *m, size_t entry, const char *method, bool pass) {
        *m = (struct rk_media) { .entry = entry, .path = strdup("/dev/sdb2"), .kind = strdup("luks"),
                                 .model = strdup("SSD 9000"), .size = 1ULL << 30, .method = strdup(method),
                                 .verify_method = strdup("header read-back"), .verify_bytes = 4096,
                                 .verify_places = 3, .pass = pass };
        assert_int_equal(rk_strv_push(&m->caveats, "a caveat"), 0);
}

static json_object *parse(const char *text) {
        json_object *o = json_tokener_parse(text);
        assert_non_null(o);
        return o;
}

static const char *get(json_object *o, const char *path) {
        /* "a.b" */
        char buf[128];
        snprintf(buf, sizeof buf, "%s", path);
        json_object *cur = o;
        for (char *s = NULL, *k = strtok_r(buf, ".", &s); k; k = strtok_r(NULL, ".", &s))
                if (!json_object_object_get_ex(cur, k, &cur))
                        return NULL;
        return cur ? json_object_get_string(cur) : "null";
}

static void test_format(void **state) {
        struct rk_media m[2];
        make_media(&m[0], 3, "crypto-erase", true);
        make_media(&m[1], 7, "BLKZEROOUT", false);
        free(m[1].kind);
        m[1].kind = strdup("partition");
        struct rk_cert c = {
                .tool_version = "9.8.7", .started = 1700000000, .finished = 1700000061, .complete = false,
                .device = { .vendor = (char *) "ACME", .model = (char *) "Box", .serial = NULL,
                            .hostname = (char *) "router1" },
                .trigger = "button", .removed = { 10, 2048, 2, 3 }, .media = m, .n_media = 2,
        };
        _cleanup_free_ char *text = NULL;
        assert_int_equal(rk_cert_format(&c, &text), 0);
        json_object *o = parse(text);
        assert_string_equal(get(o, "tool.name"), "resetkit");
        assert_string_equal(get(o, "tool.version"), "9.8.7");
        assert_string_equal(get(o, "started"), "2023-11-14T22:13:20Z");
        assert_string_equal(get(o, "finished"), "2023-11-14T22:14:21Z");
        assert_string_equal(get(o, "result"), "failed");
        assert_string_equal(get(o, "device.vendor"), "ACME");
        assert_string_equal(get(o, "device.serial"), "null");
        assert_string_equal(get(o, "device.hostname"), "router1");
        assert_string_equal(get(o, "trigger"), "button");
        assert_string_equal(get(o, "removed.files"), "10");
        assert_string_equal(get(o, "removed.bytes"), "2048");
        assert_string_equal(get(o, "removed.users"), "2");
        assert_string_equal(get(o, "removed.passwords_reset"), "3");
        assert_string_equal(get(o, "signature.state"), "none");
        json_object *media;
        assert_true(json_object_object_get_ex(o, "media", &media));
        assert_int_equal(json_object_array_length(media), 2);
        json_object *a = json_object_array_get_idx(media, 0), *b = json_object_array_get_idx(media, 1);
        assert_string_equal(get(a, "category"), "purge");
        assert_string_equal(get(a, "kind"), "luks");
        assert_string_equal(get(a, "model"), "SSD 9000");
        assert_string_equal(get(a, "serial"), "null");
        assert_string_equal(get(a, "size_bytes"), "1073741824");
        assert_string_equal(get(a, "verification.result"), "pass");
        assert_string_equal(get(a, "verification.places"), "3");
        assert_null(get(a, "entry"));   /* the journal's, not the certificate's */
        assert_string_equal(get(b, "category"), "clear");
        assert_string_equal(get(b, "verification.result"), "fail");
        json_object_put(o);

        /* complete, signed, and one that could not be signed says why */
        c.complete = true;
        c.sign_key = "/etc/k.pem";
        free(text);
        assert_int_equal(rk_cert_format(&c, &text), 0);
        o = parse(text);
        assert_string_equal(get(o, "result"), "complete");
        assert_string_equal(get(o, "signature.state"), "signed");
        assert_string_equal(get(o, "signature.key"), "/etc/k.pem");
        json_object_put(o);
        c.unsigned_why = "no such key";
        free(text);
        assert_int_equal(rk_cert_format(&c, &text), 0);
        o = parse(text);
        assert_string_equal(get(o, "signature.state"), "none");
        assert_string_equal(get(o, "signature.why"), "no such key");
        json_object_put(o);

        /* the human text names every medium, its category and result */
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        char err[128];
        assert_int_equal(rk_cert_print_text(text, f, err, sizeof err), 0);
        fclose(f);
        assert_non_null(strstr(out, "PURGE by crypto-erase"));
        assert_non_null(strstr(out, "CLEAR by BLKZEROOUT"));
        assert_non_null(strstr(out, ": FAIL"));
        assert_non_null(strstr(out, "signature: none (no such key)"));
        free(out);
        f = open_memstream(&out, &len);
        assert_int_equal(rk_cert_print_text("{\"tool\": 1}", f, err, sizeof err), -EBADMSG);
        assert_int_equal(rk_cert_print_text("not json", f, err, sizeof err), -EBADMSG);
        fclose(f);
        free(out);
        rk_media_done(&m[0]);
        rk_media_done(&m[1]);
}

static void test_media_round_trip_and_set(void **state) {
        struct rk_media m, back;
        make_media(&m, 5, "crypto-erase", true);
        json_object *o = rk_media_to_json(&m, true);
        assert_non_null(o);
        assert_int_equal(rk_media_from_json(o, &back), 0);
        assert_int_equal(back.entry, 5);
        assert_string_equal(back.path, "/dev/sdb2");
        assert_string_equal(back.model, "SSD 9000");
        assert_null(back.serial);
        assert_int_equal(back.size, 1ULL << 30);
        assert_true(back.pass);
        assert_string_equal(back.caveats[0], "a caveat");
        assert_null(back.caveats[1]);
        rk_media_done(&back);
        /* malformed: a missing field, a bad result, a negative size */
        json_object_object_del(o, "kind");
        assert_int_equal(rk_media_from_json(o, &back), -EBADMSG);
        json_object_put(o);
        o = rk_media_to_json(&m, true);
        json_object *v;
        assert_true(json_object_object_get_ex(o, "verification", &v));
        json_object_object_add(v, "result", json_object_new_string("maybe"));
        assert_int_equal(rk_media_from_json(o, &back), -EBADMSG);
        json_object_put(o);
        o = rk_media_to_json(&m, true);
        json_object_object_add(o, "size_bytes", json_object_new_int64(-1));
        assert_int_equal(rk_media_from_json(o, &back), -EBADMSG);
        json_object_put(o);
        o = rk_media_to_json(&m, false);        /* the certificate's form has no entry */
        assert_int_equal(rk_media_from_json(o, &back), -EBADMSG);
        json_object_put(o);

        /* a step that runs again replaces its record */
        struct rk_media *vv = NULL;
        size_t n = 0;
        assert_int_equal(rk_media_set(&vv, &n, &m), 0);
        m.pass = false;
        assert_int_equal(rk_media_set(&vv, &n, &m), 0);
        assert_int_equal(n, 1);
        assert_false(vv[0].pass);
        m.entry = 6;
        assert_int_equal(rk_media_set(&vv, &n, &m), 0);
        assert_int_equal(n, 2);
        rk_media_free(vv, n);
        rk_media_done(&m);
}

static void test_journal_keeps_media(void **state) {
        struct rk_journal j, k;
        char err[256] = "";
        _cleanup_free_ char *text = NULL;
        rk_journal_init(&j);
        assert_int_equal(rk_manifest_parse_string(&j.plan, "remove /x\ncrypto-erase /dev/sdb2\nzero-free-space /\n",
                                                  "t.conf", err, sizeof err), 0);
        j.then = strdup("none");
        j.removed = (struct rk_cert_removed) { 4, 400, 1, 2 };
        struct rk_media m;
        make_media(&m, 1, "crypto-erase", true);
        assert_int_equal(rk_media_set(&j.media, &j.n_media, &m), 0);
        rk_media_done(&m);
        assert_int_equal(rk_journal_format(&j, &text), 0);
        rk_journal_init(&k);
        assert_int_equal(rk_journal_parse(&k, text, err, sizeof err), 0);
        assert_int_equal(k.n_media, 1);
        assert_int_equal(k.media[0].entry, 1);
        assert_string_equal(k.media[0].method, "crypto-erase");
        assert_int_equal(k.removed.files, 4);
        assert_int_equal(k.removed.bytes, 400);
        assert_int_equal(k.removed.users, 1);
        assert_int_equal(k.removed.passwords, 2);
        rk_journal_free(&k);
        /* a media record naming an entry beyond the plan is corrupt */
        j.media[0].entry = 3;
        free(text);
        assert_int_equal(rk_journal_format(&j, &text), 0);
        rk_journal_init(&k);
        assert_int_equal(rk_journal_parse(&k, text, err, sizeof err), -EBADMSG);
        assert_non_null(strstr(err, "media"));
        rk_journal_free(&k);
        rk_journal_free(&j);
}

static void write_file(const char *dir, const char *name, const char *text) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_device_read(void **state) {
        char dir[] = "/tmp/rk-cert-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char dmi[600], root[600];
        snprintf(dmi, sizeof dmi, "%s/dmi", dir);
        snprintf(root, sizeof root, "%s/root", dir);
        assert_int_equal(mkdir(dmi, 0755), 0);
        assert_int_equal(mkdir(root, 0755), 0);
        char etc[700];
        snprintf(etc, sizeof etc, "%s/etc", root);
        assert_int_equal(mkdir(etc, 0755), 0);
        write_file(dmi, "sys_vendor", "Juniper Networks\n");
        write_file(dmi, "product_name", "SSR130\n");
        write_file(dmi, "product_serial", "To Be Filled By O.E.M.\n");  /* a placeholder: no serial */
        write_file(dmi, "board_serial", "BRD123\n");
        write_file(etc, "hostname", "edge-7\n");
        int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct rk_cert_device d;
        assert_int_equal(rk_cert_device_read(dmi, rfd, &d), 0);
        assert_string_equal(d.vendor, "Juniper Networks");
        assert_string_equal(d.model, "SSR130");
        assert_string_equal(d.serial, "BRD123");
        assert_string_equal(d.hostname, "edge-7");
        rk_cert_device_done(&d);
        /* no DMI at all (a VM without it, a container): unknown, no error */
        assert_int_equal(rk_cert_device_read("/nonexistent-dmi", rfd, &d), 0);
        assert_null(d.vendor);
        assert_null(d.serial);
        rk_cert_device_done(&d);
        close(rfd);
        assert_int_equal(rkt_rm_rf(dir), 0);
}

static void test_sign_verify(void **state) {
        char dir[] = "/tmp/rk-cert-XXXXXX", cmd[2048], key[100], pub[100];
        assert_non_null(mkdtemp(dir));
        snprintf(key, sizeof key, "%s/k.pem", dir);
        snprintf(pub, sizeof pub, "%s/p.pem", dir);
        snprintf(cmd, sizeof cmd, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s 2>/dev/null"
                 " && openssl pkey -in %s -pubout -out %s 2>/dev/null", key, key, pub);
        if (system(cmd) != 0) {
                rkt_rm_rf(dir);
                skip();
        }
        _cleanup_free_ char *k = NULL, *p = NULL;
        size_t kl, pl;
        assert_int_equal(rk_read_at(AT_FDCWD, key, 0, 65536, &k, &kl), 0);
        assert_int_equal(rk_read_at(AT_FDCWD, pub, 0, 65536, &p, &pl), 0);
        const char *data = "{\"result\": \"complete\"}\n";
        unsigned char *sig = NULL;
        size_t siglen = 0;
        char err[256];
        assert_int_equal(rk_cert_sign(k, kl, data, strlen(data), &sig, &siglen, err, sizeof err), 0);
        enum rk_cert_verdict v;
        assert_int_equal(rk_cert_verify(p, pl, data, strlen(data), sig, siglen, &v, err, sizeof err), 0);
        assert_int_equal(v, RK_CERT_VALID);
        /* the private key verifies too (its public half) */
        assert_int_equal(rk_cert_verify(k, kl, data, strlen(data), sig, siglen, &v, err, sizeof err), 0);
        assert_int_equal(v, RK_CERT_VALID);
        /* one byte changed */
        assert_int_equal(rk_cert_verify(p, pl, "{\"result\": \"complete\"} \n", strlen(data) + 1, sig, siglen, &v,
                                        err, sizeof err), 0);
        assert_int_equal(v, RK_CERT_TAMPERED);
        assert_int_equal(rk_cert_verify(p, pl, data, strlen(data), NULL, 0, &v, err, sizeof err), 0);
        assert_int_equal(v, RK_CERT_NO_SIGNATURE);
        assert_int_equal(rk_cert_verify("junk", 4, data, strlen(data), sig, siglen, &v, err, sizeof err), 0);
        assert_int_equal(v, RK_CERT_BAD_KEY);
        /* a public key cannot sign */
        unsigned char *s2 = NULL;
        assert_int_equal(rk_cert_sign(p, pl, data, strlen(data), &s2, &siglen, err, sizeof err), -EINVAL);
        free(sig);
        assert_int_equal(rkt_rm_rf(dir), 0);
}

static void test_luks_magic(void **state) {
        unsigned char buf[70000] = {};
        assert_int_equal(rk_luks_magic(buf, sizeof buf), 0);
        memcpy(buf, "LUKS\xba\xbe\0\2", 8);
        assert_int_equal(rk_luks_magic(buf, sizeof buf), 2);
        buf[7] = 1;
        assert_int_equal(rk_luks_magic(buf, sizeof buf), 1);
        assert_int_equal(rk_luks_magic(buf, 5), 0);     /* too short to tell */
        memset(buf, 0, 8);
        memcpy(buf + 65536, "SKUL\xba\xbe", 6);         /* only a secondary LUKS2 header left */
        assert_int_equal(rk_luks_magic(buf, sizeof buf), 3);
        assert_int_equal(rk_luks_magic(buf, 65536), 0);
}

static void test_crypto_opts(void **state) {
        struct rk_crypto_opts o;
        char err[256];
        _cleanup_free_ char *norm = NULL;
        assert_int_equal(rk_crypto_opts_parse(NULL, &o, &norm, err, sizeof err), 0);
        assert_null(o.keyfile);
        assert_null(norm);
        assert_int_equal(rk_crypto_opts_parse("keyfile=/etc//keys/d.key", &o, &norm, err, sizeof err), 0);
        assert_string_equal(o.keyfile, "/etc/keys/d.key");
        assert_string_equal(o.mkfs, "ext4");
        assert_string_equal(norm, "keyfile=/etc/keys/d.key mkfs=ext4");
        rk_crypto_opts_done(&o);
        free(norm);
        norm = NULL;
        assert_int_equal(rk_crypto_opts_parse("  mkfs=xfs\tkeyfile=/k ", &o, &norm, err, sizeof err), 0);
        assert_string_equal(norm, "keyfile=/k mkfs=xfs");
        rk_crypto_opts_done(&o);
        static const char *const bad[] = {
                "keyfile=relative", "keyfile=/a/../b", "keyfile=//", /* found by fuzz-certificate */ "keyfile=/k/*", "keyfile=/", "keyfile=", "=x", "keyfile",
                "mkfs=ext4", "keyfile=/k mkfs=EXT4", "keyfile=/k mkfs=ext4;rm", "keyfile=/k keyfile=/j",
                "keyfile=/k mkfs=ext4 mkfs=xfs", "size=1G", "keyfile=/k extra",
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(bad); i++) {
                err[0] = 0;
                assert_int_equal(rk_crypto_opts_parse(bad[i], &o, NULL, err, sizeof err), -EINVAL);
                assert_true(err[0]);
        }
        /* in a manifest: the error names file and line */
        struct rk_manifest m = {};
        assert_int_equal(rk_manifest_parse_string(&m, "crypto-erase /dev/sdb2 keyfile=/k mkfs=none\n", "a.conf", err,
                                                  sizeof err), 0);
        assert_int_equal(m.entries[0].action, RK_MF_CRYPTO_ERASE);
        assert_string_equal(m.entries[0].arg, "keyfile=/k mkfs=none");
        assert_int_equal(rk_manifest_parse_string(&m, "crypto-erase /dev/sdc\n", "a.conf", err, sizeof err), 0);
        assert_null(m.entries[1].arg);
        assert_int_equal(rk_manifest_parse_string(&m, "\ncrypto-erase /dev/sd* \n", "b.conf", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "b.conf:2"));
        assert_int_equal(rk_manifest_parse_string(&m, "crypto-erase dev/sdb\n", "b.conf", err, sizeof err), -EINVAL);
        assert_int_equal(rk_manifest_parse_string(&m, "crypto-erase /dev/sdb keyfile=x\n", "b.conf", err, sizeof err),
                         -EINVAL);
        assert_non_null(strstr(err, "keyfile"));
        assert_int_equal(m.n, 2);
        rk_manifest_free(&m);
}

static void mk(const char *dir, const char *rel) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        assert_int_equal(mkdir(p, 0755), 0);
}

/* An open volume: /sys/block/dm-N/slaves/<the target's name>, faked. */
static void test_find_mappings(void **state) {
        char dir[] = "/tmp/rk-cert-XXXXXX", p[700], img[100];
        assert_non_null(mkdtemp(dir));
        mk(dir, "block");
        mk(dir, "dev");
        mk(dir, "dev/block");
        mk(dir, "block/sdb2");
        mk(dir, "block/dm-0");
        mk(dir, "block/dm-0/slaves");
        mk(dir, "block/dm-0/slaves/sdb2");
        mk(dir, "block/dm-0/dm");
        write_file(dir, "block/dm-0/dm/name", "luks-data\n");
        mk(dir, "block/dm-1");
        mk(dir, "block/dm-1/slaves");
        mk(dir, "block/dm-1/slaves/sdc1");
        snprintf(p, sizeof p, "%s/dev/block/8:18", dir);
        assert_int_equal(symlink("../../block/sdb2", p), 0);
        int sfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct rk_crypto_probe pr = { .exists = true, .is_block = true, .rdev = makedev(8, 18) };
        char **maps = NULL;
        assert_int_equal(rk_crypto_find_mappings(sfd, &pr, &maps), 0);
        assert_non_null(maps);
        assert_string_equal(maps[0], "dm-0 (luks-data)");
        assert_null(maps[1]);
        rk_strv_free(maps);
        /* another device: no mapping */
        pr.rdev = makedev(8, 33);
        assert_int_equal(rk_crypto_find_mappings(sfd, &pr, &maps), 0);
        assert_null(maps);
        /* an image file: through the loop device whose backing file it is */
        snprintf(img, sizeof img, "%s/data.img", dir);
        write_file(dir, "data.img", "x");
        struct stat st;
        assert_int_equal(stat(img, &st), 0);
        mk(dir, "block/loop3");
        mk(dir, "block/loop3/loop");
        snprintf(p, sizeof p, "%s\n", img);
        write_file(dir, "block/loop3/loop/backing_file", p);
        mk(dir, "block/dm-2");
        mk(dir, "block/dm-2/slaves");
        mk(dir, "block/dm-2/slaves/loop3");
        pr = (struct rk_crypto_probe) { .exists = true, .dev = st.st_dev, .ino = st.st_ino };
        assert_int_equal(rk_crypto_find_mappings(sfd, &pr, &maps), 0);
        assert_non_null(maps);
        assert_string_equal(maps[0], "dm-2 (?)");
        rk_strv_free(maps);
        close(sfd);
        assert_int_equal(rkt_rm_rf(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_category),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_media_round_trip_and_set),
                cmocka_unit_test(test_journal_keeps_media),
                cmocka_unit_test(test_device_read),
                cmocka_unit_test(test_sign_verify),
                cmocka_unit_test(test_luks_magic),
                cmocka_unit_test(test_crypto_opts),
                cmocka_unit_test(test_find_mappings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
