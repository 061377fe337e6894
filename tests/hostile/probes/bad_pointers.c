/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: feed the supervisor bad memory, hoping to crash it, make it touch
 * the wrong memory, or miscount: NULL and kernel addresses for buffers,
 * paths and iovecs, an unterminated path at the end of a mapping, a huge
 * count, fstat into a read-only page.
 * Expected: each call fails (EFAULT, ENAMETOOLONG, ...), nothing reaches the
 * host output except the final "still-fine" line (put_size 100).
 * Calls the kernel itself would refuse but that cannot hurt the host (an
 * unterminated alias, writing into a read-only page of our own) are
 * reported as "DEVIATION" lines; the runner checks them in a separate case.
 * Raw syscall() so that the compiler cannot second-guess the bad arguments.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "probe.h"

int main(void)
{
    int out = open("/dev/output", O_WRONLY);
    if (out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    EXPECT_FAIL("write from NULL", syscall(SYS_write, out, NULL, 10));
    EXPECT_FAIL("write from a kernel address", syscall(SYS_write, out, 0xffffffff81000000ul, 10));
    EXPECT_FAIL("write 1 GiB from a small buffer", syscall(SYS_write, out, "x", 1ul << 30));
    struct iovec bad = {NULL, 10};
    EXPECT_FAIL("writev from NULL", syscall(SYS_writev, out, &bad, 1));
    EXPECT_FAIL("open(NULL)", syscall(SYS_open, NULL, O_RDONLY));
    EXPECT_FAIL("open from a kernel address", syscall(SYS_open, 0xffffffff81000000ul, O_RDONLY));
    /* An unterminated path that runs into an unmapped page. */
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (two != MAP_FAILED) {
        munmap(two + 4096, 4096);
        memset(two, 'a', 4096);
        two[0] = '/';
        EXPECT_FAIL("open of an unterminated path", open(two, O_RDONLY));
        memcpy(two + 4096 - 11, "/dev/output", 11);
        long fd = open(two + 4096 - 11, O_WRONLY);
        if (fd < 0)
            say("BLOCKED open of an alias without its NUL: %s\n", ename(errno));
        else
            say("DEVIATION open of an alias without its NUL: returned %ld (the kernel says EFAULT)\n", fd);
    }
    EXPECT_FAIL("syscall(SYS_fstat, 1, NULL)", syscall(SYS_fstat, 1, NULL));
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (syscall(SYS_fstat, out, ro) < 0)
        say("BLOCKED fstat(out) into a read-only page: %s\n", ename(errno));
    else
        say("DEVIATION fstat(out) wrote into a read-only page (the kernel says EFAULT)\n");
    if (write(out, "still-fine\n", 11) == 11)
        say("OK the channel still works\n");
    else
        say("FAIL final write: %s\n", ename(errno));
    done();
    return 0;
}
