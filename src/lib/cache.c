/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded caches: holding an entry while it is in use, recording sizes, and
 * pruning least recently used under flock(2).  The rules are in cache.h;
 * what an entry holds and how it is made are image.c's and
 * engine/wasm/cache.c's.
 */
#include "lib/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

#define STALE_SECONDS 3600
#define SIZE_NAME_MAX 300

int zvm__cache_parse_max(const char *text, uint64_t *max)
{
    if (!(text[0] >= '0' && text[0] <= '9'))
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(text, &end, 10);
    if (*end || errno)
        return -1;
    *max = x;
    return 0;
}

int zvm__cache_max(const char *env, uint64_t dflt, uint64_t *max, zvm_error_t *err)
{
    const char *v = getenv(env);
    *max = dflt;
    if (!v || !*v)
        return 0;
    if (zvm__cache_parse_max(v, max) < 0)
        return zvm_error_set(err, EINVAL, "%s: bad size '%s' (bytes, a decimal number)", env, v);
    return 0;
}

static int flock_retry(int fd, int op)
{
    int rc;
    do
        rc = flock(fd, op);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int zvm__cache_hold(int dir, const char *name, int fd)
{
    if (flock_retry(fd, LOCK_SH) < 0)
        return -1;
    struct stat held, named;
    if (fstat(fd, &held) < 0)
        return -1;
    if (fstatat(dir, name, &named, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 1 : -1;
    if (!same_file(&held, &named))
        return 1;
    /* Recently used: best effort (a read-only cache still works). */
    futimens(fd, NULL);
    return 0;
}

static void size_name(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, ".%s.size", name);
}

void zvm__cache_note_size(int dir, const char *name, uint64_t bytes)
{
    char sname[SIZE_NAME_MAX], text[32];
    size_name(name, sname, sizeof sname);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", bytes);
    int fd = openat(dir, sname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (zvm_write_all(fd, text, (size_t)n) < 0) {
        close(fd);
        unlinkat(dir, sname, 0);
        return;
    }
    close(fd);
}

/* Bytes of dir/name and below, by blocks, never following a link. */
static uint64_t measure(int dir, const char *name, int depth)
{
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    uint64_t total = (uint64_t)st.st_blocks * 512u;
    if (!S_ISDIR(st.st_mode) || depth > 512)
        return total;
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return total;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            total += measure(dirfd(d), de->d_name, depth + 1);
    closedir(d);
    return total;
}

static uint64_t entry_size(int dir, const char *name, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode))
        return (uint64_t)st->st_blocks * 512u;
    char sname[SIZE_NAME_MAX], text[32];
    size_name(name, sname, sizeof sname);
    int fd = openat(dir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        char *end;
        if (n > 0) {
            text[n] = '\0';
            unsigned long long x = strtoull(text, &end, 10);
            if (end != text && *end == '\n')
                return x;
        }
    }
    uint64_t bytes = measure(dir, name, 0);
    zvm__cache_note_size(dir, name, bytes);
    return bytes;
}

struct entry {
    char *name;
    struct timespec used;
    uint64_t size;
};

static int by_age(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    if (x->used.tv_nsec != y->used.tv_nsec)
        return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Take dir/name away if no one holds it: locked exclusively (never
 * waiting), renamed to a trash name, unlocked, deleted.  true when gone. */
static bool evict(int dir, const char *name)
{
    cleanup_close int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || flock_retry(fd, LOCK_EX | LOCK_NB) < 0)
        return false;
    struct stat held, named;
    if (fstat(fd, &held) < 0 || fstatat(dir, name, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
        !same_file(&held, &named))
        return false;
    char trash[32];
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return false;
    snprintf(trash, sizeof trash, ".trash-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    if (renameat(dir, name, dir, trash) < 0)
        return false;
    /* Renamed while locked: whoever was waiting for a shared lock on it
     * finds the name gone and treats the entry as missing. */
    close(steal_fd(&fd));
    zvm_remove_tree_at(dir, trash);
    char sname[SIZE_NAME_MAX];
    size_name(name, sname, sizeof sname);
    unlinkat(dir, sname, 0);
    return true;
}

/* A temporary or trash left by a crash: old and unlocked. */
static void sweep(int dir, const char *name, const struct stat *st, time_t now, bool any_age)
{
    if (!any_age && st->st_mtim.tv_sec > now - STALE_SECONDS)
        return;
    cleanup_close int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && flock_retry(fd, LOCK_EX | LOCK_NB) == 0)
        zvm_remove_tree_at(dir, name);
}

static int collect(int dir, const zvm_cache_kind_t *kind, struct entry **out, size_t *n,
                   uint64_t *total, zvm_error_t *err)
{
    int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return zvm_error_errno(err, errno, "cache: cannot list the entries");
    }
    time_t now = time(NULL);
    struct entry *v = NULL;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        struct stat st;
        bool caller_temp = kind->is_temp && kind->is_temp(name);
        bool temp = starts(name, ".tmp-") || starts(name, ".trash-") || caller_temp;
        if ((!temp && !kind->is_entry(name)) || fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (temp) {
            sweep(dir, name, &st, now, caller_temp && kind->temps_locked);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            struct entry *g = realloc(v, cap * sizeof *v);
            if (!g) {
                rc = zvm_error_set(err, ENOMEM, "out of memory");
                break;
            }
            v = g;
        }
        if (!(v[*n].name = strdup(name))) {
            rc = zvm_error_set(err, ENOMEM, "out of memory");
            break;
        }
        v[*n].used = st.st_mtim;
        v[*n].size = entry_size(dir, name, &st);
        *total += v[*n].size;
        (*n)++;
    }
    closedir(d);
    *out = v;
    return rc;
}

int zvm__cache_prune(int dir, const zvm_cache_kind_t *kind, uint64_t max, zvm_error_t *err)
{
    cleanup_close int lock = openat(dir, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock < 0 || flock_retry(lock, LOCK_EX) < 0)
        return zvm_error_errno(err, errno, "cache: cannot take the lock");
    struct entry *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    int rc = collect(dir, kind, &v, &n, &total, err);
    if (rc == 0 && total > max) {
        qsort(v, n, sizeof *v, by_age);
        for (size_t i = 0; i < n && total > max; i++)
            if (evict(dir, v[i].name))
                total -= v[i].size;
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    return rc;
}
