/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Apps: a directory or a tar whose boot/system.map (or boot/cluster.map) is
 * the job.  Reading the map from a tar, and packing a directory into the
 * tar that every node then sees as its `image` device (mounted at /).
 * libarchive does the formats.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/internal.h"
#include "lib/util.h"

#define MAP_MAX (1u << 20)

static bool is_map(const char *name)
{
    if (name[0] == '.' && name[1] == '/')
        name += 2;
    return strcmp(name, "boot/system.map") == 0 || strcmp(name, "boot/cluster.map") == 0;
}

/* Find the map; with `bounded`, read every header and fail with E2BIG once
 * the members' sizes or the expanded stream pass max_expanded. */
static int read_map(const char *tar_path, bool bounded, uint64_t max_expanded, char **text,
                    size_t *len, zvm_error_t *err)
{
    *text = NULL;
    *len = 0;
    struct archive *a = archive_read_new();
    if (!a)
        return zvm_error_set(err, ENOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    int rc;
    if (archive_read_open_filename(a, tar_path, 65536) != ARCHIVE_OK) {
        rc = zvm_error_set(err, EINVAL, "'%s' is not a tar: %s", tar_path, archive_error_string(a));
        goto out;
    }
    struct archive_entry *e;
    int r;
    bool any = false;
    uint64_t declared = 0;
    char *found = NULL;
    size_t found_len = 0;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        any = true;
        if (bounded) {
            la_int64_t sz = archive_entry_size(e);
            declared += (sz > 0 ? (uint64_t)sz : 0) + 512;
            la_int64_t pos = archive_filter_bytes(a, 0);
            if (declared > max_expanded || (pos > 0 && (uint64_t)pos > max_expanded)) {
                free(found);
                rc = zvm_error_set(err, E2BIG, "%s: the archive expands past %llu bytes", tar_path,
                                   (unsigned long long)max_expanded);
                goto out;
            }
        }
        if (found || !is_map(archive_entry_pathname(e)) || archive_entry_filetype(e) != AE_IFREG)
            continue;
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || size > MAP_MAX) {
            rc = zvm_error_set(err, E2BIG, "%s: the map is larger than %u bytes", tar_path, MAP_MAX);
            goto out;
        }
        char *buf = malloc((size_t)size + 1);
        if (!buf) {
            rc = zvm_error_set(err, ENOMEM, "out of memory");
            goto out;
        }
        la_ssize_t got = archive_read_data(a, buf, (size_t)size);
        if (got != size) {
            free(buf);
            rc = zvm_error_set(err, EINVAL, "%s: cannot read the map: %s", tar_path,
                               archive_error_string(a));
            goto out;
        }
        buf[size] = '\0';
        found = buf;
        found_len = (size_t)size;
        if (!bounded)
            break;
    }
    if (found && (!bounded || r == ARCHIVE_EOF || r == ARCHIVE_OK)) {
        *text = found;
        *len = found_len;
        rc = 0;
        goto out;
    }
    free(found);
    if (r != ARCHIVE_EOF || !any)
        rc = zvm_error_set(err, EINVAL, "'%s' is not a tar%s%s", tar_path, r != ARCHIVE_EOF ? ": " : "",
                           r != ARCHIVE_EOF ? archive_error_string(a) : "");
    else
        rc = zvm_error_set(err, ENOENT, "System boot map was not found in %s", tar_path);
out:
    archive_read_free(a);
    return rc;
}

int zvm_job_tar_read_map(const char *tar_path, char **text, size_t *len, zvm_error_t *err)
{
    return read_map(tar_path, false, 0, text, len, err);
}

int zvm_job_tar_read_map_bounded(const char *tar_path, uint64_t max_expanded, char **text,
                                 size_t *len, zvm_error_t *err)
{
    return read_map(tar_path, true, max_expanded, text, len, err);
}

static int add_tree(struct archive *a, int dir_fd, const char *prefix, int depth, zvm_error_t *err)
{
    if (depth > 64)
        return zvm_error_set(err, ELOOP, "'%s' is nested too deeply", prefix);
    DIR *d = fdopendir(dir_fd);
    if (!d) {
        close(dir_fd);
        return zvm_error_errno(err, errno, "cannot read '%s'", prefix);
    }
    int rc = 0;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char **g = realloc(names, (n + 1) * sizeof *g);
        if (!g || !(g[n] = strdup(de->d_name))) {
            names = g ? g : names;
            rc = zvm_error_set(err, ENOMEM, "out of memory");
            break;
        }
        names = g;
        n++;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct stat st;
        char *path = NULL;
        if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", names[i]) < 0) {
            rc = zvm_error_set(err, ENOMEM, "out of memory");
            break;
        }
        if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))) {
            free(path);
            continue;
        }
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, path);
        archive_entry_set_mode(e, st.st_mode);
        archive_entry_set_mtime(e, st.st_mtime, 0);
        archive_entry_set_size(e, S_ISREG(st.st_mode) ? st.st_size : 0);
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t l = readlinkat(dirfd(d), names[i], target, sizeof target - 1);
            target[l > 0 ? l : 0] = '\0';
            archive_entry_set_symlink(e, target);
        }
        int fd = -1;
        if (S_ISREG(st.st_mode) &&
            (fd = openat(dirfd(d), names[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
            rc = zvm_error_errno(err, errno, "cannot read '%s'", path);
        } else if (archive_write_header(a, e) != ARCHIVE_OK) {
            rc = zvm_error_set(err, EIO, "cannot pack '%s': %s", path, archive_error_string(a));
        } else if (fd >= 0) {
            char buf[65536];
            ssize_t r;
            while ((r = read(fd, buf, sizeof buf)) > 0)
                if (archive_write_data(a, buf, (size_t)r) != r) {
                    rc = zvm_error_set(err, EIO, "cannot pack '%s': %s", path,
                                       archive_error_string(a));
                    break;
                }
            if (r < 0 && rc == 0)
                rc = zvm_error_errno(err, errno, "cannot read '%s'", path);
        }
        if (fd >= 0)
            close(fd);
        archive_entry_free(e);
        if (rc == 0 && S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            rc = sub < 0 ? zvm_error_errno(err, errno, "cannot read '%s'", path)
                         : add_tree(a, sub, path, depth + 1, err);
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int zvm_job_pack_dir(const char *dir, const char *tar_path, zvm_error_t *err)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return zvm_error_errno(err, errno, "cannot read '%s'", dir);
    struct archive *a = archive_write_new();
    if (!a) {
        close(dfd);
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    archive_write_set_format_pax_restricted(a);
    int rc;
    if (archive_write_open_filename(a, tar_path) != ARCHIVE_OK) {
        close(dfd);
        rc = zvm_error_set(err, EIO, "cannot write '%s': %s", tar_path, archive_error_string(a));
    } else {
        rc = add_tree(a, dfd, "", 0, err);
        if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
            rc = zvm_error_set(err, EIO, "cannot write '%s': %s", tar_path, archive_error_string(a));
    }
    archive_write_free(a);
    return rc;
}
