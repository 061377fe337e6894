/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: grow the host file of a random-write channel (put_size 100) far
 * past put_size with a few bytes at a huge offset: pwrite at 16 GiB, at
 * put_size, pwritev at 16 GiB, lseek to 16 GiB then write.
 * Expected: those writes fail (an offset at or past put_size is refused, as
 * in the original ZeroVM); the host file is exactly 10 zero bytes then
 * "HELLO" (the positive control at offset 10).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "probe.h"

#define HUGE_OFF (1LL << 34)

int main(int argc, char **argv)
{
    long long put_size = strtoll(arg(argc, argv, 1, "100"), NULL, 0);
    int fd = open("/dev/output", O_RDWR);
    if (fd < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    if (pwrite(fd, "HELLO", 5, 10) == 5)
        say("OK pwrite 5 bytes at 10\n");
    else
        say("FAIL pwrite at 10: %s\n", ename(errno));
    EXPECT_FAIL("pwrite 1 byte at 16 GiB", pwrite(fd, "X", 1, HUGE_OFF));
    EXPECT_FAIL("pwrite 1 byte at put_size", pwrite(fd, "Y", 1, put_size));
    struct iovec iov = {.iov_base = "Z", .iov_len = 1};
    EXPECT_FAIL("pwritev 1 byte at 16 GiB", pwritev(fd, &iov, 1, HUGE_OFF));
    EXPECT_FAIL("pwrite at -1", pwrite(fd, "W", 1, -1));
    off_t pos = lseek(fd, HUGE_OFF, SEEK_SET);
    say("INFO lseek to 16 GiB: %lld %s\n", (long long)pos, pos < 0 ? ename(errno) : "");
    EXPECT_FAIL("write 1 byte after lseek to 16 GiB", write(fd, "V", 1));
    struct stat st;
    if (fstat(fd, &st) == 0)
        say("INFO fstat size %lld\n", (long long)st.st_size);
    done();
    return 0;
}
