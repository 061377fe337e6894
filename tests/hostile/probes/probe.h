/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the hostile probes.  A probe reports on fd 1 (a channel,
 * so every line goes through the supervisor) without stdio buffering, so
 * that the lines written before a fatal system call survive it:
 *
 *   TRY <what>            about to attempt something that may kill us
 *   BLOCKED <what>: <E>   the attempt failed with errno E (good)
 *   ESCAPED <what>        the attempt did something it must not (bad)
 *   OK <what>             a positive control worked
 *   INFO <what>           neutral facts for the runner
 *   DONE                  the probe reached its end
 *
 * The runner (run.py) decides what a run must look like; probes only say
 * what happened.
 */
#ifndef HOSTILE_PROBE_H
#define HOSTILE_PROBE_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
    char buf[2048];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = (int)sizeof buf - 1;
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(1, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= (int)w;
    }
    errno = saved;
}

static inline const char *ename(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "E?";
}

/* Report an attempt that must fail: rc < 0 means it failed with errno. */
#define EXPECT_FAIL(what, expr)                                             \
    do {                                                                    \
        errno = 0;                                                          \
        long rc_ = (long)(expr);                                            \
        int e_ = errno;                                                     \
        if (rc_ < 0)                                                        \
            say("BLOCKED %s: %s\n", (what), ename(e_));                     \
        else                                                                \
            say("ESCAPED %s: returned %ld\n", (what), rc_);                 \
    } while (0)

/* Like EXPECT_FAIL, but also requires a particular errno. */
#define EXPECT_ERRNO(what, expr, want)                                      \
    do {                                                                    \
        errno = 0;                                                          \
        long rc_ = (long)(expr);                                            \
        int e_ = errno;                                                     \
        if (rc_ < 0 && e_ == (want))                                        \
            say("BLOCKED %s: %s\n", (what), ename(e_));                     \
        else if (rc_ < 0)                                                   \
            say("WRONGERR %s: %s (wanted %s)\n", (what), ename(e_),         \
                ename(want));                                               \
        else                                                                \
            say("ESCAPED %s: returned %ld\n", (what), rc_);                 \
    } while (0)

static inline void done(void)
{
    say("DONE\n");
}

/* A file that must not be writable: opening it for writing, or the write,
 * fails (BLOCKED); a write that succeeds is ESCAPED. */
static inline void expect_write_refused(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        say("BLOCKED open %s for writing: %s\n", path, ename(errno));
        return;
    }
    ssize_t w = write(fd, text, strlen(text));
    if (w < 0)
        say("BLOCKED write %s: %s\n", path, ename(errno));
    else
        say("ESCAPED write %s: %zd bytes\n", path, w);
    close(fd);
}

/* argv[i] or a default. */
static inline const char *arg(int argc, char **argv, int i, const char *def)
{
    return i < argc ? argv[i] : def;
}

/* Write all of buf to fd; bytes written, or -1 with errno at the first error. */
static inline long write_full(int fd, const void *buf, size_t n)
{
    size_t done_ = 0;
    while (done_ < n) {
        ssize_t w = write(fd, (const char *)buf + done_, n - done_);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return done_ ? (long)done_ : -1;
        if (w == 0)
            break;
        done_ += (size_t)w;
    }
    return (long)done_;
}

#endif
