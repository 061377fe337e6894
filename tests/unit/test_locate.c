/* SPDX-License-Identifier: Apache-2.0 */
/* Finding executables: PATH lookup and the zerovm binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "zvm/locate.h"

static char tmp[64];

static void make(const char *dir, const char *name, mode_t mode)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs("#!/bin/sh\n", f);
        fclose(f);
    }
    chmod(p, mode);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/zvm-test-locate-XXXXXX");
    if (!mkdtemp(tmp)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    char a[128], b[128], path[512], want[256];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    mkdir(a, 0755);
    mkdir(b, 0755);
    make(a, "tool", 0644);                 /* not executable: skipped */
    make(b, "tool", 0755);
    make(a, "zerovm", 0755);

    char *saved_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    snprintf(path, sizeof path, "relative:%s::%s", a, b);
    setenv("PATH", path, 1);
    char *got = zvm_which("tool");
    snprintf(want, sizeof want, "%s/tool", b);
    tap_is_str(got, want, "which: a non-executable and relative or empty PATH entries are skipped");
    free(got);
    got = zvm_which("nosuchtool");
    tap_ok(got == NULL, "which: NULL for a program on no PATH entry");
    free(got);

    setenv("ZEROVM", "/opt/zerovm/bin/zerovm", 1);
    got = zvm_locate_zerovm();
    tap_is_str(got, "/opt/zerovm/bin/zerovm", "locate zerovm: $ZEROVM wins");
    free(got);
    unsetenv("ZEROVM");
    /* This test binary has no zerovm next to it: PATH is next. */
    got = zvm_locate_zerovm();
    snprintf(want, sizeof want, "%s/zerovm", a);
    tap_is_str(got, want, "locate zerovm: from PATH when not next to the program");
    free(got);

    if (saved_path)
        setenv("PATH", saved_path, 1);
    free(saved_path);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        printf("# cleanup failed\n");
    return tap_done();
}
