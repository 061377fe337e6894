/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request as handlers see it, and answering it: headers and query
 * arguments (decoded by us: MHD is told not to unescape, so "%00" and
 * "%2F" reach the router undecoded and are judged there), reply headers
 * collected before the reply, replies from memory or from a file
 * descriptor (sendfile), Swift's error bodies, metadata headers.  Also the
 * growable buffer everyone uses.  Routing is server.c's.
 */
#include "cloud/cloud.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- buffer ---- */

int zc_buf_add(zc_buf_t *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int zc_buf_puts(zc_buf_t *b, const char *s)
{
    return zc_buf_add(b, s, strlen(s));
}

int zc_buf_printf(zc_buf_t *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof small)
        return zc_buf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = zc_buf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

void zc_buf_release(zc_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- request ---- */

const char *zc_req_header(zc_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *zc_req_arg(zc_req_t *r, const char *name)
{
    for (size_t i = 0; i < r->nargs; i++)
        if (!strcmp(r->args[i].k, name))
            return r->args[i].v;
    return NULL;
}

bool zc_req_is(zc_req_t *r, const char *method)
{
    return !strcmp(r->method, method);
}

void zc_req_add_header(zc_req_t *r, const char *k, const char *fmt, ...)
{
    if (r->nhdrs >= ZC_MAX_OUT_HEADERS)
        return;
    char *v = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&v, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *kk = strdup(k);
    if (!kk) {
        free(v);
        return;
    }
    r->hdrs[r->nhdrs].k = kk;
    r->hdrs[r->nhdrs].v = v;
    r->nhdrs++;
}

static void queue(zc_req_t *r, int status, struct MHD_Response *resp, const char *content_type)
{
    if (!resp) {
        r->status = 500;
        r->replied = true;
        return;
    }
    char trans[64];
    snprintf(trans, sizeof trans, "tx%016lx%08x", (unsigned long)r->t0_ns,
             (unsigned)(uintptr_t)r & 0xffffffffu);
    MHD_add_response_header(resp, "X-Trans-Id", trans);
    MHD_add_response_header(resp, "X-Openstack-Request-Id", trans);
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    for (size_t i = 0; i < r->nhdrs; i++)
        MHD_add_response_header(resp, r->hdrs[i].k, r->hdrs[i].v);
    if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES)
        status = 500;
    MHD_destroy_response(resp);
    r->status = status;
    r->replied = true;
}

void zc_reply(zc_req_t *r, int status, const char *content_type, char *body, size_t len)
{
    if (r->replied) {
        free(body);
        return;
    }
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        free(body);
    if (!zc_req_is(r, "HEAD"))
        r->bytes_out += len;
    queue(r, status, resp, content_type);
}

void zc_reply_fd(zc_req_t *r, int status, const char *content_type, int fd, uint64_t off,
                 uint64_t len)
{
    if (r->replied) {
        close(fd);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
    if (!resp)
        close(fd);
    if (!zc_req_is(r, "HEAD"))
        r->bytes_out += len;
    queue(r, status, resp, content_type);
}

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

void zc_reply_error(zc_req_t *r, int status, const char *detail)
{
    char *body = NULL;
    int n = asprintf(&body, "<html><h1>%s</h1><p>%s</p></html>", reason(status),
                     detail ? detail : reason(status));
    if (n < 0) {
        zc_reply(r, status, NULL, NULL, 0);
        return;
    }
    zc_reply(r, status, "text/html; charset=UTF-8", body, (size_t)n);
}

void zc_reply_store_error(zc_req_t *r, int rc)
{
    switch (rc) {
    case -ENOENT:
        zc_reply_error(r, 404, "The resource could not be found.");
        break;
    case -ENOTEMPTY:
        zc_reply_error(r, 409, "There was a conflict when trying to complete your request.");
        break;
    case -EFBIG:
        zc_reply_error(r, 413, "Your request is too large.");
        break;
    case -EINVAL:
        zc_reply_error(r, 400, NULL);
        break;
    case -ENOSPC:
        zc_reply_error(r, 507, "Insufficient Storage");
        break;
    default:
        zc_reply_error(r, 500, "An error occurred while storing the request.");
        break;
    }
}

int zc_body_buffer(zc_req_t *r, const char *data, size_t n)
{
    if (r->body.len + n > ZC_MAX_SMALL_BODY)
        return 413;
    return zc_buf_add(&r->body, data, n) < 0 ? 500 : 0;
}

/* ---- names and headers ---- */

static int hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *zc_url_decode(const char *s, size_t n, bool plus_is_space)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) {
                free(out);
                return NULL;
            }
            int hi = hex((unsigned char)s[i + 1]), lo = hex((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space)
            c = ' ';
        if (c == '\0') {
            free(out);
            return NULL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

void zc_header_title(char *s)
{
    bool up = true;
    for (; *s; s++) {
        *s = (char)(up ? toupper((unsigned char)*s) : tolower((unsigned char)*s));
        up = *s == '-';
    }
}

struct meta_collect {
    const char *prefix;
    size_t plen;
    json_t *meta;
    int status;
    size_t total;
};

static enum MHD_Result meta_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    struct meta_collect *mc = cls;
    if (strncasecmp(key, mc->prefix, mc->plen))
        return MHD_YES;
    size_t kl = strlen(key), vl = value ? strlen(value) : 0;
    if (kl - mc->plen > ZC_MAX_META_NAME || vl > ZC_MAX_META_VALUE || kl == mc->plen ||
        json_object_size(mc->meta) >= ZC_MAX_META_COUNT) {
        mc->status = 400;
        return MHD_NO;
    }
    mc->total += kl - mc->plen + vl;
    if (mc->total > ZC_MAX_META_OVERALL) {
        mc->status = 400;
        return MHD_NO;
    }
    char *lk = strdup(key);
    if (!lk) {
        mc->status = 500;
        return MHD_NO;
    }
    for (char *p = lk; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    json_object_set_new(mc->meta, lk, json_string(value ? value : ""));
    free(lk);
    return MHD_YES;
}

int zc_meta_from_request(zc_req_t *r, const char *prefix, json_t *meta)
{
    struct meta_collect mc = {prefix, strlen(prefix), meta, 0, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, meta_iter, &mc);
    return mc.status;
}

void zc_meta_to_reply(zc_req_t *r, json_t *meta, const char *only_prefix)
{
    const char *k;
    json_t *v;
    size_t pl = only_prefix ? strlen(only_prefix) : 0;
    json_object_foreach(meta, k, v)
    {
        if (pl && strncmp(k, only_prefix, pl))
            continue;
        char *name = strdup(k);
        if (!name)
            continue;
        zc_header_title(name);
        zc_req_add_header(r, name, "%s", json_string_value(v) ? json_string_value(v) : "");
        free(name);
    }
}
