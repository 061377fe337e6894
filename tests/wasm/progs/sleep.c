/* SPDX-License-Identifier: Apache-2.0 */
/*
 * poll_oneoff on clocks and sched_yield:
 *   "slept_ms N"    nanosleep(200 ms) measured on CLOCK_MONOTONIC
 *   "abs_ms N"      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, now+100 ms)
 *   "yield R"       sched_yield() result
 *   "res_ok 1"      clock_getres(CLOCK_MONOTONIC) is > 0 and <= 1 ms
 */
#include <sched.h>
#include <time.h>

#include "wt.h"

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void)
{
    long long t0 = now_ns();
    struct timespec d = {0, 200 * 1000000L};
    int r = nanosleep(&d, NULL);
    long long t1 = now_ns();
    say("nanosleep %d\n", r);
    say("slept_ms %lld\n", (t1 - t0) / 1000000);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long long start = now_ns();
    until.tv_nsec += 100 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int a = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    say("clock_nanosleep %d\n", a);
    say("abs_ms %lld\n", (now_ns() - start) / 1000000);
    say("yield %d\n", sched_yield());
    struct timespec res;
    int g = clock_getres(CLOCK_MONOTONIC, &res);
    say("res_ok %d\n", g == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    done();
    return 0;
}
