/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Each mode (argv[1]) ends in one wasm trap after printing "TRY <mode>";
 * "SURVIVED <mode>" must never appear.
 *   oob          i32.load at 0xFFFFFFF0           out of bounds memory access
 *   oob_store    i64.store at 0xFFFFFFFC
 *   oob_memcpy   memcpy from a valid buffer to the last 8 bytes + 64
 *   recurse      unbounded (non-tail) recursion     call stack exhausted
 *   divzero      i32.div_s by 0                     integer divide by zero
 *   remzero      i64.rem_u by 0                     integer divide by zero
 *   overflow     INT_MIN / -1                       integer overflow
 *   nan          i32.trunc_f64_s of NaN             invalid conversion to integer
 *   bigfloat     i32.trunc_f64_s of 1e100           integer overflow
 *   unreachable  __builtin_trap()                   unreachable
 *   indirect     call through a pointer of the wrong type
 *                                                  indirect call type mismatch
 *   nullcall     call through a NULL function pointer (undefined element)
 */
#include <stdint.h>

#include "wt.h"

static volatile int vzero = 0, vminus1 = -1, vintmin = INT32_MIN;
static volatile double vnan, vbig = 1e100;
static volatile uint32_t vaddr = 0xFFFFFFF0u, vaddr2 = 0xFFFFFFFCu;

/* Recursion on the wasm stack only (no shadow-stack frame: no address-taken
 * locals), so it ends in "call stack exhausted", not in a wrap of the
 * shadow stack pointer. */
static volatile int vone = 1;
static __attribute__((noinline)) int recurse(int n)
{
    return recurse(n + vone) * 3 + vone;
}

static __attribute__((noinline)) int takes_int(int x)
{
    return x + 1;
}

typedef double (*dfn)(double, double);

int main(int argc, char **argv)
{
    if (argc < 2)
        return 99;
    const char *m = argv[1];
    say("TRY %s\n", m);
    volatile long long sink = 0;
    if (!strcmp(m, "oob"))
        sink = *(volatile int *)(uintptr_t)vaddr;
    else if (!strcmp(m, "oob_store"))
        *(volatile int64_t *)(uintptr_t)vaddr2 = 42;
    else if (!strcmp(m, "oob_memcpy")) {
        size_t pages = __builtin_wasm_memory_size(0);
        char src[128] = {1};
        memcpy((char *)(uintptr_t)(pages * 65536 - 8 + (uintptr_t)vzero), src, 72);
    } else if (!strcmp(m, "recurse")) {
        sink = recurse(0);
    } else if (!strcmp(m, "divzero"))
        sink = 100 / vzero;
    else if (!strcmp(m, "remzero"))
        sink = (long long)(7ULL % (unsigned long long)vzero);
    else if (!strcmp(m, "overflow"))
        sink = vintmin / vminus1;
    else if (!strcmp(m, "nan")) {
        vnan = __builtin_nan("");
        sink = __builtin_wasm_trunc_s_i32_f64(vnan);
    } else if (!strcmp(m, "bigfloat"))
        sink = __builtin_wasm_trunc_s_i32_f64(vbig);
    else if (!strcmp(m, "unreachable"))
        __builtin_trap();
    else if (!strcmp(m, "indirect")) {
        volatile dfn f = (dfn)(void *)takes_int;
        sink = (long long)f(1.0, 2.0);
    } else if (!strcmp(m, "nullcall")) {
        void (*volatile f)(void) = 0;
        f();
    } else
        return 98;
    say("SURVIVED %s %lld\n", m, (long long)sink);
    return 0;
}
