/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: /proc/self/exe is a magic link to the program's file on the host,
 * outside the jail's mounts.  Through it: chmod (world-writable, setuid),
 * utimes, open for writing, truncate, and a hard link into the jail.
 * Expected: the host file's mode, times and content are unchanged (the
 * runner checks); a chmod/utimes through the link is an escape.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "probe.h"

int main(void)
{
    struct stat before;
    if (stat("/proc/self/exe", &before) < 0) {
        say("BLOCKED stat /proc/self/exe: %s\n", ename(errno));
        done();
        return 0;
    }
    say("INFO exe mode %o uid %d\n", (unsigned)before.st_mode & 07777, (int)before.st_uid);
    EXPECT_FAIL("chmod 0777 /proc/self/exe", chmod("/proc/self/exe", 0777));
    EXPECT_FAIL("chmod 04777 /proc/self/exe", chmod("/proc/self/exe", 04777));
    struct timespec ts[2] = {{.tv_sec = 0}, {.tv_sec = 0}};
    EXPECT_FAIL("utimensat /proc/self/exe", utimensat(AT_FDCWD, "/proc/self/exe", ts, 0));
    int fd = open("/proc/self/exe", O_WRONLY | O_APPEND);
    if (fd >= 0) {
        say("ESCAPED open /proc/self/exe for writing: write %zd\n", write(fd, "PWN", 3));
        close(fd);
    } else {
        say("BLOCKED open /proc/self/exe for writing: %s\n", ename(errno));
    }
    EXPECT_FAIL("truncate /proc/self/exe", truncate("/proc/self/exe", 1));
    int r = open("/proc/self/exe", O_RDONLY);
    EXPECT_FAIL("fchmod on an O_RDONLY fd of /proc/self/exe", fchmod(r, 0777));
    EXPECT_FAIL("linkat /proc/self/exe into /tmp",
                linkat(AT_FDCWD, "/proc/self/exe", AT_FDCWD, "/tmp/exe", AT_SYMLINK_FOLLOW));
    done();
    return 0;
}
