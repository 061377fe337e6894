/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: read host files that are no channel.  argv[1] is a host sentinel
 * file, argv[2] its directory.  For each path: "BLOCKED <path>: <errno>"
 * when open fails, or "OPENED <path>: <first 200 bytes, escaped>" (the
 * runner then checks that no host content came through).  Paths with ".."
 * climbing out of the preopen must fail: "TRAVERSE BLOCKED <path>: errno"
 * or "TRAVERSE OPENED <path> ...".  Raw path_open on the preopen (fd 3)
 * with "../etc/passwd" and "a/../../etc/passwd" too.
 */
#include <fcntl.h>
#include <wasi/api.h>

#include "wt.h"

static void show(const char *tag, const char *what, int fd)
{
    char buf[201] = {0}, esc[801];
    ssize_t n = read(fd, buf, 200);
    size_t j = 0;
    for (ssize_t i = 0; i < n && j < sizeof esc - 5; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 32 && c < 127 && c != '\\')
            esc[j++] = (char)c;
        else
            j += (size_t)snprintf(esc + j, sizeof esc - j, "\\x%02x", c);
    }
    esc[j] = 0;
    say("%sOPENED %s: %zd bytes: %s\n", tag, what, n, esc);
    close(fd);
}

static void try(const char *tag, const char *p)
{
    errno = 0;
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        say("%sBLOCKED %s: %s\n", tag, p, ename(errno));
    else
        show(tag, p, fd);
}

static void raw(const char *rel)
{
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(3, 0, rel, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
    if (e != 0) {
        say("TRAVERSE BLOCKED raw %s: wasi errno %u\n", rel, (unsigned)e);
        return;
    }
    show("TRAVERSE ", rel, (int)fd);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 99;
    const char *plain[] = {"/etc/passwd", "/etc/shadow", "/etc/hostname", "/proc/self/environ",
                           "/proc/1/cmdline", "/root/.bashrc", argv[1]};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        try("", plain[i]);
    char p[600];
    snprintf(p, sizeof p, "/../../../..%s", argv[1]);
    try("TRAVERSE ", p);
    try("TRAVERSE ", "/../etc/passwd");
    try("TRAVERSE ", "/dev/../../../etc/passwd");
    try("TRAVERSE ", "../../etc/passwd");
    raw("../etc/passwd");
    raw("a/../../etc/passwd");
    raw("..");
    snprintf(p, sizeof p, "../../../..%s", argv[1]);
    raw(p);
    /* the sentinel's directory: list it if it can be opened at all */
    int d = open(argv[2], O_RDONLY | O_DIRECTORY);
    say("%s dir %s\n", d >= 0 ? "OPENED" : "BLOCKED", d >= 0 ? "" : ename(errno));
    done();
    return 0;
}
