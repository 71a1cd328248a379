/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl — the command line of resetkit: configuration store, rescue
 * configuration, factory reset, status.  A thin main over libresetkit. */
#include <getopt.h>

#include "resetctl.h"
#include "rk-build-config.h"

static const struct rk_verb *const verb_tables[] = {
        rk_config_verbs,
        rk_reset_verbs,
        rk_cert_verbs,
};

static void usage(FILE *f) {
        fprintf(f,
                "Usage: resetctl [--root DIR] [--config FILE] [--json] COMMAND ...\n"
                "\n"
                "Options:\n"
                "  --root DIR      operate on the tree at DIR (a mounted image, /sysroot)\n"
                "  --config FILE   configuration file (default: /etc/resetkit/resetd.conf in the root)\n"
                "  --json          machine-readable output where a command prints data\n"
                "  -h, --help      this help\n"
                "  --version       the version\n"
                "\n"
                "Commands:\n");
        for (size_t t = 0; t < RK_ELEMENTSOF(verb_tables); t++)
                for (const struct rk_verb *v = verb_tables[t]; v->name; v++)
                        fprintf(f, "  %s\n", v->usage);
        fprintf(f, "\nExit codes: 0 ok, 1 failed, 2 usage or configuration error, 3 integrity or\n"
                   "validation error, 4 busy, 5 committed but apply failed, 6 refused.\n"
                   "See resetctl(8).\n");
}

static const struct rk_verb *find_verb(int argc, char **argv, int *consumed) {
        for (size_t t = 0; t < RK_ELEMENTSOF(verb_tables); t++)
                for (const struct rk_verb *v = verb_tables[t]; v->name; v++) {
                        if (strcmp(v->name, argv[0]) != 0)
                                continue;
                        if (!v->sub) {
                                *consumed = 1;
                                return v;
                        }
                        if (argc >= 2 && strcmp(v->sub, argv[1]) == 0) {
                                *consumed = 2;
                                return v;
                        }
                }
        return NULL;
}

int main(int argc, char **argv) {
        enum { OPT_ROOT = 0x100, OPT_CONFIG, OPT_JSON, OPT_VERSION };
        static const struct option opts[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "config", required_argument, NULL, OPT_CONFIG },
                { "json", no_argument, NULL, OPT_JSON },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        const char *root = NULL, *config = NULL;
        bool json = false;
        int c;

        /* '+': stop at the verb, so verbs keep their own options */
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_ROOT: root = optarg; break;
                case OPT_CONFIG: config = optarg; break;
                case OPT_JSON: json = true; break;
                case 'h': usage(stdout); return RK_EXIT_OK;
                case OPT_VERSION: printf("resetctl %s\n", RK_VERSION); return RK_EXIT_OK;
                default: usage(stderr); return RK_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return RK_EXIT_USAGE;
        }
        int consumed = 0;
        const struct rk_verb *v = find_verb(argc - optind, argv + optind, &consumed);
        if (!v) {
                fprintf(stderr, "resetctl: unknown command '%s'%s%s\n", argv[optind],
                        optind + 1 < argc ? " " : "", optind + 1 < argc ? argv[optind + 1] : "");
                usage(stderr);
                return RK_EXIT_USAGE;
        }
        int nargs = argc - optind - consumed;
        char **args = argv + optind + consumed;
        /* verbs with options (factory-reset) check their own arity */
        if (v->max_args >= 0 && (nargs < v->min_args || nargs > v->max_args)) {
                fprintf(stderr, "resetctl: usage: resetctl %s\n", v->usage);
                return RK_EXIT_USAGE;
        }

        struct rk_cli cli = { .ctx = { .json = json }, .commands = !root || config };
        int r = rk_ctx_open(&cli.ctx, "resetctl", root, config);
        if (r < 0) {
                rk_ctx_close(&cli.ctx);
                return r == -EINVAL ? RK_EXIT_USAGE : RK_EXIT_FAILURE;
        }
        int ret = v->run(&cli, nargs, args);
        rk_ctx_close(&cli.ctx);
        return ret;
}
