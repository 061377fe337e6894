/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: change a channel's size or copy into it behind the counters:
 * ftruncate and fallocate on a sequential output, on a random-write output
 * past put_size (100), and on an output whose write operations are used up
 * (puts 2 on /dev/spent); sendfile and copy_file_range into that one.
 * Expected (include/zvm/channel.h): a stream refuses a resize as a pipe
 * would (EINVAL, ESPIPE); a resize past put_size or without a write
 * operation left fails with EDQUOT; a resize within put_size on the random
 * output works and counts one write; a copy into a channel that can take
 * no byte fails with EDQUOT.  The random output's host file is 64 bytes.
 */
#include <fcntl.h>
#include <sys/sendfile.h>

#include "probe.h"

int main(void)
{
    int seq = open("/dev/output", O_WRONLY), rnd = open("/dev/random-out", O_RDWR);
    int spent = open("/dev/spent", O_WRONLY), src = open("/tmp/src", O_RDWR | O_CREAT, 0600);
    if (seq < 0 || rnd < 0 || spent < 0 || src < 0 || write(src, "SOURCE", 6) != 6) {
        say("FAIL setup: %s\n", ename(errno));
        return 2;
    }
    EXPECT_ERRNO("ftruncate a sequential output", ftruncate(seq, 10), EINVAL);
    EXPECT_ERRNO("fallocate a sequential output", fallocate(seq, 0, 0, 10), ESPIPE);
    EXPECT_ERRNO("ftruncate the random output past put_size", ftruncate(rnd, 101), EDQUOT);
    EXPECT_ERRNO("fallocate the random output past put_size", fallocate(rnd, 0, 90, 11), EDQUOT);
    EXPECT_ERRNO("fallocate punching a hole", fallocate(rnd, 3, 0, 10), EOPNOTSUPP);
    if (ftruncate(rnd, 64) == 0)
        say("OK ftruncate within put_size\n");
    if (fallocate(rnd, 1, 0, 100) == 0) /* FALLOC_FL_KEEP_SIZE */
        say("OK fallocate within put_size\n");
    /* Use up /dev/spent's two write operations. */
    if (write(spent, "a", 1) != 1 || write(spent, "b", 1) != 1)
        say("FAIL writes to /dev/spent: %s\n", ename(errno));
    EXPECT_ERRNO("ftruncate with no write left", ftruncate(spent, 0), EDQUOT);
    lseek(src, 0, SEEK_SET);
    EXPECT_ERRNO("sendfile into a channel with no write left", sendfile(spent, src, NULL, 6), EDQUOT);
    EXPECT_ERRNO("copy_file_range into it", copy_file_range(src, NULL, spent, NULL, 6, 0), EDQUOT);
    EXPECT_ERRNO("sendfile into a channel with room", sendfile(seq, src, NULL, 6), EINVAL);
    done();
    return 0;
}
