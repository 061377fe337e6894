/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ahead-of-time compilation of a WebAssembly module, and the cache of the
 * results.
 *
 * A module is translated to C by wabt's wasm2c (which also validates it:
 * a module wasm2c refuses never runs), checked against the imports zerovm
 * provides, and compiled by the system C compiler into a shared object.
 * Compiling takes a second or more, so the object is kept in the cache:
 *
 *   <cache>/wasm/<key>.so      key = SHA-256 of (format version, the
 *                              identity of wasm2c and cc, the module bytes)
 *
 * An entry is written under a temporary name in the same directory and
 * renamed into place, so a crash or a concurrent run never leaves a half
 * object under the final name.  Each entry ends with a trailer holding the
 * SHA-256 of everything before it; an entry whose trailer does not match
 * (truncated, overwritten, bit rot) is removed and built again.
 *
 * The directory is a bounded cache (lib/cache.h): an entry is held (shared
 * flock) from before it has its name, or from when it is found, until the
 * session ends, and a new entry prunes the least recently used others past
 * $ZEROVM_WASM_CACHE_MAX bytes (default 1 GiB).
 */
#include "engine/wasm/wasm.h"

#include <dirent.h>
#include <nettle/sha2.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cache.h"
#include "lib/util.h"
#include "zvm/locate.h"

/* Changes whenever the generated glue or the runtime ABI changes. */
#define CACHE_FORMAT "zerovm-wasm-cache/6"
#define TRAILER_MAGIC "ZVMWASM2"

typedef struct trailer {
    char magic[8];
    uint64_t payload_size;             /* bytes before the trailer */
    uint64_t initial_pages;            /* linear memory at start (64 KiB pages) */
    unsigned char sha256[32];          /* of those bytes */
} trailer_t;

/* ---- hashing ------------------------------------------------------------ */

/* SHA-256 by nettle: it uses the CPU's SHA instructions, and it is small
 * enough to link (libcrypto costs over a millisecond of every start). */
static void sha256(const void *const *parts, const size_t *sizes, size_t nparts,
                   unsigned char out[32])
{
    struct sha256_ctx c;
    sha256_init(&c);
    for (size_t i = 0; i < nparts; i++)
        sha256_update(&c, sizes[i], parts[i]);
    sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- the tools ---------------------------------------------------------- */

/* Absolute path of $ENV when set, else of `name` on PATH, or NULL. */
static char *find_tool(const char *env, const char *name)
{
    const char *set = getenv(env);
    if (set && *set)
        return set[0] == '/' ? strdup(set) : NULL;
    return zvm_which(name);
}

/* What identifies a tool's version without running it: its resolved path,
 * size and modification time (a package upgrade changes them). */
static void tool_identity(const char *path, char *out, size_t size)
{
    struct stat st;
    char *real = realpath(path, NULL);
    if (real && stat(real, &st) == 0)
        snprintf(out, size, "%s:%lld:%lld.%09ld", real, (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    else
        snprintf(out, size, "%s", path);
    free(real);
}

int zvm__wasm_tools(zvm_wasm_tools_t *t, zvm_error_t *err)
{
    memset(t, 0, sizeof *t);
    t->wasm2c = find_tool("ZEROVM_WASM2C", "wasm2c");
    t->cc = find_tool("ZEROVM_CC", "cc");
    if (!t->wasm2c || !t->cc) {
        zvm__wasm_tools_release(t);
        return zvm_error_set(err, ENOENT,
                             "cannot compile WebAssembly: %s not found (install the wabt and gcc "
                             "packages)",
                             !t->wasm2c ? "wasm2c" : "a C compiler (cc)");
    }
    return 0;
}

void zvm__wasm_tools_release(zvm_wasm_tools_t *t)
{
    free(t->wasm2c);
    free(t->cc);
    t->wasm2c = t->cc = NULL;
}

/* ---- the key and the entry ---------------------------------------------- */

int zvm__wasm_key(const unsigned char *module, size_t size, const zvm_wasm_tools_t *t,
                  char key[65], zvm_error_t *err)
{
    char ids[2 * 4200];
    char a[4200], b[4200];
    tool_identity(t->wasm2c, a, sizeof a);
    tool_identity(t->cc, b, sizeof b);
    int n = snprintf(ids, sizeof ids, "%s\n%s\n%s\n", CACHE_FORMAT, a, b);
    const void *parts[] = {ids, module};
    size_t sizes[] = {(size_t)n, size};
    unsigned char d[32];
    (void)err;
    sha256(parts, sizes, 2, d);
    hex(d, 32, key);
    return 0;
}

/* Is the entry open at fd an intact object?  The object is later loaded
 * through this very descriptor, so what was checked is what runs. */
static bool entry_intact(int fd, uint64_t *initial_pages)
{
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (size_t)st.st_size < sizeof(trailer_t) ||
        (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
        return false;
    trailer_t tr;
    size_t payload = (size_t)st.st_size - sizeof tr;
    memcpy(&tr, (const char *)map + payload, sizeof tr);
    bool ok = false;
    if (memcmp(tr.magic, TRAILER_MAGIC, 8) == 0 && tr.payload_size == payload) {
        const void *parts[] = {map};
        size_t sizes[] = {payload};
        unsigned char d[32];
        sha256(parts, sizes, 1, d);
        ok = memcmp(d, tr.sha256, 32) == 0;
        *initial_pages = tr.initial_pages;
    }
    munmap(map, (size_t)st.st_size);
    return ok;
}

/* The entry dir/name, held (lib/cache.h: a shared lock for as long as the
 * object may run, so no pruner removes it), or -1 when it is absent, was
 * just pruned, or is not intact (*damaged). */
static int entry_open_held(int dir, const char *name, uint64_t *initial_pages, bool *damaged)
{
    *damaged = false;
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (zvm__cache_hold(dir, name, fd) != 0) {
        close(fd);
        return -1;
    }
    if (!entry_intact(fd, initial_pages)) {
        *damaged = true;
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- building ----------------------------------------------------------- */

/* The real path of a tool, which must be under /usr: the compile jail
 * shows nothing else of the host. */
static char *tool_inside(const char *path, zvm_error_t *err)
{
    char *real = realpath(path, NULL);
    if (!real) {
        zvm_error_errno(err, errno, "cannot resolve '%s'", path);
        return NULL;
    }
    if (strncmp(real, "/usr/", 5) != 0) {
        zvm_error_set(err, EINVAL,
                      "'%s' is outside /usr, the only host tree the compile jail shows", real);
        free(real);
        return NULL;
    }
    return real;
}

/* Run one tool in the compile jail; 0, or -1 with err (a limit, the jail)
 * or with *failed set (the tool's complaint is in build_dir/errors);
 * *limit is set when a limit of the compile was reached. */
static int run_tool(const char *build_dir, char *const argv[], const zvm_compile_limits_t *l,
                    uint64_t deadline, bool *failed, bool *limit, zvm_error_t *err)
{
    *failed = false;
    int rc = zvm__compile_run(build_dir, argv, l, deadline, err);
    if (rc == 1)
        *failed = true;
    /* Past a limit of the compile: the module is refused, as one that
     * asks for too much. */
    if (rc < 0 && (err->code == ENOMEM || err->code == ETIMEDOUT))
        *limit = true;
    return rc == 0 ? 0 : -1;
}

/* The first line of a tool's complaint that says something ("error:" if
 * there is one), without the file name prefix. */
static void first_error(const char *errfile, const char *fallback, char *out, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    snprintf(out, size, "%s", fallback);
    if (zvm_read_file(errfile, 1 << 16, &text, &len) < 0)
        return;
    char *line = strstr(text, "error: ");
    if (line) {
        line += 7;
    } else {
        line = text;
        while (*line == '\n')
            line++;
    }
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    if (*line)
        snprintf(out, size, "%s", line);
    free(text);
}

static const zvm_wasm_import_t *find_import(const char *module, const char *name)
{
    for (unsigned i = 0; i < zvm_wasm_nimports; i++)
        if (strcmp(zvm_wasm_imports[i].module, module) == 0 &&
            strcmp(zvm_wasm_imports[i].name, name) == 0)
            return &zvm_wasm_imports[i];
    return NULL;
}

/*
 * Read wasm2c's header: every import must be a function zerovm provides;
 * the module must export its memory and _start.  Writes the glue that
 * gives the engine fixed entry points whatever the module imports.
 */
static int write_glue(const char *dir, const char *key, unsigned long *pages_out, zvm_error_t *err,
                      bool *invalid)
{
    char path[4096];
    char *h = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%.3000s/prog.h", dir);
    int rc = zvm_read_file(path, 64u << 20, &h, &len);
    if (rc < 0)
        return zvm_error_errno(err, -rc, "cannot read wasm2c's output");

    FILE *g = NULL;
    char *inst = NULL;
    int ret = -1;
    /* Imports: "/" "* import: 'module' 'name' *" "/" */
    for (char *p = h; (p = strstr(p, "/* import: '")) != NULL;) {
        p += 12;
        /* Names are plain (module.c), so a quote here is wasm2c's. */
        char *m_end = strchr(p, '\'');
        char *n = m_end && strncmp(m_end, "' '", 3) == 0 ? m_end + 3 : NULL;
        char *n_end = n ? strchr(n, '\'') : NULL;
        if (!n_end) {
            *invalid = true;
            zvm_error_set(err, EINVAL, "an import zerovm cannot read back from wasm2c's output");
            goto out;
        }
        *m_end = *n_end = '\0';
        if (!find_import(p, n)) {
            *invalid = true;
            zvm_error_set(err, EINVAL, "imports '%s' '%s', which zerovm does not provide", p, n);
            goto out;
        }
        *m_end = *n_end = '\'';
        p = n_end + 1;
    }
    if (!strstr(h, "wasm_rt_memory_t* Z_" ZVM_WASM_MODULE_NAME "Z_memory(")) {
        *invalid = true;
        zvm_error_set(err, EINVAL, "the module exports no memory named 'memory'");
        goto out;
    }
    if (!strstr(h, "void Z_" ZVM_WASM_MODULE_NAME "Z__start(Z_" ZVM_WASM_MODULE_NAME
                   "_instance_t*);")) {
        *invalid = true;
        zvm_error_set(err, EINVAL, "the module exports no '_start' function (a WASI command)");
        goto out;
    }
    /* void Z_prog_instantiate(Z_prog_instance_t*, struct Z_x_instance_t*, ...); */
    const char *decl = "void Z_" ZVM_WASM_MODULE_NAME "_instantiate(Z_" ZVM_WASM_MODULE_NAME
                       "_instance_t*";
    char *d = strstr(h, decl);
    char *d_end = d ? strstr(d, ");") : NULL;
    if (!d || !d_end)
        goto generated;
    d += strlen(decl);
    *d_end = '\0';
    /* Arguments: the instance, then our context as each imported module. */
    size_t cap = 64;
    inst = malloc(cap);
    if (!inst)
        goto nomem;
    strcpy(inst, "inst");
    for (char *s = d; (s = strstr(s, "struct ")) != NULL;) {
        char *e = strchr(s, '*');
        if (!e)
            goto generated;
        size_t need = strlen(inst) + (size_t)(e - s) + 16;
        if (need > cap) {
            char *bigger = realloc(inst, cap = need * 2);
            if (!bigger)
                goto nomem;
            inst = bigger;
        }
        strcat(inst, ", (");
        strncat(inst, s, (size_t)(e - s) + 1);
        strcat(inst, ")ctx");
        s = e;
    }

    /* The linear memory at start, for the check against Memory before
     * anything runs: wasm2c allocates it in the instance's set-up. */
    unsigned long initial_pages = 0;
    {
        char *c = NULL;
        size_t clen = 0;
        snprintf(path, sizeof path, "%.3000s/prog.c", dir);
        if (zvm_read_file(path, 1u << 30, &c, &clen) == 0) {
            static const char call[] = "wasm_rt_allocate_memory(&instance->w2c_memory, ";
            const char *at = strstr(c, call);
            if (at)
                initial_pages = strtoul(at + sizeof call - 1, NULL, 10);
            free(c);
        }
    }
    *pages_out = initial_pages;
    snprintf(path, sizeof path, "%.3000s/glue.c", dir);
    g = fopen(path, "w");
    if (!g) {
        zvm_error_errno(err, errno, "cannot write '%s'", path);
        goto out;
    }
    fprintf(g, "/* Generated by zerovm: fixed entry points for one module. */\n"
               "#include \"prog.h\"\n\n"
               "/* Every function zerovm provides, with its type: a module that\n"
               " * imports one with another type does not compile. */\n");
    for (unsigned i = 0; i < zvm_wasm_nimports; i++) {
        const char *mod = zvm_wasm_imports[i].module;
        /* Only modules the program imports are declared in prog.h. */
        char tag[256];
        snprintf(tag, sizeof tag, "struct Z_%s_instance_t;", mod);
        if (strstr(h, tag))
            fprintf(g, "%s\n", zvm_wasm_imports[i].prototype);
    }
    fprintf(g,
            "\n#define EXPORT __attribute__((visibility(\"default\")))\n"
            "EXPORT const char zvm_wasm_key[] = \"%s\";\n"
            "EXPORT const unsigned long zvm_wasm_instance_size = sizeof(Z_prog_instance_t);\n"
            "EXPORT const unsigned long zvm_wasm_initial_pages = %luUL;\n"
            "EXPORT void zvm_wasm_init_module(void) { Z_prog_init_module(); }\n"
            "EXPORT void zvm_wasm_instantiate(void *inst, void *ctx)\n"
            "{\n    (void)ctx;\n    Z_prog_instantiate(%s);\n}\n"
            "EXPORT wasm_rt_memory_t *zvm_wasm_memory(void *inst) { return Z_progZ_memory(inst); }\n"
            "EXPORT void zvm_wasm_start(void *inst) { Z_progZ__start(inst); }\n",
            key, initial_pages, inst);
    if (fclose(g) != 0) {
        g = NULL;
        zvm_error_errno(err, errno, "cannot write '%s'", path);
        goto out;
    }
    g = NULL;
    ret = 0;
    goto out;
generated:
    zvm_error_set(err, EINVAL, "unexpected wasm2c output (no Z_prog_instantiate)");
    goto out;
nomem:
    zvm_error_set(err, ENOMEM, "out of memory");
out:
    if (g)
        fclose(g);
    free(inst);
    free(h);
    return ret;
}

/* The name in a "conflicting types for 'Z_<mod>Z_<name>'" complaint, as
 * "'mod' 'name'"; false when the complaint is another one. */
static bool conflicting_import(const char *errfile, char *out, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    if (zvm_read_file(errfile, 1 << 16, &text, &len) < 0)
        return false;
    bool found = false;
    char *p = strstr(text, "conflicting types for ");
    if (p) {
        p = strstr(p, "Z_");
        char *end = p ? strpbrk(p, "'\xe2 ;(") : NULL;
        if (p && end) {
            *end = '\0';
            for (unsigned i = 0; i < zvm_wasm_nimports; i++) {
                char sym[300];
                snprintf(sym, sizeof sym, "Z_%sZ_%s", zvm_wasm_imports[i].module,
                         zvm_wasm_imports[i].name);
                if (strcmp(sym, p) == 0) {
                    snprintf(out, size, "'%s' '%s'", zvm_wasm_imports[i].module,
                             zvm_wasm_imports[i].name);
                    found = true;
                    break;
                }
            }
        }
    }
    free(text);
    return found;
}

static int append_trailer(const char *path, unsigned long initial_pages, zvm_error_t *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = zvm_read_file(path, 1u << 30, &data, &len);
    if (rc < 0)
        return zvm_error_errno(err, -rc, "cannot read the compiled object");
    trailer_t tr;
    memcpy(tr.magic, TRAILER_MAGIC, 8);
    tr.payload_size = len;
    tr.initial_pages = initial_pages;
    const void *parts[] = {data};
    size_t sizes[] = {len};
    sha256(parts, sizes, 1, tr.sha256);
    free(data);
    cleanup_close int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || zvm_write_all(fd, &tr, sizeof tr) < 0 || fsync(fd) < 0)
        return zvm_error_errno(err, errno, "cannot finish the compiled object");
    return 0;
}

/* A new build directory dir/build.XXXXXX, locked (exclusive flock on
 * *lock) from before any pruner can see it: the cache's lock is held shared
 * while it is made, and the pruner holds it exclusively, so an unlocked
 * build directory is one whose maker is gone (is_temp, temps_locked). */
static int make_build_dir(const char *dir, char tmp[4096], int *lock, zvm_error_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%.3000s/.lock", dir);
    cleanup_close int cache_lock = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (cache_lock < 0 || flock(cache_lock, LOCK_SH) < 0)
        return zvm_error_errno(err, errno, "cache: cannot take the lock");
    snprintf(tmp, 4096, "%.3000s/build.XXXXXX", dir);
    if (!mkdtemp(tmp))
        return zvm_error_errno(err, errno, "cannot create a build directory in '%s'", dir);
    *lock = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*lock < 0 || flock(*lock, LOCK_EX) < 0) {
        int e = errno;
        zvm_remove_tree_at(AT_FDCWD, tmp);
        return zvm_error_errno(err, e, "cannot lock '%s'", tmp);
    }
    return 0;
}

/* Compile the module into dir/entry; *held receives the new entry, held
 * since before it had its name. */
static int build(const unsigned char *module, size_t size, const zvm_wasm_tools_t *t,
                 const char *key, const char *dir, const char *entry, int *held,
                 zvm_error_t *err, bool *invalid)
{
    char tmp[4096], wasm[4096], so[4096], errfile[4096];
    zvm_compile_limits_t limits;
    if (zvm__compile_limits(&limits, err) < 0)
        return -1;
    uint64_t deadline = zvm_now_ns() + (uint64_t)limits.seconds * 1000000000ull;
    cleanup_free char *wasm2c = tool_inside(t->wasm2c, err);
    cleanup_free char *cc_path = wasm2c ? tool_inside(t->cc, err) : NULL;
    if (!cc_path)
        return -1;
    cleanup_close int build_lock = -1;
    if (make_build_dir(dir, tmp, &build_lock, err) < 0)
        return -1;
    snprintf(wasm, sizeof wasm, "%.3050s/prog.wasm", tmp);
    snprintf(so, sizeof so, "%.3050s/prog.so", tmp);
    snprintf(errfile, sizeof errfile, "%.3050s/errors", tmp);
    int ret = -1;
    bool failed = false;
    unsigned char *plain = NULL;
    size_t plain_size = 0;
    if (zvm__wasm_module_prepare(module, size, &plain, &plain_size, err) < 0) {
        *invalid = true;
        goto out;
    }
    {
        /* wasm2c reads our copy: the bytes checked are the bytes compiled. */
        cleanup_close int fd = open(wasm, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || zvm_write_all(fd, plain, plain_size) < 0) {
            zvm_error_errno(err, errno, "cannot write '%s'", wasm);
            goto out;
        }
    }
    /* Paths as the jail shows them: the build directory is /build. */
    char *w2c[] = {wasm2c, "/build/prog.wasm", "-o", "/build/prog.c",
                   "--module-name=" ZVM_WASM_MODULE_NAME, NULL};
    if (run_tool(tmp, w2c, &limits, deadline, &failed, invalid, err) < 0) {
        if (!failed)
            goto out;
        char why[512];
        first_error(errfile, "wasm2c refused it", why, sizeof why);
        *invalid = true;
        zvm_error_set(err, EINVAL, "invalid module: %s", why);
        goto out;
    }
    unsigned long initial_pages = 0;
    if (write_glue(tmp, key, &initial_pages, err, invalid) < 0)
        goto out;
    /* The module's own symbols stay inside the object; only the glue's
     * entry points are exported.  Imports resolve against zerovm. */
    /* -fno-math-errno: wasm has no errno, and f64.sqrt becomes one
     * instruction; libm for the float operations wasm2c calls out to. */
    char *cc[] = {cc_path, "-O2", "-fPIC", "-shared", "-fvisibility=hidden",
                  "-fno-strict-aliasing", "-fno-math-errno", "-Wl,-z,now", "-Wl,-z,noexecstack",
                  /* The memory is allocated capped at Memory (guest.c). */
                  "-Dwasm_rt_allocate_memory=zvm_wasm_allocate_memory",
                  "-I/build", "-o", "/build/prog.so", "/build/prog.c", "/build/glue.c", "-lm",
                  NULL};
    if (run_tool(tmp, cc, &limits, deadline, &failed, invalid, err) < 0) {
        if (!failed)
            goto out;
        char which[600], why[512];
        if (conflicting_import(errfile, which, sizeof which)) {
            *invalid = true;
            zvm_error_set(err, EINVAL, "imports %s with a type zerovm does not provide", which);
        } else {
            first_error(errfile, "the C compiler failed", why, sizeof why);
            zvm_error_set(err, EIO, "cannot compile the module: %s", why);
        }
        goto out;
    }
    if (append_trailer(so, initial_pages, err) < 0)
        goto out;
    if ((*held = open(so, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || flock(*held, LOCK_SH) < 0) {
        zvm_error_errno(err, errno, "cannot read back '%s'", so);
        goto out;
    }
    if (rename(so, entry) < 0) {
        zvm_error_errno(err, errno, "cannot store '%s'", entry);
        goto out;
    }
    futimens(*held, NULL);
    {
        /* In a block: a goto above must not skip a descriptor to close. */
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
            fsync(dfd);
    }
    ret = 0;
out:
    if (ret < 0 && *held >= 0)
        close(steal_fd(held));
    free(plain);
    zvm_remove_tree_at(AT_FDCWD, tmp);
    return ret;
}

static bool is_object_name(const char *name)
{
    size_t n = strlen(name);
    return n == 64 + 3 && strspn(name, "0123456789abcdef") == 64 && strcmp(name + 64, ".so") == 0;
}

static bool is_build_dir(const char *name)
{
    return strncmp(name, "build.", 6) == 0;
}

static const zvm_cache_kind_t objects_kind = {
    .is_entry = is_object_name, .is_temp = is_build_dir, .temps_locked = true};

int zvm__wasm_object(const unsigned char *module, size_t size, const char *cache_dir,
                     zvm_wasm_object_t *obj, zvm_error_t *err)
{
    memset(obj, 0, sizeof *obj);
    obj->fd = -1;
    zvm_wasm_tools_t t;
    char dir[4096];
    uint64_t bound;
    if (zvm__cache_max(ZVM_WASM_CACHE_MAX_ENV, ZVM_WASM_CACHE_MAX_DEFAULT, &bound, err) < 0 ||
        zvm__wasm_tools(&t, err) < 0)
        return -1;
    int ret = -1;
    if (zvm__wasm_key(module, size, &t, obj->key, err) < 0)
        goto out;
    if (strlen(cache_dir) > 3000) {
        zvm_error_set(err, ENAMETOOLONG, "cache directory path too long");
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/wasm", cache_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        zvm_error_errno(err, errno, "cannot create '%s'", dir);
        goto out;
    }
    if (asprintf(&obj->path, "%s/%s.so", dir, obj->key) < 0) {
        obj->path = NULL;
        zvm_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    const char *name = strrchr(obj->path, '/') + 1;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        zvm_error_errno(err, errno, "cannot open '%s'", dir);
        goto out;
    }
    bool damaged = false;
    if ((obj->fd = entry_open_held(dfd, name, &obj->initial_pages, &damaged)) >= 0) {
        ret = 0;
        goto out;
    }
    /* Absent or damaged: (re)build.  A damaged entry goes first, so that
     * nobody loads it while we compile. */
    if (damaged && unlinkat(dfd, name, 0) == 0)
        obj->rebuilt = true;
    uint64_t t0 = zvm_now_ns();
    if (build(module, size, &t, obj->key, dir, obj->path, &obj->fd, err, &obj->invalid) < 0)
        goto out;
    obj->compiled = true;
    obj->compile_seconds = (double)(zvm_now_ns() - t0) / 1e9;
    if (!entry_intact(obj->fd, &obj->initial_pages)) {
        zvm_error_set(err, EIO, "the compiled module cannot be read back from '%s'", obj->path);
        goto out;
    }
    /* A new entry: bring the cache back under its bound.  Best effort: an
     * entry that cannot go now (in use) goes next time. */
    zvm_error_t ignored = {0};
    zvm__cache_prune(dfd, &objects_kind, bound, &ignored);
    ret = 0;
out:
    zvm__wasm_tools_release(&t);
    return ret;
}

void zvm__wasm_object_release(zvm_wasm_object_t *obj)
{
    free(obj->path);
    obj->path = NULL;
    if (obj->fd >= 0)
        close(obj->fd);
    obj->fd = -1;
}
