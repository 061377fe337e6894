/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: learn who and where we are - host name (argv[1] is the host's),
 * domain name, user ids and groups, network interfaces.
 * Expected: hostname "zerovm" (not the host's), uid/gid 1000 and no
 * supplementary groups, only "lo" in /proc/net/dev.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *host = arg(argc, argv, 1, "");
    struct utsname u;
    uname(&u);
    if (strcmp(u.nodename, host) != 0 && strcmp(u.nodename, "zerovm") == 0)
        say("OK hostname %s\n", u.nodename);
    else
        say("ESCAPED hostname %s (host is %s)\n", u.nodename, host);
    gid_t groups[64];
    int ng = getgroups(64, groups);
    if (getuid() == 1000 && getgid() == 1000 && ng == 0)
        say("OK uid 1000 gid 1000, no groups\n");
    else
        say("ESCAPED uid %d gid %d, %d groups\n", (int)getuid(), (int)getgid(), ng);
    char buf[8192] = {0};
    int fd = open("/proc/net/dev", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (n <= 0) {
        say("BLOCKED read /proc/net/dev: %s\n", ename(errno));
    } else {
        int ifs = 0, others = 0;
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            *colon = '\0';
            while (*line == ' ')
                line++;
            ifs++;
            if (strcmp(line, "lo") != 0) {
                others++;
                say("ESCAPED interface %s visible\n", line);
            }
        }
        if (!others)
            say("OK %d interface(s), only lo\n", ifs);
    }
    done();
    return 0;
}
