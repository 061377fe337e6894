/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: hold host memory that RLIMIT_AS does not see - bytes queued in
 * kernel buffers, which no rlimit bounds for the sandbox as a whole.
 *
 *   sockbuf_bomb MEMORY                 socketpairs (growing SO_SNDBUF and
 *                                       SO_RCVBUF first), filled one way,
 *                                       never read, up to 8 x MEMORY
 *   sockbuf_bomb MEMORY FORKS socket    FORKS processes each make
 *                                       socketpairs until refused and fill
 *                                       both directions
 *   sockbuf_bomb MEMORY FORKS pipe      the same with pipes (F_SETPIPE_SZ
 *                                       to 1 MiB first)
 *   sockbuf_bomb MEMORY FORKS half      socketpairs filled one way whose
 *                                       writing end is then closed: the
 *                                       bytes stay, no descriptor shows them
 *
 * With FORKS, the parent prints "FULL" when every child is done, then
 * holds everything until /dev/go (a FIFO channel from the runner) reads,
 * so that the runner can measure the kernel's memory from outside.
 * Expected: less than Memory / 2 queued (the sandbox's budget for each
 * kind of kernel buffer), and the refusal is ENFILE.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "probe.h"

static char chunk[1 << 16];

/* Write without blocking until the buffer is full. */
static long long fill(int fd)
{
    long long held = 0;
    for (;;) {
        ssize_t w = write(fd, chunk, sizeof chunk);
        if (w <= 0)
            return held;
        held += w;
    }
}

static long long one_way(long long limit, int *pairs, int *err)
{
    long long held = 0;
    while (held < limit) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
            *err = errno;
            break;
        }
        int big = 1 << 30;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        ++*pairs;
        long long got = fill(sv[0]);
        if (got == 0) {
            *err = errno;
            break;
        }
        held += got;
    }
    return held;
}

/* One child: buffers until refused, filled; reports (count, bytes, errno). */
enum kind { SOCKETS, PIPES, HALF };

static void child(enum kind kind, int report)
{
    long long held = 0, made = 0;
    int err = 0;
    for (;;) {
        int fds[2];
        int rc = kind == PIPES ? pipe2(fds, O_NONBLOCK)
                               : socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds);
        if (rc < 0) {
            err = errno;
            break;
        }
        made++;
        if (kind == PIPES) {
            fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
            held += fill(fds[1]);
        } else if (kind == HALF) {
            held += fill(fds[0]);
            close(fds[0]);
        } else {
            held += fill(fds[0]) + fill(fds[1]);
        }
    }
    long long msg[3] = {made, held, err};
    if (write(report, msg, sizeof msg) != sizeof msg)
        _exit(1);
    close(report);
    for (;;)
        pause();
}

static void forked(long long memory, int forks, enum kind kind)
{
    int report[2];
    if (pipe(report) < 0) {
        say("FAIL pipe: %s\n", ename(errno));
        return;
    }
    pid_t kids[64];
    if (forks > 64)
        forks = 64;
    for (int i = 0; i < forks; i++) {
        pid_t pid = kids[i] = fork();
        if (pid < 0) {
            say("FAIL fork: %s\n", ename(errno));
            return;
        }
        if (pid == 0) {
            close(report[0]);
            child(kind, report[1]);
        }
    }
    close(report[1]);
    long long made = 0, held = 0, msg[3];
    int err = 0, heard = 0;
    while (read(report[0], msg, sizeof msg) == sizeof msg) {
        made += msg[0];
        held += msg[1];
        err = err ? err : (int)msg[2];
        if (++heard == forks)
            break;
    }
    const char *what = kind == PIPES ? "pipes" : kind == HALF ? "half-closed socketpairs" : "socketpairs";
    say("INFO %lld %s in %d processes hold %lld KiB (Memory %lld MiB), then %s\n", made, what,
        heard, held >> 10, memory >> 20, err ? ename(err) : "stopped trying");
    if (held > memory / 2)
        say("ESCAPED %s hold %lld KiB, more than Memory / 2\n", what, held >> 10);
    else if (err != ENFILE)
        say("WRONGERR %s refused with %s (wanted ENFILE)\n", what, ename(err));
    else
        say("BLOCKED %s at %lld KiB: ENFILE\n", what, held >> 10);
    say("FULL\n");
    int go = open("/dev/go", O_RDONLY);
    char c;
    if (go >= 0 && read(go, &c, 1) < 0)
        say("INFO /dev/go: %s\n", ename(errno));
    for (int i = 0; i < forks; i++)
        kill(kids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
}

int main(int argc, char **argv)
{
    long long memory = strtoll(arg(argc, argv, 1, "67108864"), NULL, 0);
    int forks = atoi(arg(argc, argv, 2, "0"));
    memset(chunk, 0x42, sizeof chunk);
    if (forks > 0) {
        const char *kind = arg(argc, argv, 3, "socket");
        forked(memory, forks, strcmp(kind, "pipe") == 0 ? PIPES : strcmp(kind, "half") == 0 ? HALF : SOCKETS);
        done();
        return 0;
    }
    int pairs = 0, err = 0;
    long long held = one_way(8 * memory, &pairs, &err);
    say("INFO %d socketpairs hold %lld MiB (Memory %lld MiB), then %s\n", pairs, held >> 20,
        memory >> 20, err ? ename(err) : "stopped trying");
    if (held > 2 * memory)
        say("ESCAPED socket buffers hold %lld MiB, more than 2 x Memory\n", held >> 20);
    else
        say("BLOCKED socket buffer growth at %lld MiB\n", held >> 20);
    done();
    return 0;
}
