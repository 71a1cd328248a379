/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "slots.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fsutil.h"
#include "glob.h"
#include "grubenv.h"
#include "util.h"

#define SLOT_NAME(i) ((i) == 0 ? 'a' : 'b')

void rk_slots_done(struct rk_slots *s) {
        for (int i = 0; i < 2; i++) {
                free(s->slot[i].config);
                free(s->slot[i].resolved);
        }
        *s = (struct rk_slots) { .active = -1, .target = -1 };
}

/* ---- sysfs: what a block device is made of ---- */

static int read_dev_file(const char *path, dev_t *ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        unsigned ma, mi;
        if (!f)
                return -errno;
        if (fscanf(f, "%u:%u", &ma, &mi) != 2)
                return -EINVAL;
        *ret = makedev(ma, mi);
        return 0;
}

/* The whole disk a partition belongs to; dev itself when it is none. */
static dev_t whole_disk(dev_t dev) {
        _cleanup_free_ char *dir = rk_sysfs_block_dir(dev);
        if (!dir)
                return dev;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/partition", dir);
        if (access(p, F_OK) < 0)
                return dev;
        dev_t whole;
        snprintf(p, sizeof p, "%s/../dev", dir);
        return read_dev_file(p, &whole) < 0 ? dev : whole;
}

static bool is_partition_of(dev_t part, dev_t whole) {
        return part != whole && whole_disk(part) == whole;
}

static bool have_dev(const struct rk_slots *s, dev_t d) {
        for (size_t i = 0; i < s->n_under_dev; i++)
                if (s->under_dev[i] == d)
                        return true;
        return false;
}

static void add_under(struct rk_slots *s, dev_t dev, unsigned depth) {
        if (depth > 8 || have_dev(s, dev) || s->n_under_dev >= RK_UNDER_ROOT_MAX)
                return;
        s->under_dev[s->n_under_dev++] = dev;
        dev_t whole = whole_disk(dev);
        if (whole != dev)
                add_under(s, whole, depth + 1);

        _cleanup_free_ char *dir = rk_sysfs_block_dir(dev);
        if (!dir)
                return;
        /* a loop device: the image file behind it is under the root too */
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/loop/backing_file", dir);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        char backing[PATH_MAX];
        if (f && fgets(backing, sizeof backing, f)) {
                backing[strcspn(backing, "\n")] = 0;
                struct stat st;
                if (stat(backing, &st) == 0 && s->n_under_file < RK_UNDER_ROOT_MAX) {
                        s->under_file[s->n_under_file].dev = st.st_dev;
                        s->under_file[s->n_under_file].ino = st.st_ino;
                        s->n_under_file++;
                }
        }
        /* dm-crypt, LVM, md: the devices below */
        snprintf(p, sizeof p, "%s/slaves", dir);
        _cleanup_close_ int sfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
                return;
        DIR *d = fdopendir(sfd);
        if (!d)
                return;
        sfd = -1;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char dp[PATH_MAX + 300];
                snprintf(dp, sizeof dp, "%s/slaves/%s/dev", dir, de->d_name);
                dev_t sub;
                if (read_dev_file(dp, &sub) == 0)
                        add_under(s, sub, depth + 1);
        }
        closedir(d);
}

void rk_slots_add_under(struct rk_slots *s, dev_t dev) {
        add_under(s, dev, 0);
}

bool rk_slots_is_under(const struct rk_slots *s, bool is_block, dev_t rdev, dev_t dev, ino_t ino) {
        if (is_block)
                return have_dev(s, rdev);
        for (size_t i = 0; i < s->n_under_file; i++)
                if (s->under_file[i].dev == dev && s->under_file[i].ino == ino)
                        return true;
        return false;
}

static bool slot_under_root(const struct rk_slots *s, const struct rk_slot *sl) {
        if (sl->error)
                return false;
        if (sl->is_block)
                return have_dev(s, sl->rdev);
        for (size_t i = 0; i < s->n_under_file; i++)
                if (s->under_file[i].dev == sl->dev && s->under_file[i].ino == sl->ino)
                        return true;
        return false;
}

static bool same_slot(const struct rk_slot *x, const struct rk_slot *y) {
        if (x->error || y->error || x->is_block != y->is_block)
                return false;
        return x->is_block ? x->rdev == y->rdev : (x->dev == y->dev && x->ino == y->ino);
}

static int resolve_one(struct rk_slot *sl, const char *config) {
        if (!config) {
                sl->error = -ENOENT;
                return 0;
        }
        sl->config = strdup(config);
        if (!sl->config)
                return -ENOMEM;
        sl->resolved = realpath(config, NULL);
        if (!sl->resolved) {
                sl->error = -errno;
                return sl->error == -ENOMEM ? -ENOMEM : 0;
        }
        struct stat st;
        if (stat(sl->resolved, &st) < 0) {
                sl->error = -errno;
                return 0;
        }
        if (S_ISBLK(st.st_mode)) {
                sl->is_block = true;
                sl->rdev = st.st_rdev;
                _cleanup_close_ int fd = open(sl->resolved, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                uint64_t size;
                if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size) == 0)
                        sl->size = size;
        } else if (S_ISREG(st.st_mode)) {
                sl->dev = st.st_dev;
                sl->ino = st.st_ino;
                sl->size = (uint64_t) st.st_size;
        } else
                sl->error = -ENOTBLK;
        return 0;
}

int rk_slots_resolve(const struct rk_config *cfg, int root_fd, struct rk_slots *s, char *err, size_t errlen) {
        *s = (struct rk_slots) { .active = -1, .target = -1 };
        for (int i = 0; i < 2; i++) {
                s->slot[i].name = SLOT_NAME(i);
                int r = resolve_one(&s->slot[i], cfg->slot[i].device);
                if (r < 0)
                        return r;
        }
        struct stat rst;
        if (fstat(root_fd, &rst) < 0) {
                snprintf(err, errlen, "cannot stat the root: %s", strerror(errno));
                return -errno;
        }
        s->root_dev = rst.st_dev;
        add_under(s, rst.st_dev, 0);
        for (int i = 0; i < 2; i++)
                s->slot[i].under_root = slot_under_root(s, &s->slot[i]);

        if (cfg->active == RK_SLOT_A)
                s->active = 0;
        else if (cfg->active == RK_SLOT_B)
                s->active = 1;
        else if (s->slot[0].under_root != s->slot[1].under_root) {
                s->active = s->slot[0].under_root ? 0 : 1;
                s->active_auto = true;
        }
        return 0;
}

static const char *slot_desc(const struct rk_slot *sl, char *buf, size_t len) {
        if (sl->resolved && sl->config && strcmp(sl->resolved, sl->config) != 0)
                snprintf(buf, len, "slot %c (%s -> %s)", sl->name, sl->config, sl->resolved);
        else
                snprintf(buf, len, "slot %c (%s)", sl->name, sl->config ? sl->config : "not set");
        return buf;
}

/* ---- in use? ---- */

int rk_mountinfo_find(const char *text, dev_t dev, bool (*is_part)(dev_t part, dev_t whole),
                      char *mountpoint, size_t len) {
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t ll = nl ? (size_t) (nl - line) : strlen(line);
                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ..." */
                unsigned id, parent, ma, mi;
                char root[PATH_MAX], mp[PATH_MAX];
                _cleanup_free_ char *copy = strndup(line, ll);
                if (!copy)
                        return -ENOMEM;
                if (ll > 0) {
                        if (sscanf(copy, "%u %u %u:%u %4095s %4095s", &id, &parent, &ma, &mi, root, mp) != 6)
                                return -EINVAL;
                        dev_t d = makedev(ma, mi);
                        if (d == dev || (is_part && is_part(d, dev))) {
                                snprintf(mountpoint, len, "%s", mp);
                                return 1;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

/* A loop device that has `sl` (an image file) as its backing file. */
static int image_attached(const struct rk_slot *sl, char *loopname, size_t len) {
        _cleanup_close_ int sysfs = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_strv_free_ char **loops = NULL;
        int r = sysfs < 0 ? 0 : rk_sysfs_loops_of(sysfs, sl->dev, sl->ino, &loops);
        if (r < 0 || !loops)
                return r;
        snprintf(loopname, len, "/dev/%s", loops[0]);
        return 1;
}

static int holders_count(dev_t dev) {
        _cleanup_free_ char *dir = rk_sysfs_block_dir(dev);
        if (!dir)
                return 0;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/holders", dir);
        DIR *d = opendir(p);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static int check_not_in_use(const struct rk_slot *sl, const char *desc, char *err, size_t errlen) {
        char where[PATH_MAX];
        if (!sl->is_block) {
                int r = image_attached(sl, where, sizeof where);
                if (r > 0) {
                        snprintf(err, errlen, "refused: %s is attached to %s (it may be mounted through it); nothing changed",
                                 desc, where);
                        return -EBUSY;
                }
                return 0;
        }
        /* procfs reports st_size 0: read it as a stream */
        _cleanup_free_ char *mi = NULL;
        size_t cap = 0;
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f || getdelim(&mi, &cap, 0, f) < 0) {
                snprintf(err, errlen, "refused: cannot read /proc/self/mountinfo to check %s; nothing changed", desc);
                return -EIO;
        }
        int r = rk_mountinfo_find(mi, sl->rdev, is_partition_of, where, sizeof where);
        if (r > 0) {
                snprintf(err, errlen, "refused: %s is mounted on %s; nothing changed", desc, where);
                return -EBUSY;
        }
        int h = holders_count(sl->rdev);
        if (h > 0) {
                snprintf(err, errlen, "refused: %s is held by %d other device%s (device-mapper, md, ...); nothing changed",
                         desc, h, h == 1 ? "" : "s");
                return -EBUSY;
        }
        /* The kernel's own answer, which also covers mounts in other
         * namespaces: an exclusive open fails with EBUSY on a mounted or
         * claimed device. */
        _cleanup_close_ int fd = open(sl->resolved, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                snprintf(err, errlen, "refused: %s cannot be opened exclusively: %s; nothing changed", desc,
                         r == -EBUSY ? "it is in use (mounted or claimed)" : strerror(-r));
                return r == -EBUSY ? -EBUSY : r;
        }
        return 0;
}

/* ---- boot files: manifest-style globs inside the root ---- */

typedef int (*boot_file_fn)(int dfd, const char *name, const char *relpath, void *userdata);

/* Call fn for every match of pattern, with the strictly opened directory
 * that holds it: the same glob rules as the factory-reset manifest (any
 * component, dot-files included, never through a symlink). */
static int for_each_boot_file(int root_fd, const char *pattern, boot_file_fn fn, void *userdata,
                              char *err, size_t errlen) {
        struct rk_glob g = {};
        int r = rk_glob_expand(root_fd, pattern, NULL, &g);
        if (r < 0) {
                snprintf(err, errlen, "boot-files %s: %s", pattern, strerror(-r));
                return r;
        }
        _cleanup_strv_free_ char **matches = RK_TAKE_PTR(g.matches);
        for (char **m = matches; m && *m && r >= 0; m++) {
                const char *name;
                _cleanup_close_ int dfd = rk_glob_open_parent(root_fd, *m, g.literal, &name);
                if (dfd == -ENOENT)
                        continue;
                if (dfd < 0) {
                        snprintf(err, errlen, "boot-files %s: cannot open the directory of %s: %s", pattern, *m,
                                 strerror(-dfd));
                        return dfd;
                }
                r = fn(dfd, name, *m, userdata);
        }
        return r;
}

struct overlap {
        char *const *other;     /* the active slot's patterns */
        const char *hit;
        char path[PATH_MAX];
};

static int check_overlap(int dfd, const char *name, const char *relpath, void *userdata) {
        struct overlap *o = userdata;
        for (char *const *p = o->other; p && *p; p++)
                if (fnmatch(rk_path_relative(*p), relpath[0] == '.' && relpath[1] == '/' ? relpath + 2 : relpath,
                            FNM_PATHNAME) == 0) {
                        o->hit = *p;
                        snprintf(o->path, sizeof o->path, "%s", relpath);
                        return -EEXIST;
                }
        return 0;
}

static int unlink_boot_file(int dfd, const char *name, const char *relpath, void *userdata) {
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (unlinkat(dfd, name, 0) < 0)
                return errno == ENOENT ? 0 : -errno;
        (void) rk_fsync_dir(dfd);
        (*(unsigned *) userdata)++;
        return 0;
}

static int check_boot_metadata(const struct rk_config *cfg, int root_fd, int target, int active,
                               const char *desc, char *err, size_t errlen) {
        char why[512] = "";
        const struct rk_slot_conf *t = &cfg->slot[target], *a = &cfg->slot[active];
        for (char *const *k = t->grubenv_keys; k && *k; k++)
                if (rk_strv_contains(a->grubenv_keys, *k)) {
                        snprintf(err, errlen, "refused: grubenv key '%s' is listed for both slots: removing it for %s would break the active slot's boot; nothing changed",
                                 *k, desc);
                        return -EINVAL;
                }
        if (t->grubenv_keys && t->grubenv_keys[0]) {
                if (!cfg->grubenv) {
                        snprintf(err, errlen, "refused: %c-grubenv-keys is set but [slots] grubenv is not; nothing changed",
                                 SLOT_NAME(target));
                        return -EINVAL;
                }
                _cleanup_free_ char *buf = NULL;
                size_t len;
                int r = rk_read_at(root_fd, rk_path_relative(cfg->grubenv), RK_RESOLVE_STRICT, RK_GRUBENV_SIZE * 4,
                                   &buf, &len);
                if (r < 0) {
                        snprintf(err, errlen, "refused: cannot read the GRUB environment block %s: %s; nothing changed",
                                 cfg->grubenv, strerror(-r));
                        return r;
                }
                struct rk_grubenv env = {};
                r = rk_grubenv_parse(buf, len, cfg->grubenv, &env, why, sizeof why);
                rk_grubenv_done(&env);
                if (r < 0) {
                        snprintf(err, errlen, "refused: %s; nothing changed", why);
                        return r;
                }
        }
        for (char *const *p = t->boot_files; p && *p; p++) {
                struct overlap o = { .other = a->boot_files };
                int r = for_each_boot_file(root_fd, *p, check_overlap, &o, why, sizeof why);
                if (r == -EEXIST) {
                        snprintf(err, errlen, "refused: %s matches %s of %s and also the active slot's boot-files '%s'; nothing changed",
                                 *p, o.path, desc, o.hit);
                        return -EINVAL;
                }
                if (r < 0) {
                        snprintf(err, errlen, "refused: %s; nothing changed", why);
                        return r;
                }
        }
        return 0;
}

int rk_slots_preflight(const struct rk_config *cfg, int root_fd, int want, struct rk_slots *s,
                       char *err, size_t errlen) {
        char d[PATH_MAX + 64], ad[PATH_MAX + 64];
        int r = rk_slots_resolve(cfg, root_fd, s, err, errlen);
        if (r < 0)
                return r;
        if (!cfg->slot[0].device || !cfg->slot[1].device) {
                snprintf(err, errlen, "refused: zero-partition needs both [slots] a and b; %s is not set; nothing changed",
                         !cfg->slot[0].device ? "a" : "b");
                return -EINVAL;
        }
        if (same_slot(&s->slot[0], &s->slot[1])) {
                /* before anything else: with both names on one device,
                 * zeroing "the other slot" destroys the one in use */
                int t = want >= 0 ? want : s->active >= 0 ? 1 - s->active : 1;
                slot_desc(&s->slot[t], d, sizeof d);
                slot_desc(&s->slot[1 - t], ad, sizeof ad);
                snprintf(err, errlen, "refused: %s is the same %s as %s%s; nothing changed", d,
                         s->slot[t].is_block ? "device" : "file",
                         s->active == 1 - t || s->slot[1 - t].under_root ? "the active " : "", ad);
                return -EPERM;
        }
        if (s->active < 0) {
                snprintf(err, errlen,
                         "refused: cannot tell the active slot: %s the root filesystem (device %u:%u); set [slots] active = a or b; nothing changed",
                         s->slot[0].under_root ? "both slots back" : "neither slot backs",
                         major(s->root_dev), minor(s->root_dev));
                return -EINVAL;
        }
        int inactive = 1 - s->active;
        int target = want < 0 ? inactive : want;
        struct rk_slot *t = &s->slot[target], *a = &s->slot[s->active];
        slot_desc(t, d, sizeof d);
        slot_desc(a, ad, sizeof ad);

        if (target == s->active) {
                snprintf(err, errlen, "refused: %s is the active slot%s; only the inactive slot is zeroed; nothing changed",
                         d, s->active_auto ? " (it backs the root filesystem)" : " ([slots] active)");
                return -EPERM;
        }
        if (t->error) {
                snprintf(err, errlen, "refused: %s: %s; nothing changed", d,
                         t->error == -ENOTBLK ? "neither a block device nor a regular file" : strerror(-t->error));
                return t->error;
        }
        if (same_slot(t, a)) {
                snprintf(err, errlen, "refused: %s is the same %s as the active %s; nothing changed",
                         d, t->is_block ? "device" : "file", ad);
                return -EPERM;
        }
        if (t->under_root) {
                snprintf(err, errlen, "refused: %s is the device under the root %s (device %u:%u); nothing changed",
                         d, s->slot[0].under_root && s->slot[1].under_root ? "" : "filesystem",
                         major(s->root_dev), minor(s->root_dev));
                return -EPERM;
        }
        r = check_not_in_use(t, d, err, errlen);
        if (r < 0)
                return r;
        r = check_boot_metadata(cfg, root_fd, target, s->active, d, err, errlen);
        if (r < 0)
                return r;
        s->target = target;
        return target;
}

int rk_slot_open_target(const struct rk_slots *s, char *err, size_t errlen) {
        if (s->target < 0)
                return -EINVAL;
        const struct rk_slot *t = &s->slot[s->target];
        char d[PATH_MAX + 64];
        slot_desc(t, d, sizeof d);
        int flags = O_RDWR | O_CLOEXEC | O_NOCTTY | (t->is_block ? O_EXCL : O_NOFOLLOW);
        _cleanup_close_ int fd = open(t->resolved, flags);
        if (fd < 0) {
                int r = -errno;
                snprintf(err, errlen, "refused: cannot open %s for zeroing: %s; nothing changed", d,
                         r == -EBUSY ? "it is in use (mounted or claimed)" : strerror(-r));
                return r;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        bool same = t->is_block ? (S_ISBLK(st.st_mode) && st.st_rdev == t->rdev)
                                : (S_ISREG(st.st_mode) && st.st_dev == t->dev && st.st_ino == t->ino);
        if (!same) {
                snprintf(err, errlen, "refused: %s changed since the preflight; nothing changed", d);
                return -ESTALE;
        }
        return RK_TAKE_FD(fd);
}

int rk_slot_remove_boot_metadata(const struct rk_config *cfg, int root_fd, int target,
                                 struct rk_boot_meta_result *res, char *err, size_t errlen) {
        *res = (struct rk_boot_meta_result) {};
        const struct rk_slot_conf *t = &cfg->slot[target];
        int r;
        /* grubenv first: it is what makes GRUB pick the slot */
        if (t->grubenv_keys && t->grubenv_keys[0] && cfg->grubenv) {
                r = rk_grubenv_remove_keys_at(root_fd, cfg->grubenv, t->grubenv_keys, &res->keys_removed,
                                              err, errlen);
                if (r < 0)
                        return r;
        }
        for (char *const *p = t->boot_files; p && *p; p++) {
                char why[512] = "";
                r = for_each_boot_file(root_fd, *p, unlink_boot_file, &res->files_removed, why, sizeof why);
                if (r < 0) {
                        snprintf(err, errlen, "removing boot files of slot %c (%s): %s",
                                 SLOT_NAME(target), *p, why[0] ? why : strerror(-r));
                        return r;
                }
        }
        return 0;
}
