/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "crypto.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/sysmacros.h>

#include "cmdexec.h"
#include "fsutil.h"
#include "rk-build-config.h"
#include "util.h"
#include "zero.h"

#define KEY_BYTES 64

/* libcryptsetup is loaded on first use, like libcrypto (lib/base/sha256.c):
 * linked, it and what it pulls in (libdevmapper, libcrypto, libargon2,
 * libblkid) would be mapped by reset-failsafe at every boot, where its
 * budget is 20 ms, and by every resetctl command, for an action most
 * appliances never configure.  The headers still come from pkg-config, so
 * every pointer's type is checked against the prototype. */
#define CS_FUNCS(X) \
        X(crypt_activate_by_passphrase) X(crypt_deactivate) X(crypt_format) X(crypt_free) \
        X(crypt_get_cipher) X(crypt_get_cipher_mode) X(crypt_get_data_offset) \
        X(crypt_get_metadata_size) X(crypt_get_sector_size) X(crypt_get_type) X(crypt_get_uuid) \
        X(crypt_get_volume_key_size) X(crypt_init) X(crypt_keyslot_add_by_volume_key) \
        X(crypt_keyslot_area) X(crypt_keyslot_destroy) X(crypt_keyslot_max) X(crypt_keyslot_status) \
        X(crypt_load) X(crypt_set_data_offset) X(crypt_set_log_callback) X(crypt_set_metadata_size) \
        X(crypt_set_pbkdf_type) X(crypt_token_json_set) X(crypt_token_status) \
        X(crypt_get_label) X(crypt_set_label)

struct cs {
#define CS_FIELD(n) typeof(n) *n;
        CS_FUNCS(CS_FIELD)
#undef CS_FIELD
};

static int cs_load(struct cs *c, char *err, size_t errlen) {
        void *dl = dlopen(RK_LIBCRYPTSETUP_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl) {
                rk_set_err(err, errlen, "cannot load %s (libcryptsetup): %s", RK_LIBCRYPTSETUP_SONAME, dlerror());
                return -ELIBACC;
        }
        bool missing = false;
#define CS_SYM(n) missing |= !(c->n = (typeof(c->n)) dlsym(dl, #n));
        CS_FUNCS(CS_SYM)
#undef CS_SYM
        (void) dlclose(dl);     /* RTLD_NODELETE: it stays mapped */
        if (missing) {
                rk_set_err(err, errlen, "%s lacks a function resetkit needs", RK_LIBCRYPTSETUP_SONAME);
                return -ELIBBAD;
        }
        return 0;
}

/* a crypt_device with the library that frees it */
struct cd_ref {
        const struct cs *cs;
        struct crypt_device *cd;
};
static void cd_unref(struct cd_ref *r) {
        if (r->cd)
                r->cs->crypt_free(r->cd);
}
#define _cleanup_cd_ _cleanup_(cd_unref)

/* libcryptsetup prints its errors on stderr by default: ours name the
 * device and the step instead */
static void quiet_log(int level, const char *msg, void *usrptr) {
}

static int crypt_open_quiet(const struct cs *cs, const char *device, struct crypt_device **ret) {
        int r = cs->crypt_init(ret, device);
        if (r < 0)
                return r;
        cs->crypt_set_log_callback(*ret, quiet_log, NULL);
        return 0;
}

/* ---- magic -------------------------------------------------------------- */

int rk_luks_magic(const void *buf, size_t len) {
        static const unsigned char primary[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
        static const unsigned char secondary[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };
        const unsigned char *b = buf;
        if (len >= 8 && memcmp(b, primary, 6) == 0)
                return b[6] == 0 && b[7] == 2 ? 2 : 1;
        for (size_t off = 16384; off <= 4u << 20; off *= 2)
                if (off + 6 <= len && memcmp(b + off, secondary, 6) == 0)
                        return 3;
        return 0;
}

/* ---- probe ---------------------------------------------------------------- */

void rk_crypto_probe_done(struct rk_crypto_probe *p) {
        free(p->why);
        *p = (struct rk_crypto_probe) {};
}

RK_PRINTF(2, 3)
static int probe_refuse(struct rk_crypto_probe *p, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&p->why, fmt, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : 0;
}

static int read_head(int fd, uint64_t size, unsigned char **ret, size_t *ret_len) {
        size_t want = size < (4u << 20) + 4096 ? (size_t) size : (4u << 20) + 4096;
        unsigned char *buf = malloc(want ? want : 1);
        if (!buf)
                return -ENOMEM;
        size_t got = 0;
        while (got < want) {
                ssize_t n = pread(fd, buf + got, want - got, (off_t) got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        free(buf);
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        *ret = buf;
        *ret_len = got;
        return 0;
}

int rk_crypto_probe(const char *device, struct rk_crypto_probe *p) {
        struct stat st;
        *p = (struct rk_crypto_probe) {};
        if (stat(device, &st) < 0)
                return errno == ENOENT ? probe_refuse(p, "%s does not exist", device)
                                       : probe_refuse(p, "cannot stat %s: %s", device, strerror(errno));
        p->exists = true;
        if (S_ISDIR(st.st_mode))
                return probe_refuse(p, "%s is a directory, not a block device or image file", device);
        if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
                return probe_refuse(p, "%s is not a block device or image file", device);
        p->is_block = S_ISBLK(st.st_mode);
        p->rdev = st.st_rdev;
        p->dev = st.st_dev;
        p->ino = st.st_ino;
        _cleanup_close_ int fd = open(device, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return probe_refuse(p, "cannot open %s: %s", device, strerror(errno));
        bool blk;
        unsigned align;
        int r = rk_zero_target_size(fd, &blk, &p->size, &align);
        if (r < 0)
                return probe_refuse(p, "cannot size %s: %s", device, strerror(-r));
        _cleanup_free_ unsigned char *head = NULL;
        size_t len = 0;
        r = read_head(fd, p->size, &head, &len);
        if (r < 0)
                return probe_refuse(p, "cannot read %s: %s", device, strerror(-r));
        p->magic = rk_luks_magic(head, len);
        if (!p->magic)
                return 0;       /* the caller says "not LUKS" after its own checks */
        struct cs cs_;
        const struct cs *cs = &cs_;
        char err[256];
        if (cs_load(&cs_, err, sizeof err) < 0)
                return probe_refuse(p, "%s", err);
        _cleanup_cd_ struct cd_ref h = { .cs = cs };
        if (crypt_open_quiet(cs, device, &h.cd) == 0 && cs->crypt_load(h.cd, CRYPT_LUKS, NULL) == 0) {
                p->loadable = true;
                snprintf(p->type, sizeof p->type, "%s", cs->crypt_get_type(h.cd));
                int max = cs->crypt_keyslot_max(cs->crypt_get_type(h.cd));
                for (int i = 0; i < max; i++)
                        p->active_slots += cs->crypt_keyslot_status(h.cd, i) >= CRYPT_SLOT_ACTIVE;
        } else
                p->damaged = true;
        return 0;
}

/* ---- open mappings -------------------------------------------------------- */

/* The kernel names the target appears as: a block device's own name, or
 * every loop device whose backing file is the image. */
static int target_names(int sysfs_fd, const struct rk_crypto_probe *p, char ***ret) {
        char link[64], buf[PATH_MAX];
        if (p->is_block) {
                snprintf(link, sizeof link, "dev/block/%u:%u", major(p->rdev), minor(p->rdev));
                ssize_t n = readlinkat(sysfs_fd, link, buf, sizeof buf - 1);
                if (n < 0)
                        return errno == ENOENT ? 0 : -errno;
                buf[n] = 0;
                const char *base = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
                return rk_strv_push(ret, base);
        }
        return rk_sysfs_loops_of(sysfs_fd, p->dev, p->ino, ret);
}

int rk_crypto_find_mappings(int sysfs_fd, const struct rk_crypto_probe *p, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        *ret = NULL;
        int r = target_names(sysfs_fd, p, &names);
        if (r < 0 || !names)
                return r;
        _cleanup_close_ int bfd = openat(sysfs_fd, "block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = bfd >= 0 ? fdopendir(bfd) : NULL;
        if (!d)
                return 0;
        bfd = -1;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                if (!rk_startswith(de->d_name, "dm-"))
                        continue;
                for (char **n = names; *n && r >= 0; n++) {
                        char rel[600];
                        snprintf(rel, sizeof rel, "block/%s/slaves/%s", de->d_name, *n);
                        if (faccessat(sysfs_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        snprintf(rel, sizeof rel, "block/%s/dm/name", de->d_name);
                        _cleanup_free_ char *name = NULL, *item = NULL;
                        /* max 4096: sysfs gives every attribute that size */
                        if (rk_read_at(sysfs_fd, rel, 0, 4096, &name, NULL) == 0)
                                name[strcspn(name, "\n")] = 0;
                        if (asprintf(&item, "%s (%s)", de->d_name, name ? name : "?") < 0)
                                r = -ENOMEM;
                        else
                                r = rk_strv_push(ret, item);
                }
        }
        closedir(d);
        if (r < 0) {
                rk_strv_free(*ret);
                *ret = NULL;
        }
        return r;
}

/* ---- erase ----------------------------------------------------------- */

struct area {
        uint64_t off, len;
};

static int add_area(struct area *a, unsigned *n, uint64_t off, uint64_t len, uint64_t size) {
        if (len == 0 || off >= size)
                return 0;
        if (off + len > size)
                len = size - off;
        for (unsigned i = 0; i < *n; i++)
                if (a[i].off == off && a[i].len == len)
                        return 0;
        if (*n >= RK_CRYPTO_MAX_AREAS)
                return -E2BIG;
        a[(*n)++] = (struct area) { off, len };
        return 0;
}

static int zero_areas(const char *device, const struct area *a, unsigned n) {
        _cleanup_close_ int fd = open(device, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (unsigned i = 0; i < n; i++) {
                int r = rk_zero_range(fd, a[i].off, a[i].len);
                if (r < 0)
                        return r;
        }
        return fdatasync(fd) < 0 ? -errno : 0;
}

/* Read back from the device, not the page cache: 0 all zero, -EBADMSG not,
 * or the read error. */
static int areas_zero(const char *device, const struct area *a, unsigned n, uint64_t *ret_bytes) {
        _cleanup_close_ int fd = open(device, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode))
                (void) ioctl(fd, BLKFLSBUF, 0);
        *ret_bytes = 0;
        for (unsigned i = 0; i < n; i++) {
                int r = rk_zero_range_check(fd, a[i].off, a[i].len);
                if (r < 0)
                        return r;
                *ret_bytes += a[i].len;
        }
        return 0;
}

/* Step 3: a fresh header of the same kind with a volume key no keyslot
 * holds, so the old digest and everything else of the old JSON area go. */
static int rewrite_header(const struct cs *cs, const char *device, const char *type, const char *cipher, const char *mode,
                          int key_size, uint64_t data_offset, uint64_t md_size, uint64_t ks_size, int sector) {
        _cleanup_cd_ struct cd_ref h = { .cs = cs };
        int r = crypt_open_quiet(cs, device, &h.cd);
        if (r < 0)
                return r;
        /* the digest of a key nobody has: its PBKDF cost buys nothing */
        struct crypt_pbkdf_type pbkdf = { .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000,
                                          .flags = CRYPT_PBKDF_NO_BENCHMARK };
        (void) cs->crypt_set_pbkdf_type(h.cd, &pbkdf);
        if (strcmp(type, CRYPT_LUKS2) == 0) {
                if (md_size && ks_size)
                        (void) cs->crypt_set_metadata_size(h.cd, md_size, ks_size);
                (void) cs->crypt_set_data_offset(h.cd, data_offset);
                struct crypt_params_luks2 p = { .sector_size = (uint32_t) (sector > 0 ? sector : 512) };
                return cs->crypt_format(h.cd, CRYPT_LUKS2, cipher, mode, NULL, NULL, (size_t) key_size, &p);
        }
        struct crypt_params_luks1 p = { .hash = "sha256" };
        (void) cs->crypt_set_data_offset(h.cd, data_offset);
        return cs->crypt_format(h.cd, CRYPT_LUKS1, cipher, mode, NULL, NULL, (size_t) key_size, &p);
}

static int erase_damaged(const char *device, struct rk_crypto_result *res, char *err, size_t errlen) {
        struct area a = { 0, res->size < RK_CRYPTO_BLIND_WIPE ? res->size : RK_CRYPTO_BLIND_WIPE };
        int r = zero_areas(device, &a, 1);
        uint64_t bytes = 0;
        if (r >= 0)
                r = areas_zero(device, &a, 1, &bytes);
        res->areas = r >= 0 ? 1 : 0;
        res->area_bytes = bytes;
        snprintf(res->verify_why, sizeof res->verify_why,
                 "the LUKS header cannot be read (damaged): its keyslots could not be listed or checked; the first "
                 "%llu bytes (where the default header and its keyslots lie) were %s",
                 (unsigned long long) a.len, r >= 0 ? "overwritten with zeros" : "NOT overwritten");
        rk_set_err(err, errlen, "%s: %s%s%s", device, res->verify_why, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
        return -EBADMSG;
}

int rk_crypto_erase(const char *device, struct rk_crypto_result *res, char *err, size_t errlen) {
        *res = (struct rk_crypto_result) {};
        struct cs cs_;
        const struct cs *cs = &cs_;
        int lr = cs_load(&cs_, err, errlen);
        if (lr < 0)
                return lr;
        _cleanup_cd_ struct cd_ref h = { .cs = cs };
        struct area areas[RK_CRYPTO_MAX_AREAS];
        unsigned n = 0;
        {
                _cleanup_close_ int fd = open(device, O_RDONLY | O_CLOEXEC);
                bool blk;
                unsigned align;
                int r = fd < 0 ? -errno : rk_zero_target_size(fd, &blk, &res->size, &align);
                if (r < 0) {
                        rk_set_err(err, errlen, "cannot open %s: %s", device, strerror(-r));
                        return r;
                }
        }
        int r = crypt_open_quiet(cs, device, &h.cd);
        if (r >= 0)
                r = cs->crypt_load(h.cd, CRYPT_LUKS, NULL);
        if (r < 0) {
                struct rk_crypto_probe p;
                (void) rk_crypto_probe(device, &p);
                bool luks = p.magic != 0;
                rk_crypto_probe_done(&p);
                if (!luks) {
                        rk_set_err(err, errlen, "%s is not a LUKS volume (any more): nothing to erase", device);
                        return -EMEDIUMTYPE;
                }
                return erase_damaged(device, res, err, errlen);
        }
        res->loaded = true;

        /* 1. what the old header had, before anything changes */
        char type[16], cipher[64], mode[64], uuid[64];
        snprintf(type, sizeof type, "%s", cs->crypt_get_type(h.cd));
        snprintf(res->type, sizeof res->type, "%s", type);
        snprintf(cipher, sizeof cipher, "%s", rk_strna(cs->crypt_get_cipher(h.cd)));
        snprintf(mode, sizeof mode, "%s", rk_strna(cs->crypt_get_cipher_mode(h.cd)));
        snprintf(uuid, sizeof uuid, "%s", rk_strna(cs->crypt_get_uuid(h.cd)));
        int key_size = cs->crypt_get_volume_key_size(h.cd), sector = cs->crypt_get_sector_size(h.cd);
        /* LUKS2 knows the key size from its keyslots: a header whose slots
         * an earlier attempt destroyed (a retry, after the volume was
         * closed) says 0, which no format accepts: XTS takes two keys */
        if (key_size <= 0)
                key_size = strstr(mode, "xts") ? 64 : 32;
        uint64_t data_offset = cs->crypt_get_data_offset(h.cd), md = 0, ks = 0;
        bool luks2 = strcmp(type, CRYPT_LUKS2) == 0;
        int max = cs->crypt_keyslot_max(type);
        for (int i = 0; i < max; i++) {
                uint64_t off, len;
                if (cs->crypt_keyslot_area(h.cd, i, &off, &len) == 0 && add_area(areas, &n, off, len, res->size) < 0)
                        break;
        }
        /* LUKS2: the whole keyslots area, remnants of slots killed before
         * included */
        if (luks2 && cs->crypt_get_metadata_size(h.cd, &md, &ks) == 0 && ks > 0)
                (void) add_area(areas, &n, 2 * md, ks, res->size);

        /* 2. every keyslot, every token */
        int failures = 0;
        for (int i = 0; i < max; i++) {
                crypt_keyslot_info s = cs->crypt_keyslot_status(h.cd, i);
                if (s < CRYPT_SLOT_ACTIVE)
                        continue;
                if (cs->crypt_keyslot_destroy(h.cd, i) < 0)
                        failures++;
                else
                        res->slots_destroyed++;
        }
        for (int t = 0; luks2 && t < 32; t++) {
                const char *tt;
                if (cs->crypt_token_status(h.cd, t, &tt) == CRYPT_TOKEN_INACTIVE)
                        continue;
                if (cs->crypt_token_json_set(h.cd, t, NULL) < 0)
                        failures++;
                else
                        res->tokens_removed++;
        }
        cs->crypt_free(RK_TAKE_PTR(h.cd));

        /* 3. the digest goes with a fresh header */
        int hr = rewrite_header(cs, device, type, cipher, mode, key_size, data_offset, md, ks, sector);
        res->header_rewritten = hr >= 0;

        /* 4. the keyslot areas: zeros, durable */
        int z = zero_areas(device, areas, n);

        /* 5. read it all back */
        const char *why = NULL;
        char hwhy[160];
        if (crypt_open_quiet(cs, device, &h.cd) < 0 || cs->crypt_load(h.cd, CRYPT_LUKS, NULL) < 0)
                why = "the header does not load after the erase";
        else {
                for (int i = 0; i < cs->crypt_keyslot_max(cs->crypt_get_type(h.cd)) && !why; i++)
                        if (cs->crypt_keyslot_status(h.cd, i) >= CRYPT_SLOT_ACTIVE)
                                why = "a keyslot is still active";
                for (int t = 0; luks2 && t < 32 && !why; t++) {
                        const char *tt;
                        if (cs->crypt_token_status(h.cd, t, &tt) != CRYPT_TOKEN_INACTIVE)
                                why = "a token is still there";
                }
                if (!why && hr == -EBUSY)
                        /* libcryptsetup formats no device in use: an open
                         * mapping holds it.  Its keyslots are gone and their
                         * areas zeroed below; the retry at the next boot,
                         * with the volume closed, replaces the header. */
                        why = "the volume is open (a mapping holds it): its keyslots are destroyed, but its header "
                              "(the key digest) cannot be replaced until it is closed; the retry at the next boot "
                              "does it";
                else if (!why && (!res->header_rewritten || rk_streq(cs->crypt_get_uuid(h.cd), uuid))) {
                        snprintf(hwhy, sizeof hwhy, "the old header (its key digest) was not replaced%s%s",
                                 hr < 0 ? ": " : "", hr < 0 ? strerror(-hr) : "");
                        why = hwhy;
                }
        }
        int v = z < 0 ? z : areas_zero(device, areas, n, &res->area_bytes);
        res->areas = n;
        if (!why && z < 0)
                why = "the keyslot areas could not be overwritten";
        if (!why && v == -EBADMSG)
                why = "a keyslot area still holds nonzero bytes";
        else if (!why && v < 0)
                why = "the keyslot areas could not be read back";
        if (!why && failures)
                why = "a keyslot or token could not be destroyed";
        if (why) {
                snprintf(res->verify_why, sizeof res->verify_why, "%s", why);
                rk_set_err(err, errlen, "%s: %s", device, why);
                return -EBADMSG;
        }
        res->verified = true;
        return 0;
}

/* ---- first boot ------------------------------------------------------------ */

/* The label a re-created volume carries until its filesystem is made: a
 * power cut (or a failed mkfs) before then leaves a volume that still
 * counts as erased, so the next boot makes it again instead of leaving a
 * keyslot without a filesystem forever. */
#define RECREATING_LABEL "resetkit-recreating"

int rk_crypto_is_erased(const char *device) {
        struct cs cs_;
        const struct cs *cs = &cs_;
        int lr = cs_load(&cs_, NULL, 0);
        if (lr < 0)
                return lr;
        _cleanup_cd_ struct cd_ref h = { .cs = cs };
        if (crypt_open_quiet(cs, device, &h.cd) < 0 || cs->crypt_load(h.cd, CRYPT_LUKS, NULL) < 0)
                return 0;
        if (rk_streq(cs->crypt_get_type(h.cd), CRYPT_LUKS2) && rk_streq(cs->crypt_get_label(h.cd), RECREATING_LABEL))
                return 1;
        int max = cs->crypt_keyslot_max(cs->crypt_get_type(h.cd));
        for (int i = 0; i < max; i++)
                if (cs->crypt_keyslot_status(h.cd, i) >= CRYPT_SLOT_ACTIVE)
                        return 0;
        return 1;
}

static int write_keyfile(int root_fd, const char *path, const unsigned char *key, size_t len) {
        const char *name;
        _cleanup_close_ int dfd = rk_open_parent_at(root_fd, rk_path_relative(path), 0700, &name);
        if (dfd < 0)
                return dfd;
        return rk_write_atomic_at(dfd, name, key, len, 0400);
}

int rk_crypto_recreate(const char *device, int root_fd, const struct rk_crypto_opts *o, char *err, size_t errlen) {
        if (!o->keyfile) {
                rk_set_err(err, errlen, "%s: no keyfile= configured: not re-created", device);
                return -EINVAL;
        }
        struct cs cs_;
        const struct cs *cs = &cs_;
        int e = cs_load(&cs_, err, errlen);
        if (e < 0)
                return e;
        e = rk_crypto_is_erased(device);
        if (e <= 0) {
                rk_set_err(err, errlen, "%s is not an erased LUKS volume (a LUKS header without keyslots): left alone",
                           device);
                return -EEXIST;
        }
        unsigned char key[KEY_BYTES];
        if (getrandom(key, sizeof key, 0) != (ssize_t) sizeof key) {
                rk_set_err(err, errlen, "getrandom: %s", strerror(errno));
                return -EIO;
        }
        _cleanup_cd_ struct cd_ref h = { .cs = cs };
        /* the key is 512 random bits: a costly PBKDF adds nothing, and a
         * memory-hard one could fail on a small appliance */
        struct crypt_pbkdf_type pbkdf = { .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000,
                                          .flags = CRYPT_PBKDF_NO_BENCHMARK };
        struct crypt_params_luks2 p = { .sector_size = 512 };
        int r = crypt_open_quiet(cs, device, &h.cd);
        if (r >= 0)
                r = cs->crypt_set_pbkdf_type(h.cd, &pbkdf);
        if (r >= 0)
                r = cs->crypt_format(h.cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &p);
        if (r >= 0)
                r = cs->crypt_set_label(h.cd, RECREATING_LABEL, NULL);
        if (r < 0) {
                rk_set_err(err, errlen, "%s: cannot write a fresh LUKS2 header: %s", device, strerror(-r));
                goto out;
        }
        /* the key file first: a keyslot nobody has the key of is useless */
        r = write_keyfile(root_fd, o->keyfile, key, sizeof key);
        if (r < 0) {
                rk_set_err(err, errlen, "cannot write the key file %s: %s", o->keyfile, strerror(-r));
                goto out;
        }
        r = cs->crypt_keyslot_add_by_volume_key(h.cd, CRYPT_ANY_SLOT, NULL, 0, (const char *) key, sizeof key);
        if (r < 0) {
                rk_set_err(err, errlen, "%s: cannot add the new key: %s", device, strerror(-r));
                goto out;
        }
        r = 0;
        if (strcmp(o->mkfs, "none") == 0)
                goto done;
        /* a filesystem needs the opened volume: device-mapper */
        char name[64], dm[128], cmd[512];
        snprintf(name, sizeof name, "resetkit-recreate-%llx", (unsigned long long) rk_random_u64());
        r = cs->crypt_activate_by_passphrase(h.cd, name, CRYPT_ANY_SLOT, (const char *) key, sizeof key, 0);
        if (r < 0) {
                rk_set_err(err, errlen, "%s: cannot open the new volume (device-mapper) to make its filesystem: %s",
                           device, strerror(-r));
                goto out;
        }
        snprintf(dm, sizeof dm, "/dev/mapper/%s", name);
        snprintf(cmd, sizeof cmd, "mkfs.%s -q %s", o->mkfs, dm);
        int status = 0;
        r = rk_exec_command(cmd, NULL, NULL, &status);
        if (r >= 0 && status != 0)
                r = -EIO;
        if (r < 0)
                rk_set_err(err, errlen, "%s: '%s' failed (%s)", device, cmd, status ? "exit status" : strerror(-r));
        int d = cs->crypt_deactivate(h.cd, name);
        if (r >= 0 && d < 0) {
                rk_set_err(err, errlen, "%s: cannot close %s: %s", device, dm, strerror(-d));
                r = d;
        }
        if (r < 0)
                goto out;
done:
        /* complete: from now on a volume like any other, never made again */
        r = cs->crypt_set_label(h.cd, NULL, NULL);
        if (r < 0)
                rk_set_err(err, errlen, "%s: cannot clear the label %s: %s", device, RECREATING_LABEL, strerror(-r));
out:
        explicit_bzero(key, sizeof key);
        return r;
}
