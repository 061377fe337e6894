/* SPDX-License-Identifier: Apache-2.0 */
/* The shared helpers of src/lib/util.h that read the system. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "tap.h"

int main(void)
{
    /* A number sysctl says size 0 and answers only the first read. */
    char *text = NULL;
    size_t len = 0;
    int rc = zvm_read_file("/proc/sys/kernel/pid_max", 64, &text, &len);
    tap_ok(rc == 0 && len >= 2 && strtol(text, NULL, 10) > 0 && text[len - 1] == '\n',
           "read_file: a sysctl is read whole ('%.*s' and a newline, %zu bytes)",
           len > 0 ? (int)len - 1 : 0, text ? text : "", len);
    free(text);
    text = NULL;
    rc = zvm_read_file("/proc/self/status", 1 << 16, &text, &len);
    tap_ok(rc == 0 && strncmp(text, "Name:", 5) == 0 && len > 100,
           "read_file: a longer /proc file is read whole (%zu bytes)", len);
    free(text);
    text = NULL;
    tap_ok(zvm_read_file("/proc/self/status", 16, &text, NULL) == -EFBIG && !text,
           "read_file: a /proc file larger than max is EFBIG");
    return tap_done();
}
