/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: read more than the input channel's get_size / gets allow.
 *   size G    read in 64-byte chunks until it stops: at most G bytes in
 *             all, then EDQUOT (the file is longer than G)
 *   gets K    read 10 bytes at a time: K reads succeed, then EDQUOT
 * Everything read is copied to /dev/output, so the runner sees exactly
 * which bytes came through.
 */
#include <fcntl.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "size");
    size_t lim = strtoul(arg(argc, argv, 2, "100"), NULL, 0);
    size_t chunk = strcmp(mode, "gets") == 0 ? 10 : 64;
    int in = open("/dev/input", O_RDONLY), out = open("/dev/output", O_WRONLY);
    if (in < 0 || out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    char buf[64];
    size_t total = 0, calls = 0;
    ssize_t r;
    while ((r = read(in, buf, chunk)) > 0) {
        total += (size_t)r;
        calls++;
        write_full(out, buf, (size_t)r);
        if (calls > 100000)
            break;
    }
    int e = r < 0 ? errno : 0;
    say("INFO read %zu bytes in %zu calls, then %s\n", total, calls, r < 0 ? ename(e) : "EOF");
    size_t got = strcmp(mode, "gets") == 0 ? calls : total;
    if (got <= lim && r < 0 && e == EDQUOT)
        say("BLOCKED read past the limit: EDQUOT\n");
    else
        say("ESCAPED read past the limit: %zu (limit %zu) then %s\n", got, lim,
            r < 0 ? ename(e) : "EOF");
    /* pread cannot start a new budget either. */
    EXPECT_FAIL("pread after the quota", pread(in, buf, 1, 0));
    done();
    return 0;
}
