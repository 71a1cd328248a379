/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "held.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "util.h"

#define DELETED_SUFFIX " (deleted)"

static bool is_pid(const char *s) {
        return *s && strspn(s, "0123456789") == strlen(s);
}

static void read_comm(int pid_fd, char comm[static 17]) {
        comm[0] = 0;
        _cleanup_close_ int fd = openat(pid_fd, "comm", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, comm, 16);
        comm[n > 0 ? n : 0] = 0;
        comm[strcspn(comm, "\n")] = 0;
}

static int add(struct rk_held_list *l, pid_t pid, int fd, const char *comm, const char *path, uint64_t size) {
        struct rk_held_file *v = realloc(l->files, (l->n + 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        l->files = v;
        struct rk_held_file *h = &v[l->n];
        *h = (struct rk_held_file) { .pid = pid, .fd = fd, .size = size };
        memcpy(h->comm, comm, sizeof h->comm);
        if (!(h->path = strdup(path)))
                return -ENOMEM;
        size_t pl = strlen(h->path), sl = strlen(DELETED_SUFFIX);
        if (pl > sl && strcmp(h->path + pl - sl, DELETED_SUFFIX) == 0)
                h->path[pl - sl] = 0;
        l->n++;
        return 0;
}

/* The fds of one process. */
static int scan_pid(int pid_fd, pid_t pid, dev_t dev, struct rk_held_list *l) {
        _cleanup_close_ int fd_dir = openat(pid_fd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd_dir < 0) {
                if (errno == EACCES || errno == EPERM)
                        l->unreadable++;
                return 0;       /* gone meanwhile, a kernel thread, or not ours to see */
        }
        DIR *d;
        int r = rk_opendir_at(fd_dir, &d);
        if (r < 0)
                return 0;
        char comm[17] = "";
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!is_pid(de->d_name))
                        continue;
                /* stat follows the magic link to the open file itself,
                 * whatever its name is now, or whether it has one */
                struct stat st;
                if (fstatat(fd_dir, de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
                    st.st_dev != dev || st.st_nlink != 0)
                        continue;
                char target[PATH_MAX];
                ssize_t n = readlinkat(fd_dir, de->d_name, target, sizeof target - 1);
                target[n > 0 ? n : 0] = 0;
                if (!comm[0])
                        read_comm(pid_fd, comm);
                r = add(l, pid, atoi(de->d_name), comm, target, (uint64_t) st.st_size);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int rk_held_scan(int proc_fd, dev_t dev, struct rk_held_list *ret) {
        struct rk_held_list l = {};
        DIR *d;
        int r = rk_opendir_at(proc_fd, &d);
        if (r < 0)
                return r;
        pid_t self = getpid();
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                if (!is_pid(de->d_name) || atoi(de->d_name) == self)
                        continue;
                _cleanup_close_ int pid_fd = openat(proc_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pid_fd >= 0)
                        r = scan_pid(pid_fd, atoi(de->d_name), dev, &l);
        }
        closedir(d);
        if (r < 0) {
                rk_held_list_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

void rk_held_list_done(struct rk_held_list *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->files[i].path);
        free(l->files);
        *l = (struct rk_held_list) {};
}
