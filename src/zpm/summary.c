/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The execution summary of `zpm execute -s`, from ZeroCloud's response
 * headers: X-Nexe-System (node names), X-Nexe-Status, X-Nexe-Retcode
 * (comma separated, in node order) and X-Nexe-Cdr-Line
 * ("TOTAL, t1, acc1,t2, acc2..."; each acc is "sys user disk_reads
 * disk_rbytes disk_writes disk_wbytes net_reads net_rbytes net_writes
 * net_wbytes").  The values become a zvm_job_result_t so that the table is
 * printed by libzvmjob's zvm_job_format_summary, the one zvapp prints:
 * same columns, same layout.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "zpm/zpm.h"
#include "zvm/job.h"

/* Split a header on ',' into trimmed fields; NULL header: none. */
static void split(const char *h, zpm_strv_t *out)
{
    *out = (zpm_strv_t){0};
    if (!h)
        return;
    for (const char *p = h;;) {
        size_t n = strcspn(p, ",");
        const char *s = p;
        size_t l = n;
        while (l && (*s == ' ' || *s == '\t'))
            s++, l--;
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            l--;
        char *f = zpm_xmalloc(l + 1);
        memcpy(f, s, l);
        f[l] = '\0';
        zpm_strv_push(out, f);
        if (!p[n])
            break;
        p += n + 1;
    }
}

static const char *field(const zpm_strv_t *l, size_t i)
{
    return i < l->n ? l->v[i] : "";
}

char *zpm_summary_format(const zpm_response_t *r, zvm_error_t *err)
{
    const char *system = zpm_response_header(r, "X-Nexe-System");
    if (!system)
        return zvm_error_set(err, ENOENT, "the response has no X-Nexe-System header: no summary"), NULL;
    zpm_strv_t names, status, rcs, cdr;
    split(system, &names);
    split(zpm_response_header(r, "X-Nexe-Status"), &status);
    split(zpm_response_header(r, "X-Nexe-Retcode"), &rcs);
    split(zpm_response_header(r, "X-Nexe-Cdr-Line"), &cdr);

    zvm_job_node_t *jn = calloc(names.n ? names.n : 1, sizeof *jn);
    zvm_job_node_result_t *nr = calloc(names.n ? names.n : 1, sizeof *nr);
    if (!jn || !nr)
        abort();
    for (size_t i = 0; i < names.n; i++) {
        jn[i].name = names.v[i];
        jn[i].id = (unsigned)i + 1;
        nr[i].exit_state = (char *)field(&status, i);
        const char *rc = field(&rcs, i);
        char *end;
        unsigned long long v = strtoull(rc, &end, 10);
        nr[i].ran = *rc && *rc != '-' && !*end;
        nr[i].user_rc = v <= UINT32_MAX ? (uint32_t)v : UINT32_MAX;
        /* cdr: [0] total, then per node [1 + 2i] time, [2 + 2i] accounting */
        nr[i].wall_time = strtod(field(&cdr, 1 + 2 * i), NULL);
        const char *acc = field(&cdr, 2 + 2 * i);
        double sys = 0, user = 0;
        unsigned long long a[8] = {0};
        sscanf(acc, "%lf %lf %llu %llu %llu %llu %llu %llu %llu %llu", &sys, &user, &a[0], &a[1], &a[2],
               &a[3], &a[4], &a[5], &a[6], &a[7]);
        nr[i].sys_time = sys;
        nr[i].user_time = user;
        for (int k = 0; k < 8; k++)
            nr[i].acct[k] = a[k];
    }
    zvm_job_nodes_t nodes = {.nodes = jn, .count = names.n};
    zvm_job_result_t res = {
        .nodes = nr,
        .count = names.n,
        .job_nodes = &nodes,
        .total_time = strtod(field(&cdr, 0), NULL),
    };
    char *text = zvm_job_format_summary(&res);
    free(jn);
    free(nr);
    zpm_strv_release(&names);
    zpm_strv_release(&status);
    zpm_strv_release(&rcs);
    zpm_strv_release(&cdr);
    if (!text)
        abort();
    return text;
}

bool zpm_summary_ok(const zpm_response_t *r, char **why)
{
    *why = NULL;
    zpm_strv_t names, status, rcs;
    split(zpm_response_header(r, "X-Nexe-System"), &names);
    split(zpm_response_header(r, "X-Nexe-Status"), &status);
    split(zpm_response_header(r, "X-Nexe-Retcode"), &rcs);
    for (size_t i = 0; i < names.n && !*why; i++) {
        const char *st = field(&status, i), *rc = field(&rcs, i);
        if ((*st && strcmp(st, "ok") != 0) || (*rc && strcmp(rc, "0") != 0))
            *why = zpm_xasprintf("node '%s' ended '%s' with return code %s", names.v[i], *st ? st : "?",
                                 *rc ? rc : "-");
    }
    zpm_strv_release(&names);
    zpm_strv_release(&status);
    zpm_strv_release(&rcs);
    return *why == NULL;
}
