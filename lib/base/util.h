/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.h — small helpers every module uses: cleanup attributes, strings,
 * number parsing.  Nothing here does I/O beyond close(). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RK_ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define RK_UNUSED __attribute__((unused))
#define RK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define RK_MUST_CHECK __attribute__((warn_unused_result))

static inline void rk_freep(void *p) { free(*(void **) p); }
static inline void rk_closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void rk_fclosep(FILE **f) { if (*f) fclose(*f); }
void rk_strv_free(char **v);
static inline void rk_strv_freep(char ***v) { rk_strv_free(*v); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(rk_freep)
#define _cleanup_close_ _cleanup_(rk_closep)
#define _cleanup_fclose_ _cleanup_(rk_fclosep)
#define _cleanup_strv_free_ _cleanup_(rk_strv_freep)

/* Hand a resource out of a cleanup scope: returns it and resets the source. */
#define RK_TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define RK_TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

static inline bool rk_streq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}
static inline bool rk_isempty(const char *s) { return !s || !*s; }
static inline const char *rk_strna(const char *s) { return s ? s : "n/a"; }
const char *rk_startswith(const char *s, const char *prefix);
bool rk_endswith(const char *s, const char *suffix);

/* Parsers return 0 or -EINVAL/-ERANGE; they never accept trailing junk. */
int rk_parse_uint64(const char *s, uint64_t *ret);
int rk_parse_uint(const char *s, unsigned *ret);
int rk_parse_bool(const char *s, bool *ret);
/* "1500", "1500ms", "1.5s", "2s" -> milliseconds */
int rk_parse_duration_ms(const char *s, uint64_t *ret);

/* Whitespace-separated word list (the INI lists such as keep-users). */
int rk_strv_split(const char *s, char ***ret);
size_t rk_strv_length(char *const *v);
bool rk_strv_contains(char *const *v, const char *s);
int rk_strv_push(char ***v, const char *s);

char *rk_strdup_or_null(const char *s);
/* snprintf into an error buffer the caller may have left NULL */
void rk_set_err(char *err, size_t errlen, const char *fmt, ...) RK_PRINTF(3, 4);
/* Replace *dst with a copy of src; -ENOMEM on failure, *dst unchanged. */
int rk_free_and_strdup(char **dst, const char *src);
char *rk_path_join(const char *a, const char *b);
/* "/etc/x" -> "etc/x"; "/" -> "." : paths relative to a root fd. */
const char *rk_path_relative(const char *abs);

/* Monotonic and realtime clocks in ms / ns */
uint64_t rk_now_ms(void);
/* 64 random bits for names of temporaries and fill files (unique, not
 * secret): getrandom(GRND_INSECURE), which never blocks, not even in an
 * initramfs before the pool is initialised. */
uint64_t rk_random_u64(void);
uint64_t rk_now_ns(void);
