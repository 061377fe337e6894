/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: listings (src/cloud/listing.c): the query parameters
 * prefix, delimiter, marker, end_marker, limit and format, the Accept
 * header, and the folding into "subdir" rows, over a fake store whose
 * names come from the input too.  Input lines: the query string
 * ("k=v&k=v", percent-encoded as sent), the Accept header, then object
 * names (kept when zerocloud would accept them, sorted, unique).  The
 * listing must end (each new scan starts past the last), hold at most
 * `limit` rows, every row inside the prefix and the markers, and answer
 * 200, 204 or 412.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/cloud.h"
#include "fake_mhd.h"

#define MAX_NAMES 256
#define MAX_LISTING 50

typedef struct fake_store {
    zc_store_t base;
    char *names[MAX_NAMES];
    size_t n;
    unsigned scans;
} fake_store_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int scan(fake_store_t *fs, const zc_scan_t *q, zc_row_cb cb, void *arg)
{
    if (++fs->scans > MAX_NAMES + 2)
        abort(); /* a scan per name at most, or the loop does not end */
    unsigned sent = 0;
    size_t pl = q->prefix ? strlen(q->prefix) : 0;
    for (size_t i = 0; i < fs->n && sent < q->limit; i++) {
        const char *name = fs->names[i];
        if (q->after && (q->inclusive ? strcmp(name, q->after) < 0 : strcmp(name, q->after) <= 0))
            continue;
        if (q->before && strcmp(name, q->before) >= 0)
            break;
        if (q->prefix && strncmp(name, q->prefix, pl) != 0)
            continue;
        zc_row_t row = {.name = name, .ts = 170000000000000ull + i, .size = i, .count = i,
                        .content_type = "text/plain", .etag = "d41d8cd98f00b204e9800998ecf8427e"};
        sent++;
        if (cb(arg, &row))
            break;
    }
    return 0;
}

static int account_scan(zc_store_t *st, const char *acct, const zc_scan_t *q, zc_row_cb cb,
                        void *arg)
{
    (void)acct;
    return scan((fake_store_t *)st, q, cb, arg);
}

static int container_scan(zc_store_t *st, const char *acct, const char *cont, const zc_scan_t *q,
                          zc_row_cb cb, void *arg)
{
    (void)acct, (void)cont;
    return scan((fake_store_t *)st, q, cb, arg);
}

static const zc_store_ops_t fake_ops = {
    .name = "fake",
    .account_scan = account_scan,
    .container_scan = container_scan,
};

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The query string into r->args, as server.c's arg_iter does. */
static bool parse_query(zc_req_t *r, char *q)
{
    for (char *kv = q, *amp; kv && *kv; kv = amp) {
        amp = strchr(kv, '&');
        if (amp)
            *amp++ = '\0';
        if (r->nargs >= ZC_MAX_ARGS)
            break;
        char *eq = strchr(kv, '=');
        size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
        char *k = zc_url_decode(kv, kl, true);
        char *v = zc_url_decode(eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0, true);
        if (!k || !v) {
            free(k);
            free(v);
            return false;
        }
        r->args[r->nargs].k = k;
        r->args[r->nargs].v = v;
        r->nargs++;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool account = data[0] & 1;
    char *text = strndup((const char *)data + 1, size - 1);
    if (!text)
        abort();
    char *lines[2] = {text, NULL};
    char *rest = NULL;
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        lines[1] = nl + 1;
        if ((nl = strchr(lines[1], '\n'))) {
            *nl = '\0';
            rest = nl + 1;
        }
    }

    fake_store_t fs = {.base = {.ops = &fake_ops}};
    for (char *name = rest, *next; name && fs.n < MAX_NAMES; name = next) {
        next = strchr(name, '\n');
        if (next)
            *next++ = '\0';
        if (zc_name_check(name, ZC_MAX_OBJECT_NAME, true) == 0 &&
            (!account || zc_name_check(name, ZC_MAX_CONTAINER_NAME, false) == 0))
            fs.names[fs.n++] = name;
    }
    qsort(fs.names, fs.n, sizeof *fs.names, by_name);
    size_t u = 0;
    for (size_t i = 0; i < fs.n; i++)
        if (u == 0 || strcmp(fs.names[u - 1], fs.names[i]) != 0)
            fs.names[u++] = fs.names[i];
    fs.n = u;

    zc_config_t cfg = {.max_listing = MAX_LISTING};
    zc_server_t srv = {.cfg = &cfg, .store = &fs.base};
    struct MHD_Connection conn = {0};
    zc_req_t r = {.srv = &srv, .conn = &conn, .method = "GET", .account = "AUTH_fuzz"};
    if (lines[1] && *lines[1])
        fake_conn_add(&conn, MHD_HEADER_KIND, "Accept", lines[1]);
    if (parse_query(&r, lines[0])) {
        zc_listing_reply(&r, account ? NULL : "cont");
        if (conn.status != 200 && conn.status != 204 && conn.status != 412)
            abort();
        if (conn.status == 200 && zc_listing_format(&r) == ZC_FMT_TEXT) {
            /* One name a line: at most the limit, each inside the prefix. */
            const char *limit = zc_req_arg(&r, "limit"), *prefix = zc_req_arg(&r, "prefix");
            unsigned max = limit ? (unsigned)strtoul(limit, NULL, 10) : MAX_LISTING;
            unsigned rows = 0;
            for (const char *p = conn.body; *p; p = strchr(p, '\n') + 1) {
                if (prefix && strncmp(p, prefix, strlen(prefix)) != 0)
                    abort();
                rows++;
            }
            if (rows > max)
                abort();
        }
    }
    for (size_t i = 0; i < r.nargs; i++) {
        free(r.args[i].k);
        free(r.args[i].v);
    }
    for (size_t i = 0; i < r.nhdrs; i++) {
        free(r.hdrs[i].k);
        free(r.hdrs[i].v);
    }
    fake_conn_reset(&conn);
    free(text);
    return 0;
}
