/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: make the host flush its disks.  sync() and syncfs() do nothing in
 * the sandbox, but fsync() of a host file the jail shows (the host /usr,
 * read-only, for a dynamic program) made ext4 send the disk a cache flush
 * each time: a cheap way to slow every writer on the machine.
 * Expected: 300 fsync and 300 fdatasync of /usr/lib's libc return 0, the
 * host's disk sees no flush for them (the runner counts), and a bad or
 * closed descriptor is still EBADF.
 */
#include <fcntl.h>

#include "probe.h"

int main(void)
{
    int fd = open("/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
    if (fd < 0) {
        say("FAIL open the host's libc: %s\n", ename(errno));
        return 1;
    }
    int ok = 0;
    for (int i = 0; i < 300; i++)
        ok += fsync(fd) == 0;
    for (int i = 0; i < 300; i++)
        ok += fdatasync(fd) == 0;
    say("INFO %d of 600 fsync/fdatasync returned 0\n", ok);
    EXPECT_ERRNO("fsync(-1)", fsync(-1), EBADF);
    EXPECT_ERRNO("fsync of a closed descriptor", fsync(700), EBADF);
    done();
    return 0;
}
