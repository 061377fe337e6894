/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: make system calls through another ABI, whose numbers a filter
 * written for x86-64 would misread - argv[1]:
 *   int80    i386 getpid via int $0x80 (nr 20 is getpid there)
 *   int80_setuid   i386 setuid32(0) via int $0x80 (nr 213)
 *   x32      x32 getpid (nr 39 | 0x40000000)
 * Expected: any foreign-ABI call kills the program ("killed by signal 31").
 */
#include <sys/syscall.h>

#include "probe.h"

static long int80(long nr, long a1)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1) : "memory");
    return ret;
}

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "int80");
    long rc = -2;
    say("TRY %s\n", mode);
    if (strcmp(mode, "int80") == 0)
        rc = int80(20, 0);
    else if (strcmp(mode, "int80_setuid") == 0)
        rc = int80(213, 0);
    else if (strcmp(mode, "x32") == 0)
        rc = syscall(0x40000000L | 39);
    else
        say("FAIL unknown mode\n");
    say("ESCAPED %s survived: returned %ld\n", mode, rc);
    return 0;
}
