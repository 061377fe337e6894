/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the wasm test programs (tests/wasm/progs/).  Lines are
 * written unbuffered with write(1) so that what a program printed before a
 * trap survives it.  The same file compiles natively (gcc) for the programs
 * whose etags are compared with the native engine's.
 *
 *   say(fmt, ...)             one formatted write to fd 1
 *   ename(e)                  the errno's symbolic name ("EDQUOT")
 *   EXPECT_ERR(what, call, E) call must fail with errno E:
 *                               "BLOCKED what: E" or "WRONGERR what: got X, expected E"
 *                               or "ESCAPED what: returned N"
 *   EXPECT_OK(what, call)     call must succeed (>= 0): "OK what" / "FAIL what: E"
 */
#ifndef WT_H
#define WT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((unused)) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = write(1, buf + off, (size_t)n - off);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

__attribute__((unused)) static const char *ename(int e)
{
    switch (e) {
#define N(x) case x: return #x;
    N(EPERM) N(ENOENT) N(EBADF) N(EACCES) N(EFAULT) N(EEXIST) N(ENOTDIR) N(EISDIR)
    N(EINVAL) N(ENFILE) N(EMFILE) N(EFBIG) N(ENOSPC) N(ESPIPE) N(EROFS) N(ENOSYS)
    N(ENOTEMPTY) N(ELOOP) N(ENAMETOOLONG) N(EDQUOT) N(ENOMEM) N(EIO) N(ENXIO)
    N(EOVERFLOW) N(ENOTSUP) N(ENOTCONN) N(ENOTSOCK) N(EXDEV) N(EMLINK) N(EAGAIN)
    N(E2BIG) N(ERANGE) N(ETXTBSY) N(ECONNREFUSED) N(EBUSY) N(EINTR)
#ifdef ENOTCAPABLE
    N(ENOTCAPABLE)
#endif
#undef N
    case 0: return "0";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno%d", e);
        return buf;
    }
    }
}

#define EXPECT_ERR(what, call, E)                                                        \
    do {                                                                                 \
        errno = 0;                                                                       \
        long long rv_ = (long long)(call);                                               \
        if (rv_ >= 0)                                                                    \
            say("ESCAPED %s: returned %lld\n", what, rv_);                              \
        else if (errno != (E))                                                           \
            say("WRONGERR %s: got %s, expected %s\n", what, ename(errno), ename(E));   \
        else                                                                             \
            say("BLOCKED %s: %s\n", what, ename(errno));                                \
    } while (0)

#define EXPECT_OK(what, call)                                                            \
    do {                                                                                 \
        errno = 0;                                                                       \
        long long rv_ = (long long)(call);                                               \
        if (rv_ < 0)                                                                     \
            say("FAIL %s: %s\n", what, ename(errno));                                   \
        else                                                                             \
            say("OK %s\n", what);                                                       \
    } while (0)

/* Write all of buf or report why not; returns bytes written. */
__attribute__((unused)) static size_t write_all(int fd, const void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, (const char *)buf + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    return off;
}

__attribute__((unused)) static void done(void)
{
    say("DONE\n");
}

#endif
