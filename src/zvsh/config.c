/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zvsh.cfg: finding it and reading it into a zvsh_config_t.
 *
 * The file is a small strict INI file (the format the original zvsh read):
 *
 *   [manifest]  Version = 20130611, Timeout = 50, Memory = 4294967296, Node = 1
 *   [limits]    reads, rbytes, writes, wbytes      (default 4294967296 each)
 *   [env]       NAME = value                        (into nvram [env])
 *   [fstab]     /host/image.tar = /mountpoint ro|rw (like --zvm-image)
 *
 * Keys of [manifest] and [limits] are case-insensitive; `key: value` is read
 * like `key = value`; lines starting with '#' or ';' are comments.  Anything
 * else is an error naming the file and the line: this file owns those
 * messages.  What the values mean for the run is plan.c's.
 *
 * A ./zvsh.cfg found in the current directory is not trusted with host
 * paths (it may come with a checkout): its [fstab] images must resolve
 * beneath that directory.  ~/.zvsh.cfg, /etc/zvsh.cfg and a file named with
 * --zvm-config may name any host path.
 */
#include "zvsh/zvsh.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zvm/manifest.h"
#include "lib/util.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

void zvsh_config_init(zvsh_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->node = 1;
    c->timeout = 50;
    c->memory = ZVM_MEMORY_MAX;
    for (int i = 0; i < 4; i++)
        c->limits[i] = ZVSH_LIMIT_DEFAULT;
}

void zvsh_image_release(zvsh_image_t *im)
{
    free(im->path);
    free(im->mountpoint);
    memset(im, 0, sizeof *im);
}

void zvsh_config_release(zvsh_config_t *c)
{
    free(c->path);
    for (size_t i = 0; i < c->nenv; i++) {
        free(c->env[i].name);
        free(c->env[i].value);
    }
    free(c->env);
    for (size_t i = 0; i < c->nimages; i++)
        zvsh_image_release(&c->images[i]);
    free(c->images);
    memset(c, 0, sizeof *c);
}

/* An absolute path without empty, "." or ".." parts (trailing '/' only for "/"). */
static bool clean_abs_path(const char *p)
{
    if (p[0] != '/')
        return false;
    if (strcmp(p, "/") == 0)
        return true;
    const char *s = p + 1;
    for (;;) {
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (!*e)
            return true;
        s = e + 1;
    }
}

int zvsh_image_set(zvsh_image_t *im, const char *path, const char *mountpoint,
                   const char *access, zvm_error_t *err)
{
    memset(im, 0, sizeof *im);
    if (!*path)
        return zvm_error_set(err, EINVAL, "empty image path");
    if (!mountpoint || !*mountpoint)
        mountpoint = "/";
    if (!access || !*access)
        access = "ro";
    if (!clean_abs_path(mountpoint))
        return zvm_error_set(err, EINVAL,
                             "image '%s': bad mountpoint '%s' (an absolute path without '.' or '..' parts)",
                             path, mountpoint);
    /* "wo" was used by the original; an image cannot be write-only, so it
     * is a writable one (an overlay whose writes vanish at exit). */
    if (strcmp(access, "ro") == 0)
        im->rw = false;
    else if (strcmp(access, "rw") == 0 || strcmp(access, "wo") == 0)
        im->rw = true;
    else
        return zvm_error_set(err, EINVAL, "image '%s': bad access '%s' (ro, rw or wo)", path,
                             access);
    im->path = strdup(path);
    im->mountpoint = strdup(mountpoint);
    if (!im->path || !im->mountpoint) {
        zvsh_image_release(im);
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

typedef enum section {
    SEC_NONE,
    SEC_MANIFEST,
    SEC_LIMITS,
    SEC_ENV,
    SEC_FSTAB,
} section_t;

/* One parse: where we are, and which singular keys were seen. */
struct parser {
    zvsh_config_t *c;
    const char *path;
    char *dir;            /* the file's directory, for relative image paths */
    unsigned line;
    section_t sec;
    unsigned seen;        /* bit per singular key */
    zvm_error_t *err;
};

static int bad(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct parser *ps, const char *fmt, ...)
{
    char msg[ZVM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return zvm_error_set(ps->err, EINVAL, "%s:%u: %s", ps->path, ps->line, msg);
}

static int once(struct parser *ps, unsigned bit, const char *key)
{
    if (ps->seen & bit)
        return bad(ps, "'%s' is given twice", key);
    ps->seen |= bit;
    return 0;
}

static int manifest_key(struct parser *ps, const char *k, const char *v)
{
    zvsh_config_t *c = ps->c;
    uint64_t n;
    if (strcasecmp(k, "Version") == 0) {
        if (once(ps, 1u << 0, k) < 0)
            return -1;
        if (parse_u64(v, ZVM_MANIFEST_VERSION, ZVM_MANIFEST_VERSION, &n) < 0)
            return bad(ps, "bad Version '%s' (only %s is known)", v, "20130611");
        return 0;
    }
    if (strcasecmp(k, "Timeout") == 0) {
        if (once(ps, 1u << 1, k) < 0)
            return -1;
        if (parse_u64(v, 1, ZVM_TIMEOUT_MAX, &n) < 0)
            return bad(ps, "bad Timeout '%s' (seconds, 1..2147483647)", v);
        c->timeout = (uint32_t)n;
        return 0;
    }
    if (strcasecmp(k, "Memory") == 0) {
        if (once(ps, 1u << 2, k) < 0)
            return -1;
        /* "bytes" or the manifest's "bytes,etag" */
        char buf[64];
        snprintf(buf, sizeof buf, "%s", v);
        char *comma = strchr(buf, ',');
        if (comma) {
            *comma = '\0';
            if (strcmp(trim(comma + 1), "0") != 0 && strcmp(trim(comma + 1), "1") != 0)
                return bad(ps, "bad Memory '%s' (bytes, 1048576..4294967296)", v);
        }
        if (parse_u64(trim(buf), ZVM_MEMORY_MIN, ZVM_MEMORY_MAX, &n) < 0)
            return bad(ps, "bad Memory '%s' (bytes, 1048576..4294967296)", v);
        c->memory = n;
        return 0;
    }
    if (strcasecmp(k, "Node") == 0) {
        if (once(ps, 1u << 3, k) < 0)
            return -1;
        if (parse_u64(v, 1, UINT32_MAX, &n) < 0)
            return bad(ps, "bad Node '%s' (1..4294967295)", v);
        c->node = (uint32_t)n;
        return 0;
    }
    return bad(ps, "unknown key '%s' in [manifest] (Version, Timeout, Memory, Node)", k);
}

static int limits_key(struct parser *ps, const char *k, const char *v)
{
    static const char *const names[4] = {"reads", "rbytes", "writes", "wbytes"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(k, names[i]) != 0)
            continue;
        if (once(ps, 1u << (8 + i), k) < 0)
            return -1;
        if (parse_u64(v, 0, ZVM_LIMIT_MAX, &ps->c->limits[i]) < 0)
            return bad(ps, "bad limit %s '%s' (0..4294967296)", k, v);
        return 0;
    }
    return bad(ps, "unknown key '%s' in [limits] (reads, rbytes, writes, wbytes)", k);
}

static bool env_name_ok(const char *k)
{
    if (!*k || isdigit((unsigned char)k[0]))
        return false;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static int env_key(struct parser *ps, const char *k, const char *v)
{
    zvsh_config_t *c = ps->c;
    if (!env_name_ok(k))
        return bad(ps, "bad environment variable name '%s'", k);
    for (size_t i = 0; i < c->nenv; i++)
        if (strcmp(c->env[i].name, k) == 0)
            return bad(ps, "'%s' is given twice", k);
    zvsh_env_t *e = realloc(c->env, (c->nenv + 1) * sizeof *e);
    if (!e)
        return zvm_error_set(ps->err, ENOMEM, "out of memory");
    c->env = e;
    e[c->nenv].name = strdup(k);
    e[c->nenv].value = strdup(v);
    c->nenv++;
    if (!e[c->nenv - 1].name || !e[c->nenv - 1].value)
        return zvm_error_set(ps->err, ENOMEM, "out of memory");
    return 0;
}

/* A config found implicitly in the current directory may come with an
 * untrusted checkout: its images must be inside that directory.  Resolve
 * the path beneath it (the kernel refuses "..", absolute paths and links
 * leading out) and use the resolved path.  A missing image keeps its name,
 * for plan.c's message. */
static int confine_image(struct parser *ps, const char *k, char **path)
{
    int fd = zvm_openat2(AT_FDCWD, *path, O_PATH, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 && errno == EXDEV)
        return bad(ps, "image '%s' is outside the directory of %s, which was found in the current "
                   "directory (name the file with --zvm-config to use host paths)", k, ps->path);
    if (fd < 0)
        return bad(ps, "image '%s': %s", k, strerror(errno));
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    int saved = errno;
    close(fd);
    if (n < 0)
        return bad(ps, "image '%s': %s", k, strerror(saved));
    real[n] = '\0';
    char *copy = strdup(real);
    if (!copy)
        return zvm_error_set(ps->err, ENOMEM, "out of memory");
    free(*path);
    *path = copy;
    return 0;
}

/* `image = mountpoint [access]` */
static int fstab_key(struct parser *ps, const char *k, char *v)
{
    zvsh_config_t *c = ps->c;
    char *save = NULL;
    char *mp = strtok_r(v, " \t", &save);
    char *acc = mp ? strtok_r(NULL, " \t", &save) : NULL;
    char *extra = acc ? strtok_r(NULL, " \t", &save) : NULL;
    if (!mp || extra)
        return bad(ps, "expected 'image = mountpoint [ro|rw]' in [fstab] for '%s'", k);
    char *path = NULL;
    if (k[0] != '/' && ps->dir) {
        if (asprintf(&path, "%s/%s", ps->dir, k) < 0)
            return zvm_error_set(ps->err, ENOMEM, "out of memory");
    } else if (!(path = strdup(k))) {
        return zvm_error_set(ps->err, ENOMEM, "out of memory");
    }
    if (c->confined && confine_image(ps, k, &path) < 0) {
        free(path);
        return -1;
    }
    zvsh_image_t *im = realloc(c->images, (c->nimages + 1) * sizeof *im);
    if (!im) {
        free(path);
        return zvm_error_set(ps->err, ENOMEM, "out of memory");
    }
    c->images = im;
    zvm_error_t e = {0};
    int rc = zvsh_image_set(&im[c->nimages], path, mp, acc, &e);
    free(path);
    if (rc < 0)
        return bad(ps, "%s", e.msg);
    im[c->nimages].line = ps->line;
    c->nimages++;
    return 0;
}

static int parse_line(struct parser *ps, char *line)
{
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';')
        return 0;
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']')
            return bad(ps, "bad section header '%s'", s);
        s[n - 1] = '\0';
        char *name = trim(s + 1);
        if (strcmp(name, "manifest") == 0)
            ps->sec = SEC_MANIFEST;
        else if (strcmp(name, "limits") == 0)
            ps->sec = SEC_LIMITS;
        else if (strcmp(name, "env") == 0)
            ps->sec = SEC_ENV;
        else if (strcmp(name, "fstab") == 0)
            ps->sec = SEC_FSTAB;
        else
            return bad(ps, "unknown section [%s] (manifest, limits, env, fstab)", name);
        return 0;
    }
    size_t at = strcspn(s, "=:");
    if (!s[at])
        return bad(ps, "expected 'key = value', got '%s'", s);
    s[at] = '\0';
    char *k = trim(s), *v = trim(s + at + 1);
    if (!*k)
        return bad(ps, "missing key before '='");
    switch (ps->sec) {
    case SEC_NONE:
        return bad(ps, "'%s' is outside a section ([manifest], [limits], [env], [fstab])", k);
    case SEC_MANIFEST:
        return manifest_key(ps, k, v);
    case SEC_LIMITS:
        return limits_key(ps, k, v);
    case SEC_ENV:
        return env_key(ps, k, v);
    case SEC_FSTAB:
        return fstab_key(ps, k, v);
    }
    return 0;
}

int zvsh_config_parse(zvsh_config_t *c, const char *text, const char *path, zvm_error_t *err)
{
    struct parser ps = {.c = c, .path = path, .err = err};
    char *copy = strdup(text);
    char *slash = strrchr(path, '/');
    ps.dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : NULL;
    if (!copy || (slash && !ps.dir)) {
        free(copy);
        free(ps.dir);
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    int rc = 0;
    char *line = copy;
    while (line && rc == 0) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        ps.line++;
        rc = parse_line(&ps, line);
        line = nl ? nl + 1 : NULL;
    }
    free(copy);
    free(ps.dir);
    return rc;
}

static int read_small_file(const char *path, char **out, zvm_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot read '%s'", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return zvm_error_errno(err, e, "cannot read '%s'", path);
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
        close(fd);
        return zvm_error_set(err, EINVAL, "'%s' is not a regular file of at most 1 MiB", path);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t len = 0;
    if (!buf) {
        close(fd);
        return zvm_error_set(err, ENOMEM, "out of memory");
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return zvm_error_errno(err, e, "cannot read '%s'", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return zvm_error_set(err, EINVAL, "'%s' contains a NUL byte", path);
    }
    *out = buf;
    return 0;
}

static int config_read(zvsh_config_t *c, const char *p, const char *name, zvm_error_t *err)
{
    char *abs = realpath(p, NULL);
    if (!abs)
        return zvm_error_errno(err, errno, "cannot read '%s'", p);
    c->path = abs;
    char *text = NULL;
    if (read_small_file(abs, &text, err) < 0)
        return -1;
    int rc = zvsh_config_parse(c, text, name ? name : abs, err);
    free(text);
    return rc;
}

int zvsh_config_find(zvsh_config_t *c, const char *explicit_path, zvm_error_t *err)
{
    if (explicit_path)
        return config_read(c, explicit_path, NULL, err);
    char *home_cfg = NULL;
    const char *home = getenv("HOME");
    if (home && *home && asprintf(&home_cfg, "%s/.zvsh.cfg", home) < 0)
        return zvm_error_set(err, ENOMEM, "out of memory");
    const char *candidates[] = {"zvsh.cfg", home_cfg, "/etc/zvsh.cfg"};
    int rc = 0;
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        const char *p = candidates[i];
        if (!p || access(p, F_OK) < 0)
            continue;
        /* Messages name ./zvsh.cfg as the user knows it; relative [fstab]
         * paths are relative to the file's directory (for ./zvsh.cfg, the
         * current one, and confined to it). */
        c->confined = i == 0;
        rc = config_read(c, p, i == 0 ? "zvsh.cfg" : NULL, err);
        break;
    }
    free(home_cfg);
    return rc;
}
