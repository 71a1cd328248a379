/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nvme.h — what the factory reset asks of an NVMe namespace: is it a whole
 * namespace, can its controller format it with a secure erase that touches
 * only it, and the Format NVM command itself (NVME_IOCTL_ADMIN_CMD).
 *
 * The parsing of the Identify data is pure (tests feed it buffers); the
 * ioctls are the only I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RK_NVME_IDENTIFY_LEN 4096

/* Secure Erase Settings of Format NVM (NVMe base spec, Format NVM CDW10). */
enum rk_nvme_ses {
        RK_NVME_SES_NONE = 0,
        RK_NVME_SES_USER_DATA = 1,      /* user data erase */
        RK_NVME_SES_CRYPTO = 2,         /* cryptographic erase */
};

/* From Identify Controller (CNS 01h). */
struct rk_nvme_ctrl {
        bool format;                    /* OACS bit 1: Format NVM supported */
        bool format_all_ns;             /* FNA bit 0: a format applies to every namespace */
        bool erase_all_ns;              /* FNA bit 1: a secure erase applies to every namespace */
        bool crypto_erase;              /* FNA bit 2: cryptographic erase supported */
        uint32_t namespaces;            /* NN */
        char model[41], serial[21];     /* MN, SN, trailing spaces dropped */
};

/* From Identify Namespace (CNS 00h). */
struct rk_nvme_ns {
        uint64_t blocks;                /* NSZE */
        unsigned lbaf;                  /* the current LBA format index (FLBAS, 6 bits) */
        bool mset;                      /* FLBAS bit 4: metadata at the end of each block */
        unsigned pi, pil;               /* DPS: protection information type and location */
        bool reads_zero;                /* DLFEAT 001b: deallocated blocks read as zeros */
};

void rk_nvme_parse_ctrl(const uint8_t id[RK_NVME_IDENTIFY_LEN], struct rk_nvme_ctrl *ret);
void rk_nvme_parse_ns(const uint8_t id[RK_NVME_IDENTIFY_LEN], struct rk_nvme_ns *ret);

/* The secure erase this controller can do to this one namespace without
 * touching another: crypto when supported, else user data; NONE (why says
 * why) when it has no Format NVM, or when its erase would reach every
 * namespace of a controller that has more than one (the other slot may be
 * one of them).  Pure. */
enum rk_nvme_ses rk_nvme_choose_ses(const struct rk_nvme_ctrl *c, char *why, size_t whylen);

/* CDW10 of a Format NVM that keeps the namespace's format (LBA format,
 * metadata, protection information) and erases with ses.  Pure. */
uint32_t rk_nvme_format_cdw10(const struct rk_nvme_ns *ns, enum rk_nvme_ses ses);

/* fd: the namespace's block device.  NVME_IOCTL_ID: its namespace id, or a
 * negative errno (-ENOTTY: not NVMe). */
int rk_nvme_nsid(int fd);
int rk_nvme_identify(int fd, uint32_t nsid, unsigned cns, uint8_t buf[RK_NVME_IDENTIFY_LEN]);
/* Format NVM of namespace nsid; *status: the NVMe status when the
 * controller rejects it (the return is then -EIO). */
int rk_nvme_format(int fd, uint32_t nsid, uint32_t cdw10, unsigned *status);
