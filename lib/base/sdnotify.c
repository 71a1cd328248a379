/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sdnotify.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "rk-build-config.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-bus.h>
#endif

bool rk_notify_available(void) {
        const char *e = getenv("NOTIFY_SOCKET");
        return e && (e[0] == '/' || e[0] == '@');
}

int rk_notify(const char *state) {
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len;

        if (!path || !*path)
                return 0;
        if (path[0] != '/' && path[0] != '@')
                return -EAFNOSUPPORT;   /* vsock:... is for VMs, not us */
        len = strlen(path);
        if (len >= sizeof sa.sun_path)
                return -EINVAL;
        memcpy(sa.sun_path, path, len);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = 0;     /* abstract namespace */
        socklen_t salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* systemd learns our pid from SCM_CREDENTIALS the kernel adds */
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa, salen) < 0)
                return -errno;
        return 0;
}

uint64_t rk_watchdog_usec(void) {
        const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
        uint64_t usec, pid;
        if (!u || rk_parse_uint64(u, &usec) < 0 || usec == 0)
                return 0;
        if (p && (rk_parse_uint64(p, &pid) < 0 || pid != (uint64_t) getpid()))
                return 0;       /* meant for another process (our parent) */
        return usec;
}

int rk_logind_inhibit(const char *what, const char *who, const char *why, char *err, size_t errlen) {
#if HAVE_LIBSYSTEMD
        int (*open_system)(sd_bus **);
        int (*call_method)(sd_bus *, const char *, const char *, const char *, const char *, sd_bus_error *,
                           sd_bus_message **, const char *, ...);
        int (*msg_read)(sd_bus_message *, const char *, ...);
        void (*error_free)(sd_bus_error *);
        sd_bus_message *(*msg_unref)(sd_bus_message *);
        sd_bus *(*close_unref)(sd_bus *);
        int (*set_timeout)(sd_bus *, uint64_t);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        int r, fd = -1;

        void *dl = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
                snprintf(err, errlen, "cannot load libsystemd.so.0: %s", dlerror());
                return -EOPNOTSUPP;
        }
        *(void **) &open_system = dlsym(dl, "sd_bus_open_system");
        *(void **) &call_method = dlsym(dl, "sd_bus_call_method");
        *(void **) &msg_read = dlsym(dl, "sd_bus_message_read");
        *(void **) &error_free = dlsym(dl, "sd_bus_error_free");
        *(void **) &msg_unref = dlsym(dl, "sd_bus_message_unref");
        *(void **) &close_unref = dlsym(dl, "sd_bus_flush_close_unref");
        *(void **) &set_timeout = dlsym(dl, "sd_bus_set_method_call_timeout");   /* since 240 */
        if (!open_system || !call_method || !msg_read || !error_free || !msg_unref || !close_unref) {
                snprintf(err, errlen, "libsystemd.so.0 lacks the sd-bus calls");
                dlclose(dl);
                return -EOPNOTSUPP;
        }
        r = open_system(&bus);
        if (r < 0) {
                snprintf(err, errlen, "cannot connect to the system bus: %s", strerror(-r));
                goto out;
        }
        /* a logind that owns its name but does not answer must not keep
         * resetd from serving the button for sd-bus's default 25 s */
        if (set_timeout)
                (void) set_timeout(bus, RK_LOGIND_TIMEOUT_USEC);
        r = call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                        "org.freedesktop.login1.Manager", "Inhibit", &error, &reply, "ssss", what, who, why, "block");
        if (r < 0) {
                /* the error's name tells a field engineer more than its
                 * text: AccessDenied is polkit, ServiceUnknown no logind */
                if (error.name)
                        snprintf(err, errlen, "Inhibit(%s): %s (%s)", what,
                                 error.message ? error.message : strerror(-r), error.name);
                else
                        snprintf(err, errlen, "Inhibit(%s): %s", what, strerror(-r));
                goto out;
        }
        r = msg_read(reply, "h", &fd);
        if (r < 0) {
                snprintf(err, errlen, "Inhibit(%s): bad reply: %s", what, strerror(-r));
                goto out;
        }
        /* the fd belongs to the reply message: keep our own copy */
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
                r = -errno;
                snprintf(err, errlen, "Inhibit(%s): cannot keep the lock fd: %s", what, strerror(-r));
        } else
                r = fd;
out:
        error_free(&error);
        msg_unref(reply);
        close_unref(bus);
        /* unload libsystemd and what it pulled in: idle resetd stays small */
        dlclose(dl);
        return r;
#else
        snprintf(err, errlen, "built without libsystemd");
        return -EOPNOTSUPP;
#endif
}
