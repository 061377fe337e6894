/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Installing the native engine's seccomp filters in the child.  The BPF
 * programs were compiled at build time from seccomp_rules.c (libseccomp)
 * into seccomp_bpf.h; here they are only handed to the kernel: first the
 * policy, then the notify filter, whose listener goes to the supervisor
 * (the notify filter sends every later seccomp() there: no second
 * listener, and a bounded number of the program's own filters).  A wasm program gets its own, far
 * tighter policy: the compiled module makes no system calls of its own,
 * only the host functions do (file and channel I/O, clocks, memory).
 */
#include "engine/native/native.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_bpf.h"

static long install(const struct sock_filter *code, size_t len, unsigned flags)
{
    struct sock_fprog prog = {.len = (unsigned short)len, .filter = (struct sock_filter *)code};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

int zvm__seccomp_load(bool wasm, int *listener, zvm_error_t *err)
{
    const struct sock_filter *policy = wasm ? zvm_wasm_policy_filter : zvm_policy_filter;
    size_t len = wasm ? sizeof zvm_wasm_policy_filter / sizeof zvm_wasm_policy_filter[0]
                      : sizeof zvm_policy_filter / sizeof zvm_policy_filter[0];
    if (install(policy, len, 0) < 0)
        return zvm_error_errno(err, errno, "cannot load the seccomp filter");
    long fd = install(zvm_notify_filter, sizeof zvm_notify_filter / sizeof zvm_notify_filter[0],
                      SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (fd < 0)
        return zvm_error_errno(err, errno,
                               "cannot load the seccomp notify filter (Linux 5.5 or later is needed)");
    *listener = (int)fd;
    return 0;
}
