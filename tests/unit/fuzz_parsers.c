/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the manifest and nvram parsers (not part of the
 * default build).  The first input byte picks the parser; for nvram, any
 * accepted text must survive format -> parse -> format unchanged, and
 * escape -> unescape must give back any NUL-free string.  Build by hand:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iinclude -Isrc src/lib/manifest.c src/lib/nvram.c src/lib/error.c \
 *     src/lib/util.c tests/unit/fuzz_parsers.c -o fuzz_parsers
 *   ./fuzz_parsers -max_len=4096 tests/fixtures/manifest tests/fixtures/nvram
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zvm/manifest.h"
#include "zvm/nvram.h"

static void fuzz_manifest(const char *text, size_t len)
{
    zvm_manifest_t m;
    zvm_error_t err;
    if (zvm_manifest_parse(&m, text, len, "fuzz", &err) == 0) {
        for (size_t i = 0; i < m.nchannels; i++)
            if (zvm_manifest_find_alias(&m, m.channels[i].alias) != &m.channels[i])
                abort();
    }
    zvm_manifest_release(&m);
}

static void fuzz_nvram(const char *text, size_t len)
{
    zvm_nvram_t nv, back;
    zvm_error_t err;
    if (zvm_nvram_parse(&nv, text, len, "fuzz", &err) == 0) {
        char *once = zvm_nvram_format(&nv);
        if (once && zvm_nvram_parse(&back, once, strlen(once), "fuzz", &err) != 0)
            abort();
        char *twice = once ? zvm_nvram_format(&back) : NULL;
        if (once && twice && strcmp(once, twice) != 0)
            abort();
        free(twice);
        if (once)
            zvm_nvram_release(&back);
        free(once);
    }
    zvm_nvram_release(&nv);
}

static void fuzz_escape(const char *text, size_t len)
{
    char *s = strndup(text, len);
    char *e = s ? zvm_nvram_escape(s) : NULL;
    char *u = e ? zvm_nvram_unescape(e, strlen(e)) : NULL;
    if (e && u && strcmp(s, u) != 0)
        abort();
    free(u);
    free(e);
    free(s);
    free(zvm_nvram_unescape(text, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    switch (data[0] % 3) {
    case 0:
        fuzz_manifest(text, size - 1);
        break;
    case 1:
        fuzz_nvram(text, size - 1);
        break;
    default:
        fuzz_escape(text, size - 1);
        break;
    }
    return 0;
}
