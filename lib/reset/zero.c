/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "zero.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "extents.h"
#include "fault.h"
#include "fsutil.h"
#include "mount.h"
#include "util.h"

#define IO_BUF (8ULL << 20)             /* one write or read */
#define VERIFY_PLACES_MIN 1000
#define VERIFY_PLACE_MAX (1ULL << 20)   /* longest single sample read */

const char *rk_zero_method_name(enum rk_zero_method m) {
        switch (m) {
        case RK_ZERO_BLKZEROOUT: return "BLKZEROOUT";
        case RK_ZERO_DIRECT: return "O_DIRECT zero writes";
        case RK_ZERO_BUFFERED: return "buffered zero writes + fdatasync";
        case RK_ZERO_NVME_FORMAT: return "NVMe Format NVM (user data erase)";
        case RK_ZERO_NVME_CRYPTO: return "NVMe Format NVM (cryptographic erase)";
        case RK_ZERO_SECDISCARD: return "BLKSECDISCARD (secure erase)";
        default: return "none";
        }
}

/* ---- small helpers ---- */

static void *alloc_zero_buf(size_t len) {
        /* mmap: page aligned for O_DIRECT, and zero-filled by the kernel */
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        memset(p, 0, len);      /* fault the pages in: DIO pins them */
        return p;
}

static int set_direct(int fd, bool on) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
                return -errno;
        fl = on ? (fl | O_DIRECT) : (fl & ~O_DIRECT);
        return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

static bool is_direct(int fd) {
        int fl = fcntl(fd, F_GETFL);
        return fl >= 0 && (fl & O_DIRECT);
}

/* Offset of the first nonzero byte in buf, or len. */
static size_t first_nonzero(const uint8_t *buf, size_t len) {
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
                uint64_t w;
                memcpy(&w, buf + i, 8);
                if (w)
                        break;
        }
        for (; i < len; i++)
                if (buf[i])
                        return i;
        return len;
}

static uint64_t splitmix64(uint64_t *s) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

/* Every write, read, flush and ioctl of zeroing stands behind an RK_FAIL
 * point (fault.h), so a test can make exactly that operation fail with the
 * errno it chooses: RESETKIT_FAIL=zero:write:1+=EINVAL is a device that
 * refuses every write.  In a normal build the points are the constant 0. */
static ssize_t z_pwrite(int fd, const void *buf, size_t len, uint64_t off) {
        int f = RK_FAIL("zero:write");
        if (f < 0) {
                errno = -f;
                return -1;
        }
        return pwrite(fd, buf, len, (off_t) off);
}

static ssize_t z_pread(int fd, void *buf, size_t len, uint64_t off) {
        int f = RK_FAIL("zero:read");
        if (f < 0) {
                errno = -f;
                return -1;
        }
        return pread(fd, buf, len, (off_t) off);
}

static int z_fdatasync(int fd) {
        int f = RK_FAIL("zero:fsync");
        if (f < 0)
                return f;
        return fdatasync(fd) < 0 ? -errno : 0;
}

/* point: "zero:zeroout", "zero:fitrim" */
static int z_ioctl(int fd, unsigned long req, void *arg, const char *point) {
        int f = RK_FAIL(point);
        if (f < 0)
                return f;
        return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

/* The free-space step's ext4-only parts (the reserve, the device's
 * zeroing by FIEMAP's block numbers, the journal) ask this. */
static bool is_ext4(int fd) {
        struct statfs sfs;
        return fstatfs(fd, &sfs) == 0 && sfs.f_type == EXT4_SUPER_MAGIC;
}

/* ---- stable identity ---- */

#ifndef FS_IOC_GETFSUUID
struct fsuuid2 {
        __u8 len;
        __u8 uuid[16];
};
#define FS_IOC_GETFSUUID _IOR(0x15, 0, struct fsuuid2)
#endif

int rk_fs_identity(int fd, char *buf, size_t len) {
        struct fsuuid2 u = {};
        static const uint8_t nil[16] = {};
        /* a nil UUID (some images are made without one) identifies nothing */
        if (ioctl(fd, FS_IOC_GETFSUUID, &u) == 0 && u.len == 16 && memcmp(u.uuid, nil, 16) != 0) {
                const uint8_t *b = u.uuid;
                snprintf(buf, len, "uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                         b[14], b[15]);
                return 0;
        }
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        unsigned a = (unsigned) sfs.f_fsid.__val[0], b = (unsigned) sfs.f_fsid.__val[1];
        if (a == 0 && b == 0)
                return -EOPNOTSUPP;
        snprintf(buf, len, "fsid:%08x%08x", a, b);
        return 0;
}

/* One line of a sysfs file, blanks turned into '_' (an identity is one
 * token); false when missing or empty. */
static bool sysfs_token(const char *path, const char *key, char *buf, size_t len) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[256];
        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                char *v = line;
                if (key) {
                        if (!rk_startswith(line, key))
                                continue;
                        v = line + strlen(key);
                }
                v[strcspn(v, "\n")] = 0;
                if (!*v)
                        return false;
                for (char *c = v; *c; c++)
                        if ((unsigned char) *c <= ' ')
                                *c = '_';
                size_t vl = strlen(v) < len ? strlen(v) : len - 1;
                memcpy(buf, v, vl);
                buf[vl] = 0;
                return true;
        }
        return false;
}

static bool disk_stable_id(const char *dir, char *buf, size_t len) {
        static const char *const files[] = { "wwid", "device/wwid", "serial", "device/serial" };
        for (size_t i = 0; i < RK_ELEMENTSOF(files); i++) {
                char p[PATH_MAX], v[200];
                snprintf(p, sizeof p, "%s/%s", dir, files[i]);
                if (sysfs_token(p, NULL, v, sizeof v)) {
                        snprintf(buf, len, "%s:%s", i < 2 ? "wwid" : "serial", v);
                        return true;
                }
        }
        return false;
}

static bool block_stable_id(int fd, dev_t rdev, char *buf, size_t len) {
        char v[200], p[PATH_MAX + 32];
        _cleanup_free_ char *dir = rk_sysfs_block_dir(rdev);
        if (!dir)
                return false;
        snprintf(p, sizeof p, "%s/dm/uuid", dir);
        if (sysfs_token(p, NULL, v, sizeof v)) {
                snprintf(buf, len, "dm-uuid:%s", v);
                return true;
        }
        snprintf(p, sizeof p, "%s/uevent", dir);
        if (sysfs_token(p, "PARTUUID=", v, sizeof v)) {
                snprintf(buf, len, "partuuid:%s", v);
                return true;
        }
        struct loop_info64 li;
        if (ioctl(fd, LOOP_GET_STATUS64, &li) == 0) {
                /* the backing file by its filesystem's number and inode,
                 * as the kernel reports them (no fd on the file to ask for
                 * its UUID) */
                snprintf(buf, len, "loop-file:%u:%u:%llu@%llu", major((dev_t) li.lo_device),
                         minor((dev_t) li.lo_device), (unsigned long long) li.lo_inode,
                         (unsigned long long) li.lo_offset);
                return true;
        }
        snprintf(p, sizeof p, "%s/partition", dir);
        if (access(p, F_OK) == 0) {
                char start[32];
                snprintf(p, sizeof p, "%s/start", dir);
                if (!sysfs_token(p, NULL, start, sizeof start))
                        return false;
                snprintf(p, sizeof p, "%s/..", dir);
                if (!disk_stable_id(p, v, sizeof v))
                        return false;
                snprintf(buf, len, "%s@%s", v, start);
                return true;
        }
        return disk_stable_id(dir, buf, len);
}

int rk_zero_target_id(int fd, char *buf, size_t len) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                char fs[80];
                if (rk_fs_identity(fd, fs, sizeof fs) < 0)
                        snprintf(fs, sizeof fs, "none");
                snprintf(buf, len, "file fs=%s dev=%u:%u ino=%llu size=%llu", fs, major(st.st_dev),
                         minor(st.st_dev), (unsigned long long) st.st_ino, (unsigned long long) st.st_size);
                return 0;
        }
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        uint64_t size;
        if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                return -errno;
        char stable[240];
        int n = snprintf(buf, len, "block dev=%u:%u size=%llu", major(st.st_rdev), minor(st.st_rdev),
                         (unsigned long long) size);
        if (n > 0 && (size_t) n < len && block_stable_id(fd, st.st_rdev, stable, sizeof stable))
                snprintf(buf + n, len - (size_t) n, " stable=%s", stable);
        return 0;
}

/* The value of " key=" in an identity, "" when absent. */
static void id_field(const char *id, const char *key, char *buf, size_t len) {
        buf[0] = 0;
        size_t kl = strlen(key);
        for (const char *p = strchr(id, ' '); p; p = strchr(p + 1, ' '))
                if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == '=') {
                        const char *v = p + 2 + kl;
                        size_t vl = strcspn(v, " ");
                        snprintf(buf, len, "%.*s", (int) vl, v);
                        return;
                }
}

bool rk_zero_id_same(const char *a, const char *b) {
        if (!a || !b)
                return false;
        size_t ka = strcspn(a, " "), kb = strcspn(b, " ");
        if (ka != kb || strncmp(a, b, ka) != 0 || ka == 0)
                return false;
        char x[RK_ZERO_ID_MAX], y[RK_ZERO_ID_MAX];
        id_field(a, "size", x, sizeof x);
        id_field(b, "size", y, sizeof y);
        if (!*x || strcmp(x, y) != 0)
                return false;
        if (strncmp(a, "file", ka) == 0) {
                id_field(a, "ino", x, sizeof x);
                id_field(b, "ino", y, sizeof y);
                if (!*x || strcmp(x, y) != 0)
                        return false;
                id_field(a, "fs", x, sizeof x);
                id_field(b, "fs", y, sizeof y);
                if (*x && *y && strcmp(x, "none") != 0 && strcmp(y, "none") != 0)
                        return strcmp(x, y) == 0;
        } else if (strncmp(a, "block", ka) == 0) {
                id_field(a, "stable", x, sizeof x);
                id_field(b, "stable", y, sizeof y);
                if (*x && *y)
                        return strcmp(x, y) == 0;
        } else
                return false;
        id_field(a, "dev", x, sizeof x);
        id_field(b, "dev", y, sizeof y);
        return *x && strcmp(x, y) == 0;
}

uint64_t rk_zero_resume_offset(uint64_t offset, const char *recorded, const char *current,
                               char *why, size_t whylen) {
        if (whylen)
                why[0] = 0;
        if (offset == 0)
                return 0;
        if (!recorded) {
                snprintf(why, whylen, "the journaled offset %llu names no target (a journal from an older version): zeroing from offset 0",
                         (unsigned long long) offset);
                return 0;
        }
        if (!rk_zero_id_same(recorded, current)) {
                snprintf(why, whylen, "the journaled offset %llu belongs to another target (journaled: %s; now: %s): zeroing from offset 0",
                         (unsigned long long) offset, recorded, current);
                return 0;
        }
        return offset;
}

/* ---- verification plan ---- */

void rk_verify_plan_init(struct rk_verify_plan *p, uint64_t size, uint64_t align,
                         enum rk_verify mode, uint64_t seed) {
        *p = (struct rk_verify_plan) { .size = size, .align = align ? align : 512, .seed = seed };
        uint64_t units = size / p->align;
        if (mode == RK_VERIFY_SAMPLE && units > 0) {
                uint64_t want = div_up(units, 10);              /* 10 % in units */
                uint64_t n = VERIFY_PLACES_MIN;
                uint64_t k = div_up(want, n);
                uint64_t kmax = VERIFY_PLACE_MAX / p->align ? VERIFY_PLACE_MAX / p->align : 1;
                if (k > kmax) {
                        k = kmax;
                        n = div_up(want, k);
                }
                if (units / n >= k && n * k < units) {
                        p->n_places = n;
                        p->place_len = k * p->align;
                        p->stratum = (units / n) * p->align;
                        p->bytes = n * p->place_len;
                        /* the unaligned tail (files) is always read */
                        if (size % p->align)
                                p->bytes += size % p->align;
                        return;
                }
        }
        /* full, also when the region is too small to sample */
        p->full = true;
        p->place_len = IO_BUF;
        p->n_places = div_up(size, IO_BUF);
        p->bytes = size;
}

void rk_verify_plan_place(const struct rk_verify_plan *p, uint64_t i, uint64_t *off, uint64_t *len) {
        if (p->full) {
                *off = i * p->place_len;
                *len = p->size - *off < p->place_len ? p->size - *off : p->place_len;
                return;
        }
        uint64_t start = i * p->stratum;
        uint64_t end = i + 1 == p->n_places ? p->size / p->align * p->align : start + p->stratum;
        uint64_t slots = (end - start - p->place_len) / p->align + 1;
        /* a per-place hash of (seed, i): places are independent of the
         * order they are asked for */
        uint64_t s = p->seed ^ (i * 0xd1342543de82ef95ULL);
        *off = start + (splitmix64(&s) % slots) * p->align;
        *len = p->place_len;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off) {
        size_t done = 0;
        while (done < len) {
                ssize_t n = z_pread(fd, (char *) buf + done, len - done, off + done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;    /* shorter than it said: fail closed */
                done += (size_t) n;
        }
        return 0;
}

static int check_region(int fd, uint8_t *buf, uint64_t off, uint64_t len, struct rk_verify_result *res,
                        char *err, size_t errlen) {
        int r = read_at(fd, buf, len, off);
        if (r < 0) {
                snprintf(err, errlen, "verify: read of %llu bytes at offset %llu failed: %s",
                         (unsigned long long) len, (unsigned long long) off, strerror(-r));
                return r;
        }
        size_t z = first_nonzero(buf, len);
        res->bytes += len;
        res->places++;
        if (z < len) {
                res->nonzero = true;
                res->nonzero_offset = off + z;
                snprintf(err, errlen, "verify: nonzero byte 0x%02x at offset %llu: zeroing did not reach the disk",
                         buf[z], (unsigned long long) (off + z));
                return -RK_ZERO_EVERIFY;
        }
        return 0;
}

/* The read-back runs several reads at once: a sample is a thousand small
 * reads, each waiting for the device, and a device serves many at a time
 * (queue depth) at little more cost than one.  Places are handed out in
 * order under a lock, where the fault point and the progress call stay, so
 * both see exactly the sequence a single reader would. */
#define VERIFY_READERS_SAMPLE 8
#define VERIFY_READERS_FULL 2           /* IO_BUF each: large reads need no depth */

struct verify_job {
        int fd;
        const struct rk_extent_map *map;        /* plan offsets are the map's logical ones; NULL: fd's own */
        const struct rk_verify_plan *plan;
        uint64_t aligned_end;
        rk_progress_fn progress;
        void *userdata;
        pthread_mutex_t lock;
        uint64_t next;                  /* the next place to hand out */
        int r;                          /* the first failure, by place order */
        uint64_t failed_place;
        struct rk_verify_result *res;
        char *err;
        size_t errlen;
};

struct verify_reader {
        struct verify_job *job;
        uint8_t *buf;
        pthread_t thread;
        bool started;
};

/* Under the lock: the next place to read, false when done or failed. */
/* A place of a mapped read-back: its logical range read where the map
 * puts it on the device, piece by piece across extent boundaries. */
static int check_mapped(const struct rk_extent_map *m, int fd, uint8_t *buf, uint64_t off, uint64_t len,
                        struct rk_verify_result *res, char *err, size_t errlen) {
        while (len > 0) {
                const struct rk_extent *e = &m->v[rk_extent_map_find(m, off)];
                uint64_t in = off - e->logical, piece = e->length - in < len ? e->length - in : len;
                int r = check_region(fd, buf, e->physical + in, piece, res, err, errlen);
                if (r < 0)
                        return r;
                res->places -= piece < len;     /* one place, however many pieces */
                off += piece;
                len -= piece;
        }
        return 0;
}

static bool verify_take(struct verify_job *j, uint64_t *i) {
        if (j->r < 0 || j->next >= j->plan->n_places)
                return false;
        *i = j->next++;
        RK_FAULT("zero:verify");
        return true;
}

static void *verify_reader_run(void *arg) {
        struct verify_reader *rd = arg;
        struct verify_job *j = rd->job;
        uint64_t i;
        pthread_mutex_lock(&j->lock);
        while (verify_take(j, &i)) {
                pthread_mutex_unlock(&j->lock);
                uint64_t off, len;
                rk_verify_plan_place(j->plan, i, &off, &len);
                /* the unaligned tail of a file: read without O_DIRECT later */
                if (off + len > j->aligned_end)
                        len = off < j->aligned_end ? j->aligned_end - off : 0;
                struct rk_verify_result one = {};
                char err[256] = "";
                int r = len == 0 ? 0
                        : j->map ? check_mapped(j->map, j->fd, rd->buf, off, len, &one, err, sizeof err)
                                 : check_region(j->fd, rd->buf, off, len, &one, err, sizeof err);
                pthread_mutex_lock(&j->lock);
                j->res->bytes += one.bytes;
                j->res->places += one.places;
                /* several readers may fail: the earliest place is the one told */
                if (r < 0 && (j->r >= 0 || i < j->failed_place)) {
                        j->r = r;
                        j->failed_place = i;
                        j->res->nonzero = one.nonzero;
                        j->res->nonzero_offset = one.nonzero_offset;
                        snprintf(j->err, j->errlen, "%s", err);
                }
                if (j->progress)
                        j->progress(j->userdata, j->res->bytes, j->plan->bytes);
        }
        pthread_mutex_unlock(&j->lock);
        return NULL;
}

static int verify_places(struct verify_job *j) {
        unsigned n = j->plan->full ? VERIFY_READERS_FULL : VERIFY_READERS_SAMPLE;
        size_t buflen = j->plan->place_len < IO_BUF ? j->plan->place_len : IO_BUF;
        struct verify_reader rd[VERIFY_READERS_SAMPLE] = {};
        if (n > j->plan->n_places)
                n = j->plan->n_places ? (unsigned) j->plan->n_places : 1;
        unsigned started = 0;
        for (unsigned k = 0; k < n; k++) {
                rd[k].job = j;
                rd[k].buf = alloc_zero_buf(buflen);
                if (!rd[k].buf)
                        break;
                /* the first reader is this thread: no thread is ever needed */
                if (k > 0 && pthread_create(&rd[k].thread, NULL, verify_reader_run, &rd[k]) != 0) {
                        munmap(rd[k].buf, buflen);
                        rd[k].buf = NULL;
                        break;
                }
                rd[k].started = k > 0;
                started++;
        }
        if (!rd[0].buf)
                return -ENOMEM;
        verify_reader_run(&rd[0]);
        for (unsigned k = 0; k < started; k++) {
                if (rd[k].started)
                        pthread_join(rd[k].thread, NULL);
                munmap(rd[k].buf, buflen);
        }
        return j->r;
}

static int verify_fd(int fd, const struct rk_extent_map *map, uint64_t size, enum rk_verify mode, uint64_t seed,
                     rk_progress_fn progress, void *userdata,
                     struct rk_verify_result *res, char *err, size_t errlen) {
        *res = (struct rk_verify_result) {};
        uint64_t t0 = rk_now_ns();
        bool is_block;
        uint64_t dsize;
        unsigned align;
        int r = rk_zero_target_size(fd, &is_block, &dsize, &align);
        if (r < 0) {
                snprintf(err, errlen, "verify: %s", strerror(-r));
                return r;
        }
        if (!is_block)
                align = 4096;
        if (map && size % align) {
                /* a map's extents are whole filesystem blocks: never so */
                snprintf(err, errlen, "verify: %llu mapped bytes are not whole %u-byte blocks",
                         (unsigned long long) size, align);
                return -EINVAL;
        }

        /* Read the disk, not the page cache: O_DIRECT, or, where the
         * filesystem has none, drop the cached pages first. */
        res->direct = set_direct(fd, true) == 0;
        if (!res->direct) {
                (void) fdatasync(fd);
                (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        }

        struct rk_verify_plan plan;
        rk_verify_plan_init(&plan, size, align, mode, seed);
        res->full = plan.full;
        uint64_t aligned_end = size / align * align;
        struct verify_job job = {
                .fd = fd, .map = map, .plan = &plan, .aligned_end = aligned_end, .progress = progress, .userdata = userdata,
                .lock = PTHREAD_MUTEX_INITIALIZER, .res = res, .err = err, .errlen = errlen,
        };
        r = verify_places(&job);
        if (r >= 0 && aligned_end < size && !map) {
                uint8_t *buf = alloc_zero_buf(IO_BUF);
                if (!buf)
                        r = -ENOMEM;
                else {
                        (void) set_direct(fd, false);
                        (void) posix_fadvise(fd, (off_t) aligned_end, 0, POSIX_FADV_DONTNEED);
                        r = check_region(fd, buf, aligned_end, size - aligned_end, res, err, errlen);
                        munmap(buf, IO_BUF);
                }
        }
        (void) set_direct(fd, false);
        res->nsec = rk_now_ns() - t0;
        res->done = r >= 0;
        if (r < 0 && !res->nonzero)
                res->error = r;
        return r;
}

int rk_zero_verify(int fd, uint64_t size, enum rk_verify mode, uint64_t seed,
                   rk_progress_fn progress, void *userdata,
                   struct rk_verify_result *res, char *err, size_t errlen) {
        return verify_fd(fd, NULL, size, mode, seed, progress, userdata, res, err, errlen);
}

int rk_zero_verify_mapped(int fd, const struct rk_extent_map *map, enum rk_verify mode, uint64_t seed,
                          struct rk_verify_result *res, char *err, size_t errlen) {
        return verify_fd(fd, map, map->total, mode, seed, NULL, NULL, res, err, errlen);
}

/* ---- whole device or file ---- */

int rk_zero_target_size(int fd, bool *ret_is_block, uint64_t *ret_size, unsigned *ret_align) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode)) {
                uint64_t size;
                int lbs;
                if (ioctl(fd, BLKGETSIZE64, &size) < 0 || ioctl(fd, BLKSSZGET, &lbs) < 0)
                        return -errno;
                *ret_is_block = true;
                *ret_size = size;
                *ret_align = lbs > 0 ? (unsigned) lbs : 512;
                return 0;
        }
        if (S_ISREG(st.st_mode)) {
                *ret_is_block = false;
                *ret_size = (uint64_t) st.st_size;
                *ret_align = 4096;
                return 0;
        }
        return -ENOTBLK;
}

static int write_zeros(int fd, const void *zbuf, uint64_t off, uint64_t len) {
        while (len > 0) {
                size_t n = len < IO_BUF ? (size_t) len : IO_BUF;
                ssize_t w = z_pwrite(fd, zbuf, n, off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                if (w == 0)
                        return -EIO;
                off += (uint64_t) w;
                len -= (uint64_t) w;
        }
        return 0;
}

int rk_zero_range(int fd, uint64_t off, uint64_t len) {
        void *zbuf = alloc_zero_buf(IO_BUF);
        if (!zbuf)
                return -ENOMEM;
        int r = write_zeros(fd, zbuf, off, len);
        munmap(zbuf, IO_BUF);
        return r;
}

int rk_zero_range_check(int fd, uint64_t off, uint64_t len) {
        uint8_t *buf = alloc_zero_buf(IO_BUF);
        if (!buf)
                return -ENOMEM;
        int r = 0;
        for (uint64_t done = 0; done < len && r >= 0;) {
                uint64_t k = len - done < IO_BUF ? len - done : IO_BUF;
                r = read_at(fd, buf, (size_t) k, off + done);
                if (r >= 0 && first_nonzero(buf, (size_t) k) < k)
                        r = -EBADMSG;
                done += k;
        }
        munmap(buf, IO_BUF);
        return r;
}

/* One chunk, by the current method; switches method down when the device
 * or filesystem says it cannot do this one. */
static int zero_chunk(int fd, struct rk_zero_stats *st, const void *zbuf, uint64_t off, uint64_t len,
                      unsigned align) {
        int r;
        if (st->method == RK_ZERO_BLKZEROOUT) {
                uint64_t range[2] = { off, len };
                r = z_ioctl(fd, BLKZEROOUT, range, "zero:zeroout");
                if (r == 0)
                        return 0;
                if (r != -EOPNOTSUPP && r != -ENOTTY && r != -EINVAL)
                        return r;
                /* no write-zeroes and no fallback in this kernel/driver */
                st->method = RK_ZERO_DIRECT;
        }
        if (st->method == RK_ZERO_DIRECT) {
                uint64_t alen = len / align * align;
                if (set_direct(fd, true) == 0) {
                        r = write_zeros(fd, zbuf, off, alen);
                        if (r != -EINVAL) {
                                (void) set_direct(fd, false);
                                if (r < 0 || alen == len)
                                        return r;
                                /* the unaligned tail of an image file */
                                return write_zeros(fd, zbuf, off + alen, len - alen);
                        }
                }
                (void) set_direct(fd, false);
                st->method = RK_ZERO_BUFFERED;
        }
        return write_zeros(fd, zbuf, off, len);
}

/* Why by time: each checkpoint costs a device flush and a journal write
 * with its own fsyncs.  A loop device or a fast SSD zeroes 128 MiB in a few
 * milliseconds, so fixed 128 MiB chunks spent as long checkpointing as
 * zeroing (half blkdiscard -z's speed); a slow eMMC at 20 MB/s needs six
 * seconds for one, all of it redone after a power cut.  About a second of
 * work between checkpoints bounds both. */
uint64_t rk_zero_next_chunk(uint64_t chunk, uint64_t elapsed_ns) {
        if (elapsed_ns < RK_ZERO_CHECKPOINT_NS / 2 && chunk <= RK_ZERO_CHUNK_MAX / 2)
                return chunk * 2;
        if (elapsed_ns > RK_ZERO_CHECKPOINT_NS * 2 && chunk >= RK_ZERO_CHUNK_MIN * 2)
                return chunk / 2;
        return chunk;
}

/* Does the device's queue take WRITE ZEROES?  Without it BLKZEROOUT still
 * works, but the kernel writes pages of zeros itself: the log says which.
 * A partition has no queue of its own: its disk's is one level up. */
static bool queue_write_zeroes(int fd) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return false;
        for (int up = 0; up < 2; up++) {
                char p[128];
                snprintf(p, sizeof p, "/sys/dev/block/%u:%u/%squeue/write_zeroes_max_bytes",
                         major(st.st_rdev), minor(st.st_rdev), up ? "../" : "");
                _cleanup_fclose_ FILE *f = fopen(p, "re");
                unsigned long long v;
                if (f && fscanf(f, "%llu", &v) == 1)
                        return v > 0;
        }
        return false;
}

int rk_zero_device(int fd, uint64_t start, uint64_t chunk, const struct rk_zero_ops *ops,
                   struct rk_zero_stats *st, char *err, size_t errlen) {
        *st = (struct rk_zero_stats) {};
        unsigned align;
        int r = rk_zero_target_size(fd, &st->is_block, &st->size, &align);
        if (r < 0) {
                snprintf(err, errlen, "not a block device or regular file: %s", strerror(-r));
                return r;
        }
        bool adaptive = chunk == 0;
        if (adaptive)
                chunk = RK_ZERO_CHUNK_DEFAULT;
        chunk = chunk < align ? align : chunk / align * align;
        if (start > st->size)
                start = st->size;
        st->start = start / align * align;
        st->method = st->is_block ? RK_ZERO_BLKZEROOUT : RK_ZERO_DIRECT;
        if (st->is_block)
                st->hw_zeroes = queue_write_zeroes(fd);

        void *zbuf = alloc_zero_buf(IO_BUF);
        if (!zbuf)
                return -ENOMEM;
        uint64_t t0 = rk_now_ns();
        for (uint64_t off = st->start; off < st->size;) {
                uint64_t len = st->size - off < chunk ? st->size - off : chunk;
                uint64_t c0 = rk_now_ns();
                RK_FAULT("zero:chunk");
                r = zero_chunk(fd, st, zbuf, off, len, align);
                /* the checkpoint promises stable storage: flush the
                 * device's write cache before recording the offset */
                if (r >= 0)
                        r = z_fdatasync(fd);
                if (r < 0) {
                        snprintf(err, errlen, "zeroing (%s) failed at offset %llu: %s; bytes below it are zero",
                                 rk_zero_method_name(st->method), (unsigned long long) off, strerror(-r));
                        break;
                }
                off += len;
                st->written += len;
                RK_FAULT("zero:chunk-done");
                if (ops && ops->checkpoint) {
                        r = ops->checkpoint(ops->userdata, off);
                        if (r < 0) {
                                snprintf(err, errlen, "zeroing stopped at offset %llu: checkpoint failed: %s",
                                         (unsigned long long) off, strerror(-r));
                                break;
                        }
                }
                if (ops && ops->progress)
                        ops->progress(ops->userdata, off, st->size);
                if (adaptive)   /* powers of two of the default: stays aligned */
                        chunk = rk_zero_next_chunk(chunk, rk_now_ns() - c0);
        }
        st->nsec = rk_now_ns() - t0;
        munmap(zbuf, IO_BUF);
        return r < 0 ? r : 0;
}

int rk_zero_device_verified(int fd, uint64_t start, uint64_t chunk, enum rk_verify mode, uint64_t seed,
                            const struct rk_zero_ops *ops, struct rk_zero_stats *st, char *err, size_t errlen) {
        int r = rk_zero_device(fd, start, chunk, ops, st, err, errlen);
        if (r < 0)
                return r;
        for (unsigned pass = 1;; pass++) {
                /* the same seed every pass: the places that failed are
                 * read again after the zeroing that should fix them */
                r = rk_zero_verify(fd, st->size, mode, seed, NULL, NULL, &st->verify, err, errlen);
                if (r >= 0 || r == -ENOMEM)
                        return r;
                if (pass > RK_ZERO_REPASS_MAX) {
                        size_t l = strlen(err);
                        snprintf(err + l, errlen > l ? errlen - l : 0,
                                 "; read-back still failing after %u more zero passes from offset 0",
                                 RK_ZERO_REPASS_MAX);
                        return r;
                }
                if (pass == 1)
                        st->first_failure = st->verify;
                /* What the journal says is zero is not: from here on a
                 * power cut must start again from 0, not resume at the
                 * end and sample again. */
                if (ops && ops->checkpoint) {
                        int q = ops->checkpoint(ops->userdata, 0);
                        if (q < 0) {
                                snprintf(err, errlen, "read-back failed and the restart could not be journaled: %s",
                                         strerror(-q));
                                return q;
                        }
                }
                if (ops && ops->repass)
                        ops->repass(ops->userdata, pass, err);
                RK_FAULT("zero:repass");
                struct rk_zero_stats again;
                r = rk_zero_device(fd, 0, chunk, ops, &again, err, errlen);
                st->written += again.written;
                st->nsec += again.nsec;
                st->method = again.method;
                st->repasses = pass;
                if (r < 0)
                        return r;
        }
}

/* ---- free space ---- */

int rk_fill_open_mount(int root_fd, const char *path, dev_t refuse_dev, char *err, size_t errlen) {
        _cleanup_close_ int fd = rk_openat2(root_fd, rk_path_relative(path), O_RDONLY | O_DIRECTORY, 0,
                                            RK_RESOLVE_STRICT);
        if (fd < 0) {
                snprintf(err, errlen, "zero-free-space %s: %s (a symlink or a path leaving the root is refused); nothing changed",
                         path, strerror(-fd));
                return fd;
        }
        int r = rk_mount_root_at(fd, NULL), is_root = r;
        if (r < 0) {
                snprintf(err, errlen, "zero-free-space %s: statx: %s; nothing changed", path, strerror(-r));
                return r;
        }
        if (!is_root) {
                /* the rule that keeps --root on a plain directory from
                 * filling the host's disk */
                snprintf(err, errlen, "zero-free-space %s: refused: not a mount point inside the root (it would fill whatever filesystem holds it); nothing changed",
                         path);
                return -EPERM;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (refuse_dev != 0 && st.st_dev == refuse_dev) {
                snprintf(err, errlen, "zero-free-space %s: refused: it is the host's root filesystem (device %u:%u), not the target's; nothing changed",
                         path, major(st.st_dev), minor(st.st_dev));
                return -EPERM;
        }
        return RK_TAKE_FD(fd);
}

/* /sys/fs/ext4/NAME: NAME is the kernel's name of the block device. */
static int ext4_sysfs_name(int fd, char *name, size_t len) {
        struct stat st;
        if (!is_ext4(fd))
                return -EOPNOTSUPP;
        if (fstat(fd, &st) < 0)
                return -errno;
        _cleanup_free_ char *target = rk_sysfs_block_dir(st.st_dev);
        if (!target)
                return -errno;
        const char *b = strrchr(target, '/');
        b = b ? b + 1 : target;
        size_t bl = strlen(b);
        if (bl >= len || bl > 64)
                return -ENAMETOOLONG;
        char attr[128];
        snprintf(attr, sizeof attr, "/sys/fs/ext4/%.64s/reserved_clusters", b);
        if (access(attr, F_OK) < 0)
                return -errno;  /* ext2/ext3 driver, or sysfs not mounted */
        memcpy(name, b, bl + 1);
        return 0;
}

static int reserve_read(const char *fs_name, uint64_t *ret) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/sys/fs/ext4/%s/reserved_clusters", fs_name);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        unsigned long long v;
        if (fscanf(f, "%llu", &v) != 1)
                return -EIO;
        *ret = v;
        return 0;
}

static int reserve_write(const char *fs_name, uint64_t v) {
        char path[PATH_MAX], buf[32];
        snprintf(path, sizeof path, "/sys/fs/ext4/%s/reserved_clusters", fs_name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long) v);
        int f = RK_FAIL("zero:reserve");
        return f < 0 ? f : rk_write_all(fd, buf, (size_t) n);
}

static int remove_stale_fill(int dfd) {
        return rk_remove_prefixed(dfd, RK_FILL_PREFIX);
}

/* The ext4 filesystem fd is on: its sysfs name now and its stable
 * identity.  -EOPNOTSUPP when it is not ext4 (or has no reserve knob). */
static int ext4_reserve_target(int fd, char *name, size_t namelen, char *id, size_t idlen) {
        int r = ext4_sysfs_name(fd, name, namelen);
        if (r < 0)
                return r;
        if (rk_fs_identity(fd, id, idlen) < 0) {
                /* no UUID and no fsid: the device number is the last
                 * resort; it only has to tell filesystems apart until the
                 * next remount, which resets the reserve anyway */
                struct stat st;
                if (fstat(fd, &st) < 0)
                        return -errno;
                snprintf(id, idlen, "dev:%u:%u", major(st.st_dev), minor(st.st_dev));
        }
        return 0;
}

int rk_fill_recover(int root_fd, const char *path, const char *fs_id, int64_t reserve_orig,
                    struct rk_fill_recovery *rec, char *err, size_t errlen) {
        *rec = (struct rk_fill_recovery) {};
        _cleanup_close_ int dfd = rk_fill_open_mount(root_fd, path, 0, err, errlen);
        if (dfd < 0)
                return dfd;
        int n = remove_stale_fill(dfd);
        if (n < 0) {
                snprintf(err, errlen, "zero-free-space %s: cannot scan for leftover fill files: %s", path, strerror(-n));
                return n;
        }
        rec->removed = (unsigned) n;
        if (reserve_orig < 0 || rk_isempty(fs_id))
                return 0;
        int r = ext4_reserve_target(dfd, rec->fs_name, sizeof rec->fs_name, rec->fs_id, sizeof rec->fs_id);
        if (r < 0 || strcmp(rec->fs_id, fs_id) != 0) {
                /* another filesystem is mounted there now (or none with a
                 * reserve): the journaled value is not its own */
                if (r < 0)
                        snprintf(rec->fs_id, sizeof rec->fs_id, "not ext4");
                rec->reserve_foreign = true;
                return 0;
        }
        r = reserve_write(rec->fs_name, (uint64_t) reserve_orig);
        if (r < 0) {
                snprintf(err, errlen, "zero-free-space %s: cannot restore /sys/fs/ext4/%s/reserved_clusters to %lld: %s",
                         path, rec->fs_name, (long long) reserve_orig, strerror(-r));
                return r;
        }
        rec->reserve_restored = true;
        return 0;
}

/* Every fill file, closed (released) together on every return path. */
struct fill_set {
        int *fds;
        unsigned n, cap;
};

static void fill_set_release(struct fill_set *s) {
        for (unsigned i = 0; i < s->n; i++)
                rk_closep(&s->fds[i]);
        free(s->fds);
        *s = (struct fill_set) {};
}

static int fill_open(int dfd, bool direct, bool *tmpfile) {
        int extra = direct ? O_DIRECT : 0;
        if (*tmpfile) {
                int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC | extra, 0600);
                if (fd >= 0)
                        return fd;
                if (errno != EOPNOTSUPP && errno != EISDIR)
                        return -errno;
                *tmpfile = false;
        }
        /* No O_TMPFILE here: a named file, unlinked at once so the space
         * still goes back on any exit; a crash between the two leaves a
         * name that the next run (or rk_fill_recover) removes. */
        for (int tries = 0; tries < 100; tries++) {
                char name[64];
                snprintf(name, sizeof name, RK_FILL_PREFIX "%016" PRIx64, rk_random_u64());
                int fd = openat(dfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW | extra, 0600);
                if (fd < 0 && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return -errno;
                RK_FAULT("zero:fill-named");
                if (unlinkat(dfd, name, 0) < 0) {
                        int e = -errno;
                        close(fd);
                        return e;
                }
                return fd;
        }
        return -EEXIST;
}

static int fill_push(struct fill_set *s, int fd) {
        if (s->n == s->cap) {
                unsigned ncap = s->cap ? s->cap * 2 : 16;
                int *n = realloc(s->fds, ncap * sizeof *n);
                if (!n)
                        return -ENOMEM;
                s->fds = n;
                s->cap = ncap;
        }
        s->fds[s->n++] = fd;
        return 0;
}

struct fill_ctx {
        const struct rk_fill_ops *ops;
        struct rk_fill_stats *st;
        uint64_t last_progress;
};

static void fill_progress(struct fill_ctx *c) {
        if (c->ops && c->ops->progress && c->st->bytes - c->last_progress >= (16ULL << 20)) {
                c->last_progress = c->st->bytes;
                c->ops->progress(c->ops->userdata, c->st->bytes,
                                 c->st->free_before > c->st->bytes ? c->st->free_before : c->st->bytes);
        }
}

/* The size of the next write or fallocate near the end: what statfs says
 * is free, in whole `min`s (each ENOSPC costs ext4 a journal commit: it
 * retries the allocation after one, so halving blindly stalls); 0 once
 * statfs says full, and from then on the caller probes by halving. */
static uint64_t guided_len(int fd, uint64_t size, uint64_t min, bool *guided) {
        struct statvfs sv;
        if (!*guided || fstatvfs(fd, &sv) < 0)
                return size;
        uint64_t avail = (uint64_t) sv.f_bfree * sv.f_frsize / min * min;
        if (avail >= size)
                return size;
        if (avail < min) {
                *guided = false;
                return 0;
        }
        return avail;
}

/* Write zeros at the end of fd until ENOSPC, halving the write size down
 * to `min`.  Returns bytes written or -errno. */
static int64_t fill_until_full(int fd, const uint8_t *zbuf, uint64_t max, uint64_t min, uint64_t *pos,
                               struct fill_ctx *c) {
        uint64_t size = max, start = *pos;
        bool guided = true;
        while (size >= min) {
                RK_FAULT("zero:fill");
                uint64_t len = guided_len(fd, size, min, &guided);
                if (len == 0)
                        continue;
                ssize_t w = z_pwrite(fd, zbuf, len, *pos);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)) {
                        guided = false;
                        size = len / 2;
                        continue;
                }
                if (w < 0 && errno == EINVAL && is_direct(fd) && set_direct(fd, false) == 0) {
                        /* a short direct write left pos unaligned: once
                         * to buffered writes; EINVAL from those is an
                         * error like any other, never a retry */
                        c->st->method = RK_ZERO_BUFFERED;
                        continue;
                }
                if (w < 0)
                        return -errno;
                if (w == 0)
                        break;
                *pos += (uint64_t) w;
                c->st->bytes += (uint64_t) w;
                fill_progress(c);
        }
        return (int64_t) (*pos - start);
}

static int fill_verify(struct fill_set *set, const uint64_t *sizes, const struct rk_fill_opts *opts,
                       struct rk_fill_stats *st, char *err, size_t errlen) {
        st->verify = (struct rk_verify_result) { .full = opts->verify == RK_VERIFY_FULL, .direct = true };
        uint64_t t0 = rk_now_ns();
        for (unsigned i = 0; i < set->n; i++) {
                struct rk_verify_result one;
                /* the big file by the sampling rule; the fragments in full */
                enum rk_verify mode = i == 0 ? opts->verify : RK_VERIFY_FULL;
                int r = rk_zero_verify(set->fds[i], sizes[i], mode, opts->seed, NULL, NULL, &one, err, errlen);
                st->verify.bytes += one.bytes;
                st->verify.places += one.places;
                st->verify.direct = st->verify.direct && one.direct;
                if (i == 0)
                        st->verify.full = one.full;
                if (r < 0) {
                        st->verify.nonzero = one.nonzero;
                        st->verify.nonzero_offset = one.nonzero_offset;
                        size_t l = strlen(err);
                        snprintf(err + l, errlen > l ? errlen - l : 0, " (fill file %u of %u)", i + 1, set->n);
                        return r;
                }
        }
        st->verify.nsec = rk_now_ns() - t0;
        st->verify.done = true;
        return 0;
}

static int do_fill(int dfd, const struct rk_fill_opts *opts, struct fill_ctx *c, struct fill_set *set,
                   uint64_t **sizes, char *err, size_t errlen) {
        struct rk_fill_stats *st = c->st;
        struct statvfs sv;
        if (fstatvfs(dfd, &sv) < 0)
                return -errno;
        /* f_bfree, not f_bavail: we run as root and fill the root reserve */
        st->free_before = (uint64_t) sv.f_bfree * sv.f_frsize;
        uint64_t bsize = sv.f_bsize ? sv.f_bsize : 4096;
        uint64_t max = opts->max_write ? opts->max_write : IO_BUF;
        max = max < bsize ? bsize : max / bsize * bsize;
        if (max > IO_BUF)
                max = IO_BUF;

        uint8_t *zbuf = alloc_zero_buf(IO_BUF);
        if (!zbuf)
                return -ENOMEM;
        int r = 0;
        st->tmpfile = true;
        bool direct = true;
        int fd = fill_open(dfd, true, &st->tmpfile);
        if (fd == -EINVAL) {
                direct = false;
                fd = fill_open(dfd, false, &st->tmpfile);
        }
        st->method = direct ? RK_ZERO_DIRECT : RK_ZERO_BUFFERED;
        if (fd < 0) {
                snprintf(err, errlen, "cannot create the fill file: %s", strerror(-fd));
                r = fd;
                goto out;
        }
        uint64_t pos = 0;
        if ((r = fill_push(set, fd)) < 0) {
                close(fd);
                goto out;
        }
        /* 1: large aligned writes, halving down to one block */
        int64_t w = fill_until_full(fd, zbuf, max, bsize, &pos, c);
        if (w < 0) {
                snprintf(err, errlen, "fill write failed at offset %llu: %s", (unsigned long long) pos, strerror((int) -w));
                r = (int) w;
                goto out;
        }
        *sizes = calloc(1, sizeof **sizes);
        if (!*sizes) {
                r = -ENOMEM;
                goto out;
        }
        (*sizes)[0] = pos;
        /* 2: the last fragments, which a new file may still take (inline
         * data, per-inode preallocation, a block the first file's extent
         * tree could not map); buffered, down to one byte */
        for (unsigned i = 0; i < 256; i++) {
                bool tf = st->tmpfile;
                int sfd = fill_open(dfd, false, &tf);
                if (sfd < 0)
                        break;  /* no inode left: that is full too */
                uint64_t spos = 0;
                w = fill_until_full(sfd, zbuf, bsize, 1, &spos, c);
                if (w < 0) {
                        /* an I/O error is not "full": the claim would not
                         * hold for what this file did not reach */
                        snprintf(err, errlen, "fill write failed in fragment file %u: %s", i + 1, strerror((int) -w));
                        close(sfd);
                        r = (int) w;
                        goto out;
                }
                if (w == 0) {
                        close(sfd);
                        break;
                }
                uint64_t *ns = realloc(*sizes, (set->n + 1) * sizeof *ns);
                if (!ns || fill_push(set, sfd) < 0) {
                        if (ns)
                                *sizes = ns;
                        close(sfd);
                        r = -ENOMEM;
                        goto out;
                }
                *sizes = ns;
                (*sizes)[set->n - 1] = spos;
        }
        st->files = set->n;
        /* 3: flush, so the read-back reads what is on the disk */
        for (unsigned i = 0; i < set->n; i++)
                if ((r = z_fdatasync(set->fds[i])) < 0) {
                        snprintf(err, errlen, "fdatasync of fill file %u failed: %s", i + 1, strerror(-r));
                        goto out;
                }
        RK_FAULT("zero:filled");
out:
        munmap(zbuf, IO_BUF);
        return r;
}

/* ---- the fill by the device ----
 * Writing every zero through the filesystem costs the device the writes
 * and, after the read-back, FITRIM's discard of the same blocks.  On ext4
 * over a block device the fill instead reserves the free space with
 * fallocate() (unwritten extents: nothing goes through the page cache, so
 * no writeback can meet the full disk), asks FIEMAP where those blocks are,
 * and has the device zero exactly them (BLKZEROOUT: the device's WRITE
 * ZEROES, or the kernel's zero pages where it has none), then flushes it.
 * The read-back reads those blocks on the device: the filesystem would
 * answer zeros for unwritten extents without reading anything.  The blocks
 * stay the fill's (the files are held open) until the read-back is done. */

static int device_unavailable(struct rk_fill_stats *st, const char *what, int r) {
        if (r < 0)
                snprintf(st->device_why, sizeof st->device_why, "%s: %s", what, strerror(-r));
        else
                snprintf(st->device_why, sizeof st->device_why, "%s", what);
        return -EOPNOTSUPP;
}

/* fallocate() at the end of fd until ENOSPC, halving down to `min`.  An
 * ENOSPC may still have allocated part: the file's size says how much.
 * Returns the bytes reserved or -errno. */
static int64_t reserve_until_full(int fd, uint64_t max, uint64_t min, uint64_t *pos) {
        uint64_t size = max, start = *pos;
        bool guided = true;
        while (size >= min) {
                RK_FAULT("zero:fill");
                uint64_t len = guided_len(fd, size, min, &guided);
                if (len == 0)
                        continue;
                int r = RK_FAIL("zero:fallocate");
                if (r == 0 && fallocate(fd, 0, (off_t) *pos, (off_t) len) < 0)
                        r = -errno;
                if (r == -EINTR)
                        continue;
                if (r == -ENOSPC || r == -EDQUOT || r == -EFBIG) {
                        struct stat s;
                        if (fstat(fd, &s) == 0 && (uint64_t) s.st_size > *pos)
                                *pos = (uint64_t) s.st_size;
                        guided = false;
                        size = len / 2;
                        continue;
                }
                if (r < 0)
                        return r;
                *pos += len;
        }
        return (int64_t) (*pos - start);
}

/* Reserve the free space in fill files (more than one when a file's extent
 * tree can take no more blocks) and map them onto the device. */
static int reserve_and_map(int dfd, uint64_t max, uint64_t bsize, struct fill_ctx *c, struct fill_set *set,
                           struct rk_extent_map *map, char *err, size_t errlen) {
        struct rk_fill_stats *st = c->st;
        st->tmpfile = true;
        for (unsigned i = 0; i < 256; i++) {
                bool tf = st->tmpfile;
                int fd = fill_open(dfd, false, i == 0 ? &st->tmpfile : &tf);
                if (fd < 0 && i == 0) {
                        snprintf(err, errlen, "cannot create the fill file: %s", strerror(-fd));
                        return fd;
                }
                if (fd < 0)
                        break;  /* no inode left: that is full too */
                uint64_t pos = 0;
                int64_t w = reserve_until_full(fd, max, bsize, &pos);
                if (w <= 0 || fill_push(set, fd) < 0) {
                        close(fd);
                        if (w == -EOPNOTSUPP)
                                return device_unavailable(st, "fallocate", (int) w);
                        if (w < 0) {
                                snprintf(err, errlen, "fallocate of fill file %u failed: %s", i + 1, strerror((int) -w));
                                return (int) w;
                        }
                        if (w > 0)
                                return -ENOMEM;
                        break;
                }
                int r = rk_extent_map_add(map, fd, pos);
                if (r == -EOPNOTSUPP || r == -ERANGE)
                        return device_unavailable(st, "FIEMAP cannot place the fill's blocks on the device", r);
                if (r < 0) {
                        snprintf(err, errlen, "FIEMAP of fill file %u failed: %s", i + 1, strerror(-r));
                        return r;
                }
        }
        st->files = set->n;
        return 0;
}

/* BLKZEROOUT over every extent of the map, in pieces of at most `max`
 * (progress, and a kill point between them), then the device's flush. */
static int zero_mapped(int bdev, const struct rk_extent_map *map, uint64_t max, struct fill_ctx *c,
                       char *err, size_t errlen) {
        struct rk_fill_stats *st = c->st;
        for (size_t i = 0; i < map->n; i++)
                for (uint64_t done = 0; done < map->v[i].length;) {
                        RK_FAULT("zero:fill");
                        uint64_t len = map->v[i].length - done < max ? map->v[i].length - done : max;
                        uint64_t range[2] = { map->v[i].physical + done, len };
                        /* Blocks freed a moment ago (the directories the
                         * reset just removed) may still be cached pages of
                         * the device, fresh ones in per-CPU batches the
                         * kernel's BLKZEROOUT will not wait for (EBUSY);
                         * DONTNEED drains those batches and drops the clean
                         * pages first (the step's rk_fs_drop_device_cache() is
                         * too early for these: tested, the EBUSY stays). */
                        (void) posix_fadvise(bdev, (off_t) range[0], (off_t) len, POSIX_FADV_DONTNEED);
                        int r = z_ioctl(bdev, BLKZEROOUT, range, "zero:zeroout");
                        /* EBUSY: the kernel would not drop a cached page of
                         * the device there (it never discards one under a
                         * mounted filesystem).  Writing zeros through the
                         * filesystem instead redoes the whole fill. */
                        if (r == -EOPNOTSUPP || r == -ENOTTY || r == -EINVAL || r == -EPERM || r == -EACCES ||
                            r == -EBUSY)
                                return device_unavailable(st, "BLKZEROOUT on the filesystem's device", r);
                        if (r < 0) {
                                snprintf(err, errlen, "BLKZEROOUT of %llu bytes at device offset %llu failed: %s",
                                         (unsigned long long) len, (unsigned long long) range[0], strerror(-r));
                                return r;
                        }
                        done += len;
                        st->bytes += len;
                        fill_progress(c);
                }
        int r = z_fdatasync(bdev);
        if (r < 0)
                snprintf(err, errlen, "flushing the device after BLKZEROOUT failed: %s", strerror(-r));
        return r;
}

/* -EOPNOTSUPP (the reason in st->device_why; what was reserved is still in
 * set, for the caller to release) when this filesystem or device cannot. */
static int do_fill_device(int dfd, const struct rk_fill_opts *opts, struct fill_ctx *c, struct fill_set *set,
                          struct rk_extent_map *map, int *ret_bdev, char *err, size_t errlen) {
        struct rk_fill_stats *st = c->st;
        if (!is_ext4(dfd))
                return device_unavailable(st, "not ext4 (FIEMAP's block numbers are trusted on ext4 only)", 0);
        int r = RK_FAIL("zero:fill-bdev");
        _cleanup_close_ int bdev = r < 0 ? r : rk_fs_block_device_open(dfd, O_RDWR);
        if (bdev < 0)
                return device_unavailable(st, "the filesystem's block device cannot be opened for writing", bdev);
        struct statvfs sv;
        if (fstatvfs(dfd, &sv) < 0)
                return -errno;
        st->free_before = (uint64_t) sv.f_bfree * sv.f_frsize;
        uint64_t bsize = sv.f_bsize ? sv.f_bsize : 4096;
        /* Smaller blocks share a page of the device's cache with the
         * filesystem's metadata: BLKZEROOUT must drop that page, which the
         * kernel refuses while the metadata is in use. */
        if (bsize < (uint64_t) sysconf(_SC_PAGESIZE))
                return device_unavailable(st, "blocks smaller than a page", 0);
        uint64_t max = opts->max_write ? (opts->max_write < bsize ? bsize : opts->max_write / bsize * bsize)
                                       : UINT64_MAX / 2 / bsize * bsize;
        if ((r = reserve_and_map(dfd, max, bsize, c, set, map, err, errlen)) < 0)
                return r;
        st->method = RK_ZERO_BLKZEROOUT;
        st->hw_zeroes = queue_write_zeroes(bdev);
        if ((r = zero_mapped(bdev, map, opts->max_write ? max : (1ULL << 30), c, err, errlen)) < 0)
                return r;
        RK_FAULT("zero:filled");
        *ret_bdev = RK_TAKE_FD(bdev);
        return 0;
}

static int fill_verify_device(int bdev, const struct rk_extent_map *map, const struct rk_fill_opts *opts,
                              struct rk_fill_stats *st, char *err, size_t errlen) {
        int r = rk_zero_verify_mapped(bdev, map, opts->verify, opts->seed, &st->verify, err, errlen);
        if (r < 0) {
                size_t l = strlen(err);
                snprintf(err + l, errlen > l ? errlen - l : 0, " (the device's copy of the fill's blocks)");
        }
        return r;
}

/* Lower ext4's reserve for the fill, after journaling what to restore.
 * On a resume the journaled value wins over the current one (which may be
 * our 0), but only on the filesystem it was journaled for. */
static int reserve_lower(int dfd, const char *path, const struct rk_fill_opts *opts, const struct rk_fill_ops *ops,
                         struct rk_fill_stats *st, char *err, size_t errlen) {
        if (ext4_reserve_target(dfd, st->fs_name, sizeof st->fs_name, st->fs_id, sizeof st->fs_id) < 0) {
                st->fs_name[0] = st->fs_id[0] = 0;
                return 0;
        }
        uint64_t cur = 0;
        if (reserve_read(st->fs_name, &cur) < 0)
                return 0;
        bool mine = opts->reserve_orig >= 0 && rk_streq(opts->reserve_fs, st->fs_id);
        st->reserve_foreign = opts->reserve_orig >= 0 && !mine;
        st->reserve_orig = mine ? (uint64_t) opts->reserve_orig : cur;
        if (ops && ops->save_reserve) {
                int r = ops->save_reserve(ops->userdata, st->fs_id, st->reserve_orig);
                if (r < 0) {
                        snprintf(err, errlen, "zero-free-space %s: journaling reserved_clusters failed: %s; nothing changed",
                                 path, strerror(-r));
                        return r;
                }
        }
        RK_FAULT("zero:reserve-saved");
        st->reserve_lowered = reserve_write(st->fs_name, 0) >= 0;
        return 0;
}

#ifndef EXT4_IOC_CHECKPOINT
#define EXT4_IOC_CHECKPOINT _IOW('f', 43, __u32)       /* Linux 5.13 */
#endif
#ifndef EXT4_IOC_CHECKPOINT_FLAG_ZEROOUT
#define EXT4_IOC_CHECKPOINT_FLAG_ZEROOUT 0x2
#endif

/* EXT4_IOC_CHECKPOINT: commit ext4's journal and write everything in it
 * home (with ZEROOUT, then zero the journal).  1 when not ext4. */
static int ext4_checkpoint(int dfd, __u32 flags, const char *point) {
        if (!is_ext4(dfd))
                return 1;
        return z_ioctl(dfd, EXT4_IOC_CHECKPOINT, &flags, point);
}

/* One pass: fill, flush, read back, release.  *verify_failed tells a
 * failed read-back (worth another pass) from a failed fill. */
static int fill_pass(int dfd, const struct rk_fill_opts *opts, const struct rk_fill_ops *ops,
                     struct rk_fill_stats *st, bool *verify_failed, char *why, size_t whylen) {
        struct fill_set set = {};
        _cleanup_free_ uint64_t *sizes = NULL;
        struct rk_extent_map map = {};
        _cleanup_close_ int bdev = -1;
        struct fill_ctx c = { .ops = ops, .st = st };
        st->bytes = 0;
        st->files = 0;
        *verify_failed = false;
        uint64_t t0 = rk_now_ns();
        int r = -EOPNOTSUPP;
        if (!opts->write_only)
                r = do_fill_device(dfd, opts, &c, &set, &map, &bdev, why, whylen);
        if (r == -EOPNOTSUPP) {
                /* give back what the device path reserved, then write */
                fill_set_release(&set);
                st->bytes = st->files = 0;
                r = do_fill(dfd, opts, &c, &set, &sizes, why, whylen);
        }
        st->nsec += rk_now_ns() - t0;
        if (r >= 0 && ops && ops->progress)
                ops->progress(ops->userdata, st->bytes, st->bytes);
        if (r >= 0) {
                r = bdev >= 0 ? fill_verify_device(bdev, &map, opts, st, why, whylen)
                              : fill_verify(&set, sizes, opts, st, why, whylen);
                *verify_failed = r < 0 && r != -ENOMEM;
        }
        /* A fill file of more extents than its inode holds (fragmented
         * free space) has extent-tree blocks, which ext4 took from the free
         * space: in use while the fill was zeroed, so never zeroed, and on
         * the disk they still hold the deleted data until ext4 writes them
         * home from its journal, which the release cancels (ext4 forgets a
         * freed block's pending write).  Found by the guest scenario
         * zero-blk on Linux 6.1.  A checkpoint before the release writes
         * them home as what they are: extent records in a zeroed block. */
        if (r >= 0)
                st->tree_home = ext4_checkpoint(dfd, 0, "zero:checkpoint");
        /* release on every path: never leave the disk full */
        RK_FAULT("zero:release");
        fill_set_release(&set);
        rk_extent_map_done(&map);
        return r;
}

int rk_zero_free_space(int root_fd, const char *path, const struct rk_fill_opts *opts,
                       const struct rk_fill_ops *ops, struct rk_fill_stats *st,
                       char *err, size_t errlen) {
        *st = (struct rk_fill_stats) { .trim = -ENOTRECOVERABLE, .journal = -ENOTRECOVERABLE, .tree_home = 1 };
        char why[512] = "";
        _cleanup_close_ int dfd = rk_fill_open_mount(root_fd, path, opts->refuse_dev, err, errlen);
        if (dfd < 0)
                return dfd;

        int n = remove_stale_fill(dfd);
        st->stale_removed = n > 0 ? (unsigned) n : 0;
        /* the new directory blocks of the rest of the reset (and the
         * journal's copies of them) take no deleted data from the cache;
         * and its syncfs leaves nothing dirty to delayed allocation while
         * the fill has the disk full with the reserve at 0 */
        (void) rk_fs_drop_device_cache(dfd);

        int r = reserve_lower(dfd, path, opts, ops, st, err, errlen);
        if (r < 0)
                return r;

        for (unsigned pass = 1;; pass++) {
                bool verify_failed;
                r = fill_pass(dfd, opts, ops, st, &verify_failed, why, sizeof why);
                if (r >= 0 || !verify_failed)
                        break;
                if (pass > RK_ZERO_REPASS_MAX) {
                        size_t l = strlen(why);
                        snprintf(why + l, sizeof why - l, "; read-back still failing after %u more fills",
                                 RK_ZERO_REPASS_MAX);
                        break;
                }
                if (pass == 1)
                        st->first_failure = st->verify;
                st->repasses = pass;
                if (ops && ops->repass)
                        ops->repass(ops->userdata, pass, why);
        }

        if (st->reserve_lowered) {
                int q = reserve_write(st->fs_name, st->reserve_orig);
                st->reserve_restored = q >= 0;
                if (q < 0 && r >= 0) {
                        snprintf(why, sizeof why, "cannot restore /sys/fs/ext4/%s/reserved_clusters to %llu: %s",
                                 st->fs_name, (unsigned long long) st->reserve_orig, strerror(-q));
                        r = q;
                }
        }
        if (r < 0) {
                snprintf(err, errlen, "zero-free-space %s: %s; the fill was released", path, why);
                return r;
        }

        (void) syncfs(dfd);
        /* ext4's journal holds copies of metadata blocks as they were
         * written, and a new directory block takes whatever a stale cached
         * page of the device held in its unused bytes: the old data of
         * freed files ends up in the journal, which is not free space and
         * no fill reaches.  ZEROOUT zeroes every journal block. */
        st->journal = ext4_checkpoint(dfd, EXT4_IOC_CHECKPOINT_FLAG_ZEROOUT, "zero:journal");
        struct fstrim_range range = { .start = 0, .len = UINT64_MAX, .minlen = 0 };
        st->trim = z_ioctl(dfd, FITRIM, &range, "zero:fitrim");
        if (st->trim == 0)
                st->trimmed = range.len;
        return 0;
}

/* ---- log lines ---- */

static double mib_s(uint64_t bytes, uint64_t nsec) {
        return nsec ? (double) bytes / (1 << 20) / ((double) nsec / 1e9) : 0.0;
}

/* "verified" only for a read-back that passed on what the device holds
 * now; a failed or missing one says so. */
static void describe_verify(const struct rk_verify_result *v, char *buf, size_t len) {
        const char *how = v->full ? "full" : "sample: at least 10 % in at least 1000 places";
        if (v->done && !v->nonzero)
                snprintf(buf, len, "verified by %s read-back of %llu bytes in %llu places (%s): all zero",
                         v->direct ? "O_DIRECT" : "uncached", (unsigned long long) v->bytes,
                         (unsigned long long) v->places, how);
        else if (v->nonzero)
                snprintf(buf, len, "NOT verified: the read-back (%s) found a nonzero byte at offset %llu",
                         how, (unsigned long long) v->nonzero_offset);
        else if (v->error)
                snprintf(buf, len, "NOT verified: the read-back failed after %llu bytes: %s",
                         (unsigned long long) v->bytes, strerror(-v->error));
        else
                snprintf(buf, len, "not verified (not read back)");
}

static bool verified(const struct rk_verify_result *v) {
        return v->done && !v->nonzero;
}

/* ", re-zeroed 1 time from offset 0 after a failed read-back (...)" */
static void describe_repass(unsigned n, const char *verb, const char *tail, const struct rk_verify_result *f,
                            char *buf, size_t len) {
        if (n == 0) {
                buf[0] = 0;
                return;
        }
        char why[96];
        if (f->nonzero)
                snprintf(why, sizeof why, "nonzero byte at offset %llu", (unsigned long long) f->nonzero_offset);
        else
                snprintf(why, sizeof why, "read error: %s", strerror(f->error ? -f->error : EIO));
        snprintf(buf, len, "; %s %u time%s%s after a failed read-back (%s)", verb, n, n == 1 ? "" : "s", tail, why);
}

static const char *method_text(enum rk_zero_method m, bool is_block, bool hw) {
        if (m == RK_ZERO_BLKZEROOUT && is_block)
                return hw ? "BLKZEROOUT (the device's WRITE ZEROES)"
                          : "BLKZEROOUT (the kernel writes zero pages: the device has no WRITE ZEROES)";
        return rk_zero_method_name(m);
}

void rk_zero_describe(const struct rk_zero_stats *st, const char *what, char *buf, size_t len) {
        char v[256], again[192], claim[256];
        describe_verify(&st->verify, v, sizeof v);
        describe_repass(st->repasses, "re-zeroed", " from offset 0", &st->first_failure, again, sizeof again);
        if (st->erase != RK_ZERO_NONE && st->method == st->erase) {
                /* the device erased itself and the read-back found zeros */
                if (verified(&st->verify))
                        snprintf(claim, sizeof claim,
                                 "The device's own erase is NIST SP 800-88 Purge, remapped blocks included; "
                                 "the read-back found its addressable blocks zero");
                else
                        snprintf(claim, sizeof claim, "No sanitization claim: the read-back after the erase did not pass");
                snprintf(buf, len, "erased %s: %llu bytes in %.2f s, method %s (%s); %s. %s", what,
                         (unsigned long long) st->size, (double) st->nsec / 1e9, rk_zero_method_name(st->erase),
                         st->erase_note, v, claim);
                return;
        }
        if (st->erase != RK_ZERO_NONE && verified(&st->verify))
                snprintf(claim, sizeof claim,
                         "The device's own erase (%s) ran first (SP 800-88 Purge where the device implements it "
                         "fully); the zero pass after it is verified Clear", rk_zero_method_name(st->erase));
        else if (verified(&st->verify))
                snprintf(claim, sizeof claim,
                         "One verified zero pass is NIST SP 800-88 Clear for the %s's addressable blocks; "
                         "on flash it cannot reach blocks the drive has remapped",
                         st->is_block ? "device" : "image file");
        else
                snprintf(claim, sizeof claim, "No sanitization claim: no read-back of the zeros passed");
        snprintf(buf, len,
                 "zeroed %s: %llu bytes (%llu this run, from offset %llu) in %.2f s, %.1f MiB/s, method %s%s%s%s%s; %s. %s",
                 what, (unsigned long long) st->size, (unsigned long long) st->written,
                 (unsigned long long) st->start, (double) st->nsec / 1e9, mib_s(st->written, st->nsec),
                 method_text(st->method, st->is_block, st->hw_zeroes), st->erase_note[0] ? " (" : "",
                 st->erase_note, st->erase_note[0] ? ")" : "", again, v, claim);
}

void rk_fill_describe(const struct rk_fill_stats *st, const char *what, char *buf, size_t len) {
        char v[256], res[384] = "", trim[96], again[192], claim[256], method[256];
        if (st->method == RK_ZERO_BLKZEROOUT)
                snprintf(method, sizeof method, "%s on the fill's blocks (fallocate, FIEMAP)",
                         method_text(st->method, true, st->hw_zeroes));
        else if (st->device_why[0])
                snprintf(method, sizeof method, "%s (not the device's zeroing: %s)", rk_zero_method_name(st->method),
                         st->device_why);
        else
                snprintf(method, sizeof method, "%s", rk_zero_method_name(st->method));
        describe_verify(&st->verify, v, sizeof v);
        describe_repass(st->repasses, "filled again", "", &st->first_failure, again, sizeof again);
        if (st->reserve_lowered)
                snprintf(res, sizeof res, "; ext4 reserved_clusters of %s (%s) lowered from %llu to 0 for the fill and %s%s",
                         st->fs_name, st->fs_id, (unsigned long long) st->reserve_orig,
                         st->reserve_restored ? "restored" : "NOT restored",
                         st->reserve_foreign ? " (the journaled value named another filesystem: not used)" : "");
        if (st->trim == 0)
                snprintf(trim, sizeof trim, "FITRIM trimmed %llu bytes", (unsigned long long) st->trimmed);
        else
                snprintf(trim, sizeof trim, "FITRIM not done: %s", strerror(-st->trim));
        char journal[256] = "";
        if (st->tree_home < 0)
                snprintf(journal, sizeof journal, "; the fill's extent-tree blocks NOT written home before the "
                         "release (%s): those few blocks may keep old data", strerror(-st->tree_home));
        size_t jl = strlen(journal);
        if (st->journal == 0)
                snprintf(journal + jl, sizeof journal - jl, "; ext4's journal checkpointed and zeroed");
        else if (st->journal < 0)
                snprintf(journal + jl, sizeof journal - jl, "; ext4's journal NOT zeroed (%s): it may hold copies of old data",
                         strerror(-st->journal));
        if (verified(&st->verify))
                snprintf(claim, sizeof claim,
                         "One verified zero pass is NIST SP 800-88 Clear for what the filesystem reports free; "
                         "on flash it cannot reach blocks the drive has remapped%s",
                         st->fs_name[0] ? ", and ext4 keeps a few clusters that no file can take" : "");
        else
                snprintf(claim, sizeof claim, "No sanitization claim: no read-back of the zeros passed");
        snprintf(buf, len,
                 "zeroed free space of %s: %llu bytes in %u fill file%s (%s) in %.3f s, %.1f MiB/s, method %s%s%s; %s; released; %s%s. %s",
                 what, (unsigned long long) st->bytes, st->files, st->files == 1 ? "" : "s",
                 st->tmpfile ? "O_TMPFILE" : "named, unlinked at once", (double) st->nsec / 1e9,
                 mib_s(st->bytes, st->nsec), method, res, again, v, trim, journal, claim);
}
