/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: move bytes between channels with the kernel's descriptor-to-
 * descriptor copies, which a supervisor counting read/write might miss:
 * sendfile, splice (both directions through a pipe), tee, vmsplice and
 * copy_file_range, from /dev/input to /dev/output (put_size 10) and from
 * a file of our own (a memfd, or a /tmp file where memfd_create is
 * refused) to /dev/output.
 * Expected: every call fails (the supervisor refuses copies on virtual
 * descriptors); the host output file stays empty.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "probe.h"

int main(void)
{
    int in = open("/dev/input", O_RDONLY), out = open("/dev/output", O_WRONLY);
    int p[2], q[2];
    if (in < 0 || out < 0 || pipe(p) < 0 || pipe(q) < 0) {
        say("FAIL setup: %s\n", ename(errno));
        return 2;
    }
    int mfd = memfd_create("src", 0);
    if (mfd < 0)
        mfd = open("/tmp/src", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (mfd < 0 || write(mfd, "MEMFD-BYTES", 11) != 11) {
        say("FAIL memfd: %s\n", ename(errno));
        return 2;
    }
    off_t off = 0;
    EXPECT_FAIL("sendfile input->output", sendfile(out, in, NULL, 100));
    EXPECT_FAIL("sendfile memfd->output", sendfile(out, mfd, &off, 11));
    EXPECT_FAIL("splice input->pipe", splice(in, NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK));
    if (write(p[1], "PIPE-BYTES", 10) != 10)
        say("FAIL fill pipe\n");
    EXPECT_FAIL("splice pipe->output", splice(p[0], NULL, out, NULL, 100, SPLICE_F_NONBLOCK));
    EXPECT_FAIL("tee input->pipe", tee(in, q[1], 100, SPLICE_F_NONBLOCK));
    struct iovec iov = {.iov_base = "VMSPLICE", .iov_len = 8};
    EXPECT_FAIL("vmsplice output", vmsplice(out, &iov, 1, 0));
    off = 0;
    EXPECT_FAIL("copy_file_range input->output", copy_file_range(in, NULL, out, NULL, 100, 0));
    EXPECT_FAIL("copy_file_range memfd->output", copy_file_range(mfd, &off, out, NULL, 11, 0));
    done();
    return 0;
}
