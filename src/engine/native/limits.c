/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource limits of the jailed program, applied by the child before it
 * drops privileges.  rlimits work everywhere without cgroups:
 *
 *   RLIMIT_AS       Memory from the manifest (per process)
 *   RLIMIT_NPROC    ZVM_NPROC_LIMIT processes and threads (counted per user
 *                   namespace, so the host user's other processes do not count)
 *   RLIMIT_NOFILE   ZVM_NOFILE_LIMIT: every real descriptor stays below the
 *                   virtual ones, so the filter can tell them apart
 *   RLIMIT_CPU      Timeout + 1 s, a backstop to the supervisor's clock
 *   RLIMIT_CORE 0, RLIMIT_MEMLOCK 0, RLIMIT_MSGQUEUE 0
 *
 * Hard and soft limits are equal and the program has no CAP_SYS_RESOURCE,
 * so it cannot raise them.
 */
#include "engine/native/native.h"

#include <errno.h>
#include <sys/resource.h>

static int set(int resource, rlim_t value, const char *name, zvm_error_t *err)
{
    struct rlimit rl = {value, value};
    if (setrlimit(resource, &rl) < 0)
        return zvm_error_errno(err, errno, "setrlimit %s", name);
    return 0;
}

int zvm__limits_apply(const zvm_session_t *s, zvm_error_t *err)
{
    const zvm_manifest_t *m = &s->manifest;
    if (set(RLIMIT_AS, (rlim_t)m->memory, "RLIMIT_AS", err) < 0 ||
        set(RLIMIT_NPROC, ZVM_NPROC_LIMIT, "RLIMIT_NPROC", err) < 0 ||
        set(RLIMIT_NOFILE, ZVM_NOFILE_LIMIT, "RLIMIT_NOFILE", err) < 0 ||
        set(RLIMIT_CPU, (rlim_t)m->timeout + 1, "RLIMIT_CPU", err) < 0 ||
        set(RLIMIT_CORE, 0, "RLIMIT_CORE", err) < 0 ||
        set(RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK", err) < 0 ||
        set(RLIMIT_MSGQUEUE, 0, "RLIMIT_MSGQUEUE", err) < 0)
        return -1;
    /* A stack larger than the address space would make exec fail. */
    struct rlimit st;
    if (getrlimit(RLIMIT_STACK, &st) == 0 &&
        (st.rlim_cur == RLIM_INFINITY || st.rlim_cur > m->memory / 4))
        return set(RLIMIT_STACK, m->memory / 4 < (8u << 20) ? (rlim_t)(m->memory / 4) : (8u << 20), "RLIMIT_STACK", err);
    return 0;
}
