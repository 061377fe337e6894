/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: leave a process behind.  A child starts a new session, ignores
 * every signal it can, double-forks and spins; a second child blocks in a
 * read of a pipe nobody writes; the original process exits at once.
 * Expected: when the program (pid 1 of the jail) exits, the kernel kills
 * the rest of the jail: nothing with our argv[0] marker is left after
 * zerovm returns (the runner looks with pgrep -f).
 */
#include <signal.h>

#include "probe.h"

static void ignore_all(void)
{
    for (int s = 1; s < 65; s++)
        signal(s, SIG_IGN);
}

int main(void)
{
    int p[2];
    if (pipe(p) < 0)
        return 2;
    pid_t a = fork();
    if (a == 0) {
        setsid();
        ignore_all();
        if (fork() != 0)
            _exit(0);
        if (fork() != 0)
            _exit(0);
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    pid_t b = fork();
    if (b == 0) {
        ignore_all();
        char c;
        for (;;)
            read(p[0], &c, 1);
    }
    say("INFO children %d %d started\n", (int)a, (int)b);
    usleep(100 * 1000);
    done();
    return 0;
}
