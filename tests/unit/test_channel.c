/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/lib/channel.c: the exact quota rules of
 * include/zvm/channel.h on files and FIFOs, counters and the quota_hit flag,
 * etags against an independent MD5, the access types (truncation, offsets,
 * seek), open errors, TCP channels against a listener forked here, and
 * zvm_channel_stat.  Everything lives in a mkdtemp() directory under /tmp,
 * removed at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tap.h"
#include "zvm/channel.h"

static char tmp[64];

/* ---- helpers ------------------------------------------------------------ */

static const char *path_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp, name);
    return buf;
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(99);
    }
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

/* The whole file as a string (static buffer), or "(missing)". */
static const char *get_file(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f)
        return "(missing)";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void md5_hex(const void *data, size_t n, char hex[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data, n, md, &len, EVP_md5(), NULL);
    for (unsigned i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static zvm_channel_spec_t spec_of(const char *uri, const char *alias, zvm_channel_type_t type,
                                  bool etag, uint64_t gets, uint64_t get_size, uint64_t puts,
                                  uint64_t put_size)
{
    zvm_channel_spec_t s = {0};
    s.uri = (char *)uri;
    s.alias = (char *)alias;
    s.type = type;
    s.etag = etag;
    s.limits[ZVM_LIMIT_GETS] = gets;
    s.limits[ZVM_LIMIT_GET_SIZE] = get_size;
    s.limits[ZVM_LIMIT_PUTS] = puts;
    s.limits[ZVM_LIMIT_PUT_SIZE] = put_size;
    s.line = 1;
    return s;
}

static int open_ok(zvm_channel_t *ch, const zvm_channel_spec_t *s)
{
    zvm_error_t err = {0};
    int rc = zvm_channel_open(ch, s, 2000, &err);
    if (rc != 0)
        printf("# open '%s' failed: %s\n", s->uri, err.msg);
    return rc;
}

/* Fork a writer that opens the FIFO, writes text and closes it. */
static pid_t fifo_writer(const char *fifo, const char *text)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        int fd = open(fifo, O_WRONLY);
        if (fd < 0)
            _exit(1);
        size_t n = strlen(text);
        _exit(write(fd, text, n) == (ssize_t)n && close(fd) == 0 ? 0 : 2);
    }
    return pid;
}

static bool reaped_ok(pid_t pid)
{
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return false;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* ---- quota rules on regular files --------------------------------------- */

static void test_read_quota(void)
{
    char p[128];
    path_of(p, sizeof p, "digits");
    put_file(p, "0123456789");
    zvm_channel_spec_t s = spec_of(p, "/dev/input", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false,
                                   10, 4, 0, 0);
    zvm_channel_t ch;
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(ch.readable && !ch.writable && ch.kind == ZVM_CHANNEL_FILE && !ch.seekable,
           "read-only sequential file: readable, not writable, not seekable");
    char buf[64] = {0};
    ssize_t r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(r == 4 && memcmp(buf, "0123", 4) == 0, "read is capped to get_size left (got %zd)", r);
    tap_ok(ch.used[ZVM_LIMIT_GETS] == 1 && ch.used[ZVM_LIMIT_GET_SIZE] == 4 && !ch.quota_hit,
           "used[] counts 1 get of 4 bytes, no quota hit yet");
    r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(r == -EDQUOT, "nothing left, not at EOF: -EDQUOT (got %zd)", r);
    tap_ok(ch.quota_hit && ch.used[ZVM_LIMIT_GETS] == 1 && ch.used[ZVM_LIMIT_GET_SIZE] == 4,
           "refused read sets quota_hit and counts nothing");
    zvm_channel_close(&ch);
    tap_ok(ch.fd == -1, "close leaves fd -1");

    /* Nothing left, at EOF: 0. */
    path_of(p, sizeof p, "four");
    put_file(p, "abcd");
    s = spec_of(p, "/dev/four", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 10, 4, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    ssize_t r2 = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(r == 4 && r2 == 0 && !ch.quota_hit,
           "nothing left at EOF: read returns 0 without quota_hit (got %zd, %zd)", r, r2);
    zvm_channel_close(&ch);

    /* gets count: 2 operations allowed. */
    path_of(p, sizeof p, "six");
    put_file(p, "abcdef");
    s = spec_of(p, "/dev/six", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, true, 2, 100, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    ssize_t a = zvm_channel_read(&ch, buf, 1, -1);
    ssize_t b = zvm_channel_read(&ch, buf + 1, 1, -1);
    ssize_t c = zvm_channel_read(&ch, buf + 2, 1, -1);
    tap_ok(a == 1 && b == 1 && c == -EDQUOT && memcmp(buf, "ab", 2) == 0 && ch.quota_hit,
           "gets=2: third read refused with -EDQUOT (got %zd %zd %zd)", a, b, c);
    char want[33], got[33];
    md5_hex("ab", 2, want);
    zvm_channel_etag(&ch, got);
    tap_is_str(got, want, "etag covers only the bytes passed, not the end-of-data probe");
    zvm_channel_close(&ch);

    /* gets exhausted but at EOF: 0. */
    path_of(p, sizeof p, "two");
    put_file(p, "xy");
    s = spec_of(p, "/dev/two", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 2, 100, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    a = zvm_channel_read(&ch, buf, 1, -1);
    b = zvm_channel_read(&ch, buf, 1, -1);
    c = zvm_channel_read(&ch, buf, 1, -1);
    tap_ok(a == 1 && b == 1 && c == 0 && !ch.quota_hit,
           "gets exhausted at EOF: read returns 0 (got %zd %zd %zd)", a, b, c);
    zvm_channel_close(&ch);

    /* After close: -EBADF, not a quota error */
    a = zvm_channel_read(&ch, buf, 1, -1);
    tap_ok(a == -EBADF, "read after close: -EBADF (got %zd)", a);

    /* A refused read leaves no trace on the host: on a regular file the
     * end-of-data check must not consume a byte of the shared offset. */
    path_of(p, sizeof p, "probe");
    put_file(p, "abcdef");
    s = spec_of(p, "/dev/probe", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 1, 100, 10, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    a = zvm_channel_read(&ch, buf, 1, -1);
    b = zvm_channel_read(&ch, buf, 1, -1);
    c = zvm_channel_write(&ch, "X", 1, -1);
    zvm_channel_close(&ch);
    tap_ok(a == 1 && b == -EDQUOT && c == 1 && strcmp(get_file(p), "aXcdef") == 0,
           "a refused read does not move where a sequential write lands (file '%s')",
           get_file(p));
}

static void test_write_quota(void)
{
    char p[128];
    path_of(p, sizeof p, "out5");
    zvm_channel_spec_t s = spec_of(p, "/dev/out", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false,
                                   0, 0, 10, 5);
    zvm_channel_t ch;
    if (open_ok(&ch, &s) != 0)
        return;
    ssize_t a = zvm_channel_write(&ch, "abc", 3, -1);
    ssize_t b = zvm_channel_write(&ch, "def", 3, -1);
    tap_ok(a == 3 && b == -EDQUOT && ch.quota_hit,
           "write past put_size refused with -EDQUOT (got %zd %zd)", a, b);
    tap_is_str(get_file(p), "abc", "refused write put no byte in the file");
    ssize_t c = zvm_channel_write(&ch, "de", 2, -1);
    tap_ok(c == 2 && ch.used[ZVM_LIMIT_PUTS] == 2 && ch.used[ZVM_LIMIT_PUT_SIZE] == 5,
           "write of exactly what is left passes; used[] = 2 puts, 5 bytes (got %zd)", c);
    tap_is_str(get_file(p), "abcde", "file holds the accepted writes");
    zvm_channel_close(&ch);

    /* puts count */
    path_of(p, sizeof p, "puts2");
    s = spec_of(p, "/dev/puts", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 0, 0, 2, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    a = zvm_channel_write(&ch, "1", 1, -1);
    b = zvm_channel_write(&ch, "2", 1, -1);
    tap_ok(a == 1 && b == 1 && !ch.quota_hit, "two puts pass");
    c = zvm_channel_write(&ch, "3", 1, -1);
    tap_ok(c == -EDQUOT && ch.quota_hit && strcmp(get_file(p), "12") == 0,
           "third put refused, file unchanged (got %zd)", c);
    zvm_channel_close(&ch);
}

/* Resizes are writes of no byte; copies say whether a byte could pass. */
static void test_resize_and_copy(void)
{
    char p[128];
    path_of(p, sizeof p, "rnd-resize");
    zvm_channel_spec_t s = spec_of(p, "/dev/rnd", ZVM_CHANNEL_SEQ_READ_RND_WRITE, false,
                                   0, 0, 3, 100);
    zvm_channel_t ch;
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(zvm_channel_truncate(&ch, 101) == -EDQUOT && ch.quota_hit,
           "truncate past put_size: -EDQUOT");
    tap_ok(zvm_channel_allocate(&ch, 0, 90, 11) == -EDQUOT, "allocate past put_size: -EDQUOT");
    tap_ok(zvm_channel_allocate(&ch, 2 /* PUNCH_HOLE */, 0, 10) == -EOPNOTSUPP,
           "allocate that punches a hole: -EOPNOTSUPP");
    struct stat st;
    int t = zvm_channel_truncate(&ch, 40);
    tap_ok(t == 0 && stat(p, &st) == 0 && st.st_size == 40 && ch.used[ZVM_LIMIT_PUTS] == 1 &&
               ch.used[ZVM_LIMIT_PUT_SIZE] == 0,
           "truncate within put_size: one write, no byte (got %d)", t);
    tap_ok(zvm_channel_copy_check(&ch, false) == -EINVAL, "copy into a channel with room: -EINVAL");
    tap_ok(zvm_channel_allocate(&ch, 0, 0, 50) == 0 && ch.used[ZVM_LIMIT_PUTS] == 2,
           "allocate within put_size counts one write");
    tap_ok(zvm_channel_write(&ch, "x", 1, 0) == 1, "the last write operation");
    tap_ok(zvm_channel_truncate(&ch, 0) == -EDQUOT, "truncate with no write left: -EDQUOT");
    tap_ok(zvm_channel_copy_check(&ch, false) == -EDQUOT, "copy into it: -EDQUOT");
    zvm_channel_close(&ch);

    path_of(p, sizeof p, "seq-resize");
    s = spec_of(p, "/dev/seq", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 0, 0, 3, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(zvm_channel_truncate(&ch, 0) == -EINVAL && zvm_channel_allocate(&ch, 0, 0, 1) == -ESPIPE &&
               ch.used[ZVM_LIMIT_PUTS] == 0,
           "a stream refuses resizes as a pipe would (EINVAL, ESPIPE), nothing counted");
    zvm_channel_close(&ch);

    path_of(p, sizeof p, "src-copy");
    put_file(p, "ab");
    s = spec_of(p, "/dev/src", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 1, 100, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(zvm_channel_copy_check(&ch, true) == -EINVAL, "copy from a source with quota: -EINVAL");
    char buf[1];
    zvm_channel_read(&ch, buf, 1, -1);
    tap_ok(zvm_channel_copy_check(&ch, true) == -EDQUOT, "no read left, not at the end: -EDQUOT");
    zvm_channel_read(&ch, buf, 1, -1);
    zvm_channel_close(&ch);
    s = spec_of(p, "/dev/src", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 1, 2, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    char two[2];
    zvm_channel_read(&ch, two, 2, -1);
    tap_ok(zvm_channel_copy_check(&ch, true) == 0, "a source used up at its end: 0 (end of data)");
    zvm_channel_close(&ch);
}

static void test_zero_limits(void)
{
    char p[128];
    path_of(p, sizeof p, "zero");
    put_file(p, "data");
    zvm_channel_spec_t s = spec_of(p, "/dev/zero-limits", ZVM_CHANNEL_RND_READ_RND_WRITE,
                                   false, 0, 0, 0, 0);
    zvm_channel_t ch;
    if (open_ok(&ch, &s) != 0)
        return;
    char buf[8];
    tap_ok(!ch.readable && !ch.writable, "limits 0: neither readable nor writable");
    ssize_t r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    ssize_t w = zvm_channel_write(&ch, "x", 1, -1);
    tap_ok(r == -EDQUOT && w == -EDQUOT && ch.quota_hit,
           "limits 0: read and write refused with -EDQUOT (got %zd %zd)", r, w);
    tap_is_str(get_file(p), "data", "limits 0: file untouched");
    zvm_channel_close(&ch);

    /* gets allowed but get_size 0 (and the reverse for writes): not allowed */
    s = spec_of(p, "/dev/half", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 5, 0, 0, 5);
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(!ch.readable && !ch.writable, "gets>0 with get_size 0, puts 0 with put_size>0: "
           "neither side usable");
    zvm_channel_close(&ch);
}

/* ---- FIFOs -------------------------------------------------------------- */

static void test_fifo(void)
{
    char p[128];
    char buf[64];
    path_of(p, sizeof p, "fifo1");
    if (mkfifo(p, 0600) != 0) {
        tap_ok(0, "mkfifo: %s", strerror(errno));
        return;
    }
    zvm_channel_spec_t s = spec_of(p, "/dev/pipe", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, true,
                                   100, 4, 0, 0);
    zvm_channel_t ch;
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(ch.kind == ZVM_CHANNEL_PIPE && ch.fd == -1,
           "FIFO: kind PIPE, not opened before first use");
    struct stat st;
    tap_ok(zvm_channel_stat(&ch, -1, &st) == 0 && S_ISFIFO(st.st_mode) &&
           (st.st_mode & 0777) == 0444, "stat of a read-only FIFO: S_IFIFO, 0444");
    pid_t pid = fifo_writer(p, "pipedata12");
    size_t total = 0;
    ssize_t r = 0;
    while (total < 4 && (r = zvm_channel_read(&ch, buf + total, sizeof buf - total, -1)) > 0)
        total += (size_t)r;
    tap_ok(total == 4 && memcmp(buf, "pipe", 4) == 0 &&
           ch.used[ZVM_LIMIT_GET_SIZE] == 4, "FIFO read capped to get_size (got %zu)", total);
    r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(r == -EDQUOT && ch.quota_hit, "FIFO: nothing left, data pending: -EDQUOT (got %zd)",
           r);
    char want[33], got[33];
    md5_hex("pipe", 4, want);
    zvm_channel_etag(&ch, got);
    tap_is_str(got, want, "FIFO etag covers the bytes passed");
    zvm_channel_close(&ch);
    tap_ok(reaped_ok(pid), "FIFO writer 1 done");

    /* Nothing left at EOF: 0 */
    path_of(p, sizeof p, "fifo2");
    mkfifo(p, 0600);
    s = spec_of(p, "/dev/pipe2", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 100, 4, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    pid = fifo_writer(p, "abcd");
    total = 0;
    while (total < 4 && (r = zvm_channel_read(&ch, buf + total, sizeof buf - total, -1)) > 0)
        total += (size_t)r;
    r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(total == 4 && r == 0 && !ch.quota_hit,
           "FIFO: nothing left at EOF: 0, no quota hit (got %zu, %zd)", total, r);
    zvm_channel_close(&ch);
    tap_ok(reaped_ok(pid), "FIFO writer 2 done");

    /* gets exhausted with data pending, then the probed byte is not lost
     * for the counters: still refused */
    path_of(p, sizeof p, "fifo3");
    mkfifo(p, 0600);
    s = spec_of(p, "/dev/pipe3", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 1, 100, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    pid = fifo_writer(p, "z");
    r = zvm_channel_read(&ch, buf, 1, -1);
    ssize_t r2 = zvm_channel_read(&ch, buf, 1, -1);
    tap_ok(r == 1 && buf[0] == 'z' && r2 == 0 && ch.used[ZVM_LIMIT_GETS] == 1,
           "FIFO: gets exhausted at EOF: 0 (got %zd %zd)", r, r2);
    zvm_channel_close(&ch);
    tap_ok(reaped_ok(pid), "FIFO writer 3 done");

    /* A refused read must not open (and block on) a FIFO: the read side of a
     * write-only FIFO channel has no quota at all. */
    path_of(p, sizeof p, "fifo4");
    mkfifo(p, 0600);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        alarm(2);
        zvm_channel_spec_t s4 = spec_of(p, "/dev/wpipe", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false,
                                        0, 0, 10, 10);
        zvm_channel_t c4;
        zvm_error_t err = {0};
        if (zvm_channel_open(&c4, &s4, 2000, &err) != 0)
            _exit(3);
        char b[4];
        ssize_t rr = zvm_channel_read(&c4, b, sizeof b, -1);
        _exit(rr == -EDQUOT && c4.quota_hit ? 0 : 4);
    }
    int wst = 0;
    waitpid(pid, &wst, 0);
    tap_ok(WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
           "read on a write-only FIFO with no peer returns -EDQUOT at once (%s %d) "
           "[bug 1 of /tmp/channel-bugs.txt]",
           WIFSIGNALED(wst) ? "killed by signal" : "exit",
           WIFSIGNALED(wst) ? WTERMSIG(wst) : WEXITSTATUS(wst));
}

/* ---- etags -------------------------------------------------------------- */

static void test_etag(void)
{
    char p[128];
    path_of(p, sizeof p, "hello");
    zvm_channel_spec_t s = spec_of(p, "/dev/stdout", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, true,
                                   0, 0, 10, 100);
    zvm_channel_t ch;
    if (open_ok(&ch, &s) != 0)
        return;
    char got[33], want[33];
    zvm_channel_etag(&ch, got);
    tap_is_str(got, "d41d8cd98f00b204e9800998ecf8427e", "etag before any byte: MD5 of nothing");
    zvm_channel_write(&ch, "hello", 5, -1);
    zvm_channel_etag(&ch, got);
    tap_is_str(got, "5d41402abc4b2a76b9719d911017c592", "etag of write \"hello\"");
    const char *content = get_file(p);
    md5_hex(content, strlen(content), want);
    tap_is_str(got, want, "etag of an output written once equals the MD5 of the file");
    zvm_channel_close(&ch);
    tap_ok(ch.md5 == NULL, "close frees the etag state");

    /* Reads and writes alike, in order. */
    path_of(p, sizeof p, "mixed");
    put_file(p, "abc");
    s = spec_of(p, "/dev/mixed", ZVM_CHANNEL_RND_READ_RND_WRITE, true, 10, 100, 10, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    char buf[8];
    ssize_t r = zvm_channel_read(&ch, buf, 3, -1);
    ssize_t w = zvm_channel_write(&ch, "XYZ", 3, -1);
    w += zvm_channel_write(&ch, "", 0, -1);
    md5_hex("abcXYZ", 6, want);
    zvm_channel_etag(&ch, got);
    tap_ok(r == 3 && w == 3 && strcmp(got, want) == 0,
           "etag is the MD5 of reads and writes in order (%s)", got);
    zvm_channel_close(&ch);

    /* A large write: across many EVP updates */
    path_of(p, sizeof p, "big");
    s = spec_of(p, "/dev/big", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, true, 0, 0, 1000, 1 << 20);
    if (open_ok(&ch, &s) != 0)
        return;
    static char big[256 * 1024];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + (i >> 9));
    for (size_t off = 0; off < sizeof big; off += 4096)
        zvm_channel_write(&ch, big + off, 4096, -1);
    md5_hex(big, sizeof big, want);
    zvm_channel_etag(&ch, got);
    tap_is_str(got, want, "etag of 256 KiB in 64 writes");
    zvm_channel_close(&ch);

    /* Etag off: empty string */
    path_of(p, sizeof p, "noetag");
    s = spec_of(p, "/dev/noetag", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 0, 0, 10, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    zvm_channel_write(&ch, "hello", 5, -1);
    zvm_channel_etag(&ch, got);
    tap_is_str(got, "", "etag off: empty string");
    zvm_channel_close(&ch);
    ssize_t wc = zvm_channel_write(&ch, "x", 1, -1);
    tap_ok(wc == -EBADF && !ch.quota_hit, "write after close (quota left): -EBADF (got %zd)", wc);
}

/* ---- access types ------------------------------------------------------- */

static void test_types(void)
{
    char p[128];
    char buf[64];
    zvm_channel_t ch;

    /* Sequential write-only: truncated at open */
    path_of(p, sizeof p, "trunc");
    put_file(p, "old content here");
    zvm_channel_spec_t s = spec_of(p, "/dev/trunc", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false,
                                   0, 0, 10, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    tap_is_str(get_file(p), "", "sequential write-only file is truncated at open");
    zvm_channel_write(&ch, "new", 3, -1);
    zvm_channel_close(&ch);
    tap_is_str(get_file(p), "new", "... and holds what was written");

    /* Random write (type 2): not truncated, writes at pos */
    put_file(p, "0123456789");
    s = spec_of(p, "/dev/rw2", ZVM_CHANNEL_SEQ_READ_RND_WRITE, false, 0, 0, 10, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    tap_is_str(get_file(p), "0123456789", "random-write file is not truncated at open");
    zvm_channel_write(&ch, "AB", 2, -1);
    zvm_channel_close(&ch);
    tap_is_str(get_file(p), "AB23456789", "random write at pos 0 overwrites in place");

    /* Type 3: offsets and pos */
    put_file(p, "0123456789");
    s = spec_of(p, "/dev/rnd", ZVM_CHANNEL_RND_READ_RND_WRITE, false, 100, 100, 100, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(ch.seekable && ch.readable && ch.writable, "type 3 file: seekable, read/write");
    memset(buf, 0, sizeof buf);
    ssize_t r = zvm_channel_read(&ch, buf, 3, 5);
    tap_ok(r == 3 && memcmp(buf, "567", 3) == 0 && ch.pos == 0,
           "pread at offset 5 reads there and leaves pos at 0 (got %zd, pos %llu)", r,
           (unsigned long long)ch.pos);
    r = zvm_channel_read(&ch, buf, 3, -1);
    tap_ok(r == 3 && memcmp(buf, "012", 3) == 0 && ch.pos == 3,
           "read at pos advances pos (pos %llu)", (unsigned long long)ch.pos);
    ssize_t w = zvm_channel_write(&ch, "AB", 2, -1);
    tap_ok(w == 2 && ch.pos == 5, "write at pos 3 advances pos to 5 (pos %llu)",
           (unsigned long long)ch.pos);
    w = zvm_channel_write(&ch, "Z", 1, 9);
    tap_ok(w == 1 && ch.pos == 5, "pwrite at offset 9 leaves pos");
    tap_is_str(get_file(p), "012AB5678Z", "type 3 file after positioned writes");
    memset(buf, 0, sizeof buf);
    r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(r == 5 && memcmp(buf, "5678Z", 5) == 0 && ch.pos == 10, "read to end from pos 5");
    r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(r == 0, "read at end of a random file: 0");
    r = zvm_channel_read(&ch, buf, sizeof buf, 1000);
    tap_ok(r == 0 && ch.pos == 10, "pread past the end: 0");

    /* lseek */
    int64_t a = zvm_channel_seek(&ch, 2, SEEK_SET);
    int64_t b = zvm_channel_seek(&ch, 3, SEEK_CUR);
    int64_t c = zvm_channel_seek(&ch, -1, SEEK_END);
    tap_ok(a == 2 && b == 5 && c == 9 && ch.pos == 9,
           "seek SET 2 / CUR +3 / END -1 -> 2, 5, 9 (got %lld %lld %lld)", (long long)a,
           (long long)b, (long long)c);
    memset(buf, 0, sizeof buf);
    r = zvm_channel_read(&ch, buf, sizeof buf, -1);
    tap_ok(r == 1 && buf[0] == 'Z', "read after seek reads at the new pos");
    a = zvm_channel_seek(&ch, -1, SEEK_SET);
    b = zvm_channel_seek(&ch, 0, 42);
    c = zvm_channel_seek(&ch, INT64_MAX, SEEK_END);
    tap_ok(a == -EINVAL && b == -EINVAL && c == -EINVAL && ch.pos == 10,
           "seek before 0, bad whence, overflow: -EINVAL, pos kept");
    a = zvm_channel_seek(&ch, 99, SEEK_SET);
    tap_ok(a == 99, "seek past the end is allowed");
    w = zvm_channel_write(&ch, "!", 1, -1);
    struct stat st;
    tap_ok(w == 1 && zvm_channel_stat(&ch, -1, &st) == 0 && st.st_size == 100,
           "write past the end extends the file up to put_size (size %lld)", (long long)st.st_size);
    w = zvm_channel_write(&ch, "!", 1, -1);
    ssize_t w2 = zvm_channel_write(&ch, "!", 1, (int64_t)1 << 34);
    tap_ok(w == -EDQUOT && w2 == -EDQUOT && zvm_channel_stat(&ch, -1, &st) == 0 &&
               st.st_size == 100,
           "a random write reaching past put_size is refused: the file stays %lld bytes",
           (long long)st.st_size);
    zvm_channel_close(&ch);

    /* Sequential: -ESPIPE for seeks and for positioned reads and writes,
     * as on a pipe, and nothing counted */
    put_file(p, "abcdef");
    s = spec_of(p, "/dev/seq", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 100, 100, 0, 0);
    if (open_ok(&ch, &s) != 0)
        return;
    tap_ok(zvm_channel_seek(&ch, 0, SEEK_SET) == -ESPIPE &&
           zvm_channel_seek(&ch, 0, SEEK_END) == -ESPIPE, "seek on a sequential channel: -ESPIPE");
    memset(buf, 0, sizeof buf);
    r = zvm_channel_read(&ch, buf, 2, 4);
    ssize_t r2 = zvm_channel_read(&ch, buf, 2, 0);
    ssize_t r3 = zvm_channel_read(&ch, buf, 2, -1);
    tap_ok(r == -ESPIPE && r2 == -ESPIPE && r3 == 2 && memcmp(buf, "ab", 2) == 0 &&
               ch.used[ZVM_LIMIT_GETS] == 1,
           "pread on a sequential channel: -ESPIPE, uncounted, the stream unmoved (got %zd %zd '%.2s')",
           r, r2, buf);
    zvm_channel_close(&ch);

    /* Sequential write: -ESPIPE with an offset */
    path_of(p, sizeof p, "seqw");
    s = spec_of(p, "/dev/seqw", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 0, 0, 100, 100);
    if (open_ok(&ch, &s) != 0)
        return;
    ssize_t s1 = zvm_channel_write(&ch, "ab", 2, 50);
    ssize_t s2 = zvm_channel_write(&ch, "ab", 2, 0);
    zvm_channel_write(&ch, "cd", 2, -1);
    tap_ok(s1 == -ESPIPE && s2 == -ESPIPE && ch.used[ZVM_LIMIT_PUTS] == 1,
           "pwrite on a sequential channel: -ESPIPE, uncounted (got %zd %zd)", s1, s2);
    zvm_channel_close(&ch);
    tap_is_str(get_file(p), "cd", "only the sequential write reached the file");
}

/* ---- open errors and kinds ---------------------------------------------- */

static void test_open(void)
{
    char p[128];
    zvm_channel_t ch;
    zvm_error_t err = {0};

    path_of(p, sizeof p, "missing");
    zvm_channel_spec_t s = spec_of(p, "/dev/missing", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, true,
                                   10, 10, 0, 0);
    int rc = zvm_channel_open(&ch, &s, 2000, &err);
    tap_ok(rc == -1 && err.code == ENOENT && strstr(err.msg, "/dev/missing") &&
           strstr(err.msg, p) && ch.fd == -1 && ch.md5 == NULL,
           "missing read-only file: -1, message names alias and path ('%s')", err.msg);

    path_of(p, sizeof p, "created");
    s = spec_of(p, "/dev/created", ZVM_CHANNEL_RND_READ_RND_WRITE, false, 10, 10, 10, 10);
    rc = open_ok(&ch, &s);
    struct stat st;
    tap_ok(rc == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644,
           "missing writable file is created 0644 (mode %o)", (unsigned)(st.st_mode & 0777));
    if (rc == 0)
        zvm_channel_close(&ch);

    s = spec_of(tmp, "/dir", ZVM_CHANNEL_RND_READ_RND_WRITE, false, 10, 10, 0, 0);
    rc = open_ok(&ch, &s);
    tap_ok(rc == 0 && ch.kind == ZVM_CHANNEL_DIR && !ch.seekable,
           "directory uri: kind ZVM_CHANNEL_DIR");
    if (rc == 0) {
        tap_ok(zvm_channel_stat(&ch, -1, &st) == 0 && S_ISDIR(st.st_mode),
               "stat of a directory channel: S_IFDIR");
        zvm_channel_close(&ch);
    }

    s = spec_of("/dev/null", "/dev/null", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 10, 10, 10, 10);
    rc = open_ok(&ch, &s);
    tap_ok(rc == 0 && ch.kind == ZVM_CHANNEL_CHAR && !ch.seekable,
           "/dev/null: kind ZVM_CHANNEL_CHAR");
    if (rc == 0) {
        char b[4];
        ssize_t r = zvm_channel_read(&ch, b, sizeof b, -1);
        ssize_t w = zvm_channel_write(&ch, "abc", 3, -1);
        tap_ok(r == 0 && w == 3 && zvm_channel_stat(&ch, -1, &st) == 0 && S_ISCHR(st.st_mode) &&
               (st.st_mode & 0777) == 0666, "/dev/null reads 0, takes writes, stat S_IFCHR 0666");
        zvm_channel_close(&ch);
    }
}

/* "/dev/stdout" and "/dev/stdin" use the caller's own streams (duplicated):
 * run in a child with fd 0 and 1 redirected to files. */
static void test_std_streams(void)
{
    char in[128], out[128];
    path_of(in, sizeof in, "stdin.txt");
    path_of(out, sizeof out, "stdout.txt");
    put_file(in, "input!");
    put_file(out, "");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5);
        int i = open(in, O_RDONLY), o = open(out, O_WRONLY);
        if (i < 0 || o < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0)
            _exit(10);
        zvm_channel_spec_t si = spec_of("/dev/stdin", "/dev/stdin", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE,
                                        false, 10, 100, 0, 0);
        zvm_channel_spec_t so = spec_of("/dev/stdout", "/dev/stdout",
                                        ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, false, 0, 0, 10, 100);
        zvm_channel_t ci, co;
        zvm_error_t err = {0};
        if (zvm_channel_open(&ci, &si, 2000, &err) || zvm_channel_open(&co, &so, 2000, &err))
            _exit(11);
        if (ci.fd <= 2 || co.fd <= 2 || ci.kind != ZVM_CHANNEL_FILE)
            _exit(12);
        char b[16] = {0};
        if (zvm_channel_read(&ci, b, sizeof b, -1) != 6 || strcmp(b, "input!") != 0)
            _exit(13);
        if (zvm_channel_write(&co, "from channel,", 13, -1) != 13)
            _exit(14);
        if (write(1, "from report", 11) != 11)
            _exit(15);
        zvm_channel_close(&ci);
        zvm_channel_close(&co);
        if (fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0)
            _exit(16); /* closing the channel must not close our streams */
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "/dev/stdin and /dev/stdout channels use duplicates of fd 0/1 (child exit %d)",
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    tap_is_str(get_file(out), "from channel,from report",
               "/dev/stdout channel shares the file offset with the caller's stdout");
}

/* ---- TCP ---------------------------------------------------------------- */

static int listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_tcp(void)
{
    uint16_t port = 0;
    int lfd = listener(&port);
    if (lfd < 0 || listen(lfd, 1) < 0) {
        tap_ok(0, "tcp listener: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Echo server: read 5 bytes, send them back upper-cased, close. */
        alarm(10);
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            _exit(1);
        char b[5];
        size_t got = 0;
        while (got < sizeof b) {
            ssize_t r = read(c, b + got, sizeof b - got);
            if (r <= 0)
                _exit(2);
            got += (size_t)r;
        }
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (char)(b[i] - 'a' + 'A');
        _exit(write(c, b, sizeof b) == (ssize_t)sizeof b && close(c) == 0 ? 0 : 3);
    }
    close(lfd);

    char uri[64];
    snprintf(uri, sizeof uri, "tcp:127.0.0.1:%u", (unsigned)port);
    zvm_channel_spec_t s = spec_of(uri, "/dev/net", ZVM_CHANNEL_SEQ_READ_SEQ_WRITE, true,
                                   100, 100, 100, 100);
    s.is_tcp = true;
    s.tcp_host = "127.0.0.1";
    s.tcp_port = port;
    zvm_channel_t ch;
    int rc = open_ok(&ch, &s);
    tap_ok(rc == 0 && ch.kind == ZVM_CHANNEL_TCP && zvm_channel_is_network(&ch),
           "tcp channel connects to a local listener, is network");
    if (rc == 0) {
        ssize_t w = zvm_channel_write(&ch, "hello", 5, -1);
        char buf[16] = {0};
        size_t total = 0;
        ssize_t r;
        while ((r = zvm_channel_read(&ch, buf + total, sizeof buf - 1 - total, -1)) > 0)
            total += (size_t)r;
        tap_ok(w == 5 && total == 5 && r == 0 && strcmp(buf, "HELLO") == 0,
               "tcp write then read the echo to EOF (got '%s', last %zd)", buf, r);
        tap_ok(ch.used[ZVM_LIMIT_PUTS] == 1 && ch.used[ZVM_LIMIT_PUT_SIZE] == 5 &&
               ch.used[ZVM_LIMIT_GETS] >= 1 && ch.used[ZVM_LIMIT_GETS] <= 5 &&
               ch.used[ZVM_LIMIT_GET_SIZE] == 5, "tcp traffic counted in used[]");
        char got[33], want[33];
        md5_hex("helloHELLO", 10, want);
        zvm_channel_etag(&ch, got);
        tap_is_str(got, want, "tcp etag covers both directions");
        struct stat st;
        tap_ok(zvm_channel_stat(&ch, -1, &st) == 0 && S_ISSOCK(st.st_mode),
               "stat of a tcp channel: S_IFSOCK");
        zvm_channel_close(&ch);
    }
    tap_ok(reaped_ok(pid), "tcp echo server done");

    /* A port nobody listens on */
    int cfd = listener(&port);
    if (cfd >= 0)
        close(cfd);
    snprintf(uri, sizeof uri, "tcp:127.0.0.1:%u", (unsigned)port);
    s.tcp_port = port;
    zvm_error_t err = {0};
    rc = zvm_channel_open(&ch, &s, 2000, &err);
    tap_ok(rc == -1 && err.code != 0 && strstr(err.msg, "/dev/net") &&
           strstr(err.msg, "cannot connect") && strstr(err.msg, uri) && ch.fd == -1,
           "connect to a closed port fails with a message ('%s')", err.msg);

    /* A listener whose accept queue is full drops the SYN: the connect
     * times out after timeout_ms. */
    lfd = listener(&port);
    int extra[3] = {-1, -1, -1};
    if (lfd >= 0 && listen(lfd, 0) == 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        for (int i = 0; i < 3; i++) {
            extra[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (extra[i] >= 0)
                connect(extra[i], (struct sockaddr *)&a, sizeof a);
        }
        usleep(100 * 1000);
        s.tcp_host = "127.0.0.1";
        s.tcp_port = port;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = zvm_channel_open(&ch, &s, 300, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        tap_ok(rc == -1 && err.code == ETIMEDOUT && dt >= 0.25 && dt < 1.5,
               "connect is bounded by timeout_ms (rc %d, %.3fs, '%s')", rc, dt, err.msg);
        if (rc == 0)
            zvm_channel_close(&ch);
    } else {
        tap_ok(0, "full listener: %s", strerror(errno));
    }
    for (int i = 0; i < 3; i++)
        if (extra[i] >= 0)
            close(extra[i]);
    if (lfd >= 0)
        close(lfd);

    /* A host that does not resolve */
    s.tcp_host = "no-such-host.invalid";
    rc = zvm_channel_open(&ch, &s, 2000, &err);
    tap_ok(rc == -1 && strstr(err.msg, "no-such-host.invalid") != NULL,
           "unresolvable host fails with a message ('%s')", err.msg);
}

/* ---- stat --------------------------------------------------------------- */

static void test_stat(void)
{
    char p[128];
    path_of(p, sizeof p, "statme");
    put_file(p, "0123456789abc");
    zvm_channel_spec_t s = spec_of(p, "/dev/stat", ZVM_CHANNEL_RND_READ_SEQ_WRITE, false,
                                   10, 10, 0, 0);
    zvm_channel_t ch;
    if (open_ok(&ch, &s) != 0)
        return;
    struct stat st;
    int rc = zvm_channel_stat(&ch, -1, &st);
    tap_ok(rc == 0 && S_ISREG(st.st_mode) && st.st_size == 13 && (st.st_mode & 0777) == 0444 &&
           st.st_ino == 0 && st.st_uid == 0 && st.st_nlink == 1,
           "stat of a read-only file: S_IFREG 0444, size 13, no host inode");
    rc = zvm_channel_stat(&ch, 0, &st);
    tap_ok(rc == 0 && S_ISCHR(st.st_mode) && st.st_size == 13, "mapping 0: S_IFCHR");
    rc = zvm_channel_stat(&ch, 2, &st);
    tap_ok(rc == 0 && S_ISFIFO(st.st_mode), "mapping 2: S_IFIFO");
    rc = zvm_channel_stat(&ch, 1, &st);
    tap_ok(rc == 0 && S_ISREG(st.st_mode), "mapping 1: S_IFREG");
    zvm_channel_close(&ch);

    s = spec_of(p, "/dev/statw", ZVM_CHANNEL_RND_READ_RND_WRITE, false, 0, 0, 10, 10);
    if (open_ok(&ch, &s) != 0)
        return;
    rc = zvm_channel_stat(&ch, -1, &st);
    tap_ok(rc == 0 && (st.st_mode & 0777) == 0222 && st.st_size == 13,
           "stat of a write-only file: 0222");
    zvm_channel_close(&ch);
}

int main(void)
{
    umask(022);
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp, sizeof tmp, "/tmp/zvm-test-channel-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 99;
    }
    test_read_quota();
    test_write_quota();
    test_resize_and_copy();
    test_zero_limits();
    test_fifo();
    test_etag();
    test_types();
    test_open();
    test_std_streams();
    test_tcp();
    test_stat();
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}
