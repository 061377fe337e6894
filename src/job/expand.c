/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Groups -> nodes.  A group gives `count` nodes, or one node per object
 * matching its wildcard input (in listing order); nodes are named after the
 * group, `<group>-1..N` when there are several, and numbered 1..N across
 * the job in creation order.  A `*` in a writable path takes the text the
 * input's `*` captured (the object name when the pattern is not a single
 * `*`), or the node name when the group has no wildcard input.  `connect`
 * names groups or nodes; every source node gets a stream to every
 * destination node but itself.
 */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "job/internal.h"
#include "lib/util.h"

#define OOM(err) zvm_error_set(err, ENOMEM, "out of memory")

static void node_release(zvm_job_node_t *n)
{
    free(n->name);
    free(n->exec_path);
    free(n->argv0);
    free(n->args);
    for (size_t i = 0; i < n->nenv; i++) {
        free(n->env[i].name);
        free(n->env[i].value);
    }
    free(n->env);
    for (size_t i = 0; i < n->ndevices; i++) {
        zvm_job_node_device_t *d = &n->devices[i];
        free(d->name);
        free(d->account);
        free(d->container);
        free(d->object);
        free(d->content_type);
    }
    free(n->devices);
    free(n->out_to);
    free(n->in_from);
}

void zvm_job_nodes_release(zvm_job_nodes_t *nodes)
{
    for (size_t i = 0; i < nodes->count; i++)
        node_release(&nodes->nodes[i]);
    free(nodes->nodes);
    memset(nodes, 0, sizeof *nodes);
}

/* Replace every '*' of s by rep (malloc'd). */
static char *replace_stars(const char *s, const char *rep)
{
    zvm__sb_t b = {0};
    for (const char *p = s; *p; p++) {
        if (*p == '*')
            zvm__sb_add(&b, rep);
        else
            zvm__sb_addn(&b, p, 1);
    }
    return zvm__sb_finish(&b);
}

/* The text a single-'*' pattern captured in name, else the whole name. */
static char *capture(const char *pattern, const char *name)
{
    const char *star = strchr(pattern, '*');
    if (!star || strchr(star + 1, '*') || strpbrk(pattern, "?[\\"))
        return strdup(name);
    size_t pre = (size_t)(star - pattern), suf = strlen(star + 1), n = strlen(name);
    if (pre + suf > n)
        return strdup(name);
    return strndup(name + pre, n - pre - suf);
}

static const char *resolve_account(const char *a, const zvm_job_context_t *ctx)
{
    return (strcmp(a, "~") == 0 || strcmp(a, ".") == 0) ? ctx->account : a;
}

static int add_edge(size_t **list, size_t *n, size_t v)
{
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i] == v)
            return 0;
    size_t *grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    grown[(*n)++] = v;
    *list = grown;
    return 0;
}

/* Make the nodes of group gi; names[] are the wildcard matches (or NULL). */
static int make_nodes(const zvm_job_t *job, size_t gi, const zvm_job_context_t *ctx,
                      zvm_job_nodes_t *out, int wild, char **matches, size_t nmatches,
                      zvm_error_t *err)
{
    const zvm_job_group_t *g = &job->groups[gi];
    size_t count = wild >= 0 ? nmatches : g->count;
    zvm_job_node_t *grown = realloc(out->nodes, (out->count + count) * sizeof *grown);
    if (!grown)
        return OOM(err);
    out->nodes = grown;
    zvm_job_url_t pattern = {0};
    if (wild >= 0 && zvm_job_url_parse(g->devices[wild].path, &pattern) < 0)
        return OOM(err);
    int rc = 0;
    for (size_t k = 0; k < count && rc == 0; k++) {
        zvm_job_node_t *n = &out->nodes[out->count];
        memset(n, 0, sizeof *n);
        out->count++;
        n->id = (unsigned)out->count;
        n->group = gi;
        n->attach = -1;
        zvm__sb_t name = {0};
        zvm__sb_add(&name, g->name);
        if (count > 1)
            zvm__sb_addf(&name, "-%zu", k + 1);
        n->name = zvm__sb_finish(&name);
        char *cap = NULL;
        if (wild >= 0)
            cap = capture(pattern.object, matches[k]);
        const char *rep = wild >= 0 ? cap : n->name;
        zvm_job_url_t eu;
        if (!n->name || !rep || zvm_job_url_parse(g->exec_path, &eu) < 0) {
            free(cap);
            rc = OOM(err);
            break;
        }
        if (eu.is_file) {
            n->exec_path = strdup(g->exec_path);
            n->argv0 = strdup(g->exec_name ? g->exec_name : eu.exe);
        } else {
            zvm__sb_t b = {0};
            zvm__sb_addf(&b, "swift://%s/%s/%s", resolve_account(eu.account, ctx), eu.container,
                         eu.object);
            n->exec_path = zvm__sb_finish(&b);
            n->argv0 = strdup(g->exec_name ? g->exec_name : eu.object);
        }
        zvm_job_url_release(&eu);
        n->args = g->exec_args ? strdup(g->exec_args) : NULL;
        n->env = calloc(g->nenv + 1, sizeof *n->env);
        n->devices = calloc(g->ndevices + 1, sizeof *n->devices);
        if (!n->exec_path || !n->argv0 || (g->exec_args && !n->args) || !n->env || !n->devices) {
            free(cap);
            rc = OOM(err);
            break;
        }
        for (size_t i = 0; i < g->nenv; i++) {
            n->env[i].name = strdup(g->env[i].name);
            n->env[i].value = strdup(g->env[i].value);
            n->nenv++;
            if (!n->env[i].name || !n->env[i].value)
                rc = OOM(err);
        }
        for (size_t i = 0; i < g->ndevices && rc == 0; i++) {
            const zvm_job_device_t *gd = &g->devices[i];
            zvm_job_node_device_t *d = &n->devices[n->ndevices++];
            d->kind = zvm_job_devkind(gd->name, ctx->sysimages);
            d->name = strdup(gd->name);
            d->content_type = gd->content_type ? strdup(gd->content_type) : NULL;
            if (!d->name || (gd->content_type && !d->content_type)) {
                rc = OOM(err);
                break;
            }
            if (!gd->path)
                continue;
            zvm_job_url_t u;
            if (zvm_job_url_parse(gd->path, &u) < 0) {
                rc = OOM(err);
                break;
            }
            d->account = strdup(resolve_account(u.account, ctx));
            d->container = strdup(u.container);
            if ((int)i == wild)
                d->object = strdup(matches[k]);
            else if (!u.object)
                d->object = NULL; /* a container: its listing (checked readable) */
            else if (zvm__devkind_writable(d->kind) && strchr(u.object, '*'))
                d->object = replace_stars(u.object, rep);
            else
                d->object = strdup(u.object);
            bool lost = u.object && !d->object;
            zvm_job_url_release(&u);
            if (!d->account || !d->container || lost)
                rc = OOM(err);
            else if (n->attach < 0 && d->object && zvm__devkind_readable(d->kind) &&
                     (wild < 0 || (int)i == wild))
                n->attach = (int)i;
        }
        free(cap);
    }
    zvm_job_url_release(&pattern);
    return rc;
}

static int check_group(const zvm_job_group_t *g, const zvm_job_context_t *ctx, int *wild,
                       zvm_error_t *err)
{
    *wild = -1;
    zvm_job_url_t eu;
    if (zvm_job_url_parse(g->exec_path, &eu) < 0)
        return zvm_error_set(err, EINVAL, "Invalid path %s in %s", g->exec_path, g->name);
    bool bad_image = eu.is_file && !zvm_sysimages_find(ctx->sysimages, eu.image);
    bool star = !eu.is_file && strchr(eu.object, '*');
    zvm_job_url_release(&eu);
    if (bad_image || star)
        return zvm_error_set(err, EINVAL, "Invalid path %s in %s%s", g->exec_path, g->name,
                             bad_image ? " (no such system image)" : "");
    for (size_t i = 0; i < g->ndevices; i++) {
        const zvm_job_device_t *d = &g->devices[i];
        zvm_job_devkind_t k = zvm_job_devkind(d->name, ctx->sysimages);
        if (k == ZVM_DEV_UNKNOWN)
            return zvm_error_set(err, EINVAL, "Unknown device %s in %s", d->name, g->name);
        if (!d->path)
            continue;
        if (k == ZVM_DEV_SYSIMAGE)
            return zvm_error_set(err, EINVAL, "Invalid path %s in %s (system image %s takes no path)",
                                 d->path, g->name, d->name);
        zvm_job_url_t du;
        if (zvm_job_url_parse(d->path, &du) < 0)
            return zvm_error_set(err, EINVAL, "Invalid path %s in %s", d->path, g->name);
        bool container = !du.object;
        zvm_job_url_release(&du);
        if (container && (!zvm__devkind_readable(k) || k == ZVM_DEV_IMAGE || k == ZVM_DEV_SCRIPT))
            return zvm_error_set(err, EINVAL,
                                 "Invalid path %s in %s (device %s needs an object, not a container)",
                                 d->path, g->name, d->name);
        if (zvm__devkind_readable(k) && strchr(d->path, '*')) {
            if (*wild >= 0)
                return zvm_error_set(err, EINVAL, "Invalid path %s in %s (one wildcard input per group)",
                                     d->path, g->name);
            *wild = (int)i;
        }
    }
    return 0;
}

static int connect_nodes(const zvm_job_t *job, zvm_job_nodes_t *out, zvm_error_t *err)
{
    for (size_t s = 0; s < out->count; s++) {
        const zvm_job_group_t *g = &job->groups[out->nodes[s].group];
        for (size_t c = 0; c < g->nconnect; c++) {
            const char *target = g->connect[c];
            bool found = false;
            for (size_t d = 0; d < out->count; d++) {
                const zvm_job_node_t *dn = &out->nodes[d];
                bool match = strcmp(job->groups[dn->group].name, target) == 0 ||
                             strcmp(dn->name, target) == 0;
                if (!match)
                    continue;
                found = true;
                if (d == s)
                    continue; /* a node cannot connect to itself */
                if (add_edge(&out->nodes[s].out_to, &out->nodes[s].nout, d) < 0 ||
                    add_edge(&out->nodes[d].in_from, &out->nodes[d].nin, s) < 0)
                    return OOM(err);
            }
            if (!found)
                return zvm_error_set(err, EINVAL, "Invalid connect %s in %s (no such node)",
                                     target, g->name);
        }
    }
    return 0;
}

int zvm_job_expand(const zvm_job_t *job, const zvm_job_context_t *ctx, zvm_job_nodes_t *out,
                   zvm_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (job->ngroups == 0)
        return zvm_error_set(err, EINVAL, "Config parser cannot resolve any job nodes");
    int rc = 0;
    for (size_t gi = 0; gi < job->ngroups && rc == 0; gi++) {
        const zvm_job_group_t *g = &job->groups[gi];
        int wild;
        if ((rc = check_group(g, ctx, &wild, err)) < 0)
            break;
        char **matches = NULL;
        size_t nmatches = 0;
        if (wild >= 0) {
            zvm_job_url_t u;
            if (zvm_job_url_parse(g->devices[wild].path, &u) < 0) {
                rc = OOM(err);
                break;
            }
            rc = ctx->storage->list(ctx->storage, resolve_account(u.account, ctx), u.container,
                                    u.object, &matches, &nmatches, err);
            zvm_job_url_release(&u);
            if (rc == 0 && nmatches == 0)
                rc = zvm_error_set(err, ENOENT, "No objects found in path %s",
                                   g->devices[wild].path);
        }
        if (rc == 0)
            rc = make_nodes(job, gi, ctx, out, wild, matches, nmatches, err);
        for (size_t i = 0; i < nmatches; i++)
            free(matches[i]);
        free(matches);
    }
    for (size_t i = 0; rc == 0 && i < out->count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->nodes[i].name, out->nodes[j].name) == 0) {
                rc = zvm_error_set(err, EINVAL, "Duplicate node name %s", out->nodes[i].name);
                break;
            }
    /* Two nodes writing one object: the job's outcome would depend on timing. */
    for (size_t i = 0; rc == 0 && i < out->count; i++)
        for (size_t a = 0; rc == 0 && a < out->nodes[i].ndevices; a++) {
            const zvm_job_node_device_t *x = &out->nodes[i].devices[a];
            if (!x->object || !zvm__devkind_writable(x->kind))
                continue;
            for (size_t j = 0; rc == 0 && j <= i; j++)
                for (size_t b = 0; b < out->nodes[j].ndevices; b++) {
                    const zvm_job_node_device_t *y = &out->nodes[j].devices[b];
                    if ((j == i && b >= a) || !y->object || !zvm__devkind_writable(y->kind))
                        continue;
                    if (strcmp(x->account, y->account) == 0 &&
                        strcmp(x->container, y->container) == 0 &&
                        strcmp(x->object, y->object) == 0) {
                        rc = zvm_error_set(err, EINVAL,
                                           "Output swift://%s/%s/%s is written by %s and %s",
                                           x->account, x->container, x->object,
                                           out->nodes[j].name, out->nodes[i].name);
                        break;
                    }
                }
        }
    if (rc == 0)
        rc = connect_nodes(job, out, err);
    if (rc < 0)
        zvm_job_nodes_release(out);
    return rc;
}

char *zvm_job_nodes_json(const zvm_job_nodes_t *nodes)
{
    json_t *list = json_array();
    bool oom = !list;
    for (size_t i = 0; !oom && i < nodes->count; i++) {
        const zvm_job_node_t *n = &nodes->nodes[i];
        json_t *env = json_object(), *devs = json_array(), *out = json_array(),
               *in = json_array();
        for (size_t e = 0; env && e < n->nenv; e++)
            json_object_set_new(env, n->env[e].name, json_string(n->env[e].value));
        for (size_t d = 0; devs && d < n->ndevices; d++) {
            const zvm_job_node_device_t *dv = &n->devices[d];
            json_t *o = json_pack("{s:s}", "name", dv->name);
            if (o && dv->container) {
                char *url = NULL;
                if (asprintf(&url, "swift://%s/%s%s%s", dv->account, dv->container,
                             dv->object ? "/" : "", dv->object ? dv->object : "") > 0) {
                    json_object_set_new(o, "path", json_string(url));
                    free(url);
                }
            }
            if (o && dv->content_type)
                json_object_set_new(o, "content_type", json_string(dv->content_type));
            json_array_append_new(devs, o);
        }
        for (size_t k = 0; out && k < n->nout; k++)
            json_array_append_new(out, json_string(nodes->nodes[n->out_to[k]].name));
        for (size_t k = 0; in && k < n->nin; k++)
            json_array_append_new(in, json_string(nodes->nodes[n->in_from[k]].name));
        json_t *o = json_pack("{s:s, s:I, s:{s:s, s:s, s:s?, s:o}, s:o, s:o, s:o, s:s?}",
                              "name", n->name, "id", (json_int_t)n->id,
                              "exec", "path", n->exec_path, "name", n->argv0, "args", n->args,
                              "env", env ? env : json_null(),
                              "devices", devs ? devs : json_null(),
                              "connect", out ? out : json_null(),
                              "in", in ? in : json_null(),
                              "attach", n->attach >= 0 ? n->devices[n->attach].name : NULL);
        if (!o || json_array_append_new(list, o) < 0)
            oom = true;
    }
    char *s = oom ? NULL : json_dumps(list, JSON_INDENT(2));
    json_decref(list);
    return s;
}
