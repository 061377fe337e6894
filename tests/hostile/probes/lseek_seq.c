/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: lseek/pread/pwrite games on sequential channels (type 0) to
 * rewrite bytes already written or re-read bytes already counted.
 * Expected: lseek fails with ESPIPE; pwrite's offset is ignored (the bytes
 * are appended, as in the original ZeroVM), so the host output is exactly
 * "first|second|third"; pread on the input continues the stream and is
 * counted, so the output file also ends with the input's first 8 bytes.
 */
#include <fcntl.h>

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
    if (pwrite(out, "second|", 7, 0) == 7)
        say("INFO pwrite at 0 on a sequential channel appended\n");
    write_full(out, "third", 5);
    char a[4], b[4];
    ssize_t r1 = read(in, a, 4), r2 = pread(in, b, 4, 0);
    if (r1 == 4 && r2 == 4 && memcmp(a, b, 4) == 0)
        say("ESCAPED pread at 0 re-read the same bytes\n");
    else
        say("BLOCKED pread re-read: got %zd/%zd bytes, different\n", r1, r2);
    if (r1 > 0)
        write_full(out, a, (size_t)r1);
    if (r2 > 0)
        write_full(out, b, (size_t)r2);
    done();
    return 0;
}
