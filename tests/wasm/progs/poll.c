/* SPDX-License-Identifier: Apache-2.0 */
/*
 * poll_oneoff answers truthfully.  Each poll has one fd subscription and a
 * 10 s monotonic clock; it prints "POLL <what> <nevents> <type> <errno>
 * <nbytes>" for the first event (type 0 is the clock: it must not be):
 *   file      a 10-byte file of the tmpfs root at offset 3: read, 7 left
 *   filew     the same for writing: 0
 *   rnd       /dev/rnd, a random-access input channel of 100 bytes after
 *             reading 40: 60 left
 *   seq       /dev/seq, a sequential input channel: ready (1)
 *   stdin     fd 0 (a channel): ready
 *   stdout    fd 1 for writing: ready
 *   badfd     fd 77: an event with EBADF (8)
 * and "CLOCK <nevents> <userdata>" for a clock alone (1 ms): it fires.
 */
#include <fcntl.h>
#include <wasi/api.h>

#include "wt.h"

static void poll_one(const char *what, int fd, __wasi_eventtype_t type)
{
    __wasi_subscription_t subs[2] = {0};
    subs[0].userdata = 1;
    subs[0].u.tag = type;
    if (type == __WASI_EVENTTYPE_FD_READ)
        subs[0].u.u.fd_read.file_descriptor = (__wasi_fd_t)fd;
    else
        subs[0].u.u.fd_write.file_descriptor = (__wasi_fd_t)fd;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 10000000000ull;
    __wasi_event_t ev[2] = {0};
    __wasi_size_t n = 0;
    __wasi_errno_t rc = __wasi_poll_oneoff(subs, ev, 2, &n);
    if (rc != 0) {
        say("FAIL poll %s: %u\n", what, (unsigned)rc);
        return;
    }
    say("POLL %s %u %u %u %llu\n", what, (unsigned)n, (unsigned)ev[0].type,
        (unsigned)ev[0].error, (unsigned long long)ev[0].fd_readwrite.nbytes);
}

int main(void)
{
    int f = open("/pollfile", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (f < 0 || write(f, "0123456789", 10) != 10 || lseek(f, 3, SEEK_SET) != 3)
        say("FAIL pollfile: %s\n", ename(errno));
    poll_one("file", f, __WASI_EVENTTYPE_FD_READ);
    poll_one("filew", f, __WASI_EVENTTYPE_FD_WRITE);
    close(f);

    char buf[40];
    int r = open("/dev/rnd", O_RDONLY);
    if (r < 0 || read(r, buf, sizeof buf) != (ssize_t)sizeof buf)
        say("FAIL /dev/rnd: %s\n", ename(errno));
    poll_one("rnd", r, __WASI_EVENTTYPE_FD_READ);
    close(r);
    int q = open("/dev/seq", O_RDONLY);
    if (q < 0)
        say("FAIL /dev/seq: %s\n", ename(errno));
    poll_one("seq", q, __WASI_EVENTTYPE_FD_READ);
    close(q);

    poll_one("stdin", 0, __WASI_EVENTTYPE_FD_READ);
    poll_one("stdout", 1, __WASI_EVENTTYPE_FD_WRITE);
    poll_one("badfd", 77, __WASI_EVENTTYPE_FD_READ);

    __wasi_subscription_t c = {0};
    c.userdata = 5;
    c.u.tag = __WASI_EVENTTYPE_CLOCK;
    c.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    c.u.u.clock.timeout = 1000000;
    __wasi_event_t ev = {0};
    __wasi_size_t n = 0;
    if (__wasi_poll_oneoff(&c, &ev, 1, &n) == 0)
        say("CLOCK %u %llu\n", (unsigned)n, (unsigned long long)ev.userdata);
    done();
    return 0;
}
