/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the jail's /proc tells about the host, built by the child right
 * after it mounted its own proc (rootfs.c), before the pivot.  A proc of a
 * new pid namespace still shows host-wide files; they are covered with
 * read-only bind mounts of files written here, in a staging directory of
 * the jail's own tmpfs (ZVM_ATTACH_DIR, which the pivot then detaches):
 *
 *   meminfo, vmstat      the sandbox's Memory, nothing in use, no swap
 *   cpuinfo              the host's first CPU (what cpuid shows anyway)
 *                        once per CPU the jail may run on, no frequencies,
 *                        no topology, no microcode revision
 *   stat                 those CPUs with no time spent, btime = the start
 *   loadavg, interrupts, softirqs, partitions, swaps
 *                        no load, no interrupts, no disks, no swap
 *   cmdline              empty: not the host's kernel command line
 *   sys/kernel/random/boot_id  a random id per sandbox
 *
 * The paths a container runtime masks (the OCI runtime spec's defaults,
 * as runc applies them) get an empty file or directory: diskstats, kcore, keys,
 * key-users, latency_stats, timer_list, timer_stats, sched_debug,
 * schedstat, zoneinfo, buddyinfo, and the directories acpi, scsi,
 * pressure (pagetypeinfo, slabinfo and the like are root's, mode 0400:
 * closed to the jail's user already); asound, bus, fs, irq, sys and
 * sysrq-trigger are bound read-only over themselves.  A path this kernel
 * does not have is skipped.
 *
 * The sandbox's clocks: a time namespace whose boot-time and monotonic
 * clocks start near zero, so /proc/uptime, the start times in
 * /proc/<pid>/stat and CLOCK_BOOTTIME tell the sandbox's age, not the
 * host's (the program enters it at exec).  sysinfo(2) is answered by the
 * supervisor (supervisor.c).
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

#define STAGE ZVM_ATTACH_DIR "/.proc"
#define TEXT_MAX (1u << 20)      /* cpuinfo of some 600 CPUs */

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The child may not call malloc (a raw clone3 of a threaded parent), so
 * one static buffer holds the file being written. */
static char text_buf[TEXT_MAX];

typedef struct text {
    size_t len;
    bool full;
} text_t;

__attribute__((format(printf, 2, 3))) static void put(text_t *t, const char *fmt, ...)
{
    if (t->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text_buf + t->len, TEXT_MAX - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= TEXT_MAX - t->len) {
        t->full = true;
        return;
    }
    t->len += (size_t)n;
}

static int stage_dir = -1; /* STAGE, while the files are written */

/* Write the staged file `name` with the text so far. */
static int stage(const char *name, const text_t *t, zvm_error_t *err)
{
    int fd = openat(stage_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot create the jail's /proc/%s", name);
    int rc = zvm_write_all(fd, text_buf, t->len);
    close(fd);
    if (rc < 0)
        return zvm_error_errno(err, -rc, "cannot write the jail's /proc/%s", name);
    return 0;
}

/* ---- the files ---------------------------------------------------------- */

static void meminfo(text_t *t, uint64_t memory)
{
    unsigned long long kb = (unsigned long long)(memory / 1024);
    static const char *const zero[] = {
        "Buffers", "Cached", "SwapCached", "Active", "Inactive", "Active(anon)",
        "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked",
        "SwapTotal", "SwapFree", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem",
        "KReclaimable", "Slab", "SReclaimable", "SUnreclaim", "KernelStack", "PageTables",
        "Bounce", "WritebackTmp",
    };
    put(t, "%-16s%8llu kB\n", "MemTotal:", kb);
    put(t, "%-16s%8llu kB\n", "MemFree:", kb);
    put(t, "%-16s%8llu kB\n", "MemAvailable:", kb);
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "%s:", zero[i]);
        put(t, "%-16s%8u kB\n", label, 0u);
    }
    put(t, "%-16s%8llu kB\n", "CommitLimit:", kb);
    put(t, "%-16s%8u kB\n", "Committed_AS:", 0u);
    put(t, "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\n"
           "HugePages_Surp:        0\n");
    put(t, "%-16s%8ld kB\n", "Hugepagesize:", 2048L);
}

/* Lines of the host's first CPU block that describe the model, not the
 * machine (topology, clock, microcode). */
static bool cpu_key_kept(const char *line)
{
    static const char *const dropped[] = {
        "processor", "cpu MHz", "physical id", "siblings", "core id", "cpu cores",
        "apicid", "initial apicid", "microcode", "bogomips", "BogoMIPS", "power management",
    };
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++) {
        size_t n = strlen(dropped[i]);
        if (strncmp(line, dropped[i], n) == 0 && (line[n] == '\t' || line[n] == ' ' || line[n] == ':'))
            return false;
    }
    return true;
}

static void cpuinfo(text_t *t, int ncpu)
{
    /* The first block of the host's file (the model); read before the
     * pivot, from the host's proc. */
    static char host[16384];
    size_t have = 0;
    int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r;
        /* Until the end of the first block: the kernel makes the file as
         * it is read, and the other CPUs' blocks cost time. */
        while (have < sizeof host - 1 && (r = read(fd, host + have, sizeof host - 1 - have)) > 0) {
            have += (size_t)r;
            host[have] = '\0';
            if (strstr(host, "\n\n"))
                break;
        }
        close(fd);
    }
    host[have] = '\0';
    char *end = strstr(host, "\n\n");
    if (end)
        end[1] = '\0';
    else if (have == sizeof host - 1)
        host[0] = '\0'; /* one block this long: not what we expect */
    for (int cpu = 0; cpu < ncpu && !t->full; cpu++) {
        size_t mark = t->len;
        put(t, "processor\t: %d\n", cpu);
        for (char *line = host, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl)
                break;
            if (nl > line && cpu_key_kept(line))
                put(t, "%.*s\n", (int)(nl - line), line);
        }
        put(t, "\n");
        if (t->full) { /* whole blocks only */
            t->len = mark;
            break;
        }
    }
    t->full = false;
}

static void stat_file(text_t *t, int ncpu, time_t boot)
{
    put(t, "cpu  0 0 0 0 0 0 0 0 0 0\n");
    for (int cpu = 0; cpu < ncpu; cpu++)
        put(t, "cpu%d 0 0 0 0 0 0 0 0 0 0\n", cpu);
    put(t, "intr 0\nctxt 0\nbtime %lld\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n"
           "softirq 0 0 0 0 0 0 0 0 0 0 0\n",
        (long long)boot);
}

static void cpu_header(text_t *t, int ncpu, int width)
{
    put(t, "%*s", width, "");
    for (int cpu = 0; cpu < ncpu; cpu++)
        put(t, "CPU%-8d", cpu);
    put(t, "\n");
}

static void boot_id(text_t *t)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < sizeof b) /* no randomness: still not the host's id */
        memset(b + got, 0, sizeof b - got);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* a version 4 UUID */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    put(t, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n", b[0], b[1],
        b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- mounting ----------------------------------------------------------- */

static const char *const masked_files[] = {
    "diskstats", "kcore", "keys", "key-users", "latency_stats", "timer_list", "timer_stats",
    "sched_debug", "schedstat", "zoneinfo", "buddyinfo",
};
static const char *const masked_dirs[] = {"acpi", "scsi", "pressure"};
static const char *const readonly[] = {"asound", "bus", "fs", "irq", "sys", "sysrq-trigger"};

/* Bind the staged `from` over proc's `to`; a path proc lacks is skipped. */
static int cover(const char *proc, const char *from, const char *to, zvm_error_t *err)
{
    char src[128], dst[128];
    snprintf(src, sizeof src, STAGE "/%s", from);
    snprintf(dst, sizeof dst, "%s/%s", proc, to);
    if (mount(src, dst, NULL, MS_BIND, NULL) == 0 || errno == ENOENT)
        return 0;
    return zvm_error_errno(err, errno, "cannot cover /proc/%s", to);
}

static int bind_readonly(const char *path, zvm_error_t *err)
{
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return errno == ENOENT ? 0 : zvm_error_errno(err, errno, "cannot bind '%s'", path);
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        return zvm_error_errno(err, errno, "cannot make '%s' read-only", path);
    return 0;
}

/* Clocks that start with the sandbox.  Without time namespaces (an old or
 * a trimmed kernel) they stay the host's: see docs/security.md. */
static void own_clocks(void)
{
    if (unshare(CLONE_NEWTIME) < 0)
        return;
    struct timespec mono, boot;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    char offsets[96];
    /* One second in, so that no clock reads zero or less. */
    snprintf(offsets, sizeof offsets, "monotonic %lld 0\nboottime %lld 0\n",
             -(long long)mono.tv_sec + 1, -(long long)boot.tv_sec + 1);
    /* The change of uid made us undumpable, which gives our /proc files
     * to the host's root; exec decides dumpability again anyway. */
    int dumpable = prctl(PR_GET_DUMPABLE);
    prctl(PR_SET_DUMPABLE, 1);
    (void)zvm_write_file("/proc/self/timens_offsets", offsets);
    if (dumpable >= 0)
        prctl(PR_SET_DUMPABLE, dumpable);
}

/* The files of the jail's /proc, in the staging directory. */
static int write_files(const zvm_jail_t *j, int ncpu, zvm_error_t *err)
{
    text_t t = {0};
    if (stage("empty", &t, err) < 0)
        return -1;
    meminfo(&t, j->session->manifest.memory);
    if (stage("meminfo", &t, err) < 0)
        return -1;
    t = (text_t){0};
    put(&t, "nr_free_pages %llu\n",
        (unsigned long long)(j->session->manifest.memory / (uint64_t)sysconf(_SC_PAGESIZE)));
    if (stage("vmstat", &t, err) < 0)
        return -1;
    t = (text_t){0};
    cpuinfo(&t, ncpu);
    if (stage("cpuinfo", &t, err) < 0)
        return -1;
    t = (text_t){0};
    stat_file(&t, ncpu, time(NULL) - 1);
    if (stage("stat", &t, err) < 0)
        return -1;
    t = (text_t){0};
    put(&t, "0.00 0.00 0.00 1/1 1\n");
    if (stage("loadavg", &t, err) < 0)
        return -1;
    t = (text_t){0};
    cpu_header(&t, ncpu, 4);
    if (stage("interrupts", &t, err) < 0)
        return -1;
    t = (text_t){0};
    cpu_header(&t, ncpu, 12);
    if (stage("softirqs", &t, err) < 0)
        return -1;
    t = (text_t){0};
    put(&t, "major minor  #blocks  name\n\n");
    if (stage("partitions", &t, err) < 0)
        return -1;
    t = (text_t){0};
    put(&t, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    if (stage("swaps", &t, err) < 0)
        return -1;
    t = (text_t){0};
    put(&t, "\n");
    if (stage("cmdline", &t, err) < 0)
        return -1;
    t = (text_t){0};
    boot_id(&t);
    if (stage("boot_id", &t, err) < 0)
        return -1;

    return 0;
}

int zvm__procfs_build(const zvm_jail_t *j, int procfd, zvm_error_t *err)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", procfd);
    cpu_set_t set;
    int ncpu = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    if (ncpu < 1)
        ncpu = 1;

    if (mkdir(STAGE, 0755) < 0 || mkdir(STAGE "/empty.d", 0555) < 0 ||
        (stage_dir = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return zvm_error_errno(err, errno, "cannot create the jail's /proc files");
    int rc = write_files(j, ncpu, err);
    close(stage_dir);
    stage_dir = -1;
    if (rc < 0)
        return -1;

    /* The staging directory read-only: every bind of it inherits that. */
    if (bind_readonly(STAGE, err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", proc, readonly[i]);
        if (bind_readonly(path, err) < 0)
            return -1;
    }
    static const char *const synthesized[] = {
        "meminfo", "vmstat", "cpuinfo", "stat", "loadavg", "interrupts", "softirqs",
        "partitions", "swaps", "cmdline",
    };
    for (size_t i = 0; i < sizeof synthesized / sizeof synthesized[0]; i++)
        if (cover(proc, synthesized[i], synthesized[i], err) < 0)
            return -1;
    if (cover(proc, "boot_id", "sys/kernel/random/boot_id", err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof masked_files / sizeof masked_files[0]; i++)
        if (cover(proc, "empty", masked_files[i], err) < 0)
            return -1;
    for (size_t i = 0; i < sizeof masked_dirs / sizeof masked_dirs[0]; i++)
        if (cover(proc, "empty.d", masked_dirs[i], err) < 0)
            return -1;
    own_clocks();
    return 0;
}
