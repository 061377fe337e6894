/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small Swift client on libcurl, enough for zpm: authentication (v1.0:
 * GET the auth URL with X-Auth-User / X-Auth-Key, the answer's
 * X-Auth-Token and X-Storage-Url; v2.0: POST <auth URL>/tokens to
 * Keystone, the token and the object-store endpoint of the catalog), and
 * one request function for everything else (account, containers, objects,
 * jobs) returning the status, the headers and the body.  Paths are
 * percent-encoded here; every request carries X-Auth-Token.  No retries:
 * zpm's commands are short and a failure is reported as it is.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "zpm/zpm.h"

#define BODY_MAX ((size_t)1 << 30)

typedef struct call {
    zpm_response_t *resp;
    bool too_big;
} call_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    call_t *c = ud;
    size_t len = size * n;
    if (c->resp->body.len + len > BODY_MAX) {
        c->too_big = true;
        return 0;
    }
    zpm_buf_add(&c->resp->body, p, len);
    return len;
}

static char *trimmed(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    char *s = zpm_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void clear_headers(zpm_response_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    call_t *c = ud;
    zpm_response_t *r = c->resp;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect): start over. */
        clear_headers(r);
        free(r->reason);
        const char *sp = memchr(p, ' ', len);
        const char *reason = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p)) : NULL;
        r->reason = reason ? trimmed(reason + 1, len - (size_t)(reason + 1 - p)) : zpm_xstrdup("");
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    r->headers = zpm_xrealloc(r->headers, (r->nheaders + 1) * sizeof *r->headers);
    r->headers[r->nheaders].name = trimmed(p, (size_t)(colon - p));
    r->headers[r->nheaders].value = trimmed(colon + 1, len - (size_t)(colon + 1 - p));
    r->nheaders++;
    return len;
}

const char *zpm_response_header(const zpm_response_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void zpm_response_release(zpm_response_t *r)
{
    clear_headers(r);
    free(r->reason);
    zpm_buf_release(&r->body);
    *r = (zpm_response_t){0};
}

char *zpm_response_describe(const zpm_response_t *r)
{
    size_t n = r->body.data ? strcspn(r->body.data, "\r\n") : 0;
    if (n > 300)
        n = 300;
    if (n)
        return zpm_xasprintf("%ld %s: %.*s", r->status, r->reason ? r->reason : "", (int)n, r->body.data);
    return zpm_xasprintf("%ld %s", r->status, r->reason ? r->reason : "");
}

static void global_init(void)
{
    static bool done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        atexit(curl_global_cleanup);
        done = true;
    }
}

void zpm_url_encode(zpm_buf_t *b, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p)) {
            zpm_buf_add(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            zpm_buf_add(b, e, 3);
        }
    }
}

/* One HTTP exchange on a full URL. */
static int perform(const char *method, const char *url, const char *const *headers, const void *body,
                   size_t len, zpm_response_t *resp, zvm_error_t *err)
{
    global_init();
    *resp = (zpm_response_t){0};
    CURL *h = curl_easy_init();
    if (!h)
        return zvm_error_set(err, ENOMEM, "cannot start an HTTP request");
    call_t c = {.resp = resp};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");   /* no 100-continue round trip */
    if (!body)
        hl = curl_slist_append(hl, "Content-Type:");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "zpm");
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        /* PUT and POST send a body, empty or not (Content-Length is set). */
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode cc = curl_easy_perform(h);
    int rc = 0;
    if (cc != CURLE_OK) {
        if (c.too_big)
            rc = zvm_error_set(err, EFBIG, "the answer of %s %s is larger than %zu bytes", method, url, BODY_MAX);
        else
            rc = zvm_error_set(err, EIO, "%s %s failed: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        zpm_response_release(resp);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (!resp->reason)
            resp->reason = zpm_xstrdup("");
        if (!resp->body.data)
            zpm_buf_add(&resp->body, "", 0);
        zpm_debug("%s %s -> %ld %s", method, url, resp->status, resp->reason);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

static int set_storage(zpm_swift_t *c, const char *auth_url, const char *version, const char *url,
                       const char *token, zvm_error_t *err)
{
    if (!url || !*url || !token || !*token)
        return zvm_error_set(err, EPROTO, "the auth server answered without %s",
                             !token || !*token ? "a token" : "a storage URL");
    c->storage_url = zpm_xstrdup(url);
    size_t n = strlen(c->storage_url);
    while (n > 0 && c->storage_url[n - 1] == '/')
        c->storage_url[--n] = '\0';
    const char *slash = strrchr(c->storage_url, '/');
    c->account = zpm_xstrdup(slash ? slash + 1 : c->storage_url);
    c->token = zpm_xstrdup(token);
    c->auth_url = zpm_xstrdup(auth_url);
    c->auth_version = version;
    return 0;
}

int zpm_swift_auth_v1(zpm_swift_t *c, const char *auth_url, const char *user, const char *key,
                      zvm_error_t *err)
{
    *c = (zpm_swift_t){0};
    cleanup_free char *hu = zpm_xasprintf("X-Auth-User: %s", user);
    cleanup_free char *hk = zpm_xasprintf("X-Auth-Key: %s", key);
    const char *headers[] = {hu, hk, NULL};
    zpm_response_t r;
    if (perform("GET", auth_url, headers, NULL, 0, &r, err) < 0)
        return zvm_error_prefix(err, "authentication failed");
    int rc = 0;
    if (r.status < 200 || r.status > 299) {
        cleanup_free char *d = zpm_response_describe(&r);
        rc = zvm_error_set(err, EACCES, "authentication failed: %s", d);
    } else {
        const char *token = zpm_response_header(&r, "X-Auth-Token");
        if (!token)
            token = zpm_response_header(&r, "X-Storage-Token");
        rc = set_storage(c, auth_url, "1.0", zpm_response_header(&r, "X-Storage-Url"), token, err);
    }
    zpm_response_release(&r);
    return rc;
}

int zpm_swift_auth_v2(zpm_swift_t *c, const char *auth_url, const char *tenant, const char *user,
                      const char *password, zvm_error_t *err)
{
    *c = (zpm_swift_t){0};
    json_t *req = json_pack("{s:{s:s,s:{s:s,s:s}}}", "auth", "tenantName", tenant, "passwordCredentials",
                            "username", user, "password", password);
    if (!req)
        return zvm_error_set(err, EINVAL, "the v2.0 credentials are not valid UTF-8");
    cleanup_free char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    size_t n = strlen(auth_url);
    cleanup_free char *url = zpm_xasprintf("%s%stokens", auth_url, n && auth_url[n - 1] == '/' ? "" : "/");
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json", NULL};
    zpm_response_t r;
    if (perform("POST", url, headers, body, strlen(body), &r, err) < 0)
        return zvm_error_prefix(err, "authentication failed");
    int rc = 0;
    if (r.status < 200 || r.status > 299) {
        cleanup_free char *d = zpm_response_describe(&r);
        rc = zvm_error_set(err, EACCES, "authentication failed: %s", d);
        zpm_response_release(&r);
        return rc;
    }
    json_t *doc = json_loadb(r.body.data, r.body.len, 0, NULL);
    json_t *access = json_object_get(doc, "access");
    const char *token = json_string_value(json_object_get(json_object_get(access, "token"), "id"));
    const char *storage = NULL;
    size_t i;
    json_t *svc;
    json_array_foreach(json_object_get(access, "serviceCatalog"), i, svc) {
        const char *type = json_string_value(json_object_get(svc, "type"));
        json_t *ep = json_array_get(json_object_get(svc, "endpoints"), 0);
        if (type && strcmp(type, "object-store") == 0 && ep) {
            storage = json_string_value(json_object_get(ep, "publicURL"));
            break;
        }
    }
    rc = set_storage(c, auth_url, "2.0", storage, token, err);
    json_decref(doc);
    zpm_response_release(&r);
    return rc;
}

int zpm_swift_request(const zpm_swift_t *c, const char *method, const char *path, const char *query,
                      const char *const *headers, const void *body, size_t len, zpm_response_t *resp,
                      zvm_error_t *err)
{
    zpm_buf_t url = {0};
    zpm_buf_adds(&url, c->storage_url);
    if (path && *path) {
        zpm_buf_add(&url, "/", 1);
        zpm_url_encode(&url, path);
    }
    if (query && *query)
        zpm_buf_addf(&url, "?%s", query);
    cleanup_free char *u = zpm_buf_steal(&url);
    cleanup_free char *tok = zpm_xasprintf("X-Auth-Token: %s", c->token);
    size_t n = 0;
    while (headers && headers[n])
        n++;
    const char **all = zpm_xmalloc((n + 2) * sizeof *all);
    all[0] = tok;
    for (size_t i = 0; i < n; i++)
        all[i + 1] = headers[i];
    all[n + 1] = NULL;
    int rc = perform(method, u, all, body, len, resp, err);
    free(all);
    return rc;
}

void zpm_swift_release(zpm_swift_t *c)
{
    free(c->storage_url);
    free(c->token);
    free(c->account);
    free(c->auth_url);
    *c = (zpm_swift_t){0};
}
