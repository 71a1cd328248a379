/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of slots.c that need no loop device: the mountinfo parser
 * (pure), and the preflight refusals and boot-metadata removal with image
 * file slots and a plain-directory root.  Loop devices and mounts (a
 * mounted slot, the root's own device, auto detection): tests/e2e/test_zero.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "conf.h"
#include "grubenv.h"
#include "slots.h"
#include "util.h"
#include "rktest.h"

static char tmpdir[] = "/tmp/rk-test-slots.XXXXXX";

static const char mountinfo[] =
        "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n"
        "25 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
        "40 22 7:3 / /mnt/img\\040dir rw,relatime shared:20 - ext4 /dev/loop3 rw\n";

static bool fake_part(dev_t part, dev_t whole) {
        /* 8:2 is a partition of 8:0 */
        return part == makedev(8, 2) && whole == makedev(8, 0);
}

static void test_mountinfo(void **state) {
        char mp[256];
        assert_int_equal(rk_mountinfo_find(mountinfo, makedev(7, 3), NULL, mp, sizeof mp), 1);
        assert_string_equal(mp, "/mnt/img\\040dir");
        assert_int_equal(rk_mountinfo_find(mountinfo, makedev(8, 2), NULL, mp, sizeof mp), 1);
        assert_string_equal(mp, "/");
        assert_int_equal(rk_mountinfo_find(mountinfo, makedev(7, 4), NULL, mp, sizeof mp), 0);
        /* the whole disk of a mounted partition counts as mounted */
        assert_int_equal(rk_mountinfo_find(mountinfo, makedev(8, 0), NULL, mp, sizeof mp), 0);
        assert_int_equal(rk_mountinfo_find(mountinfo, makedev(8, 0), fake_part, mp, sizeof mp), 1);
        assert_string_equal(mp, "/");
        assert_int_equal(rk_mountinfo_find("garbage line\n", makedev(8, 0), NULL, mp, sizeof mp), -EINVAL);
        assert_int_equal(rk_mountinfo_find("", makedev(8, 0), NULL, mp, sizeof mp), 0);
}

static void make_file(const char *rel, const char *content) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
}

static bool exists(const char *rel) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
        return access(p, F_OK) == 0;
}

/* A config with image-file slots a and b in tmpdir, extra lines after. */
static void config(struct rk_config *c, const char *active, const char *b_path, const char *extra) {
        char text[2048], err[512] = "";
        snprintf(text, sizeof text,
                 "[slots]\na = %s/slot-a.img\nb = %s\nactive = %s\n%s",
                 tmpdir, b_path, active, extra);
        assert_int_equal(rk_config_init(c), 0);
        int r = rk_config_parse_string(c, text, "t.conf", err, sizeof err);
        if (r < 0)
                fail_msg("config: %s", err);
}

static int root_fd(void) {
        char p[512];
        snprintf(p, sizeof p, "%s/root", tmpdir);
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

/* The exact refusal: its error code and its whole message (printf-style,
 * so the temporary directory can be put in), which always ends by saying
 * nothing changed. */
static void expect_refusal(struct rk_config *c, int want, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void expect_refusal(struct rk_config *c, int want, int code, const char *fmt, ...) {
        char err[1024] = "", expected[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(expected, sizeof expected, fmt, ap);
        va_end(ap);
        struct rk_slots s;
        int rfd = root_fd();
        int r = rk_slots_preflight(c, rfd, want, &s, err, sizeof err);
        close(rfd);
        if (r != code || strcmp(err, expected) != 0)
                fail_msg("expected %d '%s', got %d '%s'", code, expected, r, err);
        assert_true(rk_endswith(err, "; nothing changed"));
        assert_int_equal(s.target, -1);
        rk_slots_done(&s);
        rk_config_free(c);
}

static void test_refusals(void **state) {
        struct rk_config c;
        char b[512];
        snprintf(b, sizeof b, "%s/slot-b.img", tmpdir);
        struct stat rst;
        char rootp[512];
        snprintf(rootp, sizeof rootp, "%s/root", tmpdir);
        assert_int_equal(stat(rootp, &rst), 0);
        const char *t = tmpdir;

        /* auto on a root that neither slot backs */
        config(&c, "auto", b, "");
        expect_refusal(&c, -1, -EINVAL,
                       "refused: cannot tell the active slot: neither slot backs the root filesystem (device %u:%u); "
                       "set [slots] active = a or b; nothing changed", major(rst.st_dev), minor(rst.st_dev));

        /* the active slot, asked for explicitly */
        config(&c, "a", b, "");
        expect_refusal(&c, 0, -EPERM,
                       "refused: slot a (%s/slot-a.img) is the active slot ([slots] active); only the inactive slot is zeroed; nothing changed",
                       t);

        /* a missing slot device */
        snprintf(b, sizeof b, "%s/missing.img", tmpdir);
        config(&c, "a", b, "");
        expect_refusal(&c, -1, -ENOENT, "refused: slot b (%s/missing.img): No such file or directory; nothing changed", t);

        /* a by-partlabel-style symlink that resolves to the active slot */
        snprintf(b, sizeof b, "%s/by-partlabel/root-b", tmpdir);
        config(&c, "a", b, "");
        expect_refusal(&c, -1, -EPERM,
                       "refused: slot b (%s/by-partlabel/root-b -> %s/slot-a.img) is the same file as the active slot a (%s/slot-a.img); nothing changed",
                       t, t, t);

        /* neither block device nor file */
        config(&c, "a", tmpdir, "");
        expect_refusal(&c, -1, -ENOTBLK, "refused: slot b (%s): neither a block device nor a regular file; nothing changed", t);

        /* one unset */
        assert_int_equal(rk_config_init(&c), 0);
        expect_refusal(&c, -1, -EINVAL, "refused: zero-partition needs both [slots] a and b; a is not set; nothing changed");

        /* a grubenv key shared by both slots */
        snprintf(b, sizeof b, "%s/slot-b.img", tmpdir);
        config(&c, "a", b, "grubenv = /boot/grub/grubenv\na-grubenv-keys = a_ok saved_entry\nb-grubenv-keys = b_ok saved_entry\n");
        expect_refusal(&c, -1, -EINVAL,
                       "refused: grubenv key 'saved_entry' is listed for both slots: removing it for slot b (%s/slot-b.img) "
                       "would break the active slot's boot; nothing changed", t);

        /* a broken grubenv block: refused before anything changes */
        make_file("root/boot/grub/grubenv", "# GRUB Environment Block\nb_ok=1\n");
        config(&c, "a", b, "grubenv = /boot/grub/grubenv\nb-grubenv-keys = b_ok\n");
        expect_refusal(&c, -1, -EINVAL,
                       "refused: /boot/grub/grubenv: not a GRUB environment block: 32 bytes, expected exactly 1024; nothing changed");

        /* a boot-files glob that also matches the active slot's files */
        config(&c, "a", b, "a-boot-files = /boot/vmlinuz-*\nb-boot-files = /boot/vmlinuz*\n");
        expect_refusal(&c, -1, -EINVAL,
                       "refused: /boot/vmlinuz* matches boot/vmlinuz-a of slot b (%s/slot-b.img) and also the active slot's "
                       "boot-files '/boot/vmlinuz-*'; nothing changed", t);
}

static void test_accept_and_boot_metadata(void **state) {
        char b[512], err[1024] = "", blk[RK_GRUBENV_SIZE];
        snprintf(b, sizeof b, "%s/by-partlabel/root-b-good", tmpdir);
        struct rk_config c;
        config(&c, "a", b,
               "grubenv = /boot/grub/grubenv\na-grubenv-keys = a_ok a_try\nb-grubenv-keys = b_ok b_try\n"
               "a-boot-files = /boot/vmlinuz-a /boot/initrd-a*\nb-boot-files = /boot/vmlinuz-b /boot/initrd-b* /boot/loader/b.conf\n");
        const char *body = "saved_entry=a\na_ok=1\nb_ok=1\nb_try=0\n";
        size_t sl = strlen(RK_GRUBENV_SIGNATURE);
        memcpy(blk, RK_GRUBENV_SIGNATURE, sl);
        memcpy(blk + sl, body, strlen(body));
        memset(blk + sl + strlen(body), '#', sizeof blk - sl - strlen(body));
        char p[512];
        snprintf(p, sizeof p, "%s/root/boot/grub/grubenv", tmpdir);
        int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_int_equal(write(fd, blk, sizeof blk), (ssize_t) sizeof blk);
        close(fd);
        make_file("root/boot/vmlinuz-a", "A");
        make_file("root/boot/initrd-a.img", "A");
        make_file("root/boot/vmlinuz-b", "B");
        make_file("root/boot/initrd-b.img", "B");
        make_file("root/boot/initrd-b.img.old", "B");

        int rfd = root_fd();
        struct rk_slots s;
        int r = rk_slots_preflight(&c, rfd, -1, &s, err, sizeof err);
        if (r < 0)
                fail_msg("%s", err);
        assert_int_equal(r, 1);
        assert_int_equal(s.active, 0);
        assert_false(s.slot[1].is_block);
        assert_int_equal(s.slot[1].size, 3 << 20);
        int zfd = rk_slot_open_target(&s, err, sizeof err);
        assert_true(zfd >= 0);
        close(zfd);

        struct rk_boot_meta_result res;
        assert_int_equal(rk_slot_remove_boot_metadata(&c, rfd, 1, &res, err, sizeof err), 0);
        assert_int_equal(res.keys_removed, 2);
        assert_int_equal(res.files_removed, 4);
        assert_false(exists("root/boot/loader/b.conf"));
        assert_true(exists("root/boot/vmlinuz-a"));
        assert_true(exists("root/boot/initrd-a.img"));
        assert_false(exists("root/boot/vmlinuz-b"));
        assert_false(exists("root/boot/initrd-b.img.old"));
        char buf[2048];
        fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_int_equal(read(fd, buf, sizeof buf), RK_GRUBENV_SIZE);
        close(fd);
        struct rk_grubenv env = {};
        assert_int_equal(rk_grubenv_parse(buf, RK_GRUBENV_SIZE, p, &env, err, sizeof err), 0);
        assert_string_equal(rk_grubenv_get(&env, "a_ok"), "1");
        assert_string_equal(rk_grubenv_get(&env, "saved_entry"), "a");
        assert_null(rk_grubenv_get(&env, "b_ok"));
        rk_grubenv_done(&env);

        /* again: nothing left, nothing changed */
        assert_int_equal(rk_slot_remove_boot_metadata(&c, rfd, 1, &res, err, sizeof err), 0);
        assert_int_equal(res.keys_removed, 0);
        assert_int_equal(res.files_removed, 0);
        close(rfd);
        rk_slots_done(&s);
        rk_config_free(&c);
}

static int setup(void **state) {
        if (!mkdtemp(tmpdir))
                return -1;
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "cd %s && mkdir -p root/boot/grub root/boot/loader by-partlabel && "
                 "truncate -s 2M slot-a.img && truncate -s 3M slot-b.img && "
                 "ln -s ../slot-a.img by-partlabel/root-b && ln -s ../slot-b.img by-partlabel/root-b-good && "
                 "echo B > root/boot/loader/b.conf && echo A > root/boot/vmlinuz-a",
                 tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state) {
        return rkt_rm_rf(tmpdir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mountinfo),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_accept_and_boot_metadata),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
