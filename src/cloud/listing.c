/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Listings of accounts (containers) and containers (objects), as Swift
 * gives them: ?prefix, ?delimiter (one character: names with it after the
 * prefix fold into a "subdir"), ?marker, ?end_marker, ?limit (at most the
 * configured maximum), and the format: plain text (one name a line; 204
 * when empty), JSON (?format=json or Accept: application/json) or XML.
 * The rows come from the store's scan; the folding is done here, so every
 * backend gets it for free.
 */
#include "cloud/cloud.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int zc_listing_format(zc_req_t *r)
{
    const char *f = zc_req_arg(r, "format");
    if (f) {
        if (!strcasecmp(f, "json"))
            return ZC_FMT_JSON;
        if (!strcasecmp(f, "xml"))
            return ZC_FMT_XML;
        return ZC_FMT_TEXT;
    }
    const char *a = zc_req_header(r, "Accept");
    if (a) {
        if (strcasestr(a, "application/json"))
            return ZC_FMT_JSON;
        if (strcasestr(a, "application/xml") || strcasestr(a, "text/xml"))
            return ZC_FMT_XML;
    }
    return ZC_FMT_TEXT;
}

typedef struct lst {
    zc_format_t fmt;
    bool account;
    zc_buf_t out;
    json_t *arr;
    unsigned count, limit;
    const char *prefix;
    size_t plen;
    char delim;
    const char *orig_marker;
    char *next_marker; /* set when a subdir stopped the scan */
    int err;
} lst_t;

static void xml_escape(zc_buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': zc_buf_puts(b, "&lt;"); break;
        case '>': zc_buf_puts(b, "&gt;"); break;
        case '&': zc_buf_puts(b, "&amp;"); break;
        case '"': zc_buf_puts(b, "&quot;"); break;
        default: zc_buf_add(b, s, 1);
        }
    }
}

static void emit_subdir(lst_t *l, const char *name)
{
    switch (l->fmt) {
    case ZC_FMT_TEXT:
        zc_buf_puts(&l->out, name);
        zc_buf_puts(&l->out, "\n");
        break;
    case ZC_FMT_JSON:
        json_array_append_new(l->arr, json_pack("{s:s}", "subdir", name));
        break;
    case ZC_FMT_XML:
        zc_buf_puts(&l->out, "<subdir name=\"");
        xml_escape(&l->out, name);
        zc_buf_puts(&l->out, "\"><name>");
        xml_escape(&l->out, name);
        zc_buf_puts(&l->out, "</name></subdir>");
        break;
    }
    l->count++;
}

static void emit_row(lst_t *l, const zc_row_t *row)
{
    char date[40];
    zc_iso_date(row->ts, date);
    switch (l->fmt) {
    case ZC_FMT_TEXT:
        zc_buf_puts(&l->out, row->name);
        zc_buf_puts(&l->out, "\n");
        break;
    case ZC_FMT_JSON:
        if (l->account)
            json_array_append_new(l->arr, json_pack("{s:s,s:I,s:I,s:s}", "name", row->name,
                                                    "count", (json_int_t)row->count, "bytes",
                                                    (json_int_t)row->size, "last_modified", date));
        else
            json_array_append_new(l->arr,
                                  json_pack("{s:s,s:s,s:I,s:s,s:s}", "name", row->name, "hash",
                                            row->etag ? row->etag : "", "bytes",
                                            (json_int_t)row->size, "content_type",
                                            row->content_type ? row->content_type : "",
                                            "last_modified", date));
        break;
    case ZC_FMT_XML:
        if (l->account) {
            zc_buf_puts(&l->out, "<container><name>");
            xml_escape(&l->out, row->name);
            zc_buf_printf(&l->out,
                          "</name><count>%" PRIu64 "</count><bytes>%" PRIu64
                          "</bytes><last_modified>%s</last_modified></container>",
                          row->count, row->size, date);
        } else {
            zc_buf_puts(&l->out, "<object><name>");
            xml_escape(&l->out, row->name);
            zc_buf_printf(&l->out, "</name><hash>%s</hash><bytes>%" PRIu64 "</bytes><content_type>",
                          row->etag ? row->etag : "", row->size);
            xml_escape(&l->out, row->content_type ? row->content_type : "");
            zc_buf_printf(&l->out, "</content_type><last_modified>%s</last_modified></object>",
                          date);
        }
        break;
    }
    l->count++;
}

static int on_row(void *arg, const zc_row_t *row)
{
    lst_t *l = arg;
    if (l->count >= l->limit)
        return 1;
    if (l->delim) {
        const char *d = strchr(row->name + l->plen, l->delim);
        if (d) {
            size_t n = (size_t)(d - row->name) + 1;
            char *sub = strndup(row->name, n);
            if (!sub) {
                l->err = -ENOMEM;
                return 1;
            }
            if (!l->orig_marker || strcmp(sub, l->orig_marker))
                emit_subdir(l, sub);
            /* Go on after every name under this subdir. */
            sub[n - 1] = (char)(l->delim + 1);
            free(l->next_marker);
            l->next_marker = sub;
            return 1;
        }
    }
    emit_row(l, row);
    return l->count >= l->limit;
}

static bool valid_arg(const char *s)
{
    return !s || zc_utf8_valid(s, strlen(s));
}

void zc_listing_reply(zc_req_t *r, const char *cont)
{
    zc_server_t *srv = r->srv;
    lst_t l = {.fmt = (zc_format_t)zc_listing_format(r), .account = cont == NULL};
    const char *limit = zc_req_arg(r, "limit");
    l.limit = srv->cfg->max_listing;
    if (limit) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(limit, &end, 10);
        if (errno || *end || !*limit || limit[0] == '-') {
            zc_reply_error(r, 412, "Value of limit must be a positive integer");
            return;
        }
        if (v > srv->cfg->max_listing) {
            char msg[64];
            snprintf(msg, sizeof msg, "Maximum limit is %u", srv->cfg->max_listing);
            zc_reply_error(r, 412, msg);
            return;
        }
        l.limit = (unsigned)v;
    }
    const char *prefix = zc_req_arg(r, "prefix"), *delim = zc_req_arg(r, "delimiter");
    const char *marker = zc_req_arg(r, "marker"), *end_marker = zc_req_arg(r, "end_marker");
    if (!valid_arg(prefix) || !valid_arg(delim) || !valid_arg(marker) || !valid_arg(end_marker)) {
        zc_reply_error(r, 412, "Invalid UTF8 or contains NULL");
        return;
    }
    if (delim && *delim) {
        if (strlen(delim) != 1 || (unsigned char)delim[0] >= 0x7f) {
            zc_reply_error(r, 412, "Bad delimiter");
            return;
        }
        l.delim = delim[0];
    }
    l.prefix = prefix && *prefix ? prefix : NULL;
    l.plen = l.prefix ? strlen(l.prefix) : 0;
    l.orig_marker = marker && *marker ? marker : NULL;
    if (l.fmt == ZC_FMT_JSON)
        l.arr = json_array();

    char *cur = l.orig_marker ? strdup(l.orig_marker) : NULL;
    bool incl = false;
    int rc = 0;
    while (l.count < l.limit && l.limit > 0) {
        zc_scan_t q = {.after = cur, .inclusive = incl,
                       .before = end_marker && *end_marker ? end_marker : NULL,
                       .prefix = l.prefix, .limit = l.limit - l.count};
        free(l.next_marker);
        l.next_marker = NULL;
        if (cont)
            rc = srv->store->ops->container_scan(srv->store, r->account, cont, &q, on_row, &l);
        else
            rc = srv->store->ops->account_scan(srv->store, r->account, &q, on_row, &l);
        if (rc < 0 || l.err || !l.next_marker)
            break;
        free(cur);
        cur = l.next_marker;
        l.next_marker = NULL;
        incl = true;
    }
    free(cur);
    free(l.next_marker);
    if (rc == 0 && l.err)
        rc = l.err;
    if (rc < 0) {
        json_decref(l.arr);
        zc_buf_release(&l.out);
        zc_reply_store_error(r, rc);
        return;
    }
    switch (l.fmt) {
    case ZC_FMT_TEXT:
        if (l.count == 0) {
            zc_buf_release(&l.out);
            zc_reply(r, 204, "text/plain; charset=utf-8", NULL, 0);
            return;
        }
        zc_reply(r, 200, "text/plain; charset=utf-8", l.out.p, l.out.len);
        return;
    case ZC_FMT_JSON: {
        char *text = json_dumps(l.arr, JSON_COMPACT);
        json_decref(l.arr);
        if (!text) {
            zc_reply_error(r, 500, NULL);
            return;
        }
        zc_reply(r, 200, "application/json; charset=utf-8", text, strlen(text));
        return;
    }
    case ZC_FMT_XML: {
        zc_buf_t x = {0};
        zc_buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        zc_buf_puts(&x, cont ? "<container name=\"" : "<account name=\"");
        xml_escape(&x, cont ? cont : r->account);
        zc_buf_puts(&x, "\">");
        if (l.out.p)
            zc_buf_add(&x, l.out.p, l.out.len);
        zc_buf_puts(&x, cont ? "</container>" : "</account>");
        zc_buf_release(&l.out);
        zc_reply(r, 200, "application/xml; charset=utf-8", x.p, x.len);
        return;
    }
    }
}
