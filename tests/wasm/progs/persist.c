/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files outside channels and images vanish at exit.
 *   write    creates (or truncates) /scratch.txt, /tmp/zvm-wasm/x.txt and the
 *            host paths argv[2] (an existing host file: a sentinel) and
 *            argv[3] (a host file that must not appear), printing
 *            "OK <path> 11" or "NOTCREATED <path> <errno>"
 *   check    "GONE <path>" when each is absent, "STILL <path>" when not
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "wt.h"

int main(int argc, char **argv)
{
    if (argc < 4)
        return 99;
    const char *paths[] = {"/scratch.txt", "/tmp/zvm-wasm/x.txt", argv[2], argv[3]};
    int np = 4;
    if (strcmp(argv[1], "write") == 0) {
        mkdir("/tmp", 0777);
        mkdir("/tmp/zvm-wasm", 0777);
        for (int i = 0; i < np; i++) {
            int fd = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) {
                say("NOTCREATED %s %s\n", paths[i], ename(errno));
                continue;
            }
            ssize_t w = write(fd, "PERSIST-ME\n", 11);
            close(fd);
            say("%s %s %zd\n", w == 11 ? "OK" : "FAIL", paths[i], w);
        }
    } else {
        for (int i = 0; i < np; i++) {
            struct stat st;
            say("%s %s\n", stat(paths[i], &st) == 0 ? "STILL" : "GONE", paths[i]);
        }
    }
    done();
    return 0;
}
