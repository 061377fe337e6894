/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The archive reader and unpacker (contract in include/zvm/tar.h): reading
 * members through libarchive, checking each one before anyone sees it, and
 * writing them below a directory fd with openat2() so that the kernel, not
 * only our lexical checks, keeps every write inside.  The cache around an
 * unpacked tree is image.c's.
 */
#include "zvm/tar.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/lazy.h"
#include "lib/util.h"

#define MAX_NAME 4096u          /* bytes in a member name or link target */
#define MAX_DEPTH 256u          /* components in a member name */
#define IO_BUF (64u * 1024u)

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

/* The first n components joined with '/' (never longer than the name). */
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

/* A symlink target, resolved lexically from the directory of the link at
 * `link`.  ".." may only lead the target, so the climb starts from a real
 * directory. */
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

/* ---- The reader ---------------------------------------------------------- */

struct zvm_tar {
    char *label;
    struct archive *a;
    int fd;
    off_t off;
    zvm_tar_tap_fn tap;
    void *tap_ctx;
    int src_error;              /* errno of a failed read, else 0 */
    zvm_tar_limits_t lim;
    uint64_t used, members;
    uint64_t declared, data;    /* the current member's declared and read bytes */
    struct mpath path, target;  /* the current member and its hard link target */
    char joined[MAX_NAME];
    zvm_tar_member_t m;
    unsigned char buf[IO_BUF];
};

/* The next chunk of the file into t->buf: its length, 0 at the end, -1. */
static ssize_t source_read(zvm_tar_t *t)
{
    ssize_t n;
    do
        n = pread(t->fd, t->buf, sizeof t->buf, t->off);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        t->src_error = errno;
        return -1;
    }
    if (n > 0 && t->tap && t->tap(t->tap_ctx, t->buf, (size_t)n) < 0) {
        t->src_error = ENOMEM;
        return -1;
    }
    t->off += n;
    return n;
}

static la_ssize_t source_cb(struct archive *a, void *data, const void **buf)
{
    zvm_tar_t *t = data;
    ssize_t n = source_read(t);
    if (n < 0) {
        archive_set_error(a, t->src_error, "%s", strerror(t->src_error));
        return -1;
    }
    *buf = t->buf;
    return n;
}

static int unreadable(zvm_tar_t *t, zvm_error_t *err)
{
    const char *why = archive_error_string(t->a);
    return zvm_error_set(err, t->src_error ? t->src_error : EINVAL,
                         "%s: not a readable archive: %s", t->label, why ? why : "unknown error");
}

static int refuse(zvm_tar_t *t, const char *name, const char *why, zvm_error_t *err)
{
    return zvm_error_set(err, EPERM, "%s: member '%s' %s", t->label, name, why);
}

static int refuse_link(zvm_tar_t *t, const char *kind, const char *name, const char *target,
                       const char *why, zvm_error_t *err)
{
    return zvm_error_set(err, EPERM, "%s: %s '%s' -> '%s': target %s", t->label, kind, name,
                         target, why);
}

static int too_big(zvm_tar_t *t, zvm_error_t *err)
{
    return zvm_error_set(err, EFBIG, "%s: expands past %s (%" PRIu64 " bytes)", t->label,
                         t->lim.max_what ? t->lim.max_what : "the limit", t->lim.max_bytes);
}

static int charge(zvm_tar_t *t, uint64_t n, zvm_error_t *err)
{
    if (n > t->lim.max_bytes - t->used)
        return too_big(t, err);
    t->used += n;
    return 0;
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

zvm_tar_t *zvm_tar_open(int fd, const char *label, const zvm_tar_limits_t *limits,
                        zvm_tar_tap_fn tap, void *tap_ctx, zvm_error_t *err)
{
    if (zvm__archive_load(err) < 0) {
        zvm_error_prefix(err, "%s", label);
        return NULL;
    }
    zvm_tar_t *t = calloc(1, sizeof *t);
    if (!t || !(t->label = strdup(label)) || !(t->a = archive_read_new())) {
        zvm_tar_free(t);
        zvm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    t->fd = fd;
    t->tap = tap;
    t->tap_ctx = tap_ctx;
    t->lim = *limits;
    if (!t->lim.max_members)
        t->lim.max_members = ZVM_TAR_MAX_MEMBERS;
    support_formats(t->a);
    if (archive_read_open(t->a, t, NULL, source_cb, NULL) != ARCHIVE_OK) {
        unreadable(t, err);
        zvm_tar_free(t);
        return NULL;
    }
    return t;
}

uint64_t zvm_tar_used(const zvm_tar_t *t)
{
    return t->used;
}

void zvm_tar_free(zvm_tar_t *t)
{
    if (!t)
        return;
    if (t->a)
        archive_read_free(t->a);
    free(t->label);
    free(t);
}

/* Check the entry against the rules of tar.h and describe it in t->m. */
static int check_entry(zvm_tar_t *t, struct archive_entry *e, zvm_error_t *err)
{
    const char *name = archive_entry_pathname(e);
    const char *hard = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (!name)
        return zvm_error_set(err, EPERM, "%s: member with an unreadable name", t->label);
    if (++t->members > t->lim.max_members)
        return zvm_error_set(err, EFBIG, "%s: has more than %" PRIu64 " members (at '%s')",
                             t->label, t->lim.max_members, name);
    /* Data of members nobody reads is skipped, not written; charge it anyway
     * so a compressed bomb behind a directory header cannot spin us long. */
    t->declared = archive_entry_size_is_set(e) && archive_entry_size(e) > 0
                      ? (uint64_t)archive_entry_size(e)
                      : 0;
    t->data = 0;
    if (charge(t, ZVM_TAR_MEMBER_OVERHEAD, err) < 0 || charge(t, t->declared, err) < 0)
        return -1;
    verdict_t v = mpath_parse(&t->path, name);
    if (v != V_OK)
        return refuse(t, name, verdict_text(v), err);
    t->m = (zvm_tar_member_t){
        .name = name,
        .path = mpath_prefix(&t->path, t->path.n, t->joined, sizeof t->joined),
        .size = t->declared,
        .exec = (archive_entry_perm(e) & 0111) != 0,
        .has_mtime = archive_entry_mtime_is_set(e) != 0,
    };
    if (t->m.has_mtime) {
        t->m.mtime.tv_sec = archive_entry_mtime(e);
        long ns = archive_entry_mtime_nsec(e);
        t->m.mtime.tv_nsec = ns >= 0 && ns < 1000000000L ? ns : 0;
    }
    if (t->path.n == 0) {
        if (type != AE_IFDIR || hard)
            return refuse(t, name, "names the image root", err);
        t->m.kind = ZVM_TAR_DIR;
        return 0;
    }
    if (hard) {
        v = mpath_parse(&t->target, hard);
        if (v == V_OK && t->target.n == 0)
            v = V_EMPTY;
        if (v != V_OK)
            return refuse_link(t, "hardlink", name, hard, verdict_text(v), err);
        t->m.kind = ZVM_TAR_HARDLINK;
        t->m.target = hard;
        return 0;
    }
    switch (type) {
    case AE_IFREG:
        t->m.kind = ZVM_TAR_FILE;
        return 0;
    case AE_IFDIR:
        t->m.kind = ZVM_TAR_DIR;
        return 0;
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        v = symlink_check(&t->path, target);
        if (v != V_OK)
            return refuse_link(t, "symlink", name, target ? target : "", verdict_text(v), err);
        t->m.kind = ZVM_TAR_SYMLINK;
        t->m.target = target;
        return 0;
    }
    case AE_IFCHR: return refuse(t, name, "is a character device", err);
    case AE_IFBLK: return refuse(t, name, "is a block device", err);
    case AE_IFIFO: return refuse(t, name, "is a fifo", err);
    case AE_IFSOCK: return refuse(t, name, "is a socket", err);
    default: return refuse(t, name, "has an unknown type", err);
    }
}

int zvm_tar_next(zvm_tar_t *t, zvm_tar_member_t *m, zvm_error_t *err)
{
    struct archive_entry *e;
    int rc = archive_read_next_header(t->a, &e);
    if (rc == ARCHIVE_EOF)
        return 0;
    if (rc < ARCHIVE_WARN)
        return unreadable(t, err);
    if (check_entry(t, e, err) < 0)
        return -1;
    *m = t->m;
    return 1;
}

long zvm_tar_read(zvm_tar_t *t, void *buf, size_t size, zvm_error_t *err)
{
    la_ssize_t n = archive_read_data(t->a, buf, size);
    if (n < 0)
        return zvm_error_set(err, t->src_error ? t->src_error : EINVAL,
                             "%s: member '%s' is truncated or corrupt: %s", t->label, t->m.name,
                             archive_error_string(t->a));
    uint64_t before = t->data;
    t->data += (uint64_t)n;
    /* The declared size is charged already; only bytes beyond it cost. */
    if (t->data > t->declared) {
        uint64_t extra = t->data - (before > t->declared ? before : t->declared);
        if (charge(t, extra, err) < 0)
            return -1;
    }
    return (long)n;
}

static int too_large(zvm_tar_t *t, size_t max, zvm_error_t *err)
{
    return zvm_error_set(err, EFBIG, "%s: member '%s' is larger than %zu bytes", t->label,
                         t->m.name, max);
}

int zvm_tar_read_all(zvm_tar_t *t, size_t max, char **data, size_t *len, zvm_error_t *err)
{
    *data = NULL;
    *len = 0;
    if (t->declared > max)
        return too_large(t, max, err);
    size_t cap = (size_t)t->declared + 1, used = 0;
    cleanup_free char *buf = malloc(cap);
    if (!buf)
        return zvm_error_set(err, ENOMEM, "out of memory");
    for (;;) {
        if (used + 1 == cap) {
            /* Full: at max, one more byte means too large; else grow. */
            if (used >= max) {
                char more;
                long n = zvm_tar_read(t, &more, 1, err);
                if (n < 0)
                    return -1;
                if (n > 0)
                    return too_large(t, max, err);
                break;
            }
            size_t grow = cap < 4096 ? 4096 : cap * 2;
            grow = grow > max + 1 ? max + 1 : grow;
            char *g = realloc(buf, grow);
            if (!g)
                return zvm_error_set(err, ENOMEM, "out of memory");
            buf = g;
            cap = grow;
        }
        long n = zvm_tar_read(t, buf + used, cap - 1 - used, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    *len = used;
    *data = steal_pointer(&buf);
    return 0;
}

int zvm_tar_drain(zvm_tar_t *t, zvm_error_t *err)
{
    ssize_t n;
    while ((n = source_read(t)) > 0)
        ;
    return n < 0 ? zvm_error_errno(err, t->src_error, "%s: cannot read", t->label) : 0;
}

/* ---- Writing below the tree's root fd ---------------------------------- */

/* Modes inside an unpacked tree.  Everyone may write: a cached tree is only
 * ever shown read-only, or under an overlay whose writes go to a tmpfs, and
 * the program's uid inside is not the tree's owner (nobody's, when zerovm
 * runs as root), so without these bits a writable image could not be
 * written.  The host is protected by the cache directory, which is 0700. */
#define TREE_DIR_MODE 0777
#define TREE_FILE_MODE 0666
#define TREE_EXEC_MODE 0777

/* No path we open may leave the directory it starts from, cross a mount, or
 * follow any link (a member's name never needs to: links are only ever
 * created). */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int beneath(int dir, const char *path, int flags, mode_t mode)
{
    return zvm_openat2(dir, path, flags, mode, BENEATH);
}

static int no_openat2(zvm_tar_t *t, zvm_error_t *err)
{
    return zvm_error_set(err, ENOSYS,
                         "%s: cannot unpack: the kernel lacks openat2 (Linux 5.6 or later is "
                         "needed to write members beneath the tree)",
                         t->label);
}

/* Open the directory dir/name (when create, first make it, TREE_DIR_MODE).
 * An fd, or -1 with errno. */
static int open_dir_at(int dir, const char *name, bool create)
{
    int fd = beneath(dir, name, O_RDONLY | O_DIRECTORY, 0);
    if (fd >= 0 || errno != ENOENT || !create)
        return fd;
    if (mkdirat(dir, name, 0700) < 0 && errno != EEXIST)
        return -1;
    fd = beneath(dir, name, O_RDONLY | O_DIRECTORY, 0);
    if (fd >= 0 && fchmod(fd, TREE_DIR_MODE) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Open the directory holding p's last component: in one openat2() when it
 * exists, else one component at a time (making them when create).  An fd,
 * or -1 with errno and *stop the index of the component that failed. */
static int open_parent(int root, const struct mpath *p, bool create, size_t *stop)
{
    *stop = 0;
    if (p->n == 1)
        return fcntl(root, F_DUPFD_CLOEXEC, 0);
    char parent[MAX_NAME];
    int fd = beneath(root, mpath_prefix(p, p->n - 1, parent, sizeof parent), O_RDONLY | O_DIRECTORY, 0);
    if (fd >= 0 || errno == ENOSYS)
        return fd;
    fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
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

struct unpack {
    zvm_tar_t *t;
    int root;
    zvm_error_t *err;
    char buf[IO_BUF];
};

static int member_error(struct unpack *u, int code)
{
    if (code == ENOSYS)
        return no_openat2(u->t, u->err);
    return zvm_error_errno(u->err, code, "%s: member '%s'", u->t->label, u->t->m.name);
}

/* The parent directory of the current member, made as needed.  An fd, or
 * -1 with the error set. */
static int member_parent(struct unpack *u)
{
    zvm_tar_t *t = u->t;
    size_t stop = 0;
    int fd = open_parent(u->root, &t->path, true, &stop);
    if (fd >= 0)
        return fd;
    /* ELOOP: a symlink (RESOLVE_NO_SYMLINKS); EXDEV: a way out the kernel
     * caught (RESOLVE_BENEATH, RESOLVE_NO_XDEV). */
    if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV) {
        char prefix[MAX_NAME];
        return zvm_error_set(u->err, EPERM,
                             "%s: member '%s' passes through '%s', which is not a directory",
                             t->label, t->m.name,
                             mpath_prefix(&t->path, stop + 1, prefix, sizeof prefix));
    }
    return member_error(u, errno);
}

/* The current member's parent, with its slot cleared for a new entry. */
static int member_slot(struct unpack *u)
{
    int dir = member_parent(u);
    if (dir < 0 || clear_slot(dir, mpath_last(&u->t->path)) == 0)
        return dir;
    int saved = errno;
    close(dir);
    if (saved == ENOTEMPTY || saved == EEXIST)
        return refuse(u->t, u->t->m.name, "would replace a non-empty directory", u->err);
    return member_error(u, saved);
}

static int set_meta(int fd, const zvm_tar_member_t *m)
{
    if (fchmod(fd, m->exec ? TREE_EXEC_MODE : TREE_FILE_MODE) < 0)
        return -1;
    if (!m->has_mtime)
        return 0;
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, m->mtime};
    return futimens(fd, ts);
}

static int put_file(struct unpack *u)
{
    zvm_tar_t *t = u->t;
    cleanup_close int dir = member_slot(u);
    if (dir < 0)
        return -1;
    cleanup_close int fd = beneath(dir, mpath_last(&t->path), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return member_error(u, errno);
    for (;;) {
        long n = zvm_tar_read(t, u->buf, sizeof u->buf, u->err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        int rc = zvm_write_all(fd, u->buf, (size_t)n);
        if (rc < 0)
            return member_error(u, -rc);
    }
    return set_meta(fd, &t->m) < 0 ? member_error(u, errno) : 0;
}

static int put_dir(struct unpack *u)
{
    zvm_tar_t *t = u->t;
    if (t->path.n == 0)
        return 0; /* the root: there already */
    cleanup_close int dir = member_parent(u);
    if (dir < 0)
        return -1;
    const char *last = mpath_last(&t->path);
    struct stat st;
    if (fstatat(dir, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
        unlinkat(dir, last, 0) < 0)
        return member_error(u, errno);
    cleanup_close int fd = open_dir_at(dir, last, true);
    if (fd < 0 || fchmod(fd, TREE_DIR_MODE) < 0)
        return member_error(u, errno);
    return 0;
}

static int put_symlink(struct unpack *u)
{
    zvm_tar_t *t = u->t;
    cleanup_close int dir = member_slot(u);
    if (dir < 0)
        return -1;
    if (symlinkat(t->m.target, dir, mpath_last(&t->path)) < 0)
        return member_error(u, errno);
    return 0;
}

/* A hard link's target: an earlier member, found beneath the root without
 * following links.  A symlink there is checked again from the new link's
 * place, where its target may climb further than where it was made. */
static int find_link_target(struct unpack *u)
{
    zvm_tar_t *t = u->t;
    const char *name = t->m.name, *target = t->m.target;
    size_t stop = 0;
    int dir = open_parent(u->root, &t->target, false, &stop);
    struct stat st;
    int saved = 0;
    if (dir < 0 || fstatat(dir, mpath_last(&t->target), &st, AT_SYMLINK_NOFOLLOW) < 0)
        saved = errno;
    else if (S_ISDIR(st.st_mode))
        saved = EISDIR;
    else if (S_ISLNK(st.st_mode)) {
        char to[MAX_NAME];
        ssize_t n = readlinkat(dir, mpath_last(&t->target), to, sizeof to - 1);
        to[n > 0 ? n : 0] = '\0';
        verdict_t v = n > 0 ? symlink_check(&t->path, to) : V_EMPTY;
        if (v != V_OK) {
            close(dir);
            return zvm_error_set(u->err, EPERM,
                                 "%s: hardlink '%s' -> '%s': target is a symlink to '%s', which "
                                 "from '%s' %s",
                                 t->label, name, target, to, t->m.path, verdict_text(v));
        }
    }
    if (saved == 0)
        return dir;
    if (dir >= 0)
        close(dir);
    if (saved == EISDIR)
        return refuse_link(t, "hardlink", name, target, "is a directory", u->err);
    if (saved == ENOENT)
        return refuse_link(t, "hardlink", name, target, "is not in the image", u->err);
    if (saved == ELOOP || saved == ENOTDIR || saved == EXDEV)
        return refuse_link(t, "hardlink", name, target, "passes through a non-directory", u->err);
    if (saved == ENOSYS)
        return no_openat2(t, u->err);
    return zvm_error_errno(u->err, saved, "%s: hardlink '%s' -> '%s'", t->label, name, target);
}

static int put_hardlink(struct unpack *u)
{
    zvm_tar_t *t = u->t;
    cleanup_close int tdir = find_link_target(u);
    if (tdir < 0)
        return -1;
    if (mpath_equal(&t->path, &t->target))
        return 0;
    cleanup_close int dir = member_slot(u);
    if (dir < 0)
        return -1;
    if (linkat(tdir, mpath_last(&t->target), dir, mpath_last(&t->path), 0) < 0)
        return zvm_error_errno(u->err, errno, "%s: hardlink '%s' -> '%s'", t->label, t->m.name,
                               t->m.target);
    return 0;
}

int zvm_tar_unpack(zvm_tar_t *t, int dir, zvm_error_t *err)
{
    struct unpack *u = malloc(sizeof *u);
    if (!u)
        return zvm_error_set(err, ENOMEM, "out of memory");
    u->t = t;
    u->root = dir;
    u->err = err;
    zvm_tar_member_t m;
    int rc;
    while ((rc = zvm_tar_next(t, &m, err)) > 0) {
        switch (m.kind) {
        case ZVM_TAR_FILE: rc = put_file(u); break;
        case ZVM_TAR_DIR: rc = put_dir(u); break;
        case ZVM_TAR_SYMLINK: rc = put_symlink(u); break;
        case ZVM_TAR_HARDLINK: rc = put_hardlink(u); break;
        }
        if (rc < 0)
            break;
    }
    free(u);
    return rc < 0 ? -1 : 0;
}
