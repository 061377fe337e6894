/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: run a file dropped on a writable mount.  The probe copies itself
 * (/dev/self, a static ELF) to /tmp/dropped and, where the root is
 * writable, to /dropped, marks them executable, and tries execve and an
 * executable mmap of each.
 * Expected: the writable mounts are noexec: execve fails with EACCES and
 * mmap(PROT_EXEC) with EPERM; the program's own image still runs (a
 * re-exec of /dev/self prints "OK re-exec").
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "probe.h"

static int copy_self(const char *to)
{
    int in = open("/dev/self", O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) {
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            rc = -1;
    close(in);
    close(out);
    return n < 0 ? -1 : rc;
}

static void attack(const char *path)
{
    char what[128];
    if (copy_self(path) < 0) {
        say("INFO cannot write %s: %s\n", path, ename(errno));
        return;
    }
    say("OK wrote %s\n", path);
    char *argv[] = {(char *)path, "ran", NULL};
    snprintf(what, sizeof what, "execve %s", path);
    EXPECT_ERRNO(what, execve(path, argv, NULL), EACCES);
    int fd = open(path, O_RDONLY);
    snprintf(what, sizeof what, "mmap(PROT_EXEC) %s", path);
    EXPECT_ERRNO(what, mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0,
                 EPERM);
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "drop");
    if (strcmp(mode, "ran") == 0) {
        say("ESCAPED a dropped file ran\n");
        return 0;
    }
    if (strcmp(mode, "again") == 0) {
        say("OK re-exec\n");
        done();
        return 0;
    }
    attack("/tmp/dropped");
    attack("/dropped");
    char *again[] = {argv[0], "again", NULL};
    execve("/dev/self", again, NULL);
    say("FAIL re-exec of /dev/self: %s\n", ename(errno));
    return 1;
}
