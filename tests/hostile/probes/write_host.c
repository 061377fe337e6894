/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: write outside the channels - overwrite the runner's sentinel file
 * (argv[1]), create a new file next to it (argv[2]) and a file in "/"
 * (argv[3]), after recreating the sentinel's directories inside the jail.
 * Expected: writes either fail or land in the jail's own tmpfs; after the
 * run the host sentinel is byte-for-byte unchanged and neither new file
 * exists on the host (the runner checks).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "probe.h"

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0777);
        *p = '/';
    }
}

static void try_write(const char *path, int flags)
{
    int fd = open(path, O_WRONLY | flags, 0666);
    if (fd < 0) {
        say("BLOCKED write %s: %s\n", path, ename(errno));
        return;
    }
    long n = write_full(fd, "PWNED-BY-THE-JAIL\n", 18);
    close(fd);
    /* Succeeding is fine as long as it stayed in the jail: the runner checks the host. */
    say("INFO wrote %ld bytes to %s (inside the jail)\n", n, path);
}

int main(int argc, char **argv)
{
    const char *sentinel = arg(argc, argv, 1, "/tmp/no-sentinel");
    const char *newfile = arg(argc, argv, 2, "/tmp/no-newfile");
    const char *rootfile = arg(argc, argv, 3, "/zvm-hostile-rootfile");
    char buf[1024];

    try_write(sentinel, O_TRUNC);
    try_write(sentinel, O_APPEND);
    snprintf(buf, sizeof buf, "/proc/self/root/../..%s", sentinel);
    try_write(buf, O_TRUNC);
    try_write(rootfile, O_CREAT | O_EXCL);
    if (truncate(sentinel, 0) == 0)
        say("INFO truncated %s (inside the jail?)\n", sentinel);
    else
        say("BLOCKED truncate %s: %s\n", sentinel, ename(errno));
    if (chmod(sentinel, 0) == 0)
        say("INFO chmod %s (inside the jail?)\n", sentinel);
    else
        say("BLOCKED chmod %s: %s\n", sentinel, ename(errno));
    /* Recreate the host directories inside the jail and write there. */
    mkdirs(sentinel);
    try_write(sentinel, O_CREAT | O_TRUNC);
    try_write(newfile, O_CREAT | O_EXCL);
    snprintf(buf, sizeof buf, "%s.renamed", rootfile);
    if (rename(newfile, buf) == 0)
        say("INFO renamed %s to %s inside the jail\n", newfile, buf);
    if (unlink(sentinel) == 0)
        say("INFO unlinked %s inside the jail\n", sentinel);
    try_write(newfile, O_CREAT | O_EXCL);
    done();
    return 0;
}
