/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Swift's container requests: PUT (create, 201; or update metadata, 202),
 * HEAD (counts, metadata, ACLs to the owner), GET (the listing of objects,
 * listing.c), POST (X-Container-Meta-*, X-Container-Read/Write), DELETE
 * (only when empty: 409 otherwise).  Creating, changing and deleting are the
 * owner's; reading follows X-Container-Read (.rlistings for anonymous).
 */
#include "cloud/cloud.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Metadata and ACL headers of a PUT or POST; 0 or the status. */
static int container_meta(zc_req_t *r, json_t *meta)
{
    int st = zc_meta_with_removals(r, "container", meta);
    if (st)
        return st;
    static const char *acl[] = {"X-Container-Read", "X-Container-Write"};
    for (int i = 0; i < 2; i++) {
        const char *v = zc_req_header(r, acl[i]);
        char rm[64];
        snprintf(rm, sizeof rm, "X-Remove-%s", acl[i] + 2);
        const char *k = i ? "x-container-write" : "x-container-read";
        if (v) {
            if (zc_acl_validate(v) < 0 || strlen(v) > 4096)
                return 400;
            json_object_set_new(meta, k, json_string(v));
        } else if (zc_req_header(r, rm))
            json_object_set_new(meta, k, json_string(""));
    }
    return 0;
}

static void container_finish(zc_req_t *r)
{
    zc_store_t *st = r->srv->store;
    bool owner = zc_acl_is_owner(&r->ident, r->account);
    if (zc_req_is(r, "GET") || zc_req_is(r, "HEAD")) {
        zc_container_info_t ci = {0};
        int rc = st->ops->container_stat(st, r->account, r->container, &ci);
        if (!owner) {
            const char *rd = rc == 0 ? json_string_value(json_object_get(ci.meta, "x-container-read"))
                                     : NULL;
            int a = zc_acl_authorize(&r->ident, r->account, ZC_ACCESS_LIST, rd, NULL,
                                     zc_req_header(r, "Referer"));
            if (a) {
                json_decref(ci.meta);
                zc_reply_error(r, a, NULL);
                return;
            }
        }
        if (rc < 0) {
            zc_reply_store_error(r, rc);
            return;
        }
        char ts[32], pts[32], date[40];
        zc_ts_format(ci.created, ts);
        zc_ts_format(ci.put_ts, pts);
        zc_http_date((time_t)((ci.put_ts + 99999) / 100000), date);
        zc_req_add_header(r, "X-Container-Object-Count", "%" PRIu64, ci.objects);
        zc_req_add_header(r, "X-Container-Bytes-Used", "%" PRIu64, ci.bytes);
        zc_req_add_header(r, "X-Timestamp", "%s", ts);
        zc_req_add_header(r, "X-Put-Timestamp", "%s", pts);
        zc_req_add_header(r, "Last-Modified", "%s", date);
        zc_req_add_header(r, "X-Storage-Policy", "Policy-0");
        zc_req_add_header(r, "Accept-Ranges", "bytes");
        zc_meta_to_reply(r, ci.meta, owner ? NULL : "x-container-meta-");
        json_decref(ci.meta);
        if (zc_req_is(r, "HEAD")) {
            int f = zc_listing_format(r);
            zc_reply(r, 204,
                     f == ZC_FMT_JSON  ? "application/json; charset=utf-8"
                     : f == ZC_FMT_XML ? "application/xml; charset=utf-8"
                                       : "text/plain; charset=utf-8",
                     NULL, 0);
            return;
        }
        zc_listing_reply(r, r->container);
        return;
    }

    int a = zc_acl_authorize(&r->ident, r->account, ZC_ACCESS_OWNER, NULL, NULL, NULL);
    if (a) {
        zc_reply_error(r, a, NULL);
        return;
    }
    if (zc_req_is(r, "PUT") || zc_req_is(r, "POST")) {
        json_t *meta = json_object();
        int ms = container_meta(r, meta);
        if (ms) {
            json_decref(meta);
            zc_reply_error(r, ms, "Bad metadata or ACL");
            return;
        }
        int rc;
        bool created = false;
        if (zc_req_is(r, "PUT"))
            rc = st->ops->container_put(st, r->account, r->container, meta, &created);
        else
            rc = st->ops->container_post(st, r->account, r->container, meta);
        json_decref(meta);
        if (rc < 0)
            zc_reply_store_error(r, rc);
        else
            zc_reply(r, zc_req_is(r, "POST") ? 204 : created ? 201 : 202,
                     "text/html; charset=UTF-8", NULL, 0);
        return;
    }
    if (zc_req_is(r, "DELETE")) {
        int rc = st->ops->container_delete(st, r->account, r->container);
        if (rc < 0)
            zc_reply_store_error(r, rc);
        else
            zc_reply(r, 204, "text/html; charset=UTF-8", NULL, 0);
        return;
    }
    zc_req_add_header(r, "Allow", "GET, HEAD, PUT, POST, DELETE");
    zc_reply_error(r, 405, NULL);
}

void zc_container_begin(zc_req_t *r)
{
    r->on_body = zc_body_buffer;
    r->on_finish = container_finish;
}
