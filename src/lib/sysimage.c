/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table of system images (include/zvm/sysimage.h): built-in defaults,
 * or a `name = /program` file.
 */
#include "zvm/sysimage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

#define DEFAULT_PYTHON "/usr/bin/python3"
#define TABLE_MAX_SIZE (64u << 10)

static const char *const default_names[] = {"python3", "python", "python2.7"};

static int add(zvm_sysimages_t *t, const char *name, const char *program, zvm_error_t *err)
{
    zvm_sysimage_t *grown = realloc(t->images, (t->count + 1) * sizeof *grown);
    if (!grown)
        return zvm_error_set(err, ENOMEM, "out of memory");
    t->images = grown;
    zvm_sysimage_t *e = &t->images[t->count];
    e->name = strdup(name);
    e->program = strdup(program);
    if (!e->name || !e->program) {
        free(e->name);
        free(e->program);
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    t->count++;
    return 0;
}

int zvm_sysimages_parse(zvm_sysimages_t *t, const char *text, const char *name,
                        zvm_error_t *err)
{
    memset(t, 0, sizeof *t);
    char *copy = strdup(text);
    if (!copy)
        return zvm_error_set(err, ENOMEM, "out of memory");
    unsigned line = 0;
    int rc = 0;
    char *rest = copy;
    for (char *l; rc == 0 && (l = strsep(&rest, "\n")) != NULL;) {
        line++;
        char *s = zvm_trim(l);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = zvm_error_set(err, EINVAL, "%s:%u: line is not 'name = /program'", name, line);
            break;
        }
        *eq = '\0';
        char *key = zvm_trim(s), *program = zvm_trim(eq + 1);
        if (!zvm_is_simple_name(key))
            rc = zvm_error_set(err, EINVAL, "%s:%u: bad system image name '%s'", name, line, key);
        else if (program[0] != '/')
            rc = zvm_error_set(err, EINVAL, "%s:%u: program '%s' is not an absolute path", name,
                               line, program);
        else if (zvm_sysimages_find(t, key))
            rc = zvm_error_set(err, EINVAL, "%s:%u: system image '%s' is named twice", name,
                               line, key);
        else
            rc = add(t, key, program, err);
    }
    free(copy);
    if (rc < 0)
        zvm_sysimages_release(t);
    return rc;
}

int zvm_sysimages_load(zvm_sysimages_t *t, zvm_error_t *err)
{
    const char *path = getenv("ZEROVM_SYSIMAGES");
    if (!path || !*path)
        path = access("/etc/zerovm/sysimages", F_OK) == 0 ? "/etc/zerovm/sysimages" : NULL;
    if (path) {
        char *text = NULL;
        size_t len = 0;
        int rc = zvm_read_file(path, TABLE_MAX_SIZE, &text, &len);
        if (rc < 0)
            return zvm_error_errno(err, -rc, "system images '%s'", path);
        rc = zvm_sysimages_parse(t, text, path, err);
        free(text);
        return rc;
    }
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < sizeof default_names / sizeof default_names[0]; i++)
        if (add(t, default_names[i], DEFAULT_PYTHON, err) < 0) {
            zvm_sysimages_release(t);
            return -1;
        }
    return 0;
}

const zvm_sysimage_t *zvm_sysimages_find(const zvm_sysimages_t *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->images[i].name, name) == 0)
            return &t->images[i];
    return NULL;
}

void zvm_sysimages_release(zvm_sysimages_t *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->images[i].name);
        free(t->images[i].program);
    }
    free(t->images);
    t->images = NULL;
    t->count = 0;
}
