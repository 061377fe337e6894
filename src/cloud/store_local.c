/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded storage backend: object data in files, everything else in
 * SQLite, one database per container with Swift's container table
 * object(name, created_at, size, content_type, etag, deleted).
 *
 *   DIR/lock                      flock()ed by the one server using DIR; its pid
 *   DIR/tmp/                      uploads in progress (emptied at start)
 *   DIR/objects/<hh>/<h>-<ts>     object data; h = sha256(acct\0cont\0name)
 *   DIR/accounts/<ha>/account.db  containers of an account, account metadata
 *   DIR/accounts/<ha>/c/<hc>.db   one container: object rows, metadata, counts
 *
 * Every directory the store makes is 0700 and every file 0600: data and
 * metadata are the server's alone (a data directory made earlier keeps the
 * modes it had).  No file name is ever made of a user's name, only of its
 * hash, so no name ("..", "%2F", very long, any UTF-8) can reach outside
 * DIR.
 *
 * Durability: an upload is written to DIR/tmp, fsynced, renamed to its
 * final name (which carries its timestamp, so it never replaces the data of
 * the object's current version), its directory fsynced, and only then is
 * its row committed.  A crash before the commit leaves an unreferenced file
 * and the previous version intact; after it, the object is complete.  The
 * superseded version's file is removed after the commit.
 *
 * Group commit: writes to a container queue ops; whichever thread finds no
 * commit running becomes the leader, takes the whole queue, fsyncs the
 * directories involved once, applies every op in one transaction (one WAL
 * fsync) and wakes the others.  Each container also has a reader
 * connection (WAL lets it read while the writer commits) under its own
 * mutex.
 *
 * Container handles, and who owns them (the rule every function below
 * keeps, and asserts where it relies on it):
 *   - A handle is owned by its references, counted in `refs`: one is the
 *     cache's while the handle is on the cache list (`cached`), one is each
 *     request's between cont_get() and cont_release().
 *   - `refs`, `cached`, the list and `ncache` change only under cache_mu.
 *   - The last reference to go closes the handle; by then it is off the
 *     list (the cache's reference is the one taken off with it).  The
 *     close itself runs after cache_mu is let go (closes_run): a database
 *     close may checkpoint and fsync, and lookups must not wait on it.
 *   - cache_trim() evicts only handles whose one reference is the cache's
 *     (refs == 1), least recently used first, while more than
 *     `open_containers` are cached: a handle in use is never closed under
 *     its request, so the cache may run past the bound while requests hold
 *     more handles than that, and shrinks back as they are released.
 *   - A deleted container's handle leaves the list at once (cache_forget),
 *     so no new request finds it; the requests holding it end on ENOENT
 *     and the last one closes it.
 */
#include "cloud/cloud.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NDIRS 256

typedef enum op_kind { OP_PUT, OP_DELETE, OP_POST, OP_CMETA } op_kind_t;

typedef struct lc_op {
    struct lc_op *next;
    op_kind_t kind;
    const char *name;
    zc_ts_t ts;
    uint64_t size;
    const char *ctype; /* OP_POST: NULL keeps it */
    const char *etag;
    json_t *meta;      /* borrowed */
    int dir;           /* OP_PUT: index of the objects/ directory to fsync */
    /* results */
    bool done;
    int rc;
    bool unlink_old;
    zc_ts_t old_ts;
} lc_op_t;

typedef struct lc_cont {
    struct lc_cont *next;
    char *acct, *name;
    char path[4096];
    unsigned refs; /* under cache_mu: the cache's (when cached) + requests' */
    bool cached;   /* under cache_mu: on the cache list */
    bool dead;     /* under mu: deleted, commits fail with ENOENT */
    pthread_mutex_t mu; /* queue, committing, dead, cached info */
    pthread_cond_t cv;
    lc_op_t *head, **tail;
    bool committing;
    sqlite3 *wdb; /* the leader's */
    pthread_mutex_t rmu;
    sqlite3 *rdb;
    sqlite3_stmt *r_get, *r_meta;
    zc_ts_t created, put_ts;
    uint64_t count, bytes;
    json_t *meta;
} lc_cont_t;

typedef struct lstore {
    zc_store_t base;
    char *dir;
    int lock_fd; /* DIR/lock, flock()ed for as long as the store is open */
    bool do_fsync;
    int objdir_fd[NDIRS];
    pthread_mutex_t cache_mu; /* the list, ncache, every handle's refs and cached */
    lc_cont_t *cache;         /* most recently used first */
    size_t ncache;            /* handles on the list */
    size_t open_containers;   /* idle handles kept open: the bound of ncache */
    pthread_mutex_t acct_mu; /* account.db writes, container create/delete */
    _Atomic uint64_t tot_containers, tot_objects, tot_bytes;
} lstore_t;

/* ---- small helpers ---- */

static void hash_hex(char out[65], const char *a, const char *b, const char *c)
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, a, strlen(a) + 1);
    if (b)
        EVP_DigestUpdate(ctx, b, strlen(b) + 1);
    if (c)
        EVP_DigestUpdate(ctx, c, strlen(c));
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int hexval(char c)
{
    return c >= 'a' ? c - 'a' + 10 : c - '0';
}

static void obj_path(lstore_t *st, const char *hash, zc_ts_t ts, char *out, size_t n)
{
    snprintf(out, n, "%s/objects/%.2s/%s-%" PRIu64, st->dir, hash, hash, ts);
}

static void acct_dir(lstore_t *st, const char *acct, char *out, size_t n)
{
    char h[65];
    hash_hex(h, acct, NULL, NULL);
    snprintf(out, n, "%s/accounts/%s", st->dir, h);
}

static int sql_err(sqlite3 *db, const char *what)
{
    fprintf(stderr, "zerocloud: sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    return -EIO;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "zerocloud: sqlite: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int db_open(lstore_t *st, const char *path, bool create, sqlite3 **out)
{
    if (create) {
        /* SQLite would create it 0644; its -wal and -shm take this mode. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            int e = errno;
            fprintf(stderr, "zerocloud: cannot create '%s': %s\n", path, strerror(e));
            return -e;
        }
        close(fd);
    }
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = db ? sql_err(db, path) : -ENOMEM;
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    if (exec(db, "PRAGMA journal_mode=WAL") < 0 ||
        exec(db, st->do_fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF") < 0) {
        sqlite3_close(db);
        return -EIO;
    }
    *out = db;
    return 0;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Directories of the store are the server's alone: 0700 (files 0600). */
static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static json_t *meta_parse(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    return j;
}

/* ---- account database ---- */

static const char ACCOUNT_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS account_info(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " account TEXT NOT NULL, created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS container(name TEXT PRIMARY KEY, created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS account_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);";

/* Open the account's database; create it (and its directory) when asked. */
static int acct_open(lstore_t *st, const char *acct, bool create, sqlite3 **out)
{
    char dir[4096], path[4200];
    acct_dir(st, acct, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/account.db", dir);
    if (!create && access(path, F_OK) < 0)
        return -ENOENT;
    if (create) {
        char cdir[4200];
        snprintf(cdir, sizeof cdir, "%s/c", dir);
        int rc = mkdir_p(cdir);
        if (rc < 0)
            return rc;
    }
    sqlite3 *db;
    int rc = db_open(st, path, create, &db);
    if (rc < 0)
        return rc;
    if (create) {
        char ts[32];
        zc_ts_format(zc_ts_now(), ts);
        sqlite3_stmt *s = NULL;
        if (exec(db, ACCOUNT_SCHEMA) < 0 ||
            sqlite3_prepare_v2(db,
                               "INSERT OR IGNORE INTO account_info(id, account, created_at)"
                               " VALUES (1, ?, ?)",
                               -1, &s, NULL) != SQLITE_OK) {
            sqlite3_finalize(s);
            sqlite3_close(db);
            return -EIO;
        }
        sqlite3_bind_text(s, 1, acct, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, ts, -1, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sql_err(db, "account_info");
        sqlite3_finalize(s);
        if (rc < 0) {
            sqlite3_close(db);
            return rc;
        }
    }
    *out = db;
    return 0;
}

static int acct_has_container(lstore_t *st, const char *acct, const char *cont)
{
    sqlite3 *db;
    int rc = acct_open(st, acct, false, &db);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = NULL;
    rc = -EIO;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM container WHERE name = ?", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(s, 1, cont, -1, SQLITE_STATIC);
        int r = sqlite3_step(s);
        rc = r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : sql_err(db, "container lookup");
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

/* Apply meta to a key/value table (empty value deletes). */
static int meta_merge(sqlite3 *db, const char *table, json_t *meta)
{
    char sql_set[200], sql_del[200];
    snprintf(sql_set, sizeof sql_set, "INSERT OR REPLACE INTO %s(key, value) VALUES (?, ?)", table);
    snprintf(sql_del, sizeof sql_del, "DELETE FROM %s WHERE key = ?", table);
    sqlite3_stmt *set = NULL, *del = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql_set, -1, &set, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql_del, -1, &del, NULL) != SQLITE_OK)
        rc = sql_err(db, "meta");
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v)
    {
        if (rc < 0)
            break;
        const char *val = json_string_value(v);
        sqlite3_stmt *s = val && *val ? set : del;
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
        if (s == set)
            sqlite3_bind_text(s, 2, val, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = sql_err(db, "meta");
    }
    sqlite3_finalize(set);
    sqlite3_finalize(del);
    return rc;
}

static json_t *meta_load(sqlite3 *db, const char *table)
{
    json_t *meta = json_object();
    char sql[100];
    snprintf(sql, sizeof sql, "SELECT key, value FROM %s", table);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK)
        while (sqlite3_step(s) == SQLITE_ROW)
            json_object_set_new(meta, (const char *)sqlite3_column_text(s, 0),
                                json_string((const char *)sqlite3_column_text(s, 1)));
    sqlite3_finalize(s);
    return meta;
}

/* ---- container handles ---- */

static const char CONTAINER_SCHEMA[] =
    "CREATE TABLE object(ROWID INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
    " created_at TEXT NOT NULL, size INTEGER NOT NULL, content_type TEXT NOT NULL,"
    " etag TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX ix_object_deleted_name ON object(deleted, name);"
    "CREATE TABLE object_meta(name TEXT PRIMARY KEY, meta TEXT NOT NULL);"
    "CREATE TABLE container_info(id INTEGER PRIMARY KEY CHECK (id = 1), account TEXT NOT NULL,"
    " container TEXT NOT NULL, created_at TEXT NOT NULL, put_timestamp TEXT NOT NULL,"
    " object_count INTEGER NOT NULL, bytes_used INTEGER NOT NULL);"
    "CREATE TABLE container_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);";

static void cont_path(lstore_t *st, const char *acct, const char *cont, char *out, size_t n)
{
    char ad[4096], h[65];
    acct_dir(st, acct, ad, sizeof ad);
    hash_hex(h, acct, cont, NULL);
    snprintf(out, n, "%s/c/%s.db", ad, h);
}

/* Close a handle no one references (or one cont_open never published). */
static void cont_close(lc_cont_t *c)
{
    assert(c->refs == 0 && !c->cached);
    assert(!c->head && !c->committing);
    sqlite3_finalize(c->r_get);
    sqlite3_finalize(c->r_meta);
    sqlite3_close(c->rdb);
    sqlite3_close(c->wdb);
    json_decref(c->meta);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->rmu);
    pthread_cond_destroy(&c->cv);
    free(c->acct);
    free(c->name);
    free(c);
}

static int cont_open(lstore_t *st, const char *acct, const char *cont, lc_cont_t **out)
{
    lc_cont_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->rmu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->tail = &c->head;
    c->acct = strdup(acct);
    c->name = strdup(cont);
    cont_path(st, acct, cont, c->path, sizeof c->path);
    int rc = -ENOMEM;
    if (!c->acct || !c->name)
        goto fail;
    if ((rc = db_open(st, c->path, false, &c->wdb)) < 0 ||
        (rc = db_open(st, c->path, false, &c->rdb)) < 0)
        goto fail;
    rc = -EIO;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->rdb,
                           "SELECT created_at, put_timestamp, object_count, bytes_used"
                           " FROM container_info WHERE id = 1",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        sql_err(c->rdb, "container_info");
        goto fail;
    }
    zc_ts_parse((const char *)sqlite3_column_text(s, 0), &c->created);
    zc_ts_parse((const char *)sqlite3_column_text(s, 1), &c->put_ts);
    c->count = (uint64_t)sqlite3_column_int64(s, 2);
    c->bytes = (uint64_t)sqlite3_column_int64(s, 3);
    sqlite3_finalize(s);
    c->meta = meta_load(c->rdb, "container_meta");
    if (sqlite3_prepare_v3(c->rdb,
                           "SELECT created_at, size, content_type, etag, deleted FROM object"
                           " WHERE name = ?",
                           -1, SQLITE_PREPARE_PERSISTENT, &c->r_get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(c->rdb, "SELECT meta FROM object_meta WHERE name = ?", -1,
                           SQLITE_PREPARE_PERSISTENT, &c->r_meta, NULL) != SQLITE_OK) {
        sql_err(c->rdb, "prepare");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    cont_close(c);
    return rc;
}

/* Take c off the cache list, whose reference the caller then drops;
 * cache_mu held. */
static void cache_unlink(lstore_t *st, lc_cont_t *c)
{
    assert(c->cached && st->ncache > 0);
    for (lc_cont_t **pp = &st->cache; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            c->cached = false;
            st->ncache--;
            return;
        }
    assert(!"a cached handle is on the list");
}

/* Drop one reference; the last puts the handle on *closing, which the
 * caller closes (closes_run) once it has let go of cache_mu: closing a
 * database may checkpoint and fsync, and no lookup should wait for that.
 * cache_mu held. */
static void cont_unref(lc_cont_t *c, lc_cont_t **closing)
{
    assert(c->refs > 0);
    if (--c->refs == 0) {
        assert(!c->cached);
        c->next = *closing;
        *closing = c;
    }
}

/* Close the handles cont_unref set aside; cache_mu not held. */
static void closes_run(lc_cont_t *closing)
{
    for (lc_cont_t *n; closing; closing = n) {
        n = closing->next;
        closing->next = NULL;
        cont_close(closing);
    }
}

/* Evict the least recently used idle handles (the cache's reference is
 * their only one) while more than the bound are cached; cache_mu held. */
static void cache_trim(lstore_t *st, lc_cont_t **closing)
{
    while (st->ncache > st->open_containers) {
        lc_cont_t *victim = NULL;
        for (lc_cont_t *c = st->cache; c; c = c->next) {
            assert(c->cached && c->refs >= 1);
            if (c->refs == 1)
                victim = c; /* the last idle one is the least recently used */
        }
        if (!victim)
            return; /* every cached handle is in use: shrink on release */
        cache_unlink(st, victim);
        cont_unref(victim, closing);
    }
}

/* The cached handle of acct/cont, moved to the front; cache_mu held. */
static lc_cont_t *cache_find(lstore_t *st, const char *acct, const char *cont)
{
    for (lc_cont_t **pp = &st->cache; *pp; pp = &(*pp)->next) {
        lc_cont_t *c = *pp;
        if (strcmp(c->name, cont) || strcmp(c->acct, acct))
            continue;
        assert(c->cached && c->refs >= 1);
        *pp = c->next;
        c->next = st->cache;
        st->cache = c;
        return c;
    }
    return NULL;
}

/* A handle on an existing container, holding a reference for the caller
 * (give it back with cont_release), or -ENOENT. */
static int cont_get(lstore_t *st, const char *acct, const char *cont, lc_cont_t **out)
{
    pthread_mutex_lock(&st->cache_mu);
    lc_cont_t *c = cache_find(st, acct, cont);
    if (c) {
        c->refs++;
        pthread_mutex_unlock(&st->cache_mu);
        *out = c;
        return 0;
    }
    pthread_mutex_unlock(&st->cache_mu);

    int rc = acct_has_container(st, acct, cont);
    if (rc < 0)
        return rc;
    lc_cont_t *mine;
    if ((rc = cont_open(st, acct, cont, &mine)) < 0)
        return rc;
    assert(mine->refs == 0 && !mine->cached);
    lc_cont_t *closing = NULL;
    pthread_mutex_lock(&st->cache_mu);
    c = cache_find(st, acct, cont);
    if (c) {
        mine->next = closing; /* another request opened it first: use theirs */
        closing = mine;
        c->refs++;
    } else {
        c = mine;
        c->refs = 2; /* the cache's and the caller's */
        c->cached = true;
        c->next = st->cache;
        st->cache = c;
        st->ncache++;
        cache_trim(st, &closing); /* never c: the caller's reference keeps it */
        assert(c->cached && c->refs >= 2);
    }
    pthread_mutex_unlock(&st->cache_mu);
    closes_run(closing);
    *out = c;
    return 0;
}

/* Give back the reference cont_get took; c may be closed on return. */
static void cont_release(lstore_t *st, lc_cont_t *c)
{
    lc_cont_t *closing = NULL;
    pthread_mutex_lock(&st->cache_mu);
    /* a request's reference, plus the cache's while cached */
    assert(c->refs >= (c->cached ? 2u : 1u));
    cont_unref(c, &closing);
    if (st->ncache > st->open_containers)
        cache_trim(st, &closing);
    pthread_mutex_unlock(&st->cache_mu);
    closes_run(closing);
}

/* A deleted container: off the list, so no request finds it again; the
 * requests that hold it keep it until they release it.  c->mu held (the
 * caller holds a reference too). */
static void cache_forget(lstore_t *st, lc_cont_t *c)
{
    lc_cont_t *closing = NULL;
    pthread_mutex_lock(&st->cache_mu);
    assert(c->refs >= 1);
    if (c->cached) {
        cache_unlink(st, c);
        assert(c->refs >= 2); /* the caller's stays */
        cont_unref(c, &closing);
    }
    pthread_mutex_unlock(&st->cache_mu);
    assert(!closing);
}

/* ---- group commit ---- */

static int op_apply(lc_cont_t *c, lc_op_t *op, int64_t *dcount, int64_t *dbytes)
{
    sqlite3 *db = c->wdb;
    sqlite3_stmt *s = NULL;
    int rc = 0;
    bool have = false, deleted = false;
    zc_ts_t old_ts = 0;
    uint64_t old_size = 0;
    char tsbuf[32];

    if (op->kind == OP_CMETA) {
        rc = meta_merge(db, "container_meta", op->meta);
        return rc;
    }
    if (sqlite3_prepare_v2(db, "SELECT created_at, size, deleted FROM object WHERE name = ?", -1,
                           &s, NULL) != SQLITE_OK)
        return sql_err(db, "select");
    sqlite3_bind_text(s, 1, op->name, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        have = true;
        zc_ts_parse((const char *)sqlite3_column_text(s, 0), &old_ts);
        old_size = (uint64_t)sqlite3_column_int64(s, 1);
        deleted = sqlite3_column_int(s, 2) != 0;
    } else if (r != SQLITE_DONE)
        rc = sql_err(db, "select");
    sqlite3_finalize(s);
    s = NULL;
    if (rc < 0)
        return rc;

    switch (op->kind) {
    case OP_PUT: {
        if (have && old_ts > op->ts) {
            /* A newer version is already there: this one never shows. */
            op->unlink_old = true;
            op->old_ts = op->ts;
            return 0;
        }
        if (have && !deleted) {
            (*dcount)--;
            *dbytes -= (int64_t)old_size;
            op->unlink_old = true;
            op->old_ts = old_ts;
        }
        zc_ts_format(op->ts, tsbuf);
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO object(name, created_at, size, content_type, etag,"
                               " deleted) VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT(name) DO"
                               " UPDATE SET created_at = ?2, size = ?3, content_type = ?4,"
                               " etag = ?5, deleted = 0",
                               -1, &s, NULL) != SQLITE_OK)
            return sql_err(db, "insert");
        sqlite3_bind_text(s, 1, op->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, tsbuf, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)op->size);
        sqlite3_bind_text(s, 4, op->ctype, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, op->etag, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = sql_err(db, "insert");
        sqlite3_finalize(s);
        s = NULL;
        (*dcount)++;
        *dbytes += (int64_t)op->size;
        break;
    }
    case OP_DELETE:
        if (!have || deleted || old_ts > op->ts)
            return -ENOENT;
        zc_ts_format(op->ts, tsbuf);
        if (sqlite3_prepare_v2(db,
                               "UPDATE object SET deleted = 1, size = 0, created_at = ?2,"
                               " etag = '', content_type = '' WHERE name = ?1",
                               -1, &s, NULL) != SQLITE_OK)
            return sql_err(db, "delete");
        sqlite3_bind_text(s, 1, op->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, tsbuf, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = sql_err(db, "delete");
        sqlite3_finalize(s);
        s = NULL;
        (*dcount)--;
        *dbytes -= (int64_t)old_size;
        op->unlink_old = true;
        op->old_ts = old_ts;
        break;
    case OP_POST:
        if (!have || deleted)
            return -ENOENT;
        if (op->ctype) {
            if (sqlite3_prepare_v2(db, "UPDATE object SET content_type = ? WHERE name = ?", -1,
                                   &s, NULL) != SQLITE_OK)
                return sql_err(db, "post");
            sqlite3_bind_text(s, 1, op->ctype, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, op->name, -1, SQLITE_STATIC);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = sql_err(db, "post");
            sqlite3_finalize(s);
            s = NULL;
        }
        break;
    case OP_CMETA:
        break;
    }
    if (rc < 0)
        return rc;

    /* Object metadata: replaced as a whole (PUT, POST), dropped (DELETE). */
    char *text = NULL;
    if (op->kind != OP_DELETE && op->meta && json_object_size(op->meta))
        text = json_dumps(op->meta, JSON_COMPACT | JSON_SORT_KEYS);
    if (text)
        r = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO object_meta(name, meta) VALUES (?, ?)",
                               -1, &s, NULL);
    else
        r = sqlite3_prepare_v2(db, "DELETE FROM object_meta WHERE name = ?", -1, &s, NULL);
    if (r != SQLITE_OK) {
        free(text);
        return sql_err(db, "object_meta");
    }
    sqlite3_bind_text(s, 1, op->name, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = sql_err(db, "object_meta");
    sqlite3_finalize(s);
    free(text);
    return rc;
}

/* The leader's work: one transaction for the whole batch. */
static void batch_run(lstore_t *st, lc_cont_t *c, lc_op_t *batch, int64_t *dc, int64_t *db)
{
    if (st->do_fsync) {
        bool seen[NDIRS] = {false};
        for (lc_op_t *o = batch; o; o = o->next)
            if (o->kind == OP_PUT && !seen[o->dir]) {
                seen[o->dir] = true;
                fsync(st->objdir_fd[o->dir]);
            }
    }
    int rc = exec(c->wdb, "BEGIN IMMEDIATE");
    *dc = *db = 0;
    for (lc_op_t *o = batch; o && rc == 0; o = o->next) {
        o->rc = op_apply(c, o, dc, db);
        if (o->rc == -EIO)
            rc = -EIO;
    }
    if (rc == 0 && (*dc || *db)) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(c->wdb,
                               "UPDATE container_info SET object_count = object_count + ?,"
                               " bytes_used = bytes_used + ? WHERE id = 1",
                               -1, &s, NULL) != SQLITE_OK)
            rc = sql_err(c->wdb, "counts");
        else {
            sqlite3_bind_int64(s, 1, *dc);
            sqlite3_bind_int64(s, 2, *db);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = sql_err(c->wdb, "counts");
        }
        sqlite3_finalize(s);
    }
    if (rc == 0)
        rc = exec(c->wdb, "COMMIT");
    if (rc < 0) {
        exec(c->wdb, "ROLLBACK");
        *dc = *db = 0;
        for (lc_op_t *o = batch; o; o = o->next) {
            o->rc = -EIO;
            o->unlink_old = o->kind == OP_PUT; /* its own file */
            o->old_ts = o->ts;
        }
    }
}

/* Queue op on c and return when it is committed (or failed). */
static int commit_op(lstore_t *st, lc_cont_t *c, lc_op_t *op)
{
    pthread_mutex_lock(&c->mu);
    if (c->dead) {
        pthread_mutex_unlock(&c->mu);
        return -ENOENT;
    }
    op->next = NULL;
    *c->tail = op;
    c->tail = &op->next;
    while (!op->done) {
        if (c->committing) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        lc_op_t *batch = c->head;
        c->head = NULL;
        c->tail = &c->head;
        int64_t dc = 0, db = 0;
        if (c->dead) {
            for (lc_op_t *o = batch, *n; o; o = n) {
                n = o->next;
                o->rc = -ENOENT;
                o->done = true;
            }
            break;
        }
        c->committing = true;
        pthread_mutex_unlock(&c->mu);
        batch_run(st, c, batch, &dc, &db);
        pthread_mutex_lock(&c->mu);
        for (lc_op_t *o = batch, *n; o; o = n) {
            n = o->next;
            if (o->kind == OP_CMETA && o->rc == 0) {
                const char *k;
                json_t *v;
                json_object_foreach(o->meta, k, v)
                {
                    const char *val = json_string_value(v);
                    if (val && *val)
                        json_object_set(c->meta, k, v);
                    else
                        json_object_del(c->meta, k);
                }
            }
            o->done = true;
        }
        c->count = (uint64_t)((int64_t)c->count + dc);
        c->bytes = (uint64_t)((int64_t)c->bytes + db);
        atomic_fetch_add(&st->tot_objects, (uint64_t)dc);
        atomic_fetch_add(&st->tot_bytes, (uint64_t)db);
        c->committing = false;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return op->rc;
}

/* ---- the interface ---- */

#define ST(s) ((lstore_t *)(s))

struct zc_put {
    lstore_t *st;
    lc_cont_t *c;
    int fd;
    char tmp[4096];
};

static int l_put_begin(zc_store_t *s, const char *acct, const char *cont, zc_put_t **out)
{
    lstore_t *st = ST(s);
    zc_put_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->st = st;
    int rc = cont_get(st, acct, cont, &p->c);
    if (rc < 0) {
        free(p);
        return rc;
    }
    snprintf(p->tmp, sizeof p->tmp, "%s/tmp/put-XXXXXX", st->dir);
    p->fd = mkostemp(p->tmp, O_CLOEXEC);
    if (p->fd < 0) {
        rc = -errno;
        cont_release(st, p->c);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int l_put_write(zc_put_t *p, const void *data, size_t n)
{
    const char *d = data;
    while (n) {
        ssize_t w = write(p->fd, d, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

static void l_put_abort(zc_put_t *p)
{
    if (!p)
        return;
    if (p->fd >= 0)
        close(p->fd);
    unlink(p->tmp);
    cont_release(p->st, p->c);
    free(p);
}

static int l_put_commit(zc_put_t *p, const char *name, zc_object_info_t *info)
{
    lstore_t *st = p->st;
    if (st->do_fsync && fsync(p->fd) < 0) {
        int rc = -errno;
        l_put_abort(p);
        return rc;
    }
    close(p->fd);
    p->fd = -1;
    char hash[65], final[4200];
    hash_hex(hash, p->c->acct, p->c->name, name);
    info->ts = zc_ts_now();
    obj_path(st, hash, info->ts, final, sizeof final);
    if (rename(p->tmp, final) < 0) {
        int rc = -errno;
        l_put_abort(p);
        return rc;
    }
    lc_op_t op = {.kind = OP_PUT, .name = name, .ts = info->ts, .size = info->size,
                  .ctype = info->content_type ? info->content_type : "application/octet-stream",
                  .etag = info->etag, .meta = info->meta,
                  .dir = hexval(hash[0]) * 16 + hexval(hash[1])};
    int rc = commit_op(st, p->c, &op);
    if (rc < 0)
        unlink(final);
    else if (op.unlink_old) {
        char old[4200];
        obj_path(st, hash, op.old_ts, old, sizeof old);
        unlink(old);
    }
    cont_release(st, p->c);
    free(p);
    return rc;
}

static int l_object_open(zc_store_t *s, const char *acct, const char *cont, const char *name,
                         zc_object_info_t *out, int *fd)
{
    lstore_t *st = ST(s);
    lc_cont_t *c;
    int rc = cont_get(st, acct, cont, &c);
    if (rc < 0)
        return rc;
    char hash[65];
    hash_hex(hash, acct, cont, name);
    memset(out, 0, sizeof *out);
    for (int attempt = 0; attempt < 8; attempt++) {
        zc_object_info_release(out);
        rc = 0;
        pthread_mutex_lock(&c->rmu);
        sqlite3_reset(c->r_get);
        sqlite3_bind_text(c->r_get, 1, name, -1, SQLITE_STATIC);
        int r = sqlite3_step(c->r_get);
        if (r == SQLITE_ROW && !sqlite3_column_int(c->r_get, 4)) {
            zc_ts_parse((const char *)sqlite3_column_text(c->r_get, 0), &out->ts);
            out->size = (uint64_t)sqlite3_column_int64(c->r_get, 1);
            out->content_type = strdup((const char *)sqlite3_column_text(c->r_get, 2));
            snprintf(out->etag, sizeof out->etag, "%s", sqlite3_column_text(c->r_get, 3));
            sqlite3_reset(c->r_meta);
            sqlite3_bind_text(c->r_meta, 1, name, -1, SQLITE_STATIC);
            out->meta = meta_parse(sqlite3_step(c->r_meta) == SQLITE_ROW
                                       ? (const char *)sqlite3_column_text(c->r_meta, 0)
                                       : NULL);
            sqlite3_reset(c->r_meta);
        } else if (r == SQLITE_ROW || r == SQLITE_DONE)
            rc = -ENOENT;
        else
            rc = sql_err(c->rdb, "object");
        sqlite3_reset(c->r_get);
        pthread_mutex_unlock(&c->rmu);
        if (rc < 0 || !fd)
            break;
        char path[4200];
        obj_path(st, hash, out->ts, path, sizeof path);
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        if (*fd >= 0)
            break;
        rc = errno == ENOENT ? -EAGAIN : -errno; /* replaced meanwhile: read again */
    }
    if (rc == -EAGAIN)
        rc = -EIO;
    if (rc < 0)
        zc_object_info_release(out);
    cont_release(st, c);
    return rc;
}

static int l_object_post(zc_store_t *s, const char *acct, const char *cont, const char *name,
                         const char *content_type, json_t *meta)
{
    lstore_t *st = ST(s);
    lc_cont_t *c;
    int rc = cont_get(st, acct, cont, &c);
    if (rc < 0)
        return rc;
    lc_op_t op = {.kind = OP_POST, .name = name, .ts = zc_ts_now(), .ctype = content_type,
                  .meta = meta};
    rc = commit_op(st, c, &op);
    cont_release(st, c);
    return rc;
}

static int l_object_delete(zc_store_t *s, const char *acct, const char *cont, const char *name)
{
    lstore_t *st = ST(s);
    lc_cont_t *c;
    int rc = cont_get(st, acct, cont, &c);
    if (rc < 0)
        return rc;
    lc_op_t op = {.kind = OP_DELETE, .name = name, .ts = zc_ts_now()};
    rc = commit_op(st, c, &op);
    if (rc == 0 && op.unlink_old) {
        char hash[65], old[4200];
        hash_hex(hash, acct, cont, name);
        obj_path(st, hash, op.old_ts, old, sizeof old);
        unlink(old);
    }
    cont_release(st, c);
    return rc;
}

static int l_container_stat(zc_store_t *s, const char *acct, const char *cont,
                            zc_container_info_t *out)
{
    lstore_t *st = ST(s);
    lc_cont_t *c;
    int rc = cont_get(st, acct, cont, &c);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    out->created = c->created;
    out->put_ts = c->put_ts;
    out->objects = c->count;
    out->bytes = c->bytes;
    out->meta = json_deep_copy(c->meta);
    pthread_mutex_unlock(&c->mu);
    cont_release(st, c);
    return 0;
}

static int l_container_post(zc_store_t *s, const char *acct, const char *cont, json_t *meta)
{
    lstore_t *st = ST(s);
    lc_cont_t *c;
    int rc = cont_get(st, acct, cont, &c);
    if (rc < 0)
        return rc;
    lc_op_t op = {.kind = OP_CMETA, .meta = meta, .ts = zc_ts_now()};
    rc = commit_op(st, c, &op);
    cont_release(st, c);
    return rc;
}

/* A new container database, built under DIR/tmp and renamed in place. */
static int cont_create(lstore_t *st, const char *acct, const char *cont, json_t *meta)
{
    char tmp[4200], final[4200];
    snprintf(tmp, sizeof tmp, "%s/tmp/cdb-XXXXXX", st->dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    close(fd);
    sqlite3 *db = NULL;
    int rc = -EIO;
    char ts[32];
    zc_ts_format(zc_ts_now(), ts);
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        goto out;
    if (exec(db, st->do_fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF") < 0 ||
        exec(db, "BEGIN") < 0 || exec(db, CONTAINER_SCHEMA) < 0)
        goto out;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO container_info(id, account, container, created_at,"
                           " put_timestamp, object_count, bytes_used) VALUES (1, ?, ?, ?, ?, 0, 0)",
                           -1, &s, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(s, 1, acct, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, cont, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, ts, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, ts, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    sqlite3_finalize(s);
    if (r != SQLITE_DONE || (meta && meta_merge(db, "container_meta", meta) < 0) ||
        exec(db, "COMMIT") < 0 || exec(db, "PRAGMA journal_mode=WAL") < 0)
        goto out;
    sqlite3_close(db);
    db = NULL;
    cont_path(st, acct, cont, final, sizeof final);
    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", final);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", final);
    unlink(wal);
    if (rename(tmp, final) < 0) {
        rc = -errno;
        goto out;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", final);
    *strrchr(dir, '/') = '\0';
    if (st->do_fsync)
        fsync_dir(dir);
    return 0;
out:
    if (db)
        sql_err(db, "create container");
    sqlite3_close(db);
    unlink(tmp);
    return rc;
}

static int l_container_put(zc_store_t *s, const char *acct, const char *cont, json_t *meta,
                           bool *created)
{
    lstore_t *st = ST(s);
    pthread_mutex_lock(&st->acct_mu);
    int rc = acct_has_container(st, acct, cont);
    if (rc == 0) {
        pthread_mutex_unlock(&st->acct_mu);
        *created = false;
        return meta && json_object_size(meta) ? l_container_post(s, acct, cont, meta) : 0;
    }
    sqlite3 *db = NULL;
    if ((rc = acct_open(st, acct, true, &db)) < 0 || (rc = cont_create(st, acct, cont, meta)) < 0)
        goto out;
    sqlite3_stmt *q = NULL;
    char ts[32];
    zc_ts_format(zc_ts_now(), ts);
    rc = -EIO;
    if (sqlite3_prepare_v2(db, "INSERT INTO container(name, created_at) VALUES (?, ?)", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, cont, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, ts, -1, SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : sql_err(db, "insert container");
    }
    sqlite3_finalize(q);
    if (rc == 0) {
        *created = true;
        atomic_fetch_add(&st->tot_containers, 1);
    }
out:
    sqlite3_close(db);
    pthread_mutex_unlock(&st->acct_mu);
    return rc;
}

static int l_container_delete(zc_store_t *s, const char *acct, const char *cont)
{
    lstore_t *st = ST(s);
    pthread_mutex_lock(&st->acct_mu);
    lc_cont_t *c;
    int rc = cont_get(st, acct, cont, &c);
    if (rc < 0) {
        pthread_mutex_unlock(&st->acct_mu);
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    while (c->committing)
        pthread_cond_wait(&c->cv, &c->mu);
    sqlite3_stmt *q = NULL;
    rc = -EIO;
    if (sqlite3_prepare_v2(c->wdb, "SELECT 1 FROM object WHERE deleted = 0 LIMIT 1", -1, &q,
                           NULL) == SQLITE_OK) {
        int r = sqlite3_step(q);
        rc = r == SQLITE_ROW ? -ENOTEMPTY : r == SQLITE_DONE ? 0 : sql_err(c->wdb, "empty");
    }
    sqlite3_finalize(q);
    if (rc == 0) {
        c->dead = true;
        cache_forget(st, c);
    }
    pthread_mutex_unlock(&c->mu);
    if (rc == 0) {
        sqlite3 *db;
        if ((rc = acct_open(st, acct, false, &db)) == 0) {
            rc = -EIO;
            if (sqlite3_prepare_v2(db, "DELETE FROM container WHERE name = ?", -1, &q, NULL) ==
                SQLITE_OK) {
                sqlite3_bind_text(q, 1, cont, -1, SQLITE_STATIC);
                rc = sqlite3_step(q) == SQLITE_DONE ? 0 : sql_err(db, "delete container");
            }
            sqlite3_finalize(q);
            sqlite3_close(db);
        }
        char p[4300];
        snprintf(p, sizeof p, "%s-wal", c->path);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", c->path);
        unlink(p);
        unlink(c->path);
        atomic_fetch_sub(&st->tot_containers, 1);
    }
    cont_release(st, c);
    pthread_mutex_unlock(&st->acct_mu);
    return rc;
}

/* Where a listing starts: after the marker, or at the prefix when that
 * comes later (then inclusively). */
static const char *scan_lower_bound(const zc_scan_t *q, bool *inclusive)
{
    const char *lower = q->after ? q->after : "";
    *inclusive = q->inclusive;
    if (q->prefix && strcmp(q->prefix, lower) > 0) {
        lower = q->prefix;
        *inclusive = true;
    }
    return lower;
}

static int l_container_scan(zc_store_t *s, const char *acct, const char *cont, const zc_scan_t *q,
                            zc_row_cb cb, void *arg)
{
    lstore_t *st = ST(s);
    lc_cont_t *c;
    int rc = cont_get(st, acct, cont, &c);
    if (rc < 0)
        return rc;
    bool incl;
    const char *lower = scan_lower_bound(q, &incl);
    size_t plen = q->prefix ? strlen(q->prefix) : 0;
    const char *sql = incl ? "SELECT name, created_at, size, content_type, etag FROM object"
                             " WHERE deleted = 0 AND name >= ?1 AND (?2 IS NULL OR name < ?2)"
                             " ORDER BY name LIMIT ?3"
                           : "SELECT name, created_at, size, content_type, etag FROM object"
                             " WHERE deleted = 0 AND name > ?1 AND (?2 IS NULL OR name < ?2)"
                             " ORDER BY name LIMIT ?3";
    pthread_mutex_lock(&c->rmu);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(c->rdb, sql, -1, &stmt, NULL) != SQLITE_OK)
        rc = sql_err(c->rdb, "scan");
    else {
        sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_STATIC);
        if (q->before)
            sqlite3_bind_text(stmt, 2, q->before, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, q->limit);
        int r;
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
            zc_row_t row = {0};
            row.name = (const char *)sqlite3_column_text(stmt, 0);
            if (plen && strncmp(row.name, q->prefix, plen))
                break;
            zc_ts_parse((const char *)sqlite3_column_text(stmt, 1), &row.ts);
            row.size = (uint64_t)sqlite3_column_int64(stmt, 2);
            row.content_type = (const char *)sqlite3_column_text(stmt, 3);
            row.etag = (const char *)sqlite3_column_text(stmt, 4);
            if (cb(arg, &row))
                break;
        }
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            rc = sql_err(c->rdb, "scan");
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&c->rmu);
    cont_release(st, c);
    return rc;
}

static int l_account_stat(zc_store_t *s, const char *acct, zc_account_info_t *out)
{
    lstore_t *st = ST(s);
    memset(out, 0, sizeof *out);
    sqlite3 *db;
    int rc = acct_open(st, acct, false, &db);
    if (rc == -ENOENT) { /* accounts exist implicitly (autocreate) */
        out->meta = json_object();
        out->created = zc_ts_now();
        return 0;
    }
    if (rc < 0)
        return rc;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT created_at FROM account_info WHERE id = 1", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        zc_ts_parse((const char *)sqlite3_column_text(q, 0), &out->created);
    sqlite3_finalize(q);
    q = NULL;
    out->meta = meta_load(db, "account_meta");
    /* The container names first, then each one's counts (no lock held on
     * the account database while containers open). */
    size_t n = 0, cap = 0;
    char **names = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name FROM container", -1, &q, NULL) == SQLITE_OK)
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                char **nn = realloc(names, cap * sizeof *nn);
                if (!nn)
                    break;
                names = nn;
            }
            names[n] = strdup((const char *)sqlite3_column_text(q, 0));
            if (names[n])
                n++;
        }
    sqlite3_finalize(q);
    sqlite3_close(db);
    out->containers = n;
    for (size_t i = 0; i < n; i++) {
        lc_cont_t *c;
        if (cont_get(st, acct, names[i], &c) == 0) {
            pthread_mutex_lock(&c->mu);
            out->objects += c->count;
            out->bytes += c->bytes;
            pthread_mutex_unlock(&c->mu);
            cont_release(st, c);
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

static int l_account_post(zc_store_t *s, const char *acct, json_t *meta)
{
    lstore_t *st = ST(s);
    pthread_mutex_lock(&st->acct_mu);
    sqlite3 *db;
    int rc = acct_open(st, acct, true, &db);
    if (rc == 0) {
        rc = meta_merge(db, "account_meta", meta);
        sqlite3_close(db);
    }
    pthread_mutex_unlock(&st->acct_mu);
    return rc;
}

static int l_account_scan(zc_store_t *s, const char *acct, const zc_scan_t *q, zc_row_cb cb,
                          void *arg)
{
    lstore_t *st = ST(s);
    sqlite3 *db;
    int rc = acct_open(st, acct, false, &db);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    bool incl;
    const char *lower = scan_lower_bound(q, &incl);
    size_t plen = q->prefix ? strlen(q->prefix) : 0;
    const char *sql = incl ? "SELECT name, created_at FROM container WHERE name >= ?1"
                             " AND (?2 IS NULL OR name < ?2) ORDER BY name LIMIT ?3"
                           : "SELECT name, created_at FROM container WHERE name > ?1"
                             " AND (?2 IS NULL OR name < ?2) ORDER BY name LIMIT ?3";
    sqlite3_stmt *stmt = NULL;
    /* Rows are copied out first: the callback opens containers. */
    struct crow {
        char *name;
        zc_ts_t ts;
    } *rows = NULL;
    size_t n = 0, cap = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        rc = sql_err(db, "scan");
    else {
        sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_STATIC);
        if (q->before)
            sqlite3_bind_text(stmt, 2, q->before, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, q->limit);
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(stmt, 0);
            if (plen && strncmp(name, q->prefix, plen))
                break;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                struct crow *nr = realloc(rows, cap * sizeof *nr);
                if (!nr) {
                    rc = -ENOMEM;
                    break;
                }
                rows = nr;
            }
            rows[n].name = strdup(name);
            zc_ts_parse((const char *)sqlite3_column_text(stmt, 1), &rows[n].ts);
            if (rows[n].name)
                n++;
        }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    bool stop = false;
    for (size_t i = 0; i < n; i++) {
        if (!stop) {
            zc_row_t row = {.name = rows[i].name, .ts = rows[i].ts};
            lc_cont_t *c;
            if (cont_get(st, acct, rows[i].name, &c) == 0) {
                pthread_mutex_lock(&c->mu);
                row.count = c->count;
                row.size = c->bytes;
                pthread_mutex_unlock(&c->mu);
                cont_release(st, c);
            }
            stop = cb(arg, &row) != 0;
        }
        free(rows[i].name);
    }
    free(rows);
    return rc;
}

static void l_totals(zc_store_t *s, uint64_t *containers, uint64_t *objects, uint64_t *bytes)
{
    lstore_t *st = ST(s);
    *containers = atomic_load(&st->tot_containers);
    *objects = atomic_load(&st->tot_objects);
    *bytes = atomic_load(&st->tot_bytes);
}

static void l_close(zc_store_t *s)
{
    lstore_t *st = ST(s);
    if (!st)
        return;
    /* Only the cache's references are left: the server has stopped. */
    lc_cont_t *closing = NULL;
    pthread_mutex_lock(&st->cache_mu);
    while (st->cache) {
        lc_cont_t *c = st->cache;
        assert(c->refs == 1);
        cache_unlink(st, c);
        cont_unref(c, &closing);
    }
    assert(st->ncache == 0);
    pthread_mutex_unlock(&st->cache_mu);
    closes_run(closing);
    for (int i = 0; i < NDIRS; i++)
        if (st->objdir_fd[i] >= 0)
            close(st->objdir_fd[i]);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&st->cache_mu);
    pthread_mutex_destroy(&st->acct_mu);
    free(st->dir);
    free(st);
}

static const zc_store_ops_t local_ops = {
    .name = "local",
    .close = l_close,
    .account_stat = l_account_stat,
    .account_post = l_account_post,
    .account_scan = l_account_scan,
    .container_put = l_container_put,
    .container_stat = l_container_stat,
    .container_post = l_container_post,
    .container_delete = l_container_delete,
    .container_scan = l_container_scan,
    .put_begin = l_put_begin,
    .put_write = l_put_write,
    .put_commit = l_put_commit,
    .put_abort = l_put_abort,
    .object_open = l_object_open,
    .object_post = l_object_post,
    .object_delete = l_object_delete,
    .totals = l_totals,
};

/* Take DIR/lock: one server per data directory, since two would empty
 * each other's DIR/tmp and commit to the same databases unaware of each
 * other's caches.  The lock is the kernel's (flock), so it goes with the
 * process however it ends; the pid in the file only names the holder. */
static int dir_lock(lstore_t *st, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", st->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open lock file '%s': %s", path, strerror(e));
        return -e;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        if (e == EWOULDBLOCK) {
            char pid[32] = "";
            ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
            pid[n > 0 ? n : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            snprintf(err, errlen, "data directory '%s' is in use by another zerocloud (pid %s)",
                     st->dir, *pid ? pid : "unknown");
        } else
            snprintf(err, errlen, "cannot lock '%s': %s", path, strerror(e));
        close(fd);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int e = errno;
        snprintf(err, errlen, "cannot write lock file '%s': %s", path, strerror(e));
        close(fd);
        return -e;
    }
    st->lock_fd = fd;
    return 0;
}

/* Remove what a crash left in DIR/tmp. */
static void tmp_clean(const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

/* Counts for the status page: every container's info row. */
static void totals_load(lstore_t *st)
{
    char adir[4200];
    snprintf(adir, sizeof adir, "%s/accounts", st->dir);
    DIR *d = opendir(adir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char cdir[4600];
        snprintf(cdir, sizeof cdir, "%s/%s/c", adir, e->d_name);
        DIR *cd = opendir(cdir);
        if (!cd)
            continue;
        struct dirent *ce;
        while ((ce = readdir(cd))) {
            size_t len = strlen(ce->d_name);
            if (len < 4 || strcmp(ce->d_name + len - 3, ".db"))
                continue;
            char path[4900];
            snprintf(path, sizeof path, "%s/%s", cdir, ce->d_name);
            sqlite3 *db = NULL;
            sqlite3_stmt *q = NULL;
            if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
                sqlite3_prepare_v2(db,
                                   "SELECT object_count, bytes_used FROM container_info"
                                   " WHERE id = 1",
                                   -1, &q, NULL) == SQLITE_OK &&
                sqlite3_step(q) == SQLITE_ROW) {
                atomic_fetch_add(&st->tot_containers, 1);
                atomic_fetch_add(&st->tot_objects, (uint64_t)sqlite3_column_int64(q, 0));
                atomic_fetch_add(&st->tot_bytes, (uint64_t)sqlite3_column_int64(q, 1));
            }
            sqlite3_finalize(q);
            sqlite3_close(db);
        }
        closedir(cd);
    }
    closedir(d);
}

int zc_store_local_open(const char *dir, bool do_fsync, unsigned open_containers,
                        zc_store_t **out, char *err, size_t errlen)
{
    lstore_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    st->base.ops = &local_ops;
    st->do_fsync = do_fsync;
    st->open_containers = open_containers ? open_containers : 1;
    for (int i = 0; i < NDIRS; i++)
        st->objdir_fd[i] = -1;
    st->lock_fd = -1;
    pthread_mutex_init(&st->cache_mu, NULL);
    pthread_mutex_init(&st->acct_mu, NULL);
    st->dir = realpath(dir, NULL);
    if (!st->dir && errno == ENOENT && mkdir_p(dir) == 0)
        st->dir = realpath(dir, NULL);
    if (!st->dir) {
        snprintf(err, errlen, "data directory '%s': %s", dir, strerror(errno));
        l_close(&st->base);
        return -EIO;
    }
    int lrc = dir_lock(st, err, errlen); /* before anything in DIR changes */
    if (lrc < 0) {
        l_close(&st->base);
        return lrc;
    }
    char p[4200];
    const char *subs[] = {"tmp", "objects", "accounts"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", st->dir, subs[i]);
        int rc = mkdir_p(p);
        if (rc < 0) {
            snprintf(err, errlen, "cannot create '%s': %s", p, strerror(-rc));
            l_close(&st->base);
            return rc;
        }
    }
    for (int i = 0; i < NDIRS; i++) {
        snprintf(p, sizeof p, "%s/objects/%02x", st->dir, i);
        int rc = mkdir_p(p);
        if (rc == 0) {
            st->objdir_fd[i] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (st->objdir_fd[i] < 0)
                rc = -errno;
        }
        if (rc < 0) {
            snprintf(err, errlen, "cannot open '%s': %s", p, strerror(-rc));
            l_close(&st->base);
            return rc;
        }
    }
    snprintf(p, sizeof p, "%s/tmp", st->dir);
    tmp_clean(p);
    totals_load(st);
    *out = &st->base;
    return 0;
}
