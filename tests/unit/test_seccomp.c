/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two seccomp policies, checked against the kernel: a child process
 * loads zerovm's filters (zvm__seccomp_load, as the jail does) and makes
 * one system call; the parent sees how it ended.  The wasm policy must
 * kill on everything the host functions do not need; the ELF policy must
 * kill the dangerous calls and refuse the rest with an errno.
 *
 * Descriptors 0 to ZVM_VFD_LOW-1, opens, forks and execs go to the
 * supervisor (the notify filter); no supervisor runs here, so no case
 * touches them under the ELF policy (the child's socket is moved above).
 */
#include <errno.h>
#include <fcntl.h>
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

enum outcome { ALLOWED, KILLED, REFUSED };

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

/* Fork, load the filters (wasm or ELF policy), make the call, report. */
static enum outcome run(bool wasm, const probe_t *p, int *err_out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return KILLED;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        /* Above the numbers the notify filter routes. */
        int high = fcntl(sv[1], F_DUPFD_CLOEXEC, ZVM_VFD_LOW);
        if (high < 0)
            _exit(102);
        sv[1] = high;
        zvm_error_t err = {0};
        int listener = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || zvm__seccomp_load(wasm, &listener, &err) < 0)
            _exit(100);
        long rc = p->call(sv[1]);
        int e = rc < 0 ? errno : 0;
        /* write on a real descriptor is allowed by both policies */
        if (write(sv[1], &e, sizeof e) != (ssize_t)sizeof e)
            _exit(101);
        syscall(SYS_exit_group, rc < 0 ? 1 : 0);
    }
    close(sv[1]);
    int st = 0, e = 0;
    ssize_t got;
    do
        got = read(sv[0], &e, sizeof e);
    while (got == 1);          /* the probe's own "x" */
    waitpid(pid, &st, 0);
    close(sv[0]);
    *err_out = e;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
        return KILLED;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return ALLOWED;
    return REFUSED;
}

static const char *name_of(enum outcome o)
{
    return o == ALLOWED ? "allowed" : o == KILLED ? "killed" : "refused";
}

static void expect(bool wasm, const probe_t *p, enum outcome want)
{
    int e = 0;
    enum outcome got = run(wasm, p, &e);
    tap_ok(got == want, "%s policy: %s is %s (got %s%s%s)", wasm ? "wasm" : "ELF", p->name,
           name_of(want), name_of(got), got == REFUSED ? ", " : "",
           got == REFUSED ? strerror(e) : "");
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
                         uname_p = {"uname", p_uname};

    /* What the wasm host functions need. */
    expect(true, &write_p, ALLOWED);
    expect(true, &clock_p, ALLOWED);
    expect(true, &random_p, ALLOWED);
    expect(true, &mprotect_p, ALLOWED);
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
    expect(false, &socket_p, REFUSED);
    expect(false, &ptrace_p, KILLED);
    expect(false, &unshare_p, KILLED);
    expect(false, &mount_p, KILLED);
    expect(false, &keyctl_p, KILLED);

    return tap_done();
}
