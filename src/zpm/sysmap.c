/* SPDX-License-Identifier: Apache-2.0 */
/*
 * system.map from zapp.yaml, as the original zpm's _generate_job_desc: one
 * object per group of execution.groups; the group's `path`, `args` and
 * `env` move into `exec`, with exec.args the shell-split words of `args`,
 * each escaped like an nvram value (zvm_nvram_escape) and joined by
 * spaces, and exec.name the program's name (after the last ':' of a
 * file:// path, the object path after the container of a swift:// one).
 * Every other key of the group is passed on unchanged.  Also the `image`
 * device that deploy appends to every group.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "zpm/zpm.h"
#include "zvm/nvram.h"

int zpm_shell_split(const char *s, zpm_strv_t *words, zvm_error_t *err)
{
    zpm_buf_t w = {0};
    bool in_word = false;
    *words = (zpm_strv_t){0};
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f') {
            if (in_word)
                zpm_strv_push(words, zpm_buf_steal(&w));
            in_word = false;
            continue;
        }
        in_word = true;
        if (ch == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end)
                goto unterminated;
            zpm_buf_add(&w, p + 1, (size_t)(end - p - 1));
            p = end;
        } else if (ch == '"') {
            for (p++;; p++) {
                if (!*p)
                    goto unterminated;
                if (*p == '"')
                    break;
                if (*p == '\\' && p[1] && strchr("$`\"\\\n", p[1]))
                    p++;
                zpm_buf_add(&w, p, 1);
            }
        } else if (ch == '\\') {
            if (!p[1]) {
                zpm_buf_release(&w);
                zpm_strv_release(words);
                return zvm_error_set(err, EINVAL, "no character after the final '\\'");
            }
            p++;
            zpm_buf_add(&w, p, 1);
        } else {
            zpm_buf_add(&w, p, 1);
        }
    }
    if (in_word)
        zpm_strv_push(words, zpm_buf_steal(&w));
    zpm_buf_release(&w);
    return 0;
unterminated:
    zpm_buf_release(&w);
    zpm_strv_release(words);
    return zvm_error_set(err, EINVAL, "no closing quotation");
}

int zpm_sysmap_args(const char *args, char **out, zvm_error_t *err)
{
    zpm_strv_t words;
    if (zpm_shell_split(args, &words, err) < 0)
        return -1;
    zpm_buf_t b = {0};
    for (size_t i = 0; i < words.n; i++) {
        char *e = zvm_nvram_escape(words.v[i]);
        if (!e) {
            zpm_buf_release(&b);
            zpm_strv_release(&words);
            return zvm_error_set(err, ENOMEM, "out of memory");
        }
        if (i)
            zpm_buf_add(&b, " ", 1);
        zpm_buf_adds(&b, e);
        free(e);
    }
    zpm_strv_release(&words);
    *out = zpm_buf_steal(&b);
    return 0;
}

char *zpm_sysmap_exec_name(const char *path)
{
    if (strncmp(path, "file://", 7) == 0) {
        const char *colon = strrchr(path + 7, ':');
        return colon && colon[1] ? zpm_xstrdup(colon + 1) : NULL;
    }
    if (strncmp(path, "swift://", 8) == 0) {
        /* swift://acct/cont/obj/with/slashes -> obj/with/slashes */
        const char *p = path + 8;
        for (int i = 0; i < 2 && p; i++) {
            p = strchr(p, '/');
            if (p)
                p++;
        }
        return p && *p ? zpm_xstrdup(p) : NULL;
    }
    return NULL;
}

/* A scalar of exec.env as the string the program will see. */
static json_t *env_value(const json_t *v)
{
    if (json_is_string(v))
        return json_incref((json_t *)v);
    if (json_is_null(v))
        return json_string("");
    if (json_is_true(v))
        return json_string("True");     /* as Python's str() of the original */
    if (json_is_false(v))
        return json_string("False");
    char *t = json_dumps(v, JSON_ENCODE_ANY);
    json_t *s = json_string(t ? t : "");
    free(t);
    return s;
}

json_t *zpm_sysmap_from_zapp(const zpm_zapp_t *z, zvm_error_t *err)
{
    json_t *groups = json_object_get(json_object_get(z->doc, "execution"), "groups");
    json_t *job = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        const char *path = json_string_value(json_object_get(g, "path"));
        json_t *args = json_object_get(g, "args");
        cleanup_free char *escaped = NULL;
        if (zpm_sysmap_args(json_is_string(args) ? json_string_value(args) : "", &escaped, err) < 0) {
            zvm_error_prefix(err, "'execution.groups[%zu].args'", i);
            json_decref(job);
            return NULL;
        }
        json_t *exec = json_object();
        json_object_set_new(exec, "path", json_string(path));
        json_object_set_new(exec, "args", json_string(escaped));
        cleanup_free char *name = zpm_sysmap_exec_name(path);
        if (name)
            json_object_set_new(exec, "name", json_string(name));
        json_t *env = json_object_get(g, "env");
        if (json_is_object(env)) {
            json_t *e = json_object();
            const char *k;
            json_t *v;
            json_object_foreach(env, k, v)
                json_object_set_new(e, k, env_value(v));
            json_object_set_new(exec, "env", e);
        }
        json_t *out = json_object();
        json_object_set(out, "name", json_object_get(g, "name"));
        json_object_set_new(out, "exec", exec);
        const char *k;
        json_t *v;
        json_object_foreach(g, k, v) {
            if (strcmp(k, "name") && strcmp(k, "path") && strcmp(k, "args") && strcmp(k, "env"))
                json_object_set(out, k, v);
        }
        json_array_append_new(job, out);
    }
    return job;
}

static int add_image_one(json_t *g, size_t i, const char *url, zvm_error_t *err)
{
    if (!json_is_object(g))
        return zvm_error_set(err, EINVAL, "group %zu of boot/system.map is not an object", i);
    json_t *devs = json_object_get(g, "devices");
    if (!devs) {
        devs = json_array();
        json_object_set_new(g, "devices", devs);
    }
    if (!json_is_array(devs))
        return zvm_error_set(err, EINVAL, "'devices' of group %zu of boot/system.map is not a list", i);
    json_t *d = json_object();
    json_object_set_new(d, "name", json_string("image"));
    json_object_set_new(d, "path", json_string(url));
    json_array_append_new(devs, d);
    return 0;
}

int zpm_sysmap_add_image(json_t *job, const char *url, zvm_error_t *err)
{
    if (json_is_object(job)) /* one group, as the job parser also accepts */
        return add_image_one(job, 0, url, err);
    if (!json_is_array(job))
        return zvm_error_set(err, EINVAL, "boot/system.map is not a list of groups");
    size_t i;
    json_t *g;
    json_array_foreach(job, i, g) {
        if (add_image_one(g, i, url, err) < 0)
            return -1;
    }
    return 0;
}

char *zpm_json_text(const json_t *j)
{
    char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!t) {
        fputs("zpm: out of memory\n", stderr);
        abort();
    }
    return t;
}
