/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: map a channel into memory to read or write the host file without
 * the supervisor counting it: mmap the input and output descriptors
 * (shared, writable, read-only) and fd 1.
 * Expected: every mmap fails (virtual descriptors are not kernel
 * descriptors: EBADF; fd 1 underneath is /dev/null: ENODEV); the host
 * output stays empty and the input unchanged.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "probe.h"

static void try_map(const char *what, int fd, int prot, int flags)
{
    void *p = mmap(NULL, 4096, prot, flags, fd, 0);
    if (p == MAP_FAILED) {
        say("BLOCKED %s: %s\n", what, ename(errno));
        return;
    }
    if (prot & PROT_WRITE)
        memcpy(p, "LEAK-THROUGH-MMAP", 17);
    say("ESCAPED %s: mapped at %p, first byte %d\n", what, p, ((char *)p)[0]);
    munmap(p, 4096);
}

int main(void)
{
    int in = open("/dev/input", O_RDONLY), out = open("/dev/output", O_RDWR);
    if (in < 0 || out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }
    try_map("mmap input private", in, PROT_READ, MAP_PRIVATE);
    try_map("mmap input shared", in, PROT_READ, MAP_SHARED);
    try_map("mmap output shared rw", out, PROT_READ | PROT_WRITE, MAP_SHARED);
    try_map("mmap output private rw", out, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    try_map("mmap fd 1 shared rw", 1, PROT_READ | PROT_WRITE, MAP_SHARED);
    try_map("mmap fd 0 shared", 0, PROT_READ, MAP_SHARED);
    done();
    return 0;
}
