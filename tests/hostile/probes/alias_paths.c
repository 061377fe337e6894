/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: reach the output channel (put_size 10) through another path to
 * get around its quota: reopen the alias, /dev//output, /dev/./output,
 * /dev/../dev/output, a relative path, openat() on /dev, /proc/self/fd/N of
 * the channel descriptor, /dev/fd/1, a symlink we make to the alias, and
 * openat2 of the alias (ENOSYS: channels open by open and openat only;
 * openat2 of any other path works).
 * Expected: each path either gives the same channel (same counters: the
 * write fails with EDQUOT) or the empty placeholder file in the jail's own
 * tmpfs; the host file holds exactly the first 10 bytes "0123456789".
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "probe.h"

static void try_path(const char *path, int dirfd)
{
    int fd = openat(dirfd, path, O_WRONLY);
    if (fd < 0) {
        say("BLOCKED open %s: %s\n", path, ename(errno));
        return;
    }
    ssize_t w = write(fd, "LEAK!", 5);
    if (w < 0)
        say("BLOCKED write via %s (fd %d): %s\n", path, fd, ename(errno));
    else
        say("INFO write via %s (fd %d): %zd bytes (must not reach the host)\n", path, fd, w);
    close(fd);
}

int main(void)
{
    int fd = open("/dev/output", O_WRONLY);
    if (fd < 0 || write(fd, "0123456789", 10) != 10) {
        say("FAIL fill /dev/output: %s\n", ename(errno));
        return 2;
    }
    char buf[64];
    try_path("/dev/output", AT_FDCWD);
    try_path("/dev//output", AT_FDCWD);
    try_path("/dev/./output", AT_FDCWD);
    try_path("/dev/../dev/output", AT_FDCWD);
    try_path("//dev/output/", AT_FDCWD);
    snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    try_path(buf, AT_FDCWD);
    try_path("/proc/self/fd/1", AT_FDCWD);
    try_path("/dev/fd/1", AT_FDCWD);
    if (chdir("/dev") == 0)
        try_path("output", AT_FDCWD);
    int dev = open("/dev", O_RDONLY | O_DIRECTORY);
    if (dev >= 0)
        try_path("output", dev);
    if (symlink("/dev/output", "/tmp/out-link") == 0)
        try_path("/tmp/out-link", AT_FDCWD);
    if (link("/dev/output", "/tmp/out-hard") == 0)
        try_path("/tmp/out-hard", AT_FDCWD);
    /* openat2: an alias is ENOSYS (channels open by open and openat), any
     * other path a plain open in the jail. */
    struct open_how how = {.flags = O_WRONLY};
    EXPECT_ERRNO("openat2 of the alias", syscall(SYS_openat2, AT_FDCWD, "/dev/output", &how, sizeof how),
                 ENOSYS);
    long nul = syscall(SYS_openat2, AT_FDCWD, "/dev/null", &how, sizeof how);
    if (nul >= 0 && write((int)nul, "x", 1) == 1)
        say("OK openat2 of /dev/null\n");
    else
        say("FAIL openat2 of /dev/null: %s\n", ename(errno));
    /* A directory descriptor that is a channel: openat() relative to it. */
    try_path("x", fd);
    EXPECT_ERRNO("write 1 via the first fd", write(fd, "X", 1), EDQUOT);
    done();
    return 0;
}
