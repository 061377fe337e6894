/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: learn about or change the host through /proc (a dynamic program,
 * to exercise the host-/usr path too): host init's cmdline and environment
 * at /proc/1, the number of processes, kernel knobs under /proc/sys,
 * /proc/sysrq-trigger, /proc/kcore, /proc/kmsg.
 * Expected: /proc/1 is the jail's init (its command line "init", no host
 * path of zerovm's; its environment closed), /proc/self is the program
 * (our nvram environment marker argv[1]); fewer than 10 pids; every write
 * fails;
 * /proc/self/mountinfo is readable (allowed).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>

#include "probe.h"

static ssize_t slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

int main(int argc, char **argv)
{
    const char *marker = arg(argc, argv, 1, "ZVM_MARKER=none");
    char buf[8192];
    ssize_t n = slurp("/proc/1/cmdline", buf, sizeof buf);
    if (n > 0 && strcmp(buf, "init") == 0 && !memchr(buf, '/', (size_t)n))
        say("OK /proc/1/cmdline is the jail's init: %s\n", buf);
    else
        say("ESCAPED /proc/1/cmdline is '%s' (%zd bytes)\n", n > 0 ? buf : "?", n);
    EXPECT_FAIL("read /proc/1/environ", slurp("/proc/1/environ", buf, sizeof buf));
    n = slurp("/proc/self/environ", buf, sizeof buf);
    bool found = false;
    for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(buf + i) + 1)
        if (strcmp(buf + i, marker) == 0)
            found = true;
    if (found)
        say("OK /proc/self/environ is ours (%s)\n", marker);
    else
        say("ESCAPED /proc/1/environ is not ours (%zd bytes)\n", n);
    int pids = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
            pids++;
    if (d)
        closedir(d);
    if (pids > 0 && pids < 10)
        say("OK /proc shows %d pids\n", pids);
    else
        say("ESCAPED /proc shows %d pids\n", pids);
    if (slurp("/proc/self/mountinfo", buf, sizeof buf) > 0)
        say("INFO mountinfo readable\n");
    expect_write_refused("/proc/sysrq-trigger", "h");
    expect_write_refused("/proc/sys/kernel/hostname", "pwned");
    expect_write_refused("/proc/sys/vm/drop_caches", "3");
    expect_write_refused("/proc/sys/kernel/core_pattern", "|/tmp/x");
    expect_write_refused("/proc/self/uid_map", "0 0 1");
    expect_write_refused("/proc/self/setgroups", "allow");
    expect_write_refused("/proc/self/oom_score_adj", "-1000");
    EXPECT_FAIL("open /proc/kcore", open("/proc/kcore", O_RDONLY));
    EXPECT_FAIL("open /proc/kmsg", open("/proc/kmsg", O_RDONLY));
    done();
    return 0;
}
