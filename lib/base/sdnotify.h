/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify.h — systemd's service notification protocol (sd_notify(3)) and
 * the logind inhibitor, without linking libsystemd.
 *
 * resetd sits idle in memory for the appliance's whole life; libsystemd
 * and the compression and crypto libraries it pulls in would add most of a
 * megabyte of resident pages for three datagrams.  The notify protocol is a
 * documented, stable interface (a datagram to $NOTIFY_SOCKET); logind's
 * Inhibit() needs D-Bus, so libsystemd is dlopen()ed for that one call and
 * closed again — the lock lives in the returned fd. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

/* Send state ("READY=1", ...) to $NOTIFY_SOCKET.  0 sent, 0 also when no
 * socket is set (not under systemd), negative errno on failure. */
int rk_notify(const char *state);
bool rk_notify_available(void);

/* $WATCHDOG_USEC for this process ($WATCHDOG_PID unset or ours): the
 * interval in µs, or 0 when the watchdog is off. */
uint64_t rk_watchdog_usec(void);

/* logind's Inhibit(what, who, why, "block"); returns the lock fd, or a
 * negative errno (-EOPNOTSUPP: no libsystemd to talk D-Bus with;
 * -ETIMEDOUT: no answer within RK_LOGIND_TIMEOUT_USEC) with a message in
 * err. */
#define RK_LOGIND_TIMEOUT_USEC (5ULL * 1000000ULL)
int rk_logind_inhibit(const char *what, const char *who, const char *why, char *err, size_t errlen);
