/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "erase.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "fault.h"
#include "fsutil.h"
#include "nvme.h"
#include "util.h"

/* "; " between the notes of the methods tried */
static void note(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t len, const char *fmt, ...) {
        size_t l = strlen(buf);
        if (l + 3 >= len)
                return;
        if (l) {
                memcpy(buf + l, "; ", 3);
                l += 2;
        }
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf + l, len - l, fmt, ap);
        va_end(ap);
}

/* The slot is a whole NVMe namespace (not a partition of one): its sysfs
 * directory has no "partition" and its name is nvme<c>n<n>. */
static bool whole_nvme_namespace(int fd) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode))
                return false;
        _cleanup_free_ char *dir = rk_sysfs_block_dir(st.st_rdev);
        if (!dir)
                return false;
        const char *name = strrchr(dir, '/');
        name = name ? name + 1 : dir;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/partition", dir);
        return strncmp(name, "nvme", 4) == 0 && access(p, F_OK) < 0;
}

/* 1: formatted; 0: not possible here (the note says why). */
static int try_nvme(int fd, struct rk_zero_stats *st) {
        char why[192];
        uint8_t id[RK_NVME_IDENTIFY_LEN];
        struct rk_nvme_ctrl c;
        struct rk_nvme_ns ns;
        if (!whole_nvme_namespace(fd)) {
                note(st->erase_note, sizeof st->erase_note, "NVMe Format NVM: not a whole NVMe namespace");
                return 0;
        }
        int nsid = rk_nvme_nsid(fd);
        int r = nsid < 0 ? nsid : rk_nvme_identify(fd, 0, 1, id);
        if (r < 0) {
                note(st->erase_note, sizeof st->erase_note, "NVMe Format NVM: Identify Controller failed: %s",
                     strerror(-r));
                return 0;
        }
        rk_nvme_parse_ctrl(id, &c);
        enum rk_nvme_ses ses = rk_nvme_choose_ses(&c, why, sizeof why);
        if (ses == RK_NVME_SES_NONE) {
                note(st->erase_note, sizeof st->erase_note, "NVMe Format NVM: not used: %s", why);
                return 0;
        }
        r = rk_nvme_identify(fd, (uint32_t) nsid, 0, id);
        if (r < 0) {
                note(st->erase_note, sizeof st->erase_note, "NVMe Format NVM: Identify Namespace %d failed: %s",
                     nsid, strerror(-r));
                return 0;
        }
        rk_nvme_parse_ns(id, &ns);
        unsigned status = 0;
        uint64_t t0 = rk_now_ns();
        r = rk_nvme_format(fd, (uint32_t) nsid, rk_nvme_format_cdw10(&ns, ses), &status);
        if (r < 0) {
                if (status)
                        note(st->erase_note, sizeof st->erase_note,
                             "NVMe Format NVM (SES %d) of namespace %d on %s rejected by the controller (status 0x%x)",
                             (int) ses, nsid, c.model, status);
                else
                        note(st->erase_note, sizeof st->erase_note, "NVMe Format NVM of namespace %d failed: %s",
                             nsid, strerror(-r));
                return 0;
        }
        st->nsec += rk_now_ns() - t0;
        st->erase = ses == RK_NVME_SES_CRYPTO ? RK_ZERO_NVME_CRYPTO : RK_ZERO_NVME_FORMAT;
        note(st->erase_note, sizeof st->erase_note, "NVMe namespace %d of %s (serial %s): %s", nsid, c.model,
             c.serial, why);
        return 1;
}

static int try_secdiscard(int fd, struct rk_zero_stats *st) {
        uint64_t range[2] = { 0, st->size };
        uint64_t t0 = rk_now_ns();
        int r = RK_FAIL("erase:secdiscard");
        if (r == 0 && ioctl(fd, BLKSECDISCARD, range) < 0)
                r = -errno;
        if (r == -EOPNOTSUPP || r == -ENOTTY) {
                note(st->erase_note, sizeof st->erase_note, "BLKSECDISCARD: the queue has no secure erase");
                return 0;
        }
        if (r < 0) {
                note(st->erase_note, sizeof st->erase_note, "BLKSECDISCARD failed: %s", strerror(-r));
                return 0;
        }
        st->nsec += rk_now_ns() - t0;
        st->erase = RK_ZERO_SECDISCARD;
        note(st->erase_note, sizeof st->erase_note, "the queue supports secure erase (BLKSECDISCARD succeeded)");
        return 1;
}

/* The device erased itself: what it holds now is read back as zeros. */
static int verify_erase(int fd, enum rk_verify mode, uint64_t seed, const struct rk_zero_ops *ops,
                        struct rk_zero_stats *st, char *err, size_t errlen) {
        /* nothing cached from before the erase may answer the read-back */
        (void) ioctl(fd, BLKFLSBUF, 0);
        if (ops && ops->checkpoint) {
                /* erased to the end: a cut from here on resumes at the
                 * read-back, which zeroes again if it fails */
                int r = ops->checkpoint(ops->userdata, st->size);
                if (r < 0) {
                        snprintf(err, errlen, "the erase could not be journaled: %s", strerror(-r));
                        return r;
                }
        }
        return rk_zero_verify(fd, st->size, mode, seed, NULL, NULL, &st->verify, err, errlen);
}

int rk_erase_device_verified(int fd, uint64_t start, enum rk_verify mode, uint64_t seed,
                             const struct rk_zero_ops *ops, struct rk_zero_stats *st, char *err, size_t errlen) {
        struct rk_zero_stats pre = {};
        unsigned align;
        int r = rk_zero_target_size(fd, &pre.is_block, &pre.size, &align);
        if (r < 0) {
                snprintf(err, errlen, "not a block device or regular file: %s", strerror(-r));
                return r;
        }
        if (!pre.is_block)
                note(pre.erase_note, sizeof pre.erase_note, "an image file: no device erase");
        else if (start > 0)
                note(pre.erase_note, sizeof pre.erase_note, "resuming the zeroing at offset %llu",
                     (unsigned long long) start);
        else if (try_nvme(fd, &pre) > 0 || try_secdiscard(fd, &pre) > 0) {
                r = verify_erase(fd, mode, seed, ops, &pre, err, errlen);
                if (r >= 0 || r == -ENOMEM) {
                        pre.method = pre.erase;
                        *st = pre;
                        return r;
                }
                /* blocks the device reads back as nonzero (or unreadable):
                 * zero them too, from the start */
                note(pre.erase_note, sizeof pre.erase_note, "its read-back was not all zero (%s): zeroed as well",
                     err);
                err[0] = 0;
                if (ops && ops->checkpoint && (r = ops->checkpoint(ops->userdata, 0)) < 0) {
                        snprintf(err, errlen, "the zeroing after the erase could not be journaled: %s", strerror(-r));
                        return r;
                }
        }
        r = rk_zero_device_verified(fd, start, 0, mode, seed, ops, st, err, errlen);
        /* rk_zero_device() starts its stats afresh: keep the erase's */
        st->erase = pre.erase;
        st->nsec += pre.nsec;
        memcpy(st->erase_note, pre.erase_note, sizeof st->erase_note);
        return r;
}
