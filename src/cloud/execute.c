/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running jobs for a compute request, and what comes back.
 *
 * POST /v1/<acct> with X-Zerovm-Execute: 1.0, by Content-Type:
 *   application/json   the body is the job: 413 past max_job, 422 when an
 *                      Etag header differs from its MD5, 422 "Could not
 *                      parse system map" when it is not JSON;
 *   a tar type         (application/x-tar, x-gtar, x-ustar, x-gzip, gzip)
 *                      boot/system.map (or boot/cluster.map) is the job and
 *                      the tar every node's `image`: 400 "System boot map
 *                      was not found in request", 422 for a corrupt
 *                      archive, 413 when it expands past a node's memory
 *                      (read through before anything is unpacked);
 *   anything else      a script "#!<url> [args]": a one-member image
 *                      (a directory holding `script`, mounted at /) run as
 *                      node `script` with args "<args> script", stdout
 *                      returned as text/plain; 400 "Unsupported
 *                      Content-Type" without "#!".
 *   X-Zerovm-Source: swift://a/c/o takes the job, image or script from that
 *   object (read as the caller, ACLs checked; its kind from its content
 *   type, else its first bytes) and the body feeds path-less stdin devices.
 *
 * A job runs through libzvmjob (parse, expand, run), in a slot of the pool,
 * with the request's deadline as its timeout.  The answer:
 *   - X-Nexe-System/Status/Retcode/Etag/Validation/Cdr-Line, one
 *     comma-joined field per node in node order (Cdr-Line: "TOTAL, t1,
 *     acc1,t2, acc2" with the ten accounting numbers);
 *   - the immediate outputs (stdout devices without a path) concatenated in
 *     node order, Content-Type from the first one's device (default
 *     text/html, text/plain for scripts); with content_type message/http
 *     (or message/cgi) the output is a whole HTTP response: status line (or
 *     a Status: header), headers, blank line, body;
 *   - a non-zero exit sets X-Nexe-Retcode only; a node that did not end
 *     "ok" (timeout, killed, limits) makes a 500 (504 for the deadline)
 *     naming it, also in X-Nexe-Error; setup errors keep libzvmjob's
 *     messages: 400 for the job's own mistakes, 404 "Error 404 Not Found
 *     while fetching /a/c/o", 401/403 for a denied object.
 * Chaining: an answer carrying X-Zerovm-Execute with Content-Type
 * application/json is run as the next job (same caller, account and CGI
 * variables), at most chain_depth times and within the same deadline.
 */
#include "cloud/compute.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "zvm/nvram.h"

typedef enum input_kind { IN_JSON, IN_TAR, IN_SCRIPT, IN_UNSUPPORTED } input_kind_t;

int zc_read_small(const char *path, uint64_t max, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return -E2BIG;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)sb.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}

/* "Application/JSON; charset=x" -> "application/json" in out. */
static void base_type(const char *ct, char *out, size_t size)
{
    size_t n = ct ? strcspn(ct, ";") : 0;
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
    out[n] = '\0';
}

static bool is_tar_type(const char *t)
{
    return !strcmp(t, "application/x-tar") || !strcmp(t, "application/x-gtar") ||
           !strcmp(t, "application/x-ustar") || !strcmp(t, "application/x-gzip") ||
           !strcmp(t, "application/gzip");
}

static input_kind_t kind_of_type(const char *ct)
{
    char t[128];
    base_type(ct, t, sizeof t);
    if (!strcmp(t, "application/json"))
        return IN_JSON;
    if (is_tar_type(t))
        return IN_TAR;
    return IN_SCRIPT;
}

/* An object's kind: its content type, else its first bytes. */
static input_kind_t sniff(const char *path, const char *ct)
{
    char t[128];
    base_type(ct, t, sizeof t);
    if (!strcmp(t, "application/json"))
        return IN_JSON;
    if (is_tar_type(t))
        return IN_TAR;
    unsigned char head[263] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? pread(fd, head, sizeof head, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (n >= 2 && head[0] == '#' && head[1] == '!')
        return IN_SCRIPT;
    if (n >= 262 && !memcmp(head + 257, "ustar", 5))
        return IN_TAR;
    if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        return IN_TAR;
    if (n >= 1 && (head[0] == '[' || head[0] == '{'))
        return IN_JSON;
    return IN_UNSUPPORTED;
}

/* ---- the kinds ---- */

static int load_json(zc_exec_t *x, const char *path, zc_job_input_t *in, bool check_etag)
{
    zc_req_t *r = x->r;
    uint64_t max = x->cx->cfg->exec_max_job;
    int rc = zc_read_small(path, max, &in->text, &in->len);
    if (rc == -E2BIG) {
        zc_exec_error(x, 413, "System map too large (limit %llu bytes)", (unsigned long long)max);
        return -1;
    }
    if (rc < 0) {
        zc_exec_error(x, 500, "Cannot read the job");
        return -1;
    }
    const char *want = check_etag ? zc_req_header(r, "Etag") : NULL;
    if (want && x->md5) {
        unsigned char d[16];
        unsigned dl = 0;
        char hex[33];
        EVP_DigestFinal_ex(x->md5, d, &dl);
        for (int i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        size_t wl = strlen(want);
        if (wl >= 2 && want[0] == '"' && want[wl - 1] == '"') {
            want++;
            wl -= 2;
        }
        if (wl != 32 || strncasecmp(want, hex, 32)) {
            zc_exec_error(x, 422, "Etag of the system map does not match the data received");
            return -1;
        }
    }
    json_t *j = json_loadb(in->text, in->len, 0, NULL);
    if (!j) {
        zc_exec_error(x, 422, "Could not parse system map");
        return -1;
    }
    json_decref(j);
    return 0;
}

const char *zc_tar_refusal(const char *msg, const char *path)
{
    size_t n = strlen(path);
    if (msg[0] == '\'' && strncmp(msg + 1, path, n) == 0 && strncmp(msg + 1 + n, "': ", 3) == 0)
        return msg + n + 4;
    return "a member is refused";
}

static int load_tar(zc_exec_t *x, const char *path, zc_job_input_t *in)
{
    zvm_error_t err = {0};
    uint64_t max = x->cx->cfg->exec_memory;
    if (zvm_job_tar_read_map_bounded(path, max, &in->text, &in->len, &err) < 0) {
        if (err.code == ENOENT)
            zc_exec_error(x, 400, "System boot map was not found in request");
        else if (err.code == E2BIG)
            zc_exec_error(x, 413, "The image expands past %llu bytes", (unsigned long long)max);
        else if (err.code == ENOMEM)
            zc_exec_error(x, 500, "out of memory");
        else if (err.code == EPERM)
            zc_exec_error(x, 422, "Could not read the image: %s", zc_tar_refusal(err.msg, path));
        else
            zc_exec_error(x, 422, "Could not read the image: not a valid tar archive");
        return -1;
    }
    if (in->len > x->cx->cfg->exec_max_job) {
        zc_exec_error(x, 413, "System map too large (limit %llu bytes)",
                      (unsigned long long)x->cx->cfg->exec_max_job);
        return -1;
    }
    json_t *j = json_loadb(in->text, in->len, 0, NULL);
    if (!j) {
        zc_exec_error(x, 422, "Could not parse system map");
        return -1;
    }
    json_decref(j);
    if (!(in->image = strdup(path))) {
        zc_exec_error(x, 500, "out of memory");
        return -1;
    }
    return 0;
}

/* Copy src to dst (created 0644). */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    int rc = zvm_copy_fd(in, out);
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* A script: "#!<url> [args]" on its first line. */
static int load_script(zc_exec_t *x, const char *path, bool is_body, zc_job_input_t *in)
{
    char line[4097];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? pread(fd, line, sizeof line - 1, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 2 || line[0] != '#' || line[1] != '!') {
        zc_exec_error(x, 400, "Unsupported Content-Type");
        return -1;
    }
    line[n] = '\0';
    char *nl = strchr(line, '\n');
    if (!nl && n == (ssize_t)sizeof line - 1) {
        zc_exec_error(x, 400, "The script's #! line is too long");
        return -1;
    }
    if (nl)
        *nl = '\0';
    size_t ll = strlen(line);
    while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t'))
        line[--ll] = '\0';
    char *p = line + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    char *url = p;
    p += strcspn(p, " \t");
    if (*p)
        *p++ = '\0';
    if (strncmp(url, "file://", 7) && strncmp(url, "swift://", 8)) {
        zc_exec_error(x, 400, "Unsupported #! interpreter '%s' (file://<image>:<path> or swift://...)",
                      url);
        return -1;
    }
    /* args: the shebang's words, nvram-escaped, then "script". */
    zc_buf_t args = {0};
    for (char *save = NULL, *w = strtok_r(p, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        char *e = zvm_nvram_escape(w);
        if (!e) {
            zc_buf_release(&args);
            zc_exec_error(x, 500, "out of memory");
            return -1;
        }
        zc_buf_puts(&args, e);
        zc_buf_puts(&args, " ");
        free(e);
    }
    zc_buf_puts(&args, "script");
    json_t *devs = json_pack("[{s:s, s:s}]", "name", "stdout", "content_type", "text/plain");
    if (devs && in->stdin_path)
        json_array_append_new(devs, json_pack("{s:s}", "name", "stdin"));
    json_t *job = devs && args.p ? json_pack("[{s:s, s:{s:s, s:s}, s:o}]", "name", "script", "exec",
                                             "path", url, "args", args.p, "devices", devs)
                                 : NULL;
    if (!job)
        json_decref(devs);
    zc_buf_release(&args);
    in->text = job ? json_dumps(job, JSON_COMPACT) : NULL;
    json_decref(job);
    if (!in->text) {
        zc_exec_error(x, 500, "out of memory");
        return -1;
    }
    in->len = strlen(in->text);
    /* The image: a directory holding `script`, readable by the sandbox. */
    char *dir = zc_exec_path(x, "image");
    char *file = NULL;
    if (!dir || mkdir(dir, 0755) < 0 || chmod(dir, 0755) < 0 ||
        asprintf(&file, "%s/script", dir) < 0) {
        free(dir);
        zc_exec_error(x, 500, "Cannot prepare the script");
        return -1;
    }
    int rc = is_body ? (rename(path, file) < 0 ? -errno : 0) : copy_file(path, file);
    if (rc == 0 && chmod(file, 0644) < 0)
        rc = -errno;
    free(file);
    if (rc < 0) {
        free(dir);
        zc_exec_error(x, 500, "Cannot prepare the script");
        return -1;
    }
    in->image = dir;
    in->default_type = "text/plain";
    return 0;
}

void zc_execute_post(zc_exec_t *x)
{
    zc_req_t *r = x->r;
    zc_job_input_t in = {.default_type = "text/html"};
    if (asprintf(&x->path_info, "/%s", r->account) < 0) {
        x->path_info = NULL;
        zc_exec_error(x, 500, "out of memory");
        return;
    }
    const char *source = zc_req_header(r, "X-Zerovm-Source");
    char *src_path = NULL;
    const char *path = x->body_path;
    input_kind_t kind;
    if (source) {
        zvm_job_url_t u;
        if (zvm_job_url_parse(source, &u) < 0 || u.is_file || !u.object) {
            zvm_job_url_release(&u);
            zc_exec_error(x, 400, "Invalid X-Zerovm-Source %s (swift://<account>/<container>/<object>)",
                          source);
            return;
        }
        const char *acct = !strcmp(u.account, "~") || !strcmp(u.account, ".") ? r->account : u.account;
        if (!x->jstore && !(x->jstore = zc_job_storage_new(x))) {
            zvm_job_url_release(&u);
            zc_exec_error(x, 500, "out of memory");
            return;
        }
        zvm_object_info_t info = {0};
        zvm_error_t err = {0};
        int rc = x->jstore->open_read(x->jstore, acct, u.container, u.object, &src_path, &info, &err);
        zvm_job_url_release(&u);
        zvm_object_info_release(&info);
        if (rc < 0) {
            zc_exec_error(x, zc_job_status(x, err.code), "%s", err.msg);
            return;
        }
        if (!(x->script_filename = strdup(source))) {
            free(src_path);
            zc_exec_error(x, 500, "out of memory");
            return;
        }
        kind = sniff(src_path, info.content_type);
        path = src_path;
        in.stdin_path = x->body_path;
    } else {
        kind = kind_of_type(zc_req_header(r, "Content-Type"));
    }
    int rc;
    switch (kind) {
    case IN_JSON: rc = load_json(x, path, &in, !source); break;
    case IN_TAR: rc = load_tar(x, path, &in); break;
    case IN_SCRIPT: rc = load_script(x, path, !source, &in); break;
    default:
        zc_exec_error(x, 400, "Unsupported Content-Type");
        rc = -1;
        break;
    }
    free(src_path);
    if (rc == 0)
        zc_execute_run(x, &in);
    zc_job_input_release(&in);
}

/* ---- the answer ---- */

static void clear_headers(zc_req_t *r)
{
    for (size_t i = 0; i < r->nhdrs; i++) {
        free(r->hdrs[i].k);
        free(r->hdrs[i].v);
    }
    r->nhdrs = 0;
}

/* A header field from a node: no ',' (the separator), no control bytes. */
static void field(zc_buf_t *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        char c = *p;
        if (c == ',')
            c = ';';
        else if ((unsigned char)c < 0x20 || c == 0x7f)
            c = ' ';
        zc_buf_add(b, &c, 1);
    }
}

/* Add header k: the scrubbed msg (no host path). */
static void scrubbed_header(zc_exec_t *x, const char *k, const char *msg)
{
    char *clean = zc_exec_scrub(x, msg ? msg : "");
    zc_req_add_header(x->r, k, "%s", clean ? clean : "");
    free(clean);
}

static void nexe_headers(zc_exec_t *x, const zvm_job_nodes_t *nodes, const zvm_job_result_t *res)
{
    zc_req_t *r = x->r;
    zc_buf_t sys = {0}, status = {0}, rc = {0}, etag = {0}, val = {0}, cdr = {0};
    zc_buf_printf(&cdr, "%.3f", res->total_time);
    for (size_t i = 0; i < res->count; i++) {
        const zvm_job_node_result_t *n = &res->nodes[i];
        const char *sep = i ? "," : "";
        zc_buf_puts(&sys, sep);
        field(&sys, nodes->nodes[i].name);
        zc_buf_puts(&status, sep);
        field(&status, n->exit_state);
        zc_buf_puts(&rc, sep);
        if (n->ran)
            zc_buf_printf(&rc, "%" PRIu32, n->user_rc);
        else
            zc_buf_puts(&rc, "-");
        zc_buf_puts(&etag, sep);
        field(&etag, n->ran && n->etags ? n->etags : "disabled");
        zc_buf_printf(&val, "%s%d", sep, n->ran ? n->validator : 2);
        const uint64_t *a = n->acct;
        zc_buf_printf(&cdr, "%s%.3f, %.2f %.2f %llu %llu %llu %llu %llu %llu %llu %llu",
                      i ? "," : ", ", n->wall_time, n->sys_time, n->user_time,
                      (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
                      (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5],
                      (unsigned long long)a[6], (unsigned long long)a[7]);
    }
    zc_req_add_header(r, "X-Nexe-System", "%s", sys.p ? sys.p : "");
    scrubbed_header(x, "X-Nexe-Status", status.p);
    zc_req_add_header(r, "X-Nexe-Retcode", "%s", rc.p ? rc.p : "");
    zc_req_add_header(r, "X-Nexe-Etag", "%s", etag.p ? etag.p : "");
    zc_req_add_header(r, "X-Nexe-Validation", "%s", val.p ? val.p : "");
    zc_req_add_header(r, "X-Nexe-Cdr-Line", "%s", cdr.p ? cdr.p : "");
    zc_buf_release(&sys);
    zc_buf_release(&status);
    zc_buf_release(&rc);
    zc_buf_release(&etag);
    zc_buf_release(&val);
    zc_buf_release(&cdr);
}

/* The stdout device (without a path) of a node, for its content_type. */
static const char *stdout_type(const zvm_job_node_t *n)
{
    for (size_t i = 0; i < n->ndevices; i++)
        if (n->devices[i].kind == ZVM_DEV_STDOUT && !n->devices[i].container)
            return n->devices[i].content_type;
    return NULL;
}

/* The immediate outputs as one descriptor: a node's own file, or their
 * concatenation.  -1 on error. */
static int immediate_fd(zc_exec_t *x, const zvm_job_result_t *res, uint64_t *size)
{
    size_t count = 0, last = 0;
    for (size_t i = 0; i < res->count; i++)
        if (res->nodes[i].stdout_path) {
            count++;
            last = i;
        }
    int fd = -1;
    if (count == 0) {
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    } else if (count == 1) {
        fd = open(res->nodes[last].stdout_path, O_RDONLY | O_CLOEXEC);
    } else {
        char *path = zc_exec_path(x, "response");
        fd = path ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
        for (size_t i = 0; fd >= 0 && i < res->count; i++) {
            if (!res->nodes[i].stdout_path)
                continue;
            int in = open(res->nodes[i].stdout_path, O_RDONLY | O_CLOEXEC);
            char buf[65536];
            ssize_t n;
            while (in >= 0 && (n = read(in, buf, sizeof buf)) != 0) {
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0 || write(fd, buf, (size_t)n) != n) {
                    close(fd);
                    fd = -1;
                    break;
                }
            }
            if (in >= 0)
                close(in);
        }
        free(path);
    }
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) < 0) {
        close(fd);
        fd = -1;
    }
    *size = fd >= 0 ? (uint64_t)sb.st_size : 0;
    return fd;
}

static bool token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c);
}

/* message/http (or message/cgi): read the head, add its headers to r.
 * Returns 0 with *status, *ctype (malloc'd or NULL), *off (where the body
 * starts) and *chain; -1 when there is no valid head. */
static int parse_head(zc_req_t *r, int fd, uint64_t size, int *status, char **ctype, uint64_t *off,
                      bool *chain)
{
    char buf[65537];
    size_t want = size < sizeof buf - 1 ? (size_t)size : sizeof buf - 1;
    ssize_t n = pread(fd, buf, want, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *end = NULL;
    size_t skip = 0;
    char *a = strstr(buf, "\r\n\r\n"), *b = strstr(buf, "\n\n");
    if (a && (!b || a < b)) {
        end = a;
        skip = 4;
    } else if (b) {
        end = b;
        skip = 2;
    }
    if (!end || memchr(buf, '\0', (size_t)(end - buf)))
        return -1;
    *end = '\0';
    *off = (uint64_t)(end - buf) + skip;
    *status = 200;
    *ctype = NULL;
    *chain = false;
    bool first = true;
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), first = false) {
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (first && !strncmp(line, "HTTP/", 5)) {
            char *sp = strchr(line, ' ');
            int st = sp ? atoi(sp + 1) : 0;
            if (st < 200 || st > 599)
                return -1;
            *status = st;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            continue;
        *colon = '\0';
        bool ok = true;
        for (char *p = line; *p; p++)
            ok &= token_char(*p);
        if (!ok)
            continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcasecmp(line, "Status")) {
            int st = atoi(v);
            if (st >= 200 && st <= 599)
                *status = st;
        } else if (!strcasecmp(line, "Content-Type")) {
            free(*ctype);
            *ctype = strdup(v);
        } else if (!strcasecmp(line, "X-Zerovm-Execute")) {
            *chain = true;
        } else if (!strcasecmp(line, "Content-Length") || !strcasecmp(line, "Transfer-Encoding") ||
                   !strcasecmp(line, "Connection") || !strcasecmp(line, "Keep-Alive") ||
                   !strcasecmp(line, "Date") || !strcasecmp(line, "Server") ||
                   !strcasecmp(line, "Upgrade") || !strncasecmp(line, "X-Nexe-", 7) ||
                   !strcasecmp(line, "X-Trans-Id") || !strcasecmp(line, "X-Openstack-Request-Id")) {
            continue;
        } else {
            zc_req_add_header(r, line, "%s", v);
        }
    }
    return 0;
}

/* The first node that did not end "ok" (one that ran first), or -1. */
static int failed_node(const zvm_job_result_t *res)
{
    int not_run = -1;
    for (size_t i = 0; i < res->count; i++) {
        const zvm_job_node_result_t *n = &res->nodes[i];
        if (n->ran && strcmp(n->exit_state, "ok"))
            return (int)i;
        if (!n->ran && not_run < 0)
            not_run = (int)i;
    }
    return not_run;
}

typedef enum step { STEP_DONE, STEP_CHAIN } step_t;

/* Run one job of the chain; answers (STEP_DONE) or leaves the next job's
 * text in *next (STEP_CHAIN). */
static step_t run_one(zc_exec_t *x, const zc_job_input_t *in, const zvm_job_env_t *env,
                      size_t nenv, unsigned depth, char **next, size_t *next_len)
{
    zc_req_t *r = x->r;
    zc_cx_t *cx = x->cx;
    zvm_job_t job = {0};
    zvm_job_nodes_t nodes = {0};
    zvm_job_result_t res = {0};
    zvm_error_t err = {0};
    step_t step = STEP_DONE;
    char *work = NULL;
    int fd = -1;

    if (zvm_job_parse(&job, in->text, in->len, &err) < 0) {
        zc_exec_error(x, err.code == ENOMEM ? 500 : 400, "%s", err.msg);
        goto out;
    }
    /* Refuse a job whose counts alone pass the node limit before expanding
     * it: expansion (names, streams) grows with the square of the nodes. */
    uint64_t counted = 0;
    for (size_t g = 0; g < job.ngroups; g++)
        counted += job.groups[g].count;
    if (counted > cx->cfg->exec_max_nodes) {
        zc_exec_error(x, 413, "Too many nodes: %llu (limit %u)", (unsigned long long)counted,
                      cx->cfg->exec_max_nodes);
        goto out;
    }
    zvm_job_context_t ctx = {.account = r->account, .sysimages = &cx->sysimages,
                             .storage = x->jstore};
    if (zvm_job_expand(&job, &ctx, &nodes, &err) < 0) {
        int st = err.code == EACCES || err.code == ETIMEDOUT ? zc_job_status(x, err.code)
                 : err.code == ENOMEM                        ? 500
                                                             : 400;
        zc_exec_error(x, st, "%s", err.msg);
        goto out;
    }
    if (nodes.count > cx->cfg->exec_max_nodes) {
        zc_exec_error(x, 413, "Too many nodes: %zu (limit %u)", nodes.count,
                      cx->cfg->exec_max_nodes);
        goto out;
    }
    double left = x->deadline - zc_mono_now();
    if (left < 1) {
        zc_exec_error(x, 504, "Job timed out");
        goto out;
    }
    if (!(work = zc_exec_path(x, "work"))) {
        zc_exec_error(x, 500, "out of memory");
        goto out;
    }
    zvm_job_options_t opt = {
        .zerovm = cx->zerovm,
        .work_dir = work,
        .image_tar = in->image,
        .timeout = (unsigned)left,
        .memory = cx->cfg->exec_memory,
        .env = env,
        .nenv = nenv,
        .stdin_path = in->stdin_path,
        .max_output = cx->cfg->exec_max_output,
        .deadline = x->deadline,
    };
    int rc = zvm_job_run(&nodes, x->jstore, &cx->sysimages, &opt, &res, &err);
    bool any_ran = false;
    for (size_t i = 0; i < res.count; i++)
        any_ran |= res.nodes[i].ran;
    if (rc < 0 && !any_ran && err.code != ETIMEDOUT) {
        zc_exec_error(x, zc_job_status(x, err.code), "%s", err.msg);
        goto out;
    }
    clear_headers(r);
    nexe_headers(x, &nodes, &res);
    int bad = failed_node(&res);
    if ((rc < 0 && err.code == ETIMEDOUT) || (bad >= 0 && !strcmp(res.nodes[bad].exit_state, "timeout"))) {
        zc_req_add_header(r, "X-Nexe-Error", "Job timed out");
        zc_exec_error(x, 504, "Job timed out");
        goto out;
    }
    if (bad >= 0) {
        const zvm_job_node_result_t *n = &res.nodes[bad];
        zc_buf_t why = {0};
        field(&why, n->exit_state);
        char *line = NULL;
        if (asprintf(&line, "%s: %s", nodes.nodes[bad].name, why.p ? why.p : "") < 0)
            line = NULL;
        scrubbed_header(x, "X-Nexe-Error", line);
        free(line);
        zc_exec_error(x, 500, "Node %s: %s", nodes.nodes[bad].name, why.p ? why.p : "");
        zc_buf_release(&why);
        goto out;
    }
    if (rc < 0) {
        scrubbed_header(x, "X-Nexe-Error", err.msg);
        zc_exec_error(x, zc_job_status(x, err.code), "%s", err.msg);
        goto out;
    }
    uint64_t size = 0;
    if ((fd = immediate_fd(x, &res, &size)) < 0) {
        zc_exec_error(x, 500, "Cannot read the job's output");
        goto out;
    }
    const char *ctype = NULL;
    for (size_t i = 0; i < res.count && !ctype; i++)
        if (res.nodes[i].stdout_path)
            ctype = stdout_type(&nodes.nodes[i]) ? stdout_type(&nodes.nodes[i]) : "";
    char base[128];
    base_type(ctype, base, sizeof base);
    if (!strcmp(base, "message/http") || !strcmp(base, "message/cgi")) {
        int status;
        char *ct = NULL;
        uint64_t off;
        bool chain;
        if (parse_head(r, fd, size, &status, &ct, &off, &chain) < 0) {
            zc_exec_error(x, 500, "The job's output is not an HTTP response (content_type %s)", base);
            goto out;
        }
        char cbase[128];
        base_type(ct, cbase, sizeof cbase);
        if (chain && !strcmp(cbase, "application/json")) {
            free(ct);
            if (depth >= cx->cfg->exec_chain_depth) {
                clear_headers(r);
                zc_exec_error(x, 500, "Too many chained jobs (limit %u)", cx->cfg->exec_chain_depth);
                goto out;
            }
            if (size - off > cx->cfg->exec_max_job) {
                clear_headers(r);
                zc_exec_error(x, 413, "Chained system map too large (limit %llu bytes)",
                              (unsigned long long)cx->cfg->exec_max_job);
                goto out;
            }
            char *text = malloc((size_t)(size - off) + 1);
            ssize_t got = text ? pread(fd, text, (size_t)(size - off), (off_t)off) : -1;
            if (got < 0 || (uint64_t)got != size - off) {
                free(text);
                zc_exec_error(x, 500, "Cannot read the chained job");
                goto out;
            }
            text[got] = '\0';
            clear_headers(r);
            *next = text;
            *next_len = (size_t)got;
            step = STEP_CHAIN;
            goto out;
        }
        zc_reply_fd(r, status, ct ? ct : "text/html", fd, off, size - off);
        fd = -1;
        free(ct);
        goto out;
    }
    zc_reply_fd(r, 200, ctype && *ctype ? ctype : in->default_type, fd, 0, size);
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    free(work);
    zvm_job_result_release(&res);
    zvm_job_nodes_release(&nodes);
    zvm_job_release(&job);
    return step;
}

void zc_execute_run(zc_exec_t *x, zc_job_input_t *in)
{
    zc_req_t *r = x->r;
    if (!x->jstore && !(x->jstore = zc_job_storage_new(x))) {
        zc_exec_error(x, 500, "out of memory");
        return;
    }
    zvm_job_env_t *env = NULL;
    size_t nenv = 0;
    if (zc_cgi_env(x, &env, &nenv) < 0) {
        zc_exec_error(x, 500, "out of memory");
        return;
    }
    if (!zc_pool_acquire(x->cx, x->deadline)) {
        zc_cgi_release(env, nenv);
        zc_req_add_header(r, "Retry-After", "1");
        zc_exec_error(x, 503, "Too many executions at once; retry later");
        return;
    }
    zc_job_input_t cur = *in;
    zc_job_input_t chained = {0};
    for (unsigned depth = 0;; depth++) {
        char *next = NULL;
        size_t len = 0;
        if (run_one(x, &cur, env, nenv, depth, &next, &len) != STEP_CHAIN)
            break;
        /* The next job: its own devices name its image; no stdin. */
        zc_job_input_release(&chained);
        chained = (zc_job_input_t){.text = next, .len = len, .default_type = "text/html"};
        cur = chained;
    }
    zc_job_input_release(&chained);
    zc_pool_release(x->cx);
    zc_cgi_release(env, nenv);
}
