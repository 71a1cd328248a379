/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-rm-driver ROOT GLOB [dry] — remove GLOB inside ROOT with
 * rk_rm_entry() (what a manifest "remove" entry does) and print the counts
 * and the time taken.  Used by bench-rmtree.sh against rm -rf. */
#include <fcntl.h>
#include <inttypes.h>

#include "rmtree.h"
#include "util.h"

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: %s ROOT GLOB [dry]\n", argv[0]);
                return 2;
        }
        _cleanup_close_ int root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                fprintf(stderr, "%s: %m\n", argv[1]);
                return 1;
        }
        struct rk_log log;
        rk_log_init(&log, "bench-rm-driver");
        struct rk_rm_opts o = { .dry_run = argc > 3 && rk_streq(argv[3], "dry"), .log = &log };
        struct rk_rm_stats st = {};
        uint64_t t0 = rk_now_ns();
        int r = rk_rm_entry(root, RK_MF_REMOVE, argv[2], 0, &o, &st);
        uint64_t t1 = rk_now_ns();
        printf("files=%" PRIu64 " dirs=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f\n",
               st.files, st.dirs, st.bytes, (double) (t1 - t0) / 1e9);
        if (r < 0) {
                fprintf(stderr, "rk_rm_entry: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
