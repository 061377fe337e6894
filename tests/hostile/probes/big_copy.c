/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Positive control under load: copy all of /dev/input to /dev/output in
 * 64 KiB reads and writes, mixing in readv/writev (10 MiB in the runner).
 * Expected: the host output is identical to the input; the etags of both
 * channels equal md5sum of the data; the accounting adds up.
 */
#include <fcntl.h>
#include <sys/uio.h>

#include "probe.h"

int main(void)
{
    static char buf[1 << 16];
    int in = open("/dev/input", O_RDONLY), out = open("/dev/output", O_WRONLY);
    if (in < 0 || out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    long long total = 0;
    for (int i = 0;; i++) {
        ssize_t r;
        if (i % 2) {
            struct iovec iov[2] = {{buf, 1000}, {buf + 1000, sizeof buf - 1000}};
            r = readv(in, iov, 2);
        } else {
            r = read(in, buf, sizeof buf);
        }
        if (r < 0) {
            say("FAIL read: %s\n", ename(errno));
            return 2;
        }
        if (r == 0)
            break;
        long w;
        if (i % 3 == 0 && r > 10) {
            struct iovec iov[2] = {{buf, 10}, {buf + 10, (size_t)r - 10}};
            w = writev(out, iov, 2);
        } else {
            w = write_full(out, buf, (size_t)r);
        }
        if (w != r) {
            say("FAIL write: %ld of %zd: %s\n", w, r, ename(errno));
            return 2;
        }
        total += r;
    }
    say("OK copied %lld bytes\n", total);
    done();
    return 0;
}
