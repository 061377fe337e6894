/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a job shows its caller: every node's report (a "Node: <name> id:
 * <id>" line, then the six report lines of zerovm), the execution summary
 * table with the columns of zpm's (one row per node, in node order;
 * NodeT is the node's wall time), and the immediate outputs (the stdout of
 * nodes whose stdout device has no path), in node order.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/internal.h"
#include "lib/util.h"

char *zvm_job_format_reports(const zvm_job_result_t *res)
{
    zvm__sb_t b = {0};
    for (size_t i = 0; i < res->count; i++) {
        const zvm_job_node_t *n = &res->job_nodes->nodes[i];
        const zvm_job_node_result_t *r = &res->nodes[i];
        zvm__sb_addf(&b, "Node: %s id: %u\n", n->name, n->id);
        const uint64_t *a = r->acct;
        zvm__sb_addf(&b,
                     "%d\n%d\n%" PRIu32 "\n%s\n%.2f %.2f %llu %llu %llu %llu %llu %llu %llu %llu\n%s\n",
                     r->validator, r->daemon, r->user_rc, r->etags ? r->etags : "disabled",
                     r->sys_time, r->user_time, (unsigned long long)a[0], (unsigned long long)a[1],
                     (unsigned long long)a[2], (unsigned long long)a[3], (unsigned long long)a[4],
                     (unsigned long long)a[5], (unsigned long long)a[6], (unsigned long long)a[7],
                     r->exit_state);
    }
    return zvm__sb_finish(&b);
}

#define NCOLS 14

char *zvm_job_format_summary(const zvm_job_result_t *res)
{
    static const char *const head[NCOLS] = {
        "Node",       "Status",        "Retcode",       "NodeT",        "SysT",
        "UserT",      "DiskReads",     "DiskBytesR",    "DiskWrites",   "DiskBytesW",
        "NetworkReads", "NetworkBytesR", "NetworkWrites", "NetworkBytesW",
    };
    size_t rows = res->count + 1;
    char **cell = calloc(rows * NCOLS, sizeof *cell);
    size_t width[NCOLS] = {0};
    if (!cell)
        return NULL;
    bool oom = false;
    for (int c = 0; c < NCOLS; c++)
        oom |= !(cell[c] = strdup(head[c]));
    for (size_t i = 0; i < res->count; i++) {
        const zvm_job_node_result_t *r = &res->nodes[i];
        char **row = &cell[(i + 1) * NCOLS];
        oom |= asprintf(&row[0], "%s", res->job_nodes->nodes[i].name) < 0;
        oom |= asprintf(&row[1], "%s", r->exit_state) < 0;
        oom |= (r->ran ? asprintf(&row[2], "%" PRIu32, r->user_rc) : asprintf(&row[2], "-")) < 0;
        oom |= asprintf(&row[3], "%.3f", r->wall_time) < 0;
        oom |= asprintf(&row[4], "%.2f", r->sys_time) < 0;
        oom |= asprintf(&row[5], "%.2f", r->user_time) < 0;
        for (int k = 0; k < 8; k++)
            oom |= asprintf(&row[6 + k], "%llu", (unsigned long long)r->acct[k]) < 0;
    }
    zvm__sb_t b = {0};
    if (!oom) {
        for (size_t i = 0; i < rows * NCOLS; i++) {
            size_t l = strlen(cell[i]);
            if (l > width[i % NCOLS])
                width[i % NCOLS] = l;
        }
        zvm__sb_add(&b, "Execution summary:\n");
        for (size_t i = 0; i < rows; i++) {
            for (int c = 0; c < NCOLS; c++) {
                const char *s = cell[i * NCOLS + c];
                /* Text left-aligned, numbers right-aligned; no trailing blanks. */
                if (c < 2)
                    zvm__sb_addf(&b, "%s%-*s", c ? "  " : "", c == NCOLS - 1 ? 0 : (int)width[c], s);
                else
                    zvm__sb_addf(&b, "  %*s", (int)width[c], s);
            }
            zvm__sb_add(&b, "\n");
        }
        zvm__sb_addf(&b, "Total time: %.3f\n", res->total_time);
    }
    for (size_t i = 0; i < rows * NCOLS; i++)
        free(cell[i]);
    free(cell);
    if (oom)
        b.oom = true;
    return zvm__sb_finish(&b);
}

int zvm_job_write_immediate(const zvm_job_result_t *res, int fd, zvm_error_t *err)
{
    char buf[65536];
    for (size_t i = 0; i < res->count; i++) {
        const char *p = res->nodes[i].stdout_path;
        if (!p)
            continue;
        cleanup_close int in = zvm_open_retry(p, O_RDONLY | O_CLOEXEC, 0);
        if (in < 0)
            continue; /* the node never ran */
        for (;;) {
            ssize_t r = read(in, buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return zvm_error_errno(err, errno, "cannot read '%s'", p);
            if (r == 0)
                break;
            int w = zvm_write_all(fd, buf, (size_t)r);
            if (w < 0)
                return zvm_error_errno(err, -w, "cannot write the output");
        }
    }
    return 0;
}
