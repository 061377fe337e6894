/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every storage backend shares: timestamps (Swift's X-Timestamp, in
 * units of 10 µs, strictly increasing within the process so that two
 * writes never tie), their text forms, and the rules for names.  The
 * interface itself (zc_store_ops_t) is declared in cloud.h; the embedded
 * backend is store_local.c.
 */
#include "cloud/cloud.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic uint64_t last_ts;

zc_ts_t zc_ts_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t now = (uint64_t)t.tv_sec * 100000 + (uint64_t)t.tv_nsec / 10000;
    uint64_t prev = atomic_load(&last_ts);
    for (;;) {
        uint64_t next = now > prev ? now : prev + 1;
        if (atomic_compare_exchange_weak(&last_ts, &prev, next))
            return next;
    }
}

void zc_ts_format(zc_ts_t ts, char out[32])
{
    snprintf(out, 32, "%010" PRIu64 ".%05" PRIu64, ts / 100000, ts % 100000);
}

int zc_ts_parse(const char *s, zc_ts_t *ts)
{
    uint64_t sec = 0, frac = 0;
    int digits = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        sec = sec * 10 + (uint64_t)(*p++ - '0');
        if (sec > 100000000000ULL)
            return -EINVAL;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 5) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                digits++;
            }
            p++;
        }
    }
    if (*p)
        return -EINVAL;
    while (digits++ < 5)
        frac *= 10;
    *ts = sec * 100000 + frac;
    return 0;
}

void zc_http_date(time_t t, char out[40])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void zc_iso_date(zc_ts_t ts, char out[40])
{
    time_t t = (time_t)(ts / 100000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06" PRIu64, base, (ts % 100000) * 10);
}

void zc_object_info_release(zc_object_info_t *o)
{
    free(o->content_type);
    json_decref(o->meta);
    memset(o, 0, sizeof *o);
}

bool zc_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else
            return false;
        if ((size_t)(e - p) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        p += len;
    }
    return true;
}

int zc_name_check(const char *name, size_t max, bool allow_slash)
{
    size_t n = strlen(name);
    if (n == 0)
        return 400;
    if (n > max)
        return 400;
    if (!zc_utf8_valid(name, n))
        return 412; /* Swift: "Invalid UTF8 or contains NULL" */
    if (!allow_slash && memchr(name, '/', n))
        return 400;
    return 0;
}
