/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channels at run time: the host end of each manifest Channel, with its
 * quotas, counters and etag.  Both engines move every byte the program
 * reads or writes through these functions, so limits, etags and accounting
 * have one implementation.
 *
 * Quota rules (exact):
 *  - A read transfers at most the bytes left of get_size; a read when no
 *    bytes or no operations are left fails with -EDQUOT, unless the channel
 *    is at its end (then it returns 0: seeing EOF passes no byte).
 *  - A write is all or nothing: if it would pass put_size or puts, it fails
 *    with -EDQUOT and no byte reaches the host.
 *  - On a random-write channel a write may not reach past put_size either
 *    (offset + length <= put_size), so a far offset cannot grow the host
 *    file without a byte being counted.
 *  - Every successful read or write call counts one operation.
 *  - Positioned reads and writes on a sequential side fail with -ESPIPE
 *    (a stream has no offset, as pread/pwrite on a pipe), before any quota
 *    is counted.
 *  - Changing a file's size (truncate, allocate) is a write of no byte: only
 *    on a random-write side of a file (EINVAL on a stream, as ftruncate on
 *    a pipe), it counts one write operation, and it fails with -EDQUOT when
 *    no write operation is left or the size would pass put_size.
 *  - A copy between descriptors in the kernel (sendfile, splice, ...) never
 *    moves channel bytes: it fails with -EDQUOT when the channel could pass
 *    no byte at all, and otherwise with -EINVAL so that callers fall back
 *    to read and write, which are counted.
 * The etag (when on) is the MD5 of every byte that passed, in order, reads
 * and writes alike: for an output written once from the start, it equals the
 * MD5 of the resulting file (what an object store reports as its ETag).
 *
 * Hot-path functions return a byte count or -errno and never allocate.
 */
#ifndef ZVM_CHANNEL_H
#define ZVM_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "zvm/error.h"
#include "zvm/manifest.h"

typedef enum zvm_channel_kind {
    ZVM_CHANNEL_FILE,     /* regular file */
    ZVM_CHANNEL_PIPE,     /* FIFO (opened on first use) or inherited pipe/socket */
    ZVM_CHANNEL_CHAR,     /* character device */
    ZVM_CHANNEL_TCP,      /* tcp:<host>:<port>, connected by us */
    ZVM_CHANNEL_DIR,      /* host directory: only usable as a directory image */
} zvm_channel_kind_t;

typedef struct zvm_channel {
    const zvm_channel_spec_t *spec;
    zvm_channel_kind_t kind;
    int fd;                /* host fd, -1 while not open (FIFO) or closed */
    int open_flags;        /* flags for the deferred open of a FIFO */
    bool readable;         /* gets and get_size both non-zero */
    bool writable;         /* puts and put_size both non-zero */
    bool seekable;         /* a random side and a regular file */
    uint64_t pos;          /* position for random access */
    uint64_t used[ZVM_LIMIT_COUNT];
    bool quota_hit;        /* some call was refused with EDQUOT */
    int pushback;          /* byte read ahead by an end-of-data probe, or -1 */
    int last_byte;         /* last byte written, or -1 */
    void *md5;             /* EVP_MD_CTX *, NULL when etag is off */
} zvm_channel_t;

/* Open the host end described by spec.  "/dev/stdin", "/dev/stdout" and
 * "/dev/stderr" uris use the caller's own standard streams (duplicated), so
 * the program's output and the report share one file offset.  A regular file
 * that is only written sequentially is truncated; one that is written is
 * created (0644) when missing.  A FIFO is opened on first use.  A missing
 * file that is only read is an error.  `timeout_ms` bounds a TCP connect. */
int zvm_channel_open(zvm_channel_t *ch, const zvm_channel_spec_t *spec,
                     int timeout_ms, zvm_error_t *err);

/* offset < 0: at the channel's position (random) or the stream (sequential).
 * offset >= 0 on a sequential side: -ESPIPE. */
ssize_t zvm_channel_read(zvm_channel_t *ch, void *buf, size_t n, int64_t offset);
ssize_t zvm_channel_write(zvm_channel_t *ch, const void *buf, size_t n, int64_t offset);

/* ftruncate and fallocate (mode 0 or FALLOC_FL_KEEP_SIZE) by the rules
 * above; 0 or -errno. */
int zvm_channel_truncate(zvm_channel_t *ch, int64_t length);
int zvm_channel_allocate(zvm_channel_t *ch, int mode, int64_t offset, int64_t length);

/* A copy call with ch as its source or destination: -EDQUOT when no byte
 * could pass, 0 for a source at its end (the copy reads end of data),
 * -EINVAL otherwise (the caller falls back to read and write). */
int zvm_channel_copy_check(zvm_channel_t *ch, bool source);

/* lseek semantics for seekable channels, -ESPIPE otherwise. */
int64_t zvm_channel_seek(zvm_channel_t *ch, int64_t offset, int whence);

/* What the program sees from fstat: the type from the host end (or
 * `mapping` when >= 0: 0 char, 1 file, 2 pipe), size for files, mode from
 * readable/writable.  Host inode numbers and owners are not shown. */
int zvm_channel_stat(zvm_channel_t *ch, int mapping, struct stat *st);

/* True when the channel carries network traffic (accounting). */
bool zvm_channel_is_network(const zvm_channel_t *ch);

/* Hex MD5 of everything that passed so far (33 bytes with the NUL). */
void zvm_channel_etag(const zvm_channel_t *ch, char hex[33]);

void zvm_channel_close(zvm_channel_t *ch);

#endif
