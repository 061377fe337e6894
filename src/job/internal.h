/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by the files of libzvmjob (src/job): a growable string
 * and the node-level helpers that plan.c and run.c share.  Not public.
 */
#ifndef ZVM_JOB_INTERNAL_H
#define ZVM_JOB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "zvm/job.h"

/* A growable string; after an allocation failure `oom` is set and further
 * additions are ignored, so callers check once at the end. */
typedef struct zvm__sb {
    char *s;
    size_t len, cap;
    bool oom;
} zvm__sb_t;

void zvm__sb_add(zvm__sb_t *b, const char *s);
void zvm__sb_addn(zvm__sb_t *b, const char *s, size_t n);
void zvm__sb_addf(zvm__sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (malloc'd, owned by the caller) or NULL after a failure. */
char *zvm__sb_finish(zvm__sb_t *b);

/* Readable / writable standard devices. */
bool zvm__devkind_readable(zvm_job_devkind_t k);
bool zvm__devkind_writable(zvm_job_devkind_t k);
const char *zvm__devkind_alias(zvm_job_devkind_t k, const char *name);

/* One node's work files and outputs, made by plan.c, used by run.c. */
typedef struct zvm__plan_node {
    char *manifest;             /* host paths in the work dir */
    char *nvram;
    char *report;               /* zerovm's stdout: the JSON report */
    char *zerovm_err;           /* zerovm's stderr */
    char *stdout_path;          /* immediate output, or NULL */
    char *stderr_path;
    char *log_path;             /* stderr of a node that declares none */
    zvm_storage_output_t *outputs;
    size_t noutputs;
} zvm__plan_node_t;

/* A stream: the FIFO at `path` from node `writer` to node `reader`; `spare`
 * is the name the FIFO moves to when an end is released (see run.c). */
typedef struct zvm__stream {
    size_t writer, reader;
    char *path;
    char *spare;
    bool swapped;
} zvm__stream_t;

typedef struct zvm__plan {
    zvm__plan_node_t *nodes;
    size_t count;
    zvm__stream_t *streams;
    size_t nstreams;
} zvm__plan_t;

int zvm__plan_build(zvm__plan_t *p, const zvm_job_nodes_t *nodes, zvm_storage_t *st,
                    const zvm_sysimages_t *sysimages, const zvm_job_options_t *opt,
                    const char *work_dir, zvm_error_t *err);
/* Commit (ok) or abort every output; returns -1 when a commit failed. */
int zvm__plan_finish_outputs(zvm__plan_t *p, zvm_storage_t *st, bool ok, zvm_error_t *err);
void zvm__plan_release(zvm__plan_t *p);

/* A stream's FIFO name for writer/reader ids. */
int zvm__stream_index(const zvm__plan_t *p, size_t writer, size_t reader);

#endif
