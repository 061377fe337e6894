/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the native engine, shared by its files:
 *
 *   native.c      the engine entry points: validate, then run = clone the
 *                 jailed child, hand it its uid map, supervise it, report
 *   elf.c         what the program is (ELF class/machine, interpreter)
 *   jail.c        the child's side, a straight list of steps ending in exec
 *   rootfs.c      the child's new root file system
 *   procfs.c      what its /proc shows (no host data), its clocks
 *   seccomp.c     the system call filter
 *   limits.c      rlimits (and a delegated cgroup v2 where there is one)
 *   memwatch.c    what the process tree holds: memory, pipes
 *   kbuf.c        the budget of kernel buffers (socketpairs, pipes)
 *   supervisor.c  the parent's loop: answers the program's channel system
 *                 calls (seccomp user notifications) and enforces Timeout
 *
 * Channels never enter the jail as file descriptors.  The program sees
 * "virtual" descriptors, which live at numbers the filter routes to the
 * supervisor: below ZVM_VFD_LOW (where shells put redirections) and from
 * ZVM_VFD_BASE up; RLIMIT_NOFILE keeps every real descriptor below
 * ZVM_VFD_BASE.  Whatever the program tries (dup, mmap, splice,
 * /proc/self/fd, reopening the alias), there is no kernel object it could
 * reach the host file through: only the supervisor holds it.
 */
#ifndef ZVM_ENGINE_NATIVE_H
#define ZVM_ENGINE_NATIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "zvm/error.h"
#include "zvm/image.h"
#include "zvm/report.h"
#include "zvm/session.h"

/* Virtual descriptors are one aligned block, so that a single masked
 * comparison in the filter recognises them; real ones stay below
 * ZVM_NOFILE_LIMIT (RLIMIT_NOFILE), far under the block. */
#define ZVM_VFD_LOW 10u                    /* 0..9 are routed too */
#define ZVM_VFD_BASE 16384u                /* first virtual descriptor */
#define ZVM_VFD_COUNT 16384u               /* size of the block (a power of two) */
#define ZVM_VFD_END (ZVM_VFD_BASE + ZVM_VFD_COUNT)
#define ZVM_NOFILE_LIMIT 1024u
#define ZVM_INSIDE_ID 1000u                /* uid and gid of the program inside */
#define ZVM_NOBODY_ID ZVM_IMAGE_ROOT_OWNER /* outside id used when started as root */
#define ZVM_NPROC_LIMIT 64u                /* processes + threads inside */
#define ZVM_SIGPENDING_LIMIT 128u          /* queued signals + POSIX timers inside */
#define ZVM_JAIL_FILTERS 2u                /* the policy and the notify filter */
#define ZVM_OWN_FILTERS_MAX 4u             /* seccomp filters a process may stack on them */
#define ZVM_PIPE_MAX_BYTES 65536u          /* a pipe's default and largest size */
#define ZVM_ATTACH_DIR "/tmp"              /* where the new root is attached before pivot */

typedef struct zvm_elf_info {
    bool dynamic;                          /* has PT_INTERP */
    char interp[256];                      /* its path */
} zvm_elf_info_t;

int zvm__elf_inspect(int fd, zvm_elf_info_t *info, zvm_error_t *err);

/* Everything the child needs, prepared by the parent before clone. */
typedef struct zvm_jail {
    const zvm_session_t *session;
    const char *exec_path;     /* the program inside: /dev/self, or its own
                                  path when the host /usr shown inside has it */
    int sync_fd;               /* child's end of the socketpair */
    bool host_runtime;         /* also show the host's /usr (dynamic program) */
    bool root_image;           /* some image is mounted at "/" */
    bool root_readonly;        /* every image at "/" is ro */
    const char *self_path;     /* the file shown at /dev/self; NULL: the
                                  manifest's program */
    bool no_proc;              /* no /proc inside (it would show zerovm's own
                                  command line and maps to a runner's program) */
    uint32_t outside_uid, outside_gid;
    const struct zvm_jail_runner *runner; /* NULL: exec the program */
} zvm_jail_t;

/* A program that is not exec'd (the wasm engine's): the child builds the
 * same jail, then calls prepare (still allowed to set signal handlers),
 * loads the filters (the tight policy when asked), applies the limits and
 * calls run, which never returns. */
typedef struct zvm_jail_runner {
    bool tight_policy;                 /* the wasm policy instead of the ELF one */
    uint64_t extra_as;                 /* see zvm__limits_apply */
    int (*prepare)(void *arg, zvm_error_t *err);
    void (*run)(void *arg, int sync_fd);   /* never returns */
    void *arg;
} zvm_jail_runner_t;

/* native.c: the whole run of a jail (clone, id maps, supervise, report),
 * for an exec'd program or a runner. */
int zvm__jail_run(zvm_session_t *s, zvm_jail_t *j, zvm_report_t *r);
/* A jail for the session's images with the outside ids (the caller, or
 * nobody for root), the program at /dev/self, no runner. */
void zvm__jail_defaults(const zvm_session_t *s, zvm_jail_t *j);

/* Child side (jail.c).  Never returns; reports a failure on sync_fd. */
_Noreturn void zvm__jail_child(const zvm_jail_t *j);

/* jail.c: drop every capability (bounding set, ambient, effective),
 * lock the securebits (uid 0 gains none back on exec) and set
 * no_new_privs.  Also used by the wasm compile jail. */
int zvm__jail_drop_capabilities(zvm_error_t *err);

/* rootfs.c, in the child.  Capture the host trees first (still with the
 * creator's file access), then build the new root and pivot into it (as the
 * inside user, with capabilities in the new namespaces only). */
#define ZVM_MAX_IMAGES 64
#define ZVM_HOST_DEVICES 4
typedef struct zvm_rootfs_sources {
    int images[ZVM_MAX_IMAGES];      /* parallel to session->mounts */
    int devices[ZVM_HOST_DEVICES];
    int usr, ld_cache;               /* -1 when not used */
    int program;                     /* the program file (O_PATH) */
    int program_overlay;             /* a detached read-only overlay of its
                                        directory, or -1 */
    int program_view;                /* the program in it (O_PATH), or -1 */
    char program_name[256];          /* its name there */
} zvm_rootfs_sources_t;

int zvm__rootfs_capture(const zvm_jail_t *j, zvm_rootfs_sources_t *src, zvm_error_t *err);
int zvm__rootfs_build(const zvm_jail_t *j, const zvm_rootfs_sources_t *src, zvm_error_t *err);

/* procfs.c, in the child before the pivot: cover what the jail's new proc
 * (at /proc/self/fd/procfd) shows of the host; the sandbox's own clocks. */
int zvm__procfs_build(const zvm_jail_t *j, int procfd, zvm_error_t *err);

/* seccomp.c: load the filters (the notify filter, then the policy for an
 * ELF program or the far tighter one for a wasm program); *listener
 * receives the notification fd. */
int zvm__seccomp_load(bool wasm, int *listener, zvm_error_t *err);

/* limits.c: rlimits for the program (child, just before exec).  extra_as
 * is address space the runtime reserves beyond Memory (wasm: the guard
 * region around linear memory, never backed). */
int zvm__limits_apply(const zvm_session_t *s, uint64_t extra_as, zvm_error_t *err);

/* limits.c: a cgroup v2 for the whole sandbox where the system delegates
 * one (parent side).  Never fails a run: without one, rlimits alone apply. */
typedef struct zvm_cgroup {
    int dirfd;                 /* for CLONE_INTO_CGROUP, -1 when none */
    char path[4096];
} zvm_cgroup_t;

void zvm__cgroup_create(const zvm_session_t *s, zvm_cgroup_t *cg);
/* After the run: was the memory limit hit, and the peak; then remove it. */
void zvm__cgroup_finish(zvm_cgroup_t *cg, bool *oom, uint64_t *peak);

/* memwatch.c: memory (Pss) of the process tree under root, in bytes; 0
 * when root has no children (RLIMIT_AS then holds it alone). */
uint64_t zvm__tree_memory(pid_t root);

/* memwatch.c: processes in the tree under root (root included). */
unsigned long zvm__tree_processes(pid_t root);

/* memwatch.c: distinct pipes in the descriptor tables of the tree under
 * root (root included), or -errno. */
long zvm__tree_pipes(pid_t root);

/* kbuf.c: the sandbox's budget of kernel buffers (see kbuf.c for the
 * bound and how it is derived). */
#define ZVM_KBUF_MIN_SOCKETS 16u
#define ZVM_KBUF_MIN_PIPES 64u
typedef struct zvm_kbuf_budget {
    uint64_t sockets, pipes;           /* how many may exist at once */
    uint64_t socket_bytes, pipe_bytes; /* the most one can hold */
} zvm_kbuf_budget_t;

typedef struct zvm_kbuf_pending {
    pid_t tid;
    int nr;                            /* the system call admitted */
    unsigned objects;                  /* what it will create */
} zvm_kbuf_pending_t;

typedef struct zvm_kbuf {
    pid_t root;                        /* the jail's pid 1 */
    uint64_t memory;
    bool loaded;
    zvm_kbuf_budget_t budget;
    uint64_t bound[2];                 /* sockets, pipes: at most this many
                                          exist or are being made */
    zvm_kbuf_pending_t pending[ZVM_NPROC_LIMIT + 1];
    size_t npending;
} zvm_kbuf_t;

/* The budget for Memory, the host's net.core.wmem_default and
 * fs.pipe-user-pages-soft (0: none). */
void zvm__kbuf_budgets(uint64_t memory, uint64_t wmem_default, uint64_t pipe_soft_pages,
                       zvm_kbuf_budget_t *b);
void zvm__kbuf_init(zvm_kbuf_t *kb, pid_t root, uint64_t memory);
/* socketpair/pipe/pipe2 (nr) by tid: 0 to let it run, -ENFILE past the
 * budget (or when the sandbox's count cannot be read). */
long zvm__kbuf_admit(zvm_kbuf_t *kb, pid_t tid, int nr);

/* supervisor.c */
typedef struct zvm_supervisor_result {
    int wait_status;                   /* the program's (as the jail's init told) */
    struct timeval utime, stime;
    long maxrss_kb;
    bool timed_out;
    bool exec_failed;
    bool memory_exceeded;              /* the tree passed Memory (memwatch) */
    bool program_ended;                /* the init told program_status */
    int program_status;
    char trap[ZVM_ERROR_MSG_MAX];      /* wasm: the trap that ended it, or "" */
    bool has_exit_code;                /* wasm: the program told its code (ZVM_SYNC_EXIT) */
    uint32_t exit_code;                /* ... which is this */
    char error[ZVM_ERROR_MSG_MAX];     /* child's setup failure, if any */
} zvm_supervisor_result_t;

/* tree_limit: kill the jail when its processes together pass this many
 * bytes (0: off, a cgroup holds them). */
int zvm__supervise(zvm_session_t *s, pid_t pid, int pidfd, int listener, int sync_fd,
                   uint64_t tree_limit, zvm_supervisor_result_t *res, zvm_error_t *err);

/* Messages on the sync socket, child -> parent. */
enum {
    ZVM_SYNC_LISTENER = 'L',           /* + the listener fd */
    ZVM_SYNC_ERROR = 'E',              /* set-up failed: text */
    ZVM_SYNC_REFUSED = 'R',            /* the program cannot run: text */
    ZVM_SYNC_STATUS = 'S',             /* the jail's init: the program's wait status */
    ZVM_SYNC_TRAP = 'T',               /* wasm: the program trapped: kind */
    ZVM_SYNC_EXIT = 'X',               /* wasm: the program's exit code, in decimal: its
                                        * status holds 8 bits, WASI's code 32 */
};

#endif
