/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Errors in libzvm.
 *
 * A fallible libzvm function returns a negative int (or NULL) and fills a
 * caller-owned zvm_error_t with an errno-like code and a message.  Callers
 * add context on the way up with zvm_error_prefix().  libzvm never prints and
 * never exits: only the tools (src/cli) decide what to do with an error.
 *
 * Messages are lowercase, without a final period, and say what failed first:
 *   "manifest.txt:3: unknown key 'Timout'"
 */
#ifndef ZVM_ERROR_H
#define ZVM_ERROR_H

#include <stdarg.h>

#define ZVM_ERROR_MSG_MAX 1024

typedef struct zvm_error {
    int code;                      /* errno value, 0 when no error */
    char msg[ZVM_ERROR_MSG_MAX];   /* NUL-terminated description */
} zvm_error_t;

/* Fill err (if non-NULL) and return -1, so that `return zvm_error_set(...)`
 * reads well. */
int zvm_error_set(zvm_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like zvm_error_set(), appending ": strerror(code)". */
int zvm_error_errno(zvm_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "context: " to the message already in err; returns -1. */
int zvm_error_prefix(zvm_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void zvm_error_clear(zvm_error_t *err);

#endif
