/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compile jail: wasm2c and the C compiler run on a module's bytes (the
 * attacker's), so each runs in a reduced jail of its own, bounded.
 *
 *   zerovm ── leader (its own process group; dies with zerovm: PDEATHSIG)
 *              └─ init: pid 1 of new user, mount, pid, net, ipc and uts
 *                 namespaces (dies with the leader: PDEATHSIG; when it
 *                 ends, the kernel kills everything else in the namespace)
 *                   └─ the tool (wasm2c, or cc and its cc1/as/ld)
 *
 * Inside: a read-only root that shows only /usr (and the /bin, /lib...
 * links or trees into it), /dev/null, and the build directory read-write
 * at /build (the module, the generated C, the object).  No network (an
 * empty network namespace), no capabilities, no_new_privs, a seccomp
 * filter that refuses what a compiler never needs (mounts, namespaces,
 * ptrace, sockets, bpf, keyrings...).  Limits: RLIMIT_AS of
 * ZEROVM_COMPILE_MEMORY for every process, RLIMIT_CPU and a wall-clock
 * deadline of ZEROVM_COMPILE_TIMEOUT for the whole compile; at the deadline
 * zerovm kills the leader's group and the leader, which ends the namespace.
 *
 * This is not the native engine's jail (engine/native/): that one has a
 * supervisor answering seccomp notifications for channels and a policy for
 * one program; a compiler forks and execs a pipeline of tools, so this
 * jail keeps the kernel parts (namespaces, a read-only root, rlimits,
 * capabilities dropped as jail.c does) and a deny-list filter without a
 * supervisor.
 */
#include "engine/wasm/wasm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/native/native.h"
#include "lib/util.h"

#define BUILD_INSIDE "/build"

int zvm__compile_limits(zvm_compile_limits_t *l, zvm_error_t *err)
{
    l->memory = ZVM_COMPILE_MEMORY_DEFAULT;
    l->seconds = ZVM_COMPILE_TIMEOUT_DEFAULT;
    const char *m = getenv(ZVM_COMPILE_MEMORY_ENV);
    const char *t = getenv(ZVM_COMPILE_TIMEOUT_ENV);
    char *end;
    if (m && *m) {
        errno = 0;
        unsigned long long v = strtoull(m, &end, 10);
        if (errno || *end || v < (16u << 20))
            return zvm_error_set(err, EINVAL,
                                 "%s='%s' is not a number of bytes of at least 16 MiB",
                                 ZVM_COMPILE_MEMORY_ENV, m);
        l->memory = v;
    }
    if (t && *t) {
        errno = 0;
        unsigned long v = strtoul(t, &end, 10);
        if (errno || *end || v < 1 || v > 86400)
            return zvm_error_set(err, EINVAL, "%s='%s' is not a number of seconds (1 to 86400)",
                                 ZVM_COMPILE_TIMEOUT_ENV, t);
        l->seconds = (unsigned)v;
    }
    return 0;
}

/* ---- inside (the leader and the init) ----------------------------------- */

/* What the init tells zerovm, on the result pipe: one record. */
typedef struct result {
    char kind;                         /* 'E' set-up failed, 'W' the tool's wait status */
    int status;
    char msg[256];
} result_t;

_Noreturn static void tell_fail(int out, const char *what, int e)
{
    result_t r = {.kind = 'E'};
    if (e)
        snprintf(r.msg, sizeof r.msg, "%s: %s", what, strerror(e));
    else
        snprintf(r.msg, sizeof r.msg, "%s", what);
    ssize_t n = write(out, &r, sizeof r);
    (void)n;
    _exit(127);
}

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The flags a bind mount of src must keep when remounted (the kernel
 * refuses to drop nosuid, nodev... locked by a less privileged namespace). */
static unsigned long locked_flags(const char *src)
{
    struct statvfs v;
    unsigned long f = 0;
    if (statvfs(src, &v) == 0) {
        if (v.f_flag & ST_NOSUID)
            f |= MS_NOSUID;
        if (v.f_flag & ST_NODEV)
            f |= MS_NODEV;
        if (v.f_flag & ST_NOEXEC)
            f |= MS_NOEXEC;
        if (v.f_flag & ST_NOATIME)
            f |= MS_NOATIME;
        if (v.f_flag & ST_NODIRATIME)
            f |= MS_NODIRATIME;
        if (v.f_flag & ST_RELATIME)
            f |= MS_RELATIME;
    }
    return f;
}

static int bind_ro_rw(const char *src, const char *dst, bool readonly)
{
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -1;
    /* nodev, but for /dev/null itself (a device on a nodev mount is
     * unusable). */
    unsigned long f = MS_BIND | MS_REMOUNT | MS_NOSUID | locked_flags(src);
    if (strcmp(dst, "dev/null") != 0)
        f |= MS_NODEV;
    return mount(NULL, dst, NULL, f | (readonly ? MS_RDONLY : 0), NULL);
}

/* The new root: a tmpfs at /tmp (made read-only once filled), pivoted into. */
static void build_root(int out, const char *build_dir)
{
    static const char *const tops[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
    /* The build directory may be under the attach point (a cache in
     * /tmp): hold it before the tmpfs covers it. */
    char build_src[64];
    int bfd = open(build_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (bfd < 0)
        tell_fail(out, "cannot open the build directory", errno);
    snprintf(build_src, sizeof build_src, "/proc/self/fd/%d", bfd);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        tell_fail(out, "cannot make the mounts private", errno);
    if (mount("tmpfs", ZVM_ATTACH_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0)
        tell_fail(out, "cannot mount the compile root", errno);
    if (chdir(ZVM_ATTACH_DIR) < 0)
        tell_fail(out, "chdir", errno);
    if (mkdir("usr", 0755) < 0 || bind_ro_rw("/usr", "usr", true) < 0)
        tell_fail(out, "cannot show /usr", errno);
    for (size_t i = 0; i < sizeof tops / sizeof *tops; i++) {
        char host[64], target[4096];
        snprintf(host, sizeof host, "/%s", tops[i]);
        struct stat st;
        if (lstat(host, &st) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(host, target, sizeof target - 1);
            if (n < 0)
                tell_fail(out, "readlink", errno);
            target[n] = '\0';
            if (symlink(target, tops[i]) < 0)
                tell_fail(out, "symlink", errno);
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdir(tops[i], 0755) < 0 || bind_ro_rw(host, tops[i], true) < 0)
                tell_fail(out, "cannot show a system directory", errno);
        }
    }
    int fd;
    if (mkdir("dev", 0755) < 0 || (fd = open("dev/null", O_CREAT | O_WRONLY | O_CLOEXEC, 0666)) < 0)
        tell_fail(out, "cannot make /dev/null", errno);
    close(fd);
    if (bind_ro_rw("/dev/null", "dev/null", false) < 0)
        tell_fail(out, "cannot show /dev/null", errno);
    if (mkdir(BUILD_INSIDE + 1, 0755) < 0 || bind_ro_rw(build_src, BUILD_INSIDE + 1, false) < 0)
        tell_fail(out, "cannot show the build directory", errno);
    close(bfd);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        tell_fail(out, "pivot_root", errno);
    if (umount2(".", MNT_DETACH) < 0)
        tell_fail(out, "cannot detach the host's tree", errno);
    if (chdir("/") < 0)
        tell_fail(out, "chdir", errno);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        tell_fail(out, "cannot make the compile root read-only", errno);
}

/* A deny list: what a compiler pipeline never needs.  Everything else is
 * allowed (the tools fork, exec, map and write files). */
static void load_filter(int out)
{
    static const int denied[] = {
        SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2,
        SYS_pivot_root, SYS_chroot, SYS_unshare, SYS_setns, SYS_bpf, SYS_perf_event_open,
        SYS_keyctl, SYS_add_key, SYS_request_key, SYS_userfaultfd, SYS_kexec_load,
        SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module,
        SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_open_by_handle_at,
        SYS_name_to_handle_at, SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_quotactl,
        SYS_fsopen, SYS_fsmount, SYS_fsconfig, SYS_fspick, SYS_move_mount, SYS_open_tree,
        SYS_mount_setattr, SYS_syslog, SYS_sethostname, SYS_setdomainname, SYS_settimeofday,
        SYS_clock_settime, SYS_adjtimex, SYS_iopl, SYS_ioperm, SYS_socket, SYS_socketpair,
        SYS_personality, SYS_vhangup, SYS_lookup_dcookie, SYS_kcmp,
    };
    enum { N = sizeof denied / sizeof *denied };
    struct sock_filter f[N + 8];
    size_t i = 0;
    /* Only x86-64 system calls (no i386 or x32 numbering to slip past). */
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, N + 1, 0);
    for (size_t k = 0; k < N; k++)
        /* Match: jump to the EPERM return after the list and the allow. */
        f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[k],
                                              (unsigned char)(N - k), 0);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    struct sock_fprog prog = {.len = (unsigned short)i, .filter = f};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        tell_fail(out, "cannot load the compile filter", errno);
}

static void set_limit(int out, int which, rlim_t soft, rlim_t hard)
{
    struct rlimit r = {.rlim_cur = soft, .rlim_max = hard};
    if (setrlimit(which, &r) < 0)
        tell_fail(out, "setrlimit", errno);
}

/* pid 1 of the namespace: build the root, confine, run the tool, tell its
 * wait status.  When it returns, the namespace (and any straggler) ends. */
_Noreturn static void run_init(int out, int alive, const char *build_dir, char *const argv[],
                               const zvm_compile_limits_t *l)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        tell_fail(out, "PR_SET_PDEATHSIG", errno);
    /* The leader holds the other end: a hang-up means it is gone already,
     * and nobody would kill us. */
    struct pollfd p = {.fd = alive, .events = POLLIN};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
        _exit(127);
    build_root(out, build_dir);
    zvm_error_t err = {0};
    if (zvm__jail_drop_capabilities(&err) < 0)
        tell_fail(out, err.msg, 0);
    /* Every process of the compile: its address space, its CPU time. */
    set_limit(out, RLIMIT_AS, l->memory, l->memory);
    set_limit(out, RLIMIT_CPU, l->seconds, l->seconds + 1);
    set_limit(out, RLIMIT_FSIZE, l->memory, l->memory);
    set_limit(out, RLIMIT_CORE, 0, 0);
    load_filter(out);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        tell_fail(out, "PR_SET_PDEATHSIG", errno);
    pid_t tool = fork();
    if (tool < 0)
        tell_fail(out, "fork", errno);
    if (tool == 0) {
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int log = open(BUILD_INSIDE "/errors", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
            chdir(BUILD_INSIDE) < 0)
            tell_fail(out, "cannot set up the tool's descriptors", errno);
        char *envp[] = {"PATH=/usr/bin:/bin", "TMPDIR=" BUILD_INSIDE, "HOME=" BUILD_INSIDE,
                        "LC_ALL=C", NULL};
        execve(argv[0], argv, envp);
        result_t r = {.kind = 'E'};
        snprintf(r.msg, sizeof r.msg, "cannot run '%.200s': %s", argv[0], strerror(errno));
        ssize_t n = write(out, &r, sizeof r);
        (void)n;
        _exit(127);
    }
    int st;
    while (waitpid(tool, &st, 0) < 0)
        if (errno != EINTR)
            tell_fail(out, "waitpid", errno);
    result_t r = {.kind = 'W', .status = st};
    ssize_t n = write(out, &r, sizeof r);
    (void)n;
    _exit(0);
}

/* The leader: its own group, the namespaces, the init. */
_Noreturn static void run_leader(pid_t zerovm, int out, const char *build_dir, char *const argv[],
                                 const zvm_compile_limits_t *l)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != zerovm)
        _exit(127);
    setpgid(0, 0);
    /* Nothing of zerovm's stays open here but the result pipe: not even
     * its standard descriptors (a caller waiting for their end would wait
     * for the compile). */
    if (out <= 2 && (out = fcntl(out, F_DUPFD_CLOEXEC, 3)) < 0)
        _exit(127);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        tell_fail(out, "cannot open /dev/null", errno);
    if (out > 3)
        syscall(SYS_close_range, 3, out - 1, 0);
    syscall(SYS_close_range, out + 1, ~0u, 0);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                CLONE_NEWUTS) < 0)
        tell_fail(out, "cannot create the compile's namespaces", errno);
    char map[64];
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    if (write_text("/proc/self/setgroups", "deny") < 0 || write_text("/proc/self/uid_map", map) < 0)
        tell_fail(out, "cannot write the compile's uid map", errno);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    if (write_text("/proc/self/gid_map", map) < 0)
        tell_fail(out, "cannot write the compile's gid map", errno);
    /* Entering the namespace changed our credentials: again. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != zerovm)
        _exit(127);
    int alive[2];
    if (pipe2(alive, O_CLOEXEC) < 0)
        tell_fail(out, "pipe", errno);
    pid_t init = fork();
    if (init < 0)
        tell_fail(out, "fork", errno);
    if (init == 0) {
        close(alive[1]);
        run_init(out, alive[0], build_dir, argv, l);
    }
    close(alive[0]);
    close(out);
    int st;
    while (waitpid(init, &st, 0) < 0)
        if (errno != EINTR)
            _exit(127);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 127);
}

/* ---- outside (zerovm) --------------------------------------------------- */

static bool log_says(const char *build_dir, const char *const *words)
{
    char path[4200];
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/errors", build_dir);
    if (zvm_read_file(path, 1 << 20, &text, &len) < 0)
        return false;
    bool found = false;
    for (size_t i = 0; words[i] && !found; i++)
        found = strstr(text, words[i]) != NULL;
    free(text);
    return found;
}

int zvm__compile_run(const char *build_dir, char *const argv[], const zvm_compile_limits_t *l,
                     uint64_t deadline_ns, zvm_error_t *err)
{
    int res[2];
    if (pipe2(res, O_CLOEXEC) < 0)
        return zvm_error_errno(err, errno, "pipe");
    pid_t zerovm = getpid();
    pid_t leader = fork();
    if (leader < 0) {
        int e = errno;
        close(res[0]);
        close(res[1]);
        return zvm_error_errno(err, e, "cannot start the compile");
    }
    if (leader == 0) {
        close(res[0]);
        run_leader(zerovm, res[1], build_dir, argv, l);
    }
    close(res[1]);
    /* Its group too (the leader's setpgid may not have run yet: both). */
    setpgid(leader, leader);
    cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, leader, 0);
    bool late = false;
    while (pidfd >= 0) {
        uint64_t now = zvm_now_ns();
        if (now >= deadline_ns) {
            late = true;
            break;
        }
        uint64_t ms = (deadline_ns - now + 999999) / 1000000;
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int n = poll(&p, 1, ms > 1000 ? 1000 : (int)ms);
        if (n > 0 || (n < 0 && errno != EINTR))
            break;
    }
    int watch_errno = pidfd < 0 ? errno : 0;
    if (pidfd < 0 || late) {
        /* The group, then the leader: its death ends the init, whose end
         * ends every process left in the namespace. */
        kill(-leader, SIGKILL);
        kill(leader, SIGKILL);
    }
    int st;
    while (waitpid(leader, &st, 0) < 0 && errno == EINTR)
        ;
    result_t r = {0};
    ssize_t n;
    do
        n = read(res[0], &r, sizeof r);
    while (n < 0 && errno == EINTR);
    close(res[0]);
    if (watch_errno)
        return zvm_error_errno(err, watch_errno, "cannot watch the compile (pidfd_open)");
    if (late)
        return zvm_error_set(err, ETIMEDOUT,
                             "the compile of the module took longer than %s (%u s)",
                             ZVM_COMPILE_TIMEOUT_ENV, l->seconds);
    if (n != (ssize_t)sizeof r || (r.kind != 'E' && r.kind != 'W'))
        return zvm_error_set(err, EIO, "the compile jail ended without a result");
    r.msg[sizeof r.msg - 1] = '\0';
    if (r.kind == 'E')
        return zvm_error_set(err, EIO, "compile jail: %s", r.msg);
    int ts = r.status;
    static const char *const time_words[] = {"CPU time limit exceeded", "Killed signal terminated",
                                             NULL};
    static const char *const memory_words[] = {"out of memory", "memory exhausted",
                                               "Cannot allocate memory", "std::bad_alloc",
                                               "cannot allocate", NULL};
    if ((WIFSIGNALED(ts) && (WTERMSIG(ts) == SIGXCPU || WTERMSIG(ts) == SIGKILL)) ||
        (!(WIFEXITED(ts) && WEXITSTATUS(ts) == 0) && log_says(build_dir, time_words)))
        return zvm_error_set(err, ETIMEDOUT,
                             "the compile of the module took longer than %s (%u s of CPU time)",
                             ZVM_COMPILE_TIMEOUT_ENV, l->seconds);
    if (!(WIFEXITED(ts) && WEXITSTATUS(ts) == 0) &&
        (WIFSIGNALED(ts) || log_says(build_dir, memory_words)))
        return zvm_error_set(err, ENOMEM,
                             "the compile of the module needs more memory than %s (%llu bytes)",
                             ZVM_COMPILE_MEMORY_ENV, (unsigned long long)l->memory);
    return WIFEXITED(ts) && WEXITSTATUS(ts) == 0 ? 0 : 1;
}
