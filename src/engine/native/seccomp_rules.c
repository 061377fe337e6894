/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native engine's system call filters, written with libseccomp.  This
 * file is compiled into seccomp-gen, which runs at build time and emits the
 * BPF programs that seccomp.c installs: the filter does not depend on the
 * session, so compiling it once per build instead of once per run saves a
 * millisecond of every start.  Policy (default deny):
 *
 *   - what ordinary programs (python3 included) need is allowed;
 *   - calls that only matter to escape or attack the kernel kill the whole
 *     program (ptrace, mount, unshare, setns, keyctl, bpf, perf_event_open,
 *     userfaultfd, io_uring, kexec, modules, ...);
 *   - anything else fails with ENOSYS, so libraries fall back gracefully;
 *   - calls on numbers that may be virtual descriptors (channels: 0-9 and
 *     the block), every open(), fork, clone, execve and close_range go to
 *     the supervisor as user notifications; it answers the ones on
 *     channels and lets the rest continue unchanged in the kernel.
 *
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/filter.h>

#define KILL SCMP_ACT_KILL_PROCESS

static const int allowed[] = {
    /* memory */
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
    SCMP_SYS(madvise), SCMP_SYS(msync), SCMP_SYS(mincore), SCMP_SYS(membarrier),
    /* files inside the jail */
    SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(access), SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents),
    SCMP_SYS(getdents64), SCMP_SYS(getcwd), SCMP_SYS(chdir), SCMP_SYS(fchdir), SCMP_SYS(mkdir),
    SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
    SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink),
    SCMP_SYS(symlinkat), SCMP_SYS(chmod), SCMP_SYS(fchmodat), SCMP_SYS(truncate),
    SCMP_SYS(utimensat), SCMP_SYS(utimes), SCMP_SYS(utime), SCMP_SYS(futimesat),
    SCMP_SYS(statfs), SCMP_SYS(umask), SCMP_SYS(getxattr), SCMP_SYS(lgetxattr),
    SCMP_SYS(listxattr), SCMP_SYS(llistxattr), SCMP_SYS(pipe), SCMP_SYS(pipe2),
    SCMP_SYS(flock), SCMP_SYS(fadvise64), SCMP_SYS(readahead),
    SCMP_SYS(fstatfs), SCMP_SYS(fchmod), SCMP_SYS(fgetxattr),
    SCMP_SYS(flistxattr), SCMP_SYS(fallocate), SCMP_SYS(sync_file_range), SCMP_SYS(close_range),
    /* Not inotify: its instances are a budget of the caller's user (the
     * sandbox's user namespace is charged to it), and a watch on a host
     * inode the jail shows (/dev/self, the host /usr) tells when other
     * users run those programs.  inotify_init and inotify_init1 fail with
     * ENOSYS (the default) and programs fall back to polling; fanotify_init
     * kills (below). */
    /* waiting and events on descriptors the program made itself */
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
    SCMP_SYS(epoll_create), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(eventfd), SCMP_SYS(eventfd2),
    SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
    SCMP_SYS(signalfd), SCMP_SYS(signalfd4),
    /* local sockets made by socketpair() only */
    SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
    SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
    /* processes and threads (namespaces forbidden below) */
    SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(exit),
    SCMP_SYS(exit_group), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(kill), SCMP_SYS(tkill),
    SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid), SCMP_SYS(getuid),
    SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getgroups),
    SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getpgrp), SCMP_SYS(getpgid),
    SCMP_SYS(getsid), SCMP_SYS(setsid), SCMP_SYS(setpgid), SCMP_SYS(futex), SCMP_SYS(futex_waitv),
    SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(set_tid_address),
    SCMP_SYS(rseq), SCMP_SYS(arch_prctl), SCMP_SYS(capget),
    SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_send_signal),
    /* signals */
    SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigpending), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(rt_sigsuspend),
    SCMP_SYS(rt_sigqueueinfo), SCMP_SYS(rt_tgsigqueueinfo), SCMP_SYS(sigaltstack),
    SCMP_SYS(pause), SCMP_SYS(alarm), SCMP_SYS(getitimer), SCMP_SYS(setitimer),
    /* time, scheduling, limits, information */
    SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(times),
    SCMP_SYS(timer_create), SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime),
    SCMP_SYS(timer_getoverrun), SCMP_SYS(timer_delete),
    SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_setaffinity),
    SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler), SCMP_SYS(sched_get_priority_max),
    SCMP_SYS(sched_get_priority_min), SCMP_SYS(sched_rr_get_interval), SCMP_SYS(getpriority),
    SCMP_SYS(setpriority), SCMP_SYS(getrusage), SCMP_SYS(getrlimit), SCMP_SYS(setrlimit),
    SCMP_SYS(prlimit64), SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(getrandom),
    SCMP_SYS(getcpu),
};

/* Never needed by a sandboxed program; reaching for one ends it. */
static const int deadly[] = {
    SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
    SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
    SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(keyctl), SCMP_SYS(add_key),
    SCMP_SYS(request_key), SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
    SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
    SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
    SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(open_by_handle_at),
    SCMP_SYS(name_to_handle_at), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(reboot),
    SCMP_SYS(acct), SCMP_SYS(quotactl), SCMP_SYS(iopl), SCMP_SYS(ioperm), SCMP_SYS(syslog),
    SCMP_SYS(settimeofday), SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime),
    SCMP_SYS(adjtimex), SCMP_SYS(fsopen), SCMP_SYS(fsmount), SCMP_SYS(fsconfig),
    SCMP_SYS(fspick), SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(mount_setattr),
    SCMP_SYS(pidfd_getfd), SCMP_SYS(kcmp), SCMP_SYS(lookup_dcookie), SCMP_SYS(modify_ldt),
    SCMP_SYS(personality), SCMP_SYS(process_madvise), SCMP_SYS(fanotify_init),
    SCMP_SYS(vhangup), SCMP_SYS(nfsservctl), SCMP_SYS(uselib),
    SCMP_SYS(sethostname), SCMP_SYS(setdomainname), SCMP_SYS(mbind),
    SCMP_SYS(set_mempolicy), SCMP_SYS(migrate_pages), SCMP_SYS(move_pages),
    SCMP_SYS(landlock_create_ruleset),
};

/* Calls whose first argument is a descriptor: virtual ones go to the
 * supervisor, real ones run as usual. */
static const int fd_calls[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(readv),
    SCMP_SYS(writev), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat),
    SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(ioctl), SCMP_SYS(fcntl), SCMP_SYS(fsync),
    SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(dup),
    SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(openat),
};

/* Descriptor-to-descriptor copies: on a virtual descriptor the supervisor
 * refuses them (EINVAL), and callers fall back to read and write, which
 * are counted.  The numbers are the arguments holding descriptors. */
static const struct { int nr; unsigned args[2]; } copy_calls[] = {
    {SCMP_SYS(sendfile), {0, 1}},  {SCMP_SYS(splice), {0, 2}},
    {SCMP_SYS(tee), {0, 1}},       {SCMP_SYS(copy_file_range), {0, 2}},
    {SCMP_SYS(vmsplice), {0, 0}},
};

static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
               const struct scmp_arg_cmp *cmp, zvm_error_t *err)
{
    int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
    if (rc < 0 && rc != -EEXIST) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        zvm_error_errno(err, -rc, "seccomp rule for '%s'", name ? name : "?");
        free(name);
        return -1;
    }
    return 0;
}

/* Notify when argument `arg` may be a virtual descriptor: below
 * ZVM_VFD_LOW, or the block. */
static int add_virtual(scmp_filter_ctx ctx, int nr, unsigned arg, zvm_error_t *err)
{
    struct scmp_arg_cmp std[] = {SCMP_CMP32(arg, SCMP_CMP_LE, ZVM_VFD_LOW - 1)};
    struct scmp_arg_cmp block[] = {
        SCMP_CMP32(arg, SCMP_CMP_MASKED_EQ, ~(ZVM_VFD_COUNT - 1), ZVM_VFD_BASE)};
    if (add(ctx, SCMP_ACT_NOTIFY, nr, 1, std, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, nr, 1, block, err) < 0)
        return -1;
    return 0;
}

static const unsigned long ns_flags = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                      CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWTIME;

static int build_policy(scmp_filter_ctx ctx, zvm_error_t *err)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL, err) < 0)
            return -1;
    for (size_t i = 0; i < sizeof deadly / sizeof deadly[0]; i++)
        if (add(ctx, KILL, deadly[i], 0, NULL, err) < 0)
            return -1;
    /* Descriptor calls and opens are allowed here; the notify filter
     * (build_notify) takes the ones on channels to the supervisor. */
    for (size_t i = 0; i < sizeof fd_calls / sizeof fd_calls[0]; i++)
        if (add(ctx, SCMP_ACT_ALLOW, fd_calls[i], 0, NULL, err) < 0)
            return -1;
    for (size_t i = 0; i < sizeof copy_calls / sizeof copy_calls[0]; i++)
        if (add(ctx, SCMP_ACT_ALLOW, copy_calls[i].nr, 0, NULL, err) < 0)
            return -1;
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(creat), 0, NULL, err) < 0)
        return -1;
    /* mmap of a virtual descriptor: refused by the kernel (the descriptor
     * does not exist), nothing to add. */
    /* clone3 takes its flags in memory, out of the filter's sight: ENOSYS
     * (the default) makes libc fall back to clone.  openat2 goes to the
     * supervisor (the notify filter), which answers ENOSYS for a channel
     * alias, so that the caller falls back to openat, and lets the rest
     * continue: the wasm host functions resolve paths with it, and an ASan
     * build runs them under this policy. */
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat2), 0, NULL, err) < 0)
        return -1;

    /* Threads and fork, but no new namespaces. */
    struct scmp_arg_cmp no_ns[] = {SCMP_A0_64(SCMP_CMP_MASKED_EQ, ns_flags, 0)};
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, no_ns, err) < 0)
        return -1;
    for (unsigned b = 0; b < 64; b++) {
        uint64_t bit = 1ull << b;
        if (!(ns_flags & bit))
            continue;
        struct scmp_arg_cmp one[] = {SCMP_A0_64(SCMP_CMP_MASKED_EQ, bit, bit)};
        if (add(ctx, KILL, SCMP_SYS(clone), 1, one, err) < 0)
            return -1;
    }

    /* prctl, except making the program undumpable: the supervisor reads and
     * writes its memory through /proc/<pid>/mem, which that would close. */
    struct scmp_arg_cmp not_dumpable[] = {SCMP_A0_32(SCMP_CMP_NE, PR_SET_DUMPABLE)};
    struct scmp_arg_cmp dumpable[] = {SCMP_A0_32(SCMP_CMP_EQ, PR_SET_DUMPABLE)};
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, not_dumpable, err) < 0 ||
        add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 1, dumpable, err) < 0)
        return -1;
    /* Filters of the program's own (chromium's and systemd's sandboxes
     * add some) may stack on ours, by prctl(PR_SET_SECCOMP) or seccomp():
     * a filter only ever makes a call stricter.  Both go to the supervisor
     * (the notify filter), which refuses a listener of the program's own
     * (its filter, newer than ours, would take the notifications of equal
     * precedence before our supervisor) and counts the filters, kernel
     * memory outside RLIMIT_AS.  Allowed here, since the notify filter
     * itself is installed after this one, with NEW_LISTENER. */
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 0, NULL, err) < 0)
        return -1;
    /* sync() and syncfs() would make the host flush its disks; inside a
     * sandbox they promise nothing (a channel's bytes are the supervisor's
     * to keep; fsync of a channel is served), so they return 0 untouched. */
    if (add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(sync), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(syncfs), 0, NULL, err) < 0)
        return -1;
    /* memfd_create is left to the default (ENOSYS): its pages are host
     * memory outside RLIMIT_AS; the tmpfs root (size Memory) is where a
     * program keeps files. */
    /* Sockets: only unnamed local pairs.  No socket() at all, so no network,
     * no abstract unix sockets, no netlink. */
    struct scmp_arg_cmp unix_only[] = {SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX)};
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1, unix_only, err) < 0 ||
        add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0, NULL, err) < 0)
        return -1;
    /* ioctl on real descriptors is allowed: the jail holds no terminal
     * (setsid, and fds 0-2 are /dev/null underneath), so TIOCSTI has no
     * target. */
    /* Identity changes are refused rather than fatal (programs probe them). */
    static const int ids[] = {SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
                              SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
                              SCMP_SYS(setgroups), SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
                              SCMP_SYS(capset), SCMP_SYS(chown), SCMP_SYS(fchown),
                              SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(mknod),
                              SCMP_SYS(mknodat), SCMP_SYS(mlock), SCMP_SYS(mlock2),
                              SCMP_SYS(mlockall), SCMP_SYS(munlock), SCMP_SYS(munlockall),
                              SCMP_SYS(setxattr), SCMP_SYS(lsetxattr), SCMP_SYS(fsetxattr),
                              SCMP_SYS(removexattr), SCMP_SYS(lremovexattr),
                              SCMP_SYS(fremovexattr), SCMP_SYS(connect), SCMP_SYS(bind),
                              SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4)};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (add(ctx, SCMP_ACT_ERRNO(EPERM), ids[i], 0, NULL, err) < 0)
            return -1;
    return 0;
}

/*
 * The policy for a wasm program: the compiled module cannot make a system
 * call (wasm2c code only calls the host functions), so this lists what the
 * host functions (src/engine/wasm) need and kills the program on anything
 * else.  No processes, no sockets, no signals handlers, no ioctl.
 */
static const int wasm_allowed[] = {
    /* files and channels (channel calls are notified by the other filter) */
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(readv),
    SCMP_SYS(writev), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek), SCMP_SYS(close),
    SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fcntl), SCMP_SYS(fsync),
    SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(getdents64),
    SCMP_SYS(openat), SCMP_SYS(mkdirat), SCMP_SYS(unlinkat), SCMP_SYS(renameat),
    SCMP_SYS(renameat2), SCMP_SYS(readlinkat), SCMP_SYS(symlinkat), SCMP_SYS(linkat),
    SCMP_SYS(utimensat), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
    /* WASI paths resolve beneath their directory (RESOLVE_BENEATH).  The
     * supervisor does not see openat2's path: wasi.c opens channel aliases
     * with openat, by absolute path. */
    SCMP_SYS(openat2),
    /* linear memory (memory.grow is an mprotect) and the host's heap */
    SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(madvise),
    SCMP_SYS(brk),
    /* clocks, random, yielding */
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(sched_yield),
    /* poll_oneoff on streams (a channel's descriptor is not the kernel's:
     * POLLNVAL, or its /dev/null placeholder, which is always ready) */
    SCMP_SYS(ppoll),
    /* the end: exit, or a trap (a signal, its return, the longjmp's mask,
     * and messages to the supervisor on the sync socket: the listener, a
     * trap) */
    SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sigaltstack),
};

static int build_wasm_policy(scmp_filter_ctx ctx, zvm_error_t *err)
{
    for (size_t i = 0; i < sizeof wasm_allowed / sizeof wasm_allowed[0]; i++)
        if (add(ctx, SCMP_ACT_ALLOW, wasm_allowed[i], 0, NULL, err) < 0)
            return -1;
    /* The notify filter is installed after this one, with a listener;
     * any later seccomp() goes to the supervisor, which refuses it. */
    struct scmp_arg_cmp listener[] = {SCMP_A1_64(SCMP_CMP_MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                                                 SECCOMP_FILTER_FLAG_NEW_LISTENER)};
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1, listener, err) < 0)
        return -1;
    /* The limits are set after the filter (limits.c), on the child itself. */
    struct scmp_arg_cmp self[] = {SCMP_A0_32(SCMP_CMP_EQ, 0)};
    if (add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, self, err) < 0 ||
        add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setrlimit), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getrlimit), 0, NULL, err) < 0)
        return -1;
    return 0;
}

/* The second filter: which calls the supervisor answers.  Default allow;
 * stacked on the policy, the stricter verdict wins (kill > errno > notify >
 * allow), so this one only ever turns an allowed call into a notification.
 * Two filters because libseccomp cannot express "3 <= fd < BASE" in one rule. */
static int build_notify(scmp_filter_ctx ctx, zvm_error_t *err)
{
    for (size_t i = 0; i < sizeof fd_calls / sizeof fd_calls[0]; i++)
        if (fd_calls[i] != SCMP_SYS(openat) && fd_calls[i] != SCMP_SYS(fsync) &&
            fd_calls[i] != SCMP_SYS(fdatasync) && add_virtual(ctx, fd_calls[i], 0, err) < 0)
            return -1;
    /* fsync and fdatasync on any descriptor: a channel's is served; on a
     * host file the jail shows (the host /usr, an image bound plainly) it
     * would make the host flush its disks, so it does nothing there, as
     * sync and syncfs do nothing. */
    if (add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(fsync), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(fdatasync), 0, NULL, err) < 0)
        return -1;
    /* dup2 and dup3 also when the new number may be virtual. */
    if (add_virtual(ctx, SCMP_SYS(dup2), 1, err) < 0 || add_virtual(ctx, SCMP_SYS(dup3), 1, err) < 0)
        return -1;
    /* Each process has its own table of virtual descriptors: the
     * supervisor follows forks, clones and execs, and close_range. */
    static const int table_calls[] = {SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(clone),
                                      SCMP_SYS(execve), SCMP_SYS(execveat),
                                      SCMP_SYS(close_range)};
    for (size_t i = 0; i < sizeof table_calls / sizeof table_calls[0]; i++)
        if (add(ctx, SCMP_ACT_NOTIFY, table_calls[i], 0, NULL, err) < 0)
            return -1;
    for (size_t i = 0; i < sizeof copy_calls / sizeof copy_calls[0]; i++)
        for (int k = 0; k < 2; k++)
            if (add_virtual(ctx, copy_calls[i].nr, copy_calls[i].args[k], err) < 0)
                return -1;
    /* Kernel buffers are host memory that RLIMIT_AS does not see: sockets
     * keep their default sizes.  (In this filter because the policy allows
     * setsockopt whole, and the stricter verdict wins.) */
    static const int buffer_opts[] = {SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE};
    for (size_t i = 0; i < sizeof buffer_opts / sizeof buffer_opts[0]; i++) {
        struct scmp_arg_cmp opt[] = {SCMP_A1_32(SCMP_CMP_EQ, SOL_SOCKET),
                                     SCMP_A2_32(SCMP_CMP_EQ, (uint32_t)buffer_opts[i])};
        if (add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsockopt), 2, opt, err) < 0)
            return -1;
    }
    /* Pipes likewise keep at most their default 16 pages: F_SETPIPE_SZ may
     * shrink a pipe, not grow it (EPERM, the kernel's own answer past its
     * per-user limits).  The kernel takes the size as an unsigned int. */
    struct scmp_arg_cmp pipe_grow[] = {SCMP_A1_32(SCMP_CMP_EQ, F_SETPIPE_SZ),
                                       SCMP_A2_32(SCMP_CMP_GT, ZVM_PIPE_MAX_BYTES)};
    if (add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 2, pipe_grow, err) < 0)
        return -1;
    /* Kernel buffers are admitted by the supervisor against the sandbox's
     * budget (kbuf.c). */
    if (add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socketpair), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(pipe), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(pipe2), 0, NULL, err) < 0)
        return -1;
    /* New filters of the program's own: the supervisor refuses a listener
     * and counts them (at most ZVM_OWN_FILTERS_MAX a process). */
    struct scmp_arg_cmp set_filter[] = {SCMP_A0_32(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER)};
    struct scmp_arg_cmp set_seccomp[] = {SCMP_A0_32(SCMP_CMP_EQ, PR_SET_SECCOMP)};
    if (add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(seccomp), 1, set_filter, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(prctl), 1, set_seccomp, err) < 0)
        return -1;
    /* sysinfo(2) is answered by the supervisor with the sandbox's figures
     * (Memory, its processes, its age), not the host's. */
    if (add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sysinfo), 0, NULL, err) < 0)
        return -1;
    /* Every open goes to the supervisor, which answers channel aliases and
     * lets the rest continue unchanged. */
    if (add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(open), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat2), 0, NULL, err) < 0 ||
        add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(creat), 0, NULL, err) < 0)
        return -1;
    return 0;
}

/* Emit one filter as a C array named `name`. */
static int emit(FILE *out, const char *name, uint32_t def,
                int (*build)(scmp_filter_ctx, zvm_error_t *), zvm_error_t *err)
{
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return zvm_error_set(err, ENOMEM, "seccomp_init failed");
    /* Other architectures (x32, i386 via int 0x80) are killed outright. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc < 0) {
        seccomp_release(ctx);
        return zvm_error_errno(err, -rc, "seccomp_attr_set");
    }
    if (build(ctx, err) < 0) {
        seccomp_release(ctx);
        return -1;
    }
    FILE *mem = tmpfile();
    if (!mem || (rc = seccomp_export_bpf(ctx, fileno(mem))) < 0) {
        seccomp_release(ctx);
        if (mem)
            fclose(mem);
        return zvm_error_errno(err, rc < 0 ? -rc : errno, "seccomp_export_bpf");
    }
    seccomp_release(ctx);
    rewind(mem);
    fprintf(out, "static const struct sock_filter %s[] = {\n", name);
    struct sock_filter f;
    size_t n = 0;
    while (fread(&f, sizeof f, 1, mem) == 1) {
        fprintf(out, "    {0x%04x, %u, %u, 0x%08x},\n", f.code, f.jt, f.jf, f.k);
        n++;
    }
    fclose(mem);
    fprintf(out, "};\n\n");
    return n > 0 ? 0 : zvm_error_set(err, EINVAL, "empty filter '%s'", name);
}

int main(int argc, char **argv)
{
    zvm_error_t err = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: seccomp-gen OUTPUT.h\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fprintf(out, "/* Generated by seccomp-gen from src/engine/native/seccomp_rules.c:\n"
                 " * the native engine's filters as BPF.  Do not edit. */\n"
                 "#include <linux/filter.h>\n\n");
    /* The notify filter first: the policy refuses a new listener. */
    if (emit(out, "zvm_notify_filter", SCMP_ACT_ALLOW, build_notify, &err) < 0 ||
        emit(out, "zvm_policy_filter", SCMP_ACT_ERRNO(ENOSYS), build_policy, &err) < 0 ||
        emit(out, "zvm_wasm_policy_filter", KILL, build_wasm_policy, &err) < 0) {
        fprintf(stderr, "seccomp-gen: %s\n", err.msg);
        fclose(out);
        remove(argv[1]);
        return 1;
    }
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
