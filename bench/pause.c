/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A static program that waits to be killed.  bench/phases runs it under
 * zerovm and reads the seccomp filters zerovm installed on it (ptrace
 * PTRACE_SECCOMP_GET_FILTER, root only), so the "cached filter" variants
 * load exactly the BPF the current zerovm builds.
 */
#include <unistd.h>

int main(void)
{
    for (;;)
        pause();
}
