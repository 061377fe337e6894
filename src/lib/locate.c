/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding executables (include/zvm/locate.h): PATH lookup and the zerovm
 * binary that the tools start.
 */
#include "zvm/locate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *zvm_which(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *cand = NULL;
        /* An empty entry or a relative one would depend on the cwd: skip. */
        if (len > 0 && p[0] == '/' && asprintf(&cand, "%.*s/%s", (int)len, p, name) >= 0) {
            if (access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
        p += len + (end ? 1 : 0);
    }
    return NULL;
}

char *zvm_locate_zerovm(void)
{
    const char *env = getenv("ZEROVM");
    if (env && *env)
        return strdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        char *p = NULL;
        if (slash && asprintf(&p, "%.*s/zerovm", (int)(slash - self), self) >= 0) {
            if (access(p, X_OK) == 0)
                return p;
            free(p);
        }
    }
    return zvm_which("zerovm");
}
