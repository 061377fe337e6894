/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the wasm engine, shared by its files:
 *
 *   wasm.c      the engine entry points: validate (compile or find in the
 *               cache), then run = the native engine's jail with a wasm
 *               program inside instead of an exec'd ELF
 *   cache.c     ahead-of-time compilation (wasm2c + cc) into a shared
 *               object, cached by content; atomic, self-checking entries
 *   guest.c     the child's side: instantiate, start, turn a trap into a
 *               report line
 *   wasi.c      WASI preview1 for the program, over the jail's file system
 *               (images) and the channels (served by the supervisor)
 *   zvmapi.c    the "zerovm" import module: the original trap API
 *   imports.def every function a module may import, with its C type
 *   host.h      the host functions' C declarations, helpers of wasi.c/zvmapi.c
 *
 * The host functions run inside the jailed child, after the seccomp filter
 * for wasm programs is in place.  They reach files and channels with
 * ordinary system calls on absolute paths inside the jail, so that quotas,
 * etags and accounting are the supervisor's, exactly as for native programs.
 * They never trust a pointer or length from the program: every range is
 * checked against the linear memory before it is touched.
 */
#ifndef ZVM_ENGINE_WASM_H
#define ZVM_ENGINE_WASM_H

#include <stdbool.h>
#include <stdint.h>

#include "wasm-rt.h"
#include "zvm/error.h"
#include "zvm/session.h"

/* The module name given to wasm2c: its symbols are Z_progZ_<export>. */
#define ZVM_WASM_MODULE_NAME "prog"

#define ZVM_WASM_MAX_FDS 1024          /* WASI descriptor table size */
#define ZVM_WASM_PREOPEN_FD 3          /* "/" : the one preopened directory */

typedef enum zvm_wasm_fd_kind {
    ZVM_WASM_FD_FREE = 0,
    ZVM_WASM_FD_FILE,                  /* a file, device or channel */
    ZVM_WASM_FD_DIR,                   /* a directory (path_* calls resolve under it) */
} zvm_wasm_fd_kind_t;

typedef struct zvm_wasm_fd {
    zvm_wasm_fd_kind_t kind;
    int host;                          /* descriptor in the child (may be virtual) */
    char *path;                        /* absolute path inside when opened (channel aliases;
                                          the preopen's is opened from it), or NULL */
    uint16_t fdflags;                  /* WASI fdflags (append, nonblock, ...) */
    uint64_t rights_base, rights_inheriting;
    uint64_t dir_cookie_hint;          /* fd_readdir bookkeeping, owner: wasi.c */
    uint8_t filetype;                  /* WASI filetype, found at open */
    bool borrowed;                     /* host is the process's 0-2: release leaves it open */
    bool preopen;                      /* reported by fd_prestat_get (as "/") */
} zvm_wasm_fd_t;

/*
 * Everything the host functions know about the running program.  The same
 * object is passed to the module as its "wasi_snapshot_preview1" and its
 * "zerovm" instance (wasm2c hands it back as the first argument of every
 * imported function).
 */
typedef struct zvm_wasm_ctx {
    wasm_rt_memory_t *memory;          /* the module's linear memory */
    char *const *argv;                 /* NULL-terminated */
    char *const *envp;                 /* NULL-terminated "K=V" */
    const zvm_session_t *session;      /* channels for the zerovm module */
    /* Determinism: nvram [time] seconds fixes the realtime clock's start;
     * nvram [random] seed makes random_get a fixed sequence. */
    bool fixed_time;
    int64_t time_start_ns;             /* realtime at start when fixed_time */
    uint64_t monotonic_start_ns;       /* CLOCK_MONOTONIC when the program started */
    bool seeded;
    uint64_t rng[4];                   /* PRNG state when seeded (wasi.c owns it) */
    zvm_wasm_fd_t fds[ZVM_WASM_MAX_FDS];
    int *channel_fds;                  /* zerovm module: lazily opened, -1 */
    int sync_fd;                       /* the jail's sync socket (guest.c sets it), or -1:
                                        * zvm_wasm_exit tells the supervisor the code */
} zvm_wasm_ctx_t;

/* wasm2c names an imported module's instance "struct Z_<module>_instance_t";
 * both are our context. */
struct Z_wasi_snapshot_preview1_instance_t {
    zvm_wasm_ctx_t ctx;
};
struct Z_zerovm_instance_t {
    zvm_wasm_ctx_t ctx;
};

/* wasi.c: fill fds 0-2 and the preopen, argv/env/clock/rng from session;
 * 0 or -errno.  `s` may be NULL (no arguments, no channels).  The ctx must
 * be released even when init fails. */
int zvm_wasm_ctx_init(zvm_wasm_ctx_t *ctx, const zvm_session_t *s);
/* The same, with the preopened directory (the program's "/") at `root`, an
 * absolute host path: init uses "/", tests a temporary directory. */
int zvm_wasm_ctx_init_root(zvm_wasm_ctx_t *ctx, const zvm_session_t *s,
                           const char *root);
/* Make random_get a fixed sequence from `seed` (init does it for nvram
 * [random] seed=N).  Not cryptographic: xoshiro256** seeded by splitmix64. */
void zvm_wasm_ctx_seed(zvm_wasm_ctx_t *ctx, uint64_t seed);
void zvm_wasm_ctx_release(zvm_wasm_ctx_t *ctx);

/* The program ends (proc_exit, zerovm.exit): never returns.  The code is
 * 32 bits, a process status 8: with a sync socket the code is told to the
 * supervisor first (ZVM_SYNC_EXIT), and the process exits with the code,
 * or 255 above 255, so that no code but 0 ever looks like success. */
_Noreturn void zvm_wasm_exit(zvm_wasm_ctx_t *ctx, uint32_t code);

/* Every importable function, "module\0name" pairs, for the check before
 * compiling (imports.c, from imports.def). */
typedef struct zvm_wasm_import {
    const char *module, *name;
    const char *prototype;             /* exactly as wasm2c declares it */
} zvm_wasm_import_t;
extern const zvm_wasm_import_t zvm_wasm_imports[];
extern const unsigned zvm_wasm_nimports;

/* ---- module.c: the bytes wasm2c may see -------------------------------------- */

/* Check that every import and export name is plain (no way into the C that
 * wasm2c writes) and copy the module without its custom sections into a
 * malloc'd *out.  -1 with err (the module's fault) otherwise. */
int zvm__wasm_module_prepare(const unsigned char *module, size_t size, unsigned char **out,
                             size_t *out_size, zvm_error_t *err);

/* guest.c: what a compiled object calls instead of wasm2c's
 * wasm_rt_allocate_memory (cache.c compiles with -D): the memory capped at
 * Memory before any of the module's code runs; an initial size past it is
 * refused there. */
void zvm_wasm_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages);

/* ---- compile.c: the compile jail --------------------------------------------- */

/* Limits of one module's compile (wasm2c and cc together), whatever the
 * manifest: bytes of address space for each process, seconds of CPU time
 * for each process and of wall-clock time for the whole compile. */
#define ZVM_COMPILE_MEMORY_ENV "ZEROVM_COMPILE_MEMORY"
#define ZVM_COMPILE_TIMEOUT_ENV "ZEROVM_COMPILE_TIMEOUT"
#define ZVM_COMPILE_MEMORY_DEFAULT (1ull << 30)
#define ZVM_COMPILE_TIMEOUT_DEFAULT 60u
typedef struct zvm_compile_limits {
    uint64_t memory;
    unsigned seconds;
} zvm_compile_limits_t;

/* The limits from the environment, else the defaults; -1 with err naming
 * the variable when one is not a number. */
int zvm__compile_limits(zvm_compile_limits_t *l, zvm_error_t *err);

/* Run argv (argv[0] an absolute path under /usr; paths of the build under
 * /build) in the compile jail, with build_dir read-write at /build and the
 * tool's stdout and stderr in build_dir/errors.  0 when it exits 0, 1 when
 * it fails (errors says why), -1 with err when the jail cannot be set up
 * or a limit was reached (the message names it); killed at deadline_ns
 * (CLOCK_MONOTONIC, zvm_now_ns). */
int zvm__compile_run(const char *build_dir, char *const argv[], const zvm_compile_limits_t *l,
                     uint64_t deadline_ns, zvm_error_t *err);

/* ---- cache.c: the compiled object ---------------------------------------- */

typedef struct zvm_wasm_tools {
    char *wasm2c, *cc;                 /* absolute paths */
} zvm_wasm_tools_t;

int zvm__wasm_tools(zvm_wasm_tools_t *t, zvm_error_t *err);
void zvm__wasm_tools_release(zvm_wasm_tools_t *t);

/* The cache key of a module compiled by these tools (64 hex digits). */
int zvm__wasm_key(const unsigned char *module, size_t size, const zvm_wasm_tools_t *t,
                  char key[65], zvm_error_t *err);

typedef struct zvm_wasm_object {
    char key[65];
    char *path;                        /* the cache entry */
    int fd;                            /* the entry, checked intact; -1 */
    uint64_t initial_pages;            /* its linear memory at start (trailer) */
    bool compiled;                     /* a cache miss: built by this run */
    bool rebuilt;                      /* ... because the entry was damaged */
    bool invalid;                      /* on failure: the module's fault */
    double compile_seconds;
} zvm_wasm_object_t;

/* Find the module's object in the cache, or compile and store it. */
int zvm__wasm_object(const unsigned char *module, size_t size, const char *cache_dir,
                     zvm_wasm_object_t *obj, zvm_error_t *err);
void zvm__wasm_object_release(zvm_wasm_object_t *obj);

/* ---- guest.c: the loaded object and the child's side ---------------------- */

/* Entry points of a loaded object (the glue cache.c generates). */
typedef struct zvm_wasm_entry {
    void *handle;                      /* dlopen */
    const char *key;
    unsigned long instance_size;
    unsigned long initial_pages;       /* linear memory at start, 64 KiB pages */
    void (*init_module)(void);
    void (*instantiate)(void *inst, void *ctx);
    wasm_rt_memory_t *(*memory)(void *inst);
    void (*start)(void *inst);
} zvm_wasm_entry_t;

/* dlopen the object at `path` (in the jail: /dev/self) and check it is the
 * one with this key. */
int zvm__wasm_load(const char *path, const char *key, zvm_wasm_entry_t *e, zvm_error_t *err);

/* The child's side (jail.c calls these for a wasm program). */
typedef struct zvm_wasm_guest {
    zvm_wasm_entry_t entry;
    const zvm_session_t *session;
    zvm_wasm_ctx_t *ctx;
    void *instance;
} zvm_wasm_guest_t;

/* In the jail, before the filter: load the object from /dev/self (its
 * loader runs with no capability, inside the new root), the trap handlers,
 * the host functions' context. */
int zvm__wasm_guest_prepare(const char *key, const zvm_session_t *s, zvm_wasm_guest_t *g,
                            zvm_error_t *err);
/* Under the filter and limits: instantiate, cap memory, _start, exit.  A
 * trap is told to the supervisor (ZVM_SYNC_TRAP + its kind) before exit. */
_Noreturn void zvm__wasm_guest_run(zvm_wasm_guest_t *g, int sync_fd);

#endif
