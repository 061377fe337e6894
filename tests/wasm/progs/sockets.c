/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WASI sockets: sock_accept, sock_recv, sock_send, sock_shutdown on the
 * standard descriptors, the preopen and a number nobody holds.  Each prints
 * "SOCK <call> <fd> <wasi errno>": there is no network, so an open
 * descriptor is never a socket (57, ENOTSOCK) and a closed one is a bad
 * descriptor (8, EBADF), as a host answers; never ENOSYS.
 */
#include <wasi/api.h>

#include "wt.h"

int main(void)
{
    __wasi_fd_t fds[] = {0, 1, 3, 77};
    for (unsigned i = 0; i < 4; i++) {
        __wasi_fd_t fd = fds[i], nfd = 0;
        char buf[16] = "x";
        __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
        __wasi_ciovec_t ciov = {(const uint8_t *)buf, 1};
        __wasi_size_t n = 0;
        __wasi_roflags_t ro = 0;
        say("SOCK accept %u %u\n", (unsigned)fd, (unsigned)__wasi_sock_accept(fd, 0, &nfd));
        say("SOCK recv %u %u\n", (unsigned)fd, (unsigned)__wasi_sock_recv(fd, &iov, 1, 0, &n, &ro));
        say("SOCK send %u %u\n", (unsigned)fd, (unsigned)__wasi_sock_send(fd, &ciov, 1, 0, &n));
        say("SOCK shutdown %u %u\n", (unsigned)fd, (unsigned)__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR));
    }
    done();
    return 0;
}
