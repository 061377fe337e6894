/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Swift's account requests: HEAD (counts and metadata), GET (the listing of
 * containers, listing.c), POST (X-Account-Meta-*, X-Remove-Account-Meta-*).
 * Only the account's owner may touch an account; accounts exist as soon as
 * a user of them exists (Swift's account_autocreate).
 */
#include "cloud/cloud.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* X-Remove-<Kind>-Meta-Foo becomes x-<kind>-meta-foo with an empty value. */
static int removals(zc_req_t *r, const char *kind, json_t *meta)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "x-remove-%s-", kind);
    json_t *rm = json_object();
    int st = zc_meta_from_request(r, prefix, rm);
    const char *k;
    json_t *v;
    size_t pl = strlen("x-remove-");
    json_object_foreach(rm, k, v)
    {
        char key[300];
        snprintf(key, sizeof key, "x-%s", k + pl);
        json_object_set_new(meta, key, json_string(""));
    }
    json_decref(rm);
    return st;
}

int zc_meta_with_removals(zc_req_t *r, const char *kind, json_t *meta)
{
    char prefix[48];
    snprintf(prefix, sizeof prefix, "x-%s-meta-", kind);
    int st = zc_meta_from_request(r, prefix, meta);
    if (!st) {
        snprintf(prefix, sizeof prefix, "%s-meta", kind);
        st = removals(r, prefix, meta);
    }
    return st;
}

static void account_finish(zc_req_t *r)
{
    zc_store_t *st = r->srv->store;
    int a = zc_acl_authorize(&r->ident, r->account, ZC_ACCESS_OWNER, NULL, NULL, NULL);
    if (a) {
        zc_reply_error(r, a, NULL);
        return;
    }
    if (zc_req_is(r, "POST")) {
        json_t *meta = json_object();
        int ms = zc_meta_with_removals(r, "account", meta);
        if (ms) {
            json_decref(meta);
            zc_reply_error(r, ms, "Metadata too large");
            return;
        }
        int rc = st->ops->account_post(st, r->account, meta);
        json_decref(meta);
        if (rc < 0)
            zc_reply_store_error(r, rc);
        else
            zc_reply(r, 204, "text/html; charset=UTF-8", NULL, 0);
        return;
    }
    if (!zc_req_is(r, "GET") && !zc_req_is(r, "HEAD")) {
        zc_req_add_header(r, "Allow", "GET, HEAD, POST");
        zc_reply_error(r, 405, NULL);
        return;
    }
    zc_account_info_t ai;
    int rc = st->ops->account_stat(st, r->account, &ai);
    if (rc < 0) {
        zc_reply_store_error(r, rc);
        return;
    }
    char ts[32];
    zc_ts_format(ai.created, ts);
    zc_req_add_header(r, "X-Account-Container-Count", "%" PRIu64, ai.containers);
    zc_req_add_header(r, "X-Account-Object-Count", "%" PRIu64, ai.objects);
    zc_req_add_header(r, "X-Account-Bytes-Used", "%" PRIu64, ai.bytes);
    zc_req_add_header(r, "X-Account-Storage-Policy-Policy-0-Container-Count", "%" PRIu64,
                      ai.containers);
    zc_req_add_header(r, "X-Account-Storage-Policy-Policy-0-Object-Count", "%" PRIu64, ai.objects);
    zc_req_add_header(r, "X-Account-Storage-Policy-Policy-0-Bytes-Used", "%" PRIu64, ai.bytes);
    zc_req_add_header(r, "X-Timestamp", "%s", ts);
    zc_req_add_header(r, "X-Put-Timestamp", "%s", ts);
    zc_req_add_header(r, "Accept-Ranges", "bytes");
    zc_meta_to_reply(r, ai.meta, NULL);
    json_decref(ai.meta);
    if (zc_req_is(r, "HEAD")) {
        int f = zc_listing_format(r);
        zc_reply(r, 204,
                 f == ZC_FMT_JSON  ? "application/json; charset=utf-8"
                 : f == ZC_FMT_XML ? "application/xml; charset=utf-8"
                                   : "text/plain; charset=utf-8",
                 NULL, 0);
        return;
    }
    zc_listing_reply(r, NULL);
}

void zc_account_begin(zc_req_t *r)
{
    r->on_body = zc_body_buffer;
    r->on_finish = account_finish;
}
