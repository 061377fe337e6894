/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: zvsh.cfg (src/zvsh/config.c), which zvsh reads from
 * the current directory, so possibly from an untrusted checkout.  The
 * first byte picks how the file was found:
 *  - odd: ./zvsh.cfg, `confined`.  The target runs in a temporary
 *    directory holding a file, a subdirectory and symlinks leading out
 *    (to / and to ..); an accepted config's every existing [fstab] image
 *    must resolve beneath that directory (the guarantee of issue 10);
 *  - even: an explicit file elsewhere (host paths allowed).
 * Accepted values must keep their bounds.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zvsh/zvsh.h"

static char dir[PATH_MAX];
static int dirfd_ = -1, homefd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
    static const char *const names[] = {"sub/passwd", "sub/img", "sub", "root", "up",
                                        "image.tar"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlinkat(dirfd_, names[i], i == 2 ? AT_REMOVEDIR : 0);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char tmpl[] = "/tmp/zvm-fuzz-zvsh.XXXXXX";
    /* libFuzzer reads its corpus by relative names: come back after. */
    homefd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (homefd < 0 || !mkdtemp(tmpl) || chdir(tmpl) < 0 || !getcwd(dir, sizeof dir))
        abort();
    FILE *f = fopen("image.tar", "w");
    if (!f || mkdir("sub", 0755) < 0 || symlink("/", "root") < 0 || symlink("..", "up") < 0 ||
        symlink("/etc/passwd", "sub/passwd") < 0 || symlink("../image.tar", "sub/img") < 0)
        abort();
    fclose(f);
    dirfd_ = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd_ < 0 || fchdir(homefd) < 0)
        abort();
    atexit(cleanup);
    return 0;
}

static bool beneath(const char *path)
{
    char *real = realpath(path, NULL);
    if (!real)
        return true; /* missing: nothing to show */
    size_t n = strlen(dir);
    bool ok = strncmp(real, dir, n) == 0 && (real[n] == '\0' || real[n] == '/');
    free(real);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = strndup((const char *)data + 1, size - 1);
    if (!text)
        abort();
    bool confined = data[0] & 1;
    zvsh_config_t c;
    zvsh_config_init(&c);
    c.confined = confined;
    zvm_error_t err;
    if (fchdir(dirfd_) < 0)
        abort();
    int rc = zvsh_config_parse(&c, text, confined ? "zvsh.cfg" : "/nonexistent/zvsh.cfg", &err);
    if (rc == 0) {
        if (c.memory > ZVSH_LIMIT_DEFAULT)
            abort();
        for (size_t i = 0; i < c.nimages; i++) {
            const zvsh_image_t *im = &c.images[i];
            if (!im->path || !im->mountpoint || im->mountpoint[0] != '/')
                abort();
            if (confined && !beneath(im->path)) {
                fprintf(stderr, "image '%s' resolves outside %s\n", im->path, dir);
                abort();
            }
        }
    } else if (err.msg[0] == '\0') {
        abort();
    }
    if (fchdir(homefd) < 0)
        abort();
    zvsh_config_release(&c);
    free(text);
    return 0;
}
