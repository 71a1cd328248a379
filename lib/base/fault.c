/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fault.h"

#if RK_FAULT_INJECTION
#include <fcntl.h>
#include <signal.h>

#include "util.h"

void rk_fault_point(const char *name) {
        /* Counting per process is fine: one process, one run.  The counter
         * is the only mutable static in the library and exists only in
         * test builds. */
        static unsigned hits;
        const char *trace = getenv("RESETKIT_FAULT_TRACE");
        if (trace) {
                int fd = open(trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        dprintf(fd, "%s\n", name);
                        close(fd);
                }
        }
        const char *want = getenv("RESETKIT_FAULT");
        if (!want)
                return;
        size_t nl = strlen(name);
        if (strncmp(want, name, nl) != 0)
                return;
        unsigned n = 1;
        if (want[nl] == ':')
                n = (unsigned) strtoul(want + nl + 1, NULL, 10);
        else if (want[nl] != 0)
                return;
        if (++hits < n)
                return;
        raise(SIGKILL);
}
#endif
