/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WASI sockets: sock_accept, sock_recv, sock_send, sock_shutdown on the
 * standard descriptors and the preopen.  Each prints "SOCK <call> <fd> <wasi
 * errno>"; all must be 52 (ENOSYS): there is no network.
 */
#include <wasi/api.h>

#include "wt.h"

int main(void)
{
    __wasi_fd_t fds[] = {0, 1, 3};
    for (unsigned i = 0; i < 3; i++) {
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
