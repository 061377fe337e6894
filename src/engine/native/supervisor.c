/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor: the parent's side of a native session.  It answers the
 * program's system calls on virtual descriptors (seccomp user
 * notifications) by performing them itself on the channels, through
 * libzvm's channel functions (quotas, etags, counters), and it stops the
 * program at its Timeout.
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
 * Virtual descriptor table: slots 0..2 are the standard streams (bound to
 * the channels with aliases /dev/stdin, /dev/stdout, /dev/stderr, or to
 * nothing, which reads as end of file and swallows writes), slots from
 * ZVM_VFD_BASE are handed out by open() of an alias and by dup().  All
 * processes of the sandbox share one table.
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"

#define SLOT_FREE (-1)
#define SLOT_NULL (-2)          /* an undeclared standard stream */
#define IO_MAX (8u << 20)       /* bytes moved by one call at most */
#define IOV_MAX_COUNT 1024

typedef struct sup {
    zvm_session_t *s;
    int listener;
    int slots[3 + ZVM_VFD_COUNT];      /* channel index, SLOT_FREE or SLOT_NULL */
    size_t *by_alias;                  /* channel indexes sorted by alias */
    int *mapping;                      /* per channel: nvram mapping mode or -1 */
    int mem;                           /* /proc/<tid>/mem of the current caller, or -1 */
    int maps;                          /* /proc/<tid>/maps of the current caller, or -1 */
    bool mem_by_vm;                    /* that file is closed to us: process_vm_* */
    char *buf;
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    zvm_kbuf_t kbuf;                   /* socketpairs and pipes (kbuf.c) */
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

/* ---- descriptors ---------------------------------------------------- */

static int *slot_of(sup_t *sp, uint64_t raw)
{
    uint32_t fd = (uint32_t)raw;
    if (fd <= 2)
        return &sp->slots[fd];
    if (fd >= ZVM_VFD_BASE && fd < ZVM_VFD_END)
        return &sp->slots[3 + fd - ZVM_VFD_BASE];
    return NULL;
}

static zvm_channel_t *channel_of(sup_t *sp, uint64_t raw, int *slot_value)
{
    int *slot = slot_of(sp, raw);
    *slot_value = slot ? *slot : SLOT_FREE;
    return slot && *slot >= 0 ? &sp->s->channels[*slot] : NULL;
}

static long vfd_alloc(sup_t *sp, int channel, uint32_t from)
{
    uint32_t start = from > ZVM_VFD_BASE ? from - ZVM_VFD_BASE : 0;
    for (uint32_t i = start; i < ZVM_VFD_COUNT; i++) {
        if (sp->slots[3 + i] == SLOT_FREE) {
            sp->slots[3 + i] = channel;
            return (long)(ZVM_VFD_BASE + i);
        }
    }
    return -EMFILE;
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

/* ---- the program's memory ------------------------------------------ */

static bool notif_valid(sup_t *sp)
{
    return ioctl(sp->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &sp->req->id) == 0;
}

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

static long do_dup(sup_t *sp, int slot, uint64_t newfd_raw, bool exact)
{
    if (!exact)
        return vfd_alloc(sp, slot, (uint32_t)newfd_raw);
    int *target = slot_of(sp, newfd_raw);
    if (!target)
        return -EBADF; /* a virtual descriptor cannot become a real one */
    *target = slot;
    return (long)(uint32_t)newfd_raw;
}

static long do_fcntl(sup_t *sp, zvm_channel_t *ch, int slot, uint64_t cmd, uint64_t arg)
{
    switch ((int)cmd) {
    case F_GETFD:
    case F_SETFD:
    case F_SETFL:
        return 0;
    case F_GETFL:
        if (!ch)
            return O_RDWR;
        return ch->readable && ch->writable ? O_RDWR : ch->writable ? O_WRONLY : O_RDONLY;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return do_dup(sp, slot, arg, false);
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

static long do_open(sup_t *sp, uint64_t path_addr, bool *cont)
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
    return vfd_alloc(sp, idx, 0);
}

static long handle(sup_t *sp, bool *cont)
{
    const struct seccomp_data *d = &sp->req->data;
    const __u64 *a = d->args;
    *cont = false;

    switch (d->nr) {
    case SYS_open:
    case SYS_creat:
        return do_open(sp, a[0], cont);
    case SYS_openat:
        if ((int32_t)a[0] != AT_FDCWD && slot_of(sp, a[0])) {
            int sv;
            channel_of(sp, a[0], &sv);
            if (sv != SLOT_FREE)
                return -ENOTDIR;
        }
        return do_open(sp, a[1], cont);
    case SYS_socketpair:
    case SYS_pipe:
    case SYS_pipe2: {
        long rc = zvm__kbuf_admit(&sp->kbuf, (pid_t)sp->req->pid, d->nr);
        *cont = rc == 0;
        return rc;
    }
    default:
        break;
    }

    switch (d->nr) {
    case SYS_sendfile:
    case SYS_splice:
    case SYS_tee:
    case SYS_vmsplice:
    case SYS_copy_file_range:
        /* Some descriptor is virtual: no kernel-side copy; callers fall
         * back to read and write, which are counted. */
        return -EINVAL;
    default:
        break;
    }

    int slot;
    zvm_channel_t *ch = channel_of(sp, a[0], &slot);
    if (slot == SLOT_FREE)
        return -EBADF;

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
        *slot_of(sp, a[0]) = SLOT_FREE;
        return 0;
    case SYS_fstat:
        return do_fstat(sp, ch, slot, a[1]);
    case SYS_newfstatat:
        return empty_path(sp, a[1], a[3]) ? do_fstat(sp, ch, slot, a[2]) : -ENOTDIR;
    case SYS_statx:
        return empty_path(sp, a[1], a[2]) ? do_statx(sp, ch, slot, a[4]) : -ENOTDIR;
    case SYS_ioctl:
        return -ENOTTY;
    case SYS_fcntl:
        return do_fcntl(sp, ch, slot, a[1], a[2]);
    case SYS_fsync:
    case SYS_fdatasync:
        return ch && ch->kind == ZVM_CHANNEL_FILE && ch->fd >= 0 && fsync(ch->fd) < 0 ? -errno : 0;
    case SYS_ftruncate:
        return -EINVAL;
    case SYS_dup:
        return do_dup(sp, slot, 0, false);
    case SYS_dup2:
        return do_dup(sp, slot, a[1], true);
    case SYS_dup3:
        if ((uint32_t)a[0] == (uint32_t)a[1])
            return -EINVAL;
        return do_dup(sp, slot, a[1], true);
    default:
        return -ENOSYS;
    }
}

static int answer_one(sup_t *sp)
{
    memset(sp->req, 0, sizeof *sp->req);
    if (ioctl(sp->listener, SECCOMP_IOCTL_NOTIF_RECV, sp->req) < 0)
        return errno == EINTR || errno == ENOENT ? 0 : -errno;
    bool cont;
    long rc = handle(sp, &cont);
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
    for (size_t i = 0; i < sizeof sp->slots / sizeof sp->slots[0]; i++)
        sp->slots[i] = SLOT_FREE;
    sp->mem = -1;
    sp->maps = -1;
    static const char *const std_alias[3] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (int i = 0; i < 3; i++) {
        int c = zvm_session_find_channel(s, std_alias[i]);
        sp->slots[i] = c >= 0 ? c : SLOT_NULL;
    }
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
 * that cannot run, a wasm trap) goes into the result; false for any other
 * message. */
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

    /* The deadline: SIGALRM kills the whole jail (pid 1 of its namespace)
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
