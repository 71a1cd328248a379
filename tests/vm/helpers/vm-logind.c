/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm-logind [--reject|--hang] LOG — a stand-in for systemd-logind's inhibitor
 * interface on the system bus, for the guest, which runs no systemd.
 *
 * Owns org.freedesktop.login1 and exports /org/freedesktop/login1 with
 * org.freedesktop.login1.Manager.Inhibit(ssss) -> h, checked the way
 * logind 252 checks it (known "what" names, colon-separated; mode "block"
 * or "delay", delay only for shutdown and sleep: org.freedesktop.DBus.
 * Error.InvalidArgs otherwise).  Like logind, it hands the caller the write
 * end of a pipe and watches the read end: the hang-up when every copy of
 * the caller's end is closed (close(), exit, SIGKILL) is how logind learns
 * the lock is gone.
 *
 * --reject: every call is refused as logind refuses a caller polkit denies
 * (-EACCES: org.freedesktop.DBus.Error.AccessDenied "Permission denied").
 * --hang: every call is left unanswered (a logind stuck on polkit).
 *
 * Appends one line per event to LOG (written at once, so a scenario can
 * read it while this runs):
 *   call N pid PID 'WHAT' 'WHO' 'WHY' 'MODE'
 *   granted N pipe INODE          the caller's end is pipe:[INODE]
 *   rejected N NAME: MESSAGE
 *   hung N
 *   released N
 * Prints "ready" on stdout once the name is owned; SIGTERM ends it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

struct fake {
        int log_fd;
        bool reject;
        bool hang;
        unsigned calls;
};

struct lock {
        struct fake *f;
        unsigned n;
};

static void record(struct fake *f, const char *fmt, ...) {
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        int len = vsnprintf(line, sizeof line - 1, fmt, ap);
        va_end(ap);
        if (len < 0)
                return;
        if ((size_t) len > sizeof line - 2)
                len = (int) sizeof line - 2;
        line[len++] = '\n';
        /* one write(2) a line on an O_APPEND fd: never half a line */
        if (write(f->log_fd, line, (size_t) len) != len)
                fprintf(stderr, "vm-logind: cannot write the log: %s\n", strerror(errno));
}

/* logind 252's inhibit_what_from_string(): a colon-separated list of these */
static bool what_valid(const char *what, bool *shutdown_or_sleep_only) {
        static const char *const names[] = { "shutdown", "sleep", "idle", "handle-power-key",
                "handle-suspend-key", "handle-hibernate-key", "handle-lid-switch", "handle-reboot-key" };
        char buf[256];
        if (!*what || strlen(what) >= sizeof buf)
                return false;
        strcpy(buf, what);
        *shutdown_or_sleep_only = true;
        char *save = NULL;
        for (char *w = strtok_r(buf, ":", &save); w; w = strtok_r(NULL, ":", &save)) {
                size_t i;
                for (i = 0; i < sizeof names / sizeof names[0]; i++)
                        if (strcmp(w, names[i]) == 0)
                                break;
                if (i == sizeof names / sizeof names[0])
                        return false;
                if (i > 1)
                        *shutdown_or_sleep_only = false;
        }
        return true;
}

static int on_hangup(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct lock *l = userdata;
        (void) revents;
        record(l->f, "released %u", l->n);
        sd_event_source_unref(s);
        close(fd);
        free(l);
        return 0;
}

static int method_inhibit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct fake *f = userdata;
        const char *what, *who, *why, *mode;
        sd_bus_creds *creds = NULL;
        pid_t pid = 0;
        bool basic = false;
        int r;

        r = sd_bus_message_read(m, "ssss", &what, &who, &why, &mode);
        if (r < 0)
                return r;
        unsigned n = ++f->calls;
        /* logind asks the bus who called: the pid it records and shows */
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_PID, &creds);
        if (r >= 0) {
                (void) sd_bus_creds_get_pid(creds, &pid);
                sd_bus_creds_unref(creds);
        }
        record(f, "call %u pid %d '%s' '%s' '%s' '%s'", n, (int) pid, what, who, why, mode);

        if (!what_valid(what, &basic))
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid what specification %s", what);
        else if (strcmp(mode, "block") != 0 && strcmp(mode, "delay") != 0)
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid mode specification %s", mode);
        else if (strcmp(mode, "delay") == 0 && !basic)
                r = sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                     "Delay inhibitors only supported for shutdown and sleep");
        else if (f->reject)
                r = sd_bus_error_set_errno(error, EACCES);
        else if (f->hang) {
                /* a logind stuck (on polkit, say): the call is never
                 * answered; keeping the message keeps sd-bus quiet too */
                record(f, "hung %u", n);
                sd_bus_message_ref(m);
                return 1;
        }
        else
                r = 0;
        if (r < 0) {
                record(f, "rejected %u %s: %s", n, error->name, error->message);
                return r;
        }

        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        struct stat st;
        struct lock *l = malloc(sizeof *l);
        if (!l || fstat(p[1], &st) < 0) {
                free(l);
                close(p[0]);
                close(p[1]);
                return -ENOMEM;
        }
        *l = (struct lock) { .f = f, .n = n };
        /* the read end hangs up once the last copy of the write end is
         * closed; nobody writes to it */
        r = sd_event_add_io(sd_bus_get_event(sd_bus_message_get_bus(m)), NULL, p[0], EPOLLHUP, on_hangup, l);
        if (r < 0) {
                free(l);
                close(p[0]);
                close(p[1]);
                return r;
        }
        r = sd_bus_reply_method_return(m, "h", p[1]);  /* sd-bus sends a dup */
        close(p[1]);
        if (r >= 0)
                record(f, "granted %u pipe %lu", n, (unsigned long) st.st_ino);
        return r;
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("Inhibit", "ssss", SD_BUS_PARAM(what) SD_BUS_PARAM(who) SD_BUS_PARAM(why)
                                 SD_BUS_PARAM(mode), "h", SD_BUS_PARAM(pipe_fd), method_inhibit,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int die(const char *what, int r) {
        fprintf(stderr, "vm-logind: %s: %s\n", what, strerror(-r));
        return 1;
}

int main(int argc, char **argv) {
        struct fake f = { .log_fd = -1 };
        sd_event *e = NULL;
        sd_bus *bus = NULL;
        sigset_t ss;
        int r;

        if (argc == 3 && strcmp(argv[1], "--reject") == 0) {
                f.reject = true;
                argv++;
        } else if (argc == 3 && strcmp(argv[1], "--hang") == 0) {
                f.hang = true;
                argv++;
        } else if (argc != 2) {
                fprintf(stderr, "usage: vm-logind [--reject|--hang] LOG\n");
                return 2;
        }
        f.log_fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (f.log_fd < 0)
                return die(argv[1], -errno);

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if ((r = sd_event_default(&e)) < 0)
                return die("sd_event_default", r);
        if ((r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL)) < 0)
                return die("sd_event_add_signal", r);
        if ((r = sd_bus_open_system(&bus)) < 0)
                return die("cannot connect to the system bus", r);
        if ((r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                                          manager_vtable, &f)) < 0)
                return die("sd_bus_add_object_vtable", r);
        if ((r = sd_bus_request_name(bus, "org.freedesktop.login1", 0)) < 0)
                return die("cannot own org.freedesktop.login1", r);
        if ((r = sd_bus_attach_event(bus, e, 0)) < 0)
                return die("sd_bus_attach_event", r);
        printf("ready %s\n", f.reject ? "reject" : f.hang ? "hang" : "grant");
        fflush(stdout);
        r = sd_event_loop(e);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(e);
        return r < 0 ? die("sd_event_loop", r) : 0;
}
