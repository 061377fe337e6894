/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack (a dynamic program, so the jail shows the host's /usr): change
 * the host's /usr through it - create, overwrite, chmod, rename, unlink,
 * via /usr and via the /lib symlink - and look in /etc for more than the
 * loader cache.
 * Expected: /usr is read-only and nosuid (statvfs), every change fails,
 * /etc holds only ld.so.cache; the runner checks the host /usr file it
 * names is unchanged.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *victim = arg(argc, argv, 1, "/usr/bin/true");
    struct statvfs sv;
    if (statvfs("/usr", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID))
        say("OK /usr is read-only and nosuid\n");
    else
        say("ESCAPED /usr flags %#lx\n", statvfs("/usr", &sv) == 0 ? sv.f_flag : 0ul);
    EXPECT_FAIL("create /usr/zvm-hostile", open("/usr/zvm-hostile", O_CREAT | O_WRONLY, 0644));
    EXPECT_FAIL("create /lib/zvm-hostile", open("/lib/zvm-hostile", O_CREAT | O_WRONLY, 0644));
    EXPECT_FAIL("open victim for writing", open(victim, O_WRONLY | O_APPEND));
    EXPECT_FAIL("chmod victim", chmod(victim, 04777));
    EXPECT_FAIL("utimensat victim", utimensat(AT_FDCWD, victim, NULL, 0));
    EXPECT_FAIL("rename victim", rename(victim, "/usr/zvm-renamed"));
    EXPECT_FAIL("unlink victim", unlink(victim));
    EXPECT_FAIL("mkdir /usr/zvm-dir", mkdir("/usr/zvm-dir", 0755));
    EXPECT_FAIL("open /etc/passwd", open("/etc/passwd", O_RDONLY));
    EXPECT_FAIL("open /etc/ld.so.cache for writing", open("/etc/ld.so.cache", O_WRONLY));
    DIR *d = opendir("/etc");
    struct dirent *de;
    int others = 0;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' && strcmp(de->d_name, "ld.so.cache") != 0) {
            say("ESCAPED /etc has %s\n", de->d_name);
            others++;
        }
    if (d && !others)
        say("OK /etc holds only ld.so.cache\n");
    done();
    return 0;
}
