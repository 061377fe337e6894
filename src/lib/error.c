/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zvm_error_t helpers: formatting, errno suffixes and context prefixes.
 * See include/zvm/error.h for the conventions.
 */
#include "zvm/error.h"

#include <stdio.h>
#include <string.h>

int zvm_error_set(zvm_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return -1;
}

int zvm_error_errno(zvm_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof err->msg)
            snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(code));
        err->code = code;
    }
    return -1;
}

int zvm_error_prefix(zvm_error_t *err, const char *fmt, ...)
{
    if (err) {
        char old[ZVM_ERROR_MSG_MAX];
        memcpy(old, err->msg, sizeof old);
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        size_t used = n < 0 ? 0 : (size_t)n;
        if (used + 3 < sizeof err->msg) {
            size_t room = sizeof err->msg - used - 3;
            memcpy(err->msg + used, ": ", 2);
            size_t len = strnlen(old, room);
            memcpy(err->msg + used + 2, old, len);
            err->msg[used + 2 + len] = '\0';
        }
    }
    return -1;
}

void zvm_error_clear(zvm_error_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
