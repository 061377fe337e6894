/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channels at run time: opening the host end, the exact quota rules, etags
 * and counters.  The rules are documented in include/zvm/channel.h; this
 * file is their only implementation, shared by both engines.
 */
#include "zvm/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/lazy.h"
#include "lib/util.h"

static int std_stream_fd(const char *uri)
{
    if (strcmp(uri, "/dev/stdin") == 0)
        return 0;
    if (strcmp(uri, "/dev/stdout") == 0)
        return 1;
    if (strcmp(uri, "/dev/stderr") == 0)
        return 2;
    return -1;
}

static zvm_channel_kind_t kind_of_mode(mode_t mode)
{
    if (S_ISREG(mode))
        return ZVM_CHANNEL_FILE;
    if (S_ISCHR(mode))
        return ZVM_CHANNEL_CHAR;
    if (S_ISDIR(mode))
        return ZVM_CHANNEL_DIR;
    return ZVM_CHANNEL_PIPE; /* FIFO, socket */
}

static int connect_tcp(zvm_channel_t *ch, int timeout_ms, zvm_error_t *err)
{
    const zvm_channel_spec_t *spec = ch->spec;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)spec->tcp_port);
    int rc = getaddrinfo(spec->tcp_host, port, &hints, &res);
    if (rc != 0)
        return zvm_error_set(err, EHOSTUNREACH, "channel '%s': cannot resolve '%s': %s",
                             spec->alias, spec->tcp_host, gai_strerror(rc));
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            last = errno;
            close(fd);
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t len = sizeof soerr;
        int n = poll(&p, 1, timeout_ms);
        if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
            int flags = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
            ch->fd = fd;
            freeaddrinfo(res);
            return 0;
        }
        last = n == 0 ? ETIMEDOUT : (soerr ? soerr : errno);
        close(fd);
    }
    freeaddrinfo(res);
    return zvm_error_errno(err, last, "channel '%s': cannot connect to '%s'", spec->alias,
                           spec->uri);
}

static int open_host_path(zvm_channel_t *ch, zvm_error_t *err)
{
    const zvm_channel_spec_t *spec = ch->spec;
    int std = std_stream_fd(spec->uri);
    if (std >= 0) {
        ch->fd = fcntl(std, F_DUPFD_CLOEXEC, 3);
        if (ch->fd < 0)
            return zvm_error_errno(err, errno, "channel '%s': standard stream '%s' is not open",
                                   spec->alias, spec->uri);
        struct stat st;
        if (fstat(ch->fd, &st) == 0)
            ch->kind = kind_of_mode(st.st_mode);
        return 0;
    }

    int acc = ch->readable && ch->writable ? O_RDWR : ch->writable ? O_WRONLY : O_RDONLY;
    struct stat st;
    if (stat(spec->uri, &st) == 0) {
        ch->kind = kind_of_mode(st.st_mode);
        if (ch->kind == ZVM_CHANNEL_DIR)
            acc = O_RDONLY | O_DIRECTORY;
        else if (S_ISFIFO(st.st_mode)) {
            /* Opening a FIFO blocks until its peer opens it: do that on the
             * program's first access, so that nodes wired by pipes can start
             * in any order. */
            ch->open_flags = acc | O_CLOEXEC;
            return 0;
        }
    } else if (errno != ENOENT || !ch->writable) {
        return zvm_error_errno(err, errno, "channel '%s': cannot open '%s'", spec->alias, spec->uri);
    } else {
        ch->kind = ZVM_CHANNEL_FILE;
    }

    int flags = acc | O_CLOEXEC | O_NOCTTY;
    if (ch->writable && ch->kind == ZVM_CHANNEL_FILE) {
        flags |= O_CREAT;
        bool seq_write = spec->type == ZVM_CHANNEL_SEQ_READ_SEQ_WRITE ||
                         spec->type == ZVM_CHANNEL_RND_READ_SEQ_WRITE;
        if (seq_write && !ch->readable)
            flags |= O_TRUNC;
    }
    ch->fd = zvm_open_retry(spec->uri, flags, 0644);
    if (ch->fd < 0)
        return zvm_error_errno(err, errno, "channel '%s': cannot open '%s'", spec->alias, spec->uri);
    return 0;
}

int zvm_channel_open(zvm_channel_t *ch, const zvm_channel_spec_t *spec, int timeout_ms,
                     zvm_error_t *err)
{
    memset(ch, 0, sizeof *ch);
    ch->spec = spec;
    ch->fd = -1;
    ch->pushback = -1;
    ch->last_byte = -1;
    ch->readable = spec->limits[ZVM_LIMIT_GETS] && spec->limits[ZVM_LIMIT_GET_SIZE];
    ch->writable = spec->limits[ZVM_LIMIT_PUTS] && spec->limits[ZVM_LIMIT_PUT_SIZE];
    if (spec->etag) {
        if (zvm__crypto_load(err) < 0)
            return zvm_error_prefix(err, "channel '%s': etag", spec->alias);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md || !EVP_DigestInit_ex(md, EVP_md5(), NULL)) {
            EVP_MD_CTX_free(md);
            return zvm_error_set(err, ENOMEM, "channel '%s': cannot start the etag", spec->alias);
        }
        ch->md5 = md;
    }
    int rc;
    if (spec->is_tcp) {
        ch->kind = ZVM_CHANNEL_TCP;
        rc = connect_tcp(ch, timeout_ms, err);
    } else {
        rc = open_host_path(ch, err);
    }
    if (rc < 0) {
        zvm_channel_close(ch);
        return -1;
    }
    ch->seekable = ch->kind == ZVM_CHANNEL_FILE && spec->type != ZVM_CHANNEL_SEQ_READ_SEQ_WRITE;
    return 0;
}

/* Open a FIFO on first use. */
static int ensure_open(zvm_channel_t *ch)
{
    if (ch->fd >= 0)
        return 0;
    if (!ch->open_flags)
        return -EBADF;
    /* Not retried on EINTR: the engine's deadline must be able to end a
     * wait for a peer that never comes. */
    ch->fd = open(ch->spec->uri, ch->open_flags, 0);
    if (ch->fd < 0)
        return -errno;
    return 0;
}

static bool random_read(const zvm_channel_t *ch)
{
    return ch->seekable && (ch->spec->type == ZVM_CHANNEL_RND_READ_SEQ_WRITE ||
                            ch->spec->type == ZVM_CHANNEL_RND_READ_RND_WRITE);
}

static bool random_write(const zvm_channel_t *ch)
{
    return ch->seekable && (ch->spec->type == ZVM_CHANNEL_SEQ_READ_RND_WRITE ||
                            ch->spec->type == ZVM_CHANNEL_RND_READ_RND_WRITE);
}

static void etag_update(zvm_channel_t *ch, const void *buf, size_t n)
{
    if (ch->md5 && n)
        EVP_DigestUpdate((EVP_MD_CTX *)ch->md5, buf, n);
}

/* One read from the host, honouring the pushback byte. */
static ssize_t host_read(zvm_channel_t *ch, char *buf, size_t n, int64_t at)
{
    if (n == 0)
        return 0;
    if (at >= 0) {
        ssize_t r = pread(ch->fd, buf, n, at);
        return r < 0 ? -errno : r;
    }
    size_t off = 0;
    if (ch->pushback >= 0) {
        buf[0] = (char)ch->pushback;
        ch->pushback = -1;
        off = 1;
        if (n == 1)
            return 1;
        /* Do not block for more once we have a byte to give. */
        struct pollfd p = {.fd = ch->fd, .events = POLLIN};
        if (poll(&p, 1, 0) != 1)
            return 1;
    }
    /* EINTR is not retried: the engine's deadline interrupts a read that
     * waits on a stream forever. */
    ssize_t r = read(ch->fd, buf + off, n - off);
    if (r < 0)
        return off ? (ssize_t)off : -errno;
    return r + (ssize_t)off;
}

/* Is there nothing more to read?  A regular file compares its position
 * with its size; a stream reads one byte ahead and keeps it for the next
 * read (a file must not: its offset is shared with writes). */
static int at_end(zvm_channel_t *ch, int64_t at)
{
    if (ch->kind == ZVM_CHANNEL_FILE) {
        struct stat st;
        off_t pos = at >= 0 ? (off_t)at : lseek(ch->fd, 0, SEEK_CUR);
        if (pos < 0 || fstat(ch->fd, &st) < 0)
            return -errno;
        return pos >= st.st_size;
    }
    if (ch->pushback >= 0)
        return 0;
    char c;
    ssize_t r = host_read(ch, &c, 1, -1);
    if (r < 0)
        return (int)r;
    if (r == 0)
        return 1;
    ch->pushback = (unsigned char)c;
    return 0;
}

ssize_t zvm_channel_read(zvm_channel_t *ch, void *buf, size_t n, int64_t offset)
{
    const uint64_t *lim = ch->spec->limits;
    if (!ch->readable) {
        ch->quota_hit = true;
        return -EDQUOT;
    }
    int rc = ensure_open(ch);
    if (rc < 0)
        return rc;
    bool rnd = random_read(ch);
    if (offset >= 0 && !rnd)
        return -ESPIPE; /* a stream has no offset, as pread on a pipe */
    int64_t at = rnd ? (offset >= 0 ? offset : (int64_t)ch->pos) : -1;

    uint64_t left = lim[ZVM_LIMIT_GET_SIZE] - ch->used[ZVM_LIMIT_GET_SIZE];
    if (n == 0)
        return 0; /* passes nothing */
    if (ch->used[ZVM_LIMIT_GETS] >= lim[ZVM_LIMIT_GETS] || left == 0) {
        /* Out of quota: only the end of the data may still be seen. */
        int end = at_end(ch, at);
        if (end < 0)
            return end;
        if (end)
            return 0;
        ch->quota_hit = true;
        return -EDQUOT;
    }
    if (n > left)
        n = (size_t)left;
    ssize_t got = host_read(ch, buf, n, at);
    if (got < 0)
        return got;
    ch->used[ZVM_LIMIT_GETS]++;
    ch->used[ZVM_LIMIT_GET_SIZE] += (uint64_t)got;
    if (rnd && offset < 0)
        ch->pos += (uint64_t)got;
    etag_update(ch, buf, (size_t)got);
    return got;
}

ssize_t zvm_channel_write(zvm_channel_t *ch, const void *buf, size_t n, int64_t offset)
{
    const uint64_t *lim = ch->spec->limits;
    if (offset >= 0 && ch->writable && !random_write(ch))
        return -ESPIPE; /* a stream has no offset, as pwrite on a pipe */
    if (!ch->writable || ch->used[ZVM_LIMIT_PUTS] >= lim[ZVM_LIMIT_PUTS] ||
        n > lim[ZVM_LIMIT_PUT_SIZE] - ch->used[ZVM_LIMIT_PUT_SIZE]) {
        ch->quota_hit = true;
        return -EDQUOT;
    }
    int rc = ensure_open(ch);
    if (rc < 0)
        return rc;
    bool rnd = random_write(ch);
    uint64_t at = rnd ? (offset >= 0 ? (uint64_t)offset : ch->pos) : 0;
    /* A random write may not reach past put_size either: a far offset
     * would grow the host file without a byte being counted. */
    if (rnd && (at > lim[ZVM_LIMIT_PUT_SIZE] || n > lim[ZVM_LIMIT_PUT_SIZE] - at)) {
        ch->quota_hit = true;
        return -EDQUOT;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w;
        const char *p = (const char *)buf + done;
        if (rnd)
            w = pwrite(ch->fd, p, n - done, (off_t)(at + done));
        else if (ch->kind == ZVM_CHANNEL_TCP)
            w = send(ch->fd, p, n - done, MSG_NOSIGNAL);
        else
            w = write(ch->fd, p, n - done);
        if (w <= 0) {
            if (done == 0)
                return w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    ch->used[ZVM_LIMIT_PUTS]++;
    ch->used[ZVM_LIMIT_PUT_SIZE] += done;
    if (done)
        ch->last_byte = ((const unsigned char *)buf)[done - 1];
    if (rnd && offset < 0)
        ch->pos += done;
    etag_update(ch, buf, done);
    return (ssize_t)done;
}

/* A change of size on a random-write file: one write operation, and the
 * file may not pass put_size (as a random write may not). */
static int resize_check(zvm_channel_t *ch, int64_t end)
{
    const uint64_t *lim = ch->spec->limits;
    if (!ch->writable || ch->used[ZVM_LIMIT_PUTS] >= lim[ZVM_LIMIT_PUTS] ||
        (uint64_t)end > lim[ZVM_LIMIT_PUT_SIZE]) {
        ch->quota_hit = true;
        return -EDQUOT;
    }
    return random_write(ch) && ch->fd >= 0 ? 0 : -EINVAL;
}

int zvm_channel_truncate(zvm_channel_t *ch, int64_t length)
{
    if (length < 0)
        return -EINVAL;
    int rc = resize_check(ch, length);
    if (rc < 0)
        return rc;
    if (ftruncate(ch->fd, (off_t)length) < 0)
        return -errno;
    ch->used[ZVM_LIMIT_PUTS]++;
    return 0;
}

int zvm_channel_allocate(zvm_channel_t *ch, int mode, int64_t offset, int64_t length)
{
    if (offset < 0 || length <= 0 || offset > INT64_MAX - length)
        return -EINVAL;
    if (mode & ~FALLOC_FL_KEEP_SIZE)
        return -EOPNOTSUPP; /* punching or moving bytes would change what passed */
    int rc = resize_check(ch, offset + length);
    if (rc < 0)
        return rc == -EINVAL ? -ESPIPE : rc;
    if (fallocate(ch->fd, mode, (off_t)offset, (off_t)length) < 0)
        return -errno;
    ch->used[ZVM_LIMIT_PUTS]++;
    return 0;
}

int zvm_channel_copy_check(zvm_channel_t *ch, bool source)
{
    const uint64_t *lim = ch->spec->limits;
    bool none;
    if (source) {
        none = !ch->readable || ch->used[ZVM_LIMIT_GETS] >= lim[ZVM_LIMIT_GETS] ||
               ch->used[ZVM_LIMIT_GET_SIZE] >= lim[ZVM_LIMIT_GET_SIZE];
        if (none && ch->readable && ensure_open(ch) == 0 &&
            at_end(ch, random_read(ch) ? (int64_t)ch->pos : -1) == 1)
            return 0;
    } else {
        none = !ch->writable || ch->used[ZVM_LIMIT_PUTS] >= lim[ZVM_LIMIT_PUTS] ||
               ch->used[ZVM_LIMIT_PUT_SIZE] >= lim[ZVM_LIMIT_PUT_SIZE];
    }
    if (none) {
        ch->quota_hit = true;
        return -EDQUOT;
    }
    return -EINVAL;
}

int64_t zvm_channel_seek(zvm_channel_t *ch, int64_t offset, int whence)
{
    if (!ch->seekable)
        return -ESPIPE;
    int64_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)ch->pos;
        break;
    case SEEK_END: {
        struct stat st;
        if (fstat(ch->fd, &st) < 0)
            return -errno;
        base = st.st_size;
        break;
    }
    default:
        return -EINVAL;
    }
    if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0)
        return -EINVAL;
    ch->pos = (uint64_t)(base + offset);
    return (int64_t)ch->pos;
}

int zvm_channel_stat(zvm_channel_t *ch, int mapping, struct stat *st)
{
    memset(st, 0, sizeof *st);
    mode_t type;
    switch (mapping >= 0 ? mapping : -1) {
    case 0:
        type = S_IFCHR;
        break;
    case 1:
        type = S_IFREG;
        break;
    case 2:
        type = S_IFIFO;
        break;
    default:
        type = ch->kind == ZVM_CHANNEL_FILE ? S_IFREG
             : ch->kind == ZVM_CHANNEL_CHAR ? S_IFCHR
             : ch->kind == ZVM_CHANNEL_TCP  ? S_IFSOCK
             : ch->kind == ZVM_CHANNEL_DIR  ? S_IFDIR
                                            : S_IFIFO;
    }
    st->st_mode = type | (ch->readable ? 0444 : 0) | (ch->writable ? 0222 : 0);
    st->st_nlink = 1;
    st->st_blksize = 65536;
    if (ch->kind == ZVM_CHANNEL_FILE && ch->fd >= 0) {
        struct stat host;
        if (fstat(ch->fd, &host) < 0)
            return -errno;
        st->st_size = host.st_size;
        st->st_blocks = host.st_blocks;
        st->st_mtim = host.st_mtim;
        st->st_ctim = host.st_ctim;
        st->st_atim = host.st_atim;
    }
    return 0;
}

bool zvm_channel_is_network(const zvm_channel_t *ch)
{
    return ch->kind == ZVM_CHANNEL_TCP;
}

void zvm_channel_etag(const zvm_channel_t *ch, char hex[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    hex[0] = '\0';
    if (!ch->md5)
        return;
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    if (copy && EVP_MD_CTX_copy_ex(copy, (EVP_MD_CTX *)ch->md5) &&
        EVP_DigestFinal_ex(copy, md, &len)) {
        for (unsigned i = 0; i < len && i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    EVP_MD_CTX_free(copy);
}

void zvm_channel_close(zvm_channel_t *ch)
{
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
    ch->open_flags = 0;
    if (ch->md5)
        EVP_MD_CTX_free((EVP_MD_CTX *)ch->md5);
    ch->md5 = NULL;
}
