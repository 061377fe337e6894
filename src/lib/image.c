/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images: unpacking an archive into the content-addressed cache, the stat
 * index that spares re-hashing an unchanged archive, and finding the cache
 * directory.  The contract is in include/zvm/image.h; mounting a tree
 * read-only is left to the engines.
 *
 * Members are checked and written by the archive module (zvm/tar.h:
 * openat2 beneath the temporary tree, links never followed); this file owns
 * where the tree goes and when it becomes visible.
 */
#include "zvm/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zvm/tar.h"
#include "lib/cache.h"
#include "lib/lazy.h"
#include "lib/util.h"

#define HEX_LEN 64              /* SHA-256 in hex */
#define IO_BUF (64u * 1024u)

/* ---- SHA-256 ---------------------------------------------------------- */

static void md_freep(EVP_MD_CTX **md)
{
    EVP_MD_CTX_free(*md);
}
#define cleanup_md __attribute__((cleanup(md_freep)))

static int md_start(EVP_MD_CTX **md)
{
    *md = EVP_MD_CTX_new();
    return *md && EVP_DigestInit_ex(*md, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

static int md_finish(EVP_MD_CTX *md, char hex[HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(md, d, &n) != 1 || n * 2 != HEX_LEN)
        return -1;
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[HEX_LEN] = '\0';
    return 0;
}

static int sha256_str(const char *s, char hex[HEX_LEN + 1])
{
    cleanup_md EVP_MD_CTX *md = NULL;
    if (md_start(&md) < 0 || EVP_DigestUpdate(md, s, strlen(s)) != 1)
        return -1;
    return md_finish(md, hex);
}

static int hash_tap(void *ctx, const void *buf, size_t len)
{
    return EVP_DigestUpdate(ctx, buf, len) == 1 ? 0 : -1;
}

/* Hash the whole file at fd into hex, without libarchive. */
static int hash_file(const char *tar, int fd, char hex[HEX_LEN + 1], zvm_error_t *err)
{
    cleanup_md EVP_MD_CTX *md = NULL;
    cleanup_free unsigned char *buf = malloc(IO_BUF);
    if (!buf || md_start(&md) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    for (off_t off = 0;;) {
        ssize_t n = pread(fd, buf, IO_BUF, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zvm_error_errno(err, errno, "image '%s': cannot read", tar);
        if (n == 0)
            break;
        if (hash_tap(md, buf, (size_t)n) < 0)
            return zvm_error_set(err, ENOMEM, "out of memory");
        off += n;
    }
    return md_finish(md, hex) < 0 ? zvm_error_set(err, ENOMEM, "out of memory") : 0;
}

/* ---- Unpacking ------------------------------------------------------------ */

/* Unpack the archive open at fd into the tree at root (zvm_tar_unpack:
 * members checked, written beneath the tree), hashing it on the way into
 * hex: the bytes actually unpacked, whatever an earlier pass saw.  *used:
 * the bytes it expanded to. */
static int fill_tree(const char *tar, int fd, int root, uint64_t max, char hex[HEX_LEN + 1],
                     uint64_t *used, zvm_error_t *err)
{
    cleanup_md EVP_MD_CTX *md = NULL;
    if (md_start(&md) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    cleanup_free char *label = NULL;
    if (asprintf(&label, "image '%s'", tar) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    zvm_tar_limits_t lim = {.max_bytes = max, .max_what = "the memory limit"};
    zvm_tar_t *t = zvm_tar_open(fd, label, &lim, hash_tap, md, err);
    if (!t)
        return -1;
    int rc = zvm_tar_unpack(t, root, err) < 0 || zvm_tar_drain(t, err) < 0 ? -1 : 0;
    *used = zvm_tar_used(t);
    zvm_tar_free(t);
    if (rc == 0 && md_finish(md, hex) < 0)
        rc = zvm_error_set(err, ENOMEM, "out of memory");
    return rc;
}

/* ---- The cache --------------------------------------------------------- */

#define TMP_NAME_SIZE 16

/* A fresh ".tmp-" name with 8 random characters, as mkdtemp() would make. */
static int tmp_name(char name[TMP_NAME_SIZE])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
    memcpy(name, ".tmp-", 5);
    for (size_t i = 0; i < sizeof rnd; i++)
        name[5 + i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
    name[5 + sizeof rnd] = '\0';
    return 0;
}

/* Make images/.tmp-XXXXXXXX (0700 until complete), relative to the images
 * fd rather than by path, as mkdtemp() would. */
static int make_temp_dir(int images, char tmp[TMP_NAME_SIZE])
{
    for (int tries = 0; tries < 100; tries++) {
        if (tmp_name(tmp) < 0)
            return -1;
        if (mkdirat(images, tmp, 0700) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

/* Give dir/name and everything below it to uid:gid, never following a
 * symbolic link.  0, or -1 with errno. */
static int chown_tree(int dir, const char *name, uid_t uid, gid_t gid, int depth)
{
    if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOTDIR || errno == ELOOP ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = depth > 512 ? (errno = ELOOP, -1) : 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rc = chown_tree(dirfd(d), e->d_name, uid, gid, depth + 1);
    closedir(d);
    return rc;
}

static bool is_tree_name(const char *name)
{
    return strlen(name) == HEX_LEN && strspn(name, "0123456789abcdef") == HEX_LEN;
}

static const zvm_cache_kind_t trees_kind = {.is_entry = is_tree_name};

/* The tree images/hex, held (cache.h): an fd to keep while it is in use,
 * or -1 when it is not there (or was just pruned). */
static int use_tree(int images, const char *hex)
{
    int fd = openat(images, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && zvm__cache_hold(images, hex, fd) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Move a complete tree into place; a concurrent run that got there first
 * wins, and ours goes.  Unpacked by root, the tree is given to nobody, the
 * id programs run as when zerovm runs as root (so a writable image can be
 * copied up by the overlay); the 0700 cache keeps everyone else out.
 * *root (held since it was made) becomes the hold on the published tree,
 * or on the winner's. */
static int publish(int images, const char *tmp, const char *hex, const char *tar, int *root,
                   zvm_error_t *err)
{
    if (geteuid() == 0 && chown_tree(images, tmp, ZVM_IMAGE_ROOT_OWNER, ZVM_IMAGE_ROOT_OWNER, 0) < 0) {
        int saved = errno;
        zvm_remove_tree_at(images, tmp);
        return zvm_error_errno(err, saved, "image '%s': cannot give the tree to uid %u", tar,
                               ZVM_IMAGE_ROOT_OWNER);
    }
    /* Another run's tree in place is used instead of ours; one pruned
     * between our rename and our hold frees the name for another try. */
    int saved = 0;
    for (int tries = 0; tries < 8; tries++) {
        if (renameat(images, tmp, images, hex) == 0) {
            futimens(*root, NULL);
            return 0;
        }
        saved = errno;
        if (saved != EEXIST && saved != ENOTEMPTY)
            break;
        int other = use_tree(images, hex);
        if (other >= 0) {
            zvm_remove_tree_at(images, tmp);
            close(steal_fd(root));
            *root = other;
            return 0;
        }
    }
    zvm_remove_tree_at(images, tmp);
    close(steal_fd(root));
    return zvm_error_errno(err, saved, "image '%s': cannot move the tree into place", tar);
}

/* Unpack into a fresh temporary tree, held from the start (so a pruner
 * never takes it for a crash's leftover), and publish it; *hold receives
 * the held tree. */
static int unpack_tree(const char *tar, int fd, int images, uint64_t max, char hex[HEX_LEN + 1],
                       int *hold, zvm_error_t *err)
{
    char tmp[TMP_NAME_SIZE];
    if (make_temp_dir(images, tmp) < 0)
        return zvm_error_errno(err, errno, "image '%s': cannot make a temporary directory", tar);
    cleanup_close int root = openat(images, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    uint64_t used = 0;
    if (root < 0 || flock(root, LOCK_SH) < 0 || fchmod(root, 0777) < 0) {
        zvm_error_errno(err, errno, "image '%s': cannot open the temporary tree", tar);
        zvm_remove_tree_at(images, tmp);
        return -1;
    }
    if (fill_tree(tar, fd, root, max, hex, &used, err) < 0) {
        zvm_remove_tree_at(images, tmp);
        return -1;
    }
    zvm__cache_note_size(images, hex, used);
    if (publish(images, tmp, hex, tar, &root, err) < 0)
        return -1;
    *hold = steal_fd(&root);
    return 0;
}

/* The index line for an archive's stat, without the hash. */
static void index_stat_line(const struct stat *st, char *buf, size_t size)
{
    snprintf(buf, size, "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %ld %" PRId64 " %ld ",
             (uint64_t)st->st_dev, (uint64_t)st->st_ino, (int64_t)st->st_size,
             (int64_t)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec, (int64_t)st->st_ctim.tv_sec,
             (long)st->st_ctim.tv_nsec);
}

/* The hash recorded for an archive at this stat, if any. */
static bool index_lookup(int index, const char *key, const struct stat *st, char hex[HEX_LEN + 1])
{
    cleanup_close int fd = openat(index, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    char line[256], want[192];
    ssize_t n = read(fd, line, sizeof line - 1);
    if (n <= 0)
        return false;
    line[n] = '\0';
    index_stat_line(st, want, sizeof want);
    size_t len = strlen(want);
    const char *h = line + len;
    if (strncmp(line, want, len) != 0 || strspn(h, "0123456789abcdef") != HEX_LEN ||
        strcmp(h + HEX_LEN, "\n") != 0)
        return false;
    memcpy(hex, h, HEX_LEN);
    hex[HEX_LEN] = '\0';
    return true;
}

/* Record the archive's hash under its stat, atomically.  Best effort: a
 * missing entry only costs a hash next time. */
static void index_store(int index, const char *key, const struct stat *st, const char *hex)
{
    char line[256], tmp[TMP_NAME_SIZE];
    index_stat_line(st, line, sizeof line);
    size_t len = strlen(line);
    snprintf(line + len, sizeof line - len, "%s\n", hex);
    if (tmp_name(tmp) < 0)
        return;
    int fd = openat(index, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    int rc = zvm_write_all(fd, line, strlen(line));
    if (close(fd) < 0 || rc < 0 || renameat(index, tmp, index, key) < 0)
        unlinkat(index, tmp, 0);
}

/* cache/name, made 0755 when missing. */
static int open_cache_subdir(int cache, const char *name)
{
    if (mkdirat(cache, name, 0755) < 0 && errno != EEXIST)
        return -1;
    return openat(cache, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int open_archive(const char *tar, struct stat *st, zvm_error_t *err)
{
    int fd = zvm_open_retry(tar, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
    if (fd < 0)
        return zvm_error_errno(err, errno, "image '%s': cannot open", tar);
    const char *bad = NULL;
    int code = EINVAL;
    if (fstat(fd, st) < 0) {
        code = errno;
        bad = strerror(code);
    } else if (!S_ISREG(st->st_mode)) {
        bad = "not a regular file";
    } else if (st->st_size == 0) {
        bad = "not a readable archive: empty file";
    }
    if (!bad)
        return fd;
    close(fd);
    return zvm_error_set(err, code, "image '%s': %s", tar, bad);
}

static int index_key(const char *tar, char key[HEX_LEN + 1], zvm_error_t *err)
{
    cleanup_free char *real = realpath(tar, NULL);
    if (!real)
        return zvm_error_errno(err, errno, "image '%s'", tar);
    if (sha256_str(real, key) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    return 0;
}

static bool is_index_name(const char *name)
{
    return is_tree_name(name);
}

static const zvm_cache_kind_t index_kind = {.is_entry = is_index_name};

/* Index lines are tiny; a miss only costs hashing the archive again. */
#define INDEX_MAX (16u << 20)

int zvm_image_unpack(const char *tar_path, const char *cache_dir, uint64_t max_bytes,
                     char **out_dir, int *hold, zvm_error_t *err)
{
    struct stat st;
    char key[HEX_LEN + 1], hex[HEX_LEN + 1];
    uint64_t bound;
    *out_dir = NULL;
    if (hold)
        *hold = -1;
    if (zvm__cache_max(ZVM_IMAGE_CACHE_MAX_ENV, ZVM_IMAGE_CACHE_MAX_DEFAULT, &bound, err) < 0)
        return -1;
    if (zvm__crypto_load(err) < 0)
        return zvm_error_prefix(err, "image '%s'", tar_path);
    cleanup_close int fd = open_archive(tar_path, &st, err);
    if (fd < 0 || index_key(tar_path, key, err) < 0)
        return -1;
    cleanup_close int cache = zvm_open_retry(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (cache < 0)
        return zvm_error_errno(err, errno, "cache dir '%s'", cache_dir);
    cleanup_close int images = open_cache_subdir(cache, "images");
    cleanup_close int index = open_cache_subdir(cache, "index");
    if (images < 0 || index < 0)
        return zvm_error_errno(err, errno, "cache dir '%s': cannot open '%s'", cache_dir,
                               images < 0 ? "images" : "index");
    cleanup_close int held = -1;
    if (!index_lookup(index, key, &st, hex) || (held = use_tree(images, hex)) < 0) {
        if (hash_file(tar_path, fd, hex, err) < 0)
            return -1;
        if ((held = use_tree(images, hex)) < 0) {
            if (zvm__archive_load(err) < 0 ||
                unpack_tree(tar_path, fd, images, max_bytes, hex, &held, err) < 0)
                return -1;
            /* A new tree: bring the cache back under its bound.  Best
             * effort: an entry that cannot go now goes next time. */
            zvm_error_t ignored = {0};
            zvm__cache_prune(images, &trees_kind, bound, &ignored);
            zvm__cache_prune(index, &index_kind, INDEX_MAX, &ignored);
        }
        index_store(index, key, &st, hex);
    }
    if (asprintf(out_dir, "%s/images/%s", cache_dir, hex) < 0) {
        *out_dir = NULL;
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    if (hold)
        *hold = steal_fd(&held);
    return 0;
}

/* ---- Finding the cache directory ---------------------------------------- */

/* mkdir -p with mode for every directory made. */
static int mkdir_p(const char *path, mode_t mode)
{
    cleanup_free char *buf = strdup(path);
    if (!buf)
        return -1;
    for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* Make the cache dir and check it is ours alone.  In the shared /tmp, make
 * only the last component and refuse a symlink planted there. */
static int prepare_cache_dir(const char *path, bool shared, zvm_error_t *err)
{
    struct stat st;
    int rc = shared ? mkdir(path, 0700) : mkdir_p(path, 0700);
    if (rc < 0 && errno != EEXIST)
        return zvm_error_errno(err, errno, "cache dir '%s': cannot create", path);
    if ((shared ? lstat(path, &st) : stat(path, &st)) < 0)
        return zvm_error_errno(err, errno, "cache dir '%s'", path);
    if (S_ISLNK(st.st_mode))
        return zvm_error_set(err, EPERM, "cache dir '%s' is a symlink", path);
    if (!S_ISDIR(st.st_mode))
        return zvm_error_set(err, ENOTDIR, "cache dir '%s' is not a directory", path);
    if (st.st_uid != geteuid())
        return zvm_error_set(err, EPERM, "cache dir '%s' is owned by uid %u, not by the caller",
                             path, (unsigned)st.st_uid);
    /* Someone else may have planted trees in a writable one: refuse it. */
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return zvm_error_set(err, EPERM, "cache dir '%s' is writable by group or others", path);
    /* Trees inside are writable by all (see TREE_DIR_MODE): nobody else may
     * even enter the cache. */
    if ((st.st_mode & 0077) && chmod(path, 0700) < 0)
        return zvm_error_errno(err, errno, "cache dir '%s': cannot make it private (0700)", path);
    return 0;
}

char *zvm_cache_dir(zvm_error_t *err)
{
    const char *env;
    char *path = NULL;
    bool explicit = false;
    int n = 0;
    if ((env = getenv("ZEROVM_CACHE_DIR")) && *env) {
        n = asprintf(&path, "%s", env);
        explicit = true;
    } else if ((env = getenv("XDG_CACHE_HOME")) && env[0] == '/') {
        n = asprintf(&path, "%s/zerovm", env);
    } else if ((env = getenv("HOME")) && *env) {
        n = asprintf(&path, "%s/.cache/zerovm", env);
    }
    if (n < 0) {
        zvm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    if (path) {
        if (prepare_cache_dir(path, false, err) == 0)
            return path;
        free(path);
        path = NULL;
        /* A service user's HOME is often not writable (/nonexistent):
         * use the per-user directory in /tmp instead.  An explicitly named
         * cache that does not work is an error. */
        if (explicit)
            return NULL;
    }
    if (asprintf(&path, "/tmp/zerovm-%u", (unsigned)geteuid()) < 0) {
        zvm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    if (prepare_cache_dir(path, true, err) < 0) {
        free(path);
        return NULL;
    }
    return path;
}
