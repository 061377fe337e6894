/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nvram: the program's start-up configuration, an INI file that is itself
 * a channel (alias /dev/nvram).  Sections (all optional):
 *
 *   [args]     args = prog arg1 arg2            argv, split on spaces
 *   [env]      name=K,value=V                   one line per variable
 *   [fstab]    channel=/dev/1.python.tar,mountpoint=/,access=ro|rw,removable=no|yes
 *   [mapping]  channel=/dev/stdin,mode=char|file|pipe
 *   [debug]    verbosity=N                      0..4
 *   [time]     seconds=<unix time>              the clock's start
 *   [random]   seed=N                           wasm: random_get gives a fixed
 *                                               sequence (determinism; not secret)
 *
 * Values use the `\xHH` escape: in args each word, in [env] the name and
 * value, in [fstab]/[mapping] the fields.  The writer escapes '\\', '"', ',',
 * ' ' and newline (backslash first), and also any other byte < 0x20 or
 * 0x7f; the reader decodes any \xHH (two hex digits, either case) and
 * refuses a malformed escape.
 *
 * Blank lines and lines starting with '#' or ';' are comments.  An unknown
 * section or key, a line outside a section, a missing field, a bad number
 * or a repeated singular key is refused with "NAME:LINE: reason".
 */
#ifndef ZVM_NVRAM_H
#define ZVM_NVRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zvm/error.h"

typedef enum zvm_mapping_mode {
    ZVM_MAPPING_CHAR = 0,
    ZVM_MAPPING_FILE = 1,
    ZVM_MAPPING_PIPE = 2,
} zvm_mapping_mode_t;

typedef struct zvm_nvram_env {
    char *name;
    char *value;
} zvm_nvram_env_t;

typedef struct zvm_nvram_fstab {
    char *channel;        /* alias of the image channel */
    char *mountpoint;     /* absolute path inside */
    bool rw;              /* access=rw (writes vanish at exit) */
    bool removable;
    unsigned line;
} zvm_nvram_fstab_t;

typedef struct zvm_nvram_mapping {
    char *channel;
    zvm_mapping_mode_t mode;
} zvm_nvram_mapping_t;

typedef struct zvm_nvram {
    char **args;          /* NULL-terminated; nargs entries */
    size_t nargs;
    zvm_nvram_env_t *env;
    size_t nenv;
    zvm_nvram_fstab_t *fstab;
    size_t nfstab;
    zvm_nvram_mapping_t *mapping;
    size_t nmapping;
    int verbosity;        /* 0 when absent */
    bool has_time;
    int64_t time_seconds;
    bool has_seed;        /* [random] seed: random_get gives a fixed sequence */
    uint64_t seed;
} zvm_nvram_t;

int zvm_nvram_parse(zvm_nvram_t *nv, const char *text, size_t len,
                    const char *name, zvm_error_t *err);
int zvm_nvram_load(zvm_nvram_t *nv, const char *path, zvm_error_t *err);

/* Serialise nv as nvram text (malloc'd, NUL-terminated); NULL on ENOMEM.
 * zvm_nvram_parse(zvm_nvram_format(nv)) gives back an equal nvram. */
char *zvm_nvram_format(const zvm_nvram_t *nv);

/* Escape / unescape one value (malloc'd result).  unescape returns NULL and
 * sets errno = EINVAL on a malformed escape, ENOMEM on allocation failure. */
char *zvm_nvram_escape(const char *s);
char *zvm_nvram_unescape(const char *s, size_t len);

/* Entry for this channel alias, or NULL. */
const zvm_nvram_mapping_t *zvm_nvram_find_mapping(const zvm_nvram_t *nv,
                                                  const char *channel);

void zvm_nvram_release(zvm_nvram_t *nv);

#endif
