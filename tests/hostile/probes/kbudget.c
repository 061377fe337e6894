/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: use up per-user kernel budgets of the caller from inside.  The
 * jail's user namespace is charged to the user who made it, so whatever
 * the sandbox takes, the host user loses.  Modes (argv[1]):
 *
 *   inotify   inotify_init/inotify_init1: an instance is a budget of the
 *             caller (128 by default), and a watch on a host inode the jail
 *             shows (/dev/self) is a side channel on other users' programs.
 *             Expected: both fail with ENOSYS.
 *   timers    POSIX timers until timer_create fails: each holds a queued
 *             signal of the caller's RLIMIT_SIGPENDING budget.
 *             Expected: at most argv[2] of them, then EAGAIN.
 *   sigqueue  queue real-time signals to itself (blocked) until it fails.
 *             Expected: at most argv[2], then EAGAIN.
 *   pipesz    grow a pipe with F_SETPIPE_SZ past its default 64 KiB (pipe
 *             pages are a per-user budget, fs.pipe-user-pages-soft).
 *             Expected: EPERM; shrinking it still works.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

#include "probe.h"

static void inotify(void)
{
#ifdef SYS_inotify_init
    EXPECT_ERRNO("inotify_init", syscall(SYS_inotify_init), ENOSYS);
#endif
    EXPECT_ERRNO("inotify_init1", syscall(SYS_inotify_init1, O_CLOEXEC), ENOSYS);
}

static void count_until_failure(const char *what, long most, int (*one)(void))
{
    long n = 0;
    int e = 0;
    while (n < 100000) {
        if (one() < 0) {
            e = errno;
            break;
        }
        n++;
    }
    say("INFO %ld %s, then %s\n", n, what, e ? ename(e) : "stopped trying");
    if (n > most)
        say("ESCAPED %ld %s, more than %ld\n", n, what, most);
    else if (e != EAGAIN)
        say("WRONGERR %s: %s (wanted EAGAIN)\n", what, ename(e));
    else
        say("BLOCKED %s at %ld: EAGAIN\n", what, n);
}

static int one_timer(void)
{
    timer_t t;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
    return (int)syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &t);
}

static int one_signal(void)
{
    siginfo_t si = {.si_signo = SIGRTMIN + 1, .si_code = SI_QUEUE};
    return (int)syscall(SYS_rt_sigqueueinfo, getpid(), SIGRTMIN + 1, &si);
}

static void pipesz(void)
{
    int p[2];
    if (pipe(p) < 0) {
        say("FAIL pipe: %s\n", ename(errno));
        return;
    }
    EXPECT_ERRNO("F_SETPIPE_SZ 1 MiB", fcntl(p[0], F_SETPIPE_SZ, 1 << 20), EPERM);
    EXPECT_ERRNO("F_SETPIPE_SZ 64 KiB + 1", fcntl(p[0], F_SETPIPE_SZ, (1 << 16) + 1), EPERM);
    long small = fcntl(p[0], F_SETPIPE_SZ, 4096);
    if (small == 4096)
        say("OK F_SETPIPE_SZ shrinks to 4 KiB\n");
    else
        say("FAIL F_SETPIPE_SZ 4096 gave %ld (%s)\n", small, ename(errno));
    long back = fcntl(p[0], F_SETPIPE_SZ, 1 << 16);
    if (back == 1 << 16)
        say("OK F_SETPIPE_SZ back to 64 KiB\n");
    else
        say("FAIL F_SETPIPE_SZ 65536 gave %ld (%s)\n", back, ename(errno));
}

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "inotify");
    long most = strtol(arg(argc, argv, 2, "128"), NULL, 0);
    if (strcmp(mode, "inotify") == 0) {
        inotify();
    } else if (strcmp(mode, "timers") == 0) {
        count_until_failure("POSIX timers", most, one_timer);
    } else if (strcmp(mode, "sigqueue") == 0) {
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);
        count_until_failure("queued signals", most, one_signal);
    } else if (strcmp(mode, "pipesz") == 0) {
        pipesz();
    } else {
        say("FAIL unknown mode '%s'\n", mode);
        return 2;
    }
    done();
    return 0;
}
