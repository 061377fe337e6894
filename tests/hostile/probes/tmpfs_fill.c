/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: fill the jail's writable file systems ("/" and "/tmp", both
 * tmpfs, i.e. host memory) with files, 1 MiB at a time, trying 8 x Memory
 * (argv[1] = Memory in bytes).
 * Expected: ENOSPC (each tmpfs is sized to Memory) before 2 x Memory in
 * all; the host is fine.
 */
#include <fcntl.h>
#include <stdio.h>

#include "probe.h"

static long long fill(const char *dir, long long limit)
{
    static char chunk[1 << 20];
    memset(chunk, 0x33, sizeof chunk);
    long long held = 0;
    for (int i = 0; held < limit; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/fill%d", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            say("INFO %s: open %s\n", dir, ename(errno));
            break;
        }
        long w = 0;
        for (int k = 0; k < 16 && held < limit; k++) {
            w = write_full(fd, chunk, sizeof chunk);
            if (w <= 0)
                break;
            held += w;
        }
        close(fd);
        if (w <= 0) {
            say("INFO %s: write %s\n", dir, ename(errno));
            break;
        }
    }
    return held;
}

int main(int argc, char **argv)
{
    long long memory = strtoll(arg(argc, argv, 1, "67108864"), NULL, 0);
    long long a = fill("/tmp", 8 * memory);
    long long b = fill("", 8 * memory);
    long long total = a + b;
    say("INFO /tmp took %lld MiB, / took %lld MiB (Memory %lld MiB)\n", a >> 20, b >> 20,
        memory >> 20);
    if (total > 2 * memory)
        say("ESCAPED tmpfs holds %lld MiB, more than 2 x Memory\n", total >> 20);
    else
        say("BLOCKED tmpfs growth at %lld MiB\n", total >> 20);
    done();
    return 0;
}
