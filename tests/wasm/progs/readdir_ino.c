/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fd_readdir's d_ino against stat: for each directory in argv[1..], every
 * entry's d_ino must be the st_ino that path_filestat_get (without
 * following links) gives for that name, and "." must be the directory's
 * own fd_filestat_get.  "FAIL ino <dir> <name>: d_ino X, stat Y" for a
 * difference, then "CHECKED <dir> <entries>"; "DONE" at the end.
 * On an overlay (a writable image) the kernel's d_ino of "." is not the
 * inode that stat reports: the host functions must agree with themselves.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "wt.h"

static void check_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        say("FAIL opendir %s: %s\n", path, ename(errno));
        return;
    }
    struct stat self;
    if (fstat(dirfd(d), &self) < 0) {
        say("FAIL fstat %s: %s\n", path, ename(errno));
        closedir(d);
        return;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        n++;
        if (strcmp(e->d_name, "..") == 0)
            continue; /* the parent of the preopen is the preopen itself */
        if (strcmp(e->d_name, ".") == 0)
            st = self;
        else if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            say("FAIL stat %s/%s: %s\n", path, e->d_name, ename(errno));
            continue;
        }
        if ((unsigned long long)e->d_ino != (unsigned long long)st.st_ino)
            say("FAIL ino %s %s: d_ino %llu, stat %llu\n", path, e->d_name,
                (unsigned long long)e->d_ino, (unsigned long long)st.st_ino);
    }
    closedir(d);
    say("CHECKED %s %d\n", path, n);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        check_dir(argv[i]);
    done();
    return 0;
}
