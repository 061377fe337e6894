/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: slip past put_size (1000) with vectored writes: 1024 one-byte
 * iovecs (1024 > 1000 in all), 1025 iovecs (over IOV_MAX), iovecs whose
 * lengths overflow when summed, an iovec array in unmapped memory.
 * Expected: all fail (EDQUOT, EINVAL, EFAULT) without a byte reaching the
 * host; a final writev of 10 x 10 bytes succeeds, so the host file holds
 * exactly 100 bytes 'a'..'j' x 10 each.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "probe.h"

int main(void)
{
    static struct iovec iov[1100];
    static char data[1100];
    int fd = open("/dev/output", O_WRONLY);
    if (fd < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    memset(data, 'X', sizeof data);
    for (int i = 0; i < 1100; i++)
        iov[i] = (struct iovec){.iov_base = data + i, .iov_len = 1};
    EXPECT_ERRNO("writev 1024 x 1 byte over put_size", writev(fd, iov, 1024), EDQUOT);
    EXPECT_FAIL("writev 1025 iovecs", writev(fd, iov, 1025));
    struct iovec big[2] = {{data, SIZE_MAX / 2 + 1}, {data, SIZE_MAX / 2 + 1}};
    EXPECT_FAIL("writev with overflowing lengths", writev(fd, big, 2));
    EXPECT_FAIL("writev iovecs in unmapped memory", syscall(SYS_writev, fd, 8, 2));
    struct iovec wild = {(void *)0x10, 5};
    EXPECT_FAIL("writev from unmapped buffer", writev(fd, &wild, 1));
    static char ok[100];
    for (int i = 0; i < 10; i++) {
        memset(ok + 10 * i, 'a' + i, 10);
        iov[i] = (struct iovec){.iov_base = ok + 10 * i, .iov_len = 10};
    }
    ssize_t w = writev(fd, iov, 10);
    if (w == 100)
        say("OK writev 10 x 10 bytes\n");
    else
        say("FAIL writev 10 x 10: %zd %s\n", w, ename(errno));
    done();
    return 0;
}
