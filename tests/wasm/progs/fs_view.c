/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the program sees of the file system:
 *   "prestat 3 /"            the one preopened directory and its name
 *   "prestat 4 EBADF"        there is no second one (errno name)
 *   "DIR /dev <name>"        every entry of /dev (aliases of channels)
 *   "STAT <alias> <kind>"    for each alias in argv[1..]: "file"/"char"/"fifo"/
 *                            "dir"/"other" or the errno name
 *   "fdstat 0|1|2 <type>"    the WASI filetype of the standard descriptors
 */
#include <dirent.h>
#include <sys/stat.h>
#include <wasi/api.h>

#include "wt.h"

int main(int argc, char **argv)
{
    for (__wasi_fd_t fd = 3; fd <= 4; fd++) {
        __wasi_prestat_t ps;
        __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
        if (e != 0) {
            say("prestat %u %s\n", (unsigned)fd, e == __WASI_ERRNO_BADF ? "EBADF" : "other-error");
            continue;
        }
        char name[256] = {0};
        size_t n = ps.u.dir.pr_name_len < sizeof name - 1 ? ps.u.dir.pr_name_len : sizeof name - 1;
        e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, n);
        say("prestat %u %s\n", (unsigned)fd, e == 0 ? name : "dir_name-error");
    }
    DIR *d = opendir("/dev");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            say("DIR /dev %s\n", e->d_name);
    if (!d)
        say("DIR /dev %s\n", ename(errno));
    else
        closedir(d);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            say("STAT %s %s\n", argv[i], ename(errno));
            continue;
        }
        const char *k = S_ISREG(st.st_mode) ? "file" : S_ISCHR(st.st_mode) ? "char"
                      : S_ISFIFO(st.st_mode) ? "fifo" : S_ISDIR(st.st_mode) ? "dir" : "other";
        say("STAT %s %s\n", argv[i], k);
    }
    for (__wasi_fd_t fd = 0; fd < 3; fd++) {
        __wasi_fdstat_t st;
        __wasi_errno_t r = __wasi_fd_fdstat_get(fd, &st);
        say("fdstat %u %d\n", (unsigned)fd, r ? -1 : (int)st.fs_filetype);
    }
    done();
    return 0;
}
