/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child's side of the native engine: from clone() to execve() (or to
 * a runner such as the wasm engine's), a straight list of steps, each of which either succeeds or reports why on
 * the sync socket and exits.  The child starts in new user, mount, pid,
 * network, ipc, uts and cgroup namespaces with every capability in them and
 * none outside.
 *
 * An ELF program does not run as pid 1 of the pid namespace: the kernel
 * gives that process no default signal actions (kill(getpid(), SIGKILL)
 * returns, abort() ends in SIGSEGV) and makes it the parent of every
 * orphan.  As bubblewrap does, the child forks just before the filter is
 * loaded: the original process stays pid 1 as a minimal init (run_init)
 * and the program is pid 2.  The init runs none of the program's code: it
 * is uid 1000 without capabilities, with no_new_privs, undumpable (no
 * /proc/1/mem, no ptrace for the program), holding only the sync socket;
 * it forwards the signals it gets to the program, reaps every orphan, and
 * when the program ends tells the supervisor the program's own wait status
 * (ZVM_SYNC_STATUS), then exits, which ends the namespace as before.
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"

/* Send one message (type byte + text, optionally an fd) to the parent. */
static void sync_send(int sock, char type, const char *text, int fd)
{
    char buf[ZVM_ERROR_MSG_MAX + 1];
    size_t len = strnlen(text, ZVM_ERROR_MSG_MAX - 1);
    buf[0] = type;
    memcpy(buf + 1, text, len);
    struct iovec iov = {.iov_base = buf, .iov_len = len + 1};
    union {
        char raw[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = ctl.raw;
        msg.msg_controllen = sizeof ctl.raw;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

_Noreturn static void fail(const zvm_jail_t *j, const zvm_error_t *err)
{
    sync_send(j->sync_fd, ZVM_SYNC_ERROR, err->msg, -1);
    _exit(127);
}

static int wait_for_parent(const zvm_jail_t *j, zvm_error_t *err)
{
    char go;
    ssize_t n;
    do
        n = read(j->sync_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return zvm_error_set(err, EPIPE, "the supervisor went away before the jail was set up");
    return 0;
}

static int become_inside_user(zvm_error_t *err)
{
    /* No supplementary group of the caller's, where the gid map allows
     * setgroups (a privileged caller, native.c's write_id_maps); EPERM
     * when it was denied (an unprivileged caller keeps its groups). */
    if (setgroups(0, NULL) < 0 && errno != EPERM)
        return zvm_error_errno(err, errno, "setgroups");
    if (setresgid(ZVM_INSIDE_ID, ZVM_INSIDE_ID, ZVM_INSIDE_ID) < 0)
        return zvm_error_errno(err, errno, "setresgid");
    /* Keep the namespace's capabilities until they are dropped explicitly. */
    if (prctl(PR_SET_KEEPCAPS, 1) < 0)
        return zvm_error_errno(err, errno, "PR_SET_KEEPCAPS");
    if (setresuid(ZVM_INSIDE_ID, ZVM_INSIDE_ID, ZVM_INSIDE_ID) < 0)
        return zvm_error_errno(err, errno, "setresuid");
    return 0;
}

/*
 * The kernel clears the parent-death signal when the uid changes, so it is
 * set again as uid 1000.  If the supervisor died in between, its end of the
 * sync socket is closed: a hang-up there means nobody would kill us.
 * (getppid() cannot tell: as pid 1 of a new pid namespace our parent is 0.)
 */
static int die_with_supervisor(const zvm_jail_t *j, zvm_error_t *err)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return zvm_error_errno(err, errno, "PR_SET_PDEATHSIG");
    struct pollfd p = {.fd = j->sync_fd, .events = POLLIN};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
        _exit(127);
    return 0;
}

static int isolate_identity(zvm_error_t *err)
{
    if (sethostname("zerovm", 6) < 0 || setdomainname("zerovm", 6) < 0)
        return zvm_error_errno(err, errno, "cannot set the host name");
    if (setsid() < 0)
        return zvm_error_errno(err, errno, "setsid");
    return 0;
}

/* Standard descriptors are virtual (the filter sends them to the
 * supervisor); underneath they are /dev/null, so no real descriptor
 * 0-2 leads anywhere and open() never returns them. */
static int null_std_fds(zvm_error_t *err)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot open /dev/null");
    for (int i = 0; i < 3; i++)
        if (dup2(fd, i) < 0)
            return zvm_error_errno(err, errno, "dup2");
    if (fd > 2)
        close(fd);
    return 0;
}

int zvm__jail_drop_capabilities(zvm_error_t *err)
{
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return zvm_error_errno(err, errno, "cannot drop capability %d", cap);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return zvm_error_errno(err, errno, "cannot clear ambient capabilities");
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED) < 0)
        return zvm_error_errno(err, errno, "cannot lock securebits");
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};
    if (syscall(SYS_capset, &hdr, data) < 0)
        return zvm_error_errno(err, errno, "capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return zvm_error_errno(err, errno, "PR_SET_NO_NEW_PRIVS");
    return 0;
}

/*
 * The init's loop (see the top of the file).  Every signal is blocked
 * since before the fork, so each one is taken here by sigwaitinfo: a
 * SIGCHLD reaps whatever ended (orphans included), any other signal goes
 * on to the program.  The program's end is told on the sync socket; the
 * exit status repeats it as a shell would (128 + signal), should the
 * message be lost.
 */
/* The init is a copy of zerovm: /proc/1/cmdline (readable by anyone,
 * dumpable or not) would show zerovm's command line, host paths included.
 * Overwrite the argument area in place and name the process "init". */
static void hide_command_line(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* no /proc inside: nobody can read it either */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    /* Fields 48 and 49 (arg_start, arg_end), counted after the ")" that
     * closes field 2 (the name, which may hold spaces). */
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 48; field++)
        p = strchr(p + 1, ' ');
    unsigned long start, end;
    if (!p || sscanf(p, " %lu %lu", &start, &end) != 2 || end <= start)
        return;
    memset((void *)start, 0, end - start);
    memcpy((void *)start, "init", end - start < 5 ? end - start : 5);
    prctl(PR_SET_NAME, "init");
}

_Noreturn static void run_init(const zvm_jail_t *j, pid_t program)
{
    /* Nothing of the supervisor's stays open here but the sync socket. */
    if (j->sync_fd > 0)
        syscall(SYS_close_range, 0, j->sync_fd - 1, 0);
    syscall(SYS_close_range, j->sync_fd + 1, ~0u, 0);
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(program, sig);
            continue;
        }
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            if (w != program)
                continue;
            char text[16];
            snprintf(text, sizeof text, "%d", st);
            sync_send(j->sync_fd, ZVM_SYNC_STATUS, text, -1);
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        }
    }
}

/* Fork the program off the init; returns in the program's process. */
static int start_init(const zvm_jail_t *j, zvm_error_t *err)
{
    sigset_t all, old;
    sigfillset(&all);
    if (sigprocmask(SIG_SETMASK, &all, &old) < 0)
        return zvm_error_errno(err, errno, "sigprocmask");
    /* Undumpable before the fork, so that no moment exists where the
     * program could open the init's memory. */
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        return zvm_error_errno(err, errno, "PR_SET_DUMPABLE");
    /* Before the fork too: the program must never see zerovm's command
     * line at /proc/1 (its own exec replaces the copy it gets). */
    hide_command_line();
    /* Signals queued on the init count against the init's own limit and
     * are charged to the caller's budget of queued signals: the program
     * may not park more on pid 1 than it may on itself. */
    struct rlimit sigpending = {ZVM_SIGPENDING_LIMIT, ZVM_SIGPENDING_LIMIT};
    if (setrlimit(RLIMIT_SIGPENDING, &sigpending) < 0)
        return zvm_error_errno(err, errno, "RLIMIT_SIGPENDING");
    pid_t program = fork();
    if (program < 0)
        return zvm_error_errno(err, errno, "cannot fork the program off the jail's init");
    if (program > 0)
        run_init(j, program);
    /* The program: dumpable again (the supervisor reads its memory), its
     * signal mask as it was. */
    if (prctl(PR_SET_DUMPABLE, 1) < 0)
        return zvm_error_errno(err, errno, "PR_SET_DUMPABLE");
    if (sigprocmask(SIG_SETMASK, &old, NULL) < 0)
        return zvm_error_errno(err, errno, "sigprocmask");
    return 0;
}

_Noreturn void zvm__jail_child(const zvm_jail_t *j)
{
    zvm_error_t err = {0};
    int listener = -1;
    zvm_rootfs_sources_t sources;

    /* Die with the supervisor (set again below: a change of uid clears it). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (wait_for_parent(j, &err) < 0)                      /* uid/gid maps are written */
        fail(j, &err);
    if (zvm__rootfs_capture(j, &sources, &err) < 0 ||      /* host trees, as the caller */
        become_inside_user(&err) < 0 ||                    /* uid/gid 1000 inside */
        die_with_supervisor(j, &err) < 0 ||
        zvm__rootfs_build(j, &sources, &err) < 0 ||        /* new root, pivoted */
        isolate_identity(&err) < 0 ||                      /* host name, session */
        null_std_fds(&err) < 0 ||
        zvm__jail_drop_capabilities(&err) < 0)             /* no caps, no_new_privs */
        fail(j, &err);
    const zvm_jail_runner_t *runner = j->runner;
    if (runner) {
        if (runner->prepare(runner->arg, &err) < 0)
            fail(j, &err);
        /* No exec will close the supervisor's descriptors: close them all
         * but the sync socket now. */
        if ((j->sync_fd > 3 && syscall(SYS_close_range, 3, j->sync_fd - 1, 0) < 0) ||
            syscall(SYS_close_range, j->sync_fd + 1, ~0u, 0) < 0) {
            zvm_error_errno(&err, errno, "close_range");
            fail(j, &err);
        }
    } else if (syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
        /* Nothing of the supervisor's may survive exec; the sync socket and
         * the program fd are close-on-exec already. */
        zvm_error_errno(&err, errno, "close_range");
        fail(j, &err);
    } else if (start_init(j, &err) < 0) {                  /* pid 1 stays behind */
        fail(j, &err);
    }
    if (zvm__seccomp_load(runner && runner->tight_policy, &listener, &err) < 0)
        fail(j, &err);                                     /* the filter: last step */
    sync_send(j->sync_fd, ZVM_SYNC_LISTENER, "", listener);
    close(listener);
    /* Limits last: the address-space limit is the program's, not ours. */
    if (zvm__limits_apply(j->session, runner ? runner->extra_as : 0, &err) < 0)
        fail(j, &err);
    if (runner)
        runner->run(runner->arg, j->sync_fd);

    execve(j->exec_path, j->session->argv, j->session->envp);
    zvm_error_errno(&err, errno, "cannot execute '%s'", j->session->manifest.program);
    fail(j, &err);
}
