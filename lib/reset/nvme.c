/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nvme.h"

#include <errno.h>
#include <linux/nvme_ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fault.h"

#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_ADMIN_FORMAT 0x80
/* A secure erase of a large namespace takes minutes; the kernel's default
 * admin timeout (60 s) would abort it half-way. */
#define FORMAT_TIMEOUT_MS (60U * 60 * 1000)

static uint32_t le16(const uint8_t *p) { return (uint32_t) p[0] | (uint32_t) p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t) le32(p) | (uint64_t) le32(p + 4) << 32; }

/* An ASCII field padded with spaces; control bytes become '?'. */
static void ascii(char *dst, const uint8_t *src, size_t n) {
        size_t len = n;
        while (len > 0 && (src[len - 1] == ' ' || src[len - 1] == 0))
                len--;
        for (size_t i = 0; i < len; i++)
                dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char) src[i] : '?';
        dst[len] = 0;
}

void rk_nvme_parse_ctrl(const uint8_t id[RK_NVME_IDENTIFY_LEN], struct rk_nvme_ctrl *ret) {
        *ret = (struct rk_nvme_ctrl) {
                .format = le16(id + 256) & (1u << 1),
                .format_all_ns = id[524] & (1u << 0),
                .erase_all_ns = id[524] & (1u << 1),
                .crypto_erase = id[524] & (1u << 2),
                .namespaces = le32(id + 516),
        };
        ascii(ret->serial, id + 4, 20);
        ascii(ret->model, id + 24, 40);
}

void rk_nvme_parse_ns(const uint8_t id[RK_NVME_IDENTIFY_LEN], struct rk_nvme_ns *ret) {
        uint8_t flbas = id[26], dps = id[29];
        *ret = (struct rk_nvme_ns) {
                .blocks = le64(id),
                /* bits 3:0 and, since NVMe 2.0, bits 6:5 as the high bits */
                .lbaf = (flbas & 0x0fu) | ((flbas >> 5) & 0x03u) << 4,
                .mset = flbas & (1u << 4),
                .pi = dps & 0x07u,
                .pil = (dps >> 3) & 1u,
                .reads_zero = (id[33] & 0x07u) == 1,
        };
}

enum rk_nvme_ses rk_nvme_choose_ses(const struct rk_nvme_ctrl *c, char *why, size_t whylen) {
        if (!c->format) {
                snprintf(why, whylen, "the controller has no Format NVM (OACS bit 1 clear)");
                return RK_NVME_SES_NONE;
        }
        /* FNA bits 0/1: the format or the erase reaches every namespace of
         * the controller, the active slot's too when it is one of them */
        if ((c->format_all_ns || c->erase_all_ns) && c->namespaces != 1) {
                snprintf(why, whylen, "the controller's format%s applies to all of its %u namespaces (FNA 0x%x)",
                         c->erase_all_ns && !c->format_all_ns ? "'s secure erase" : "",
                         (unsigned) c->namespaces,
                         (c->format_all_ns ? 1u : 0u) | (c->erase_all_ns ? 2u : 0u) | (c->crypto_erase ? 4u : 0u));
                return RK_NVME_SES_NONE;
        }
        if (c->crypto_erase) {
                snprintf(why, whylen, "the controller supports cryptographic erase (FNA bit 2)");
                return RK_NVME_SES_CRYPTO;
        }
        snprintf(why, whylen, "the controller supports Format NVM (OACS bit 1), no cryptographic erase");
        return RK_NVME_SES_USER_DATA;
}

uint32_t rk_nvme_format_cdw10(const struct rk_nvme_ns *ns, enum rk_nvme_ses ses) {
        return (ns->lbaf & 0x0fu) | (ns->mset ? 1u << 4 : 0) | (ns->pi & 0x07u) << 5 | (ns->pil & 1u) << 8 |
               ((uint32_t) ses & 0x07u) << 9 | ((ns->lbaf >> 4) & 0x03u) << 12;
}

int rk_nvme_nsid(int fd) {
        int r = ioctl(fd, NVME_IOCTL_ID);
        return r < 0 ? -errno : r;
}

static int admin(int fd, struct nvme_admin_cmd *cmd, unsigned *status) {
        int r = ioctl(fd, NVME_IOCTL_ADMIN_CMD, cmd);
        if (r < 0)
                return -errno;
        if (r > 0) {    /* the controller's status: rejected */
                if (status)
                        *status = (unsigned) r;
                return -EIO;
        }
        return 0;
}

int rk_nvme_identify(int fd, uint32_t nsid, unsigned cns, uint8_t buf[RK_NVME_IDENTIFY_LEN]) {
        memset(buf, 0, RK_NVME_IDENTIFY_LEN);
        struct nvme_admin_cmd cmd = {
                .opcode = NVME_ADMIN_IDENTIFY,
                .nsid = nsid,
                .addr = (uint64_t) (uintptr_t) buf,
                .data_len = RK_NVME_IDENTIFY_LEN,
                .cdw10 = cns,
        };
        return admin(fd, &cmd, NULL);
}

int rk_nvme_format(int fd, uint32_t nsid, uint32_t cdw10, unsigned *status) {
        int r = RK_FAIL("erase:nvme-format");
        if (r < 0) {
                *status = 0x4002;       /* injected: Invalid Field in Command (DNR) */
                return r;
        }
        struct nvme_admin_cmd cmd = {
                .opcode = NVME_ADMIN_FORMAT,
                .nsid = nsid,
                .cdw10 = cdw10,
                .timeout_ms = FORMAT_TIMEOUT_MS,
        };
        *status = 0;
        return admin(fd, &cmd, status);
}
