/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the wasm engine's path resolution (zvm__wasi_resolve in
 * src/engine/wasm/wasi.c), which every name-level WASI path_* call of a
 * hostile program goes through before the host acts on a path.  It runs
 * against a real tree made once in a temporary directory: directories,
 * files, and symbolic links that stay inside, climb out ("../..", from a
 * deep directory too), are absolute, or loop.  The first byte picks the
 * WASI directory (the preopen, a subdirectory, a deep one, or a file) and
 * where the path lies in linear memory (at its start, or flush with its
 * end); the rest is the path.  Checked: the argument errors (empty NOENT,
 * NUL INVAL, absolute NOTCAPABLE, out of memory FAULT, not a directory
 * NOTDIR); on success a directory that lies beneath the WASI directory
 * (its path through /proc/self/fd) and a single last component (no '/'
 * but trailing ones, never ".."); on failure only the errnos a walk
 * beneath a directory can give; and no descriptor left behind.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/wasm/host.h"

#define MEM_SIZE 65536u
/* WASI numbers (wasi/api.h). */
enum { E_FAULT = 21, E_INVAL = 28, E_LOOP = 32, E_NAMETOOLONG = 37, E_NOENT = 44,
       E_NOTDIR = 54, E_NOTCAPABLE = 76 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[PATH_MAX];
/* The WASI directories at fds 3, 4, 5 and their host paths; fd 6 a file. */
static char bases[3][PATH_MAX];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void cleanup(void)
{
    if (root[0])
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void must(int ok)
{
    if (!ok)
        abort();
}

static void make_tree(void)
{
    char tmpl[] = "/tmp/fuzz-wasi-path-XXXXXX";
    must(mkdtemp(tmpl) != NULL);
    must(realpath(tmpl, root) != NULL);
    atexit(cleanup);
    static const char *const dirs[] = {"sub", "sub/inner", "a", "a/b", "a/b/c"};
    static const char *const files[] = {"file", "sub/x", "a/b/c/f"};
    static const char *const links[][2] = {
        {"up", "../.."},       {"abs", "/etc"},         {"loop", "loop"},
        {"in", "sub/inner"},   {"a/b/c/back", "../../.."}, {"a/b/c/out", "../../../.."},
        {"sub/file", "../file"}, {"dangling", "nowhere/x"},
    };
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        must(mkdir(p, 0755) == 0);
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        must(fd >= 0);
        close(fd);
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, links[i][0]);
        must(symlink(links[i][1], p) == 0);
    }
    snprintf(bases[0], PATH_MAX, "%s", root);
    snprintf(bases[1], PATH_MAX, "%s/sub", root);
    snprintf(bases[2], PATH_MAX, "%s/a/b/c", root);
}

/* Is host descriptor fd a directory at or beneath `base`? */
static int beneath(int fd, const char *base)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    char link[64], at[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, at, sizeof at - 1);
    if (n < 0)
        return 0;
    at[n] = '\0';
    size_t b = strlen(base);
    return strncmp(at, base, b) == 0 && (at[b] == '\0' || at[b] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static zvm_wasm_ctx_t *ctx;
    static uint8_t *mem;
    static wasm_rt_memory_t memory;
    if (!ctx) {
        make_tree();
        ctx = calloc(1, sizeof *ctx);
        mem = calloc(1, MEM_SIZE);
        must(ctx && mem);
        must(zvm_wasm_ctx_init_root(ctx, NULL, root) == 0);
        /* The preopen's directory is opened on first use: now, so that the
         * descriptor count stays the same from one input to the next. */
        ctx->fds[3].host = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        must(ctx->fds[3].host >= 0);
        memory = (wasm_rt_memory_t){.data = mem, .pages = 1, .max_pages = 1, .size = MEM_SIZE};
        ctx->memory = &memory;
        for (int i = 1; i < 3; i++) {
            int h = open(bases[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            must(h >= 0);
            ctx->fds[3 + i] = ctx->fds[3];
            ctx->fds[3 + i].host = h;
            ctx->fds[3 + i].path = NULL;
            ctx->fds[3 + i].preopen = false;
        }
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/file", root);
        ctx->fds[6].kind = ZVM_WASM_FD_FILE; /* not a directory */
        ctx->fds[6].host = open(p, O_RDONLY | O_CLOEXEC);
        must(ctx->fds[6].host >= 0);
    }
    if (size == 0 || size - 1 > MEM_SIZE)
        return 0;
    unsigned which = data[0] % 4;
    const uint8_t *p = data + 1;
    uint32_t len = (uint32_t)(size - 1);
    uint32_t ptr = data[0] & 0x10 ? MEM_SIZE - len : 0;
    memcpy(mem + ptr, p, len);
    int probe = dup(0); /* the lowest free number: a leak would move it */
    close(probe);

    zvm_wasi_path_t out;
    uint32_t rc = zvm__wasi_resolve(ctx, 3 + which, 0, ptr, len, &out);
    int dir = out.dir;
    bool owned = out.owned;
    if (rc == 0) {
        must(dir >= 0);
        if (which < 3)
            must(beneath(dir, bases[which]));
        size_t n = strlen(out.name);
        must(n > 0);
        const char *slash = strchr(out.name, '/');
        if (slash)
            must(strspn(slash, "/") == strlen(slash)); /* only trailing ones */
        size_t stem = slash ? (size_t)(slash - out.name) : n;
        must(!(stem == 2 && out.name[0] == '.' && out.name[1] == '.'));
    }
    zvm__wasi_path_release(&out);
    if (owned)
        must(fcntl(dir, F_GETFD) < 0); /* release closed it */
    int again = dup(0);
    must(again == probe);
    close(again);

    if (which == 3) {
        must(rc == E_NOTDIR);
        return 0;
    }
    if (data[0] & 0x20) /* one byte past the end of memory */
        must(zvm__wasi_resolve(ctx, 3 + which, 0, MEM_SIZE - len + 1, len, &out) == E_FAULT);
    if (len == 0) {
        must(rc == E_NOENT);
        return 0;
    }
    if (memchr(p, '\0', len)) {
        must(rc == E_INVAL);
        return 0;
    }
    if (p[0] == '/') {
        must(rc == E_NOTCAPABLE);
        return 0;
    }
    switch (rc) {
    case 0:
    case E_NOENT:
    case E_NOTDIR:
    case E_NOTCAPABLE:
    case E_LOOP:
        break;
    case E_NAMETOOLONG:
        must(len >= 255);
        break;
    default:
        abort();
    }
    return 0;
}
