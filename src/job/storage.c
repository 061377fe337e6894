/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local storage stand-in: swift://acct/cont/obj is the file
 * <root>/acct/cont/obj (an object name with '/' is a path below the
 * container).  Listing walks the container directory and sorts bytewise,
 * as Swift lists.  An output is a ".zvapp-tmp.<name>.XXXXXX" file next to
 * its target, made visible by rename(2) on commit and unlinked on abort, so
 * a reader never sees half an object and a failed job never replaces one.
 * Metadata: the size, and a content type guessed from the name's extension
 * (a directory keeps no other).  A root that does not exist is an empty
 * store (outputs to it fail); it is never created.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/internal.h"
#include "lib/util.h"

#define TMP_PREFIX ".zvapp-tmp."

typedef struct local_storage {
    zvm_storage_t vt;
    char *root;
} local_storage_t;

static char *object_path(local_storage_t *ls, const char *a, const char *c, const char *o)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s/%s%s%s", ls->root, a, c, o ? "/" : "", o ? o : "") < 0)
        return NULL;
    return p;
}

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list_t;

static int push_name(name_list_t *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

/* Collect regular files below dir (relative names prefix/...). */
static int walk(int dir_fd, const char *prefix, const char *pattern, name_list_t *l, int depth,
                zvm_error_t *err)
{
    if (depth > 64)
        return 0;
    DIR *d = fdopendir(dir_fd);
    if (!d) {
        close(dir_fd);
        return zvm_error_errno(err, errno, "cannot list '%s'", prefix);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) < 0)
            continue;
        char *name = NULL;
        if (asprintf(&name, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name) < 0) {
            rc = zvm_error_set(err, ENOMEM, "out of memory");
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub >= 0)
                rc = walk(sub, name, pattern, l, depth + 1, err);
            free(name);
        } else if (S_ISREG(st.st_mode) && (!pattern || fnmatch(pattern, name, 0) == 0)) {
            if (push_name(l, name) < 0) {
                free(name);
                rc = zvm_error_set(err, ENOMEM, "out of memory");
            }
        } else {
            free(name);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int local_list(zvm_storage_t *st, const char *acct, const char *cont, const char *pattern,
                      char ***names, size_t *count, zvm_error_t *err)
{
    local_storage_t *ls = (local_storage_t *)st;
    *names = NULL;
    *count = 0;
    cleanup_free char *dir = object_path(ls, acct, cont, NULL);
    if (!dir)
        return zvm_error_set(err, ENOMEM, "out of memory");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0
                                                   : zvm_error_errno(err, errno, "cannot list '%s'", dir);
    name_list_t l = {0};
    if (walk(fd, "", pattern, &l, 0, err) < 0) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
        return -1;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_names);
    *names = l.v;
    *count = l.n;
    return 0;
}

static void guess_type(const char *name, char *out, size_t size)
{
    static const char *const table[][2] = {
        {".txt", "text/plain"},         {".json", "application/json"},
        {".tar", "application/x-tar"},  {".zapp", "application/x-tar"},
        {".gz", "application/x-gzip"},  {".html", "text/html"},
        {".py", "text/x-python"},       {".wasm", "application/wasm"},
        {".csv", "text/csv"},
    };
    const char *dot = strrchr(name, '.');
    const char *type = "application/octet-stream";
    for (size_t i = 0; dot && i < sizeof table / sizeof *table; i++)
        if (strcmp(dot, table[i][0]) == 0)
            type = table[i][1];
    snprintf(out, size, "%s", type);
}

static int local_open_read(zvm_storage_t *st, const char *acct, const char *cont, const char *obj,
                           char **host_path, zvm_object_info_t *info, zvm_error_t *err)
{
    local_storage_t *ls = (local_storage_t *)st;
    *host_path = NULL;
    char *p = object_path(ls, acct, cont, obj);
    if (!p)
        return zvm_error_set(err, ENOMEM, "out of memory");
    struct stat sb;
    const char *base = strrchr(obj, '/');
    base = base ? base + 1 : obj;
    if (stat(p, &sb) < 0 || !S_ISREG(sb.st_mode) ||
        strncmp(base, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
        free(p);
        return zvm_error_set(err, ENOENT, "Error 404 Not Found while fetching /%s/%s/%s", acct,
                             cont, obj);
    }
    if (info) {
        info->size = (uint64_t)sb.st_size;
        guess_type(obj, info->content_type, sizeof info->content_type);
        info->etag[0] = '\0';
        info->meta = NULL;
        info->nmeta = 0;
    }
    *host_path = p;
    return 0;
}

/* mkdir -p of the directories of path below root (root itself must exist). */
static int make_parents(const char *root, const char *path, zvm_error_t *err)
{
    cleanup_free char *copy = strdup(path);
    if (!copy)
        return zvm_error_set(err, ENOMEM, "out of memory");
    size_t rl = strlen(root);
    for (char *p = copy + rl + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            return zvm_error_errno(err, errno, "cannot create '%s'", copy);
        *p = '/';
    }
    return 0;
}

static int local_create(zvm_storage_t *st, const char *acct, const char *cont, const char *obj,
                        zvm_storage_output_t *out, zvm_error_t *err)
{
    local_storage_t *ls = (local_storage_t *)st;
    memset(out, 0, sizeof *out);
    struct stat rs;
    if (stat(ls->root, &rs) < 0 || !S_ISDIR(rs.st_mode))
        return zvm_error_set(err, ENOTDIR, "cannot write /%s/%s/%s: the storage directory '%s' does not exist",
                             acct, cont, obj, ls->root);
    cleanup_free char *final = object_path(ls, acct, cont, obj);
    if (!final)
        return zvm_error_set(err, ENOMEM, "out of memory");
    if (make_parents(ls->root, final, err) < 0)
        return -1;
    struct stat sb;
    if (stat(final, &sb) == 0 && !S_ISREG(sb.st_mode))
        return zvm_error_set(err, EISDIR, "cannot write /%s/%s/%s: not an object", acct, cont, obj);
    char *slash = strrchr(final, '/');
    char *tmp = NULL;
    if (asprintf(&tmp, "%.*s/" TMP_PREFIX "%s.XXXXXX", (int)(slash - final), final, slash + 1) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return zvm_error_errno(err, e, "cannot create an output for /%s/%s/%s", acct, cont, obj);
    }
    fchmod(fd, 0644);
    close(fd);
    out->host_path = tmp;
    out->priv = steal_pointer(&final);
    return 0;
}

static void output_release(zvm_storage_output_t *out)
{
    free(out->host_path);
    free(out->priv);
    out->host_path = NULL;
    out->priv = NULL;
}

static int local_commit(zvm_storage_t *st, zvm_storage_output_t *out, zvm_error_t *err)
{
    (void)st;
    int rc = 0;
    if (out->host_path && rename(out->host_path, out->priv) < 0) {
        rc = zvm_error_errno(err, errno, "cannot store '%s'", (char *)out->priv);
        unlink(out->host_path);
    }
    output_release(out);
    return rc;
}

static void local_abort(zvm_storage_t *st, zvm_storage_output_t *out)
{
    (void)st;
    if (out->host_path)
        unlink(out->host_path);
    output_release(out);
}

static void local_destroy(zvm_storage_t *st)
{
    local_storage_t *ls = (local_storage_t *)st;
    if (!ls)
        return;
    free(ls->root);
    free(ls);
}

zvm_storage_t *zvm_storage_local_new(const char *root, zvm_error_t *err)
{
    local_storage_t *ls = calloc(1, sizeof *ls);
    if (!ls) {
        zvm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    /* A missing root is an empty store: reads find nothing, outputs fail. */
    ls->root = realpath(root, NULL);
    if (!ls->root && errno == ENOENT) {
        char cwd[4096];
        if (root[0] == '/')
            ls->root = strdup(root);
        else if (getcwd(cwd, sizeof cwd) && asprintf(&ls->root, "%s/%s", cwd, root) < 0)
            ls->root = NULL;
    }
    if (!ls->root) {
        zvm_error_errno(err, errno ? errno : ENOMEM, "storage directory '%s'", root);
        free(ls);
        return NULL;
    }
    if (strchr(ls->root, ',') || strchr(ls->root, '\n')) {
        zvm_error_set(err, EINVAL, "storage directory '%s': a ',' or newline cannot be in a channel",
                      ls->root);
        local_destroy(&ls->vt);
        return NULL;
    }
    ls->vt.list = local_list;
    ls->vt.open_read = local_open_read;
    ls->vt.create = local_create;
    ls->vt.commit = local_commit;
    ls->vt.abort = local_abort;
    ls->vt.destroy = local_destroy;
    return &ls->vt;
}
