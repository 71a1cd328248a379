/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "engine.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "accounts.h"
#include "certificate.h"
#include "cmdexec.h"
#include "crypto.h"
#include "exitcode.h"
#include "fault.h"
#include "fsutil.h"
#include "glob.h"
#include "erase.h"
#include "extents.h"
#include "held.h"
#include "journal.h"
#include "manifest.h"
#include "progress.h"
#include "rk-build-config.h"
#include "rmtree.h"
#include "slots.h"
#include "store.h"
#include "zero.h"

#define HASH_FILE_MAX 4096

/* A file or directory of the engine's own that its entries never remove. */
struct own_file {
        char *path;             /* root-relative, no leading '/' */
        const char *what;       /* for messages: "the reset's journal" */
};

struct engine {
        struct rk_ctx *ctx;
        struct rk_log *log;
        const struct rk_reset_opts *o;
        struct rk_journal j;
        char **protect;         /* root-relative paths the removal never touches */
        struct own_file *own;   /* the same, with what each one is */
        size_t n_own;
        json_object *report;    /* array: one object per entry (plan or result) */
        struct rk_progress bar; /* zeroing progress on a terminal */
};

/* The stage (SPEC §3 step number) of each action: entries run stage by
 * stage whatever order the drop-ins list them in. */
static int stage_of(enum rk_mf_action a) {
        switch (a) {
        case RK_MF_EXEC: return 2;
        case RK_MF_REMOVE: case RK_MF_EMPTY: case RK_MF_KEEP_NEWEST: return 3;
        case RK_MF_CRYPTO_ERASE: return 3;      /* right after the removals */
        case RK_MF_DELETE_USERS: case RK_MF_RESET_PASSWORD: return 4;
        case RK_MF_FACTORY_CONFIG: return 5;
        case RK_MF_ZERO_PARTITION: return 6;
        case RK_MF_ZERO_FREE_SPACE: return 7;
        case _RK_MF_ACTION_MAX: break;
        }
        return 9;
}

/* The order inside a stage: a crypto-erase after every removal of step 3
 * (SPEC: "right after Remove"). */
static int rank_of(enum rk_mf_action a) {
        return stage_of(a) * 2 + (a == RK_MF_CRYPTO_ERASE);
}

/* Stable: entries of one stage keep their drop-in order. */
static void sort_plan(struct rk_manifest *m) {
        for (size_t i = 1; i < m->n; i++) {
                struct rk_mf_entry e = m->entries[i];
                size_t k = i;
                while (k > 0 && rank_of(m->entries[k - 1].action) > rank_of(e.action)) {
                        m->entries[k] = m->entries[k - 1];
                        k--;
                }
                m->entries[k] = e;
        }
}

static const char *entry_where(const struct rk_mf_entry *en, char *buf, size_t len) {
        snprintf(buf, len, "%s:%u", en->file ? en->file : "?", en->line);
        return buf;
}

/* ---- per-action plan (preflight, dry run) and run ---------------------- */

/* The factory hash of a reset-password entry, inline or from @FILE inside
 * the root (one hash, a trailing newline allowed), checked as crypt(5)
 * syntax: preflight refuses a bad one naming the manifest line, before
 * anything changes. */
static int read_hash(struct engine *e, const struct rk_mf_entry *en, char **ret) {
        char where[512];
        entry_where(en, where, sizeof where);
        if (!en->arg)
                return rk_log_errno(e->log, EINVAL, "%s: reset-password %s: no hash", where, en->path);
        bool at = en->arg[0] == '@';
        _cleanup_free_ char *text = NULL;
        if (!at) {
                if (!(text = strdup(en->arg)))
                        return -ENOMEM;
        } else {
                int r = rk_read_at(e->ctx->root.fd, rk_path_relative(en->arg + 1), RK_RESOLVE_ROOTED,
                                   HASH_FILE_MAX, &text, NULL);
                if (r < 0)
                        return rk_log_errno(e->log, r, "%s: reset-password %s: cannot read the hash file %s inside "
                                            "the root: %s", where, en->path, en->arg + 1, strerror(-r));
                size_t l = strcspn(text, "\r\n");
                if (text[l + strspn(text + l, "\r\n")])
                        return rk_log_errno(e->log, EINVAL, "%s: reset-password %s: the hash file %s holds more "
                                            "than one line (one crypt(5) hash, a trailing newline allowed)",
                                            where, en->path, en->arg + 1);
                text[l] = 0;
        }
        const char *why = rk_crypt_hash_problem(text);
        if (why)
                return rk_log_errno(e->log, EINVAL, "%s: reset-password %s: %s%s is not a crypt(5) password hash: %s",
                                    where, en->path, at ? "the hash in " : "the inline hash", at ? en->arg + 1 : "",
                                    why);
        *ret = RK_TAKE_PTR(text);
        return 0;
}

static int plan_remove(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        struct rk_rm_stats st = {};
        struct rk_rm_opts ro = { .protect = e->protect, .dry_run = dry, .log = e->log };
        int r = rk_rm_entry(e->ctx->root.fd, en->action, en->path, en->number, &ro, &st);
        json_object_object_add(item, "files", json_object_new_int64((int64_t) st.files));
        json_object_object_add(item, "dirs", json_object_new_int64((int64_t) st.dirs));
        json_object_object_add(item, "symlinks", json_object_new_int64((int64_t) st.symlinks));
        json_object_object_add(item, "bytes", json_object_new_int64((int64_t) st.bytes));
        if (st.skipped_mounts)
                json_object_object_add(item, "skipped-mounts", json_object_new_int64((int64_t) st.skipped_mounts));
        if (r < 0)
                return rk_log_errno(e->log, r, "%s %s: %s", rk_mf_action_name(en->action), en->path, strerror(-r));
        char b[32];
        rk_format_bytes(st.bytes, b, sizeof b);
        if (!dry) {
                e->j.removed.files += st.files;
                e->j.removed.bytes += st.bytes;
        }
        if (!dry)
                rk_info(e->log, "%s %s: removed %llu files, %llu directories, %llu symlinks, %s",
                        rk_mf_action_name(en->action), en->path, (unsigned long long) st.files,
                        (unsigned long long) st.dirs, (unsigned long long) st.symlinks, b);
        return 0;
}

static int plan_users(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        struct rk_accounts_plan p = {};
        char err[512] = "";
        unsigned min_uid = en->number ? en->number : 1000;
        int r = rk_accounts_plan(e->ctx->root.fd, min_uid, e->ctx->cfg.keep_users, &p, err, sizeof err);
        if (r < 0) {
                rk_accounts_plan_free(&p);
                return rk_log_errno(e->log, r, "delete-users: %s", *err ? err : strerror(-r));
        }
        json_object *users = json_object_new_array();
        for (size_t i = 0; p.users && p.users[i]; i++)
                json_object_array_add(users, json_object_new_string(p.users[i]));
        json_object_object_add(item, "min-uid", json_object_new_int64(min_uid));
        json_object_object_add(item, "users", users);
        json_object_object_add(item, "home-base", json_object_new_string(p.home_base ? p.home_base : ""));
        if (!dry) {
                r = rk_accounts_delete(e->ctx->root.fd, &p, e->log);
                if (r < 0)
                        rk_err(e->log, "delete-users: %s", strerror(-r));
                else {
                        e->j.removed.users += rk_strv_length(p.users);
                        rk_info(e->log, "delete-users: deleted %zu users", rk_strv_length(p.users));
                }
        }
        rk_accounts_plan_free(&p);
        return r;
}

/* A user the target lacks is a warning in the preflight and a skipped
 * (done) entry in the run: it must never block the wipe. */
static int plan_password(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        _cleanup_free_ char *hash = NULL;
        char where[512], err[512] = "";
        entry_where(en, where, sizeof where);
        int r = read_hash(e, en, &hash);
        if (r < 0)
                return r;
        json_object_object_add(item, "user", json_object_new_string(en->path));
        json_object_object_add(item, "expire", json_object_new_boolean(e->ctx->cfg.expire_passwords));
        if (dry)
                r = rk_accounts_password_check(e->ctx->root.fd, en->path, hash, err, sizeof err);
        else
                r = rk_accounts_reset_password(e->ctx->root.fd, en->path, hash, e->ctx->cfg.expire_passwords, e->log);
        if (r == -ESRCH) {
                json_object_object_add(item, "skipped", json_object_new_string("no such user"));
                if (dry)
                        rk_warn(e->log, "%s: reset-password %s: no such user in etc/passwd: will be skipped",
                                where, en->path);
                else
                        rk_warn(e->log, "reset-password %s: skipped: no such user", en->path);
                return 0;
        }
        if (r < 0 && dry)
                return rk_log_errno(e->log, r, "%s: reset-password %s: %s", where, en->path, *err ? err : strerror(-r));
        if (r < 0)
                return rk_log_errno(e->log, r, "reset-password %s: %s", en->path, strerror(-r));
        if (!dry)
                e->j.removed.passwords++;
        if (!dry)
                rk_info(e->log, "reset-password %s: factory hash set%s", en->path,
                        e->ctx->cfg.expire_passwords ? ", expired (a new password is chosen at first login)" : "");
        return 0;
}

/* Remove a root-relative tree with the reset's own safe removal. */
static int remove_tree(struct engine *e, const char *rel) {
        struct rk_rm_stats st = {};
        struct rk_rm_opts ro = { .protect = e->protect, .log = e->log };
        return rk_rm_path(e->ctx->root.fd, rel, false, &ro, &st);
}

/* injected: RK_FAIL()'s verdict, taken where the point is named */
static int rename_durable(int dfd, const char *from, const char *to, int injected) {
        if (injected < 0)
                return injected;
        if (renameat(dfd, from, dfd, to) < 0)
                return errno == ENOENT ? 0 : -errno;
        return rk_fsync_dir(dfd);
}

/* Step 5.  The store is made afresh beside the old one and swapped in, so
 * nothing of the old one survives (a stray copy with secrets, a corrupt
 * index, an unsafe mode) and nothing in it can stop the reset.  NAME.rk-new
 * is the store being built, NAME.rk-old the old one moved aside: both are
 * leftovers of a power cut when found here, and go first. */
static int store_rebuild(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        const char *rel = rk_path_relative(ctx->cfg.store_dir), *name;
        _cleanup_free_ char *fresh = NULL, *old = NULL, *fresh_abs = NULL;
        if (asprintf(&fresh, "%s.rk-new", rel) < 0 || asprintf(&old, "%s.rk-old", rel) < 0 ||
            asprintf(&fresh_abs, "/%s", fresh) < 0)
                return -ENOMEM;
        _cleanup_close_ int pfd = rk_open_parent_at(ctx->root.fd, rel, 0755, &name);
        if (pfd < 0)
                return rk_log_errno(e->log, pfd, "factory-config: cannot open the directory of the store %s: %s",
                                    ctx->cfg.store_dir, strerror(-pfd));
        int r = remove_tree(e, fresh);
        if (r >= 0)
                r = remove_tree(e, old);
        if (r < 0)
                return rk_log_errno(e->log, r, "factory-config: cannot remove what an interrupted reset left "
                                    "beside the store %s: %s", ctx->cfg.store_dir, strerror(-r));

        /* Writers of the old store wait while it is replaced (when it is
         * sound enough to lock; an unsafe one is not used at all). */
        _cleanup_store_ struct rk_store *held = NULL;
        r = rk_store_open(ctx, RK_STORE_WRITE | RK_STORE_QUIET | RK_STORE_NO_COMMANDS, &held);
        if (r < 0)
                rk_notice(e->log, "factory-config: the old store %s is replaced without its writer lock: %s",
                          ctx->cfg.store_dir, strerror(-r));

        _cleanup_store_ struct rk_store *s = NULL;
        r = rk_store_open_dir(ctx, fresh_abs, RK_STORE_WRITE | RK_STORE_CREATE | RK_STORE_NO_COMMANDS, &s);
        if (r >= 0)
                r = rk_store_factory_reset(s);
        rk_store_close(RK_TAKE_PTR(s));
        if (r < 0)
                return rk_log_errno(e->log, r, "factory-config: cannot build a fresh store: %s; the old store %s "
                                    "is unchanged", strerror(-r), ctx->cfg.store_dir);
        RK_FAULT("engine:store-built");
        const char *fresh_name = strrchr(fresh, '/') ? strrchr(fresh, '/') + 1 : fresh;
        const char *old_name = strrchr(old, '/') ? strrchr(old, '/') + 1 : old;
        r = rename_durable(pfd, name, old_name, RK_FAIL("engine:store-move-aside"));
        if (r < 0)
                return rk_log_errno(e->log, r, "factory-config: cannot move the old store %s aside: %s; it is unchanged",
                                    ctx->cfg.store_dir, strerror(-r));
        RK_FAULT("engine:store-aside");
        r = rename_durable(pfd, fresh_name, name, RK_FAIL("engine:store-move-in"));
        if (r < 0)
                return rk_log_errno(e->log, r, "factory-config: cannot move the fresh store into %s: %s",
                                    ctx->cfg.store_dir, strerror(-r));
        RK_FAULT("engine:store-swapped");
        rk_store_close(RK_TAKE_PTR(held));
        r = remove_tree(e, old);
        if (r < 0)
                return rk_log_errno(e->log, r, "factory-config: cannot remove the old store (now /%s): %s",
                                    old, strerror(-r));
        rk_info(e->log, "factory-config: a fresh store holds %s as the running configuration; the old store, "
                "its backups and rescue are removed", ctx->cfg.factory_config);
        return 0;
}

/* The store's state for the plan: whatever it is, step 5 replaces it. */
static const char *store_state(int health) {
        switch (health) {
        case 0: return "ok";
        case -EPERM: return "unsafe";
        case -EBADMSG: return "corrupt";
        default: return "unreadable";
        }
}

static int plan_factory_config(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        struct rk_ctx *ctx = e->ctx;
        json_object_object_add(item, "factory-config", json_object_new_string(ctx->cfg.factory_config));
        json_object_object_add(item, "store", json_object_new_string(ctx->cfg.store_dir));
        if (!dry)
                return store_rebuild(e);
        /* Preflight: the factory configuration must be there, parse and
         * match its checksum, or the reset would end without one.  The
         * store itself cannot block the reset: step 5 makes it afresh. */
        struct rk_store_entry fe = {};
        int r = rk_store_check_factory(ctx, &fe);
        if (r < 0)
                return rk_log_errno(e->log, r, "factory-config: %s cannot be committed", ctx->cfg.factory_config);
        json_object_object_add(item, "factory-sha256", json_object_new_string(fe.sha256));
        rk_store_entry_done(&fe);
        int h = rk_store_health(ctx);
        json_object_object_add(item, "store-state", json_object_new_string(store_state(h)));
        if (h < 0)
                rk_notice(e->log, "factory-config: the configuration store %s is %s (%s): a fresh store with the "
                          "factory configuration replaces it", ctx->cfg.store_dir, store_state(h), strerror(-h));
        return 0;
}

static int plan_exec(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        json_object_object_add(item, "command", json_object_new_string(en->arg ? en->arg : ""));
        if (!e->ctx->root.is_host) {
                /* The root's services are not running, and the command
                 * would act on the host. */
                json_object_object_add(item, "skipped", json_object_new_string("--root"));
                if (!dry)
                        rk_notice(e->log, "exec '%s': skipped (--root %s: the target's services are not running here)",
                                  en->arg, e->ctx->root.path);
                return 0;
        }
        if (dry)
                return 0;
        int status = 0;
        int r = rk_exec_command(en->arg, NULL, e->log, &status);
        if (r < 0 || status != 0)
                /* A stop command for a service that is not there must not
                 * keep the secrets on the disk: warn and go on. */
                rk_warn(e->log, "exec '%s': %s %d; continuing", en->arg,
                        r < 0 ? "could not run:" : "exit status", r < 0 ? r : status);
        else
                rk_info(e->log, "exec '%s': done", en->arg);
        return 0;
}

/* ---- the certificate's media records (certificate.h) -------------------- */

static size_t entry_index(struct engine *e, const struct rk_mf_entry *en) {
        return (size_t) (en - e->j.plan.entries);
}

/* Keep the record in the journal (saved with the entry's completion), so
 * a resumed reset's certificate still lists it. */
static void media_keep(struct engine *e, struct rk_media *m) {
        if (rk_media_set(&e->j.media, &e->j.n_media, m) < 0)
                rk_err(e->log, "out of memory recording %s for the sanitization certificate", m->path);
        rk_media_done(m);
}

static void media_caveat(struct rk_media *m, const char *fmt, ...) RK_PRINTF(2, 3);
static void media_caveat(struct rk_media *m, const char *fmt, ...) {
        va_list ap;
        _cleanup_free_ char *s = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r >= 0)
                (void) rk_strv_push(&m->caveats, s);
}

static void media_verify(struct rk_media *m, const struct rk_verify_result *v, bool pass) {
        m->verify_method = strdup(v->full ? "read-back full" : "read-back sample");
        m->verify_bytes = v->bytes;
        m->verify_places = v->places;
        m->pass = pass && v->done;
}

/* Step 6: the slot's device or image, as zero.c describes it. */
static void media_zeroed(struct engine *e, const struct rk_mf_entry *en, int fd, const char *path,
                         const struct rk_zero_stats *st, int r) {
        struct stat s;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        bool nvme_ns = rk_startswith(base, "nvme") && !strchr(base, 'p');
        struct rk_media m = { .entry = entry_index(e, en), .path = strdup(path), .size = st->size };
        /* the device's own erase (Purge), and the zeroing that followed
         * when its blocks did not read back as zero */
        if (st->erase != RK_ZERO_NONE && st->method != st->erase) {
                if (asprintf(&m.method, "%s, then %s", rk_zero_method_name(st->erase),
                             rk_zero_method_name(st->method)) < 0)
                        m.method = NULL;
        } else
                m.method = strdup(rk_zero_method_name(st->method));
        m.kind = strdup(!st->is_block ? "image" : nvme_ns ? "nvme-namespace" : "partition");
        if (fstat(fd, &s) == 0 && S_ISBLK(s.st_mode))
                rk_cert_block_identity(s.st_rdev, &m.model, &m.serial);
        media_verify(&m, &st->verify, r >= 0);
        if (rk_media_category_of(m.method) == RK_MEDIA_CLEAR)
                media_caveat(&m, "an overwrite (SP 800-88 Clear): on flash it cannot reach blocks the drive has remapped");
        if (st->repasses)
                media_caveat(&m, "the read-back found data that was not zero: zeroed again from the start %u time%s",
                             st->repasses, st->repasses == 1 ? "" : "s");
        if (st->erase_note[0])
                media_caveat(&m, "method chosen: %s", st->erase_note);
        media_keep(e, &m);
}

/* Step 7: one filesystem's free space. */
static void media_filled(struct engine *e, const struct rk_mf_entry *en, const struct rk_fill_stats *st, int r) {
        struct rk_media m = { .entry = entry_index(e, en), .path = strdup(en->path), .kind = strdup("filesystem"),
                              .size = st->bytes, .method = strdup(rk_zero_method_name(st->method)) };
        _cleanup_close_ int fd = rk_openat2(e->ctx->root.fd, rk_path_relative(en->path), O_RDONLY | O_DIRECTORY, 0,
                                            RK_RESOLVE_ROOTED);
        struct stat s;
        if (fd >= 0 && fstat(fd, &s) == 0)
                rk_cert_block_identity(s.st_dev, &m.model, &m.serial);
        media_verify(&m, &st->verify, r >= 0);
        media_caveat(&m, "free space only: what the filesystem reported free was zeroed; files it keeps were not touched");
        if (rk_media_category_of(m.method) == RK_MEDIA_CLEAR)
                media_caveat(&m, "an overwrite (SP 800-88 Clear): on flash it cannot reach blocks the drive has remapped");
        if (st->fs_name[0])
                media_caveat(&m, "ext4 keeps a few clusters that no file can take: they were not reached");
        if (st->tree_home < 0)
                media_caveat(&m, "the fill's extent-tree blocks were not written home before its release (%s): "
                             "those few blocks may keep old data", strerror(-st->tree_home));
        if (st->journal < 0 && r >= 0)
                media_caveat(&m, "ext4's journal was not zeroed (%s): it may hold copies of old data",
                             strerror(-st->journal));
        for (size_t i = 0; i < e->j.n_unreached; i++) {
                const struct rk_unreached *u = &e->j.unreached[i];
                if (rk_streq(u->where, en->path))
                        media_caveat(&m, "not reached: %s (%llu bytes), deleted but held open by pid %d (%s)", u->path,
                                     (unsigned long long) u->bytes, u->pid, u->process);
        }
        media_keep(e, &m);
}

/* ---- crypto-erase (after step 3) ----------------------------------------- */

/* Is the target needed by the system or by what the reset still has to
 * do?  The device under the root (and, with --root, under this machine's
 * own /), a [slots] device, the device holding a zero-free-space mount:
 * each refused with its reason. */
static int crypto_target_needed(struct engine *e, const struct rk_crypto_probe *p, char *why, size_t len) {
        struct rk_ctx *ctx = e->ctx;
        struct rk_slots s;
        char err[512] = "";
        int r = rk_slots_resolve(&ctx->cfg, ctx->root.fd, &s, err, sizeof err);
        if (r < 0) {
                snprintf(why, len, "cannot tell what lies under the root: %s", *err ? err : strerror(-r));
                rk_slots_done(&s);
                return -EIO;
        }
        bool under = rk_slots_is_under(&s, p->is_block, p->rdev, p->dev, p->ino);
        for (int i = 0; i < 2 && !under; i++) {
                const struct rk_slot *sl = &s.slot[i];
                if (!sl->error && sl->is_block == p->is_block &&
                    (p->is_block ? sl->rdev == p->rdev : (sl->dev == p->dev && sl->ino == p->ino))) {
                        snprintf(why, len, "it is [slots] %c (%s): the A/B slots are zeroed by zero-partition, never "
                                 "crypto-erased", sl->name, sl->config);
                        rk_slots_done(&s);
                        return -EBUSY;
                }
        }
        rk_slots_done(&s);
        if (under) {
                snprintf(why, len, "it is the device under the root %s (or below it)", ctx->root.path);
                return -EBUSY;
        }
        if (!ctx->root.is_host) {
                struct rk_slots h = { .active = -1, .target = -1 };
                struct stat st;
                if (stat("/", &st) == 0)
                        rk_slots_add_under(&h, st.st_dev);
                if (rk_slots_is_under(&h, p->is_block, p->rdev, p->dev, p->ino)) {
                        snprintf(why, len, "it is the device under this machine's own root filesystem /");
                        return -EBUSY;
                }
        }
        for (size_t i = 0; i < e->j.plan.n; i++) {
                const struct rk_mf_entry *z = &e->j.plan.entries[i];
                if (z->action != RK_MF_ZERO_FREE_SPACE)
                        continue;
                _cleanup_close_ int fd = rk_openat2(ctx->root.fd, rk_path_relative(z->path), O_RDONLY | O_DIRECTORY, 0,
                                                    RK_RESOLVE_ROOTED);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0)
                        continue;
                struct rk_slots m = { .active = -1, .target = -1 };
                rk_slots_add_under(&m, st.st_dev);
                if (rk_slots_is_under(&m, p->is_block, p->rdev, p->dev, p->ino)) {
                        snprintf(why, len, "it holds %s, whose free space zero-free-space (%s:%u) zeroes later", z->path,
                                 z->file ? z->file : "?", z->line);
                        return -EBUSY;
                }
        }
        return 0;
}

/* An open volume (an active dm-crypt mapping) is erased all the same: the
 * key on the disk is what the erase destroys; the mapping keeps its copy in
 * kernel memory until it is closed, which the reboot or power-off that ends
 * the reset does.  Said in the log and the certificate. */
static void crypto_mappings(struct engine *e, const struct rk_crypto_probe *p, char ***ret) {
        _cleanup_close_ int sysfs = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *ret = NULL;
        if (sysfs >= 0)
                (void) rk_crypto_find_mappings(sysfs, p, ret);
}

static int plan_crypto_erase(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        char where[512], why[1024] = "", err[1024] = "";
        struct rk_crypto_probe p;
        entry_where(en, where, sizeof where);
        if (en->arg)
                json_object_object_add(item, "recreate", json_object_new_string(en->arg));
        int r = rk_crypto_probe(en->path, &p);
        if (r < 0)
                return r;
        if (p.why) {
                int k = rk_log_errno(e->log, EINVAL, "%s: crypto-erase %s: refused: %s", where, en->path, p.why);
                rk_crypto_probe_done(&p);
                return k;
        }
        /* needed by the system or the reset first: that is the reason
         * that matters, whatever the device holds */
        r = crypto_target_needed(e, &p, why, sizeof why);
        if (r < 0) {
                rk_crypto_probe_done(&p);
                return rk_log_errno(e->log, r, "%s: crypto-erase %s: refused: %s (nothing changed)", where, en->path, why);
        }
        if (!p.magic) {
                rk_crypto_probe_done(&p);
                return rk_log_errno(e->log, EMEDIUMTYPE, "%s: crypto-erase %s: refused: it is not a LUKS volume (no LUKS "
                                    "header)%s", where, en->path, dry ? "" : "; nothing to erase");
        }
        _cleanup_strv_free_ char **maps = NULL;
        crypto_mappings(e, &p, &maps);
        _cleanup_free_ char *open_caveat = NULL;
        if (maps && asprintf(&open_caveat, "the volume was open (%s): its key stays in kernel memory, and the data "
                             "readable through the mapping, until the mapping is closed or the machine powers off",
                             maps[0]) < 0)
                open_caveat = NULL;
        json_object_object_add(item, "luks", json_object_new_string(p.loadable ? p.type : "damaged LUKS header"));
        if (p.damaged)
                json_object_object_add(item, "warning", json_object_new_string("the LUKS header cannot be read: what can be "
                                                                               "erased is, and the step fails"));
        else if (open_caveat)
                json_object_object_add(item, "warning", json_object_new_string(open_caveat));
        if (dry) {
                if (p.damaged)
                        rk_warn(e->log, "%s: crypto-erase %s: the LUKS header cannot be read (damaged): the reset "
                                "overwrites what it can and reports the step failed", where, en->path);
                if (open_caveat)
                        rk_warn(e->log, "%s: crypto-erase %s: %s", where, en->path, open_caveat);
                rk_crypto_probe_done(&p);
                return 0;
        }
        if (open_caveat)
                rk_warn(e->log, "crypto-erase %s: %s", en->path, open_caveat);

        struct rk_crypto_result res;
        uint64_t t0 = rk_now_ms();
        r = rk_crypto_erase(en->path, &res, err, sizeof err);
        struct rk_media m = { .entry = entry_index(e, en), .path = strdup(en->path), .kind = strdup("luks"),
                              .size = res.size ? res.size : p.size, .method = strdup("crypto-erase"),
                              .verify_method = strdup("header read-back"), .verify_bytes = res.area_bytes,
                              .verify_places = res.areas, .pass = r >= 0 && res.verified };
        if (p.is_block)
                rk_cert_block_identity(p.rdev, &m.model, &m.serial);
        rk_crypto_probe_done(&p);
        if (r == -EMEDIUMTYPE) {
                /* a resume finds no header: an earlier blind wipe took it */
                media_caveat(&m, "%s", err);
                media_keep(e, &m);
                return rk_log_errno(e->log, r, "crypto-erase %s: %s", en->path, err);
        }
        if (res.loaded)
                media_caveat(&m, "%s: %u keyslot%s destroyed, %u token%s removed, header rewritten with a key no "
                             "keyslot holds, %u keyslot area%s (%llu bytes) overwritten with zeros", res.type,
                             res.slots_destroyed, res.slots_destroyed == 1 ? "" : "s", res.tokens_removed,
                             res.tokens_removed == 1 ? "" : "s", res.areas, res.areas == 1 ? "" : "s",
                             (unsigned long long) res.area_bytes);
        media_caveat(&m, "the data area is not overwritten: it is unreadable without the destroyed key, as long as "
                     "its cipher holds");
        if (open_caveat)
                media_caveat(&m, "%s", open_caveat);
        if (r < 0)
                media_caveat(&m, "FAILED: %s", res.verify_why[0] ? res.verify_why : err);
        media_keep(e, &m);
        if (r < 0)
                return rk_log_errno(e->log, r, "crypto-erase %s: %s", en->path, err);
        json_object_object_add(item, "slots-destroyed", json_object_new_int64(res.slots_destroyed));
        rk_info(e->log, "crypto-erase %s: %s purged in %llu ms: %u keyslots destroyed, %u tokens removed, header "
                "rewritten, %u keyslot areas (%llu bytes) overwritten and read back as zero; the old key is gone%s",
                en->path, res.type, (unsigned long long) (rk_now_ms() - t0), res.slots_destroyed, res.tokens_removed,
                res.areas, (unsigned long long) res.area_bytes,
                en->arg ? "; the first boot re-creates the volume (resetkit-cryptvol.service)" : "");
        return 0;
}

/* ---- steps 6 and 7: zeroing ------------------------------------------- */

static int zero_checkpoint(void *userdata, uint64_t offset) {
        struct engine *e = userdata;
        /* Every byte below offset is zero on stable storage: journal it so a
         * power cut resumes here instead of from the start. */
        e->j.offset = offset;
        return rk_journal_save(e->ctx->root.fd, e->ctx->cfg.journal, &e->j);
}

static int zero_save_reserve(void *userdata, const char *fs_id, uint64_t value) {
        struct engine *e = userdata;
        /* Before ext4's reserve is lowered: a crash must be able to put the
         * original value back, on this filesystem (by identity) only. */
        if (rk_free_and_strdup(&e->j.reserve_fs, fs_id) < 0)
                return -ENOMEM;
        e->j.reserve_orig = (int64_t) value;
        return rk_journal_save(e->ctx->root.fd, e->ctx->cfg.journal, &e->j);
}

static void zero_repass(void *userdata, unsigned pass, const char *why) {
        struct engine *e = userdata;
        rk_progress_end(&e->bar, rk_now_ns());
        rk_warn(e->log, "zero-partition: read-back failed: %s; zeroing it again from offset 0 (pass %u of at most %u more)",
                why, pass, RK_ZERO_REPASS_MAX);
        rk_progress_start(&e->bar, STDERR_FILENO, e->o->progress, "zero slot again", 0, 0, rk_now_ns());
}

static void zero_fill_repass(void *userdata, unsigned pass, const char *why) {
        struct engine *e = userdata;
        rk_progress_end(&e->bar, rk_now_ns());
        rk_warn(e->log, "zero-free-space: read-back failed: %s; the fill was released, filling again (pass %u of at most %u more)",
                why, pass, RK_ZERO_REPASS_MAX);
        rk_progress_start(&e->bar, STDERR_FILENO, e->o->progress, "zero free space again", 0, 0, rk_now_ns());
}

static void zero_progress(void *userdata, uint64_t done, uint64_t total) {
        struct engine *e = userdata;
        rk_progress_update(&e->bar, done, total, rk_now_ns());
}

/* With --root, the host's own root filesystem is never a target, however
 * the path inside the root was spelled. */
static dev_t host_root_dev(struct engine *e) {
        struct stat st;
        if (e->ctx->root.is_host || stat("/", &st) < 0)
                return 0;
        return st.st_dev;
}

/* Before the reset allocates blocks (its journal, the fresh store, what
 * the accounts step writes): no page of the device cached from before (a
 * raw read of it, the directories the last step removed) may lend deleted
 * data to a new directory block, where no free-space fill reaches
 * (rk_fs_drop_device_cache).  On the root's filesystem and on each one
 * whose free space the reset zeroes; never the host's under --root. */
static void drop_stale_pages(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        dev_t refuse = host_root_dev(e);
        struct stat st;
        if (fstat(ctx->root.fd, &st) == 0 && (!refuse || st.st_dev != refuse)) {
                int r = rk_fs_drop_device_cache(ctx->root.fd);
                if (r < 0 && r != -ENODEV)
                        rk_warn(e->log, "cannot drop the cached pages of %s's device (%s): a new directory block "
                                "may take deleted data from them", ctx->root.path, strerror(-r));
        }
        for (size_t i = 0; i < e->j.plan.n; i++) {
                const struct rk_mf_entry *en = &e->j.plan.entries[i];
                char err[1024];
                if (en->action != RK_MF_ZERO_FREE_SPACE)
                        continue;
                /* a target that cannot be opened fails in its own step */
                _cleanup_close_ int fd = rk_fill_open_mount(ctx->root.fd, en->path, refuse, err, sizeof err);
                int r = fd < 0 ? -ENODEV : rk_fs_drop_device_cache(fd);
                if (r < 0 && r != -ENODEV)
                        rk_warn(e->log, "cannot drop the cached pages of %s's device (%s): a new directory block "
                                "may take deleted data from them", en->path, strerror(-r));
        }
}

static int plan_zero_partition(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        struct rk_ctx *ctx = e->ctx;
        struct rk_slots slots;
        char err[1024] = "", line[2048];
        if (!ctx->cfg.slot[0].device && !ctx->cfg.slot[1].device) {
                /* A device without A/B slots has no inactive partition: say
                 * so in the plan and the log instead of refusing the whole
                 * reset.  One slot set without the other is refused below. */
                json_object_object_add(item, "skipped", json_object_new_string("no [slots] configured"));
                if (!dry)
                        rk_notice(e->log, "zero-partition: skipped: no [slots] a/b configured, no inactive partition");
                return 0;
        }
        int t = rk_slots_preflight(&ctx->cfg, ctx->root.fd, -1, &slots, err, sizeof err);
        if (t < 0) {
                rk_slots_done(&slots);
                return rk_log_errno(e->log, t, "%s", err);
        }
        const struct rk_slot *sl = &slots.slot[t];
        json_object_object_add(item, "slot", json_object_new_string(t ? "b" : "a"));
        json_object_object_add(item, "device", json_object_new_string(sl->resolved ? sl->resolved : sl->config));
        json_object_object_add(item, "zero-bytes", json_object_new_int64((int64_t) sl->size));
        if (dry) {
                rk_slots_done(&slots);
                return 0;
        }

        /* The slot's boot entries go first: a half-zeroed slot must never
         * be booted. */
        struct rk_boot_meta_result meta = {};
        int r = rk_slot_remove_boot_metadata(&ctx->cfg, ctx->root.fd, t, &meta, err, sizeof err);
        if (r < 0) {
                rk_slots_done(&slots);
                return rk_log_errno(e->log, r, "zero-partition: boot metadata of slot %c: %s", sl->name, err);
        }
        rk_info(e->log, "zero-partition: slot %c boot metadata removed (%zu grubenv keys, %u files)",
                sl->name, meta.keys_removed, meta.files_removed);
        RK_FAULT("engine:boot-metadata-removed");

        _cleanup_close_ int fd = rk_slot_open_target(&slots, err, sizeof err);
        if (fd < 0) {
                rk_slots_done(&slots);
                return rk_log_errno(e->log, fd, "zero-partition: %s", err);
        }
        /* The journaled offset counts only on the target it was zeroed
         * on: a slot path that resolves to another device or image after a
         * reboot starts again from 0.  The identity goes into the journal
         * with the first checkpoint. */
        char id[RK_ZERO_ID_MAX], why[2 * RK_ZERO_ID_MAX + 160];
        r = rk_zero_target_id(fd, id, sizeof id);
        if (r < 0) {
                rk_slots_done(&slots);
                return rk_log_errno(e->log, r, "zero-partition: cannot identify %s: %s", sl->resolved, strerror(-r));
        }
        e->j.offset = rk_zero_resume_offset(e->j.offset, e->j.offset_target, id, why, sizeof why);
        if (why[0])
                rk_notice(e->log, "zero-partition: %s", why);
        if (rk_free_and_strdup(&e->j.offset_target, id) < 0) {
                rk_slots_done(&slots);
                return -ENOMEM;
        }
        struct rk_zero_ops ops = {
                .checkpoint = zero_checkpoint, .repass = zero_repass, .progress = zero_progress, .userdata = e,
        };
        struct rk_zero_stats st = {};
        char label[64];
        snprintf(label, sizeof label, "zero slot %c", sl->name);
        rk_progress_start(&e->bar, STDERR_FILENO, e->o->progress, label, e->j.offset, sl->size, rk_now_ns());
        /* "verified" only after reading back what the device holds now: a
         * failed read-back zeroes the slot again from its start */
        r = rk_erase_device_verified(fd, e->j.offset, ctx->cfg.verify, rk_now_ns(), &ops, &st, err, sizeof err);
        rk_progress_end(&e->bar, rk_now_ns());
        rk_zero_describe(&st, sl->resolved ? sl->resolved : sl->config, line, sizeof line);
        media_zeroed(e, en, fd, sl->resolved ? sl->resolved : sl->config, &st, r);     /* the certificate */
        rk_slots_done(&slots);
        if (r < 0)
                return rk_log_errno(e->log, r, "zero-partition: %s; %s", err, line);
        rk_info(e->log, "zero-partition: %s", line);
        json_object_object_add(item, "zeroed-bytes", json_object_new_int64((int64_t) st.written));
        json_object_object_add(item, "method", json_object_new_string(rk_zero_method_name(st.method)));
        if (st.erase != RK_ZERO_NONE)
                json_object_object_add(item, "device-erase", json_object_new_string(rk_zero_method_name(st.erase)));
        free(e->j.offset_target);       /* the step is done: no offset to tie */
        e->j.offset_target = NULL;
        return 0;
}

/* Files on the filesystem that are deleted but held open by a running
 * process: their blocks are not free, so the fill cannot reach them, and
 * they are freed unwiped when the holder exits.  Named in the log and the
 * report (not killed): the claim must say what it covers.  Returns how
 * many there are, their bytes in *ret_bytes. */
static size_t report_held(struct engine *e, const struct rk_mf_entry *en, json_object *item, int mnt_fd,
                          bool dry, uint64_t *ret_bytes) {
        struct stat st;
        _cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct rk_held_list l = {};
        *ret_bytes = 0;
        int r = proc_fd < 0 ? -errno : fstat(mnt_fd, &st) < 0 ? -errno : rk_held_scan(proc_fd, st.st_dev, &l);
        if (r < 0) {
                rk_warn(e->log, "zero-free-space %s: cannot look for deleted files held open (/proc): %s; "
                        "any such file is not reached", en->path, strerror(-r));
                return 0;
        }
        json_object *arr = json_object_new_array();
        if (!dry)       /* this run's scan replaces an interrupted one's */
                rk_unreached_drop(e->j.unreached, &e->j.n_unreached, en->path);
        for (size_t i = 0; i < l.n; i++) {
                const struct rk_held_file *h = &l.files[i];
                char b[32];
                rk_format_bytes(h->size, b, sizeof b);
                if (!dry) {
                        rk_warn(e->log, "zero-free-space %s: not reached: %s (%s), deleted but held open by pid %d (%s), fd %d",
                                en->path, h->path, b, (int) h->pid, h->comm, h->fd);
                        /* kept for `resetctl status`: lost only on ENOMEM */
                        (void) rk_unreached_add(&e->j.unreached, &e->j.n_unreached,
                                                &(struct rk_unreached) { .where = en->path, .path = h->path,
                                                                         .bytes = h->size, .pid = (int) h->pid,
                                                                         .process = (char *) h->comm });
                }
                json_object *o = json_object_new_object();
                json_object_object_add(o, "path", json_object_new_string(h->path));
                json_object_object_add(o, "bytes", json_object_new_int64((int64_t) h->size));
                json_object_object_add(o, "pid", json_object_new_int(h->pid));
                json_object_object_add(o, "process", json_object_new_string(h->comm));
                json_object_array_add(arr, o);
                *ret_bytes += h->size;
        }
        if (l.unreadable && !dry)
                rk_warn(e->log, "zero-free-space %s: the open files of %zu processes could not be read; deleted files they hold would not be reached either",
                        en->path, l.unreadable);
        json_object_object_add(item, "not-reached", arr);
        size_t n = l.n;
        rk_held_list_done(&l);
        return n;
}

static int plan_zero_free_space(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        struct rk_ctx *ctx = e->ctx;
        char err[1024] = "", line[2048];
        dev_t refuse = host_root_dev(e);
        uint64_t held_bytes;
        if (dry) {
                _cleanup_close_ int fd = rk_fill_open_mount(ctx->root.fd, en->path, refuse, err, sizeof err);
                if (fd < 0)
                        return rk_log_errno(e->log, fd, "%s", err);
                (void) report_held(e, en, item, fd, true, &held_bytes);
                struct statvfs sv;
                if (fstatvfs(fd, &sv) == 0)
                        /* f_bfree, not f_bavail: root's reserve is filled too */
                        json_object_object_add(item, "zero-bytes",
                                               json_object_new_int64((int64_t) (sv.f_bfree * sv.f_frsize)));
                return 0;
        }
        if (e->j.reserve_fs) {
                /* Resume after a crash inside this step: the fill file died
                 * with the process (O_TMPFILE) or is removed here, and the
                 * ext4 reserve goes back before the fill starts again — on
                 * the filesystem the journal names, found by its identity
                 * and its sysfs name now, whatever it was called before. */
                struct rk_fill_recovery rec;
                int r = rk_fill_recover(ctx->root.fd, en->path, e->j.reserve_fs, e->j.reserve_orig, &rec,
                                        err, sizeof err);
                if (r < 0)
                        return rk_log_errno(e->log, r, "zero-free-space %s: recovering the interrupted fill: %s",
                                            en->path, err);
                if (rec.reserve_foreign)
                        rk_warn(e->log, "zero-free-space %s: interrupted fill cleaned up (%u leftover fill files removed); "
                                "the journaled ext4 reserve %lld was not restored: the journal names %s, the mount holds %s",
                                en->path, rec.removed, (long long) e->j.reserve_orig, e->j.reserve_fs, rec.fs_id);
                else if (rec.reserve_restored)
                        rk_info(e->log, "zero-free-space %s: interrupted fill cleaned up (%u leftover fill files removed; ext4 reserve %lld restored on %s)",
                                en->path, rec.removed, (long long) e->j.reserve_orig, rec.fs_name);
                else
                        rk_info(e->log, "zero-free-space %s: interrupted fill cleaned up (%u leftover fill files removed)",
                                en->path, rec.removed);
        }
        size_t held = 0;
        {
                _cleanup_close_ int fd = rk_fill_open_mount(ctx->root.fd, en->path, refuse, err, sizeof err);
                if (fd >= 0)
                        held = report_held(e, en, item, fd, false, &held_bytes);
        }
        struct rk_fill_opts fo = {
                .verify = ctx->cfg.verify,
                .seed = rk_now_ns(),
                .refuse_dev = refuse,
                .reserve_orig = e->j.reserve_fs ? e->j.reserve_orig : -1,
                .reserve_fs = e->j.reserve_fs,
        };
        struct rk_fill_ops ops = {
                .save_reserve = zero_save_reserve, .repass = zero_fill_repass, .progress = zero_progress, .userdata = e,
        };
        struct rk_fill_stats st = {};
        char label[PATH_MAX];
        snprintf(label, sizeof label, "zero free %s", en->path);
        rk_progress_start(&e->bar, STDERR_FILENO, e->o->progress, label, 0, 0, rk_now_ns());
        int r = rk_zero_free_space(ctx->root.fd, en->path, &fo, &ops, &st, err, sizeof err);
        rk_progress_end(&e->bar, rk_now_ns());
        rk_fill_describe(&st, en->path, line, sizeof line);
        media_filled(e, en, &st, r);   /* the certificate */
        if (r < 0)
                return rk_log_errno(e->log, r, "zero-free-space %s: %s; %s", en->path, err, line);
        if (held) {
                char b[32];
                rk_format_bytes(held_bytes, b, sizeof b);
                rk_info(e->log, "zero-free-space: %s; NOT covered: %zu deleted file%s still held open (%s), named above",
                        line, held, held == 1 ? "" : "s", b);
        } else
                rk_info(e->log, "zero-free-space: %s", line);
        json_object_object_add(item, "zeroed-bytes", json_object_new_int64((int64_t) st.bytes));
        free(e->j.reserve_fs);
        e->j.reserve_fs = NULL;
        e->j.reserve_orig = -1;
        return 0;
}

static int plan_zero(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        if (!e->j.zeroize) {
                json_object_object_add(item, "skipped", json_object_new_string("--no-zeroize"));
                if (!dry)
                        rk_notice(e->log, "%s %s: skipped (--no-zeroize)", rk_mf_action_name(en->action), en->path);
                return 0;
        }
        return en->action == RK_MF_ZERO_PARTITION ? plan_zero_partition(e, en, item, dry)
                                                  : plan_zero_free_space(e, en, item, dry);
}

static int plan_entry(struct engine *e, const struct rk_mf_entry *en, json_object *item, bool dry) {
        switch (en->action) {
        case RK_MF_EXEC: return plan_exec(e, en, item, dry);
        case RK_MF_REMOVE: case RK_MF_EMPTY: case RK_MF_KEEP_NEWEST: return plan_remove(e, en, item, dry);
        case RK_MF_DELETE_USERS: return plan_users(e, en, item, dry);
        case RK_MF_RESET_PASSWORD: return plan_password(e, en, item, dry);
        case RK_MF_FACTORY_CONFIG: return plan_factory_config(e, en, item, dry);
        case RK_MF_ZERO_PARTITION: case RK_MF_ZERO_FREE_SPACE: return plan_zero(e, en, item, dry);
        case RK_MF_CRYPTO_ERASE: return plan_crypto_erase(e, en, item, dry);
        case _RK_MF_ACTION_MAX: break;
        }
        return -EINVAL;
}

static json_object *new_item(const struct rk_mf_entry *en) {
        json_object *item = json_object_new_object();
        char where[512];
        json_object_object_add(item, "step", json_object_new_int(stage_of(en->action)));
        json_object_object_add(item, "action", json_object_new_string(rk_mf_action_name(en->action)));
        json_object_object_add(item, "path", json_object_new_string(en->path ? en->path : "-"));
        json_object_object_add(item, "source", json_object_new_string(entry_where(en, where, sizeof where)));
        return item;
}

/* ---- output ----------------------------------------------------------- */

static int64_t get_i(json_object *o, const char *k) {
        json_object *v;
        return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void print_plan_text(struct engine *e, FILE *f) {
        static const char *const stage_name[] = {
                [2] = "stop", [3] = "remove", [4] = "accounts", [5] = "config",
                [6] = "partition", [7] = "free space",
        };
        fprintf(f, "Factory reset plan for %s:\n", e->ctx->root.path);
        size_t n = json_object_array_length(e->report);
        uint64_t files = 0, bytes = 0, zero = 0;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(e->report, i), *v;
                int step = (int) get_i(it, "step");
                const char *action = json_object_get_string(json_object_object_get(it, "action"));
                const char *path = json_object_get_string(json_object_object_get(it, "path"));
                fprintf(f, "  %d %-10s %-14s ", step, rk_streq(action, "crypto-erase") ? "purge"
                                                     : step >= 2 && step <= 7 ? stage_name[step] : "?", action);
                if (json_object_object_get_ex(it, "files", &v)) {
                        char b[32];
                        rk_format_bytes((uint64_t) get_i(it, "bytes"), b, sizeof b);
                        fprintf(f, "%s: %lld files, %lld dirs, %s", path, (long long) get_i(it, "files"),
                                (long long) get_i(it, "dirs"), b);
                        files += (uint64_t) get_i(it, "files");
                        bytes += (uint64_t) get_i(it, "bytes");
                } else if (json_object_object_get_ex(it, "users", &v)) {
                        size_t k = json_object_array_length(v);
                        fprintf(f, "UID >= %lld: %zu user%s", (long long) get_i(it, "min-uid"), k, k == 1 ? "" : "s");
                        for (size_t u = 0; u < k; u++)
                                fprintf(f, "%s%s", u ? ", " : ": ", json_object_get_string(json_object_array_get_idx(v, u)));
                } else if (json_object_object_get_ex(it, "command", &v))
                        fprintf(f, "%s", json_object_get_string(v));
                else if (json_object_object_get_ex(it, "luks", &v))
                        fprintf(f, "%s: %s volume: destroy every keyslot and token, rewrite the header, overwrite the "
                                "keyslot areas%s", path, json_object_get_string(v),
                                json_object_object_get_ex(it, "recreate", NULL) ? "; re-created at first boot" : "");
                else if (json_object_object_get_ex(it, "factory-config", &v))
                        fprintf(f, "delete backups and rescue, commit %s", json_object_get_string(v));
                else if (json_object_object_get_ex(it, "zero-bytes", &v)) {
                        char b[32];
                        rk_format_bytes((uint64_t) json_object_get_int64(v), b, sizeof b);
                        json_object *dev;
                        if (json_object_object_get_ex(it, "device", &dev))
                                fprintf(f, "slot %s, %s: zero %s", json_object_get_string(json_object_object_get(it, "slot")),
                                        json_object_get_string(dev), b);
                        else
                                fprintf(f, "%s: zero %s of free space", path, b);
                        zero += (uint64_t) json_object_get_int64(v);
                }
                else
                        fprintf(f, "%s", path);
                if (json_object_object_get_ex(it, "user", &v))
                        fprintf(f, "%s", e->ctx->cfg.expire_passwords ? " (expired: new password at first login)" : "");
                if (json_object_object_get_ex(it, "skipped", &v))
                        fprintf(f, " [skipped: %s]", json_object_get_string(v));
                if (json_object_object_get_ex(it, "store-state", &v) && strcmp(json_object_get_string(v), "ok") != 0)
                        fprintf(f, " [the store is %s: a fresh store replaces it]", json_object_get_string(v));
                if (json_object_object_get_ex(it, "warning", &v))
                        fprintf(f, " [%s]", json_object_get_string(v));
                if (json_object_object_get_ex(it, "retry", &v))
                        fprintf(f, " [retry: it failed before]");
                fputc('\n', f);
        }
        char b[32], z[32];
        rk_format_bytes(bytes, b, sizeof b);
        rk_format_bytes(zero, z, sizeof z);
        fprintf(f, "Total: %llu files, %s removed; %s to zero.\n", (unsigned long long) files, b, z);
}

static void print_report(struct engine *e, bool dry, const char *outcome) {
        if (e->ctx->json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "root", json_object_new_string(e->ctx->root.path));
                json_object_object_add(o, "dry-run", json_object_new_boolean(dry));
                json_object_object_add(o, "then", json_object_new_string(rk_power_name(e->o->then)));
                json_object_object_add(o, "zeroize", json_object_new_boolean(e->j.zeroize));
                if (outcome)
                        json_object_object_add(o, "result", json_object_new_string(outcome));
                json_object_object_add(o, "steps", json_object_get(e->report));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else if (dry)
                print_plan_text(e, stdout);
        fflush(stdout);
}

/* ---- locking, log, confirmation --------------------------------------- */

/* One reset per root at a time.  The lock is flock(2) on the root directory
 * itself: it exists already, so a refused or dry run leaves no trace on the
 * disk, and every spelling of the root (a bind mount, /sysroot) is the same
 * inode. */
static int take_lock(struct engine *e, int *ret_fd) {
        _cleanup_close_ int fd = openat(e->ctx->root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return rk_log_errno(e->log, errno, "cannot open the root %s to lock it: %m", e->ctx->root.path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK) {
                        rk_err(e->log, "another factory reset is running on %s (it holds the lock on the root directory); nothing changed",
                               e->ctx->root.path);
                        return -EBUSY;
                }
                return rk_log_errno(e->log, errno, "cannot lock %s: %m", e->ctx->root.path);
        }
        *ret_fd = RK_TAKE_FD(fd);
        return 0;
}

static int open_log(struct engine *e) {
        const char *name;
        _cleanup_close_ int dfd = rk_open_parent_at(e->ctx->root.fd, rk_path_relative(e->ctx->cfg.reset_log),
                                                    01777, &name);
        if (dfd < 0)
                return dfd;
        int r = RK_FAIL("engine:log-open");
        if (r < 0)
                return r;
        /* O_DSYNC: every line is on the disk when write() returns.  A line
         * left to delayed allocation can be lost: step 7 lowers ext4's
         * reserve (what writeback takes metadata blocks from) to 0 and
         * fills the disk, and writeback that finds no block then drops the
         * page ("Data will be lost").  An ASan run once ended with a log
         * missing steps 6 and 7.  It also keeps a power cut from taking
         * the lines before it. */
        int fd = openat(dfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_DSYNC, 0600);
        if (fd < 0)
                return -errno;
        rk_log_set_file(e->log, fd);
        return 0;
}

/* Move the log from /tmp to /var/log/resetkit (inside the root).  The first
 * attempt of a reset replaces what an earlier reset left there (an atomic
 * copy); a retry appends, so the final log tells every attempt. */
static int move_log(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        const char *src = rk_path_relative(ctx->cfg.reset_log);
        const char *dname;
        _cleanup_close_ int sfd = rk_openat2(ctx->root.fd, src, O_RDONLY, 0, RK_RESOLVE_STRICT);
        if (sfd == -ENOENT)
                return 0;       /* the log could not be opened: nothing to move */
        if (sfd < 0)
                return sfd;
        _cleanup_close_ int dfd = rk_open_parent_at(ctx->root.fd, rk_path_relative(ctx->cfg.final_log), 0755, &dname);
        if (dfd < 0)
                return dfd;
        int r = RK_FAIL("engine:log-move");
        if (r < 0)
                return r;
        if (e->j.attempts > 1)
                r = rk_append_copy_at(dfd, dname, sfd, 0640);
        else
                r = rk_copy_atomic_at(dfd, dname, sfd, 0640);
        if (r < 0)
                return r;
        /* A power cut from here to the unlink copies this attempt's lines
         * once more at the next move: a log line twice, never one lost. */
        rk_log_set_file(e->log, -1);
        if (unlinkat(ctx->root.fd, src, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static bool confirm(struct engine *e) {
        if (e->o->yes)
                return true;
        if (!isatty(STDIN_FILENO)) {
                rk_err(e->log, "refusing to reset without a terminal to confirm on; pass --yes (nothing changed)");
                return false;
        }
        print_plan_text(e, stderr);
        fprintf(stderr, "\nThis deletes every item above on %s and cannot be undone.\nType 'yes' to reset: ",
                e->ctx->root.path);
        char line[64] = "";
        if (!fgets(line, sizeof line, stdin))
                return false;
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, "yes") != 0) {
                rk_err(e->log, "not confirmed; nothing changed");
                return false;
        }
        return true;
}

/* ---- the engine's own files --------------------------------------------- */

static int add_own(struct engine *e, const char *abs, const char *what) {
        const char *rel = rk_path_relative(abs);
        if (strcmp(rel, ".") == 0)
                return 0;
        for (size_t i = 0; i < e->n_own; i++)
                if (strcmp(e->own[i].path, rel) == 0)
                        return 0;
        struct own_file *n = realloc(e->own, (e->n_own + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        e->own = n;
        if (!(n[e->n_own].path = strdup(rel)) || rk_strv_push(&e->protect, rel) < 0)
                return -ENOMEM;
        n[e->n_own++].what = what;
        return 0;
}

/* The journal, the record of the last reset, the log, the final log and the
 * certificate, and the directory of each: never removed by the reset's own
 * entries (rmtree compares them by identity), and an entry that would
 * remove one is refused in preflight. */
static int build_protect(struct engine *e) {
        struct rk_config *c = &e->ctx->cfg;
        _cleanup_free_ char *record = NULL;
        if (rk_journal_record_path(c->journal, &record) < 0)
                return -ENOMEM;
        const struct { const char *path, *what, *dir_what; } files[] = {
                { c->journal, "the reset's journal", "the directory of the reset's journal" },
                { record, "the record of the last reset", "the directory of the record of the last reset" },
                { c->reset_log, "the reset's log", "the directory of the reset's log" },
                { c->final_log, "the reset's final log", "the directory of the reset's final log" },
                { RK_RESET_CERTIFICATE, "the sanitization certificate", "the directory of the sanitization certificate" },
        };
        /* the key that signs the certificate must outlive the reset (the
         * file only: `empty` of its directory sweeps around it) */
        if (c->certificate_key && add_own(e, c->certificate_key, "the certificate signing key ([reset] certificate-key)") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < RK_ELEMENTSOF(files); i++) {
                _cleanup_free_ char *dir = strdup(files[i].path);
                if (!dir)
                        return -ENOMEM;
                char *slash = strrchr(dir, '/');
                if (slash)
                        *slash = 0;
                if (add_own(e, files[i].path, files[i].what) < 0 ||
                    (slash && slash != dir && add_own(e, dir, files[i].dir_what) < 0))
                        return -ENOMEM;
        }
        return 0;
}

/* Does a manifest glob ("/var/lib/ *") match the root-relative path
 * ("var/lib/resetkit") itself, component by component as rmtree expands it
 * (fnmatch without flags: '*' takes dot-files, never "." or "..")? */
static bool glob_matches(const char *glob, const char *path) {
        _cleanup_free_ char *g = strdup(glob), *p = strdup(path);
        if (!g || !p)
                return false;
        char *gs = NULL, *ps = NULL;
        char *gc = strtok_r(g, "/", &gs), *pc = strtok_r(p, "/", &ps);
        for (; gc && pc; gc = strtok_r(NULL, "/", &gs), pc = strtok_r(NULL, "/", &ps))
                if (fnmatch(gc, pc, 0) != 0)
                        return false;
        return !gc && !pc;
}

struct ident {
        dev_t dev;
        ino_t ino;
};

static bool ident_of(int root_fd, const char *rel, struct ident *ret) {
        _cleanup_close_ int fd = rk_openat2(root_fd, rel, O_PATH | O_NOFOLLOW, 0, RK_RESOLVE_ROOTED);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return false;
        *ret = (struct ident) { st.st_dev, st.st_ino };
        return true;
}

/* What does an entry whose match is an own file f (is_self) or a directory
 * above f do to it?  -1 removes it: refused.  1 sweeps around it: `empty D`
 * of a directory above f removes what is in D, and rmtree keeps f and the
 * directories holding it (the directory of each own file is an own file
 * too, so emptying that one is refused).  0 nothing. */
static int own_conflict(enum rk_mf_action action, bool is_self, bool holds_it) {
        if (is_self)
                return -1;
        if (!holds_it)
                return 0;
        return action == RK_MF_EMPTY ? 1 : -1;
}

static int worse(int a, int b) {
        return a < 0 || b < 0 ? -1 : a > b ? a : b;
}

/* Preflight of a removal entry against the engine's own files: by name (the
 * glob matched against their paths, whether they exist yet or not) and by
 * identity (the glob's matches now, against the files and every directory
 * above them: a bind mount is another spelling). */
static int check_own_files(struct engine *e, const struct rk_mf_entry *en, json_object *item) {
        char where[512];
        int worst = 0;
        const char *worst_what = NULL, *worst_path = NULL;
        struct rk_glob g = {};
        (void) rk_glob_expand(e->ctx->root.fd, en->path, NULL, &g);
        _cleanup_strv_free_ char **matches = g.matches;

        for (size_t i = 0; i < e->n_own; i++) {
                const struct own_file *f = &e->own[i];
                int c = 0;
                /* by name: the glob matches f or a directory above it */
                _cleanup_free_ char *up = strdup(f->path);
                if (!up)
                        return -ENOMEM;
                for (char *slash = NULL;; *slash = 0) {
                        if (glob_matches(en->path, up)) {
                                bool self = strcmp(up, f->path) == 0;
                                c = worse(c, own_conflict(en->action, self, !self));
                        }
                        slash = strrchr(up, '/');
                        if (!slash)
                                break;
                }
                /* by identity: a match is f, or a directory above f */
                struct ident want, id, dir;
                bool have = ident_of(e->ctx->root.fd, f->path, &want);
                for (char **m = matches; have && m && *m; m++) {
                        if (!ident_of(e->ctx->root.fd, *m, &id))
                                continue;
                        if (id.dev == want.dev && id.ino == want.ino) {
                                c = -1;
                                continue;
                        }
                        _cleanup_free_ char *d = strdup(f->path);
                        if (!d)
                                return -ENOMEM;
                        for (char *slash = strrchr(d, '/'); slash; slash = strrchr(d, '/')) {
                                *slash = 0;
                                if (ident_of(e->ctx->root.fd, d, &dir) && dir.dev == id.dev && dir.ino == id.ino)
                                        c = worse(c, own_conflict(en->action, false, true));
                        }
                }
                if (c < 0 || (c > 0 && worst == 0)) {
                        if (c < 0 && worst < 0)
                                continue;       /* the first refusal names it */
                        worst = c;
                        worst_what = f->what;
                        worst_path = f->path;
                }
        }
        if (worst < 0) {
                rk_err(e->log, "%s: %s %s would remove %s (/%s): refused (the reset never removes its own "
                       "journal, log or certificate)", entry_where(en, where, sizeof where),
                       rk_mf_action_name(en->action), en->path, worst_what, worst_path);
                return -EPERM;
        }
        if (worst > 0) {
                char w[512];
                snprintf(w, sizeof w, "keeps %s /%s", worst_what, worst_path);
                json_object_object_add(item, "warning", json_object_new_string(w));
                rk_warn(e->log, "%s: %s %s: %s and what holds it are kept", entry_where(en, where, sizeof where),
                        rk_mf_action_name(en->action), en->path, worst_what);
        }
        return 0;
}

/* ---- the run ----------------------------------------------------------- */

static int preflight(struct engine *e) {
        int failures = 0;
        for (size_t i = 0; i < e->j.plan.n; i++) {
                const struct rk_mf_entry *en = &e->j.plan.entries[i];
                json_object *item = new_item(en);
                json_object_array_add(e->report, item);
                int r = rk_mf_action_removes(en->action) ? check_own_files(e, en, item) : 0;
                if (r >= 0)
                        r = plan_entry(e, en, item, true);
                if (r < 0) {
                        char where[512];
                        rk_err(e->log, "preflight: %s %s (%s) refused", rk_mf_action_name(en->action),
                               en->path, entry_where(en, where, sizeof where));
                        failures++;
                }
        }
        return failures ? -EPERM : 0;
}

/* A resume's preflight only informs: after the first change the reset only
 * moves forward, so an entry that cannot run now runs anyway, fails and is
 * recorded, and the others still run. */
static void preflight_resume(struct engine *e) {
        for (size_t i = 0; i < e->j.plan.n; i++) {
                if (!rk_journal_pending(&e->j, i))
                        continue;
                const struct rk_mf_entry *en = &e->j.plan.entries[i];
                json_object *item = new_item(en);
                json_object_array_add(e->report, item);
                if (rk_journal_is_failed(&e->j, i))
                        json_object_object_add(item, "retry", json_object_new_boolean(true));
                if (plan_entry(e, en, item, true) < 0) {
                        char where[512];
                        rk_warn(e->log, "preflight: %s %s (%s) looks like it fails again; it runs anyway",
                                rk_mf_action_name(en->action), en->path, entry_where(en, where, sizeof where));
                }
        }
}

static void run_entry(struct engine *e, size_t i) {
        struct rk_ctx *ctx = e->ctx;
        const struct rk_mf_entry *en = &e->j.plan.entries[i];
        char where[512];
        json_object *item = new_item(en);
        json_object_array_add(e->report, item);
        bool retry = rk_journal_is_failed(&e->j, i);
        rk_info(e->log, "step %d, entry %zu/%zu: %s %s%s%s%s", stage_of(en->action), i + 1, e->j.plan.n,
                rk_mf_action_name(en->action), en->path, en->arg ? " " : "",
                en->action == RK_MF_RESET_PASSWORD ? "(hash)" : en->arg ? en->arg : "",
                retry ? " (retry: it failed before)" : "");
        /* the zeroing offset belongs to the entry that was running */
        if (e->j.current != i) {
                e->j.current = i;
                e->j.offset = 0;
        }
        uint64_t t0 = rk_now_ms();
        RK_FAULT("engine:before-entry");
        int r = plan_entry(e, en, item, false);
        json_object_object_add(item, "ms", json_object_new_int64((int64_t) (rk_now_ms() - t0)));
        json_object_object_add(item, "result", json_object_new_string(r < 0 ? "failed" : "done"));
        if (r < 0)
                rk_err(e->log, "step %d, entry %zu/%zu failed: %s %s (%s): %s; going on with the next entries "
                       "(it is recorded and retried)", stage_of(en->action), i + 1, e->j.plan.n,
                       rk_mf_action_name(en->action), en->path, entry_where(en, where, sizeof where), strerror(-r));
        else
                rk_info(e->log, "step %d, entry %zu/%zu: done in %.1f s", stage_of(en->action), i + 1, e->j.plan.n,
                        (double) (rk_now_ms() - t0) / 1000.0);
        RK_FAULT("engine:entry-done");
        if (rk_journal_set_failed(&e->j, i, r < 0) < 0)
                rk_err(e->log, "out of memory recording entry %zu", i + 1);
        if (e->j.next < i + 1)
                e->j.next = i + 1;
        e->j.current = e->j.next;
        e->j.offset = 0;
        r = rk_journal_save(ctx->root.fd, ctx->cfg.journal, &e->j);
        if (r < 0)
                /* Going on is safe: a resume redoes what the journal does not
                 * record, and every entry is idempotent. */
                rk_warn(e->log, "cannot update the journal %s: %s; going on", ctx->cfg.journal, strerror(-r));
        RK_FAULT("engine:journaled");
}

static void run_steps(struct engine *e) {
        json_object_put(e->report);
        e->report = json_object_new_array();
        int step = 0;
        for (size_t i = 0; i < e->j.plan.n; i++) {
                if (!rk_journal_pending(&e->j, i))
                        continue;
                /* what the step before freed (removed directories among
                 * it) is cached: the next step may allocate those blocks */
                int s = stage_of(e->j.plan.entries[i].action);
                if (step && s != step)
                        drop_stale_pages(e);
                step = s;
                run_entry(e, i);
        }
}

static int load_fresh_plan(struct engine *e) {
        char err[1024] = "";
        int r = rk_manifest_load(&e->j.plan, e->ctx->root.fd, err, sizeof err);
        if (r < 0) {
                rk_err(e->log, "%s (nothing changed)", *err ? err : strerror(-r));
                return -EINVAL;
        }
        if (e->j.plan.n == 0) {
                rk_err(e->log, "no factory-reset manifest entries in %s usr/lib/resetkit/factory-reset.d or etc/resetkit/factory-reset.d (nothing changed)",
                       e->ctx->root.path);
                return -EINVAL;
        }
        sort_plan(&e->j.plan);
        e->j.then = strdup(rk_power_name(e->o->then));
        e->j.zeroize = e->o->zeroize;
        e->j.started = (uint64_t) time(NULL);
        return e->j.then ? 0 : -ENOMEM;
}

/* ---- step 8: the sanitization certificate --------------------------------- */

#define CERT_KEY_MAX (64 * 1024)

/* Sign text with [reset] certificate-key.  Returns the signature, or NULL
 * with *why saying why the certificate stays unsigned. */
static unsigned char *cert_sign(struct engine *e, const char *text, size_t *siglen, char **why) {
        struct rk_ctx *ctx = e->ctx;
        _cleanup_free_ char *key = NULL;
        size_t keylen = 0;
        char err[256] = "";
        unsigned char *sig = NULL;
        int r = rk_read_at(ctx->root.fd, rk_path_relative(ctx->cfg.certificate_key), RK_RESOLVE_ROOTED, CERT_KEY_MAX,
                           &key, &keylen);
        if (r < 0) {
                if (asprintf(why, "[reset] certificate-key %s cannot be read: %s", ctx->cfg.certificate_key,
                             strerror(-r)) < 0)
                        *why = NULL;
                return NULL;
        }
        r = rk_cert_sign(key, keylen, text, strlen(text), &sig, siglen, err, sizeof err);
        explicit_bzero(key, keylen);
        if (r < 0 && asprintf(why, "[reset] certificate-key %s: %s", ctx->cfg.certificate_key, err) < 0)
                *why = NULL;
        return r < 0 ? NULL : sig;
}

static int cert_text(struct engine *e, bool complete, const struct rk_cert_device *dev, const char *unsigned_why,
                     char **ret) {
        struct rk_cert c = {
                .tool_version = RK_VERSION, .started = e->j.started, .finished = (uint64_t) time(NULL),
                .complete = complete, .device = *dev, .trigger = e->j.trigger, .removed = e->j.removed,
                .media = e->j.media, .n_media = e->j.n_media, .sign_key = e->ctx->cfg.certificate_key,
                .unsigned_why = unsigned_why,
        };
        return rk_cert_format(&c, ret);
}

/* Written last (step 8), on a failed reset too (result "failed"): every
 * attempt replaces it.  A signature that cannot be made leaves the
 * certificate unsigned, saying why, and never stops the reset. */
static int write_certificate(struct engine *e, bool complete) {
        struct rk_ctx *ctx = e->ctx;
        struct rk_cert_device dev;
        _cleanup_free_ char *text = NULL, *why = NULL, *signame = NULL;
        _cleanup_free_ unsigned char *sig = NULL;
        size_t siglen = 0;
        (void) rk_cert_device_read("/sys/class/dmi/id", ctx->root.fd, &dev);
        char host[256];
        if (!dev.hostname && ctx->root.is_host && gethostname(host, sizeof host) == 0)
                dev.hostname = strdup(host);
        int r = cert_text(e, complete, &dev, NULL, &text);
        if (r >= 0 && ctx->cfg.certificate_key && !(sig = cert_sign(e, text, &siglen, &why))) {
                free(text);
                text = NULL;
                r = cert_text(e, complete, &dev, why ? why : "the signature could not be made", &text);
        }
        rk_cert_device_done(&dev);
        if (r < 0)
                return r;
        const char *name;
        _cleanup_close_ int dfd = rk_open_parent_at(ctx->root.fd, rk_path_relative(RK_RESET_CERTIFICATE), 0755, &name);
        if (dfd < 0)
                return dfd;
        if (asprintf(&signame, "%s" RK_CERT_SIG_SUFFIX, name) < 0)
                return -ENOMEM;
        r = rk_write_atomic_at(dfd, name, text, strlen(text), 0644);
        if (r < 0)
                return r;
        if (sig)
                r = rk_write_atomic_at(dfd, signame, sig, siglen, 0644);
        else if (unlinkat(dfd, signame, 0) < 0 && errno != ENOENT)
                r = -errno;     /* a stale signature would verify nothing it names */
        if (r < 0)
                return r;
        if (sig)
                rk_info(e->log, "sanitization certificate %s written (%zu media), signed with %s (%s" RK_CERT_SIG_SUFFIX ")",
                        RK_RESET_CERTIFICATE, e->j.n_media, ctx->cfg.certificate_key, RK_RESET_CERTIFICATE);
        else if (ctx->cfg.certificate_key)
                rk_warn(e->log, "sanitization certificate %s written (%zu media), UNSIGNED: %s", RK_RESET_CERTIFICATE,
                        e->j.n_media, why ? why : "the signature could not be made");
        else
                rk_info(e->log, "sanitization certificate %s written (%zu media), unsigned (no [reset] certificate-key)",
                        RK_RESET_CERTIFICATE, e->j.n_media);
        return 0;
}

static void finish_certificate(struct engine *e, bool complete) {
        int r = write_certificate(e, complete);
        if (r < 0)
                rk_err(e->log, "cannot write the sanitization certificate %s: %s", RK_RESET_CERTIFICATE, strerror(-r));
}

/* ---- attempts, outcome, status ----------------------------------------- */

static bool gave_up(const struct rk_journal *j) {
        return j->attempts >= RK_JOURNAL_MAX_ATTEMPTS;
}

static unsigned retries_left(const struct rk_journal *j) {
        return j->attempts >= RK_JOURNAL_MAX_ATTEMPTS ? 0 : RK_JOURNAL_MAX_ATTEMPTS - j->attempts;
}

/* "entry 5/78 remove /x (ssr.conf:12), ..." of the failed entries, and with
 * unreached, of those the plan never got to. */
static char *describe_failed(const struct rk_journal *j, bool unreached) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        const char *sep = "";
        for (size_t i = 0; i < j->plan.n; i++) {
                if (!rk_journal_is_failed(j, i) && !(unreached && i >= j->next))
                        continue;
                const struct rk_mf_entry *en = &j->plan.entries[i];
                char where[512];
                fprintf(f, "%sentry %zu/%zu %s %s (%s)%s", sep, i + 1, j->plan.n, rk_mf_action_name(en->action),
                        en->path, entry_where(en, where, sizeof where),
                        rk_journal_is_failed(j, i) ? "" : " not reached");
                sep = ", ";
        }
        fclose(f);
        return buf;
}

static int give_up(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        bool interrupted = !e->j.failed_state;
        _cleanup_free_ char *list = describe_failed(&e->j, interrupted);
        rk_err(e->log, "factory reset on %s: gave up after %u attempts (at most %u); not retrying, so a boot "
               "cannot loop on it; what did not complete: %s.  `resetctl factory-reset` (without --resume) "
               "starts a fresh plan", ctx->root.path, e->j.attempts, RK_JOURNAL_MAX_ATTEMPTS,
               list && *list ? list : "-");
        if (interrupted && !e->o->dry_run) {
                /* the last attempt was cut off: what it did not reach failed */
                for (size_t i = e->j.next; i < e->j.plan.n; i++)
                        (void) rk_journal_set_failed(&e->j, i, true);
                e->j.next = e->j.current = e->j.plan.n;
                e->j.failed_state = true;
                (void) rk_journal_save(ctx->root.fd, ctx->cfg.journal, &e->j);
        }
        return RK_EXIT_FAILURE;
}

static int finish_failed(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        e->j.failed_state = true;
        e->j.current = e->j.next;
        e->j.offset = 0;
        finish_certificate(e, false);
        int r = rk_journal_save(ctx->root.fd, ctx->cfg.journal, &e->j);
        if (r < 0)
                rk_warn(e->log, "cannot record the failure in the journal %s: %s", ctx->cfg.journal, strerror(-r));
        _cleanup_free_ char *list = describe_failed(&e->j, false);
        unsigned left = retries_left(&e->j);
        if (left > 0)
                rk_err(e->log, "factory reset failed on %s (attempt %u of %u): %s; every other entry ran.  "
                       "`resetctl factory-reset --resume` (run at every boot) retries only these, %u more time%s",
                       ctx->root.path, e->j.attempts, RK_JOURNAL_MAX_ATTEMPTS, list ? list : "?", left,
                       left == 1 ? "" : "s");
        else
                rk_err(e->log, "factory reset failed on %s (attempt %u of %u, the last): %s; every other entry ran.  "
                       "No retry is left: `resetctl factory-reset` starts a fresh plan", ctx->root.path,
                       e->j.attempts, RK_JOURNAL_MAX_ATTEMPTS, list ? list : "?");
        r = move_log(e);
        if (r < 0)
                rk_warn(e->log, "cannot move the log to %s: %s", ctx->cfg.final_log, strerror(-r));
        print_report(e, false, "failed");
        return RK_EXIT_FAILURE;
}

/* reboot-command and poweroff-command come from the target's configuration:
 * they run on this machine only when the target is this system, or when
 * the operator gave the configuration (--config). */
static int power(struct engine *e, enum rk_power then) {
        struct rk_ctx *ctx = e->ctx;
        if (then == RK_POWER_NONE)
                return 0;
        if (!ctx->root.is_host && !e->o->trusted_config) {
                rk_notice(e->log, "%s: skipped: --root %s is not this system, and no command of its configuration "
                          "(%s-command) runs on this machine", rk_power_name(then), ctx->root.path, rk_power_name(then));
                return 0;
        }
        return rk_power_do(ctx, then);
}

static int finish_complete(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        rk_info(e->log, "factory reset complete on %s (%zu entries, attempt %u)", ctx->root.path, e->j.plan.n,
                e->j.attempts);
        /* step 8: the certificate first, then the record, the log */
        finish_certificate(e, true);
        /* the record first: once the journal is gone it is what says
         * "complete" */
        struct rk_reset_record rec = { .started = e->j.started, .finished = (uint64_t) time(NULL),
                                       .attempts = e->j.attempts, .entries = e->j.plan.n,
                                       .unreached = e->j.unreached, .n_unreached = e->j.n_unreached };
        int r = rk_journal_record_save(ctx->root.fd, ctx->cfg.journal, &rec);
        if (r < 0) {
                /* without it `status` would say "none": the journal stays,
                 * and the next resume (nothing left to run) records it */
                rk_err(e->log, "every entry is done, but the record of this reset cannot be written beside %s: %s; "
                       "the journal stays and `resetctl factory-reset --resume` finishes the bookkeeping",
                       ctx->cfg.journal, strerror(-r));
                int m = move_log(e);
                if (m < 0)
                        rk_warn(e->log, "cannot move the log to %s: %s", ctx->cfg.final_log, strerror(-m));
                print_report(e, false, "failed");
                return RK_EXIT_FAILURE;
        }
        RK_FAULT("engine:recorded");
        r = move_log(e);
        if (r < 0)
                rk_warn(e->log, "cannot move the log to %s: %s", ctx->cfg.final_log, strerror(-r));
        RK_FAULT("engine:log-moved");
        enum rk_power then = RK_POWER_NONE;
        (void) rk_power_parse(e->j.then, &then);
        /* deleted last: until it is gone a power cut means "resume" */
        r = rk_journal_remove(ctx->root.fd, ctx->cfg.journal);
        if (r < 0) {
                rk_err(e->log, "cannot remove the journal %s: %s", ctx->cfg.journal, strerror(-r));
                return RK_EXIT_FAILURE;
        }
        RK_FAULT("engine:journal-removed");
        print_report(e, false, "done");
        /* --then (or a caller that powers the machine itself) overrides
         * what the plan recorded */
        if (e->o->then_set || e->o->then != RK_POWER_NONE)
                then = e->o->then;
        return power(e, then) < 0 ? RK_EXIT_FAILURE : RK_EXIT_OK;
}

int rk_factory_reset_pending_state(struct rk_ctx *ctx, struct rk_reset_pending *ret) {
        struct rk_journal j;
        rk_journal_init(&j);
        *ret = (struct rk_reset_pending) { .then = RK_POWER_REBOOT };
        int r = rk_journal_load(ctx->root.fd, ctx->cfg.journal, &j, ret->why, sizeof ret->why);
        if (r == -ENOENT)
                ret->state = RK_PENDING_NONE;
        else if (r < 0)
                ret->state = RK_PENDING_CORRUPT;
        else {
                ret->state = j.requested ? RK_PENDING_REQUESTED : gave_up(&j) ? RK_PENDING_GAVE_UP : RK_PENDING_INTERRUPTED;
                (void) rk_power_parse(j.then, &ret->then);
                snprintf(ret->trigger, sizeof ret->trigger, "%s", j.trigger ? j.trigger : "command line");
        }
        rk_journal_free(&j);
        return 0;
}

bool rk_factory_reset_pending(struct rk_ctx *ctx) {
        struct rk_reset_pending p;
        (void) rk_factory_reset_pending_state(ctx, &p);
        /* a corrupt journal is pending too: the resume says why it refuses */
        return p.state == RK_PENDING_REQUESTED || p.state == RK_PENDING_INTERRUPTED || p.state == RK_PENDING_CORRUPT;
}

/* ---- requests ----------------------------------------------------------- */

/* Is an early-boot program there to carry a request out?  On the running
 * system: reset-failsafe ran at this boot (it leaves RK_EARLY_BOOT_STAMP in
 * /run), or the early unit is enabled.  In another tree (--root): its
 * initramfs hook, dracut module or enabled early unit is installed. */
static bool early_boot_installed(struct rk_ctx *ctx, const char **why) {
        static const char *const in_tree[] = {
                "etc/systemd/system/sysinit.target.wants/reset-failsafe.service",
                "usr/share/initramfs-tools/hooks/resetkit",
                "usr/lib/dracut/modules.d/90resetkit/module-setup.sh",
        };
        if (ctx->root.is_host) {
                if (access(RK_EARLY_BOOT_STAMP, F_OK) == 0 ||
                    access("/etc/systemd/system/sysinit.target.wants/reset-failsafe.service", F_OK) == 0)
                        return true;
                *why = "reset-failsafe did not run at this boot (no " RK_EARLY_BOOT_STAMP
                       ") and its early unit is not enabled";
                return false;
        }
        for (size_t i = 0; i < RK_ELEMENTSOF(in_tree); i++)
                if (faccessat(ctx->root.fd, in_tree[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return true;
        *why = "the tree has no reset-failsafe integration (initramfs-tools hook, dracut module or enabled early unit)";
        return false;
}

/* Now or at the next boot?  Returns RK_RESET_NOW or RK_RESET_AT_BOOT, or
 * -EPERM when --at-boot was asked for and nothing would carry it out. */
static int resolve_when(struct engine *e) {
        const char *why = NULL;
        /* the command line (or the caller) first, then [reset] when */
        bool asked = e->o->when != RK_RESET_AUTO;
        switch (asked ? e->o->when : e->ctx->cfg.reset_when) {
        case RK_RESET_NOW:
                return RK_RESET_NOW;
        case RK_RESET_AT_BOOT:
                if (early_boot_installed(e->ctx, &why))
                        return RK_RESET_AT_BOOT;
                rk_err(e->log, "%s: nothing would carry the request out: %s; nothing changed",
                       asked ? "--at-boot" : "[reset] when = at-boot", why);
                return -EPERM;
        case RK_RESET_AUTO:
                break;
        }
        /* --root: a mounted image or an initramfs's /sysroot, where no
         * service holds the files: at once, as documented */
        if (!e->ctx->root.is_host)
                return RK_RESET_NOW;
        if (early_boot_installed(e->ctx, &why))
                return RK_RESET_AT_BOOT;
        rk_warn(e->log, "running the factory reset now, as a live process: %s; files that running services "
                "hold open cannot be wiped and are named in the log", why);
        return RK_RESET_NOW;
}

static int cancel_request(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        char err[1024] = "";
        int r = rk_journal_load(ctx->root.fd, ctx->cfg.journal, &e->j, err, sizeof err);
        if (r == -ENOENT) {
                rk_info(e->log, "no factory reset is requested on %s: nothing to cancel", ctx->root.path);
                return RK_EXIT_OK;
        }
        if (r < 0) {
                rk_err(e->log, "%s; not cancelling what cannot be read (nothing changed)", err);
                return RK_EXIT_FAILURE;
        }
        if (!e->j.requested) {
                rk_err(e->log, "the factory reset on %s has already started (attempt %u): it can no longer be "
                       "cancelled; the next boot finishes it (nothing changed)", ctx->root.path, e->j.attempts);
                return RK_EXIT_REFUSED;
        }
        if (e->o->dry_run) {
                rk_info(e->log, "the factory reset requested on %s would be withdrawn", ctx->root.path);
                return RK_EXIT_OK;
        }
        r = rk_journal_remove(ctx->root.fd, ctx->cfg.journal);
        if (r < 0) {
                rk_err(e->log, "cannot withdraw the request %s: %s", ctx->cfg.journal, strerror(-r));
                return RK_EXIT_FAILURE;
        }
        rk_notice(e->log, "the factory reset requested on %s is withdrawn; nothing was changed", ctx->root.path);
        return RK_EXIT_OK;
}

/* Record the request: the frozen plan, durable, and nothing else. */
static int record_request(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        e->j.requested = true;
        e->j.attempts = 0;
        free(e->j.trigger);
        free(e->j.then);
        /* after the reset at boot: back into the factory state, or off
         * when the request powers the device off now */
        e->j.then = strdup(e->o->then == RK_POWER_POWEROFF ? "poweroff" : "reboot");
        e->j.trigger = strdup(e->o->trigger ? e->o->trigger : "command line");
        if (!e->j.then || !e->j.trigger)
                return RK_EXIT_FAILURE;
        drop_stale_pages(e);
        int r = rk_journal_save(ctx->root.fd, ctx->cfg.journal, &e->j);
        if (r < 0) {
                rk_err(e->log, "cannot record the request %s: %s (nothing changed)", ctx->cfg.journal, strerror(-r));
                return RK_EXIT_FAILURE;
        }
        RK_FAULT("engine:requested");
        rk_notice(e->log, "factory reset requested on %s (by %s): it runs at the next boot, before any service "
                  "starts; `resetctl factory-reset --cancel` withdraws it", ctx->root.path, e->j.trigger);
        print_report(e, false, "requested");
        enum rk_power now = e->o->then_set ? e->o->then : RK_POWER_REBOOT;
        return power(e, now) < 0 ? RK_EXIT_FAILURE : RK_EXIT_OK;
}

/* ---- the whole reset ---------------------------------------------------- */

static int do_reset(struct engine *e) {
        struct rk_ctx *ctx = e->ctx;
        const struct rk_reset_opts *o = e->o;
        char err[1024] = "";
        int r;
        bool resuming = false;

        r = build_protect(e);
        if (r < 0)
                return RK_EXIT_FAILURE;
        if (o->cancel)
                return cancel_request(e);
        int when = o->resume ? RK_RESET_NOW : resolve_when(e);
        if (when < 0)
                return RK_EXIT_REFUSED;

        /* --resume is the next boot: it holds the lock, and what a power cut
         * left beside the journal goes even when there is nothing to resume */
        if (o->resume && !o->dry_run)
                (void) rk_journal_cleanup(ctx->root.fd, ctx->cfg.journal);
        r = rk_journal_load(ctx->root.fd, ctx->cfg.journal, &e->j, err, sizeof err);
        if (r == 0 && gave_up(&e->j)) {
                if (o->resume)
                        return give_up(e);
                /* an explicit reset after a given-up one: a fresh plan */
                _cleanup_free_ char *list = describe_failed(&e->j, !e->j.failed_state);
                rk_notice(e->log, "an earlier factory reset gave up after %u attempts (%s); %s a fresh plan",
                          e->j.attempts, list ? list : "?", o->dry_run ? "the plan below is" : "starting");
                rk_journal_free(&e->j);
        } else if (r == 0 && e->j.requested && !o->resume && when == RK_RESET_AT_BOOT) {
                rk_notice(e->log, "a factory reset is already requested on %s (by %s); it runs at the next boot "
                          "(nothing changed)", ctx->root.path, e->j.trigger ? e->j.trigger : "command line");
                if (o->dry_run)
                        print_report(e, true, NULL);
                return RK_EXIT_OK;
        } else if (r == 0)
                resuming = true;
        else if (r != -ENOENT) {
                rk_err(e->log, "%s; refusing to guess what an interrupted reset left (nothing changed)", err);
                return RK_EXIT_FAILURE;
        } else if (o->resume) {
                rk_info(e->log, "no interrupted factory reset on %s: nothing to resume", ctx->root.path);
                return RK_EXIT_OK;
        }
        if (resuming && o->dry_run)
                rk_notice(e->log, "an interrupted factory reset is pending (attempt %u of %u; %zu of %zu entries "
                          "reached, %zu failed); the plan below is what --resume runs", e->j.attempts,
                          RK_JOURNAL_MAX_ATTEMPTS, e->j.next, e->j.plan.n, e->j.n_failed);
        else if (resuming && !o->resume)
                rk_notice(e->log, "an interrupted factory reset is pending: finishing it");
        if (!resuming) {
                r = load_fresh_plan(e);
                if (r < 0)
                        return r == -EINVAL ? RK_EXIT_USAGE : RK_EXIT_FAILURE;
        }

        /* 1. Preflight: every target resolved, every safety check passed,
         * before anything changes. */
        e->report = json_object_new_array();
        if (resuming)
                preflight_resume(e);
        else if (preflight(e) < 0) {
                rk_err(e->log, "preflight failed; nothing changed");
                return RK_EXIT_REFUSED;
        }
        if (o->dry_run) {
                print_report(e, true, NULL);
                return RK_EXIT_OK;
        }
        if (!resuming && !confirm(e))
                return RK_EXIT_REFUSED;
        if (!resuming && when == RK_RESET_AT_BOOT)
                return record_request(e);
        bool was_requested = e->j.requested;
        if (was_requested)
                rk_notice(e->log, "carrying out the factory reset requested on %s (by %s)", ctx->root.path,
                          e->j.trigger ? e->j.trigger : "command line");
        e->j.requested = false;
        if (!e->j.trigger && !(e->j.trigger = strdup(o->trigger ? o->trigger : "command line")))
                return RK_EXIT_FAILURE;

        /* Under the lock from here on: only now may what a power cut left
         * beside the journal be cleaned up. */
        (void) rk_journal_cleanup(ctx->root.fd, ctx->cfg.journal);
        drop_stale_pages(e);
        r = open_log(e);
        if (r < 0)
                rk_warn(e->log, "cannot open the log %s inside the root: %s; continuing without it",
                        ctx->cfg.reset_log, strerror(-r));
        e->j.attempts = resuming ? e->j.attempts + 1 : 1;
        e->j.failed_state = false;
        rk_info(e->log, "factory reset %s on %s (attempt %u of %u; %zu entries%s)",
                resuming && !was_requested ? "resumed" : "started", ctx->root.path, e->j.attempts,
                RK_JOURNAL_MAX_ATTEMPTS, e->j.plan.n, e->j.zeroize ? "" : ", no zeroize");

        /* The journal is on the disk before the first file goes; a retry
         * is counted there before it starts, or it does not start (one
         * that cannot be counted could repeat at every boot). */
        r = rk_journal_save(ctx->root.fd, ctx->cfg.journal, &e->j);
        if (r < 0) {
                rk_err(e->log, "cannot write the journal %s: %s (nothing changed)", ctx->cfg.journal, strerror(-r));
                rk_log_set_file(e->log, -1);
                return RK_EXIT_FAILURE;
        }
        RK_FAULT("engine:journal-written");

        run_steps(e);
        return e->j.n_failed > 0 ? finish_failed(e) : finish_complete(e);
}

int rk_factory_reset(struct rk_ctx *ctx, const struct rk_reset_opts *o) {
        struct engine e = { .ctx = ctx, .log = &ctx->log, .o = o };
        _cleanup_close_ int lock_fd = -1;
        rk_journal_init(&e.j);

        /* A dry run changes nothing, so it needs no lock and cannot disturb
         * a reset running beside it. */
        int ret, r = o->dry_run ? 0 : take_lock(&e, &lock_fd);
        if (r < 0)
                ret = r == -EBUSY ? RK_EXIT_BUSY : RK_EXIT_FAILURE;
        else
                ret = do_reset(&e);
        rk_log_set_file(e.log, -1);
        json_object_put(e.report);
        rk_strv_free(e.protect);
        for (size_t i = 0; i < e.n_own; i++)
                free(e.own[i].path);
        free(e.own);
        rk_journal_free(&e.j);
        return ret;
}

/* ---- resetctl status ----------------------------------------------------- */

static void time_string(uint64_t t, char buf[static 32]) {
        struct tm tm;
        time_t tt = (time_t) t;
        if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, 32, "@%llu", (unsigned long long) t);
}

/* Is a reset running on this root now?  It holds flock(LOCK_EX) on the root
 * directory.  /proc/locks tells without taking the lock, even for a moment:
 * a probe that held it could make a reset starting then refuse as busy. */
static bool reset_running(struct rk_ctx *ctx) {
        struct stat st;
        if (fstat(ctx->root.fd, &st) < 0)
                return false;
        _cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
        char line[256];
        while (f && fgets(line, sizeof line, f)) {
                unsigned maj, min;
                unsigned long long ino;
                if (strstr(line, "->") || !strstr(line, "FLOCK") || !strstr(line, "WRITE"))
                        continue;
                const char *p = strstr(line, "WRITE");
                if (sscanf(p, "WRITE %*d %x:%x:%llu", &maj, &min, &ino) == 3 && ino == (unsigned long long) st.st_ino &&
                    maj == major(st.st_dev) && min == minor(st.st_dev))
                        return true;
        }
        return false;
}

/* The deleted-but-open files zeroing did not reach: in the JSON (o) always
 * (an empty list says none were found), in the text (out) only when there
 * are some.  Either may be NULL. */
static void status_unreached(const struct rk_unreached *v, size_t n, json_object *o, FILE *out) {
        if (o)
                json_object_object_add(o, "not_reached", rk_unreached_json(v, n, "filesystem"));
        for (size_t i = 0; out && i < n; i++) {
                char b[32];
                rk_format_bytes(v[i].bytes, b, sizeof b);
                fprintf(out, "  NOT reached by zero-free-space %s: %s (%s), deleted but held open by pid %d (%s)\n",
                        v[i].where, v[i].path, b, v[i].pid, v[i].process);
        }
}

/* The certificate of the last reset and whether it is signed (SPEC §3:
 * a key that cannot be used leaves it unsigned, and status says so). */
static void status_certificate(struct rk_ctx *ctx, json_object *o, FILE *out) {
        _cleanup_free_ char *text = NULL;
        if (rk_read_at(ctx->root.fd, rk_path_relative(RK_RESET_CERTIFICATE), RK_RESOLVE_ROOTED, RK_CERT_MAX_SIZE,
                       &text, NULL) < 0)
                return;
        json_object *c = json_tokener_parse(text), *sig, *v;
        const char *state = "none", *why = "not recorded", *result = "?";
        if (c && json_object_object_get_ex(c, "result", &v) && json_object_is_type(v, json_type_string))
                result = json_object_get_string(v);
        if (c && json_object_object_get_ex(c, "signature", &sig) && json_object_is_type(sig, json_type_object)) {
                if (json_object_object_get_ex(sig, "state", &v) && json_object_is_type(v, json_type_string))
                        state = json_object_get_string(v);
                if (json_object_object_get_ex(sig, "why", &v) && json_object_is_type(v, json_type_string))
                        why = json_object_get_string(v);
                else if (json_object_object_get_ex(sig, "key", &v) && json_object_is_type(v, json_type_string))
                        why = json_object_get_string(v);
        }
        json_object *j = json_object_new_object();
        json_object_object_add(j, "path", json_object_new_string(RK_RESET_CERTIFICATE));
        json_object_object_add(j, "result", json_object_new_string(result));
        json_object_object_add(j, "signature", json_object_new_string(state));
        json_object_object_add(j, strcmp(state, "signed") == 0 ? "key" : "why", json_object_new_string(why));
        json_object_object_add(o, "certificate", j);
        if (out)
                fprintf(out, "  certificate: %s (%s), signature: %s (%s)\n", RK_RESET_CERTIFICATE, result, state, why);
        json_object_put(c);
}

static json_object *entry_json(const struct rk_journal *j, size_t i) {
        const struct rk_mf_entry *en = &j->plan.entries[i];
        char where[512];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "entry", json_object_new_int64((int64_t) i + 1));
        json_object_object_add(o, "action", json_object_new_string(rk_mf_action_name(en->action)));
        json_object_object_add(o, "path", json_object_new_string(en->path ? en->path : "-"));
        json_object_object_add(o, "source", json_object_new_string(entry_where(en, where, sizeof where)));
        return o;
}

static void status_request(const struct rk_journal *j, json_object *o, FILE *out) {
        char when[32];
        time_string(j->started, when);
        const char *by = j->trigger ? j->trigger : "command line";
        json_object_object_add(o, "factory_reset", json_object_new_string("requested"));
        json_object_object_add(o, "requested", json_object_new_string(when));
        json_object_object_add(o, "trigger", json_object_new_string(by));
        json_object_object_add(o, "then", json_object_new_string(j->then ? j->then : "reboot"));
        json_object_object_add(o, "entries", json_object_new_int64((int64_t) j->plan.n));
        if (out)
                fprintf(out, "factory reset: requested (%s, by %s, %zu entries): it runs at the next boot, then %s; "
                        "`resetctl factory-reset --cancel` withdraws it\n", when, by, j->plan.n,
                        j->then && strcmp(j->then, "poweroff") == 0 ? "powers off" : "reboots");
}

static void status_journal(struct rk_ctx *ctx, struct rk_journal *j, json_object *o, FILE *out) {
        /* requested: nothing has started, even while the requester still
         * holds the lock (it is rebooting the machine); the reset that
         * takes it over saves the journal as in progress first */
        if (j->requested) {
                status_request(j, o, out);
                return;
        }
        bool running = reset_running(ctx);
        /* a third attempt cut off is as final as a third that failed */
        bool failed = j->failed_state || (!running && gave_up(j));
        char started[32];
        time_string(j->started, started);
        json_object_object_add(o, "factory_reset", json_object_new_string(failed ? "failed" : "in-progress"));
        json_object_object_add(o, "started", json_object_new_string(started));
        json_object_object_add(o, "attempts", json_object_new_int64(j->attempts));
        json_object_object_add(o, "retries_left", json_object_new_int64(retries_left(j)));
        json_object_object_add(o, "entries", json_object_new_int64((int64_t) j->plan.n));
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < j->plan.n; i++)
                if (rk_journal_is_failed(j, i) || (failed && !j->failed_state && i >= j->next))
                        json_object_array_add(arr, entry_json(j, i));
        json_object_object_add(o, "failed", arr);
        if (!failed) {
                json_object_object_add(o, "running", json_object_new_boolean(running));
                if (j->current < j->plan.n)
                        json_object_object_add(o, "entry", entry_json(j, j->current));
        }
        status_unreached(j->unreached, j->n_unreached, o, NULL);
        if (failed && !out)
                status_certificate(ctx, o, NULL);
        if (!out)
                return;
        _cleanup_free_ char *list = describe_failed(j, failed && !j->failed_state);
        if (failed && retries_left(j) > 0)
                fprintf(out, "factory reset: failed (attempt %u of %u): %s; %u retr%s left: the next boot or "
                        "`resetctl factory-reset --resume` retries only these\n", j->attempts,
                        RK_JOURNAL_MAX_ATTEMPTS, list ? list : "?", retries_left(j), retries_left(j) == 1 ? "y" : "ies");
        else if (failed)
                fprintf(out, "factory reset: failed (gave up after %u attempts): %s; no retry left: "
                        "`resetctl factory-reset` starts a fresh plan\n", j->attempts, list ? list : "?");
        else {
                fprintf(out, "factory reset: in progress (attempt %u of %u, started %s", j->attempts,
                        RK_JOURNAL_MAX_ATTEMPTS, started);
                if (j->current < j->plan.n)
                        fprintf(out, ", entry %zu/%zu: %s %s", j->current + 1, j->plan.n,
                                rk_mf_action_name(j->plan.entries[j->current].action), j->plan.entries[j->current].path);
                if (j->n_failed)
                        fprintf(out, "; failed so far: %s", list ? list : "?");
                fprintf(out, ")%s\n", running ? ": running now"
                                              : ": interrupted; `resetctl factory-reset --resume` (run at every boot) finishes it");
        }
        status_unreached(j->unreached, j->n_unreached, NULL, out);
        if (failed)
                status_certificate(ctx, o, out);
}

int rk_factory_reset_status(struct rk_ctx *ctx) {
        struct rk_journal j;
        struct rk_reset_record rec;
        char err[512] = "";
        int ret = RK_EXIT_OK;
        json_object *o = json_object_new_object();
        FILE *out = ctx->json ? NULL : stdout;
        if (!o)
                return RK_EXIT_FAILURE;
        rk_journal_init(&j);
        int r = rk_journal_load(ctx->root.fd, ctx->cfg.journal, &j, err, sizeof err);
        if (r == 0)
                status_journal(ctx, &j, o, out);
        else if (r != -ENOENT) {
                rk_err(&ctx->log, "%s", err);
                json_object_object_add(o, "factory_reset", json_object_new_string("unknown"));
                json_object_object_add(o, "error", json_object_new_string(err));
                ret = RK_EXIT_FAILURE;
        } else if ((r = rk_journal_record_load(ctx->root.fd, ctx->cfg.journal, &rec)) == 0) {
                char started[32], finished[32];
                time_string(rec.started, started);
                time_string(rec.finished, finished);
                json_object_object_add(o, "factory_reset", json_object_new_string("complete"));
                json_object_object_add(o, "started", json_object_new_string(started));
                json_object_object_add(o, "finished", json_object_new_string(finished));
                json_object_object_add(o, "attempts", json_object_new_int64(rec.attempts));
                json_object_object_add(o, "entries", json_object_new_int64((int64_t) rec.entries));
                if (out)
                        fprintf(out, "factory reset: complete (finished %s, %zu entries, %u attempt%s)\n", finished,
                                rec.entries, rec.attempts, rec.attempts == 1 ? "" : "s");
                status_unreached(rec.unreached, rec.n_unreached, o, out);
                status_certificate(ctx, o, out);
                rk_reset_record_free(&rec);
        } else {
                json_object_object_add(o, "factory_reset", json_object_new_string("none"));
                if (out)
                        fprintf(out, "factory reset: none (no reset pending or recorded)\n");
        }
        if (ctx->json)
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
        json_object_put(o);
        rk_journal_free(&j);
        return ret;
}
