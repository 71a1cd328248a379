/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <inttypes.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "fault.h"


int rk_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = resolve,
        };
        int fd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

int rk_write_all(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int rk_read_fd(int fd, size_t max, char **ret, size_t *ret_len) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        size_t cap = (size_t) st.st_size + 1, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap > max) {
                                /* max bytes read: within the limit only if
                                 * this is the end of the file */
                                char probe;
                                ssize_t p = read(fd, &probe, 1);
                                if (p < 0 && errno == EINTR)
                                        continue;
                                if (p < 0)
                                        return -errno;
                                if (p == 0)
                                        break;
                                return -EFBIG;
                        }
                        /* the file grew while we read it */
                        size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        char *nb = realloc(buf, ncap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = ncap;
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret = RK_TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int rk_read_at(int dirfd, const char *path, uint64_t resolve, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = rk_openat2(dirfd, path, O_RDONLY | O_NOCTTY, 0, resolve);
        if (fd < 0)
                return fd;
        return rk_read_fd(fd, max, ret, ret_len);
}

int rk_fsync_dir(int dirfd) {
        int r = RK_FAIL("fsutil:fsync-dir");
        if (r < 0)
                return r;
        return fsync(dirfd) < 0 ? -errno : 0;
}

static int open_temp(int dirfd, const char *name, char **ret_tmp) {
        /* Visible name, not O_TMPFILE + linkat: linkat cannot replace an
         * existing name, and a rename is what makes the switch atomic.  The
         * prefix lets rk_remove_stale_temps() find leftovers of a crash. */
        int r = RK_FAIL("fsutil:open-temp");
        if (r < 0)
                return r;
        for (int tries = 0; tries < 100; tries++) {
                char *tmp;
                if (asprintf(&tmp, RK_TEMP_PREFIX "%s.%016" PRIx64, name, rk_random_u64()) < 0)
                        return -ENOMEM;
                /* 0600 until finish_atomic() sets what the caller asked for:
                 * a temporary of shadow must never be readable by others */
                int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0) {
                        *ret_tmp = tmp;
                        return fd;
                }
                int e = errno;
                free(tmp);
                if (e != EEXIST)
                        return -e;
        }
        return -EEXIST;
}

static int finish_atomic(int dirfd, int fd, const char *tmp, const char *name, const struct rk_atomic_attrs *a) {
        int r = RK_FAIL("fsutil:attrs");
        if (r < 0)
                return r;
        /* chown before chmod: chown clears set-id bits */
        if (a->chown && fchown(fd, a->uid, a->gid) < 0)
                return -errno;
        /* umask must not weaken or strengthen what the caller asked for */
        if (fchmod(fd, a->mode) < 0)
                return -errno;
        if (a->xattr_name && a->xattr_len > 0 &&
            fsetxattr(fd, a->xattr_name, a->xattr_value, a->xattr_len, 0) < 0 && errno != EOPNOTSUPP)
                return -errno;
        RK_FAULT("atomic:written");
        if ((r = RK_FAIL("fsutil:fsync")) < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        RK_FAULT("atomic:synced");
        if ((r = RK_FAIL("fsutil:rename")) < 0)
                return r;
        if (renameat(dirfd, tmp, dirfd, name) < 0)
                return -errno;
        RK_FAULT("atomic:renamed");
        return rk_fsync_dir(dirfd);
}

int rk_write_atomic_attrs_at(int dirfd, const char *name, const void *data, size_t len,
                             const struct rk_atomic_attrs *a) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = open_temp(dirfd, name, &tmp);
        if (fd < 0)
                return fd;
        int r = RK_FAIL("fsutil:write");
        if (r >= 0)
                r = rk_write_all(fd, data, len);
        if (r >= 0) {
                RK_FAULT("atomic:partial");
                r = finish_atomic(dirfd, fd, tmp, name, a);
        }
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int rk_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode) {
        return rk_write_atomic_attrs_at(dirfd, name, data, len, &(struct rk_atomic_attrs) { .mode = mode });
}

int rk_copy_atomic_at(int dirfd, const char *name, int src_fd, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = open_temp(dirfd, name, &tmp);
        if (fd < 0)
                return fd;
        int r = RK_FAIL("fsutil:write");
        char buf[65536];
        while (r >= 0) {
                ssize_t n = read(src_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                r = rk_write_all(fd, buf, (size_t) n);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = finish_atomic(dirfd, fd, tmp, name, &(struct rk_atomic_attrs) { .mode = mode });
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int rk_append_copy_at(int dirfd, const char *name, int src_fd, mode_t mode) {
        struct stat st;
        bool created = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
        int r = RK_FAIL("fsutil:append");
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
                                        mode);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        char buf[65536];
        for (;;) {
                ssize_t n = read(src_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                r = rk_write_all(fd, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        if ((r = RK_FAIL("fsutil:fsync")) < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        return created ? rk_fsync_dir(dirfd) : 0;
}

/* A directory that mkdir(2) created exists on stable storage only once its
 * parent's entry does: fsync the parent of each one created, so that the
 * first file written into a fresh directory (the journal in a new
 * /var/lib/resetkit) is not lost with its directory in a power cut. */
static int mkdir_durable(int parent_fd, const char *name, mode_t mode) {
        int r = RK_FAIL("fsutil:mkdir");
        if (r < 0)
                return r;
        if (mkdirat(parent_fd, name, mode) < 0)
                return errno == EEXIST ? 0 : -errno;
        return rk_fsync_dir(parent_fd);
}

int rk_mkdir_p_at(int dirfd, const char *relpath, mode_t mode) {
        _cleanup_free_ char *copy = strdup(relpath);
        if (!copy)
                return -ENOMEM;
        _cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0)
                        return -EINVAL;
                int r = mkdir_durable(cur, c, mode);
                if (r < 0)
                        return r;
                int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return errno == ELOOP ? -ELOOP : -errno;
                close(cur);
                cur = next;
        }
        return RK_TAKE_FD(cur);
}

int rk_opendir_at(int dirfd, DIR **ret) {
        int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        /* a dup shares the offset: start from the top whatever came before */
        (void) lseek(fd, 0, SEEK_SET);
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

int rk_remove_prefixed(int dirfd, const char *prefix) {
        DIR *d;
        int n = rk_opendir_at(dirfd, &d);
        if (n < 0)
                return n;
        struct dirent *de;
        while ((de = readdir(d)))
                if (rk_startswith(de->d_name, prefix) && unlinkat(dirfd, de->d_name, 0) == 0)
                        n++;
        closedir(d);
        if (n > 0)
                (void) rk_fsync_dir(dirfd);
        return n;
}

int rk_remove_stale_temps(int dirfd) {
        return rk_remove_prefixed(dirfd, RK_TEMP_PREFIX);
}

int rk_open_parent_resolve(int dirfd, const char *path, uint64_t resolve, const char **ret_name) {
        const char *slash = strrchr(path, '/');
        *ret_name = slash ? slash + 1 : path;
        if (!slash) {
                int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? -errno : fd;
        }
        _cleanup_free_ char *dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        return rk_openat2(dirfd, dir, O_RDONLY | O_DIRECTORY, 0, resolve);
}

int rk_open_parent_at(int dirfd, const char *path, mode_t mode, const char **ret_name) {
        const char *slash = strrchr(path, '/');
        if (!slash || !mode)
                return rk_open_parent_resolve(dirfd, path, RK_RESOLVE_STRICT, ret_name);
        *ret_name = slash + 1;
        _cleanup_free_ char *dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        return rk_mkdir_p_at(dirfd, dir, mode);
}

char *rk_sysfs_block_dir(dev_t dev) {
        char link[64];
        snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(dev), minor(dev));
        return realpath(link, NULL);
}

int rk_sysfs_loops_of(int sysfs_fd, dev_t dev, ino_t ino, char ***ret) {
        _cleanup_close_ int bfd = openat(sysfs_fd, "block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = bfd >= 0 ? fdopendir(bfd) : NULL;
        if (!d)
                return 0;       /* no sysfs (a container): no loop device either */
        bfd = -1;
        struct dirent *de;
        int r = 0;
        while (r >= 0 && (de = readdir(d))) {
                if (!rk_startswith(de->d_name, "loop"))
                        continue;
                char rel[300];
                snprintf(rel, sizeof rel, "block/%s/loop/backing_file", de->d_name);
                _cleanup_free_ char *text = NULL;
                /* max 4096: sysfs gives every attribute that size */
                if (rk_read_at(sysfs_fd, rel, 0, 4096, &text, NULL) < 0)
                        continue;
                text[strcspn(text, "\n")] = 0;
                struct stat st;
                if (stat(text, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
                        r = rk_strv_push(ret, de->d_name);
        }
        closedir(d);
        return r;
}
