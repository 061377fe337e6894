/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A node -> what `zerovm` needs: a manifest and an nvram in the work
 * directory, a FIFO per stream, a temporary object per output.
 *
 * Channels (every limit 4 GiB, writes to stdout, stderr, output and debug
 * at most max_output when set; etags off):
 *   /dev/stdin   type 0  the object, else the caller's stdin_path (a request
 *                        body), else /dev/null
 *   /dev/stdout  type 0  the output object; without a path the immediate
 *                        output (stdout.N); not declared: /dev/null
 *   /dev/stderr  type 0  likewise (stderr.N); not declared: stderr.N too,
 *                        shown by zvapp only when the node fails
 *   /dev/input   type 1  (random read), /dev/output type 2 (random write),
 *   /dev/script  type 1, /dev/debug type 0: only when declared
 *   /dev/image   type 1  the app tar (every node) or the device's object,
 *                        mounted at / through nvram [fstab]
 *   /dev/out/<r> type 0  write end of the FIFO pipe.<me>.<r> (ids)
 *   /dev/in/<w>  type 0  read end of pipe.<w>.<me>
 *   /dev/nvram           nvram.N
 * Program: the system image's program for file://image:exe (argv[0] is exe
 * or exec.name), the object's file for swift://.  [args] is argv[0] and the
 * words of exec.args (nvram-escaped, split on spaces); [env] is the
 * caller's variables (options.env), then LOCAL_OBJECT, LOCAL_PATH_INFO,
 * LOCAL_CONTENT_TYPE, LOCAL_CONTENT_LENGTH, LOCAL_HTTP_ETAG and
 * LOCAL_HTTP_<metadata> for a node attached to an object, then exec.env; a
 * later variable replaces an earlier one of the same name.
 *
 * A readable device whose path is a container gets the storage's SQLite
 * listing of it (open_container).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/internal.h"
#include "lib/util.h"
#include "zvm/nvram.h"

#define LIM "4294967296"
#define OOM(err) zvm_error_set(err, ENOMEM, "out of memory")

static char *work_file(const char *dir, const char *name, unsigned id)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s.%u", dir, name, id) < 0)
        return NULL;
    return p;
}

static bool channel_safe(const char *s)
{
    return !strchr(s, ',') && !strchr(s, '\n') && !strchr(s, '\r');
}

static int write_text(const char *path, const char *text, zvm_error_t *err)
{
    int fd = zvm_open_retry(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot write '%s'", path);
    int rc = zvm_write_all(fd, text, strlen(text));
    close(fd);
    if (rc < 0)
        return zvm_error_errno(err, -rc, "cannot write '%s'", path);
    return 0;
}

static int add_output(zvm__plan_node_t *pn, zvm_storage_t *st, const zvm_job_node_device_t *d,
                      const char **uri, zvm_error_t *err)
{
    zvm_storage_output_t *grown = realloc(pn->outputs, (pn->noutputs + 1) * sizeof *grown);
    if (!grown)
        return OOM(err);
    pn->outputs = grown;
    if (st->create(st, d->account, d->container, d->object, &pn->outputs[pn->noutputs], err) < 0)
        return -1;
    pn->outputs[pn->noutputs].content_type = d->content_type;
    *uri = pn->outputs[pn->noutputs++].host_path;
    return 0;
}

void zvm_object_info_release(zvm_object_info_t *info)
{
    for (size_t i = 0; i < info->nmeta; i++) {
        free(info->meta[i].name);
        free(info->meta[i].value);
    }
    free(info->meta);
    info->meta = NULL;
    info->nmeta = 0;
}

/* A node's [env]: names and values borrowed, or owned (in `owned`). */
typedef struct node_env {
    zvm_nvram_env_t *v;
    size_t n, cap;
    char **owned;
    size_t nowned, owned_cap;
} node_env_t;

/* Set name=value, replacing an earlier variable of that name. */
static int env_set(node_env_t *e, const char *name, const char *value)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->v[i].name, name) == 0) {
            e->v[i].value = (char *)value;
            return 0;
        }
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        zvm_nvram_env_t *g = realloc(e->v, cap * sizeof *g);
        if (!g)
            return -1;
        e->v = g;
        e->cap = cap;
    }
    e->v[e->n++] = (zvm_nvram_env_t){(char *)name, (char *)value};
    return 0;
}

/* Keep s (malloc'd, may be NULL) until the env is released; returns s. */
static char *env_own(node_env_t *e, char *s)
{
    if (!s)
        return NULL;
    if (e->nowned == e->owned_cap) {
        size_t cap = e->owned_cap ? 2 * e->owned_cap : 8;
        char **g = realloc(e->owned, cap * sizeof *g);
        if (!g) {
            free(s);
            return NULL;
        }
        e->owned = g;
        e->owned_cap = cap;
    }
    return e->owned[e->nowned++] = s;
}

static void env_release(node_env_t *e)
{
    for (size_t i = 0; i < e->nowned; i++)
        free(e->owned[i]);
    free(e->owned);
    free(e->v);
}

static int plan_node(zvm__plan_t *p, size_t idx, const zvm_job_nodes_t *nodes, zvm_storage_t *st,
                     const zvm_sysimages_t *sysimages, const zvm_job_options_t *opt,
                     const char *work, zvm_error_t *err)
{
    const zvm_job_node_t *n = &nodes->nodes[idx];
    zvm__plan_node_t *pn = &p->nodes[idx];
    zvm__sb_t m = {0};
    int rc = -1;
    cleanup_free char *program = NULL;
    char **inputs = NULL;       /* host paths of read objects, owned */
    size_t ninputs = 0;
    const char *image_uri = opt->image_tar;
    zvm_object_info_t attach_info = {0};
    const char *attach_type = NULL;
    char wlim[32];
    snprintf(wlim, sizeof wlim, "%llu",
             (unsigned long long)(opt->max_output ? opt->max_output : 4294967296ull));
    zvm_nvram_t nv = {0};
    node_env_t env = {0};
    char *nvtext = NULL;

    pn->manifest = work_file(work, "manifest", n->id);
    pn->nvram = work_file(work, "nvram", n->id);
    pn->report = work_file(work, "report", n->id);
    pn->zerovm_err = work_file(work, "zerovm-stderr", n->id);
    if (!pn->manifest || !pn->nvram || !pn->report || !pn->zerovm_err)
        return OOM(err);

    zvm_job_url_t eu;
    if (zvm_job_url_parse(n->exec_path, &eu) < 0)
        return zvm_error_set(err, EINVAL, "Invalid path %s in %s", n->exec_path, n->name);
    if (eu.is_file) {
        const zvm_sysimage_t *si = zvm_sysimages_find(sysimages, eu.image);
        if (!si)
            rc = zvm_error_set(err, EINVAL, "Invalid path %s in %s (no such system image)",
                               n->exec_path, n->name);
        else if (!(program = strdup(si->program)))
            rc = OOM(err);
        else
            rc = 0;
    } else {
        rc = st->open_program
                 ? st->open_program(st, eu.account, eu.container, eu.object, &program, err)
                 : st->open_read(st, eu.account, eu.container, eu.object, &program, NULL, err);
    }
    zvm_job_url_release(&eu);
    if (rc < 0)
        return -1;
    rc = -1;

    const char *std_uri[3] = {"/dev/null", "/dev/null", "/dev/null"};
    inputs = calloc(n->ndevices + 1, sizeof *inputs);
    if (!inputs) {
        OOM(err);
        goto out;
    }
    zvm__sb_addf(&m, "Version = 20130611\nTimeout = %u\nMemory = %llu,0\nProgram = %s\n",
                 opt->timeout ? opt->timeout : 300,
                 (unsigned long long)(opt->memory ? opt->memory : (1ull << 30)), program);
    zvm__sb_t extra = {0};
    for (size_t i = 0; i < n->ndevices; i++) {
        const zvm_job_node_device_t *d = &n->devices[i];
        const char *uri = "/dev/null";
        if (d->kind == ZVM_DEV_SYSIMAGE)
            continue;
        if (d->object && zvm__devkind_readable(d->kind)) {
            zvm_object_info_t info = {0};
            if (st->open_read(st, d->account, d->container, d->object, &inputs[ninputs], &info,
                              err) < 0) {
                zvm_object_info_release(&info);
                goto out_extra;
            }
            uri = inputs[ninputs++];
            if ((int)i == n->attach) {
                zvm_object_info_release(&attach_info);
                attach_info = info;
                attach_type = d->content_type ? d->content_type : attach_info.content_type;
            } else {
                zvm_object_info_release(&info);
            }
        } else if (d->container && !d->object) {
            if (!st->open_container) {
                zvm_error_set(err, EINVAL, "Invalid path swift://%s/%s in %s (this storage has no container listings)",
                              d->account, d->container, n->name);
                goto out_extra;
            }
            if (st->open_container(st, d->account, d->container, &inputs[ninputs], err) < 0)
                goto out_extra;
            uri = inputs[ninputs++];
        } else if (d->object) {
            if (add_output(pn, st, d, &uri, err) < 0)
                goto out_extra;
        } else if (d->kind == ZVM_DEV_STDOUT || d->kind == ZVM_DEV_STDERR) {
            char **slot = d->kind == ZVM_DEV_STDOUT ? &pn->stdout_path : &pn->stderr_path;
            *slot = work_file(work, d->kind == ZVM_DEV_STDOUT ? "stdout" : "stderr", n->id);
            if (!*slot) {
                OOM(err);
                goto out_extra;
            }
            int fd = zvm_open_retry(*slot, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0) {
                zvm_error_errno(err, errno, "cannot create '%s'", *slot);
                goto out_extra;
            }
            close(fd);
            uri = *slot;
        } else if (d->kind == ZVM_DEV_IMAGE) {
            continue; /* the app tar, when there is one (below) */
        } else if (d->kind == ZVM_DEV_STDIN && opt->stdin_path) {
            uri = opt->stdin_path;
        }
        if (!channel_safe(uri)) {
            zvm_error_set(err, EINVAL, "Invalid path for device %s in %s: ',' or newline in '%s'",
                          d->name, n->name, uri);
            goto out_extra;
        }
        switch (d->kind) {
        case ZVM_DEV_STDIN: std_uri[0] = uri; break;
        case ZVM_DEV_STDOUT: std_uri[1] = uri; break;
        case ZVM_DEV_STDERR: std_uri[2] = uri; break;
        case ZVM_DEV_INPUT:
            zvm__sb_addf(&extra, "Channel = %s,/dev/input,1,0," LIM "," LIM ",0,0\n", uri);
            break;
        case ZVM_DEV_SCRIPT:
            zvm__sb_addf(&extra, "Channel = %s,/dev/script,1,0," LIM "," LIM ",0,0\n", uri);
            break;
        case ZVM_DEV_OUTPUT:
            zvm__sb_addf(&extra, "Channel = %s,/dev/output,2,0,0,0," LIM ",%s\n", uri, wlim);
            break;
        case ZVM_DEV_DEBUG:
            zvm__sb_addf(&extra, "Channel = %s,/dev/debug,0,0,0,0," LIM ",%s\n", uri, wlim);
            break;
        case ZVM_DEV_IMAGE:
            image_uri = uri; /* the device's own object wins over the app tar */
            break;
        default:
            break;
        }
    }
    bool stderr_declared = false;
    for (size_t i = 0; i < n->ndevices; i++)
        stderr_declared |= n->devices[i].kind == ZVM_DEV_STDERR;
    if (!stderr_declared) {
        /* Kept in the work directory: zvapp shows it when the node fails. */
        pn->log_path = work_file(work, "stderr", n->id);
        int fd = pn->log_path ? zvm_open_retry(pn->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                              : -1;
        if (fd < 0) {
            zvm_error_errno(err, pn->log_path ? errno : ENOMEM, "cannot create a stderr file");
            goto out_extra;
        }
        close(fd);
        std_uri[2] = pn->log_path;
    }
    zvm__sb_addf(&m, "Channel = %s,/dev/stdin,0,0," LIM "," LIM ",0,0\n", std_uri[0]);
    zvm__sb_addf(&m, "Channel = %s,/dev/stdout,0,0,0,0," LIM ",%s\n", std_uri[1], wlim);
    zvm__sb_addf(&m, "Channel = %s,/dev/stderr,0,0,0,0," LIM ",%s\n", std_uri[2], wlim);
    if (extra.s)
        zvm__sb_add(&m, extra.s);
    if (image_uri) {
        if (!channel_safe(image_uri)) {
            zvm_error_set(err, EINVAL, "image path '%s': ',' or newline", image_uri);
            goto out_extra;
        }
        zvm__sb_addf(&m, "Channel = %s,/dev/image,1,0," LIM "," LIM ",0,0\n", image_uri);
    }
    for (size_t k = 0; k < n->nout; k++) {
        int s = zvm__stream_index(p, idx, n->out_to[k]);
        zvm__sb_addf(&m, "Channel = %s,/dev/out/%s,0,0,0,0," LIM "," LIM "\n",
                     p->streams[s].path, nodes->nodes[n->out_to[k]].name);
    }
    for (size_t k = 0; k < n->nin; k++) {
        int s = zvm__stream_index(p, n->in_from[k], idx);
        zvm__sb_addf(&m, "Channel = %s,/dev/in/%s,0,0," LIM "," LIM ",0,0\n", p->streams[s].path,
                     nodes->nodes[n->in_from[k]].name);
    }
    zvm__sb_addf(&m, "Channel = %s,/dev/nvram,0,0," LIM "," LIM ",0,0\n", pn->nvram);

    /* nvram: args, env, fstab. */
    size_t nwords = 0;
    char *args_copy = n->args ? strdup(n->args) : NULL;
    if (n->args && !args_copy) {
        OOM(err);
        goto out_extra;
    }
    nv.args = calloc((n->args ? strlen(n->args) : 0) + 2, sizeof *nv.args);
    zvm_nvram_fstab_t fstab = {.channel = "/dev/image", .mountpoint = "/"};
    if (!nv.args) {
        free(args_copy);
        OOM(err);
        goto out_args;
    }
    nv.args[nwords++] = n->argv0;
    for (char *save = NULL, *w = args_copy ? strtok_r(args_copy, " \t", &save) : NULL; w;
         w = strtok_r(NULL, " \t", &save)) {
        char *u = zvm_nvram_unescape(w, strlen(w));
        if (!u) {
            zvm_error_set(err, EINVAL, "Invalid args in %s: bad escape in '%s'", n->name, w);
            free(args_copy);
            goto out_args;
        }
        nv.args[nwords++] = u;
    }
    free(args_copy);
    nv.nargs = nwords;
    bool env_oom = false;
    for (size_t i = 0; i < opt->nenv; i++)
        env_oom |= env_set(&env, opt->env[i].name, opt->env[i].value) < 0;
    if (n->attach >= 0) {
        const zvm_job_node_device_t *d = &n->devices[n->attach];
        char *path = NULL, *size = NULL;
        if (asprintf(&path, "/%s/%s/%s", d->account, d->container, d->object) < 0)
            path = NULL;
        if (asprintf(&size, "%llu", (unsigned long long)attach_info.size) < 0)
            size = NULL;
        env_own(&env, path);
        env_own(&env, size);
        env_oom |= !path || !size;
        env_oom |= env_set(&env, "LOCAL_OBJECT", "on") < 0;
        env_oom |= path && env_set(&env, "LOCAL_PATH_INFO", path) < 0;
        env_oom |= env_set(&env, "LOCAL_CONTENT_TYPE", attach_type ? attach_type : "") < 0;
        env_oom |= size && env_set(&env, "LOCAL_CONTENT_LENGTH", size) < 0;
        if (attach_info.etag[0])
            env_oom |= env_set(&env, "LOCAL_HTTP_ETAG", attach_info.etag) < 0;
        for (size_t i = 0; i < attach_info.nmeta; i++) {
            char *name = NULL;
            if (asprintf(&name, "LOCAL_HTTP_%s", attach_info.meta[i].name) < 0)
                name = NULL;
            env_oom |= !env_own(&env, name) || env_set(&env, name, attach_info.meta[i].value) < 0;
        }
    }
    for (size_t i = 0; i < n->nenv; i++)
        env_oom |= env_set(&env, n->env[i].name, n->env[i].value) < 0;
    if (env_oom) {
        OOM(err);
        goto out_args;
    }
    nv.env = env.v;
    nv.nenv = env.n;
    if (image_uri) {
        nv.fstab = &fstab;
        nv.nfstab = 1;
    }
    nvtext = zvm_nvram_format(&nv);
    char *mtext = zvm__sb_finish(&m);
    if (!nvtext || !mtext) {
        free(mtext);
        OOM(err);
        goto out_args;
    }
    rc = write_text(pn->nvram, nvtext, err);
    if (rc == 0)
        rc = write_text(pn->manifest, mtext, err);
    free(mtext);
out_args:
    for (size_t i = 1; i < nwords; i++)
        free(nv.args[i]);
    free(nv.args);
    env_release(&env);
    free(nvtext);
out_extra:
    free(zvm__sb_finish(&extra));
out:
    free(zvm__sb_finish(&m));
    for (size_t i = 0; i < ninputs; i++)
        free(inputs[i]);
    free(inputs);
    zvm_object_info_release(&attach_info);
    return rc;
}

int zvm__stream_index(const zvm__plan_t *p, size_t writer, size_t reader)
{
    for (size_t i = 0; i < p->nstreams; i++)
        if (p->streams[i].writer == writer && p->streams[i].reader == reader)
            return (int)i;
    return -1;
}

static int make_streams(zvm__plan_t *p, const zvm_job_nodes_t *nodes, const char *work,
                        zvm_error_t *err)
{
    size_t total = 0;
    for (size_t i = 0; i < nodes->count; i++)
        total += nodes->nodes[i].nout;
    p->streams = calloc(total + 1, sizeof *p->streams);
    if (!p->streams)
        return OOM(err);
    for (size_t i = 0; i < nodes->count; i++)
        for (size_t k = 0; k < nodes->nodes[i].nout; k++) {
            size_t r = nodes->nodes[i].out_to[k];
            zvm__stream_t *s = &p->streams[p->nstreams++];
            s->writer = i;
            s->reader = r;
            if (asprintf(&s->path, "%s/pipe.%u.%u", work, nodes->nodes[i].id,
                         nodes->nodes[r].id) < 0) {
                s->path = NULL;
                return OOM(err);
            }
            if (asprintf(&s->spare, "%s.null", s->path) < 0) {
                s->spare = NULL;
                return OOM(err);
            }
            unlink(s->path); /* left by an earlier run in a kept work directory */
            unlink(s->spare);
            if (mkfifo(s->path, 0600) < 0)
                return zvm_error_errno(err, errno, "cannot create the FIFO '%s'", s->path);
            if (symlink("/dev/null", s->spare) < 0)
                return zvm_error_errno(err, errno, "cannot create '%s'", s->spare);
        }
    return 0;
}

int zvm__plan_build(zvm__plan_t *p, const zvm_job_nodes_t *nodes, zvm_storage_t *st,
                    const zvm_sysimages_t *sysimages, const zvm_job_options_t *opt,
                    const char *work_dir, zvm_error_t *err)
{
    memset(p, 0, sizeof *p);
    if (!channel_safe(work_dir))
        return zvm_error_set(err, EINVAL, "work directory '%s': ',' or newline cannot be in a channel",
                             work_dir);
    if (opt->image_tar && !channel_safe(opt->image_tar))
        return zvm_error_set(err, EINVAL, "image '%s': ',' or newline cannot be in a channel",
                             opt->image_tar);
    p->nodes = calloc(nodes->count + 1, sizeof *p->nodes);
    if (!p->nodes)
        return OOM(err);
    p->count = nodes->count;
    if (make_streams(p, nodes, work_dir, err) < 0)
        return -1;
    for (size_t i = 0; i < nodes->count; i++)
        if (plan_node(p, i, nodes, st, sysimages, opt, work_dir, err) < 0)
            /* A missing object (or one the storage refuses) keeps its
             * exact message ("Error 404 Not Found while fetching /a/c/o"). */
            return err->code == ENOENT || err->code == EACCES
                       ? -1
                       : zvm_error_prefix(err, "node %s", nodes->nodes[i].name);
    return 0;
}

int zvm__plan_finish_outputs(zvm__plan_t *p, zvm_storage_t *st, bool ok, zvm_error_t *err)
{
    int rc = 0;
    for (size_t i = 0; i < p->count; i++)
        for (size_t k = 0; k < p->nodes[i].noutputs; k++) {
            zvm_storage_output_t *o = &p->nodes[i].outputs[k];
            if (!o->host_path)
                continue;
            if (ok && rc == 0) {
                if (st->commit(st, o, err) < 0)
                    rc = -1;
            } else {
                st->abort(st, o);
            }
        }
    return rc;
}

void zvm__plan_release(zvm__plan_t *p)
{
    for (size_t i = 0; i < p->count; i++) {
        zvm__plan_node_t *pn = &p->nodes[i];
        free(pn->manifest);
        free(pn->nvram);
        free(pn->report);
        free(pn->zerovm_err);
        free(pn->stdout_path);
        free(pn->stderr_path);
        free(pn->log_path);
        free(pn->outputs);
    }
    free(p->nodes);
    for (size_t i = 0; i < p->nstreams; i++) {
        free(p->streams[i].path);
        free(p->streams[i].spare);
    }
    free(p->streams);
    memset(p, 0, sizeof *p);
}
