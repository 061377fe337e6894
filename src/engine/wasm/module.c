/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The module's bytes before wasm2c sees them.
 *
 * wasm2c copies import and export names into C comments of the code it
 * generates; a name holding "*" "/" and a newline would close the comment
 * and put C of the module's choosing into the object zerovm loads.  So the
 * names are checked here, by walking the sections (the binary format's
 * section and name encodings, nothing more: validation proper is wasm2c's):
 * every import module, import field and export name must be a plain
 * identifier.  Custom sections (debug names, producers) are dropped from
 * the copy that is compiled: they change nothing the program does.
 */
#include "engine/wasm/wasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const unsigned char *p, *end;
} reader_t;

static bool read_byte(reader_t *r, unsigned char *b)
{
    if (r->p >= r->end)
        return false;
    *b = *r->p++;
    return true;
}

/* An unsigned LEB128 of at most 32 bits. */
static bool read_u32(reader_t *r, uint32_t *v)
{
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        unsigned char b;
        if (!read_byte(r, &b))
            return false;
        result |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        if (shift == 28)
            return false;
    }
    if (result > UINT32_MAX)
        return false;
    *v = (uint32_t)result;
    return true;
}

/* A name that cannot mean anything to C or to a comment. */
static bool plain_name(const unsigned char *s, uint32_t n)
{
    if (n == 0 || n > 255)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '$'))
            return false;
    }
    return true;
}

static int read_name(reader_t *r, const char *what, zvm_error_t *err)
{
    uint32_t n;
    if (!read_u32(r, &n) || n > (uint32_t)(r->end - r->p))
        return zvm_error_set(err, EINVAL, "invalid module: truncated %s name", what);
    if (!plain_name(r->p, n))
        return zvm_error_set(err, EINVAL,
                             "%s name of %u bytes is not a plain name (letters, digits, '_', "
                             "'.', '-', '$')",
                             what, n);
    r->p += n;
    return 0;
}

static bool skip_limits(reader_t *r)
{
    unsigned char flags;
    uint32_t v;
    if (!read_byte(r, &flags) || !read_u32(r, &v))
        return false;
    return !(flags & 1) || read_u32(r, &v);
}

static int check_imports(reader_t *r, zvm_error_t *err)
{
    uint32_t count, v;
    unsigned char kind, b;
    if (!read_u32(r, &count))
        return zvm_error_set(err, EINVAL, "invalid module: bad import section");
    for (uint32_t i = 0; i < count; i++) {
        if (read_name(r, "an import module", err) < 0 || read_name(r, "an import", err) < 0)
            return -1;
        if (!read_byte(r, &kind))
            return zvm_error_set(err, EINVAL, "invalid module: truncated import");
        bool ok;
        switch (kind) {
        case 0: /* function: type index */
            ok = read_u32(r, &v);
            break;
        case 1: /* table: reference type, limits */
            ok = read_byte(r, &b) && skip_limits(r);
            break;
        case 2: /* memory: limits */
            ok = skip_limits(r);
            break;
        case 3: /* global: value type, mutability */
            ok = read_byte(r, &b) && read_byte(r, &b);
            break;
        case 4: /* tag: attribute, type index */
            ok = read_byte(r, &b) && read_u32(r, &v);
            break;
        default:
            ok = false;
        }
        if (!ok)
            return zvm_error_set(err, EINVAL, "invalid module: bad import description");
    }
    return 0;
}

static int check_exports(reader_t *r, zvm_error_t *err)
{
    uint32_t count, index;
    unsigned char kind;
    if (!read_u32(r, &count))
        return zvm_error_set(err, EINVAL, "invalid module: bad export section");
    for (uint32_t i = 0; i < count; i++) {
        if (read_name(r, "an export", err) < 0)
            return -1;
        if (!read_byte(r, &kind) || !read_u32(r, &index))
            return zvm_error_set(err, EINVAL, "invalid module: truncated export");
    }
    return 0;
}

int zvm__wasm_module_prepare(const unsigned char *module, size_t size, unsigned char **out,
                             size_t *out_size, zvm_error_t *err)
{
    *out = NULL;
    *out_size = 0;
    if (size < 8 || memcmp(module, "\0asm\1\0\0\0", 8) != 0)
        return zvm_error_set(err, EINVAL, "not a WebAssembly 1.0 module");
    unsigned char *copy = malloc(size);
    if (!copy)
        return zvm_error_set(err, ENOMEM, "out of memory");
    memcpy(copy, module, 8);
    size_t used = 8;
    reader_t r = {module + 8, module + size};
    while (r.p < r.end) {
        const unsigned char *start = r.p;
        unsigned char id;
        uint32_t len;
        if (!read_byte(&r, &id) || !read_u32(&r, &len) || len > (uint32_t)(r.end - r.p)) {
            free(copy);
            return zvm_error_set(err, EINVAL, "invalid module: section extends past the end");
        }
        reader_t body = {r.p, r.p + len};
        int rc = 0;
        if (id == 2)
            rc = check_imports(&body, err);
        else if (id == 7)
            rc = check_exports(&body, err);
        if (rc < 0) {
            free(copy);
            return -1;
        }
        r.p += len;
        if (id != 0) {                 /* custom sections are not compiled */
            memcpy(copy + used, start, (size_t)(r.p - start));
            used += (size_t)(r.p - start);
        }
    }
    *out = copy;
    *out_size = used;
    return 0;
}
