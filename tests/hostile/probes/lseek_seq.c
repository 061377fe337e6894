/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: lseek/pread/pwrite games on sequential channels (type 0) to
 * rewrite bytes already written or re-read bytes already counted.
 * Expected: as on a pipe, lseek, pread, pwrite, preadv and pwritev fail
 * with ESPIPE and move nothing, so the host output is exactly
 * "first|third" and the input's first 4 bytes (the stream unmoved by the
 * preads).
 */
#include <fcntl.h>
#include <sys/uio.h>

#include "probe.h"

int main(void)
{
    int in = open("/dev/input", O_RDONLY), out = open("/dev/output", O_WRONLY);
    if (in < 0 || out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    write_full(out, "first|", 6);
    EXPECT_ERRNO("lseek output to 0", lseek(out, 0, SEEK_SET), ESPIPE);
    EXPECT_ERRNO("lseek output to end", lseek(out, 0, SEEK_END), ESPIPE);
    EXPECT_ERRNO("lseek input back", lseek(in, 0, SEEK_SET), ESPIPE);
    EXPECT_ERRNO("pwrite at 0 on a sequential channel", pwrite(out, "second|", 7, 0), ESPIPE);
    struct iovec v = {.iov_base = "second|", .iov_len = 7};
    EXPECT_ERRNO("pwritev at 0 on a sequential channel", pwritev(out, &v, 1, 0), ESPIPE);
    write_full(out, "third", 5);
    char a[4], b[4];
    EXPECT_ERRNO("pread at 0 on a sequential channel", pread(in, b, 4, 0), ESPIPE);
    struct iovec rv = {.iov_base = b, .iov_len = 4};
    EXPECT_ERRNO("preadv at 0 on a sequential channel", preadv(in, &rv, 1, 0), ESPIPE);
    ssize_t r1 = read(in, a, 4);
    if (r1 > 0)
        write_full(out, a, (size_t)r1);
    done();
    return 0;
}
