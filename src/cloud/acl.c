/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container ACLs, as Swift's tempauth reads X-Container-Read and
 * X-Container-Write:
 *
 *   .r:*            anyone (no token needed) may GET/HEAD objects
 *   .r:example.com  requests whose Referer host is example.com or ends
 *   .r:.example.com   with .example.com; ".r:-host" denies a host again
 *   .rlistings      with a matching .r:, the container may be listed too
 *   acct            every user of account acct
 *   acct:user       that user
 *
 * The owner of the account (an .admin user of it) may do everything; other
 * users and anonymous requests only what the ACLs grant.  A denial answers
 * 401 to a request without a valid token and 403 otherwise.
 */
#include "cloud/cloud.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool zc_acl_is_owner(const zc_ident_t *id, const char *account)
{
    return id->valid && id->admin && !strncmp(account, "AUTH_", 5) &&
           !strcmp(account + 5, id->account);
}

/* Call fn on each trimmed, non-empty element of a comma list; stop when it
 * returns true. */
static bool each_elem(const char *acl, bool (*fn)(const char *e, size_t n, void *arg), void *arg)
{
    const char *p = acl;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n && fn(s, n, arg))
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool elem_is(const char *e, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(e, lit, n);
}

struct group_match {
    const zc_ident_t *id;
};

static bool group_fn(const char *e, size_t n, void *arg)
{
    const zc_ident_t *id = ((struct group_match *)arg)->id;
    if (e[0] == '.')
        return false;
    char full[2 * ZC_MAX_ACCOUNT_NAME + 8];
    snprintf(full, sizeof full, "%s:%s", id->account, id->user);
    if (elem_is(e, n, id->account) || elem_is(e, n, full))
        return true;
    snprintf(full, sizeof full, "%s:*", id->account);
    if (elem_is(e, n, full) || elem_is(e, n, "*:*"))
        return true;
    snprintf(full, sizeof full, "AUTH_%s", id->account);
    return id->admin && elem_is(e, n, full);
}

static bool groups_match(const zc_ident_t *id, const char *acl)
{
    if (!id->valid || !acl)
        return false;
    struct group_match g = {id};
    return each_elem(acl, group_fn, &g);
}

struct ref_state {
    char host[256];
    bool allowed;
    bool listings;
};

static bool host_matches(const char *host, const char *pat, size_t n)
{
    if (n == 1 && pat[0] == '*')
        return true;
    size_t hl = strlen(host);
    if (pat[0] == '.') /* suffix: ".example.com" */
        return hl >= n && !strncasecmp(host + hl - n, pat, n);
    return hl == n && !strncasecmp(host, pat, n);
}

static bool ref_fn(const char *e, size_t n, void *arg)
{
    struct ref_state *st = arg;
    if (elem_is(e, n, ".rlistings")) {
        st->listings = true;
        return false;
    }
    if (n < 4 || strncmp(e, ".r:", 3))
        return false;
    const char *pat = e + 3;
    size_t pn = n - 3;
    bool neg = pat[0] == '-';
    if (neg) {
        pat++;
        pn--;
    }
    if (!pn)
        return false;
    if (host_matches(st->host, pat, pn))
        st->allowed = !neg;
    return false;
}

/* Host of a Referer URL ("http://host:port/path" -> "host"). */
static void referer_host(const char *referer, char out[256])
{
    out[0] = '\0';
    if (!referer)
        return;
    const char *p = strstr(referer, "://");
    p = p ? p + 3 : referer;
    size_t n = strcspn(p, ":/?#");
    if (n >= 256)
        n = 255;
    memcpy(out, p, n);
    out[n] = '\0';
}

int zc_acl_validate(const char *acl)
{
    /* Elements are free-form in Swift; we only refuse ".r:" with nothing,
     * and unknown dot-elements. */
    const char *p = acl;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        if (n && *p == '.') {
            if (!(n >= 4 && !strncmp(p, ".r:", 3)) && !(n >= 10 && !strncmp(p, ".rlistings", 10)))
                return -EINVAL;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int zc_acl_authorize(const zc_ident_t *id, const char *account, zc_access_t access,
                     const char *read_acl, const char *write_acl, const char *referer)
{
    if (zc_acl_is_owner(id, account))
        return 0;
    bool ok = false;
    switch (access) {
    case ZC_ACCESS_OWNER:
        break;
    case ZC_ACCESS_LIST:
    case ZC_ACCESS_READ: {
        if (!read_acl)
            break;
        struct ref_state st = {.allowed = false, .listings = false};
        referer_host(referer, st.host);
        each_elem(read_acl, ref_fn, &st);
        if (st.allowed && (access == ZC_ACCESS_READ || st.listings))
            ok = true;
        else if (groups_match(id, read_acl))
            ok = true;
        break;
    }
    case ZC_ACCESS_WRITE:
        ok = groups_match(id, write_acl);
        break;
    }
    if (ok)
        return 0;
    return id->valid ? 403 : 401;
}
