/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Archives: the one reader of tar files (and the other formats libarchive
 * decodes in-process) in the tree, the rules every member must pass, and
 * unpacking under kernel-enforced containment.  libarchive decodes the
 * format; images (image.h), app tars (libzvmjob) and zapps (zpm) all read
 * through here, so a hostile archive meets the same checks and the same
 * messages everywhere.
 *
 * Invariants of every member zvm_tar_next() returns:
 *  - its name is relative, has no ".." component, at most 256 components
 *    and 4095 bytes ("." and empty components are dropped in `path`);
 *  - it is a regular file, a directory, a symbolic link or a hard link:
 *    devices, FIFOs and sockets are refused;
 *  - a symlink's target is relative and, resolved lexically from the
 *    link's directory, stays inside the archive's root, with ".." only
 *    before its first name ("../lib/x", never "a/../x");
 *  - a hard link's target obeys the member-name rules;
 *  - the members so far, charged their data plus 512 bytes each, fit
 *    `max_bytes`, and there are at most `max_members` of them.
 * A refusal is an error "<label>: member 'NAME' <reason>" (or "<label>:
 * symlink|hardlink 'NAME' -> 'TARGET': target <reason>").
 *
 * zvm_tar_unpack() writes the members into a directory with every create and
 * open going through openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) relative to directory fds: the
 * kernel refuses any path that would leave the directory or cross a link,
 * whatever earlier members planted.  Symlinks are created, never followed;
 * hard links are made with linkat() between directory fds, to a target
 * found beneath the directory, and a hard link to a symlink is checked
 * again from its own place (a link's depth changes what its target means).
 * Modes: files 0666, or 0777 with any x bit; directories 0777; setuid,
 * setgid, sticky bits and ownership are dropped.
 */
#ifndef ZVM_TAR_H
#define ZVM_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "zvm/error.h"

#define ZVM_TAR_MAX_MEMBERS 1000000u
#define ZVM_TAR_MEMBER_OVERHEAD 512u

typedef struct zvm_tar zvm_tar_t;

typedef enum zvm_tar_kind {
    ZVM_TAR_FILE,
    ZVM_TAR_DIR,
    ZVM_TAR_SYMLINK,
    ZVM_TAR_HARDLINK,
} zvm_tar_kind_t;

typedef struct zvm_tar_member {
    const char *name;      /* as the archive names it (for messages) */
    const char *path;      /* its components joined by '/'; "" for the root */
    zvm_tar_kind_t kind;
    const char *target;    /* a link's target as written; NULL otherwise */
    uint64_t size;         /* a file's declared size (0 when unknown) */
    bool exec;             /* any x bit */
    bool has_mtime;
    struct timespec mtime;
} zvm_tar_member_t;

typedef struct zvm_tar_limits {
    uint64_t max_bytes;    /* data plus ZVM_TAR_MEMBER_OVERHEAD per member */
    uint64_t max_members;  /* 0: ZVM_TAR_MAX_MEMBERS */
    const char *max_what;  /* "expands past MAX_WHAT (N bytes)"; NULL: "the limit" */
} zvm_tar_limits_t;

/* Called with every chunk read from the archive's file, in order (e.g. to
 * hash it); 0, or -1 to fail the read. */
typedef int (*zvm_tar_tap_fn)(void *ctx, const void *buf, size_t len);

/* ---- reading ------------------------------------------------------------ */

/* Start reading the archive at fd (not taken; read with pread from offset
 * 0).  `label` starts every message ("image 'x.tar'").  A reader, or NULL
 * with err filled. */
zvm_tar_t *zvm_tar_open(int fd, const char *label, const zvm_tar_limits_t *limits,
                        zvm_tar_tap_fn tap, void *tap_ctx, zvm_error_t *err);
/* The next member into *m (valid until the next call): 1, 0 at the end of
 * the archive, -1 with err filled (refused, unreadable, too big). */
int zvm_tar_next(zvm_tar_t *t, zvm_tar_member_t *m, zvm_error_t *err);
/* Up to `size` bytes of the current member's data: the count, 0 at its
 * end, -1 with err filled.  Bytes past the declared size are charged. */
long zvm_tar_read(zvm_tar_t *t, void *buf, size_t size, zvm_error_t *err);
/* All of the current member's data, at most `max` bytes, into a malloc'd
 * NUL-terminated buffer. */
int zvm_tar_read_all(zvm_tar_t *t, size_t max, char **data, size_t *len, zvm_error_t *err);
/* Read what is left of the file (past the archive's end) through the tap. */
int zvm_tar_drain(zvm_tar_t *t, zvm_error_t *err);
/* What the members so far were charged (data plus the per-member overhead). */
uint64_t zvm_tar_used(const zvm_tar_t *t);
void zvm_tar_free(zvm_tar_t *t);

/* ---- unpacking ---------------------------------------------------------- */

/* Unpack every remaining member into the directory `dir` (an fd, not
 * taken), which should be empty and private to the caller (a temporary
 * directory renamed into place when this succeeds: on failure, whatever
 * was written is the caller's to remove). */
int zvm_tar_unpack(zvm_tar_t *t, int dir, zvm_error_t *err);

#endif
