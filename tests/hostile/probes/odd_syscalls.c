/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: confuse the filter with odd system call numbers - argv[1]:
 *   unknown    numbers the filter has never heard of (-1, 500, 1 << 20):
 *              all must fail with ENOSYS and the program carries on
 *              (openat2, whose arguments live in memory, goes to the
 *              supervisor: alias_paths checks it)
 *   highbits   ptrace(PTRACE_TRACEME) with garbage in the upper 32 bits of
 *              the number register: the kernel runs ptrace, so the filter
 *              must see ptrace too and kill the program
 */
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "unknown");
    if (strcmp(mode, "unknown") == 0) {
        EXPECT_ERRNO("syscall -1", syscall(-1L), ENOSYS);
        EXPECT_ERRNO("syscall 500", syscall(500L), ENOSYS);
        EXPECT_ERRNO("syscall 1 << 20", syscall(1L << 20), ENOSYS);
        done();
        return 0;
    }
    say("TRY highbits\n");
    long ret, nr = (1L << 32) | SYS_ptrace;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"((long)PTRACE_TRACEME), "S"(0L), "d"(0L)
                     : "rcx", "r11", "memory");
    say("ESCAPED highbits survived: returned %ld\n", ret);
    return 0;
}
