/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channel quotas, and attempts to get around them.  argv[1] is the mode;
 * the runner declares /dev/output (and /dev/input) with the limits named.
 *
 *   over P      put_size P: write(P+1) -> EDQUOT (nothing written), write(P)
 *               succeeds, write(1) -> EDQUOT
 *   small       1-byte writes until one fails: "INFO small writes N <errno>"
 *   puts        puts 5: ten 1-byte writes, "INFO puts N <errno>"
 *   reopen      put_size 10: /dev/output opened three times, 4 bytes through
 *               each ("aaaa" "bbbb" "cccc"): the third must fail
 *   renumber    put_size 10: fd_renumber the channel onto another descriptor
 *               (WASI's dup): 6 bytes, then 6 more through the new number
 *               -> EDQUOT, then 4 -> ok: output "aaaaaacccc"
 *   renumber1   put_size 10: fill the channel, fd_renumber it onto 1, write
 *               "EEEE" through 1 -> must fail (rc 0; rc 3 when it passed)
 *   pwrite_seq  put_size 10, sequential: pwrite 5 bytes at offset 0 three
 *               times; at most 10 bytes reach the host, never rewritten
 *   read_size   get_size 100: read(64) = 64, read(64) = 36, read(64) EDQUOT;
 *               every byte read is written to /dev/output
 *   read_gets   gets 3: five read(10): 3 succeed, then EDQUOT
 *   many N      N writes of 1 byte through writev-less fd_write with two
 *               iovecs each (1+1 bytes): the total must stop at put_size
 */
#include <fcntl.h>
#include <sys/uio.h>
#include <wasi/api.h>

#include "wt.h"

static int open_out(void)
{
    int fd = open("/dev/output", O_WRONLY);
    if (fd < 0)
        say("FAIL open /dev/output: %s\n", ename(errno));
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 99;
    const char *m = argv[1];
    if (strcmp(m, "over") == 0) {
        long p = atol(argv[2]);
        int fd = open_out();
        char *buf = malloc((size_t)p + 1);
        memset(buf, 'x', (size_t)p + 1);
        EXPECT_ERR("write put_size+1", write(fd, buf, (size_t)p + 1), EDQUOT);
        errno = 0;
        ssize_t w = write(fd, buf, (size_t)p);
        if (w == p)
            say("OK write put_size\n");
        else
            say("FAIL write put_size: %zd %s\n", w, ename(errno));
        EXPECT_ERR("write 1 past put_size", write(fd, "y", 1), EDQUOT);
    } else if (strcmp(m, "small") == 0) {
        int fd = open_out();
        long n = 0;
        errno = 0;
        while (n < 1000000 && write(fd, "s", 1) == 1)
            n++;
        say("INFO small writes %ld %s\n", n, ename(errno));
    } else if (strcmp(m, "puts") == 0) {
        int fd = open_out();
        long n = 0;
        int err = 0;
        for (int i = 0; i < 10; i++) {
            errno = 0;
            if (write(fd, "p", 1) == 1)
                n++;
            else if (!err)
                err = errno;
        }
        say("INFO puts %ld %s\n", n, ename(err));
    } else if (strcmp(m, "reopen") == 0) {
        int a = open_out(), b = open_out(), c = open_out();
        say("INFO distinct %d\n", a != b && b != c && a != c);
        EXPECT_OK("write aaaa", write(a, "aaaa", 4));
        EXPECT_OK("write bbbb", write(b, "bbbb", 4));
        EXPECT_ERR("write cccc through a third open", write(c, "cccc", 4), EDQUOT);
        EXPECT_OK("write cc", write(c, "cc", 2));
        EXPECT_ERR("write d after the quota", write(a, "d", 1), EDQUOT);
    } else if (strcmp(m, "renumber") == 0) {
        int a = open_out();
        int b = open("/scratch", O_WRONLY | O_CREAT, 0644);
        if (b < 0)
            say("FAIL open /scratch: %s\n", ename(errno));
        EXPECT_OK("write aaaaaa", write(a, "aaaaaa", 6));
        __wasi_errno_t e = __wasi_fd_renumber((__wasi_fd_t)a, (__wasi_fd_t)b);
        if (e != 0)
            say("FAIL fd_renumber: %d\n", e);
        else
            say("OK fd_renumber\n");
        EXPECT_ERR("write through the old number", write(a, "z", 1), EBADF);
        EXPECT_ERR("write bbbbbb through the new number", write(b, "bbbbbb", 6), EDQUOT);
        EXPECT_OK("write cccc through the new number", write(b, "cccc", 4));
        EXPECT_ERR("write d after the quota", write(b, "d", 1), EDQUOT);
    } else if (strcmp(m, "renumber1") == 0) {
        /* the full channel renumbered onto stdout's descriptor: writes
         * through 1 are the channel's now, and it is full */
        int c = open_out();
        EXPECT_OK("write 0123456789", write(c, "0123456789", 10));
        say("TRY renumber onto 1\n");
        __wasi_errno_t e = __wasi_fd_renumber((__wasi_fd_t)c, 1);
        if (e != 0)
            return 10 + e % 100;
        if (write(1, "EEEE", 4) > 0)
            return 3;
        return 0;
    } else if (strcmp(m, "pwrite_seq") == 0) {
        int fd = open_out();
        int ok = 0, dq = 0, other = 0;
        const char *s[3] = {"AAAAA", "BBBBB", "CCCCC"};
        for (int i = 0; i < 3; i++) {
            errno = 0;
            ssize_t w = pwrite(fd, s[i], 5, 0);
            if (w == 5)
                ok++;
            else if (w < 0 && errno == EDQUOT)
                dq++;
            else {
                other++;
                say("INFO pwrite %d: %zd %s\n", i, w, ename(errno));
            }
        }
        say("INFO pwrite ok %d edquot %d other %d\n", ok, dq, other);
    } else if (strcmp(m, "read_size") == 0 || strcmp(m, "read_gets") == 0) {
        int big = strcmp(m, "read_size") == 0;
        int in = open("/dev/input", O_RDONLY), out = open_out();
        if (in < 0) {
            say("FAIL open /dev/input: %s\n", ename(errno));
            return 2;
        }
        char buf[64];
        for (int i = 0; i < (big ? 3 : 5); i++) {
            errno = 0;
            ssize_t r = read(in, buf, big ? 64 : 10);
            if (r < 0) {
                say("READ %d %s\n", i, ename(errno));
                continue;
            }
            say("READ %d %zd\n", i, r);
            write_all(out, buf, (size_t)r);
        }
    } else if (strcmp(m, "many") == 0) {
        int fd = open_out();
        long n = atol(argv[2]), okb = 0;
        int err = 0;
        for (long i = 0; i < n; i++) {
            struct iovec iov[2] = {{"m", 1}, {"n", 1}};
            errno = 0;
            ssize_t w = writev(fd, iov, 2);
            if (w > 0)
                okb += w;
            else if (!err)
                err = errno;
        }
        say("INFO many bytes %ld %s\n", okb, ename(err));
    } else {
        return 98;
    }
    done();
    return 0;
}
