/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fault.h — crash-safety test hooks.
 *
 * Built with -Dfault-injection=true, every RK_FAULT("name") is a place where
 * a test can have the process killed with SIGKILL (no cleanup handlers, no
 * atexit, exactly like a power cut from the process's point of view):
 *
 *   RESETKIT_FAULT=name       die the first time the point is reached
 *   RESETKIT_FAULT=name:N     die the N-th time (points inside loops)
 *   RESETKIT_FAULT_TRACE=FILE append every point reached, one per line,
 *                             so a test can enumerate the points of a run
 *
 * In a normal build the macro is empty: shipped binaries carry no kill
 * switch. */
#pragma once

#include "rk-build-config.h"

#if RK_FAULT_INJECTION
void rk_fault_point(const char *name);
#define RK_FAULT(name) rk_fault_point(name)
#else
#define RK_FAULT(name) do { } while (0)
#endif
