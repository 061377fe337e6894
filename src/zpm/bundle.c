/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The .zapp: a gzip tar (libarchive) holding, in this order,
 * boot/system.map (generated from zapp.yaml), zapp.yaml, the files
 * matched by the `bundling` patterns, then those of the `ui` patterns.
 * Patterns are glob(3) patterns relative to the project root (the nearest
 * directory with a zapp.yaml); a directory is added with everything below
 * it (sorted); a file is added once however many patterns match it; the
 * .zapp being written is never added to itself.  Members are owned by uid
 * and gid 0 with no user names, so the archive depends only on the files.
 * The archive is written to a temporary file and renamed into place.
 *
 * Python `dependencies` are not bundled (the original ran tox to fetch
 * them): bundle warns and names them; put a package's files under
 * `bundling` instead.
 *
 * Also reading a .zapp back (deploy, execute): members, through libzvm's
 * archive reader (zvm/tar.h), and the uncompressed tar stream.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zvm/tar.h"
#include "lib/util.h"
#include "zpm/zpm.h"

#define TAR_MAX ((size_t)1 << 30)       /* a zapp read back: 1 GiB at most */

int zpm_find_root(const char *start, char **root, zvm_error_t *err)
{
    char dir[PATH_MAX];
    if (!realpath(start, dir))
        return zvm_error_errno(err, errno, "cannot resolve '%s'", start);
    for (;;) {
        cleanup_free char *p = zpm_xasprintf("%s/zapp.yaml", strcmp(dir, "/") ? dir : "");
        if (access(p, F_OK) == 0) {
            *root = zpm_xstrdup(dir);
            return 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || strcmp(dir, "/") == 0)
            break;
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    return zvm_error_set(err, ENOENT, "no zapp.yaml file found");
}

/* ---- writing -------------------------------------------------------------------- */

typedef struct writer {
    struct archive *a;
    const char *root;
    char *self;                 /* "<name>.zapp": never bundled */
    zpm_strv_t added;           /* member names so far */
    zvm_error_t *err;
} writer_t;

static int arc_fail(writer_t *w, const char *what)
{
    return zvm_error_set(w->err, EIO, "cannot write the zapp (%s): %s", what, archive_error_string(w->a));
}

static struct archive_entry *new_entry(const char *name, mode_t type, mode_t perm, time_t mtime, int64_t size)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) {
        fputs("zpm: out of memory\n", stderr);
        abort();
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm & 07777);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_size(e, size);
    return e;
}

static int add_memory(writer_t *w, const char *name, const char *data, size_t len)
{
    struct archive_entry *e = new_entry(name, AE_IFREG, 0644, time(NULL), (int64_t)len);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return arc_fail(w, name);
    if (archive_write_data(w->a, data, len) != (la_ssize_t)len)
        return arc_fail(w, name);
    zpm_strv_push(&w->added, zpm_xstrdup(name));
    return 0;
}

static bool skipped(writer_t *w, const char *rel)
{
    size_t sl = strlen(w->self);
    if (strcmp(rel, w->self) == 0 || (strncmp(rel, w->self, sl) == 0 && strncmp(rel + sl, ".tmp-", 5) == 0))
        return true;
    return zpm_strv_has(&w->added, rel);
}

static int add_path(writer_t *w, const char *rel, int depth);

static int add_dir(writer_t *w, const char *rel, const char *full, const struct stat *st, int depth)
{
    struct archive_entry *e = new_entry(rel, AE_IFDIR, st->st_mode, st->st_mtime, 0);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return arc_fail(w, rel);
    zpm_strv_push(&w->added, zpm_xstrdup(rel));
    struct dirent **list = NULL;
    int n = scandir(full, &list, NULL, alphasort);
    if (n < 0)
        return zvm_error_errno(w->err, errno, "cannot list '%s'", full);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *d = list[i]->d_name;
        if (rc == 0 && strcmp(d, ".") && strcmp(d, "..")) {
            cleanup_free char *child = zpm_xasprintf("%s/%s", rel, d);
            rc = add_path(w, child, depth + 1);
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

static int add_file(writer_t *w, const char *rel, const char *full)
{
    cleanup_close int fd = zvm_open_retry(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return zvm_error_errno(w->err, errno, "cannot read '%s'", full);
    struct archive_entry *e = new_entry(rel, AE_IFREG, st.st_mode, st.st_mtime, (int64_t)st.st_size);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return arc_fail(w, rel);
    char buf[65536];
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zvm_error_errno(w->err, errno, "cannot read '%s'", full);
        if (n == 0)
            return zvm_error_set(w->err, EIO, "'%s' shrank while it was bundled", full);
        if ((off_t)n > left)
            n = (ssize_t)left;
        if (archive_write_data(w->a, buf, (size_t)n) != n)
            return arc_fail(w, rel);
        left -= n;
    }
    zpm_strv_push(&w->added, zpm_xstrdup(rel));
    zpm_info("adding %s", rel);
    return 0;
}

static int add_path(writer_t *w, const char *rel, int depth)
{
    if (skipped(w, rel))
        return 0;
    if (depth > 64)
        return zvm_error_set(w->err, ELOOP, "'%s' is nested too deeply", rel);
    cleanup_free char *full = zpm_xasprintf("%s/%s", w->root, rel);
    struct stat st;
    if (lstat(full, &st) < 0)
        return zvm_error_errno(w->err, errno, "cannot read '%s'", full);
    if (S_ISDIR(st.st_mode))
        return add_dir(w, rel, full, &st, depth);
    if (S_ISREG(st.st_mode))
        return add_file(w, rel, full);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(full, target, sizeof target - 1);
        if (n < 0)
            return zvm_error_errno(w->err, errno, "cannot read the link '%s'", full);
        target[n] = '\0';
        struct archive_entry *e = new_entry(rel, AE_IFLNK, 0777, st.st_mtime, 0);
        archive_entry_set_symlink(e, target);
        int r = archive_write_header(w->a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
            return arc_fail(w, rel);
        zpm_strv_push(&w->added, zpm_xstrdup(rel));
        return 0;
    }
    zpm_warn("'%s' is not a file, a directory or a link: not bundled", rel);
    return 0;
}

/* glob(3) takes the pattern literally only after its metacharacters are
 * quoted: the root may contain any of them. */
static char *glob_quote(const char *s)
{
    zpm_buf_t b = {0};
    for (; *s; s++) {
        if (strchr("*?[]\\", *s))
            zpm_buf_add(&b, "\\", 1);
        zpm_buf_add(&b, s, 1);
    }
    return zpm_buf_steal(&b);
}

static bool leaves_root(const char *pattern)
{
    if (pattern[0] == '/')
        return true;
    for (const char *p = pattern; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

/* Add the matches of every pattern of a section; *matched counts them. */
static int add_section(writer_t *w, const char *section, const char *const *patterns, size_t n,
                       size_t *matched)
{
    cleanup_free char *qroot = glob_quote(w->root);
    for (size_t i = 0; i < n; i++) {
        const char *p = patterns[i];
        if (leaves_root(p))
            return zvm_error_set(w->err, EINVAL,
                                 "pattern '%s' in section '%s' leaves the project directory", p, section);
        cleanup_free char *full = zpm_xasprintf("%s/%s", qroot, p);
        glob_t g;
        int r = glob(full, 0, NULL, &g);
        if (r == GLOB_NOSPACE) {
            globfree(&g);
            return zvm_error_set(w->err, ENOMEM, "out of memory");
        }
        size_t hits = 0;
        int rc = 0;
        size_t rl = strlen(w->root);
        for (size_t k = 0; r == 0 && rc == 0 && k < g.gl_pathc; k++) {
            const char *m = g.gl_pathv[k];
            if (strncmp(m, w->root, rl) != 0 || m[rl] != '/')
                continue;
            const char *rel = m + rl + 1;
            /* "dir/" and "./x" name the same member as "dir" and "x" */
            while (rel[0] == '.' && rel[1] == '/')
                rel += 2;
            cleanup_free char *clean = zpm_xstrdup(rel);
            size_t cl = strlen(clean);
            while (cl > 1 && clean[cl - 1] == '/')
                clean[--cl] = '\0';
            if (strcmp(clean, w->self) == 0)
                continue;
            hits++;
            rc = add_path(w, clean, 0);
        }
        globfree(&g);
        if (rc < 0)
            return -1;
        if (hits == 0)
            zpm_warn("pattern '%s' in section '%s' matched no files", p, section);
        *matched += hits;
    }
    return 0;
}

int zpm_bundle(const char *root, char **out, zvm_error_t *err)
{
    cleanup_free char *yaml_path = zpm_xasprintf("%s/zapp.yaml", root);
    zpm_zapp_t z;
    if (zpm_zapp_load(&z, yaml_path, err) < 0)
        return -1;
    if (z.ndependencies > 0)
        zpm_warn("'dependencies' (%zu) are not bundled: zpm does not fetch Python packages; "
                 "list the packages' files under 'bundling' instead",
                 z.ndependencies);
    json_t *job = zpm_sysmap_from_zapp(&z, err);
    if (!job) {
        zpm_zapp_release(&z);
        return -1;
    }
    cleanup_free char *map = zpm_json_text(job);
    json_decref(job);
    cleanup_free char *yaml_text = NULL;
    size_t yaml_len;
    if (zpm_read_file(yaml_path, 4u << 20, &yaml_text, &yaml_len, err) < 0) {
        zpm_zapp_release(&z);
        return -1;
    }

    writer_t w = {.root = root, .err = err};
    w.self = zpm_xasprintf("%s.zapp", z.name);
    cleanup_free char *target = zpm_xasprintf("%s/%s", root, w.self);
    cleanup_free char *tmp = zpm_xasprintf("%s.tmp-XXXXXX", target);
    int rc = -1;
    cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        zvm_error_errno(err, errno, "cannot create '%s'", tmp);
        goto out;
    }
    w.a = archive_write_new();
    if (!w.a || archive_write_add_filter_gzip(w.a) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
        archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
        zvm_error_set(err, EIO, "cannot start the zapp: %s", w.a ? archive_error_string(w.a) : "out of memory");
        goto out;
    }
    size_t matched = 0;
    if (add_memory(&w, ZPM_SYSTEM_MAP, map, strlen(map)) < 0 ||
        add_memory(&w, "zapp.yaml", yaml_text, yaml_len) < 0 ||
        add_section(&w, "bundling", z.bundling, z.nbundling, &matched) < 0 ||
        add_section(&w, "ui", z.ui, z.nui, &matched) < 0)
        goto out;
    if (matched == 0 && z.nbundling + z.nui > 0) {
        zvm_error_set(err, ENOENT, "no file matched the patterns of 'bundling' and 'ui'");
        goto out;
    }
    if (archive_write_close(w.a) != ARCHIVE_OK) {
        arc_fail(&w, "close");
        goto out;
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) < 0 || close(steal_fd(&fd)) < 0 || rename(tmp, target) < 0) {
        zvm_error_errno(err, errno, "cannot write '%s'", target);
        goto out;
    }
    *out = steal_pointer(&target);
    rc = 0;
out:
    if (w.a)
        archive_write_free(w.a);
    if (rc < 0 && tmp)
        unlink(tmp);
    zpm_strv_release(&w.added);
    free(w.self);
    zpm_zapp_release(&z);
    return rc;
}

/* ---- reading back ----------------------------------------------------------- */

static int read_raw(const char *path, zpm_buf_t *raw, zvm_error_t *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return zvm_error_set(err, ENOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    int rc = 0;
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK) {
        rc = zvm_error_set(err, EINVAL, "cannot read '%s': %s", path, archive_error_string(a));
    } else {
        char buf[65536];
        for (;;) {
            la_ssize_t n = archive_read_data(a, buf, sizeof buf);
            if (n < 0) {
                rc = zvm_error_set(err, EINVAL, "cannot read '%s': %s", path, archive_error_string(a));
                break;
            }
            if (n == 0)
                break;
            if (raw->len + (size_t)n > TAR_MAX) {
                rc = zvm_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, TAR_MAX);
                break;
            }
            zpm_buf_add(raw, buf, (size_t)n);
        }
    }
    archive_read_free(a);
    return rc;
}

/* The regular members of a zapp, through libzvm's archive reader (zvm/tar.h:
 * every member checked, a hostile one refused by name). */
int zpm_tar_read(const char *path, zpm_members_t *out, zpm_buf_t *raw, zvm_error_t *err)
{
    *out = (zpm_members_t){0};
    cleanup_close int fd = zvm_open_retry(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot read the zapp '%s'", path);
    cleanup_free char *label = NULL;
    if (asprintf(&label, "cannot read the zapp '%s'", path) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    zvm_tar_limits_t lim = {.max_bytes = TAR_MAX, .max_what = "the zapp limit"};
    zvm_tar_t *t = zvm_tar_open(fd, label, &lim, NULL, NULL, err);
    if (!t)
        return -1;
    zvm_tar_member_t m;
    int rc;
    while ((rc = zvm_tar_next(t, &m, err)) > 0) {
        if (m.kind != ZVM_TAR_FILE)
            continue;
        zpm_member_t member = {0};
        if (zvm_tar_read_all(t, TAR_MAX, &member.data, &member.len, err) < 0) {
            rc = -1;
            break;
        }
        member.name = zpm_xstrdup(m.path);
        out->v = zpm_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = member;
    }
    zvm_tar_free(t);
    if (rc == 0 && raw)
        rc = read_raw(path, raw, err);
    if (rc < 0)
        zpm_members_release(out);
    return rc < 0 ? -1 : 0;
}

const zpm_member_t *zpm_members_find(const zpm_members_t *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].name, name) == 0)
            return &m->v[i];
    return NULL;
}

void zpm_members_release(zpm_members_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].name);
        free(m->v[i].data);
    }
    free(m->v);
    *m = (zpm_members_t){0};
}
