/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm-gpiowatch CHIP LINE N TIMEOUT_MS — request one line through the GPIO
 * character device v2 uAPI with both edges, print each edge event as
 * "rising|falling <timestamp ns> seq <line seqno>", stop after N events.
 * Prints "ready" once the line is requested; exit 0 when N events came, 1
 * on timeout.
 * vm-gpiowatch --info CHIP LINE — print how the kernel reports the line. */
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* --info CHIP LINE: the line's flags, consumer and debounce period, as
 * the kernel reports them to any other user of the chip. */
static int info(const char *path, unsigned offset) {
        int chip = open(path, O_RDONLY | O_CLOEXEC);
        if (chip < 0) {
                fprintf(stderr, "vm-gpiowatch: %s: %s\n", path, strerror(errno));
                return 2;
        }
        struct gpio_v2_line_info li = { .offset = offset };
        if (ioctl(chip, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0) {
                fprintf(stderr, "vm-gpiowatch: GPIO_V2_GET_LINEINFO_IOCTL: %s\n", strerror(errno));
                return 2;
        }
        unsigned debounce = 0;
        for (unsigned i = 0; i < li.num_attrs; i++)
                if (li.attrs[i].id == GPIO_V2_LINE_ATTR_ID_DEBOUNCE)
                        debounce = li.attrs[i].debounce_period_us;
        printf("name %s consumer %s used %d active-low %d edges %s%s debounce-us %u\n",
               li.name[0] ? li.name : "-", li.consumer[0] ? li.consumer : "-",
               !!(li.flags & GPIO_V2_LINE_FLAG_USED), !!(li.flags & GPIO_V2_LINE_FLAG_ACTIVE_LOW),
               li.flags & GPIO_V2_LINE_FLAG_EDGE_RISING ? "r" : "-",
               li.flags & GPIO_V2_LINE_FLAG_EDGE_FALLING ? "f" : "-", debounce);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[1], "--info") == 0)
                return info(argv[2], (unsigned) atoi(argv[3]));
        if (argc != 5) {
                fprintf(stderr, "usage: vm-gpiowatch CHIP LINE N TIMEOUT_MS\n");
                return 2;
        }
        int chip = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (chip < 0) {
                fprintf(stderr, "vm-gpiowatch: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        struct gpio_v2_line_request req = {
                .offsets = { (unsigned) atoi(argv[2]) },
                .num_lines = 1,
                .consumer = "vm-gpiowatch",
                .config.flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING |
                                GPIO_V2_LINE_FLAG_EDGE_FALLING,
        };
        if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
                fprintf(stderr, "vm-gpiowatch: GPIO_V2_GET_LINE_IOCTL: %s\n", strerror(errno));
                return 2;
        }
        long want = atol(argv[3]), got = 0;
        int timeout = atoi(argv[4]);
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("ready\n");
        struct pollfd pfd = { .fd = req.fd, .events = POLLIN };
        while (got < want) {
                if (poll(&pfd, 1, timeout) == 0) {
                        printf("timeout after %ld edge events\n", got);
                        return 1;
                }
                struct gpio_v2_line_event ev;
                if (read(req.fd, &ev, sizeof(ev)) != (ssize_t) sizeof(ev)) {
                        fprintf(stderr, "vm-gpiowatch: read: %s\n", strerror(errno));
                        return 2;
                }
                printf("%s %llu seq %u\n",
                       ev.id == GPIO_V2_LINE_EVENT_RISING_EDGE ? "rising" : "falling",
                       (unsigned long long) ev.timestamp_ns, ev.line_seqno);
                got++;
        }
        return 0;
}
