/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: archives (src/lib/tar.c), the one reader of images,
 * app tars and zapps.  The input, as a file (a memfd), is read with small
 * limits (64 KiB, 64 members).  The first byte picks:
 *  - even: read every member and its data, checking the invariants of
 *    include/zvm/tar.h on each (relative names without "..", the four
 *    kinds, relative symlink targets);
 *  - odd: unpack into a fresh temporary directory, then walk what was
 *    written: only files, directories and relative symlinks, no setuid,
 *    setgid or sticky bit, at most the limit in bytes, and nothing
 *    outside (the walk never leaves the directory: links are not
 *    followed).  The directory is removed after each input.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zvm/tar.h"

#define MAX_BYTES (64u * 1024u)

static char base[64];
static uint64_t walked_bytes;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    chmod(path, 0700); /* a directory unpacked read-only still goes */
    return remove(path);
}

static void cleanup(void)
{
    if (base[0])
        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    strcpy(base, "/tmp/zvm-fuzz-tar.XXXXXX");
    if (!mkdtemp(base))
        abort();
    atexit(cleanup);
    return 0;
}

/* A member's path (folded: no "." or empty component) or, when !folded,
 * a hard link's target as written: relative, no "..". */
static void check_name(const char *path, bool folded)
{
    if (path[0] == '/')
        abort();
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 2 && p[0] == '.' && p[1] == '.') ||
            (folded && ((n == 1 && p[0] == '.') || n == 0)))
            abort();
        p += n;
        if (*p == '/')
            p++;
    }
}

static int check_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag, (void)ftw;
    if (st->st_mode & (S_ISUID | S_ISGID | S_ISVTX))
        abort();
    if (S_ISLNK(st->st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0 || target[0] == '/')
            abort();
    } else if (S_ISREG(st->st_mode)) {
        walked_bytes += (uint64_t)st->st_size;
    } else if (!S_ISDIR(st->st_mode)) {
        abort(); /* a device, FIFO or socket was made */
    }
    return 0;
}

static void read_all(zvm_tar_t *t)
{
    zvm_tar_member_t m;
    zvm_error_t err;
    int rc;
    char buf[4096];
    while ((rc = zvm_tar_next(t, &m, &err)) == 1) {
        if (m.path[0])
            check_name(m.path, true);
        switch (m.kind) {
        case ZVM_TAR_SYMLINK:
            if (!m.target || m.target[0] == '/')
                abort();
            break;
        case ZVM_TAR_HARDLINK:
            if (!m.target)
                abort();
            check_name(m.target, false);
            break;
        case ZVM_TAR_FILE:
        case ZVM_TAR_DIR:
            break;
        default:
            abort();
        }
        long n;
        while ((n = zvm_tar_read(t, buf, sizeof buf, &err)) > 0)
            ;
        if (n < 0)
            break;
    }
    if (zvm_tar_used(t) > MAX_BYTES + ZVM_TAR_MEMBER_OVERHEAD)
        abort();
}

static void unpack(zvm_tar_t *t)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/u", base);
    if (mkdir(dir, 0700) < 0)
        abort();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        abort();
    zvm_error_t err;
    int rc = zvm_tar_unpack(t, dfd, &err);
    close(dfd);
    walked_bytes = 0;
    if (nftw(dir, check_one, 16, FTW_PHYS) != 0)
        abort();
    if (rc == 0 && walked_bytes > MAX_BYTES)
        abort();
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (size == 0)
        return 0;
    if (fd < 0 && (fd = memfd_create("image.tar", MFD_CLOEXEC)) < 0)
        abort();
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
        abort();
    zvm_tar_limits_t lim = {.max_bytes = MAX_BYTES, .max_members = 64, .max_what = "the fuzz limit"};
    zvm_error_t err;
    zvm_tar_t *t = zvm_tar_open(fd, "fuzz", &lim, NULL, NULL, &err);
    if (!t)
        return 0;
    if (data[0] & 1)
        unpack(t);
    else
        read_all(t);
    zvm_tar_free(t);
    return 0;
}
