/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl config … / rescue …: the configuration store verbs.  Each verb is
 * a thin wrapper over lib/store/store.h; this file only prints and maps errors to
 * the documented exit codes. */
#include <json-c/json.h>

#include "resetctl.h"
#include "store.h"

static int exit_code(int r) {
        if (r == RK_STORE_APPLY_FAILED)
                return RK_EXIT_APPLY;
        if (r >= 0)
                return RK_EXIT_OK;
        switch (-r) {
        case EBADMSG:
        case EILSEQ:
                return RK_EXIT_INTEGRITY;
        case EBUSY:
        case EWOULDBLOCK:
                return RK_EXIT_BUSY;
        case EPERM:
                return RK_EXIT_REFUSED;
        default:
                return RK_EXIT_FAILURE;
        }
}

/* `resetctl config show --json` reads as naturally as `resetctl --json config
 * show`: accept the option after the verb too. */
static int take_json_option(struct rk_ctx *ctx, int argc, char **argv, int max_args, const char *usage) {
        int n = 0;
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        ctx->json = true;
                else if (argv[i][0] == '-' && argv[i][1]) {
                        fprintf(stderr, "resetctl: unknown option '%s'\nusage: resetctl %s\n", argv[i], usage);
                        return -EINVAL;
                } else
                        n++;
        }
        if (n > max_args) {
                fprintf(stderr, "resetctl: too many arguments\nusage: resetctl %s\n", usage);
                return -EINVAL;
        }
        return 0;
}

static json_object *entry_json(const char *name, const struct rk_store_entry *e, const char *path) {
        char t[32];
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        rk_store_format_time(e->time, t);
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "sha256", json_object_new_string(e->sha256));
        json_object_object_add(o, "size", json_object_new_int64((int64_t) e->size));
        json_object_object_add(o, "time", json_object_new_string(t));
        json_object_object_add(o, "origin", json_object_new_string(e->origin ? e->origin : ""));
        if (path)
                json_object_object_add(o, "path", json_object_new_string(path));
        return o;
}

static int print_json(json_object *o) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = s && printf("%s\n", s) >= 0 ? 0 : -EIO;
        json_object_put(o);
        return r;
}

/* config show / rescue show */
static int show(struct rk_ctx *ctx, const char *name) {
        _cleanup_store_ struct rk_store *s = NULL;
        _cleanup_free_ char *data = NULL, *path = NULL;
        struct rk_store_entry e = {};
        size_t len = 0;
        int r = rk_store_open(ctx, 0, &s);
        if (r < 0)
                return exit_code(r);
        r = rk_store_load(s, name, &e, &data, &len);
        if (r < 0)
                return exit_code(r);
        if (ctx->json) {
                json_object *o = entry_json(name, &e, (path = rk_store_object_path(s, e.sha256)));
                json_object *doc = json_tokener_parse(data);
                rk_store_entry_done(&e);
                if (!o || !doc) {
                        json_object_put(o);
                        json_object_put(doc);
                        fprintf(stderr, "resetctl: out of memory\n");
                        return RK_EXIT_FAILURE;
                }
                json_object_object_add(o, "config", doc);
                return print_json(o) < 0 ? RK_EXIT_FAILURE : RK_EXIT_OK;
        }
        rk_store_entry_done(&e);
        /* the document exactly as stored, byte for byte */
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
                return RK_EXIT_FAILURE;
        return RK_EXIT_OK;
}

static int verb_config_show(struct rk_cli *cli, int argc, char **argv) {
        struct rk_ctx *ctx = &cli->ctx;
        if (take_json_option(ctx, argc, argv, 0, "config show [--json]") < 0)
                return RK_EXIT_USAGE;
        return show(ctx, "running");
}

static int verb_rescue_show(struct rk_cli *cli, int argc, char **argv) {
        struct rk_ctx *ctx = &cli->ctx;
        if (take_json_option(ctx, argc, argv, 0, "rescue show [--json]") < 0)
                return RK_EXIT_USAGE;
        return show(ctx, "rescue");
}

static const char *status_word(int status) {
        return status == 0 ? "ok" : status == -EBADMSG ? "CORRUPT" : "unreadable";
}

static void list_row(const char *name, const struct rk_store_entry *e, const char *status) {
        char t[32];
        rk_store_format_time(e->time, t);
        printf("%-10s %-20s %9llu %-64s %-8s %s\n", name, t, (unsigned long long) e->size, e->sha256, status,
               e->origin ? e->origin : "");
}

static int verb_config_list(struct rk_cli *cli, int argc, char **argv) {
        struct rk_ctx *ctx = &cli->ctx;
        _cleanup_store_ struct rk_store *s = NULL;
        if (take_json_option(ctx, argc, argv, 0, "config list [--json]") < 0)
                return RK_EXIT_USAGE;
        int r = rk_store_open(ctx, 0, &s);
        if (r < 0)
                return exit_code(r);
        struct rk_store_index idx = {};
        int verified = rk_store_verify(s, &idx);
        if (verified < 0 && verified != -EBADMSG)
                return exit_code(verified);
        if (verified == -EBADMSG && !idx.running.present && !idx.rescue.present && idx.n_backups == 0)
                return exit_code(verified);     /* the index itself is corrupt */

        /* the factory configuration is listed for reference; its absence is
         * not a store error (the factory reset reports it) */
        struct rk_store_entry factory = {};
        _cleanup_free_ char *fdata = NULL;
        int fr = rk_store_read_factory(s, true, &factory, &fdata, NULL);

        json_object *arr = ctx->json ? json_object_new_array() : NULL;
        if (!ctx->json)
                printf("%-10s %-20s %9s %-64s %-8s %s\n", "NAME", "TIME", "SIZE", "SHA256", "STATUS", "ORIGIN");
        for (size_t i = 0; i < idx.n_backups + 3; i++) {
                char name[32];
                const struct rk_store_entry *e;
                const char *path = NULL;
                _cleanup_free_ char *opath = NULL;
                if (i == 0)
                        snprintf(name, sizeof name, "running"), e = &idx.running;
                else if (i <= idx.n_backups)
                        snprintf(name, sizeof name, "backup-%zu", i), e = &idx.backups[i - 1];
                else if (i == idx.n_backups + 1)
                        snprintf(name, sizeof name, "rescue"), e = &idx.rescue;
                else
                        snprintf(name, sizeof name, "factory"), e = &factory;
                if (e == &factory && fr < 0) {
                        if (!ctx->json)
                                printf("%-10s %-20s %9s %-64s %-8s %s\n", name, "-", "-", "-",
                                       fr == -ENOENT ? "missing" : "invalid", ctx->cfg.factory_config);
                        continue;
                }
                if (!e->present)
                        continue;
                const char *status = e == &factory ? "ok" : status_word(e->status);
                if (!ctx->json) {
                        list_row(name, e, status);
                        continue;
                }
                path = e == &factory ? ctx->cfg.factory_config : (opath = rk_store_object_path(s, e->sha256));
                json_object *o = entry_json(name, e, path);
                if (o)
                        json_object_object_add(o, "status", json_object_new_string(status));
                json_object_array_add(arr, o);
        }
        rk_store_entry_done(&factory);
        rk_store_index_done(&idx);
        if (ctx->json && print_json(arr) < 0)
                return RK_EXIT_FAILURE;
        /* a damaged stored configuration makes list fail (after printing
         * everything), so monitoring notices */
        return exit_code(verified);
}

/* Writers run validate-command and apply-command only when the
 * configuration may run commands here (resetctl.h). */
static int open_writer(struct rk_cli *cli, unsigned flags, struct rk_store **ret) {
        return rk_store_open(&cli->ctx, RK_STORE_WRITE | flags | (cli->commands ? 0 : RK_STORE_NO_COMMANDS), ret);
}

static int verb_config_commit(struct rk_cli *cli, int argc, char **argv) {
        _cleanup_store_ struct rk_store *s = NULL;
        int r = open_writer(cli, RK_STORE_CREATE, &s);
        if (r >= 0)
                r = rk_store_commit_path(s, argv[0]);
        return exit_code(r);
}

static int verb_config_rollback(struct rk_cli *cli, int argc, char **argv) {
        _cleanup_store_ struct rk_store *s = NULL;
        unsigned n;
        if (rk_parse_uint(argv[0], &n) < 0 || n == 0) {
                fprintf(stderr, "resetctl: config rollback: N must be a backup number (1 = newest), got '%s'\n",
                        argv[0]);
                return RK_EXIT_USAGE;
        }
        int r = open_writer(cli, 0, &s);
        if (r >= 0)
                r = rk_store_rollback(s, n);
        return exit_code(r);
}

static int verb_rescue_save(struct rk_cli *cli, int argc, char **argv) {
        _cleanup_store_ struct rk_store *s = NULL;
        int r = open_writer(cli, 0, &s);
        if (r >= 0)
                r = rk_store_rescue_save(s);
        return exit_code(r);
}

static int verb_rescue_delete(struct rk_cli *cli, int argc, char **argv) {
        _cleanup_store_ struct rk_store *s = NULL;
        int r = open_writer(cli, 0, &s);
        if (r >= 0)
                r = rk_store_rescue_delete(s);
        return exit_code(r);
}

static int verb_rescue_load(struct rk_cli *cli, int argc, char **argv) {
        _cleanup_store_ struct rk_store *s = NULL;
        int r = open_writer(cli, 0, &s);
        if (r >= 0)
                r = rk_store_rescue_load(s);
        return exit_code(r);
}

const struct rk_verb rk_config_verbs[] = {
        { "config", "show", 0, -1, verb_config_show, "config show [--json]          print the running configuration" },
        { "config", "commit", 1, 1, verb_config_commit, "config commit FILE            validate FILE, back up running, make FILE running, apply" },
        { "config", "list", 0, -1, verb_config_list, "config list [--json]          every stored configuration: name, time, size, sha256" },
        { "config", "rollback", 1, 1, verb_config_rollback, "config rollback N             commit backup N (1 = newest)" },
        { "rescue", "save", 0, 0, verb_rescue_save, "rescue save                   rescue := the verified running configuration" },
        { "rescue", "show", 0, -1, verb_rescue_show, "rescue show [--json]          print the rescue configuration" },
        { "rescue", "delete", 0, 0, verb_rescue_delete, "rescue delete                 delete the rescue configuration" },
        { "rescue", "load", 0, 0, verb_rescue_load, "rescue load                   verify the rescue configuration and commit it" },
        {}
};
