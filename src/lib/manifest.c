/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manifest parser: turns the `Key = value` text described in
 * include/zvm/manifest.h into a zvm_manifest_t, refusing anything it does
 * not fully understand.  It checks syntax, ranges and the manifest's own
 * consistency (duplicate keys and aliases, NameServer without Node); whether
 * the program and the channel uris exist on the host is left to the session
 * and the channel layer.
 *
 * The text is copied once into a NUL-terminated buffer and cut in place into
 * lines, keys and fields; only the values kept in the result are duplicated.
 * Duplicate aliases are found with an open-addressing hash set of channel
 * indices, so a manifest with the maximum number of channels stays linear.
 */
#include "zvm/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

#define CHANNEL_FIELDS 8

enum key_id {
    KEY_VERSION,
    KEY_PROGRAM,
    KEY_TIMEOUT,
    KEY_MEMORY,
    KEY_CHANNEL,
    KEY_NODE,
    KEY_NAMESERVER,
    KEY_JOB,
    KEY_COUNT,
};

/* Aliases seen so far: slots hold a channel index + 1, 0 is empty. */
typedef struct alias_set {
    uint32_t *slots;
    size_t cap; /* a power of two, at least twice the number of channels */
} alias_set_t;

typedef struct parser {
    zvm_manifest_t *m;
    zvm_error_t *err;
    unsigned line;
    unsigned seen[KEY_COUNT]; /* line of the first occurrence, 0 if absent */
    size_t channels_cap;
    alias_set_t aliases;
} parser_t;

typedef struct key_def {
    const char *name;
    bool required;
    bool repeatable;
    int (*parse)(parser_t *p, char *value);
} key_def_t;

/* ---- messages ---------------------------------------------------------- */

/* "NAME:LINE: reason" with EINVAL; returns -1. */
__attribute__((format(printf, 2, 3)))
static int fail(parser_t *p, const char *fmt, ...)
{
    char reason[ZVM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return zvm_error_set(p->err, EINVAL, "%s:%u: %s", p->m->name, p->line, reason);
}

static int oom(parser_t *p)
{
    return zvm_error_set(p->err, ENOMEM, "%s:%u: out of memory", p->m->name, p->line);
}

/* ---- text helpers ------------------------------------------------------ */

static bool has_blank(const char *s)
{
    for (; *s; s++)
        if (zvm_is_blank(*s))
            return true;
    return false;
}

/* Cut s in place on ',' into trimmed fields, storing at most max of them;
 * returns how many there are (possibly more than max). */
static size_t split_fields(char *s, char **fields, size_t max)
{
    size_t n = 0;
    for (;;) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = '\0';
        if (n < max)
            fields[n] = zvm_trim(s);
        n++;
        if (!comma)
            return n;
        s = comma + 1;
    }
}

/* Decimal digits only: no sign, blanks or prefix.  Returns 0, -1 when s is
 * not a number, -2 when it does not fit in 64 bits. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    bool overflow = false;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (overflow)
        return -2;
    *out = v;
    return 0;
}

/* Parse a number in min..max; `what` names it in messages. */
static int parse_number(parser_t *p, const char *what, const char *s, uint64_t min,
                        uint64_t max, uint64_t *out)
{
    int r = parse_u64(s, out);
    if (r == -1)
        return fail(p, "bad number '%s' for %s", s, what);
    if (r == -2 || *out < min || *out > max)
        return fail(p, "%s out of range (%" PRIu64 "..%" PRIu64 "): %s", what, min, max, s);
    return 0;
}

static int parse_flag(const char *s, bool *out)
{
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
        return -1;
    *out = s[0] == '1';
    return 0;
}

static int set_string(parser_t *p, char **dst, const char *value)
{
    *dst = strdup(value);
    return *dst ? 0 : oom(p);
}

/* ---- aliases ----------------------------------------------------------- */

static size_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The slot holding `alias`, or the empty slot where it would go. */
static uint32_t *alias_slot(const alias_set_t *set, const zvm_channel_spec_t *ch,
                            const char *alias)
{
    size_t mask = set->cap - 1;
    for (size_t i = hash_str(alias) & mask;; i = (i + 1) & mask) {
        uint32_t *slot = &set->slots[i];
        if (*slot == 0 || strcmp(ch[*slot - 1].alias, alias) == 0)
            return slot;
    }
}

/* Make room for one more alias than the n already in the set. */
static int alias_set_reserve(alias_set_t *set, const zvm_channel_spec_t *ch, size_t n)
{
    if (2 * (n + 1) <= set->cap)
        return 0;
    alias_set_t grown = {.cap = set->cap ? set->cap * 2 : 64};
    grown.slots = calloc(grown.cap, sizeof *grown.slots);
    if (!grown.slots)
        return -1;
    for (size_t i = 0; i < n; i++)
        *alias_slot(&grown, ch, ch[i].alias) = (uint32_t)(i + 1);
    free(set->slots);
    *set = grown;
    return 0;
}


static int check_alias(parser_t *p, const char *alias)
{
    if (alias[0] == '\0')
        return fail(p, "empty channel alias");
    if (has_blank(alias))
        return fail(p, "bad alias '%s': contains a blank", alias);
    switch (zvm_path_form(alias)) {
    case ZVM_PATH_CLEAN:
        if (alias[1] != '\0')
            return 0;
        return fail(p, "bad alias '%s': empty path part", alias);
    case ZVM_PATH_EMPTY_PART:
        return fail(p, "bad alias '%s': empty path part", alias);
    default:
        return fail(p, "bad alias '%s': must be an absolute path without '.' or '..' parts",
                    alias);
    }
}

/* ---- channels ---------------------------------------------------------- */

static void channel_release(zvm_channel_spec_t *c)
{
    free(c->uri);
    free(c->alias);
    free(c->tcp_host);
    memset(c, 0, sizeof *c);
}

/* "tcp:<host>:<port>": the port is after the last ':', so that an IPv6
 * host may be written in brackets ("tcp:[::1]:80"); the brackets are
 * dropped from tcp_host. */
static int parse_tcp(parser_t *p, zvm_channel_spec_t *c)
{
    const char *host = c->uri + 4;
    const char *colon = strrchr(host, ':');
    uint64_t port;
    if (!colon || parse_u64(colon + 1, &port) != 0 || port < 1 || port > 65535)
        goto bad;
    size_t n = (size_t)(colon - host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n == 0)
        goto bad;
    c->tcp_host = strndup(host, n);
    if (!c->tcp_host)
        return oom(p);
    c->is_tcp = true;
    c->tcp_port = (uint16_t)port;
    return 0;
bad:
    return fail(p, "bad tcp uri '%s' (expected tcp:<host>:<port>)", c->uri);
}

/* Fill c from the eight trimmed fields; c owns what it holds even on
 * failure. */
static int parse_channel(parser_t *p, char **f, zvm_channel_spec_t *c)
{
    static const char *const limit_names[ZVM_LIMIT_COUNT] = {
        "gets", "get_size", "puts", "put_size",
    };
    uint64_t type;

    if (f[0][0] == '\0')
        return fail(p, "empty channel uri");
    if (has_blank(f[0]))
        return fail(p, "bad channel uri '%s': contains a blank", f[0]);
    if (check_alias(p, f[1]) < 0)
        return -1;
    if (parse_u64(f[2], &type) != 0 || type > ZVM_CHANNEL_RND_READ_RND_WRITE)
        return fail(p, "bad channel type '%s' (0..3)", f[2]);
    c->type = (zvm_channel_type_t)type;
    if (parse_flag(f[3], &c->etag) < 0)
        return fail(p, "bad channel etag '%s' (0|1)", f[3]);
    for (int i = 0; i < ZVM_LIMIT_COUNT; i++)
        if (parse_number(p, limit_names[i], f[4 + i], 0, ZVM_LIMIT_MAX, &c->limits[i]) < 0)
            return -1;
    if (set_string(p, &c->uri, f[0]) < 0 || set_string(p, &c->alias, f[1]) < 0)
        return -1;
    if (strncmp(c->uri, "tcp:", 4) == 0)
        return parse_tcp(p, c);
    return 0;
}

static int add_channel(parser_t *p, zvm_channel_spec_t *c)
{
    zvm_manifest_t *m = p->m;
    uint32_t *slot = alias_slot(&p->aliases, m->channels, c->alias);
    if (*slot != 0)
        return fail(p, "duplicate alias '%s' (first on line %u)", c->alias,
                    m->channels[*slot - 1].line);
    if (m->nchannels == p->channels_cap) {
        size_t cap = p->channels_cap ? p->channels_cap * 2 : 16;
        zvm_channel_spec_t *grown = realloc(m->channels, cap * sizeof *grown);
        if (!grown)
            return oom(p);
        m->channels = grown;
        p->channels_cap = cap;
    }
    *slot = (uint32_t)(m->nchannels + 1);
    m->channels[m->nchannels++] = *c;
    return 0;
}

static int key_channel(parser_t *p, char *value)
{
    char *f[CHANNEL_FIELDS];
    size_t n = split_fields(value, f, CHANNEL_FIELDS);
    if (p->m->nchannels >= ZVM_MANIFEST_MAX_CHANNELS)
        return fail(p, "more than %d channels", ZVM_MANIFEST_MAX_CHANNELS);
    if (n != CHANNEL_FIELDS)
        return fail(p, "Channel needs %d fields, got %zu", CHANNEL_FIELDS, n);
    if (alias_set_reserve(&p->aliases, p->m->channels, p->m->nchannels) < 0)
        return oom(p);

    zvm_channel_spec_t c = {.line = p->line};
    if (parse_channel(p, f, &c) < 0 || add_channel(p, &c) < 0) {
        channel_release(&c);
        return -1;
    }
    return 0;
}

/* ---- the other keys ---------------------------------------------------- */

static int key_version(parser_t *p, char *value)
{
    uint64_t v;
    if (parse_u64(value, &v) != 0 || v != ZVM_MANIFEST_VERSION)
        return fail(p, "unsupported Version '%s' (expected %u)", value,
                    ZVM_MANIFEST_VERSION);
    p->m->version = ZVM_MANIFEST_VERSION;
    return 0;
}

static int key_program(parser_t *p, char *value)
{
    return set_string(p, &p->m->program, value);
}

static int key_timeout(parser_t *p, char *value)
{
    uint64_t v;
    if (parse_number(p, "Timeout", value, 1, ZVM_TIMEOUT_MAX, &v) < 0)
        return -1;
    p->m->timeout = (uint32_t)v;
    return 0;
}

static int key_memory(parser_t *p, char *value)
{
    char *f[2];
    size_t n = split_fields(value, f, 2);
    if (n != 2)
        return fail(p, "Memory needs 2 fields, got %zu", n);
    if (parse_number(p, "Memory", f[0], ZVM_MEMORY_MIN, ZVM_MEMORY_MAX, &p->m->memory) < 0)
        return -1;
    if (parse_flag(f[1], &p->m->memory_etag) < 0)
        return fail(p, "bad memory etag '%s' (0|1)", f[1]);
    return 0;
}

static int key_node(parser_t *p, char *value)
{
    uint64_t v;
    if (parse_number(p, "Node", value, 1, UINT32_MAX, &v) < 0)
        return -1;
    p->m->node = (uint32_t)v;
    p->m->has_node = true;
    return 0;
}

static int key_name_server(parser_t *p, char *value)
{
    return set_string(p, &p->m->name_server, value);
}

static int key_job(parser_t *p, char *value)
{
    return set_string(p, &p->m->job, value);
}

/* Indexed by enum key_id; required keys are checked in this order. */
static const key_def_t keys[KEY_COUNT] = {
    [KEY_VERSION] = {"Version", true, false, key_version},
    [KEY_PROGRAM] = {"Program", true, false, key_program},
    [KEY_TIMEOUT] = {"Timeout", true, false, key_timeout},
    [KEY_MEMORY] = {"Memory", true, false, key_memory},
    [KEY_CHANNEL] = {"Channel", true, true, key_channel},
    [KEY_NODE] = {"Node", false, false, key_node},
    [KEY_NAMESERVER] = {"NameServer", false, false, key_name_server},
    [KEY_JOB] = {"Job", false, false, key_job},
};

/* ---- lines ------------------------------------------------------------- */

static int parse_line(parser_t *p, char *s)
{
    s = zvm_trim(s);
    if (*s == '\0' || *s == '#')
        return 0;
    char *eq = strchr(s, '=');
    if (!eq)
        return fail(p, "line is not 'Key = value'");
    *eq = '\0';
    char *key = zvm_trim(s);
    char *value = zvm_trim(eq + 1);
    if (*key == '\0')
        return fail(p, "line is not 'Key = value'");

    int id = 0;
    while (id < KEY_COUNT && strcmp(keys[id].name, key) != 0)
        id++;
    if (id == KEY_COUNT)
        return fail(p, "unknown key '%s'", key);
    if (p->seen[id] && !keys[id].repeatable)
        return fail(p, "duplicate key '%s'", key);
    if (!p->seen[id])
        p->seen[id] = p->line;
    if (*value == '\0')
        return fail(p, "empty value for %s", key);
    return keys[id].parse(p, value);
}

/* buf holds len bytes and one more for a NUL. */
static int parse_lines(parser_t *p, char *buf, size_t len)
{
    char *end = buf + len;
    for (char *s = buf; s < end;) {
        char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            e = end;
        p->line++;
        if (memchr(s, '\0', (size_t)(e - s)))
            return fail(p, "NUL byte in manifest");
        *e = '\0';
        if (parse_line(p, s) < 0)
            return -1;
        s = e + 1;
    }
    return 0;
}

/* Checks that need the whole manifest. */
static int check_complete(parser_t *p)
{
    for (int id = 0; id < KEY_COUNT; id++)
        if (keys[id].required && !p->seen[id])
            return zvm_error_set(p->err, EINVAL, "%s: missing required key '%s'",
                                 p->m->name, keys[id].name);
    if (p->seen[KEY_NAMESERVER] && !p->seen[KEY_NODE]) {
        p->line = p->seen[KEY_NAMESERVER];
        return fail(p, "NameServer requires Node");
    }
    return 0;
}

int zvm_manifest_parse(zvm_manifest_t *m, const char *text, size_t len,
                       const char *name, zvm_error_t *err)
{
    memset(m, 0, sizeof *m);
    m->name = strdup(name ? name : "manifest");
    if (!m->name)
        return zvm_error_set(err, ENOMEM, "out of memory");
    if (len > ZVM_MANIFEST_MAX_BYTES) {
        zvm_error_set(err, E2BIG, "%s: manifest is larger than %u bytes", m->name,
                      ZVM_MANIFEST_MAX_BYTES);
        zvm_manifest_release(m);
        return -1;
    }
    cleanup_free char *buf = malloc(len + 1);
    if (!buf) {
        zvm_error_set(err, ENOMEM, "%s: out of memory", m->name);
        zvm_manifest_release(m);
        return -1;
    }
    if (len > 0)
        memcpy(buf, text, len);
    buf[len] = '\0';

    parser_t p = {.m = m, .err = err};
    int r = parse_lines(&p, buf, len);
    if (r == 0)
        r = check_complete(&p);
    free(p.aliases.slots);
    if (r < 0)
        zvm_manifest_release(m);
    return r;
}

/* ---- files ------------------------------------------------------------- */

/* Read at most ZVM_MANIFEST_MAX_BYTES + 1 bytes of fd (so that a file that
 * grew after fstat is still caught by the parser's size check). */
static int read_fd(int fd, const char *path, char **out, size_t *len, zvm_error_t *err)
{
    size_t cap = ZVM_MANIFEST_MAX_BYTES + 1;
    cleanup_free char *buf = malloc(cap);
    if (!buf)
        return zvm_error_set(err, ENOMEM, "out of memory");
    size_t used = 0;
    while (used < cap) {
        ssize_t r = read(fd, buf + used, cap - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return zvm_error_errno(err, errno, "cannot read manifest '%s'", path);
        if (r == 0)
            break;
        used += (size_t)r;
    }
    *out = steal_pointer(&buf);
    *len = used;
    return 0;
}

int zvm_manifest_load(zvm_manifest_t *m, const char *path, zvm_error_t *err)
{
    memset(m, 0, sizeof *m);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
     * below anyway. */
    cleanup_close int fd = zvm_open_retry(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot read manifest '%s'", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return zvm_error_errno(err, errno, "cannot read manifest '%s'", path);
    if (!S_ISREG(st.st_mode))
        return zvm_error_set(err, EINVAL, "cannot read manifest '%s': not a regular file", path);
    if ((uint64_t)st.st_size > ZVM_MANIFEST_MAX_BYTES)
        return zvm_error_set(err, E2BIG, "%s: manifest is larger than %u bytes", path,
                             ZVM_MANIFEST_MAX_BYTES);

    cleanup_free char *text = NULL;
    size_t len = 0;
    if (read_fd(fd, path, &text, &len, err) < 0)
        return -1;
    return zvm_manifest_parse(m, text, len, path, err);
}

/* ---- queries and release ----------------------------------------------- */

const zvm_channel_spec_t *zvm_manifest_find_alias(const zvm_manifest_t *m,
                                                  const char *alias)
{
    for (size_t i = 0; i < m->nchannels; i++)
        if (strcmp(m->channels[i].alias, alias) == 0)
            return &m->channels[i];
    return NULL;
}

void zvm_manifest_release(zvm_manifest_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nchannels; i++)
        channel_release(&m->channels[i]);
    free(m->channels);
    free(m->name);
    free(m->program);
    free(m->name_server);
    free(m->job);
    memset(m, 0, sizeof *m);
}
