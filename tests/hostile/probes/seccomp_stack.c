/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: loosen the sandbox's system call filter by adding one of our own
 * (filters may stack, by prctl(PR_SET_SECCOMP) or seccomp(), without a
 * listener): an allow-all filter both ways, then a filter asking for user
 * notifications with our own listener; afterwards try what the sandbox
 * forbids.
 * Expected: extra filters only ever restrict: NEW_LISTENER fails with
 * EPERM, socket() still fails, the write quota of /dev/output (put_size 4)
 * still holds (host file exactly "1234").  Then filters are added until
 * one fails: a process holds at most 4 of its own (ENOMEM after that),
 * since each is kernel memory that Memory does not count.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "probe.h"

int main(void)
{
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {.len = 1, .filter = allow};
    long rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
    say("INFO prctl(PR_SET_SECCOMP, allow-all) = %ld (%s)\n", rc, rc < 0 ? ename(errno) : "ok");
    EXPECT_ERRNO("seccomp(SET_MODE_FILTER, NEW_LISTENER)",
                 syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog),
                 EPERM);
    rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
    say("INFO seccomp(SET_MODE_FILTER, TSYNC, allow-all) = %ld (%s)\n", rc, rc < 0 ? ename(errno) : "ok");
    EXPECT_FAIL("socket AF_INET after our filter", socket(AF_INET, SOCK_STREAM, 0));
    int fd = open("/dev/output", O_WRONLY);
    if (fd < 0 || write(fd, "1234", 4) != 4)
        say("FAIL write 4 bytes: %s\n", ename(errno));
    EXPECT_ERRNO("write past put_size after our filter", write(fd, "5", 1), EDQUOT);
    /* Each filter is kernel memory outside Memory: keep adding them. */
    int more = 0;
    while (more < 10000 && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
        more++;
    say("INFO %d more filters, then %s\n", more, ename(errno));
    done();
    return 0;
}
