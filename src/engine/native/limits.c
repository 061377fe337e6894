/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource limits of the jailed program, applied by the child before it
 * drops privileges.  rlimits work everywhere without cgroups:
 *
 *   RLIMIT_AS       Memory from the manifest (per process)
 *   RLIMIT_NPROC    ZVM_NPROC_LIMIT processes and threads, the jail's init
 *                   included (counted per user
 *                   namespace, so the host user's other processes do not count)
 *   RLIMIT_NOFILE   ZVM_NOFILE_LIMIT: every real descriptor stays below the
 *                   virtual ones, so the filter can tell them apart
 *   RLIMIT_CPU      Timeout + 1 s, a backstop to the supervisor's clock
 *   RLIMIT_SIGPENDING  ZVM_SIGPENDING_LIMIT queued signals and POSIX timers
 *                   (each timer holds one queued signal) for the whole
 *                   sandbox
 *   RLIMIT_CORE 0, RLIMIT_MEMLOCK 0, RLIMIT_MSGQUEUE 0
 *
 * NPROC, SIGPENDING, MSGQUEUE and MEMLOCK are counted per user namespace
 * (the kernel's ucounts): every process of the sandbox is uid 1000 of the
 * jail's namespace, so the limit holds for the sandbox as a whole, and the
 * same amount is all the sandbox can take from the budget of the user who
 * created the namespace (the caller, root included), to which the kernel
 * charges it as well.
 *
 * Hard and soft limits are equal and the program has no CAP_SYS_RESOURCE,
 * so it cannot raise them.
 *
 * rlimits are per process.  Where the system delegates a cgroup v2 subtree
 * with the memory and pids controllers enabled for our children (the root
 * cgroup as root, or a parent a service manager prepared), the sandbox also
 * gets a child cgroup of its own: memory.max = Memory and memory.swap.max =
 * 0 for all its processes together, pids.max, and memory.events tells a
 * memory-limit end for certain.  We never write outside the child we made.
 * $ZVM_CGROUP_ROOT replaces /sys/fs/cgroup (tests).
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/util.h"

static int set(int resource, rlim_t value, const char *name, zvm_error_t *err)
{
    struct rlimit rl = {value, value};
    if (setrlimit(resource, &rl) < 0)
        return zvm_error_errno(err, errno, "setrlimit %s", name);
    return 0;
}

int zvm__limits_apply(const zvm_session_t *s, uint64_t extra_as, zvm_error_t *err)
{
    const zvm_manifest_t *m = &s->manifest;
    rlim_t as = (rlim_t)m->memory;
    if (extra_as > RLIM_INFINITY - 1 - as)
        as = RLIM_INFINITY - 1;
    else
        as += extra_as;
    if (set(RLIMIT_AS, as, "RLIMIT_AS", err) < 0 ||
        set(RLIMIT_NPROC, ZVM_NPROC_LIMIT, "RLIMIT_NPROC", err) < 0 ||
        set(RLIMIT_NOFILE, ZVM_NOFILE_LIMIT, "RLIMIT_NOFILE", err) < 0 ||
        set(RLIMIT_CPU, (rlim_t)m->timeout + 1, "RLIMIT_CPU", err) < 0 ||
        set(RLIMIT_CORE, 0, "RLIMIT_CORE", err) < 0 ||
        set(RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK", err) < 0 ||
        set(RLIMIT_MSGQUEUE, 0, "RLIMIT_MSGQUEUE", err) < 0 ||
        set(RLIMIT_SIGPENDING, ZVM_SIGPENDING_LIMIT, "RLIMIT_SIGPENDING", err) < 0)
        return -1;
    /* A stack larger than the address space would make exec fail. */
    struct rlimit st;
    if (getrlimit(RLIMIT_STACK, &st) == 0 &&
        (st.rlim_cur == RLIM_INFINITY || st.rlim_cur > m->memory / 4))
        return set(RLIMIT_STACK, m->memory / 4 < (8u << 20) ? (rlim_t)(m->memory / 4) : (8u << 20), "RLIMIT_STACK", err);
    return 0;
}

/* Our own cgroup v2 directory, or NULL. */
static char *own_cgroup(void)
{
    const char *root = getenv("ZVM_CGROUP_ROOT");
    if (!root || !*root) {
        struct statfs sf;
        root = "/sys/fs/cgroup";
        if (statfs(root, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
            return NULL;
    }
    cleanup_free char *text = NULL;
    if (zvm_read_file("/proc/self/cgroup", 65536, &text, NULL) < 0)
        return NULL;
    const char *line = strncmp(text, "0::", 3) == 0 ? text : strstr(text, "\n0::");
    if (!line)
        return NULL;
    line += line == text ? 3 : 4;
    size_t len = strcspn(line, "\n");
    char *dir = NULL;
    if (asprintf(&dir, "%s%.*s", root, (int)len, line) < 0)
        return NULL;
    return dir;
}

static bool lists(const char *dir, const char *file, const char *a, const char *b)
{
    char path[4200];
    cleanup_free char *text = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (zvm_read_file(path, 4096, &text, NULL) < 0)
        return false;
    char *save = NULL;
    bool has_a = false, has_b = false;
    for (char *w = strtok_r(text, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
        has_a |= strcmp(w, a) == 0;
        has_b |= strcmp(w, b) == 0;
    }
    return has_a && has_b;
}

/* O_CREAT changes nothing on cgroupfs (a knob exists or cannot be made),
 * and lets a stand-in directory record what was written. */
static int write_knob(const char *dir, const char *knob, unsigned long long value)
{
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/%s", dir, knob);
    int n = snprintf(text, sizeof text, "%llu\n", value);
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    return zvm_write_all(fd, text, (size_t)n);
}

void zvm__cgroup_create(const zvm_session_t *s, zvm_cgroup_t *cg)
{
    static unsigned serial;
    cg->dirfd = -1;
    cg->path[0] = '\0';
    cleanup_free char *base = own_cgroup();
    if (!base || access(base, W_OK) < 0 || !lists(base, "cgroup.subtree_control", "memory", "pids"))
        return;
    snprintf(cg->path, sizeof cg->path, "%s/zerovm-%d-%u", base, (int)getpid(), serial++);
    if (mkdir(cg->path, 0755) < 0) {
        cg->path[0] = '\0';
        return;
    }
    if (write_knob(cg->path, "memory.max", s->manifest.memory) < 0 ||
        write_knob(cg->path, "pids.max", ZVM_NPROC_LIMIT) < 0 ||
        (cg->dirfd = open(cg->path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rmdir(cg->path);
        cg->path[0] = '\0';
        cg->dirfd = -1;
        return;
    }
    write_knob(cg->path, "memory.swap.max", 0); /* absent without swap accounting */
}

static unsigned long long read_field(const char *dir, const char *file, const char *key)
{
    char path[4200];
    cleanup_free char *text = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (zvm_read_file(path, 65536, &text, NULL) < 0)
        return 0;
    if (!key)
        return strtoull(text, NULL, 10);
    size_t kl = strlen(key);
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
            return strtoull(l + kl + 1, NULL, 10);
    return 0;
}

void zvm__cgroup_finish(zvm_cgroup_t *cg, bool *oom, uint64_t *peak)
{
    *oom = false;
    if (cg->dirfd < 0)
        return;
    *oom = read_field(cg->path, "memory.events", "oom_kill") > 0 ||
           read_field(cg->path, "memory.events", "max") > 0;
    uint64_t p = read_field(cg->path, "memory.peak", NULL);
    if (p > *peak)
        *peak = p;
    close(cg->dirfd);
    cg->dirfd = -1;
    /* The pid namespace is gone, but the kernel may still be releasing it. */
    for (int i = 0; i < 100 && rmdir(cg->path) < 0 && errno == EBUSY; i++)
        usleep(1000);
}
