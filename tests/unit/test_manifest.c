/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the manifest parser (src/lib/manifest.c): the seed example,
 * every refusal with its exact message and code, the channel count and
 * size limits, and zvm_manifest_load on files that are not manifests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "zvm/manifest.h"

#define HEAD                                                                   \
    "Version = 20130611\n"                                                     \
    "Timeout = 50\n"                                                           \
    "Memory = 4294967296,0\n"                                                  \
    "Program = /bin/prog\n"
#define CH_IN "Channel = /dev/stdin,/dev/stdin,0,0,8192,8192,0,0\n"
#define CH_OUT "Channel = /dev/stdout,/dev/stdout,0,0,0,0,8192,8192\n"

static const char seed[] =
    "Version = 20130611\n"
    "Timeout = 50\n"
    "Memory = 4294967296,0\n"
    "Program = /home/me/myapp.nexe\n"
    "Channel = /dev/stdin,/dev/stdin,0,0,8192,8192,0,0\n"
    "Channel = /dev/stdout,/dev/stdout,0,0,0,0,8192,8192\n"
    "Channel = /dev/stderr,/dev/stderr,0,0,0,0,8192,8192\n"
    "Channel = /home/me/python.tar,/dev/1.python.tar,3,0,8192,8192,8192,8192\n"
    "Channel = /home/me/nvram.1,/dev/nvram,3,0,8192,8192,8192,8192\n";

static const char *fixtures(void)
{
    const char *d = getenv("ZVM_FIXTURES");
    return d ? d : "../fixtures";
}

/* Parse len bytes of text, which must be refused with code and msg. */
static void refused_len(const char *text, size_t len, int code, const char *msg,
                        const char *what)
{
    zvm_manifest_t m;
    zvm_error_t err = {0};
    int r = zvm_manifest_parse(&m, text, len, "m.txt", &err);
    int ok = r == -1 && err.code == code && strcmp(err.msg, msg) == 0 &&
             m.channels == NULL && m.name == NULL && m.program == NULL;
    tap_ok(ok, "refused: %s", what);
    if (!ok)
        printf("#   got:  %d %d '%s'\n#   want: -1 %d '%s'\n", r, err.code, err.msg, code,
               msg);
    zvm_manifest_release(&m);
}

static void refused(const char *text, const char *msg, const char *what)
{
    refused_len(text, strlen(text), EINVAL, msg, what);
}

/* Parse text, which must be accepted; m is the caller's to release. */
static int parse_ok(zvm_manifest_t *m, const char *text, size_t len)
{
    zvm_error_t err = {0};
    int r = zvm_manifest_parse(m, text, len, "m.txt", &err);
    if (r != 0)
        printf("#   unexpected error: %s\n", err.msg);
    return r;
}

static void accepted(const char *text, const char *what)
{
    zvm_manifest_t m;
    tap_ok(parse_ok(&m, text, strlen(text)) == 0, "accepted: %s", what);
    zvm_manifest_release(&m);
}

static void test_seed(void)
{
    zvm_manifest_t m;
    int r = parse_ok(&m, seed, sizeof seed - 1);
    tap_ok(r == 0, "seed example parses");
    tap_ok(m.version == 20130611 && m.timeout == 50 && m.memory == 4294967296ull &&
               !m.memory_etag && !m.has_node && !m.name_server && !m.job,
           "seed: version, timeout, memory");
    tap_is_str(m.program, "/home/me/myapp.nexe", "seed: program");
    tap_is_str(m.name, "m.txt", "seed: name");
    tap_ok(m.nchannels == 5, "seed: 5 channels");
    const zvm_channel_spec_t *c = zvm_manifest_find_alias(&m, "/dev/1.python.tar");
    tap_ok(c && c == &m.channels[3] && strcmp(c->uri, "/home/me/python.tar") == 0 &&
               c->type == ZVM_CHANNEL_RND_READ_RND_WRITE && !c->etag && !c->is_tcp &&
               c->limits[ZVM_LIMIT_GETS] == 8192 && c->limits[ZVM_LIMIT_PUT_SIZE] == 8192 &&
               c->line == 8,
           "seed: python.tar channel");
    c = zvm_manifest_find_alias(&m, "/dev/stdout");
    tap_ok(c && c->limits[ZVM_LIMIT_GETS] == 0 && c->limits[ZVM_LIMIT_GET_SIZE] == 0 &&
               c->limits[ZVM_LIMIT_PUTS] == 8192 && c->line == 6,
           "seed: stdout channel is write-only");
    tap_ok(zvm_manifest_find_alias(&m, "/dev/nothing") == NULL, "find_alias: unknown alias");
    zvm_manifest_release(&m);
    zvm_manifest_release(&m);
    tap_ok(m.channels == NULL && m.nchannels == 0, "release twice is safe");
}

static void test_syntax_ok(void)
{
    static const char tcp[] = HEAD "Channel = tcp:127.0.0.1:27175,/dev/net,0,1,10,20,30,40\n"
                                   "Channel = tcp:[::1]:65535,/dev/net6,0,0,0,0,1,1\n";
    zvm_manifest_t m;
    int r = parse_ok(&m, tcp, sizeof tcp - 1);
    const zvm_channel_spec_t *c = r == 0 ? &m.channels[0] : NULL;
    tap_ok(c && c->is_tcp && strcmp(c->tcp_host, "127.0.0.1") == 0 && c->tcp_port == 27175 &&
               strcmp(c->uri, "tcp:127.0.0.1:27175") == 0 && c->etag &&
               c->limits[ZVM_LIMIT_PUT_SIZE] == 40,
           "tcp channel");
    c = r == 0 ? &m.channels[1] : NULL;
    tap_ok(c && c->is_tcp && strcmp(c->tcp_host, "::1") == 0 && c->tcp_port == 65535,
           "tcp channel, bracketed IPv6 host");
    zvm_manifest_release(&m);

    accepted("# comment\n\n   \t\n  Version=20130611  \r\n"
             "Timeout\t=\t1\r\nMemory = 1048576 , 1\nProgram = /my dir/my prog \n"
             " Channel = /a , /dev/a , 1 , 1 , 0 , 0 , 4294967296 , 0 \n",
             "comments, blanks, CRLF, spaces in Program and around fields");
    accepted(HEAD CH_IN "Node = 4294967295\nNameServer = udp:10.0.0.1:54321\n"
                        "Job = /run/zerovm.sock",
             "Node, NameServer and Job; no final newline");

    /* Not NUL-terminated: the parser reads len bytes only. */
    static const char text[] = HEAD CH_IN "Bogus = 1\n";
    r = parse_ok(&m, text, sizeof text - 1 - strlen("Bogus = 1\n"));
    tap_ok(r == 0 && m.nchannels == 1, "only len bytes are read");
    zvm_manifest_release(&m);
}

static void test_keys(void)
{
    refused("Version = 20130611\nProgram = /p\nTimout = 5\n",
            "m.txt:3: unknown key 'Timout'", "unknown key");
    refused("version = 20130611\n", "m.txt:1: unknown key 'version'",
            "keys are case-sensitive");
    refused("Version = 20130611\nTimeout = 5\nMemory = 1048576,0\n" CH_IN,
            "m.txt: missing required key 'Program'", "missing Program");
    refused("Timeout = 5\n", "m.txt: missing required key 'Version'", "missing Version");
    refused(HEAD, "m.txt: missing required key 'Channel'", "missing Channel");
    refused("", "m.txt: missing required key 'Version'", "empty manifest");
    refused("Version = 20130611\nTimeout = 5\nProgram = /p\nTimeout = 6\n",
            "m.txt:4: duplicate key 'Timeout'", "duplicate Timeout");
    refused("Version = 1\n", "m.txt:1: unsupported Version '1' (expected 20130611)",
            "unsupported Version");
    refused("Version = 20130611\nProgram = /p\nJob = /s\nJunk\n",
            "m.txt:4: line is not 'Key = value'", "line without '='");
    refused("Version = 20130611\n = 5\n", "m.txt:2: line is not 'Key = value'", "empty key");
    refused("Version = 20130611\nProgram =  \n", "m.txt:2: empty value for Program",
            "empty value");
    refused(HEAD CH_IN CH_OUT "Job = /s\nNameServer = udp:h:1\n",
            "m.txt:8: NameServer requires Node", "NameServer without Node");
    accepted(HEAD CH_IN "NameServer = udp:h:1\nNode = 3\n", "Node after NameServer");
    refused_len(HEAD "Chan\0nel = x\n", sizeof(HEAD "Chan\0nel = x\n") - 1, EINVAL,
                "m.txt:5: NUL byte in manifest", "NUL byte");
}

static void test_numbers(void)
{
    refused("Version = 20130611\nTimeout = abc\n", "m.txt:2: bad number 'abc' for Timeout",
            "Timeout not a number");
    refused("Version = 20130611\nTimeout = 0\n",
            "m.txt:2: Timeout out of range (1..2147483647): 0", "Timeout 0");
    refused("Version = 20130611\nTimeout = 2147483648\n",
            "m.txt:2: Timeout out of range (1..2147483647): 2147483648", "Timeout too big");
    refused("Version = 20130611\nTimeout = 99999999999999999999999\n",
            "m.txt:2: Timeout out of range (1..2147483647): 99999999999999999999999",
            "Timeout overflowing 64 bits");
    refused("Version = 20130611\nTimeout = -1\n", "m.txt:2: bad number '-1' for Timeout",
            "negative Timeout");
    refused("Version = 20130611\nTimeout = +5\n", "m.txt:2: bad number '+5' for Timeout",
            "signed Timeout");
    refused("Version = 20130611\nTimeout = 0x10\n", "m.txt:2: bad number '0x10' for Timeout",
            "hex Timeout");
    refused("Version = 20130611\nTimeout = 5 0\n", "m.txt:2: bad number '5 0' for Timeout",
            "Timeout with a blank inside");
    refused("Version = 20130611\nTimeout = 5\nMemory = 5000000000,0\n",
            "m.txt:3: Memory out of range (1048576..4294967296): 5000000000", "Memory too big");
    refused("Version = 20130611\nTimeout = 5\nMemory = 1048575,0\n",
            "m.txt:3: Memory out of range (1048576..4294967296): 1048575", "Memory too small");
    refused("Version = 20130611\nMemory = 1048576\n", "m.txt:2: Memory needs 2 fields, got 1",
            "Memory without etag");
    refused("Version = 20130611\nMemory = 1048576,2\n", "m.txt:2: bad memory etag '2' (0|1)",
            "Memory etag 2");
    refused("Node = 0\n", "m.txt:1: Node out of range (1..4294967295): 0", "Node 0");
}

static void test_channels(void)
{
    refused(HEAD "Channel = /a,/dev/a,0,0,1,1,1\n", "m.txt:5: Channel needs 8 fields, got 7",
            "7 channel fields");
    refused(HEAD "Channel = /a,/dev/a,0,0,1,1,1,1,1\n",
            "m.txt:5: Channel needs 8 fields, got 9", "9 channel fields");
    refused(HEAD "Channel = /a,/dev/a,4,0,1,1,1,1\n", "m.txt:5: bad channel type '4' (0..3)",
            "channel type 4");
    refused(HEAD "Channel = /a,/dev/a,0,2,1,1,1,1\n", "m.txt:5: bad channel etag '2' (0|1)",
            "channel etag 2");
    refused(HEAD "Channel = /a,/dev/a,0,0,4294967297,1,1,1\n",
            "m.txt:5: gets out of range (0..4294967296): 4294967297", "gets too big");
    refused(HEAD "Channel = /a,/dev/a,0,0,1,1,1,\n", "m.txt:5: bad number '' for put_size",
            "empty put_size");
    refused(HEAD " Channel = , /dev/a,0,0,1,1,1,1\n", "m.txt:5: empty channel uri",
            "empty uri");
    refused(HEAD "Channel = /a,,0,0,1,1,1,1\n", "m.txt:5: empty channel alias", "empty alias");
    refused(HEAD "Channel = /a b,/dev/a,0,0,1,1,1,1\n",
            "m.txt:5: bad channel uri '/a b': contains a blank", "uri with a blank");
    refused(HEAD CH_IN CH_OUT "Channel = /x,/dev/stdout,0,0,1,1,1,1\n",
            "m.txt:7: duplicate alias '/dev/stdout' (first on line 6)", "duplicate alias");
    refused(HEAD CH_IN CH_OUT "Channel = /x,dev/x,0,0,1,1,1,1\n",
            "m.txt:7: bad alias 'dev/x': must be an absolute path without '.' or '..' parts",
            "relative alias");
    refused(HEAD "Channel = /x,/dev/../etc,0,0,1,1,1,1\n",
            "m.txt:5: bad alias '/dev/../etc': must be an absolute path without '.' or '..' "
            "parts",
            "alias with '..'");
    refused(HEAD "Channel = /x,/dev/x/.,0,0,1,1,1,1\n",
            "m.txt:5: bad alias '/dev/x/.': must be an absolute path without '.' or '..' "
            "parts",
            "alias with '.'");
    refused(HEAD "Channel = /x,/dev//x,0,0,1,1,1,1\n",
            "m.txt:5: bad alias '/dev//x': empty path part", "alias with '//'");
    accepted(HEAD "Channel = /x,/dev/..x/.y,0,0,1,1,1,1\n", "alias with dotted names");
    refused(HEAD CH_IN CH_OUT "Channel = tcp:host,/dev/x,0,0,1,1,1,1\n",
            "m.txt:7: bad tcp uri 'tcp:host' (expected tcp:<host>:<port>)", "tcp without port");
    refused(HEAD "Channel = tcp:host:0,/dev/x,0,0,1,1,1,1\n",
            "m.txt:5: bad tcp uri 'tcp:host:0' (expected tcp:<host>:<port>)", "tcp port 0");
    refused(HEAD "Channel = tcp:host:65536,/dev/x,0,0,1,1,1,1\n",
            "m.txt:5: bad tcp uri 'tcp:host:65536' (expected tcp:<host>:<port>)",
            "tcp port 65536");
    refused(HEAD "Channel = tcp::80,/dev/x,0,0,1,1,1,1\n",
            "m.txt:5: bad tcp uri 'tcp::80' (expected tcp:<host>:<port>)", "tcp without host");
}

/* A manifest with n channels, all distinct. */
static char *many_channels(size_t n, size_t *len)
{
    size_t cap = sizeof HEAD + n * 64;
    char *s = malloc(cap);
    size_t used = (size_t)snprintf(s, cap, "%s", HEAD);
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(s + used, cap - used, "Channel = /h/%zu,/dev/%zu,0,0,1,1,1,1\n",
                                 i, i);
    *len = used;
    return s;
}

static void test_limits(void)
{
    zvm_manifest_t m;
    size_t len;
    char *text = many_channels(ZVM_MANIFEST_MAX_CHANNELS, &len);
    int r = parse_ok(&m, text, len);
    tap_ok(r == 0 && m.nchannels == 10915 && zvm_manifest_find_alias(&m, "/dev/10914") &&
               len <= ZVM_MANIFEST_MAX_BYTES,
           "10915 channels accepted (%zu bytes)", len);
    zvm_manifest_release(&m);
    free(text);

    text = many_channels(ZVM_MANIFEST_MAX_CHANNELS + 1, &len);
    refused_len(text, len, EINVAL, "m.txt:10920: more than 10915 channels",
                "10916 channels");
    free(text);

    /* Exactly at the size limit, then one byte over. */
    size_t max = ZVM_MANIFEST_MAX_BYTES;
    text = malloc(max + 1);
    size_t used = (size_t)snprintf(text, max + 1, "%s", HEAD CH_IN);
    memset(text + used, '#', max + 1 - used);
    text[max - 1] = '\n';
    r = parse_ok(&m, text, max);
    tap_ok(r == 0, "manifest of exactly 524288 bytes accepted");
    zvm_manifest_release(&m);
    refused_len(text, max + 1, E2BIG, "m.txt: manifest is larger than 524288 bytes",
                "manifest of 524289 bytes");
    free(text);
}

static void load_refused(const char *path, int code, const char *msg, const char *what)
{
    zvm_manifest_t m;
    zvm_error_t err = {0};
    int r = zvm_manifest_load(&m, path, &err);
    int ok = r == -1 && err.code == code && strcmp(err.msg, msg) == 0 && m.name == NULL;
    tap_ok(ok, "load refused: %s", what);
    if (!ok)
        printf("#   got:  %d %d '%s'\n#   want: -1 %d '%s'\n", r, err.code, err.msg, code,
               msg);
    zvm_manifest_release(&m);
}

static void test_load(void)
{
    char path[4096], msg[8192];
    zvm_manifest_t m;
    zvm_error_t err = {0};

    snprintf(path, sizeof path, "%s/manifest/seed.manifest", fixtures());
    int r = zvm_manifest_load(&m, path, &err);
    tap_ok(r == 0 && m.nchannels == 5 && strcmp(m.name, path) == 0, "load the seed fixture");
    if (r != 0)
        printf("#   %s\n", err.msg);
    zvm_manifest_release(&m);

    load_refused("/nonexistent/m.txt", ENOENT,
                 "cannot read manifest '/nonexistent/m.txt': No such file or directory",
                 "missing file");
    snprintf(path, sizeof path, "%s/manifest", fixtures());
    snprintf(msg, sizeof msg, "cannot read manifest '%s': not a regular file", path);
    load_refused(path, EINVAL, msg, "directory");
    load_refused("/dev/null", EINVAL, "cannot read manifest '/dev/null': not a regular file",
                 "character device");

    char dir[] = "/tmp/zvm-test-manifest-XXXXXX";
    if (!mkdtemp(dir)) {
        tap_skip("no temporary directory");
        tap_skip("no temporary directory");
        return;
    }
    snprintf(path, sizeof path, "%s/fifo", dir);
    snprintf(msg, sizeof msg, "cannot read manifest '%s': not a regular file", path);
    if (mkfifo(path, 0600) == 0) {
        load_refused(path, EINVAL, msg, "fifo, without waiting for a writer");
        unlink(path);
    } else {
        tap_skip("mkfifo failed");
    }
    /* A sparse 1 GiB file: refused from its size, without reading it. */
    snprintf(path, sizeof path, "%s/big", dir);
    snprintf(msg, sizeof msg, "%s: manifest is larger than 524288 bytes", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && ftruncate(fd, 1 << 30) == 0)
        load_refused(path, E2BIG, msg, "1 GiB file");
    else
        tap_skip("cannot create a sparse file");
    if (fd >= 0)
        close(fd);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_seed();
    test_syntax_ok();
    test_keys();
    test_numbers();
    test_channels();
    test_limits();
    test_load();
    return tap_done();
}
