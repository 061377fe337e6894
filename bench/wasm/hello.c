/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/wasm/hello.c: the wasm "hello" (clang-16 --target=wasm32-wasi -O2):
 * one write(2), that is one WASI fd_write, then exit.  The twin of
 * bench/hello.c, for start-up and instantiation timing.
 */
#include <unistd.h>

int main(void)
{
    static const char msg[] = "hello\n";
    return write(1, msg, sizeof msg - 1) == (ssize_t)(sizeof msg - 1) ? 0 : 1;
}
