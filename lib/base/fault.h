/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fault.h — crash- and failure-safety test hooks.
 *
 * Built with -Dfault-injection=true, two kinds of point exist:
 *
 * RK_FAULT("name") is a place where a test can have the process killed with
 * SIGKILL (no cleanup handlers, no atexit, exactly like a power cut from
 * the process's point of view):
 *
 *   RESETKIT_FAULT=name       die the first time the point is reached
 *   RESETKIT_FAULT=name:N     die the N-th time (points inside loops)
 *
 * RK_FAIL("name") stands right before an operation that can fail (a write,
 * an unlink, a rename, an ioctl) and returns 0 or the negative errno the
 * test asked that operation to fail with, so the caller's own error path
 * runs exactly as it would on a real EIO.  It is a kill point too
 * (RESETKIT_FAULT=name[:N] works there), so the trace of a run lists
 * places a test can kill at, all of them:
 *
 *   RESETKIT_FAIL=name[:N[+]][=ERR]
 *       the N-th time the point is reached (default 1) the operation fails;
 *       with '+' that time and every later one (a disk that stays broken).
 *       ERR is EIO (default), ENOSPC, EACCES, EPERM, EROFS, ENOMEM or a
 *       number.
 *
 *   RESETKIT_FAULT_TRACE=FILE append every point reached (both kinds), one
 *                             name per line, so a test can enumerate the
 *                             points of a run and their occurrences
 *
 * In a normal build RK_FAULT is empty and RK_FAIL is the constant 0:
 * shipped binaries carry no kill switch and no failure switch. */
#pragma once

#include <stdbool.h>

#include "rk-build-config.h"

#if RK_FAULT_INJECTION
void rk_fault_point(const char *name);
int rk_fault_error(const char *name);
#define RK_FAULT(name) rk_fault_point(name)
#define RK_FAIL(name) rk_fault_error(name)
#else
#define RK_FAULT(name) do { } while (0)
#define RK_FAIL(name) 0
#endif

/* Pure, for tests: does spec ("name[:N[+]][=ERR]") select the `hit`-th
 * (1-based) passage of point `name`?  Returns the negative errno to fail
 * with, 0 when not selected, -EINVAL (and *bad set) when spec is
 * malformed. */
int rk_fault_spec_match(const char *spec, const char *name, unsigned hit, bool *bad);
