/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: multiply the memory limit with processes.  RLIMIT_AS is per
 * process, so N children (argv[2], default 8) each allocate and touch 3/4
 * of Memory (argv[1] bytes) and report back through a pipe.
 * Expected: the sandbox's Memory bounds the whole program: the children
 * together never hold more than 2 x Memory.
 */
#include <sys/wait.h>

#include "probe.h"

int main(int argc, char **argv)
{
    long long memory = strtoll(arg(argc, argv, 1, "67108864"), NULL, 0);
    int n = atoi(arg(argc, argv, 2, "8"));
    int p[2], go[2];
    if (pipe(p) < 0 || pipe(go) < 0)
        return 2;
    long long each = memory / 4 * 3 / (1 << 20);
    for (int i = 0; i < n; i++) {
        if (fork() == 0) {
            close(go[1]);
            long mib = 0;
            for (; mib < each; mib++) {
                char *m = malloc(1 << 20);
                if (!m)
                    break;
                memset(m, 7, 1 << 20);
            }
            write(p[1], &mib, sizeof mib);
            char c;
            read(go[0], &c, 1); /* hold the memory until the parent is done */
            _exit(0);
        }
    }
    close(p[1]);
    long long total = 0;
    long mib;
    for (int i = 0; i < n && read(p[0], &mib, sizeof mib) == sizeof mib; i++)
        total += mib;
    say("INFO %d children hold %lld MiB together (Memory %lld MiB)\n", n, total, memory >> 20);
    if (total * (1 << 20) > 2 * memory)
        say("ESCAPED processes hold %lld MiB, more than 2 x Memory\n", total);
    else
        say("BLOCKED processes hold %lld MiB\n", total);
    close(go[1]);
    while (wait(NULL) > 0)
        ;
    done();
    return 0;
}
