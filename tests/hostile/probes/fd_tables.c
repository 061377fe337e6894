/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Descriptor juggling across processes, as a daemon or a shell does it:
 * each process has its own table of (virtual) descriptors.
 *   - a child's close(1) and dup2(out, 1) do not touch the parent's fd 1;
 *   - close(1); dup(out) gives 1 (the lowest free number);
 *   - a pipe dup2'ed over fd 1 (a real descriptor over a virtual one) and
 *     the output dup2'ed over a pipe's number (virtual over real);
 *   - a thread's dup2 is its whole process's; posix_spawn's (vfork) file
 *     actions reach only the child;
 *   - F_DUPFD_CLOEXEC, F_GETFD/F_SETFD, close_range;
 *   - across execve: close-on-exec descriptors are gone, the others stay;
 *     a failed execve keeps them all.
 * Expected: every line says OK, the output channel holds exactly
 * "child-out|dup-one|over-pipe|thread|spawned|kept|".
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "probe.h"

#define CHECK(what, cond) say("%s %s\n", (cond) ? "OK" : "FAIL", (what))

static void wait_child(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

static int g_out;

static void *thread_dup(void *arg)
{
    (void)arg;
    return (void *)(long)dup2(g_out, 6);
}

static int after_exec(char **argv)
{
    int gone = atoi(argv[2]), kept = atoi(argv[3]);
    errno = 0;
    CHECK("close-on-exec descriptor closed by execve", write(gone, "x", 1) < 0 && errno == EBADF);
    CHECK("plain descriptor kept across execve", write(kept, "kept|", 5) == 5);
    CHECK("its F_GETFD is 0", fcntl(kept, F_GETFD) == 0);
    done();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 3 && strcmp(argv[1], "after-exec") == 0)
        return after_exec(argv);
    if (argc > 1 && strcmp(argv[1], "spawned") == 0)
        return write(1, "spawned|", 8) == 8 ? 0 : 1;
    int out = open("/dev/output", O_WRONLY);
    if (out < 0) {
        say("FAIL open: %s\n", ename(errno));
        return 2;
    }

    /* A child closes its stdout, then points it at the output. */
    pid_t pid = fork();
    if (pid == 0) {
        close(1);
        errno = 0;
        int bad = write(1, "x", 1) < 0 && errno == EBADF;
        dup2(out, 1);
        write(1, "child-out|", 10);
        _exit(bad ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK("child's write after close(1) failed with EBADF", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK("parent's stdout still takes writes after the child's close(1)", write(1, "", 0) == 0);
    struct stat sb;
    CHECK("parent's fd 1 is still open", fstat(1, &sb) == 0);

    /* The lowest free number. */
    int saved = dup(1);
    close(1);
    int one = dup(out);
    write(1, "dup-one|", 8);
    dup2(saved, 1);
    close(saved);
    CHECK("close(1); dup(out) gives 1", one == 1);

    /* A real descriptor over a virtual one, in a child. */
    int p[2];
    if (pipe(p) < 0) {
        say("FAIL pipe: %s\n", ename(errno));
        return 2;
    }
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        close(p[1]);
        write(1, "through-pipe", 12);
        _exit(0);
    }
    close(p[1]);
    char buf[64] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    wait_child(pid);
    close(p[0]);
    CHECK("a pipe dup2'ed over a child's fd 1 carries its writes", n == 12 && strcmp(buf, "through-pipe") == 0);

    /* A virtual descriptor over a real one. */
    if (pipe(p) < 0)
        return 2;
    CHECK("dup2(out, pipe's write end) returns that number", dup2(out, p[1]) == p[1]);
    CHECK("writes to that number reach the output", write(p[1], "over-pipe|", 10) == 10);
    close(p[1]);
    errno = 0;
    CHECK("the pipe's write end was closed by dup2", read(p[0], buf, 1) == 0);
    close(p[0]);

    /* Threads share the table; posix_spawn's child has its own. */
    g_out = out;
    pthread_t th;
    void *thread_rc = NULL;
    if (pthread_create(&th, NULL, thread_dup, NULL) == 0)
        pthread_join(th, &thread_rc);
    CHECK("a thread's dup2 is its process's", (long)thread_rc == 6 && write(6, "thread|", 7) == 7);
    close(6);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    char *spawn_args[] = {argv[0], "spawned", NULL};
    int spawn_rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, spawn_args, NULL);
    posix_spawn_file_actions_destroy(&fa);
    st = -1;
    if (spawn_rc == 0)
        waitpid(pid, &st, 0);
    CHECK("posix_spawn's dup2 reached the child only",
          spawn_rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && fstat(1, &sb) == 0);

    /* Flags and ranges. */
    int ce = fcntl(out, F_DUPFD_CLOEXEC, 0);
    CHECK("F_DUPFD_CLOEXEC sets FD_CLOEXEC", ce >= 0 && fcntl(ce, F_GETFD) == FD_CLOEXEC);
    int plain = dup(out);
    CHECK("dup clears FD_CLOEXEC", plain >= 0 && fcntl(plain, F_GETFD) == 0);
    CHECK("F_SETFD sets it", fcntl(plain, F_SETFD, FD_CLOEXEC) == 0 && fcntl(plain, F_GETFD) == FD_CLOEXEC);
    CHECK("F_SETFD clears it", fcntl(plain, F_SETFD, 0) == 0 && fcntl(plain, F_GETFD) == 0);
    dup2(out, 7);
    dup2(out, 8);
    CHECK("close_range(7, 8) succeeds", syscall(SYS_close_range, 7, 8, 0) == 0);
    errno = 0;
    CHECK("close_range closed 7 and 8", write(7, "x", 1) < 0 && errno == EBADF && write(8, "x", 1) < 0);
    dup2(out, 9);
    CHECK("close_range CLOEXEC flags", syscall(SYS_close_range, 9, 9, CLOSE_RANGE_CLOEXEC) == 0 &&
                                           fcntl(9, F_GETFD) == FD_CLOEXEC);
    close(9);

    /* A failed execve changes nothing; a good one drops close-on-exec. */
    char *none[] = {"none", NULL};
    execve("/nonexistent/program", none, NULL);
    CHECK("after a failed execve the close-on-exec descriptor works", fcntl(ce, F_GETFD) == FD_CLOEXEC);
    char a2[16], a3[16];
    snprintf(a2, sizeof a2, "%d", ce);
    snprintf(a3, sizeof a3, "%d", plain);
    char *args[] = {argv[0], "after-exec", a2, a3, NULL};
    execve("/proc/self/exe", args, NULL);
    say("FAIL execve: %s\n", ename(errno));
    return 2;
}
