/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Swift's object requests: GET and HEAD (Range, If-Match, If-None-Match),
 * PUT (streamed to the store while its MD5 is computed; ETag checked, 422 on
 * mismatch; Content-Length or chunked; X-Copy-From), POST (metadata), COPY
 * (Destination) and DELETE.  Authorization: the account's owner, or the
 * container's ACLs (acl.c).  Storage is the store's; the body arrives
 * through server.c, which calls on_body and on_finish.
 */
#include "cloud/cloud.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* 0 when r->ident may do `access` on acct/cont, else the status. */
static int authorize(zc_req_t *r, const char *acct, const char *cont, zc_access_t access)
{
    if (zc_acl_is_owner(&r->ident, acct))
        return 0;
    zc_container_info_t ci = {0};
    zc_store_t *st = r->srv->store;
    const char *rd = NULL, *wr = NULL;
    if (st->ops->container_stat(st, acct, cont, &ci) == 0) {
        rd = json_string_value(json_object_get(ci.meta, "x-container-read"));
        wr = json_string_value(json_object_get(ci.meta, "x-container-write"));
    }
    int rc = zc_acl_authorize(&r->ident, acct, access, rd, wr, zc_req_header(r, "Referer"));
    json_decref(ci.meta);
    return rc;
}

static void last_modified(zc_req_t *r, zc_ts_t ts)
{
    char date[40], tsb[32];
    zc_http_date((time_t)((ts + 99999) / 100000), date);
    zc_ts_format(ts, tsb);
    zc_req_add_header(r, "Last-Modified", "%s", date);
    zc_req_add_header(r, "X-Timestamp", "%s", tsb);
}

/* Does a comma list of (maybe quoted) etags contain etag, or "*"? */
static bool etag_in(const char *list, const char *etag)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!strncmp(p, "W/", 2))
            p += 2;
        const char *s = p;
        size_t n = strcspn(p, ",");
        p += n;
        while (n && s[n - 1] == ' ')
            n--;
        if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
            s++;
            n -= 2;
        }
        if ((n == 1 && s[0] == '*') || (n == strlen(etag) && !strncasecmp(s, etag, n)))
            return true;
    }
    return false;
}

const char *zc_guess_type(const char *name)
{
    static const struct { const char *ext, *type; } t[] = {
        {".txt", "text/plain"},     {".html", "text/html"},       {".htm", "text/html"},
        {".css", "text/css"},       {".js", "application/javascript"},
        {".json", "application/json"}, {".xml", "application/xml"}, {".csv", "text/csv"},
        {".py", "text/x-python"},   {".c", "text/x-c"},           {".h", "text/x-c"},
        {".md", "text/markdown"},   {".png", "image/png"},        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},    {".gif", "image/gif"},        {".svg", "image/svg+xml"},
        {".pdf", "application/pdf"}, {".tar", "application/x-tar"},
        {".gz", "application/gzip"}, {".tgz", "application/gzip"}, {".zip", "application/zip"},
        {".wasm", "application/wasm"}, {".zapp", "application/x-tar"},
    };
    const char *dot = strrchr(name, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if (!strcasecmp(dot, t[i].ext))
                return t[i].type;
    return "application/octet-stream";
}

/* The content type to store: the request's (without swift_bytes), else a
 * guess from the name. */
static char *content_type_of(zc_req_t *r, const char *name, const char *fallback)
{
    const char *ct = zc_req_header(r, "Content-Type");
    const char *detect = zc_req_header(r, "X-Detect-Content-Type");
    if (detect && !strcasecmp(detect, "true"))
        ct = NULL;
    if (!ct || !*ct)
        return strdup(fallback ? fallback : zc_guess_type(name));
    return strdup(ct);
}

/* Object metadata headers of the request: X-Object-Meta-*, and the few
 * system headers Swift keeps with an object. */
static int object_meta(zc_req_t *r, json_t *meta)
{
    int st = zc_meta_from_request(r, "x-object-meta-", meta);
    if (st)
        return st;
    static const char *keep[] = {"Content-Encoding", "Content-Disposition",
                                 "Content-Language", "Cache-Control", "Expires"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const char *v = zc_req_header(r, keep[i]);
        if (v) {
            char k[64];
            snprintf(k, sizeof k, "%s", keep[i]);
            for (char *p = k; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            json_object_set_new(meta, k, json_string(v));
        }
    }
    /* Empty values remove a key (as POST semantics in Swift). */
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(meta, tmp, k, v)
    {
        if (!json_string_length(v))
            json_object_del(meta, k);
    }
    return 0;
}

/* ---- GET / HEAD ---- */

static void object_get(zc_req_t *r)
{
    zc_store_t *st = r->srv->store;
    int a = authorize(r, r->account, r->container, ZC_ACCESS_READ);
    if (a) {
        zc_reply_error(r, a, NULL);
        return;
    }
    zc_object_info_t info;
    int fd = -1;
    int rc = st->ops->object_open(st, r->account, r->container, r->object, &info, &fd);
    if (rc < 0) {
        zc_reply_store_error(r, rc);
        return;
    }
    zc_req_add_header(r, "Etag", "%s", info.etag);
    zc_req_add_header(r, "Accept-Ranges", "bytes");
    last_modified(r, info.ts);
    zc_meta_to_reply(r, info.meta, NULL);

    const char *im = zc_req_header(r, "If-Match");
    const char *inm = zc_req_header(r, "If-None-Match");
    if (im && !etag_in(im, info.etag)) {
        close(fd);
        zc_object_info_release(&info);
        zc_reply_error(r, 412, NULL);
        return;
    }
    if (inm && etag_in(inm, info.etag)) {
        close(fd);
        zc_object_info_release(&info);
        zc_reply(r, 304, NULL, NULL, 0);
        return;
    }

    uint64_t off = 0, len = info.size;
    int status = 200;
    const char *range = zc_req_header(r, "Range");
    if (range && !strncasecmp(range, "bytes=", 6) && !strchr(range, ',')) {
        const char *p = range + 6;
        while (*p == ' ')
            p++;
        char *e;
        bool valid = true, unsatisfiable = false;
        if (*p == '-') {
            errno = 0;
            unsigned long long n = strtoull(p + 1, &e, 10);
            if (errno || e == p + 1 || *e)
                valid = false;
            else if (n == 0 || info.size == 0)
                unsatisfiable = true;
            else {
                if (n > info.size)
                    n = info.size;
                off = info.size - n;
                len = n;
            }
        } else if (isdigit((unsigned char)*p)) {
            errno = 0;
            unsigned long long a0 = strtoull(p, &e, 10), b0;
            if (errno || *e != '-')
                valid = false;
            else if (e[1] == '\0') {
                if (a0 >= info.size)
                    unsatisfiable = true;
                else {
                    off = a0;
                    len = info.size - a0;
                }
            } else {
                const char *q = e + 1;
                b0 = strtoull(q, &e, 10);
                if (errno || *e || b0 < a0 || !isdigit((unsigned char)*q))
                    valid = false;
                else if (a0 >= info.size)
                    unsatisfiable = true;
                else {
                    if (b0 >= info.size)
                        b0 = info.size - 1;
                    off = a0;
                    len = b0 - a0 + 1;
                }
            }
        } else
            valid = false;
        if (valid && unsatisfiable) {
            close(fd);
            zc_req_add_header(r, "Content-Range", "bytes */%" PRIu64, info.size);
            zc_object_info_release(&info);
            zc_reply_error(r, 416, NULL);
            return;
        }
        if (valid) {
            status = 206;
            zc_req_add_header(r, "Content-Range", "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
                              off + len - 1, info.size);
        }
    }
    zc_reply_fd(r, status, info.content_type, fd, off, len);
    zc_object_info_release(&info);
}

/* ---- PUT ---- */

typedef struct put_state {
    zc_put_t *put;
    EVP_MD_CTX *md5;
    uint64_t size;
    char *copy_from; /* X-Copy-From, decoded "cont/obj" */
} put_state_t;

static void put_cleanup(zc_req_t *r)
{
    put_state_t *ps = r->handler_state;
    if (!ps)
        return;
    if (ps->put)
        r->srv->store->ops->put_abort(ps->put);
    EVP_MD_CTX_free(ps->md5);
    free(ps->copy_from);
    free(ps);
    r->handler_state = NULL;
}

static int put_body(zc_req_t *r, const char *data, size_t n)
{
    put_state_t *ps = r->handler_state;
    if (ps->copy_from)
        return 0; /* ignored */
    ps->size += n;
    if (ps->size > r->srv->cfg->max_object_size)
        return -1; /* chunked upload past the limit: drop the connection */
    EVP_DigestUpdate(ps->md5, data, n);
    int rc = r->srv->store->ops->put_write(ps->put, data, n);
    if (rc == -ENOSPC || rc == -EDQUOT)
        return 507;
    return rc < 0 ? 500 : 0;
}

/* Split "cont/obj" (leading '/' allowed; already decoded). */
static int split_dest(const char *s, char **cont, char **obj)
{
    while (*s == '/')
        s++;
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1])
        return -1;
    *cont = strndup(s, (size_t)(slash - s));
    *obj = strdup(slash + 1);
    if (!*cont || !*obj) {
        free(*cont);
        free(*obj);
        return -1;
    }
    return 0;
}

/* Copy src (in r->account) to dst; answers the request. */
static void do_copy(zc_req_t *r, const char *scont, const char *sobj, const char *dacct,
                    const char *dcont, const char *dobj)
{
    zc_store_t *st = r->srv->store;
    int a = authorize(r, r->account, scont, ZC_ACCESS_READ);
    if (!a)
        a = authorize(r, dacct, dcont, ZC_ACCESS_WRITE);
    if (a) {
        zc_reply_error(r, a, NULL);
        return;
    }
    int nc = zc_name_check(dcont, ZC_MAX_CONTAINER_NAME, false);
    if (!nc)
        nc = zc_name_check(dobj, ZC_MAX_OBJECT_NAME, true);
    if (nc) {
        zc_reply_error(r, nc, "Invalid destination name");
        return;
    }
    zc_object_info_t src;
    int fd = -1;
    int rc = st->ops->object_open(st, r->account, scont, sobj, &src, &fd);
    if (rc < 0) {
        zc_reply_store_error(r, rc);
        return;
    }
    zc_put_t *put = NULL;
    rc = st->ops->put_begin(st, dacct, dcont, &put);
    if (rc < 0) {
        close(fd);
        zc_object_info_release(&src);
        zc_reply_store_error(r, rc);
        return;
    }
    char buf[65536];
    uint64_t left = src.size;
    while (left && rc == 0) {
        ssize_t n = read(fd, buf, left < sizeof buf ? left : sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -EIO;
            break;
        }
        rc = st->ops->put_write(put, buf, (size_t)n);
        left -= (uint64_t)n;
    }
    close(fd);
    if (rc < 0) {
        st->ops->put_abort(put);
        zc_object_info_release(&src);
        zc_reply_store_error(r, rc);
        return;
    }
    /* Metadata: the source's, overridden by the request's. */
    json_t *meta = json_object();
    const char *fresh = zc_req_header(r, "X-Fresh-Metadata");
    if (!(fresh && !strcasecmp(fresh, "true")))
        json_object_update(meta, src.meta);
    json_t *req_meta = json_object();
    int ms = object_meta(r, req_meta);
    json_object_update(meta, req_meta);
    json_decref(req_meta);
    if (ms) {
        st->ops->put_abort(put);
        json_decref(meta);
        zc_object_info_release(&src);
        zc_reply_error(r, ms, "Metadata too large");
        return;
    }
    zc_object_info_t info = {.size = src.size, .meta = meta};
    snprintf(info.etag, sizeof info.etag, "%s", src.etag);
    const char *ct = zc_req_header(r, "Content-Type");
    info.content_type = strdup(ct && *ct ? ct : src.content_type);
    rc = st->ops->put_commit(put, dobj, &info);
    if (rc < 0) {
        zc_object_info_release(&info);
        zc_object_info_release(&src);
        zc_reply_store_error(r, rc);
        return;
    }
    char date[40];
    zc_http_date((time_t)((src.ts + 99999) / 100000), date);
    zc_req_add_header(r, "Etag", "%s", info.etag);
    zc_req_add_header(r, "X-Copied-From", "%s/%s", scont, sobj);
    zc_req_add_header(r, "X-Copied-From-Last-Modified", "%s", date);
    last_modified(r, info.ts);
    zc_object_info_release(&info);
    zc_object_info_release(&src);
    zc_reply(r, 201, "text/html; charset=UTF-8", NULL, 0);
}

static void put_finish(zc_req_t *r)
{
    put_state_t *ps = r->handler_state;
    zc_store_t *st = r->srv->store;
    if (ps->copy_from) {
        char *cont = NULL, *obj = NULL;
        if (split_dest(ps->copy_from, &cont, &obj) < 0) {
            zc_reply_error(r, 412, "X-Copy-From header must be of the form <container>/<object>");
            return;
        }
        do_copy(r, cont, obj, r->account, r->container, r->object);
        free(cont);
        free(obj);
        return;
    }
    unsigned char md[16];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(ps->md5, md, &mdlen);
    zc_object_info_t info = {.size = ps->size};
    for (int i = 0; i < 16; i++)
        snprintf(info.etag + 2 * i, 3, "%02x", md[i]);
    const char *want = zc_req_header(r, "ETag");
    if (want && *want && !etag_in(want, info.etag)) {
        zc_reply_error(r, 422, "The object's ETag did not match the data received.");
        return;
    }
    info.meta = json_object();
    int ms = object_meta(r, info.meta);
    if (ms) {
        zc_object_info_release(&info);
        zc_reply_error(r, ms, "Metadata too large");
        return;
    }
    info.content_type = content_type_of(r, r->object, NULL);
    zc_put_t *put = ps->put;
    ps->put = NULL;
    int rc = st->ops->put_commit(put, r->object, &info);
    if (rc < 0) {
        zc_object_info_release(&info);
        zc_reply_store_error(r, rc);
        return;
    }
    zc_req_add_header(r, "Etag", "%s", info.etag);
    last_modified(r, info.ts);
    zc_object_info_release(&info);
    zc_reply(r, 201, "text/html; charset=UTF-8", NULL, 0);
}

static void object_put_begin(zc_req_t *r)
{
    zc_store_t *st = r->srv->store;
    int a = authorize(r, r->account, r->container, ZC_ACCESS_WRITE);
    if (a) {
        zc_reply_error(r, a, NULL);
        return;
    }
    const char *cl = zc_req_header(r, "Content-Length");
    const char *te = zc_req_header(r, "Transfer-Encoding");
    bool chunked = te && strcasestr(te, "chunked");
    if (!cl && !chunked) {
        zc_reply_error(r, 411, "Missing Content-Length or chunked Transfer-Encoding");
        return;
    }
    if (cl) {
        char *e;
        errno = 0;
        unsigned long long n = strtoull(cl, &e, 10);
        if (errno || *e || !*cl || cl[0] == '-') {
            zc_reply_error(r, 400, "Invalid Content-Length");
            return;
        }
        if (n > r->srv->cfg->max_object_size) {
            zc_reply_error(r, 413, "Your request is too large.");
            return;
        }
    }
    json_t *probe = json_object();
    int ms = object_meta(r, probe);
    json_decref(probe);
    if (ms) {
        zc_reply_error(r, ms, "Metadata too large");
        return;
    }
    const char *inm = zc_req_header(r, "If-None-Match");
    if (inm) {
        if (strcmp(inm, "*")) {
            zc_reply_error(r, 400, "If-None-Match only supports *");
            return;
        }
        zc_object_info_t o;
        if (st->ops->object_open(st, r->account, r->container, r->object, &o, NULL) == 0) {
            zc_object_info_release(&o);
            zc_reply_error(r, 412, NULL);
            return;
        }
    }
    put_state_t *ps = calloc(1, sizeof *ps);
    if (!ps) {
        zc_reply_error(r, 500, NULL);
        return;
    }
    r->handler_state = ps;
    r->on_cleanup = put_cleanup;
    r->on_body = put_body;
    r->on_finish = put_finish;
    const char *cf = zc_req_header(r, "X-Copy-From");
    if (cf) {
        ps->copy_from = zc_url_decode(cf, strlen(cf), false);
        if (!ps->copy_from) {
            zc_reply_error(r, 412, "Invalid X-Copy-From");
            return;
        }
        if (cl && strcmp(cl, "0")) {
            zc_reply_error(r, 400, "Copy requests require a zero byte body");
            return;
        }
        return;
    }
    ps->md5 = EVP_MD_CTX_new();
    if (!ps->md5 || EVP_DigestInit_ex(ps->md5, EVP_md5(), NULL) != 1) {
        zc_reply_error(r, 500, NULL);
        return;
    }
    int rc = st->ops->put_begin(st, r->account, r->container, &ps->put);
    if (rc < 0)
        zc_reply_store_error(r, rc);
}

/* ---- POST, DELETE, COPY ---- */

static void object_post(zc_req_t *r)
{
    zc_store_t *st = r->srv->store;
    int a = authorize(r, r->account, r->container, ZC_ACCESS_WRITE);
    if (a) {
        zc_reply_error(r, a, NULL);
        return;
    }
    json_t *meta = json_object();
    int ms = object_meta(r, meta);
    if (ms) {
        json_decref(meta);
        zc_reply_error(r, ms, "Metadata too large");
        return;
    }
    const char *ct = zc_req_header(r, "Content-Type");
    int rc = st->ops->object_post(st, r->account, r->container, r->object,
                                  ct && *ct ? ct : NULL, meta);
    json_decref(meta);
    if (rc < 0) {
        zc_reply_store_error(r, rc);
        return;
    }
    zc_reply(r, 202, "text/html; charset=UTF-8", NULL, 0);
}

static void object_delete(zc_req_t *r)
{
    zc_store_t *st = r->srv->store;
    int a = authorize(r, r->account, r->container, ZC_ACCESS_WRITE);
    if (a) {
        zc_reply_error(r, a, NULL);
        return;
    }
    int rc = st->ops->object_delete(st, r->account, r->container, r->object);
    if (rc < 0) {
        zc_reply_store_error(r, rc);
        return;
    }
    zc_reply(r, 204, "text/html; charset=UTF-8", NULL, 0);
}

static void object_copy(zc_req_t *r)
{
    const char *dest = zc_req_header(r, "Destination");
    if (!dest) {
        zc_reply_error(r, 412, "Destination header required");
        return;
    }
    char *d = zc_url_decode(dest, strlen(dest), false);
    char *cont = NULL, *obj = NULL;
    if (!d || split_dest(d, &cont, &obj) < 0) {
        free(d);
        zc_reply_error(r, 412, "Destination header must be of the form <container>/<object>");
        return;
    }
    free(d);
    const char *dacct = zc_req_header(r, "Destination-Account");
    char acct[ZC_MAX_ACCOUNT_NAME + 1];
    snprintf(acct, sizeof acct, "%s", dacct && *dacct ? dacct : r->account);
    do_copy(r, r->container, r->object, acct, cont, obj);
    free(cont);
    free(obj);
}

static void object_finish(zc_req_t *r)
{
    if (zc_req_is(r, "GET") || zc_req_is(r, "HEAD"))
        object_get(r);
    else if (zc_req_is(r, "POST"))
        object_post(r);
    else if (zc_req_is(r, "DELETE"))
        object_delete(r);
    else if (zc_req_is(r, "COPY"))
        object_copy(r);
    else {
        zc_req_add_header(r, "Allow", "GET, HEAD, PUT, POST, DELETE, COPY");
        zc_reply_error(r, 405, NULL);
    }
}

void zc_object_begin(zc_req_t *r)
{
    if (zc_req_is(r, "PUT")) {
        object_put_begin(r);
        return;
    }
    r->on_body = zc_body_buffer;
    r->on_finish = object_finish;
}
