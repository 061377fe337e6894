/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerocloud's internal interfaces: the configuration, users and tokens,
 * ACLs, the storage interface (a struct of function pointers; the embedded
 * SQLite + files backend is store_local.c), the request as the handlers see
 * it, the listing formats, and the compute seam.
 *
 * Ownership: the server (server.c) owns the MHD daemon, the store, the auth
 * table and one zc_req_t per request; handlers (account.c, container.c,
 * object.c) borrow them and answer through zc_reply*().  Nothing here
 * parses HTTP: libmicrohttpd does; we only decode the URL's percent escapes
 * (so that "%00" and "%2F" are seen and judged, never passed through).
 *
 * Errors inside the store are -errno: -ENOENT (404), -ENOTEMPTY (409),
 * -EEXIST, -EFBIG (413), -EINVAL (400), anything else is 500.
 */
#ifndef ZVM_CLOUD_H
#define ZVM_CLOUD_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

/* Swift's limits (swift/common/constraints.py). */
#define ZC_MAX_ACCOUNT_NAME 256
#define ZC_MAX_CONTAINER_NAME 256
#define ZC_MAX_OBJECT_NAME 1024
#define ZC_MAX_META_NAME 128
#define ZC_MAX_META_VALUE 256
#define ZC_MAX_META_COUNT 90
#define ZC_MAX_META_OVERALL 4096
#define ZC_MAX_SMALL_BODY (64 * 1024) /* bodies we buffer (POST, compute) */
#define ZC_MAX_DISCARD (64 * 1024)    /* body bytes dropped after a refusal, then close */

/* ---- growable buffer ---- */
typedef struct zc_buf {
    char *p;
    size_t len, cap;
} zc_buf_t;
int zc_buf_add(zc_buf_t *b, const void *s, size_t n);
int zc_buf_puts(zc_buf_t *b, const char *s);
int zc_buf_printf(zc_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zc_buf_release(zc_buf_t *b);

/* ---- configuration (config.c) ---- */
typedef struct zc_user {
    char *account; /* "test" (storage account AUTH_test) */
    char *user;    /* "tester" */
    char *key;     /* "testing" */
    bool admin;    /* ".admin": owns the account */
} zc_user_t;

typedef struct zc_config {
    char *path;            /* the file read, or NULL */
    char *listen;          /* "127.0.0.1:8080" */
    char *data_dir;        /* "./data" */
    zc_user_t *users;
    size_t nusers;
    unsigned token_ttl;          /* seconds a token lives */
    uint64_t max_object_size;    /* bytes */
    unsigned max_header_size;    /* bytes of request line + headers */
    unsigned max_listing;        /* entries per listing */
    unsigned connection_limit;   /* connections at once */
    unsigned open_containers;    /* container handles kept open when idle */
    unsigned per_ip_limit;       /* connections at once from one address */
    unsigned connection_timeout; /* seconds idle before a connection closes */
    unsigned threads;            /* 0: one thread per connection, else a pool */
    unsigned login_failures;     /* failed logins per address per window (0: no limit) */
    unsigned login_failures_user; /* failed logins per user per window (0: no limit) */
    unsigned login_window;       /* seconds a window of failures lasts */
    bool fsync;                  /* fsync data and directories (default on) */
    /* [compute] */
    bool exec_enabled;           /* compute requests run (else 501) */
    unsigned exec_pool;          /* executions at once (0: 2 x online CPUs) */
    unsigned exec_queue;         /* requests waiting for a slot, then 503 */
    bool exec_queue_set;         /* queue given (else 4 x pool) */
    unsigned exec_timeout;       /* seconds per request, chained jobs included */
    uint64_t exec_timeout_ms;    /* the same in milliseconds, when _set (tests: tiny) */
    bool exec_timeout_ms_set;
    uint64_t exec_max_request;   /* bytes of a request body (image, script, stdin) */
    uint64_t exec_max_job;       /* bytes of a job description (64 KiB) */
    unsigned exec_max_nodes;     /* nodes of one job */
    unsigned exec_chain_depth;   /* chained jobs after the first */
    uint64_t exec_max_output;    /* bytes a node writes to one output */
    uint64_t exec_memory;        /* bytes per node */
    char *exec_zerovm;           /* the zerovm binary, or NULL */
    char *exec_sysimages;        /* system image table file, or NULL */
    uint64_t exec_image_cache_max; /* zerovm's image cache bound, when _set */
    bool exec_image_cache_set;
    uint64_t exec_wasm_cache_max;  /* zerovm's wasm cache bound, when _set */
    bool exec_wasm_cache_set;
} zc_config_t;

void zc_config_init(zc_config_t *c);
/* Read FILE (strict INI); on error returns -1 with "file:line: reason" in
 * err (size errlen). */
int zc_config_load(zc_config_t *c, const char *file, char *err, size_t errlen);
void zc_config_release(zc_config_t *c);
/* Add a user "account:user" with "key [.admin]"; -1 and *why on error. */
int zc_user_add(zc_config_t *c, const char *who, const char *rest, const char **why);

/* ---- users and tokens (auth.c) ---- */
typedef struct zc_ident {
    bool valid;  /* a token was presented and is valid */
    bool admin;
    char account[ZC_MAX_ACCOUNT_NAME + 1]; /* "test" */
    char user[ZC_MAX_ACCOUNT_NAME + 1];    /* "tester" */
} zc_ident_t;

typedef struct zc_auth zc_auth_t;
zc_auth_t *zc_auth_new(const zc_config_t *cfg);
void zc_auth_free(zc_auth_t *a);
/* Check "account:user" and key; on success write a new token (NUL-ended,
 * at most 64 bytes) and its lifetime in seconds.  -EACCES otherwise. */
int zc_auth_login(zc_auth_t *a, const char *who, const char *key, char token[65], unsigned *ttl,
                  zc_ident_t *id);
/* Failed logins, counted per client address (IPv6 by /64) and per known
 * user in a window of login_window seconds from the first failure: 0 when
 * a login may be tried, else the seconds until it may (429, Retry-After).
 * Checked before the key, so a blocked client learns nothing from it. */
unsigned zc_auth_throttled(zc_auth_t *a, const struct sockaddr *from, const char *who);
/* Count a failed login (a wrong key or an unknown user). */
void zc_auth_failed(zc_auth_t *a, const struct sockaddr *from, const char *who);
/* Are secrets a and b (NUL-ended) equal?  Both are hashed (SHA-256) and
 * the digests compared in constant time, so the time taken says nothing
 * about the length of either or where they differ. */
bool zc_secret_equal(const char *a, const char *b);
/* Resolve a token: 0 and *id, or -EACCES (unknown or expired). */
int zc_auth_check(zc_auth_t *a, const char *token, zc_ident_t *id);

/* ---- ACLs (acl.c) ---- */
typedef enum zc_access {
    ZC_ACCESS_OWNER,     /* account ops, container PUT/POST/DELETE */
    ZC_ACCESS_LIST,      /* container GET/HEAD */
    ZC_ACCESS_READ,      /* object GET/HEAD, copy source */
    ZC_ACCESS_WRITE,     /* object PUT/POST/DELETE, copy destination */
} zc_access_t;

/* Is id the owner of storage account `account` ("AUTH_test")? */
bool zc_acl_is_owner(const zc_ident_t *id, const char *account);
/* 0 if allowed, else the status to answer (401 anonymous, 403 otherwise).
 * read_acl/write_acl are the container's X-Container-Read/Write (or NULL);
 * referer the request's Referer (or NULL). */
int zc_acl_authorize(const zc_ident_t *id, const char *account, zc_access_t access,
                     const char *read_acl, const char *write_acl, const char *referer);
/* Syntax check of an ACL header value: 0 or -EINVAL. */
int zc_acl_validate(const char *acl);

/* ---- the storage interface (store.c, store_local.c) ---- */
typedef uint64_t zc_ts_t; /* units of 10 µs since the epoch (Swift's 5 decimals) */

zc_ts_t zc_ts_now(void);                    /* strictly increasing in this process */
void zc_ts_format(zc_ts_t ts, char out[32]); /* "1700000000.12345" */
int zc_ts_parse(const char *s, zc_ts_t *ts);
void zc_http_date(time_t t, char out[40]);   /* "Tue, 14 Nov 2023 22:13:20 GMT" */
void zc_iso_date(zc_ts_t ts, char out[40]);  /* "2023-11-14T22:13:20.123450" */

typedef struct zc_account_info {
    zc_ts_t created;
    uint64_t containers, objects, bytes;
    json_t *meta; /* {"x-account-meta-k": "v"}; owned by the caller */
} zc_account_info_t;

typedef struct zc_container_info {
    zc_ts_t created, put_ts;
    uint64_t objects, bytes;
    json_t *meta; /* x-container-meta-*, x-container-read/write; owned */
} zc_container_info_t;

typedef struct zc_object_info {
    zc_ts_t ts;
    uint64_t size;
    char etag[33];
    char *content_type; /* owned */
    json_t *meta;       /* x-object-meta-*, content-encoding, ...; owned */
} zc_object_info_t;
void zc_object_info_release(zc_object_info_t *o);

/* One row of a listing handed to a callback (strings borrowed). */
typedef struct zc_row {
    const char *name;
    zc_ts_t ts;
    uint64_t size;         /* bytes (objects) or bytes used (containers) */
    uint64_t count;        /* objects in a container (account listings) */
    const char *content_type;
    const char *etag;
} zc_row_t;
/* Return 0 to go on, 1 to stop (not an error). */
typedef int (*zc_row_cb)(void *arg, const zc_row_t *row);

typedef struct zc_scan {
    const char *after;   /* rows with name > after (>= when inclusive) */
    bool inclusive;
    const char *before;  /* and name < before, or NULL */
    const char *prefix;  /* and starting with prefix, or NULL */
    unsigned limit;
} zc_scan_t;

typedef struct zc_store zc_store_t;
typedef struct zc_put zc_put_t;

/* The storage interface: every backend fills this table. */
typedef struct zc_store_ops {
    const char *name;
    void (*close)(zc_store_t *st);

    int (*account_stat)(zc_store_t *st, const char *acct, zc_account_info_t *out);
    /* Merge meta (empty values delete keys). */
    int (*account_post)(zc_store_t *st, const char *acct, json_t *meta);
    int (*account_scan)(zc_store_t *st, const char *acct, const zc_scan_t *q, zc_row_cb cb,
                        void *arg);

    /* *created is set when it did not exist (201), else meta merged (202). */
    int (*container_put)(zc_store_t *st, const char *acct, const char *cont, json_t *meta,
                         bool *created);
    int (*container_stat)(zc_store_t *st, const char *acct, const char *cont,
                          zc_container_info_t *out);
    int (*container_post)(zc_store_t *st, const char *acct, const char *cont, json_t *meta);
    int (*container_delete)(zc_store_t *st, const char *acct, const char *cont);
    int (*container_scan)(zc_store_t *st, const char *acct, const char *cont, const zc_scan_t *q,
                          zc_row_cb cb, void *arg);

    /* An object upload: begin (the container must exist), write the body,
     * then commit (durable before it returns 0) or abort. */
    int (*put_begin)(zc_store_t *st, const char *acct, const char *cont, zc_put_t **out);
    int (*put_write)(zc_put_t *p, const void *data, size_t n);
    /* Takes ownership of p in every case.  info->size/etag/content_type/meta
     * describe the object; info->ts is set. */
    int (*put_commit)(zc_put_t *p, const char *name, zc_object_info_t *info);
    void (*put_abort)(zc_put_t *p);

    /* Stat an object, and when fd is not NULL open its data (O_RDONLY). */
    int (*object_open)(zc_store_t *st, const char *acct, const char *cont, const char *name,
                       zc_object_info_t *out, int *fd);
    /* Replace the object's metadata (and content type when not NULL). */
    int (*object_post)(zc_store_t *st, const char *acct, const char *cont, const char *name,
                       const char *content_type, json_t *meta);
    int (*object_delete)(zc_store_t *st, const char *acct, const char *cont, const char *name);

    /* Totals over everything stored (status page). */
    void (*totals)(zc_store_t *st, uint64_t *containers, uint64_t *objects, uint64_t *bytes);
} zc_store_ops_t;

struct zc_store {
    const zc_store_ops_t *ops;
};

/* The embedded backend: files under dir/objects, SQLite under dir/accounts.
 * open_containers bounds the idle container handles kept open (each holds
 * two SQLite connections); handles in use are never closed under a request. */
int zc_store_local_open(const char *dir, bool do_fsync, unsigned open_containers,
                        zc_store_t **out, char *err, size_t errlen);

/* Names (store.c): 0 or the HTTP status that rejects the name. */
int zc_name_check(const char *name, size_t max, bool allow_slash);
bool zc_utf8_valid(const char *s, size_t n);

/* ---- requests (http.c) ---- */
typedef enum zc_level { ZC_LVL_ACCOUNT = 1, ZC_LVL_CONTAINER, ZC_LVL_OBJECT } zc_level_t;

typedef struct zc_server zc_server_t;
typedef struct zc_req zc_req_t;

/* A sink for request bodies; returns 0, or an HTTP status to answer at the
 * end (the rest of the body is then discarded), or -1 to drop the
 * connection. */
typedef int (*zc_body_fn)(zc_req_t *r, const char *data, size_t n);
typedef void (*zc_finish_fn)(zc_req_t *r);
typedef void (*zc_cleanup_fn)(zc_req_t *r);

#define ZC_MAX_ARGS 32
#define ZC_MAX_OUT_HEADERS 128

struct zc_req {
    zc_server_t *srv;
    struct MHD_Connection *conn;
    const char *method;  /* borrowed from MHD */
    const char *http_version; /* "HTTP/1.1", borrowed from MHD */
    char *raw_path;      /* as sent (escaped), owned */
    uint64_t t0_ns;
    int status;          /* answered status (log) */
    uint64_t bytes_in, bytes_out;
    bool replied;

    /* route: decoded names (owned) */
    char *account, *container, *object;
    zc_level_t level;
    char *version; /* "v1", "open", "api" */

    struct { char *k, *v; } args[ZC_MAX_ARGS];
    size_t nargs;

    zc_ident_t ident;

    /* out headers collected before the reply */
    struct { char *k, *v; } hdrs[ZC_MAX_OUT_HEADERS];
    size_t nhdrs;

    /* body handling */
    zc_body_fn on_body;
    zc_finish_fn on_finish;
    zc_cleanup_fn on_cleanup;
    int body_status;     /* a status decided while the body came */
    uint64_t discarded;  /* body bytes dropped since (ZC_MAX_DISCARD at most) */
    zc_buf_t body;       /* small bodies, when on_body is zc_body_buffer */
    void *handler_state; /* the handler's, freed by on_cleanup */
};

const char *zc_req_header(zc_req_t *r, const char *name);
const char *zc_req_arg(zc_req_t *r, const char *name);
bool zc_req_is(zc_req_t *r, const char *method);
/* Add a header to the reply being prepared (copied). */
void zc_req_add_header(zc_req_t *r, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer: takes ownership of body (malloc'd) or copies nothing when NULL. */
void zc_reply(zc_req_t *r, int status, const char *content_type, char *body, size_t len);
/* Answer with the data of fd (owned) from off, len bytes. */
void zc_reply_fd(zc_req_t *r, int status, const char *content_type, int fd, uint64_t off,
                 uint64_t len);
/* An error in Swift's short HTML form. */
void zc_reply_error(zc_req_t *r, int status, const char *detail);
/* Map a store error (-errno) to an answer. */
void zc_reply_store_error(zc_req_t *r, int rc);
/* Keep a small body in r->body (at most ZC_MAX_SMALL_BODY, else 413). */
int zc_body_buffer(zc_req_t *r, const char *data, size_t n);

/* A content type from a name's extension ("application/octet-stream"). */
const char *zc_guess_type(const char *name);

/* Percent-decode [s, s+n) into a new string; NULL when it would hold NUL or
 * an escape is malformed.  plus_is_space for query strings. */
char *zc_url_decode(const char *s, size_t n, bool plus_is_space);
/* "Content-Type" style: "x-object-meta-color" -> "X-Object-Meta-Color". */
void zc_header_title(char *s);

/* Collect request headers starting with prefix (lowercase) into meta
 * (keys lowercased).  Returns 0 or 400 (too many, too long). */
int zc_meta_from_request(zc_req_t *r, const char *prefix, json_t *meta);
/* Add every key of meta as a reply header (title-cased). */
/* X-<kind>-Meta-* and X-Remove-<kind>-Meta-* (kind "account" or
 * "container") into meta; removals get empty values.  0 or 400. */
int zc_meta_with_removals(zc_req_t *r, const char *kind, json_t *meta);
void zc_meta_to_reply(zc_req_t *r, json_t *meta, const char *only_prefix);

/* ---- the server (server.c) ---- */
struct zc_compute;

struct zc_server {
    zc_config_t *cfg;
    zc_store_t *store;
    zc_auth_t *auth;
    struct zc_compute *compute;
    struct MHD_Daemon *mhd;
    struct sockaddr_storage addr;
    char host_port[300]; /* for storage URLs when no Host header */
    time_t started;
    uint64_t requests; /* atomically incremented */
};

int zc_server_start(zc_server_t *s, char *err, size_t errlen);
/* Resolve "ADDR:PORT" ("[v6]:PORT" too) into addr; -1 with err filled. */
int zc_listen_resolve(const char *listen, struct sockaddr_storage *addr, char *err,
                      size_t errlen);
/* Whether addr is a loopback address: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
bool zc_addr_is_loopback(const struct sockaddr_storage *addr);
void zc_server_stop(zc_server_t *s);

/* ---- handlers ---- */
void zc_account_begin(zc_req_t *r);
void zc_container_begin(zc_req_t *r);
void zc_object_begin(zc_req_t *r);
void zc_status_page(zc_req_t *r);
void zc_info_page(zc_req_t *r);

/* ---- listings (listing.c) ---- */
typedef enum zc_format { ZC_FMT_TEXT, ZC_FMT_JSON, ZC_FMT_XML } zc_format_t;
/* The format asked by ?format= or Accept; -1 when unsupported (406). */
int zc_listing_format(zc_req_t *r);
/* Answer a listing of the account (cont NULL) or of a container, applying
 * prefix, delimiter, marker, end_marker, limit.  Headers already added. */
void zc_listing_reply(zc_req_t *r, const char *cont);

/* ---- the compute seam (compute.c) ----
 * A request that names an account and carries X-Zerovm-Execute, or whose
 * version segment is "open" or "api", goes here after its token (if any)
 * is checked (r->ident).  begin() either answers at once (zc_reply*) or sets
 * r->on_body / r->on_finish to take the body and answer at the end. */
typedef struct zc_compute {
    const char *name;
    void (*begin)(struct zc_compute *c, zc_req_t *r);
    /* Jobs for the status page. */
    void (*counts)(struct zc_compute *c, uint64_t *running, uint64_t *finished);
    void (*free)(struct zc_compute *c);
    void *impl;
} zc_compute_t;

/* The stand-in when compute is disabled: 501 to every request. */
zc_compute_t *zc_compute_unavailable(void);
/* The compute half (src/cloud/compute.c and its parts): jobs run through
 * libzvmjob.  NULL and a message in err when it cannot start (no zerovm,
 * a broken system image table, a data directory unusable as a channel). */
zc_compute_t *zc_compute_new(zc_server_t *srv, char *err, size_t errlen);

#endif
