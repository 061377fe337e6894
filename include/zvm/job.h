/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libzvmjob: the job engine.  A job (ZeroCloud's "system.map") is a JSON
 * list of node groups; this library parses it, expands it into nodes, turns
 * each node into a manifest and an nvram, runs the nodes as `zerovm`
 * processes and collects their reports.  `zvapp` runs it on one machine;
 * the HTTP server reuses it with its own storage behind zvm_storage_t.
 *
 *   zvm_job_parse()        JSON text -> groups (the seed's error messages)
 *   zvm_job_expand()       groups -> nodes: count, wildcards, names, connect
 *   zvm_job_nodes_json()   the expanded nodes as JSON (zvapp --dry-run)
 *   zvm_job_run()          plan (manifests, nvrams, FIFOs, temp outputs),
 *                          run in parallel, commit or abort the outputs
 *   zvm_job_format_*()     per-node reports, the summary table
 *
 * Invariants:
 *   - nodes are numbered 1..N in creation order (groups in order, then the
 *     nodes of a group in order); every listing is "in node order";
 *   - a stream (connect) is one FIFO per (writer node, reader node) pair,
 *     seen as /dev/out/<reader> by the writer and /dev/in/<writer> by the
 *     reader; a node never waits forever on a stream whose peer has ended;
 *   - outputs (writable devices with a swift:// path) are written to
 *     temporary objects and become visible only when every node of the job
 *     succeeded (exit state ok and return code 0); otherwise they are
 *     removed and objects of the same name stay as they were.
 *
 * Errors: a negative return and a message in zvm_error_t, as in libzvm; the
 * library never prints and never exits.
 */
#ifndef ZVM_JOB_H
#define ZVM_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zvm/error.h"
#include "zvm/sysimage.h"

/* ---- Storage: where swift:// paths live ------------------------------- */

typedef struct zvm_job_env {
    char *name;
    char *value;
} zvm_job_env_t;

typedef struct zvm_object_info {
    uint64_t size;
    char content_type[128];
    char etag[33];              /* MD5 in hex, or "" when the storage keeps none */
    /* Metadata a node attached to the object sees as LOCAL_HTTP_<name>
     * (names like X_OBJECT_META_COLOR); malloc'd, or NULL. */
    zvm_job_env_t *meta;
    size_t nmeta;
} zvm_object_info_t;

/* Free info->meta (the rest is inline). */
void zvm_object_info_release(zvm_object_info_t *info);

/* An output being written: nodes write host_path; nothing is visible under
 * the object's name before commit. */
typedef struct zvm_storage_output {
    char *host_path;
    void *priv;                 /* the implementation's */
    const char *content_type;   /* the device's content_type, or NULL; set by
                                 * the planner after create (borrowed) */
} zvm_storage_output_t;

typedef struct zvm_storage zvm_storage_t;
struct zvm_storage {
    /* Object names of container acct/cont matching the fnmatch(3) pattern
     * (NULL: all), in listing order (bytewise ascending).  A missing
     * container lists nothing.  *names is a malloc'd array of malloc'd
     * strings. */
    int (*list)(zvm_storage_t *st, const char *acct, const char *cont, const char *pattern,
                char ***names, size_t *count, zvm_error_t *err);
    /* A host path a node may read the object from, and its metadata;
     * err->code ENOENT and "Error 404 Not Found while fetching /a/c/o" when
     * there is no such object. */
    int (*open_read)(zvm_storage_t *st, const char *acct, const char *cont, const char *obj,
                     char **host_path, zvm_object_info_t *info, zvm_error_t *err);
    /* Begin an output: an empty temporary file in out->host_path. */
    int (*create)(zvm_storage_t *st, const char *acct, const char *cont, const char *obj,
                  zvm_storage_output_t *out, zvm_error_t *err);
    /* Make the output visible under its name (atomically), or drop it.
     * Both release out. */
    int (*commit)(zvm_storage_t *st, zvm_storage_output_t *out, zvm_error_t *err);
    void (*abort)(zvm_storage_t *st, zvm_storage_output_t *out);
    void (*destroy)(zvm_storage_t *st);
    /* Optional (NULL: container devices are refused).  A host path of a
     * SQLite database holding the container's listing in Swift's table
     * object(name, created_at, size, content_type, etag, deleted), for a
     * readable device whose path names a container; ENOENT when there is no
     * such container. */
    int (*open_container)(zvm_storage_t *st, const char *acct, const char *cont,
                          char **host_path, zvm_error_t *err);
    /* Optional (NULL: open_read).  A host path of the object that zerovm
     * can run as a node's program (swift:// exec.path): a regular file the
     * jail can capture, executable by the sandbox's user. */
    int (*open_program)(zvm_storage_t *st, const char *acct, const char *cont, const char *obj,
                        char **host_path, zvm_error_t *err);
};

/* The local stand-in: swift://acct/cont/obj is the file <root>/acct/cont/obj.
 * Temporary outputs are ".zvapp-tmp.*" files next to their target (listings
 * skip them); commit is rename(2). */
zvm_storage_t *zvm_storage_local_new(const char *root, zvm_error_t *err);

/* ---- The job description ---------------------------------------------- */

typedef enum zvm_job_devkind {
    ZVM_DEV_STDIN, ZVM_DEV_STDOUT, ZVM_DEV_STDERR, ZVM_DEV_INPUT, ZVM_DEV_OUTPUT,
    ZVM_DEV_IMAGE, ZVM_DEV_SCRIPT, ZVM_DEV_DEBUG,
    ZVM_DEV_SYSIMAGE,           /* a system image by name: nothing to map */
    ZVM_DEV_UNKNOWN,
} zvm_job_devkind_t;

typedef struct zvm_job_device {
    char *name;
    char *path;                 /* as written (an object, or a container for a
                                 * readable device), or NULL */
    char *content_type;         /* or NULL */
} zvm_job_device_t;

typedef struct zvm_job_group {
    char *name;
    char *exec_path;            /* file://image:exe or swift://a/c/o */
    char *exec_args;            /* nvram-escaped words separated by spaces, or NULL */
    char *exec_name;            /* argv[0], or NULL */
    zvm_job_env_t *env;
    size_t nenv;
    zvm_job_device_t *devices;
    size_t ndevices;
    char **connect;
    size_t nconnect;
    unsigned count;             /* >= 1 */
} zvm_job_group_t;

typedef struct zvm_job {
    zvm_job_group_t *groups;
    size_t ngroups;
} zvm_job_t;

/* Parse a job (a JSON list of groups; one object is taken as a list of
 * one).  Messages are the seed's: "Must specify node name", "Must specify
 * exec stanza for <n>", "Must specify executable path for <n>", "Invalid
 * path <p> in <n>", "Config parser cannot resolve any job nodes". */
int zvm_job_parse(zvm_job_t *job, const char *text, size_t len, zvm_error_t *err);
void zvm_job_release(zvm_job_t *job);

/* A parsed swift:// or file:// URL. */
typedef struct zvm_job_url {
    bool is_file;
    char *account, *container, *object;   /* swift; object NULL for a container */
    char *image, *exe;                    /* file://image:exe */
} zvm_job_url_t;
int zvm_job_url_parse(const char *s, zvm_job_url_t *u);   /* -1: invalid */
void zvm_job_url_release(zvm_job_url_t *u);
zvm_job_devkind_t zvm_job_devkind(const char *name, const zvm_sysimages_t *sysimages);

/* ---- Expanded nodes ----------------------------------------------------- */

typedef struct zvm_job_node_device {
    char *name;
    zvm_job_devkind_t kind;
    char *account, *container, *object;   /* all NULL: no path; object NULL
                                           * alone: a container (its listing) */
    char *content_type;
} zvm_job_node_device_t;

typedef struct zvm_job_node {
    char *name;
    unsigned id;                /* 1..N */
    size_t group;
    char *exec_path;            /* as written; account resolved for swift:// */
    char *argv0;
    char *args;                 /* exec.args as written, or NULL */
    zvm_job_env_t *env;         /* the group's exec.env */
    size_t nenv;
    zvm_job_node_device_t *devices;
    size_t ndevices;
    size_t *out_to;             /* node indices this node writes a stream to */
    size_t nout;
    size_t *in_from;            /* node indices writing a stream to this node */
    size_t nin;
    int attach;                 /* device the node is attached to (LOCAL_*), or -1 */
} zvm_job_node_t;

typedef struct zvm_job_nodes {
    zvm_job_node_t *nodes;
    size_t count;
} zvm_job_nodes_t;

typedef struct zvm_job_context {
    const char *account;                  /* what "~" and "." stand for */
    const zvm_sysimages_t *sysimages;
    zvm_storage_t *storage;               /* for wildcard listings */
} zvm_job_context_t;

/* Errors: "No objects found in path <p>", "Unknown device <d> in <n>",
 * "Invalid connect <x> in <n>", "Duplicate node name <x>", ... */
int zvm_job_expand(const zvm_job_t *job, const zvm_job_context_t *ctx, zvm_job_nodes_t *out,
                   zvm_error_t *err);
void zvm_job_nodes_release(zvm_job_nodes_t *nodes);
/* malloc'd JSON text (a list of nodes), or NULL on ENOMEM. */
char *zvm_job_nodes_json(const zvm_job_nodes_t *nodes);

/* ---- Running ------------------------------------------------------------ */

typedef struct zvm_job_options {
    const char *zerovm;         /* path of the zerovm binary (searched in PATH without '/') */
    const char *work_dir;       /* keep the work files there; NULL: a private temp dir */
    const char *image_tar;      /* the app tar, device `image` of every node; or NULL */
    unsigned jobs;              /* at most this many nodes at once (0: online CPUs) */
    unsigned timeout;           /* per node, seconds (0: 300) */
    uint64_t memory;            /* per node, bytes (0: 1 GiB) */
    volatile int *cancel;       /* set (e.g. by a signal handler) to stop the job */
    /* Added to every node's [env] first (e.g. the server's CGI variables);
     * LOCAL_* and the group's exec.env come after and replace a variable of
     * the same name. */
    const zvm_job_env_t *env;
    size_t nenv;
    const char *stdin_path;     /* host file of stdin devices without a path
                                 * (a request body); NULL: /dev/null */
    uint64_t max_output;        /* bytes a node may write to each of stdout,
                                 * stderr, output, debug (0: 4 GiB) */
    double deadline;            /* CLOCK_MONOTONIC seconds (as clock_gettime)
                                 * when the job is stopped: err ETIMEDOUT (0: none) */
} zvm_job_options_t;

/* A node's outcome, from its `zerovm --report=json`. */
typedef struct zvm_job_node_result {
    bool ran;                   /* a report was read */
    int zerovm_status;          /* exit status of zerovm, -1 when it did not exit */
    int validator, daemon;
    uint32_t user_rc;           /* report line 3: the program's code (32 bits for wasm) */
    char *exit_state;           /* "ok", "timeout", ...; or "ZeroVM did not run" */
    char *etags;                /* report line 4 */
    double sys_time, user_time, wall_time;
    uint64_t acct[8];           /* reads rbytes writes wbytes, then network */
    char *stdout_path;          /* immediate output (stdout without path), or NULL */
    char *stderr_path;          /* stderr without path, or NULL */
    char *log_path;             /* stderr when the job declared none (the
                                 * program sees /dev/stderr either way), or NULL */
    char *zerovm_errors;        /* what zerovm said on its stderr, or NULL */
} zvm_job_node_result_t;

typedef struct zvm_job_result {
    zvm_job_node_result_t *nodes;         /* parallel to zvm_job_nodes_t */
    size_t count;
    const zvm_job_nodes_t *job_nodes;     /* borrowed */
    bool ok;                              /* every node ok with return code 0 */
    double total_time;                    /* seconds */
    char *work_dir;
    bool remove_work_dir;
} zvm_job_result_t;

/* Run the nodes.  Returns 0 when every node ran (res->ok says whether the
 * job succeeded and the outputs were committed); -1 when the job could not
 * be set up or run (nothing committed).  res is filled either way and must
 * be released. */
int zvm_job_run(const zvm_job_nodes_t *nodes, zvm_storage_t *st, const zvm_sysimages_t *sysimages,
                const zvm_job_options_t *opt, zvm_job_result_t *res, zvm_error_t *err);
void zvm_job_result_release(zvm_job_result_t *res);

/* "Node: <name> id: <id>" then the six report lines, for every node. */
char *zvm_job_format_reports(const zvm_job_result_t *res);
/* "Execution summary:", the table (columns of zpm's summary), "Total time: <t>". */
char *zvm_job_format_summary(const zvm_job_result_t *res);
/* Copy the immediate outputs, in node order, to fd. */
int zvm_job_write_immediate(const zvm_job_result_t *res, int fd, zvm_error_t *err);

/* ---- Apps: a directory or a tar holding boot/system.map ------------------ */

/* Read boot/system.map (or boot/cluster.map) from a tar, through libzvm's
 * archive reader (zvm/tar.h).  ENOENT: a tar without a map; EINVAL: not a
 * tar; EPERM: a hostile member, refused with "'TAR_PATH': <the member and
 * why>". */
int zvm_job_tar_read_map(const char *tar_path, char **text, size_t *len, zvm_error_t *err);
/* The same, reading the whole archive: E2BIG when its members expand past
 * max_expanded bytes (a tar bomb), before anything is unpacked. */
int zvm_job_tar_read_map_bounded(const char *tar_path, uint64_t max_expanded, char **text,
                                 size_t *len, zvm_error_t *err);
/* Pack the directory into an uncompressed tar (regular files, directories,
 * symbolic links; paths relative to dir). */
int zvm_job_pack_dir(const char *dir, const char *tar_path, zvm_error_t *err);

#endif
