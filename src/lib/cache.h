/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded caches: the image trees (image.c) and the compiled wasm objects
 * (engine/wasm/cache.c) are directories of entries, each a tree or a file
 * under a name of its own, pruned least recently used once their size
 * passes a bound.  Not part of the public API.
 *
 * The rules, which every user of a cache directory follows:
 *  - An entry in use is held: its fd carries a shared flock(2) for as long
 *    as a sandbox may use it, and its mtime is set to now when taken (the
 *    "recently used" of LRU).  zvm__cache_hold() does both and checks that
 *    the fd is still the entry under its name (a pruner may have taken it
 *    away between open and lock).
 *  - Pruning runs under the cache-wide lock `<dir>/.lock` (exclusive,
 *    blocking: one pruner at a time), removes oldest entries first while
 *    the total passes the bound, and removes an entry only when it gets a
 *    non-blocking exclusive flock on it: a held entry is never removed.  A
 *    removed entry is first renamed to a `.trash-` name under that lock, so
 *    no one can open it by its name any more, then deleted.
 *  - A directory entry's size is recorded at insertion in `.<name>.size`
 *    (decimal bytes), so pruning never walks the trees; a missing record is
 *    measured once and written.  A file's size is its blocks.
 *  - Names starting with '.' are the cache's own; `.tmp-` and `.trash-`
 *    names (and whatever the caller's is_temp() accepts) left by a crash
 *    are removed when older than an hour and not locked.
 */
#ifndef ZVM_LIB_CACHE_H
#define ZVM_LIB_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "zvm/error.h"

#define ZVM_IMAGE_CACHE_MAX_ENV "ZEROVM_IMAGE_CACHE_MAX"
#define ZVM_WASM_CACHE_MAX_ENV "ZEROVM_WASM_CACHE_MAX"
#define ZVM_IMAGE_CACHE_MAX_DEFAULT (4ull << 30)
#define ZVM_WASM_CACHE_MAX_DEFAULT (1ull << 30)

typedef struct zvm_cache_kind {
    bool (*is_entry)(const char *name);   /* a name that is an entry */
    bool (*is_temp)(const char *name);    /* a caller's temporary (may be NULL) */
    bool temps_locked;                    /* the caller's temporaries are locked
                                             (exclusive flock) by their maker from
                                             creation, made under the cache's lock
                                             held shared: unlocked means stale,
                                             whatever its age */
} zvm_cache_kind_t;

/* A bound as written: a decimal number of bytes.  0, or -1 when not one. */
int zvm__cache_parse_max(const char *text, uint64_t *max);

/* The bound from environment variable `env` (bytes, decimal), else dflt;
 * 0, or -1 with err naming the variable when it is not a number. */
int zvm__cache_max(const char *env, uint64_t dflt, uint64_t *max, zvm_error_t *err);

/* Hold the entry dir/name open at fd: a shared lock, its mtime set to now,
 * and fd checked to still be what dir/name names.  0; 1 when the entry is
 * gone or replaced (the caller treats it as missing); -1 with errno. */
int zvm__cache_hold(int dir, const char *name, int fd);

/* Record a directory entry's size (best effort). */
void zvm__cache_note_size(int dir, const char *name, uint64_t bytes);

/* Prune dir to at most max bytes, as above; 0, or -1 with err filled
 * (failing to remove one entry is not an error: it stays for next time). */
int zvm__cache_prune(int dir, const zvm_cache_kind_t *kind, uint64_t max, zvm_error_t *err);

#endif
