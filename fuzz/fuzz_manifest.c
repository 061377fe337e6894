/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the manifest parser (src/lib/manifest.c), the file a
 * caller hands zerovm.  Any input must be accepted or refused without a
 * memory or UB error; an accepted manifest must keep the documented
 * bounds (memory, channel count, types, limits, absolute aliases), and
 * every channel must be the one its alias finds (aliases are unique).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zvm/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zvm_manifest_t m;
    zvm_error_t err;
    if (zvm_manifest_parse(&m, (const char *)data, size, "fuzz", &err) == 0) {
        if (m.memory < ZVM_MEMORY_MIN || m.memory > ZVM_MEMORY_MAX ||
            m.nchannels > ZVM_MANIFEST_MAX_CHANNELS || !m.program)
            abort();
        for (size_t i = 0; i < m.nchannels; i++) {
            const zvm_channel_spec_t *c = &m.channels[i];
            if (c->type > ZVM_CHANNEL_RND_READ_RND_WRITE || !c->alias || c->alias[0] != '/' ||
                !c->uri)
                abort();
            for (int l = 0; l < ZVM_LIMIT_COUNT; l++)
                if (c->limits[l] > ZVM_LIMIT_MAX)
                    abort();
            if (c->is_tcp && (!c->tcp_host || c->tcp_port == 0))
                abort();
            if (zvm_manifest_find_alias(&m, c->alias) != c)
                abort();
        }
    } else if (err.msg[0] == '\0') {
        abort(); /* a refusal names the problem */
    }
    zvm_manifest_release(&m);
    return 0;
}
