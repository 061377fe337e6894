/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zpm's small helpers: the log level and its messages on stderr, the
 * abort-on-OOM allocators (zpm is a tool, as bubblewrap's utils.c), a
 * growable buffer, a string list, whole-file reads and atomic writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "zpm/zpm.h"

zpm_log_level_t zpm_log_level = ZPM_LOG_WARNING;

static const char *const level_names[] = {"debug", "info", "warning", "error", "critical"};

int zpm_log_level_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void zpm_log(zpm_log_level_t level, const char *fmt, ...)
{
    if (level < zpm_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", level_names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void oom(void)
{
    fputs("zpm: out of memory\n", stderr);
    abort();
}

void *zpm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *zpm_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *zpm_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}

char *zpm_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    va_start(ap, fmt);
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    return p;
}

static void buf_grow(zpm_buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->data = zpm_xrealloc(b->data, cap);
    b->cap = cap;
}

void zpm_buf_add(zpm_buf_t *b, const void *p, size_t n)
{
    buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void zpm_buf_adds(zpm_buf_t *b, const char *s)
{
    zpm_buf_add(b, s, strlen(s));
}

void zpm_buf_addf(zpm_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    zpm_buf_add(b, s, (size_t)n);
    free(s);
}

char *zpm_buf_steal(zpm_buf_t *b)
{
    if (!b->data)
        buf_grow(b, 0), b->data[0] = '\0';
    char *p = b->data;
    *b = (zpm_buf_t){0};
    return p;
}

void zpm_buf_release(zpm_buf_t *b)
{
    free(b->data);
    *b = (zpm_buf_t){0};
}

void zpm_strv_push(zpm_strv_t *l, char *owned)
{
    l->v = zpm_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = owned;
}

bool zpm_strv_has(const zpm_strv_t *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

void zpm_strv_release(zpm_strv_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (zpm_strv_t){0};
}

int zpm_read_file(const char *path, size_t max, char **text, size_t *len, zvm_error_t *err)
{
    int r = zvm_read_file(path, max, text, len);
    if (r == -EFBIG)
        return zvm_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);
    if (r < 0)
        return zvm_error_errno(err, -r, "cannot read '%s'", path);
    return 0;
}

int zpm_write_file(const char *path, const void *data, size_t len, int mode, zvm_error_t *err)
{
    cleanup_free char *tmp = zpm_xasprintf("%s.tmp-XXXXXX", path);
    cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot create '%s'", tmp);
    int w = zvm_write_all(fd, data, len);
    mode_t um = umask(0);   /* mkostemp made it 0600: apply mode as open(2) would */
    umask(um);
    if (w == 0 && fchmod(fd, (mode_t)mode & ~um) < 0)
        w = -errno;
    if (w == 0 && close(steal_fd(&fd)) < 0)
        w = -errno;
    if (w == 0 && rename(tmp, path) < 0)
        w = -errno;
    if (w < 0) {
        unlink(tmp);
        return zvm_error_errno(err, -w, "cannot write '%s'", path);
    }
    return 0;
}
