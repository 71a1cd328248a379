/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm-evwatch DEVICE N TIMEOUT_MS — read an evdev node, print each key event
 * as "key CODE VALUE <timestamp ms>" and each SYN_DROPPED as "syn-dropped",
 * stop after N key events.  Prints "ready" once the node is open; exit 0
 * when N key events came, 1 on timeout.  CLOCK_MONOTONIC timestamps
 * (EVIOCSCLOCKID), as resetd reads them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
        if (argc != 4) {
                fprintf(stderr, "usage: vm-evwatch DEVICE N TIMEOUT_MS\n");
                return 2;
        }
        int fd = open(argv[1], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "vm-evwatch: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        int clk = CLOCK_MONOTONIC;
        if (ioctl(fd, EVIOCSCLOCKID, &clk) < 0) {
                fprintf(stderr, "vm-evwatch: EVIOCSCLOCKID: %s\n", strerror(errno));
                return 2;
        }
        long want = atol(argv[2]), got = 0;
        int timeout = atoi(argv[3]);
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("ready\n");
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        while (got < want) {
                int r = poll(&pfd, 1, timeout);
                if (r == 0) {
                        printf("timeout after %ld key events\n", got);
                        return 1;
                }
                struct input_event ev;
                while (read(fd, &ev, sizeof(ev)) == (ssize_t) sizeof(ev)) {
                        if (ev.type == EV_SYN && ev.code == SYN_DROPPED)
                                printf("syn-dropped\n");
                        else if (ev.type == EV_KEY) {
                                printf("key %u %d %lld\n", ev.code, ev.value,
                                       (long long) ev.input_event_sec * 1000 +
                                               ev.input_event_usec / 1000);
                                got++;
                        }
                }
        }
        return 0;
}
