/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lock.h — advisory whole-file locks (flock(2)) on a lock file inside a
 * directory, taken with a bounded wait.  The holder of an exclusive lock
 * writes its pid into the file so that a waiter that gives up can say who
 * holds it.  flock locks belong to the open file description: they vanish
 * when the holder dies, so a crash never leaves a stale lock behind. */
#pragma once

#include <sys/file.h>
#include <sys/types.h>

#include "util.h"

/* Take `operation` (LOCK_EX or LOCK_SH) on `name` inside dirfd; the file is
 * created 0600 when missing and must be a regular file (no symlink is
 * followed).  timeout_ms == 0: try once, -EWOULDBLOCK when held; else wait up
 * to timeout_ms, then -EBUSY.  On contention *ret_holder (if not NULL) gets
 * the pid the holder recorded, 0 when unknown.  Returns the lock fd. */
int rk_lock_take(int dirfd, const char *name, int operation, uint64_t timeout_ms, pid_t *ret_holder);

/* Release: forget the recorded pid, unlock, close.  Takes -1 gracefully. */
void rk_lock_release(int fd);

static inline void rk_lock_releasep(int *fd) {
        rk_lock_release(*fd);
        *fd = -1;
}
#define _cleanup_lock_ _cleanup_(rk_lock_releasep)
