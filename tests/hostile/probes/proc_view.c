/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: learn about the host through /proc and sysinfo(2): the kernel
 * command line, boot_id, host memory (meminfo, sysinfo), CPU, interrupt
 * and disk statistics, the host's uptime and process count, the masked
 * paths of a container runtime (kcore, keys, timer_list, sched_debug, ...),
 * and in /proc/self/mountinfo the caller's paths and image cache hashes;
 * then change the host through /proc/sys, /proc/sysrq-trigger and the
 * covering files.
 * Expected: the probe prints what it saw (INFO/MOUNTINFO lines) and the
 * runner compares it with the host's own values: none may match; every
 * write fails.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

#include "probe.h"

static char buf[1 << 20];

static ssize_t slurp(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t have = 0;
    ssize_t n;
    while (have < sizeof buf - 1 && (n = read(fd, buf + have, sizeof buf - 1 - have)) > 0)
        have += (size_t)n;
    close(fd);
    buf[have] = '\0';
    return (ssize_t)have;
}

/* The file's content on one line, bytes outside printable ASCII as \xNN. */
static void show(const char *tag, const char *path)
{
    ssize_t n = slurp(path);
    if (n < 0) {
        say("INFO %s error %s\n", tag, ename(errno));
        return;
    }
    static char line[1 << 16];
    size_t o = 0;
    for (ssize_t i = 0; i < n && o + 6 < sizeof line; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            line[o++] = (char)c;
        else
            o += (size_t)snprintf(line + o, sizeof line - o, "\\x%02x", c);
    }
    line[o++] = '\n';
    say("INFO %s %zd ", tag, n); /* the line itself is longer than say() takes */
    write_full(1, line, o);
}

int main(void)
{
    show("cmdline", "/proc/cmdline");
    show("boot_id", "/proc/sys/kernel/random/boot_id");
    show("meminfo", "/proc/meminfo");
    show("stat", "/proc/stat");
    show("uptime", "/proc/uptime");
    show("loadavg", "/proc/loadavg");
    show("interrupts", "/proc/interrupts");
    show("softirqs", "/proc/softirqs");
    show("diskstats", "/proc/diskstats");
    show("partitions", "/proc/partitions");
    show("swaps", "/proc/swaps");
    show("vmstat", "/proc/vmstat");
    show("zoneinfo", "/proc/zoneinfo");
    show("cpuinfo", "/proc/cpuinfo");
    static const char *const masked[] = {
        "/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/schedstat", "/proc/slabinfo",
        "/proc/buddyinfo", "/proc/pagetypeinfo",
    };
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
        ssize_t n = slurp(masked[i]);
        if (n > 0)
            say("ESCAPED %s has %zd bytes\n", masked[i], n);
        else
            say("OK %s: %s\n", masked[i], n == 0 ? "empty" : ename(errno));
    }
    static const char *const masked_dirs[] = {"/proc/acpi", "/proc/scsi", "/proc/pressure"};
    for (size_t i = 0; i < sizeof masked_dirs / sizeof masked_dirs[0]; i++) {
        int fd = open(masked_dirs[i], O_RDONLY | O_DIRECTORY);
        char dents[4096];
        long n = fd >= 0 ? syscall(SYS_getdents64, fd, dents, sizeof dents) : -1;
        /* "." and ".." only: 2 entries of 24 bytes. */
        if (fd >= 0 && n > 48)
            say("ESCAPED %s lists %ld bytes of entries\n", masked_dirs[i], n);
        else
            say("OK %s: %s\n", masked_dirs[i], fd < 0 ? ename(errno) : "empty");
        if (fd >= 0)
            close(fd);
    }
    struct sysinfo si;
    if (sysinfo(&si) == 0)
        say("INFO sysinfo totalram=%llu freeram=%llu procs=%u uptime=%ld swap=%llu\n",
            (unsigned long long)si.totalram * si.mem_unit,
            (unsigned long long)si.freeram * si.mem_unit, (unsigned)si.procs, si.uptime,
            (unsigned long long)si.totalswap * si.mem_unit);
    else
        say("INFO sysinfo error %s\n", ename(errno));
    /* With a second process: the count is the sandbox's. */
    int go[2];
    pid_t child = pipe(go) == 0 ? fork() : -1;
    if (child == 0) {
        char c;
        close(go[1]);
        (void)read(go[0], &c, 1);
        _exit(0);
    }
    if (child > 0 && sysinfo(&si) == 0)
        say("INFO sysinfo2 procs=%u\n", (unsigned)si.procs);
    if (child > 0) {
        close(go[1]);
        waitpid(child, NULL, 0);
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        say("INFO nproc %d\n", CPU_COUNT(&set));
    if (slurp("/proc/self/mountinfo") > 0)
        for (char *line = buf, *nl; *line; line = nl + 1) {
            if (!(nl = strchr(line, '\n')))
                break;
            *nl = '\0';
            say("MOUNTINFO %s\n", line);
        }
    expect_write_refused("/proc/sysrq-trigger", "h");
    expect_write_refused("/proc/sys/kernel/hostname", "pwned");
    expect_write_refused("/proc/sys/vm/drop_caches", "3");
    expect_write_refused("/proc/sys/kernel/random/boot_id", "x");
    expect_write_refused("/proc/meminfo", "x");
    expect_write_refused("/proc/cmdline", "x");
    EXPECT_FAIL("chmod /proc/meminfo", chmod("/proc/meminfo", 0666));
    done();
    return 0;
}
