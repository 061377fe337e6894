/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: reach a TCP listener on the host's loopback (argv[1] = port) that
 * the manifest does not declare, over IPv4 and IPv6, and with UDP.
 * Expected: socket() itself fails (EACCES); the runner's listener sees no
 * connection.  (Even a socket would only reach the jail's own, empty
 * network namespace.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "probe.h"

int main(int argc, char **argv)
{
    int port = atoi(arg(argc, argv, 1, "1"));
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};

    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        say("BLOCKED socket AF_INET: %s\n", ename(errno));
    } else {
        EXPECT_FAIL("connect 127.0.0.1", connect(s, (struct sockaddr *)&a4, sizeof a4));
    }
    s = socket(AF_INET6, SOCK_STREAM, 0);
    if (s < 0) {
        say("BLOCKED socket AF_INET6: %s\n", ename(errno));
    } else {
        EXPECT_FAIL("connect ::1", connect(s, (struct sockaddr *)&a6, sizeof a6));
    }
    s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
        say("BLOCKED socket AF_INET dgram: %s\n", ename(errno));
    } else {
        EXPECT_FAIL("sendto 127.0.0.1 udp",
                    sendto(s, "x", 1, 0, (struct sockaddr *)&a4, sizeof a4));
    }
    /* connect() on what we do have: a socketpair end, and the channels. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0)
        EXPECT_FAIL("connect socketpair end to 127.0.0.1",
                    connect(sv[0], (struct sockaddr *)&a4, sizeof a4));
    EXPECT_FAIL("connect fd 1 to 127.0.0.1", connect(1, (struct sockaddr *)&a4, sizeof a4));
    done();
    return 0;
}
