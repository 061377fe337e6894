/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Positive control for tar images (mounted at /img): list the tree and
 * read every regular file, following links.  The hostile archives the
 * runner builds (members "../x", absolute names, symlinks leaving the
 * tree, a file written through a symlink, a hard link to /etc/passwd) must
 * be refused before this runs; the benign one shows its files here.
 * Expected: for the benign image: "FILE /img/hello.txt 6" etc.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "probe.h"

static void walk(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 8)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            say("DIR %s\n", path);
            walk(path, depth + 1);
        } else if (S_ISLNK(st.st_mode)) {
            char t[256] = {0};
            readlink(path, t, sizeof t - 1);
            say("LINK %s -> %s\n", path, t);
        } else {
            say("FILE %s %lld\n", path, (long long)st.st_size);
        }
    }
    closedir(d);
}

int main(void)
{
    walk("/img", 0);
    int fd = open("/img/link-to-hello", O_RDONLY);
    char buf[16] = {0};
    if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0)
        say("OK read through the relative link: %s", buf);
    EXPECT_FAIL("create in the read-only image", open("/img/new", O_CREAT | O_WRONLY, 0644));
    done();
    return 0;
}
