/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of zero.c on image files in a temporary directory: the
 * verification plan (pure), zeroing a file whole and from a resume offset,
 * checkpoints, never extending a file, and the read-back catching a
 * planted nonzero byte.  Block devices and filesystems: tests/e2e. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "extents.h"
#include "util.h"
#include "zero.h"
#include "rktest.h"

static char tmpdir[] = "/tmp/rk-test-zero.XXXXXX";

static void check_plan(uint64_t size, uint64_t align, uint64_t seed) {
        struct rk_verify_plan p;
        rk_verify_plan_init(&p, size, align, RK_VERIFY_SAMPLE, seed);
        uint64_t total = 0, prev_end = 0;
        for (uint64_t i = 0; i < p.n_places; i++) {
                uint64_t off, len;
                rk_verify_plan_place(&p, i, &off, &len);
                assert_true(off % align == 0);
                assert_true(off >= prev_end);           /* ordered, no overlap */
                assert_true(off + len <= size);
                prev_end = off + len;
                total += len;
        }
        if (p.full) {
                assert_int_equal(total, size);
                return;
        }
        assert_true(p.n_places >= 1000);
        /* at least 10 % (the unaligned tail, if any, is read besides) */
        assert_true(total * 10 >= size / align * align);
        assert_int_equal(total + size % align, p.bytes);
}

static void test_plan_rule(void **state) {
        static const uint64_t sizes[] = {
                0, 4096, 1 << 20, 4 << 20, 40ULL << 20, (40ULL << 20) + 123,
                1ULL << 30, 64ULL << 30, 1ULL << 40, 3000 * 4096,
        };
        for (size_t i = 0; i < RK_ELEMENTSOF(sizes); i++) {
                check_plan(sizes[i], 4096, 1);
                check_plan(sizes[i], 512, 42);
        }
        /* small regions are read in full */
        struct rk_verify_plan p;
        rk_verify_plan_init(&p, 1 << 20, 4096, RK_VERIFY_SAMPLE, 1);
        assert_true(p.full);
        /* large ones are sampled, spread over the whole range */
        rk_verify_plan_init(&p, 1ULL << 30, 4096, RK_VERIFY_SAMPLE, 1);
        assert_false(p.full);
        uint64_t off, len;
        rk_verify_plan_place(&p, p.n_places - 1, &off, &len);
        assert_true(off > (1ULL << 30) / 10 * 9);
        /* the seed changes the places */
        uint64_t o2;
        struct rk_verify_plan q;
        rk_verify_plan_init(&q, 1ULL << 30, 4096, RK_VERIFY_SAMPLE, 2);
        int differ = 0;
        for (uint64_t i = 0; i < 10; i++) {
                rk_verify_plan_place(&p, i, &off, &len);
                rk_verify_plan_place(&q, i, &o2, &len);
                differ += off != o2;
        }
        assert_true(differ > 0);
        /* full reads everything */
        rk_verify_plan_init(&p, 1ULL << 30, 4096, RK_VERIFY_FULL, 1);
        assert_true(p.full);
        assert_int_equal(p.bytes, 1ULL << 30);
}

static int make_image(const char *name, uint64_t size, char *path, size_t len) {
        snprintf(path, len, "%s/%s", tmpdir, name);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        /* nonzero everywhere: 0xA5 with the offset mixed in */
        uint8_t buf[65536];
        for (uint64_t off = 0; off < size; off += sizeof buf) {
                for (size_t i = 0; i < sizeof buf; i++)
                        buf[i] = (uint8_t) (0xA5 ^ ((off + i) >> 12));
                size_t n = size - off < sizeof buf ? (size_t) (size - off) : sizeof buf;
                assert_int_equal(pwrite(fd, buf, n, (off_t) off), (ssize_t) n);
        }
        return fd;
}

static bool all_zero_from(int fd, uint64_t from, uint64_t to) {
        uint8_t buf[65536];
        for (uint64_t off = from; off < to; off += sizeof buf) {
                size_t n = to - off < sizeof buf ? (size_t) (to - off) : sizeof buf;
                assert_int_equal(pread(fd, buf, n, (off_t) off), (ssize_t) n);
                for (size_t i = 0; i < n; i++)
                        if (buf[i])
                                return false;
        }
        return true;
}

struct recorder {
        uint64_t offsets[64];
        unsigned n;
        uint64_t last_done, last_total;
        int fail_at;            /* return -EIO on this checkpoint (1-based), 0 never */
};

static int rec_checkpoint(void *userdata, uint64_t offset) {
        struct recorder *r = userdata;
        if (r->n < RK_ELEMENTSOF(r->offsets))
                r->offsets[r->n] = offset;
        r->n++;
        return r->fail_at && (int) r->n == r->fail_at ? -EIO : 0;
}

static void rec_progress(void *userdata, uint64_t done, uint64_t total) {
        struct recorder *r = userdata;
        assert_true(done >= r->last_done);
        r->last_done = done;
        r->last_total = total;
}

/* chunks follow the time a chunk took: doubled under half a second,
 * halved over two, kept between; never beyond the bounds */
static void test_next_chunk(void **state) {
        const uint64_t S = RK_ZERO_CHECKPOINT_NS, M = 1ULL << 20;
        assert_int_equal(rk_zero_next_chunk(128 * M, S / 2 - 1), 256 * M);
        assert_int_equal(rk_zero_next_chunk(128 * M, S / 2), 128 * M);
        assert_int_equal(rk_zero_next_chunk(128 * M, S), 128 * M);
        assert_int_equal(rk_zero_next_chunk(128 * M, 2 * S), 128 * M);
        assert_int_equal(rk_zero_next_chunk(128 * M, 2 * S + 1), 64 * M);
        assert_int_equal(rk_zero_next_chunk(RK_ZERO_CHUNK_MIN, 60 * S), RK_ZERO_CHUNK_MIN);
        assert_int_equal(rk_zero_next_chunk(RK_ZERO_CHUNK_MAX, 0), RK_ZERO_CHUNK_MAX);
        /* a fast device reaches the largest chunk, a slow one the smallest */
        uint64_t c = RK_ZERO_CHUNK_DEFAULT;
        for (int i = 0; i < 20; i++)
                c = rk_zero_next_chunk(c, 1000);
        assert_int_equal(c, RK_ZERO_CHUNK_MAX);
        for (int i = 0; i < 20; i++)
                c = rk_zero_next_chunk(c, 10 * S);
        assert_int_equal(c, RK_ZERO_CHUNK_MIN);
}

static void test_zero_image_whole(void **state) {
        char path[256], err[512] = "";
        /* not a multiple of 4096: the tail is zeroed too, and the file
         * does not grow */
        const uint64_t size = (5ULL << 20) + 1000;
        int fd = make_image("whole", size, path, sizeof path);
        struct recorder rec = {};
        struct rk_zero_ops ops = { .checkpoint = rec_checkpoint, .progress = rec_progress, .userdata = &rec };
        struct rk_zero_stats st;
        assert_int_equal(rk_zero_device(fd, 0, 1 << 20, &ops, &st, err, sizeof err), 0);
        assert_false(st.is_block);
        assert_int_equal(st.size, size);
        assert_int_equal(st.written, size);
        assert_true(st.method == RK_ZERO_DIRECT || st.method == RK_ZERO_BUFFERED);
        assert_int_equal(rec.n, 6);     /* 5 whole chunks and the tail */
        for (unsigned i = 0; i < 5; i++)
                assert_int_equal(rec.offsets[i], (uint64_t) (i + 1) << 20);
        assert_int_equal(rec.offsets[5], size);
        assert_int_equal(rec.last_done, size);
        assert_int_equal(rec.last_total, size);
        struct stat sst;
        assert_int_equal(fstat(fd, &sst), 0);
        assert_int_equal(sst.st_size, size);
        assert_true(all_zero_from(fd, 0, size));

        struct rk_verify_result v;
        assert_int_equal(rk_zero_verify(fd, size, RK_VERIFY_FULL, 1, NULL, NULL, &v, err, sizeof err), 0);
        assert_true(v.done);
        assert_false(v.nonzero);
        assert_int_equal(v.bytes, size);

        char line[2048];
        st.verify = v;
        rk_zero_describe(&st, path, line, sizeof line);
        assert_non_null(strstr(line, "NIST SP 800-88 Clear"));
        assert_non_null(strstr(line, "all zero"));
        assert_non_null(strstr(line, rk_zero_method_name(st.method)));
        close(fd);
}

static void test_zero_resume(void **state) {
        char path[256], err[512] = "";
        const uint64_t size = 4ULL << 20;
        int fd = make_image("resume", size, path, sizeof path);
        struct recorder rec = {};
        struct rk_zero_ops ops = { .checkpoint = rec_checkpoint, .userdata = &rec };
        struct rk_zero_stats st;
        /* an unaligned recorded offset is aligned down, never up */
        const uint64_t start = (3ULL << 20) + 100;
        assert_int_equal(rk_zero_device(fd, start, 256 << 10, &ops, &st, err, sizeof err), 0);
        assert_int_equal(st.start, 3ULL << 20);
        assert_int_equal(st.written, 1ULL << 20);
        assert_int_equal(rec.n, 4);
        assert_int_equal(rec.offsets[0], (3ULL << 20) + (256 << 10));
        /* what lies before the resume point is not rewritten */
        assert_false(all_zero_from(fd, 0, 3ULL << 20));
        assert_true(all_zero_from(fd, 3ULL << 20, size));
        /* so a full read-back of the whole file finds it */
        struct rk_verify_result v;
        assert_int_equal(rk_zero_verify(fd, size, RK_VERIFY_FULL, 1, NULL, NULL, &v, err, sizeof err),
                         -RK_ZERO_EVERIFY);
        assert_true(v.nonzero);
        assert_int_equal(v.nonzero_offset, 0);
        close(fd);
}

static void test_checkpoint_failure_stops(void **state) {
        char path[256], err[512] = "";
        int fd = make_image("ckfail", 4ULL << 20, path, sizeof path);
        struct recorder rec = { .fail_at = 2 };
        struct rk_zero_ops ops = { .checkpoint = rec_checkpoint, .userdata = &rec };
        struct rk_zero_stats st;
        assert_int_equal(rk_zero_device(fd, 0, 1 << 20, &ops, &st, err, sizeof err), -EIO);
        assert_non_null(strstr(err, "checkpoint failed"));
        assert_int_equal(rec.n, 2);
        assert_int_equal(st.written, 2ULL << 20);
        assert_false(all_zero_from(fd, 2ULL << 20, 4ULL << 20));
        close(fd);
}

static void test_verify_finds_planted_byte(void **state) {
        char path[256], err[512] = "";
        const uint64_t size = 64ULL << 20;
        int fd = make_image("planted", size, path, sizeof path);
        struct rk_zero_stats st;
        assert_int_equal(rk_zero_device(fd, 0, 0, NULL, &st, err, sizeof err), 0);
        struct rk_verify_result v;
        assert_int_equal(rk_zero_verify(fd, size, RK_VERIFY_SAMPLE, 7, NULL, NULL, &v, err, sizeof err), 0);
        assert_false(v.full);
        assert_true(v.done);    /* 2 MiB is too small to sample: read in full */
        assert_true(v.bytes * 10 >= size);

        /* one byte in the middle of a 4 KiB block: full mode must see it */
        const uint64_t at = (37ULL << 20) + 4096 * 3 + 1234;
        uint8_t x = 0x42;
        assert_int_equal(pwrite(fd, &x, 1, (off_t) at), 1);
        assert_int_equal(fdatasync(fd), 0);
        assert_int_equal(rk_zero_verify(fd, size, RK_VERIFY_FULL, 7, NULL, NULL, &v, err, sizeof err),
                         -RK_ZERO_EVERIFY);
        assert_true(v.nonzero);
        assert_int_equal(v.nonzero_offset, at);
        char want[64];
        snprintf(want, sizeof want, "offset %llu", (unsigned long long) at);
        assert_non_null(strstr(err, want));
        assert_non_null(strstr(err, "0x42"));

        /* sample mode finds a planted byte inside a place it reads */
        struct rk_verify_plan p;
        rk_verify_plan_init(&p, size, 4096, RK_VERIFY_SAMPLE, 7);
        uint64_t off, len;
        rk_verify_plan_place(&p, 500, &off, &len);
        x = 0;
        assert_int_equal(pwrite(fd, &x, 1, (off_t) at), 1);
        x = 1;
        assert_int_equal(pwrite(fd, &x, 1, (off_t) (off + len - 1)), 1);
        assert_int_equal(fdatasync(fd), 0);
        assert_int_equal(rk_zero_verify(fd, size, RK_VERIFY_SAMPLE, 7, NULL, NULL, &v, err, sizeof err),
                         -RK_ZERO_EVERIFY);
        assert_int_equal(v.nonzero_offset, off + len - 1);

        /* the unaligned tail of a file is read too */
        close(fd);
        fd = make_image("tail", 8192 + 10, path, sizeof path);
        assert_int_equal(rk_zero_device(fd, 0, 0, NULL, &st, err, sizeof err), 0);
        assert_int_equal(pwrite(fd, &x, 1, 8192 + 9), 1);
        assert_int_equal(rk_zero_verify(fd, 8192 + 10, RK_VERIFY_SAMPLE, 7, NULL, NULL, &v, err, sizeof err),
                         -RK_ZERO_EVERIFY);
        assert_int_equal(v.nonzero_offset, 8192 + 9);
        close(fd);
}

/* A device that loses writes: after zeroing passes `lose_until` times, a
 * secret block is back at `at` (the checkpoint plants it, after the flush
 * that should have made the zeros stable). */
struct lossy {
        int fd;
        uint64_t at;
        unsigned lose_passes, passes_seen, zero_checkpoints, repass_calls;
        uint64_t size;
};

static int lossy_checkpoint(void *userdata, uint64_t offset) {
        struct lossy *l = userdata;
        if (offset == 0) {
                l->zero_checkpoints++;
                return 0;
        }
        if (offset == l->size && l->passes_seen++ < l->lose_passes) {
                static const char secret[] = "SECRET-BLOCK";
                assert_int_equal(pwrite(l->fd, secret, sizeof secret, (off_t) l->at), (ssize_t) sizeof secret);
        }
        return 0;
}

static void lossy_repass(void *userdata, unsigned pass, const char *why) {
        struct lossy *l = userdata;
        l->repass_calls++;
        assert_int_equal(pass, l->repass_calls);
        assert_non_null(strstr(why, "nonzero byte 0x53"));
}

static void test_failed_read_back_zeroes_again(void **state) {
        char path[256], err[512] = "", line[2048];
        const uint64_t size = 4ULL << 20;
        int fd = make_image("lossy", size, path, sizeof path);
        struct lossy l = { .fd = fd, .at = (3ULL << 20) + 77, .lose_passes = 1, .size = size };
        struct rk_zero_ops ops = { .checkpoint = lossy_checkpoint, .repass = lossy_repass, .userdata = &l };
        struct rk_zero_stats st;
        assert_int_equal(rk_zero_device_verified(fd, 0, 1 << 20, RK_VERIFY_FULL, 1, &ops, &st, err, sizeof err), 0);
        assert_int_equal(st.repasses, 1);
        assert_int_equal(l.repass_calls, 1);
        assert_int_equal(l.zero_checkpoints, 1);        /* the journal went back to 0 first */
        assert_true(st.first_failure.nonzero);
        assert_int_equal(st.first_failure.nonzero_offset, l.at);
        assert_true(st.verify.done);
        assert_int_equal(st.written, 2 * size);
        assert_true(all_zero_from(fd, 0, size));
        rk_zero_describe(&st, path, line, sizeof line);
        assert_non_null(strstr(line, "re-zeroed 1 time from offset 0 after a failed read-back (nonzero byte at offset 3145805)"));
        assert_non_null(strstr(line, ": all zero. One verified zero pass is NIST SP 800-88 Clear"));

        /* a resume whose offset says "all done" still zeroes again when
         * what the file holds now is not zero */
        l = (struct lossy) { .fd = fd, .at = 5, .size = size };
        assert_int_equal(pwrite(fd, "S", 1, 5), 1);
        assert_int_equal(rk_zero_device_verified(fd, size, 1 << 20, RK_VERIFY_FULL, 1, &ops, &st, err, sizeof err), 0);
        assert_int_equal(st.start, size);
        assert_int_equal(st.repasses, 1);
        assert_int_equal(st.written, size);
        assert_true(all_zero_from(fd, 0, size));

        /* a device that keeps losing them: bounded, and never "verified" */
        l = (struct lossy) { .fd = fd, .at = 4096, .lose_passes = 100, .size = size };
        assert_int_equal(rk_zero_device_verified(fd, 0, 1 << 20, RK_VERIFY_FULL, 1, &ops, &st, err, sizeof err),
                         -RK_ZERO_EVERIFY);
        assert_int_equal(st.repasses, RK_ZERO_REPASS_MAX);
        assert_int_equal(l.passes_seen, RK_ZERO_REPASS_MAX + 1);
        assert_int_equal(l.zero_checkpoints, RK_ZERO_REPASS_MAX);
        assert_non_null(strstr(err, "read-back still failing after 2 more zero passes from offset 0"));
        assert_false(st.verify.done);
        rk_zero_describe(&st, path, line, sizeof line);
        assert_non_null(strstr(line, "NOT verified: the read-back (full) found a nonzero byte at offset 4096"));
        assert_null(strstr(line, "Clear"));
        assert_null(strstr(line, "verified by"));
        close(fd);
}

static void test_identity(void **state) {
        /* files: the same inode on the same filesystem, whatever the device number says */
        const char *f1 = "file fs=uuid:4a5fb1c8-37cd-4f4d-85f1-719b392f143e dev=254:1 ino=12 size=4096";
        assert_true(rk_zero_id_same(f1, f1));
        assert_true(rk_zero_id_same(f1, "file fs=uuid:4a5fb1c8-37cd-4f4d-85f1-719b392f143e dev=254:7 ino=12 size=4096"));
        assert_false(rk_zero_id_same(f1, "file fs=uuid:4a5fb1c8-37cd-4f4d-85f1-719b392f143e dev=254:1 ino=13 size=4096"));
        assert_false(rk_zero_id_same(f1, "file fs=uuid:4a5fb1c8-37cd-4f4d-85f1-719b392f143e dev=254:1 ino=12 size=8192"));
        assert_false(rk_zero_id_same(f1, "file fs=uuid:00000000-37cd-4f4d-85f1-719b392f143e dev=254:1 ino=12 size=4096"));
        /* no filesystem identity: the device number decides */
        assert_true(rk_zero_id_same("file fs=none dev=8:1 ino=12 size=1", "file fs=none dev=8:1 ino=12 size=1"));
        assert_false(rk_zero_id_same("file fs=none dev=8:1 ino=12 size=1", "file fs=none dev=8:2 ino=12 size=1"));
        /* block devices: a loop device renumbered after a reboot is the
         * same by its backing file; without a stable ID, number and size */
        const char *b1 = "block dev=7:0 size=16777216 stable=loop-file:254:1:77@0";
        assert_true(rk_zero_id_same(b1, "block dev=7:3 size=16777216 stable=loop-file:254:1:77@0"));
        assert_false(rk_zero_id_same(b1, "block dev=7:0 size=16777216 stable=loop-file:254:1:78@0"));
        assert_false(rk_zero_id_same(b1, "block dev=7:0 size=33554432 stable=loop-file:254:1:77@0"));
        assert_true(rk_zero_id_same("block dev=8:2 size=10", "block dev=8:2 size=10"));
        assert_false(rk_zero_id_same("block dev=8:2 size=10", "block dev=8:3 size=10"));
        assert_true(rk_zero_id_same("block dev=8:2 size=10", "block dev=8:2 size=10 stable=partuuid:abc"));
        assert_false(rk_zero_id_same(b1, f1));
        assert_false(rk_zero_id_same(NULL, f1));
        assert_false(rk_zero_id_same("", ""));
        assert_false(rk_zero_id_same("garbage", "garbage"));
        /* kernel names are never part of it */
        assert_null(strstr(b1, "loop0"));

        char why[1024];
        assert_int_equal(rk_zero_resume_offset(4096, f1, f1, why, sizeof why), 4096);
        assert_string_equal(why, "");
        assert_int_equal(rk_zero_resume_offset(0, NULL, f1, why, sizeof why), 0);
        assert_string_equal(why, "");
        assert_int_equal(rk_zero_resume_offset(4096, NULL, f1, why, sizeof why), 0);
        assert_non_null(strstr(why, "the journaled offset 4096 names no target"));
        assert_int_equal(rk_zero_resume_offset(4096, b1, f1, why, sizeof why), 0);
        assert_non_null(strstr(why, "the journaled offset 4096 belongs to another target (journaled: block dev=7:0"));
        assert_non_null(strstr(why, "zeroing from offset 0"));

        /* an image file: identified by filesystem, inode and size */
        char path[256], id[RK_ZERO_ID_MAX];
        int fd = make_image("ident", 8192, path, sizeof path);
        assert_int_equal(rk_zero_target_id(fd, id, sizeof id), 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        char want[64];
        snprintf(want, sizeof want, " ino=%llu size=8192", (unsigned long long) st.st_ino);
        assert_true(rk_startswith(id, "file fs="));
        assert_non_null(strstr(id, want));
        assert_true(rk_zero_id_same(id, id));
        close(fd);
        int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(rk_zero_target_id(dfd, id, sizeof id), -ENOTBLK);
        close(dfd);
}

static void test_refuses_other_types(void **state) {
        char err[512] = "";
        struct rk_zero_stats st;
        int fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(rk_zero_device(fd, 0, 0, NULL, &st, err, sizeof err), -ENOTBLK);
        assert_non_null(strstr(err, "not a block device or regular file"));
        close(fd);
}

static void test_free_space_refuses_plain_directory(void **state) {
        /* tmpdir lies on whatever holds /tmp: not a mount point inside
         * the root, so nothing may be filled.  Were a refusal ever lost,
         * RLIMIT_FSIZE keeps the fill to 1 MiB per file instead of the
         * host's disk (EFBIG ends a fill like ENOSPC). */
        struct rlimit old, lim;
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        lim = old;
        lim.rlim_cur = 1 << 20;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
        char err[512] = "";
        int rfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rfd >= 0);
        assert_int_equal(mkdirat(rfd, "data", 0755), 0);
        struct rk_fill_opts o = { .reserve_orig = -1 };
        struct rk_fill_stats st;
        assert_int_equal(rk_zero_free_space(rfd, "/", &o, NULL, &st, err, sizeof err), -EPERM);
        assert_non_null(strstr(err, "not a mount point inside the root"));
        assert_int_equal(rk_zero_free_space(rfd, "/data", &o, NULL, &st, err, sizeof err), -EPERM);
        assert_int_equal(symlinkat("/", rfd, "hostroot"), 0);
        assert_int_equal(rk_zero_free_space(rfd, "/hostroot", &o, NULL, &st, err, sizeof err), -ELOOP);
        assert_int_equal(rk_zero_free_space(rfd, "/../..", &o, NULL, &st, err, sizeof err), -EXDEV);
        assert_int_equal(st.bytes, 0);
        close(rfd);
        signal(SIGXFSZ, old_sig);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
}

/* The read-back of the device fill reads where the map puts each logical
 * byte: a map over zeroed regions passes; one extent over an old byte fails
 * and names that byte's offset on the device (not the logical one). */
static void test_verify_mapped(void **state) {
        char path[256], err[512] = "";
        const uint64_t size = 4ULL << 20;
        int fd = make_image("mapped", size, path, sizeof path);
        /* device [1 MiB, 2 MiB) and [3 MiB, 4 MiB) zero; the rest old data */
        uint8_t *z = calloc(1, 1 << 20);
        assert_non_null(z);
        assert_int_equal(pwrite(fd, z, 1 << 20, 1 << 20), 1 << 20);
        assert_int_equal(pwrite(fd, z, 1 << 20, 3 << 20), 1 << 20);
        free(z);
        struct rk_extent ext[3] = {
                { .logical = 0, .physical = 3 << 20, .length = 512 << 10 },
                { .logical = 512 << 10, .physical = 1 << 20, .length = 1 << 20 },
                { .logical = (512 << 10) + (1 << 20), .physical = (3 << 20) + (512 << 10), .length = 512 << 10 },
        };
        struct rk_extent_map m = { .v = ext, .n = 3, .cap = 3, .total = 2 << 20 };
        assert_int_equal(rk_extent_map_find(&m, 0), 0);
        assert_int_equal(rk_extent_map_find(&m, (512 << 10) - 1), 0);
        assert_int_equal(rk_extent_map_find(&m, 512 << 10), 1);
        assert_int_equal(rk_extent_map_find(&m, (2 << 20) - 1), 2);
        struct rk_verify_result v;
        assert_int_equal(rk_zero_verify_mapped(fd, &m, RK_VERIFY_FULL, 1, &v, err, sizeof err), 0);
        assert_true(v.done);
        assert_int_equal(v.bytes, 2 << 20);
        assert_int_equal(rk_zero_verify_mapped(fd, &m, RK_VERIFY_SAMPLE, 3, &v, err, sizeof err), 0);
        assert_true(v.done);    /* 2 MiB is too small to sample: read in full */
        /* the middle extent moved onto old data at device offset 2 MiB */
        ext[1].physical = 2 << 20;
        assert_int_equal(rk_zero_verify_mapped(fd, &m, RK_VERIFY_FULL, 1, &v, err, sizeof err), -RK_ZERO_EVERIFY);
        assert_true(v.nonzero);
        assert_int_equal(v.nonzero_offset, 2 << 20);
        /* a map that is not whole blocks is refused, nothing read */
        m.total -= 1;
        ext[2].length -= 1;
        assert_int_equal(rk_zero_verify_mapped(fd, &m, RK_VERIFY_FULL, 1, &v, err, sizeof err), -EINVAL);
        close(fd);
}

static int setup(void **state) {
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
        return rkt_rm_rf(tmpdir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_rule),
                cmocka_unit_test(test_next_chunk),
                cmocka_unit_test(test_zero_image_whole),
                cmocka_unit_test(test_zero_resume),
                cmocka_unit_test(test_checkpoint_failure_stops),
                cmocka_unit_test(test_verify_finds_planted_byte),
                cmocka_unit_test(test_verify_mapped),
                cmocka_unit_test(test_failed_read_back_zeroes_again),
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_refuses_other_types),
                cmocka_unit_test(test_free_space_refuses_plain_directory),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
