/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm-uinput — a reset button and its LEDs made with uinput, for the VM suite.
 *
 *   vm-uinput [--name NAME] [--key CODE] [--led-log FILE] [--down]
 *
 * Creates an input device NAME with EV_KEY (KEY_RESTART by default) and a
 * second one, NAME-leds, with EV_LED (LED_MISC, LED_MAIL, LED_CHARGING), so
 * input-leds gives three real LED class devices
 * /sys/class/leds/inputM::misc|mail|charging.  --down creates the button
 * already held (held at power-on).  It prints
 * "<ms> ready /dev/input/eventN inputN inputM" (the button's node, the
 * button's and the LEDs' input devices) once the nodes exist, then reads
 * commands, one a line, from stdin:
 *
 *   down | up          press / release (EV_KEY + SYN_REPORT)
 *   sleep MS           wait
 *   hold MS            down, wait MS exactly (absolute monotonic deadline), up;
 *                      prints "<ms> held MS ms (<measured> ms measured) down-at <ms>"
 *   flood N down|up    N press/release pairs in ONE write, then the given final
 *                      state: more than a reader's buffer holds, so its next
 *                      read gets SYN_DROPPED
 *   echo TEXT          print TEXT (to sync with a script)
 *
 * Every action is printed on stdout as "<monotonic ms> <what>".  The EV_LED
 * events the kernel sends back (what an LED sink wrote to the LED class
 * device's brightness, or what a trigger did) are appended to --led-log as
 * "<monotonic ms> led <code> <value>".  EOF on stdin destroys the device. */
#include <errno.h>
#include <fcntl.h>
#include <linux/uinput.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const int leds_codes[] = { LED_MISC, LED_MAIL, LED_CHARGING };

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void die(const char *what) {
        fprintf(stderr, "vm-uinput: %s: %s\n", what, strerror(errno));
        exit(1);
}

static int emit(int fd, const struct input_event *ev, size_t n) {
        /* uinput takes a whole array in one write: the kernel queues it to
         * every reader before any of them runs again. */
        size_t len = n * sizeof(*ev);
        ssize_t w = write(fd, ev, len);
        if (w < 0)
                return -errno;
        return (size_t) w == len ? 0 : -EIO;
}

static void set_ev(struct input_event *ev, int type, int code, int value) {
        memset(ev, 0, sizeof(*ev));
        ev->type = type;
        ev->code = code;
        ev->value = value;
}

static int key(int fd, int code, int value) {
        struct input_event ev[2];
        set_ev(&ev[0], EV_KEY, code, value);
        set_ev(&ev[1], EV_SYN, SYN_REPORT, 0);
        return emit(fd, ev, 2);
}

static int flood(int fd, int code, unsigned n, int final) {
        size_t cnt = (size_t) n * 4 + 2;
        struct input_event *ev = calloc(cnt, sizeof(*ev));
        if (!ev)
                return -ENOMEM;
        size_t i = 0;
        /* The input core drops a key event equal to the current state, so
         * alternate; each half is its own SYN_REPORT frame. */
        for (unsigned k = 0; k < n; k++) {
                set_ev(&ev[i++], EV_KEY, code, 1);
                set_ev(&ev[i++], EV_SYN, SYN_REPORT, 0);
                set_ev(&ev[i++], EV_KEY, code, 0);
                set_ev(&ev[i++], EV_SYN, SYN_REPORT, 0);
        }
        if (final) {
                set_ev(&ev[i++], EV_KEY, code, 1);
                set_ev(&ev[i++], EV_SYN, SYN_REPORT, 0);
        }
        int r = emit(fd, ev, i);
        free(ev);
        return r;
}

static void sleep_until(uint64_t deadline_ns) {
        struct timespec ts = {
                .tv_sec = (time_t) (deadline_ns / 1000000000ULL),
                .tv_nsec = (long) (deadline_ns % 1000000000ULL),
        };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

struct led_reader {
        int fd;
        FILE *log;
};

/* The uinput fd returns what the kernel sends to the device: EV_LED when
 * someone writes an LED class device's brightness.  A thread, so a hold
 * in progress never delays the record of what the LED did meanwhile. */
static void *read_leds(void *p) {
        struct led_reader *lr = p;
        struct pollfd pfd = { .fd = lr->fd, .events = POLLIN };
        for (;;) {
                struct input_event ev;
                if (poll(&pfd, 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                ssize_t n = read(lr->fd, &ev, sizeof(ev));
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n != (ssize_t) sizeof(ev))
                        break;
                if (ev.type == EV_LED && lr->log) {
                        fprintf(lr->log, "%llu led %u %d\n",
                                (unsigned long long) now_ms(), ev.code, ev.value);
                        fflush(lr->log);
                }
        }
        return NULL;
}

static int create_device(const char *name, int code, bool leds) {
        int fd = open("/dev/uinput", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                die("/dev/uinput");
        if (leds) {
                if (ioctl(fd, UI_SET_EVBIT, EV_LED) < 0)
                        die("UI_SET_EVBIT");
                for (size_t i = 0; i < sizeof(leds_codes) / sizeof(leds_codes[0]); i++)
                        if (ioctl(fd, UI_SET_LEDBIT, leds_codes[i]) < 0)
                                die("UI_SET_LEDBIT");
        } else if (ioctl(fd, UI_SET_EVBIT, EV_KEY) < 0 || ioctl(fd, UI_SET_KEYBIT, code) < 0)
                die("UI_SET_KEYBIT");
        struct uinput_setup us = { .id = { .bustype = BUS_HOST, .vendor = 0x1d6b,
                                           .product = leds ? 0x0105 : 0x0104, .version = 1 } };
        snprintf(us.name, sizeof(us.name), "%s", name);
        if (ioctl(fd, UI_DEV_SETUP, &us) < 0 || ioctl(fd, UI_DEV_CREATE) < 0)
                die("UI_DEV_CREATE");
        return fd;
}

static int find_event_node(int fd, char *sysname, size_t sz, char *node, size_t nsz) {
        if (ioctl(fd, UI_GET_SYSNAME(sz), sysname) < 0)
                return -errno;
        /* /sys/class/input/inputN/eventM: the node devtmpfs makes for it. */
        for (int tries = 0; tries < 500; tries++) {
                for (int m = 0; m < 64; m++) {
                        char p[128];
                        snprintf(p, sizeof(p), "/sys/class/input/%s/event%d", sysname, m);
                        if (access(p, F_OK) == 0) {
                                snprintf(node, nsz, "/dev/input/event%d", m);
                                if (access(node, R_OK) == 0)
                                        return 0;
                        }
                }
                usleep(10000);
        }
        return -ENOENT;
}

int main(int argc, char **argv) {
        const char *name = "resetkit-vm-button", *led_log = NULL;
        int code = KEY_RESTART;
        bool down = false;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
                        name = argv[++i];
                else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
                        code = atoi(argv[++i]);
                else if (strcmp(argv[i], "--led-log") == 0 && i + 1 < argc)
                        led_log = argv[++i];
                else if (strcmp(argv[i], "--down") == 0)
                        down = true;
                else {
                        fprintf(stderr, "usage: vm-uinput [--name NAME] [--key CODE] "
                                        "[--led-log FILE] [--down]\n");
                        return 2;
                }
        }

        /* Two devices, as on the hardware (gpio-keys and the LEDs are
         * separate): the button with EV_KEY only, the LEDs with EV_LED only.
         * One device with both would skew the key's timestamps: input-leds
         * injects EV_LED without a SYN_REPORT, so the kernel stamps the
         * next key event with the time of the LED change. */
        int fd = create_device(name, code, false);
        char ledname[UINPUT_MAX_NAME_SIZE];
        snprintf(ledname, sizeof(ledname), "%s-leds", name);
        int lfd = create_device(ledname, 0, true);

        char sysname[64], node[64], ledsys[64], lnode[64];
        if (find_event_node(fd, sysname, sizeof(sysname), node, sizeof(node)) < 0 ||
            find_event_node(lfd, ledsys, sizeof(ledsys), lnode, sizeof(lnode)) < 0)
                die("no /dev/input/event node appeared");
        if (down && key(fd, code, 1) < 0)
                die("initial press");

        struct led_reader lr = { .fd = lfd };
        if (led_log) {
                lr.log = fopen(led_log, "ae");
                if (!lr.log)
                        die(led_log);
        }
        pthread_t th;
        if (pthread_create(&th, NULL, read_leds, &lr) != 0)
                die("pthread_create");

        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("%llu ready %s %s %s\n", (unsigned long long) now_ms(), node, sysname, ledsys);

        char line[256];
        while (fgets(line, sizeof(line), stdin)) {
                char cmd[32] = "", arg[200] = "";
                unsigned long n = 0;
                int r = 0;
                line[strcspn(line, "\n")] = 0;
                if (sscanf(line, "%31s %199[^\n]", cmd, arg) < 1)
                        continue;
                if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
                        r = key(fd, code, cmd[0] == 'd');
                        printf("%llu %s\n", (unsigned long long) now_ms(), cmd);
                } else if (strcmp(cmd, "sleep") == 0 && sscanf(arg, "%lu", &n) == 1) {
                        sleep_until(now_ns() + n * 1000000ULL);
                } else if (strcmp(cmd, "hold") == 0 && sscanf(arg, "%lu", &n) == 1) {
                        uint64_t t0 = now_ns();
                        r = key(fd, code, 1);
                        sleep_until(t0 + n * 1000000ULL);
                        if (r == 0)
                                r = key(fd, code, 0);
                        printf("%llu held %lu ms (%.1f ms measured) down-at %llu\n",
                               (unsigned long long) now_ms(), n, (now_ns() - t0) / 1e6,
                               (unsigned long long) (t0 / 1000000ULL));
                } else if (strcmp(cmd, "flood") == 0) {
                        char fin[8] = "";
                        if (sscanf(arg, "%lu %7s", &n, fin) != 2 ||
                            (strcmp(fin, "down") != 0 && strcmp(fin, "up") != 0)) {
                                fprintf(stderr, "vm-uinput: flood N down|up\n");
                                return 2;
                        }
                        r = flood(fd, code, (unsigned) n, fin[0] == 'd');
                        printf("%llu flooded %lu then %s\n", (unsigned long long) now_ms(), n, fin);
                } else if (strcmp(cmd, "echo") == 0) {
                        printf("%llu %s\n", (unsigned long long) now_ms(), arg);
                } else {
                        fprintf(stderr, "vm-uinput: unknown command '%s'\n", line);
                        return 2;
                }
                if (r < 0) {
                        errno = -r;
                        die(cmd);
                }
        }
        ioctl(fd, UI_DEV_DESTROY);
        ioctl(lfd, UI_DEV_DESTROY);
        return 0;
}
