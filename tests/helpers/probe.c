/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small well-behaved program run inside the sandbox by the integration
 * tests (tests/integration).  One subcommand per job:
 *
 *   probe cat SRC DST        copy SRC to DST, report errno names on failure
 *   probe ls DIR             list DIR, one name per line, sorted
 *   probe write PATH TEXT    create PATH and write TEXT (prints "ok" or the error)
 *   probe args               print argv, one per line, between brackets
 *   probe env                print the environment
 *   probe exit N             exit with status N
 *   probe spin               loop forever
 *   probe readn PATH N       read PATH in reads of N bytes; print total and errno
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_cat(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY);
    if (in < 0) {
        printf("open %s: %s\n", src, strerror(errno));
        return 1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        printf("open %s: %s\n", dst, strerror(errno));
        return 1;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            printf("write %s: %s\n", dst, strerror(errno));
            return 1;
        }
    }
    if (n < 0) {
        printf("read %s: %s\n", src, strerror(errno));
        return 1;
    }
    return 0;
}

static int do_ls(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("opendir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (size_t i = 0; i < n; i++) {
        puts(names[i]);
        free(names[i]);
    }
    return 0;
}

static int do_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        printf("write %s: %s\n", path, strerror(errno));
        return 1;
    }
    close(fd);
    puts("ok");
    return 0;
}

static int do_readn(const char *path, size_t chunk)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *buf = malloc(chunk);
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, chunk)) > 0)
        total += n;
    printf("total %ld end %s\n", total, n == 0 ? "eof" : strerror(errno));
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "cat") && argc == 4)
        return do_cat(argv[2], argv[3]);
    if (!strcmp(cmd, "ls") && argc == 3)
        return do_ls(argv[2]);
    if (!strcmp(cmd, "write") && argc == 4)
        return do_write(argv[2], argv[3]);
    if (!strcmp(cmd, "readn") && argc == 4)
        return do_readn(argv[2], (size_t)atol(argv[3]));
    if (!strcmp(cmd, "args")) {
        for (int i = 0; i < argc; i++)
            printf("[%s]\n", argv[i]);
        return 0;
    }
    if (!strcmp(cmd, "env")) {
        for (char **e = environ; *e; e++)
            puts(*e);
        return 0;
    }
    if (!strcmp(cmd, "exit") && argc == 3)
        return atoi(argv[2]);
    if (!strcmp(cmd, "spin"))
        for (;;)
            ;
    fprintf(stderr, "usage: probe cat|ls|write|args|env|exit|spin|readn ...\n");
    return 2;
}
