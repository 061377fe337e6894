/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wasm engine: runs a WebAssembly module (a WASI command) behind the
 * same manifest as the native engine.
 *
 *   validate   the module is WebAssembly 1.0, wasm2c accepts it, it imports
 *              only what zerovm provides; its compiled object is found in
 *              the cache or built and stored (cache.c)
 *              (its linear memory at start, from the entry's trailer, must
 *              fit in Memory); zerovm itself never loads it
 *   run        the native engine's jail runs the compiled object: the
 *              same namespaces, root, channels and supervisor, but instead
 *              of exec the child loads the object from /dev/self and calls
 *              the module (guest.c) under a far
 *              tighter seccomp filter
 *
 * The module can only reach the host functions (wasi.c, zvmapi.c); those
 * reach files and channels through the jail, so quotas, etags and the
 * accounting are the supervisor's, the same code as for native programs.
 */
#include "engine/wasm/wasm.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/native/native.h"
#include "lib/util.h"
#include "zvm/image.h"

#define MAX_MODULE_SIZE (256u << 20)

/* wasm2c's runtime reserves 8 GiB of address space around each linear
 * memory (4 GiB + guard), none of it backed until memory.grow. */
#define LINEAR_RESERVE (8ull << 30)
#define HOST_HEADROOM (256ull << 20)
#if defined(__SANITIZE_ADDRESS__)
/* An ASan build of zerovm runs the module in an instrumented process whose
 * shadow memory alone is terabytes of address space: no RLIMIT_AS then. */
#undef LINEAR_RESERVE
#define LINEAR_RESERVE (UINT64_MAX / 2)
/* Its runtime also makes system calls of its own on a trap (it inspects the
 * SIGSEGV), which the wasm policy would punish: ASan builds use the ELF
 * policy for wasm programs.  Release builds never do. */
#define TIGHT_POLICY false
#else
#define TIGHT_POLICY true
#endif

typedef struct wasm_state {
    zvm_wasm_object_t object;
} wasm_state_t;

static void state_release(void *data)
{
    wasm_state_t *st = data;
    zvm__wasm_object_release(&st->object);
    free(st);
}

static int wasm_probe(const unsigned char *head, size_t n)
{
    return n >= 4 && memcmp(head, "\0asm", 4) == 0;
}

static int wasm_validate(zvm_session_t *s, zvm_report_t *r)
{
    zvm_error_t err = {0};
    const char *path = s->manifest.program;
    unsigned char *module = NULL;
    size_t size = 0;
    r->engine = "wasm";
    int rc = zvm_read_file(path, MAX_MODULE_SIZE, (char **)&module, &size);
    if (rc == -ENOENT || rc == -EACCES || rc == -ENOTDIR) {
        zvm_report_set_exit(r, ZVM_EXIT_NOT_FOUND, "%s", path);
        return -1;
    }
    if (rc < 0) {
        r->validator = 1;
        zvm_report_set_exit(r, ZVM_EXIT_BAD_PROGRAM, "%s: %s", path,
                            rc == -EFBIG ? "module larger than 256 MiB" : strerror(-rc));
        return -1;
    }
    if (size < 8 || memcmp(module, "\0asm", 4) != 0 ||
        memcmp(module + 4, "\1\0\0\0", 4) != 0) {
        r->validator = 1;
        zvm_report_set_exit(r, ZVM_EXIT_BAD_PROGRAM, "%s: %s", path,
                            size >= 4 && memcmp(module, "\0asm", 4) == 0
                                ? "not a WebAssembly 1.0 module (unknown version)"
                                : "not a WebAssembly module (bad magic)");
        free(module);
        return -1;
    }
    if (!s->cache_dir && !(s->cache_dir = zvm_cache_dir(&err))) {
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "%s", err.msg);
        free(module);
        return -1;
    }
    wasm_state_t *st = calloc(1, sizeof *st);
    if (!st) {
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "out of memory");
        free(module);
        return -1;
    }
    rc = zvm__wasm_object(module, size, s->cache_dir, &st->object, &err);
    free(module);
    if (rc < 0) {
        if (st->object.invalid) {
            r->validator = 1;
            zvm_report_set_exit(r, ZVM_EXIT_BAD_PROGRAM, "%s: %s", path, err.msg);
        } else {
            zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "%s", err.msg);
        }
        state_release(st);
        return -1;
    }
    if (st->object.initial_pages > s->manifest.memory / 65536) {
        r->validator = 1;
        zvm_report_set_exit(r, ZVM_EXIT_BAD_PROGRAM,
                            "%s: the module needs %llu bytes of linear memory at start, more "
                            "than Memory (%llu)",
                            path, (unsigned long long)st->object.initial_pages * 65536,
                            (unsigned long long)s->manifest.memory);
        state_release(st);
        return -1;
    }
    if (s->verbosity > 0 && st->object.compiled)
        fprintf(stderr, "zerovm: %s: compiled in %.2f s%s\n", path, st->object.compile_seconds,
                st->object.rebuilt ? " (the cached object was damaged)" : "");
    s->engine_data = st;
    s->engine_data_release = state_release;
    return 0;
}

/* The runner's two steps in the child (see zvm_jail_runner_t). */
typedef struct guest_arg {
    const zvm_session_t *session;
    const char *key;
    zvm_wasm_guest_t guest;
} guest_arg_t;

static int guest_prepare(void *arg, zvm_error_t *err)
{
    guest_arg_t *a = arg;
    return zvm__wasm_guest_prepare(a->key, a->session, &a->guest, err);
}

_Noreturn static void guest_run(void *arg, int sync_fd)
{
    guest_arg_t *a = arg;
    zvm__wasm_guest_run(&a->guest, sync_fd);
}

static int wasm_run(zvm_session_t *s, zvm_report_t *r)
{
    wasm_state_t *st = s->engine_data;
    r->engine = "wasm";
    if (!st) {
        zvm_report_set_exit(r, ZVM_EXIT_SANDBOX_ERROR, "the module was not validated");
        return -1;
    }
    guest_arg_t arg = {.session = s, .key = st->object.key};
    zvm_jail_runner_t runner = {
        .tight_policy = TIGHT_POLICY,
        .extra_as = LINEAR_RESERVE + HOST_HEADROOM,
        .prepare = guest_prepare,
        .run = guest_run,
        .arg = &arg,
    };
    zvm_jail_t j;
    zvm__jail_defaults(s, &j);
    j.runner = &runner;
    j.no_proc = true;
    /* The compiled object, not the module, is what the jail shows at
     * /dev/self: the child loads it there. */
    j.self_path = st->object.path;
    return zvm__jail_run(s, &j, r);
}

const zvm_engine_t zvm_engine_wasm = {
    .name = "wasm",
    .probe = wasm_probe,
    .validate = wasm_validate,
    .run = wasm_run,
};
