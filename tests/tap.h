/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal TAP producer for the C unit tests (Meson reads them with
 * protocol: 'tap').  Each check prints "ok N - what" or "not ok N - what";
 * tap_done() prints the plan and returns the exit status.
 */
#ifndef ZVM_TESTS_TAP_H
#define ZVM_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define tap_ok(cond, ...) do {                                          \
        int tap_c_ = !!(cond);                                          \
        tap_n++;                                                        \
        if (!tap_c_) tap_failed++;                                      \
        printf("%sok %d - ", tap_c_ ? "" : "not ", tap_n);              \
        printf(__VA_ARGS__);                                            \
        printf("\n");                                                   \
        if (!tap_c_) printf("#   at %s:%d\n", __FILE__, __LINE__);      \
        fflush(stdout);                                                 \
    } while (0)

#define tap_is_str(got, want, ...) do {                                 \
        const char *tap_g_ = (got), *tap_w_ = (want);                   \
        int tap_eq_ = tap_g_ && tap_w_ ? strcmp(tap_g_, tap_w_) == 0    \
                                       : tap_g_ == tap_w_;              \
        tap_ok(tap_eq_, __VA_ARGS__);                                   \
        if (!tap_eq_) printf("#   got:  '%s'\n#   want: '%s'\n",        \
                             tap_g_ ? tap_g_ : "(null)",                \
                             tap_w_ ? tap_w_ : "(null)");               \
    } while (0)

#define tap_skip(reason) do {                                           \
        tap_n++;                                                        \
        printf("ok %d # SKIP %s\n", tap_n, reason);                     \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
