/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine table: finding an engine by name or by the program's magic.
 */
#include "engine/engine.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

static const zvm_engine_t *const engines[] = {
    &zvm_engine_native,
    &zvm_engine_wasm,
};

const zvm_engine_t *zvm_engine_find(const char *name)
{
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
        if (strcmp(engines[i]->name, name) == 0)
            return engines[i];
    return NULL;
}

const zvm_engine_t *zvm_engine_for_program(const char *path)
{
    unsigned char head[64];
    cleanup_close int fd = zvm_open_retry(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
    if (fd < 0)
        return NULL;
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n <= 0)
        return NULL;
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
        if (engines[i]->probe(head, (size_t)n))
            return engines[i];
    return NULL;
}
