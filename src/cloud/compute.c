/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compute half's front: the zc_compute_t the server calls for every
 * request that names an account and carries X-Zerovm-Execute, or whose
 * version segment is `open` or `api` (server.c has checked the token, if
 * any, into r->ident).
 *
 *   kind      POST /v1/<acct> with X-Zerovm-Execute: 1.0 (a job, an image,
 *             a script: execute.c); /open/... or open/1.0 (apps.c);
 *             /api/... or api/1.0 (apps.c).  Other methods on /v1/<acct>
 *             with the header answer 501, as ZeroCloud's ClusterController.
 *   who       only the account's owner executes, except through a
 *             container's REST endpoint whose X-Container-Meta-Zerovm-Suid
 *             ACL admits the caller; refused before any body is read
 *             (401 without a valid token, 403 with one).
 *   body      streamed to <data>/jobs/<private dir>/body, never held in
 *             memory, with its size bounded (a JSON job by max_job, 413;
 *             anything else by max_request).
 *   pool      `pool` executions at once, `queue` more waiting for a slot
 *             until the request's deadline, then 503.  A slot is taken only
 *             once the body has arrived and given back before the answer is
 *             sent, so a slow client never holds one.
 *   counts    jobs running (slots held) and finished, for the status page.
 *
 * The stand-in zc_compute_unavailable() (501 to everything) remains for a
 * server started with [compute] enabled = no.
 */
#include "cloud/compute.h"
#include "lib/cache.h"

#include "zvm/locate.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the stand-in ---- */

static void unavailable_begin(zc_compute_t *c, zc_req_t *r)
{
    (void)c;
    zc_reply_error(r, 501, "compute is disabled on this server");
}

static zc_compute_t unavailable = {
    .name = "disabled",
    .begin = unavailable_begin,
    .counts = NULL,
    .free = NULL,
    .impl = NULL,
};

zc_compute_t *zc_compute_unavailable(void)
{
    return &unavailable;
}

/* ---- helpers ---- */

double zc_mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* rm -r, not following links, not crossing devices. */
static void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

char *zc_exec_path(zc_exec_t *x, const char *what)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s.%u", x->dir, what, ++x->seq) < 0)
        return NULL;
    return p;
}

void zc_exec_name_path(zc_exec_t *x, const char *host, const char *fmt, ...)
{
    struct zc_exec_name *g = realloc(x->names, (x->nnames + 1) * sizeof *g);
    if (!g)
        return;
    x->names = g;
    char *name = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&name, fmt, ap);
    va_end(ap);
    char *h = strdup(host);
    if (n < 0 || !h) {
        free(h);
        if (n >= 0)
            free(name);
        return;
    }
    x->names[x->nnames++] = (struct zc_exec_name){h, name};
}

/* Where a path quoted in a message ends. */
static size_t path_len(const char *p)
{
    size_t n = 0;
    while (p[n] && !strchr(" \t'\"`,;()[]<>", p[n]) && !(p[n] == ':' && p[n + 1] == ' '))
        n++;
    return n;
}

/* Does prefix (a path) start at s and end there or at a '/'? */
static bool path_at(const char *s, const char *prefix, size_t plen)
{
    return plen && !strncmp(s, prefix, plen) &&
           (prefix[plen - 1] == '/' || s[plen] == '/' || path_len(s + plen) == 0);
}

char *zc_exec_scrub(const zc_exec_t *x, const char *msg)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d/", (int)getpid());
    const char *home = getenv("HOME");
    char home_cache[4096] = "";
    if (home && home[0] == '/' && home[1])
        snprintf(home_cache, sizeof home_cache, "%s/.cache/", home);
    const char *roots[] = {
        x->cx->jobs_dir, x->cx->data_dir, proc, getenv("TMPDIR"), "/tmp/", "/var/tmp/",
        getenv("ZEROVM_CACHE_DIR"), getenv("XDG_CACHE_HOME"), home_cache,
    };
    zc_buf_t b = {0};
    if (zc_buf_add(&b, "", 0) < 0)
        return NULL;
    for (const char *p = msg; *p;) {
        bool word_start = p == msg || strchr(" \t'\"`,;:()[]<>=", p[-1]);
        size_t used = 0;
        if (word_start && *p == '/') {
            /* the longest remembered path that ends here wins */
            const struct zc_exec_name *best = NULL;
            for (size_t i = 0; i < x->nnames; i++) {
                size_t hl = strlen(x->names[i].host);
                if (!strncmp(p, x->names[i].host, hl) && path_len(p + hl) == 0 &&
                    (!best || hl > strlen(best->host)))
                    best = &x->names[i];
            }
            if (best) {
                zc_buf_puts(&b, best->name);
                used = strlen(best->host);
            } else {
                for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
                    const char *root = roots[i];
                    /* "/" itself (an odd TMPDIR or HOME) would swallow
                     * every object path of a message */
                    if (root && root[0] == '/' && root[1] && path_at(p, root, strlen(root))) {
                        zc_buf_puts(&b, "(server path)");
                        used = path_len(p);
                        break;
                    }
                }
            }
        }
        if (!used) {
            zc_buf_add(&b, p, 1);
            used = 1;
        }
        p += used;
    }
    return b.p;
}

void zc_exec_error(zc_exec_t *x, int status, const char *fmt, ...)
{
    char *raw = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0) {
        zc_reply_error(x->r, status, NULL);
        return;
    }
    char *msg = zc_exec_scrub(x, raw);
    free(raw);
    if (!msg) {
        zc_reply_error(x->r, status, NULL);
        return;
    }
    /* One line: the message may quote a user's text. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    char *body = NULL;
    n = asprintf(&body, "%s\n", msg);
    free(msg);
    if (n < 0) {
        zc_reply_error(x->r, status, NULL);
        return;
    }
    zc_reply(x->r, status, "text/plain; charset=UTF-8", body, (size_t)n);
}

void zc_job_input_release(zc_job_input_t *in)
{
    free(in->text);
    free(in->image);
    memset(in, 0, sizeof *in);
}

/* ---- the pool ---- */

bool zc_pool_acquire(zc_cx_t *cx, double deadline)
{
    pthread_mutex_lock(&cx->mu);
    if (cx->running < cx->pool && cx->waiting == 0) {
        cx->running++;
        pthread_mutex_unlock(&cx->mu);
        return true;
    }
    if (cx->waiting >= cx->queue) {
        pthread_mutex_unlock(&cx->mu);
        return false;
    }
    cx->waiting++;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double left = deadline - zc_mono_now();
    if (left < 0)
        left = 0;
    until.tv_sec += (time_t)left;
    until.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    bool got = false;
    for (;;) {
        if (cx->running < cx->pool) {
            cx->running++;
            got = true;
            break;
        }
        if (pthread_cond_timedwait(&cx->cv, &cx->mu, &until) == ETIMEDOUT)
            break;
    }
    cx->waiting--;
    pthread_mutex_unlock(&cx->mu);
    return got;
}

void zc_pool_release(zc_cx_t *cx)
{
    pthread_mutex_lock(&cx->mu);
    cx->running--;
    cx->finished++;
    pthread_cond_signal(&cx->cv);
    pthread_mutex_unlock(&cx->mu);
}

static void compute_counts(zc_compute_t *c, uint64_t *running, uint64_t *finished)
{
    zc_cx_t *cx = c->impl;
    pthread_mutex_lock(&cx->mu);
    *running = cx->running;
    *finished = cx->finished;
    pthread_mutex_unlock(&cx->mu);
}

/* ---- one request ---- */

static void exec_cleanup(zc_req_t *r)
{
    zc_exec_t *x = r->handler_state;
    if (!x)
        return;
    if (x->body_fd >= 0)
        close(x->body_fd);
    EVP_MD_CTX_free(x->md5);
    if (x->jstore)
        x->jstore->destroy(x->jstore);
    if (x->dir) {
        rm_tree(x->dir);
        free(x->dir);
    }
    free(x->body_path);
    for (size_t i = 0; i < x->nnames; i++) {
        free(x->names[i].host);
        free(x->names[i].name);
    }
    free(x->names);
    free(x->path_info);
    free(x->script_filename);
    free(x);
    r->handler_state = NULL;
}

static int exec_body(zc_req_t *r, const char *data, size_t n)
{
    zc_exec_t *x = r->handler_state;
    if (x->body_len + n > x->body_max)
        return 413;
    x->body_len += n;
    if (x->md5)
        EVP_DigestUpdate(x->md5, data, n);
    while (n) {
        ssize_t w = write(x->body_fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == ENOSPC || errno == EDQUOT ? 507 : 500;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

static void exec_finish(zc_req_t *r)
{
    zc_exec_t *x = r->handler_state;
    if (x->body_fd >= 0) {
        close(x->body_fd);
        x->body_fd = -1;
    }
    /* The timeout counts from here: the upload is bounded by the
     * connection's idle timeout, not by the execution's. */
    const zc_config_t *cfg = x->cx->cfg;
    x->deadline = zc_mono_now() + (cfg->exec_timeout_ms_set ? (double)cfg->exec_timeout_ms / 1e3
                                                             : (double)cfg->exec_timeout);
    switch (x->kind) {
    case ZC_EXEC_POST: zc_execute_post(x); break;
    case ZC_EXEC_OPEN: zc_apps_open(x); break;
    case ZC_EXEC_API: zc_apps_api(x); break;
    }
}

/* Is this caller allowed to execute?  0, or the status (message in why). */
static int may_execute(zc_exec_t *x, const char **why)
{
    zc_req_t *r = x->r;
    *why = NULL;
    if (zc_acl_is_owner(&r->ident, r->account))
        return 0;
    if (x->kind == ZC_EXEC_API) {
        /* The endpoint's own Zerovm-Suid ACL may admit the caller. */
        zc_container_info_t ci = {0};
        zc_store_t *st = r->srv->store;
        int ok = -1;
        if (st->ops->container_stat(st, r->account, r->container, &ci) == 0) {
            const char *suid =
                json_string_value(json_object_get(ci.meta, "x-container-meta-zerovm-suid"));
            const char *ep =
                json_string_value(json_object_get(ci.meta, "x-container-meta-rest-endpoint"));
            if (suid && ep &&
                zc_acl_authorize(&r->ident, r->account, ZC_ACCESS_READ, suid, NULL,
                                 zc_req_header(r, "Referer")) == 0)
                ok = 0;
        }
        json_decref(ci.meta);
        if (ok == 0) {
            x->suid = true;
            return 0;
        }
    }
    *why = r->ident.valid ? "Only the account's owner may execute here"
                          : "This server could not verify that you are authorized.";
    return r->ident.valid ? 403 : 401;
}

static void compute_begin(zc_compute_t *c, zc_req_t *r)
{
    zc_cx_t *cx = c->impl;
    const char *xe = zc_req_header(r, "X-Zerovm-Execute");
    zc_exec_kind_t kind;
    if (!strcmp(r->version, "open"))
        kind = ZC_EXEC_OPEN;
    else if (!strcmp(r->version, "api"))
        kind = ZC_EXEC_API;
    else if (xe && (!strcmp(xe, "1.0") || !strcmp(xe, "1")))
        kind = ZC_EXEC_POST;
    else if (xe && !strcmp(xe, "open/1.0"))
        kind = ZC_EXEC_OPEN;
    else if (xe && !strcmp(xe, "api/1.0"))
        kind = ZC_EXEC_API;
    else {
        zc_reply_error(r, 400, "Unsupported X-Zerovm-Execute version (1.0, open/1.0, api/1.0)");
        return;
    }
    if (kind == ZC_EXEC_POST && !zc_req_is(r, "POST")) {
        zc_reply_error(r, 501, "Only POST executes a job");
        return;
    }
    if (kind == ZC_EXEC_POST && r->level != ZC_LVL_ACCOUNT) {
        zc_reply_error(r, 400, "Jobs are POSTed to /v1/<account>");
        return;
    }
    if (kind == ZC_EXEC_OPEN && r->level != ZC_LVL_OBJECT) {
        zc_reply_error(r, 400, "open/1.0 names an object: /open/<account>/<container>/<object>");
        return;
    }
    if (kind == ZC_EXEC_OPEN && !zc_req_is(r, "GET") && !zc_req_is(r, "HEAD") &&
        !zc_req_is(r, "POST")) {
        zc_req_add_header(r, "Allow", "GET, HEAD, POST");
        zc_reply_error(r, 405, NULL);
        return;
    }
    if (kind == ZC_EXEC_API && r->level == ZC_LVL_ACCOUNT) {
        zc_reply_error(r, 400, "api/1.0 names a container: /api/<account>/<container>[/<path>]");
        return;
    }
    zc_exec_t *x = calloc(1, sizeof *x);
    if (!x) {
        zc_reply_error(r, 500, NULL);
        return;
    }
    x->cx = cx;
    x->r = r;
    x->kind = kind;
    x->body_fd = -1;
    r->handler_state = x;
    r->on_cleanup = exec_cleanup;

    const char *why;
    int st = may_execute(x, &why);
    if (st) {
        zc_reply_error(r, st, why);
        return;
    }
    /* The body's bound: a job description, or anything else. */
    const char *ct = zc_req_header(r, "Content-Type");
    size_t ctl = ct ? strcspn(ct, "; \t") : 0;
    bool json = kind == ZC_EXEC_POST && ctl == 16 && !strncasecmp(ct, "application/json", 16) &&
                !zc_req_header(r, "X-Zerovm-Source");
    x->body_max = json ? cx->cfg->exec_max_job : cx->cfg->exec_max_request;
    const char *cl = zc_req_header(r, "Content-Length");
    if (cl) {
        char *e;
        errno = 0;
        unsigned long long n = strtoull(cl, &e, 10);
        if (errno || e == cl || *e || cl[0] == '-') {
            zc_reply_error(r, 400, "Invalid Content-Length");
            return;
        }
        if (n > x->body_max) {
            zc_exec_error(x, 413, "Request too large: %llu bytes (limit %llu)", n,
                          (unsigned long long)x->body_max);
            return;
        }
    }
    if (json) {
        x->md5 = EVP_MD_CTX_new();
        if (!x->md5 || EVP_DigestInit_ex(x->md5, EVP_md5(), NULL) != 1) {
            zc_reply_error(r, 500, NULL);
            return;
        }
    }
    if (asprintf(&x->dir, "%s/req-XXXXXX", cx->jobs_dir) < 0) {
        x->dir = NULL;
        zc_reply_error(r, 500, NULL);
        return;
    }
    if (!mkdtemp(x->dir)) {
        free(x->dir);
        x->dir = NULL;
        zc_reply_error(r, 500, "Cannot create a work directory");
        return;
    }
    if (asprintf(&x->body_path, "%s/body", x->dir) < 0) {
        x->body_path = NULL;
        zc_reply_error(r, 500, NULL);
        return;
    }
    zc_exec_name_path(x, x->body_path, "(request body)");
    x->body_fd = open(x->body_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (x->body_fd < 0) {
        zc_reply_error(r, 500, "Cannot store the request");
        return;
    }
    r->on_body = exec_body;
    r->on_finish = exec_finish;
}

static void compute_free(zc_compute_t *c)
{
    zc_cx_t *cx = c->impl;
    if (!cx)
        return;
    zvm_sysimages_release(&cx->sysimages);
    free(cx->zerovm);
    free(cx->jobs_dir);
    free(cx->data_dir);
    pthread_mutex_destroy(&cx->mu);
    pthread_cond_destroy(&cx->cv);
    free(cx);
}

zc_compute_t *zc_compute_new(zc_server_t *srv, char *err, size_t errlen)
{
    const zc_config_t *cfg = srv->cfg;
    zc_cx_t *cx = calloc(1, sizeof *cx);
    if (!cx) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&cx->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cx->cv, &ca);
    pthread_condattr_destroy(&ca);
    cx->srv = srv;
    cx->cfg = cfg;
    cx->iface = (zc_compute_t){.name = "zerovm", .begin = compute_begin,
                               .counts = compute_counts, .free = compute_free, .impl = cx};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cx->pool = cfg->exec_pool ? cfg->exec_pool : (unsigned)(cpus > 0 ? 2 * cpus : 2);
    cx->queue = cfg->exec_queue_set ? cfg->exec_queue : 4 * cx->pool;

    zvm_error_t e = {0};
    int rc;
    if (cfg->exec_sysimages) {
        char *text = NULL;
        size_t len = 0;
        rc = zc_read_small(cfg->exec_sysimages, 1 << 16, &text, &len);
        if (rc < 0)
            zvm_error_errno(&e, -rc, "cannot read '%s'", cfg->exec_sysimages);
        else
            rc = zvm_sysimages_parse(&cx->sysimages, text, cfg->exec_sysimages, &e);
        free(text);
    } else {
        rc = zvm_sysimages_load(&cx->sysimages, &e);
    }
    if (rc < 0) {
        snprintf(err, errlen, "system images: %s", e.msg);
        compute_free(&cx->iface);
        return NULL;
    }
    /* The caches every POSTed job fills are zerovm's: their bounds reach
     * each zerovm through its environment (lib/cache.h). */
    char bound[32];
    if (cfg->exec_image_cache_set) {
        snprintf(bound, sizeof bound, "%" PRIu64, cfg->exec_image_cache_max);
        setenv(ZVM_IMAGE_CACHE_MAX_ENV, bound, 1);
    }
    if (cfg->exec_wasm_cache_set) {
        snprintf(bound, sizeof bound, "%" PRIu64, cfg->exec_wasm_cache_max);
        setenv(ZVM_WASM_CACHE_MAX_ENV, bound, 1);
    }
    /* [compute] zerovm, else $ZEROVM, next to zerocloud, PATH (libzvm's lookup). */
    cx->zerovm = cfg->exec_zerovm ? strdup(cfg->exec_zerovm) : zvm_locate_zerovm();
    if (!cx->zerovm) {
        snprintf(err, errlen, "compute: no zerovm binary ($ZEROVM, next to zerocloud, PATH); "
                              "set [compute] zerovm = PATH, or enabled = no to serve storage only");
        compute_free(&cx->iface);
        return NULL;
    }
    char *data = realpath(cfg->data_dir, NULL);
    if (!data || asprintf(&cx->jobs_dir, "%s/jobs", data) < 0) {
        cx->jobs_dir = NULL;
        snprintf(err, errlen, "compute: cannot set up the data directory '%s'", cfg->data_dir);
        free(data);
        compute_free(&cx->iface);
        return NULL;
    }
    cx->data_dir = data;
    /* Host paths of a job become manifest channel fields. */
    if (strpbrk(cx->jobs_dir, ",\n\r")) {
        snprintf(err, errlen, "compute: the data directory '%s' holds a ',' or a newline, "
                              "which a channel cannot name ([compute] enabled = no to serve storage only)",
                 cx->jobs_dir);
        compute_free(&cx->iface);
        return NULL;
    }
    rm_tree(cx->jobs_dir); /* what a crash left */
    if (mkdir(cx->jobs_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "compute: cannot create '%s': %s", cx->jobs_dir, strerror(errno));
        compute_free(&cx->iface);
        return NULL;
    }
    return &cx->iface;
}
