/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: become non-dumpable, so that a supervisor reading our memory
 * through /proc/<pid>/mem is refused, then use the channels - hoping for
 * unchecked or miscounted I/O.  argv[1]:
 *   prctl   prctl(PR_SET_DUMPABLE, 0)
 *   xonly   copy our binary to /tmp, chmod it 0111 (execute-only) and exec
 *           it: the kernel makes a process of an unreadable binary
 *           non-dumpable
 * Expected: either the sandbox refuses to let us become non-dumpable, or
 * channel I/O keeps working exactly: the 16 input bytes arrive in the host
 * output file unchanged.
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "probe.h"

static int copy_self(const char *to)
{
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (in < 0 || out < 0)
        return -1;
    char buf[65536];
    ssize_t r;
    while ((r = read(in, buf, sizeof buf)) > 0)
        if (write_full(out, buf, (size_t)r) != r)
            return -1;
    close(in);
    close(out);
    return chmod(to, 0111);
}

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "prctl");
    if (strcmp(mode, "prctl") == 0) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
            say("BLOCKED PR_SET_DUMPABLE 0: %s\n", ename(errno));
    } else if (strcmp(mode, "xonly") == 0) {
        if (copy_self("/tmp/nodump-x") < 0) {
            say("FAIL copy to /tmp/nodump-x: %s\n", ename(errno));
            return 2;
        }
        char *args[] = {argv[0], "child", NULL};
        execve("/tmp/nodump-x", args, (char *[]){NULL});
        say("BLOCKED exec of an execute-only copy: %s\n", ename(errno));
    }
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    say("INFO %s: dumpable now %d\n", mode, dumpable);
    int in = open("/dev/input", O_RDONLY), out = open("/dev/output", O_WRONLY);
    char buf[64];
    ssize_t r = in >= 0 ? read(in, buf, sizeof buf) : -1;
    if (r < 0) {
        say("FAIL read: %s\n", ename(errno));
        return 2;
    }
    if (out < 0 || write(out, buf, (size_t)r) != r) {
        say("FAIL write: %s\n", ename(errno));
        return 2;
    }
    say("OK copied %zd bytes (dumpable %d)\n", r, dumpable);
    done();
    return 0;
}
