/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm-pull PULLFILE STATE [MS STATE]... — drive a gpio-sim line: write
 * "pull-STATE" (up|down) to the line's sysfs pull attribute, wait MS
 * (absolute CLOCK_MONOTONIC deadlines, so a sequence keeps its timing), write
 * the next state, and so on.  Prints "<ms> pull-STATE" for each write.
 * Holds and contact chatter with millisecond timing, which a shell with a
 * process per `sleep` cannot give under emulation. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int set_pull(int fd, const char *state) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "pull-%s", state);
        if (strcmp(state, "up") != 0 && strcmp(state, "down") != 0)
                return -EINVAL;
        if (pwrite(fd, buf, (size_t) n, 0) != n)
                return -errno;
        printf("%llu pull-%s\n", (unsigned long long) (now_ns() / 1000000ULL), state);
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 3 || argc % 2 != 1) {
                fprintf(stderr, "usage: vm-pull PULLFILE STATE [MS STATE]...\n");
                return 2;
        }
        int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "vm-pull: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        uint64_t t = now_ns();
        for (int i = 2; i < argc; i += 2) {
                if (i > 2) {
                        t += strtoull(argv[i - 1], NULL, 10) * 1000000ULL;
                        struct timespec ts = { .tv_sec = (time_t) (t / 1000000000ULL),
                                               .tv_nsec = (long) (t % 1000000000ULL) };
                        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                                ;
                }
                int r = set_pull(fd, argv[i]);
                if (r < 0) {
                        fprintf(stderr, "vm-pull: pull-%s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
        }
        return 0;
}
