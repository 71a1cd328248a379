/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"

/* How often a waiter retries.  flock(2) has no timed wait, and interrupting a
 * blocking flock with SIGALRM would need process-wide signal state, which a
 * library must not own; a short poll is cheap next to a config commit. */
#define RK_LOCK_POLL_MS 20

static pid_t read_holder(int fd) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        unsigned pid;
        if (rk_parse_uint(buf, &pid) < 0 || pid == 0)
                return 0;
        return (pid_t) pid;
}

static void record_holder(int fd) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d\n", (int) getpid());
        /* Best effort: the pid only improves a message. */
        if (ftruncate(fd, 0) == 0)
                (void) !pwrite(fd, buf, (size_t) n, 0);
}

int rk_lock_take(int dirfd, const char *name, int operation, uint64_t timeout_ms, pid_t *ret_holder) {
        if (ret_holder)
                *ret_holder = 0;
        if (operation != LOCK_EX && operation != LOCK_SH)
                return -EINVAL;

        _cleanup_close_ int fd = rk_openat2(dirfd, name, O_RDWR | O_CREAT | O_NOCTTY, 0600, RK_RESOLVE_STRICT);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;

        uint64_t deadline = rk_now_ms() + timeout_ms;
        for (;;) {
                if (flock(fd, operation | LOCK_NB) == 0)
                        break;
                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return -errno;
                if (timeout_ms == 0 || rk_now_ms() >= deadline) {
                        if (ret_holder)
                                *ret_holder = read_holder(fd);
                        return timeout_ms == 0 ? -EWOULDBLOCK : -EBUSY;
                }
                struct timespec ts = { .tv_nsec = RK_LOCK_POLL_MS * 1000000L };
                nanosleep(&ts, NULL);
        }
        if (operation == LOCK_EX)
                record_holder(fd);
        return RK_TAKE_FD(fd);
}

void rk_lock_release(int fd) {
        if (fd < 0)
                return;
        /* Erase our pid while still holding the lock, so that a later waiter
         * never names a process that is gone.  Only an exclusive holder
         * records its pid, so a shared holder never finds its own there. */
        if (read_holder(fd) == getpid())
                (void) ftruncate(fd, 0);
        (void) flock(fd, LOCK_UN);
        close(fd);
}
