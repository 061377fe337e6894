/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy SRC DST BUFSIZE: read SRC with read() of BUFSIZE until end of file
 * (or an error) and write every byte to DST.  Prints "copied N" then the
 * ending ("END eof" / "END read <errno>" / "END write <errno>") on stdout
 * (unless DST is /dev/stdout).  Also used with /dev/stdin and /dev/stdout.
 */
#include <fcntl.h>

#include "wt.h"

int main(int argc, char **argv)
{
    if (argc < 4)
        return 99;
    int quiet = strcmp(argv[2], "/dev/stdout") == 0;
    int in = strcmp(argv[1], "/dev/stdin") == 0 ? 0 : open(argv[1], O_RDONLY);
    int out = quiet ? 1 : open(argv[2], O_WRONLY | O_CREAT, 0644);
    if (in < 0 || out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    size_t bs = (size_t)atol(argv[3]);
    char *buf = malloc(bs);
    if (!buf)
        return 3;
    long long total = 0;
    const char *end = "eof";
    int err = 0;
    for (;;) {
        ssize_t r = read(in, buf, bs);
        if (r < 0) {
            end = "read";
            err = errno;
            break;
        }
        if (r == 0)
            break;
        size_t w = write_all(out, buf, (size_t)r);
        total += (long long)w;
        if (w != (size_t)r) {
            end = "write";
            err = errno;
            break;
        }
    }
    if (!quiet) {
        say("copied %lld\n", total);
        say("END %s%s%s\n", end, err ? " " : "", err ? ename(err) : "");
    }
    return 0;
}
