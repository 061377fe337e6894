/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP side of zerocloud: the libmicrohttpd daemon (its limits: header
 * size through the per-connection memory pool, connection counts overall
 * and per address, an idle timeout; one thread per connection by default,
 * or an epoll thread pool), the life of a request (zc_req_t: created on
 * MHD's first call, body chunks to r->on_body, the answer from
 * r->on_finish, freed and logged in the completion callback), and the
 * router:
 *
 *   GET /                      status page (live counts)
 *   GET /info, /healthcheck    capabilities, liveness
 *   GET /auth/v1.0 (/auth/v1)  auth v1.0: token and storage URL
 *   /v1/<acct>[/<cont>[/<obj>]]  Swift storage: account.c, container.c, object.c
 *   /open/..., /api/..., or X-Zerovm-Execute   the compute seam (compute.c)
 *
 * MHD does all HTTP parsing but is told not to unescape the URL: we decode
 * each path segment ourselves, so "%2F" cannot split a container name and
 * "%00" is refused (400) instead of truncating a name.
 */
#include "cloud/cloud.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* ---- request life ---- */

static void req_free(zc_req_t *r)
{
    if (r->on_cleanup)
        r->on_cleanup(r);
    free(r->raw_path);
    free(r->account);
    free(r->container);
    free(r->object);
    free(r->version);
    for (size_t i = 0; i < r->nargs; i++) {
        free(r->args[i].k);
        free(r->args[i].v);
    }
    for (size_t i = 0; i < r->nhdrs; i++) {
        free(r->hdrs[i].k);
        free(r->hdrs[i].v);
    }
    zc_buf_release(&r->body);
    free(r);
}

/* One line per request on stderr, written at once. */
static void log_request(zc_req_t *r, enum MHD_RequestTerminationCode toe)
{
    char path[600];
    size_t o = 0;
    for (const char *p = r->raw_path ? r->raw_path : "-"; *p && o < sizeof path - 8; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x7f || c == '\\')
            o += (size_t)snprintf(path + o, sizeof path - o, "\\x%02x", c);
        else
            path[o++] = (char)c;
    }
    path[o] = '\0';
    char addr[INET6_ADDRSTRLEN] = "-";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof addr);
    }
    double ms = (double)(now_ns() - r->t0_ns) / 1e6;
    char line[900];
    int n = snprintf(line, sizeof line, "%s %s %s %d %" PRIu64 " %.2fms%s\n", addr,
                     r->method ? r->method : "-", path, r->status,
                     r->bytes_in + r->bytes_out, ms,
                     toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line);
        (void)w;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    zc_req_t *r = *ctx;
    if (!r)
        return;
    log_request(r, toe);
    req_free(r);
    *ctx = NULL;
}

/* MHD must leave the URL escaped: the router decodes segment by segment. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

struct arg_state {
    zc_req_t *r;
    bool bad;
};

static enum MHD_Result arg_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct arg_state *as = cls;
    zc_req_t *r = as->r;
    if (r->nargs >= ZC_MAX_ARGS)
        return MHD_YES; /* ignore the rest */
    char *k = zc_url_decode(key, strlen(key), true);
    char *v = zc_url_decode(value ? value : "", value ? strlen(value) : 0, true);
    if (!k || !v) {
        free(k);
        free(v);
        as->bad = true;
        return MHD_NO;
    }
    r->args[r->nargs].k = k;
    r->args[r->nargs].v = v;
    r->nargs++;
    return MHD_YES;
}

/* ---- small pages ---- */

void zc_status_page(zc_req_t *r)
{
    zc_server_t *s = r->srv;
    uint64_t conts, objs, bytes;
    s->store->ops->totals(s->store, &conts, &objs, &bytes);
    char running[32] = "n/a", finished[32] = "n/a";
    if (s->compute && s->compute->counts) {
        uint64_t a, b;
        s->compute->counts(s->compute, &a, &b);
        snprintf(running, sizeof running, "%" PRIu64, a);
        snprintf(finished, sizeof finished, "%" PRIu64, b);
    }
    zc_buf_t b = {0};
    zc_buf_printf(&b,
                  "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>zerocloud</title>"
                  "</head>\n<body><h1>zerocloud</h1>\n<table>\n"
                  "<tr><th>containers</th><td id=\"containers\">%" PRIu64 "</td></tr>\n"
                  "<tr><th>objects</th><td id=\"objects\">%" PRIu64 "</td></tr>\n"
                  "<tr><th>bytes</th><td id=\"bytes\">%" PRIu64 "</td></tr>\n"
                  "<tr><th>requests</th><td id=\"requests\">%" PRIu64 "</td></tr>\n"
                  "<tr><th>uptime</th><td id=\"uptime\">%lds</td></tr>\n"
                  "<tr><th>jobs running</th><td id=\"jobs-running\">%s</td></tr>\n"
                  "<tr><th>jobs finished</th><td id=\"jobs-finished\">%s</td></tr>\n"
                  "</table>\n<p>storage: %s; compute: %s</p>\n</body></html>\n",
                  conts, objs, bytes, atomic_load((_Atomic uint64_t *)&s->requests),
                  (long)(time(NULL) - s->started), running, finished, s->store->ops->name,
                  s->compute ? s->compute->name : "none");
    if (!b.p) {
        zc_reply_error(r, 500, NULL);
        return;
    }
    zc_reply(r, 200, "text/html; charset=utf-8", b.p, b.len);
}

void zc_info_page(zc_req_t *r)
{
    const zc_config_t *c = r->srv->cfg;
    json_t *j = json_pack("{s:{s:s,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:b},s:{s:b}}",
                          "swift", "version", "2.30.0-zerocloud", "max_file_size",
                          (json_int_t)c->max_object_size, "container_listing_limit",
                          (json_int_t)c->max_listing, "account_listing_limit",
                          (json_int_t)c->max_listing, "max_object_name_length", ZC_MAX_OBJECT_NAME,
                          "max_container_name_length", ZC_MAX_CONTAINER_NAME,
                          "max_account_name_length", ZC_MAX_ACCOUNT_NAME, "max_meta_count",
                          ZC_MAX_META_COUNT, "max_meta_name_length", ZC_MAX_META_NAME,
                          "max_meta_value_length", ZC_MAX_META_VALUE, "max_meta_overall_size",
                          ZC_MAX_META_OVERALL, "strict_cors_mode", 1, "tempauth",
                          "account_acls", 0);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        zc_reply_error(r, 500, NULL);
        return;
    }
    zc_reply(r, 200, "application/json; charset=utf-8", text, strlen(text));
}

static bool host_ok(const char *h)
{
    size_t n = strlen(h);
    if (!n || n > 255)
        return false;
    for (const char *p = h; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
              strchr(".-:[]_", *p)))
            return false;
    return true;
}

static void auth_page(zc_req_t *r)
{
    if (!zc_req_is(r, "GET") && !zc_req_is(r, "HEAD")) {
        zc_reply_error(r, 405, NULL);
        return;
    }
    const char *user = zc_req_header(r, "X-Auth-User");
    const char *key = zc_req_header(r, "X-Auth-Key");
    if (!user)
        user = zc_req_header(r, "X-Storage-User");
    if (!key)
        key = zc_req_header(r, "X-Storage-Pass");
    if (!user || !key) {
        zc_reply_error(r, 401, "Missing X-Auth-User or X-Auth-Key");
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *from = ci ? ci->client_addr : NULL;
    unsigned wait = zc_auth_throttled(r->srv->auth, from, user);
    if (wait) {
        zc_req_add_header(r, "Retry-After", "%u", wait);
        zc_reply_error(r, 429, "Too many failed logins; try again later");
        return;
    }
    char token[65];
    unsigned ttl;
    zc_ident_t id;
    int rc = zc_auth_login(r->srv->auth, user, key, token, &ttl, &id);
    if (rc == -EACCES)
        zc_auth_failed(r->srv->auth, from, user);
    if (rc == -EAGAIN) {
        zc_reply_error(r, 503, "Too many tokens");
        return;
    }
    if (rc < 0) {
        zc_reply_error(r, 401, "This server could not verify that you are authorized.");
        return;
    }
    const char *host = zc_req_header(r, "Host");
    if (!host || !host_ok(host))
        host = r->srv->host_port;
    char url[600];
    snprintf(url, sizeof url, "http://%s/v1/AUTH_%s", host, id.account);
    zc_req_add_header(r, "X-Auth-Token", "%s", token);
    zc_req_add_header(r, "X-Storage-Token", "%s", token);
    zc_req_add_header(r, "X-Auth-Token-Expires", "%u", ttl);
    zc_req_add_header(r, "X-Storage-Url", "%s", url);
    json_t *j = json_pack("{s:{s:s,s:s}}", "storage", "default", "local", "local", url);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    zc_reply(r, 200, "application/json; charset=UTF-8", text, text ? strlen(text) : 0);
}

static void healthcheck(zc_req_t *r)
{
    char *ok = strdup("OK");
    zc_reply(r, 200, "text/plain", ok, ok ? 2 : 0);
}

/* ---- the router ---- */

/* Next segment of p (after a '/'): its raw extent; advances *p. */
static bool next_segment(const char **p, const char **seg, size_t *len)
{
    if (**p != '/')
        return false;
    (*p)++;
    *seg = *p;
    *len = strcspn(*p, "/");
    *p += *len;
    return true;
}

static bool seg_is(const char *seg, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(seg, lit, n);
}

/* Decode the storage part of the path: account, container, object. */
static int route_storage(zc_req_t *r, const char *p)
{
    const char *seg;
    size_t n;
    if (!next_segment(&p, &seg, &n) || n == 0)
        return 400;
    if (!(r->account = zc_url_decode(seg, n, false)))
        return 400;
    r->level = ZC_LVL_ACCOUNT;
    if (*p == '/' && p[1]) {
        next_segment(&p, &seg, &n);
        if (!(r->container = zc_url_decode(seg, n, false)))
            return 400;
        r->level = ZC_LVL_CONTAINER;
        if (*p == '/' && p[1]) {
            if (!(r->object = zc_url_decode(p + 1, strlen(p + 1), false)))
                return 400;
            r->level = ZC_LVL_OBJECT;
        }
    }
    int st = zc_name_check(r->account, ZC_MAX_ACCOUNT_NAME, false);
    if (!st && r->container)
        st = zc_name_check(r->container, ZC_MAX_CONTAINER_NAME, false);
    if (!st && r->object)
        st = zc_name_check(r->object, ZC_MAX_OBJECT_NAME, true);
    return st;
}

static void route(zc_req_t *r)
{
    const char *path = r->raw_path;
    struct arg_state as = {r, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, arg_iter, &as);
    if (as.bad) {
        zc_reply_error(r, 400, "Invalid query string");
        return;
    }
    if (path[0] != '/') {
        zc_reply_error(r, 400, "Bad URL");
        return;
    }
    if (!strcmp(path, "/")) {
        if (zc_req_is(r, "GET") || zc_req_is(r, "HEAD"))
            r->on_finish = zc_status_page;
        else
            r->on_finish = NULL, zc_reply_error(r, 405, NULL);
        return;
    }
    const char *p = path, *seg;
    size_t n;
    next_segment(&p, &seg, &n);
    if (seg_is(seg, n, "info") && !*p) {
        r->on_finish = zc_info_page;
        return;
    }
    if (seg_is(seg, n, "healthcheck") && !*p) {
        r->on_finish = healthcheck;
        return;
    }
    if ((seg_is(seg, n, "auth") && (!strcmp(p, "/v1.0") || !strcmp(p, "/v1"))) ||
        (seg_is(seg, n, "v1.0") && !*p)) {
        r->on_finish = auth_page;
        return;
    }
    bool v1 = seg_is(seg, n, "v1");
    if (!v1 && !seg_is(seg, n, "open") && !seg_is(seg, n, "api")) {
        zc_reply_error(r, 404, "The resource could not be found.");
        return;
    }
    r->version = strndup(seg, n);
    int st = route_storage(r, p);
    if (st) {
        zc_reply_error(r, st, st == 412 ? "Invalid UTF8 or contains NULL" : "Bad URL or name");
        return;
    }
    const char *token = zc_req_header(r, "X-Auth-Token");
    if (!token)
        token = zc_req_header(r, "X-Storage-Token");
    if (token && zc_auth_check(r->srv->auth, token, &r->ident) < 0) {
        zc_reply_error(r, 401, "This server could not verify that you are authorized.");
        return;
    }
    if (!v1 || zc_req_header(r, "X-Zerovm-Execute")) {
        r->srv->compute->begin(r->srv->compute, r);
        return;
    }
    switch (r->level) {
    case ZC_LVL_ACCOUNT: zc_account_begin(r); break;
    case ZC_LVL_CONTAINER: zc_container_begin(r); break;
    case ZC_LVL_OBJECT: zc_object_begin(r); break;
    }
}

/* A body announced too long for a buffering handler is refused before it
 * is read: an answer queued now makes MHD read no body and close after it
 * (Connection: close), so the client gets its 413 at once. */
static void refuse_early(zc_req_t *r)
{
    if (r->replied || r->on_body != zc_body_buffer)
        return;
    const char *cl = zc_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (errno || *end || end == cl || n > ZC_MAX_SMALL_BODY)
        zc_reply_error(r, 413, "Your request is too large.");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *size, void **ctx)
{
    zc_server_t *s = cls;
    zc_req_t *r = *ctx;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->method = method;
        r->http_version = version;
        r->t0_ns = now_ns();
        r->raw_path = strdup(url);
        *ctx = r;
        atomic_fetch_add((_Atomic uint64_t *)&s->requests, 1);
        if (!r->raw_path) {
            zc_reply_error(r, 500, NULL);
            return MHD_YES;
        }
        route(r);
        refuse_early(r);
        return MHD_YES;
    }
    if (*size) {
        size_t n = *size;
        *size = 0;
        r->bytes_in += n;
        if (r->replied || r->body_status) {
            /* Refused midway: MHD answers only once the body has ended, so
             * drop a little more in case it ends soon, then close without
             * an answer rather than read an unbounded body for nothing. */
            r->discarded += n;
            return r->discarded > ZC_MAX_DISCARD ? MHD_NO : MHD_YES;
        }
        int st = r->on_body ? r->on_body(r, data, n) : 0;
        if (st < 0)
            return MHD_NO;
        r->body_status = st;
        if (st)
            r->status = st; /* logged even if the connection is then dropped */
        return MHD_YES;
    }
    if (r->replied)
        return MHD_YES;
    if (r->body_status)
        zc_reply_error(r, r->body_status, NULL);
    else if (r->on_finish)
        r->on_finish(r);
    if (!r->replied)
        zc_reply_error(r, 500, "no answer");
    return MHD_YES;
}

/* ---- start and stop ---- */

int zc_listen_resolve(const char *listen, struct sockaddr_storage *addr, char *err,
                      size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1]) {
        snprintf(err, errlen, "listen address '%s' must be ADDR:PORT", listen);
        return -1;
    }
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
        memcpy(host, listen + 1, hl - 2);
        host[hl - 2] = '\0';
    } else {
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, listen, hl);
        host[hl] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc || !ai) {
        snprintf(err, errlen, "listen address '%s': %s", listen, gai_strerror(rc));
        return -1;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(addr, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

bool zc_addr_is_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static int parse_listen(zc_server_t *s, const char *listen, char *err, size_t errlen)
{
    if (zc_listen_resolve(listen, &s->addr, err, errlen) < 0)
        return -1;
    snprintf(s->host_port, sizeof s->host_port, "%s", listen);
    return 0;
}

/* The listening socket, bound here rather than by MHD so that a port in
 * use is told as such.  SO_REUSEADDR only (a restart may bind beside its
 * predecessor's TIME_WAIT connections); never SO_REUSEPORT, with which a
 * second server would bind the same port and the kernel would split the
 * clients between the two.  Returns the fd, or -1 with err filled. */
static int listen_socket(zc_server_t *s, char *err, size_t errlen)
{
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: socket: %s", s->cfg->listen,
                 strerror(errno));
        return -1;
    }
    int one = 1;
    socklen_t len = s->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                   : sizeof(struct sockaddr_in);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (s->addr.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)) {
        snprintf(err, errlen, "cannot listen on %s: setsockopt: %s", s->cfg->listen,
                 strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&s->addr, len) < 0) {
        if (errno == EADDRINUSE)
            snprintf(err, errlen, "address %s is in use", s->cfg->listen);
        else
            snprintf(err, errlen, "cannot listen on %s: %s", s->cfg->listen, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 1024) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", s->cfg->listen, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int zc_server_start(zc_server_t *s, char *err, size_t errlen)
{
    if (parse_listen(s, s->cfg->listen, err, errlen) < 0)
        return -1;
    int lfd = listen_socket(s, err, errlen);
    if (lfd < 0)
        return -1;
    s->started = time(NULL);
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_INTERNAL_POLLING_THREAD;
    if (s->cfg->threads == 0)
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    else
        flags |= MHD_USE_EPOLL;
    if (s->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    size_t pool = s->cfg->max_header_size;
    /* A thread pool only when asked for: MHD refuses one with a thread per
     * connection. */
    struct MHD_OptionItem extra[] = {
        {s->cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)s->cfg->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, lfd, /* MHD's from here: closed by MHD_stop_daemon */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg->connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->cfg->per_ip_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg->connection_timeout,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_ARRAY, extra,
        MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(err, errlen, "cannot serve %s: the HTTP daemon did not start (see above)",
                 s->cfg->listen);
        /* MHD closes a given socket when it fails late and leaves it open
         * when it refuses the options early; nothing else opens
         * descriptors while the server starts, so the test is sound. */
        if (fcntl(lfd, F_GETFD) >= 0)
            close(lfd);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(lfd, (struct sockaddr *)&bound, &blen) == 0) {
        unsigned port = ntohs(bound.ss_family == AF_INET6
                                  ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                  : ((struct sockaddr_in *)&bound)->sin_port);
        char *colon = strrchr(s->host_port, ':');
        if (colon && port)
            snprintf(colon + 1, sizeof s->host_port - (size_t)(colon + 1 - s->host_port), "%u",
                     port);
    }
    return 0;
}

void zc_server_stop(zc_server_t *s)
{
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
}
