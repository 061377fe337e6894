/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images: unpacking an archive into the content-addressed cache, the stat
 * index that spares re-hashing an unchanged archive, and finding the cache
 * directory.  The contract is in include/zvm/image.h; mounting a tree
 * read-only is left to the engines.
 *
 * Every member is checked before it touches the disk, then written with *at()
 * calls relative to the temporary tree's fd: directories are walked one
 * component at a time with O_NOFOLLOW, files are created with O_EXCL, so
 * neither a hostile name nor a symlink planted by an earlier member can send
 * a write outside the tree.  Symlink targets must be relative and may climb
 * with ".." only before their first name ("../lib/x", not "a/../x"): each
 * link then resolves inside the tree even when its path crosses other links.
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
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/lazy.h"
#include "lib/util.h"

#define ENTRY_OVERHEAD 512u     /* bytes charged per member */
#define MAX_ENTRIES 1000000u
#define MAX_NAME 4096u          /* bytes in a member name or link target */
#define MAX_DEPTH 256u          /* components in a member name */
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

/* ---- The archive's bytes, hashed as they are read --------------------- */

struct source {
    int fd;
    off_t off;
    EVP_MD_CTX *md;
    int error;                  /* errno of a failed read, else 0 */
    unsigned char buf[IO_BUF];
};

/* The next chunk into s->buf: its length, 0 at the end, -1 (s->error). */
static ssize_t source_read(struct source *s)
{
    ssize_t n;
    do
        n = pread(s->fd, s->buf, sizeof s->buf, s->off);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        s->error = errno;
        return -1;
    }
    if (n > 0 && EVP_DigestUpdate(s->md, s->buf, (size_t)n) != 1) {
        s->error = ENOMEM;
        return -1;
    }
    s->off += n;
    return n;
}

static la_ssize_t source_cb(struct archive *a, void *data, const void **buf)
{
    struct source *s = data;
    ssize_t n = source_read(s);
    if (n < 0) {
        archive_set_error(a, s->error, "%s", strerror(s->error));
        return -1;
    }
    *buf = s->buf;
    return n;
}

/* Hash what is left (all of it on a fresh source) into hex. */
static int source_finish(struct source *s, char hex[HEX_LEN + 1])
{
    ssize_t n;
    while ((n = source_read(s)) > 0)
        ;
    if (n < 0)
        return -1;
    if (md_finish(s->md, hex) < 0) {
        s->error = ENOMEM;
        return -1;
    }
    return 0;
}

/* ---- Member names and link targets ------------------------------------ */

/* A member name split into components, "." and empty ones dropped. */
struct mpath {
    char buf[MAX_NAME];
    const char *comp[MAX_DEPTH];
    size_t n;
};

typedef enum verdict {
    V_OK,
    V_EMPTY,
    V_TOO_LONG,
    V_TOO_DEEP,
    V_ABSOLUTE,
    V_CLIMBS,
    V_DOTDOT,
    V_DOTDOT_AFTER_NAME,
} verdict_t;

static const char *verdict_text(verdict_t v)
{
    switch (v) {
    case V_OK: return "is fine";
    case V_EMPTY: return "is empty";
    case V_TOO_LONG: return "is too long";
    case V_TOO_DEEP: return "is nested too deep";
    case V_ABSOLUTE: return "is absolute";
    case V_CLIMBS: return "climbs out of the image";
    case V_DOTDOT: return "has a '..' component";
    case V_DOTDOT_AFTER_NAME: return "has '..' after a name";
    }
    return "is invalid";
}

static bool is_dot(const char *c, size_t len)
{
    return len == 1 && c[0] == '.';
}

static bool is_dotdot(const char *c, size_t len)
{
    return len == 2 && c[0] == '.' && c[1] == '.';
}

static verdict_t mpath_parse(struct mpath *p, const char *name)
{
    size_t len = strlen(name);
    if (len >= MAX_NAME)
        return V_TOO_LONG;
    if (name[0] == '/')
        return V_ABSOLUTE;
    memcpy(p->buf, name, len + 1);
    p->n = 0;
    size_t depth = 0;
    bool dotdot = false;
    char *save = NULL;
    for (char *c = strtok_r(p->buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        size_t clen = strlen(c);
        if (is_dot(c, clen))
            continue;
        if (is_dotdot(c, clen)) {
            if (depth == 0)
                return V_CLIMBS;
            depth--;
            dotdot = true;
            continue;
        }
        if (p->n == MAX_DEPTH)
            return V_TOO_DEEP;
        p->comp[p->n++] = c;
        depth++;
    }
    return dotdot ? V_DOTDOT : V_OK;
}

static const char *mpath_last(const struct mpath *p)
{
    return p->comp[p->n - 1];
}

static bool mpath_equal(const struct mpath *a, const struct mpath *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->comp[i], b->comp[i]) != 0)
            return false;
    return true;
}

/* The first n components joined with '/', for messages. */
static const char *mpath_prefix(const struct mpath *p, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? "/" : "", p->comp[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* A symlink target, resolved lexically from the link's directory.  ".." may
 * only lead the target, so the climb starts from a real directory. */
static verdict_t symlink_check(const struct mpath *link, const char *target)
{
    if (!target || !*target)
        return V_EMPTY;
    if (strlen(target) >= MAX_NAME)
        return V_TOO_LONG;
    if (target[0] == '/')
        return V_ABSOLUTE;
    size_t depth = link->n - 1;
    bool named = false, late_dotdot = false;
    for (const char *c = target; *c;) {
        size_t len = strcspn(c, "/");
        if (is_dotdot(c, len)) {
            if (depth == 0)
                return V_CLIMBS;
            depth--;
            late_dotdot |= named;
        } else if (len > 0 && !is_dot(c, len)) {
            depth++;
            named = true;
        }
        c += len + (c[len] == '/');
    }
    return late_dotdot ? V_DOTDOT_AFTER_NAME : V_OK;
}

/* ---- Writing below the tree's root fd ---------------------------------- */

/* Modes inside a cached tree.  Everyone may write: the tree is only ever
 * shown read-only, or under an overlay whose writes go to a tmpfs, and the
 * program's uid inside is not the tree's owner (nobody's, when zerovm runs
 * as root), so without these bits a writable image could not be written.
 * The host is protected by the cache directory itself, which is 0700. */
#define TREE_DIR_MODE 0777
#define TREE_FILE_MODE 0666
#define TREE_EXEC_MODE 0777

/* Open (when create, first make, TREE_DIR_MODE) the directory dir/name, refusing to
 * follow a symlink.  An fd, or -1 with errno. */
static int open_dir_at(int dir, const char *name, bool create)
{
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT || !create)
        return fd;
    if (mkdirat(dir, name, 0700) < 0 && errno != EEXIST)
        return -1;
    fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && fchmod(fd, TREE_DIR_MODE) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Open the directory holding p's last component, walking down from root one
 * component at a time.  An fd, or -1 with errno and *stop the index of the
 * component that failed. */
static int open_parent(int root, const struct mpath *p, bool create, size_t *stop)
{
    int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
    for (size_t i = 0; fd >= 0 && i + 1 < p->n; i++) {
        *stop = i;
        int next = open_dir_at(fd, p->comp[i], create);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = next;
    }
    return fd;
}

/* Make room at dir/name: a file or link there goes (the later member wins),
 * and so does an empty directory.  0, or -1 with errno. */
static int clear_slot(int dir, const char *name)
{
    if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return -1;
    return unlinkat(dir, name, AT_REMOVEDIR);
}

/* Remove dir/name and everything below it, never following a symlink.  Holds
 * one fd per level: trees are at most MAX_DEPTH deep. */
static int remove_tree(int dir, const char *name)
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
            remove_tree(dirfd(d), de->d_name) < 0)
            r = -1;
    closedir(d);
    if (unlinkat(dir, name, AT_REMOVEDIR) < 0)
        r = -1;
    return r;
}

/* ---- Unpacking members ------------------------------------------------- */

struct unpack {
    const char *tar;            /* as the caller named it, for messages */
    struct archive *a;
    int root;                   /* the temporary tree */
    uint64_t max, used, entries;
    zvm_error_t *err;
    struct mpath path, target;  /* the current member and its link target */
    char buf[IO_BUF];
    struct source src;
};

static int too_big(struct unpack *u)
{
    return zvm_error_set(u->err, EFBIG, "image '%s': expands past the memory limit (%" PRIu64
                         " bytes)", u->tar, u->max);
}

static bool fits(const struct unpack *u, uint64_t n)
{
    return n <= u->max - u->used;
}

static int charge(struct unpack *u, uint64_t n)
{
    if (!fits(u, n))
        return too_big(u);
    u->used += n;
    return 0;
}

static int unreadable(struct unpack *u)
{
    const char *why = archive_error_string(u->a);
    return zvm_error_set(u->err, u->src.error ? u->src.error : EINVAL,
                         "image '%s': not a readable archive: %s", u->tar,
                         why ? why : "unknown error");
}

static int refuse(struct unpack *u, const char *name, const char *why)
{
    return zvm_error_set(u->err, EPERM, "image '%s': member '%s' %s", u->tar, name, why);
}

static int refuse_link(struct unpack *u, const char *kind, const char *name,
                       const char *target, const char *why)
{
    return zvm_error_set(u->err, EPERM, "image '%s': %s '%s' -> '%s': target %s", u->tar, kind,
                         name, target, why);
}

/* The parent directory of the current member, made as needed.  An fd, or
 * -1 with the error set. */
static int member_parent(struct unpack *u, const char *name)
{
    size_t stop = 0;
    int fd = open_parent(u->root, &u->path, true, &stop);
    if (fd >= 0)
        return fd;
    if (errno == ELOOP || errno == ENOTDIR) {
        char prefix[MAX_NAME];
        return zvm_error_set(u->err, EPERM,
                             "image '%s': member '%s' passes through '%s', which is not a directory",
                             u->tar, name, mpath_prefix(&u->path, stop + 1, prefix, sizeof prefix));
    }
    return zvm_error_errno(u->err, errno, "image '%s': member '%s'", u->tar, name);
}

/* The current member's parent, with its slot cleared for a new entry. */
static int member_slot(struct unpack *u, const char *name)
{
    int dir = member_parent(u, name);
    if (dir < 0 || clear_slot(dir, mpath_last(&u->path)) == 0)
        return dir;
    int saved = errno;
    close(dir);
    if (saved == ENOTEMPTY || saved == EEXIST)
        return refuse(u, name, "would replace a non-empty directory");
    return zvm_error_errno(u->err, saved, "image '%s': member '%s'", u->tar, name);
}

static int copy_data(struct unpack *u, int fd, const char *name)
{
    for (;;) {
        la_ssize_t n = archive_read_data(u->a, u->buf, sizeof u->buf);
        if (n == 0)
            return 0;
        if (n < 0)
            return zvm_error_set(u->err, u->src.error ? u->src.error : EINVAL,
                                 "image '%s': member '%s' is truncated or corrupt: %s", u->tar,
                                 name, archive_error_string(u->a));
        if (charge(u, (uint64_t)n) < 0)
            return -1;
        int rc = zvm_write_all(fd, u->buf, (size_t)n);
        if (rc < 0)
            return zvm_error_errno(u->err, -rc, "image '%s': member '%s'", u->tar, name);
    }
}

static int set_meta(int fd, struct archive_entry *e)
{
    if (fchmod(fd, archive_entry_perm(e) & 0111 ? TREE_EXEC_MODE : TREE_FILE_MODE) < 0)
        return -1;
    if (!archive_entry_mtime_is_set(e))
        return 0;
    struct timespec ts[2] = {
        {.tv_nsec = UTIME_OMIT},
        {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
    };
    if (ts[1].tv_nsec < 0 || ts[1].tv_nsec >= 1000000000L)
        ts[1].tv_nsec = 0;
    return futimens(fd, ts);
}

static int put_file(struct unpack *u, struct archive_entry *e, const char *name)
{
    /* The header's size is a hint to stop early; the bytes are counted. */
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
        !fits(u, (uint64_t)archive_entry_size(e)))
        return too_big(u);
    cleanup_close int dir = member_slot(u, name);
    if (dir < 0)
        return -1;
    cleanup_close int fd = openat(dir, mpath_last(&u->path),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return zvm_error_errno(u->err, errno, "image '%s': member '%s'", u->tar, name);
    if (copy_data(u, fd, name) < 0)
        return -1;
    if (set_meta(fd, e) < 0)
        return zvm_error_errno(u->err, errno, "image '%s': member '%s'", u->tar, name);
    return 0;
}

static int put_dir(struct unpack *u, const char *name)
{
    cleanup_close int dir = member_parent(u, name);
    if (dir < 0)
        return -1;
    const char *last = mpath_last(&u->path);
    struct stat st;
    if (fstatat(dir, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
        unlinkat(dir, last, 0) < 0)
        return zvm_error_errno(u->err, errno, "image '%s': member '%s'", u->tar, name);
    cleanup_close int fd = open_dir_at(dir, last, true);
    if (fd < 0 || fchmod(fd, TREE_DIR_MODE) < 0)
        return zvm_error_errno(u->err, errno, "image '%s': member '%s'", u->tar, name);
    return 0;
}

static int put_symlink(struct unpack *u, struct archive_entry *e, const char *name)
{
    const char *target = archive_entry_symlink(e);
    verdict_t v = symlink_check(&u->path, target);
    if (v != V_OK)
        return refuse_link(u, "symlink", name, target ? target : "", verdict_text(v));
    cleanup_close int dir = member_slot(u, name);
    if (dir < 0)
        return -1;
    if (symlinkat(target, dir, mpath_last(&u->path)) < 0)
        return zvm_error_errno(u->err, errno, "image '%s': member '%s'", u->tar, name);
    return 0;
}

/* A hard link's target: an earlier member, found without following links. */
static int find_link_target(struct unpack *u, const char *name, const char *target)
{
    struct mpath *t = &u->target;
    verdict_t v = mpath_parse(t, target);
    if (v == V_OK && t->n == 0)
        v = V_EMPTY;
    if (v != V_OK)
        return refuse_link(u, "hardlink", name, target, verdict_text(v));
    size_t stop = 0;
    int dir = open_parent(u->root, t, false, &stop);
    struct stat st;
    int saved = 0;
    if (dir < 0 || fstatat(dir, mpath_last(t), &st, AT_SYMLINK_NOFOLLOW) < 0)
        saved = errno;
    else if (S_ISDIR(st.st_mode))
        saved = EISDIR;
    if (saved == 0)
        return dir;
    if (dir >= 0)
        close(dir);
    if (saved == EISDIR)
        return refuse_link(u, "hardlink", name, target, "is a directory");
    if (saved == ENOENT)
        return refuse_link(u, "hardlink", name, target, "is not in the image");
    if (saved == ELOOP || saved == ENOTDIR)
        return refuse_link(u, "hardlink", name, target, "passes through a non-directory");
    return zvm_error_errno(u->err, saved, "image '%s': hardlink '%s' -> '%s'", u->tar, name,
                           target);
}

static int put_hardlink(struct unpack *u, const char *name, const char *target)
{
    cleanup_close int tdir = find_link_target(u, name, target);
    if (tdir < 0)
        return -1;
    if (mpath_equal(&u->path, &u->target))
        return 0;
    cleanup_close int dir = member_slot(u, name);
    if (dir < 0)
        return -1;
    if (linkat(tdir, mpath_last(&u->target), dir, mpath_last(&u->path), 0) < 0)
        return zvm_error_errno(u->err, errno, "image '%s': hardlink '%s' -> '%s'", u->tar, name,
                               target);
    return 0;
}

/* Count the member and its declared data against the limits. */
static int charge_entry(struct unpack *u, struct archive_entry *e, bool regular)
{
    if (++u->entries > MAX_ENTRIES)
        return zvm_error_set(u->err, EFBIG, "image '%s': has more than %u members", u->tar,
                             MAX_ENTRIES);
    if (charge(u, ENTRY_OVERHEAD) < 0)
        return -1;
    /* Data of other members is skipped, not written; charge it anyway so a
     * compressed bomb behind a directory header cannot spin us for long. */
    if (!regular && archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
        return charge(u, (uint64_t)archive_entry_size(e));
    return 0;
}

static int put_entry(struct unpack *u, struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    const char *hard = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (!name)
        return zvm_error_set(u->err, EPERM, "image '%s': member with an unreadable name", u->tar);
    if (charge_entry(u, e, !hard && type == AE_IFREG) < 0)
        return -1;
    verdict_t v = mpath_parse(&u->path, name);
    if (v != V_OK)
        return refuse(u, name, verdict_text(v));
    if (u->path.n == 0)
        return type == AE_IFDIR && !hard ? 0 : refuse(u, name, "names the image root");
    if (hard)
        return put_hardlink(u, name, hard);
    switch (type) {
    case AE_IFREG: return put_file(u, e, name);
    case AE_IFDIR: return put_dir(u, name);
    case AE_IFLNK: return put_symlink(u, e, name);
    case AE_IFCHR: return refuse(u, name, "is a character device");
    case AE_IFBLK: return refuse(u, name, "is a block device");
    case AE_IFIFO: return refuse(u, name, "is a fifo");
    case AE_IFSOCK: return refuse(u, name, "is a socket");
    default: return refuse(u, name, "has an unknown type");
    }
}

/* Every filter libarchive decodes in-process (no helper programs), and the
 * formats of archive_read_support_format_all() but mtree: a text listing
 * whose entries name host files, which also takes stray text for an archive.
 * Kept in format_all()'s order: with iso9660 bidding before tar, libarchive
 * 3.6 reports a tar cut inside a header as a clean end. */
static void support_formats(struct archive *a)
{
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_compress(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_lz4(a);
    archive_read_support_filter_lzip(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_ar(a);
    archive_read_support_format_cpio(a);
    archive_read_support_format_lha(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_xar(a);
    archive_read_support_format_warc(a);
    archive_read_support_format_7zip(a);
    archive_read_support_format_cab(a);
    archive_read_support_format_rar(a);
    archive_read_support_format_rar5(a);
    archive_read_support_format_iso9660(a);
    archive_read_support_format_zip(a);
}

static int extract_entries(struct unpack *u)
{
    for (;;) {
        struct archive_entry *e;
        int rc = archive_read_next_header(u->a, &e);
        if (rc == ARCHIVE_EOF)
            return 0;
        if (rc < ARCHIVE_WARN)
            return unreadable(u);
        if (put_entry(u, e) < 0)
            return -1;
    }
}

static int extract(struct unpack *u)
{
    u->a = archive_read_new();
    if (!u->a)
        return zvm_error_set(u->err, ENOMEM, "out of memory");
    support_formats(u->a);
    int r = archive_read_open(u->a, &u->src, NULL, source_cb, NULL) == ARCHIVE_OK
                ? extract_entries(u)
                : unreadable(u);
    archive_read_free(u->a);
    u->a = NULL;
    return r;
}

/* Unpack the archive open at fd into images/tmp, hashing it on the way into
 * hex (the bytes actually unpacked, whatever an earlier pass saw). */
static int fill_tree(const char *tar, int fd, int images, const char *tmp, uint64_t max,
                     char hex[HEX_LEN + 1], zvm_error_t *err)
{
    struct unpack *u = calloc(1, sizeof *u);
    if (!u)
        return zvm_error_set(err, ENOMEM, "out of memory");
    *u = (struct unpack){.tar = tar, .max = max, .err = err, .src = {.fd = fd}};
    int r = -1;
    u->root = openat(images, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (u->root < 0 || fchmod(u->root, TREE_DIR_MODE) < 0)
        zvm_error_errno(err, errno, "image '%s': cannot open the temporary tree", tar);
    else if (md_start(&u->src.md) < 0)
        zvm_error_set(err, ENOMEM, "out of memory");
    else if (extract(u) < 0)
        ; /* the error is set */
    else if (source_finish(&u->src, hex) < 0)
        zvm_error_errno(err, u->src.error, "image '%s': cannot read", tar);
    else
        r = 0;
    if (u->root >= 0)
        close(u->root);
    EVP_MD_CTX_free(u->src.md);
    free(u);
    return r;
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

/* Move a complete tree into place; a concurrent run that got there first
 * wins, and ours goes.  Unpacked by root, the tree is given to nobody, the
 * id programs run as when zerovm runs as root (so a writable image can be
 * copied up by the overlay); the 0700 cache keeps everyone else out. */
static int publish(int images, const char *tmp, const char *hex, const char *tar,
                   zvm_error_t *err)
{
    if (geteuid() == 0 && chown_tree(images, tmp, ZVM_IMAGE_ROOT_OWNER, ZVM_IMAGE_ROOT_OWNER, 0) < 0) {
        int saved = errno;
        remove_tree(images, tmp);
        return zvm_error_errno(err, saved, "image '%s': cannot give the tree to uid %u", tar,
                               ZVM_IMAGE_ROOT_OWNER);
    }
    if (renameat(images, tmp, images, hex) == 0)
        return 0;
    int saved = errno;
    remove_tree(images, tmp);
    if (saved == EEXIST || saved == ENOTEMPTY)
        return 0;
    return zvm_error_errno(err, saved, "image '%s': cannot move the tree into place", tar);
}

static int unpack_tree(const char *tar, int fd, int images, uint64_t max, char hex[HEX_LEN + 1],
                       zvm_error_t *err)
{
    char tmp[TMP_NAME_SIZE];
    if (make_temp_dir(images, tmp) < 0)
        return zvm_error_errno(err, errno, "image '%s': cannot make a temporary directory", tar);
    if (fill_tree(tar, fd, images, tmp, max, hex, err) < 0) {
        remove_tree(images, tmp);
        return -1;
    }
    return publish(images, tmp, hex, tar, err);
}

static bool tree_exists(int images, const char *hex)
{
    struct stat st;
    return fstatat(images, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int hash_file(const char *tar, int fd, char hex[HEX_LEN + 1], zvm_error_t *err)
{
    struct source *s = calloc(1, sizeof *s);
    if (!s)
        return zvm_error_set(err, ENOMEM, "out of memory");
    s->fd = fd;
    int r = 0;
    if (md_start(&s->md) < 0)
        r = zvm_error_set(err, ENOMEM, "out of memory");
    else if (source_finish(s, hex) < 0)
        r = zvm_error_errno(err, s->error, "image '%s': cannot read", tar);
    EVP_MD_CTX_free(s->md);
    free(s);
    return r;
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

int zvm_image_unpack(const char *tar_path, const char *cache_dir, uint64_t max_bytes,
                     char **out_dir, zvm_error_t *err)
{
    struct stat st;
    char key[HEX_LEN + 1], hex[HEX_LEN + 1];
    *out_dir = NULL;
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
    if (!index_lookup(index, key, &st, hex) || !tree_exists(images, hex)) {
        if (hash_file(tar_path, fd, hex, err) < 0)
            return -1;
        if (!tree_exists(images, hex) &&
            (zvm__archive_load(err) < 0 || unpack_tree(tar_path, fd, images, max_bytes, hex, err) < 0))
            return -1;
        index_store(index, key, &st, hex);
    }
    if (asprintf(out_dir, "%s/images/%s", cache_dir, hex) < 0) {
        *out_dir = NULL;
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
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
