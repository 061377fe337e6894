/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How a program ends: argv[1] is the way, argv[2] the code.
 *   return N      return from main
 *   exit N        exit() after an atexit handler that prints "atexit ran"
 *   proc_exit N   __wasi_proc_exit(N) from deep in the call stack; nothing
 *                 after it may run ("AFTER" must never appear)
 */
#include <wasi/api.h>

#include "wt.h"

static void bye(void)
{
    say("atexit ran\n");
}

static __attribute__((noinline)) int deep(int n, int code)
{
    if (n == 0) {
        __wasi_proc_exit((__wasi_exitcode_t)code);
        say("AFTER proc_exit\n");
        return -1;
    }
    return deep(n - 1, code) + 1;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 99;
    int code = atoi(argv[2]);
    say("TRY %s %d\n", argv[1], code);
    if (strcmp(argv[1], "return") == 0)
        return code;
    if (strcmp(argv[1], "exit") == 0) {
        atexit(bye);
        exit(code);
    }
    if (strcmp(argv[1], "proc_exit") == 0) {
        int r = deep(50, code);
        say("AFTER deep %d\n", r);
        return 98;
    }
    return 97;
}
