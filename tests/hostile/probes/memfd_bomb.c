/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: use host memory that RLIMIT_AS does not see - the pages of a
 * memfd (argv[1] = Memory in bytes; we try 8 x Memory, written 1 MiB at
 * a time, never mapped).
 * Expected: the sandbox's Memory bounds it: the writes fail (ENOSPC,
 * ENOMEM, EFBIG) or the run is stopped before 2 x Memory is held.
 */
#include <sys/mman.h>

#include "probe.h"

int main(int argc, char **argv)
{
    long long memory = strtoll(arg(argc, argv, 1, "67108864"), NULL, 0);
    long long limit = 8 * memory, held = 0;
    int fd = memfd_create("bomb", 0);
    if (fd < 0) {
        say("BLOCKED memfd_create: %s\n", ename(errno));
        done();
        return 0;
    }
    static char chunk[1 << 20];
    memset(chunk, 0x5a, sizeof chunk);
    int err = 0;
    while (held < limit) {
        long w = write_full(fd, chunk, sizeof chunk);
        if (w <= 0) {
            err = errno;
            break;
        }
        held += w;
    }
    say("INFO memfd holds %lld MiB (Memory is %lld MiB), then %s\n", held >> 20, memory >> 20,
        err ? ename(err) : "stopped trying");
    if (held > 2 * memory)
        say("ESCAPED memfd holds %lld MiB, more than 2 x Memory\n", held >> 20);
    else
        say("BLOCKED memfd growth at %lld MiB: %s\n", held >> 20, ename(err));
    done();
    return 0;
}
