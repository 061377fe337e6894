/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the wasm engine's path resolution (resolve() in
 * src/engine/wasm/wasi.c, through zvm__wasi_resolve), which every WASI
 * path_* call of a hostile program goes through before the host sees the
 * path.  The first byte picks the directory fd (the preopen "/", or a
 * directory at /sub or /a/b/c) and where the path lies in linear memory
 * (at its start or flush with its end); the rest is the path.  The result
 * is compared with a plain reference folding: same answer, same path,
 * never above the directory.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/wasm/host.h"

#define MEM_SIZE 65536u
/* WASI numbers (wasi/api.h). */
enum { E_INVAL = 28, E_NAMETOOLONG = 37, E_NOENT = 44, E_NOTCAPABLE = 76 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const bases[] = {"/", "/sub", "/a/b/c"};

/* The fold of path under base, or NULL when it climbs above it. */
static char *reference(const char *base, const uint8_t *p, size_t len)
{
    size_t cap = strlen(base) + len + 3;
    char *out = malloc(cap);
    if (!out)
        abort();
    size_t o = strcmp(base, "/") ? strlen(base) : 0, floor = o;
    memcpy(out, base, o);
    for (size_t i = 0; i < len;) {
        size_t s = i;
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - s;
        if (i < len)
            i++;
        if (n == 0 || (n == 1 && p[s] == '.'))
            continue;
        if (n == 2 && p[s] == '.' && p[s + 1] == '.') {
            if (o == floor) {
                free(out);
                return NULL;
            }
            while (out[o - 1] != '/')
                o--;
            o--;
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, p + s, n);
        o += n;
    }
    if (o == 0)
        out[o++] = '/';
    else if (p[len - 1] == '/')
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static zvm_wasm_ctx_t *ctx;
    static uint8_t *mem;
    static wasm_rt_memory_t memory;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        mem = calloc(1, MEM_SIZE);
        if (!ctx || !mem)
            abort();
        memory = (wasm_rt_memory_t){.data = mem, .pages = 1, .max_pages = 1, .size = MEM_SIZE};
        ctx->memory = &memory;
        for (int i = 0; i < 3; i++) {
            ctx->fds[3 + i].kind = ZVM_WASM_FD_DIR;
            ctx->fds[3 + i].host = -1;
            ctx->fds[3 + i].path = (char *)bases[i];
        }
        ctx->fds[6].kind = ZVM_WASM_FD_FILE; /* not a directory */
        ctx->fds[6].host = -1;
    }
    if (size == 0 || size - 1 > MEM_SIZE)
        return 0;
    unsigned which = data[0] % 4;
    const uint8_t *p = data + 1;
    uint32_t len = (uint32_t)(size - 1);
    uint32_t ptr = data[0] & 0x10 ? MEM_SIZE - len : 0;
    memcpy(mem + ptr, p, len);
    static char out[PATH_MAX];
    uint32_t rc = zvm__wasi_resolve(ctx, 3 + which, ptr, len, out);
    if (which == 3) {
        if (rc == 0)
            abort(); /* a file is no directory */
        return 0;
    }
    if (data[0] & 0x20) /* one byte past the end of memory */
        if (zvm__wasi_resolve(ctx, 3 + which, MEM_SIZE - len + 1, len, out) == 0)
            abort();

    const char *base = bases[which];
    if (len == 0) {
        if (rc != E_NOENT)
            abort();
        return 0;
    }
    if (memchr(p, '\0', len)) {
        if (rc != E_INVAL)
            abort();
        return 0;
    }
    if (p[0] == '/') {
        if (rc != E_NOTCAPABLE)
            abort();
        return 0;
    }
    char *want = reference(base, p, len);
    switch (rc) {
    case 0:
        if (!want || strcmp(want, out) != 0 || strlen(out) >= PATH_MAX)
            abort();
        break;
    case E_NOTCAPABLE:
        if (want)
            abort();
        break;
    case E_NAMETOOLONG:
        if (strlen(base) + len + 2 < PATH_MAX)
            abort();
        break;
    default:
        abort();
    }
    free(want);
    return 0;
}
