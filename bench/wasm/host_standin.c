/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/wasm/host_standin.c: a minimal host for a wasm2c module
 * (`wasm2c --module-name=prog`), used by bench/wasm/run.sh as a stand-in for
 * zerovm's wasm engine and to time instantiation independently of zerovm.
 *
 * The module is a shared object (gcc -O2 -shared -fPIC) built from the
 * wasm2c output plus a small glue file (written by run.sh) that exports
 * `zvm_bench_instance_size` (sizeof(Z_prog_instance_t)) and one-line
 * wrappers zvm_bench_{init_module,instantiate,free,start,memory} of the
 * module's Z_prog_* functions, so that the module may also be compiled with
 * -fvisibility=hidden (as zerovm's cache does).  Its undefined
 * symbols, the wasm2c runtime (wasm-rt-impl.c, linked in here) and the WASI
 * imports below, resolve against this program (linked with -rdynamic).
 *
 * WASI preview1, only what the benchmark programs need: fd_write (stdout,
 * stderr), fd_close, fd_fdstat_get, fd_seek (ESPIPE), proc_exit, args and
 * environ (both empty), clock_time_get, random_get.  Every pointer and length
 * from the program is checked against the linear memory.
 *
 * usage: host_standin PROG.so                run _start once; exit status is the
 *                                            program's (or 128 + trap number)
 *        host_standin -t N [-r M] PROG.so    timing: dlopen, wasm_rt_init,
 *                                            Z_prog_init_module once, then N x
 *                                            (instantiate; free) and M x
 *                                            (instantiate; _start; free) with
 *                                            output discarded; prints µs
 *
 * Built with the stock runtime with one change: wasm_rt_free_memory of wabt
 * 1.0.32 unmaps only the committed pages and leaks the rest of the 8 GiB
 * reservation, so the runtime is compiled with that function renamed and the
 * fixed version below is used (it unmaps the whole reservation).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasm-rt-impl.h"
#include "wasm-rt.h"

/* ---- the fixed wasm_rt_free_memory ------------------------------------- */

void wasm_rt_free_memory(wasm_rt_memory_t *memory)
{
#if WASM_RT_MEMCHECK_SIGNAL_HANDLER
    munmap(memory->data, 0x200000000ul);   /* the whole reservation (8 GiB) */
#else
    free(memory->data);
#endif
}

/* ---- WASI ------------------------------------------------------------- */

/* The host context handed to the module as its wasi_snapshot_preview1
 * "instance" (wasm2c passes it back to every imported function). */
struct Z_wasi_snapshot_preview1_instance_t {
    wasm_rt_memory_t *mem;
    int discard;               /* timing mode: swallow the program's output */
    int exited;
    uint32_t exit_code;
};
typedef struct Z_wasi_snapshot_preview1_instance_t wasi_t;

enum { W_ESUCCESS = 0, W_EBADF = 8, W_EFAULT = 21, W_EINVAL = 28, W_EIO = 29, W_ESPIPE = 70 };

static int range_ok(const wasi_t *w, uint32_t ptr, uint64_t len)
{
    return (uint64_t)ptr + len <= w->mem->size;
}
static uint32_t ld32(const wasi_t *w, uint32_t p)
{
    uint32_t v;
    memcpy(&v, w->mem->data + p, 4);
    return v;
}
static void st32(wasi_t *w, uint32_t p, uint32_t v) { memcpy(w->mem->data + p, &v, 4); }
static void st64(wasi_t *w, uint32_t p, uint64_t v) { memcpy(w->mem->data + p, &v, 8); }

uint32_t Z_wasi_snapshot_preview1Z_fd_write(wasi_t *w, uint32_t fd, uint32_t iovs, uint32_t n,
                                            uint32_t nwritten)
{
    if (fd != 1 && fd != 2)
        return W_EBADF;
    if (!range_ok(w, iovs, (uint64_t)n * 8) || !range_ok(w, nwritten, 4))
        return W_EFAULT;
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t base = ld32(w, iovs + 8 * i), len = ld32(w, iovs + 8 * i + 4);
        if (!range_ok(w, base, len))
            return W_EFAULT;
        const uint8_t *p = w->mem->data + base;
        uint32_t left = len;
        while (left > 0 && !w->discard) {
            ssize_t r = write((int)fd, p, left);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return W_EIO;
            }
            p += r;
            left -= (uint32_t)r;
        }
        total += len;
    }
    st32(w, nwritten, total);
    return W_ESUCCESS;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_close(wasi_t *w, uint32_t fd)
{
    (void)w;
    return fd <= 2 ? W_ESUCCESS : W_EBADF;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(wasi_t *w, uint32_t fd, uint32_t out)
{
    if (fd > 2)
        return W_EBADF;
    if (!range_ok(w, out, 24))
        return W_EFAULT;
    struct stat st;
    uint8_t type = 0;                                 /* unknown */
    if (fstat((int)fd, &st) == 0)
        type = S_ISCHR(st.st_mode) ? 2 : S_ISREG(st.st_mode) ? 4 : S_ISFIFO(st.st_mode) ? 6 : 0;
    uint64_t rights = ~(uint64_t)0;
    if (type == 2 && isatty((int)fd))                 /* wasi-libc's isatty(): no seek/tell */
        rights &= ~((uint64_t)1 << 2 | (uint64_t)1 << 5);
    memset(w->mem->data + out, 0, 24);
    w->mem->data[out] = type;
    st64(w, out + 8, rights);
    st64(w, out + 16, rights);
    return W_ESUCCESS;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_seek(wasi_t *w, uint32_t fd, uint64_t off, uint32_t whence,
                                           uint32_t out)
{
    (void)w; (void)fd; (void)off; (void)whence; (void)out;
    return W_ESPIPE;
}

void Z_wasi_snapshot_preview1Z_proc_exit(wasi_t *w, uint32_t code)
{
    w->exited = 1;
    w->exit_code = code;
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);         /* unwinds to wasm_rt_impl_try */
}

static uint32_t sizes_zero(wasi_t *w, uint32_t a, uint32_t b)
{
    if (!range_ok(w, a, 4) || !range_ok(w, b, 4))
        return W_EFAULT;
    st32(w, a, 0);
    st32(w, b, 0);
    return W_ESUCCESS;
}
uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(wasi_t *w, uint32_t a, uint32_t b)
{
    return sizes_zero(w, a, b);
}
uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(wasi_t *w, uint32_t a, uint32_t b)
{
    return sizes_zero(w, a, b);
}
uint32_t Z_wasi_snapshot_preview1Z_args_get(wasi_t *w, uint32_t a, uint32_t b)
{
    (void)w; (void)a; (void)b;
    return W_ESUCCESS;
}
uint32_t Z_wasi_snapshot_preview1Z_environ_get(wasi_t *w, uint32_t a, uint32_t b)
{
    (void)w; (void)a; (void)b;
    return W_ESUCCESS;
}

uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(wasi_t *w, uint32_t id, uint64_t prec,
                                                  uint32_t out)
{
    (void)prec;
    static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                    CLOCK_THREAD_CPUTIME_ID};
    if (id > 3)
        return W_EINVAL;
    if (!range_ok(w, out, 8))
        return W_EFAULT;
    struct timespec ts;
    clock_gettime(ids[id], &ts);
    st64(w, out, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    return W_ESUCCESS;
}

uint32_t Z_wasi_snapshot_preview1Z_random_get(wasi_t *w, uint32_t buf, uint32_t len)
{
    if (!range_ok(w, buf, len))
        return W_EFAULT;
    for (uint32_t done = 0; done < len;) {
        ssize_t r = getrandom(w->mem->data + buf + done, len - done, 0);
        if (r < 0 && errno != EINTR)
            return W_EIO;
        if (r > 0)
            done += (uint32_t)r;
    }
    return W_ESUCCESS;
}

/* ---- the module ----------------------------------------------------------- */

struct module {
    void (*init_module)(void);
    void (*instantiate)(void *inst, wasi_t *w);
    void (*free_inst)(void *inst);
    void (*start)(void *inst);
    wasm_rt_memory_t *(*memory)(void *inst);
    size_t size;
};

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "host_standin: the module has no %s\n", name);
        exit(125);
    }
    return p;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* instantiate, run _start, free: returns the exit status */
static int run_once(const struct module *m, void *inst, int discard)
{
    wasi_t w = {.discard = discard};
    m->instantiate(inst, &w);
    w.mem = m->memory(inst);
    int status;
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap == WASM_RT_TRAP_NONE) {
        m->start(inst);
        status = 0;                      /* _start returned without proc_exit */
    } else if (w.exited) {
        status = (int)(w.exit_code & 0xff);
    } else {
        fprintf(stderr, "host_standin: trap: %s\n", wasm_rt_strerror(trap));
        status = 128 + (int)trap;
    }
    m->free_inst(inst);
    return status;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stats(const char *what, double *v, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("%-28s mean %8.1f us  median %8.1f  min %8.1f  p90 %8.1f  (n=%d)\n", what, sum / n,
           v[n / 2], v[0], v[(n * 9) / 10], n);
}

int main(int argc, char **argv)
{
    int iters = 0, runs = 0, opt;
    while ((opt = getopt(argc, argv, "t:r:")) != -1) {
        switch (opt) {
        case 't': iters = atoi(optarg); break;
        case 'r': runs = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: host_standin [-t N [-r M]] PROG.so\n");
            return 125;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: host_standin [-t N [-r M]] PROG.so\n");
        return 125;
    }
    double t0 = now_us();
    void *h = dlopen(argv[optind], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "host_standin: %s\n", dlerror());
        return 125;
    }
    double t1 = now_us();
    struct module m = {
        .init_module = (void (*)(void))sym(h, "zvm_bench_init_module"),
        .instantiate = (void (*)(void *, wasi_t *))sym(h, "zvm_bench_instantiate"),
        .free_inst = (void (*)(void *))sym(h, "zvm_bench_free"),
        .start = (void (*)(void *))sym(h, "zvm_bench_start"),
        .memory = (wasm_rt_memory_t * (*)(void *)) sym(h, "zvm_bench_memory"),
        .size = *(const size_t *)sym(h, "zvm_bench_instance_size"),
    };
    void *inst = calloc(1, m.size);
    if (!inst)
        return 125;
    double t2 = now_us();
    wasm_rt_init();
    double t3 = now_us();
    m.init_module();
    double t4 = now_us();

    if (iters <= 0)
        return run_once(&m, inst, 0);

    printf("%-28s %8.1f us\n", "dlopen (RTLD_NOW)", t1 - t0);
    printf("%-28s %8.1f us\n", "wasm_rt_init", t3 - t2);
    printf("%-28s %8.1f us\n", "Z_prog_init_module", t4 - t3);
    double *vi = malloc(sizeof(double) * (size_t)iters), *vf = malloc(sizeof(double) * (size_t)iters);
    if (!vi || !vf)
        return 125;
    for (int i = 0; i < iters; i++) {
        wasi_t w = {.discard = 1};
        double a = now_us();
        m.instantiate(inst, &w);
        double b = now_us();
        m.free_inst(inst);
        double c = now_us();
        vi[i] = b - a;
        vf[i] = c - b;
    }
    stats("Z_prog_instantiate", vi, iters);
    stats("Z_prog_free", vf, iters);
    if (runs > 0) {
        double *vr = malloc(sizeof(double) * (size_t)runs);
        if (!vr)
            return 125;
        for (int i = 0; i < runs; i++) {
            double a = now_us();
            int st = run_once(&m, inst, 1);
            vr[i] = now_us() - a;
            if (st != 0) {
                fprintf(stderr, "host_standin: run %d exited with %d\n", i, st);
                return 1;
            }
        }
        stats("instantiate+_start+free", vr, runs);
    }
    return 0;
}
