/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: get a second, fresh quota by duplicating the output descriptor
 * (dup, dup2, dup3, fcntl F_DUPFD/F_DUPFD_CLOEXEC, dup2 onto fd 0) or by
 * closing and reopening it.  Run with put_size 10.
 * Expected: every duplicate shares the channel's counters: after 6 bytes
 * only 4 more fit, so 5-byte writes through any duplicate fail with EDQUOT;
 * the host file holds exactly "aaaaaacccc".
 */
#include <fcntl.h>

#include "probe.h"

static void try_more(const char *what, int fd)
{
    if (fd < 0) {
        say("INFO %s: no descriptor (%s)\n", what, ename(errno));
        return;
    }
    EXPECT_ERRNO(what, write(fd, "XXXXX", 5), EDQUOT);
}

int main(void)
{
    int fd = open("/dev/output", O_WRONLY);
    if (fd < 0 || write(fd, "aaaaaa", 6) != 6) {
        say("FAIL first write: %s\n", ename(errno));
        return 2;
    }
    int d = dup(fd);
    try_more("write 5 via dup", d);
    try_more("write 5 via dup2 20000", dup2(fd, 20000));
    try_more("write 5 via dup3 20001", dup3(fd, 20001, O_CLOEXEC));
    try_more("write 5 via F_DUPFD", fcntl(fd, F_DUPFD, 0));
    try_more("write 5 via F_DUPFD_CLOEXEC", fcntl(fd, F_DUPFD_CLOEXEC, 20100));
    try_more("write 5 via dup2 onto fd 0", dup2(fd, 0));
    if (write(d, "cccc", 4) == 4)
        say("OK last 4 bytes via dup\n");
    else
        say("FAIL last 4 bytes via dup: %s\n", ename(errno));
    EXPECT_ERRNO("write 1 via the original", write(fd, "X", 1), EDQUOT);
    close(fd);
    close(d);
    try_more("write 5 after close and reopen", open("/dev/output", O_WRONLY));
    done();
    return 0;
}
