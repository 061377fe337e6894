/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: make a real (kernel) descriptor in the virtual range 16384..32767,
 * where the filter would send its calls to the supervisor, or run out the
 * supervisor's table: dup2/dup3/F_DUPFD of a real fd onto 16384 and 20000,
 * open files until EMFILE, raise RLIMIT_NOFILE, allocate virtual fds until
 * the table is full.
 * Expected: no real fd at or above 4096 (RLIMIT_NOFILE); dup2 and friends
 * fail (EBADF/EINVAL); the rlimit cannot be raised; calls on a virtual
 * number that was never handed out fail with EBADF.
 */
#include <fcntl.h>
#include <sys/resource.h>

#include "probe.h"

int main(void)
{
    int real = open("/dev/null", O_RDONLY);
    if (real < 0) {
        say("FAIL open /dev/null: %s\n", ename(errno));
        return 2;
    }
    EXPECT_ERRNO("dup2 real -> 16384", dup2(real, 16384), EBADF);
    EXPECT_ERRNO("dup2 real -> 20000", dup2(real, 20000), EBADF);
    EXPECT_ERRNO("dup3 real -> 32767", dup3(real, 32767, 0), EBADF);
    EXPECT_FAIL("F_DUPFD real from 16384", fcntl(real, F_DUPFD, 16384));
    struct rlimit rl = {65536, 65536};
    EXPECT_FAIL("raise RLIMIT_NOFILE", setrlimit(RLIMIT_NOFILE, &rl));
    int max = real, n = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0)
            break;
        if (fd > max)
            max = fd;
        n++;
    }
    int e = errno;
    if (max < 4096)
        say("BLOCKED open many: %d opened, highest fd %d, then %s\n", n, max, ename(e));
    else
        say("ESCAPED real fd %d\n", max);
    EXPECT_ERRNO("write to never-allocated virtual fd 20000", write(20000, "x", 1), EBADF);
    EXPECT_ERRNO("read from never-allocated virtual fd 30000", read(30000, &e, 1), EBADF);
    /* Exhaust the virtual table with dups of stdout; afterwards it still works. */
    int v = 0;
    while (dup(1) >= 0 && v < 40000)
        v++;
    say("INFO %d virtual dups before %s\n", v, ename(errno));
    if (v <= 16384)
        say("OK virtual table is bounded\n");
    else
        say("ESCAPED virtual table grew to %d\n", v);
    for (int fd = 16384; fd < 32768; fd++)
        close(fd);
    done();
    return 0;
}
