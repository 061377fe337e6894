/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: jobs (system.map, the JSON a client POSTs to
 * zerocloud or hands zvapp) through libzvmjob's parser (src/job/job.c) and,
 * when the node counts are within what the server accepts, the expansion
 * into nodes (src/job/expand.c: counts, wildcards, names, streams) and the
 * nodes' JSON.  Wildcards list a fixed fake container.  Also the URL
 * parser on the raw text.  An accepted job must have groups of count >= 1.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zvm/job.h"
#include "zvm/sysimage.h"

/* The server refuses more before expanding (src/cloud/execute.c). */
#define MAX_NODES 64

static const char *const objects[] = {"a.txt", "b.txt", "dir/c.txt", "d", "e.tar", "f f"};

static int fake_list(zvm_storage_t *st, const char *acct, const char *cont, const char *pattern,
                     char ***names, size_t *count, zvm_error_t *err)
{
    (void)st, (void)acct, (void)cont, (void)err;
    size_t n = sizeof objects / sizeof *objects;
    char **out = calloc(n, sizeof *out);
    if (!out)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!pattern || fnmatch(pattern, objects[i], 0) == 0)
            if (!(out[k++] = strdup(objects[i])))
                abort();
    *names = out;
    *count = k;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static zvm_sysimage_t images[] = {{"python2.7", "/bin/python"}, {"sys", "/bin/sys"}};
    static zvm_sysimages_t sysimages = {images, 2};
    zvm_storage_t storage = {.list = fake_list};
    zvm_job_context_t ctx = {.account = "AUTH_fuzz", .sysimages = &sysimages,
                             .storage = &storage};

    char *text = strndup((const char *)data, size);
    if (!text)
        abort();
    zvm_job_url_t u;
    if (zvm_job_url_parse(text, &u) == 0)
        zvm_job_url_release(&u);
    free(text);

    zvm_job_t job;
    zvm_error_t err;
    if (zvm_job_parse(&job, (const char *)data, size, &err) < 0)
        return 0;
    uint64_t counted = 0;
    for (size_t g = 0; g < job.ngroups; g++) {
        if (job.groups[g].count < 1)
            abort();
        counted += job.groups[g].count;
    }
    if (counted <= MAX_NODES) {
        zvm_job_nodes_t nodes;
        if (zvm_job_expand(&job, &ctx, &nodes, &err) == 0) {
            for (size_t i = 0; i < nodes.count; i++)
                if (nodes.nodes[i].id != i + 1)
                    abort();
            free(zvm_job_nodes_json(&nodes));
            zvm_job_nodes_release(&nodes);
        }
    }
    zvm_job_release(&job);
    return 0;
}
