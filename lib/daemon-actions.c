/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The actions behind the button: reboot, rescue, factory reset.  They run
 * in resetd's action child (see daemon.c), so they may block. */
#include <fcntl.h>
#include <limits.h>
#include <sys/reboot.h>
#include <sys/wait.h>

#include "daemon.h"

int rk_action_run_command(const struct rk_action_args *a, const char *command, char *const *argv,
                          char *why, size_t whylen) {
        const char *what = command ? command : argv[0];
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                snprintf(why, whylen, "cannot fork for '%s': %s", what, strerror(-r));
                return r;
        }
        if (pid == 0) {
                /* the command sees which tree it acts on */
                (void) setenv("RESETKIT_ROOT", a->ctx->root.path, 1);
                if (command)
                        execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                else
                        execvp(argv[0], argv);
                fprintf(stderr, "resetd: cannot run '%s': %m\n", what);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        int r = -errno;
                        snprintf(why, whylen, "waiting for '%s': %s", what, strerror(-r));
                        return r;
                }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFSIGNALED(status))
                snprintf(why, whylen, "'%s' was killed by signal %s", what, strsignal(WTERMSIG(status)));
        else
                snprintf(why, whylen, "'%s' exited with status %d", what, WEXITSTATUS(status));
        return -EIO;
}

static int action_reboot(const struct rk_action_args *a, char *why, size_t whylen) {
        const struct rk_config *cfg = &a->ctx->cfg;
        /* whatever is in the page cache reaches the disk before anything
         * that might cut the power */
        sync();
        if (cfg->reboot_command)
                return rk_action_run_command(a, cfg->reboot_command, NULL, why, whylen);
        if (!a->ctx->root.is_host) {
                /* --root names another tree: rebooting this machine would
                 * be acting outside it */
                snprintf(why, whylen, "no [actions] reboot-command and --root %s is not this system: not rebooting the host",
                         a->ctx->root.path);
                return -EPERM;
        }
        if (access("/run/systemd/system/", F_OK) == 0) {
                char *const argv[] = { (char *) "systemctl", (char *) "reboot", NULL };
                return rk_action_run_command(a, NULL, argv, why, whylen);
        }
        (void) reboot(RB_AUTOBOOT);
        int r = -errno;
        snprintf(why, whylen, "reboot(2): %s", strerror(-r));
        return r;
}

/* resetctl next to us: the build tree (src/resetd/../resetctl/resetctl) or
 * the same sbin directory; else whatever PATH finds. */
static void find_resetctl(char *buf, size_t len) {
        const char *env = getenv("RESETKIT_RESETCTL");
        char self[PATH_MAX - 64];
        ssize_t n;
        if (env && *env) {
                snprintf(buf, len, "%s", env);
                return;
        }
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                self[n] = 0;
                char *slash = strrchr(self, '/');
                if (slash) {
                        *slash = 0;
                        /* truncation only makes access() fail: fine */
                        if (snprintf(buf, len, "%s/../resetctl/resetctl", self) < (int) len &&
                            access(buf, X_OK) == 0)
                                return;
                        if (snprintf(buf, len, "%s/resetctl", self) < (int) len && access(buf, X_OK) == 0)
                                return;
                }
        }
        snprintf(buf, len, "resetctl");
}

/* Rescue and factory reset run `resetctl` in the action child: the same
 * library code (store, engine), the same root and configuration, exactly
 * "the same operation as resetctl rescue load" (SPEC §1).  Why not call the
 * library here: the store and the engine pull in libcrypto (SHA-256) and
 * json-c, which would keep 1.9 MB more resident in a daemon that idles for
 * the appliance's whole life (3.5 MB instead of 1.6 MB) to save one exec on
 * the rare press that needs them. */
static int run_resetctl(const struct rk_action_args *a, const char *const *verb, char *why, size_t whylen) {
        char exe[PATH_MAX + 32];
        const char *argv[16];
        size_t n = 0;
        find_resetctl(exe, sizeof exe);
        argv[n++] = exe;
        argv[n++] = "--root";
        argv[n++] = a->ctx->root.path;
        if (a->config_path) {
                argv[n++] = "--config";
                argv[n++] = a->config_path;
        }
        for (; *verb && n < RK_ELEMENTSOF(argv) - 1; verb++)
                argv[n++] = *verb;
        argv[n] = NULL;
        return rk_action_run_command(a, NULL, (char *const *) argv, why, whylen);
}

static int action_rescue(const struct rk_action_args *a, char *why, size_t whylen) {
        static const char *const verb[] = { "rescue", "load", NULL };
        return run_resetctl(a, verb, why, whylen);
}

static int action_factory_reset(const struct rk_action_args *a, char *why, size_t whylen) {
        static const char *const verb[] = { "factory-reset", "--yes", "--then", "reboot", NULL };
        return run_resetctl(a, verb, why, whylen);
}

const struct rk_action_ops rk_default_action_ops = {
        .reboot = action_reboot,
        .rescue = action_rescue,
        .factory_reset = action_factory_reset,
};
