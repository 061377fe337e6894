/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The session report: building it, and printing it as the six-line text
 * ZeroCloud parses or as JSON (jansson).  Format in include/zvm/report.h.
 */
#include "zvm/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void zvm_report_init(zvm_report_t *r)
{
    memset(r, 0, sizeof *r);
    r->engine = "native";
}

void zvm_report_release(zvm_report_t *r)
{
    for (size_t i = 0; i < r->netags; i++)
        free(r->etags[i].alias);
    free(r->etags);
    r->etags = NULL;
    r->netags = 0;
}

void zvm_report_set_exit(zvm_report_t *r, zvm_exit_state_t state, const char *fmt, ...)
{
    r->exit_state = state;
    r->detail[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->detail, sizeof r->detail, fmt, ap);
        va_end(ap);
    }
}

int zvm_report_add_etag(zvm_report_t *r, const char *alias, const char md5[33])
{
    zvm_report_etag_t *n = realloc(r->etags, (r->netags + 1) * sizeof *n);
    if (!n)
        return -ENOMEM;
    r->etags = n;
    char *a = strdup(alias);
    if (!a)
        return -ENOMEM;
    r->etags[r->netags].alias = a;
    memcpy(r->etags[r->netags].md5, md5, 33);
    r->netags++;
    return 0;
}

const char *zvm_report_exit_string(const zvm_report_t *r, char *buf, size_t size)
{
    static const char *const names[] = {
        [ZVM_EXIT_OK] = "ok",
        [ZVM_EXIT_QUOTA] = "quota exceeded",
        [ZVM_EXIT_TIMEOUT] = "timeout",
        [ZVM_EXIT_MEMORY] = "memory limit",
        [ZVM_EXIT_SIGNAL] = "killed by signal",
        [ZVM_EXIT_TRAP] = "trap",
        [ZVM_EXIT_BAD_MANIFEST] = "bad manifest",
        [ZVM_EXIT_NOT_FOUND] = "program not found",
        [ZVM_EXIT_BAD_PROGRAM] = "bad program",
        [ZVM_EXIT_SANDBOX_ERROR] = "sandbox error",
    };
    const char *name = names[r->exit_state];
    if (r->exit_state == ZVM_EXIT_SIGNAL)
        snprintf(buf, size, "%s %d", name, r->signal);
    else if (r->detail[0])
        snprintf(buf, size, "%s (%s)", name, r->detail);
    else
        snprintf(buf, size, "%s", name);
    /* The report is line-oriented: keep the state on one line. */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return buf;
}

char *zvm_report_format_text(const zvm_report_t *r)
{
    char state[ZVM_ERROR_MSG_MAX + 64];
    zvm_report_exit_string(r, state, sizeof state);

    size_t cap = 512 + sizeof state;
    for (size_t i = 0; i < r->netags; i++)
        cap += strlen(r->etags[i].alias) + 35;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int n = snprintf(out, cap, "%d\n%d\n%" PRIu32 "\n", r->validator, r->daemon, r->user_rc);
    size_t used = (size_t)n;
    if (r->netags == 0) {
        used += (size_t)snprintf(out + used, cap - used, "disabled");
    } else {
        for (size_t i = 0; i < r->netags; i++)
            used += (size_t)snprintf(out + used, cap - used, "%s%s %s", i ? " " : "",
                                     r->etags[i].alias, r->etags[i].md5);
    }
    const uint64_t *a = r->acct;
    snprintf(out + used, cap - used,
             "\n%.2f %.2f %llu %llu %llu %llu %llu %llu %llu %llu\n%s\n", r->sys_time,
             r->user_time, (unsigned long long)a[0], (unsigned long long)a[1],
             (unsigned long long)a[2], (unsigned long long)a[3], (unsigned long long)a[4],
             (unsigned long long)a[5], (unsigned long long)a[6], (unsigned long long)a[7], state);
    return out;
}

char *zvm_report_format_json(const zvm_report_t *r)
{
    static const char *const acct_names[ZVM_ACCT_COUNT] = {
        "reads", "read_bytes", "writes", "write_bytes",
        "net_reads", "net_read_bytes", "net_writes", "net_write_bytes",
    };
    char state[ZVM_ERROR_MSG_MAX + 64];
    json_t *etags = json_object();
    json_t *acct = json_object();
    json_t *root = json_object();
    if (!etags || !acct || !root) {
        json_decref(etags);
        json_decref(acct);
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < r->netags; i++)
        json_object_set_new(etags, r->etags[i].alias, json_string(r->etags[i].md5));
    json_object_set_new(acct, "sys_time", json_real(r->sys_time));
    json_object_set_new(acct, "user_time", json_real(r->user_time));
    for (int i = 0; i < ZVM_ACCT_COUNT; i++)
        json_object_set_new(acct, acct_names[i], json_integer((json_int_t)r->acct[i]));
    json_object_set_new(root, "validator", json_integer(r->validator));
    json_object_set_new(root, "daemon", json_integer(r->daemon));
    json_object_set_new(root, "user_rc", json_integer((json_int_t)r->user_rc));
    json_object_set_new(root, "etags", etags);
    json_object_set_new(root, "accounting", acct);
    json_object_set_new(root, "exit_state", json_string(zvm_report_exit_string(r, state, sizeof state)));
    if (r->exit_state == ZVM_EXIT_SIGNAL)
        json_object_set_new(root, "signal", json_integer(r->signal));
    json_object_set_new(root, "engine", json_string(r->engine));
    json_object_set_new(root, "wall_time", json_real(r->wall_time));
    json_object_set_new(root, "peak_memory", json_integer((json_int_t)r->peak_memory));
    json_object_set_new(root, "exit_status", json_integer(zvm_report_exit_status(r)));
    char *s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    return s;
}

int zvm_report_exit_status(const zvm_report_t *r)
{
    switch (r->exit_state) {
    case ZVM_EXIT_OK:
    case ZVM_EXIT_QUOTA:
        return 0;
    case ZVM_EXIT_TIMEOUT:
    case ZVM_EXIT_MEMORY:
    case ZVM_EXIT_SIGNAL:
    case ZVM_EXIT_TRAP:
        return 1;
    case ZVM_EXIT_BAD_MANIFEST:
        return 2;
    case ZVM_EXIT_NOT_FOUND:
    case ZVM_EXIT_BAD_PROGRAM:
        return 3;
    case ZVM_EXIT_SANDBOX_ERROR:
        return 4;
    }
    return 4;
}
