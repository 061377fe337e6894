/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Users and tokens (Swift's auth v1.0 as tempauth does it).
 *
 * Users come from the configuration (account:user, key, .admin).  A login
 * returns a random token "AUTH_tk<32 hex>" that lives token_ttl seconds.
 * Tokens are kept in memory only, in a hash table under one mutex: a
 * restart logs everyone out (clients log in again on 401, as with Swift's
 * memcache).  The table holds at most MAX_TOKENS; expired tokens are swept
 * when it is full and on lookup.  Keys and tokens are compared as SHA-256
 * digests in constant time (zc_secret_equal), so timing reveals neither
 * their length nor a matching prefix.
 * Failed logins are counted per client address and per known user in a
 * window (limits login_failures, login_failures_per_user, login_window);
 * past the count, logins answer 429 until the window ends, whatever the
 * key.  The address table holds NADDRS entries: a new address takes an
 * expired entry, or else the oldest.  Whether a user may touch a path is
 * acl.c's.
 */
#include "cloud/cloud.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS 4096
#define MAX_TOKENS 100000

typedef struct tok {
    struct tok *next;
    char token[40];
    time_t expires;
    size_t user; /* index into cfg->users */
} tok_t;

/* Each user's current token: a login while it is valid gets it again (as
 * Swift's tempauth does), so logging in in a loop cannot fill the table. */
typedef struct current {
    char token[40];
    time_t expires;
} current_t;

/* Failed logins in one window: from an address, or for a known user. */
typedef struct failures {
    time_t since;   /* the window's first failure */
    unsigned count; /* failures since then */
} failures_t;

#define NADDRS 1024 /* addresses remembered at once */

typedef struct addr_failures {
    unsigned char key[17]; /* family byte, then 4 (IPv4) or 8 (an IPv6 /64) bytes */
    failures_t f;
} addr_failures_t;

struct zc_auth {
    const zc_config_t *cfg;
    pthread_mutex_t mu;
    tok_t *buckets[NBUCKETS];
    size_t ntokens;
    current_t *current;     /* parallel to cfg->users */
    failures_t *user_fail;  /* parallel to cfg->users; under mu */
    addr_failures_t addr_fail[NADDRS]; /* under mu */
};

zc_auth_t *zc_auth_new(const zc_config_t *cfg)
{
    zc_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cfg = cfg;
    a->current = calloc(cfg->nusers ? cfg->nusers : 1, sizeof *a->current);
    a->user_fail = calloc(cfg->nusers ? cfg->nusers : 1, sizeof *a->user_fail);
    if (!a->current || !a->user_fail) {
        free(a->current);
        free(a->user_fail);
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void zc_auth_free(zc_auth_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (tok_t *t = a->buckets[i], *n; t; t = n) {
            n = t->next;
            free(t);
        }
    pthread_mutex_destroy(&a->mu);
    free(a->current);
    free(a->user_fail);
    free(a);
}

bool zc_secret_equal(const char *a, const char *b)
{
    uint8_t da[SHA256_DIGEST_SIZE], db[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(a), (const uint8_t *)a);
    sha256_digest(&ctx, sizeof da, da);
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(b), (const uint8_t *)b);
    sha256_digest(&ctx, sizeof db, db);
    return memeql_sec(da, db, sizeof da) != 0;
}

static size_t bucket_of(const char *token)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = token; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h % NBUCKETS;
}

/* Drop expired tokens; called with a->mu held. */
static void sweep(zc_auth_t *a, time_t now)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        tok_t **pp = &a->buckets[i];
        while (*pp) {
            if ((*pp)->expires <= now) {
                tok_t *dead = *pp;
                *pp = dead->next;
                free(dead);
                a->ntokens--;
            } else
                pp = &(*pp)->next;
        }
    }
}

static void ident_of(const zc_user_t *u, zc_ident_t *id)
{
    memset(id, 0, sizeof *id);
    id->valid = true;
    id->admin = u->admin;
    snprintf(id->account, sizeof id->account, "%s", u->account);
    snprintf(id->user, sizeof id->user, "%s", u->user);
}

/* ---- failed logins ---- */

/* The index of the known user "account:user", or -1. */
static long user_index(const zc_auth_t *a, const char *who)
{
    const char *colon = who ? strchr(who, ':') : NULL;
    if (!colon)
        return -1;
    size_t alen = (size_t)(colon - who);
    for (size_t i = 0; i < a->cfg->nusers; i++) {
        const zc_user_t *u = &a->cfg->users[i];
        if (strlen(u->account) == alen && !strncmp(u->account, who, alen) &&
            !strcmp(u->user, colon + 1))
            return (long)i;
    }
    return -1;
}

static bool addr_key(const struct sockaddr *from, unsigned char key[17])
{
    memset(key, 0, 17);
    if (!from)
        return false;
    if (from->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)from)->sin_addr, 4);
        return true;
    }
    if (from->sa_family == AF_INET6) {
        key[0] = 6; /* one host usually holds a whole /64 */
        memcpy(key + 1, &((const struct sockaddr_in6 *)from)->sin6_addr, 8);
        return true;
    }
    return false;
}

/* The address's slot; when create, a new one in place of an expired or
 * the oldest.  NULL otherwise.  Called with a->mu held. */
static failures_t *addr_slot(zc_auth_t *a, const unsigned char key[17], time_t now, bool create)
{
    addr_failures_t *spare = NULL;
    bool spare_dead = false;
    for (size_t i = 0; i < NADDRS; i++) {
        addr_failures_t *s = &a->addr_fail[i];
        if (s->f.count && !memcmp(s->key, key, 17))
            return &s->f;
        if (spare_dead)
            continue;
        if (!s->f.count || s->f.since + (time_t)a->cfg->login_window <= now) {
            spare = s;
            spare_dead = true;
        } else if (!spare || s->f.since < spare->f.since)
            spare = s;
    }
    if (!create)
        return NULL;
    memcpy(spare->key, key, 17);
    spare->f.count = 0;
    spare->f.since = now;
    return &spare->f;
}

/* Seconds left of f's window when it holds max failures, else 0. */
static unsigned wait_of(const failures_t *f, unsigned max, unsigned window, time_t now)
{
    if (!f || !max || f->count < max || f->since + (time_t)window <= now)
        return 0;
    return (unsigned)(f->since + (time_t)window - now);
}

static void count_failure(failures_t *f, unsigned window, time_t now)
{
    if (!f->count || f->since + (time_t)window <= now) {
        f->since = now;
        f->count = 0;
    }
    if (f->count < UINT32_MAX)
        f->count++;
}

unsigned zc_auth_throttled(zc_auth_t *a, const struct sockaddr *from, const char *who)
{
    const zc_config_t *c = a->cfg;
    time_t now = time(NULL);
    unsigned char key[17];
    long u = user_index(a, who);
    pthread_mutex_lock(&a->mu);
    unsigned w = 0;
    if (addr_key(from, key))
        w = wait_of(addr_slot(a, key, now, false), c->login_failures, c->login_window, now);
    if (u >= 0) {
        unsigned wu = wait_of(&a->user_fail[u], c->login_failures_user, c->login_window, now);
        w = wu > w ? wu : w;
    }
    pthread_mutex_unlock(&a->mu);
    return w;
}

void zc_auth_failed(zc_auth_t *a, const struct sockaddr *from, const char *who)
{
    time_t now = time(NULL);
    unsigned char key[17];
    long u = user_index(a, who);
    pthread_mutex_lock(&a->mu);
    if (a->cfg->login_failures && addr_key(from, key))
        count_failure(addr_slot(a, key, now, true), a->cfg->login_window, now);
    if (u >= 0 && a->cfg->login_failures_user)
        count_failure(&a->user_fail[u], a->cfg->login_window, now);
    pthread_mutex_unlock(&a->mu);
}

/* ---- logins and tokens ---- */

int zc_auth_login(zc_auth_t *a, const char *who, const char *key, char token[65], unsigned *ttl,
                  zc_ident_t *id)
{
    if (!who || !key)
        return -EACCES;
    const char *colon = strchr(who, ':');
    if (!colon)
        return -EACCES;
    size_t alen = (size_t)(colon - who);
    const zc_user_t *found = NULL;
    size_t idx = 0;
    for (size_t i = 0; i < a->cfg->nusers; i++) {
        const zc_user_t *u = &a->cfg->users[i];
        if (strlen(u->account) == alen && !strncmp(u->account, who, alen) &&
            !strcmp(u->user, colon + 1)) {
            found = u;
            idx = i;
            break;
        }
    }
    /* Compare even for an unknown user (against a key no one has), so that
     * timing says nothing about which part was wrong. */
    bool ok = zc_secret_equal(found ? found->key : "\n unknown user \n", key) && found;
    if (!ok)
        return -EACCES;

    time_t now = time(NULL);
    pthread_mutex_lock(&a->mu);
    current_t *cur = &a->current[idx];
    if (cur->expires > now) {
        snprintf(token, 65, "%s", cur->token);
        *ttl = (unsigned)(cur->expires - now);
        pthread_mutex_unlock(&a->mu);
        ident_of(found, id);
        return 0;
    }
    pthread_mutex_unlock(&a->mu);

    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -EIO;
    tok_t *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    memcpy(t->token, "AUTH_tk", 7);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(t->token + 7 + 2 * i, 3, "%02x", rnd[i]);
    t->expires = now + a->cfg->token_ttl;
    t->user = idx;

    pthread_mutex_lock(&a->mu);
    if (a->ntokens >= MAX_TOKENS)
        sweep(a, now);
    if (a->ntokens >= MAX_TOKENS) {
        pthread_mutex_unlock(&a->mu);
        free(t);
        return -EAGAIN;
    }
    size_t b = bucket_of(t->token);
    t->next = a->buckets[b];
    a->buckets[b] = t;
    a->ntokens++;
    snprintf(a->current[idx].token, sizeof a->current[idx].token, "%s", t->token);
    a->current[idx].expires = t->expires;
    pthread_mutex_unlock(&a->mu);

    snprintf(token, 65, "%s", t->token);
    *ttl = a->cfg->token_ttl;
    ident_of(found, id);
    return 0;
}

int zc_auth_check(zc_auth_t *a, const char *token, zc_ident_t *id)
{
    if (!token || strlen(token) >= 40)
        return -EACCES;
    time_t now = time(NULL);
    int rc = -EACCES;
    pthread_mutex_lock(&a->mu);
    tok_t **pp = &a->buckets[bucket_of(token)];
    while (*pp) {
        tok_t *t = *pp;
        if (!zc_secret_equal(t->token, token)) {
            pp = &t->next;
            continue;
        }
        if (t->expires <= now) {
            *pp = t->next;
            free(t);
            a->ntokens--;
        } else {
            ident_of(&a->cfg->users[t->user], id);
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}
