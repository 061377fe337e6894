/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: an image that is a host directory (mounted at /data) holds
 * symbolic links pointing out of it - etc-link -> /etc, up -> ../../../..,
 * abs-sentinel -> the runner's sentinel file, hostdir -> the runner's
 * directory - and the channel alias /data/sub/out has a symlink ("sub")
 * for a parent.  Read and write through all of them (argv[1] = the host
 * directory the links point to).
 * Expected: the links resolve inside the jail, never on the host: reads of
 * host files fail, writes fail or stay in the jail; the alias still reaches
 * its channel (the host output is exactly "via-alias"); the runner checks
 * the host sentinel, /etc and the image itself are unchanged.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "probe.h"

static void try_read(const char *path, bool allowed)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        say("%s read %s: %s\n", allowed ? "FAIL" : "BLOCKED", path, ename(errno));
    else if (allowed)
        say("OK read %s: %zd bytes\n", path, n);
    else
        say("ESCAPED read %s: %zd bytes '%.20s'\n", path, n, buf);
}

static void try_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        say("BLOCKED write %s: %s\n", path, ename(errno));
        return;
    }
    ssize_t w = write(fd, "PWNED", 5);
    close(fd);
    say("INFO write %s: %zd bytes (must stay in the jail)\n", path, w);
}

int main(int argc, char **argv)
{
    const char *hostdir = arg(argc, argv, 1, "/nonexistent");
    char buf[1024];
    try_read("/data/file.txt", true);
    try_read("/data/etc-link/passwd", false);
    try_read("/data/etc-link/hostname", false);
    try_read("/data/up/etc/passwd", false);
    try_read("/data/abs-sentinel", false);
    try_read("/data/hostdir/sentinel", false);
    try_write("/data/etc-link/zvm-evil");
    try_write("/data/newfile");
    try_write("/data/file.txt");
    try_write("/data/abs-sentinel");
    try_write("/data/hostdir/evil");
    /* Make the links' targets exist inside the jail, then write through them. */
    snprintf(buf, sizeof buf, "%s/", hostdir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0777);
            *p = '/';
        }
    }
    try_write("/data/hostdir/evil");
    int fd = open("/data/sub/out", O_WRONLY);
    if (fd >= 0 && write(fd, "via-alias", 9) == 9)
        say("OK alias /data/sub/out reaches its channel\n");
    else
        say("FAIL alias /data/sub/out: %s\n", ename(errno));
    done();
    return 0;
}
