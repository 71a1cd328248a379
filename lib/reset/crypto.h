/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crypto.h — cryptographic erase of a LUKS volume (the manifest's
 * `crypto-erase`, SPEC §3: NIST SP 800-88 Purge by key destruction), and
 * the first-boot re-creation of the erased volume.
 *
 * The erase, through libcryptsetup (no device-mapper needed: header
 * operations work on a block device or an image file directly):
 *   1. record every keyslot area (LUKS2: the whole keyslots area) and the
 *      header's UUID;
 *   2. destroy every keyslot (crypt_keyslot_destroy, which also overwrites
 *      its area with random bytes) and remove every token (TPM2, FIDO2, ...);
 *   3. write a fresh header of the same type, cipher and data offset with a
 *      random volume key that no keyslot holds: this replaces the old key
 *      digest, salts, tokens and JSON area (LUKS2 keeps the digest
 *      otherwise);
 *   4. overwrite the recorded areas with zeros, flush;
 *   5. verify by reading back: the header loads, no keyslot is active, no
 *      token is left, the UUID is not the old one, every recorded area
 *      reads back all zero (no old keyslot byte left).
 * A header that cannot be read (damaged) but still carries a LUKS magic:
 * what can be erased is erased (the first RK_CRYPTO_BLIND_WIPE bytes, where
 * the default header and its keyslots lie), and the result is a failure,
 * never "verified".
 *
 * Every step is idempotent: a resume after a power cut runs it again. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "manifest.h"

/* LUKS2's default header with its keyslots area; LUKS1's is 2 MiB */
#define RK_CRYPTO_BLIND_WIPE (16ULL << 20)
#define RK_CRYPTO_MAX_AREAS 40

/* Pure: 1 for a LUKS1 header, 2 for LUKS2 (primary at offset 0), 3 for a
 * LUKS2 secondary header only (buf holds the device's first len bytes,
 * secondary headers at 16 KiB .. 4 MiB), 0 none. */
int rk_luks_magic(const void *buf, size_t len);

struct rk_crypto_probe {
        bool exists;
        bool is_block;
        dev_t rdev;             /* block device */
        dev_t dev;              /* image file */
        ino_t ino;
        uint64_t size;
        int magic;              /* rk_luks_magic() */
        bool loadable;          /* crypt_load() read the header */
        char type[16];          /* "LUKS1", "LUKS2" */
        unsigned active_slots;
        char *why;              /* refused: missing, a directory, unreadable (NULL: a device or image) */
        bool damaged;           /* a LUKS magic, but the header cannot be read: erasable, never verified */
};
void rk_crypto_probe_done(struct rk_crypto_probe *p);

/* What preflight needs: does it exist, is it a block device or file (else
 * p->why says why it is refused), its identity, and is it LUKS (p->magic
 * 0: not)?  Returns 0, or -ENOMEM. */
int rk_crypto_probe(const char *device, struct rk_crypto_probe *p);

/* Open mappings (device-mapper devices) on top of the target, found under
 * the sysfs tree at sysfs_fd (/sys): every block/dm-* whose slaves/ holds
 * the target's kernel name, or a loop device whose backing file is the
 * target image.  ret: strv of "dm-N (NAME)"; 0 with NULL when none. */
int rk_crypto_find_mappings(int sysfs_fd, const struct rk_crypto_probe *p, char ***ret);

struct rk_crypto_result {
        char type[16];
        bool loaded;                    /* the header could be read */
        unsigned slots_destroyed, tokens_removed;
        unsigned areas;
        uint64_t area_bytes;            /* overwritten and read back */
        uint64_t size;
        bool header_rewritten;          /* a fresh header replaced the old digest */
        bool verified;                  /* every check of step 5 passed */
        char verify_why[256];           /* what failed, if any */
};

int rk_crypto_erase(const char *device, struct rk_crypto_result *res, char *err, size_t errlen);

/* First boot: is device in the state a crypto-erase leaves (a LUKS header
 * with no active keyslot), or one a re-creation began and did not finish
 * (its LUKS2 label still says so)?  1 yes, 0 no (working or not LUKS:
 * never touched), <0 error. */
int rk_crypto_is_erased(const char *device);

/* Re-create an erased volume: a fresh LUKS2 header, a new random key
 * written (0400, atomically) to o->keyfile inside root_fd and put in a
 * keyslot, then — unless mkfs is "none" — the volume opened through
 * device-mapper, mkfs.TYPE run on it, and closed.  Refuses a device that
 * is not in the erased state (rk_crypto_is_erased). */
int rk_crypto_recreate(const char *device, int root_fd, const struct rk_crypto_opts *o, char *err, size_t errlen);
