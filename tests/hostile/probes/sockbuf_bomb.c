/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: hold host memory that RLIMIT_AS does not see - bytes queued in
 * the kernel buffers of unix socketpairs (the one socket the sandbox
 * allows).  Fill pair after pair (non-blocking, until EAGAIN) up to 8 x
 * Memory (argv[1] bytes) in all, never reading.
 * Expected: the sandbox's Memory bounds it: less than 2 x Memory queued.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "probe.h"

int main(int argc, char **argv)
{
    long long memory = strtoll(arg(argc, argv, 1, "67108864"), NULL, 0);
    long long limit = 8 * memory, held = 0;
    static char chunk[1 << 16];
    memset(chunk, 0x42, sizeof chunk);
    int pairs = 0, err = 0;
    while (held < limit) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
            err = errno;
            break;
        }
        int big = 1 << 30;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        pairs++;
        long long before = held;
        for (;;) {
            ssize_t w = write(sv[0], chunk, sizeof chunk);
            if (w <= 0)
                break;
            held += w;
        }
        if (held == before) {
            err = errno;
            break;
        }
    }
    say("INFO %d socketpairs hold %lld MiB (Memory %lld MiB), then %s\n", pairs, held >> 20,
        memory >> 20, err ? ename(err) : "stopped trying");
    if (held > 2 * memory)
        say("ESCAPED socket buffers hold %lld MiB, more than 2 x Memory\n", held >> 20);
    else
        say("BLOCKED socket buffer growth at %lld MiB\n", held >> 20);
    done();
    return 0;
}
