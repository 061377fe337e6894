/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading libarchive and libcrypto on first use; see lazy.h for why.
 */
#define ZVM_LAZY_IMPLEMENTATION
#include "lib/lazy.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>

struct zvm__archive_api zvm__archive;
struct zvm__crypto_api zvm__crypto;

static int load(const char *soname, bool *loaded, void *table, const char *const *names,
                size_t count, zvm_error_t *err)
{
    if (*loaded)
        return 0;
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return zvm_error_set(err, ENOENT, "cannot load '%s': %s", soname, dlerror());
    void **slots = table;
    for (size_t i = 0; i < count; i++) {
        slots[i] = dlsym(h, names[i]);
        if (!slots[i])
            return zvm_error_set(err, ENOENT, "'%s' has no '%s'", soname, names[i]);
    }
    *loaded = true; /* the handle stays open for the life of the process */
    return 0;
}

#define ZVM__LAZY_NAME(name) #name,

int zvm__archive_load(zvm_error_t *err)
{
    static bool loaded;
    static const char *const names[] = {ZVM_ARCHIVE_SYMBOLS(ZVM__LAZY_NAME)};
    _Static_assert(sizeof zvm__archive == sizeof names / sizeof names[0] * sizeof(void *),
                   "one pointer per name");
    return load(ZVM_LIBARCHIVE_SONAME, &loaded, &zvm__archive, names,
                sizeof names / sizeof names[0], err);
}

int zvm__crypto_load(zvm_error_t *err)
{
    static bool loaded;
    static const char *const names[] = {ZVM_CRYPTO_SYMBOLS(ZVM__LAZY_NAME)};
    _Static_assert(sizeof zvm__crypto == sizeof names / sizeof names[0] * sizeof(void *),
                   "one pointer per name");
    return load(ZVM_LIBCRYPTO_SONAME, &loaded, &zvm__crypto, names,
                sizeof names / sizeof names[0], err);
}
