/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images: tar archives unpacked into a content-addressed cache, and the
 * cache itself.
 *
 * zvm_image_unpack() turns a tar (any format and compression libarchive
 * reads) into a read-only directory tree under the cache and returns its
 * path.  The tree is keyed by the SHA-256 of the archive's bytes, so a
 * repeated run finds it and pays nothing but a stat(); a small index keyed by
 * (device, inode, size, mtime, ctime) of the archive avoids re-hashing an
 * unchanged file.  Unpacking goes to a temporary directory that is renamed
 * into place only when complete: a crash or a concurrent run never leaves a
 * half tree that a later run would use.
 *
 * Hostile archives are refused with a message naming the member:
 * absolute paths, ".." components, hard or symbolic links whose target
 * leaves the tree (absolute, or climbing above the root), device nodes and
 * FIFOs, and archives whose expanded size (file bytes plus a per-entry
 * overhead of 512 bytes) passes `max_bytes`.  Setuid/setgid/sticky bits and
 * ownership are dropped: files become 0666 or 0777 (any x bit), dirs 0777,
 * so that whatever uid the program has inside may write a writable image
 * (through an overlay; the tree itself is never written).  The cache
 * directory is kept 0700, so no one else on the host reaches the trees.
 */
#ifndef ZVM_IMAGE_H
#define ZVM_IMAGE_H

#include <stdint.h>

#include "zvm/error.h"

/* Owner of trees unpacked by root: nobody, the outside id of programs that a
 * root-run zerovm starts. */
#define ZVM_IMAGE_ROOT_OWNER 65534u

/* The cache directory: $ZEROVM_CACHE_DIR, else $XDG_CACHE_HOME/zerovm, else
 * $HOME/.cache/zerovm, else (also when those cannot be used, e.g. a HOME
 * of /nonexistent) /tmp/zerovm-<uid>.  It is created (mode 0700) when
 * missing, refused when it is not a directory owned by the caller or is
 * writable by others, and made 0700 when others may read it.  Returns a
 * malloc'd path or NULL. */
char *zvm_cache_dir(zvm_error_t *err);

/* Unpack `tar_path` (host file) into `cache_dir`/images/<sha256>/ unless
 * already there; *out_dir receives the malloc'd path of the tree.  With
 * `hold`, *hold receives a descriptor holding the tree (a shared flock):
 * keep it open while a sandbox may use the tree, and pruning never removes
 * it.  A new tree brings the cache back under its bound:
 * $ZEROVM_IMAGE_CACHE_MAX bytes (default 4 GiB) of trees, each counted as
 * what its archive expands to, least recently used removed first. */
int zvm_image_unpack(const char *tar_path, const char *cache_dir,
                     uint64_t max_bytes, char **out_dir, int *hold, zvm_error_t *err);

#endif
