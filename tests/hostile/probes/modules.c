/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: load or unload a kernel module - argv[1] is init_module,
 * finit_module or delete_module.
 * Expected: the call kills the program ("killed by signal 31").
 */
#include <fcntl.h>
#include <sys/syscall.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "init_module");
    static char image[64] = "\177ELF";
    long rc = -2;
    int fd = open("/dev/zero", O_RDONLY);
    say("TRY %s\n", mode);
    if (strcmp(mode, "init_module") == 0)
        rc = syscall(SYS_init_module, image, sizeof image, "");
    else if (strcmp(mode, "finit_module") == 0)
        rc = syscall(SYS_finit_module, fd, "", 0);
    else if (strcmp(mode, "delete_module") == 0)
        rc = syscall(SYS_delete_module, "loop", O_NONBLOCK);
    else
        say("FAIL unknown mode\n");
    say("ESCAPED %s survived: returned %ld (%s)\n", mode, rc, rc < 0 ? ename(errno) : "ok");
    return 0;
}
