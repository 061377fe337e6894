/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pattern COUNT SIZE: COUNT writes of SIZE bytes to /dev/output, byte k of
 * the stream being (k * 7 + 3) & 255.  Prints "wrote N".  Built both as
 * wasm and as a static native program: the two engines must report the
 * same etag for the same bytes.
 */
#include <fcntl.h>

#include "wt.h"

int main(int argc, char **argv)
{
    if (argc < 3)
        return 99;
    long count = atol(argv[1]), size = atol(argv[2]);
    int out = open("/dev/output", O_WRONLY);
    if (out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    unsigned char *buf = malloc((size_t)size);
    if (!buf)
        return 3;
    long long k = 0, total = 0;
    for (long i = 0; i < count; i++) {
        for (long j = 0; j < size; j++, k++)
            buf[j] = (unsigned char)((k * 7 + 3) & 255);
        ssize_t w = write(out, buf, (size_t)size);
        if (w != size) {
            say("FAIL write %ld: %s\n", i, ename(errno));
            return 4;
        }
        total += w;
    }
    close(out);
    say("wrote %lld\n", total);
    return 0;
}
