/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers of libzvmjob: the growable string (internal.h) and the
 * standard devices' properties (which are read, which written, their alias).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/internal.h"

static bool sb_reserve(zvm__sb_t *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void zvm__sb_addn(zvm__sb_t *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void zvm__sb_add(zvm__sb_t *b, const char *s)
{
    zvm__sb_addn(b, s, strlen(s));
}

void zvm__sb_addf(zvm__sb_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n)) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *zvm__sb_finish(zvm__sb_t *b)
{
    if (!b->oom && !sb_reserve(b, 0))
        b->oom = true;
    if (b->oom) {
        free(b->s);
        *b = (zvm__sb_t){0};
        return NULL;
    }
    char *s = b->s;
    *b = (zvm__sb_t){0};
    return s;
}

bool zvm__devkind_readable(zvm_job_devkind_t k)
{
    return k == ZVM_DEV_STDIN || k == ZVM_DEV_INPUT || k == ZVM_DEV_IMAGE || k == ZVM_DEV_SCRIPT;
}

bool zvm__devkind_writable(zvm_job_devkind_t k)
{
    return k == ZVM_DEV_STDOUT || k == ZVM_DEV_STDERR || k == ZVM_DEV_OUTPUT || k == ZVM_DEV_DEBUG;
}

const char *zvm__devkind_alias(zvm_job_devkind_t k, const char *name)
{
    switch (k) {
    case ZVM_DEV_STDIN: return "/dev/stdin";
    case ZVM_DEV_STDOUT: return "/dev/stdout";
    case ZVM_DEV_STDERR: return "/dev/stderr";
    case ZVM_DEV_INPUT: return "/dev/input";
    case ZVM_DEV_OUTPUT: return "/dev/output";
    case ZVM_DEV_IMAGE: return "/dev/image";
    case ZVM_DEV_SCRIPT: return "/dev/script";
    case ZVM_DEV_DEBUG: return "/dev/debug";
    default: return name;
    }
}
