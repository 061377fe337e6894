/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what zerocloud makes of a request's names and
 * headers before any handler runs: the percent-decoding of path segments
 * and query arguments (src/cloud/http.c), the name rules (src/cloud/
 * store.c: length, UTF-8, '/'), metadata headers (zc_meta_from_request,
 * through a fake libmicrohttpd connection: fake_mhd.c) and their way back
 * into a reply, ACL headers (src/cloud/acl.c) and timestamps.  The first
 * byte picks the check, the rest is the input (headers: "name: value"
 * lines).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/cloud.h"
#include "fake_mhd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void names(const char *s, size_t n, unsigned sel)
{
    char *d = zc_url_decode(s, n, sel & 1);
    if (!d)
        return;
    size_t dl = strlen(d);
    if (dl > n)
        abort(); /* decoding never grows */
    size_t max = sel & 2 ? ZC_MAX_OBJECT_NAME : ZC_MAX_CONTAINER_NAME;
    bool slash = sel & 2;
    if (zc_name_check(d, max, slash) == 0) {
        if (dl == 0 || dl > max || !zc_utf8_valid(d, dl) || (!slash && strchr(d, '/')))
            abort();
    }
    zc_header_title(d);
    free(d);
}

/* "name: value" lines into the fake connection's headers. */
static void add_headers(struct MHD_Connection *c, char *text)
{
    for (char *line = text, *nl; line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        fake_conn_add(c, MHD_HEADER_KIND, line, v);
    }
}

static void meta(char *text, unsigned sel)
{
    static const char *const prefixes[] = {"x-object-meta-", "x-container-meta-",
                                           "x-account-meta-", "x-remove-container-meta-"};
    const char *prefix = prefixes[sel % 4];
    struct MHD_Connection conn = {0};
    zc_req_t r = {.conn = &conn, .method = "POST"};
    add_headers(&conn, text);
    json_t *m = json_object();
    if (!m)
        abort();
    int st = zc_meta_from_request(&r, prefix, m);
    size_t pl = strlen(prefix), total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        if (strncmp(k, prefix, pl) != 0)
            abort();
        for (const char *p = k; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                abort();
        total += strlen(k) - pl + strlen(json_string_value(v));
    }
    if (st == 0 && (json_object_size(m) > ZC_MAX_META_COUNT || total > ZC_MAX_META_OVERALL))
        abort();
    if (st == 0) {
        zc_meta_to_reply(&r, m, NULL);
        zc_reply(&r, 204, NULL, NULL, 0);
    } else {
        zc_reply_error(&r, st, NULL);
    }
    if (!r.replied || conn.status == 0)
        abort();
    for (size_t i = 0; i < r.nhdrs; i++) {
        free(r.hdrs[i].k);
        free(r.hdrs[i].v);
    }
    json_decref(m);
    fake_conn_reset(&conn);
}

static void acl(char *text)
{
    /* acl \n account \n user \n referer */
    char *fields[4] = {text, NULL, NULL, NULL};
    for (int i = 1; i < 4 && fields[i - 1]; i++) {
        char *nl = strchr(fields[i - 1], '\n');
        if (nl) {
            *nl = '\0';
            fields[i] = nl + 1;
        }
    }
    zc_acl_validate(fields[0]);
    zc_ident_t id = {.valid = fields[1] != NULL};
    if (fields[1]) {
        strncpy(id.account, fields[1], sizeof id.account - 1);
        if (fields[2])
            strncpy(id.user, fields[2], sizeof id.user - 1);
    }
    for (int a = ZC_ACCESS_OWNER; a <= ZC_ACCESS_WRITE; a++) {
        int st = zc_acl_authorize(&id, "AUTH_owner", (zc_access_t)a, fields[0], fields[0],
                                  fields[3]);
        if (st != 0 && st != 401 && st != 403)
            abort();
    }
}

static void timestamp(const char *s)
{
    zc_ts_t ts, back;
    if (zc_ts_parse(s, &ts) < 0)
        return;
    char out[32], date[40];
    zc_ts_format(ts, out);
    if (zc_ts_parse(out, &back) < 0 || back != ts)
        abort();
    zc_iso_date(ts, date);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned sel = data[0];
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (sel % 4 == 0) {
        names(rest, n, sel >> 2);
        return 0;
    }
    char *text = strndup(rest, n);
    if (!text)
        abort();
    switch (sel % 4) {
    case 1: meta(text, sel >> 2); break;
    case 2: acl(text); break;
    default: timestamp(text); break;
    }
    free(text);
    return 0;
}
