/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Apps attached to storage: open/1.0 and api/1.0.
 *
 * open/1.0 (GET /open/<a>/<c>/<o>, or /v1/... with X-Zerovm-Execute:
 * open/1.0): the object's Content-Type names the app.  An object that is
 * itself a tar holding boot/system.map runs as an app (image = the object).
 * Otherwise the job template is the object /<a>/.zvm/<content-type>/config
 * (e.g. .zvm/application/json/config); missing: 404 "No application
 * registered for <content-type>".  In the template, `{.object_path}`
 * becomes the object's swift:// URL, `{.k}` and `{.k=default}` the query
 * argument k (else the default, else nothing); every value is inserted
 * JSON-escaped, so a query argument can never change the job's structure.
 *
 * api/1.0 (ANY /api/<a>/<c>[/<path>], or X-Zerovm-Execute: api/1.0): the
 * container's X-Container-Meta-Rest-Endpoint (swift://acct/cont/app.zapp)
 * is the app handling every request under it; missing: 404 "No API
 * endpoint configured for container <c>".  PATH_INFO is /<a>/<c>/<path>.
 * A caller who is not the owner runs it only when the container's
 * X-Container-Meta-Zerovm-Suid admits them (compute.c), and then every
 * storage access the app makes that its ACLs deny is tried again with the
 * Zerovm-Suid ACL (reads, listings) or Zerovm-Suid-Write ACL (writes) of the
 * container it touches (job_storage.c).
 *
 * In both, the request body feeds path-less stdin devices and "~" is the
 * account of the URL.
 */
#include "cloud/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

char *zc_apps_endpoint(zc_store_t *st, const char *acct, const char *cont)
{
    zc_container_info_t ci = {0};
    if (st->ops->container_stat(st, acct, cont, &ci) < 0)
        return NULL;
    const char *ep = json_string_value(json_object_get(ci.meta, "x-container-meta-rest-endpoint"));
    char *copy = ep && *ep ? strdup(ep) : NULL;
    json_decref(ci.meta);
    return copy;
}

/* A JSON string's content for s (no quotes). */
static void json_escaped(zc_buf_t *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            zc_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            zc_buf_printf(b, "\\u%04x", *p);
        else
            zc_buf_add(b, p, 1);
    }
}

/* Fill the template's {.name} and {.name=default} places. */
static char *substitute(zc_req_t *r, const char *tpl, size_t len, const char *object_path)
{
    zc_buf_t b = {0};
    const char *end = tpl + len;
    for (const char *p = tpl; p < end;) {
        const char *open = memchr(p, '{', (size_t)(end - p));
        if (!open || open + 1 >= end || open[1] != '.') {
            const char *stop = open ? open + 1 : end;
            zc_buf_add(&b, p, (size_t)(stop - p));
            p = stop;
            continue;
        }
        const char *name = open + 2, *q = name;
        while (q < end && (((*q | 32) >= 'a' && (*q | 32) <= 'z') || (*q >= '0' && *q <= '9') ||
                           *q == '_' || *q == '-'))
            q++;
        const char *dflt = NULL, *close = NULL;
        if (q < end && *q == '=') {
            dflt = q + 1;
            close = memchr(dflt, '}', (size_t)(end - dflt));
        } else if (q < end && *q == '}') {
            close = q;
        }
        if (q == name || !close) {
            zc_buf_add(&b, p, (size_t)(open + 1 - p));
            p = open + 1;
            continue;
        }
        zc_buf_add(&b, p, (size_t)(open - p));
        char key[128];
        size_t kl = (size_t)(q - name) < sizeof key - 1 ? (size_t)(q - name) : sizeof key - 1;
        memcpy(key, name, kl);
        key[kl] = '\0';
        const char *v = !strcmp(key, "object_path") ? object_path : zc_req_arg(r, key);
        if (v) {
            json_escaped(&b, v);
        } else if (dflt) {
            /* The default is the template's own text. */
            zc_buf_add(&b, dflt, (size_t)(close - dflt));
        }
        p = close + 1;
    }
    if (!b.p)
        zc_buf_puts(&b, "");
    return b.p;
}

/* Read the map of an app tar at path; answers on failure. */
static int app_map(zc_exec_t *x, const char *path, zc_job_input_t *in, bool quiet_missing)
{
    zvm_error_t err = {0};
    uint64_t max = x->cx->cfg->exec_memory;
    if (zvm_job_tar_read_map_bounded(path, max, &in->text, &in->len, &err) == 0) {
        if (in->len > x->cx->cfg->exec_max_job) {
            zc_exec_error(x, 413, "System map too large (limit %llu bytes)",
                          (unsigned long long)x->cx->cfg->exec_max_job);
            return -1;
        }
        if (!(in->image = strdup(path))) {
            zc_exec_error(x, 500, "out of memory");
            return -1;
        }
        return 0;
    }
    if (err.code == ENOENT && quiet_missing)
        return 1;
    if (err.code == ENOENT)
        zc_exec_error(x, 400, "System boot map was not found in the app");
    else if (err.code == E2BIG)
        zc_exec_error(x, 413, "The app expands past %llu bytes", (unsigned long long)max);
    else if (err.code == EPERM)
        zc_exec_error(x, 422, "Could not read the app: %s", zc_tar_refusal(err.msg, path));
    else
        zc_exec_error(x, 422, "Could not read the app: not a valid tar archive");
    return -1;
}

void zc_apps_open(zc_exec_t *x)
{
    zc_req_t *r = x->r;
    zc_store_t *st = r->srv->store;
    zc_job_input_t in = {.default_type = "text/html", .stdin_path = x->body_path};
    char *obj_url = NULL, *cfg_name = NULL, *src = NULL, *tpl = NULL;
    zc_object_info_t oi = {0};
    if (asprintf(&x->path_info, "/%s/%s/%s", r->account, r->container, r->object) < 0 ||
        asprintf(&obj_url, "swift://%s/%s/%s", r->account, r->container, r->object) < 0) {
        x->path_info = obj_url = NULL;
        zc_exec_error(x, 500, "out of memory");
        goto out;
    }
    int rc = st->ops->object_open(st, r->account, r->container, r->object, &oi, NULL);
    if (rc < 0) {
        zc_reply_store_error(r, rc);
        goto out;
    }
    char type[128];
    size_t tl = oi.content_type ? strcspn(oi.content_type, ";") : 0;
    while (tl && oi.content_type[tl - 1] == ' ')
        tl--;
    snprintf(type, sizeof type, "%.*s", (int)tl, oi.content_type ? oi.content_type : "");
    for (char *p = type; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    if (!x->jstore && !(x->jstore = zc_job_storage_new(x))) {
        zc_exec_error(x, 500, "out of memory");
        goto out;
    }
    if (!strcmp(type, "application/x-tar") || !strcmp(type, "application/x-gtar") ||
        !strcmp(type, "application/x-ustar") || !strcmp(type, "application/x-gzip") ||
        !strcmp(type, "application/gzip")) {
        /* An app itself: run it. */
        zvm_object_info_t info = {0};
        zvm_error_t err = {0};
        rc = x->jstore->open_read(x->jstore, r->account, r->container, r->object, &src, &info, &err);
        zvm_object_info_release(&info);
        if (rc < 0) {
            zc_exec_error(x, zc_job_status(x, err.code), "%s", err.msg);
            goto out;
        }
        rc = app_map(x, src, &in, true);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            x->script_filename = obj_url;
            obj_url = NULL;
            zc_execute_run(x, &in);
            goto out;
        }
    }
    if (!type[0] || asprintf(&cfg_name, "%s/config", type) < 0) {
        cfg_name = NULL;
        zc_exec_error(x, 404, "No application registered for %s", type[0] ? type : "(no type)");
        goto out;
    }
    int fd = -1;
    zc_object_info_t ci = {0};
    rc = st->ops->object_open(st, r->account, ".zvm", cfg_name, &ci, &fd);
    if (rc == -ENOENT) {
        zc_exec_error(x, 404, "No application registered for %s", type);
        goto out;
    }
    if (rc < 0) {
        zc_reply_store_error(r, rc);
        goto out;
    }
    uint64_t size = ci.size;
    zc_object_info_release(&ci);
    if (size > x->cx->cfg->exec_max_job) {
        close(fd);
        zc_exec_error(x, 413, "System map too large (limit %llu bytes)",
                      (unsigned long long)x->cx->cfg->exec_max_job);
        goto out;
    }
    tpl = malloc((size_t)size + 1);
    ssize_t got = tpl ? pread(fd, tpl, (size_t)size, 0) : -1;
    close(fd);
    if (got < 0 || (uint64_t)got != size) {
        zc_exec_error(x, 500, "Cannot read the application's configuration");
        goto out;
    }
    in.text = substitute(r, tpl, (size_t)size, obj_url);
    if (!in.text || asprintf(&x->script_filename, "swift://%s/.zvm/%s", r->account, cfg_name) < 0) {
        x->script_filename = NULL;
        zc_exec_error(x, 500, "out of memory");
        goto out;
    }
    in.len = strlen(in.text);
    json_t *j = json_loadb(in.text, in.len, 0, NULL);
    if (!j) {
        zc_exec_error(x, 422, "Could not parse system map");
        goto out;
    }
    json_decref(j);
    zc_execute_run(x, &in);
out:
    zc_object_info_release(&oi);
    zc_job_input_release(&in);
    free(obj_url);
    free(cfg_name);
    free(src);
    free(tpl);
}

void zc_apps_api(zc_exec_t *x)
{
    zc_req_t *r = x->r;
    zc_job_input_t in = {.default_type = "text/html", .stdin_path = x->body_path};
    char *ep = NULL, *src = NULL;
    zvm_job_url_t u = {0};
    if (asprintf(&x->path_info, "/%s/%s%s%s", r->account, r->container, r->object ? "/" : "",
                 r->object ? r->object : "") < 0) {
        x->path_info = NULL;
        zc_exec_error(x, 500, "out of memory");
        goto out;
    }
    ep = zc_apps_endpoint(r->srv->store, r->account, r->container);
    if (!ep) {
        zc_exec_error(x, 404, "No API endpoint configured for container %s", r->container);
        goto out;
    }
    if (zvm_job_url_parse(ep, &u) < 0 || u.is_file || !u.object) {
        zc_exec_error(x, 500, "The API endpoint of container %s is not swift://<account>/<container>/<app>: %s",
                      r->container, ep);
        goto out;
    }
    if (!x->jstore && !(x->jstore = zc_job_storage_new(x))) {
        zc_exec_error(x, 500, "out of memory");
        goto out;
    }
    const char *acct = !strcmp(u.account, "~") || !strcmp(u.account, ".") ? r->account : u.account;
    zvm_object_info_t info = {0};
    zvm_error_t err = {0};
    int rc = x->jstore->open_read(x->jstore, acct, u.container, u.object, &src, &info, &err);
    zvm_object_info_release(&info);
    if (rc < 0) {
        zc_exec_error(x, zc_job_status(x, err.code), "%s", err.msg);
        goto out;
    }
    if (app_map(x, src, &in, false) != 0)
        goto out;
    x->script_filename = ep;
    ep = NULL;
    zc_execute_run(x, &in);
out:
    zvm_job_url_release(&u);
    zc_job_input_release(&in);
    free(ep);
    free(src);
}
