/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled module, loaded and run.
 *
 *   zvm__wasm_guest_prepare  (jailed child, before the filter) dlopen the
 *                            object, bound read-only at /dev/self, and find
 *                            the glue's entry points (zvm__wasm_load); the
 *                            trap handlers; the host functions' context.
 *                            zerovm's own process never loads the object.
 *   zvm__wasm_guest_run      (jailed child, under the wasm filter and the
 *                            limits) instantiate with the linear memory
 *                            capped at Memory from its allocation (the
 *                            object calls zvm_wasm_allocate_memory), so
 *                            the start function is bounded too; call
 *                            _start, exit
 *
 * A trap is a signal or a longjmp back into zvm__wasm_guest_run: the child
 * tells the supervisor which trap it was and exits.  Every run is its own
 * process, so a trap can never leave runtime state behind for another.
 */
#include "engine/wasm/wasm.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/native/native.h"
#include "lib/util.h"
#include "wasm-rt-impl.h"

#define PAGE_SIZE 65536u

int zvm__wasm_load(const char *path, const char *key, zvm_wasm_entry_t *e, zvm_error_t *err)
{
    memset(e, 0, sizeof *e);
    e->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!e->handle) {
        const char *why = dlerror();
        return zvm_error_set(err, ENOEXEC, "cannot load the compiled module: %s",
                             why ? why : "?");
    }
    e->key = dlsym(e->handle, "zvm_wasm_key");
    const unsigned long *size = dlsym(e->handle, "zvm_wasm_instance_size");
    const unsigned long *pages = dlsym(e->handle, "zvm_wasm_initial_pages");
    *(void **)&e->init_module = dlsym(e->handle, "zvm_wasm_init_module");
    *(void **)&e->instantiate = dlsym(e->handle, "zvm_wasm_instantiate");
    *(void **)&e->memory = dlsym(e->handle, "zvm_wasm_memory");
    *(void **)&e->start = dlsym(e->handle, "zvm_wasm_start");
    if (!e->key || !size || !pages || !e->init_module || !e->instantiate || !e->memory || !e->start ||
        strcmp(e->key, key) != 0) {
        dlclose(e->handle);
        e->handle = NULL;
        return zvm_error_set(err, ENOEXEC, "the compiled module in the cache is not the one "
                                           "expected");
    }
    e->instance_size = *size;
    e->initial_pages = *pages;
    return 0;
}

int zvm__wasm_guest_prepare(const char *key, const zvm_session_t *s, zvm_wasm_guest_t *g,
                            zvm_error_t *err)
{
    memset(g, 0, sizeof *g);
    g->session = s;
    if (zvm__wasm_load("/dev/self", key, &g->entry, err) < 0)
        return -1;
    const zvm_wasm_entry_t *e = &g->entry;
    g->ctx = calloc(1, sizeof *g->ctx);
    g->instance = calloc(1, e->instance_size ? e->instance_size : 1);
    if (!g->ctx || !g->instance)
        return zvm_error_set(err, ENOMEM, "out of memory");
    int rc = zvm_wasm_ctx_init(g->ctx, s);
    if (rc < 0)
        return zvm_error_errno(err, -rc, "cannot set up the WASI context");
    /* Trap handlers (SIGSEGV/SIGBUS on an alternate stack) before the
     * filter, which forbids installing them. */
    wasm_rt_init();
    e->init_module();
    return 0;
}

static const char *trap_kind(wasm_rt_trap_t t)
{
    switch (t) {
    case WASM_RT_TRAP_OOB:
        return "out of bounds memory access";
    case WASM_RT_TRAP_EXHAUSTION:
        return "call stack exhausted";
    case WASM_RT_TRAP_INT_OVERFLOW:
        return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO:
        return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION:
        return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE:
        return "unreachable";
    case WASM_RT_TRAP_CALL_INDIRECT:
        return "indirect call type mismatch or undefined element";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
        return "uncaught exception";
    default:
        return "unknown trap";
    }
}

/* One message to the supervisor: type byte + text (a SEQPACKET record). */
static void tell(int sync_fd, char type, const char *text)
{
    char buf[ZVM_ERROR_MSG_MAX + 1];
    size_t len = strnlen(text, ZVM_ERROR_MSG_MAX - 1);
    buf[0] = type;
    memcpy(buf + 1, text, len);
    ssize_t n;
    do
        n = send(sync_fd, buf, len + 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
}

/* Kept across the longjmp of a trap. */
static zvm_wasm_guest_t *volatile running;
static volatile int running_sync_fd = -1;

/* Memory from the manifest, in pages: the cap on every linear memory from
 * its allocation on, so it holds for the start function too (which
 * wasm2c runs inside instantiation). */
static uint64_t memory_cap = UINT32_MAX;

void zvm_wasm_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages)
{
    if (initial_pages > memory_cap) {
        char msg[ZVM_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg,
                 "the module needs %llu bytes of linear memory at start, more than Memory "
                 "(%llu)",
                 (unsigned long long)initial_pages * PAGE_SIZE,
                 (unsigned long long)memory_cap * PAGE_SIZE);
        tell(running_sync_fd, ZVM_SYNC_REFUSED, msg);
        _exit(127);
    }
    /* memory.grow fails past it, as it would on a machine that has no more. */
    wasm_rt_allocate_memory(mem, initial_pages,
                            max_pages > memory_cap ? (uint32_t)memory_cap : max_pages);
}

_Noreturn void zvm__wasm_guest_run(zvm_wasm_guest_t *g, int sync_fd)
{
    running = g;
    running_sync_fd = sync_fd;
    wasm_rt_trap_t trap = (wasm_rt_trap_t)wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        tell(running_sync_fd, ZVM_SYNC_TRAP, trap_kind(trap));
        _exit(0);
    }
    const zvm_wasm_entry_t *e = &running->entry;
    uint64_t cap = running->session->manifest.memory / PAGE_SIZE;
    memory_cap = cap;
    e->instantiate(running->instance, running->ctx);
    wasm_rt_memory_t *mem = e->memory(running->instance);
    /* zvm_wasm_allocate_memory capped it already; a second look costs
     * nothing. */
    if (mem->pages > cap) {
        char msg[ZVM_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg,
                 "the module needs %llu bytes of linear memory at start, more than Memory "
                 "(%llu)",
                 (unsigned long long)mem->pages * PAGE_SIZE,
                 (unsigned long long)running->session->manifest.memory);
        tell(running_sync_fd, ZVM_SYNC_REFUSED, msg);
        _exit(127);
    }
    if (mem->max_pages > cap)
        mem->max_pages = (uint32_t)cap;
    running->ctx->memory = mem;
    running->ctx->sync_fd = running_sync_fd;
    e->start(running->instance);
    /* _start returned: main() returned 0 (wasi-libc calls proc_exit for any
     * other status). */
    zvm_wasm_exit(running->ctx, 0);
}
