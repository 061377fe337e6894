/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time and randomness, for determinism: prints (and writes the same lines
 * to /dev/output)
 *   time T              time(NULL)
 *   realtime S          clock_gettime(CLOCK_REALTIME) seconds
 *   random HEX          32 bytes of getentropy (WASI random_get)
 *   random2 HEX         32 more
 *   rand R              rand() after srand(first 4 random bytes)
 *   monotonic ok|BACK   CLOCK_MONOTONIC does not go back
 * With nvram [time] seconds=N and [random] seed=S two runs print the same.
 */
#include <fcntl.h>
#include <time.h>

#include "wt.h"

static void hex(char *out, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int main(void)
{
    char text[1024];
    size_t len = 0;
    unsigned char r1[32], r2[32];
    char h1[65], h2[65];
    if (getentropy(r1, sizeof r1) != 0 || getentropy(r2, sizeof r2) != 0) {
        say("FAIL getentropy: %s\n", ename(errno));
        return 2;
    }
    hex(h1, r1, sizeof r1);
    hex(h2, r2, sizeof r2);
    struct timespec rt, m1, m2;
    clock_gettime(CLOCK_MONOTONIC, &m1);
    time_t t = time(NULL);
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &m2);
    unsigned seed;
    memcpy(&seed, r1, sizeof seed);
    srand(seed);
    int back = m2.tv_sec < m1.tv_sec || (m2.tv_sec == m1.tv_sec && m2.tv_nsec < m1.tv_nsec);
    len += (size_t)snprintf(text + len, sizeof text - len,
                            "time %lld\nrealtime %lld\nrandom %s\nrandom2 %s\nrand %d\nmonotonic %s\n",
                            (long long)t, (long long)rt.tv_sec, h1, h2, rand(), back ? "BACK" : "ok");
    write_all(1, text, len);
    int out = open("/dev/output", O_WRONLY);
    if (out < 0) {
        say("FAIL open /dev/output: %s\n", ename(errno));
        return 3;
    }
    write_all(out, text, len);
    return 0;
}
