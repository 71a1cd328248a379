/* SPDX-License-Identifier: GPL-2.0-or-later */
/* erase.h — the strongest erase a slot's device offers, in SPEC §3 step 6's
 * order: NVMe Format NVM with secure erase when the slot is a whole NVMe
 * namespace, BLKSECDISCARD where the queue supports secure erase, else the
 * zeroing of zero.c (BLKZEROOUT, zero writes).  Every one is followed by the
 * same read-back of zeros: a device erase whose blocks do not read back as
 * zero is zeroed as well, so "verified" always means what it says. */
#pragma once

#include "zero.h"

/* rk_zero_device_verified(), with the device's own erase tried first when
 * the run starts at offset 0 (a resume past 0 was zeroing: it goes on
 * zeroing).  st->erase says which device erase ran, st->erase_note what
 * chose it and why the stronger ones could not run; st->method is that
 * erase when its read-back passed, else the zeroing that followed. */
int rk_erase_device_verified(int fd, uint64_t start, enum rk_verify mode, uint64_t seed,
                             const struct rk_zero_ops *ops, struct rk_zero_stats *st, char *err, size_t errlen);
