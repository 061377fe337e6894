/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: get at the network or the kernel through other socket families:
 * AF_PACKET raw, AF_INET SOCK_RAW (ICMP), AF_NETLINK (route, audit,
 * uevent), AF_UNIX stream for an abstract name, AF_VSOCK, AF_ALG.
 * Expected: every socket() fails (EACCES); the process survives; a
 * socketpair (the one local socket the sandbox allows) still works.
 */
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "probe.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

int main(void)
{
    EXPECT_FAIL("socket AF_PACKET SOCK_RAW", socket(AF_PACKET, SOCK_RAW, 0x0300));
    EXPECT_FAIL("socket AF_INET SOCK_RAW icmp", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    EXPECT_FAIL("socket AF_NETLINK route", socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    EXPECT_FAIL("socket AF_NETLINK audit", socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
    EXPECT_FAIL("socket AF_NETLINK uevent", socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT));
    EXPECT_FAIL("socket AF_VSOCK", socket(AF_VSOCK, SOCK_STREAM, 0));
    EXPECT_FAIL("socket AF_ALG", socket(AF_ALG, SOCK_SEQPACKET, 0));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) {
        say("BLOCKED socket AF_UNIX: %s\n", ename(errno));
    } else {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        memcpy(a.sun_path, "\0zvm-hostile", 12);
        EXPECT_FAIL("connect abstract unix", connect(s, (struct sockaddr *)&a,
                                                     offsetof(struct sockaddr_un, sun_path) + 12));
    }
    int sv[2];
    char c = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && write(sv[0], "k", 1) == 1 &&
        read(sv[1], &c, 1) == 1 && c == 'k')
        say("OK socketpair works\n");
    else
        say("FAIL socketpair: %s\n", ename(errno));
    done();
    return 0;
}
