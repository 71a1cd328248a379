/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl factory-reset: the software factory reset. */
#include <getopt.h>

#include "engine.h"
#include "resetctl.h"

static int verb_factory_reset(struct rk_cli *cli, int argc, char **argv) {
        struct rk_ctx *ctx = &cli->ctx;
        enum { OPT_DRY = 0x100, OPT_YES, OPT_JSON, OPT_NOZERO, OPT_RESUME, OPT_THEN, OPT_AT_BOOT, OPT_NOW,
               OPT_CANCEL, OPT_TRIGGER };
        static const struct option opts[] = {
                { "dry-run", no_argument, NULL, OPT_DRY },
                { "yes", no_argument, NULL, OPT_YES },
                { "json", no_argument, NULL, OPT_JSON },
                { "no-zeroize", no_argument, NULL, OPT_NOZERO },
                { "resume", no_argument, NULL, OPT_RESUME },
                { "then", required_argument, NULL, OPT_THEN },
                { "at-boot", no_argument, NULL, OPT_AT_BOOT },
                { "now", no_argument, NULL, OPT_NOW },
                { "cancel", no_argument, NULL, OPT_CANCEL },
                { "trigger", required_argument, NULL, OPT_TRIGGER },
                {}
        };
        struct rk_reset_opts o = { .zeroize = true, .progress = isatty(STDERR_FILENO), .trusted_config = cli->commands };
        int c;

        /* argv[0] is the first argument after the verb: getopt wants a
         * program name in front */
        _cleanup_free_ char **args = calloc((size_t) argc + 2, sizeof(char *));
        if (!args)
                return RK_EXIT_FAILURE;
        args[0] = (char *) "factory-reset";
        for (int i = 0; i < argc; i++)
                args[i + 1] = argv[i];
        args[argc + 1] = NULL;
        optind = 1;
        while ((c = getopt_long(argc + 1, args, "", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_DRY: o.dry_run = true; break;
                case OPT_YES: o.yes = true; break;
                case OPT_JSON: ctx->json = true; break;
                case OPT_NOZERO: o.zeroize = false; break;
                case OPT_RESUME: o.resume = true; break;
                case OPT_CANCEL: o.cancel = true; break;
                case OPT_AT_BOOT:
                case OPT_NOW:
                        if (o.when != RK_RESET_AUTO) {
                                rk_err(&ctx->log, "--at-boot and --now exclude each other");
                                return RK_EXIT_USAGE;
                        }
                        o.when = c == OPT_NOW ? RK_RESET_NOW : RK_RESET_AT_BOOT;
                        break;
                case OPT_THEN:
                        if (rk_power_parse(optarg, &o.then) < 0) {
                                rk_err(&ctx->log, "--then: expected reboot, poweroff or none, got '%s'", optarg);
                                return RK_EXIT_USAGE;
                        }
                        o.then_set = true;
                        break;
                case OPT_TRIGGER:
                        /* who asked, for the record and the certificate: a
                         * fleet manager says so; "button" and "fail-safe"
                         * are resetd's and reset-failsafe's own, never
                         * claimed from a command line */
                        if (strcmp(optarg, "fleet") != 0) {
                                rk_err(&ctx->log, "--trigger: expected fleet, got '%s'", optarg);
                                return RK_EXIT_USAGE;
                        }
                        o.trigger = "fleet";
                        break;
                default:
                        return RK_EXIT_USAGE;
                }
        }
        if (optind < argc + 1) {
                rk_err(&ctx->log, "factory-reset: unexpected argument '%s'", args[optind]);
                return RK_EXIT_USAGE;
        }
        if ((o.cancel || o.resume) && (o.when != RK_RESET_AUTO || (o.cancel && o.resume))) {
                rk_err(&ctx->log, "--cancel and --resume take no --at-boot, --now or each other");
                return RK_EXIT_USAGE;
        }
        return rk_factory_reset(ctx, &o);
}

static int verb_status(struct rk_cli *cli, int argc, char **argv) {
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--json") != 0) {
                        fprintf(stderr, "resetctl: usage: resetctl status [--json]\n");
                        return RK_EXIT_USAGE;
                }
                cli->ctx.json = true;
        }
        return rk_factory_reset_status(&cli->ctx);
}

const struct rk_verb rk_reset_verbs[] = {
        { "factory-reset", NULL, 0, -1, verb_factory_reset,
          "factory-reset [--at-boot|--now] [--dry-run] [--yes] [--json] [--no-zeroize] [--then reboot|poweroff|none]\n"
          "                [--trigger fleet]\n"
          "  factory-reset --cancel | --resume" },
        { "status", NULL, 0, 1, verb_status,
          "status [--json]                             none, requested, in-progress, complete or failed (entries, retries left)" },
        {}
};
