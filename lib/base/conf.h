/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conf.h — /etc/resetkit/resetd.conf, the one configuration file of all
 * three programs.  The parser is pure (text in, struct out); loading reads
 * the file inside the target root. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "devspec.h"

#define RK_CONFIG_PATH "/etc/resetkit/resetd.conf"
#define RK_CONFIG_MAX_SIZE (1024 * 1024)

enum rk_slot_active { RK_SLOT_AUTO, RK_SLOT_A, RK_SLOT_B };
enum rk_verify { RK_VERIFY_SAMPLE, RK_VERIFY_FULL };
enum rk_early_release { RK_EARLY_REBOOT, RK_EARLY_CONTINUE };
/* When a factory reset runs (SPEC §3 "When it runs"); [reset] when, and
 * resetctl's --now / --at-boot. */
enum rk_reset_when {
        RK_RESET_AUTO,          /* at boot on a running system whose early-boot program is
                                 * installed, else now (with a warning saying why); now with --root */
        RK_RESET_NOW,           /* at once, as a live process */
        RK_RESET_AT_BOOT,       /* record a durable request; the early-boot program carries it out */
};

struct rk_slot_conf {
        char *device;           /* as the running system sees it (not in --root) */
        char **grubenv_keys;    /* keys of this slot in [slots] grubenv */
        char **boot_files;      /* globs inside the root */
};

struct rk_config {
        /* [button] */
        char *button_source;
        struct rk_button_spec button;
        char *key_name;
        unsigned key_code;
        bool active_low;
        uint64_t debounce_ms;

        /* [timing]: the start of each window, ms */
        uint64_t reboot_ms, rescue_ms, factory_ms, cancel_ms;

        /* [led] */
        char *led_device;
        struct rk_led_spec led;

        /* [actions] */
        char *reboot_command, *poweroff_command, *validate_command, *apply_command;

        /* [store] */
        char *store_dir, *factory_config;
        unsigned backups;

        /* [slots] */
        struct rk_slot_conf slot[2];    /* 0 = a, 1 = b */
        enum rk_slot_active active;
        char *grubenv;                  /* GRUB environment block, inside the root */

        /* [failsafe] */
        bool failsafe_enabled;
        uint64_t hold_ms, release_timeout_ms;
        enum rk_early_release on_early_release;

        /* [reset] */
        char *reset_log, *final_log, *journal;
        char **keep_users;
        bool expire_passwords;
        enum rk_verify verify;
        enum rk_reset_when reset_when;
        char *certificate_key;  /* PEM private key inside the root that signs the certificate; NULL: unsigned */
};

/* Defaults: an empty file is valid and gives exactly these. */
int rk_config_init(struct rk_config *c);
void rk_config_free(struct rk_config *c);

/* Parse INI text over c (which holds defaults or earlier values).  On error
 * returns -EINVAL and writes "FILE:LINE: what" into err; c is then
 * unspecified and must only be freed. */
int rk_config_parse_string(struct rk_config *c, const char *text, const char *filename,
                           char *err, size_t errlen);

/* Cross-key checks (thresholds in order, ...); "FILE: what" into err. */
int rk_config_validate(const struct rk_config *c, const char *filename, char *err, size_t errlen);

/* Load the configuration.  explicit_path (--config) is read as given; else
 * RK_CONFIG_PATH inside root_fd, where a missing file means defaults.
 * -ENOENT only for a missing explicit file. */
int rk_config_load(struct rk_config *c, int root_fd, const char *explicit_path,
                   char *err, size_t errlen);

/* Write the effective configuration as INI (resetctl config-file dump). */
int rk_config_dump(const struct rk_config *c, FILE *f);
