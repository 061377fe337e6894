/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nvram: the reader and the writer of the INI text described in
 * include/zvm/nvram.h, and the `\xHH` escaping of its values.
 *
 * The reader is strict (unknown sections, keys and fields are errors) and
 * only checks what it can see in the text itself; whether an [fstab] or
 * [mapping] channel is declared in the manifest, or an environment name is
 * usable, is left to the session.  The writer produces text the reader
 * gives back unchanged: every value is escaped, so values never hold a raw
 * blank, comma or newline.
 */
#include "zvm/nvram.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define NVRAM_MAX_BYTES (1024u * 1024u)
#define VERBOSITY_MAX 4

typedef enum section {
    SEC_NONE,
    SEC_ARGS,
    SEC_ENV,
    SEC_FSTAB,
    SEC_MAPPING,
    SEC_DEBUG,
    SEC_TIME,
    SEC_RANDOM,
    SEC_COUNT,
} section_t;

static const char *const section_names[SEC_COUNT] = {
    [SEC_NONE] = "", [SEC_ARGS] = "args", [SEC_ENV] = "env", [SEC_FSTAB] = "fstab",
    [SEC_MAPPING] = "mapping", [SEC_DEBUG] = "debug", [SEC_TIME] = "time",
    [SEC_RANDOM] = "random",
};

static const char *const mode_names[] = {
    [ZVM_MAPPING_CHAR] = "char", [ZVM_MAPPING_FILE] = "file", [ZVM_MAPPING_PIPE] = "pipe",
};

typedef struct parser {
    zvm_nvram_t *nv;
    const char *name;
    zvm_error_t *err;
    unsigned line;
    section_t section;
    bool seen_args, seen_verbosity, seen_seconds, seen_seed;
    size_t env_cap, fstab_cap, mapping_cap;
} parser_t;

/* The `k=v` fields of one [env], [fstab] or [mapping] line: names lists
 * the known keys, the first nrequired of them required; values[i] is the
 * raw (escaped) value of names[i], or NULL when absent. */
#define MAX_FIELDS 4
typedef struct fields {
    const char *const *names;
    size_t n;
    size_t nrequired;
    char *values[MAX_FIELDS];
} fields_t;

/* ---- messages ---------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int fail(parser_t *p, const char *fmt, ...)
{
    char reason[ZVM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return zvm_error_set(p->err, EINVAL, "%s:%u: %s", p->name, p->line, reason);
}

static int oom(parser_t *p)
{
    return zvm_error_set(p->err, ENOMEM, "%s:%u: out of memory", p->name, p->line);
}

/* ---- escaping ---------------------------------------------------------- */

static bool needs_escape(unsigned char c)
{
    return c == '\\' || c == '"' || c == ',' || c == ' ' || c < 0x20 || c == 0x7f;
}

/* Write the escaped form of s to out (when non-NULL); returns its length. */
static size_t escape_into(char *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!needs_escape(c)) {
            if (out)
                out[n] = (char)c;
            n++;
            continue;
        }
        if (out) {
            out[n] = '\\';
            out[n + 1] = 'x';
            out[n + 2] = hex[c >> 4];
            out[n + 3] = hex[c & 15];
        }
        n += 4;
    }
    return n;
}

char *zvm_nvram_escape(const char *s)
{
    size_t n = escape_into(NULL, s);
    char *out = malloc(n + 1);
    if (!out) {
        errno = ENOMEM;
        return NULL;
    }
    escape_into(out, s);
    out[n] = '\0';
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A NUL byte, raw or as \x00, is refused: the result is a C string. */
char *zvm_nvram_unescape(const char *s, size_t len)
{
    cleanup_free char *out = malloc(len + 1);
    if (!out) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0')
            goto bad;
        if (s[i] != '\\') {
            out[n++] = s[i];
            continue;
        }
        if (len - i < 4 || s[i + 1] != 'x')
            goto bad;
        int hi = hex_value(s[i + 2]), lo = hex_value(s[i + 3]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0)
            goto bad;
        out[n++] = (char)(hi << 4 | lo);
        i += 3;
    }
    out[n] = '\0';
    return steal_pointer(&out);
bad:
    errno = EINVAL;
    return NULL;
}

/* ---- small parsing helpers --------------------------------------------- */

/* Unescape a raw value into *out (malloc'd). */
static int unescape_value(parser_t *p, const char *raw, char **out)
{
    *out = zvm_nvram_unescape(raw, strlen(raw));
    if (*out)
        return 0;
    if (errno == ENOMEM)
        return oom(p);
    return fail(p, "bad escape in '%s'", raw);
}

/* Grow *arr (of *cap elements of size elem) to hold n + 1. */
static int reserve(parser_t *p, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *grown = realloc(*arr, ncap * elem);
    if (!grown)
        return oom(p);
    *arr = grown;
    *cap = ncap;
    return 0;
}

/* Cut a line of comma-separated `k=v` fields into f->values. */
static int split_fields(parser_t *p, char *s, fields_t *f)
{
    memset(f->values, 0, sizeof f->values);
    for (char *next; s; s = next) {
        char *comma = strchr(s, ',');
        next = comma ? comma + 1 : NULL;
        if (comma)
            *comma = '\0';
        char *eq = strchr(s, '=');
        if (!eq)
            return fail(p, "field '%s' is not 'key=value'", zvm_trim(s));
        *eq = '\0';
        char *key = zvm_trim(s);
        size_t i = 0;
        while (i < f->n && strcmp(f->names[i], key) != 0)
            i++;
        if (i == f->n)
            return fail(p, "unknown field '%s' in [%s]", key, section_names[p->section]);
        if (f->values[i])
            return fail(p, "duplicate field '%s'", key);
        f->values[i] = zvm_trim(eq + 1);
    }
    for (size_t i = 0; i < f->nrequired; i++)
        if (!f->values[i])
            return fail(p, "missing field '%s' in [%s]", f->names[i],
                        section_names[p->section]);
    return 0;
}

/* Index of value in names[0..n), or -1. */
static int lookup(const char *const *names, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], value) == 0)
            return (int)i;
    return -1;
}

/* ---- sections with fields ---------------------------------------------- */

static int parse_env(parser_t *p, char *s)
{
    static const char *const names[] = {"name", "value"};
    fields_t f = {names, 2, 2, {0}};
    zvm_nvram_t *nv = p->nv;
    if (split_fields(p, s, &f) < 0)
        return -1;
    if (reserve(p, (void **)&nv->env, &p->env_cap, nv->nenv, sizeof *nv->env) < 0)
        return -1;
    zvm_nvram_env_t e = {0};
    if (unescape_value(p, f.values[0], &e.name) < 0 ||
        unescape_value(p, f.values[1], &e.value) < 0) {
        free(e.name);
        return -1;
    }
    nv->env[nv->nenv++] = e;
    return 0;
}

static int fstab_fill(parser_t *p, const fields_t *f, zvm_nvram_fstab_t *t)
{
    static const char *const access[] = {"ro", "rw"};
    static const char *const removable[] = {"no", "yes"};
    int rw = 0, rem = 0;
    if (f->values[2] && (rw = lookup(access, 2, f->values[2])) < 0)
        return fail(p, "bad access '%s' (ro|rw)", f->values[2]);
    if (f->values[3] && (rem = lookup(removable, 2, f->values[3])) < 0)
        return fail(p, "bad removable '%s' (yes|no)", f->values[3]);
    t->rw = rw == 1;
    t->removable = rem == 1;
    if (unescape_value(p, f->values[0], &t->channel) < 0 ||
        unescape_value(p, f->values[1], &t->mountpoint) < 0)
        return -1;
    if (t->channel[0] == '\0')
        return fail(p, "empty channel in [fstab]");
    if (t->mountpoint[0] != '/')
        return fail(p, "bad mountpoint '%s': must be an absolute path", t->mountpoint);
    return 0;
}

static int parse_fstab(parser_t *p, char *s)
{
    static const char *const names[] = {"channel", "mountpoint", "access", "removable"};
    fields_t f = {names, 4, 2, {0}};
    zvm_nvram_t *nv = p->nv;
    if (split_fields(p, s, &f) < 0)
        return -1;
    if (reserve(p, (void **)&nv->fstab, &p->fstab_cap, nv->nfstab, sizeof *nv->fstab) < 0)
        return -1;
    zvm_nvram_fstab_t t = {.line = p->line};
    if (fstab_fill(p, &f, &t) < 0) {
        free(t.channel);
        free(t.mountpoint);
        return -1;
    }
    nv->fstab[nv->nfstab++] = t;
    return 0;
}

static int parse_mapping(parser_t *p, char *s)
{
    static const char *const names[] = {"channel", "mode"};
    fields_t f = {names, 2, 2, {0}};
    zvm_nvram_t *nv = p->nv;
    if (split_fields(p, s, &f) < 0)
        return -1;
    int mode = lookup(mode_names, 3, f.values[1]);
    if (mode < 0)
        return fail(p, "bad mode '%s' (char|file|pipe)", f.values[1]);
    if (reserve(p, (void **)&nv->mapping, &p->mapping_cap, nv->nmapping,
                sizeof *nv->mapping) < 0)
        return -1;
    zvm_nvram_mapping_t m = {.mode = (zvm_mapping_mode_t)mode};
    if (unescape_value(p, f.values[0], &m.channel) < 0)
        return -1;
    if (m.channel[0] == '\0') {
        free(m.channel);
        return fail(p, "empty channel in [mapping]");
    }
    nv->mapping[nv->nmapping++] = m;
    return 0;
}

/* ---- sections with `key = value` settings ------------------------------ */

/* Split value on runs of blanks into nv->args, each word unescaped. */
static int parse_args(parser_t *p, char *value)
{
    zvm_nvram_t *nv = p->nv;
    size_t cap = 0;
    for (char *s = value; *s;) {
        while (zvm_is_blank(*s))
            s++;
        if (*s == '\0')
            break;
        char *e = s;
        while (*e && !zvm_is_blank(*e))
            e++;
        char saved = *e;
        *e = '\0';
        if (reserve(p, (void **)&nv->args, &cap, nv->nargs + 1, sizeof *nv->args) < 0)
            return -1;
        if (unescape_value(p, s, &nv->args[nv->nargs]) < 0)
            return -1;
        nv->args[++nv->nargs] = NULL;
        *e = saved;
        s = e;
    }
    if (!nv->args && !(nv->args = calloc(1, sizeof *nv->args)))
        return oom(p);
    return 0;
}

static int parse_verbosity(parser_t *p, const char *value)
{
    const char *s = value;
    int v = 0;
    if (*s == '\0')
        return fail(p, "bad number '%s' for verbosity", value);
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return fail(p, "bad number '%s' for verbosity", value);
        if (v <= VERBOSITY_MAX)
            v = v * 10 + (*s - '0');
    }
    if (v > VERBOSITY_MAX)
        return fail(p, "verbosity out of range (0..%d): %s", VERBOSITY_MAX, value);
    p->nv->verbosity = v;
    return 0;
}

/* An optional '-' and decimal digits, within int64_t. */
static int parse_seconds(parser_t *p, const char *value)
{
    const char *s = value;
    bool negative = *s == '-';
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    bool overflow = false;
    if (negative)
        s++;
    if (*s == '\0')
        return fail(p, "bad number '%s' for seconds", value);
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return fail(p, "bad number '%s' for seconds", value);
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (overflow)
        return fail(p, "seconds out of range (%" PRId64 "..%" PRId64 "): %s", INT64_MIN,
                    INT64_MAX, value);
    p->nv->time_seconds = negative && v > 0 ? -(int64_t)(v - 1) - 1 : (int64_t)v;
    p->nv->has_time = true;
    return 0;
}

/* Decimal digits, within uint64_t. */
static int parse_seed(parser_t *p, const char *value)
{
    uint64_t v = 0;
    if (*value == '\0')
        return fail(p, "bad number '%s' for seed", value);
    for (const char *s = value; *s; s++) {
        if (*s < '0' || *s > '9')
            return fail(p, "bad number '%s' for seed", value);
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return fail(p, "seed out of range (0..%" PRIu64 "): %s", UINT64_MAX, value);
        v = v * 10 + d;
    }
    p->nv->seed = v;
    p->nv->has_seed = true;
    return 0;
}

/* A `key = value` line of [args], [debug], [time] or [random]. */
static int parse_setting(parser_t *p, char *s)
{
    static const char *const keys[SEC_COUNT] = {
        [SEC_ARGS] = "args", [SEC_DEBUG] = "verbosity", [SEC_TIME] = "seconds",
        [SEC_RANDOM] = "seed",
    };
    bool *seen[SEC_COUNT] = {
        [SEC_ARGS] = &p->seen_args, [SEC_DEBUG] = &p->seen_verbosity,
        [SEC_TIME] = &p->seen_seconds, [SEC_RANDOM] = &p->seen_seed,
    };
    char *eq = strchr(s, '=');
    if (!eq)
        return fail(p, "line is not 'key = value'");
    *eq = '\0';
    char *key = zvm_trim(s), *value = zvm_trim(eq + 1);
    if (strcmp(key, keys[p->section]) != 0)
        return fail(p, "unknown key '%s' in [%s]", key, section_names[p->section]);
    if (*seen[p->section])
        return fail(p, "duplicate key '%s'", key);
    *seen[p->section] = true;
    switch (p->section) {
    case SEC_ARGS:
        return parse_args(p, value);
    case SEC_DEBUG:
        return parse_verbosity(p, value);
    case SEC_RANDOM:
        return parse_seed(p, value);
    default:
        return parse_seconds(p, value);
    }
}

/* ---- lines ------------------------------------------------------------- */

static int parse_section_header(parser_t *p, char *s)
{
    size_t n = strlen(s);
    if (s[n - 1] != ']')
        return fail(p, "bad section header '%s'", s);
    s[n - 1] = '\0';
    char *name = zvm_trim(s + 1);
    int id = lookup(section_names, SEC_COUNT, name);
    if (id <= SEC_NONE)
        return fail(p, "unknown section '%s'", name);
    p->section = (section_t)id;
    return 0;
}

static int parse_line(parser_t *p, char *s)
{
    s = zvm_trim(s);
    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (*s == '[')
        return parse_section_header(p, s);
    switch (p->section) {
    case SEC_NONE:
        return fail(p, "line outside a section");
    case SEC_ENV:
        return parse_env(p, s);
    case SEC_FSTAB:
        return parse_fstab(p, s);
    case SEC_MAPPING:
        return parse_mapping(p, s);
    default:
        return parse_setting(p, s);
    }
}

int zvm_nvram_parse(zvm_nvram_t *nv, const char *text, size_t len,
                    const char *name, zvm_error_t *err)
{
    memset(nv, 0, sizeof *nv);
    parser_t p = {.nv = nv, .name = name ? name : "nvram", .err = err};
    cleanup_free char *buf = malloc(len + 1);
    if (!buf)
        return zvm_error_set(err, ENOMEM, "%s: out of memory", p.name);
    if (len > 0)
        memcpy(buf, text, len);
    buf[len] = '\0';

    char *end = buf + len;
    for (char *s = buf; s < end;) {
        char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            e = end;
        p.line++;
        int r = memchr(s, '\0', (size_t)(e - s)) ? fail(&p, "NUL byte in nvram") : 0;
        *e = '\0';
        if (r < 0 || parse_line(&p, s) < 0) {
            zvm_nvram_release(nv);
            return -1;
        }
        s = e + 1;
    }
    return 0;
}

int zvm_nvram_load(zvm_nvram_t *nv, const char *path, zvm_error_t *err)
{
    memset(nv, 0, sizeof *nv);
    cleanup_free char *text = NULL;
    size_t len = 0;
    int r = zvm_read_file(path, NVRAM_MAX_BYTES, &text, &len);
    if (r == -EFBIG)
        return zvm_error_set(err, E2BIG, "%s: nvram is larger than %u bytes", path,
                             NVRAM_MAX_BYTES);
    if (r < 0)
        return zvm_error_errno(err, -r, "cannot read nvram '%s'", path);
    return zvm_nvram_parse(nv, text, len, path, err);
}

/* ---- writer ------------------------------------------------------------ */

/* A growing string; on allocation failure it is freed and stays NULL. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool failed;
} sbuf_t;

static char *sb_room(sbuf_t *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            free(b->s);
            *b = (sbuf_t){.failed = true};
            return NULL;
        }
        b->s = grown;
        b->cap = cap;
    }
    return b->s + b->len;
}

static void sb_add(sbuf_t *b, const char *s)
{
    size_t n = strlen(s);
    char *dst = sb_room(b, n);
    if (dst) {
        memcpy(dst, s, n + 1);
        b->len += n;
    }
}

static void sb_add_escaped(sbuf_t *b, const char *s)
{
    size_t n = escape_into(NULL, s);
    char *dst = sb_room(b, n);
    if (dst) {
        escape_into(dst, s);
        b->len += n;
        b->s[b->len] = '\0';
    }
}

static void format_env(sbuf_t *b, const zvm_nvram_t *nv)
{
    if (nv->nenv == 0)
        return;
    sb_add(b, "[env]\n");
    for (size_t i = 0; i < nv->nenv; i++) {
        sb_add(b, "name=");
        sb_add_escaped(b, nv->env[i].name);
        sb_add(b, ",value=");
        sb_add_escaped(b, nv->env[i].value);
        sb_add(b, "\n");
    }
}

static void format_fstab(sbuf_t *b, const zvm_nvram_t *nv)
{
    if (nv->nfstab == 0)
        return;
    sb_add(b, "[fstab]\n");
    for (size_t i = 0; i < nv->nfstab; i++) {
        const zvm_nvram_fstab_t *t = &nv->fstab[i];
        sb_add(b, "channel=");
        sb_add_escaped(b, t->channel);
        sb_add(b, ",mountpoint=");
        sb_add_escaped(b, t->mountpoint);
        sb_add(b, t->rw ? ",access=rw" : ",access=ro");
        sb_add(b, t->removable ? ",removable=yes\n" : ",removable=no\n");
    }
}

static void format_mapping(sbuf_t *b, const zvm_nvram_t *nv)
{
    if (nv->nmapping == 0)
        return;
    sb_add(b, "[mapping]\n");
    for (size_t i = 0; i < nv->nmapping; i++) {
        const zvm_nvram_mapping_t *m = &nv->mapping[i];
        unsigned mode = (unsigned)m->mode;
        sb_add(b, "channel=");
        sb_add_escaped(b, m->channel);
        sb_add(b, ",mode=");
        sb_add(b, mode <= ZVM_MAPPING_PIPE ? mode_names[mode] : "char");
        sb_add(b, "\n");
    }
}

char *zvm_nvram_format(const zvm_nvram_t *nv)
{
    sbuf_t b = {0};
    char num[32];
    sb_add(&b, "");
    if (nv->nargs > 0) {
        sb_add(&b, "[args]\nargs =");
        for (size_t i = 0; i < nv->nargs; i++) {
            sb_add(&b, " ");
            sb_add_escaped(&b, nv->args[i]);
        }
        sb_add(&b, "\n");
    }
    format_env(&b, nv);
    format_fstab(&b, nv);
    format_mapping(&b, nv);
    if (nv->verbosity != 0) {
        snprintf(num, sizeof num, "%d", nv->verbosity);
        sb_add(&b, "[debug]\nverbosity=");
        sb_add(&b, num);
        sb_add(&b, "\n");
    }
    if (nv->has_time) {
        snprintf(num, sizeof num, "%" PRId64, nv->time_seconds);
        sb_add(&b, "[time]\nseconds=");
        sb_add(&b, num);
        sb_add(&b, "\n");
    }
    if (nv->has_seed) {
        snprintf(num, sizeof num, "%" PRIu64, nv->seed);
        sb_add(&b, "[random]\nseed=");
        sb_add(&b, num);
        sb_add(&b, "\n");
    }
    if (b.failed)
        errno = ENOMEM;
    return b.s;
}

/* ---- queries and release ----------------------------------------------- */

const zvm_nvram_mapping_t *zvm_nvram_find_mapping(const zvm_nvram_t *nv,
                                                  const char *channel)
{
    for (size_t i = 0; i < nv->nmapping; i++)
        if (strcmp(nv->mapping[i].channel, channel) == 0)
            return &nv->mapping[i];
    return NULL;
}

void zvm_nvram_release(zvm_nvram_t *nv)
{
    if (!nv)
        return;
    for (size_t i = 0; i < nv->nargs; i++)
        free(nv->args[i]);
    free(nv->args);
    for (size_t i = 0; i < nv->nenv; i++) {
        free(nv->env[i].name);
        free(nv->env[i].value);
    }
    free(nv->env);
    for (size_t i = 0; i < nv->nfstab; i++) {
        free(nv->fstab[i].channel);
        free(nv->fstab[i].mountpoint);
    }
    free(nv->fstab);
    for (size_t i = 0; i < nv->nmapping; i++)
        free(nv->mapping[i].channel);
    free(nv->mapping);
    memset(nv, 0, sizeof *nv);
}
