/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox's budget of kernel buffers (src/engine/native/kbuf.c): each
 * kind holds at most Memory / 2 above the floors, and pipes take at most a
 * quarter of the outside user's fs.pipe-user-pages-soft. */
#include <stdint.h>

#include "engine/native/native.h"
#include "tap.h"

#define MIB (1ull << 20)

int main(void)
{
    zvm_kbuf_budget_t b;
    zvm__kbuf_budgets(64 * MIB, 212992, 16384, &b);
    tap_ok(b.sockets == 78 && b.sockets * b.socket_bytes <= 32 * MIB,
           "64 MiB: %llu sockets of at most %llu bytes, within Memory / 2",
           (unsigned long long)b.sockets, (unsigned long long)b.socket_bytes);
    tap_ok(b.pipes == 256, "64 MiB: 256 pipes, a quarter of 16384 soft pages (%llu)",
           (unsigned long long)b.pipes);
    zvm__kbuf_budgets(64 * MIB, 212992, 0, &b);
    tap_ok(b.pipes * b.pipe_bytes <= 32 * MIB && b.pipes == 481,
           "no soft limit: pipes within Memory / 2 (%llu)", (unsigned long long)b.pipes);
    zvm__kbuf_budgets(1 * MIB, 212992, 16384, &b);
    tap_ok(b.sockets == ZVM_KBUF_MIN_SOCKETS && b.pipes == ZVM_KBUF_MIN_PIPES,
           "1 MiB: the floors (%llu sockets, %llu pipes)", (unsigned long long)b.sockets,
           (unsigned long long)b.pipes);
    zvm__kbuf_budgets(4096 * MIB, 8u << 20, 16384, &b);
    tap_ok(b.socket_bytes == 2 * (8u << 20) + 4096 && b.sockets * b.socket_bytes <= 2048 * MIB,
           "a host with 8 MiB socket buffers: fewer sockets (%llu)", (unsigned long long)b.sockets);
    return tap_done();
}
