/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the wasm engine's host functions (src/engine/wasm/wasi.c,
 * zvmapi.c, imports.c), called directly as a compiled module would call
 * them, with a calloc'd buffer standing in for linear memory and the
 * preopened directory moved to a mkdtemp() directory (removed at the end):
 * arguments and environment, the memory checks, paths and escapes, rights,
 * file and directory operations, fd_renumber, clocks under nvram [time],
 * random_get seeded and not, poll_oneoff, errno mapping, the zerovm module
 * on channels in the temporary directory, and proc_exit in a child.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "engine/wasm/host.h"

/* WASI numbers the checks use (wasi/api.h). */
enum { E_BADF = 8, E_DQUOT = 19, E_EXIST = 20, E_FAULT = 21, E_INVAL = 28,
       E_IO = 29, E_NAMETOOLONG = 37, E_NOENT = 44, E_NOTEMPTY = 55,
       E_NOSYS = 52, E_NOTSOCK = 57, E_PERM = 63, E_SPIPE = 70, E_NOTCAPABLE = 76 };
#define R_READ  ((1ull << 1) | (1ull << 14))
#define R_WRITE ((1ull << 6) | (1ull << 22))
#define R_FD_READ   (1ull << 1)
#define R_PATH_OPEN (1ull << 13)
#define R_FD_SEEK   (1ull << 2)
#define R_POLL_FD_READWRITE (1ull << 27)
#define O_CREAT_ 1u
#define O_DIR_   2u
#define O_EXCL_  4u
#define O_TRUNC_ 8u

#define MEM_SIZE 65536u

static char tmp[64];
static uint8_t *mem;
static wasm_rt_memory_t memory;
static zvm_wasm_ctx_t ctx;
static zvm_wasi_t *wi;

#define W(fn, ...) Z_wasi_snapshot_preview1Z_##fn(wi, __VA_ARGS__)

/* ---- helpers ------------------------------------------------------------ */

static uint32_t rd32(uint32_t at)
{
    return (uint32_t)mem[at] | (uint32_t)mem[at + 1] << 8 |
           (uint32_t)mem[at + 2] << 16 | (uint32_t)mem[at + 3] << 24;
}

static uint64_t rd64(uint32_t at)
{
    return (uint64_t)rd32(at) | (uint64_t)rd32(at + 4) << 32;
}

static void wr32(uint32_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        mem[at + i] = (uint8_t)(v >> (8 * i));
}

/* Places s (no NUL) at `at`; its length goes to *len. */
static uint32_t put(uint32_t at, const char *s, uint32_t *len)
{
    *len = (uint32_t)strlen(s);
    memcpy(mem + at, s, *len);
    return at;
}

static const char *host_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", tmp, name);
    return buf;
}

/* Opens `path` under fd 3; the new fd, or -(WASI errno). */
static int64_t open_at(uint32_t dirfd, const char *path, uint32_t oflags, uint64_t rights)
{
    uint32_t len, p = put(1024, path, &len);
    uint32_t rc = W(path_open, dirfd, 1, p, len, oflags, rights, ~0ull, 0, 2048);
    return rc ? -(int64_t)rc : (int64_t)rd32(2048);
}

/* One iovec at 3000 over [buf, buf+n); returns the WASI errno, count at 3008. */
static uint32_t write_str(uint32_t fd, const char *s)
{
    uint32_t len, p = put(4096, s, &len);
    wr32(3000, p);
    wr32(3004, len);
    return W(fd_write, fd, 3000, 1, 3008);
}

static uint32_t read_into(uint32_t fd, uint32_t n)
{
    memset(mem + 8192, 0, n + 1);
    wr32(3000, 8192);
    wr32(3004, n);
    return W(fd_read, fd, 3000, 1, 3008);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* ---- arguments, environment, memory checks ------------------------------ */

static void test_args_env(char *const *argv, char *const *envp)
{
    uint32_t want_n = 0, want_size = 0;
    for (; argv[want_n]; want_n++)
        want_size += (uint32_t)strlen(argv[want_n]) + 1;
    tap_ok(W(args_sizes_get, 100, 104) == 0 && rd32(100) == want_n &&
           rd32(104) == want_size, "args_sizes_get: count and bytes");
    tap_ok(W(args_get, 200, 300) == 0, "args_get succeeds");
    bool same = true;
    for (uint32_t i = 0; i < want_n; i++)
        same = same && strcmp((char *)mem + rd32(200 + 4 * i), argv[i]) == 0;
    tap_ok(same, "args_get: pointers lead to each argument");

    uint32_t en = 0, esize = 0;
    for (; envp[en]; en++)
        esize += (uint32_t)strlen(envp[en]) + 1;
    tap_ok(W(environ_sizes_get, 100, 104) == 0 && rd32(100) == en && rd32(104) == esize,
           "environ_sizes_get: count and bytes");
    tap_ok(W(environ_get, 200, 300) == 0 &&
           strcmp((char *)mem + rd32(200 + 4 * (en - 1)), envp[en - 1]) == 0,
           "environ_get: last variable");

    tap_ok(W(args_sizes_get, MEM_SIZE - 2, 104) == E_FAULT, "a result straddling the end: FAULT");
    tap_ok(W(args_get, 0xfffffffcu, 300) == E_FAULT, "a pointer near 4 GiB: FAULT");
    tap_ok(W(args_get, 200, MEM_SIZE - 1) == E_FAULT, "a buffer too short for the strings: FAULT");
}

static void test_bounds(void)
{
    /* iovec array past the end, iovec buffer past the end, huge count */
    tap_ok(W(fd_write, 1, MEM_SIZE - 4, 1, 3008) == E_FAULT, "iovec array past memory: FAULT");
    wr32(3000, MEM_SIZE - 10);
    wr32(3004, 11);
    tap_ok(W(fd_write, 1, 3000, 1, 3008) == E_FAULT, "iovec buffer past memory: FAULT");
    wr32(3000, 0xfffffff0u);
    wr32(3004, 0x20);
    tap_ok(W(fd_read, 0, 3000, 1, 3008) == E_FAULT, "iovec buffer wrapping 2^32: FAULT");
    tap_ok(W(fd_write, 1, 0, 100000, 3008) == E_INVAL, "100000 iovecs: INVAL");
    tap_ok(W(fd_write, 1, 0, 0x20000000u, 3008) == E_INVAL, "2^29 iovecs: INVAL, no overflow");
    tap_ok(W(fd_write, 1, 3000, 0, MEM_SIZE) == E_FAULT, "result pointer at the end: FAULT");
    tap_ok(W(random_get, MEM_SIZE - 8, 9) == E_FAULT, "random_get past memory: FAULT");
    tap_ok(W(fd_write, 77, 3000, 0, 3008) == E_BADF, "unknown fd: BADF");
    tap_ok(W(fd_write, 5000, 3000, 0, 3008) == E_BADF, "fd past the table: BADF");
    tap_ok(W(clock_time_get, 1, 1, MEM_SIZE - 7) == E_FAULT, "clock result past memory: FAULT");
}

/* ---- paths ---------------------------------------------------------------- */

static void test_paths(void)
{
    tap_ok(open_at(3, "../x", O_CREAT_, R_WRITE) == -E_NOTCAPABLE, "\"../x\": NOTCAPABLE");
    tap_ok(open_at(3, "/etc/passwd", 0, R_READ) == -E_NOTCAPABLE, "absolute path: NOTCAPABLE");
    tap_ok(open_at(3, "a/../../x", O_CREAT_, R_WRITE) == -E_NOENT,
           "\"a/../../x\" with no a: NOENT (the kernel walks the path)");
    tap_ok(open_at(3, "", 0, R_READ) == -E_NOENT, "empty path: NOENT");
    uint32_t len;
    memcpy(mem + 1024, "ab\0cd", 5);
    tap_ok(W(path_open, 3, 0, 1024, 5, 0, R_READ, 0, 0, 2048) == E_INVAL, "embedded NUL: INVAL");
    tap_ok(W(path_open, 3, 0, MEM_SIZE - 2, 5, 0, R_READ, 0, 0, 2048) == E_FAULT,
           "path past memory: FAULT");

    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    tap_ok(open_at(3, longp, 0, R_READ) == -E_NAMETOOLONG, "5000-byte path: NAMETOOLONG");

    uint32_t p = put(1024, "sub", &len);
    tap_ok(W(path_create_directory, 3, p, len) == 0, "path_create_directory \"sub\"");
    tap_ok(W(path_create_directory, 3, p, len) == 20, "again: EXIST");
    tap_ok(open_at(3, "sub/../../x", O_CREAT_, R_WRITE) == -E_NOTCAPABLE,
           "\"sub/../../x\" climbs out: NOTCAPABLE");
    tap_ok(open_at(3, "sub/x/../f.txt", O_CREAT_, R_WRITE) == -E_NOENT,
           "\"sub/x/../f.txt\" with no sub/x: NOENT, not folded away");
    int64_t fd = open_at(3, ".//sub/./x/../../sub//f.txt", O_CREAT_, R_WRITE);
    tap_ok(fd == -E_NOENT, "still NOENT deeper in the path");
    fd = open_at(3, ".//sub/.//f.txt", O_CREAT_, R_WRITE);
    struct stat st;
    tap_ok(fd > 3 && stat(host_path("sub/f.txt"), &st) == 0,
           "\".//sub/.//f.txt\" is sub/f.txt");
    if (fd > 0)
        W(fd_close, (uint32_t)fd);
    int64_t dfd = open_at(3, "sub", O_DIR_, R_READ | R_PATH_OPEN);
    tap_ok(dfd > 3, "open \"sub\" as a directory");
    if (dfd > 3) {
        tap_ok(open_at((uint32_t)dfd, "../sub/f.txt", 0, R_READ) == -E_NOTCAPABLE,
               "\"..\" above a directory fd: NOTCAPABLE, even back into it");
        fd = open_at((uint32_t)dfd, "f.txt", 0, R_READ);
        tap_ok(fd > 3, "a path relative to the directory fd");
        if (fd > 3)
            W(fd_close, (uint32_t)fd);
        tap_ok(open_at((uint32_t)dfd, "f.txt/", 0, R_READ) == -54, "\"file/\": NOTDIR");
        W(fd_close, (uint32_t)dfd);
    }
    tap_ok(open_at(4000, "x", 0, R_READ) == -E_BADF, "unknown directory fd: BADF");
    tap_ok(open_at(1, "x", 0, R_READ) == -54, "a file as directory fd: NOTDIR");
}

/* ---- files ---------------------------------------------------------------- */

static void test_files(void)
{
    int64_t fd = open_at(3, "f1", O_CREAT_ | O_TRUNC_, ~0ull); /* every right a file has */
    tap_ok(fd > 3, "create f1");
    if (fd < 0)
        return;
    uint32_t f = (uint32_t)fd;
    const char *text = "hello, world\n";
    uint32_t n = (uint32_t)strlen(text);
    tap_ok(write_str(f, text) == 0 && rd32(3008) == n, "fd_write: all bytes");
    tap_ok(W(fd_tell, f, 3100) == 0 && rd64(3100) == n, "fd_tell after the write");
    tap_ok(W(fd_seek, f, 0, 0, 3100) == 0 && rd64(3100) == 0, "fd_seek to 0");
    tap_ok(read_into(f, 100) == 0 && rd32(3008) == n &&
           memcmp(mem + 8192, text, n) == 0, "fd_read: the bytes back");
    tap_ok(W(fd_seek, f, (uint64_t)-5, 2, 3100) == 0 && rd64(3100) == n - 5, "fd_seek from the end");
    tap_ok(W(fd_seek, f, 0, 9, 3100) == E_INVAL, "bad whence: INVAL");

    /* two iovecs in one call */
    memcpy(mem + 5000, "AB", 2);
    memcpy(mem + 6000, "CD", 2);
    wr32(3000, 5000); wr32(3004, 2);
    wr32(3008, 6000); wr32(3012, 2);
    tap_ok(W(fd_pwrite, f, 3000, 2, 0, 3100) == 0 && rd32(3100) == 4, "fd_pwrite of two iovecs");
    wr32(3000, 7000); wr32(3004, 4);
    tap_ok(W(fd_pread, f, 3000, 1, 0, 3100) == 0 && rd32(3100) == 4 &&
           memcmp(mem + 7000, "ABCD", 4) == 0, "fd_pread at 0");

    tap_ok(W(fd_filestat_get, f, 3200) == 0 && mem[3200 + 16] == 4 && rd64(3200 + 32) == n,
           "fd_filestat_get: regular file, size");
    tap_ok(W(fd_filestat_set_size, f, 3) == 0 && W(fd_filestat_get, f, 3200) == 0 &&
           rd64(3200 + 32) == 3, "fd_filestat_set_size");
    tap_ok(W(fd_filestat_set_times, f, 1000000000ull * 1000, 1000000000ull * 2000, 1 | 4) == 0 &&
           W(fd_filestat_get, f, 3200) == 0 && rd64(3200 + 48) == 1000000000ull * 2000,
           "fd_filestat_set_times: mtim");
    tap_ok(W(fd_filestat_set_times, f, 0, 0, 1 | 2) == E_INVAL, "ATIM with ATIM_NOW: INVAL");
    tap_ok(W(fd_fdstat_get, f, 3300) == 0 && mem[3300] == 4 && (rd64(3308) & R_WRITE),
           "fd_fdstat_get: regular file with write rights");
    tap_ok(W(fd_fdstat_set_flags, f, 1) == 0 && W(fd_fdstat_get, f, 3300) == 0 &&
           (rd32(3300 + 2) & 0xffff) == 1 && (fcntl(ctx.fds[f].host, F_GETFL) & O_APPEND),
           "fd_fdstat_set_flags: APPEND reaches the host");
    tap_ok(W(fd_sync, f) == 0 && W(fd_datasync, f) == 0, "fd_sync, fd_datasync");
    tap_ok(W(fd_advise, f, 0, 0, 1) == 0 && W(fd_advise, f, 0, 0, 9) == E_INVAL, "fd_advise");
    tap_ok(W(fd_allocate, f, 0, 100) == 0 && W(fd_filestat_get, f, 3200) == 0 &&
           rd64(3200 + 32) == 100, "fd_allocate grows the file");
    tap_ok(W(fd_fdstat_set_rights, f, R_FD_READ, 0) == 0 &&
           W(fd_fdstat_set_rights, f, R_FD_READ | R_WRITE, 0) == E_NOTCAPABLE,
           "rights only shrink");
    tap_ok(write_str(f, "x") == E_NOTCAPABLE && W(fd_sync, f) == E_NOTCAPABLE,
           "and calls need their rights: NOTCAPABLE");
    tap_ok(W(fd_close, f) == 0 && W(fd_close, f) == E_BADF, "fd_close, then BADF");

    uint32_t len, p = put(1500, "f1", &len), q = put(1550, "f2", &len);
    tap_ok(W(path_filestat_get, 3, 1, p, len, 3200) == 0 && rd64(3200 + 32) == 100,
           "path_filestat_get");
    tap_ok(W(path_rename, 3, p, len, 3, q, len) == 0 && access(host_path("f2"), F_OK) == 0 &&
           access(host_path("f1"), F_OK) < 0, "path_rename f1 -> f2");
    tap_ok(W(path_link, 3, 0, q, len, 3, p, len) == 0 && W(path_filestat_get, 3, 0, p, len, 3200) == 0 &&
           rd64(3200 + 24) == 2, "path_link: two links");
    uint32_t l = put(1600, "lnk", &len);
    uint32_t abs_len, abs = put(1700, "/", &abs_len);
    tap_ok(W(path_symlink, abs, abs_len, 3, l, 3) == E_PERM && access(host_path("lnk"), F_OK) < 0 &&
           errno == ENOENT, "path_symlink lnk -> /: PERM, nothing created");
    abs = put(1700, "/etc/passwd", &abs_len);
    tap_ok(W(path_symlink, abs, abs_len, 3, l, 3) == E_PERM && access(host_path("lnk"), F_OK) < 0,
           "path_symlink lnk -> /etc/passwd: PERM");
    tap_ok(W(path_symlink, q, 2, 3, l, 3) == 0, "path_symlink lnk -> f2");
    tap_ok(W(path_readlink, 3, l, 3, 1300, 64, 1400) == 0 && rd32(1400) == 2 &&
           memcmp(mem + 1300, "f2", 2) == 0, "path_readlink");
    tap_ok(W(path_filestat_get, 3, 0, l, 3, 3200) == 0 && mem[3200 + 16] == 7,
           "path_filestat_get without follow: symlink");
    tap_ok(W(path_filestat_get, 3, 1, l, 3, 3200) == 0 && mem[3200 + 16] == 4,
           "path_filestat_get with follow: the file");
    tap_ok(open_at(3, "lnk", 0, R_READ) >= 0, "path_open follows with SYMLINK_FOLLOW");
    put(1024, "lnk", &len);
    tap_ok(W(path_open, 3, 0, 1024, len, 0, R_READ, 0, 0, 2048) == 32, "and not without: LOOP");
    tap_ok(W(path_unlink_file, 3, l, 3) == 0 && W(path_unlink_file, 3, p, 2) == 0 &&
           W(path_unlink_file, 3, q, 2) == 0 && W(path_unlink_file, 3, q, 2) == E_NOENT,
           "path_unlink_file, then NOENT");

    p = put(1500, "sub", &len);
    tap_ok(W(path_remove_directory, 3, p, len) == E_NOTEMPTY, "path_remove_directory: NOTEMPTY");
    q = put(1550, "sub/f.txt", &len);
    tap_ok(W(path_unlink_file, 3, q, len) == 0 && W(path_remove_directory, 3, p, 3) == 0,
           "path_remove_directory once empty");
    tap_ok(open_at(3, "f3", O_CREAT_ | O_EXCL_, R_WRITE) >= 0 &&
           open_at(3, "f3", O_CREAT_ | O_EXCL_, R_WRITE) == -E_EXIST, "O_EXCL: EXIST");
}

/* Reads every entry of directory fd `fd` with a buf_len-byte buffer,
 * following cookies as wasi-libc does: the number of entries, and in *mask
 * a bit per name of `names` seen. */
static int readdir_all(uint32_t fd, uint32_t buf_len, const char *const *names,
                       unsigned *mask)
{
    uint64_t cookie = 0;
    int count = 0;
    *mask = 0;
    for (int round = 0; round < 1000; round++) {
        if (W(fd_readdir, fd, 10000, buf_len, cookie, 3100) != 0)
            return -1;
        uint32_t used = rd32(3100), at = 0;
        bool cut = false;
        while (at + 24 <= used) {
            uint32_t namlen = rd32(10000 + at + 16);
            if (at + 24 + namlen > used) {
                cut = true;
                break;
            }
            for (int i = 0; names[i]; i++)
                if (strlen(names[i]) == namlen && memcmp(mem + 10000 + at + 24, names[i], namlen) == 0)
                    *mask |= 1u << i;
            count++;
            cookie = rd64(10000 + at);
            at += 24 + namlen;
        }
        if (used < buf_len && !cut)
            return count;
        if (cut && at == 0)
            return -2; /* buffer too small for one entry */
    }
    return -3;
}

static void test_readdir(void)
{
    static const char *const names[] = {".", "..", "alpha", "beta", "gamma-long-name", NULL};
    uint32_t len, p = put(1024, "dir", &len);
    W(path_create_directory, 3, p, len);
    for (int i = 2; names[i]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "dir/%s", names[i]);
        int64_t fd = open_at(3, rel, O_CREAT_, R_WRITE);
        if (fd >= 0)
            W(fd_close, (uint32_t)fd);
    }
    int64_t d = open_at(3, "dir", O_DIR_, R_READ);
    tap_ok(d > 3, "open dir");
    if (d < 0)
        return;
    unsigned mask;
    tap_ok(readdir_all((uint32_t)d, 4096, names, &mask) == 5 && mask == 0x1f,
           "fd_readdir, one large buffer: all five entries");
    tap_ok(readdir_all((uint32_t)d, 48, names, &mask) == 5 && mask == 0x1f,
           "fd_readdir, 48-byte buffer: cookies reach all five");
    tap_ok(W(fd_fdstat_get, (uint32_t)d, 3300) == 0 && mem[3300] == 3, "fd_fdstat_get: directory");
    tap_ok(W(fd_readdir, 1, 10000, 100, 0, 3100) == 54, "fd_readdir on a file: NOTDIR");
    tap_ok(W(fd_readdir, (uint32_t)d, MEM_SIZE - 10, 100, 0, 3100) == E_FAULT,
           "fd_readdir buffer past memory: FAULT");
    W(fd_close, (uint32_t)d);
}

static void test_renumber_prestat(void)
{
    int64_t a = open_at(3, "ra", O_CREAT_, R_WRITE), b = open_at(3, "rb", O_CREAT_, R_WRITE);
    tap_ok(a > 3 && b > 3, "two files for fd_renumber");
    if (a < 0 || b < 0)
        return;
    tap_ok(W(fd_renumber, (uint32_t)a, (uint32_t)b) == 0, "fd_renumber a -> b");
    tap_ok(write_str((uint32_t)b, "xyz") == 0, "write through the new number");
    struct stat st;
    tap_ok(stat(host_path("ra"), &st) == 0 && st.st_size == 3 &&
           stat(host_path("rb"), &st) == 0 && st.st_size == 0, "it reaches a's file, not b's");
    tap_ok(W(fd_close, (uint32_t)a) == E_BADF, "the old number is closed");
    tap_ok(W(fd_renumber, (uint32_t)b, 900) == E_BADF, "to a closed number: BADF");
    W(fd_close, (uint32_t)b);

    tap_ok(W(fd_prestat_get, 3, 3400) == 0 && mem[3400] == 0 && rd32(3404) == 1,
           "fd_prestat_get 3: a directory named with 1 byte");
    tap_ok(W(fd_prestat_dir_name, 3, 3500, 1) == 0 && mem[3500] == '/', "its name is \"/\"");
    tap_ok(W(fd_prestat_get, 4, 3400) == E_BADF, "fd 4 is no preopen: BADF");
    tap_ok(W(fd_fdstat_get, 3, 3300) == 0 && mem[3300] == 3 && rd64(3316) == (1ull << 30) - 1,
           "preopen: directory, every right inherited");
}

static void test_pipe_seek(void)
{
    if (mkfifo(host_path("fifo"), 0600) < 0) {
        tap_skip("mkfifo failed");
        return;
    }
    int64_t fd = open_at(3, "fifo", 0, R_READ | R_WRITE);
    tap_ok(fd > 3, "open a FIFO read-write");
    if (fd < 0)
        return;
    tap_ok(W(fd_seek, (uint32_t)fd, 0, 1, 3100) == E_SPIPE, "fd_seek on a FIFO: SPIPE");
    tap_ok(W(fd_fdstat_get, (uint32_t)fd, 3300) == 0 && mem[3300] == 0, "FIFO filetype: unknown");
    tap_ok(write_str((uint32_t)fd, "pipe") == 0 && read_into((uint32_t)fd, 4) == 0 &&
           memcmp(mem + 8192, "pipe", 4) == 0, "bytes through the FIFO");
    W(fd_close, (uint32_t)fd);
}

/* ---- clocks, random, poll, errno ---------------------------------------- */

static void test_clocks(int64_t fixed_seconds)
{
    tap_ok(W(clock_time_get, 0, 1, 3100) == 0, "clock_time_get realtime");
    uint64_t rt = rd64(3100), want = (uint64_t)fixed_seconds * 1000000000ull;
    tap_ok(rt >= want && rt - want < 5000000000ull, "realtime starts at nvram [time]");
    tap_ok(W(clock_time_get, 1, 1, 3100) == 0 && rd64(3100) > 0, "monotonic");
    tap_ok(W(clock_time_get, 2, 1, 3100) == 0 && W(clock_time_get, 3, 1, 3100) == 0,
           "process and thread cputime");
    tap_ok(W(clock_time_get, 9, 1, 3100) == E_INVAL, "unknown clock: INVAL");
    tap_ok(W(clock_res_get, 1, 3100) == 0 && rd64(3100) > 0, "clock_res_get: non-zero");
}

static void test_random(void)
{
    zvm_wasm_ctx_seed(&ctx, 42);
    W(random_get, 1000, 37);
    uint8_t a[37], b[37];
    memcpy(a, mem + 1000, sizeof a);
    zvm_wasm_ctx_seed(&ctx, 42);
    W(random_get, 1000, 37);
    memcpy(b, mem + 1000, sizeof b);
    tap_ok(memcmp(a, b, sizeof a) == 0, "seeded random_get: same seed, same bytes");
    zvm_wasm_ctx_seed(&ctx, 43);
    W(random_get, 1000, 37);
    tap_ok(memcmp(a, mem + 1000, sizeof a) != 0, "another seed, other bytes");
    ctx.seeded = false;
    W(random_get, 1000, 37);
    memcpy(a, mem + 1000, sizeof a);
    W(random_get, 1000, 37);
    tap_ok(memcmp(a, mem + 1000, sizeof a) != 0, "unseeded: two calls differ");
    tap_ok(W(random_get, 1000, 0) == 0, "zero bytes");
}

/*
 * Seeded random_get of 2^32 - 1 bytes into a linear memory as large as
 * wasm2c's 32-bit size allows: it must end (a 32-bit count wrapped past
 * 2^32 - 8 and looped for ever).  The memory is one 256 KiB memfd mapped
 * over and over, so the 4 GiB cost no RAM.  In a child, whose alarm only
 * keeps a regression from hanging the suite: the check is that the call
 * returns 0.
 */
static void test_random_4g(void)
{
    const size_t chunk = 256u << 10;
    const uint64_t span = 1ull << 32;
    int mfd = memfd_create("zvm-test-mem", MFD_CLOEXEC);
    uint8_t *base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    bool mapped = mfd >= 0 && ftruncate(mfd, (off_t)chunk) == 0 && base != MAP_FAILED;
    for (uint64_t at = 0; mapped && at < span; at += chunk)
        mapped = mmap(base + at, chunk, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mfd, 0) !=
                 MAP_FAILED;
    if (!mapped) {
        tap_skip("cannot map a 4 GiB linear memory");
        if (base != MAP_FAILED)
            munmap(base, span);
        if (mfd >= 0)
            close(mfd);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        alarm(600);
        wasm_rt_memory_t big = {.data = base, .pages = 65535, .max_pages = 65535,
                                .size = UINT32_MAX};
        ctx.memory = &big;
        zvm_wasm_ctx_seed(&ctx, 7);
        _exit(W(random_get, 0, UINT32_MAX) == 0 ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "seeded random_get of 2^32 - 1 bytes ends, successfully (status %#x)", status);
    munmap(base, span);
    close(mfd);
}

/* One subscription at 20000 + 48 * i. */
static void sub_clock(int i, uint64_t userdata, uint32_t id, uint64_t timeout, uint16_t flags)
{
    uint8_t *s = mem + 20000 + 48 * i;
    memset(s, 0, 48);
    for (int k = 0; k < 8; k++) s[k] = (uint8_t)(userdata >> (8 * k));
    s[8] = 0;
    wr32(20000 + 48 * i + 16, id);
    for (int k = 0; k < 8; k++) s[24 + k] = (uint8_t)(timeout >> (8 * k));
    s[40] = (uint8_t)flags;
}

static void sub_fd(int i, uint64_t userdata, uint8_t type, uint32_t fd)
{
    uint8_t *s = mem + 20000 + 48 * i;
    memset(s, 0, 48);
    for (int k = 0; k < 8; k++) s[k] = (uint8_t)(userdata >> (8 * k));
    s[8] = type;
    wr32(20000 + 48 * i + 16, fd);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_poll(void)
{
    sub_clock(0, 7, 1, 30000000, 0);        /* 30 ms */
    sub_clock(1, 8, 1, 5000000000ull, 0);   /* 5 s */
    double t = now_s();
    tap_ok(W(poll_oneoff, 20000, 30000, 2, 3100) == 0 && rd32(3100) == 1 &&
           rd64(30000) == 7 && (rd32(30008) & 0xffff) == 0, "poll_oneoff: the earlier clock");
    double took = now_s() - t;
    tap_ok(took >= 0.029 && took < 2, "it slept about 30 ms (%.3f s)", took);

    /* A regular file: ready at once, with the bytes left after the offset. */
    int64_t f = open_at(3, "pollfile", O_CREAT_ | O_TRUNC_,
                        R_READ | R_WRITE | R_FD_SEEK | R_POLL_FD_READWRITE);
    tap_ok(f > 3 && write_str((uint32_t)f, "0123456789") == 0 &&
           W(fd_seek, (uint32_t)f, 3, 0, 3100) == 0, "a 10-byte file at offset 3");
    sub_clock(0, 7, 1, 5000000000ull, 0);
    sub_fd(1, 9, 1, (uint32_t)f);
    sub_fd(2, 12, 2, (uint32_t)f);
    tap_ok(W(poll_oneoff, 20000, 30000, 3, 3100) == 0 && rd32(3100) == 2 &&
           rd64(30000) == 9 && mem[30010] == 1 && (rd32(30008) & 0xffff) == 0 &&
           rd64(30016) == 7 && rd64(30032) == 12 && mem[30042] == 2 && rd64(30048) == 0,
           "a file: read ready with 7 bytes left, write ready; the clock not expired");
    W(fd_close, (uint32_t)f);

    /* A pipe the test holds: its read end as WASI fd 50. */
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0) {
        tap_skip("pipe2 failed");
        return;
    }
    ctx.fds[50] = (zvm_wasm_fd_t){.kind = ZVM_WASM_FD_FILE, .host = pp[0], .rights_base = ~0ull};
    ctx.fds[51] = (zvm_wasm_fd_t){.kind = ZVM_WASM_FD_FILE, .host = pp[1], .rights_base = ~0ull};
    sub_fd(0, 20, 1, 50);
    sub_clock(1, 21, 1, 30000000, 0);   /* 30 ms */
    tap_ok(W(poll_oneoff, 20000, 30000, 2, 3100) == 0 && rd32(3100) == 1 && rd64(30000) == 21 &&
           mem[30010] == 0, "an empty pipe is not ready: only the clock fires");
    sub_fd(0, 22, 2, 51);
    sub_clock(1, 23, 1, 5000000000ull, 0);
    tap_ok(W(poll_oneoff, 20000, 30000, 2, 3100) == 0 && rd32(3100) == 1 && rd64(30000) == 22 &&
           mem[30010] == 2 && (rd32(30008) & 0xffff) == 0 && rd64(30016) > 0,
           "its write end is ready to write");
    tap_ok(write(pp[1], "abc", 3) == 3, "3 bytes into the pipe");
    sub_fd(0, 20, 1, 50);
    tap_ok(W(poll_oneoff, 20000, 30000, 2, 3100) == 0 && rd32(3100) == 1 && rd64(30000) == 20 &&
           mem[30010] == 1 && (rd32(30008) & 0xffff) == 0 && rd64(30016) >= 1 &&
           rd32(30024) == 0, "with data the read end is ready, the 5 s clock not waited for");
    W(fd_close, 51);
    tap_ok(W(poll_oneoff, 20000, 30000, 2, 3100) == 0 && rd32(3100) == 1 && rd64(30000) == 20 &&
           (rd32(30024) & 0xffff) == 1, "writer gone: ready, with the hangup flag");
    W(fd_close, 50);
    sub_fd(0, 10, 2, 999);
    tap_ok(W(poll_oneoff, 20000, 30000, 1, 3100) == 0 && rd32(3100) == 1 &&
           (rd32(30008) & 0xffff) == E_BADF, "unknown fd: an event with BADF");
    sub_clock(0, 11, 0, 0, 1);              /* realtime, absolute, in the past */
    tap_ok(W(poll_oneoff, 20000, 30000, 1, 3100) == 0 && rd32(3100) == 1 && rd64(30000) == 11,
           "an absolute time already past");
    tap_ok(W(poll_oneoff, 20000, 30000, 0, 3100) == E_INVAL, "no subscription: INVAL");
    tap_ok(W(poll_oneoff, 20000, 30000, 100000, 3100) == E_FAULT, "subscriptions past memory: FAULT");
}

static void test_errno(void)
{
    tap_ok(zvm__wasm_errno(EDQUOT) == E_DQUOT, "EDQUOT -> DQUOT (channel quotas)");
    tap_ok(zvm__wasm_errno(ESPIPE) == E_SPIPE, "ESPIPE -> SPIPE");
    tap_ok(zvm__wasm_errno(ENOENT) == E_NOENT && zvm__wasm_errno(EFAULT) == E_FAULT &&
           zvm__wasm_errno(ENOSYS) == E_NOSYS && zvm__wasm_errno(EOPNOTSUPP) == 58 &&
           zvm__wasm_errno(EXDEV) == 75 && zvm__wasm_errno(E2BIG) == 1,
           "a sample of the table");
    tap_ok(zvm__wasm_errno(4000) == E_IO, "unknown -> IO");
    tap_ok(W(proc_raise, 9) == E_NOSYS && Z_wasi_snapshot_preview1Z_sched_yield(wi) == 0,
           "proc_raise: NOSYS; sched_yield: 0");
    tap_ok(W(sock_accept, 1, 0, 100) == E_NOTSOCK && W(sock_recv, 3, 3000, 1, 0, 100, 104) == E_NOTSOCK &&
           W(sock_send, 1, 3000, 1, 0, 100) == E_NOTSOCK && W(sock_shutdown, 3, 2) == E_NOTSOCK,
           "sockets on open descriptors (stdout, the preopen): NOTSOCK");
    tap_ok(W(sock_accept, 900, 0, 100) == E_BADF && W(sock_recv, 900, 3000, 1, 0, 100, 104) == E_BADF &&
           W(sock_send, 900, 3000, 1, 0, 100) == E_BADF && W(sock_shutdown, 900, 2) == E_BADF,
           "sockets on a closed descriptor: BADF");
}

/* ---- the zerovm module ---------------------------------------------------- */

static void test_zvmapi(const zvm_session_t *s)
{
    zvm_zapi_t *zi = (zvm_zapi_t *)&ctx;
    tap_ok(Z_zerovmZ_channel_count(zi) == s->manifest.nchannels, "channel_count");
    const char *alias0 = s->manifest.channels[0].alias;
    uint32_t n0 = (uint32_t)strlen(alias0);
    memset(mem + 1000, 'x', 200);
    tap_ok(Z_zerovmZ_channel_name(zi, 0, 1000, 200) == n0 &&
           strcmp((char *)mem + 1000, alias0) == 0, "channel_name, with the NUL");
    memset(mem + 1000, 'x', 200);
    tap_ok(Z_zerovmZ_channel_name(zi, 0, 1000, 4) == n0 && memcmp(mem + 1000, alias0, 4) == 0 &&
           mem[1004] == 'x', "channel_name cut at len, no NUL");
    tap_ok(Z_zerovmZ_channel_name(zi, 9, 1000, 4) == (uint32_t)-E_BADF, "bad index: -BADF");
    tap_ok(Z_zerovmZ_channel_name(zi, 0, MEM_SIZE - 2, 100) == (uint32_t)-E_FAULT,
           "name past memory: -FAULT");

    tap_ok(Z_zerovmZ_channel_info(zi, 0, 1200) == 0 && rd32(1200) == 1 && rd32(1204) == n0 &&
           rd64(1208) == 10 && rd64(1216) == s->manifest.channels[0].limits[0] &&
           rd64(1240) == s->manifest.channels[0].limits[3], "channel_info: type, name, size, limits");
    tap_ok(Z_zerovmZ_pread(zi, 0, 1300, 4, 3) == 4 && memcmp(mem + 1300, "3456", 4) == 0,
           "pread on a random channel uses the offset");
    tap_ok(Z_zerovmZ_pread(zi, 0, 1300, 4, 8) == 2, "pread near the end: short");
    tap_ok(Z_zerovmZ_pread(zi, 0, 1300, 4, (uint64_t)-1) == (uint32_t)-E_INVAL,
           "negative offset: -INVAL");
    memcpy(mem + 1400, "out1out2", 8);
    tap_ok(Z_zerovmZ_pwrite(zi, 1, 1400, 4, 12345) == 4 && Z_zerovmZ_pwrite(zi, 1, 1404, 4, 0) == 4,
           "pwrite on a sequential channel");
    struct stat st;
    tap_ok(stat(s->manifest.channels[1].alias, &st) == 0 && st.st_size == 8,
           "sequential: offsets ignored, bytes appended");
    tap_ok(Z_zerovmZ_pwrite(zi, 0, 1400, 4, 0) == (uint32_t)-E_BADF,
           "writing a read-only channel: -BADF (the supervisor says -DQUOT)");
    tap_ok(Z_zerovmZ_pread(zi, 1, MEM_SIZE - 2, 4, 0) == (uint32_t)-E_FAULT, "buffer past memory: -FAULT");
    tap_ok(Z_zerovmZ_pread(zi, 2, 1300, 4, 0) == (uint32_t)-E_NOENT, "missing alias: -NOENT");
}

static void test_imports(void)
{
    bool ok = zvm_wasm_nimports > 50;
    for (unsigned i = 0; i < zvm_wasm_nimports; i++) {
        char want[128];
        snprintf(want, sizeof want, " Z_%sZ_%s(struct Z_%s_instance_t*", zvm_wasm_imports[i].module,
                 zvm_wasm_imports[i].name, zvm_wasm_imports[i].module);
        ok = ok && strstr(zvm_wasm_imports[i].prototype, want);
    }
    tap_ok(ok, "imports.def: %u entries, each prototype names its function", zvm_wasm_nimports);
}

/* proc_exit in a child with a sync socket: the message it sent (or "")
 * and its exit status. */
static int exit_child(uint32_t code, bool zerovm_module, char *msg, size_t size)
{
    int sv[2];
    msg[0] = '\0';
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    int status = -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        ctx.sync_fd = sv[1];
        if (zerovm_module)
            Z_zerovmZ_exit((zvm_zapi_t *)&ctx, code);
        else
            Z_wasi_snapshot_preview1Z_proc_exit(wi, code);
        _exit(99);
    }
    close(sv[1]);
    ssize_t n = recv(sv[0], msg, size - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    close(sv[0]);
    waitpid(pid, &status, 0);
    return status;
}

static void test_exit(void)
{
    char msg[32];
    int status = exit_child(256 + 3, false, msg, sizeof msg);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 255,
           "proc_exit(259) ends the process with 255, never 259 & 0xff (status %#x)", status);
    tap_is_str(msg, "X259", "proc_exit(259) tells the supervisor the whole code");
    status = exit_child(256, false, msg, sizeof msg);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 255 && strcmp(msg, "X256") == 0,
           "proc_exit(256): status 255 (not 0, success), told 256");
    status = exit_child(UINT32_MAX, false, msg, sizeof msg);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 255 && strcmp(msg, "X4294967295") == 0,
           "proc_exit(2^32 - 1): status 255, told 4294967295");
    status = exit_child(7, false, msg, sizeof msg);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 7 && strcmp(msg, "X7") == 0,
           "proc_exit(7): status 7, told 7");
    status = exit_child(5, true, msg, sizeof msg);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 5 && strcmp(msg, "X5") == 0, "zerovm exit(5)");
    tap_ok(ctx.sync_fd == -1, "outside the jail the context has no sync socket");
}

int main(void)
{
    strcpy(tmp, "/tmp/zvm-wasi.XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 99;
    }
    mem = calloc(1, MEM_SIZE);
    if (!mem)
        return 99;
    memory = (wasm_rt_memory_t){.data = mem, .pages = 1, .max_pages = 1, .size = MEM_SIZE};

    /* A session: arguments, environment, [time], three channels in tmp. */
    static char *argv[] = {"prog", "two words", "", NULL};
    static char *envp[] = {"LANG=C.UTF-8", "A=1", NULL};
    char in[128], out[128], missing[128];
    snprintf(in, sizeof in, "%s/in.dat", tmp);
    snprintf(out, sizeof out, "%s/out.dat", tmp);
    snprintf(missing, sizeof missing, "%s/none", tmp);
    FILE *fin = fopen(in, "w");
    fputs("0123456789", fin);
    fclose(fin);
    fclose(fopen(out, "w"));
    zvm_channel_spec_t chans[3] = {
        {.alias = in, .type = ZVM_CHANNEL_RND_READ_SEQ_WRITE, .limits = {100, 1000, 0, 0}},
        {.alias = out, .type = ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, .limits = {0, 0, 100, 1000}},
        {.alias = missing, .type = ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, .limits = {1, 1, 0, 0}},
    };
    zvm_session_t s = {0};
    s.argv = argv;
    s.envp = envp;
    s.nvram.has_time = true;
    s.nvram.time_seconds = 1700000000;
    s.manifest.channels = chans;
    s.manifest.nchannels = 3;

    int rc = zvm_wasm_ctx_init_root(&ctx, &s, tmp);
    tap_ok(rc == 0, "ctx init with the preopen at %s", tmp);
    if (rc != 0) {
        zvm_wasm_ctx_release(&ctx);
        return tap_done();
    }
    ctx.memory = &memory;
    wi = (zvm_wasi_t *)&ctx;

    test_args_env(argv, envp);
    test_bounds();
    test_paths();
    test_files();
    test_readdir();
    test_renumber_prestat();
    test_pipe_seek();
    test_clocks(s.nvram.time_seconds);
    test_random();
    test_random_4g();
    test_poll();
    test_errno();
    test_zvmapi(&s);
    test_imports();
    test_exit();

    zvm_wasm_ctx_release(&ctx);
    tap_ok(ctx.channel_fds == NULL && ctx.fds[3].kind == ZVM_WASM_FD_FREE &&
           fcntl(1, F_GETFD) >= 0, "release: everything closed but the borrowed 0-2");

    /* A NULL session: no arguments, no channels. */
    zvm_wasm_ctx_t *c2 = calloc(1, sizeof *c2);
    tap_ok(c2 && zvm_wasm_ctx_init_root(c2, NULL, tmp) == 0 && c2->argv[0] == NULL &&
           !c2->fixed_time && !c2->seeded, "init without a session");
    if (c2) {
        c2->memory = &memory;
        tap_ok(Z_zerovmZ_channel_count((zvm_zapi_t *)c2) == 0 &&
               Z_zerovmZ_pread((zvm_zapi_t *)c2, 0, 0, 1, 0) == (uint32_t)-E_BADF,
               "no channels: count 0, -BADF");
        zvm_wasm_ctx_release(c2);
        free(c2);
    }
    tap_ok(zvm_wasm_ctx_init_root(&ctx, NULL, "relative") == -EINVAL, "a relative root: -EINVAL");
    zvm_wasm_ctx_release(&ctx);

    free(mem);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}
