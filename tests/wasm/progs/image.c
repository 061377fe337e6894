/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tar image from nvram [fstab], mounted at argv[1] (e.g. "/img" or "/"),
 * access argv[2] ("ro" or "rw"):
 *   "READ hello.txt <content>"    the image's file, read back
 *   "READ sub/x.txt <content>"
 *   "LINK <content>"              through the image's relative symlink
 *   "LIST <names...>"             sorted entries of the mountpoint's image part
 *   ro: "BLOCKED create ..." / "BLOCKED write hello.txt ..." (EROFS, EACCES or EPERM)
 *   rw: "OK create" + "READ new.txt <content>" and "OK overwrite" + the new content
 */
#include <dirent.h>
#include <fcntl.h>

#include "wt.h"

static void show(const char *mp, const char *name, const char *tag)
{
    char p[512], buf[256] = {0};
    snprintf(p, sizeof p, "%s/%s", strcmp(mp, "/") ? mp : "", name);
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        say("%s %s %s\n", tag, name, ename(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = 0;
    say("%s %s %s\n", tag, name, n >= 0 ? buf : ename(errno));
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 99;
    const char *mp = argv[1];
    int rw = strcmp(argv[2], "rw") == 0;
    const char *pre = strcmp(mp, "/") ? mp : "";
    char p[512];
    show(mp, "hello.txt", "READ");
    show(mp, "sub/x.txt", "READ");
    show(mp, "link-to-hello", "LINK");
    char *names[64];
    int n = 0;
    DIR *d = opendir(mp);
    struct dirent *e;
    while (d && n < 64 && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "dev"))
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    char line[1024] = "LIST";
    for (int i = 0; i < n; i++) {
        strncat(line, " ", sizeof line - strlen(line) - 1);
        strncat(line, names[i], sizeof line - strlen(line) - 1);
    }
    say("%s\n", line);
    snprintf(p, sizeof p, "%s/new.txt", pre);
    errno = 0;
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    int err = errno;
    if (fd >= 0) {
        ssize_t w = write(fd, "created\n", 8);
        close(fd);
        say("%s create: %zd\n", rw ? "OK" : "ESCAPED", w);
    } else {
        say("%s create: %s\n", rw ? "FAIL" : "BLOCKED", ename(err));
    }
    snprintf(p, sizeof p, "%s/hello.txt", pre);
    errno = 0;
    fd = open(p, O_WRONLY | O_TRUNC);
    err = errno;
    if (fd >= 0) {
        ssize_t w = write(fd, "changed\n", 8);
        close(fd);
        say("%s overwrite: %zd\n", rw ? "OK" : "ESCAPED", w);
    } else {
        say("%s overwrite: %s\n", rw ? "FAIL" : "BLOCKED", ename(err));
    }
    if (rw) {
        show(mp, "new.txt", "READ");
        show(mp, "hello.txt", "READ");
    }
    done();
    return 0;
}
