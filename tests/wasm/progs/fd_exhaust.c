/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exhaust the descriptor table: argv[1] "file" opens one tmpfs file again
 * and again, "channel" the alias /dev/input.  Prints "INFO opened N
 * <errno>" at the first failure (expected EMFILE or ENFILE), closes them
 * all, then "OK reopen" when a new open and a 4-byte read of /dev/input work
 * ("FAIL reopen ..." otherwise).  rc 0.
 */
#include <fcntl.h>

#include "wt.h"

static int fds[200000];

int main(int argc, char **argv)
{
    if (argc < 2)
        return 99;
    int chan = strcmp(argv[1], "channel") == 0;
    if (!chan) {
        int f = open("/fdx", O_WRONLY | O_CREAT, 0644);
        if (f >= 0)
            close(f);
    }
    int n = 0, err = 0;
    while (n < 200000) {
        errno = 0;
        int fd = open(chan ? "/dev/input" : "/fdx", O_RDONLY);
        if (fd < 0) {
            err = errno;
            break;
        }
        fds[n++] = fd;
    }
    say("INFO opened %d %s\n", n, ename(err));
    for (int i = 0; i < n; i++)
        close(fds[i]);
    int fd = open("/dev/input", O_RDONLY);
    char buf[4];
    if (fd >= 0 && read(fd, buf, 4) == 4 && memcmp(buf, "DATA", 4) == 0)
        say("OK reopen\n");
    else
        say("FAIL reopen: %s\n", ename(errno));
    done();
    return 0;
}
