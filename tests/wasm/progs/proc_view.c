/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: learn the host's paths through /proc (zerovm's command line, the
 * manifest's host path, mount sources).  Dumps, escaped, whatever can be
 * read of /proc/1/cmdline, /proc/self/cmdline, /proc/1/environ,
 * /proc/self/mountinfo, /proc/self/maps and /proc/self/status:
 * "FILE <path> <n> bytes: <text>" or "BLOCKED <path>: <errno>".  The runner
 * checks that no host path (zerovm's, the manifest's, the cache's) shows.
 */
#include <fcntl.h>

#include "wt.h"

static char data[1 << 16];
static char esc[4 * sizeof data + 1];

int main(void)
{
    const char *paths[] = {"/proc/1/cmdline", "/proc/self/cmdline", "/proc/1/environ",
                           "/proc/self/mountinfo", "/proc/self/maps", "/proc/self/status"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        errno = 0;
        int fd = open(paths[i], O_RDONLY);
        if (fd < 0) {
            say("BLOCKED %s: %s\n", paths[i], ename(errno));
            continue;
        }
        size_t n = 0;
        ssize_t r;
        while (n < sizeof data && (r = read(fd, data + n, sizeof data - n)) > 0)
            n += (size_t)r;
        close(fd);
        size_t j = 0;
        for (size_t k = 0; k < n; k++) {
            unsigned char c = (unsigned char)data[k];
            if (c >= 32 && c < 127 && c != '\\')
                esc[j++] = (char)c;
            else
                j += (size_t)snprintf(esc + j, sizeof esc - j, "\\x%02x", c);
        }
        esc[j] = 0;
        say("FILE %s %zu bytes: ", paths[i], n);
        write_all(1, esc, j);
        say("\n");
    }
    done();
    return 0;
}
