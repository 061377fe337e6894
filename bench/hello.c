/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark's static "hello": one write(2) and exit.  Built with
 * `gcc -O2 -static` so no dynamic loader runs and the time measured is the
 * sandbox's, not the program's.
 */
#include <unistd.h>

int main(void)
{
    static const char msg[] = "hello\n";
    return write(1, msg, sizeof msg - 1) == (ssize_t)(sizeof msg - 1) ? 0 : 1;
}
