/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fault.h"

#include <fcntl.h>
#include <signal.h>

#include "util.h"

static int errno_by_name(const char *s) {
        static const struct { const char *name; int err; } table[] = {
                { "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EACCES", EACCES }, { "EPERM", EPERM },
                { "EROFS", EROFS }, { "ENOMEM", ENOMEM }, { "EBUSY", EBUSY }, { "EINVAL", EINVAL },
                { "ENOTTY", ENOTTY }, { "EOPNOTSUPP", EOPNOTSUPP },   /* an ioctl the kernel lacks */
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(table); i++)
                if (strcmp(s, table[i].name) == 0)
                        return table[i].err;
        char *end;
        unsigned long n = strtoul(s, &end, 10);
        return *s && !*end && n > 0 && n < 4096 ? (int) n : 0;
}

int rk_fault_spec_match(const char *spec, const char *name, unsigned hit, bool *bad) {
        size_t nl = strlen(name);
        *bad = false;
        if (strncmp(spec, name, nl) != 0 || (spec[nl] && spec[nl] != ':' && spec[nl] != '='))
                return 0;
        const char *p = spec + nl;
        unsigned long n = 1;
        bool onward = false;
        if (*p == ':') {
                char *end;
                n = strtoul(p + 1, &end, 10);
                if (end == p + 1 || n == 0)
                        goto malformed;
                p = end;
                if (*p == '+') {
                        onward = true;
                        p++;
                }
        }
        int err = EIO;
        if (*p == '=') {
                err = errno_by_name(p + 1);
                if (!err)
                        goto malformed;
        } else if (*p)
                goto malformed;
        if (hit == n || (onward && hit > n))
                return -err;
        return 0;
malformed:
        *bad = true;
        return -EINVAL;
}

#if RK_FAULT_INJECTION
static void trace(const char *name) {
        const char *path = getenv("RESETKIT_FAULT_TRACE");
        if (!path)
                return;
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
                dprintf(fd, "%s\n", name);
                close(fd);
        }
}

/* Counting per process is fine: one process, one run.  The two counters
 * are the only mutable statics in the library and exist only in test
 * builds; each counts the passages of the point its variable names. */
void rk_fault_point(const char *name) {
        static unsigned hits;
        trace(name);
        const char *want = getenv("RESETKIT_FAULT");
        if (!want)
                return;
        size_t nl = strlen(name);
        if (strncmp(want, name, nl) != 0 || (want[nl] && want[nl] != ':'))
                return;
        unsigned n = want[nl] == ':' ? (unsigned) strtoul(want + nl + 1, NULL, 10) : 1;
        if (++hits < n)
                return;
        raise(SIGKILL);
}

int rk_fault_error(const char *name) {
        static unsigned hits;
        /* right before an operation is also where a power cut can land:
         * RESETKIT_FAULT kills here as at any RK_FAULT point (and the
         * passage is traced once, there) */
        rk_fault_point(name);
        const char *want = getenv("RESETKIT_FAIL");
        if (!want)
                return 0;
        size_t nl = strlen(name);
        if (strncmp(want, name, nl) != 0 || (want[nl] && want[nl] != ':' && want[nl] != '='))
                return 0;
        bool bad;
        int r = rk_fault_spec_match(want, name, ++hits, &bad);
        if (bad) {
                fprintf(stderr, "RESETKIT_FAIL=%s: malformed (name[:N[+]][=ERR])\n", want);
                abort();
        }
        return r;
}
#endif
