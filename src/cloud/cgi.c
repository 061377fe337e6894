/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CGI/1.1 environment of a compute request, given to every node of its
 * jobs (nvram [env], before LOCAL_* and the group's exec.env):
 *
 *   GATEWAY_INTERFACE=CGI/1.1, REQUEST_METHOD, QUERY_STRING (the decoded
 *   arguments encoded again), PATH_INFO (/<acct> for a POSTed job,
 *   /<acct>/<cont>/<obj> for open/1.0, /<acct>/<cont>/<path> for api/1.0),
 *   REQUEST_URI, SCRIPT_NAME (/v1, /open or /api), SCRIPT_FILENAME (the
 *   app's swift:// URL when there is one), REMOTE_USER (account:user, for
 *   a valid token), SERVER_NAME and SERVER_PORT (from Host, else the
 *   listening address), SERVER_PROTOCOL, SERVER_SOFTWARE, CONTENT_TYPE and
 *   CONTENT_LENGTH of the body, and every other request header as HTTP_*
 *   (upper case, '-' and anything not a letter or digit as '_').
 *
 * Credentials never reach a program: X-Auth-*, X-Storage-*, Authorization,
 * Proxy-Authorization, Cookie are left out.
 */
#include "cloud/compute.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct env_list {
    zvm_job_env_t *v;
    size_t n, cap;
    bool oom;
} env_list_t;

static void add(env_list_t *l, const char *name, const char *value)
{
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        zvm_job_env_t *g = realloc(l->v, cap * sizeof *g);
        if (!g) {
            l->oom = true;
            return;
        }
        l->v = g;
        l->cap = cap;
    }
    char *k = strdup(name), *v = strdup(value ? value : "");
    if (!k || !v) {
        free(k);
        free(v);
        l->oom = true;
        return;
    }
    l->v[l->n++] = (zvm_job_env_t){k, v};
}

static bool secret_header(const char *k)
{
    static const char *const prefixes[] = {"x-auth-", "x-storage-"};
    static const char *const names[] = {"authorization", "proxy-authorization", "cookie",
                                        "content-type", "content-length"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (!strncasecmp(k, prefixes[i], strlen(prefixes[i])))
            return true;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(k, names[i]))
            return true;
    return false;
}

static enum MHD_Result header_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    env_list_t *l = cls;
    if (!key || !*key || secret_header(key) || strlen(key) > 200)
        return MHD_YES;
    char name[256];
    int n = snprintf(name, sizeof name, "HTTP_%s", key);
    if (n < 0 || (size_t)n >= sizeof name)
        return MHD_YES;
    for (char *p = name + 5; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    add(l, name, value);
    return MHD_YES;
}

/* Percent-encode for a query string. */
static void encode(zc_buf_t *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~/", *p))
            zc_buf_add(b, p, 1);
        else
            zc_buf_printf(b, "%%%02X", *p);
    }
}

int zc_cgi_env(zc_exec_t *x, zvm_job_env_t **env, size_t *count)
{
    zc_req_t *r = x->r;
    env_list_t l = {0};
    zc_buf_t q = {0};
    for (size_t i = 0; i < r->nargs; i++) {
        if (i)
            zc_buf_puts(&q, "&");
        encode(&q, r->args[i].k);
        if (r->args[i].v && *r->args[i].v) {
            zc_buf_puts(&q, "=");
            encode(&q, r->args[i].v);
        }
    }
    zc_buf_t uri = {0};
    zc_buf_puts(&uri, r->raw_path);
    if (q.len) {
        zc_buf_puts(&uri, "?");
        zc_buf_add(&uri, q.p, q.len);
    }
    /* SERVER_NAME / SERVER_PORT: Host, else the address we listen on. */
    const char *host = zc_req_header(r, "Host");
    if (!host || !*host)
        host = r->srv->host_port;
    char name[300], port[16] = "80";
    snprintf(name, sizeof name, "%s", host);
    char *colon = name[0] == '[' ? strstr(name, "]:") : strrchr(name, ':');
    if (colon) {
        if (*colon == ']')
            colon++;
        snprintf(port, sizeof port, "%s", colon + 1);
        *colon = '\0';
    }
    char user[2 * ZC_MAX_ACCOUNT_NAME + 2] = "";
    if (r->ident.valid)
        snprintf(user, sizeof user, "%s:%s", r->ident.account, r->ident.user);
    char script[16];
    snprintf(script, sizeof script, "/%s", r->version ? r->version : "v1");
    char length[32];
    snprintf(length, sizeof length, "%llu", (unsigned long long)x->body_len);

    add(&l, "GATEWAY_INTERFACE", "CGI/1.1");
    add(&l, "REQUEST_METHOD", r->method);
    add(&l, "QUERY_STRING", q.p ? q.p : "");
    add(&l, "PATH_INFO", x->path_info ? x->path_info : "");
    add(&l, "REQUEST_URI", uri.p ? uri.p : r->raw_path);
    add(&l, "SCRIPT_NAME", script);
    if (x->script_filename)
        add(&l, "SCRIPT_FILENAME", x->script_filename);
    if (user[0])
        add(&l, "REMOTE_USER", user);
    add(&l, "SERVER_NAME", name);
    add(&l, "SERVER_PORT", port);
    add(&l, "SERVER_PROTOCOL", r->http_version ? r->http_version : "HTTP/1.1");
    add(&l, "SERVER_SOFTWARE", "zerocloud/" ZVM_VERSION);
    if (x->body_len) {
        const char *ct = zc_req_header(r, "Content-Type");
        add(&l, "CONTENT_TYPE", ct ? ct : "");
        add(&l, "CONTENT_LENGTH", length);
    }
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, header_iter, &l);
    bool oom = l.oom || (r->nargs && !q.p) || !uri.p;
    zc_buf_release(&q);
    zc_buf_release(&uri);
    if (oom) {
        zc_cgi_release(l.v, l.n);
        return -1;
    }
    *env = l.v;
    *count = l.n;
    return 0;
}

void zc_cgi_release(zvm_job_env_t *env, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(env[i].name);
        free(env[i].value);
    }
    free(env);
}
