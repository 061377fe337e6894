/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A random-access channel (type 3) /dev/data whose host file holds
 * "0123456789abcdefghij":
 *   pwrite "HELLO" at 10, pread 5 at 3 ("34567"), lseek 15 + read 5
 *   ("fghij"), tell (20), pwrite "XY" at 0, fstat size (20);
 *   then pwrite "Z" at 2^40: "BIG <result>" (the host file must not grow).
 * Lines: "PREAD 34567", "READ fghij", "TELL 20", "SIZE 20", "BIG ...".
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "wt.h"

int main(void)
{
    int fd = open("/dev/data", O_RDWR);
    if (fd < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    char b[8] = {0};
    EXPECT_OK("pwrite HELLO at 10", pwrite(fd, "HELLO", 5, 10));
    ssize_t n = pread(fd, b, 5, 3);
    say("PREAD %s %zd\n", b, n);
    say("SEEK %lld\n", (long long)lseek(fd, 15, SEEK_SET));
    memset(b, 0, sizeof b);
    n = read(fd, b, 5);
    say("READ %s %zd\n", b, n);
    say("TELL %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    EXPECT_OK("pwrite XY at 0", pwrite(fd, "XY", 2, 0));
    struct stat st;
    if (fstat(fd, &st) == 0)
        say("SIZE %lld\n", (long long)st.st_size);
    else
        say("SIZE %s\n", ename(errno));
    errno = 0;
    n = pwrite(fd, "Z", 1, 1LL << 40);
    say("BIG %zd %s\n", n, n < 0 ? ename(errno) : "");
    done();
    return 0;
}
