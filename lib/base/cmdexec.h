/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmdexec.h — run an administrator-supplied command line (validate-command,
 * apply-command, the factory reset's exec entries and actions).
 *
 * The command line is run by /bin/sh -c, so it may use the shell's quoting
 * and redirections as written in resetd.conf.  Extra arguments (a file path,
 * say) are passed as positional parameters and appended as `"$@"`: they are
 * separate words and never re-parsed by the shell, whatever characters they
 * hold.  stdin is /dev/null; stdout and stderr are captured through a pipe
 * and logged line by line (LOG_INFO, prefixed with the command's first word),
 * so the command's output lands wherever the caller's log goes (terminal,
 * journal, the factory-reset log) and never on the caller's stdout, which may
 * carry --json data.  The child starts with default signal dispositions and
 * an empty signal mask whatever the caller blocked for its signalfd. */
#pragma once

#include <stdint.h>

#include "log.h"

/* Returns 0 when the command ran to completion and stores its status in
 * *ret_status (exit code; 128 + N when killed by signal N).  Negative errno
 * when it could not be run (-ENOENT: no /bin/sh, ...).  log may be NULL. */
int rk_exec_command(const char *cmdline, char *const extra_argv[], struct rk_log *log, int *ret_status);

/* Same with a time limit: after timeout_ms (0: none) the command is killed
 * with SIGKILL, reaped, and -ETIME returned. */
int rk_exec_command_timeout(const char *cmdline, char *const extra_argv[], struct rk_log *log,
                            uint64_t timeout_ms, int *ret_status);
