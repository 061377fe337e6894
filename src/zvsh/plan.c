/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plan of one zvsh run: from the options and zvsh.cfg to the text of a
 * manifest and an nvram.  This file owns program resolution (an image
 * member, a system image, a path), the `@file` and `@NAME=value` argument
 * rules, the channel list and its order, and the creation of missing
 * @files.  It writes nothing else and runs nothing: src/cli/zvsh.c writes
 * the texts and runs zerovm.
 *
 * Channel order (as the original zvsh): stdin, stdout, stderr, /dev/debug
 * (with --zvm-debug), the @files (k = 1..n), the images (k = n+1..), the
 * program as /dev/self (read only), /dev/nvram.
 */
#include "zvsh/zvsh.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zvm/image.h"
#include "zvm/manifest.h"
#include "zvm/sysimage.h"

typedef struct chan {
    char *uri;
    char *alias;
    int type;
    uint64_t lim[4];
} chan_t;

/* Everything being built; released as a whole. */
struct build {
    const zvsh_options_t *o;
    const zvsh_config_t *c;
    zvm_error_t *err;
    chan_t *ch;
    size_t nch;
    const zvsh_image_t **images; /* options' then config's */
    size_t nimages;
    bool *image_is_dir;
    char *cache_dir;
};

static int oom(zvm_error_t *err)
{
    zvm_error_set(err, ENOMEM, "out of memory");
    return -ZVSH_SANDBOX;
}

static int fail(zvm_error_t *err, int cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(zvm_error_t *err, int cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = EINVAL;
    return -cls;
}

/* A manifest field cannot hold ',' or a line break, and loses blanks at its
 * ends. */
static bool field_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && !strpbrk(s, ",\n\r") && s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' &&
           s[n - 1] != '\t';
}

static int add_chan(struct build *b, const char *uri, const char *alias, int type,
                    uint64_t r, uint64_t rb, uint64_t w, uint64_t wb)
{
    chan_t *ch = realloc(b->ch, (b->nch + 1) * sizeof *ch);
    if (!ch)
        return oom(b->err);
    b->ch = ch;
    chan_t *c = &ch[b->nch];
    c->uri = strdup(uri);
    c->alias = strdup(alias);
    c->type = type;
    c->lim[0] = r, c->lim[1] = rb, c->lim[2] = w, c->lim[3] = wb;
    b->nch++;
    if (!c->uri || !c->alias)
        return oom(b->err);
    return 0;
}

static const char *base_name(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    char *slash = strrchr(buf, '/');
    return slash && slash[1] ? slash + 1 : buf;
}

/* ---- images ------------------------------------------------------------- */

static int collect_images(struct build *b)
{
    size_t n = b->o->nimages + b->c->nimages;
    b->images = calloc(n ? n : 1, sizeof *b->images);
    b->image_is_dir = calloc(n ? n : 1, sizeof *b->image_is_dir);
    if (!b->images || !b->image_is_dir)
        return oom(b->err);
    for (size_t i = 0; i < n; i++) {
        const zvsh_image_t *im =
            i < b->o->nimages ? &b->o->images[i] : &b->c->images[i - b->o->nimages];
        const char *from = im->line ? b->c->path : "--zvm-image";
        struct stat st;
        if (stat(im->path, &st) < 0)
            return fail(b->err, ZVSH_BAD, "image '%s' (%s): %s", im->path, from, strerror(errno));
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
            return fail(b->err, ZVSH_BAD, "image '%s' (%s): not a tar file or a directory",
                        im->path, from);
        if (!field_ok(im->path))
            return fail(b->err, ZVSH_BAD, "image '%s': a path with ',' or a line break cannot be a channel",
                        im->path);
        for (size_t j = 0; j < b->nimages; j++)
            if (strcmp(b->images[j]->mountpoint, im->mountpoint) == 0)
                return fail(b->err, ZVSH_BAD,
                            "images '%s' and '%s' are both mounted at '%s' (give one its own "
                            "mountpoint, e.g. --zvm-image %s,/mnt)",
                            b->images[j]->path, im->path, im->mountpoint, im->path);
        b->image_is_dir[b->nimages] = S_ISDIR(st.st_mode);
        b->images[b->nimages++] = im;
    }
    return 0;
}

/* ---- program resolution ------------------------------------------------- */

/* "prog", "bin/prog", "./bin/prog": relative, no "..", no empty part. */
static const char *member_name(const char *cmd)
{
    while (cmd[0] == '.' && cmd[1] == '/')
        cmd += 2;
    if (!*cmd || cmd[0] == '/')
        return NULL;
    for (const char *s = cmd;;) {
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return NULL;
        if (!*e)
            return cmd;
        s = e + 1;
    }
}

/* The member `name` of image i as a host file (inside the image's tree),
 * or NULL with *rc = 0 when it has none. */
static char *image_member(struct build *b, size_t i, const char *name, int *rc)
{
    const zvsh_image_t *im = b->images[i];
    char *tree = NULL;
    *rc = 0;
    if (b->image_is_dir[i]) {
        if (!(tree = realpath(im->path, NULL))) {
            *rc = fail(b->err, ZVSH_BAD, "image '%s': %s", im->path, strerror(errno));
            return NULL;
        }
    } else {
        zvm_error_t e = {0};
        if (!b->cache_dir && !(b->cache_dir = zvm_cache_dir(&e))) {
            *rc = fail(b->err, ZVSH_SANDBOX, "%s", e.msg);
            return NULL;
        }
        if (zvm_image_unpack(im->path, b->cache_dir, b->c->memory, &tree, NULL, &e) < 0) {
            *rc = fail(b->err, ZVSH_BAD, "image '%s': %s", im->path, e.msg);
            return NULL;
        }
    }
    char *cand = NULL, *real = NULL;
    if (asprintf(&cand, "%s/%s", tree, name) < 0) {
        free(tree);
        *rc = oom(b->err);
        return NULL;
    }
    real = realpath(cand, NULL);
    free(cand);
    struct stat st;
    size_t tn = strlen(tree);
    /* a member reached through links must stay in the tree */
    if (real && (strncmp(real, tree, tn) != 0 || real[tn] != '/' || stat(real, &st) < 0 ||
                 !S_ISREG(st.st_mode))) {
        free(real);
        real = NULL;
    }
    free(tree);
    return real;
}

static int resolve_program(struct build *b, char **out)
{
    const char *cmd = b->o->cmd[0];
    const char *member = member_name(cmd);
    int rc;
    /* (1) a member of an image, first image first */
    for (size_t i = 0; member && i < b->nimages; i++) {
        if ((*out = image_member(b, i, member, &rc)))
            return 0;
        if (rc < 0)
            return rc;
    }
    /* (2) a system image */
    if (!strchr(cmd, '/')) {
        zvm_sysimages_t t = {0};
        zvm_error_t e = {0};
        if (zvm_sysimages_load(&t, &e) < 0)
            return fail(b->err, ZVSH_BAD, "system images: %s", e.msg);
        const zvm_sysimage_t *si = zvm_sysimages_find(&t, cmd);
        if (si) {
            *out = strdup(si->program);
            zvm_sysimages_release(&t);
            return *out ? 0 : oom(b->err);
        }
        zvm_sysimages_release(&t);
    }
    /* (3) a host path */
    struct stat st;
    if (stat(cmd, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return fail(b->err, ZVSH_NOT_FOUND, "program '%s' is not a regular file", cmd);
        if (!(*out = realpath(cmd, NULL)))
            return fail(b->err, ZVSH_NOT_FOUND, "program '%s': %s", cmd, strerror(errno));
        return 0;
    }
    return fail(b->err, ZVSH_NOT_FOUND,
                "program '%s' not found (not in any --zvm-image, not a system image, no such file)",
                cmd);
}

/* ---- arguments ---------------------------------------------------------- */

/* "@NAME=value" with NAME in [_A-Z0-9]+: the length of NAME, else 0. */
static size_t env_arg(const char *a)
{
    if (a[0] != '@')
        return 0;
    size_t n = strspn(a + 1, "_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    return n > 0 && a[1 + n] == '=' ? n : 0;
}

static int set_env(struct build *b, zvm_nvram_t *nv, const char *name, size_t nlen,
                   const char *value)
{
    for (size_t i = 0; i < nv->nenv; i++) {
        if (strlen(nv->env[i].name) == nlen && strncmp(nv->env[i].name, name, nlen) == 0) {
            char *v = strdup(value);
            if (!v)
                return oom(b->err);
            free(nv->env[i].value);
            nv->env[i].value = v;
            return 0;
        }
    }
    zvm_nvram_env_t *e = realloc(nv->env, (nv->nenv + 1) * sizeof *e);
    if (!e)
        return oom(b->err);
    nv->env = e;
    e[nv->nenv].name = strndup(name, nlen);
    e[nv->nenv].value = strdup(value);
    nv->nenv++;
    if (!e[nv->nenv - 1].name || !e[nv->nenv - 1].value)
        return oom(b->err);
    return 0;
}

static int push_arg(struct build *b, zvm_nvram_t *nv, const char *a)
{
    char **args = realloc(nv->args, (nv->nargs + 2) * sizeof *args);
    if (!args)
        return oom(b->err);
    nv->args = args;
    args[nv->nargs + 1] = NULL;
    if (!(args[nv->nargs] = strdup(a)))
        return oom(b->err);
    nv->nargs++;
    return 0;
}

/* `@path`: a channel /dev/k.<basename> on the host file (created empty). */
static int file_arg(struct build *b, zvm_nvram_t *nv, const char *path, unsigned k)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT)
            return fail(b->err, ZVSH_BAD, "'@%s': %s", path, strerror(errno));
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
            return fail(b->err, ZVSH_BAD, "'@%s': cannot create '%s': %s", path, path,
                        strerror(errno));
        close(fd);
    }
    char *uri = realpath(path, NULL);
    if (!uri)
        return fail(b->err, ZVSH_BAD, "'@%s': %s", path, strerror(errno));
    char bbuf[4096], alias[4200];
    snprintf(alias, sizeof alias, "/dev/%u.%s", k, base_name(path, bbuf, sizeof bbuf));
    if (!field_ok(uri) || !field_ok(alias)) {
        free(uri);
        return fail(b->err, ZVSH_BAD,
                    "'@%s': a path with ',', a line break or blanks at its ends cannot be a channel",
                    path);
    }
    bool r = access(uri, R_OK) == 0, w = access(uri, W_OK) == 0;
    if (!r && !w) {
        free(uri);
        return fail(b->err, ZVSH_BAD, "'@%s': neither readable nor writable", path);
    }
    const uint64_t *l = b->c->limits;
    int rc = add_chan(b, uri, alias, ZVM_CHANNEL_RND_READ_RND_WRITE, r ? l[0] : 0, r ? l[1] : 0,
                      w ? l[2] : 0, w ? l[3] : 0);
    free(uri);
    return rc < 0 ? rc : push_arg(b, nv, alias);
}

/* ---- the standard streams ----------------------------------------------- */

/* The uri for fd (zerovm's own stream, /dev/null when closed) and its
 * nvram mapping mode. */
static const char *std_stream(int fd, const char *uri, zvm_mapping_mode_t *mode)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        *mode = ZVM_MAPPING_CHAR;
        return "/dev/null";
    }
    if (isatty(fd) || S_ISCHR(st.st_mode))
        *mode = ZVM_MAPPING_CHAR;
    else if (S_ISREG(st.st_mode))
        *mode = ZVM_MAPPING_FILE;
    else
        *mode = ZVM_MAPPING_PIPE;
    return uri;
}

static int add_mapping(struct build *b, zvm_nvram_t *nv, const char *alias,
                       zvm_mapping_mode_t mode)
{
    zvm_nvram_mapping_t *m = realloc(nv->mapping, (nv->nmapping + 1) * sizeof *m);
    if (!m)
        return oom(b->err);
    nv->mapping = m;
    m[nv->nmapping].mode = mode;
    if (!(m[nv->nmapping].channel = strdup(alias)))
        return oom(b->err);
    nv->nmapping++;
    return 0;
}

/* ---- formatting --------------------------------------------------------- */

static char *format_manifest(const struct build *b, const char *program)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "Node = %" PRIu32 "\nVersion = %u\nTimeout = %" PRIu32 "\nMemory = %" PRIu64
               ",0\nProgram = %s\n",
            b->c->node, ZVM_MANIFEST_VERSION, b->c->timeout, b->c->memory, program);
    for (size_t i = 0; i < b->nch; i++) {
        const chan_t *c = &b->ch[i];
        fprintf(f, "Channel = %s,%s,%d,0,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
                c->uri, c->alias, c->type, c->lim[0], c->lim[1], c->lim[2], c->lim[3]);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- the whole plan ----------------------------------------------------- */

static int build(struct build *b, zvsh_plan_t *p, const char *nvram_path)
{
    const zvsh_options_t *o = b->o;
    const zvsh_config_t *c = b->c;
    zvm_nvram_t *nv = &p->nv;
    int rc;
    if ((rc = collect_images(b)) < 0 || (rc = resolve_program(b, &p->program)) < 0)
        return rc;
    if (!field_ok(p->program))
        return fail(b->err, ZVSH_BAD, "program '%s': a path with ',' or a line break cannot be run",
                    p->program);

    /* standard streams and the debug channel */
    const uint64_t *l = c->limits;
    static const char *const std[3] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (int fd = 0; fd < 3; fd++) {
        zvm_mapping_mode_t mode;
        const char *uri = std_stream(fd, std[fd], &mode);
        if ((rc = add_chan(b, uri, std[fd], 0, fd == 0 ? l[0] : 0, fd == 0 ? l[1] : 0,
                           fd == 0 ? 0 : l[2], fd == 0 ? 0 : l[3])) < 0 ||
            (rc = add_mapping(b, nv, std[fd], mode)) < 0)
            return rc;
    }
    if (o->debug) {
        char cwd[4096], *log = NULL;
        if (!getcwd(cwd, sizeof cwd))
            return fail(b->err, ZVSH_BAD, "--zvm-debug: cannot name the current directory: %s",
                        strerror(errno));
        if (asprintf(&log, "%s/zvsh.log", strcmp(cwd, "/") == 0 ? "" : cwd) < 0)
            return oom(b->err);
        bool ok = field_ok(log);
        rc = ok ? add_chan(b, log, "/dev/debug", 0, 0, 0, l[2], l[3]) : 0;
        free(log);
        if (!ok)
            return fail(b->err, ZVSH_BAD, "--zvm-debug: the current directory's path cannot be a channel");
        if (rc < 0)
            return rc;
    }

    /* environment: zvsh.cfg [env], then @NAME=value (later wins) */
    for (size_t i = 0; i < c->nenv; i++)
        if ((rc = set_env(b, nv, c->env[i].name, strlen(c->env[i].name), c->env[i].value)) < 0)
            return rc;

    /* argv: the command as typed, then the arguments */
    if ((rc = push_arg(b, nv, o->cmd[0])) < 0)
        return rc;
    unsigned k = 0;
    for (int i = 1; i < o->ncmd; i++) {
        const char *a = o->cmd[i];
        size_t n = env_arg(a);
        if (n > 0)
            rc = set_env(b, nv, a + 1, n, a + 2 + n);
        else if (a[0] == '@' && a[1])
            rc = file_arg(b, nv, a + 1, ++k);
        else
            rc = push_arg(b, nv, a);
        if (rc < 0)
            return rc;
    }

    /* images, counted after the @files */
    for (size_t i = 0; i < b->nimages; i++) {
        const zvsh_image_t *im = b->images[i];
        char bbuf[4096], alias[4200];
        snprintf(alias, sizeof alias, "/dev/%u.%s", ++k, base_name(im->path, bbuf, sizeof bbuf));
        char *uri = realpath(im->path, NULL);
        if (!uri)
            return fail(b->err, ZVSH_BAD, "image '%s': %s", im->path, strerror(errno));
        if (!field_ok(uri) || !field_ok(alias)) {
            free(uri);
            return fail(b->err, ZVSH_BAD, "image '%s': a path with ',' or a line break cannot be a channel",
                        im->path);
        }
        rc = add_chan(b, uri, alias, ZVM_CHANNEL_RND_READ_RND_WRITE, l[0], l[1], 0, 0);
        free(uri);
        if (rc < 0)
            return rc;
        zvm_nvram_fstab_t *t = realloc(nv->fstab, (nv->nfstab + 1) * sizeof *t);
        if (!t)
            return oom(b->err);
        nv->fstab = t;
        t = &t[nv->nfstab++];
        memset(t, 0, sizeof *t);
        t->channel = strdup(alias);
        t->mountpoint = strdup(im->mountpoint);
        t->rw = im->rw;
        if (!t->channel || !t->mountpoint)
            return oom(b->err);
    }

    /* the program itself, and the nvram */
    if ((rc = add_chan(b, p->program, "/dev/self", ZVM_CHANNEL_RND_READ_RND_WRITE, l[0], l[1], 0, 0)) < 0 ||
        (rc = add_chan(b, nvram_path, "/dev/nvram", ZVM_CHANNEL_RND_READ_RND_WRITE, l[0], l[1], 0, 0)) < 0)
        return rc;
    nv->verbosity = o->verbosity;

    if (!(p->manifest = format_manifest(b, p->program)) || !(p->nvram = zvm_nvram_format(nv)))
        return oom(b->err);
    return 0;
}

int zvsh_plan_build(zvsh_plan_t *p, const zvsh_options_t *o, const zvsh_config_t *c,
                    const char *nvram_path, zvm_error_t *err)
{
    memset(p, 0, sizeof *p);
    struct build b = {.o = o, .c = c, .err = err};
    int rc = build(&b, p, nvram_path);
    for (size_t i = 0; i < b.nch; i++) {
        free(b.ch[i].uri);
        free(b.ch[i].alias);
    }
    free(b.ch);
    free(b.images);
    free(b.image_is_dir);
    free(b.cache_dir);
    if (rc < 0)
        zvsh_plan_release(p);
    return rc;
}

void zvsh_plan_release(zvsh_plan_t *p)
{
    free(p->program);
    free(p->manifest);
    free(p->nvram);
    zvm_nvram_release(&p->nv);
    memset(p, 0, sizeof *p);
}
