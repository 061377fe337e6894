/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The zerovm trap API for WebAssembly programs: the program's side of the
 * "zerovm" import module (src/engine/wasm/zvmapi.c is the host's).  Include
 * it in a C program built with `clang --target=wasm32-wasi`; it is not for
 * the host.
 *
 * The API of the original ZeroVM: a program works on the manifest's
 * channels, named by their index (manifest order, from 0), with no file
 * system in between.  The program may use WASI (wasi-libc) alongside.
 *
 *   zvm_channel_count()              number of channels
 *   zvm_channel_name(i, buf, len)    copies channel i's alias into buf (with
 *                                    a NUL when it fits, cut at len when it
 *                                    does not); returns the alias's length
 *   zvm_channel_info(i, &info)       fills a struct zvm_channel_info; 0
 *   zvm_pread(i, buf, size, offset)  reads up to size bytes; returns the
 *                                    count, 0 at end of data
 *   zvm_pwrite(i, buf, size, offset) writes size bytes (all or nothing
 *                                    under the quotas); returns the count
 *   zvm_exit(code)                   ends the program (code & 0xff)
 *
 * On a sequential side of a channel (type 0, or the write side of type 1,
 * the read side of type 2) the offset is ignored and the stream moves on;
 * on a random side it is the position, and must be >= 0.
 *
 * Errors are negative WASI errno values (wasi/api.h, __WASI_ERRNO_*):
 * -8 BADF for a bad index, -19 DQUOT when the channel does not allow the
 * operation or a call would pass its limits (no byte moves), -21 FAULT for a
 * buffer outside memory, -28 INVAL for a negative random offset, -44 NOENT
 * when the alias cannot be opened.
 */
#ifndef ZVM_WASM_API_H
#define ZVM_WASM_API_H

#if !defined(__wasm32__)
#error "zvm/wasm_api.h is for programs built with clang --target=wasm32-wasi"
#endif

#include <stdint.h>

#define ZVM_WASM_IMPORT(name) \
    __attribute__((__import_module__("zerovm"), __import_name__(#name)))

/* What zvm_channel_info() fills: 48 bytes, little-endian, as in the
 * manifest's Channel line; size is the file's (0 for streams). */
struct zvm_channel_info {
    uint32_t type;        /* 0 seq/seq, 1 random read, 2 random write, 3 both */
    uint32_t name_len;    /* strlen of the alias */
    uint64_t size;
    uint64_t gets;        /* read calls allowed (0: none) */
    uint64_t get_size;    /* bytes that may be read */
    uint64_t puts;        /* write calls allowed */
    uint64_t put_size;    /* bytes that may be written */
};
_Static_assert(sizeof(struct zvm_channel_info) == 48, "zerovm channel_info layout");

ZVM_WASM_IMPORT(pread)
int32_t zvm_pread(int32_t handle, void *buf, int32_t size, int64_t offset);

ZVM_WASM_IMPORT(pwrite)
int32_t zvm_pwrite(int32_t handle, const void *buf, int32_t size, int64_t offset);

ZVM_WASM_IMPORT(exit)
_Noreturn void zvm_exit(int32_t code);

ZVM_WASM_IMPORT(channel_count)
int32_t zvm_channel_count(void);

ZVM_WASM_IMPORT(channel_name)
int32_t zvm_channel_name(int32_t index, char *buf, int32_t len);

ZVM_WASM_IMPORT(channel_info)
int32_t zvm_channel_info(int32_t index, struct zvm_channel_info *info);

#endif
