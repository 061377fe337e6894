/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bad pointers and lengths handed to the WASI host functions: every call
 * must fail (an error code, no trap, no crash of zerovm) and move no byte.
 * Prints "ERR <name> <wasi errno>" for a refused call and "ACCEPTED <name>"
 * for one that returned success, then writes "still-fine\n" to /dev/output.
 */
#include <fcntl.h>
#include <stdint.h>
#include <wasi/api.h>

#include "wt.h"

extern int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t, int32_t, int32_t)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")));

#define END() ((uint32_t)__builtin_wasm_memory_size(0) * 65536u)
#define P(a) ((void *)(uintptr_t)(a))

static void res(const char *name, __wasi_errno_t e)
{
    if (e == 0)
        say("ACCEPTED %s\n", name);
    else
        say("ERR %s %u\n", name, (unsigned)e);
}

int main(void)
{
    int in = open("/dev/input", O_RDONLY);
    if (in < 0)
        return 2;
    __wasi_size_t n = 0;
    char good[16] = "0123456789";
    __wasi_ciovec_t civ;
    __wasi_iovec_t iv;

    res("fd_write iovs past the end", __wasi_fd_write(1, P(0xFFFFFFF8u), 1, &n));
    res("fd_write iovs straddling the end", __wasi_fd_write(1, P(END() - 4), 1, &n));
    civ.buf = P(END() - 16);
    civ.buf_len = 4096;
    res("fd_write buf straddling the end", __wasi_fd_write(1, &civ, 1, &n));
    civ.buf = (const uint8_t *)good;
    civ.buf_len = 0xFFFFFFFFu;
    res("fd_write length 4 GiB - 1", __wasi_fd_write(1, &civ, 1, &n));
    civ.buf_len = 4;
    res("fd_write iovs_len huge", __wasi_fd_write(1, &civ, 0x10000000u, &n));
    res("fd_write nwritten past the end", __wasi_fd_write(1, &civ, 1, P(0xFFFFFFFEu)));
    iv.buf = P(END() - 2);
    iv.buf_len = 1 << 20;
    res("fd_read buf straddling the end", __wasi_fd_read((__wasi_fd_t)in, &iv, 1, &n));
    iv.buf = P(0xFFFFFFF0u);
    iv.buf_len = 16;
    res("fd_pread buf past the end", __wasi_fd_pread((__wasi_fd_t)in, &iv, 1, 0, &n));
    __wasi_fd_t nfd;
    /* libc's __wasi_path_open computes strlen(path) in the guest: call the
     * raw import */
    res("path_open path past the end",
        (__wasi_errno_t)raw_path_open(3, 0, (int32_t)0xFFFFFFF0u, 100, 0, 0, 0, 0, (int32_t)(uintptr_t)&nfd));
    res("path_open path length 2 GiB",
        (__wasi_errno_t)raw_path_open(3, 0, (int32_t)(uintptr_t)good, 0x7FFFFFFF, 0, 0, 0, 0,
                                      (int32_t)(uintptr_t)&nfd));
    res("path_open result past the end",
        (__wasi_errno_t)raw_path_open(3, 0, (int32_t)(uintptr_t)"dev/input", 9, 0, 0, 0, 0,
                                      (int32_t)0xFFFFFFFE));
    res("args_get past the end", __wasi_args_get(P(0xFFFFFFF0u), P(0xFFFFFFF0u)));
    res("environ_sizes_get past the end", __wasi_environ_sizes_get(P(END() - 2), P(END() - 2)));
    res("random_get straddling the end", __wasi_random_get(P(END() - 8), 4096));
    res("clock_time_get result past the end", __wasi_clock_time_get(0, 0, P(END() - 4)));
    res("fd_prestat_dir_name past the end", __wasi_fd_prestat_dir_name(3, P(0xFFFFFFFFu), 10));
    res("fd_readdir buf straddling the end", __wasi_fd_readdir(3, P(END() - 8), 1 << 20, 0, &n));
    __wasi_event_t ev;
    res("poll_oneoff nsubscriptions huge", __wasi_poll_oneoff(P(good), &ev, 0x7FFFFFFF, &n));
    res("fd_filestat_get past the end", __wasi_fd_filestat_get(1, P(END() - 8)));
    char out[] = "still-fine\n";
    int fd = open("/dev/output", O_WRONLY);
    if (fd < 0 || write(fd, out, sizeof out - 1) != (ssize_t)(sizeof out - 1))
        say("FAIL output: %s\n", ename(errno));
    done();
    return 0;
}
