/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libzvmjob's storage (zvm_storage_t, include/zvm/job.h) over zerocloud's
 * store, for one compute request.  Every operation is checked as the
 * request's caller, against the container's ACLs (acl.c): a listing needs
 * list access, a read read access, an output write access; the account's
 * owner may do all in its account.  When the request was admitted by a
 * REST endpoint's X-Container-Meta-Zerovm-Suid, a denied read or listing is
 * tried again with the Zerovm-Suid ACL of the container it touches (read
 * as X-Container-Read: `.r:` and group elements grant reads, `.rlistings`
 * listings too), and a denied write with that container's own
 * X-Container-Meta-Zerovm-Suid-Write ACL (same syntax): a read grant never
 * becomes a write.
 *
 *   list            the container's rows (store scan from the pattern's
 *                   literal prefix, fnmatch(3) like the local stand-in), at
 *                   most max_nodes + 1 names (expansion refuses more); it
 *                   and open_container stop at the request's deadline
 *                   (ETIMEDOUT, 504) however large the container
 *   open_read       the object's data file opened once and kept open until
 *                   the storage is destroyed; the node reads it as
 *                   /proc/<server pid>/fd/<n> (zerovm opens its channels
 *                   before entering the jail), so a concurrent overwrite or
 *                   delete never changes what a job reads
 *   open_program    a private executable copy (the jail captures the
 *                   program by path, which a /proc fd link cannot give)
 *   open_container  a SQLite file in the request's directory with Swift's
 *                   table object(name, created_at, size, content_type,
 *                   etag, deleted), filled from the store's listing
 *   create/commit   a file in the request's directory; commit stores it
 *                   through the store's durable PUT (MD5 ETag, content type
 *                   from the device or the name), abort unlinks it
 */
#include "cloud/compute.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

typedef struct jstore {
    zvm_storage_t vt;
    zc_exec_t *x;
    int *fds;
    size_t nfds;
} jstore_t;

typedef struct pending {
    char *acct, *cont, *obj;
} pending_t;

int zc_job_status(zc_exec_t *x, int code)
{
    switch (code) {
    case ENOENT: return 404;
    case EACCES: return x->r->ident.valid ? 403 : 401;
    case EINVAL: return 400;
    case E2BIG:
    case EFBIG: return 413;
    case ETIMEDOUT: return 504;
    default: return 500;
    }
}

int zc_job_authorize(zc_exec_t *x, const char *acct, const char *cont, zc_access_t access)
{
    zc_req_t *r = x->r;
    if (zc_acl_is_owner(&r->ident, acct))
        return 0;
    zc_store_t *st = r->srv->store;
    zc_container_info_t ci = {0};
    const char *rd = NULL, *wr = NULL, *suid = NULL;
    if (st->ops->container_stat(st, acct, cont, &ci) == 0) {
        rd = json_string_value(json_object_get(ci.meta, "x-container-read"));
        wr = json_string_value(json_object_get(ci.meta, "x-container-write"));
        suid = json_string_value(json_object_get(
            ci.meta, access == ZC_ACCESS_WRITE ? "x-container-meta-zerovm-suid-write"
                                               : "x-container-meta-zerovm-suid"));
    }
    const char *referer = zc_req_header(r, "Referer");
    int rc = zc_acl_authorize(&r->ident, acct, access, rd, wr, referer);
    /* Zerovm-Suid opens only containers of the account whose endpoint
     * admitted the caller: another account's Suid is that account's app's
     * business, not this one's.  A write asks the Suid-Write grant, read
     * with the read syntax (so `.r:*` can let anonymous users save). */
    if (rc && x->suid && suid && strcmp(acct, r->account) == 0)
        rc = zc_acl_authorize(&r->ident, acct,
                              access == ZC_ACCESS_WRITE ? ZC_ACCESS_READ : access, suid, NULL,
                              referer);
    json_decref(ci.meta);
    return rc;
}

static int denied(zc_exec_t *x, zvm_error_t *err, int status, const char *acct, const char *cont,
                  const char *obj)
{
    (void)x;
    return zvm_error_set(err, EACCES, "Error %d %s while fetching /%s/%s%s%s", status,
                         status == 401 ? "Unauthorized" : "Forbidden", acct, cont, obj ? "/" : "",
                         obj ? obj : "");
}

/* ---- list ---- */

/* Scans check the request's deadline every SCAN_CHECK rows and before
 * each page: a wildcard over a huge container stops with ETIMEDOUT. */
#define SCAN_CHECK 256

static bool past_deadline(const zc_exec_t *x)
{
    return zc_mono_now() >= x->deadline;
}

static int scan_timed_out(zvm_error_t *err, const char *acct, const char *cont, unsigned long rows)
{
    return zvm_error_set(err, ETIMEDOUT,
                         "Listing /%s/%s stopped at the request's deadline after %lu objects",
                         acct, cont, rows);
}

typedef struct list_state {
    const zc_exec_t *x;
    unsigned long scanned;
    bool late;
    const char *pattern;
    char **names;
    size_t n, cap, max;
    char last[ZC_MAX_OBJECT_NAME + 1];
    unsigned rows;
    bool oom, full;
} list_state_t;

static int list_row(void *arg, const zc_row_t *row)
{
    list_state_t *l = arg;
    l->rows++;
    if (++l->scanned % SCAN_CHECK == 0 && past_deadline(l->x)) {
        l->late = true;
        return 1;
    }
    snprintf(l->last, sizeof l->last, "%s", row->name);
    if (l->pattern && fnmatch(l->pattern, row->name, 0) != 0)
        return 0;
    if (l->n == l->max) {
        l->full = true;
        return 1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **g = realloc(l->names, cap * sizeof *g);
        if (!g) {
            l->oom = true;
            return 1;
        }
        l->names = g;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(row->name))) {
        l->oom = true;
        return 1;
    }
    l->n++;
    return 0;
}

static int js_list(zvm_storage_t *vt, const char *acct, const char *cont, const char *pattern,
                   char ***names, size_t *count, zvm_error_t *err)
{
    jstore_t *js = (jstore_t *)vt;
    zc_exec_t *x = js->x;
    *names = NULL;
    *count = 0;
    int a = zc_job_authorize(x, acct, cont, ZC_ACCESS_LIST);
    if (a)
        return denied(x, err, a, acct, cont, NULL);
    /* The pattern's literal prefix narrows the scan. */
    char prefix[ZC_MAX_OBJECT_NAME + 1] = "";
    if (pattern) {
        size_t n = strcspn(pattern, "*?[\\");
        if (n > ZC_MAX_OBJECT_NAME)
            n = ZC_MAX_OBJECT_NAME;
        memcpy(prefix, pattern, n);
        prefix[n] = '\0';
    }
    list_state_t l = {.x = x, .pattern = pattern,
                      .max = (size_t)x->cx->cfg->exec_max_nodes + 1};
    zc_store_t *st = x->r->srv->store;
    for (;;) {
        if (past_deadline(x))
            l.late = true;
        if (l.late) {
            for (size_t i = 0; i < l.n; i++)
                free(l.names[i]);
            free(l.names);
            return scan_timed_out(err, acct, cont, l.scanned);
        }
        l.rows = 0;
        zc_scan_t q = {.after = l.last[0] ? l.last : NULL, .prefix = prefix[0] ? prefix : NULL,
                       .limit = 1000};
        int rc = st->ops->container_scan(st, acct, cont, &q, list_row, &l);
        if (rc == -ENOENT)
            break; /* a missing container lists nothing */
        if (rc < 0 || l.oom) {
            for (size_t i = 0; i < l.n; i++)
                free(l.names[i]);
            free(l.names);
            return zvm_error_set(err, l.oom ? ENOMEM : EIO, "cannot list /%s/%s", acct, cont);
        }
        if (l.late)
            continue; /* answered at the top */
        if (l.full || l.rows < 1000)
            break;
    }
    *names = l.names;
    *count = l.n;
    return 0;
}

/* ---- reads ---- */

static int keep_fd(jstore_t *js, int fd, char **host_path, zvm_error_t *err)
{
    int *g = realloc(js->fds, (js->nfds + 1) * sizeof *g);
    if (!g) {
        close(fd);
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    js->fds = g;
    js->fds[js->nfds++] = fd;
    if (asprintf(host_path, "/proc/%d/fd/%d", (int)getpid(), fd) < 0) {
        *host_path = NULL;
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

/* Object metadata as LOCAL_HTTP_* names: x-object-meta-color -> X_OBJECT_META_COLOR. */
static void meta_to_env(json_t *meta, zvm_object_info_t *info)
{
    size_t n = json_object_size(meta);
    if (!n)
        return;
    info->meta = calloc(n, sizeof *info->meta);
    if (!info->meta)
        return;
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (strncmp(k, "x-object-meta-", 14) || !json_is_string(v))
            continue;
        char *name = strdup(k);
        char *value = strdup(json_string_value(v));
        if (!name || !value) {
            free(name);
            free(value);
            continue;
        }
        for (char *p = name; *p; p++)
            *p = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32)
                 : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p
                                                                           : '_';
        info->meta[info->nmeta++] = (zvm_job_env_t){name, value};
    }
}

/* Open an object the job reads, after the ACL check: its descriptor and
 * info, or -1 with the spec's message. */
static int open_readable(zc_exec_t *x, const char *acct, const char *cont, const char *obj,
                         zc_object_info_t *oi, int *fd, zvm_error_t *err)
{
    int a = zc_job_authorize(x, acct, cont, ZC_ACCESS_READ);
    if (a)
        return denied(x, err, a, acct, cont, obj);
    zc_store_t *st = x->r->srv->store;
    *fd = -1;
    int rc = st->ops->object_open(st, acct, cont, obj, oi, fd);
    if (rc == -ENOENT)
        return zvm_error_set(err, ENOENT, "Error 404 Not Found while fetching /%s/%s/%s", acct,
                             cont, obj);
    if (rc < 0)
        return zvm_error_set(err, EIO, "Error 500 while fetching /%s/%s/%s", acct, cont, obj);
    return 0;
}

static int js_open_read(zvm_storage_t *vt, const char *acct, const char *cont, const char *obj,
                        char **host_path, zvm_object_info_t *info, zvm_error_t *err)
{
    jstore_t *js = (jstore_t *)vt;
    *host_path = NULL;
    zc_object_info_t oi;
    int fd;
    if (open_readable(js->x, acct, cont, obj, &oi, &fd, err) < 0)
        return -1;
    if (info) {
        memset(info, 0, sizeof *info);
        info->size = oi.size;
        snprintf(info->content_type, sizeof info->content_type, "%s",
                 oi.content_type ? oi.content_type : "application/octet-stream");
        snprintf(info->etag, sizeof info->etag, "%s", oi.etag);
        meta_to_env(oi.meta, info);
    }
    zc_object_info_release(&oi);
    if (keep_fd(js, fd, host_path, err) < 0)
        return -1;
    zc_exec_name_path(js->x, *host_path, "swift://%s/%s/%s", acct, cont, obj);
    return 0;
}

/* A program: a private copy (0755), which the jail can capture and the
 * sandbox's user run; a /proc/<pid>/fd path is neither. */
static int js_open_program(zvm_storage_t *vt, const char *acct, const char *cont, const char *obj,
                           char **host_path, zvm_error_t *err)
{
    jstore_t *js = (jstore_t *)vt;
    zc_exec_t *x = js->x;
    *host_path = NULL;
    zc_object_info_t oi;
    int fd;
    if (open_readable(x, acct, cont, obj, &oi, &fd, err) < 0)
        return -1;
    zc_object_info_release(&oi);
    char *path = zc_exec_path(x, "program");
    int out = path ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755) : -1;
    int rc = out < 0 || zvm_copy_fd(fd, out) < 0 ? -1 : 0;
    close(fd);
    if (out >= 0 && (close(out) < 0 || fchmodat(AT_FDCWD, path, 0755, 0) < 0))
        rc = -1;
    if (rc < 0) {
        if (path)
            unlink(path);
        free(path);
        return zvm_error_set(err, EIO, "cannot copy the program /%s/%s/%s", acct, cont, obj);
    }
    zc_exec_name_path(x, path, "swift://%s/%s/%s", acct, cont, obj);
    *host_path = path;
    return 0;
}

/* ---- container listings ---- */

typedef struct db_fill {
    const zc_exec_t *x;
    unsigned long scanned;
    bool late;
    sqlite3_stmt *ins;
    char last[ZC_MAX_OBJECT_NAME + 1];
    unsigned rows;
    bool failed;
} db_fill_t;

static int db_row(void *arg, const zc_row_t *row)
{
    db_fill_t *f = arg;
    f->rows++;
    if (++f->scanned % SCAN_CHECK == 0 && past_deadline(f->x)) {
        f->late = true;
        return 1;
    }
    snprintf(f->last, sizeof f->last, "%s", row->name);
    char ts[32];
    zc_ts_format(row->ts, ts);
    sqlite3_reset(f->ins);
    sqlite3_bind_text(f->ins, 1, row->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(f->ins, 2, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(f->ins, 3, (sqlite3_int64)row->size);
    sqlite3_bind_text(f->ins, 4, row->content_type ? row->content_type : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(f->ins, 5, row->etag ? row->etag : "", -1, SQLITE_STATIC);
    if (sqlite3_step(f->ins) != SQLITE_DONE) {
        f->failed = true;
        return 1;
    }
    return 0;
}

static int js_open_container(zvm_storage_t *vt, const char *acct, const char *cont,
                             char **host_path, zvm_error_t *err)
{
    jstore_t *js = (jstore_t *)vt;
    zc_exec_t *x = js->x;
    *host_path = NULL;
    int a = zc_job_authorize(x, acct, cont, ZC_ACCESS_LIST);
    if (a)
        return denied(x, err, a, acct, cont, NULL);
    zc_store_t *st = x->r->srv->store;
    zc_container_info_t ci = {0};
    if (st->ops->container_stat(st, acct, cont, &ci) < 0)
        return zvm_error_set(err, ENOENT, "Error 404 Not Found while fetching /%s/%s", acct, cont);
    json_decref(ci.meta);
    char *path = zc_exec_path(x, "listing");
    if (!path)
        return zvm_error_set(err, ENOMEM, "out of memory");
    sqlite3 *db = NULL;
    db_fill_t f = {.x = x};
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;"
                     "CREATE TABLE object(ROWID INTEGER PRIMARY KEY AUTOINCREMENT,"
                     " name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,"
                     " size INTEGER NOT NULL, content_type TEXT NOT NULL,"
                     " etag TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);"
                     "CREATE INDEX ix_object_deleted_name ON object(deleted, name);",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO object(name, created_at, size, content_type, etag)"
                           " VALUES (?, ?, ?, ?, ?)",
                           -1, &f.ins, NULL) != SQLITE_OK)
        goto out;
    for (;;) {
        if (past_deadline(x) || f.late) {
            f.late = true;
            goto out;
        }
        f.rows = 0;
        zc_scan_t q = {.after = f.last[0] ? f.last : NULL, .limit = 1000};
        if (st->ops->container_scan(st, acct, cont, &q, db_row, &f) < 0 || f.failed)
            goto out;
        if (f.late)
            continue;
        if (f.rows < 1000)
            break;
    }
    sqlite3_finalize(f.ins);
    f.ins = NULL;
    if (sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    rc = 0;
out:
    if (rc < 0 && f.late)
        scan_timed_out(err, acct, cont, f.scanned);
    else if (rc < 0)
        zvm_error_set(err, EIO, "cannot make the listing of /%s/%s: %s", acct, cont,
                      db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_finalize(f.ins);
    sqlite3_close(db);
    if (rc < 0) {
        unlink(path);
        free(path);
        return -1;
    }
    chmod(path, 0644);
    zc_exec_name_path(x, path, "swift://%s/%s", acct, cont);
    *host_path = path;
    return 0;
}

/* ---- outputs ---- */

static int js_create(zvm_storage_t *vt, const char *acct, const char *cont, const char *obj,
                     zvm_storage_output_t *out, zvm_error_t *err)
{
    jstore_t *js = (jstore_t *)vt;
    zc_exec_t *x = js->x;
    memset(out, 0, sizeof *out);
    if (zc_name_check(obj, ZC_MAX_OBJECT_NAME, true))
        return zvm_error_set(err, EINVAL, "Invalid object name /%s/%s/%s", acct, cont, obj);
    int a = zc_job_authorize(x, acct, cont, ZC_ACCESS_WRITE);
    if (a)
        return denied(x, err, a, acct, cont, obj);
    zc_store_t *st = x->r->srv->store;
    zc_container_info_t ci = {0};
    if (st->ops->container_stat(st, acct, cont, &ci) < 0)
        return zvm_error_set(err, ENOENT, "Error 404 Not Found while fetching /%s/%s", acct, cont);
    json_decref(ci.meta);
    pending_t *p = calloc(1, sizeof *p);
    char *path = zc_exec_path(x, "output");
    if (!p || !path || !(p->acct = strdup(acct)) || !(p->cont = strdup(cont)) ||
        !(p->obj = strdup(obj))) {
        if (p) {
            free(p->acct);
            free(p->cont);
        }
        free(p);
        free(path);
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(p->acct);
        free(p->cont);
        free(p->obj);
        free(p);
        free(path);
        return zvm_error_errno(err, e, "cannot create an output for /%s/%s/%s", acct, cont, obj);
    }
    close(fd);
    zc_exec_name_path(x, path, "swift://%s/%s/%s", acct, cont, obj);
    out->host_path = path;
    out->priv = p;
    return 0;
}

static void output_release(zvm_storage_output_t *out)
{
    pending_t *p = out->priv;
    if (out->host_path)
        unlink(out->host_path);
    free(out->host_path);
    if (p) {
        free(p->acct);
        free(p->cont);
        free(p->obj);
        free(p);
    }
    out->host_path = NULL;
    out->priv = NULL;
}

static int js_commit(zvm_storage_t *vt, zvm_storage_output_t *out, zvm_error_t *err)
{
    jstore_t *js = (jstore_t *)vt;
    zc_store_t *st = js->x->r->srv->store;
    pending_t *p = out->priv;
    int fd = open(out->host_path, O_RDONLY | O_CLOEXEC);
    zc_put_t *put = NULL;
    EVP_MD_CTX *md5 = EVP_MD_CTX_new();
    int rc = fd < 0 ? -errno : md5 && EVP_DigestInit_ex(md5, EVP_md5(), NULL) == 1 ? 0 : -ENOMEM;
    if (rc == 0)
        rc = st->ops->put_begin(st, p->acct, p->cont, &put);
    uint64_t size = 0;
    char buf[65536];
    while (rc == 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        if (n <= 0)
            break;
        EVP_DigestUpdate(md5, buf, (size_t)n);
        size += (uint64_t)n;
        rc = st->ops->put_write(put, buf, (size_t)n);
    }
    if (fd >= 0)
        close(fd);
    if (rc == 0 && size > js->x->r->srv->cfg->max_object_size)
        rc = -EFBIG;
    if (rc == 0) {
        unsigned char d[16];
        unsigned dl = 0;
        zc_object_info_t info = {.size = size, .meta = json_object()};
        EVP_DigestFinal_ex(md5, d, &dl);
        for (int i = 0; i < 16; i++)
            snprintf(info.etag + 2 * i, 3, "%02x", d[i]);
        info.content_type = strdup(out->content_type ? out->content_type : zc_guess_type(p->obj));
        rc = info.content_type && info.meta ? st->ops->put_commit(put, p->obj, &info) : -ENOMEM;
        if (!info.content_type || !info.meta)
            st->ops->put_abort(put);
        put = NULL;
        zc_object_info_release(&info);
    }
    if (put)
        st->ops->put_abort(put);
    EVP_MD_CTX_free(md5);
    if (rc < 0)
        zvm_error_set(err, rc == -EFBIG ? EFBIG : EIO, "cannot store /%s/%s/%s: %s", p->acct,
                      p->cont, p->obj, strerror(-rc));
    output_release(out);
    return rc < 0 ? -1 : 0;
}

static void js_abort(zvm_storage_t *vt, zvm_storage_output_t *out)
{
    (void)vt;
    output_release(out);
}

static void js_destroy(zvm_storage_t *vt)
{
    jstore_t *js = (jstore_t *)vt;
    for (size_t i = 0; i < js->nfds; i++)
        close(js->fds[i]);
    free(js->fds);
    free(js);
}

zvm_storage_t *zc_job_storage_new(zc_exec_t *x)
{
    jstore_t *js = calloc(1, sizeof *js);
    if (!js)
        return NULL;
    js->x = x;
    js->vt = (zvm_storage_t){
        .list = js_list,
        .open_read = js_open_read,
        .create = js_create,
        .commit = js_commit,
        .abort = js_abort,
        .destroy = js_destroy,
        .open_container = js_open_container,
        .open_program = js_open_program,
    };
    return &js->vt;
}
