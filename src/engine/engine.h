/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one interface both isolation engines implement (native: an ELF
 * program in a Linux jail; wasm: a validated WebAssembly module).  The
 * session (include/zvm/session.h) is the input, the report the output; the
 * engines differ only in how the program reaches the channels.
 */
#ifndef ZVM_ENGINE_H
#define ZVM_ENGINE_H

#include <stddef.h>

#include "zvm/report.h"
#include "zvm/session.h"

typedef struct zvm_engine {
    const char *name;
    /* Does this engine run a program that starts with these bytes? */
    int (*probe)(const unsigned char *head, size_t n);
    /* Check the program before anything runs: 0, or -1 with the report's
     * validator state and exit state set. */
    int (*validate)(zvm_session_t *s, zvm_report_t *r);
    /* Run to completion: 0 when the program ran (whatever it did; the report
     * says how it ended), -1 when it could not be started (report says why). */
    int (*run)(zvm_session_t *s, zvm_report_t *r);
} zvm_engine_t;

extern const zvm_engine_t zvm_engine_native;
extern const zvm_engine_t zvm_engine_wasm;

/* Engine by name ("native", "wasm"), or NULL. */
const zvm_engine_t *zvm_engine_find(const char *name);

/* Engine for the program file (by its first bytes), or NULL when none
 * recognises it. */
const zvm_engine_t *zvm_engine_for_program(const char *path);

#endif
