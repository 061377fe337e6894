/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WASI preview1 ("wasi_snapshot_preview1") for the wasm engine: the host
 * functions a wasi-libc program imports, over the jail's file system, plus
 * the context's lifecycle (init, seed, release, exit).
 *
 * What this file owns:
 *  - the descriptor table ctx->fds: WASI numbers are ours, each entry holds
 *    a host descriptor (a real one, or a virtual channel descriptor that the
 *    supervisor serves); fds 0-2 borrow the process's 0-2, fd 3 is the one
 *    preopened directory, shown to the program as "/", its host directory
 *    opened on first use (the jail closes the child's descriptors after
 *    the context is made); every directory entry holds a real directory
 *    descriptor, so a renamed directory stays the one it was;
 *  - rights: each call checks the rights it needs on its descriptor
 *    (NOTCAPABLE otherwise), fd_fdstat_set_rights only drops rights, and
 *    path_open gives at most the directory's inheriting rights, cut to what
 *    a file or a directory can do; the host open mode only follows them (a
 *    directory is always opened read-only, and asked for writing is
 *    ISDIR);
 *  - path resolution: the kernel resolves a WASI path beneath its
 *    directory's descriptor (openat2, RESOLVE_BENEATH: ".." is the file
 *    system's, symbolic links are followed, and whatever would leave the
 *    directory is NOTCAPABLE); only channel aliases, which the supervisor
 *    recognises by absolute path, are opened by their absolute path (the
 *    directory's path when opened, joined to the program's path);
 *  - the memory rule: every (pointer, length) from the program is checked
 *    against the linear memory with 64-bit arithmetic before any byte is
 *    touched and before any side effect, so a bad pointer fails with FAULT
 *    and changes nothing;
 *  - clocks (nvram [time] shifts the realtime clock), random_get (getrandom,
 *    or a fixed sequence when seeded), poll_oneoff (files are ready with
 *    the bytes left, streams as ppoll(2) says, clocks when they expire).
 *
 * On channel descriptors only the calls the supervisor serves work (read,
 * write and their vector and positioned forms, lseek, fstat, fsync,
 * ftruncate, fcntl, close), so this file keeps to those where it can (fsync
 * for datasync, no fadvise).  Nothing here allocates on the read/write path
 * or prints.  Layouts and numbers are from wasi-libc's wasi/api.h, checked
 * against its offsets.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>     /* renameat, snprintf: nothing here prints */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "lib/util.h"

/* ---- WASI numbers (wasi/api.h) ---------------------------------------- */

enum {
    WE_SUCCESS = 0, WE_2BIG = 1, WE_ACCES = 2, WE_ADDRINUSE = 3,
    WE_ADDRNOTAVAIL = 4, WE_AFNOSUPPORT = 5, WE_AGAIN = 6, WE_ALREADY = 7,
    WE_BADF = 8, WE_BADMSG = 9, WE_BUSY = 10, WE_CANCELED = 11, WE_CHILD = 12,
    WE_CONNABORTED = 13, WE_CONNREFUSED = 14, WE_CONNRESET = 15,
    WE_DEADLK = 16, WE_DESTADDRREQ = 17, WE_DOM = 18, WE_DQUOT = 19,
    WE_EXIST = 20, WE_FAULT = 21, WE_FBIG = 22, WE_HOSTUNREACH = 23,
    WE_IDRM = 24, WE_ILSEQ = 25, WE_INPROGRESS = 26, WE_INTR = 27,
    WE_INVAL = 28, WE_IO = 29, WE_ISCONN = 30, WE_ISDIR = 31, WE_LOOP = 32,
    WE_MFILE = 33, WE_MLINK = 34, WE_MSGSIZE = 35, WE_MULTIHOP = 36,
    WE_NAMETOOLONG = 37, WE_NETDOWN = 38, WE_NETRESET = 39,
    WE_NETUNREACH = 40, WE_NFILE = 41, WE_NOBUFS = 42, WE_NODEV = 43,
    WE_NOENT = 44, WE_NOEXEC = 45, WE_NOLCK = 46, WE_NOLINK = 47,
    WE_NOMEM = 48, WE_NOMSG = 49, WE_NOPROTOOPT = 50, WE_NOSPC = 51,
    WE_NOSYS = 52, WE_NOTCONN = 53, WE_NOTDIR = 54, WE_NOTEMPTY = 55,
    WE_NOTRECOVERABLE = 56, WE_NOTSOCK = 57, WE_NOTSUP = 58, WE_NOTTY = 59,
    WE_NXIO = 60, WE_OVERFLOW = 61, WE_OWNERDEAD = 62, WE_PERM = 63,
    WE_PIPE = 64, WE_PROTO = 65, WE_PROTONOSUPPORT = 66, WE_PROTOTYPE = 67,
    WE_RANGE = 68, WE_ROFS = 69, WE_SPIPE = 70, WE_SRCH = 71, WE_STALE = 72,
    WE_TIMEDOUT = 73, WE_TXTBSY = 74, WE_XDEV = 75, WE_NOTCAPABLE = 76,
};

enum { CLOCK_ID_REALTIME = 0, CLOCK_ID_MONOTONIC = 1,
       CLOCK_ID_PROCESS = 2, CLOCK_ID_THREAD = 3 };

enum { FT_UNKNOWN = 0, FT_BLOCK = 1, FT_CHAR = 2, FT_DIR = 3, FT_REG = 4,
       FT_SOCK_DGRAM = 5, FT_SOCK_STREAM = 6, FT_SYMLINK = 7 };

#define FDFLAG_APPEND   (1u << 0)
#define FDFLAG_DSYNC    (1u << 1)
#define FDFLAG_NONBLOCK (1u << 2)
#define FDFLAG_RSYNC    (1u << 3)
#define FDFLAG_SYNC     (1u << 4)
#define FDFLAG_ALL      0x1fu

#define OFLAG_CREAT     (1u << 0)
#define OFLAG_DIRECTORY (1u << 1)
#define OFLAG_EXCL      (1u << 2)
#define OFLAG_TRUNC     (1u << 3)

#define LOOKUP_SYMLINK_FOLLOW (1u << 0)

#define FST_ATIM     (1u << 0)
#define FST_ATIM_NOW (1u << 1)
#define FST_MTIM     (1u << 2)
#define FST_MTIM_NOW (1u << 3)

#define R_FD_DATASYNC             (1ull << 0)
#define R_FD_READ                 (1ull << 1)
#define R_FD_SEEK                 (1ull << 2)
#define R_FD_FDSTAT_SET_FLAGS     (1ull << 3)
#define R_FD_SYNC                 (1ull << 4)
#define R_FD_TELL                 (1ull << 5)
#define R_FD_WRITE                (1ull << 6)
#define R_FD_ADVISE               (1ull << 7)
#define R_FD_ALLOCATE             (1ull << 8)
#define R_PATH_CREATE_DIRECTORY   (1ull << 9)
#define R_PATH_CREATE_FILE        (1ull << 10)
#define R_PATH_LINK_SOURCE        (1ull << 11)
#define R_PATH_LINK_TARGET        (1ull << 12)
#define R_PATH_OPEN               (1ull << 13)
#define R_FD_READDIR              (1ull << 14)
#define R_PATH_READLINK           (1ull << 15)
#define R_PATH_RENAME_SOURCE      (1ull << 16)
#define R_PATH_RENAME_TARGET      (1ull << 17)
#define R_PATH_FILESTAT_GET       (1ull << 18)
#define R_PATH_FILESTAT_SET_SIZE  (1ull << 19)
#define R_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define R_FD_FILESTAT_GET         (1ull << 21)
#define R_FD_FILESTAT_SET_SIZE    (1ull << 22)
#define R_FD_FILESTAT_SET_TIMES   (1ull << 23)
#define R_PATH_SYMLINK            (1ull << 24)
#define R_PATH_REMOVE_DIRECTORY   (1ull << 25)
#define R_PATH_UNLINK_FILE        (1ull << 26)
#define R_POLL_FD_READWRITE       (1ull << 27)
#define R_SOCK_SHUTDOWN           (1ull << 28)
#define R_SOCK_ACCEPT             (1ull << 29)
#define R_ALL                     ((1ull << 30) - 1)  /* every right preview1 defines */
/* What a directory can do, and what anything else can: the base rights of
 * a descriptor path_open makes are cut to its kind. */
#define R_DIR (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_ADVISE | R_PATH_CREATE_DIRECTORY | \
               R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | R_PATH_LINK_TARGET | R_PATH_OPEN | \
               R_FD_READDIR | R_PATH_READLINK | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET | \
               R_PATH_FILESTAT_GET | R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES | \
               R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK | \
               R_PATH_REMOVE_DIRECTORY | R_PATH_UNLINK_FILE | R_POLL_FD_READWRITE)
#define R_FILE (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | \
                R_FD_TELL | R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET | \
                R_FD_FILESTAT_SET_SIZE | R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE | \
                R_SOCK_SHUTDOWN | R_SOCK_ACCEPT)

enum { EV_CLOCK = 0, EV_FD_READ = 1, EV_FD_WRITE = 2 };
#define SUBCLOCK_ABSTIME (1u << 0)
#define EVRW_HANGUP      (1u << 0)

/* Sizes and offsets of the structures the program passes (wasm32). */
enum {
    IOVEC_SIZE = 8,            /* buf u32 @0, buf_len u32 @4 */
    DIRENT_SIZE = 24,          /* d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20 */
    FDSTAT_SIZE = 24,          /* filetype u8 @0, flags u16 @2, base u64 @8, inheriting u64 @16 */
    FILESTAT_SIZE = 64,        /* dev @0, ino @8, filetype u8 @16, nlink @24, size @32,
                                  atim @40, mtim @48, ctim @56 */
    PRESTAT_SIZE = 8,          /* tag u8 @0, name_len u32 @4 */
    SUBSCRIPTION_SIZE = 48,    /* userdata u64 @0, tag u8 @8, union @16:
                                  clock: id u32 @16, timeout u64 @24, precision u64 @32,
                                         flags u16 @40; fd: fd u32 @16 */
    EVENT_SIZE = 32,           /* userdata u64 @0, error u16 @8, type u8 @10,
                                  nbytes u64 @16, flags u16 @24 */
};

#define WASI_IOV_MAX 1024      /* iovecs per call, as Linux's IOV_MAX */
#define READDIR_CHUNK 4096     /* host getdents64 buffer */

/* ---- helpers ------------------------------------------------------------- */

static inline zvm_wasm_ctx_t *ctx_of(zvm_wasi_t *inst)
{
    return &inst->ctx;
}

uint8_t *zvm__wasm_mem(const zvm_wasm_ctx_t *ctx, uint32_t ptr, uint64_t len)
{
    const wasm_rt_memory_t *m = ctx->memory;
    if (!m || !m->data || len > m->size || ptr > m->size - len)
        return NULL;
    return m->data + ptr;
}

/* Little-endian stores and loads at any alignment (wasm memory is LE). */
static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

uint16_t zvm__wasm_errno(int e)
{
    switch (e) {
    case 0: return WE_SUCCESS;
    case E2BIG: return WE_2BIG;
    case EACCES: return WE_ACCES;
    case EADDRINUSE: return WE_ADDRINUSE;
    case EADDRNOTAVAIL: return WE_ADDRNOTAVAIL;
    case EAFNOSUPPORT: return WE_AFNOSUPPORT;
    case EPFNOSUPPORT: return WE_AFNOSUPPORT;
    case EAGAIN: return WE_AGAIN;           /* = EWOULDBLOCK */
    case EALREADY: return WE_ALREADY;
    case EBADF: return WE_BADF;
    case EBADFD: return WE_BADF;
    case EBADMSG: return WE_BADMSG;
    case EBUSY: return WE_BUSY;
    case ECANCELED: return WE_CANCELED;
    case ECHILD: return WE_CHILD;
    case ECONNABORTED: return WE_CONNABORTED;
    case ECONNREFUSED: return WE_CONNREFUSED;
    case ECONNRESET: return WE_CONNRESET;
    case EDEADLK: return WE_DEADLK;         /* = EDEADLOCK */
    case EDESTADDRREQ: return WE_DESTADDRREQ;
    case EDOM: return WE_DOM;
    case EDQUOT: return WE_DQUOT;           /* channel quotas */
    case EEXIST: return WE_EXIST;
    case EFAULT: return WE_FAULT;
    case EFBIG: return WE_FBIG;
    case EHOSTUNREACH: return WE_HOSTUNREACH;
    case EHOSTDOWN: return WE_HOSTUNREACH;
    case EIDRM: return WE_IDRM;
    case EILSEQ: return WE_ILSEQ;
    case EINPROGRESS: return WE_INPROGRESS;
    case EINTR: return WE_INTR;
    case ERESTART: return WE_INTR;
    case EINVAL: return WE_INVAL;
    case EIO: return WE_IO;
    case EISCONN: return WE_ISCONN;
    case EISDIR: return WE_ISDIR;
    case ELOOP: return WE_LOOP;
    case EMFILE: return WE_MFILE;
    case EMLINK: return WE_MLINK;
    case EMSGSIZE: return WE_MSGSIZE;
    case EMULTIHOP: return WE_MULTIHOP;
    case ENAMETOOLONG: return WE_NAMETOOLONG;
    case ENETDOWN: return WE_NETDOWN;
    case ENETRESET: return WE_NETRESET;
    case ENETUNREACH: return WE_NETUNREACH;
    case ENFILE: return WE_NFILE;
    case ENOBUFS: return WE_NOBUFS;
    case ENODEV: return WE_NODEV;
    case ENOMEDIUM: return WE_NODEV;
    case ENOENT: return WE_NOENT;
    case ENOEXEC: return WE_NOEXEC;
    case ENOLCK: return WE_NOLCK;
    case ENOLINK: return WE_NOLINK;
    case ENOMEM: return WE_NOMEM;
    case ENOMSG: return WE_NOMSG;
    case ENODATA: return WE_NOMSG;
    case ENOPROTOOPT: return WE_NOPROTOOPT;
    case ENOSPC: return WE_NOSPC;
    case ENOSYS: return WE_NOSYS;
    case ENOTCONN: return WE_NOTCONN;
    case ENOTDIR: return WE_NOTDIR;
    case ENOTEMPTY: return WE_NOTEMPTY;
    case ENOTRECOVERABLE: return WE_NOTRECOVERABLE;
    case ENOTSOCK: return WE_NOTSOCK;
    case ENOTSUP: return WE_NOTSUP;         /* = EOPNOTSUPP */
    case ESOCKTNOSUPPORT: return WE_NOTSUP;
    case ENOTTY: return WE_NOTTY;
    case ENXIO: return WE_NXIO;
    case EOVERFLOW: return WE_OVERFLOW;
    case EOWNERDEAD: return WE_OWNERDEAD;
    case EPERM: return WE_PERM;
    case EPIPE: return WE_PIPE;
    case ESHUTDOWN: return WE_PIPE;
    case EPROTO: return WE_PROTO;
    case EPROTONOSUPPORT: return WE_PROTONOSUPPORT;
    case EPROTOTYPE: return WE_PROTOTYPE;
    case ERANGE: return WE_RANGE;
    case EROFS: return WE_ROFS;
    case ESPIPE: return WE_SPIPE;
    case ESRCH: return WE_SRCH;
    case ESTALE: return WE_STALE;
    case ETIMEDOUT: return WE_TIMEDOUT;
    case ETXTBSY: return WE_TXTBSY;
    case EXDEV: return WE_XDEV;
    default: return WE_IO;
    }
}

/* The current errno as a WASI errno, for "return err();" after a failed call. */
static uint32_t err(void)
{
    return zvm__wasm_errno(errno);
}

static zvm_wasm_fd_t *fd_get(zvm_wasm_ctx_t *ctx, uint32_t fd)
{
    if (fd >= ZVM_WASM_MAX_FDS || ctx->fds[fd].kind == ZVM_WASM_FD_FREE)
        return NULL;
    return &ctx->fds[fd];
}

/* The lowest free WASI number, or -1. */
static int fd_alloc(const zvm_wasm_ctx_t *ctx)
{
    for (int i = 0; i < ZVM_WASM_MAX_FDS; i++)
        if (ctx->fds[i].kind == ZVM_WASM_FD_FREE)
            return i;
    return -1;
}

static int dir_host(zvm_wasm_fd_t *d);

/* Does entry f hold every right in `need`?  NOTCAPABLE when not, except
 * that a positioned or seeking call on what cannot seek (a pipe, a
 * terminal: rights without SEEK from the start) is SPIPE as on Linux. */
static uint32_t rights_check(const zvm_wasm_fd_t *f, uint64_t need)
{
    uint64_t missing = need & ~f->rights_base;
    if (!missing)
        return 0;
    if (missing == R_FD_SEEK && f->kind == ZVM_WASM_FD_FILE && f->filetype != FT_REG &&
        f->filetype != FT_BLOCK)
        return WE_SPIPE;
    return WE_NOTCAPABLE;
}

/* The entry of `fd` for a call that needs `need`, with its host descriptor
 * ready (a directory's is opened on first use): 0 or a WASI errno. */
static uint32_t fd_use(zvm_wasm_ctx_t *ctx, uint32_t fd, uint64_t need, zvm_wasm_fd_t **out)
{
    zvm_wasm_fd_t *f = fd_get(ctx, fd);
    if (!f)
        return WE_BADF;
    uint32_t rc = rights_check(f, need);
    if (rc)
        return rc;
    if (f->kind == ZVM_WASM_FD_DIR && dir_host(f) < 0)
        return err();
    *out = f;
    return 0;
}

/* Close the host side (unless borrowed) and free the entry. */
static int fd_clear(zvm_wasm_fd_t *f)
{
    int rc = 0;
    if (f->kind != ZVM_WASM_FD_FREE && !f->borrowed && f->host >= 0)
        rc = close(f->host); /* Linux frees the descriptor even on EINTR */
    free(f->path);
    memset(f, 0, sizeof *f);
    f->host = -1;
    return rc;
}

static uint8_t filetype_of(mode_t mode)
{
    if (S_ISREG(mode)) return FT_REG;
    if (S_ISDIR(mode)) return FT_DIR;
    if (S_ISCHR(mode)) return FT_CHAR;
    if (S_ISBLK(mode)) return FT_BLOCK;
    if (S_ISLNK(mode)) return FT_SYMLINK;
    if (S_ISSOCK(mode)) return FT_SOCK_STREAM;
    return FT_UNKNOWN; /* FIFO: preview1 has no type for it */
}

static uint64_t ns_of(struct timespec ts)
{
    if (ts.tv_sec < 0)
        return 0;
    if ((uint64_t)ts.tv_sec > (UINT64_MAX - (uint64_t)ts.tv_nsec) / 1000000000u)
        return UINT64_MAX;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec ts_of(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    return ts;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void put_filestat(uint8_t *p, const struct stat *st)
{
    memset(p, 0, FILESTAT_SIZE);
    put_u64(p + 0, (uint64_t)st->st_dev);
    put_u64(p + 8, (uint64_t)st->st_ino);
    p[16] = filetype_of(st->st_mode);
    put_u64(p + 24, (uint64_t)st->st_nlink);
    put_u64(p + 32, st->st_size < 0 ? 0 : (uint64_t)st->st_size);
    put_u64(p + 40, ns_of(st->st_atim));
    put_u64(p + 48, ns_of(st->st_mtim));
    put_u64(p + 56, ns_of(st->st_ctim));
}

/* utimensat's times from WASI's (atim, mtim, fstflags); 0 or a WASI errno. */
static uint32_t times_of(uint64_t atim, uint64_t mtim, uint32_t fst,
                         struct timespec ts[2])
{
    if (fst & ~(FST_ATIM | FST_ATIM_NOW | FST_MTIM | FST_MTIM_NOW))
        return WE_INVAL;
    if ((fst & FST_ATIM && fst & FST_ATIM_NOW) || (fst & FST_MTIM && fst & FST_MTIM_NOW))
        return WE_INVAL;
    ts[0] = ts_of(atim);
    ts[1] = ts_of(mtim);
    if (fst & FST_ATIM_NOW)
        ts[0].tv_nsec = UTIME_NOW;
    else if (!(fst & FST_ATIM))
        ts[0].tv_nsec = UTIME_OMIT;
    if (fst & FST_MTIM_NOW)
        ts[1].tv_nsec = UTIME_NOW;
    else if (!(fst & FST_MTIM))
        ts[1].tv_nsec = UTIME_OMIT;
    return 0;
}

/* The program's iovec array as host iovecs: 0 or a WASI errno.  Each
 * buffer is checked; the kernel caps one transfer below 2 GiB, so the
 * count returned always fits the program's u32. */
static uint32_t gather(zvm_wasm_ctx_t *ctx, uint32_t iovs, uint32_t n,
                       struct iovec *iov)
{
    if (n > WASI_IOV_MAX)
        return WE_INVAL;
    const uint8_t *a = zvm__wasm_mem(ctx, iovs, (uint64_t)n * IOVEC_SIZE);
    if (!a)
        return WE_FAULT;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = get_u32(a + i * IOVEC_SIZE);
        uint32_t blen = get_u32(a + i * IOVEC_SIZE + 4);
        uint8_t *b = zvm__wasm_mem(ctx, buf, blen);
        if (!b)
            return WE_FAULT;
        iov[i] = (struct iovec){.iov_base = b, .iov_len = blen};
    }
    return 0;
}

/* Which transfer fd_read and friends perform. */
typedef enum { IO_READ, IO_WRITE, IO_PREAD, IO_PWRITE } io_op_t;

static uint32_t transfer(zvm_wasm_ctx_t *ctx, io_op_t op, uint32_t fd,
                         uint32_t iovs, uint32_t n, uint64_t offset,
                         uint32_t result)
{
    zvm_wasm_fd_t *f = fd_get(ctx, fd);
    if (!f)
        return WE_BADF;
    if (f->kind == ZVM_WASM_FD_DIR)
        return WE_ISDIR;
    static const uint64_t need[] = {
        [IO_READ] = R_FD_READ, [IO_WRITE] = R_FD_WRITE,
        [IO_PREAD] = R_FD_READ | R_FD_SEEK, [IO_PWRITE] = R_FD_WRITE | R_FD_SEEK};
    uint32_t rc = rights_check(f, need[op]);
    if (rc)
        return rc;
    uint8_t *res = zvm__wasm_mem(ctx, result, 4);
    if (!res)
        return WE_FAULT;
    if ((op == IO_PREAD || op == IO_PWRITE) && offset > INT64_MAX)
        return WE_INVAL;
    struct iovec iov[WASI_IOV_MAX];
    rc = gather(ctx, iovs, n, iov);
    if (rc)
        return rc;

    ssize_t got;
    do {
        switch (op) {
        case IO_READ: got = readv(f->host, iov, (int)n); break;
        case IO_WRITE: got = writev(f->host, iov, (int)n); break;
        case IO_PREAD: got = preadv(f->host, iov, (int)n, (off_t)offset); break;
        default: got = pwritev(f->host, iov, (int)n, (off_t)offset); break;
        }
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return err();
    put_u32(res, (uint32_t)got);
    return 0;
}

/* ---- clocks -------------------------------------------------------------- */

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ns_of(ts);
}

static uint32_t clock_now(const zvm_wasm_ctx_t *ctx, uint32_t id, uint64_t *ns)
{
    clockid_t host;
    switch (id) {
    case CLOCK_ID_REALTIME:
        if (ctx->fixed_time) {
            int64_t now = ctx->time_start_ns;
            uint64_t since = monotonic_ns() - ctx->monotonic_start_ns;
            if (since > (uint64_t)INT64_MAX || now > INT64_MAX - (int64_t)since)
                return WE_OVERFLOW;
            now += (int64_t)since;
            if (now < 0)
                return WE_OVERFLOW;
            *ns = (uint64_t)now;
            return 0;
        }
        host = CLOCK_REALTIME;
        break;
    case CLOCK_ID_MONOTONIC: host = CLOCK_MONOTONIC; break;
    case CLOCK_ID_PROCESS: host = CLOCK_PROCESS_CPUTIME_ID; break;
    case CLOCK_ID_THREAD: host = CLOCK_THREAD_CPUTIME_ID; break;
    default: return WE_INVAL;
    }
    struct timespec ts;
    if (clock_gettime(host, &ts) < 0)
        return err();
    if (ts.tv_sec < 0)
        return WE_OVERFLOW;
    *ns = ns_of(ts);
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(zvm_wasi_t *inst, uint32_t id,
                                                 uint32_t res)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    uint8_t *out = zvm__wasm_mem(ctx, res, 8);
    if (!out)
        return WE_FAULT;
    clockid_t host;
    switch (id) {
    case CLOCK_ID_REALTIME:
        host = ctx->fixed_time ? CLOCK_MONOTONIC : CLOCK_REALTIME;
        break;
    case CLOCK_ID_MONOTONIC: host = CLOCK_MONOTONIC; break;
    case CLOCK_ID_PROCESS: host = CLOCK_PROCESS_CPUTIME_ID; break;
    case CLOCK_ID_THREAD: host = CLOCK_THREAD_CPUTIME_ID; break;
    default: return WE_INVAL;
    }
    struct timespec ts;
    if (clock_getres(host, &ts) < 0)
        return err();
    uint64_t ns = ns_of(ts);
    put_u64(out, ns ? ns : 1); /* preview1: never zero */
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(zvm_wasi_t *inst, uint32_t id,
                                                  uint64_t precision, uint32_t time)
{
    (void)precision;
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    uint8_t *out = zvm__wasm_mem(ctx, time, 8);
    if (!out)
        return WE_FAULT;
    uint64_t ns;
    uint32_t rc = clock_now(ctx, id, &ns);
    if (rc)
        return rc;
    put_u64(out, ns);
    return 0;
}

/* ---- arguments and environment ------------------------------------------- */

/* Count and total size (with NULs) of a NULL-terminated list. */
static uint32_t list_sizes(char *const *list, uint32_t *count, uint32_t *size)
{
    uint64_t n = 0, total = 0;
    for (; list[n]; n++)
        total += strlen(list[n]) + 1;
    if (n > UINT32_MAX / 4 || total > UINT32_MAX)
        return WE_2BIG;
    *count = (uint32_t)n;
    *size = (uint32_t)total;
    return 0;
}

static uint32_t sizes_get(zvm_wasm_ctx_t *ctx, char *const *list,
                          uint32_t count_ptr, uint32_t size_ptr)
{
    uint8_t *c = zvm__wasm_mem(ctx, count_ptr, 4);
    uint8_t *s = zvm__wasm_mem(ctx, size_ptr, 4);
    if (!c || !s)
        return WE_FAULT;
    uint32_t count, size, rc = list_sizes(list, &count, &size);
    if (rc)
        return rc;
    put_u32(c, count);
    put_u32(s, size);
    return 0;
}

/* The pointers at `ptrs`, the strings one after another at `buf`. */
static uint32_t list_get(zvm_wasm_ctx_t *ctx, char *const *list, uint32_t ptrs,
                         uint32_t buf)
{
    uint32_t count, size, rc = list_sizes(list, &count, &size);
    if (rc)
        return rc;
    uint8_t *p = zvm__wasm_mem(ctx, ptrs, (uint64_t)count * 4);
    uint8_t *b = zvm__wasm_mem(ctx, buf, size);
    if (!p || !b)
        return WE_FAULT;
    uint32_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        size_t n = strlen(list[i]) + 1;
        put_u32(p + 4 * i, buf + at);
        memcpy(b + at, list[i], n);
        at += (uint32_t)n;
    }
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(zvm_wasi_t *inst, uint32_t argc,
                                                  uint32_t size)
{
    return sizes_get(ctx_of(inst), ctx_of(inst)->argv, argc, size);
}

uint32_t Z_wasi_snapshot_preview1Z_args_get(zvm_wasi_t *inst, uint32_t argv,
                                            uint32_t buf)
{
    return list_get(ctx_of(inst), ctx_of(inst)->argv, argv, buf);
}

uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(zvm_wasi_t *inst,
                                                     uint32_t count, uint32_t size)
{
    return sizes_get(ctx_of(inst), ctx_of(inst)->envp, count, size);
}

uint32_t Z_wasi_snapshot_preview1Z_environ_get(zvm_wasi_t *inst, uint32_t environ,
                                               uint32_t buf)
{
    return list_get(ctx_of(inst), ctx_of(inst)->envp, environ, buf);
}

/* ---- random -------------------------------------------------------------- */

/* splitmix64, to spread a seed over xoshiro's state. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna): fast, reproducible, not cryptographic. */
static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void zvm_wasm_ctx_seed(zvm_wasm_ctx_t *ctx, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        ctx->rng[i] = splitmix64(&x);
    ctx->seeded = true;
}

uint32_t Z_wasi_snapshot_preview1Z_random_get(zvm_wasi_t *inst, uint32_t buf,
                                              uint32_t len)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    uint8_t *p = zvm__wasm_mem(ctx, buf, len);
    if (!p)
        return WE_FAULT;
    if (ctx->seeded) {
        /* Eight bytes per step, little-endian; a tail uses part of one.
         * The count is 64-bit: a 32-bit one wrapped past 2^32 - 8 and the
         * loop never ended on a 4 GiB memory. */
        uint64_t done = 0;
        for (; len - done >= 8; done += 8)
            put_u64(p + done, xoshiro_next(ctx->rng));
        if (done < len) {
            uint8_t word[8];
            put_u64(word, xoshiro_next(ctx->rng));
            memcpy(p + done, word, (size_t)(len - done));
        }
        return 0;
    }
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err();
        }
        p += n;
        len -= (uint32_t)n;
    }
    return 0;
}

/* ---- descriptors ----------------------------------------------------------- */

uint32_t Z_wasi_snapshot_preview1Z_fd_read(zvm_wasi_t *inst, uint32_t fd,
                                           uint32_t iovs, uint32_t n, uint32_t nread)
{
    return transfer(ctx_of(inst), IO_READ, fd, iovs, n, 0, nread);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_write(zvm_wasi_t *inst, uint32_t fd,
                                            uint32_t iovs, uint32_t n, uint32_t nwritten)
{
    return transfer(ctx_of(inst), IO_WRITE, fd, iovs, n, 0, nwritten);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pread(zvm_wasi_t *inst, uint32_t fd,
                                            uint32_t iovs, uint32_t n,
                                            uint64_t offset, uint32_t nread)
{
    return transfer(ctx_of(inst), IO_PREAD, fd, iovs, n, offset, nread);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(zvm_wasi_t *inst, uint32_t fd,
                                             uint32_t iovs, uint32_t n,
                                             uint64_t offset, uint32_t nwritten)
{
    return transfer(ctx_of(inst), IO_PWRITE, fd, iovs, n, offset, nwritten);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_seek(zvm_wasi_t *inst, uint32_t fd,
                                           uint64_t offset, uint32_t whence,
                                           uint32_t newoffset)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *f = fd_get(ctx, fd);
    if (!f)
        return WE_BADF;
    uint8_t *out = zvm__wasm_mem(ctx, newoffset, 8);
    if (!out)
        return WE_FAULT;
    int w;
    switch (whence) {
    case 0: w = SEEK_SET; break;
    case 1: w = SEEK_CUR; break;
    case 2: w = SEEK_END; break;
    default: return WE_INVAL;
    }
    if (f->kind == ZVM_WASM_FD_DIR)
        return WE_BADF; /* directories are read with fd_readdir's cookies */
    /* fd_tell is a seek by 0 from the current offset: TELL is enough. */
    uint32_t rc = rights_check(f, w == SEEK_CUR && offset == 0 && (f->rights_base & R_FD_TELL)
                                      ? R_FD_TELL : R_FD_SEEK);
    if (rc)
        return rc;
    off_t pos = lseek(f->host, (off_t)(int64_t)offset, w);
    if (pos < 0)
        return err(); /* ESPIPE on pipes and sequential channels */
    put_u64(out, (uint64_t)pos);
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_tell(zvm_wasi_t *inst, uint32_t fd,
                                           uint32_t offset)
{
    return Z_wasi_snapshot_preview1Z_fd_seek(inst, fd, 0, 1, offset);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_close(zvm_wasi_t *inst, uint32_t fd)
{
    zvm_wasm_fd_t *f = fd_get(ctx_of(inst), fd);
    if (!f)
        return WE_BADF;
    f->borrowed = false; /* the program closes its own 0-2 for real */
    if (fd_clear(f) < 0 && errno != EINTR)
        return err();
    return 0;
}

/* Spec: `to` must be open; it is closed and `from` takes its number. */
uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(zvm_wasi_t *inst, uint32_t from,
                                               uint32_t to)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *f = fd_get(ctx, from), *t = fd_get(ctx, to);
    if (!f || !t)
        return WE_BADF;
    if (from == to)
        return 0;
    t->borrowed = false;
    fd_clear(t);
    *t = *f;
    memset(f, 0, sizeof *f); /* ownership of host and path moved to t */
    f->host = -1;
    return 0;
}

static uint32_t sync_fd(zvm_wasi_t *inst, uint32_t fd, uint64_t right)
{
    zvm_wasm_fd_t *f = NULL;
    uint32_t rc = fd_use(ctx_of(inst), fd, right, &f);
    if (rc)
        return rc;
    return fsync(f->host) < 0 ? err() : 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_sync(zvm_wasi_t *inst, uint32_t fd)
{
    return sync_fd(inst, fd, R_FD_SYNC);
}

/* fsync, not fdatasync: the supervisor serves fsync on channels. */
uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(zvm_wasi_t *inst, uint32_t fd)
{
    return sync_fd(inst, fd, R_FD_DATASYNC);
}

/* Advice is advisory: checked, then not passed on (fadvise does not reach
 * channels, and nothing here gains from it). */
uint32_t Z_wasi_snapshot_preview1Z_fd_advise(zvm_wasi_t *inst, uint32_t fd,
                                             uint64_t offset, uint64_t len,
                                             uint32_t advice)
{
    zvm_wasm_fd_t *f = fd_get(ctx_of(inst), fd);
    if (!f)
        return WE_BADF;
    if (f->kind == ZVM_WASM_FD_DIR)
        return WE_BADF;
    if (advice > 5 || offset > INT64_MAX || len > INT64_MAX)
        return WE_INVAL;
    return rights_check(f, R_FD_ADVISE);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(zvm_wasi_t *inst, uint32_t fd,
                                               uint64_t offset, uint64_t len)
{
    zvm_wasm_fd_t *f = fd_get(ctx_of(inst), fd);
    if (!f)
        return WE_BADF;
    if (f->kind == ZVM_WASM_FD_DIR)
        return WE_BADF;
    if (offset > INT64_MAX || len > INT64_MAX)
        return WE_INVAL;
    if (rights_check(f, R_FD_ALLOCATE))
        return WE_NOTCAPABLE;
    int rc = posix_fallocate(f->host, (off_t)offset, (off_t)len);
    return rc ? zvm__wasm_errno(rc) : 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(zvm_wasi_t *inst, uint32_t fd,
                                                 uint32_t buf)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *f = fd_get(ctx, fd);
    if (!f)
        return WE_BADF;
    uint8_t *p = zvm__wasm_mem(ctx, buf, FDSTAT_SIZE);
    if (!p)
        return WE_FAULT;
    memset(p, 0, FDSTAT_SIZE);
    p[0] = f->filetype;
    put_u16(p + 2, f->fdflags);
    put_u64(p + 8, f->rights_base);
    put_u64(p + 16, f->rights_inheriting);
    return 0;
}

/* APPEND and NONBLOCK reach the host; the sync flags are kept and shown
 * (Linux cannot change them on an open file). */
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(zvm_wasi_t *inst,
                                                       uint32_t fd, uint32_t flags)
{
    zvm_wasm_fd_t *f = NULL;
    uint32_t rc = fd_use(ctx_of(inst), fd, R_FD_FDSTAT_SET_FLAGS, &f);
    if (rc)
        return rc;
    if (flags & ~FDFLAG_ALL)
        return WE_INVAL;
    int fl = fcntl(f->host, F_GETFL);
    if (fl < 0)
        return err();
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & FDFLAG_APPEND)
        fl |= O_APPEND;
    if (flags & FDFLAG_NONBLOCK)
        fl |= O_NONBLOCK;
    if (fcntl(f->host, F_SETFL, fl) < 0)
        return err();
    f->fdflags = (uint16_t)flags;
    return 0;
}

/* Rights can only shrink. */
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(zvm_wasi_t *inst,
                                                        uint32_t fd, uint64_t base,
                                                        uint64_t inheriting)
{
    zvm_wasm_fd_t *f = fd_get(ctx_of(inst), fd);
    if (!f)
        return WE_BADF;
    if ((base & ~f->rights_base) || (inheriting & ~f->rights_inheriting))
        return WE_NOTCAPABLE;
    f->rights_base = base;
    f->rights_inheriting = inheriting;
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(zvm_wasi_t *inst, uint32_t fd,
                                                   uint32_t buf)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *f = NULL;
    uint32_t rc = fd_use(ctx, fd, R_FD_FILESTAT_GET, &f);
    if (rc)
        return rc;
    uint8_t *p = zvm__wasm_mem(ctx, buf, FILESTAT_SIZE);
    if (!p)
        return WE_FAULT;
    struct stat st;
    if (fstat(f->host, &st) < 0)
        return err();
    put_filestat(p, &st);
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(zvm_wasi_t *inst,
                                                        uint32_t fd, uint64_t size)
{
    zvm_wasm_fd_t *f = NULL;
    uint32_t rc = fd_use(ctx_of(inst), fd, R_FD_FILESTAT_SET_SIZE, &f);
    if (rc)
        return rc;
    if (size > INT64_MAX)
        return WE_INVAL;
    return ftruncate(f->host, (off_t)size) < 0 ? err() : 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(zvm_wasi_t *inst,
                                                         uint32_t fd, uint64_t atim,
                                                         uint64_t mtim, uint32_t fst)
{
    zvm_wasm_fd_t *f = NULL;
    uint32_t rc = fd_use(ctx_of(inst), fd, R_FD_FILESTAT_SET_TIMES, &f);
    if (rc)
        return rc;
    struct timespec ts[2];
    rc = times_of(atim, mtim, fst, ts);
    if (rc)
        return rc;
    return futimens(f->host, ts) < 0 ? err() : 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(zvm_wasi_t *inst, uint32_t fd,
                                                  uint32_t buf)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *f = fd_get(ctx, fd);
    if (!f || !f->preopen)
        return WE_BADF;
    uint8_t *p = zvm__wasm_mem(ctx, buf, PRESTAT_SIZE);
    if (!p)
        return WE_FAULT;
    memset(p, 0, PRESTAT_SIZE);
    p[0] = 0; /* __WASI_PREOPENTYPE_DIR */
    put_u32(p + 4, 1); /* strlen("/") */
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(zvm_wasi_t *inst,
                                                       uint32_t fd, uint32_t path,
                                                       uint32_t len)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *f = fd_get(ctx, fd);
    if (!f || !f->preopen)
        return WE_BADF;
    if (len < 1)
        return WE_NAMETOOLONG;
    uint8_t *p = zvm__wasm_mem(ctx, path, 1);
    if (!p)
        return WE_FAULT;
    p[0] = '/';
    return 0;
}

/*
 * Entries from `cookie` on, as many as fit in buf_len (the last one may be
 * cut: the program then retries with a larger buffer).  Cookies are the
 * host's d_off values, which lseek() on the directory accepts; cookie 0 is
 * the start.  Stateless: every call seeks.
 *
 * An entry's d_ino is the st_ino that stat gives for it (fstat of the
 * directory for "."), not the kernel's d_ino: on an overlay (images) and
 * at mount points the two differ ("." of a lower directory has the lower
 * file system's number, stat the overlay's), and a program comparing
 * fd_readdir with path_filestat_get must see one inode.  One fstatat per
 * entry; an entry gone in between keeps the kernel's number.
 */
uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(zvm_wasi_t *inst, uint32_t fd,
                                              uint32_t buf, uint32_t buf_len,
                                              uint64_t cookie, uint32_t bufused)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *f = fd_get(ctx, fd);
    if (!f)
        return WE_BADF;
    if (f->kind != ZVM_WASM_FD_DIR)
        return WE_NOTDIR;
    uint32_t rc = rights_check(f, R_FD_READDIR);
    if (rc)
        return rc;
    if (dir_host(f) < 0)
        return err();
    uint8_t *out = zvm__wasm_mem(ctx, buf, buf_len);
    uint8_t *used_p = zvm__wasm_mem(ctx, bufused, 4);
    if (!out || !used_p)
        return WE_FAULT;
    if (cookie > INT64_MAX)
        return WE_INVAL;
    if (lseek(f->host, (off_t)cookie, SEEK_SET) < 0)
        return err();

    char chunk[READDIR_CHUNK] __attribute__((aligned(8)));
    uint32_t used = 0;
    while (used < buf_len) {
        ssize_t n = getdents64(f->host, chunk, sizeof chunk);
        if (n < 0)
            return err();
        if (n == 0)
            break;
        for (ssize_t at = 0; at < n && used < buf_len;) {
            const struct dirent64 *d = (const struct dirent64 *)(chunk + at);
            at += d->d_reclen;
            size_t namlen = strlen(d->d_name);
            uint64_t ino = (uint64_t)d->d_ino;
            struct stat st;
            bool self = strcmp(d->d_name, ".") == 0;
            if (self ? fstat(f->host, &st) == 0
                     : fstatat(f->host, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                ino = (uint64_t)st.st_ino;
            uint8_t hdr[DIRENT_SIZE] = {0};
            put_u64(hdr + 0, (uint64_t)d->d_off);
            put_u64(hdr + 8, ino);
            put_u32(hdr + 16, (uint32_t)namlen);
            switch (d->d_type) {
            case DT_REG: hdr[20] = FT_REG; break;
            case DT_DIR: hdr[20] = FT_DIR; break;
            case DT_CHR: hdr[20] = FT_CHAR; break;
            case DT_BLK: hdr[20] = FT_BLOCK; break;
            case DT_LNK: hdr[20] = FT_SYMLINK; break;
            case DT_SOCK: hdr[20] = FT_SOCK_STREAM; break;
            default: hdr[20] = FT_UNKNOWN; break;
            }
            uint32_t room = buf_len - used;
            uint32_t k = room < DIRENT_SIZE ? room : DIRENT_SIZE;
            memcpy(out + used, hdr, k);
            used += k;
            room = buf_len - used;
            k = room < namlen ? room : (uint32_t)namlen;
            memcpy(out + used, d->d_name, k);
            used += k;
        }
    }
    f->dir_cookie_hint = cookie;
    put_u32(used_p, used);
    return 0;
}

/* ---- paths ------------------------------------------------------------------- */

/*
 * Paths.  A WASI path is relative to a directory descriptor of the
 * program's; the kernel resolves it beneath that directory's host
 * descriptor (openat2 with RESOLVE_BENEATH: symbolic links are followed,
 * "..", absolute links and every other way out of the directory fail with
 * EXDEV, which is NOTCAPABLE here), so "file/.." is NOTDIR and
 * "missing/.." NOENT as on Linux, and an open directory stays the one it
 * was when it is renamed.  Calls that act on a name without following it
 * (mkdir, unlink, rename, symlink, link) get the directory that holds the
 * last component, resolved the same way, and the component itself.
 */

#define RESOLVE_WASI (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)

/* The host descriptor of a directory entry: the preopen's is opened on
 * first use, because the jail closes every descriptor of the child but its
 * sync socket after the context is made.  -1 with errno otherwise. */
static int dir_host(zvm_wasm_fd_t *d)
{
    if (d->host < 0 && d->path) {
        int h;
        do
            h = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        while (h < 0 && errno == EINTR);
        if (h < 0)
            return -1;
        d->host = h;
    }
    return d->host;
}

/* The directory `dirfd` for a call that needs `right` on it: its entry;
 * 0 or a WASI errno. */
static uint32_t dir_of(zvm_wasm_ctx_t *ctx, uint32_t dirfd, uint64_t right,
                       zvm_wasm_fd_t **out)
{
    zvm_wasm_fd_t *d = fd_get(ctx, dirfd);
    if (!d)
        return WE_BADF;
    if (d->kind != ZVM_WASM_FD_DIR)
        return WE_NOTDIR;
    if ((d->rights_base & right) != right)
        return WE_NOTCAPABLE;
    if (dir_host(d) < 0)
        return err();
    *out = d;
    return 0;
}

/* The program's path (ptr, len) as a C string: 0 or a WASI errno. */
static uint32_t path_text(zvm_wasm_ctx_t *ctx, uint32_t ptr, uint32_t len,
                          char out[PATH_MAX])
{
    const uint8_t *p = zvm__wasm_mem(ctx, ptr, len);
    if (!p)
        return WE_FAULT;
    if (len == 0)
        return WE_NOENT;
    if (memchr(p, '\0', len))
        return WE_INVAL;
    if (p[0] == '/')
        return WE_NOTCAPABLE;
    if (len >= PATH_MAX)
        return WE_NAMETOOLONG;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

/* The errno of a failed resolution beneath a directory as a WASI errno. */
static uint32_t beneath_err(void)
{
    return errno == EXDEV ? WE_NOTCAPABLE : err();
}

/* openat2 beneath `dir`; the mode only goes with O_CREAT (openat2 refuses
 * it otherwise). */
static int open_beneath(int dir, const char *path, int flags)
{
    return zvm_openat2(dir, path, flags, flags & O_CREAT ? 0666 : 0, RESOLVE_WASI);
}

void zvm__wasi_path_release(zvm_wasi_path_t *p)
{
    if (p->owned && p->dir >= 0)
        close(p->dir);
    p->dir = -1;
    p->owned = false;
}

uint32_t zvm__wasi_resolve(zvm_wasm_ctx_t *ctx, uint32_t dirfd, uint64_t right,
                           uint32_t ptr, uint32_t len, zvm_wasi_path_t *out)
{
    out->dir = -1;
    out->owned = false;
    zvm_wasm_fd_t *d = NULL;
    char path[PATH_MAX];
    uint32_t rc = dir_of(ctx, dirfd, right, &d);
    if (rc || (rc = path_text(ctx, ptr, len, path)))
        return rc;
    /* The last component: after the last '/' that is not trailing. */
    size_t end = len;
    while (end > 0 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    bool dotdot = end - start == 2 && path[start] == '.' && path[start + 1] == '.';
    if (dotdot) {
        /* "x/..": the directory it names is the one to act in, as ".". */
        int h = open_beneath(d->host, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (h < 0)
            return beneath_err();
        out->dir = h;
        out->owned = true;
        memcpy(out->name, ".", 2);
        return 0;
    }
    memcpy(out->name, path + start, len - start + 1);
    if (start == 0) {
        out->dir = d->host;
        return 0;
    }
    path[start] = '\0';
    int h = open_beneath(d->host, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (h < 0)
        return beneath_err();
    out->dir = h;
    out->owned = true;
    return 0;
}

/* The whole path opened beneath its directory as an O_PATH descriptor
 * (following a final symbolic link or not), for the calls that act on
 * what a path names: -1 and a WASI errno in *rc, or the descriptor. */
static int path_object(zvm_wasm_ctx_t *ctx, uint32_t dirfd, uint64_t right, uint32_t lookup,
                       uint32_t ptr, uint32_t len, uint32_t *rc)
{
    zvm_wasm_fd_t *d = NULL;
    char path[PATH_MAX];
    if ((*rc = dir_of(ctx, dirfd, right, &d)) || (*rc = path_text(ctx, ptr, len, path)))
        return -1;
    int flags = O_PATH | O_CLOEXEC;
    if (!(lookup & LOOKUP_SYMLINK_FOLLOW))
        flags |= O_NOFOLLOW;
    int h = open_beneath(d->host, path, flags);
    if (h < 0)
        *rc = beneath_err();
    return h;
}

/* The lexical absolute path of (ptr, len) under directory entry `d` (its
 * path when opened), for recognising channel aliases, which the
 * supervisor serves by absolute path: 0 when it has one. */
static int lexical(const zvm_wasm_fd_t *d, const char *p, size_t len, char out[PATH_MAX])
{
    if (!d->path)
        return -1;
    size_t base = strlen(d->path);
    if (base >= PATH_MAX)
        return -1;
    if (base == 1)
        base = 0;
    memcpy(out, d->path, base);
    size_t o = base;
    for (size_t i = 0; i < len;) {
        while (i < len && p[i] == '/')
            i++;
        size_t s = i;
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - s;
        if (n == 0 || (n == 1 && p[s] == '.'))
            continue;
        if (n == 2 && p[s] == '.' && p[s + 1] == '.')
            return -1; /* the kernel decides what ".." means */
        if (o + 1 + n >= PATH_MAX)
            return -1;
        out[o++] = '/';
        memcpy(out + o, p + s, n);
        o += n;
    }
    if (o == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

/* Is `abs` the alias of one of the session's channels? */
static bool is_channel(const zvm_wasm_ctx_t *ctx, const char *abs)
{
    const zvm_session_t *s = ctx->session;
    if (!s)
        return false;
    for (size_t i = 0; i < s->manifest.nchannels; i++)
        if (s->manifest.channels[i].alias && strcmp(s->manifest.channels[i].alias, abs) == 0)
            return true;
    return false;
}

uint32_t Z_wasi_snapshot_preview1Z_path_open(zvm_wasi_t *inst, uint32_t dirfd,
                                             uint32_t dirflags, uint32_t path,
                                             uint32_t path_len, uint32_t oflags,
                                             uint64_t rights_base,
                                             uint64_t rights_inheriting,
                                             uint32_t fdflags, uint32_t opened)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasm_fd_t *dir = NULL;
    char rel[PATH_MAX], abs[PATH_MAX];
    uint64_t need = R_PATH_OPEN | (oflags & OFLAG_CREAT ? R_PATH_CREATE_FILE : 0) |
                    (oflags & OFLAG_TRUNC ? R_PATH_FILESTAT_SET_SIZE : 0);
    uint32_t rc = dir_of(ctx, dirfd, need, &dir);
    if (rc || (rc = path_text(ctx, path, path_len, rel)))
        return rc;
    uint8_t *out = zvm__wasm_mem(ctx, opened, 4);
    if (!out)
        return WE_FAULT;
    if (oflags & ~(OFLAG_CREAT | OFLAG_DIRECTORY | OFLAG_EXCL | OFLAG_TRUNC) ||
        fdflags & ~FDFLAG_ALL)
        return WE_INVAL;
    int slot = fd_alloc(ctx);
    if (slot < 0)
        return WE_MFILE;

    /* The host access mode follows the rights wasi-libc derives from
     * O_ACCMODE; a directory is only ever opened for reading (its rights
     * are checked here, not by the host's open mode). */
    bool rd = rights_base & (R_FD_READ | R_FD_READDIR);
    bool wr = rights_base & (R_FD_WRITE | R_FD_DATASYNC | R_FD_ALLOCATE |
                             R_FD_FILESTAT_SET_SIZE);
    int flags = O_CLOEXEC | O_NOCTTY;
    if (oflags & OFLAG_DIRECTORY)
        flags |= O_RDONLY | O_DIRECTORY;
    else
        flags |= rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY;
    if (!(dirflags & LOOKUP_SYMLINK_FOLLOW))
        flags |= O_NOFOLLOW;
    if (oflags & OFLAG_CREAT) flags |= O_CREAT;
    if (oflags & OFLAG_EXCL) flags |= O_EXCL;
    if (oflags & OFLAG_TRUNC) flags |= O_TRUNC;
    if (fdflags & FDFLAG_APPEND) flags |= O_APPEND;
    if (fdflags & FDFLAG_DSYNC) flags |= O_DSYNC;
    if (fdflags & FDFLAG_NONBLOCK) flags |= O_NONBLOCK;
    if (fdflags & FDFLAG_RSYNC) flags |= O_RSYNC;
    if (fdflags & FDFLAG_SYNC) flags |= O_SYNC;

    /* A channel alias is the supervisor's: opened by its absolute path. */
    bool alias = lexical(dir, rel, path_len, abs) == 0;
    int h;
    if (alias && is_channel(ctx, abs)) {
        do
            h = openat(AT_FDCWD, abs, flags, 0666);
        while (h < 0 && errno == EINTR);
        if (h < 0)
            return err();
    } else if ((h = open_beneath(dir->host, rel, flags)) < 0) {
        return beneath_err();
    }
    struct stat st;
    if (fstat(h, &st) < 0) {
        rc = err();
        close(h);
        return rc;
    }
    char *copy = NULL;
    if (alias && !(copy = strdup(abs))) {
        close(h);
        return WE_NOMEM;
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (is_dir && wr) {
        close(h); /* writing rights on a directory: as Linux's open(O_RDWR) */
        return WE_ISDIR;
    }
    uint64_t kind_rights = is_dir ? R_DIR : R_FILE;
    ctx->fds[slot] = (zvm_wasm_fd_t){
        .kind = is_dir ? ZVM_WASM_FD_DIR : ZVM_WASM_FD_FILE,
        .host = h,
        .path = copy,
        .fdflags = (uint16_t)fdflags,
        .rights_base = rights_base & dir->rights_inheriting & kind_rights,
        .rights_inheriting = rights_inheriting & dir->rights_inheriting,
        .filetype = filetype_of(st.st_mode),
    };
    put_u32(out, (uint32_t)slot);
    return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(zvm_wasi_t *inst,
                                                         uint32_t fd, uint32_t path,
                                                         uint32_t len)
{
    zvm_wasi_path_t p;
    uint32_t rc = zvm__wasi_resolve(ctx_of(inst), fd, R_PATH_CREATE_DIRECTORY, path, len, &p);
    if (!rc && mkdirat(p.dir, p.name, 0777) < 0)
        rc = err();
    zvm__wasi_path_release(&p);
    return rc;
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(zvm_wasi_t *inst, uint32_t fd,
                                                     uint32_t flags, uint32_t path,
                                                     uint32_t len, uint32_t buf)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    uint8_t *p = zvm__wasm_mem(ctx, buf, FILESTAT_SIZE);
    uint32_t rc;
    int h = path_object(ctx, fd, R_PATH_FILESTAT_GET, flags, path, len, &rc);
    if (h < 0)
        return rc;
    struct stat st;
    if (!p)
        rc = WE_FAULT;
    else if (fstat(h, &st) < 0)
        rc = err();
    else
        put_filestat(p, &st);
    close(h);
    return rc;
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(zvm_wasi_t *inst,
                                                           uint32_t fd, uint32_t flags,
                                                           uint32_t path, uint32_t len,
                                                           uint64_t atim, uint64_t mtim,
                                                           uint32_t fst)
{
    struct timespec ts[2];
    uint32_t rc = times_of(atim, mtim, fst, ts);
    if (rc)
        return rc;
    int h = path_object(ctx_of(inst), fd, R_PATH_FILESTAT_SET_TIMES, flags, path, len, &rc);
    if (h < 0)
        return rc;
    if (utimensat(h, "", ts, AT_EMPTY_PATH) < 0)
        rc = err();
    close(h);
    return rc;
}

/* A hard link to what a symbolic link names would need the link followed
 * by the kernel outside the resolution beneath the directory (linkat's
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH): refused, as wasmtime does. */
uint32_t Z_wasi_snapshot_preview1Z_path_link(zvm_wasi_t *inst, uint32_t old_fd,
                                             uint32_t old_flags, uint32_t old_path,
                                             uint32_t old_len, uint32_t new_fd,
                                             uint32_t new_path, uint32_t new_len)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    if (old_flags & LOOKUP_SYMLINK_FOLLOW)
        return WE_INVAL;
    zvm_wasi_path_t from, to;
    uint32_t rc = zvm__wasi_resolve(ctx, old_fd, R_PATH_LINK_SOURCE, old_path, old_len, &from);
    if (!rc && !(rc = zvm__wasi_resolve(ctx, new_fd, R_PATH_LINK_TARGET, new_path, new_len, &to))) {
        if (linkat(from.dir, from.name, to.dir, to.name, 0) < 0)
            rc = err();
        zvm__wasi_path_release(&to);
    }
    zvm__wasi_path_release(&from);
    return rc;
}

/* readlinkat on the link's own name, not on an O_PATH descriptor of it:
 * with an empty name the kernel answers ENOENT for what is not a link,
 * where readlink says EINVAL. */
uint32_t Z_wasi_snapshot_preview1Z_path_readlink(zvm_wasi_t *inst, uint32_t fd,
                                                 uint32_t path, uint32_t len,
                                                 uint32_t buf, uint32_t buf_len,
                                                 uint32_t bufused)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    uint8_t *out = zvm__wasm_mem(ctx, buf, buf_len);
    uint8_t *used = zvm__wasm_mem(ctx, bufused, 4);
    zvm_wasi_path_t p;
    uint32_t rc = zvm__wasi_resolve(ctx, fd, R_PATH_READLINK, path, len, &p);
    if (!rc && (!out || !used))
        rc = WE_FAULT;
    if (!rc) {
        ssize_t n = readlinkat(p.dir, p.name, (char *)out, buf_len);
        if (n < 0)
            rc = err();
        else
            put_u32(used, (uint32_t)n); /* cut to buf_len, as the spec allows */
    }
    zvm__wasi_path_release(&p);
    return rc;
}

uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(zvm_wasi_t *inst,
                                                         uint32_t fd, uint32_t path,
                                                         uint32_t len)
{
    zvm_wasi_path_t p;
    uint32_t rc = zvm__wasi_resolve(ctx_of(inst), fd, R_PATH_REMOVE_DIRECTORY, path, len, &p);
    if (!rc && unlinkat(p.dir, p.name, AT_REMOVEDIR) < 0)
        rc = err();
    zvm__wasi_path_release(&p);
    return rc;
}

uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(zvm_wasi_t *inst, uint32_t fd,
                                                    uint32_t path, uint32_t len)
{
    zvm_wasi_path_t p;
    uint32_t rc = zvm__wasi_resolve(ctx_of(inst), fd, R_PATH_UNLINK_FILE, path, len, &p);
    if (!rc && unlinkat(p.dir, p.name, 0) < 0)
        rc = err();
    zvm__wasi_path_release(&p);
    return rc;
}

uint32_t Z_wasi_snapshot_preview1Z_path_rename(zvm_wasi_t *inst, uint32_t old_fd,
                                               uint32_t old_path, uint32_t old_len,
                                               uint32_t new_fd, uint32_t new_path,
                                               uint32_t new_len)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    zvm_wasi_path_t from, to;
    uint32_t rc = zvm__wasi_resolve(ctx, old_fd, R_PATH_RENAME_SOURCE, old_path, old_len, &from);
    if (!rc &&
        !(rc = zvm__wasi_resolve(ctx, new_fd, R_PATH_RENAME_TARGET, new_path, new_len, &to))) {
        if (renameat(from.dir, from.name, to.dir, to.name) < 0)
            rc = err();
        zvm__wasi_path_release(&to);
    }
    zvm__wasi_path_release(&from);
    return rc;
}

/* The link's text is stored as given: it is resolved (by the kernel,
 * beneath the directory it is opened from) only when followed.  An
 * absolute target is refused (PERM, as wasmtime and uvwasi answer): WASI
 * paths are relative to a directory, and such a link would lead whoever
 * follows it later, inside or outside the sandbox, away from the
 * directory it lives in. */
uint32_t Z_wasi_snapshot_preview1Z_path_symlink(zvm_wasi_t *inst, uint32_t old_path,
                                                uint32_t old_len, uint32_t fd,
                                                uint32_t new_path, uint32_t new_len)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    char target[PATH_MAX];
    const uint8_t *t = zvm__wasm_mem(ctx, old_path, old_len);
    if (!t)
        return WE_FAULT;
    if (old_len >= PATH_MAX)
        return WE_NAMETOOLONG;
    if (old_len == 0)
        return WE_NOENT;
    if (memchr(t, '\0', old_len))
        return WE_INVAL;
    if (t[0] == '/')
        return WE_PERM;
    memcpy(target, t, old_len);
    target[old_len] = '\0';
    zvm_wasi_path_t p;
    uint32_t rc = zvm__wasi_resolve(ctx, fd, R_PATH_SYMLINK, new_path, new_len, &p);
    if (!rc && symlinkat(target, p.dir, p.name) < 0)
        rc = err();
    zvm__wasi_path_release(&p);
    return rc;
}

/* ---- poll_oneoff ------------------------------------------------------------- */

/* The monotonic deadline of a clock subscription, measured from t0 (the
 * monotonic time when the call began): 0 or a WASI errno.  An absolute time
 * on a CPU-time clock is approximated by the same wall-clock distance. */
static uint32_t sub_deadline(const zvm_wasm_ctx_t *ctx, const uint8_t *sub,
                             uint64_t t0, uint64_t *deadline)
{
    uint32_t id = get_u32(sub + 16);
    uint64_t timeout = get_u64(sub + 24);
    uint16_t flags = get_u16(sub + 40);
    if (id > CLOCK_ID_THREAD)
        return WE_INVAL;
    if (!(flags & SUBCLOCK_ABSTIME)) {
        *deadline = sat_add(t0, timeout);
        return 0;
    }
    uint64_t now;
    uint32_t rc = clock_now(ctx, id, &now);
    if (rc)
        return rc;
    *deadline = timeout <= now ? t0 : sat_add(t0, timeout - now);
    return 0;
}

static void put_event(uint8_t *ev, uint64_t userdata, uint16_t error, uint8_t type)
{
    memset(ev, 0, EVENT_SIZE);
    put_u64(ev + 0, userdata);
    put_u16(ev + 8, error);
    ev[10] = type;
}

static void put_fd_event(uint8_t *ev, uint64_t userdata, uint16_t error, uint8_t type,
                         uint64_t nbytes, uint16_t flags)
{
    put_event(ev, userdata, error, type);
    put_u64(ev + 16, nbytes);
    put_u16(ev + 24, flags);
}

/*
 * An fd subscription whose answer needs no waiting: true with *error and
 * *nbytes set for a regular file with a known position (ready; to read:
 * the bytes left before its end; to write: 0), a directory (ready, 0) or
 * a descriptor fstat refuses; false for anything else (a stream, or a
 * sequential channel), which is polled.  fstat and lseek on a channel are
 * answered by the supervisor, so a file channel counts as a file.
 */
static bool fd_ready_now(const zvm_wasm_fd_t *f, uint8_t tag, uint16_t *error,
                         uint64_t *nbytes)
{
    struct stat st;
    *error = 0;
    *nbytes = 0;
    if (fstat(f->host, &st) < 0) {
        *error = (uint16_t)err();
        return true;
    }
    if (S_ISDIR(st.st_mode))
        return true;
    if (!S_ISREG(st.st_mode))
        return false;
    off_t pos = lseek(f->host, 0, SEEK_CUR);
    if (pos < 0)
        return false;
    uint64_t size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
    if (tag == EV_FD_READ && (uint64_t)pos < size)
        *nbytes = size - (uint64_t)pos;
    return true;
}

/* The event of a polled stream: POLLNVAL is a descriptor the kernel does
 * not have, a channel the supervisor serves on demand, so it counts as
 * ready; the amount is not known, so a ready stream says 1 (at least a
 * byte, or the end). */
static void put_stream_event(uint8_t *ev, uint64_t userdata, uint8_t tag, short revents)
{
    uint16_t error = 0, flags = 0;
    uint64_t nbytes = revents & (POLLIN | POLLOUT | POLLNVAL) ? 1 : 0;
    if (revents & POLLHUP)
        flags |= EVRW_HANGUP;
    if ((revents & POLLERR) && !(revents & (POLLIN | POLLOUT)))
        error = tag == EV_FD_WRITE ? WE_PIPE : WE_IO;
    put_fd_event(ev, userdata, error, tag, error ? 0 : nbytes, flags);
}

/*
 * Subscriptions are answered truthfully: files at once, streams when
 * ppoll(2) says so, clocks when they expire.  The call waits only while
 * nothing is ready: until a stream is, or the earliest clock (without a
 * clock, for as long as it takes: the session's Timeout still holds).
 * Every subscription gives at most one event.
 */
uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(zvm_wasi_t *inst, uint32_t in,
                                               uint32_t out, uint32_t nsubs,
                                               uint32_t nevents)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    if (nsubs == 0)
        return WE_INVAL;
    const uint8_t *subs = zvm__wasm_mem(ctx, in, (uint64_t)nsubs * SUBSCRIPTION_SIZE);
    uint8_t *evs = zvm__wasm_mem(ctx, out, (uint64_t)nsubs * EVENT_SIZE);
    uint8_t *nev_p = zvm__wasm_mem(ctx, nevents, 4);
    if (!subs || !evs || !nev_p)
        return WE_FAULT;

    /* Pass 1: bad subscriptions and files are answered now, streams are
     * gathered for ppoll, the earliest clock found.  The streams' array is
     * allocated when the first one is met (owner: this call). */
    struct pollfd *pfd = NULL;
    uint32_t *pfd_sub = NULL, nfds = 0;
    uint64_t t0 = monotonic_ns(), earliest = UINT64_MAX;
    bool any_clock = false;
    uint32_t nev = 0;
    for (uint32_t i = 0; i < nsubs; i++) {
        const uint8_t *s = subs + (size_t)i * SUBSCRIPTION_SIZE;
        uint64_t userdata = get_u64(s), deadline, nbytes;
        uint8_t tag = s[8];
        uint32_t rc;
        uint16_t error;
        const zvm_wasm_fd_t *f;
        switch (tag) {
        case EV_CLOCK:
            if ((rc = sub_deadline(ctx, s, t0, &deadline))) {
                put_event(evs + (size_t)nev++ * EVENT_SIZE, userdata, (uint16_t)rc, tag);
            } else {
                any_clock = true;
                if (deadline < earliest)
                    earliest = deadline;
            }
            break;
        case EV_FD_READ:
        case EV_FD_WRITE:
            if (!(f = fd_get(ctx, get_u32(s + 16)))) {
                put_event(evs + (size_t)nev++ * EVENT_SIZE, userdata, WE_BADF, tag);
            } else if (fd_ready_now(f, tag, &error, &nbytes)) {
                put_fd_event(evs + (size_t)nev++ * EVENT_SIZE, userdata, error, tag, nbytes, 0);
            } else {
                if (!pfd) {
                    pfd = malloc((size_t)nsubs * sizeof *pfd);
                    pfd_sub = malloc((size_t)nsubs * sizeof *pfd_sub);
                    if (!pfd || !pfd_sub) {
                        free(pfd);
                        free(pfd_sub);
                        return WE_NOMEM;
                    }
                }
                pfd[nfds] = (struct pollfd){.fd = f->host,
                                            .events = tag == EV_FD_READ ? POLLIN : POLLOUT};
                pfd_sub[nfds++] = i;
            }
            break;
        default:
            put_event(evs + (size_t)nev++ * EVENT_SIZE, userdata, WE_INVAL, tag);
            break;
        }
    }

    /* Wait while nothing is ready: for a stream (ppoll, until the earliest
     * clock) or for the earliest clock alone. */
    if (nfds > 0) {
        for (;;) {
            struct timespec rel, *timeout = NULL;
            if (nev > 0) {
                rel = ts_of(0);
                timeout = &rel;
            } else if (any_clock) {
                uint64_t now = monotonic_ns();
                rel = ts_of(earliest > now ? earliest - now : 0);
                timeout = &rel;
            }
            if (ppoll(pfd, nfds, timeout, NULL) >= 0)
                break;
            if (errno != EINTR) {
                uint32_t rc = err();
                free(pfd);
                free(pfd_sub);
                return rc;
            }
        }
        for (uint32_t k = 0; k < nfds; k++) {
            if (!pfd[k].revents)
                continue;
            const uint8_t *s = subs + (size_t)pfd_sub[k] * SUBSCRIPTION_SIZE;
            put_stream_event(evs + (size_t)nev++ * EVENT_SIZE, get_u64(s), s[8], pfd[k].revents);
        }
        free(pfd);
        free(pfd_sub);
    } else if (nev == 0 && any_clock) {
        struct timespec until = ts_of(earliest);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
            ;
    }

    /* Pass 2: every clock that has expired by now. */
    if (any_clock) {
        uint64_t now = monotonic_ns();
        for (uint32_t i = 0; i < nsubs && nev < nsubs; i++) {
            const uint8_t *s = subs + (size_t)i * SUBSCRIPTION_SIZE;
            uint64_t deadline;
            if (s[8] != EV_CLOCK || sub_deadline(ctx, s, t0, &deadline) || deadline > now)
                continue;
            put_event(evs + (size_t)nev++ * EVENT_SIZE, get_u64(s), 0, EV_CLOCK);
        }
    }
    put_u32(nev_p, nev);
    return 0;
}

/* ---- process, scheduling, sockets ------------------------------------------- */

void Z_wasi_snapshot_preview1Z_proc_exit(zvm_wasi_t *inst, uint32_t code)
{
    zvm_wasm_exit(ctx_of(inst), code);
}

uint32_t Z_wasi_snapshot_preview1Z_proc_raise(zvm_wasi_t *inst, uint32_t sig)
{
    (void)inst, (void)sig;
    return WE_NOSYS;
}

uint32_t Z_wasi_snapshot_preview1Z_sched_yield(zvm_wasi_t *inst)
{
    (void)inst;
    sched_yield();
    return 0;
}

/* No sockets: channels are the program's only network.  A descriptor the
 * program does not hold is BADF, any other one is not a socket (no call
 * here ever creates one), as a host would answer. */
static uint32_t not_a_socket(zvm_wasi_t *inst, uint32_t fd)
{
    return fd_get(ctx_of(inst), fd) ? WE_NOTSOCK : WE_BADF;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_accept(zvm_wasi_t *inst, uint32_t fd,
                                               uint32_t flags, uint32_t out)
{
    (void)flags, (void)out;
    return not_a_socket(inst, fd);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv(zvm_wasi_t *inst, uint32_t fd,
                                             uint32_t iovs, uint32_t n, uint32_t flags,
                                             uint32_t nread, uint32_t oflags)
{
    (void)iovs, (void)n, (void)flags, (void)nread, (void)oflags;
    return not_a_socket(inst, fd);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send(zvm_wasi_t *inst, uint32_t fd,
                                             uint32_t iovs, uint32_t n, uint32_t flags,
                                             uint32_t nwritten)
{
    (void)iovs, (void)n, (void)flags, (void)nwritten;
    return not_a_socket(inst, fd);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(zvm_wasi_t *inst, uint32_t fd,
                                                 uint32_t how)
{
    (void)how;
    return not_a_socket(inst, fd);
}

/* ---- the context ------------------------------------------------------------- */

/* fd 0-2: the process's own, borrowed.  A closed one stays free. */
static void init_stdio(zvm_wasm_ctx_t *ctx, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return;
    uint8_t type = filetype_of(st.st_mode);
    uint64_t rights = R_ALL;
    /* wasi-libc's isatty(): a character device without SEEK and TELL. */
    if (type != FT_REG && type != FT_BLOCK)
        rights &= ~(R_FD_SEEK | R_FD_TELL);
    ctx->fds[fd] = (zvm_wasm_fd_t){
        .kind = ZVM_WASM_FD_FILE,
        .host = fd,
        .rights_base = rights,
        .rights_inheriting = rights,
        .filetype = type,
        .borrowed = true,
    };
}

int zvm_wasm_ctx_init_root(zvm_wasm_ctx_t *ctx, const zvm_session_t *s,
                           const char *root)
{
    static char *const empty[] = {NULL};

    memset(ctx, 0, sizeof *ctx);
    for (int i = 0; i < ZVM_WASM_MAX_FDS; i++)
        ctx->fds[i].host = -1;
    ctx->sync_fd = -1;
    ctx->session = s;
    ctx->argv = s && s->argv ? s->argv : empty;
    ctx->envp = s && s->envp ? s->envp : empty;
    ctx->monotonic_start_ns = monotonic_ns();
    if (s && s->nvram.has_time) {
        ctx->fixed_time = true;
        int64_t t = s->nvram.time_seconds;
        if (__builtin_mul_overflow(t, (int64_t)1000000000, &ctx->time_start_ns))
            ctx->time_start_ns = t < 0 ? INT64_MIN : INT64_MAX;
    }
    if (s && s->nvram.has_seed)
        zvm_wasm_ctx_seed(ctx, s->nvram.seed);

    size_t nch = s ? s->manifest.nchannels : 0;
    if (nch > 0) {
        ctx->channel_fds = malloc(nch * sizeof *ctx->channel_fds);
        if (!ctx->channel_fds)
            return -ENOMEM;
        for (size_t i = 0; i < nch; i++)
            ctx->channel_fds[i] = -1;
    }

    for (int fd = 0; fd <= 2; fd++)
        init_stdio(ctx, fd);

    /* The preopen: its path folded (no trailing '/').  Its host directory
     * is opened on first use (dir_host): the jail closes every descriptor
     * the child holds after this, so one opened here would be dead, and
     * its number reused by the program's next open. */
    size_t n = strlen(root);
    if (root[0] != '/' || n >= PATH_MAX)
        return -EINVAL;
    while (n > 1 && root[n - 1] == '/')
        n--;
    char *path = strndup(root, n);
    if (!path)
        return -ENOMEM;
    ctx->fds[ZVM_WASM_PREOPEN_FD] = (zvm_wasm_fd_t){
        .kind = ZVM_WASM_FD_DIR,
        .host = -1,
        .path = path,
        .rights_base = R_DIR,
        .rights_inheriting = R_ALL,
        .filetype = FT_DIR,
        .preopen = true,
    };
    return 0;
}

int zvm_wasm_ctx_init(zvm_wasm_ctx_t *ctx, const zvm_session_t *s)
{
    return zvm_wasm_ctx_init_root(ctx, s, "/");
}

void zvm_wasm_ctx_release(zvm_wasm_ctx_t *ctx)
{
    for (int i = 0; i < ZVM_WASM_MAX_FDS; i++)
        fd_clear(&ctx->fds[i]);
    if (ctx->channel_fds) {
        size_t nch = ctx->session ? ctx->session->manifest.nchannels : 0;
        for (size_t i = 0; i < nch; i++)
            if (ctx->channel_fds[i] >= 0)
                close(ctx->channel_fds[i]);
        free(ctx->channel_fds);
        ctx->channel_fds = NULL;
    }
}

/* The program's own buffers are its libc's business: it flushes before
 * proc_exit.  Nothing is flushed here.  The message is one SEQPACKET
 * record, 'X' and the code in decimal (what ZVM_SYNC_EXIT expects). */
_Noreturn void zvm_wasm_exit(zvm_wasm_ctx_t *ctx, uint32_t code)
{
    int sync_fd = ctx->sync_fd;
    zvm_wasm_ctx_release(ctx);
    if (sync_fd >= 0) {
        char msg[16];
        int n = snprintf(msg, sizeof msg, "X%" PRIu32, code);
        ssize_t sent;
        do
            sent = send(sync_fd, msg, (size_t)n, MSG_NOSIGNAL);
        while (sent < 0 && errno == EINTR);
    }
    _exit(code > 255 ? 255 : (int)code);
}
