/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor: the parent's side of a native session.  It answers the
 * program's system calls on virtual descriptors (seccomp user
 * notifications) by performing them itself on the channels, through
 * libzvm's channel functions (quotas, etags, counters), answers sysinfo(2)
 * with the sandbox's own figures, and it stops the program at its Timeout.
 *
 * The program's memory: every access is bound to the notification it
 * serves.  /proc/<tid>/mem (and /proc/<tid>/maps) are opened once per
 * notification and checked with NOTIF_ID_VALID after the open: the files
 * hold the caller's address space from then on, so every read and write
 * through them reaches the caller even if it dies and its pid is reused.
 * /proc/<pid>/mem writes ignore page protections, so before writing the
 * supervisor checks in that same maps file that the bytes are writable
 * (EFAULT otherwise, as the kernel's own copy to user space).  A program
 * that made itself undumpable (by executing a file it cannot read) closes
 * /proc/<tid>/mem to an unprivileged supervisor; process_vm_readv/writev
 * serve it then, each call between two NOTIF_ID_VALID checks (the one
 * access not bound to the caller by the kernel: see docs/security.md).
 *
 * Descriptor tables, one per process as in the kernel: a table maps the
 * routed numbers (0..ZVM_VFD_LOW-1 and the block from ZVM_VFD_BASE) to a
 * channel, to SLOT_NULL (an undeclared standard stream: end of file,
 * writes swallowed) or to SLOT_FREE (not virtual: the call continues in
 * the kernel on whatever real descriptor is there, or fails there with
 * EBADF).  A virtual descriptor below ZVM_VFD_LOW has a /dev/null
 * placeholder at its number in the kernel (installed with NOTIF_ADDFD,
 * close-on-exec like the virtual one), so the kernel never hands that
 * number out and its lowest-free rule stays the program's.  Tables are
 * copied at fork and clone without CLONE_FILES, shared by CLONE_FILES
 * threads, and lose their close-on-exec entries when an execve succeeds:
 * fork, vfork, clone and execve are notified, a clone's table waits in its
 * parent task until the child first calls in, and a successful exec is
 * recognised by its new AT_RANDOM bytes at the process's next call.
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"

#define SLOT_FREE (-1)
#define SLOT_NULL (-2)          /* an undeclared standard stream */
#define NSLOTS (ZVM_VFD_LOW + ZVM_VFD_COUNT)
#define IO_MAX (8u << 20)       /* bytes moved by one call at most */
#define IOV_MAX_COUNT 1024
#define MARK_LEN 16             /* the AT_RANDOM bytes */

typedef struct vtab {
    unsigned users;             /* tasks and pending clones holding it */
    int32_t slot[NSLOTS];       /* channel index, SLOT_FREE or SLOT_NULL */
    uint8_t cloexec[NSLOTS];
} vtab_t;

typedef struct task {
    pid_t tid, tgid;
    int pidfd;                  /* the task's pidfd when it leads its group, else -1 */
    vtab_t *files;
    vtab_t *clone_files;        /* table of a child this task forked that has not called in yet */
    bool exec_pending;          /* called execve; exec_mark was its AT_RANDOM bytes */
    unsigned char exec_mark[MARK_LEN];
} task_t;

typedef struct sup {
    zvm_session_t *s;
    int listener;
    size_t *by_alias;                  /* channel indexes sorted by alias */
    int *mapping;                      /* per channel: nvram mapping mode or -1 */
    task_t **tasks;                    /* every task met, in no order */
    size_t ntasks, cap_tasks;
    vtab_t *orphans[ZVM_NPROC_LIMIT];  /* tables of children whose parent ended first */
    size_t norphans;
    int devnull;                       /* source of the placeholders */
    int mem;                           /* /proc/<tid>/mem of the current caller, or -1 */
    int maps;                          /* /proc/<tid>/maps of the current caller, or -1 */
    bool mem_by_vm;                    /* that file is closed to us: process_vm_* */
    char *buf;
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    zvm_kbuf_t kbuf;                   /* socketpairs and pipes (kbuf.c) */
    uint64_t started;                  /* CLOCK_BOOTTIME at the start, ns */
} sup_t;

static volatile sig_atomic_t deadline_passed;
static volatile pid_t deadline_pid;

static void on_deadline(int sig)
{
    (void)sig;
    deadline_passed = 1;
    if (deadline_pid > 0)
        kill(deadline_pid, SIGKILL);
}

static bool notif_valid(sup_t *sp)
{
    return ioctl(sp->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &sp->req->id) == 0;
}

/* ---- descriptor tables ---------------------------------------------- */

static int32_t *slot_ref(vtab_t *t, uint64_t raw, size_t *index)
{
    uint32_t fd = (uint32_t)raw;
    size_t i;
    if (fd < ZVM_VFD_LOW)
        i = fd;
    else if (fd >= ZVM_VFD_BASE && fd < ZVM_VFD_END)
        i = ZVM_VFD_LOW + (fd - ZVM_VFD_BASE);
    else
        return NULL;
    if (index)
        *index = i;
    return &t->slot[i];
}

static bool is_virtual(vtab_t *t, uint64_t raw)
{
    int32_t *v = slot_ref(t, raw, NULL);
    return v && *v != SLOT_FREE;
}

static zvm_channel_t *channel_of(sup_t *sp, vtab_t *t, uint64_t raw, int *slot_value)
{
    int32_t *slot = slot_ref(t, raw, NULL);
    *slot_value = slot ? *slot : SLOT_FREE;
    return slot && *slot >= 0 ? &sp->s->channels[*slot] : NULL;
}

static vtab_t *vtab_new(void)
{
    vtab_t *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->users = 1;
    for (size_t i = 0; i < NSLOTS; i++)
        t->slot[i] = SLOT_FREE;
    memset(t->cloexec, 0, sizeof t->cloexec);
    return t;
}

/* The first process's table: the standard streams. */
static vtab_t *vtab_initial(sup_t *sp)
{
    vtab_t *t = vtab_new();
    static const char *const std_alias[3] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (int i = 0; t && i < 3; i++) {
        int c = zvm_session_find_channel(sp->s, std_alias[i]);
        t->slot[i] = c >= 0 ? c : SLOT_NULL;
    }
    return t;
}

static vtab_t *vtab_copy(const vtab_t *from)
{
    vtab_t *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    memcpy(t, from, sizeof *t);
    t->users = 1;
    return t;
}

static void vtab_unref(vtab_t *t)
{
    if (t && --t->users == 0)
        free(t);
}

/* Make task's table its own before a change that must not reach the
 * tasks it was shared with (execve, CLOSE_RANGE_UNSHARE). */
static int vtab_unshare(task_t *t)
{
    if (t->files->users == 1)
        return 0;
    vtab_t *copy = vtab_copy(t->files);
    if (!copy)
        return -ENOMEM;
    vtab_unref(t->files);
    t->files = copy;
    return 0;
}

/* Put a /dev/null at number fd of the caller, replacing whatever is there
 * (as dup2 does), so that the kernel never allocates it. */
static int placeholder(sup_t *sp, uint32_t fd, bool cloexec)
{
    struct seccomp_notif_addfd add = {
        .id = sp->req->id,
        .flags = SECCOMP_ADDFD_FLAG_SETFD,
        .srcfd = (uint32_t)sp->devnull,
        .newfd = fd,
        .newfd_flags = cloexec ? O_CLOEXEC : 0,
    };
    return ioctl(sp->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 ? -errno : 0;
}

/* Does the caller have a real descriptor at fd? */
static bool kernel_has_fd(sup_t *sp, uint32_t fd)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/fd/%u", (int)sp->req->pid, fd);
    return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A new virtual descriptor on `channel`: the lowest free number >= from,
 * as the kernel would choose (numbers 10..16383 are the kernel's: those
 * requests get the block). */
static long vfd_alloc(sup_t *sp, vtab_t *t, int channel, uint32_t from, bool cloexec)
{
    for (uint32_t fd = from; fd < ZVM_VFD_LOW; fd++) {
        if (t->slot[fd] != SLOT_FREE || kernel_has_fd(sp, fd))
            continue;
        int rc = placeholder(sp, fd, cloexec);
        if (rc < 0)
            return rc;
        t->slot[fd] = channel;
        t->cloexec[fd] = cloexec;
        return fd;
    }
    uint32_t start = from > ZVM_VFD_BASE ? from - ZVM_VFD_BASE : 0;
    for (uint32_t i = start; i < ZVM_VFD_COUNT; i++) {
        if (t->slot[ZVM_VFD_LOW + i] == SLOT_FREE) {
            t->slot[ZVM_VFD_LOW + i] = channel;
            t->cloexec[ZVM_VFD_LOW + i] = cloexec;
            return (long)(ZVM_VFD_BASE + i);
        }
    }
    return -EMFILE;
}

/* ---- tasks ------------------------------------------------------------ */

static task_t *task_find(sup_t *sp, pid_t tid)
{
    for (size_t i = 0; i < sp->ntasks; i++)
        if (sp->tasks[i]->tid == tid)
            return sp->tasks[i];
    return NULL;
}

static void task_free(task_t *t)
{
    if (t->pidfd >= 0)
        close(t->pidfd);
    vtab_unref(t->files);
    vtab_unref(t->clone_files);
    free(t);
}

static task_t *task_add(sup_t *sp, pid_t tid, pid_t tgid, int pidfd, vtab_t *files)
{
    if (sp->ntasks == sp->cap_tasks) {
        size_t cap = sp->cap_tasks ? 2 * sp->cap_tasks : 16;
        task_t **n = realloc(sp->tasks, cap * sizeof *n);
        if (!n)
            return NULL;
        sp->tasks = n;
        sp->cap_tasks = cap;
    }
    task_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->tid = tid;
    t->tgid = tgid;
    t->pidfd = pidfd;
    t->files = files;
    sp->tasks[sp->ntasks++] = t;
    return t;
}

static bool task_alive(const task_t *t)
{
    if (t->pidfd >= 0) {
        struct pollfd p = {.fd = t->pidfd, .events = POLLIN};
        return poll(&p, 1, 0) == 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d", (int)t->tgid, (int)t->tid);
    return access(path, F_OK) == 0;
}

/* Forget the tasks that ended (before a clone, so that a reused tid is
 * never taken for the task it once was), except `keep`: the caller being
 * answered, whose record the answer goes on using even if a SIGKILL ends
 * it meanwhile.  A table still waiting for the child of a task that ended
 * goes to the orphans: that child (a daemon's second fork, `cmd &` of a
 * shell that exits) calls in with a parent we never met. */
static void tasks_sweep(sup_t *sp, const task_t *keep)
{
    size_t w = 0;
    for (size_t i = 0; i < sp->ntasks; i++) {
        task_t *t = sp->tasks[i];
        if (t == keep || task_alive(t)) {
            sp->tasks[w++] = t;
            continue;
        }
        if (t->clone_files) {
            if (sp->norphans == ZVM_NPROC_LIMIT) {
                vtab_unref(sp->orphans[0]);
                memmove(sp->orphans, sp->orphans + 1, --sp->norphans * sizeof sp->orphans[0]);
            }
            sp->orphans[sp->norphans++] = steal_pointer(&t->clone_files);
        }
        task_free(t);
    }
    sp->ntasks = w;
}

/* The start of a small /proc file, NUL-terminated. */
static int read_proc(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Tgid and PPid of a task, from /proc/<tid>/status. */
static int task_ids(pid_t tid, pid_t *tgid, pid_t *ppid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    if (read_proc(path, buf, sizeof buf) < 0)
        return -1;
    const char *g = strstr(buf, "\nTgid:"), *p = strstr(buf, "\nPPid:");
    if (!g || !p)
        return -1;
    *tgid = (pid_t)strtol(g + 6, NULL, 10);
    *ppid = (pid_t)strtol(p + 6, NULL, 10);
    return 0;
}

/* Is `pid` listed in /proc/<tgid>/task/<tid>/children? With pid 0: the
 * first child listed that is not a known task. */
static pid_t child_of(sup_t *sp, const task_t *parent, pid_t pid)
{
    char path[96], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent->tgid, (int)parent->tid);
    if (read_proc(path, buf, sizeof buf) < 0)
        return -1;
    for (char *p = buf, *end; *p; p = end) {
        long c = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid ? c == pid : !task_find(sp, (pid_t)c))
            return (pid_t)c;
    }
    return 0;
}

/* The child of parent's last fork has not called in, and parent forks
 * again: find that child now (it exists: parent's fork returned), so that
 * each pending table has one candidate. */
static void clone_settle(sup_t *sp, task_t *parent)
{
    vtab_t *files = steal_pointer(&parent->clone_files);
    if (!files)
        return;
    pid_t c = child_of(sp, parent, 0);
    int pidfd = c > 0 ? (int)syscall(SYS_pidfd_open, c, 0) : -1;
    /* Still parent's child after the pidfd was taken: the pidfd is that child. */
    if (pidfd >= 0 && child_of(sp, parent, c) == c && task_add(sp, c, c, pidfd, files))
        return;
    if (pidfd >= 0)
        close(pidfd);
    vtab_unref(files);
}

static bool parent_known(sup_t *sp, pid_t ppid)
{
    for (size_t i = 0; i < sp->ntasks; i++)
        if (sp->tasks[i]->tgid == ppid)
            return true;
    return false;
}

/* The table a task meets for the first time starts from: the pending
 * table of the fork that made it, its thread group's, or the first
 * process's. */
static task_t *task_meet(sup_t *sp)
{
    pid_t tid = (pid_t)sp->req->pid, tgid, ppid;
    if (task_ids(tid, &tgid, &ppid) < 0)
        tgid = tid, ppid = 0;
    int pidfd = tid == tgid ? (int)syscall(SYS_pidfd_open, tid, 0) : -1;
    if (!notif_valid(sp)) {
        if (pidfd >= 0)
            close(pidfd);
        return NULL;
    }
    vtab_t *files = NULL;
    task_t *parent = NULL;
    for (size_t i = 0; i < sp->ntasks && !files; i++) {
        task_t *t = sp->tasks[i];
        if (tid != tgid && t->tgid == tgid) {
            files = t->files; /* a thread: its group's table */
            files->users++;
        } else if (tid == tgid && t->tgid == ppid && t->clone_files) {
            if (!parent || child_of(sp, t, tid) == tid)
                parent = t;
        }
    }
    if (!files && parent)
        files = steal_pointer(&parent->clone_files);
    if (!files && sp->norphans && !parent_known(sp, ppid)) {
        files = sp->orphans[0];
        memmove(sp->orphans, sp->orphans + 1, --sp->norphans * sizeof sp->orphans[0]);
    }
    if (!files)
        files = vtab_initial(sp);
    task_t *t = files ? task_add(sp, tid, tgid, pidfd, files) : NULL;
    if (!t) {
        if (pidfd >= 0)
            close(pidfd);
        vtab_unref(files);
    }
    return t;
}

/* ---- the program's memory ------------------------------------------ */

/* Open a file of the caller's in /proc, then prove it is the caller's: the
 * caller is blocked in its call while the notification is valid, so its
 * tid cannot have been reused, and the file holds its address space. */
static int proc_open_bound(sup_t *sp, const char *name, int flags)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)sp->req->pid, name);
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (!notif_valid(sp)) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

static int mem_open(sup_t *sp)
{
    if (sp->mem >= 0 || sp->mem_by_vm)
        return 0;
    int fd = proc_open_bound(sp, "mem", O_RDWR);
    if (fd == -EACCES) {
        sp->mem_by_vm = true;
        return 0;
    }
    if (fd < 0)
        return -1;
    sp->mem = fd;
    return 0;
}

static void mem_close(sup_t *sp)
{
    if (sp->mem >= 0)
        close(sp->mem);
    if (sp->maps >= 0)
        close(sp->maps);
    sp->mem = -1;
    sp->maps = -1;
    sp->mem_by_vm = false;
}

/* Are the n bytes at addr writable for the caller (its maps, read through
 * the bound file)?  /proc/<pid>/mem writes even read-only pages; the
 * kernel's own copy to user space would fail with EFAULT. */
static bool mem_writable(sup_t *sp, uint64_t addr, size_t n)
{
    if (sp->maps < 0 && (sp->maps = proc_open_bound(sp, "maps", O_RDONLY)) < 0)
        return false;
    uint64_t want = addr, end = addr + n;
    if (end < addr)
        return false;
    char buf[8192];
    size_t have = 0;
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(sp->maps, buf + have, sizeof buf - 1 - have, off);
        if (r <= 0)
            return false;
        off += r;
        have += (size_t)r;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            *nl = '\0';
            unsigned long long lo, hi;
            char perms[5];
            if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) == 3 && hi > want) {
                if (lo > want || perms[1] != 'w')
                    return false;
                want = hi;
                if (want >= end)
                    return true;
            }
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            return false; /* no line is that long */
    }
}

/* Copy between our buffer and the program's memory. */
static ssize_t mem_io(sup_t *sp, void *buf, size_t n, uint64_t addr, bool to_program)
{
    if (mem_open(sp) < 0)
        return -1;
    if (sp->mem >= 0) {
        if (to_program && !mem_writable(sp, addr, n)) {
            errno = EFAULT;
            return -1;
        }
        return to_program ? pwrite(sp->mem, buf, n, (off_t)addr) : pread(sp->mem, buf, n, (off_t)addr);
    }
    /* Undumpable: by pid, between two checks of the notification. */
    if (!notif_valid(sp))
        return -1;
    struct iovec local = {.iov_base = buf, .iov_len = n};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = n};
    pid_t pid = (pid_t)sp->req->pid;
    ssize_t r = to_program ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
                           : process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (!notif_valid(sp))
        return -1;
    return r;
}

/* A NUL-terminated string of the program's, page by page (a path may end
 * just before an unmapped page). */
static int read_string(sup_t *sp, uint64_t addr, char *out, size_t size)
{
    size_t got = 0;
    while (got < size - 1) {
        size_t page_left = 4096 - (size_t)((addr + got) % 4096);
        size_t want = page_left < size - 1 - got ? page_left : size - 1 - got;
        ssize_t r = mem_io(sp, out + got, want, addr + got, false);
        if (r <= 0)
            return -EFAULT;
        if (memchr(out + got, '\0', (size_t)r))
            return 0;
        got += (size_t)r;
        if ((size_t)r < want)
            return -EFAULT; /* ran off the mapping without a NUL */
    }
    return -ENAMETOOLONG;
}

/* "/dev//x/./y" -> "/dev/x/y".  Paths with ".." are left alone. */
static void normalise(char *p)
{
    char *w = p;
    for (char *r = p; *r;) {
        if (r[0] == '/' && (r[1] == '/' || (r[1] == '.' && (r[2] == '/' || r[2] == '\0')))) {
            r += r[1] == '/' ? 1 : 2;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
    if (w > p + 1 && w[-1] == '/')
        w[-1] = '\0';
}

/* The caller's AT_RANDOM bytes: new ones after every successful execve. */
static int exec_mark(sup_t *sp, unsigned char mark[MARK_LEN])
{
    int fd = proc_open_bound(sp, "auxv", O_RDONLY);
    if (fd < 0)
        return -1;
    uint64_t aux[512];
    ssize_t n = read(fd, aux, sizeof aux);
    close(fd);
    for (ssize_t i = 0; n > 0 && (i + 2) * (ssize_t)sizeof aux[0] <= n; i += 2)
        if (aux[i] == AT_RANDOM)
            return mem_io(sp, mark, MARK_LEN, aux[i + 1], false) == MARK_LEN ? 0 : -1;
    return -1;
}

/* ---- system calls ---------------------------------------------------- */

static long do_read(sup_t *sp, zvm_channel_t *ch, int slot, uint64_t addr, uint64_t count,
                    int64_t offset)
{
    if (slot == SLOT_NULL)
        return 0;
    size_t n = count > IO_MAX ? IO_MAX : (size_t)count;
    ssize_t got = zvm_channel_read(ch, sp->buf, n, offset);
    if (got > 0 && mem_io(sp, sp->buf, (size_t)got, addr, true) != got)
        return -EFAULT;
    return got;
}

static long do_write(sup_t *sp, zvm_channel_t *ch, int slot, uint64_t addr, uint64_t count,
                     int64_t offset)
{
    size_t n = count > IO_MAX ? IO_MAX : (size_t)count;
    if (slot == SLOT_NULL)
        return (long)n;
    if (n && mem_io(sp, sp->buf, n, addr, false) != (ssize_t)n)
        return -EFAULT;
    return zvm_channel_write(ch, sp->buf, n, offset);
}

static long read_iovec(sup_t *sp, uint64_t addr, uint64_t cnt, struct iovec *iov)
{
    if (cnt > IOV_MAX_COUNT)
        return -EINVAL;
    if (cnt && mem_io(sp, iov, cnt * sizeof *iov, addr, false) != (ssize_t)(cnt * sizeof *iov))
        return -EFAULT;
    return 0;
}

static long do_readv(sup_t *sp, zvm_channel_t *ch, int slot, uint64_t addr, uint64_t cnt,
                     int64_t offset)
{
    struct iovec iov[IOV_MAX_COUNT];
    long rc = read_iovec(sp, addr, cnt, iov);
    if (rc < 0)
        return rc;
    size_t total = 0;
    for (uint64_t i = 0; i < cnt && total < IO_MAX; i++)
        total += iov[i].iov_len > IO_MAX - total ? IO_MAX - total : iov[i].iov_len;
    if (slot == SLOT_NULL)
        return 0;
    ssize_t got = zvm_channel_read(ch, sp->buf, total, offset);
    if (got <= 0)
        return got;
    size_t done = 0;
    for (uint64_t i = 0; i < cnt && done < (size_t)got; i++) {
        size_t part = iov[i].iov_len < (size_t)got - done ? iov[i].iov_len : (size_t)got - done;
        if (mem_io(sp, sp->buf + done, part, (uint64_t)(uintptr_t)iov[i].iov_base, true) != (ssize_t)part)
            return -EFAULT;
        done += part;
    }
    return got;
}

static long do_writev(sup_t *sp, zvm_channel_t *ch, int slot, uint64_t addr, uint64_t cnt,
                      int64_t offset)
{
    struct iovec iov[IOV_MAX_COUNT];
    long rc = read_iovec(sp, addr, cnt, iov);
    if (rc < 0)
        return rc;
    size_t total = 0;
    for (uint64_t i = 0; i < cnt && total < IO_MAX; i++) {
        size_t part = iov[i].iov_len > IO_MAX - total ? IO_MAX - total : iov[i].iov_len;
        if (part && mem_io(sp, sp->buf + total, part, (uint64_t)(uintptr_t)iov[i].iov_base, false) != (ssize_t)part)
            return -EFAULT;
        total += part;
    }
    if (slot == SLOT_NULL)
        return (long)total;
    return zvm_channel_write(ch, sp->buf, total, offset);
}

static void stat_of(sup_t *sp, zvm_channel_t *ch, int slot, struct stat *st)
{
    if (slot == SLOT_NULL || !ch) {
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFCHR | 0666;
        st->st_nlink = 1;
        st->st_blksize = 4096;
    } else {
        zvm_channel_stat(ch, sp->mapping[ch - sp->s->channels], st);
    }
    st->st_uid = ZVM_INSIDE_ID;
    st->st_gid = ZVM_INSIDE_ID;
    st->st_ino = (ino_t)(ch ? ch - sp->s->channels + 1 : 0);
    st->st_dev = 0x7a766d; /* "zvm" */
}

static long do_fstat(sup_t *sp, zvm_channel_t *ch, int slot, uint64_t addr)
{
    struct stat st;
    stat_of(sp, ch, slot, &st);
    return mem_io(sp, &st, sizeof st, addr, true) == (ssize_t)sizeof st ? 0 : -EFAULT;
}

static long do_statx(sup_t *sp, zvm_channel_t *ch, int slot, uint64_t addr)
{
    struct stat st;
    struct statx sx;
    stat_of(sp, ch, slot, &st);
    memset(&sx, 0, sizeof sx);
    sx.stx_mask = STATX_BASIC_STATS;
    sx.stx_blksize = (uint32_t)st.st_blksize;
    sx.stx_nlink = (uint32_t)st.st_nlink;
    sx.stx_uid = st.st_uid;
    sx.stx_gid = st.st_gid;
    sx.stx_mode = (uint16_t)st.st_mode;
    sx.stx_ino = st.st_ino;
    sx.stx_size = (uint64_t)st.st_size;
    sx.stx_blocks = (uint64_t)st.st_blocks;
    sx.stx_atime.tv_sec = st.st_atim.tv_sec;
    sx.stx_mtime.tv_sec = st.st_mtim.tv_sec;
    sx.stx_ctime.tv_sec = st.st_ctim.tv_sec;
    return mem_io(sp, &sx, sizeof sx, addr, true) == (ssize_t)sizeof sx ? 0 : -EFAULT;
}

/* An empty path with AT_EMPTY_PATH means "this descriptor". */
static bool empty_path(sup_t *sp, uint64_t addr, uint64_t flags)
{
    char c;
    return (flags & AT_EMPTY_PATH) && mem_io(sp, &c, 1, addr, false) == 1 && c == '\0';
}

/* dup, fcntl(F_DUPFD): a new virtual descriptor on the same channel. */
static long do_dup(sup_t *sp, vtab_t *t, int slot, uint64_t from, bool cloexec)
{
    if ((uint32_t)from >= ZVM_VFD_END)
        return -EINVAL;
    return vfd_alloc(sp, t, slot, (uint32_t)from, cloexec);
}

/* dup2/dup3 where either number is routed.  A virtual descriptor may land
 * on a routed number (a placeholder takes the kernel's number below
 * ZVM_VFD_LOW, closing what was there, as dup2 does); a real one lands in
 * the kernel, which then owns that number again. */
static long do_dup2(sup_t *sp, task_t *task, uint64_t old_raw, uint64_t new_raw, uint64_t flags,
                    bool dup3, bool *cont)
{
    vtab_t *t = task->files;
    uint32_t oldfd = (uint32_t)old_raw, newfd = (uint32_t)new_raw;
    if (dup3 && (flags & ~(uint64_t)O_CLOEXEC))
        return -EINVAL;
    bool cloexec = flags & O_CLOEXEC;
    size_t ni;
    int32_t *target = slot_ref(t, newfd, &ni);
    if (!is_virtual(t, oldfd)) {
        /* A real descriptor (or none).  Leave the number's virtual
         * descriptor alone unless the kernel will really replace it. */
        if (target && *target != SLOT_FREE && newfd < ZVM_VFD_LOW && oldfd != newfd &&
            oldfd < ZVM_NOFILE_LIMIT && kernel_has_fd(sp, oldfd))
            *target = SLOT_FREE;
        *cont = true;
        return 0;
    }
    if (oldfd == newfd)
        return dup3 ? -EINVAL : (long)newfd;
    if (!target)
        return -EBADF; /* 10..16383 belong to the kernel's descriptors */
    int32_t channel = *slot_ref(t, oldfd, NULL);
    if (newfd < ZVM_VFD_LOW) {
        int rc = placeholder(sp, newfd, cloexec);
        if (rc < 0)
            return rc;
    }
    *target = channel;
    t->cloexec[ni] = cloexec;
    return (long)newfd;
}

static long do_close(sup_t *sp, vtab_t *t, uint64_t raw, bool *cont)
{
    (void)sp;
    *slot_ref(t, raw, NULL) = SLOT_FREE;
    /* Below ZVM_VFD_LOW the kernel closes the placeholder, so the number
     * is free for its next descriptor. */
    *cont = (uint32_t)raw < ZVM_VFD_LOW;
    return 0;
}

static long do_close_range(sup_t *sp, task_t *task, uint64_t first, uint64_t last, uint64_t flags,
                           bool *cont)
{
    (void)sp;
    if (first > last || (flags & ~(uint64_t)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
        return -EINVAL;
    if ((flags & CLOSE_RANGE_UNSHARE) && vtab_unshare(task) < 0)
        return -ENOMEM;
    vtab_t *t = task->files;
    for (size_t i = 0; i < NSLOTS; i++) {
        uint64_t fd = i < ZVM_VFD_LOW ? i : ZVM_VFD_BASE + (i - ZVM_VFD_LOW);
        if (fd < first || fd > last || t->slot[i] == SLOT_FREE)
            continue;
        if (flags & CLOSE_RANGE_CLOEXEC)
            t->cloexec[i] = 1;
        else
            t->slot[i] = SLOT_FREE;
    }
    /* The kernel does the same to the real descriptors and placeholders. */
    *cont = true;
    return 0;
}

static long do_fcntl(sup_t *sp, vtab_t *t, zvm_channel_t *ch, int slot, uint64_t fd,
                     uint64_t cmd, uint64_t arg)
{
    size_t i = 0;
    slot_ref(t, fd, &i);
    switch ((int)cmd) {
    case F_GETFD:
        return t->cloexec[i] ? FD_CLOEXEC : 0;
    case F_SETFD:
        /* The placeholder follows, so exec closes both or neither. */
        if ((uint32_t)fd < ZVM_VFD_LOW && !!(arg & FD_CLOEXEC) != t->cloexec[i]) {
            int rc = placeholder(sp, (uint32_t)fd, arg & FD_CLOEXEC);
            if (rc < 0)
                return rc;
        }
        t->cloexec[i] = !!(arg & FD_CLOEXEC);
        return 0;
    case F_SETFL:
        return 0;
    case F_GETFL:
        if (!ch)
            return O_RDWR;
        return ch->readable && ch->writable ? O_RDWR : ch->writable ? O_WRONLY : O_RDONLY;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return do_dup(sp, t, slot, arg, cmd == F_DUPFD_CLOEXEC);
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        /* Advisory locks: a channel belongs to this sandbox alone, so every
         * lock is granted (SQLite locks the database it reads). */
        return 0;
    case F_GETLK:
    case F_OFD_GETLK: {
        /* Nothing else holds a lock: l_type becomes F_UNLCK. */
        short unlocked = F_UNLCK;
        return mem_io(sp, &unlocked, sizeof unlocked, arg + offsetof(struct flock, l_type), true) ==
                       (ssize_t)sizeof unlocked
                   ? 0
                   : -EFAULT;
    }
    default:
        return -EINVAL;
    }
}

static int cmp_alias(const void *a, const void *b, void *arg)
{
    const zvm_session_t *s = arg;
    return strcmp(s->manifest.channels[*(const size_t *)a].alias,
                  s->manifest.channels[*(const size_t *)b].alias);
}

static int find_alias(const sup_t *sp, const char *path)
{
    size_t lo = 0, hi = sp->s->nchannels;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t idx = sp->by_alias[mid];
        int c = strcmp(path, sp->s->manifest.channels[idx].alias);
        if (c == 0)
            return (int)idx;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static long do_open(sup_t *sp, vtab_t *t, uint64_t path_addr, uint64_t flags, bool *cont)
{
    char path[PATH_MAX];
    int rc = read_string(sp, path_addr, path, sizeof path);
    if (rc < 0) {
        *cont = true; /* let the kernel report the bad address or length */
        return 0;
    }
    normalise(path);
    int idx = path[0] == '/' ? find_alias(sp, path) : -1;
    if (idx < 0) {
        *cont = true;
        return 0;
    }
    return vfd_alloc(sp, t, idx, 0, flags & O_CLOEXEC);
}

/* openat2: a channel is opened by open or openat (openat2's flags are in
 * memory), so an alias answers ENOSYS and the caller falls back to them;
 * any other path continues in the kernel, as an openat that is no alias. */
static long do_openat2(sup_t *sp, vtab_t *t, const __u64 *a, bool *cont)
{
    if ((int32_t)a[0] != AT_FDCWD && is_virtual(t, a[0]))
        return -ENOTDIR;
    char path[PATH_MAX];
    if (read_string(sp, a[1], path, sizeof path) < 0) {
        *cont = true; /* let the kernel report the bad address or length */
        return 0;
    }
    normalise(path);
    if (path[0] == '/' && find_alias(sp, path) >= 0)
        return -ENOSYS;
    *cont = true;
    return 0;
}

/* fork, vfork, clone: a child without CLONE_FILES gets a copy of the table
 * as it is now, kept here until the child first calls in (task_meet).
 * Threads share their group's table. */
static long do_clone(sup_t *sp, task_t *task, uint64_t flags, bool *cont)
{
    *cont = true;
    tasks_sweep(sp, task);
    if (flags & CLONE_THREAD)
        return 0;
    if (flags & CLONE_FILES) {
        task->clone_files = task->files;
        task->files->users++;
    } else {
        task->clone_files = vtab_copy(task->files);
    }
    return 0;
}

/* execve: whether it succeeds shows at the process's next call. */
static long do_exec(sup_t *sp, task_t *task, bool *cont)
{
    *cont = true;
    task->exec_pending = exec_mark(sp, task->exec_mark) == 0;
    return 0;
}

/* Before anything else the caller asks: did its group's last execve
 * succeed?  Then its table becomes its own and loses the close-on-exec
 * descriptors (the kernel closed their placeholders). */
static void exec_settle(sup_t *sp, task_t *task)
{
    unsigned char now[MARK_LEN];
    bool have = false, execd = false;
    for (size_t i = 0; i < sp->ntasks; i++) {
        task_t *t = sp->tasks[i];
        if (t->tgid != task->tgid || !t->exec_pending)
            continue;
        if (!have && exec_mark(sp, now) < 0)
            return;
        have = true;
        if (memcmp(now, t->exec_mark, MARK_LEN) != 0)
            execd = true;
        t->exec_pending = false;
    }
    if (!execd || vtab_unshare(task) < 0)
        return;
    vtab_t *files = task->files;
    for (size_t i = 0; i < NSLOTS; i++) {
        if (files->cloexec[i])
            files->slot[i] = SLOT_FREE;
        files->cloexec[i] = 0;
    }
}

/* A copy between descriptors (sendfile, splice, tee, copy_file_range,
 * vmsplice) where some end is virtual: the channel rules say whether any
 * byte could pass (EDQUOT, or 0 at the end of a source); otherwise EINVAL
 * and callers fall back to read and write, which are counted. */
static long do_copy(sup_t *sp, vtab_t *t, int src, int dst, bool *cont)
{
    const __u64 *a = sp->req->data.args;
    bool any = false, at_end = false;
    for (int k = 0; k < 2; k++) {
        int arg = k == 0 ? src : dst, slot;
        if (arg < 0 || !is_virtual(t, a[arg]))
            continue;
        any = true;
        zvm_channel_t *ch = channel_of(sp, t, a[arg], &slot);
        if (!ch)
            continue;
        int rc = zvm_channel_copy_check(ch, k == 0);
        if (rc == -EDQUOT)
            return rc;
        at_end |= rc == 0;
    }
    if (!any) {
        *cont = true;
        return 0;
    }
    return at_end ? 0 : -EINVAL;
}

static uint64_t boottime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* sysinfo(2) as the sandbox: Memory free and nothing else in use (as its
 * /proc/meminfo), no swap, no load, its processes, its age (its clocks
 * start one second in: procfs.c). */
static long do_sysinfo(sup_t *sp, uint64_t addr)
{
    struct sysinfo si;
    memset(&si, 0, sizeof si);
    si.uptime = (long)((boottime_ns() - sp->started) / 1000000000ull) + 1;
    si.totalram = si.freeram = (unsigned long)sp->s->manifest.memory;
    si.procs = (unsigned short)zvm__tree_processes(sp->kbuf.root);
    si.mem_unit = 1;
    return mem_io(sp, &si, sizeof si, addr, true) == (ssize_t)sizeof si ? 0 : -EFAULT;
}

/* seccomp(SECCOMP_SET_MODE_FILTER) and prctl(PR_SET_SECCOMP).  A listener
 * of the program's own would take notifications before ours: EPERM.  Each
 * filter it stacks costs kernel memory no limit of the sandbox sees, so a
 * process may hold ZVM_OWN_FILTERS_MAX of its own (inherited ones
 * included) on the jail's; past that, ENOMEM, the kernel's own answer to
 * too long a chain.  The caller is blocked while its notification is
 * valid, so the count read is its own. */
static long do_own_filter(sup_t *sp, bool *cont)
{
    const struct seccomp_data *d = &sp->req->data;
    if (d->nr == SYS_seccomp && (d->args[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER))
        return -EPERM;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)sp->req->pid);
    long n = -1;
    if (read_proc(path, buf, sizeof buf) == 0) {
        const char *f = strstr(buf, "\nSeccomp_filters:");
        if (f)
            n = strtol(f + sizeof "\nSeccomp_filters:" - 1, NULL, 10);
    }
    if (!notif_valid(sp))
        return 0; /* the caller is gone */
    if (n < 0 || n >= (long)(ZVM_JAIL_FILTERS + ZVM_OWN_FILTERS_MAX))
        return -ENOMEM;
    *cont = true;
    return 0;
}

/* fsync or fdatasync of a real descriptor: the host's disks are not the
 * sandbox's to flush (the writable mounts are its tmpfs and overlays,
 * whose writes vanish; a channel's bytes are the supervisor's to keep).
 * 0 for a descriptor the caller has, EBADF otherwise, as the kernel. */
static long real_fsync(sup_t *sp, uint64_t fd)
{
    if ((int32_t)fd < 0)
        return -EBADF;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)sp->req->pid, (int)(int32_t)fd);
    bool have = access(path, F_OK) == 0;
    if (!notif_valid(sp))
        return 0; /* the caller is gone */
    return have ? 0 : -EBADF;
}

static long handle(sup_t *sp, task_t *task, bool *cont)
{
    const struct seccomp_data *d = &sp->req->data;
    const __u64 *a = d->args;
    vtab_t *t = task->files;
    *cont = false;

    switch (d->nr) {
    case SYS_open:
        return do_open(sp, t, a[0], a[1], cont);
    case SYS_creat:
        return do_open(sp, t, a[0], 0, cont);
    case SYS_openat:
        if ((int32_t)a[0] != AT_FDCWD && is_virtual(t, a[0]))
            return -ENOTDIR;
        return do_open(sp, t, a[1], a[2], cont);
    case SYS_openat2:
        return do_openat2(sp, t, a, cont);
    case SYS_fork:
    case SYS_vfork:
        return do_clone(sp, task, 0, cont);
    case SYS_clone:
        return do_clone(sp, task, a[0], cont);
    case SYS_execve:
    case SYS_execveat:
        return do_exec(sp, task, cont);
    case SYS_close_range:
        return do_close_range(sp, task, a[0], a[1], a[2], cont);
    case SYS_dup2:
        return do_dup2(sp, task, a[0], a[1], 0, false, cont);
    case SYS_dup3:
        return do_dup2(sp, task, a[0], a[1], a[2], true, cont);
    case SYS_socketpair:
    case SYS_pipe:
    case SYS_pipe2: {
        long rc = zvm__kbuf_admit(&sp->kbuf, (pid_t)sp->req->pid, d->nr);
        *cont = rc == 0;
        return rc;
    }
    case SYS_sendfile:
        return do_copy(sp, t, 1, 0, cont);
    case SYS_splice:
    case SYS_copy_file_range:
        return do_copy(sp, t, 0, 2, cont);
    case SYS_tee:
        return do_copy(sp, t, 0, 1, cont);
    case SYS_vmsplice:
        return do_copy(sp, t, -1, 0, cont);
    case SYS_sysinfo:
        return do_sysinfo(sp, a[0]);
    case SYS_seccomp:
    case SYS_prctl:
        return do_own_filter(sp, cont);
    default:
        break;
    }

    int slot;
    zvm_channel_t *ch = channel_of(sp, t, a[0], &slot);
    if (slot == SLOT_FREE && (d->nr == SYS_fsync || d->nr == SYS_fdatasync))
        return real_fsync(sp, a[0]);
    if (slot == SLOT_FREE) {
        *cont = true; /* a real descriptor (or none): the kernel's */
        return 0;
    }

    switch (d->nr) {
    case SYS_read:
        return do_read(sp, ch, slot, a[1], a[2], -1);
    case SYS_write:
        return do_write(sp, ch, slot, a[1], a[2], -1);
    case SYS_pread64:
        return (int64_t)a[3] < 0 ? -EINVAL : do_read(sp, ch, slot, a[1], a[2], (int64_t)a[3]);
    case SYS_pwrite64:
        return (int64_t)a[3] < 0 ? -EINVAL : do_write(sp, ch, slot, a[1], a[2], (int64_t)a[3]);
    case SYS_readv:
        return do_readv(sp, ch, slot, a[1], a[2], -1);
    case SYS_writev:
        return do_writev(sp, ch, slot, a[1], a[2], -1);
    case SYS_preadv:
    case SYS_preadv2:
        if ((int64_t)a[3] < -1 || (d->nr == SYS_preadv && (int64_t)a[3] < 0))
            return -EINVAL;
        return do_readv(sp, ch, slot, a[1], a[2], (int64_t)a[3]);
    case SYS_pwritev:
    case SYS_pwritev2:
        if ((int64_t)a[3] < -1 || (d->nr == SYS_pwritev && (int64_t)a[3] < 0))
            return -EINVAL;
        return do_writev(sp, ch, slot, a[1], a[2], (int64_t)a[3]);
    case SYS_lseek:
        return ch ? zvm_channel_seek(ch, (int64_t)a[1], (int)a[2]) : 0;
    case SYS_close:
        return do_close(sp, t, a[0], cont);
    case SYS_fstat:
        return do_fstat(sp, ch, slot, a[1]);
    case SYS_newfstatat:
        return empty_path(sp, a[1], a[3]) ? do_fstat(sp, ch, slot, a[2]) : -ENOTDIR;
    case SYS_statx:
        return empty_path(sp, a[1], a[2]) ? do_statx(sp, ch, slot, a[4]) : -ENOTDIR;
    case SYS_ioctl:
        return -ENOTTY;
    case SYS_fcntl:
        return do_fcntl(sp, t, ch, slot, a[0], a[1], a[2]);
    case SYS_fsync:
    case SYS_fdatasync:
        return ch && ch->kind == ZVM_CHANNEL_FILE && ch->fd >= 0 && fsync(ch->fd) < 0 ? -errno : 0;
    case SYS_ftruncate:
        return ch ? zvm_channel_truncate(ch, (int64_t)a[1]) : -EINVAL;
    case SYS_fallocate:
        return ch ? zvm_channel_allocate(ch, (int)a[1], (int64_t)a[2], (int64_t)a[3]) : -ESPIPE;
    case SYS_dup:
        return do_dup(sp, t, slot, 0, false);
    default:
        return -ENOSYS;
    }
}

static int answer_one(sup_t *sp)
{
    memset(sp->req, 0, sizeof *sp->req);
    if (ioctl(sp->listener, SECCOMP_IOCTL_NOTIF_RECV, sp->req) < 0)
        return errno == EINTR || errno == ENOENT ? 0 : -errno;
    bool cont = false;
    long rc;
    task_t *task = task_find(sp, (pid_t)sp->req->pid);
    if (task && !task_alive(task)) {
        /* The record of a task that ended, whose tid the kernel gave to
         * the caller: forget it (and every other ended one), meet anew. */
        tasks_sweep(sp, NULL);
        task = NULL;
    }
    if (!task)
        task = task_meet(sp);
    if (task) {
        /* Its last fork has returned: its child exists and can be named. */
        clone_settle(sp, task);
        exec_settle(sp, task);
        rc = handle(sp, task, &cont);
    } else {
        rc = notif_valid(sp) ? -ENOMEM : 0; /* or the caller is gone */
    }
    mem_close(sp);
    memset(sp->resp, 0, sizeof *sp->resp);
    sp->resp->id = sp->req->id;
    if (cont) {
        sp->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else if (rc < 0) {
        sp->resp->error = (int32_t)rc;
    } else {
        sp->resp->val = rc;
    }
    if (ioctl(sp->listener, SECCOMP_IOCTL_NOTIF_SEND, sp->resp) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

/* ---- setup and the loop ---------------------------------------------- */

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/*
 * The program blocks on each notification until we answer, so program and
 * supervisor take turns.  Linux 6.6 can hand the CPU straight over in both
 * directions instead of going through the scheduler's wake-up path: a round
 * trip drops from about 15 us to 4 us.  Older kernels refuse the flag; the
 * supervisor then works as before.
 */
static void listener_wake_sync(int listener)
{
    (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
}

static int sup_init(sup_t *sp, zvm_session_t *s, pid_t pid, int listener, zvm_error_t *err)
{
    memset(sp, 0, sizeof *sp);
    sp->s = s;
    sp->listener = listener;
    zvm__kbuf_init(&sp->kbuf, pid, s->manifest.memory);
    sp->started = boottime_ns();
    sp->mem = -1;
    sp->maps = -1;
    sp->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (sp->devnull < 0)
        return zvm_error_errno(err, errno, "cannot open '/dev/null'");
    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
        return zvm_error_errno(err, errno, "SECCOMP_GET_NOTIF_SIZES");
    sp->req = calloc(1, sizes.seccomp_notif > sizeof *sp->req ? sizes.seccomp_notif : sizeof *sp->req);
    sp->resp = calloc(1, sizes.seccomp_notif_resp > sizeof *sp->resp ? sizes.seccomp_notif_resp
                                                                      : sizeof *sp->resp);
    sp->buf = malloc(IO_MAX);
    sp->by_alias = malloc((s->nchannels + 1) * sizeof *sp->by_alias);
    sp->mapping = malloc((s->nchannels + 1) * sizeof *sp->mapping);
    if (!sp->req || !sp->resp || !sp->buf || !sp->by_alias || !sp->mapping)
        return zvm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < s->nchannels; i++) {
        sp->by_alias[i] = i;
        sp->mapping[i] = zvm_session_mapping(s, i);
    }
    qsort_r(sp->by_alias, s->nchannels, sizeof *sp->by_alias, cmp_alias, s);
    return 0;
}

static void sup_release(sup_t *sp)
{
    mem_close(sp);
    for (size_t i = 0; i < sp->ntasks; i++)
        task_free(sp->tasks[i]);
    free(sp->tasks);
    for (size_t i = 0; i < sp->norphans; i++)
        vtab_unref(sp->orphans[i]);
    if (sp->devnull >= 0)
        close(sp->devnull);
    free(sp->req);
    free(sp->resp);
    free(sp->buf);
    free(sp->by_alias);
    free(sp->mapping);
}

/* Read one message from the child; returns its type, 0 at EOF, -1 on error. */
static int sync_recv(int sock, int *fd, char *text, size_t size)
{
    char buf[ZVM_ERROR_MSG_MAX + 1];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    union {
        char raw[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.raw,
                         .msg_controllen = sizeof ctl.raw};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n == 0 ? 0 : -1;
    *fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(c), sizeof *fd);
    size_t len = (size_t)n - 1 < size - 1 ? (size_t)n - 1 : size - 1;
    memcpy(text, buf + 1, len);
    text[len] = '\0';
    return (unsigned char)buf[0];
}

/* A message that says how the child ended (a set-up failure, a program
 * that cannot run, a wasm trap or exit code) goes into the result; false
 * for any other message. */
static bool sync_outcome(zvm_supervisor_result_t *res, int type, const char *text)
{
    switch (type) {
    case ZVM_SYNC_ERROR:
    case ZVM_SYNC_REFUSED:
        snprintf(res->error, sizeof res->error, "%s", text);
        res->exec_failed = type == ZVM_SYNC_REFUSED || strncmp(text, "cannot execute", 14) == 0;
        return true;
    case ZVM_SYNC_TRAP:
        snprintf(res->trap, sizeof res->trap, "%s", text);
        return true;
    case ZVM_SYNC_EXIT: {
        char *end;
        errno = 0;
        unsigned long code = strtoul(text, &end, 10);
        if (errno || end == text || *end || code > UINT32_MAX)
            return true; /* not a code: the wait status alone counts */
        res->exit_code = (uint32_t)code;
        res->has_exit_code = true;
        return true;
    }
    case ZVM_SYNC_STATUS:
        res->program_status = (int)strtol(text, NULL, 10);
        res->program_ended = true;
        return true;
    default:
        return false;
    }
}

int zvm__supervise(zvm_session_t *s, pid_t pid, int pidfd, int listener, int sync_fd,
                   uint64_t tree_limit, zvm_supervisor_result_t *res, zvm_error_t *err)
{
    sup_t *sp = malloc(sizeof *sp);
    if (!sp)
        return zvm_error_set(err, ENOMEM, "out of memory");
    int rc = sup_init(sp, s, pid, listener, err);
    if (rc < 0) {
        sup_release(sp);
        free(sp);
        return -1;
    }

    /* The deadline: SIGALRM kills the whole jail (its init, pid 1 of its namespace)
     * and interrupts any channel I/O we are blocked in. */
    deadline_passed = 0;
    deadline_pid = pid;
    struct sigaction sa = {.sa_handler = on_deadline}, old_sa;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old_sa);
    struct itimerval it = {.it_value = {.tv_sec = s->manifest.timeout}};
    setitimer(ITIMER_REAL, &it, NULL);

    /* The memory of the whole tree, a few times a second (memwatch.c). */
    int tick = -1;
    if (tree_limit) {
        tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        struct itimerspec every = {.it_interval = {0, 50000000}, .it_value = {0, 50000000}};
        if (tick >= 0)
            timerfd_settime(tick, 0, &every, NULL);
    }

    bool sync_open = true, exited = false;
    while (!exited) {
        struct pollfd p[4] = {
            {.fd = pidfd, .events = POLLIN},
            {.fd = sp->listener, .events = sp->listener >= 0 ? POLLIN : 0},
            {.fd = sync_open ? sync_fd : -1, .events = POLLIN},
            {.fd = tick, .events = POLLIN},
        };
        if (poll(p, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            zvm_error_errno(err, errno, "poll");
            kill(pid, SIGKILL);
        }
        if (p[2].revents) {
            int fd = -1;
            char text[ZVM_ERROR_MSG_MAX];
            int type = sync_recv(sync_fd, &fd, text, sizeof text);
            if (type == ZVM_SYNC_LISTENER && fd >= 0 && sp->listener < 0) {
                sp->listener = fd;
                listener_wake_sync(fd);
            } else if (!sync_outcome(res, type, text)) {
                if (fd >= 0)
                    close(fd);
                sync_open = false; /* exec'd, or gone */
            }
        }
        if (p[1].revents & POLLIN) {
            int r = answer_one(sp);
            if (r < 0 && r != -EINTR) {
                /* The listener broke: the program cannot be served. */
                close(sp->listener);
                sp->listener = -1;
            }
        } else if (p[1].revents & (POLLHUP | POLLERR)) {
            close(sp->listener);
            sp->listener = -1;
        }
        if (p[3].revents & POLLIN) {
            uint64_t ticks;
            if (read(tick, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
                ticks = 0;
            if (!res->memory_exceeded && zvm__tree_memory(pid) > tree_limit) {
                res->memory_exceeded = true;
                kill(pid, SIGKILL);
            }
        }
        if (p[0].revents & POLLIN)
            exited = true;
    }
    if (tick >= 0)
        close(tick);

    /* A last message may still wait behind the exit (a wasm trap is told
     * just before the program ends). */
    while (sync_open) {
        struct pollfd last = {.fd = sync_fd, .events = POLLIN};
        if (poll(&last, 1, 0) <= 0 || !(last.revents & POLLIN))
            break;
        int fd = -1;
        char text[ZVM_ERROR_MSG_MAX];
        int type = sync_recv(sync_fd, &fd, text, sizeof text);
        if (fd >= 0)
            close(fd);
        if (!sync_outcome(res, type, text))
            break;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old_sa, NULL);
    deadline_pid = 0;

    struct rusage ru;
    pid_t w;
    do
        w = wait4(pid, &res->wait_status, 0, &ru);
    while (w < 0 && errno == EINTR);
    /* The jail's init ended by itself after the program: the program's
     * own end is the outcome (its status, with the init's rusage, which
     * holds every process it reaped). */
    if (w == pid && WIFEXITED(res->wait_status) && res->program_ended)
        res->wait_status = res->program_status;
    if (w == pid) {
        res->utime = ru.ru_utime;
        res->stime = ru.ru_stime;
        res->maxrss_kb = ru.ru_maxrss;
    }
    res->timed_out = deadline_passed;
    if (sp->listener >= 0 && sp->listener != listener)
        close(sp->listener);
    sup_release(sp);
    free(sp);
    return 0;
}
