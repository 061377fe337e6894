/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wordcount mapper in C for the wasm engine (wasm32-wasi): the same job
 * as mapper.py.  Counts the words of /dev/input (runs of bytes that are not
 * ASCII white space, as Python's str.split() sees ASCII text) and appends
 * "<count> <container>/<object>" to /dev/out/reduce, the object named by
 * LOCAL_PATH_INFO=/<account>/<container>/<object>.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char space[256];

int main(void)
{
    const char *ws = " \t\n\r\v\f\x1c\x1d\x1e\x1f";
    for (const char *p = ws; *p; p++)
        space[(unsigned char)*p] = 1;
    int fd = open("/dev/input", O_RDONLY);
    if (fd < 0) {
        perror("/dev/input");
        return 1;
    }
    static unsigned char buf[1 << 20];
    unsigned long long words = 0;
    int in_word = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            int s = space[buf[i]];
            words += (unsigned long long)(!s & !in_word);
            in_word = !s;
        }
    }
    if (n < 0) {
        perror("read /dev/input");
        return 1;
    }
    close(fd);

    const char *path_info = getenv("LOCAL_PATH_INFO");
    if (!path_info) {
        fputs("LOCAL_PATH_INFO is not set\n", stderr);
        return 1;
    }
    /* '/'.join(path_info.split('/')[2:]): drop up to the second '/'. */
    const char *shorter = path_info;
    for (int k = 0; k < 2; k++) {
        const char *s = strchr(shorter, '/');
        shorter = s ? s + 1 : shorter + strlen(shorter);
    }
    FILE *out = fopen("/dev/out/reduce", "a");
    if (!out) {
        perror("/dev/out/reduce");
        return 1;
    }
    fprintf(out, "%llu %s\n", words, shorter);
    return fclose(out) == 0 ? 0 : 1;
}
