/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: kill everything - kill(-1, SIGKILL), kill(1, SIGKILL), kill(0,
 * SIGKILL), SIGKILL to low pids, pidfd_send_signal to pid 1, from the
 * program and from a child.
 * Expected: only processes of the sandbox are reachable.  The program is
 * pid 2 under the jail's init (pid 1, which signals from inside cannot
 * kill): the program survives its own attack on other pids and on pid 1
 * and prints "ALIVE"; then its child's kill(-1, SIGKILL) kills it, as on
 * Linux (the report says signal 9); zerovm, the runner and the runner's
 * own sleeper process survive and the report comes out.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "probe.h"

static void attack(const char *who)
{
    say("INFO %s: kill(-1) = %d (%s)\n", who, kill(-1, SIGKILL), ename(errno));
    say("INFO %s: kill(1) = %d (%s)\n", who, kill(1, SIGKILL), ename(errno));
    int reached = 0;
    for (pid_t pid = 2; pid < 4096; pid++)
        if (pid != getpid() && kill(pid, SIGKILL) == 0)
            reached++;
    say("INFO %s: signalled %d other pids\n", who, reached);
    int pfd = (int)syscall(SYS_pidfd_open, 1, 0);
    if (pfd >= 0)
        say("INFO %s: pidfd_send_signal(1) = %ld\n", who,
            syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0));
}

int main(void)
{
    say("INFO getpid() = %d\n", (int)getpid());
    attack("program");
    say("ALIVE\n");
    pid_t c = fork();
    if (c == 0) {
        attack("child");  /* kill(-1) ends the program too */
        _exit(0);
    }
    int st = 0;
    waitpid(c, &st, 0);
    say("INFO kill(0) = %d\n", kill(0, SIGKILL));
    say("ESCAPED the program survived kill(-1, SIGKILL) from its child\n");
    return 0;
}
