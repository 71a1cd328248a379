/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the GRUB environment block (grubenv.c): the parser and
 * writer against blocks made by the real grub-editenv when it is installed
 * (package grub-common) and by hand otherwise, and the atomic key removal
 * on a file in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "grubenv.h"
#include "util.h"
#include "rktest.h"

static char tmpdir[] = "/tmp/rk-test-grubenv.XXXXXX";

/* A block as grub-editenv writes it: signature, lines, '#' padding. */
static void make_block(char out[RK_GRUBENV_SIZE], const char *body) {
        size_t sl = strlen(RK_GRUBENV_SIGNATURE), bl = strlen(body);
        assert_true(sl + bl <= RK_GRUBENV_SIZE);
        memcpy(out, RK_GRUBENV_SIGNATURE, sl);
        memcpy(out + sl, body, bl);
        memset(out + sl + bl, '#', RK_GRUBENV_SIZE - sl - bl);
}

static bool have_grub_editenv(void) {
        return system("command -v grub-editenv >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const void *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static size_t read_file(const char *path, char *buf, size_t max) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        ssize_t n = read(fd, buf, max);
        assert_true(n >= 0);
        close(fd);
        return (size_t) n;
}

static void test_parse_hand_made(void **state) {
        char blk[RK_GRUBENV_SIZE], err[256] = "";
        make_block(blk, "# WARNING: comment\nsaved_entry=slot-a\nb_ok=1\nesc=x\\\\y\\\nz\n");
        struct rk_grubenv env = {};
        assert_int_equal(rk_grubenv_parse(blk, sizeof blk, "t", &env, err, sizeof err), 0);
        assert_int_equal(env.n_lines, 4);
        assert_null(env.lines[0].name);
        assert_string_equal(rk_grubenv_get(&env, "saved_entry"), "slot-a");
        assert_string_equal(rk_grubenv_get(&env, "b_ok"), "1");
        assert_string_equal(rk_grubenv_get(&env, "esc"), "x\\y\nz");
        assert_null(rk_grubenv_get(&env, "nope"));

        /* round trip is byte-exact */
        char out[RK_GRUBENV_SIZE];
        assert_int_equal(rk_grubenv_serialize(&env, out), 0);
        assert_memory_equal(out, blk, sizeof blk);
        rk_grubenv_done(&env);
}

static void expect_refused(const char *buf, size_t len, const char *what) {
        char err[256] = "";
        struct rk_grubenv env = {};
        assert_int_equal(rk_grubenv_parse(buf, len, "blk", &env, err, sizeof err), -EINVAL);
        if (!strstr(err, what))
                fail_msg("error '%s' does not say '%s'", err, what);
        assert_int_equal(env.n_lines, 0);
}

static void test_parse_refusals(void **state) {
        char blk[RK_GRUBENV_SIZE + 1];
        make_block(blk, "a=1\n");
        expect_refused(blk, RK_GRUBENV_SIZE - 1, "1023 bytes, expected exactly 1024");
        blk[RK_GRUBENV_SIZE] = '#';
        expect_refused(blk, RK_GRUBENV_SIZE + 1, "1025 bytes");
        expect_refused(blk, 0, "0 bytes");

        make_block(blk, "a=1\n");
        blk[0] = 'X';
        expect_refused(blk, RK_GRUBENV_SIZE, "does not start with");

        make_block(blk, "a=1\nnoequals\n");
        expect_refused(blk, RK_GRUBENV_SIZE, "line 3 is neither");
        make_block(blk, "=1\n");
        expect_refused(blk, RK_GRUBENV_SIZE, "line 2 is neither");

        make_block(blk, "a=1\n");
        blk[RK_GRUBENV_SIZE - 10] = 'x';
        expect_refused(blk, RK_GRUBENV_SIZE, "in the padding at offset 1014");

        make_block(blk, "a=1\n");
        blk[30] = 0;
        expect_refused(blk, RK_GRUBENV_SIZE, "NUL byte at offset 30");

        /* a value running into the end without its newline */
        size_t sl = strlen(RK_GRUBENV_SIGNATURE);
        memcpy(blk, RK_GRUBENV_SIGNATURE, sl);
        memcpy(blk + sl, "k=", 2);
        memset(blk + sl + 2, 'v', RK_GRUBENV_SIZE - sl - 2);
        expect_refused(blk, RK_GRUBENV_SIZE, "line 2 is not terminated");
}

static void test_set_unset_and_full(void **state) {
        char blk[RK_GRUBENV_SIZE], out[RK_GRUBENV_SIZE], err[256];
        make_block(blk, "");
        struct rk_grubenv env = {};
        assert_int_equal(rk_grubenv_parse(blk, sizeof blk, "t", &env, err, sizeof err), 0);
        assert_int_equal(env.n_lines, 0);
        assert_int_equal(rk_grubenv_set(&env, "a", "1"), 0);
        assert_int_equal(rk_grubenv_set(&env, "b", "two\nlines\\"), 0);
        assert_int_equal(rk_grubenv_set(&env, "a", "3"), 0);
        assert_int_equal(rk_grubenv_set(&env, "bad=name", "x"), -EINVAL);
        assert_int_equal(rk_grubenv_set(&env, "", "x"), -EINVAL);
        assert_int_equal(rk_grubenv_serialize(&env, out), 0);
        make_block(blk, "a=3\nb=two\\\nlines\\\\\n");
        assert_memory_equal(out, blk, sizeof blk);
        assert_int_equal(rk_grubenv_unset(&env, "a"), 1);
        assert_int_equal(rk_grubenv_unset(&env, "a"), 0);

        /* GRUB's limit: a block that does not fit is an error, never cut */
        char big[2000];
        memset(big, 'v', sizeof big - 1);
        big[sizeof big - 1] = 0;
        assert_int_equal(rk_grubenv_set(&env, "big", big), 0);
        assert_int_equal(rk_grubenv_serialize(&env, out), -ENOSPC);
        rk_grubenv_done(&env);
}

static void test_real_grub_editenv_blocks(void **state) {
        if (!have_grub_editenv()) {
                /* the hand-made blocks above follow the same format */
                print_message("grub-editenv not installed: real-block test skipped\n");
                skip();
        }
        char path[256], cmd[1024], buf[RK_GRUBENV_SIZE + 16], err[256] = "";
        snprintf(path, sizeof path, "%s/real", tmpdir);
        snprintf(cmd, sizeof cmd,
                 "grub-editenv %s create && grub-editenv %s set saved_entry=a 'b_cmdline=ro quiet' 'esc=x\\y' a_ok=1",
                 path, path);
        assert_int_equal(system(cmd), 0);
        size_t n = read_file(path, buf, sizeof buf);
        assert_int_equal(n, RK_GRUBENV_SIZE);

        struct rk_grubenv env = {};
        assert_int_equal(rk_grubenv_parse(buf, n, path, &env, err, sizeof err), 0);
        assert_string_equal(rk_grubenv_get(&env, "saved_entry"), "a");
        assert_string_equal(rk_grubenv_get(&env, "b_cmdline"), "ro quiet");
        assert_string_equal(rk_grubenv_get(&env, "esc"), "x\\y");
        char out[RK_GRUBENV_SIZE];
        assert_int_equal(rk_grubenv_serialize(&env, out), 0);
        assert_memory_equal(out, buf, RK_GRUBENV_SIZE);
        rk_grubenv_done(&env);

        /* our rewrite is what grub-editenv reads back */
        int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *keys[] = { "b_cmdline", "esc", NULL };
        size_t removed = 0;
        assert_int_equal(rk_grubenv_remove_keys_at(dfd, "real", keys, &removed, err, sizeof err), 0);
        assert_int_equal(removed, 2);
        close(dfd);
        char list[256];
        snprintf(cmd, sizeof cmd, "grub-editenv %s list > %s/list", path, tmpdir);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof path, "%s/list", tmpdir);
        n = read_file(path, list, sizeof list - 1);
        list[n] = 0;
        assert_string_equal(list, "saved_entry=a\na_ok=1\n");
}

static void test_remove_keys_at(void **state) {
        char blk[RK_GRUBENV_SIZE], buf[2048], err[256] = "", path[256];
        int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        snprintf(path, sizeof path, "%s/boot/grub", tmpdir);
        char mk[300];
        snprintf(mk, sizeof mk, "mkdir -p %s", path);
        assert_int_equal(system(mk), 0);
        snprintf(path, sizeof path, "%s/boot/grub/grubenv", tmpdir);
        make_block(blk, "# keep me\nsaved_entry=a\nb_try=1\nb_ok=1\nb_try=2\nother=x\n");
        write_file(path, blk, sizeof blk);
        chmod(path, 0600);

        char *keys[] = { "b_try", "b_ok", "absent", NULL };
        size_t removed = 99;
        assert_int_equal(rk_grubenv_remove_keys_at(dfd, "/boot/grub/grubenv", keys, &removed, err, sizeof err), 0);
        assert_int_equal(removed, 3);
        assert_int_equal(read_file(path, buf, sizeof buf), RK_GRUBENV_SIZE);
        make_block(blk, "# keep me\nsaved_entry=a\nother=x\n");
        assert_memory_equal(buf, blk, RK_GRUBENV_SIZE);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* idempotent: a second run does not rewrite the file */
        ino_t ino = st.st_ino;
        assert_int_equal(rk_grubenv_remove_keys_at(dfd, "boot/grub/grubenv", keys, &removed, err, sizeof err), 0);
        assert_int_equal(removed, 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_ino, ino);

        /* a wrong-sized file is refused and left as it was */
        write_file(path, "# GRUB Environment Block\nb_ok=1\n", 32);
        assert_int_equal(rk_grubenv_remove_keys_at(dfd, "boot/grub/grubenv", keys, &removed, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "32 bytes, expected exactly 1024"));
        assert_non_null(strstr(err, "left unchanged"));
        assert_int_equal(read_file(path, buf, sizeof buf), 32);

        /* a symlinked directory on the way is refused, not followed */
        snprintf(mk, sizeof mk, "ln -sfn %s/boot %s/link", tmpdir, tmpdir);
        assert_int_equal(system(mk), 0);
        assert_int_equal(rk_grubenv_remove_keys_at(dfd, "link/grub/grubenv", keys, &removed, err, sizeof err), -ELOOP);
        assert_non_null(strstr(err, "link/grub/grubenv"));

        /* missing file */
        assert_int_equal(rk_grubenv_remove_keys_at(dfd, "boot/grub/none", keys, &removed, err, sizeof err), -ENOENT);
        close(dfd);
}

static int setup(void **state) {
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
        return rkt_rm_rf(tmpdir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_hand_made),
                cmocka_unit_test(test_parse_refusals),
                cmocka_unit_test(test_set_unset_and_full),
                cmocka_unit_test(test_real_grub_editenv_blocks),
                cmocka_unit_test(test_remove_keys_at),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
