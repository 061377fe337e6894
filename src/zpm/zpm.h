/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zpm's parts, shared by src/cli/zpm.c (the command line) and the files of
 * src/zpm, one per concept:
 *
 *   util.c     logging (--log-level), a growable buffer, abort-on-OOM
 *              allocation (zpm is a tool: it may die on OOM)
 *   zapp.c     zapp.yaml (libyaml) -> JSON tree, validated with messages
 *              naming the key; the template `zpm new` writes
 *   sysmap.c   zapp -> system.map (jansson): exec.args shell-split and
 *              nvram-escaped, exec.name; the `image` device of deploy
 *   bundle.c   the project root, the .zapp (a gzip tar, libarchive), reading
 *              members back
 *   swift.c    a small Swift client on libcurl: auth v1.0 / v2.0, requests
 *              returning status, headers and body
 *   auth.c     auth settings from flags and ST_* / OS_* variables, the
 *              version guess, the seed's long message
 *   summary.c  the execution summary from X-Nexe-* headers (printed by
 *              libzvmjob's table printer)
 *   ui.c       the UI files of deploy: .tmpl rendering without credentials,
 *              content types
 *
 * Errors go up in a zvm_error_t (include/zvm/error.h); only src/cli/zpm.c
 * prints "Error: <message>" and picks the exit status.
 */
#ifndef ZPM_ZPM_H
#define ZPM_ZPM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "zvm/error.h"

/* ---- util.c ------------------------------------------------------------ */

typedef enum zpm_log_level {
    ZPM_LOG_DEBUG,
    ZPM_LOG_INFO,
    ZPM_LOG_WARNING,
    ZPM_LOG_ERROR,
    ZPM_LOG_CRITICAL,
} zpm_log_level_t;

extern zpm_log_level_t zpm_log_level;    /* default ZPM_LOG_WARNING */
/* "debug", "info", "warning", "error", "critical" (any case); -1 otherwise. */
int zpm_log_level_parse(const char *s);
/* "<level>: <message>\n" on stderr when level >= zpm_log_level. */
void zpm_log(zpm_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define zpm_debug(...) zpm_log(ZPM_LOG_DEBUG, __VA_ARGS__)
#define zpm_info(...) zpm_log(ZPM_LOG_INFO, __VA_ARGS__)
#define zpm_warn(...) zpm_log(ZPM_LOG_WARNING, __VA_ARGS__)

void *zpm_xmalloc(size_t n);
void *zpm_xrealloc(void *p, size_t n);
char *zpm_xstrdup(const char *s);
char *zpm_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated after len bytes. */
typedef struct zpm_buf {
    char *data;
    size_t len, cap;
} zpm_buf_t;
void zpm_buf_add(zpm_buf_t *b, const void *p, size_t n);
void zpm_buf_adds(zpm_buf_t *b, const char *s);
void zpm_buf_addf(zpm_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *zpm_buf_steal(zpm_buf_t *b);     /* the text (never NULL); b is reset */
void zpm_buf_release(zpm_buf_t *b);

/* A list of owned strings. */
typedef struct zpm_strv {
    char **v;
    size_t n;
} zpm_strv_t;
void zpm_strv_push(zpm_strv_t *l, char *owned);
bool zpm_strv_has(const zpm_strv_t *l, const char *s);
void zpm_strv_release(zpm_strv_t *l);

/* Read a whole file (at most max bytes); 0 or -1 with a message. */
int zpm_read_file(const char *path, size_t max, char **text, size_t *len, zvm_error_t *err);
/* Write data to path through a temporary file and rename(2); mode as open(2). */
int zpm_write_file(const char *path, const void *data, size_t len, int mode, zvm_error_t *err);

/* ---- zapp.c: zapp.yaml --------------------------------------------------- */

/* zapp.yaml as a JSON tree: plain scalars are resolved as PyYAML's
 * safe_load does (null, booleans, integers, floats), everything else is a
 * string.  Mapping keys are strings.  Errors: "<what>:<line>: <problem>". */
int zpm_yaml_to_json(const char *text, size_t len, const char *what, json_t **out, zvm_error_t *err);

typedef struct zpm_zapp {
    json_t *doc;                /* the whole file (owned); validated */
    const char *name;           /* meta.name, non-empty (borrowed from doc) */
    const char **bundling;      /* patterns (strings borrowed from doc) */
    size_t nbundling;
    const char **ui;
    size_t nui;
    size_t ndependencies;       /* entries of `dependencies` (not bundled) */
} zpm_zapp_t;

/* Parse and validate (what names the file in messages).  Messages name the
 * key: "zapp.yaml: 'execution.groups[0].path' must be a string". */
int zpm_zapp_parse(zpm_zapp_t *z, const char *text, size_t len, const char *what, zvm_error_t *err);
int zpm_zapp_load(zpm_zapp_t *z, const char *path, zvm_error_t *err);
void zpm_zapp_release(zpm_zapp_t *z);

/* The zapp.yaml `zpm new` writes (malloc'd). */
char *zpm_zapp_template(const char *name, bool with_ui);
/* The UI files of `zpm new --with-ui`: NULL-terminated name/content pairs. */
extern const char *const zpm_ui_template_files[];

/* ---- sysmap.c: system.map ------------------------------------------------ */

/* POSIX shell-like split, as Python's shlex.split: blanks separate words,
 * '...' is literal, "..." honours \ before $ ` " \ and newline, a bare \
 * quotes the next character.  Error on an unterminated quote or escape. */
int zpm_shell_split(const char *s, zpm_strv_t *words, zvm_error_t *err);
/* exec.args: the split words, each nvram-escaped, joined by spaces. */
int zpm_sysmap_args(const char *args, char **out, zvm_error_t *err);
/* exec.name: after the last ':' of file://image:exe, the object path after
 * the container of swift://acct/cont/obj; NULL otherwise (malloc'd). */
char *zpm_sysmap_exec_name(const char *path);
/* The job (a JSON list of groups) of a validated zapp. */
json_t *zpm_sysmap_from_zapp(const zpm_zapp_t *z, zvm_error_t *err);
/* Append {"name": "image", "path": url} to every group's devices. */
int zpm_sysmap_add_image(json_t *job, const char *url, zvm_error_t *err);
/* Indented JSON text, keys in their order (malloc'd). */
char *zpm_json_text(const json_t *j);

/* ---- bundle.c: the .zapp ----------------------------------------------------- */

#define ZPM_SYSTEM_MAP "boot/system.map"

/* The nearest directory holding zapp.yaml, from start up to '/'; error
 * "no zapp.yaml file found". */
int zpm_find_root(const char *start, char **root, zvm_error_t *err);
/* Write <root>/<meta.name>.zapp; *out its path (malloc'd). */
int zpm_bundle(const char *root, char **out, zvm_error_t *err);

/* A member of a tar (gzip or not): its name and bytes. */
typedef struct zpm_member {
    char *name;
    char *data;
    size_t len;
} zpm_member_t;
typedef struct zpm_members {
    zpm_member_t *v;
    size_t n;
} zpm_members_t;
/* Read every regular member; *raw (optional) gets the uncompressed tar. */
int zpm_tar_read(const char *path, zpm_members_t *out, zpm_buf_t *raw, zvm_error_t *err);
const zpm_member_t *zpm_members_find(const zpm_members_t *m, const char *name);
void zpm_members_release(zpm_members_t *m);

/* ---- swift.c: the Swift client ------------------------------------------------- */

typedef struct zpm_header {
    char *name;
    char *value;
} zpm_header_t;

typedef struct zpm_response {
    long status;
    char *reason;               /* "Not Found", or "" */
    zpm_header_t *headers;
    size_t nheaders;
    zpm_buf_t body;
} zpm_response_t;

/* The header's value (case-insensitive name), or NULL. */
const char *zpm_response_header(const zpm_response_t *r, const char *name);
void zpm_response_release(zpm_response_t *r);

typedef struct zpm_swift {
    char *storage_url;          /* http://host:port/v1/AUTH_x, no trailing '/' */
    char *token;
    char *account;              /* the last part of storage_url */
    char *auth_url;             /* where the token came from */
    const char *auth_version;   /* "1.0" or "2.0" */
} zpm_swift_t;

/* Obtain a token and storage URL. */
int zpm_swift_auth_v1(zpm_swift_t *c, const char *auth_url, const char *user, const char *key,
                      zvm_error_t *err);
int zpm_swift_auth_v2(zpm_swift_t *c, const char *auth_url, const char *tenant, const char *user,
                      const char *password, zvm_error_t *err);
/* method path (relative to the storage URL, percent-encoded here; "" is the
 * account) with extra "Name: value" headers (NULL-terminated, may be NULL),
 * an optional body and query ("a=b&c=d", not encoded, or NULL).  Returns 0
 * when an HTTP response arrived, whatever its status. */
int zpm_swift_request(const zpm_swift_t *c, const char *method, const char *path, const char *query,
                      const char *const *headers, const void *body, size_t len, zpm_response_t *resp,
                      zvm_error_t *err);
/* Percent-encode s onto b, keeping '/' and the unreserved characters. */
void zpm_url_encode(zpm_buf_t *b, const char *s);
/* "<status> <reason>" plus the body's first line, for messages (malloc'd). */
char *zpm_response_describe(const zpm_response_t *r);
void zpm_swift_release(zpm_swift_t *c);

/* ---- auth.c: auth settings ----------------------------------------------------- */

typedef struct zpm_auth_opts {
    const char *version;        /* -V; NULL: guess */
    const char *auth, *user, *key;                            /* -A -U -K */
    const char *os_auth_url, *os_tenant_name, *os_username, *os_password;
} zpm_auth_opts_t;

extern const char zpm_no_auth_msg[];

/* "1.0", "2.0", or NULL (no complete set): flags first, then flags over
 * the environment; both sets complete -> "1.0". */
const char *zpm_auth_guess_version(const zpm_auth_opts_t *flags);
/* Resolve flags and environment, authenticate, fill c. */
int zpm_auth_connect(const zpm_auth_opts_t *flags, zpm_swift_t *c, zvm_error_t *err);

/* ---- summary.c: the execution summary ---------------------------------------- */

/* "Execution summary:", the table, "Total time: <t>" (malloc'd); NULL and
 * a message when the response has no X-Nexe-System. */
char *zpm_summary_format(const zpm_response_t *r, zvm_error_t *err);
/* Whether every node ended "ok" with return code 0; if not, *why (malloc'd)
 * names the first node that did not. */
bool zpm_summary_ok(const zpm_response_t *r, char **why);

/* ---- ui.c: the UI files of deploy ------------------------------------------------ */

/* Whether a member name is matched by one of the zapp's `ui` patterns. */
bool zpm_ui_matches(const zpm_zapp_t *z, const char *name);
/* Render a .tmpl: {{ expr }} (dotted names into ctx, "| tojson" optional)
 * becomes the value, strings raw, others as JSON.  auth_opts.* holds only
 * what is not secret (version, auth URL, storage URL); a credential or an
 * unknown name renders empty, with a warning. */
char *zpm_ui_render(const char *name, const char *text, size_t len, const json_t *ctx);
const char *zpm_ui_content_type(const char *name);

#endif
