/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact accounting: three read()s of 10 bytes from /dev/input and two
 * write()s of 7 bytes to /dev/output, nothing on stdout.  The report must
 * say reads 3, read_bytes 30, writes 2, write_bytes 14.  rc 5.
 */
#include <fcntl.h>

#include "wt.h"

int main(void)
{
    int in = open("/dev/input", O_RDONLY), out = open("/dev/output", O_WRONLY);
    if (in < 0 || out < 0)
        return 2;
    char buf[30];
    for (int i = 0; i < 3; i++)
        if (read(in, buf + 10 * i, 10) != 10)
            return 3;
    if (write(out, buf, 7) != 7 || write(out, buf + 7, 7) != 7)
        return 4;
    return 5;
}
