/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Apps: a directory or a tar whose boot/system.map (or boot/cluster.map) is
 * the job.  Reading the map from a tar, and packing a directory into the
 * tar that every node then sees as its `image` device (mounted at /).
 * Reading goes through libzvm's archive module (zvm/tar.h), writing through
 * libarchive.
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

#include "zvm/tar.h"
#include "job/internal.h"
#include "lib/util.h"

#define MAP_MAX (1u << 20)

static bool is_map(const char *name)
{
    return strcmp(name, "boot/system.map") == 0 || strcmp(name, "boot/cluster.map") == 0;
}

/* Find the map through libzvm's archive reader (zvm/tar.h: every member
 * checked, hostile ones refused by name); with `bounded`, read every header
 * and fail with E2BIG once the members pass max_expanded. */
static int read_map(const char *tar_path, bool bounded, uint64_t max_expanded, char **text,
                    size_t *len, zvm_error_t *err)
{
    *text = NULL;
    *len = 0;
    cleanup_close int fd = zvm_open_retry(tar_path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot read '%s'", tar_path);
    cleanup_free char *label = NULL;
    if (asprintf(&label, "'%s'", tar_path) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    zvm_tar_limits_t lim = {.max_bytes = bounded ? max_expanded : UINT64_MAX};
    zvm_tar_t *t = zvm_tar_open(fd, label, &lim, NULL, NULL, err);
    if (!t)
        return -1;
    cleanup_free char *found = NULL;
    size_t found_len = 0;
    zvm_tar_member_t m;
    int r;
    while ((r = zvm_tar_next(t, &m, err)) > 0) {
        if (found || m.kind != ZVM_TAR_FILE || !is_map(m.path))
            continue;
        if (zvm_tar_read_all(t, MAP_MAX, &found, &found_len, err) < 0) {
            r = -1;
            break;
        }
        if (!bounded)
            break;
    }
    zvm_tar_free(t);
    if (r < 0) {
        /* The job API's code for an archive that is too big. */
        if (err->code == EFBIG)
            err->code = E2BIG;
        return -1;
    }
    if (!found)
        return zvm_error_set(err, ENOENT, "System boot map was not found in %s", tar_path);
    *len = found_len;
    *text = steal_pointer(&found);
    return 0;
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
