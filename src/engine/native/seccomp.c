/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Installing the native engine's seccomp filters in the child.  The BPF
 * programs were compiled at build time from seccomp_rules.c (libseccomp)
 * into seccomp_bpf.h; here they are only handed to the kernel: first the
 * notify filter (its listener goes to the supervisor), then the policy,
 * which forbids seccomp() itself.
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

int zvm__seccomp_load(int *listener, zvm_error_t *err)
{
    long fd = install(zvm_notify_filter, sizeof zvm_notify_filter / sizeof zvm_notify_filter[0],
                      SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (fd < 0)
        return zvm_error_errno(err, errno,
                               "cannot load the seccomp notify filter (Linux 5.5 or later is needed)");
    if (install(zvm_policy_filter, sizeof zvm_policy_filter / sizeof zvm_policy_filter[0], 0) < 0) {
        close((int)fd);
        return zvm_error_errno(err, errno, "cannot load the seccomp filter");
    }
    *listener = (int)fd;
    return 0;
}
