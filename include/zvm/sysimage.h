/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System images: names for programs the host offers to every sandbox, so
 * that jobs can say `file://python3:python3` or `zvsh python3 script.py`
 * without shipping an interpreter.
 *
 * A system image is the host program (an absolute path) run by the native
 * engine, which shows the host's /usr read-only to a dynamic program; the
 * name inside (argv[0]) is the job's choice.  By default `python3`,
 * `python` and `python2.7` all name the host's /usr/bin/python3: the seed
 * documents' jobs ask for python2.7, and Debian 12 has only Python 3.
 *
 * The table can be replaced: $ZEROVM_SYSIMAGES, else /etc/zerovm/sysimages,
 * is a file of `name = /absolute/program` lines ('#' comments).  A broken
 * line is an error naming file and line, never silently skipped.
 */
#ifndef ZVM_SYSIMAGE_H
#define ZVM_SYSIMAGE_H

#include <stddef.h>

#include "zvm/error.h"

typedef struct zvm_sysimage {
    char *name;
    char *program;                 /* absolute host path */
} zvm_sysimage_t;

typedef struct zvm_sysimages {
    zvm_sysimage_t *images;
    size_t count;
} zvm_sysimages_t;

/* The configured table (see above), or the built-in defaults. */
int zvm_sysimages_load(zvm_sysimages_t *t, zvm_error_t *err);
/* Parse a table from text (name for messages). */
int zvm_sysimages_parse(zvm_sysimages_t *t, const char *text, const char *name,
                        zvm_error_t *err);
/* The entry called `name`, or NULL. */
const zvm_sysimage_t *zvm_sysimages_find(const zvm_sysimages_t *t, const char *name);
void zvm_sysimages_release(zvm_sysimages_t *t);

#endif
