/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the nvram parser and its escapes (src/lib/nvram.c),
 * the program's configuration file.  The first byte picks the check:
 *  - parse: any accepted text must survive format -> parse -> format
 *    unchanged;
 *  - escape: escape -> unescape gives back any NUL-free string, and
 *    unescape of arbitrary bytes never reads or writes out of bounds.
 * Folded in from tests/unit/fuzz_parsers.c (which also held the manifest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zvm/nvram.h"

static void fuzz_parse(const char *text, size_t len)
{
    zvm_nvram_t nv, back;
    zvm_error_t err;
    if (zvm_nvram_parse(&nv, text, len, "fuzz", &err) == 0) {
        char *once = zvm_nvram_format(&nv);
        if (!once)
            abort();
        if (zvm_nvram_parse(&back, once, strlen(once), "fuzz", &err) != 0)
            abort(); /* what we write, we read */
        char *twice = zvm_nvram_format(&back);
        if (!twice || strcmp(once, twice) != 0)
            abort();
        free(twice);
        zvm_nvram_release(&back);
        free(once);
    }
    zvm_nvram_release(&nv);
}

static void fuzz_escape(const char *text, size_t len)
{
    char *s = strndup(text, len);
    if (!s)
        abort();
    char *e = zvm_nvram_escape(s);
    char *u = e ? zvm_nvram_unescape(e, strlen(e)) : NULL;
    if (!e || !u || strcmp(s, u) != 0)
        abort();
    /* An escaped value holds no byte the format splits on, no control byte. */
    for (const unsigned char *p = (const unsigned char *)e; *p; p++)
        if (*p == ' ' || *p == ',' || *p == '"' || *p < 0x20 || *p == 0x7f)
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
    if (data[0] & 1)
        fuzz_escape(text, size - 1);
    else
        fuzz_parse(text, size - 1);
    return 0;
}
