/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The WASI file calls on the jail's own (tmpfs) root, each checked for its
 * exact result: every check prints "OK <what>" or "FAIL <what>: <why>",
 * then "DONE".  Covers path_create_directory, path_open (create, excl,
 * trunc, append), fd_write/read/pread/pwrite/seek/tell/fdstat/filestat/
 * readdir/close, path_filestat_get, path_rename, path_symlink,
 * path_readlink, path_unlink_file, path_remove_directory.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <wasi/api.h>

#include "wt.h"

static int fails;

static void check(int cond, const char *what, const char *fmt, ...)
{
    if (cond) {
        say("OK %s\n", what);
        return;
    }
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    say("FAIL %s: %s (errno %s)\n", what, buf, ename(errno));
    fails++;
}

int main(void)
{
    errno = 0;
    check(mkdir("/work", 0755) == 0, "mkdir /work", "mkdir");
    check(mkdir("/work", 0755) < 0 && errno == EEXIST, "mkdir again is EEXIST", "got %s", ename(errno));
    check(mkdir("/work/sub", 0755) == 0, "mkdir /work/sub", "mkdir");

    int fd = open("/work/a.txt", O_RDWR | O_CREAT | O_EXCL, 0644);
    check(fd >= 0, "create /work/a.txt", "open");
    check(open("/work/a.txt", O_RDWR | O_CREAT | O_EXCL, 0644) < 0 && errno == EEXIST,
          "O_EXCL on an existing file is EEXIST", "errno");
    check(write(fd, "hello world", 11) == 11, "write 11 bytes", "write");
    check(lseek(fd, 0, SEEK_CUR) == 11, "tell is 11", "tell %lld", (long long)lseek(fd, 0, SEEK_CUR));
    check(lseek(fd, 6, SEEK_SET) == 6, "seek to 6", "seek");
    char buf[64] = {0};
    check(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "world", 5) == 0, "read 'world'", "read '%s'", buf);
    check(pwrite(fd, "W", 1, 6) == 1, "pwrite at 6", "pwrite");
    memset(buf, 0, sizeof buf);
    check(pread(fd, buf, 11, 0) == 11 && strcmp(buf, "hello World") == 0, "pread 'hello World'", "pread '%s'", buf);
    check(lseek(fd, 0, SEEK_CUR) == 11, "pread/pwrite keep the offset", "offset %lld",
          (long long)lseek(fd, 0, SEEK_CUR));
    check(lseek(fd, -3, SEEK_END) == 8, "seek -3 from the end", "seek");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode), "fstat size 11, regular", "size %lld",
          (long long)st.st_size);
    __wasi_fdstat_t fds;
    check(__wasi_fd_fdstat_get((__wasi_fd_t)fd, &fds) == 0 && fds.fs_filetype == __WASI_FILETYPE_REGULAR_FILE,
          "fd_fdstat_get: regular file", "filetype %d", fds.fs_filetype);
    check(close(fd) == 0, "close", "close");
    check(close(fd) < 0 && errno == EBADF, "close again is EBADF", "errno");

    fd = open("/work/a.txt", O_WRONLY | O_APPEND);
    check(fd >= 0 && write(fd, "!", 1) == 1, "append", "append");
    close(fd);
    check(stat("/work/a.txt", &st) == 0 && st.st_size == 12, "stat size 12 after append", "size %lld",
          (long long)st.st_size);
    fd = open("/work/a.txt", O_WRONLY | O_TRUNC);
    check(fd >= 0, "open O_TRUNC", "open");
    close(fd);
    check(stat("/work/a.txt", &st) == 0 && st.st_size == 0, "stat size 0 after O_TRUNC", "size %lld",
          (long long)st.st_size);
    check(stat("/work/sub", &st) == 0 && S_ISDIR(st.st_mode), "stat /work/sub is a directory", "mode %o",
          (unsigned)st.st_mode);
    check(stat("/work/none", &st) < 0 && errno == ENOENT, "stat of a missing file is ENOENT", "errno");

    check(rename("/work/a.txt", "/work/sub/b.txt") == 0, "rename into sub", "rename");
    check(access("/work/a.txt", F_OK) < 0 && errno == ENOENT, "old name gone", "errno");
    check(access("/work/sub/b.txt", F_OK) == 0, "new name there", "access");
    check(symlink("sub/b.txt", "/work/link") == 0, "symlink", "symlink");
    memset(buf, 0, sizeof buf);
    check(readlink("/work/link", buf, sizeof buf) == 9 && strcmp(buf, "sub/b.txt") == 0, "readlink", "'%s'", buf);
    fd = open("/work/link", O_WRONLY);
    check(fd >= 0 && write(fd, "via-link", 8) == 8, "write through the link", "write");
    close(fd);
    check(stat("/work/sub/b.txt", &st) == 0 && st.st_size == 8, "the target got the bytes", "size %lld",
          (long long)st.st_size);
    check(lstat("/work/link", &st) == 0 && S_ISLNK(st.st_mode), "lstat sees a link", "mode %o",
          (unsigned)st.st_mode);

    DIR *d = opendir("/work");
    int seen_sub = 0, seen_link = 0, other = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "sub") == 0)
            seen_sub = e->d_type == DT_DIR;
        else if (strcmp(e->d_name, "link") == 0)
            seen_link = e->d_type == DT_LNK;
        else if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            other++;
    }
    if (d)
        closedir(d);
    check(d && seen_sub && seen_link && other == 0, "readdir /work: sub (dir), link (symlink), nothing else",
          "sub %d link %d other %d", seen_sub, seen_link, other);

    check(rmdir("/work/sub") < 0 && errno == ENOTEMPTY, "rmdir of a non-empty directory is ENOTEMPTY", "errno");
    check(unlink("/work/link") == 0, "unlink the link", "unlink");
    check(unlink("/work/sub/b.txt") == 0, "unlink the file", "unlink");
    check(rmdir("/work/sub") == 0, "rmdir", "rmdir");
    check(unlink("/work/sub/b.txt") < 0 && errno == ENOENT, "unlink again is ENOENT", "errno");

    /* many files in one directory: readdir must return each exactly once */
    mkdir("/many", 0755);
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "/many/file-%03d-with-a-long-name-to-fill-the-buffer", i);
        int f = open(p, O_WRONLY | O_CREAT, 0644);
        if (f >= 0)
            close(f);
    }
    unsigned char seen[300] = {0};
    int count = 0, dup = 0;
    d = opendir("/many");
    while (d && (e = readdir(d)) != NULL) {
        int i;
        if (sscanf(e->d_name, "file-%d-", &i) == 1 && i >= 0 && i < 300) {
            if (seen[i]++)
                dup++;
            count++;
        }
    }
    if (d)
        closedir(d);
    check(count == 300 && dup == 0, "readdir of 300 entries, each once", "count %d dup %d", count, dup);

    say("INFO fails %d\n", fails);
    done();
    return fails ? 1 : 0;
}
