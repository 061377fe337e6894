/* SPDX-License-Identifier: Apache-2.0 */
/*
 * swiftbench: a tiny Swift client for bench/cloud/run.sh.  N threads issue
 * small-object PUTs or GETs against a storage URL for a fixed time, over
 * keep-alive connections (or a new connection per request), and print the
 * requests per second.  It speaks just enough HTTP/1.1 for Swift-style
 * responses (status line, Content-Length body); it is a load generator,
 * not a client library, and is compiled by run.sh.
 *
 *   swiftbench HOST PORT TOKEN PATH put|get|seed CONC SECONDS SIZE [newconn]
 *
 * put: PUT PATH/w<t>-<i>; seed: PUT PATH/seed-0..99 (one thread);
 * get: GET PATH/seed-<i % 100>.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host, *token, *path, *mode;
static int port, size, newconn;
static double seconds;
static _Atomic long ok_count, fail_count;
static char *payload;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one response; returns the status, or -1; *close_after when the
 * server will close. */
static int read_response(int fd, int *close_after)
{
    static _Thread_local char buf[1 << 17];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len == sizeof buf - 1)
            return -1;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    long clen = 0;
    *close_after = 0;
    for (char *line = strstr(buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "Content-Length:", 15))
            clen = atol(line + 15);
        else if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close") &&
                 strcasestr(line, "close") < strstr(line, "\r\n"))
            *close_after = 1;
    }
    size_t have = len - (size_t)(end + 4 - buf);
    long left = clen - (long)have;
    while (left > 0) {
        ssize_t n = recv(fd, buf, left < (long)sizeof buf ? (size_t)left : sizeof buf, 0);
        if (n <= 0)
            return -1;
        left -= n;
    }
    return status;
}

static void *worker(void *arg)
{
    long t = (long)arg;
    int fd = -1;
    double deadline = now() + seconds;
    char req[4096];
    for (long i = 0; now() < deadline; i++) {
        if (!strcmp(mode, "seed") && i >= 100)
            break;
        if (fd < 0 && (fd = dial()) < 0) {
            fail_count++;
            continue;
        }
        int n;
        if (!strcmp(mode, "get"))
            n = snprintf(req, sizeof req,
                         "GET %s/seed-%ld HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n\r\n", path,
                         i % 100, host, token);
        else if (!strcmp(mode, "seed"))
            n = snprintf(req, sizeof req,
                         "PUT %s/seed-%ld HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n"
                         "Content-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n",
                         path, i, host, token, size);
        else
            n = snprintf(req, sizeof req,
                         "PUT %s/w%ld-%ld HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n"
                         "Content-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n",
                         path, t, i, host, token, size);
        int close_after = 0;
        int st = -1;
        if (send_all(fd, req, (size_t)n) == 0 &&
            (!strcmp(mode, "get") || send_all(fd, payload, (size_t)size) == 0))
            st = read_response(fd, &close_after);
        if (st >= 200 && st < 300)
            ok_count++;
        else
            fail_count++;
        if (st < 0 || close_after || newconn) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr, "usage: swiftbench HOST PORT TOKEN PATH put|get|seed CONC SECONDS SIZE"
                        " [newconn]\n");
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    token = argv[3];
    path = argv[4];
    mode = argv[5];
    int conc = atoi(argv[6]);
    seconds = atof(argv[7]);
    size = atoi(argv[8]);
    newconn = argc > 9 && !strcmp(argv[9], "newconn");
    if (!strcmp(mode, "seed"))
        conc = 1;
    payload = malloc((size_t)size + 1);
    for (int i = 0; i < size; i++)
        payload[i] = (char)('a' + i % 26);
    pthread_t th[256];
    if (conc < 1 || conc > 256)
        return 2;
    double t0 = now();
    for (long i = 0; i < conc; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int i = 0; i < conc; i++)
        pthread_join(th[i], NULL);
    double el = now() - t0;
    printf("%s conc=%d %s reqs=%ld fails=%ld secs=%.2f rps=%.0f\n", mode, conc,
           newconn ? "newconn" : "keepalive", (long)ok_count, (long)fail_count, el,
           (double)ok_count / el);
    free(payload);
    return fail_count && !ok_count ? 1 : 0;
}
