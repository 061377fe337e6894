/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The job description (ZeroCloud's system.map): JSON text -> node groups,
 * and the URLs it names.  Checks what can be checked without storage or
 * system images; expand.c does the rest.  Error messages are the seed's
 * where it had one ("Must specify exec stanza for map").
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "job/internal.h"
#include "lib/util.h"

static const char *const std_devices[] = {
    [ZVM_DEV_STDIN] = "stdin",   [ZVM_DEV_STDOUT] = "stdout", [ZVM_DEV_STDERR] = "stderr",
    [ZVM_DEV_INPUT] = "input",   [ZVM_DEV_OUTPUT] = "output", [ZVM_DEV_IMAGE] = "image",
    [ZVM_DEV_SCRIPT] = "script", [ZVM_DEV_DEBUG] = "debug",
};

zvm_job_devkind_t zvm_job_devkind(const char *name, const zvm_sysimages_t *sysimages)
{
    for (size_t i = 0; i < sizeof std_devices / sizeof *std_devices; i++)
        if (strcmp(name, std_devices[i]) == 0)
            return (zvm_job_devkind_t)i;
    if (sysimages && zvm_sysimages_find(sysimages, name))
        return ZVM_DEV_SYSIMAGE;
    return ZVM_DEV_UNKNOWN;
}

/* A path component that may become part of a host path: not empty, not
 * "." or "..", no NUL (jansson refuses it), no ',' or newline (manifest
 * fields).  Wildcards are checked by the caller. */
static bool good_component(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '\n' || s[i] == '\r')
            return false;
    return true;
}

void zvm_job_url_release(zvm_job_url_t *u)
{
    free(u->account);
    free(u->container);
    free(u->object);
    free(u->image);
    free(u->exe);
    memset(u, 0, sizeof *u);
}

int zvm_job_url_parse(const char *s, zvm_job_url_t *u)
{
    memset(u, 0, sizeof *u);
    if (strncmp(s, "file://", 7) == 0) {
        const char *rest = s + 7, *colon = strchr(rest, ':');
        if (!colon || colon == rest || !colon[1] || strchr(colon + 1, ',') || strchr(rest, '\n'))
            return -1;
        u->is_file = true;
        u->image = strndup(rest, (size_t)(colon - rest));
        u->exe = strdup(colon + 1);
        if (!u->image || !u->exe) {
            zvm_job_url_release(u);
            return -1;
        }
        return 0;
    }
    if (strncmp(s, "swift://", 8) != 0)
        return -1;
    const char *a = s + 8, *slash = strchr(a, '/');
    if (!slash)
        return -1;
    const char *c = slash + 1, *slash2 = strchr(c, '/');
    size_t alen = (size_t)(slash - a), clen = slash2 ? (size_t)(slash2 - c) : strlen(c);
    bool caller = (alen == 1 && (a[0] == '~' || a[0] == '.'));
    if ((!caller && !good_component(a, alen)) || !good_component(c, clen) ||
        memchr(a, '*', alen) || memchr(c, '*', clen))
        return -1;
    if (slash2 && slash2[1]) {
        /* Object: every '/'-separated part must be a good component. */
        for (const char *p = slash2 + 1;;) {
            const char *e = strchr(p, '/');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (!good_component(p, n))
                return -1;
            if (!e)
                break;
            p = e + 1;
        }
    } else if (slash2 && !slash2[1]) {
        slash2 = NULL; /* "swift://a/c/": the container */
    }
    u->account = strndup(a, alen);
    u->container = strndup(c, clen);
    u->object = slash2 ? strdup(slash2 + 1) : NULL;
    if (!u->account || !u->container || (slash2 && !u->object)) {
        zvm_job_url_release(u);
        return -1;
    }
    return 0;
}

/* A simple name that cannot pass for an option or a hidden file. */
static bool good_node_name(const char *s)
{
    return *s != '.' && *s != '-' && zvm_is_simple_name(s);
}

static void group_release(zvm_job_group_t *g)
{
    free(g->name);
    free(g->exec_path);
    free(g->exec_args);
    free(g->exec_name);
    for (size_t i = 0; i < g->nenv; i++) {
        free(g->env[i].name);
        free(g->env[i].value);
    }
    free(g->env);
    for (size_t i = 0; i < g->ndevices; i++) {
        free(g->devices[i].name);
        free(g->devices[i].path);
        free(g->devices[i].content_type);
    }
    free(g->devices);
    for (size_t i = 0; i < g->nconnect; i++)
        free(g->connect[i]);
    free(g->connect);
}

void zvm_job_release(zvm_job_t *job)
{
    for (size_t i = 0; i < job->ngroups; i++)
        group_release(&job->groups[i]);
    free(job->groups);
    memset(job, 0, sizeof *job);
}

#define OOM(err) zvm_error_set(err, ENOMEM, "out of memory")

/* strdup of an optional string member; -1 when present but not a string. */
static int opt_string(json_t *obj, const char *key, char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = strdup(json_string_value(v));
    return *out ? 0 : -2;
}

static int parse_exec(zvm_job_group_t *g, json_t *exec, zvm_error_t *err)
{
    const char *n = g->name;
    if (!json_is_object(exec))
        return zvm_error_set(err, EINVAL, "Must specify exec stanza for %s", n);
    json_t *path = json_object_get(exec, "path");
    if (!json_is_string(path) || !*json_string_value(path))
        return zvm_error_set(err, EINVAL, "Must specify executable path for %s", n);
    zvm_job_url_t u;
    if (zvm_job_url_parse(json_string_value(path), &u) < 0 || (!u.is_file && !u.object)) {
        zvm_job_url_release(&u);
        return zvm_error_set(err, EINVAL, "Invalid path %s in %s", json_string_value(path), n);
    }
    zvm_job_url_release(&u);
    if (!(g->exec_path = strdup(json_string_value(path))))
        return OOM(err);
    int rc = opt_string(exec, "args", &g->exec_args);
    if (rc == -1)
        return zvm_error_set(err, EINVAL, "Invalid args in %s: must be a string", n);
    if (rc == 0 && (rc = opt_string(exec, "name", &g->exec_name)) == -1)
        return zvm_error_set(err, EINVAL, "Invalid exec name in %s: must be a string", n);
    if (rc < 0)
        return OOM(err);
    json_t *env = json_object_get(exec, "env");
    if (env && !json_is_null(env)) {
        if (!json_is_object(env))
            return zvm_error_set(err, EINVAL, "Invalid env in %s: must be an object", n);
        g->env = calloc(json_object_size(env) + 1, sizeof *g->env);
        if (!g->env)
            return OOM(err);
        const char *k;
        json_t *v;
        json_object_foreach(env, k, v) {
            if (!json_is_string(v))
                return zvm_error_set(err, EINVAL, "Invalid env %s in %s: must be a string", k, n);
            zvm_job_env_t *e = &g->env[g->nenv++];
            e->name = strdup(k);
            e->value = strdup(json_string_value(v));
            if (!e->name || !e->value)
                return OOM(err);
        }
    }
    return 0;
}

static int parse_devices(zvm_job_group_t *g, json_t *devs, zvm_error_t *err)
{
    const char *n = g->name;
    if (!devs || json_is_null(devs))
        return 0;
    if (!json_is_array(devs))
        return zvm_error_set(err, EINVAL, "Invalid devices in %s: must be a list", n);
    g->devices = calloc(json_array_size(devs) + 1, sizeof *g->devices);
    if (!g->devices)
        return OOM(err);
    size_t i;
    json_t *d;
    json_array_foreach(devs, i, d) {
        json_t *name = json_object_get(d, "name");
        if (!json_is_object(d) || !json_is_string(name) || !*json_string_value(name))
            return zvm_error_set(err, EINVAL, "Must specify device name in %s", n);
        zvm_job_device_t *dev = &g->devices[g->ndevices++];
        if (!(dev->name = strdup(json_string_value(name))))
            return OOM(err);
        for (size_t j = 0; j + 1 < g->ndevices; j++)
            if (strcmp(g->devices[j].name, dev->name) == 0)
                return zvm_error_set(err, EINVAL, "Duplicate device %s in %s", dev->name, n);
        int rc = opt_string(d, "path", &dev->path);
        if (rc == -1)
            return zvm_error_set(err, EINVAL, "Invalid path in device %s of %s", dev->name, n);
        if (rc == 0 && (rc = opt_string(d, "content_type", &dev->content_type)) == -1)
            return zvm_error_set(err, EINVAL, "Invalid content_type in device %s of %s",
                                 dev->name, n);
        if (rc < 0)
            return OOM(err);
        if (dev->path) {
            zvm_job_url_t u;
            /* A container (no object) is allowed here: only readable
             * devices may take one, which expand.c checks. */
            bool bad = zvm_job_url_parse(dev->path, &u) < 0 || u.is_file;
            zvm_job_url_release(&u);
            if (bad)
                return zvm_error_set(err, EINVAL, "Invalid path %s in %s", dev->path, n);
        }
    }
    return 0;
}

static int parse_group(zvm_job_group_t *g, json_t *o, zvm_error_t *err)
{
    json_t *name = json_is_object(o) ? json_object_get(o, "name") : NULL;
    if (!json_is_string(name) || !*json_string_value(name))
        return zvm_error_set(err, EINVAL, "Must specify node name");
    if (!(g->name = strdup(json_string_value(name))))
        return OOM(err);
    if (!good_node_name(g->name))
        return zvm_error_set(err, EINVAL,
                             "Invalid node name %s: use letters, digits, '.', '_' and '-'",
                             g->name);
    if (parse_exec(g, json_object_get(o, "exec"), err) < 0 ||
        parse_devices(g, json_object_get(o, "devices"), err) < 0)
        return -1;
    json_t *conn = json_object_get(o, "connect");
    if (conn && !json_is_null(conn)) {
        if (!json_is_array(conn))
            return zvm_error_set(err, EINVAL, "Invalid connect in %s: must be a list", g->name);
        g->connect = calloc(json_array_size(conn) + 1, sizeof *g->connect);
        if (!g->connect)
            return OOM(err);
        size_t i;
        json_t *c;
        json_array_foreach(conn, i, c) {
            if (!json_is_string(c))
                return zvm_error_set(err, EINVAL, "Invalid connect in %s: must be a list of names",
                                     g->name);
            if (!(g->connect[g->nconnect++] = strdup(json_string_value(c))))
                return OOM(err);
        }
    }
    g->count = 1;
    json_t *count = json_object_get(o, "count");
    if (count && !json_is_null(count)) {
        if (!json_is_integer(count) || json_integer_value(count) < 1 ||
            json_integer_value(count) > 100000)
            return zvm_error_set(err, EINVAL, "Invalid count in %s: must be an integer 1..100000",
                                 g->name);
        g->count = (unsigned)json_integer_value(count);
    }
    return 0;
}

int zvm_job_parse(zvm_job_t *job, const char *text, size_t len, zvm_error_t *err)
{
    memset(job, 0, sizeof *job);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return zvm_error_set(err, EINVAL, "Cannot parse the job: %s (line %d)", jerr.text,
                             jerr.line);
    if (json_is_object(root)) {
        json_t *list = json_array();
        if (!list || json_array_append(list, root) < 0) {
            json_decref(list);
            json_decref(root);
            return OOM(err);
        }
        json_decref(root);
        root = list;
    }
    int rc = 0;
    if (!json_is_array(root) || json_array_size(root) == 0) {
        rc = zvm_error_set(err, EINVAL, "Config parser cannot resolve any job nodes");
        goto out;
    }
    job->groups = calloc(json_array_size(root), sizeof *job->groups);
    if (!job->groups) {
        rc = OOM(err);
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(root, i, o) {
        zvm_job_group_t *g = &job->groups[job->ngroups++];
        if ((rc = parse_group(g, o, err)) < 0)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (strcmp(job->groups[j].name, g->name) == 0) {
                rc = zvm_error_set(err, EINVAL, "Duplicate node name %s", g->name);
                goto out;
            }
    }
out:
    json_decref(root);
    if (rc < 0)
        zvm_job_release(job);
    return rc;
}
