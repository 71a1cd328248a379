/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exitcode.h — the documented exit codes of the three programs (man pages
 * list them; tests check them). */
#pragma once

enum {
        RK_EXIT_OK = 0,
        RK_EXIT_FAILURE = 1,    /* the operation failed; the message says what is unchanged */
        RK_EXIT_USAGE = 2,      /* bad command line, configuration file or manifest */
        RK_EXIT_INTEGRITY = 3,  /* a stored configuration fails its checksum or validation */
        RK_EXIT_BUSY = 4,       /* another writer or reset holds the lock */
        RK_EXIT_APPLY = 5,      /* committed, but apply-command failed */
        RK_EXIT_REFUSED = 6,    /* a safety check refused (nothing changed) or not confirmed */
};
