/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native engine: runs an ordinary Linux ELF program (static or dynamic,
 * python3 included) in fresh namespaces under a default-deny seccomp
 * filter, with every channel served by the supervisor.
 *
 *   validate   the program is an ELF executable for this machine
 *   run        clone3() the child into new namespaces (jail.c), write its
 *              uid/gid maps, let it build its root and exec, then supervise
 *              (supervisor.c) and turn the outcome into the report
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "lib/util.h"

static int native_probe(const unsigned char *head, size_t n)
{
    return n >= 4 && memcmp(head, "\177ELF", 4) == 0;
}

static int native_validate(zvm_session_t *s, zvm_report_t *r)
{
    zvm_error_t err = {0};
    zvm_elf_info_t info;
    cleanup_close int fd = zvm_open_retry(s->manifest.program, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_NOT_FOUND, "%s", s->manifest.program);
        return -1;
    }
    if (access(s->manifest.program, X_OK) < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_NOT_FOUND, "%s: not executable", s->manifest.program);
        return -1;
    }
    if (zvm__elf_inspect(fd, &info, &err) < 0) {
        r->validator = 1;
        zvm_report_set_exit(r, ZVM_EXIT_BAD_PROGRAM, "%s: %s", s->manifest.program, err.msg);
        return -1;
    }
    /* What run() needs of the program, so that it is read once. */
    zvm_elf_info_t *keep = malloc(sizeof *keep);
    if (!keep) {
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "out of memory");
        return -1;
    }
    *keep = info;
    s->engine_data = keep;
    s->engine_data_release = free;
    return 0;
}

/* Does some image provide `path` (e.g. the ELF interpreter)? */
static bool images_provide(const zvm_session_t *s, const char *path)
{
    for (size_t i = 0; i < s->nmounts; i++) {
        const char *t = s->mounts[i].target;
        size_t tl = strcmp(t, "/") == 0 ? 0 : strlen(t);
        if (strncmp(path, t, tl) != 0 || (path[tl] != '/' && path[tl] != '\0'))
            continue;
        char host[4096];
        snprintf(host, sizeof host, "%s%s", s->mounts[i].source, path + tl);
        if (access(host, F_OK) == 0)
            return true;
    }
    return false;
}

static int prepare_jail(zvm_session_t *s, zvm_jail_t *j, zvm_error_t *err)
{
    const zvm_elf_info_t *info = s->engine_data; /* native_validate's */
    if (!info)
        return zvm_error_set(err, EINVAL, "the program was not validated");
    zvm__jail_defaults(s, j);
    /* A dynamic program needs its interpreter and libraries: unless an image
     * brings them, show the host's /usr (read-only). */
    j->host_runtime = info->dynamic && !images_provide(s, info->interp);
    /* A program of the host's /usr runs from there (read-only inside), so it
     * finds its own prefix (python3's standard library); any other from
     * /dev/self, a read-only bind of the file. */
    j->exec_path = j->host_runtime && strncmp(s->manifest.program, "/usr/", 5) == 0
                       ? s->manifest.program
                       : "/dev/self";
    return 0;
}

void zvm__jail_defaults(const zvm_session_t *s, zvm_jail_t *j)
{
    memset(j, 0, sizeof *j);
    j->session = s;
    j->exec_path = "/dev/self";
    j->root_readonly = true;
    for (size_t i = 0; i < s->nmounts; i++) {
        if (strcmp(s->mounts[i].target, "/") == 0) {
            j->root_image = true;
            if (s->mounts[i].rw)
                j->root_readonly = false;
        }
    }
    if (!j->root_image)
        j->root_readonly = false;
    if (getuid() == 0) {
        j->outside_uid = ZVM_NOBODY_ID;
        j->outside_gid = ZVM_NOBODY_ID;
    } else {
        j->outside_uid = getuid();
        j->outside_gid = getgid();
    }
}

/*
 * The caller's supplementary groups would stay with the program (they
 * grant access to host inodes the jail shows: the host /usr, images,
 * /dev/self).  Only a gid map written with CAP_SETGID over the caller's
 * namespace leaves setgroups() allowed inside, so that the child can drop
 * them (become_inside_user): so the map is tried first as it is (root, or
 * a caller with CAP_SETGID, succeeds); an unprivileged caller is refused
 * (EPERM, nothing written) and must deny setgroups to map its own gid at
 * all, and its groups stay (docs/architecture.md says so).
 */
static int write_id_maps(pid_t pid, const zvm_jail_t *j, zvm_error_t *err)
{
    char path[64], map[64], gid_path[64];
    int rc;
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    snprintf(map, sizeof map, "%u %u 1\n", ZVM_INSIDE_ID, j->outside_uid);
    if ((rc = zvm_write_file(path, map)) < 0)
        return zvm_error_errno(err, -rc, "cannot write the uid map");
    snprintf(gid_path, sizeof gid_path, "/proc/%d/gid_map", (int)pid);
    snprintf(map, sizeof map, "%u %u 1\n", ZVM_INSIDE_ID, j->outside_gid);
    if (zvm_write_file(gid_path, map) == 0)
        return 0; /* privileged: setgroups stays allowed, the child drops the groups */
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    rc = zvm_write_file(path, "deny");
    if (rc < 0 && rc != -ENOENT)
        return zvm_error_errno(err, -rc, "cannot write '%s'", path);
    if ((rc = zvm_write_file(gid_path, map)) < 0)
        return zvm_error_errno(err, -rc, "cannot write the gid map");
    return 0;
}

/* infer_memory: an ELF program held by RLIMIT_AS cannot say it hit it; a
 * runner's program (wasm) has its memory capped exactly and ends normally. */
static void fill_report(zvm_session_t *s, const zvm_supervisor_result_t *res, bool oom,
                        bool infer_memory, zvm_report_t *r)
{
    int st = res->wait_status;
    r->user_time = (double)res->utime.tv_sec + (double)res->utime.tv_usec / 1e6;
    r->sys_time = (double)res->stime.tv_sec + (double)res->stime.tv_usec / 1e6;
    r->peak_memory = (uint64_t)res->maxrss_kb * 1024u;
    if (res->timed_out) {
        zvm_report_set_exit(r, ZVM_EXIT_TIMEOUT, NULL);
    } else if (res->trap[0]) {
        zvm_report_set_exit(r, ZVM_EXIT_TRAP, "%s", res->trap);
    } else if ((oom || res->memory_exceeded) && !res->error[0]) {
        /* The cgroup says so for certain. */
        zvm_report_set_exit(r, ZVM_EXIT_MEMORY, NULL);
        r->user_rc = WIFEXITED(st) ? (uint32_t)WEXITSTATUS(st) : 0;
    } else if (res->error[0]) {
        zvm_report_set_exit(r, res->exec_failed ? ZVM_EXIT_BAD_PROGRAM : ZVM_EXIT_SANDBOX_ERROR,
                            "%s", res->error);
        r->user_rc = 0;
    } else if (WIFEXITED(st)) {
        r->user_rc = (uint32_t)WEXITSTATUS(st);
        /* A wasm program's code is 32 bits; its status carries 8 (the
         * code, or 255 above 255).  The told code counts when the status
         * agrees with it. */
        if (res->has_exit_code &&
            (uint32_t)WEXITSTATUS(st) == (res->exit_code > 255 ? 255 : res->exit_code))
            r->user_rc = res->exit_code;
        /* rlimits cannot report themselves: an abnormal end with the
         * resident set at the limit is counted as the memory limit. */
        if (infer_memory && r->user_rc != 0 && r->peak_memory >= s->manifest.memory / 10 * 9)
            zvm_report_set_exit(r, ZVM_EXIT_MEMORY, NULL);
    } else if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        if (infer_memory && r->peak_memory >= s->manifest.memory / 10 * 9) {
            zvm_report_set_exit(r, ZVM_EXIT_MEMORY, NULL);
        } else if (sig == SIGXCPU && r->user_time + r->sys_time >= (double)s->manifest.timeout) {
            /* RLIMIT_CPU (Timeout + 1 s of CPU) ended it; a SIGXCPU the
             * program sent itself without that CPU time is only a signal. */
            zvm_report_set_exit(r, ZVM_EXIT_TIMEOUT, NULL);
        } else {
            zvm_report_set_exit(r, ZVM_EXIT_SIGNAL, NULL);
            r->signal = sig;
        }
    }
}

static int native_run(zvm_session_t *s, zvm_report_t *r)
{
    zvm_error_t err = {0};
    zvm_jail_t j;
    r->engine = "native";
    if (prepare_jail(s, &j, &err) < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_BAD_PROGRAM, "%s", err.msg);
        return -1;
    }
    return zvm__jail_run(s, &j, r);
}

int zvm__jail_run(zvm_session_t *s, zvm_jail_t *jail, zvm_report_t *r)
{
    zvm_error_t err = {0};
    zvm_jail_t j = *jail;
    int sv[2] = {-1, -1};
    int pidfd = -1;
    pid_t pid = -1;
    int rc = -1;
    zvm_cgroup_t cg = {.dirfd = -1};

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "socketpair: %s", strerror(errno));
        goto out;
    }
    j.sync_fd = sv[1];
    fflush(NULL);

    struct clone_args ca = {
        .flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                 CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        .exit_signal = SIGCHLD,
    };
    zvm__cgroup_create(s, &cg);
    if (cg.dirfd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)cg.dirfd;
    }
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    if (pid < 0 && cg.dirfd >= 0) {
        /* The cgroup looked usable but is not: run with rlimits alone. */
        bool unused_oom;
        uint64_t unused_peak = 0;
        zvm__cgroup_finish(&cg, &unused_oom, &unused_peak);
        ca.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
        ca.cgroup = 0;
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    }
    if (pid < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR,
                            "cannot create namespaces: %s (are unprivileged user namespaces enabled?)",
                            strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(sv[0]);
        zvm__jail_child(&j);
    }
    close(sv[1]);
    sv[1] = -1;

    if (write_id_maps(pid, &j, &err) < 0 || zvm_write_all(sv[0], "G", 1) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "%s", err.msg[0] ? err.msg : "cannot start the jail");
        goto out;
    }

    zvm_supervisor_result_t res;
    memset(&res, 0, sizeof res);
    uint64_t t0 = zvm_now_ns();
    uint64_t tree_limit = cg.dirfd >= 0 ? 0 : s->manifest.memory;
    if (zvm__supervise(s, pid, pidfd, -1, sv[0], tree_limit, &res, &err) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "%s", err.msg);
        goto out;
    }
    r->wall_time = (double)(zvm_now_ns() - t0) / 1e9;
    bool oom = false;
    uint64_t peak = (uint64_t)res.maxrss_kb * 1024u;
    zvm__cgroup_finish(&cg, &oom, &peak);
    fill_report(s, &res, oom, j.runner == NULL, r);
    r->peak_memory = peak;
    rc = r->exit_state == ZVM_EXIT_SANDBOX_ERROR || r->exit_state == ZVM_EXIT_BAD_PROGRAM ? -1 : 0;
out:
    if (cg.dirfd >= 0) {
        bool unused_oom;
        uint64_t unused_peak = 0;
        zvm__cgroup_finish(&cg, &unused_oom, &unused_peak);
    }
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (pidfd >= 0)
        close(pidfd);
    return rc;
}

const zvm_engine_t zvm_engine_native = {
    .name = "native",
    .probe = native_probe,
    .validate = native_validate,
    .run = native_run,
};
