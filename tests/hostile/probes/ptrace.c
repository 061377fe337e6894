/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: debug another process (or be debugged), to read or change its
 * memory and registers: argv[1] selects one of
 *   traceme  attach_parent  attach_child  seize_1  process_vm_readv
 *   process_vm_writev
 * Expected: the first such call kills the program (SIGSYS, "killed by
 * signal 31"); "ESCAPED" never appears.
 */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "traceme");
    long rc = -2;
    char buf[16];
    struct iovec local = {buf, sizeof buf}, remote = {buf, sizeof buf};
    pid_t child = -1;
    if (strcmp(mode, "attach_child") == 0 && (child = fork()) == 0)
        for (;;)
            pause();
    say("TRY %s\n", mode);
    if (strcmp(mode, "traceme") == 0)
        rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    else if (strcmp(mode, "attach_parent") == 0)
        rc = ptrace(PTRACE_ATTACH, getppid(), NULL, NULL);
    else if (strcmp(mode, "attach_child") == 0)
        rc = ptrace(PTRACE_ATTACH, child, NULL, NULL);
    else if (strcmp(mode, "seize_1") == 0)
        rc = ptrace(PTRACE_SEIZE, 1, NULL, NULL);
    else if (strcmp(mode, "process_vm_readv") == 0)
        rc = syscall(SYS_process_vm_readv, 1, &local, 1, &remote, 1, 0);
    else if (strcmp(mode, "process_vm_writev") == 0)
        rc = syscall(SYS_process_vm_writev, 1, &local, 1, &remote, 1, 0);
    else
        say("FAIL unknown mode\n");
    say("ESCAPED %s survived: returned %ld (%s)\n", mode, rc, rc < 0 ? ename(errno) : "ok");
    if (child > 0)
        kill(child, SIGKILL);
    return 0;
}
