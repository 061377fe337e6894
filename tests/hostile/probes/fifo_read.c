/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: stall the supervisor instead of the program.  /dev/fifo is a
 * host FIFO that nobody ever opens for writing; opening it on the host
 * blocks until a writer comes.  We read from it and wait.
 * Expected: Timeout still ends the run ("timeout", zerovm returns within
 * about Timeout seconds) - the program must not be able to keep zerovm
 * alive past its deadline.
 */
#include <fcntl.h>

#include "probe.h"

int main(void)
{
    int fd = open("/dev/fifo", O_RDONLY);
    if (fd < 0) {
        say("FAIL open /dev/fifo: %s\n", ename(errno));
        return 2;
    }
    say("TRY read from a FIFO without a writer\n");
    char c;
    ssize_t r = read(fd, &c, 1);
    say("INFO read returned %zd (%s)\n", r, r < 0 ? ename(errno) : "");
    done();
    return 0;
}
