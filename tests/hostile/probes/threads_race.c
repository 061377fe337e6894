/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: race the supervisor's counters.  8 threads and 4 forked
 * processes write to /dev/output (put_size 1000) at the same time, 1 to 7
 * bytes per call, until EDQUOT, while another thread dups and closes
 * descriptors of the same channel.
 * Expected: the host file holds exactly 1000 bytes (the sum the writers
 * saw succeed, which the runner checks against the file).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "probe.h"

static int out;
static atomic_long written;
static atomic_int stop;

static long writer(void)
{
    long mine = 0;
    for (unsigned i = 1;; i++) {
        size_t n = 1 + i % 7;
        ssize_t w = write(out, "0123456", n);
        if (w > 0) {
            mine += w;
            continue;
        }
        if (errno != EDQUOT)
            continue;
        /* The quota is nearly gone: finish with single bytes. */
        if (n == 1)
            break;
        while (write(out, "z", 1) == 1)
            mine++;
        break;
    }
    return mine;
}

static void *thread_main(void *unused)
{
    (void)unused;
    atomic_fetch_add(&written, writer());
    return NULL;
}

static void *dupper(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop)) {
        int d = dup(out);
        if (d >= 0)
            close(d);
    }
    return NULL;
}

int main(void)
{
    out = open("/dev/output", O_WRONLY);
    int p[2];
    if (out < 0 || pipe(p) < 0) {
        say("FAIL setup: %s\n", ename(errno));
        return 2;
    }
    for (int i = 0; i < 4; i++) {
        if (fork() == 0) {
            long mine = writer();
            write(p[1], &mine, sizeof mine);
            _exit(0);
        }
    }
    /* Small stacks: eight default 8 MiB stacks would not fit in Memory. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t t[8], d;
    if (pthread_create(&d, &attr, dupper, NULL) != 0) {
        say("FAIL pthread_create\n");
        return 2;
    }
    for (int i = 0; i < 8; i++) {
        if (pthread_create(&t[i], &attr, thread_main, NULL) != 0) {
            say("FAIL pthread_create\n");
            return 2;
        }
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(d, NULL);
    long total = atomic_load(&written), mine;
    for (int i = 0; i < 4 && read(p[0], &mine, sizeof mine) == sizeof mine; i++)
        total += mine;
    while (wait(NULL) > 0)
        ;
    say("INFO writers saw %ld bytes succeed\n", total);
    done();
    return 0;
}
