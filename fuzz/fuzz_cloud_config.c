/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: zerocloud's configuration file (src/cloud/config.c).
 * The input is written to a memfd and read back by name, as the server
 * reads its file.  An accepted file keeps the documented ranges; a refused
 * one names file:line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cloud/cloud.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("zerocloud.conf", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    zc_config_t c;
    zc_config_init(&c);
    char err[512] = "";
    if (zc_config_load(&c, path, err, sizeof err) == 0) {
        if (c.max_header_size < 2048 || c.max_listing < 1 || c.exec_max_nodes < 1 ||
            c.exec_memory < (1u << 20) || c.token_ttl < 1 || c.exec_timeout < 1)
            abort();
        for (size_t i = 0; i < c.nusers; i++)
            if (!c.users[i].account[0] || !c.users[i].user[0] || !c.users[i].key[0])
                abort();
    } else if (strncmp(err, path, strlen(path)) != 0) {
        abort(); /* the message starts with the file's name */
    }
    zc_config_release(&c);
    return 0;
}
