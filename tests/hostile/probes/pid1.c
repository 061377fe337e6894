/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: the program as pid 1 of its pid namespace.  The kernel gives pid
 * 1 no default signal actions and makes it the parent of every orphan, so
 * a program that is pid 1 survives its own fatal signals and fills with
 * zombies.  Modes (argv[1]):
 *   kill    kill(getpid(), SIGKILL)      expected: reported signal 9
 *   abort   abort()                      expected: reported signal 6
 *   exit3   exit(3)                      expected: user_rc 3
 *   reap    200 orphaned grandchildren, each exiting at once; then count
 *           the zombies in /proc (waiting up to 5 s for the last to be
 *           reaped).  Expected: "OK no zombie" and the program is pid 2.
 *   xcpu    kill(getpid(), SIGXCPU) at once: hoping for a report that
 *           says "timeout" (the RLIMIT_CPU signal) after no CPU time.
 *           Expected: reported signal 24.
 *   sigq    16 processes queue real-time signals on the init (pid 1),
 *           which takes them one at a time: hoping to hold far more than
 *           RLIMIT_SIGPENDING of the caller's queued-signal budget.
 *           Expected: the init's SigQ limit (/proc/1/status) is the
 *           sandbox's (128) and what is queued stays below it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "probe.h"

/* Processes in state Z in our /proc. */
static int zombies(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t got = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (got <= 0)
            continue;
        buf[got] = '\0';
        char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'Z')
            n++;
    }
    closedir(d);
    return n;
}

static int reap(void)
{
    int forked = 0;
    for (int i = 0; i < 200; i++) {
        pid_t c = -1;
        /* An orphan is reaped a moment after it ends: wait for the slot. */
        for (int tries = 0; tries < 500 && (c = fork()) < 0 && errno == EAGAIN; tries++)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        if (c < 0) {
            say("BLOCKED fork %d: %s (zombies were never reaped)\n", i, ename(errno));
            break;
        }
        if (c == 0) {
            if (fork() < 0)
                _exit(1);
            _exit(0); /* the grandchild is an orphan now */
        }
        int st;
        waitpid(c, &st, 0);
        forked++;
    }
    if (forked == 200)
        say("OK 200 orphans made\n");
    int left = zombies();
    for (int tries = 0; tries < 500 && left != 0; tries++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        left = zombies();
    }
    if (left == 0)
        say("OK no zombie\n");
    else
        say("INFO %d zombies left\n", left);
    say("INFO getpid() = %d\n", (int)getpid());
    return 0;
}

/* "SigQ: queued/limit" of /proc/1/status. */
static int init_sigq(unsigned long *queued, unsigned long *limit)
{
    char buf[4096];
    int fd = open("/proc/1/status", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    const char *q = strstr(buf, "\nSigQ:");
    return q && sscanf(q + 6, " %lu/%lu", queued, limit) == 2 ? 0 : -1;
}

static int sigq(void)
{
    /* The program blocks them too, so that what the init passes on stays
     * queued here (it is the init's own queue that is under test). */
    sigset_t rt;
    sigemptyset(&rt);
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        sigaddset(&rt, s);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    pid_t kids[16];
    int n = 0;
    for (; n < 16; n++) {
        kids[n] = fork();
        if (kids[n] < 0)
            break;
        if (kids[n] == 0) {
            union sigval v = {0};
            for (int i = 0; i < 5000; i++)
                sigqueue(1, SIGRTMIN + i % 8, v);
            _exit(0);
        }
    }
    unsigned long queued = 0, limit = 0, most = 0;
    for (int i = 0; i < n; i++) {
        if (init_sigq(&queued, &limit) == 0 && queued > most)
            most = queued;
        waitpid(kids[i], NULL, 0);
    }
    if (init_sigq(&queued, &limit) < 0) {
        say("INFO no SigQ line in /proc/1/status\n");
        return 0;
    }
    say("INFO init SigQ limit %lu, most queued seen %lu\n", limit, most > queued ? most : queued);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "kill");
    if (strcmp(mode, "kill") == 0) {
        say("TRY kill(getpid(), SIGKILL)\n");
        kill(getpid(), SIGKILL);
        say("ESCAPED kill(getpid(), SIGKILL) returned\n");
    } else if (strcmp(mode, "abort") == 0) {
        say("TRY abort\n");
        abort();
    } else if (strcmp(mode, "exit3") == 0) {
        done();
        exit(3);
    } else if (strcmp(mode, "reap") == 0) {
        reap();
    } else if (strcmp(mode, "xcpu") == 0) {
        say("TRY kill(getpid(), SIGXCPU)\n");
        kill(getpid(), SIGXCPU);
    } else if (strcmp(mode, "sigq") == 0) {
        sigq();
    }
    done();
    return 0;
}
