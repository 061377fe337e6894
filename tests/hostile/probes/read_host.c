/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: read host files that no channel declares - /etc/passwd,
 * /etc/shadow, the runner's sentinel file by its absolute host path (argv[1]),
 * /root, /home - directly and through /proc and ".." tricks.
 * Expected: every open fails (the jail's root is a fresh tmpfs); the
 * sentinel's secret never appears in our output.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "probe.h"

static void try_read(const char *path)
{
    char what[512];
    snprintf(what, sizeof what, "open %s", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        say("BLOCKED %s: %s\n", what, ename(errno));
        return;
    }
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] < ' ' || buf[i] > '~')
            buf[i] = '.';
    say("ESCAPED %s: read %zd bytes '%s'\n", what, n, n > 0 ? buf : "");
    close(fd);
}

static void try_list(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        say("BLOCKED opendir %s: %s\n", path, ename(errno));
        return;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    /* An empty directory inside the jail is harmless; entries are not. */
    if (n)
        say("ESCAPED opendir %s: %d entries\n", path, n);
    else
        say("BLOCKED opendir %s: empty\n", path);
}

int main(int argc, char **argv)
{
    const char *sentinel = arg(argc, argv, 1, "/tmp/no-sentinel");
    char buf[1024];
    try_read("/etc/passwd");
    try_read("/etc/shadow");
    try_read("/etc/hostname");
    try_read(sentinel);
    snprintf(buf, sizeof buf, "/proc/self/root%s", sentinel);
    try_read(buf);
    snprintf(buf, sizeof buf, "/proc/1/root/../../..%s", sentinel);
    try_read(buf);
    snprintf(buf, sizeof buf, "/../../../..%s", sentinel);
    try_read(buf);
    try_read("/proc/1/root/etc/passwd");
    try_read("/proc/self/cwd/../../etc/passwd");
    try_read("/root/.bashrc");
    try_list("/root");
    try_list("/home");
    struct stat st;
    if (stat(sentinel, &st) == 0)
        say("ESCAPED stat %s: size %lld\n", sentinel, (long long)st.st_size);
    else
        say("BLOCKED stat %s: %s\n", sentinel, ename(errno));
    done();
    return 0;
}
