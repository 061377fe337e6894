/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/phases: where does zerovm's start-up time go?
 *
 * A ladder of variants, each timed in-process with clock_gettime() around
 * "create + run + reap" of the static hello (or of nothing), so the
 * difference between two rungs is the cost of the step between them:
 *
 *   spawn_bare              fork + execve(hello) + wait         (the baseline)
 *   spawn_vfork             vfork + execve(hello) + wait        (as posix_spawn)
 *   ns_user ... ns_cgroup   clone3(CLONE_NEWUSER | X) + _exit    (one namespace each)
 *   ns_all                  clone3(zerovm's 7 namespaces) + _exit
 *   ns_all_nonet            the same without CLONE_NEWNET
 *   jail_exec               ns_all + uid/gid maps + sync socket + execveat(hello)
 *   jail_nonet_exec         the same without CLONE_NEWNET
 *   jail_rootfs_exec        jail_exec + tmpfs root, /dev binds, /proc, pivot_root,
 *                           identity change, capability drop (a copy of what
 *                           zerovm's child does, not zerovm's code)
 *   jail_rootfs_bpf_exec    jail_rootfs_exec + zerovm's own seccomp filters,
 *                           already built (captured from a running zerovm), plus
 *                           a minimal supervisor answering every notification
 *                           with CONTINUE: zerovm's work without process start-up,
 *                           manifest, channels and the filter build
 *   jail_nonet_rootfs_bpf_exec  the same without CLONE_NEWNET
 *   seccomp_zvm_build_load  zerovm's zvm__seccomp_load() as currently built (a
 *                           libseccomp build + load, or a load of BPF compiled
 *                           at build time) in a fresh child (if linked with it)
 *   seccomp_cached_load     loading the captured BPF only, in a fresh child
 *   notify_rtt              one seccomp user notification answered with
 *                           CONTINUE, per call (getppid under a notify filter)
 *   notify_rtt_sync         the same with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
 *   syscall_plain           getppid() without a filter, per call
 *   syscall_filtered        getppid() under zerovm's captured filters, per call
 *
 * The variants run interleaved (iteration i runs each of them once), so a
 * burst of other work on the machine spreads over all of them.
 *
 * usage: phases [-n RUNS] [-w WARMUP] [-z ZEROVM -c PAUSE_MANIFEST -P PAUSE] HELLO
 *
 * -z/-c/-P let phases capture the filters: it starts `ZEROVM PAUSE_MANIFEST`
 * (a manifest whose Program is bench/pause), waits for the jailed program,
 * and reads its filters with PTRACE_SECCOMP_GET_FILTER (needs root).
 *
 * Output: one JSON array on stdout, one object per variant, times in
 * microseconds: {"name", "desc", "n", "mean_us", "sd_us", "median_us",
 * "min_us"} or {"name", "desc", "skipped": reason}.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS /* Linux 6.6 */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif
#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

#ifdef HAVE_ZVM_SECCOMP
#include "zvm/error.h"
/* src/engine/native/seccomp.c (internal to the engine, declared here so the
 * benchmark depends on nothing but this one symbol). */
int zvm__seccomp_load(bool wasm, int *listener, zvm_error_t *err);
#endif

#define NS_ALL                                                                               \
    (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
     CLONE_NEWCGROUP)

static const char *hello;
static int devnull = -1;
static bool debug; /* PHASES_DEBUG=1: say on stderr which step failed */

#define TRY(expr)                                                                \
    do {                                                                         \
        if ((expr) < 0) {                                                        \
            if (debug)                                                           \
                fprintf(stderr, "phases: %s: %s\n", #expr, strerror(errno));   \
            return -1;                                                           \
        }                                                                        \
    } while (0)
static int runs = 200, warmup = 20;
static bool first_output = true;
static int last_status = -1; /* wait status of the last failed child */

/* ---- timing and output ------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static void emit_head(const char *name, const char *desc)
{
    fputs(first_output ? "[\n" : ",\n", stdout);
    first_output = false;
    fputs("  {\"name\": ", stdout);
    json_string(name);
    fputs(", \"desc\": ", stdout);
    json_string(desc);
}

static void emit_skip(const char *name, const char *desc, const char *why)
{
    emit_head(name, desc);
    fputs(", \"skipped\": ", stdout);
    json_string(why);
    fputs("}", stdout);
    fflush(stdout);
}

static void emit_samples(const char *name, const char *desc, double *us, int n)
{
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++)
        sum += us[i];
    double mean = sum / n;
    for (int i = 0; i < n; i++)
        sq += (us[i] - mean) * (us[i] - mean);
    qsort(us, (size_t)n, sizeof *us, cmp_double);
    double median = n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
    emit_head(name, desc);
    printf(", \"n\": %d, \"mean_us\": %.3f, \"sd_us\": %.3f, \"median_us\": %.3f, \"min_us\": %.3f}",
           n, mean, n > 1 ? sqrt(sq / (n - 1)) : 0.0, median, us[0]);
    fflush(stdout);
}

/* The variants are registered first and then run interleaved: iteration i
 * runs every variant once, so slow drift and bursts of other work on the
 * machine are spread over all of them instead of hitting a few rungs. */
#define MAX_VARIANTS 40
typedef struct variant {
    const char *name, *desc;
    double (*fn)(void *); /* microseconds it measured, or < 0 on failure */
    void *arg;
    char why[200]; /* skipped or failed: why */
    double *us;
} variant_t;
static variant_t variants[MAX_VARIANTS];
static int nvariants;

static variant_t *add_variant(const char *name, const char *desc)
{
    if (nvariants == MAX_VARIANTS) {
        fputs("phases: too many variants\n", stderr);
        exit(1);
    }
    variant_t *v = &variants[nvariants++];
    v->name = name;
    v->desc = desc;
    return v;
}

static void bench(const char *name, const char *desc, double (*fn)(void *), void *arg)
{
    variant_t *v = add_variant(name, desc);
    v->fn = fn;
    v->arg = arg;
}

static void skip_variant(const char *name, const char *desc, const char *why)
{
    variant_t *v = add_variant(name, desc);
    snprintf(v->why, sizeof v->why, "%s", why);
}

static void run_all(void)
{
    for (int k = 0; k < nvariants; k++)
        if (!(variants[k].us = calloc((size_t)runs, sizeof(double))))
            exit(1);
    for (int i = 0; i < warmup + runs; i++) {
        for (int k = 0; k < nvariants; k++) {
            variant_t *v = &variants[k];
            if (v->why[0])
                continue;
            errno = 0;
            double t = v->fn(v->arg);
            if (t < 0) {
                if (errno)
                    snprintf(v->why, sizeof v->why, "failed at iteration %d: %s", i, strerror(errno));
                else
                    snprintf(v->why, sizeof v->why, "failed at iteration %d: child wait status 0x%x",
                             i, (unsigned)last_status);
                continue;
            }
            if (i >= warmup)
                v->us[i - warmup] = t;
        }
    }
    for (int k = 0; k < nvariants; k++) {
        variant_t *v = &variants[k];
        if (v->why[0])
            emit_skip(v->name, v->desc, v->why);
        else
            emit_samples(v->name, v->desc, v->us, runs);
        free(v->us);
    }
}

/* ---- helpers ---------------------------------------------------------- */

static pid_t clone3_flags(uint64_t flags, int *pidfd)
{
    struct clone_args ca = {
        .flags = flags | (pidfd ? CLONE_PIDFD : 0),
        .pidfd = (uint64_t)(uintptr_t)pidfd,
        .exit_signal = SIGCHLD,
    };
    return (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
}

static int reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        last_status = st;
        errno = 0;
        return -1;
    }
    return 0;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int send_fd(int sock, int fd)
{
    char c = 'L';
    struct iovec iov = {.iov_base = &c, .iov_len = 1};
    union {
        char raw[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.raw, .msg_controllen = sizeof ctl.raw};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
    char c;
    struct iovec iov = {.iov_base = &c, .iov_len = 1};
    union {
        char raw[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.raw, .msg_controllen = sizeof ctl.raw};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

/* ---- captured seccomp filters ------------------------------------------ */

#define MAX_FILTERS 8
static struct {
    struct sock_filter *prog;
    unsigned short len;
    bool notify; /* contains SECCOMP_RET_USER_NOTIF: load with NEW_LISTENER */
} filters[MAX_FILTERS];
static int nfilters; /* in load order (oldest first) */

static bool has_notify(const struct sock_filter *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (BPF_CLASS(p[i].code) == BPF_RET && BPF_RVAL(p[i].code) == BPF_K &&
            (p[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF)
            return true;
    return false;
}

/* Start zerovm on the pause manifest, read the filters of the jailed
 * program, kill it.  Returns NULL or why not. */
static const char *capture_filters(const char *zerovm, const char *manifest, const char *pause_path)
{
    static char why[200];
    struct stat want;
    if (geteuid() != 0)
        return "needs root (PTRACE_SECCOMP_GET_FILTER)";
    if (stat(pause_path, &want) < 0)
        return "bench/pause is missing";
    pid_t zpid = fork();
    if (zpid < 0)
        return "fork failed";
    if (zpid == 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(zerovm, zerovm, manifest, (char *)NULL);
        _exit(127);
    }
    pid_t cpid = -1;
    for (int tries = 0; tries < 3000 && cpid < 0; tries++) {
        char path[64], buf[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)zpid, (int)zpid);
        FILE *f = fopen(path, "r");
        if (f) {
            int c;
            if (fgets(buf, sizeof buf, f) && sscanf(buf, "%d", &c) == 1) {
                struct stat st;
                snprintf(path, sizeof path, "/proc/%d/exe", c);
                if (stat(path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
                    cpid = c;
            }
            fclose(f);
        }
        if (cpid < 0)
            usleep(1000);
    }
    const char *res = NULL;
    if (cpid < 0) {
        res = "the jailed pause program never showed up";
        goto out;
    }
    if (ptrace(PTRACE_ATTACH, cpid, NULL, NULL) < 0) {
        snprintf(why, sizeof why, "PTRACE_ATTACH: %s", strerror(errno));
        res = why;
        goto out;
    }
    waitpid(cpid, NULL, __WALL);
    struct sock_filter *got[MAX_FILTERS];
    long lens[MAX_FILTERS];
    int n = 0;
    for (; n < MAX_FILTERS; n++) {
        long len = ptrace(PTRACE_SECCOMP_GET_FILTER, cpid, (void *)(long)n, NULL);
        if (len <= 0)
            break;
        got[n] = calloc((size_t)len, sizeof(struct sock_filter));
        if (!got[n] || ptrace(PTRACE_SECCOMP_GET_FILTER, cpid, (void *)(long)n, got[n]) != len)
            break;
        lens[n] = len;
    }
    if (n == 0) {
        snprintf(why, sizeof why, "PTRACE_SECCOMP_GET_FILTER: %s", strerror(errno));
        res = why;
    }
    /* Index 0 is the first filter installed (kernel's get_nth_filter()
     * counts from the oldest): load in index order. */
    for (int i = 0; i < n; i++) {
        filters[i].prog = got[i];
        filters[i].len = (unsigned short)lens[i];
        filters[i].notify = has_notify(got[i], (unsigned)lens[i]);
    }
    nfilters = n;
    if (debug)
        for (int i = 0; i < n; i++)
            fprintf(stderr, "phases: captured filter %d: %u instructions%s\n", i, filters[i].len,
                    filters[i].notify ? ", notify" : "");
    ptrace(PTRACE_DETACH, cpid, NULL, NULL);
out:
    if (cpid > 0)
        kill(cpid, SIGKILL);
    kill(zpid, SIGTERM);
    waitpid(zpid, NULL, 0);
    return res;
}

/* Load the captured filters; *listener gets the notification fd. */
static int load_cached(int *listener)
{
    TRY(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    *listener = -1;
    for (int i = 0; i < nfilters; i++) {
        struct sock_fprog fp = {.len = filters[i].len, .filter = filters[i].prog};
        unsigned flags = filters[i].notify && *listener < 0 ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
        long rc;
        TRY(rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp));
        if (flags)
            *listener = (int)rc;
    }
    return 0;
}

/* ---- the ladder --------------------------------------------------------- */

static double run_spawn_bare(void *arg)
{
    (void)arg;
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(devnull, 1);
        execl(hello, "hello", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || reap(pid) < 0)
        return -1;
    return (double)(now_ns() - t0) / 1e3;
}

/* What hyperfine and posix_spawn() do: no copy of the parent's page tables. */
static double run_spawn_vfork(void *arg)
{
    (void)arg;
    char *const argv[] = {"hello", NULL};
    char *const envp[] = {NULL};
    uint64_t t0 = now_ns();
    pid_t pid = vfork();
    if (pid == 0) {
        dup2(devnull, 1);
        execve(hello, argv, envp);
        _exit(127);
    }
    if (pid < 0 || reap(pid) < 0)
        return -1;
    return (double)(now_ns() - t0) / 1e3;
}

static double run_ns_exit(void *arg)
{
    uint64_t flags = *(uint64_t *)arg;
    uint64_t t0 = now_ns();
    pid_t pid = clone3_flags(flags, NULL);
    if (pid == 0)
        _exit(0);
    if (pid < 0 || reap(pid) < 0)
        return -1;
    return (double)(now_ns() - t0) / 1e3;
}

enum { STAGE_EXEC, STAGE_ROOTFS, STAGE_BPF };
typedef struct jail_opts {
    uint64_t flags;
    int stage;
} jail_opts_t;

/* Host device nodes, captured before the root changes (as zerovm does). */
static int capture_dev(const char *name)
{
    char src[64];
    snprintf(src, sizeof src, "/dev/%s", name);
    int fd;
    TRY(fd = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
    TRY(syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr));
    return fd;
}

static int place_dev(int tree, const char *name)
{
    char dst[64];
    snprintf(dst, sizeof dst, "/tmp/dev/%s", name);
    int fd;
    TRY(fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    close(fd);
    TRY(syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH));
    close(tree);
    return 0;
}

/* A copy of the steps of zerovm's child (not its code): root, identity, caps. */
static int child_rootfs(void)
{
    static const char *const devs[] = {"null", "zero", "urandom", "random"};
    int trees[4];
    for (size_t i = 0; i < 4; i++)
        TRY(trees[i] = capture_dev(devs[i]));
    TRY(setresgid(1000, 1000, 1000));
    TRY(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    TRY(setresuid(1000, 1000, 1000));
    TRY(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    TRY(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=268435456,mode=0755"));
    TRY(mkdir("/tmp/dev", 0755));
    TRY(mkdir("/tmp/proc", 0755));
    TRY(mkdir("/tmp/tmp", 0755));
    for (size_t i = 0; i < 4; i++)
        TRY(place_dev(trees[i], devs[i]));
    TRY(symlink("/proc/self/fd", "/tmp/dev/fd"));
    TRY(mount("proc", "/tmp/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    TRY(chdir("/tmp"));
    TRY(syscall(SYS_pivot_root, ".", "."));
    TRY(umount2(".", MNT_DETACH));
    TRY(chdir("/"));
    TRY(sethostname("zerovm", 6));
    TRY(setsid());
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            TRY(-1);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};
    TRY(syscall(SYS_capset, &hdr, data));
    TRY(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    return 0;
}

static double run_jail(void *arg)
{
    const jail_opts_t *o = arg;
    int sv[2], pidfd = -1;
    char *const argv[] = {"hello", NULL};
    char *const envp[] = {NULL};
    uint64_t t0 = now_ns();
    int prog = open(hello, O_PATH | O_CLOEXEC);
    if (prog < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t pid = clone3_flags(o->flags, &pidfd);
    if (pid == 0) {
        char go;
        close(sv[0]);
        dup2(devnull, 1);
        if (read(sv[1], &go, 1) != 1)
            _exit(126);
        if (o->stage >= STAGE_ROOTFS && child_rootfs() < 0)
            _exit(125);
        if (o->stage >= STAGE_BPF) {
            int listener;
            if (load_cached(&listener) < 0 || send_fd(sv[1], listener) < 0)
                _exit(124);
            close(listener);
        }
        syscall(SYS_execveat, prog, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        close(prog);
        return -1;
    }
    char path[64], map[64];
    unsigned outside_uid = getuid() == 0 ? 65534 : getuid();
    unsigned outside_gid = getuid() == 0 ? 65534 : getgid();
    int rc = 0;
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    rc |= write_file(path, "deny");
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    snprintf(map, sizeof map, "1000 %u 1\n", outside_uid);
    rc |= write_file(path, map);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    snprintf(map, sizeof map, "1000 %u 1\n", outside_gid);
    rc |= write_file(path, map);
    rc |= write(sv[0], "G", 1) == 1 ? 0 : -1;
    if (rc == 0 && o->stage >= STAGE_BPF) {
        /* A minimal supervisor: every notification continues unchanged. */
        int listener = recv_fd(sv[0]);
        struct seccomp_notif_sizes sz;
        if (listener < 0 || syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
            rc = -1;
        } else {
            struct seccomp_notif *req = calloc(1, sz.seccomp_notif > sizeof *req ? sz.seccomp_notif : sizeof *req);
            struct seccomp_notif_resp *resp = calloc(1, sz.seccomp_notif_resp > sizeof *resp ? sz.seccomp_notif_resp : sizeof *resp);
            for (;;) {
                struct pollfd pf = {.fd = listener, .events = POLLIN};
                if (poll(&pf, 1, -1) < 0) {
                    if (errno == EINTR)
                        continue;
                    break;
                }
                if (!(pf.revents & POLLIN))
                    break; /* POLLHUP: the program is gone */
                memset(req, 0, sz.seccomp_notif);
                if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
                    continue;
                memset(resp, 0, sz.seccomp_notif_resp);
                resp->id = req->id;
                resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
            }
            free(req);
            free(resp);
            close(listener);
        }
    }
    close(sv[0]);
    close(prog);
    close(pidfd);
    if (rc < 0) {
        kill(pid, SIGKILL);
        reap(pid);
        return -1;
    }
    if (reap(pid) < 0)
        return -1;
    return (double)(now_ns() - t0) / 1e3;
}

/* Run `what` in a fresh child and return the microseconds it reports. */
static double in_child(int (*what)(uint64_t *ns))
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t ns = 0;
        close(p[0]);
        /* Above the numbers zerovm's notify filter routes (0-9): with no
         * supervisor here, a routed write would wait forever. */
        int out = fcntl(p[1], F_DUPFD_CLOEXEC, 100);
        if (out < 0)
            _exit(3);
        close(p[1]);
        int rc = what(&ns);
        if (write(out, &ns, sizeof ns) != sizeof ns)
            _exit(2);
        _exit(rc < 0 ? 1 : 0);
    }
    close(p[1]);
    uint64_t ns = 0;
    ssize_t n = pid < 0 ? -1 : read(p[0], &ns, sizeof ns);
    close(p[0]);
    if (pid < 0 || reap(pid) < 0 || n != sizeof ns)
        return -1;
    return (double)ns / 1e3;
}

#ifdef HAVE_ZVM_SECCOMP
static int do_zvm_seccomp(uint64_t *ns)
{
    zvm_error_t err = {0};
    int listener = -1;
    uint64_t t0 = now_ns();
    int rc = zvm__seccomp_load(false, &listener, &err);
    *ns = now_ns() - t0;
    return rc;
}
static double run_zvm_seccomp(void *arg)
{
    (void)arg;
    return in_child(do_zvm_seccomp);
}
#endif

static int do_cached_seccomp(uint64_t *ns)
{
    int listener;
    uint64_t t0 = now_ns();
    int rc = load_cached(&listener);
    *ns = now_ns() - t0;
    return rc;
}
static double run_cached_seccomp(void *arg)
{
    (void)arg;
    return in_child(do_cached_seccomp);
}

/* ---- notification round trip ------------------------------------------- */

#define RTT_CALLS 2000

static double run_syscall_plain(void *arg)
{
    (void)arg;
    uint64_t t0 = now_ns();
    for (int i = 0; i < RTT_CALLS; i++)
        syscall(SYS_getppid);
    return (double)(now_ns() - t0) / 1e3 / RTT_CALLS;
}

/* arg: NULL, or non-NULL to ask for synchronous wake-ups (the supervisor
 * runs where the notifying task ran, Linux >= 6.6). */
static double run_notify_rtt(void *arg)
{
    int sv[2], p[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        /* getppid -> notify, everything else allowed */
        struct sock_filter prog[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog fp = {.len = sizeof prog / sizeof prog[0], .filter = prog};
        close(sv[0]);
        close(p[0]);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(1);
        int l = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
        if (l < 0 || send_fd(sv[1], l) < 0)
            _exit(1);
        close(l);
        uint64_t t0 = now_ns();
        for (int i = 0; i < RTT_CALLS; i++)
            syscall(SYS_getppid);
        uint64_t ns = now_ns() - t0;
        _exit(write(p[1], &ns, sizeof ns) == sizeof ns ? 0 : 1);
    }
    close(sv[1]);
    close(p[1]);
    int listener = pid < 0 ? -1 : recv_fd(sv[0]);
    close(sv[0]);
    if (listener >= 0 && arg &&
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (uint64_t)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0) {
        int e = errno;
        close(listener);
        kill(pid, SIGKILL);
        reap(pid);
        close(p[0]);
        errno = e;
        return -1;
    }
    if (listener >= 0) {
        struct seccomp_notif_sizes sz;
        syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz);
        struct seccomp_notif *req = calloc(1, sz.seccomp_notif + 64);
        struct seccomp_notif_resp *resp = calloc(1, sz.seccomp_notif_resp + 64);
        for (;;) {
            struct pollfd pf = {.fd = listener, .events = POLLIN};
            if (poll(&pf, 1, -1) < 0 && errno == EINTR)
                continue;
            if (!(pf.revents & POLLIN))
                break;
            memset(req, 0, sz.seccomp_notif);
            if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
                continue;
            memset(resp, 0, sz.seccomp_notif_resp);
            resp->id = req->id;
            resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
        }
        free(req);
        free(resp);
        close(listener);
    }
    uint64_t ns = 0;
    ssize_t n = read(p[0], &ns, sizeof ns);
    close(p[0]);
    if (pid < 0 || reap(pid) < 0 || n != sizeof ns)
        return -1;
    return (double)ns / 1e3 / RTT_CALLS;
}

/* getppid() under zerovm's own (captured) filters: the price every
 * system call of the program pays for the two BPF programs. */
static int do_syscall_filtered(uint64_t *ns)
{
    int listener;
    if (load_cached(&listener) < 0)
        return -1;
    uint64_t t0 = now_ns();
    for (int i = 0; i < RTT_CALLS; i++)
        syscall(SYS_getppid);
    *ns = (now_ns() - t0) / RTT_CALLS;
    return 0;
}
static double run_syscall_filtered(void *arg)
{
    (void)arg;
    return in_child(do_syscall_filtered);
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *zerovm = NULL, *pause_manifest = NULL, *pause_path = NULL;
    int c;
    while ((c = getopt(argc, argv, "n:w:z:c:P:")) != -1) {
        switch (c) {
        case 'n':
            runs = atoi(optarg);
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        case 'z':
            zerovm = optarg;
            break;
        case 'c':
            pause_manifest = optarg;
            break;
        case 'P':
            pause_path = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc - 1 || runs < 2 || warmup < 0) {
    usage:
        fputs("usage: phases [-n RUNS] [-w WARMUP] [-z ZEROVM -c PAUSE_MANIFEST -P PAUSE] HELLO\n",
              stderr);
        return 2;
    }
    hello = argv[optind];
    debug = getenv("PHASES_DEBUG") != NULL;
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || access(hello, X_OK) < 0) {
        fprintf(stderr, "phases: cannot use '%s' or /dev/null\n", hello);
        return 2;
    }

    bench("spawn_bare", "fork + execve(hello) + wait", run_spawn_bare, NULL);
    bench("spawn_vfork", "vfork + execve(hello) + wait (as posix_spawn)", run_spawn_vfork, NULL);

    /* Filters first: capturing them runs zerovm once. */
    const char *why = "no -z/-c/-P given";
    if (zerovm && pause_manifest && pause_path)
        why = capture_filters(zerovm, pause_manifest, pause_path);
    if (!why && nfilters == 0)
        why = "no filter captured";

    static struct { const char *name, *desc; uint64_t flags; } ns[] = {
        {"ns_user", "clone3(NEWUSER) + _exit", CLONE_NEWUSER},
        {"ns_user_mnt", "clone3(NEWUSER|NEWNS) + _exit", CLONE_NEWUSER | CLONE_NEWNS},
        {"ns_user_pid", "clone3(NEWUSER|NEWPID) + _exit", CLONE_NEWUSER | CLONE_NEWPID},
        {"ns_user_net", "clone3(NEWUSER|NEWNET) + _exit", CLONE_NEWUSER | CLONE_NEWNET},
        {"ns_user_ipc", "clone3(NEWUSER|NEWIPC) + _exit", CLONE_NEWUSER | CLONE_NEWIPC},
        {"ns_user_uts", "clone3(NEWUSER|NEWUTS) + _exit", CLONE_NEWUSER | CLONE_NEWUTS},
        {"ns_user_cgroup", "clone3(NEWUSER|NEWCGROUP) + _exit", CLONE_NEWUSER | CLONE_NEWCGROUP},
        {"ns_all", "clone3(zerovm's 7 namespaces) + _exit", NS_ALL},
        {"ns_all_nonet", "clone3(the 7 without NEWNET) + _exit", NS_ALL & ~(uint64_t)CLONE_NEWNET},
    };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        bench(ns[i].name, ns[i].desc, run_ns_exit, &ns[i].flags);

    static jail_opts_t j_exec = {NS_ALL, STAGE_EXEC};
    static jail_opts_t j_nonet = {NS_ALL & ~(uint64_t)CLONE_NEWNET, STAGE_EXEC};
    static jail_opts_t j_rootfs = {NS_ALL, STAGE_ROOTFS};
    static jail_opts_t j_bpf = {NS_ALL, STAGE_BPF};
    static jail_opts_t j_bpf_nonet = {NS_ALL & ~(uint64_t)CLONE_NEWNET, STAGE_BPF};
    bench("jail_exec", "7 namespaces + id maps + sync + execveat(hello)", run_jail, &j_exec);
    bench("jail_nonet_exec", "jail_exec without NEWNET", run_jail, &j_nonet);
    bench("jail_rootfs_exec", "jail_exec + tmpfs root, /dev, /proc, pivot_root, ids, caps",
          run_jail, &j_rootfs);

    const char *bpf_desc = "jail_rootfs_exec + zerovm's filters (pre-built) + CONTINUE-all supervisor";
    const char *cached_desc = "load zerovm's filters from pre-built BPF (fresh child)";
    const char *floor_desc = "jail_rootfs_bpf_exec without NEWNET";
    if (why) {
        skip_variant("jail_rootfs_bpf_exec", bpf_desc, why);
        skip_variant("jail_nonet_rootfs_bpf_exec", floor_desc, why);
        skip_variant("seccomp_cached_load", cached_desc, why);
    } else {
        bench("jail_rootfs_bpf_exec", bpf_desc, run_jail, &j_bpf);
        bench("jail_nonet_rootfs_bpf_exec", floor_desc, run_jail, &j_bpf_nonet);
        bench("seccomp_cached_load", cached_desc, run_cached_seccomp, NULL);
    }
#ifdef HAVE_ZVM_SECCOMP
    bench("seccomp_zvm_build_load", "zerovm's zvm__seccomp_load() as built: filter set-up + load (fresh child)",
          run_zvm_seccomp, NULL);
#else
    skip_variant("seccomp_zvm_build_load", "zerovm's zvm__seccomp_load() as built: filter set-up + load (fresh child)",
              "not linked with libzvmengine");
#endif
    bench("syscall_plain", "getppid() without a filter, per call", run_syscall_plain, NULL);
    if (why)
        skip_variant("syscall_filtered", "getppid() under zerovm's filters, per call", why);
    else
        bench("syscall_filtered", "getppid() under zerovm's filters, per call",
              run_syscall_filtered, NULL);
    bench("notify_rtt", "getppid() notified + answered CONTINUE, per call", run_notify_rtt, NULL);
    static int sync_wake = 1;
    bench("notify_rtt_sync", "notify_rtt with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6)",
          run_notify_rtt, &sync_wake);
    run_all();
    fputs(first_output ? "[]\n" : "\n]\n", stdout);
    for (int i = 0; i < nfilters; i++)
        free(filters[i].prog);
    return 0;
}
