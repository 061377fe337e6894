/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two seccomp policies, checked against the kernel: a child process
 * loads zerovm's filters (zvm__seccomp_load, as the jail does) and makes
 * one system call; the parent sees how it ended.  The wasm policy must
 * kill on everything the host functions do not need; the ELF policy must
 * kill the dangerous calls and refuse the rest with an errno.
 *
 * Descriptors 0 to ZVM_VFD_LOW-1, opens, forks, execs and new seccomp
 * filters go to the supervisor (the notify filter); no supervisor runs
 * here and the child closes the listener, so such a call fails with
 * ENOSYS (the child's socket is moved above the routed numbers).
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/native/native.h"
#include "tap.h"

/* How a call ended.  BROKEN: the child never made it (the filters failed
 * to load, or it died otherwise): never what a case expects. */
enum outcome { ALLOWED, KILLED, REFUSED, BROKEN };

typedef struct probe {
    const char *name;
    long (*call)(int fd);              /* 0 or more on success, -1 with errno */
} probe_t;

static long p_write(int fd) { return write(fd, "x", 1); }
static long p_clock(int fd) { (void)fd; struct timespec t; return clock_gettime(CLOCK_MONOTONIC, &t); }
static long p_random(int fd) { (void)fd; char b[8]; return getrandom(b, sizeof b, 0); }
static long p_mprotect(int fd)
{
    (void)fd;
    void *m = mmap(NULL, 65536, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? -1 : mprotect(m, 65536, PROT_READ | PROT_WRITE);
}
static long p_ppoll(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    struct timespec zero = {0, 0};
    return ppoll(&p, 1, &zero, NULL);
}
static long p_getpid(int fd) { (void)fd; return syscall(SYS_getpid); }
static long p_socket(int fd) { (void)fd; return socket(AF_INET, SOCK_STREAM, 0); }
static long p_execve(int fd)
{
    (void)fd;
    char *argv[] = {"/bin/true", NULL};
    return syscall(SYS_execve, "/bin/true", argv, NULL);
}
static long p_fork(int fd) { (void)fd; return syscall(SYS_fork); }
static long p_ptrace(int fd) { (void)fd; return syscall(SYS_ptrace, 0, 0, 0, 0); }
static long p_kill(int fd) { (void)fd; return syscall(SYS_kill, 1, 0); }
static long p_ioctl(int fd) { return syscall(SYS_ioctl, fd, FIONREAD, NULL); }
static long p_prctl(int fd) { (void)fd; return prctl(PR_GET_NAME, (unsigned long)0); }
static long p_unshare(int fd) { (void)fd; return syscall(SYS_unshare, CLONE_NEWUSER); }
static long p_mount(int fd) { (void)fd; return syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL); }
static long p_keyctl(int fd) { (void)fd; return syscall(SYS_keyctl, 0, 0, 0, 0, 0); }
static long p_chdir(int fd) { (void)fd; return syscall(SYS_chdir, "/"); }
static long p_uname(int fd) { (void)fd; char b[512]; return syscall(SYS_uname, b); }
static long p_sync(int fd) { (void)fd; return syscall(SYS_sync); }
/* On a bad descriptor the kernel's syncfs fails with EBADF: 0 shows that
 * the call never reached it. */
static long p_syncfs(int fd) { (void)fd; return syscall(SYS_syncfs, -1); }

/* A filter of the program's own: getppid fails with EXDEV, all else runs. */
static struct sock_filter own_rules[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXDEV),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static struct sock_fprog own_filter = {.len = 4, .filter = own_rules};
static long p_stack_prctl(int fd)
{
    (void)fd;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &own_filter, 0, 0) < 0)
        return -1;
    return syscall(SYS_getppid);
}
static long p_stack_seccomp(int fd)
{
    (void)fd;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &own_filter) < 0)
        return -1;
    return syscall(SYS_getppid);
}
static long p_listener(int fd)
{
    (void)fd;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &own_filter);
}

/* Fork, load the filters (wasm or ELF policy), make the call, report. */
static enum outcome run(bool wasm, const probe_t *p, int *err_out)
{
    int sv[2];
    *err_out = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return BROKEN;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        /* Above the numbers the notify filter routes. */
        int high = fcntl(sv[1], F_DUPFD_CLOEXEC, ZVM_VFD_LOW);
        if (high < 0)
            _exit(102);
        sv[1] = high;
        /* Fill 3-9 (numbers the notify filter routes), so that the
         * listener lands above them and closing it is not itself routed. */
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 3; fd < 10; fd++)
            if (fd != nul && fcntl(fd, F_GETFD) < 0 && dup2(nul, fd) < 0)
                _exit(102);
        zvm_error_t err = {0};
        int listener = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || zvm__seccomp_load(wasm, &listener, &err) < 0 ||
            listener < 10)
            _exit(100);
        /* No supervisor: a call routed to it fails with ENOSYS. */
        close(listener);
        long rc = p->call(sv[1]);
        int e = rc < 0 ? errno : 0;
        /* The verdict, after a mark: write on a real descriptor is allowed
         * by both policies. */
        char msg[1 + sizeof e];
        msg[0] = 'V';
        memcpy(msg + 1, &e, sizeof e);
        if (write(sv[1], msg, sizeof msg) != (ssize_t)sizeof msg)
            _exit(101);
        syscall(SYS_exit_group, rc < 0 ? 1 : 0);
    }
    close(sv[1]);
    int st = 0, e = 0;
    char buf[64];
    size_t have = 0;
    ssize_t got;
    while (have < sizeof buf && (got = read(sv[0], buf + have, sizeof buf - have)) > 0)
        have += (size_t)got;
    waitpid(pid, &st, 0);
    close(sv[0]);
    /* The probe's own "x" may come first. */
    char *mark = memchr(buf, 'V', have);
    bool told = mark && (size_t)(buf + have - mark) >= 1 + sizeof e;
    if (told)
        memcpy(&e, mark + 1, sizeof e);
    *err_out = e;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
        return KILLED;
    if (!told || !WIFEXITED(st))
        return BROKEN;
    if (WEXITSTATUS(st) == 0)
        return ALLOWED;
    return WEXITSTATUS(st) == 1 ? REFUSED : BROKEN;
}

static const char *name_of(enum outcome o)
{
    return o == ALLOWED ? "allowed" : o == KILLED ? "killed" : o == REFUSED ? "refused" : "broken";
}

/* want_errno: for REFUSED, the errno the call must fail with. */
static void expect_errno(bool wasm, const probe_t *p, enum outcome want, int want_errno)
{
    int e = 0;
    enum outcome got = run(wasm, p, &e);
    bool ok = got == want && (want != REFUSED || e == want_errno);
    tap_ok(ok, "%s policy: %s is %s%s%s (got %s%s%s)", wasm ? "wasm" : "ELF", p->name,
           name_of(want), want == REFUSED ? " with " : "", want == REFUSED ? strerror(want_errno) : "",
           name_of(got), got == REFUSED ? ", " : "", got == REFUSED ? strerror(e) : "");
}

static void expect(bool wasm, const probe_t *p, enum outcome want)
{
    expect_errno(wasm, p, want, 0);
}

int main(void)
{
    static const probe_t write_p = {"write on a real descriptor", p_write},
                         clock_p = {"clock_gettime", p_clock},
                         random_p = {"getrandom", p_random},
                         mprotect_p = {"mmap + mprotect (memory.grow)", p_mprotect},
                         getpid_p = {"getpid", p_getpid}, socket_p = {"socket", p_socket},
                         execve_p = {"execve", p_execve}, fork_p = {"fork", p_fork},
                         ptrace_p = {"ptrace", p_ptrace}, kill_p = {"kill", p_kill},
                         ioctl_p = {"ioctl", p_ioctl}, prctl_p = {"prctl", p_prctl},
                         unshare_p = {"unshare", p_unshare}, mount_p = {"mount", p_mount},
                         keyctl_p = {"keyctl", p_keyctl}, chdir_p = {"chdir", p_chdir},
                         uname_p = {"uname", p_uname},
                         ppoll_p = {"ppoll (poll_oneoff)", p_ppoll};

    /* What the wasm host functions need. */
    expect(true, &write_p, ALLOWED);
    expect(true, &clock_p, ALLOWED);
    expect(true, &random_p, ALLOWED);
    expect(true, &mprotect_p, ALLOWED);
    expect(true, &ppoll_p, ALLOWED);
    /* Everything else kills, even what the ELF policy allows. */
    const probe_t *wasm_killed[] = {&getpid_p, &socket_p, &execve_p, &fork_p, &ptrace_p,
                                    &kill_p, &ioctl_p, &prctl_p, &unshare_p, &mount_p,
                                    &keyctl_p, &chdir_p, &uname_p};
    for (size_t i = 0; i < sizeof wasm_killed / sizeof wasm_killed[0]; i++)
        expect(true, wasm_killed[i], KILLED);

    /* The ELF policy: ordinary calls run, escapes kill, sockets refused. */
    expect(false, &write_p, ALLOWED);
    expect(false, &getpid_p, ALLOWED);
    expect(false, &chdir_p, ALLOWED);
    expect(false, &uname_p, ALLOWED);
    expect_errno(false, &socket_p, REFUSED, EACCES);
    /* sync and syncfs are no-ops returning 0: the host's disks are not the
     * sandbox's to flush. */
    static const probe_t sync_p = {"sync", p_sync}, syncfs_p = {"syncfs(-1)", p_syncfs},
                         stack_prctl_p = {"a filter of its own by prctl (getppid -> EXDEV)", p_stack_prctl},
                         stack_seccomp_p = {"a filter of its own by seccomp TSYNC (getppid -> EXDEV)", p_stack_seccomp},
                         listener_p = {"seccomp(NEW_LISTENER)", p_listener};
    expect(false, &sync_p, ALLOWED);
    expect(false, &syncfs_p, ALLOWED);
    /* Filters of the program's own go to the supervisor, which refuses a
     * listener and counts the rest (hostile seccomp_stack checks its
     * answers); with no supervisor here they fail with ENOSYS. */
    expect_errno(false, &stack_prctl_p, REFUSED, ENOSYS);
    expect_errno(false, &stack_seccomp_p, REFUSED, ENOSYS);
    expect_errno(false, &listener_p, REFUSED, ENOSYS);
    expect(true, &sync_p, KILLED);
    expect_errno(true, &listener_p, REFUSED, ENOSYS);
    expect(true, &stack_seccomp_p, KILLED);
    expect(false, &ptrace_p, KILLED);
    expect(false, &unshare_p, KILLED);
    expect(false, &mount_p, KILLED);
    expect(false, &keyctl_p, KILLED);

    return tap_done();
}
