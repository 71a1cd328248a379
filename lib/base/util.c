/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <sys/random.h>

#include <ctype.h>
#include <stdarg.h>
#include <time.h>

void rk_strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

const char *rk_startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

bool rk_endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int rk_parse_uint64(const char *s, uint64_t *ret) {
        if (rk_isempty(s) || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int rk_parse_uint(const char *s, unsigned *ret) {
        uint64_t v;
        int r = rk_parse_uint64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

int rk_parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };
        for (size_t i = 0; i < RK_ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) { *ret = true; return 0; }
                if (strcasecmp(s, no[i]) == 0) { *ret = false; return 0; }
        }
        return -EINVAL;
}

int rk_parse_duration_ms(const char *s, uint64_t *ret) {
        if (rk_isempty(s) || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        const char *p = s;
        uint64_t whole = 0;
        for (; isdigit((unsigned char) *p); p++) {
                if (whole > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                whole = whole * 10 + (uint64_t) (*p - '0');
        }
        uint64_t frac = 0, fracdiv = 1;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++)
                        if (fracdiv < 1000000) {
                                frac = frac * 10 + (uint64_t) (*p - '0');
                                fracdiv *= 10;
                        }
        }
        uint64_t mult;
        if (*p == 0 || strcmp(p, "ms") == 0)
                mult = 1;
        else if (strcmp(p, "s") == 0)
                mult = 1000;
        else if (strcmp(p, "min") == 0)
                mult = 60000;
        else
                return -EINVAL;
        if (mult == 1 && fracdiv > 1)
                return -EINVAL; /* fractional milliseconds make no sense */
        if (whole > UINT64_MAX / mult / 2)
                return -ERANGE;
        *ret = whole * mult + frac * mult / fracdiv;
        return 0;
}

size_t rk_strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

bool rk_strv_contains(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

int rk_strv_push(char ***v, const char *s) {
        size_t n = rk_strv_length(*v);
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(c);
                return -ENOMEM;
        }
        nv[n] = c;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int rk_strv_split(const char *s, char ***ret) {
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        const char *p = s;
        while (p && *p) {
                p += strspn(p, " \t,");
                size_t l = strcspn(p, " \t,");
                if (l == 0)
                        break;
                _cleanup_free_ char *w = strndup(p, l);
                if (!w)
                        return -ENOMEM;
                int r = rk_strv_push(&v, w);
                if (r < 0)
                        return r;
                p += l;
        }
        *ret = RK_TAKE_PTR(v);
        return 0;
}

char *rk_strdup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void rk_set_err(char *err, size_t errlen, const char *fmt, ...) {
        if (!err || errlen == 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

int rk_free_and_strdup(char **dst, const char *src) {
        char *c = NULL;
        if (src && !(c = strdup(src)))
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

char *rk_path_join(const char *a, const char *b) {
        char *r;
        size_t la = strlen(a);
        while (*b == '/')
                b++;
        if (asprintf(&r, "%s%s%s", a, (la && a[la - 1] == '/') ? "" : "/", b) < 0)
                return NULL;
        return r;
}

const char *rk_path_relative(const char *abs) {
        while (*abs == '/')
                abs++;
        return *abs ? abs : ".";
}

uint64_t rk_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

uint64_t rk_now_ms(void) { return rk_now_ns() / 1000000ULL; }

uint64_t rk_random_u64(void) {
        uint64_t v = 0;
        /* GRND_INSECURE (5.6) never blocks; older kernels: non-blocking,
         * and when the pool is not ready yet, the clock and the pid keep
         * names of concurrent processes apart (O_EXCL does the rest) */
        if (getrandom(&v, sizeof v, GRND_INSECURE) == sizeof v ||
            getrandom(&v, sizeof v, GRND_NONBLOCK) == sizeof v)
                return v;
        return rk_now_ns() ^ ((uint64_t) getpid() << 32);
}
