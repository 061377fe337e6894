/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compute half's internals, shared by its files (not by the storage
 * half, which sees only zc_compute_t in cloud.h):
 *
 *   compute.c      the zc_compute_t: request kinds, who may execute, the
 *                  request body streamed to a private directory, the pool
 *                  of executions (slots, a bounded queue, then 503), counts
 *   execute.c      POST jobs (JSON, tar image, #! script, X-Zerovm-Source),
 *                  running them through libzvmjob, chaining, the response
 *                  (immediate outputs, message/http, X-Nexe-* headers)
 *   apps.c         open/1.0 (apps registered per content type) and api/1.0
 *                  (the container's REST endpoint, Zerovm-Suid)
 *   job_storage.c  libzvmjob's zvm_storage_t over the store, every read,
 *                  listing and write checked against the container's ACLs
 *   cgi.c          the CGI/1.1 variables every node sees
 *
 * Ownership: one zc_exec_t per compute request (r->handler_state), freed
 * with its private directory when the request ends.  A job runs in the
 * request's own thread (MHD: one thread per connection), holding a slot of
 * the pool for its whole chain; the body has been received before a slot is
 * taken and the answer is sent after it is given back, so a slow client
 * never holds a slot.
 */
#ifndef ZVM_CLOUD_COMPUTE_H
#define ZVM_CLOUD_COMPUTE_H

#include <openssl/evp.h>

#include "cloud/cloud.h"
#include "zvm/job.h"
#include "zvm/sysimage.h"

typedef struct zc_cx {
    zc_compute_t iface;
    zc_server_t *srv;
    const zc_config_t *cfg;
    zvm_sysimages_t sysimages;
    char *zerovm;           /* the binary nodes run */
    char *jobs_dir;         /* <data>/jobs: one private directory per request */
    char *data_dir;         /* the data directory's real path (messages are scrubbed of it) */
    unsigned pool, queue;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned running, waiting;
    uint64_t finished;
} zc_cx_t;

typedef enum zc_exec_kind { ZC_EXEC_POST, ZC_EXEC_OPEN, ZC_EXEC_API } zc_exec_kind_t;

/* One compute request. */
typedef struct zc_exec {
    zc_cx_t *cx;
    zc_req_t *r;
    zc_exec_kind_t kind;
    char *dir;              /* private directory (0700), removed at the end */
    int body_fd;            /* the body while it arrives, else -1 */
    char *body_path;        /* <dir>/body */
    uint64_t body_len, body_max;
    EVP_MD_CTX *md5;        /* of the body (Etag check of a JSON job) */
    bool suid;              /* admitted by the endpoint's Zerovm-Suid */
    double deadline;        /* CLOCK_MONOTONIC seconds: the end of the request */
    char *path_info;        /* PATH_INFO */
    char *script_filename;  /* SCRIPT_FILENAME (the app's swift:// URL), or NULL */
    zvm_storage_t *jstore;  /* job_storage.c, made on first use */
    unsigned seq;           /* names of files in dir */
    /* Host paths handed to libzvmjob and what the client calls them
     * ("swift://a/c/o"), owned: messages are scrubbed with them. */
    struct zc_exec_name { char *host, *name; } *names;
    size_t nnames;
} zc_exec_t;

/* What to run: a job description, and what every node gets. */
typedef struct zc_job_input {
    char *text;             /* the job (JSON), owned */
    size_t len;
    char *image;            /* host path of the image (tar, or a directory), owned, or NULL */
    const char *stdin_path; /* for path-less stdin devices, or NULL */
    const char *default_type; /* Content-Type of immediate outputs without one */
} zc_job_input_t;
void zc_job_input_release(zc_job_input_t *in);

/* ---- compute.c ---- */
double zc_mono_now(void);
/* A new file name in the request's directory ("<dir>/<what>.<n>"), malloc'd. */
char *zc_exec_path(zc_exec_t *x, const char *what);
/* Remember that host path `host` is `name` ("swift://a/c/o") to the client. */
void zc_exec_name_path(zc_exec_t *x, const char *host, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* msg with no host path in it (malloc'd, NULL when out of memory): each
 * remembered path becomes its name, any other path under the data
 * directory, /proc/<server>, the temporary or cache directories becomes
 * "(server path)".  Everything sent to a client that may quote libzvmjob
 * or zerovm (error bodies, X-Nexe-Status, X-Nexe-Error) goes through it. */
char *zc_exec_scrub(const zc_exec_t *x, const char *msg);
/* Answer a compute error: text/plain body "<msg>\n", scrubbed. */
void zc_exec_error(zc_exec_t *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Wait for a slot until the deadline; false: none (the caller answers 503). */
bool zc_pool_acquire(zc_cx_t *cx, double deadline);
void zc_pool_release(zc_cx_t *cx);

/* ---- execute.c ---- */
/* Why libzvmjob refused a member of the tar at path (EPERM), without the
 * host path that starts its message. */
const char *zc_tar_refusal(const char *msg, const char *path);
/* The body has arrived: build the job of a POST and run it (answers). */
void zc_execute_post(zc_exec_t *x);
/* Run the input (and its chain) in a slot of the pool; answers. */
void zc_execute_run(zc_exec_t *x, zc_job_input_t *in);
/* Read the whole small file (at most max bytes: E2BIG). */
int zc_read_small(const char *path, uint64_t max, char **text, size_t *len);

/* ---- apps.c ---- */
void zc_apps_open(zc_exec_t *x);
void zc_apps_api(zc_exec_t *x);
/* The endpoint app of container acct/cont: its swift:// URL (malloc'd), or
 * NULL when none is configured. */
char *zc_apps_endpoint(zc_store_t *st, const char *acct, const char *cont);

/* ---- job_storage.c ---- */
/* libzvmjob's storage over the store for the request x: reads, listings and
 * writes checked as x->r->ident (and, when x->suid, the Zerovm-Suid ACL for
 * reads and listings, the Zerovm-Suid-Write ACL for writes);
 * object data handed to nodes as /proc/<pid>/fd/<n> of descriptors kept
 * open for the job's life; outputs written to files in x->dir and stored
 * through the store's durable PUT on commit; container listings as SQLite
 * files in x->dir.  Denials: err->code EACCES and "Error 403 Forbidden
 * while fetching /a/c/o" (401 Unauthorized for an anonymous caller). */
zvm_storage_t *zc_job_storage_new(zc_exec_t *x);
/* 0 when x's caller may do `access` on acct/cont, else 401 or 403. */
int zc_job_authorize(zc_exec_t *x, const char *acct, const char *cont, zc_access_t access);
/* The HTTP status for a libzvmjob error code of a setup failure. */
int zc_job_status(zc_exec_t *x, int code);

/* ---- cgi.c ---- */
/* The CGI/1.1 variables of the request (owned by *env; release with
 * zc_cgi_release). */
int zc_cgi_env(zc_exec_t *x, zvm_job_env_t **env, size_t *n);
void zc_cgi_release(zvm_job_env_t *env, size_t n);

#endif
