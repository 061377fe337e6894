/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host functions a wasm program imports, declared exactly as wasm2c
 * declares them in the generated header (u32 = uint32_t, u64 = uint64_t):
 * imports.def carries the same prototypes as strings, for the check before
 * compiling.  wasi.c defines the "wasi_snapshot_preview1" module,
 * zvmapi.c the "zerovm" module.  Also the few helpers both files share.
 *
 * Conventions of every function here: pointers are offsets into the
 * module's linear memory (ctx->memory) and are checked before any byte is
 * touched or any side effect happens; WASI functions return a WASI errno
 * (0 on success, __WASI_ERRNO_* numbering, not the host's); zerovm
 * functions return a count or a negative WASI errno.
 */
#ifndef ZVM_ENGINE_WASM_HOST_H
#define ZVM_ENGINE_WASM_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "wasm.h"

/* ---- shared helpers (wasi.c) --------------------------------------------- */

/* The host address of [ptr, ptr + len) in linear memory, or NULL when any
 * byte of it is outside (or there is no memory yet). */
uint8_t *zvm__wasm_mem(const zvm_wasm_ctx_t *ctx, uint32_t ptr, uint64_t len);

/* A host errno as a WASI errno: EDQUOT (a channel quota) stays DQUOT,
 * anything unknown becomes IO. */
uint16_t zvm__wasm_errno(int host_errno);

/* Where a path_* call acts: the host directory holding the last component
 * of the program's path, found by the kernel beneath the WASI directory
 * (openat2, RESOLVE_BENEATH), and that component (trailing '/' kept; "."
 * when the path ends in ".."). */
typedef struct zvm_wasi_path {
    int dir;                           /* a host directory descriptor */
    bool owned;                        /* dir was opened for this path: release closes it */
    char name[PATH_MAX];
} zvm_wasi_path_t;

/* The resolution every name-level path_* call goes through, for the fuzz
 * target too (fuzz/fuzz_wasi_path.c): the program's path [ptr, ptr + len)
 * relative to WASI directory fd `dirfd`, which must hold `right`; 0 or a
 * WASI errno (NOTCAPABLE for an absolute path or one that leaves the
 * directory, by "..", an absolute symbolic link or one that climbs).
 * Release *out in both cases. */
uint32_t zvm__wasi_resolve(zvm_wasm_ctx_t *ctx, uint32_t dirfd, uint64_t right, uint32_t ptr,
                           uint32_t len, zvm_wasi_path_t *out);
void zvm__wasi_path_release(zvm_wasi_path_t *p);

/* ---- wasi_snapshot_preview1 (wasi.c) -------------------------------------- */

typedef struct Z_wasi_snapshot_preview1_instance_t zvm_wasi_t;

uint32_t Z_wasi_snapshot_preview1Z_args_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_environ_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(zvm_wasi_t *, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_advise(zvm_wasi_t *, uint32_t, uint64_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(zvm_wasi_t *, uint32_t, uint64_t, uint64_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_close(zvm_wasi_t *, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(zvm_wasi_t *, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(zvm_wasi_t *, uint32_t, uint64_t, uint64_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(zvm_wasi_t *, uint32_t, uint64_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(zvm_wasi_t *, uint32_t, uint64_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_pread(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(zvm_wasi_t *, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_read(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_seek(zvm_wasi_t *, uint32_t, uint64_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_sync(zvm_wasi_t *, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_tell(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_write(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(zvm_wasi_t *, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_link(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_open(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_readlink(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(zvm_wasi_t *, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_rename(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_symlink(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(zvm_wasi_t *, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t);
void Z_wasi_snapshot_preview1Z_proc_exit(zvm_wasi_t *, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_proc_raise(zvm_wasi_t *, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_random_get(zvm_wasi_t *, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sched_yield(zvm_wasi_t *);
uint32_t Z_wasi_snapshot_preview1Z_sock_accept(zvm_wasi_t *, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sock_recv(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sock_send(zvm_wasi_t *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(zvm_wasi_t *, uint32_t, uint32_t);

/* ---- zerovm (zvmapi.c) ---------------------------------------------------- */

typedef struct Z_zerovm_instance_t zvm_zapi_t;

uint32_t Z_zerovmZ_pread(zvm_zapi_t *, uint32_t, uint32_t, uint32_t, uint64_t);
uint32_t Z_zerovmZ_pwrite(zvm_zapi_t *, uint32_t, uint32_t, uint32_t, uint64_t);
void Z_zerovmZ_exit(zvm_zapi_t *, uint32_t);
uint32_t Z_zerovmZ_channel_count(zvm_zapi_t *);
uint32_t Z_zerovmZ_channel_name(zvm_zapi_t *, uint32_t, uint32_t, uint32_t);
uint32_t Z_zerovmZ_channel_info(zvm_zapi_t *, uint32_t, uint32_t);

#endif
