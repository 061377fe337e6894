/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: fork bomb.  Every child forks again and then sleeps forever;
 * the original process counts how far it got and exits.
 * Expected: RLIMIT_NPROC (64 inside) stops it with EAGAIN; the run ends
 * normally; no process with our argv[0] marker survives zerovm (the runner
 * looks with pgrep -f).
 */
#include <signal.h>
#include <sys/wait.h>

#include "probe.h"

int main(void)
{
    int n = 0, err = 0;
    for (int i = 0; i < 100000; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            /* Grandchildren: keep trying, then hang around. */
            for (int k = 0; k < 1000; k++)
                if (fork() == 0)
                    break;
            for (;;)
                pause();
        }
        n++;
    }
    say("INFO forked %d children directly, then %s\n", n, ename(err));
    if (err == EAGAIN && n <= 64)
        say("BLOCKED fork bomb: EAGAIN after %d\n", n);
    else
        say("ESCAPED fork bomb: %d children, %s\n", n, ename(err));
    done();
    return 0;
}
