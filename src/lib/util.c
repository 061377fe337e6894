/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal helpers: cleanup functions, EINTR-safe I/O, whole-file reads.
 */
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void zvm__freep(void *p)
{
    free(*(void **)p);
}

void zvm__closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

int zvm_open_retry(const char *path, int flags, mode_t mode)
{
    int fd;
    do
        fd = open(path, flags, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

int zvm_copy_fd(int in, int out)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        int rc = zvm_write_all(out, buf, (size_t)n);
        if (rc < 0)
            return rc;
    }
}

int zvm_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int zvm_read_file(const char *path, size_t max, char **out, size_t *len)
{
    cleanup_close int fd = zvm_open_retry(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
        return -EFBIG;
    /* /proc and sysfs files say size 0; a sysctl must be read in one go. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    cleanup_free char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t used = 0;
    for (;;) {
        if (used + 1 >= cap) {
            if (cap > max + 1)
                return -EFBIG;
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb)
                return -ENOMEM;
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + used, cap - used - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        used += (size_t)r;
        if (used > max)
            return -EFBIG;
    }
    buf[used] = '\0';
    if (len)
        *len = used;
    *out = steal_pointer(&buf);
    return 0;
}

int zvm_write_file(const char *path, const char *text)
{
    cleanup_close int fd = zvm_open_retry(path, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    return zvm_write_all(fd, text, strlen(text));
}

uint64_t zvm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

zvm_path_form_t zvm_path_form(const char *path)
{
    if (path[0] != '/')
        return ZVM_PATH_RELATIVE;
    if (path[1] == '\0')
        return ZVM_PATH_CLEAN;
    for (const char *s = path + 1;;) {
        const char *e = strchrnul(s, '/');
        size_t len = (size_t)(e - s);
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return ZVM_PATH_DOT_PART;
        if (len == 0)
            return ZVM_PATH_EMPTY_PART;
        if (*e == '\0')
            return ZVM_PATH_CLEAN;
        s = e + 1;
    }
}

char *zvm_trim(char *s)
{
    while (zvm_is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && zvm_is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

int zvm_remove_tree_at(int dir, const char *name)
{
    if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return -1;
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            zvm_remove_tree_at(dirfd(d), de->d_name) < 0)
            r = -1;
    closedir(d);
    if (unlinkat(dir, name, AT_REMOVEDIR) < 0)
        r = -1;
    return r;
}

int zvm_openat2(int dir, const char *path, int flags, mode_t mode, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = mode, .resolve = resolve};
    long fd;
    do
        fd = syscall(SYS_openat2, dir, path, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    return (int)fd;
}
