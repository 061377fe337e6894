/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: read a host file through a supplementary group of the caller's.
 * The runner (as root, with supplementary group adm) shows a directory
 * image holding open.txt (0644) and secret.txt (0640 root:adm).
 * Expected: no supplementary group inside (getgroups() is 0), open.txt is
 * readable (the control), secret.txt fails with EACCES.
 */
#include <fcntl.h>
#include <grp.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *dir = arg(argc, argv, 1, "/img");
    char path[256];
    gid_t groups[64];
    int n = getgroups(64, groups);
    if (n == 0)
        say("OK no supplementary group\n");
    else
        say("INFO %d supplementary groups, first %d\n", n, n > 0 ? (int)groups[0] : -1);
    snprintf(path, sizeof path, "%s/open.txt", dir);
    int fd = open(path, O_RDONLY);
    if (fd >= 0)
        say("OK read %s\n", path);
    else
        say("FAIL control %s: %s\n", path, ename(errno));
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/secret.txt", dir);
    EXPECT_ERRNO("read a 0640 file of a supplementary group", open(path, O_RDONLY), EACCES);
    done();
    return 0;
}
