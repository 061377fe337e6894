/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: find descriptors inherited from zerovm or its caller (the
 * seccomp listener, the sync socket, the program's O_PATH fd, host
 * channel files, the runner's own descriptors - it passes a marker fd).
 * Expected: no real descriptor other than 0-2 (which are /dev/null inside)
 * is open at start; /proc/self/fd lists only 0, 1, 2 (+ the directory fd of
 * the listing itself).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>

#include "probe.h"

int main(void)
{
    int open_fds = 0;
    for (int fd = 3; fd < 4096; fd++) {
        if (fcntl(fd, F_GETFD) < 0)
            continue;
        char path[64], target[256] = "?";
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0)
            target[n] = '\0';
        say("ESCAPED inherited fd %d -> %s\n", fd, target);
        open_fds++;
    }
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int listed = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        int fd = atoi(de->d_name);
        if (fd > 2 && fd != dirfd(d)) {
            say("ESCAPED /proc/self/fd lists %d\n", fd);
            open_fds++;
        }
        listed++;
    }
    if (!open_fds)
        say("OK no inherited descriptors (%d listed)\n", listed);
    for (int fd = 0; fd < 3; fd++) {
        char path[64], target[256] = "?";
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0)
            target[n] = '\0';
        if (strcmp(target, "/dev/null") == 0)
            say("OK real fd %d is /dev/null\n", fd);
        else
            say("ESCAPED real fd %d -> %s\n", fd, target);
    }
    done();
    return 0;
}
