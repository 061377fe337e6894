/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: allocate and touch memory until something gives (argv[1] MiB at
 * most, far past the manifest's Memory).
 * Expected: malloc fails at about Memory (RLIMIT_AS): the probe then exits
 * with code 1 like a program that aborts on ENOMEM, or the run ends as
 * "memory limit".  It never gets past Memory.
 */
#include "probe.h"

int main(int argc, char **argv)
{
    long max_mib = strtol(arg(argc, argv, 1, "4096"), NULL, 0);
    long mib = 0;
    for (; mib < max_mib; mib++) {
        char *p = malloc(1 << 20);
        if (!p)
            break;
        memset(p, 1, 1 << 20);
    }
    say("INFO allocated and touched %ld MiB\n", mib);
    if (mib < max_mib) {
        say("BLOCKED malloc: ENOMEM after %ld MiB\n", mib);
        return 1;
    }
    say("ESCAPED allocated %ld MiB\n", mib);
    done();
    return 0;
}
