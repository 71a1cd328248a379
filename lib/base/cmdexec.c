/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cmdexec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

#define RK_EXEC_LINE_MAX 1024

struct out_state {
        struct rk_log *log;
        const char *label;
        char line[RK_EXEC_LINE_MAX];
        size_t len;
};

static void out_flush(struct out_state *o) {
        if (o->len == 0)
                return;
        o->line[o->len] = 0;
        rk_info(o->log, "%s: %s", o->label, o->line);
        o->len = 0;
}

static void out_feed(struct out_state *o, const char *buf, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                        out_flush(o);
                        continue;
                }
                /* an overlong line is logged in pieces rather than dropped */
                if (o->len >= sizeof o->line - 1)
                        out_flush(o);
                o->line[o->len++] = buf[i];
        }
}

/* Read what is there; 1 on EOF, 0 when the pipe is (for now) empty. */
static int out_drain(struct out_state *o, int fd) {
        char buf[4096];
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                if (n == 0)
                        return 1;
                out_feed(o, buf, (size_t) n);
        }
}

static char *first_word(const char *cmdline) {
        size_t skip = strspn(cmdline, " \t");
        size_t len = strcspn(cmdline + skip, " \t\n;|&<>");
        const char *w = cmdline + skip;
        const char *slash = memrchr(w, '/', len);
        if (slash) {
                len -= (size_t) (slash + 1 - w);
                w = slash + 1;
        }
        return len > 0 ? strndup(w, len) : strdup("command");
}

static int spawn(const char *cmdline, char *const extra_argv[], int out_fd, pid_t *ret_pid) {
        size_t n_extra = rk_strv_length(extra_argv);
        _cleanup_free_ char **argv = calloc(n_extra + 5, sizeof(char *));
        _cleanup_free_ char *script = NULL;
        if (!argv || asprintf(&script, "%s \"$@\"", cmdline) < 0)
                return -ENOMEM;
        argv[0] = (char *) "/bin/sh";
        argv[1] = (char *) "-c";
        argv[2] = script;
        argv[3] = (char *) "sh";        /* $0 */
        for (size_t i = 0; i < n_extra; i++)
                argv[4 + i] = extra_argv[i];

        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;
        sigemptyset(&none);
        sigfillset(&all);
        if ((r = posix_spawn_file_actions_init(&fa)) != 0)
                return -r;
        if ((r = posix_spawnattr_init(&attr)) != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawn(ret_pid, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

static int reap(pid_t pid, int *ret_status) {
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(st))
                *ret_status = WEXITSTATUS(st);
        else if (WIFSIGNALED(st))
                *ret_status = 128 + WTERMSIG(st);
        else
                *ret_status = 255;
        return 0;
}

int rk_exec_command_timeout(const char *cmdline, char *const extra_argv[], struct rk_log *log,
                            uint64_t timeout_ms, int *ret_status) {
        if (rk_isempty(cmdline))
                return -EINVAL;
        _cleanup_free_ char *label = first_word(cmdline);
        if (!label)
                return -ENOMEM;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int rd = pipefd[0];
        pid_t pid;
        int r = spawn(cmdline, extra_argv, pipefd[1], &pid);
        close(pipefd[1]);
        if (r < 0)
                return r;
        (void) fcntl(rd, F_SETFL, O_NONBLOCK);

        /* Watch the process itself, not only the pipe: a daemon the command
         * started in the background may hold the pipe open for ever, and the
         * command's own exit is what counts. */
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        struct out_state o = { .log = log, .label = label };
        uint64_t deadline = timeout_ms ? rk_now_ms() + timeout_ms : 0;
        bool pipe_open = true, exited = false;
        int status = 0;

        while (!exited) {
                struct pollfd p[2];
                nfds_t n = 0;
                if (pipe_open)
                        p[n++] = (struct pollfd) { .fd = rd, .events = POLLIN };
                if (pidfd >= 0)
                        p[n++] = (struct pollfd) { .fd = pidfd, .events = POLLIN };
                if (n == 0)
                        break;  /* no pidfd and the pipe is closed: wait below */
                int wait_ms = -1;
                if (deadline) {
                        uint64_t now = rk_now_ms();
                        wait_ms = now >= deadline ? 0 : (int) (deadline - now);
                }
                int k = poll(p, n, wait_ms);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                if (k == 0) {
                        out_flush(&o);
                        rk_err(log, "%s: still running after %llu ms, killed", label,
                               (unsigned long long) timeout_ms);
                        (void) kill(pid, SIGKILL);
                        (void) reap(pid, &status);
                        return -ETIME;
                }
                for (nfds_t i = 0; i < n; i++) {
                        if (!p[i].revents)
                                continue;
                        if (p[i].fd == rd) {
                                int e = out_drain(&o, rd);
                                if (e != 0)
                                        pipe_open = false;
                        } else
                                exited = true;
                }
        }
        if (pipe_open)
                (void) out_drain(&o, rd);       /* what it wrote before exiting */
        out_flush(&o);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) reap(pid, &status);
                return r;
        }
        r = reap(pid, &status);
        if (r < 0)
                return r;
        if (ret_status)
                *ret_status = status;
        return 0;
}

int rk_exec_command(const char *cmdline, char *const extra_argv[], struct rk_log *log, int *ret_status) {
        return rk_exec_command_timeout(cmdline, extra_argv, log, 0, ret_status);
}
