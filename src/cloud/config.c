/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerocloud's configuration file: a small strict INI file.
 *
 *   [server]  listen = 127.0.0.1:8080, data = ./data, threads = 0, fsync = yes
 *   [limits]  max_object_size, max_header_size, max_listing, connections,
 *             connections_per_ip, timeout (seconds), open_containers
 *             (container handles kept open while idle, default 1024),
 *             login_failures (per address, 5), login_failures_per_user
 *             (20), login_window (60 s)
 *   [auth]    token_ttl = 86400
 *   [users]   account:user = key [.admin]
 *   [compute] enabled = yes, pool (executions at once; 0: 2 x CPUs), queue
 *             (requests waiting for one, then 503), timeout (seconds per
 *             request, chained jobs included), max_request, max_job,
 *             max_nodes, chain_depth, max_output, memory (per node),
 *             zerovm (the binary), sysimages (a `name = /program` file),
 *             image_cache_max, wasm_cache_max (bytes of zerovm's caches),
 *             timeout_ms (the timeout in milliseconds, replacing timeout)
 *
 * A [users] section replaces the built-in user (test:tester, key testing,
 * .admin: the Swift all-in-one's), which zerocloud.c admits on a loopback
 * listen address only.  Unknown sections or keys, duplicate
 * users, values out of range and lines that are not "key = value" are
 * errors naming file:line.  What the values do is the server's.
 */
#include "cloud/cloud.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void zc_config_init(zc_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->token_ttl = 86400;
    c->max_object_size = 5368709122ULL; /* Swift's 5 GiB + 2 */
    c->max_header_size = 16384;
    c->max_listing = 10000;
    c->connection_limit = 512;
    c->per_ip_limit = 128;
    c->open_containers = 1024;
    c->connection_timeout = 30;
    c->threads = 0;
    c->login_failures = 5;
    c->login_failures_user = 20;
    c->login_window = 60;
    c->fsync = true;
    c->exec_enabled = true;
    c->exec_pool = 0;
    c->exec_queue = 0; /* 0: 4 x pool (see compute.c) */
    c->exec_timeout = 60;
    c->exec_max_request = 1ULL << 30;
    c->exec_max_job = 64 * 1024;
    c->exec_max_nodes = 64;
    c->exec_chain_depth = 8;
    c->exec_max_output = 1ULL << 30;
    c->exec_memory = 1ULL << 30;
}

static void users_clear(zc_config_t *c)
{
    for (size_t i = 0; i < c->nusers; i++) {
        free(c->users[i].account);
        free(c->users[i].user);
        free(c->users[i].key);
    }
    free(c->users);
    c->users = NULL;
    c->nusers = 0;
}

void zc_config_release(zc_config_t *c)
{
    users_clear(c);
    free(c->path);
    free(c->listen);
    free(c->data_dir);
    free(c->exec_zerovm);
    free(c->exec_sysimages);
    memset(c, 0, sizeof *c);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Names of accounts and users: letters, digits, '_', '-', '.'. */
static bool ident_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!*v || !isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *out = true;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
             !strcasecmp(v, "off"))
        *out = false;
    else
        return -1;
    return 0;
}

/* "account:user" = "key [.admin]" */
int zc_user_add(zc_config_t *c, const char *who, const char *rest, const char **why)
{
    const char *colon = strchr(who, ':');
    if (!colon || !ident_ok(who, (size_t)(colon - who)) || !ident_ok(colon + 1, strlen(colon + 1))) {
        *why = "user must be account:user (letters, digits, '_', '-', '.')";
        return -1;
    }
    char *copy = strdup(rest);
    if (!copy) {
        *why = "out of memory";
        return -1;
    }
    char *save = NULL, *key = strtok_r(copy, " \t", &save), *tok;
    bool admin = false;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        if (!strcmp(tok, ".admin") || !strcmp(tok, ".reseller_admin"))
            admin = true;
        else {
            free(copy);
            *why = "unknown user flag (only .admin)";
            return -1;
        }
    }
    if (!key || strlen(key) > 256) {
        free(copy);
        *why = "missing or too long key";
        return -1;
    }
    size_t alen = (size_t)(colon - who);
    for (size_t i = 0; i < c->nusers; i++)
        if (strlen(c->users[i].account) == alen && !strncmp(c->users[i].account, who, alen) &&
            !strcmp(c->users[i].user, colon + 1)) {
            free(copy);
            *why = "duplicate user";
            return -1;
        }
    zc_user_t *u = realloc(c->users, (c->nusers + 1) * sizeof *u);
    if (!u) {
        free(copy);
        *why = "out of memory";
        return -1;
    }
    c->users = u;
    zc_user_t *n = &c->users[c->nusers];
    n->account = strndup(who, alen);
    n->user = strdup(colon + 1);
    n->key = strdup(key);
    n->admin = admin;
    free(copy);
    if (!n->account || !n->user || !n->key) {
        free(n->account);
        free(n->user);
        free(n->key);
        *why = "out of memory";
        return -1;
    }
    c->nusers++;
    return 0;
}

/* One key of [compute]; -1 and *why when wrong. */
static int compute_key(zc_config_t *c, const char *k, const char *v, const char **why)
{
    static const struct {
        const char *key;
        uint64_t min, max;
        const char *why;
    } nums[] = {
        {"pool", 0, 4096, "pool must be 0 (2 x CPUs) to 4096"},
        {"queue", 0, 100000, "queue must be 0 to 100000"},
        {"timeout", 1, 86400, "timeout must be 1 to 86400 seconds"},
        {"max_request", 1, UINT64_MAX / 2, "bad max_request"},
        {"max_job", 2, 16 << 20, "max_job must be 2 to 16777216 bytes"},
        {"max_nodes", 1, 100000, "max_nodes must be 1 to 100000"},
        {"chain_depth", 0, 1000, "chain_depth must be 0 to 1000"},
        {"max_output", 1, UINT64_MAX / 2, "bad max_output"},
        {"memory", 1 << 20, 1ULL << 40, "memory must be 1048576 to 1099511627776 bytes"},
        {"image_cache_max", 0, UINT64_MAX / 2, "image_cache_max must be a number of bytes"},
        {"wasm_cache_max", 0, UINT64_MAX / 2, "wasm_cache_max must be a number of bytes"},
        {"timeout_ms", 0, 86400000, "timeout_ms must be 0 to 86400000 milliseconds"},
    };
    if (!strcmp(k, "enabled"))
        return parse_bool(v, &c->exec_enabled) < 0 ? (*why = "enabled must be yes or no", -1) : 0;
    if (!strcmp(k, "zerovm") || !strcmp(k, "sysimages")) {
        if (v[0] != '/') {
            *why = "zerovm and sysimages must be absolute paths";
            return -1;
        }
        char **slot = !strcmp(k, "zerovm") ? &c->exec_zerovm : &c->exec_sysimages;
        free(*slot);
        if (!(*slot = strdup(v))) {
            *why = "out of memory";
            return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(k, nums[i].key))
            continue;
        uint64_t x;
        if (parse_u64(v, nums[i].min, nums[i].max, &x) < 0) {
            *why = nums[i].why;
            return -1;
        }
        switch (i) {
        case 0: c->exec_pool = (unsigned)x; break;
        case 1: c->exec_queue = (unsigned)x; c->exec_queue_set = true; break;
        case 2: c->exec_timeout = (unsigned)x; break;
        case 3: c->exec_max_request = x; break;
        case 4: c->exec_max_job = x; break;
        case 5: c->exec_max_nodes = (unsigned)x; break;
        case 6: c->exec_chain_depth = (unsigned)x; break;
        case 7: c->exec_max_output = x; break;
        case 8: c->exec_memory = x; break;
        case 9: c->exec_image_cache_max = x; c->exec_image_cache_set = true; break;
        case 10: c->exec_wasm_cache_max = x; c->exec_wasm_cache_set = true; break;
        default: c->exec_timeout_ms = x; c->exec_timeout_ms_set = true; break;
        }
        return 0;
    }
    *why = "unknown key";
    return -1;
}

int zc_config_load(zc_config_t *c, const char *file, char *err, size_t errlen)
{
    FILE *f = fopen(file, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    free(c->path);
    c->path = strdup(file);
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    char section[32] = "";
    bool users_seen = false;
    const char *why = NULL;
    int rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (strlen(line) > 4096) {
            why = "line too long";
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e || e[1]) {
                why = "bad section header";
                break;
            }
            *e = '\0';
            char *name = trim(s + 1);
            if (strcmp(name, "server") && strcmp(name, "limits") && strcmp(name, "auth") &&
                strcmp(name, "users") && strcmp(name, "compute")) {
                why = "unknown section (server, limits, auth, users, compute)";
                break;
            }
            size_t nl = strlen(name);
            memcpy(section, name, nl + 1); /* one of the five names above */
            if (!strcmp(name, "users") && !users_seen) {
                users_seen = true;
                users_clear(c);
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            why = "expected key = value";
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        if (!*section) {
            why = "key outside a section";
            break;
        }
        if (!*k || !*v) {
            why = "empty key or value";
            break;
        }
        uint64_t x;
        if (!strcmp(section, "users")) {
            if (zc_user_add(c, k, v, &why) < 0)
                break;
        } else if (!strcmp(section, "server") && !strcmp(k, "listen")) {
            free(c->listen);
            c->listen = strdup(v);
        } else if (!strcmp(section, "server") && !strcmp(k, "data")) {
            free(c->data_dir);
            c->data_dir = strdup(v);
        } else if (!strcmp(section, "server") && !strcmp(k, "threads")) {
            if (parse_u64(v, 0, 1024, &x) < 0) {
                why = "threads must be 0 (one per connection) to 1024";
                break;
            }
            c->threads = (unsigned)x;
        } else if (!strcmp(section, "server") && !strcmp(k, "fsync")) {
            if (parse_bool(v, &c->fsync) < 0) {
                why = "fsync must be yes or no";
                break;
            }
        } else if (!strcmp(section, "auth") && !strcmp(k, "token_ttl")) {
            if (parse_u64(v, 1, 365 * 86400, &x) < 0) {
                why = "token_ttl must be 1 to 31536000 seconds";
                break;
            }
            c->token_ttl = (unsigned)x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "max_object_size")) {
            if (parse_u64(v, 0, UINT64_MAX / 2, &x) < 0) {
                why = "bad max_object_size";
                break;
            }
            c->max_object_size = x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "max_header_size")) {
            if (parse_u64(v, 2048, 1 << 20, &x) < 0) {
                why = "max_header_size must be 2048 to 1048576";
                break;
            }
            c->max_header_size = (unsigned)x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "max_listing")) {
            if (parse_u64(v, 1, 1000000, &x) < 0) {
                why = "max_listing must be 1 to 1000000";
                break;
            }
            c->max_listing = (unsigned)x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "connections")) {
            if (parse_u64(v, 1, 100000, &x) < 0) {
                why = "connections must be 1 to 100000";
                break;
            }
            c->connection_limit = (unsigned)x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "connections_per_ip")) {
            if (parse_u64(v, 0, 100000, &x) < 0) {
                why = "connections_per_ip must be 0 (no limit) to 100000";
                break;
            }
            c->per_ip_limit = (unsigned)x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "open_containers")) {
            if (parse_u64(v, 1, 100000, &x) < 0) {
                why = "open_containers must be 1 to 100000";
                break;
            }
            c->open_containers = (unsigned)x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "timeout")) {
            if (parse_u64(v, 1, 3600, &x) < 0) {
                why = "timeout must be 1 to 3600 seconds";
                break;
            }
            c->connection_timeout = (unsigned)x;
        } else if (!strcmp(section, "limits") && (!strcmp(k, "login_failures") ||
                                                   !strcmp(k, "login_failures_per_user"))) {
            if (parse_u64(v, 0, 1000000, &x) < 0) {
                why = "login_failures must be 0 (no limit) to 1000000";
                break;
            }
            *(!strcmp(k, "login_failures") ? &c->login_failures : &c->login_failures_user) =
                (unsigned)x;
        } else if (!strcmp(section, "limits") && !strcmp(k, "login_window")) {
            if (parse_u64(v, 1, 86400, &x) < 0) {
                why = "login_window must be 1 to 86400 seconds";
                break;
            }
            c->login_window = (unsigned)x;
        } else if (!strcmp(section, "compute")) {
            if (compute_key(c, k, v, &why) < 0)
                break;
        } else {
            why = "unknown key";
            break;
        }
    }
    if (!why && ferror(f))
        why = strerror(errno);
    if (why) {
        snprintf(err, errlen, "%s:%u: %s", file, lineno, why);
        rc = -1;
    } else if (users_seen && c->nusers == 0) {
        snprintf(err, errlen, "%s: [users] names no user", file);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}
