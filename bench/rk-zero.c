/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rk-zero — drives the zeroization modules directly (slots.c, zero.c,
 * grubenv.c, progress.c) for the tests and benchmarks, the way the
 * factory-reset engine calls them as its steps 6 and 7.  A --state FILE
 * plays the engine's journal: checkpoints and the saved ext4 reserve are
 * written to it atomically, and a second run resumes from it.
 *
 *   rk-zero device PATH [--start N] [--chunk N] [--verify sample|full|none] [--seed N] [--state FILE]
 *   rk-zero verify PATH [--verify sample|full] [--seed N]
 *   rk-zero free-space ROOT MOUNTPOINT [--verify ...] [--state FILE] [--refuse-dev-of PATH] [--max-write N] [--write-only]
 *   rk-zero recover ROOT MOUNTPOINT --state FILE
 *   rk-zero preflight ROOT CONFIG [--slot a|b]
 *   rk-zero inactive ROOT CONFIG [--slot a|b] [--verify ...] [--state FILE] [--chunk N]
 *
 * Exit codes as resetctl's: 0 ok, 1 failed, 2 usage, 6 refused. */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sys/stat.h>

#include "conf.h"
#include "exitcode.h"
#include "fsutil.h"
#include "progress.h"
#include "slots.h"
#include "util.h"
#include "zero.h"

struct opts {
        uint64_t start, chunk, seed, max_write;
        bool start_set, no_verify, write_only;
        const char *refuse_dev_of;      /* refuse the filesystem holding this path, as the engine refuses the host's / */
        enum rk_verify verify;
        const char *state;
        int slot;               /* -1: inactive */
};

struct state {
        const char *path;
        uint64_t offset;
        bool have_offset;
        char target[RK_ZERO_ID_MAX];    /* what offset belongs to, "" none */
        char fs_id[RK_FS_ID_MAX];
        int64_t reserve;
};

static int state_load(struct state *s) {
        s->reserve = -1;
        if (!s->path)
                return 0;
        _cleanup_fclose_ FILE *f = fopen(s->path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        char line[512];
        while (fgets(line, sizeof line, f)) {
                if (rk_startswith(line, "target ")) {
                        line[strcspn(line, "\n")] = 0;
                        snprintf(s->target, sizeof s->target, "%.*s", (int) sizeof s->target - 1, line + 7);
                        continue;
                }
                unsigned long long v;
                long long rv;
                char name[RK_FS_ID_MAX];
                if (sscanf(line, "offset %llu", &v) == 1) {
                        s->offset = v;
                        s->have_offset = true;
                } else if (sscanf(line, "reserve %79s %lld", name, &rv) == 2) {
                        snprintf(s->fs_id, sizeof s->fs_id, "%s", name);
                        s->reserve = rv;
                }
        }
        return 0;
}

static int state_save(const struct state *s) {
        if (!s->path)
                return 0;
        _cleanup_free_ char *d = strdup(s->path), *b = strdup(s->path);
        if (!d || !b)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        char buf[1024];
        int n = 0;
        if (s->have_offset)
                n += snprintf(buf + n, sizeof buf - (size_t) n, "offset %llu\n", (unsigned long long) s->offset);
        if (s->have_offset && s->target[0])
                n += snprintf(buf + n, sizeof buf - (size_t) n, "target %s\n", s->target);
        if (s->reserve >= 0)
                n += snprintf(buf + n, sizeof buf - (size_t) n, "reserve %s %lld\n", s->fs_id, (long long) s->reserve);
        return rk_write_atomic_at(dfd, basename(b), buf, (size_t) n, 0600);
}

struct cb {
        struct state *state;
        struct rk_progress bar;
};

static int on_checkpoint(void *userdata, uint64_t offset) {
        struct cb *c = userdata;
        c->state->offset = offset;
        c->state->have_offset = true;
        return state_save(c->state);
}

static int on_save_reserve(void *userdata, const char *fs_id, uint64_t value) {
        struct cb *c = userdata;
        snprintf(c->state->fs_id, sizeof c->state->fs_id, "%s", fs_id);
        c->state->reserve = (int64_t) value;
        return state_save(c->state);
}

static void on_repass(void *userdata, unsigned pass, const char *why) {
        printf("read-back failed: %s; zeroing it again from offset 0 (pass %u of at most %u more)\n",
               why, pass, RK_ZERO_REPASS_MAX);
        fflush(stdout);
}

static void on_fill_repass(void *userdata, unsigned pass, const char *why) {
        printf("read-back failed: %s; the fill was released, filling again (pass %u of at most %u more)\n",
               why, pass, RK_ZERO_REPASS_MAX);
        fflush(stdout);
}

static void on_progress(void *userdata, uint64_t done, uint64_t total) {
        struct cb *c = userdata;
        rk_progress_update(&c->bar, done, total, rk_now_ns());
}

static int zero_fd(int fd, const char *what, const struct opts *o) {
        char err[1024] = "";
        struct state s = { .path = o->state };
        int r = state_load(&s);
        if (r < 0) {
                fprintf(stderr, "rk-zero: %s: %s\n", o->state, strerror(-r));
                return RK_EXIT_FAILURE;
        }
        char id[RK_ZERO_ID_MAX], why[2 * RK_ZERO_ID_MAX + 160] = "";
        r = rk_zero_target_id(fd, id, sizeof id);
        if (r < 0) {
                fprintf(stderr, "rk-zero: %s: cannot identify it: %s\n", what, strerror(-r));
                return RK_EXIT_FAILURE;
        }
        uint64_t start = o->start_set ? o->start
                : rk_zero_resume_offset(s.have_offset ? s.offset : 0, s.target[0] ? s.target : NULL, id, why, sizeof why);
        if (why[0])
                printf("%s\n", why);
        if (start > 0)
                printf("resuming %s at offset %llu\n", what, (unsigned long long) start);
        snprintf(s.target, sizeof s.target, "%s", id);
        struct cb c = { .state = &s };
        struct rk_zero_ops ops = {
                .checkpoint = on_checkpoint, .repass = on_repass, .progress = on_progress, .userdata = &c,
        };
        struct rk_zero_stats st;
        bool blk;
        uint64_t size;
        unsigned align;
        if (rk_zero_target_size(fd, &blk, &size, &align) < 0) {
                fprintf(stderr, "rk-zero: %s: not a block device or regular file\n", what);
                return RK_EXIT_FAILURE;
        }
        rk_progress_start(&c.bar, STDERR_FILENO, isatty(STDERR_FILENO), "zero", start, size, rk_now_ns());
        if (o->no_verify)
                r = rk_zero_device(fd, start, o->chunk, &ops, &st, err, sizeof err);
        else
                r = rk_zero_device_verified(fd, start, o->chunk, o->verify, o->seed, &ops, &st, err, sizeof err);
        rk_progress_end(&c.bar, rk_now_ns());
        char line[2048];
        rk_zero_describe(&st, what, line, sizeof line);
        printf("%s\n", line);
        if (r < 0) {
                fprintf(stderr, "rk-zero: %s: %s\n", what, err);
                return RK_EXIT_FAILURE;
        }
        return RK_EXIT_OK;
}

static int cmd_device(const char *path, const struct opts *o) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "rk-zero: %s: %s\n", path, strerror(errno));
                return RK_EXIT_FAILURE;
        }
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | (S_ISBLK(st.st_mode) ? O_EXCL : O_NOFOLLOW));
        if (fd < 0) {
                fprintf(stderr, "rk-zero: %s: %s\n", path, strerror(errno));
                return RK_EXIT_FAILURE;
        }
        return zero_fd(fd, path, o);
}

static int cmd_verify(const char *path, const struct opts *o) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char err[1024] = "";
        bool blk;
        uint64_t size;
        unsigned align;
        if (fd < 0 || rk_zero_target_size(fd, &blk, &size, &align) < 0) {
                fprintf(stderr, "rk-zero: %s: cannot open or size it\n", path);
                return RK_EXIT_FAILURE;
        }
        struct rk_verify_result res;
        int r = rk_zero_verify(fd, size, o->verify, o->seed, NULL, NULL, &res, err, sizeof err);
        printf("verify %s: %llu bytes in %llu places (%s): %s\n", path, (unsigned long long) res.bytes,
               (unsigned long long) res.places, res.full ? "full" : "sample", r < 0 ? err : "all zero");
        return r < 0 ? RK_EXIT_FAILURE : RK_EXIT_OK;
}

static int open_root(const char *root) {
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                fprintf(stderr, "rk-zero: %s: %s\n", root, strerror(errno));
        return fd;
}

static int cmd_free_space(const char *root, const char *mp, const struct opts *o) {
        _cleanup_close_ int rfd = open_root(root);
        if (rfd < 0)
                return RK_EXIT_FAILURE;
        struct state s = { .path = o->state };
        if (state_load(&s) < 0)
                return RK_EXIT_FAILURE;
        struct stat hst = {};
        if (o->refuse_dev_of && stat(o->refuse_dev_of, &hst) < 0) {
                fprintf(stderr, "rk-zero: %s: %s\n", o->refuse_dev_of, strerror(errno));
                return RK_EXIT_FAILURE;
        }
        struct rk_fill_opts fo = {
                .verify = o->no_verify ? RK_VERIFY_SAMPLE : o->verify,
                .seed = o->seed,
                .refuse_dev = o->refuse_dev_of ? hst.st_dev : 0,
                .reserve_orig = s.reserve,
                .reserve_fs = s.fs_id[0] ? s.fs_id : NULL,
                .max_write = o->max_write,
                .write_only = o->write_only,
        };
        struct cb c = { .state = &s };
        struct rk_fill_ops ops = {
                .save_reserve = on_save_reserve, .repass = on_fill_repass, .progress = on_progress, .userdata = &c,
        };
        struct rk_fill_stats st;
        char err[1024] = "", line[2048];
        rk_progress_start(&c.bar, STDERR_FILENO, isatty(STDERR_FILENO), "fill", 0, 0, rk_now_ns());
        int r = rk_zero_free_space(rfd, mp, &fo, &ops, &st, err, sizeof err);
        rk_progress_end(&c.bar, rk_now_ns());
        if (r < 0) {
                fprintf(stderr, "rk-zero: %s\n", err);
                return r == -EPERM || r == -ELOOP || r == -ENOENT || r == -EXDEV || r == -ENOTDIR
                       ? RK_EXIT_REFUSED : RK_EXIT_FAILURE;
        }
        if (st.stale_removed)
                printf("removed %u leftover fill file(s)\n", st.stale_removed);
        rk_fill_describe(&st, mp, line, sizeof line);
        printf("%s\n", line);
        /* done: the engine would mark the step complete in its journal */
        s.reserve = -1;
        (void) state_save(&s);
        return RK_EXIT_OK;
}

static int cmd_recover(const char *root, const char *mp, const struct opts *o) {
        _cleanup_close_ int rfd = open_root(root);
        if (rfd < 0)
                return RK_EXIT_FAILURE;
        struct state s = { .path = o->state };
        if (state_load(&s) < 0)
                return RK_EXIT_FAILURE;
        char err[1024] = "";
        struct rk_fill_recovery rec;
        int r = rk_fill_recover(rfd, mp, s.fs_id, s.reserve, &rec, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "rk-zero: %s\n", err);
                return RK_EXIT_FAILURE;
        }
        printf("recovered %s: removed %u leftover fill file(s)", mp, rec.removed);
        if (rec.reserve_restored)
                printf(", reserve %lld restored on %s", (long long) s.reserve, rec.fs_name);
        else if (rec.reserve_foreign)
                printf(", reserve %lld not restored: the journal names another filesystem (%s; mounted: %s)",
                       (long long) s.reserve, s.fs_id, rec.fs_id);
        printf("\n");
        return RK_EXIT_OK;
}

static int load_config(struct rk_config *cfg, int rfd, const char *path) {
        char err[1024] = "";
        if (rk_config_init(cfg) < 0)
                return -ENOMEM;
        int r = rk_config_load(cfg, rfd, path, err, sizeof err);
        if (r < 0)
                fprintf(stderr, "rk-zero: %s\n", err);
        return r;
}

static int preflight(const char *root, const char *config, const struct opts *o, int *rfd,
                     struct rk_config *cfg, struct rk_slots *slots) {
        char err[1024] = "";
        *rfd = open_root(root);
        if (*rfd < 0)
                return RK_EXIT_FAILURE;
        if (load_config(cfg, *rfd, config) < 0)
                return RK_EXIT_USAGE;
        int r = rk_slots_preflight(cfg, *rfd, o->slot, slots, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "rk-zero: %s\n", err);
                return RK_EXIT_REFUSED;
        }
        const struct rk_slot *t = &slots->slot[r];
        printf("target slot %c: %s (%s, %llu bytes); active slot %c%s\n", t->name, t->resolved,
               t->is_block ? "block device" : "image file", (unsigned long long) t->size,
               slots->slot[slots->active].name, slots->active_auto ? " (auto: it backs the root)" : "");
        return RK_EXIT_OK;
}

static int cmd_preflight(const char *root, const char *config, const struct opts *o) {
        _cleanup_close_ int rfd = -1;
        struct rk_config cfg = {};
        struct rk_slots slots = {};
        int rc = preflight(root, config, o, &rfd, &cfg, &slots);
        rk_slots_done(&slots);
        rk_config_free(&cfg);
        return rc;
}

static int cmd_inactive(const char *root, const char *config, const struct opts *o) {
        _cleanup_close_ int rfd = -1, fd = -1;
        struct rk_config cfg = {};
        struct rk_slots slots = {};
        char err[1024] = "";
        int rc = preflight(root, config, o, &rfd, &cfg, &slots);
        if (rc != RK_EXIT_OK)
                goto out;
        /* boot metadata first: a half-zeroed slot is never booted */
        struct rk_boot_meta_result bm;
        if (rk_slot_remove_boot_metadata(&cfg, rfd, slots.target, &bm, err, sizeof err) < 0) {
                fprintf(stderr, "rk-zero: %s\n", err);
                rc = RK_EXIT_FAILURE;
                goto out;
        }
        printf("boot metadata of slot %c: %zu grubenv key(s), %u file(s) removed\n",
               slots.slot[slots.target].name, bm.keys_removed, bm.files_removed);
        fd = rk_slot_open_target(&slots, err, sizeof err);
        if (fd < 0) {
                fprintf(stderr, "rk-zero: %s\n", err);
                rc = RK_EXIT_REFUSED;
                goto out;
        }
        rc = zero_fd(fd, slots.slot[slots.target].resolved, o);
out:
        rk_slots_done(&slots);
        rk_config_free(&cfg);
        return rc;
}

static int usage(void) {
        fprintf(stderr,
                "usage: rk-zero device PATH [--start N] [--chunk N] [--verify sample|full|none] [--seed N] [--state FILE]\n"
                "       rk-zero verify PATH [--verify sample|full] [--seed N]\n"
                "       rk-zero free-space ROOT MOUNTPOINT [--verify ...] [--state FILE] [--refuse-dev-of PATH] [--max-write N] [--write-only]\n"
                "       rk-zero recover ROOT MOUNTPOINT --state FILE\n"
                "       rk-zero preflight ROOT CONFIG [--slot a|b]\n"
                "       rk-zero inactive ROOT CONFIG [--slot a|b] [--verify ...] [--state FILE] [--chunk N]\n");
        return RK_EXIT_USAGE;
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "start", required_argument, NULL, 's' },
                { "chunk", required_argument, NULL, 'c' },
                { "verify", required_argument, NULL, 'v' },
                { "seed", required_argument, NULL, 'S' },
                { "state", required_argument, NULL, 'j' },
                { "slot", required_argument, NULL, 'l' },
                { "refuse-dev-of", required_argument, NULL, 'H' },
                { "max-write", required_argument, NULL, 'm' },
                { "write-only", no_argument, NULL, 'W' },
                {}
        };
        struct opts o = { .slot = -1, .seed = 0x5eed };
        int c;
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case 's':
                        if (rk_parse_uint64(optarg, &o.start) < 0)
                                return usage();
                        o.start_set = true;
                        break;
                case 'c':
                        if (rk_parse_uint64(optarg, &o.chunk) < 0)
                                return usage();
                        break;
                case 'm':
                        if (rk_parse_uint64(optarg, &o.max_write) < 0)
                                return usage();
                        break;
                case 'W':
                        o.write_only = true;
                        break;
                case 'S':
                        if (rk_parse_uint64(optarg, &o.seed) < 0)
                                return usage();
                        break;
                case 'v':
                        if (strcmp(optarg, "sample") == 0) o.verify = RK_VERIFY_SAMPLE;
                        else if (strcmp(optarg, "full") == 0) o.verify = RK_VERIFY_FULL;
                        else if (strcmp(optarg, "none") == 0) o.no_verify = true;
                        else return usage();
                        break;
                case 'j': o.state = optarg; break;
                case 'l':
                        if (strcmp(optarg, "a") == 0) o.slot = 0;
                        else if (strcmp(optarg, "b") == 0) o.slot = 1;
                        else return usage();
                        break;
                case 'H': o.refuse_dev_of = optarg; break;
                default: return usage();
                }
        }
        argc -= optind;
        argv += optind;
        if (argc < 2)
                return usage();
        const char *verb = argv[0];
        if (strcmp(verb, "device") == 0 && argc == 2)
                return cmd_device(argv[1], &o);
        if (strcmp(verb, "verify") == 0 && argc == 2)
                return cmd_verify(argv[1], &o);
        if (strcmp(verb, "free-space") == 0 && argc == 3)
                return cmd_free_space(argv[1], argv[2], &o);
        if (strcmp(verb, "recover") == 0 && argc == 3)
                return cmd_recover(argv[1], argv[2], &o);
        if (strcmp(verb, "preflight") == 0 && argc == 3)
                return cmd_preflight(argv[1], argv[2], &o);
        if (strcmp(verb, "inactive") == 0 && argc == 3)
                return cmd_inactive(argv[1], argv[2], &o);
        return usage();
}
