/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: write more than the output channel's put_size / puts allow.
 *   over N       writes of N+1 bytes              -> EDQUOT, the host file stays empty
 *   fill N       write exactly N, then 1 byte     -> N bytes, then EDQUOT
 *   puts N P     P+5 one-byte writes              -> P succeed, then EDQUOT
 * Bytes are 'a' + i % 26, so the runner can check exactly what arrived.
 */
#include <fcntl.h>
#include <stdio.h>

#include "probe.h"

static char *pattern(size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        exit(3);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + i % 26);
    return p;
}

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "fill");
    size_t n = strtoul(arg(argc, argv, 2, "100"), NULL, 0);
    int fd = open("/dev/output", O_WRONLY);
    if (fd < 0) {
        say("FAIL open /dev/output: %s\n", ename(errno));
        return 2;
    }
    if (strcmp(mode, "over") == 0) {
        char *p = pattern(n + 1);
        EXPECT_ERRNO("write put_size+1", write(fd, p, n + 1), EDQUOT);
        EXPECT_ERRNO("write put_size+1 again", write(fd, p, n + 1), EDQUOT);
    } else if (strcmp(mode, "fill") == 0) {
        char *p = pattern(n + 1);
        ssize_t w = write(fd, p, n);
        if (w == (ssize_t)n)
            say("OK write put_size: %zd\n", w);
        else
            say("FAIL write put_size: %zd %s\n", w, ename(errno));
        EXPECT_ERRNO("write 1 more byte", write(fd, p + n, 1), EDQUOT);
        EXPECT_ERRNO("write 0 more bytes then 1", (write(fd, p, 0), write(fd, p, 1)), EDQUOT);
    } else if (strcmp(mode, "puts") == 0) {
        size_t puts_ = strtoul(arg(argc, argv, 3, "5"), NULL, 0);
        char *p = pattern(puts_ + 5);
        size_t ok = 0;
        int err = 0;
        for (size_t i = 0; i < puts_ + 5; i++) {
            if (write(fd, p + ok, 1) == 1)
                ok++;
            else if (!err)
                err = errno;
        }
        say("INFO %zu one-byte writes succeeded, first error %s\n", ok, ename(err));
        if (ok == puts_ && err == EDQUOT)
            say("BLOCKED write past puts: EDQUOT\n");
        else
            say("ESCAPED write past puts: %zu ok (limit %zu), %s\n", ok, puts_, ename(err));
    }
    done();
    return 0;
}
