/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions: turning a manifest (and the nvram it names) into the data an
 * engine runs, opening channels in a safe order and preparing images.
 * Contract in include/zvm/session.h.
 */
#include "zvm/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "zvm/image.h"

#define NVRAM_ALIAS "/dev/nvram"
#define TCP_CONNECT_TIMEOUT_MS 10000

int zvm_session_find_channel(const zvm_session_t *s, const char *alias)
{
    const zvm_channel_spec_t *c = zvm_manifest_find_alias(&s->manifest, alias);
    return c ? (int)(c - s->manifest.channels) : -1;
}

int zvm_session_mapping(const zvm_session_t *s, size_t channel)
{
    const zvm_nvram_mapping_t *m =
        zvm_nvram_find_mapping(&s->nvram, s->manifest.channels[channel].alias);
    return m ? (int)m->mode : -1;
}

static char **strv_new(size_t n)
{
    return calloc(n + 1, sizeof(char *));
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static int load_nvram(zvm_session_t *s, zvm_error_t *err)
{
    int i = zvm_session_find_channel(s, NVRAM_ALIAS);
    if (i < 0)
        return 0;
    const zvm_channel_spec_t *c = &s->manifest.channels[i];
    if (c->is_tcp)
        return zvm_error_set(err, EINVAL, "channel '%s': nvram must be a file, not '%s'",
                             NVRAM_ALIAS, c->uri);
    return zvm_nvram_load(&s->nvram, c->uri, err);
}

static int build_argv_envp(zvm_session_t *s, zvm_error_t *err)
{
    const zvm_nvram_t *nv = &s->nvram;
    if (nv->nargs > 0) {
        s->argv = strv_new(nv->nargs);
        for (size_t i = 0; s->argv && i < nv->nargs; i++)
            if (!(s->argv[i] = strdup(nv->args[i])))
                goto oom;
    } else {
        const char *base = strrchr(s->manifest.program, '/');
        s->argv = strv_new(1);
        if (s->argv && !(s->argv[0] = strdup(base ? base + 1 : s->manifest.program)))
            goto oom;
    }
    if (!s->argv)
        goto oom;
    s->envp = strv_new(nv->nenv);
    if (!s->envp)
        goto oom;
    for (size_t i = 0; i < nv->nenv; i++) {
        if (strchr(nv->env[i].name, '=') || !nv->env[i].name[0])
            return zvm_error_set(err, EINVAL, "nvram: bad environment variable name '%s'",
                                 nv->env[i].name);
        if (asprintf(&s->envp[i], "%s=%s", nv->env[i].name, nv->env[i].value) < 0) {
            s->envp[i] = NULL;
            goto oom;
        }
    }
    return 0;
oom:
    return zvm_error_set(err, ENOMEM, "out of memory");
}

static int check_fstab(zvm_session_t *s, zvm_error_t *err)
{
    for (size_t i = 0; i < s->nvram.nfstab; i++) {
        const zvm_nvram_fstab_t *f = &s->nvram.fstab[i];
        int c = zvm_session_find_channel(s, f->channel);
        if (c < 0)
            return zvm_error_set(err, EINVAL, "nvram:%u: fstab channel '%s' is not declared in the manifest",
                                 f->line, f->channel);
        if (zvm_path_form(f->mountpoint) != ZVM_PATH_CLEAN)
            return zvm_error_set(err, EINVAL, "nvram:%u: bad mountpoint '%s': must be an absolute path without '.' or '..' parts",
                                 f->line, f->mountpoint);
        if (s->manifest.channels[c].is_tcp)
            return zvm_error_set(err, EINVAL, "nvram:%u: fstab channel '%s' is a tcp channel, not an image",
                                 f->line, f->channel);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->nvram.fstab[j].mountpoint, f->mountpoint) == 0)
                return zvm_error_set(err, EINVAL, "nvram:%u: mountpoint '%s' is used twice",
                                     f->line, f->mountpoint);
    }
    return 0;
}

static int check_program(zvm_session_t *s, zvm_report_t *r, zvm_error_t *err)
{
    struct stat st;
    const char *p = s->manifest.program;
    if (stat(p, &st) < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_NOT_FOUND, "%s", p);
        return zvm_error_errno(err, errno, "program '%s'", p);
    }
    /* Readable is enough here: a wasm module need not be executable; the
     * native engine checks that its ELF program is. */
    if (!S_ISREG(st.st_mode) || access(p, R_OK) < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_NOT_FOUND, "%s", p);
        return zvm_error_set(err, EACCES, "program '%s' is not a readable file", p);
    }
    return 0;
}

int zvm_session_load(zvm_session_t *s, const char *manifest_path, zvm_report_t *r,
                     zvm_error_t *err)
{
    memset(s, 0, sizeof *s);
    if (zvm_manifest_load(&s->manifest, manifest_path, err) < 0 || load_nvram(s, err) < 0 ||
        check_fstab(s, err) < 0 || build_argv_envp(s, err) < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_BAD_MANIFEST, "%s", err->msg);
        return -1;
    }
    if (s->manifest.job) {
        zvm_error_set(err, ENOTSUP, "%s: Job (daemon mode) is not supported yet",
                      s->manifest.name);
        zvm_report_set_exit(r, ZVM_EXIT_BAD_MANIFEST, "%s", err->msg);
        return -1;
    }
    s->verbosity = s->nvram.verbosity;
    return check_program(s, r, err);
}

static int open_channels(zvm_session_t *s, zvm_error_t *err)
{
    size_t n = s->manifest.nchannels;
    s->channels = calloc(n, sizeof *s->channels);
    if (!s->channels)
        return zvm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s->channels[i].fd = -1;
    s->nchannels = n;
    /* Pass 0 opens what is only read, pass 1 what is written: a channel
     * that cannot be opened stops the session before any output is created
     * or truncated. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const zvm_channel_spec_t *c = &s->manifest.channels[i];
            bool writes = c->limits[ZVM_LIMIT_PUTS] && c->limits[ZVM_LIMIT_PUT_SIZE];
            if (writes != (pass == 1))
                continue;
            if (zvm_channel_open(&s->channels[i], c, TCP_CONNECT_TIMEOUT_MS, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int cmp_mount(const void *a, const void *b)
{
    return strcmp(((const zvm_mount_t *)a)->target, ((const zvm_mount_t *)b)->target);
}

static int prepare_mounts(zvm_session_t *s, zvm_error_t *err)
{
    size_t n = s->nvram.nfstab;
    if (n == 0)
        return 0;
    s->mounts = calloc(n, sizeof *s->mounts);
    if (!s->mounts)
        return zvm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const zvm_nvram_fstab_t *f = &s->nvram.fstab[i];
        int c = zvm_session_find_channel(s, f->channel);
        zvm_mount_t *m = &s->mounts[s->nmounts];
        m->hold = -1;
        if (!(m->target = strdup(f->mountpoint)))
            return zvm_error_set(err, ENOMEM, "out of memory");
        s->nmounts++;
        m->rw = f->rw;
        if (s->channels[c].kind == ZVM_CHANNEL_DIR) {
            if (!(m->source = realpath(s->manifest.channels[c].uri, NULL)))
                return zvm_error_errno(err, errno, "image '%s'", s->manifest.channels[c].uri);
            continue;
        }
        if (!s->cache_dir && !(s->cache_dir = zvm_cache_dir(err)))
            return -1;
        if (zvm_image_unpack(s->manifest.channels[c].uri, s->cache_dir, s->manifest.memory,
                             &m->source, &m->hold, err) < 0)
            return -1;
    }
    /* Sorted by target, a parent ("/usr") sorts before its children. */
    qsort(s->mounts, s->nmounts, sizeof *s->mounts, cmp_mount);
    return 0;
}

int zvm_session_open(zvm_session_t *s, zvm_report_t *r, zvm_error_t *err)
{
    if (open_channels(s, err) < 0 || prepare_mounts(s, err) < 0) {
        zvm_report_set_exit(r, ZVM_EXIT_BAD_MANIFEST, "%s", err->msg);
        return -1;
    }
    return 0;
}

int zvm_session_account(const zvm_session_t *s, zvm_report_t *r)
{
    const char *quota_alias = NULL;
    for (size_t i = 0; i < s->nchannels; i++) {
        const zvm_channel_t *ch = &s->channels[i];
        int base = zvm_channel_is_network(ch) ? ZVM_ACCT_NET_READS : ZVM_ACCT_READS;
        r->acct[base + 0] += ch->used[ZVM_LIMIT_GETS];
        r->acct[base + 1] += ch->used[ZVM_LIMIT_GET_SIZE];
        r->acct[base + 2] += ch->used[ZVM_LIMIT_PUTS];
        r->acct[base + 3] += ch->used[ZVM_LIMIT_PUT_SIZE];
        if (ch->quota_hit && !quota_alias)
            quota_alias = ch->spec->alias;
        if (ch->md5) {
            char hex[33];
            zvm_channel_etag(ch, hex);
            if (zvm_report_add_etag(r, ch->spec->alias, hex) < 0)
                return -ENOMEM;
        }
    }
    if (quota_alias && r->exit_state == ZVM_EXIT_OK)
        zvm_report_set_exit(r, ZVM_EXIT_QUOTA, "%s", quota_alias);
    return 0;
}

bool zvm_session_stdout_unterminated(const zvm_session_t *s)
{
    for (size_t i = 0; i < s->nchannels; i++)
        if (strcmp(s->manifest.channels[i].uri, "/dev/stdout") == 0 && s->channels[i].last_byte >= 0 &&
            s->channels[i].last_byte != '\n')
            return true;
    return false;
}

void zvm_session_release(zvm_session_t *s)
{
    for (size_t i = 0; i < s->nchannels; i++)
        zvm_channel_close(&s->channels[i]);
    free(s->channels);
    for (size_t i = 0; i < s->nmounts; i++) {
        free(s->mounts[i].source);
        free(s->mounts[i].target);
        if (s->mounts[i].hold >= 0)
            close(s->mounts[i].hold);
    }
    free(s->mounts);
    strv_free(s->argv);
    strv_free(s->envp);
    free(s->cache_dir);
    if (s->engine_data && s->engine_data_release)
        s->engine_data_release(s->engine_data);
    zvm_nvram_release(&s->nvram);
    zvm_manifest_release(&s->manifest);
    memset(s, 0, sizeof *s);
}
