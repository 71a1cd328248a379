/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reset-failsafe — the Fail-Safe Restore at power-on.  A thin main over
 * libresetkit: the sequence is lib/failsafe/failsafe.c, its runtime lib/failsafe/run.c. */
#include <getopt.h>

#include "ctx.h"
#include "exitcode.h"
#include "failsafe-run.h"
#include "rk-build-config.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: reset-failsafe [--config FILE] [--root DIR] [--initrd] [--check-config]\n"
                "\n"
                "Early-boot Fail-Safe Restore: when the reset button is held at power-on, guide\n"
                "the user with the LED and factory-reset the target root.  See reset-failsafe(8).\n"
                "\n"
                "  --config FILE    configuration file (default: /etc/resetkit/resetd.conf in the root)\n"
                "  --root DIR       the target root to reset (e.g. /sysroot; default /)\n"
                "  --initrd         running in the initramfs: DIR is the system being booted, so\n"
                "                   reboot and power-off act on this machine\n"
                "  --check-config   parse the configuration, print it, exit\n"
                "  -h, --help       this help\n"
                "  --version        the version\n");
}

int main(int argc, char **argv) {
        enum { OPT_ROOT = 0x100, OPT_CONFIG, OPT_INITRD, OPT_CHECK, OPT_VERSION };
        static const struct option opts[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "config", required_argument, NULL, OPT_CONFIG },
                { "initrd", no_argument, NULL, OPT_INITRD },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        struct rk_failsafe_run_opts ro = {};
        const char *root = NULL, *config = NULL;
        bool check = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_ROOT: root = optarg; break;
                case OPT_CONFIG: config = optarg; break;
                case OPT_INITRD: ro.initrd = true; break;
                case OPT_CHECK: check = true; break;
                case 'h': usage(stdout); return RK_EXIT_OK;
                case OPT_VERSION: printf("reset-failsafe %s\n", RK_VERSION); return RK_EXIT_OK;
                default: usage(stderr); return RK_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "reset-failsafe: unexpected argument '%s'\n", argv[optind]);
                return RK_EXIT_USAGE;
        }
        struct rk_ctx ctx = {};
        int r = rk_ctx_open(&ctx, "reset-failsafe", root, config);
        if (r < 0) {
                rk_ctx_close(&ctx);
                return r == -EINVAL ? RK_EXIT_USAGE : RK_EXIT_FAILURE;
        }
        int ret;
        if (check)
                ret = rk_config_dump(&ctx.cfg, stdout) < 0 ? RK_EXIT_FAILURE : RK_EXIT_OK;
        else {
                /* early boot has no journal yet: the kernel log keeps the decisions */
                ro.kmsg = true;
                ret = rk_failsafe_run(&ctx, &ro);
        }
        rk_ctx_close(&ctx);
        return ret;
}
