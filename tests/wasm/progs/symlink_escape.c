/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: symbolic links made inside the jail that point out of it
 * (links with an absolute target are refused when made: EPERM).
 * argv[1] is a host sentinel file.  Links: /l-passwd -> /etc/passwd,
 * /l-sentinel -> <sentinel>, /l-up -> ../../../../..<sentinel's dir>,
 * /d/l-rel -> ../../../../etc/passwd.  For each: "LINK <name> ok|errno"
 * (creating it), "READLINK <name> <target>", then the open:
 * "BLOCKED <name>: <errno>" or "OPENED <name>: <bytes escaped>".  Then
 * the sentinel link is opened for writing ("WROTE ..." / "BLOCKED write ...");
 * the host sentinel must not change either way.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "wt.h"

static void attempt(const char *target, const char *name)
{
    errno = 0;
    int r = symlink(target, name);
    say("LINK %s %s\n", name, r == 0 ? "ok" : ename(errno));
    char buf[512] = {0};
    ssize_t n = readlink(name, buf, sizeof buf - 1);
    say("READLINK %s %s\n", name, n >= 0 ? buf : ename(errno));
    errno = 0;
    int fd = open(name, O_RDONLY);
    if (fd < 0) {
        say("BLOCKED %s: %s\n", name, ename(errno));
        return;
    }
    char data[201] = {0};
    n = read(fd, data, 200);
    for (ssize_t i = 0; i < n; i++)
        if (data[i] < 32 || data[i] > 126)
            data[i] = '.';
    say("OPENED %s: %zd bytes: %s\n", name, n, data);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 99;
    char up[600];
    mkdir("/d", 0755);
    attempt("/etc/passwd", "/l-passwd");
    attempt(argv[1], "/l-sentinel");
    errno = 0;
    int w = open("/l-sentinel", O_WRONLY | O_TRUNC);
    if (w >= 0) {
        ssize_t n = write(w, "PWNED\n", 6);
        say("WROTE /l-sentinel %zd\n", n);
        close(w);
    } else {
        say("BLOCKED write /l-sentinel: %s\n", ename(errno));
    }
    snprintf(up, sizeof up, "../../../../..%s", argv[1]);
    attempt(up, "/l-up");
    attempt("../../../../etc/passwd", "/d/l-rel");
    snprintf(up, sizeof up, "../../../../..%s", argv[2]);
    attempt(up, "/d/l-dir");
    done();
    return 0;
}
