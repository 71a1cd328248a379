/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetd — the reset-button daemon.  A thin main over libresetkit. */
#include <getopt.h>

#include "ctx.h"
#include "daemon.h"
#include "exitcode.h"
#include "rk-build-config.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: resetd [--config FILE] [--root DIR] [--foreground] [--check-config]\n"
                "\n"
                "Watches the reset button and turns a hold into reboot, rescue configuration,\n"
                "factory reset or cancel, with LED feedback.  See resetd(8).\n"
                "\n"
                "  --config FILE    configuration file (default: /etc/resetkit/resetd.conf in the root)\n"
                "  --root DIR       the tree actions operate on (default /)\n"
                "  --foreground     run as a plain foreground process (no systemd notification)\n"
                "  --check-config   parse the configuration, print it, exit\n"
                "  -h, --help       this help\n"
                "  --version        the version\n");
}

int main(int argc, char **argv) {
        enum { OPT_ROOT = 0x100, OPT_CONFIG, OPT_FOREGROUND, OPT_CHECK, OPT_VERSION };
        static const struct option opts[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "config", required_argument, NULL, OPT_CONFIG },
                { "foreground", no_argument, NULL, OPT_FOREGROUND },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        const char *root = NULL, *config = NULL;
        bool check = false, foreground = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_ROOT: root = optarg; break;
                case OPT_CONFIG: config = optarg; break;
                case OPT_FOREGROUND: foreground = true; break;
                case OPT_CHECK: check = true; break;
                case 'h': usage(stdout); return RK_EXIT_OK;
                case OPT_VERSION: printf("resetd %s\n", RK_VERSION); return RK_EXIT_OK;
                default: usage(stderr); return RK_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "resetd: unexpected argument '%s'\n", argv[optind]);
                return RK_EXIT_USAGE;
        }
        struct rk_ctx ctx = {};
        int r = rk_ctx_open(&ctx, "resetd", root, config);
        if (r < 0) {
                rk_ctx_close(&ctx);
                return r == -EINVAL ? RK_EXIT_USAGE : RK_EXIT_FAILURE;
        }
        int ret;
        if (check)
                ret = rk_config_dump(&ctx.cfg, stdout) < 0 ? RK_EXIT_FAILURE : RK_EXIT_OK;
        else {
                const struct rk_daemon_opts o = {
                        .config_path = config,
                        .foreground = foreground,
                        .ops = &rk_default_action_ops,
                };
                ret = rk_daemon_run(&ctx, &o);
        }
        rk_ctx_close(&ctx);
        return ret;
}
