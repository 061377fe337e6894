/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Positive control for networking: a declared tcp: channel (/dev/net) works.
 * Write 16 bytes to the runner's echo server, read them back.
 * Expected: "ECHO hello-from-jail" and the report's accounting counts the
 * bytes as network traffic (net writes 1 / 16 bytes, net reads 16 bytes);
 * the server received exactly those 16 bytes.
 */
#include <fcntl.h>

#include "probe.h"

int main(void)
{
    int fd = open("/dev/net", O_RDWR);
    if (fd < 0) {
        say("FAIL open /dev/net: %s\n", ename(errno));
        return 2;
    }
    if (write(fd, "hello-from-jail\n", 16) != 16) {
        say("FAIL write: %s\n", ename(errno));
        return 2;
    }
    char buf[32];
    size_t got = 0;
    while (got < 16) {
        ssize_t r = read(fd, buf + got, 16 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    if (got && buf[got - 1] == '\n')
        buf[got - 1] = '\0';
    say("ECHO %s\n", buf);
    done();
    return 0;
}
