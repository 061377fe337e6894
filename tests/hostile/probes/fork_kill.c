/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: have processes killed while the supervisor answers their fork.
 * Each round starts a child that does nothing but fork (its children exit
 * at once) and SIGKILLs it a moment later, so that the kill often lands
 * while the child's fork waits on the supervisor.  The supervisor forgot
 * ended tasks during that answer and could free the very record it was
 * answering for (a use after free: zerovm crashed, no report).
 * Expected: every round ends, the channel output is exact, the run ends
 * normally with its own status.  argv[1]: rounds (default 300).
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "probe.h"

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 300, killed = 0;
    for (int r = 0; r < rounds; r++) {
        pid_t pid = fork();
        if (pid < 0) {
            say("INFO fork failed in round %d: %s\n", r, ename(errno));
            return 1;
        }
        if (pid == 0) {
            for (;;) {
                pid_t c = fork();
                if (c == 0)
                    _exit(0);
                if (c > 0)
                    waitpid(c, NULL, 0);
            }
        }
        /* 0 to 200 µs: anywhere in the child's first forks */
        struct timespec ts = {0, (r * 7919L) % 200000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status))
            killed++;
    }
    say("OK %d of %d forking children killed and reaped\n", killed, rounds);
    done();
    return 0;
}
