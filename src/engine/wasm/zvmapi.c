/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "zerovm" import module: the original ZeroVM trap API, for programs
 * that work on channels rather than files (include/zvm/wasm_api.h is the
 * program's side).  A channel is named by its index in the manifest.
 *
 * Each channel's alias is opened on first use, read-write as the channel
 * allows, and the descriptor kept in ctx->channel_fds (wasi.c sizes the
 * array and closes it on release).  The bytes then go through the
 * supervisor like any other channel call, so quotas, etags and counters
 * are the channel's: a refused call returns -DQUOT.  Sequential sides
 * ignore the offset (as in the original); random sides use it.
 *
 * Every function returns a count or a negative WASI errno, and checks the
 * program's buffers before touching them.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

#define CHANNEL_INFO_SIZE 48   /* see struct zvm_channel_info in zvm/wasm_api.h */

/* WASI errnos used here (wasi/api.h). */
enum { WE_BADF = 8, WE_FAULT = 21, WE_INVAL = 28 };

static inline zvm_wasm_ctx_t *ctx_of(zvm_zapi_t *inst)
{
    return &inst->ctx;
}

static uint32_t fail(uint16_t wasi_errno)
{
    return (uint32_t)-(int32_t)wasi_errno;
}

static const zvm_channel_spec_t *channel(const zvm_wasm_ctx_t *ctx, uint32_t handle)
{
    const zvm_session_t *s = ctx->session;
    if (!s || !ctx->channel_fds || handle >= s->manifest.nchannels)
        return NULL;
    return &s->manifest.channels[handle];
}

static bool readable(const zvm_channel_spec_t *c)
{
    return c->limits[ZVM_LIMIT_GETS] && c->limits[ZVM_LIMIT_GET_SIZE];
}

static bool writable(const zvm_channel_spec_t *c)
{
    return c->limits[ZVM_LIMIT_PUTS] && c->limits[ZVM_LIMIT_PUT_SIZE];
}

/* The channel's descriptor, opened on first use: >= 0 or -errno (host). */
static int channel_fd(zvm_wasm_ctx_t *ctx, uint32_t handle, const zvm_channel_spec_t *c)
{
    if (ctx->channel_fds[handle] >= 0)
        return ctx->channel_fds[handle];
    int acc = readable(c) && writable(c) ? O_RDWR : writable(c) ? O_WRONLY : O_RDONLY;
    int fd;
    do
        fd = open(c->alias, acc | O_CLOEXEC | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    ctx->channel_fds[handle] = fd;
    return fd;
}

static uint32_t transfer(zvm_wasm_ctx_t *ctx, bool is_write, uint32_t handle,
                         uint32_t buf, uint32_t size, uint64_t offset)
{
    const zvm_channel_spec_t *c = channel(ctx, handle);
    if (!c)
        return fail(WE_BADF);
    if ((int32_t)size < 0)
        size = INT32_MAX; /* the count must come back as a positive i32 */
    uint8_t *p = zvm__wasm_mem(ctx, buf, size);
    if (!p)
        return fail(WE_FAULT);
    bool random = is_write ? c->type == ZVM_CHANNEL_SEQ_READ_RND_WRITE ||
                              c->type == ZVM_CHANNEL_RND_READ_RND_WRITE
                        : c->type == ZVM_CHANNEL_RND_READ_SEQ_WRITE ||
                              c->type == ZVM_CHANNEL_RND_READ_RND_WRITE;
    if (random && (int64_t)offset < 0)
        return fail(WE_INVAL);
    int fd = channel_fd(ctx, handle, c);
    if (fd < 0)
        return fail(zvm__wasm_errno(-fd));
    ssize_t n;
    do {
        if (is_write)
            n = random ? pwrite(fd, p, size, (off_t)offset) : write(fd, p, size);
        else
            n = random ? pread(fd, p, size, (off_t)offset) : read(fd, p, size);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return fail(zvm__wasm_errno(errno));
    return (uint32_t)n;
}

uint32_t Z_zerovmZ_pread(zvm_zapi_t *inst, uint32_t handle, uint32_t buf,
                         uint32_t size, uint64_t offset)
{
    return transfer(ctx_of(inst), false, handle, buf, size, offset);
}

uint32_t Z_zerovmZ_pwrite(zvm_zapi_t *inst, uint32_t handle, uint32_t buf,
                          uint32_t size, uint64_t offset)
{
    return transfer(ctx_of(inst), true, handle, buf, size, offset);
}

void Z_zerovmZ_exit(zvm_zapi_t *inst, uint32_t code)
{
    zvm_wasm_exit(ctx_of(inst), code);
}

uint32_t Z_zerovmZ_channel_count(zvm_zapi_t *inst)
{
    const zvm_session_t *s = ctx_of(inst)->session;
    return s ? (uint32_t)s->manifest.nchannels : 0;
}

/* Copies the alias, without a NUL when it does not fit; returns its length. */
uint32_t Z_zerovmZ_channel_name(zvm_zapi_t *inst, uint32_t index, uint32_t buf,
                                uint32_t len)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    const zvm_channel_spec_t *c = channel(ctx, index);
    if (!c)
        return fail(WE_BADF);
    size_t n = strlen(c->alias);
    bool nul = len > n;
    size_t copy = nul ? n : len;
    uint8_t *p = zvm__wasm_mem(ctx, buf, copy + nul);
    if (!p)
        return fail(WE_FAULT);
    memcpy(p, c->alias, copy);
    if (nul)
        p[n] = '\0';
    return (uint32_t)n;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* 48 bytes: u32 type, u32 name_len, u64 size, gets, get_size, puts,
 * put_size.  The size is the file's as the program sees it (the channel's
 * fstat), 0 for streams or when the channel cannot be opened. */
uint32_t Z_zerovmZ_channel_info(zvm_zapi_t *inst, uint32_t index, uint32_t out)
{
    zvm_wasm_ctx_t *ctx = ctx_of(inst);
    const zvm_channel_spec_t *c = channel(ctx, index);
    if (!c)
        return fail(WE_BADF);
    uint8_t *p = zvm__wasm_mem(ctx, out, CHANNEL_INFO_SIZE);
    if (!p)
        return fail(WE_FAULT);
    uint64_t size = 0;
    struct stat st;
    int fd = channel_fd(ctx, index, c);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        size = (uint64_t)st.st_size;
    put_le(p + 0, (uint64_t)c->type, 4);
    put_le(p + 4, strlen(c->alias), 4);
    put_le(p + 8, size, 8);
    put_le(p + 16, c->limits[ZVM_LIMIT_GETS], 8);
    put_le(p + 24, c->limits[ZVM_LIMIT_GET_SIZE], 8);
    put_le(p + 32, c->limits[ZVM_LIMIT_PUTS], 8);
    put_le(p + 40, c->limits[ZVM_LIMIT_PUT_SIZE], 8);
    return 0;
}
