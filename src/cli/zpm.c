/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `zpm COMMAND ...`: create, bundle, deploy and execute ZeroVM
 * applications ("zapps") on a Swift-compatible object store with
 * ZeroCloud's compute (docs/architecture.md, "zpm").  A command table
 * dispatches to cmd_<name>(argc, argv), each parsing its own options; the
 * work is in src/zpm (zpm.h).  Every failure prints "Error: <message>" and
 * exits 1; a usage error exits 2; success exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "zpm/zpm.h"

#ifndef ZVM_VERSION
#define ZVM_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2

static zvm_error_t err;

/* ---- usage ---------------------------------------------------------------------- */

#define AUTH_HELP                                                                                        \
    "auth options (a flag overrides its variable; without -V the version is guessed):\n"                \
    "  -V, --auth-version=VER  1.0 or 2.0\n"                                                             \
    "  -A, --auth=URL          v1.0 auth URL ($ST_AUTH)\n"                                             \
    "  -U, --user=USER         v1.0 user ($ST_USER)\n"                                                 \
    "  -K, --key=KEY           v1.0 key ($ST_KEY)\n"                                                   \
    "      --os-auth-url=URL   v2.0 auth URL ($OS_AUTH_URL)\n"                                         \
    "      --os-tenant-name=T  v2.0 tenant ($OS_TENANT_NAME)\n"                                        \
    "      --os-username=USER  v2.0 user ($OS_USERNAME)\n"                                             \
    "      --os-password=PASS  v2.0 password ($OS_PASSWORD)\n"

#define LOG_HELP "  -l, --log-level=LEVEL   debug, info, warning (default), error or critical\n"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *help;
} command_t;

static const command_t *find_command(const char *name);

static void usage(FILE *out)
{
    fputs("usage: zpm [-l LEVEL] COMMAND [options] [args]\n"
          "\n"
          "Create, bundle, deploy and execute ZeroVM applications (zapps).\n"
          "\n"
          "commands:\n"
          "  new [DIR]           create zapp.yaml (and the web UI files) in DIR\n"
          "  bundle              bundle the project into <meta.name>.zapp\n"
          "  deploy TARGET ZAPP  upload a zapp to the container TARGET\n"
          "  execute ZAPP        run a zapp and print its output\n"
          "  auth                print the auth token and the storage URL\n"
          "  version             print the version\n"
          "  help [COMMAND]      show the help of a command\n"
          "\n"
          "global options:\n" LOG_HELP
          "      --version         print the version\n"
          "  -h, --help            show this help\n"
          "\n"
          "exit status: 0 success, 1 failure (\"Error: ...\" on stderr), 2 usage.\n",
          out);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "zpm%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'zpm help%s%s'.\n", cmd ? " " : "", cmd ? cmd : "");
    return EXIT_USAGE;
}

static int fail(void)
{
    fprintf(stderr, "Error: %s\n", err.msg);
    return EXIT_FAILURE;
}

/* ---- options shared by several commands ------------------------------------------ */

enum {
    OPT_OS_AUTH_URL = 256,
    OPT_OS_TENANT,
    OPT_OS_USERNAME,
    OPT_OS_PASSWORD,
    OPT_WITH_UI,
    OPT_TEMPLATE,
    OPT_REFRESH_DEPS,
    OPT_EXECUTE,
    OPT_NO_UI_AUTH,
    OPT_CONTAINER,
};

#define AUTH_LONGOPTS                                                                                    \
    {"auth-version", required_argument, NULL, 'V'}, {"auth", required_argument, NULL, 'A'},             \
        {"user", required_argument, NULL, 'U'}, {"key", required_argument, NULL, 'K'},                  \
        {"os-auth-url", required_argument, NULL, OPT_OS_AUTH_URL},                                       \
        {"os-tenant-name", required_argument, NULL, OPT_OS_TENANT},                                      \
        {"os-username", required_argument, NULL, OPT_OS_USERNAME},                                       \
        {"os-password", required_argument, NULL, OPT_OS_PASSWORD}
#define COMMON_LONGOPTS {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'}

/* Options every command shares: 1 handled, 0 not ours, EXIT_USAGE bad. */
static int common_option(const char *cmd, int c, zpm_auth_opts_t *auth)
{
    switch (c) {
    case 'l': {
        int lvl = zpm_log_level_parse(optarg);
        if (lvl < 0)
            return usage_error(cmd, "unknown log level '%s'", optarg);
        zpm_log_level = (zpm_log_level_t)lvl;
        return 1;
    }
    case 'h': {
        const command_t *k = find_command(cmd);
        fputs(k->help, stdout);
        exit(EXIT_SUCCESS);
    }
    case '?':
        return EXIT_USAGE;
    }
    if (!auth)
        return 0;
    switch (c) {
    case 'V': auth->version = optarg; return 1;
    case 'A': auth->auth = optarg; return 1;
    case 'U': auth->user = optarg; return 1;
    case 'K': auth->key = optarg; return 1;
    case OPT_OS_AUTH_URL: auth->os_auth_url = optarg; return 1;
    case OPT_OS_TENANT: auth->os_tenant_name = optarg; return 1;
    case OPT_OS_USERNAME: auth->os_username = optarg; return 1;
    case OPT_OS_PASSWORD: auth->os_password = optarg; return 1;
    }
    return 0;
}

/* ---- new ----------------------------------------------------------------------------- */

static int mkdir_parents(const char *dir)
{
    cleanup_free char *p = zpm_xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST)
            return zvm_error_errno(&err, errno, "cannot create '%s'", p);
        *s = '/';
    }
    if (mkdir(p, 0777) < 0 && errno != EEXIST)
        return zvm_error_errno(&err, errno, "cannot create '%s'", p);
    return 0;
}

static int cmd_new(int argc, char **argv)
{
    static const struct option opts[] = {
        {"with-ui", no_argument, NULL, OPT_WITH_UI},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        COMMON_LONGOPTS,
        {0},
    };
    bool with_ui = false;
    int c;
    while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
        int r = common_option("new", c, NULL);
        if (r == EXIT_USAGE)
            return r;
        if (r)
            continue;
        if (c == OPT_WITH_UI)
            with_ui = true;
        else if (c == OPT_TEMPLATE && strcmp(optarg, "python") != 0)
            return usage_error("new", "unknown template '%s' (known: python)", optarg);
    }
    if (argc - optind > 1)
        return usage_error("new", "unexpected argument '%s'", argv[optind + 1]);
    const char *dir = optind < argc ? argv[optind] : ".";
    if (!*dir)
        return usage_error("new", "%s", "DIR must not be empty");
    if (mkdir_parents(dir) < 0)
        return fail();
    char abs[PATH_MAX];
    if (!realpath(dir, abs)) {
        zvm_error_errno(&err, errno, "cannot resolve '%s'", dir);
        return fail();
    }
    const char *name = strcmp(abs, "/") ? strrchr(abs, '/') + 1 : "zapp";

    /* What to write: zapp.yaml, then the UI files. */
    const char *names[8];
    char *texts[8];
    size_t n = 0;
    names[n] = "zapp.yaml";
    texts[n++] = zpm_zapp_template(name, with_ui);
    for (size_t i = 0; with_ui && zpm_ui_template_files[i]; i += 2) {
        names[n] = zpm_ui_template_files[i];
        texts[n++] = zpm_xstrdup(zpm_ui_template_files[i + 1]);
    }
    int rc = EXIT_SUCCESS;
    char *paths[8] = {0};
    for (size_t i = 0; i < n; i++)
        paths[i] = zpm_xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
    /* Refuse before writing anything. */
    for (size_t i = 0; i < n && rc == EXIT_SUCCESS; i++) {
        struct stat st;
        if (lstat(paths[i], &st) == 0) {
            zvm_error_set(&err, EEXIST, "'%s' already exists!", paths[i]);
            rc = fail();
        }
    }
    for (size_t i = 0; i < n && rc == EXIT_SUCCESS; i++) {
        cleanup_close int fd = zvm_open_retry(paths[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        int w = fd < 0 ? -errno : zvm_write_all(fd, texts[i], strlen(texts[i]));
        if (w == 0 && close(steal_fd(&fd)) < 0)
            w = -errno;
        if (w < 0) {
            zvm_error_errno(&err, w == -EEXIST ? EEXIST : -w, "cannot write '%s'", paths[i]);
            if (w == -EEXIST)
                zvm_error_set(&err, EEXIST, "'%s' already exists!", paths[i]);
            rc = fail();
            break;
        }
        printf("Created '%s'\n", paths[i]);
    }
    for (size_t i = 0; i < n; i++) {
        free(texts[i]);
        free(paths[i]);
    }
    return rc;
}

/* ---- bundle ------------------------------------------------------------------------- */

static int cmd_bundle(int argc, char **argv)
{
    static const struct option opts[] = {
        {"refresh-deps", no_argument, NULL, OPT_REFRESH_DEPS},
        COMMON_LONGOPTS,
        {0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
        int r = common_option("bundle", c, NULL);
        if (r == EXIT_USAGE)
            return r;
        if (!r && c == OPT_REFRESH_DEPS)
            zpm_warn("--refresh-deps: zpm does not fetch Python dependencies; nothing to refresh");
    }
    if (optind < argc)
        return usage_error("bundle", "unexpected argument '%s'", argv[optind]);
    cleanup_free char *root = NULL;
    cleanup_free char *out = NULL;
    if (zpm_find_root(".", &root, &err) < 0 || zpm_bundle(root, &out, &err) < 0)
        return fail();
    printf("created %s\n", strrchr(out, '/') + 1);
    return EXIT_SUCCESS;
}

/* ---- execute ---------------------------------------------------------------------- */

/* POST a job (tar or JSON), print the summary (-s) and the job's output. */
static int run_job(const zpm_swift_t *conn, const char *content_type, const void *body, size_t len,
                   bool summary)
{
    cleanup_free char *ct = zpm_xasprintf("Content-Type: %s", content_type);
    const char *headers[] = {ct, "X-Zerovm-Execute: 1.0", NULL};
    zpm_response_t r;
    if (zpm_swift_request(conn, "POST", "", NULL, headers, body, len, &r, &err) < 0)
        return fail();
    int rc = EXIT_SUCCESS;
    if (r.status < 200 || r.status > 299) {
        cleanup_free char *d = zpm_response_describe(&r);
        const char *nexe = zpm_response_header(&r, "X-Nexe-Error");
        zvm_error_set(&err, EIO, "execution failed: %s%s%s", d, nexe ? ": " : "", nexe ? nexe : "");
        rc = fail();
    } else {
        if (summary) {
            cleanup_free char *table = zpm_summary_format(&r, &err);
            if (table)
                fputs(table, stdout);
            else
                zpm_warn("%s", err.msg);
        }
        fwrite(r.body.data, 1, r.body.len, stdout);
        fflush(stdout);
        cleanup_free char *why = NULL;
        if (!zpm_summary_ok(&r, &why)) {
            zvm_error_set(&err, EIO, "the job failed: %s", why);
            rc = fail();
        }
    }
    zpm_response_release(&r);
    return rc;
}

static int execute_container(const zpm_swift_t *conn, const char *container, bool summary)
{
    cleanup_free char *path = zpm_xasprintf("%s/%s", container, ZPM_SYSTEM_MAP);
    zpm_response_t r;
    if (zpm_swift_request(conn, "GET", path, NULL, NULL, NULL, 0, &r, &err) < 0)
        return fail();
    if (r.status < 200 || r.status > 299) {
        cleanup_free char *d = zpm_response_describe(&r);
        zvm_error_set(&err, EIO, "cannot fetch '%s': %s%s", path, d,
                      r.status == 404 ? " (was the zapp deployed there?)" : "");
        zpm_response_release(&r);
        return fail();
    }
    int rc = run_job(conn, "application/json", r.body.data, r.body.len, summary);
    zpm_response_release(&r);
    return rc;
}

static int cmd_execute(int argc, char **argv)
{
    static const struct option opts[] = {
        {"container", required_argument, NULL, OPT_CONTAINER},
        {"summary", no_argument, NULL, 's'},
        AUTH_LONGOPTS,
        COMMON_LONGOPTS,
        {0},
    };
    zpm_auth_opts_t auth = {0};
    const char *container = NULL;
    bool summary = false;
    int c;
    while ((c = getopt_long(argc, argv, "sV:A:U:K:l:h", opts, NULL)) != -1) {
        int r = common_option("execute", c, &auth);
        if (r == EXIT_USAGE)
            return r;
        if (r)
            continue;
        if (c == 's')
            summary = true;
        else if (c == OPT_CONTAINER)
            container = optarg;
    }
    if (argc - optind != 1)
        return usage_error("execute", "%s", argc - optind < 1 ? "missing ZAPP" : "too many arguments");
    const char *zapp = argv[optind];
    zpm_members_t members = {0};
    zpm_buf_t raw = {0};
    if (!container) {
        /* Read it first: a local mistake needs no round trip. */
        if (zpm_tar_read(zapp, &members, &raw, &err) < 0)
            return fail();
        bool has_map = zpm_members_find(&members, ZPM_SYSTEM_MAP) != NULL;
        zpm_members_release(&members);
        if (!has_map) {
            zpm_buf_release(&raw);
            zvm_error_set(&err, EINVAL, "'%s' has no %s: not a zapp", zapp, ZPM_SYSTEM_MAP);
            return fail();
        }
    }
    zpm_swift_t conn = {0};
    int rc;
    if (zpm_auth_connect(&auth, &conn, &err) < 0)
        rc = fail();
    else if (container)
        rc = execute_container(&conn, container, summary);
    else
        rc = run_job(&conn, "application/x-tar", raw.data, raw.len, summary);
    zpm_buf_release(&raw);
    zpm_swift_release(&conn);
    return rc;
}

/* ---- deploy ------------------------------------------------------------------------- */

static int put_object(const zpm_swift_t *conn, const char *path, const char *content_type, const void *data,
                      size_t len)
{
    cleanup_free char *ct = zpm_xasprintf("Content-Type: %s", content_type);
    const char *headers[] = {ct, NULL};
    zpm_response_t r;
    if (zpm_swift_request(conn, "PUT", path, NULL, headers, data, len, &r, &err) < 0)
        return -1;
    int rc = 0;
    if (r.status < 200 || r.status > 299) {
        cleanup_free char *d = zpm_response_describe(&r);
        rc = zvm_error_set(&err, EIO, "cannot upload '%s': %s", path, d);
    } else {
        zpm_info("uploaded %s (%zu bytes, %s)", path, len, content_type);
    }
    zpm_response_release(&r);
    return rc;
}

/* Create the container if missing; refuse a non-empty one unless forced. */
static int prepare_container(const zpm_swift_t *conn, const char *container, const char *prefix,
                             const char *target, bool force)
{
    zpm_response_t r;
    if (zpm_swift_request(conn, "HEAD", container, NULL, NULL, NULL, 0, &r, &err) < 0)
        return -1;
    long status = r.status;
    cleanup_free char *d = zpm_response_describe(&r);
    zpm_response_release(&r);
    if (status == 404) {
        if (zpm_swift_request(conn, "PUT", container, NULL, NULL, NULL, 0, &r, &err) < 0)
            return -1;
        status = r.status;
        free(d);
        d = zpm_response_describe(&r);
        zpm_response_release(&r);
        if (status < 200 || status > 299)
            return zvm_error_set(&err, EIO, "cannot create the container '%s': %s", container, d);
        zpm_info("created the container '%s'", container);
        return 0;
    }
    if (status < 200 || status > 299)
        return zvm_error_set(&err, EIO, "cannot reach the container '%s': %s", container, d);
    if (force)
        return 0;
    zpm_buf_t q = {0};
    zpm_buf_adds(&q, "limit=1");
    if (*prefix) {
        zpm_buf_adds(&q, "&prefix=");
        zpm_url_encode(&q, prefix);
        zpm_buf_adds(&q, "/");
    }
    cleanup_free char *query = zpm_buf_steal(&q);
    if (zpm_swift_request(conn, "GET", container, query, NULL, NULL, 0, &r, &err) < 0)
        return -1;
    status = r.status;
    bool empty = strspn(r.body.data, " \t\r\n") == r.body.len;
    free(d);
    d = zpm_response_describe(&r);
    zpm_response_release(&r);
    if (status < 200 || status > 299)
        return zvm_error_set(&err, EIO, "cannot list the container '%s': %s", container, d);
    if (!empty)
        return zvm_error_set(&err, EEXIST,
                             "Target container ('%s') is not empty. Deploying to a non-empty container "
                             "can cause consistency problems with overwritten objects. Specify the flag "
                             "`--force/-f` to overwrite anyway.",
                             target);
    return 0;
}

typedef struct deploy {
    const zpm_swift_t *conn;
    const char *target;         /* container[/prefix], no '/' at either end */
    const char *zapp_path;
    zpm_members_t members;
    zpm_buf_t raw;
    zpm_zapp_t zapp;
    bool index;                 /* index.html uploaded at the top of target */
} deploy_t;

static int upload_ui(deploy_t *d, const char *zapp_url)
{
    /* Only what is not secret: never the user, key, password or token. */
    json_t *ctx = json_pack("{s:O,s:{s:s,s:s,s:s},s:s,s:s}", "zapp", d->zapp.doc, "auth_opts", "version",
                            d->conn->auth_version, "storage_url", d->conn->storage_url, "auth_url",
                            d->conn->auth_url, "container", d->target, "zapp_url", zapp_url);
    if (!ctx)
        return zvm_error_set(&err, EINVAL, "cannot build the UI context (not UTF-8?)");
    int rc = 0;
    for (size_t i = 0; i < d->members.n && rc == 0; i++) {
        const zpm_member_t *m = &d->members.v[i];
        if (!strcmp(m->name, ZPM_SYSTEM_MAP) || !strcmp(m->name, "zapp.yaml") || !zpm_ui_matches(&d->zapp, m->name))
            continue;
        size_t nl = strlen(m->name);
        bool tmpl = nl > 5 && strcmp(m->name + nl - 5, ".tmpl") == 0;
        cleanup_free char *name = zpm_xstrdup(m->name);
        cleanup_free char *text = NULL;
        if (tmpl) {
            name[nl - 5] = '\0';
            text = zpm_ui_render(m->name, m->data, m->len, ctx);
        }
        cleanup_free char *path = zpm_xasprintf("%s/%s", d->target, name);
        rc = put_object(d->conn, path, zpm_ui_content_type(name), tmpl ? text : m->data,
                        tmpl ? strlen(text) : m->len);
        if (strcmp(name, "index.html") == 0)
            d->index = true;
    }
    json_decref(ctx);
    return rc;
}

static int deploy(deploy_t *d, bool force)
{
    cleanup_free char *container = zpm_xstrdup(d->target);
    char *slash = strchr(container, '/');
    const char *prefix = "";
    if (slash) {
        *slash = '\0';
        prefix = slash + 1;
    }
    if (prepare_container(d->conn, container, prefix, d->target, force) < 0)
        return -1;
    cleanup_free char *base_copy = zpm_xstrdup(d->zapp_path);
    const char *base = basename(base_copy);
    cleanup_free char *zapp_obj = zpm_xasprintf("%s/%s", d->target, base);
    cleanup_free char *zapp_url = zpm_xasprintf("swift://%s/%s", d->conn->account, zapp_obj);
    /* The zapp first: the map uploaded next refers to it. */
    if (put_object(d->conn, zapp_obj, "application/x-tar", d->raw.data, d->raw.len) < 0)
        return -1;
    const zpm_member_t *map = zpm_members_find(&d->members, ZPM_SYSTEM_MAP);
    json_error_t je;
    json_t *job = json_loadb(map->data, map->len, 0, &je);
    if (!job)
        return zvm_error_set(&err, EINVAL, "%s:%s:%d: %s", d->zapp_path, ZPM_SYSTEM_MAP, je.line, je.text);
    int rc = zpm_sysmap_add_image(job, zapp_url, &err);
    if (rc == 0) {
        cleanup_free char *text = zpm_json_text(job);
        cleanup_free char *path = zpm_xasprintf("%s/%s", d->target, ZPM_SYSTEM_MAP);
        rc = put_object(d->conn, path, "application/json", text, strlen(text));
    }
    json_decref(job);
    if (rc == 0)
        rc = upload_ui(d, zapp_url);
    return rc;
}

static int cmd_deploy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"execute", no_argument, NULL, OPT_EXECUTE},
        {"summary", no_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},
        {"no-ui-auth", no_argument, NULL, OPT_NO_UI_AUTH},
        AUTH_LONGOPTS,
        COMMON_LONGOPTS,
        {0},
    };
    zpm_auth_opts_t auth = {0};
    bool execute = false, summary = false, force = false;
    int c;
    while ((c = getopt_long(argc, argv, "sfV:A:U:K:l:h", opts, NULL)) != -1) {
        int r = common_option("deploy", c, &auth);
        if (r == EXIT_USAGE)
            return r;
        if (r)
            continue;
        if (c == OPT_EXECUTE)
            execute = true;
        else if (c == 's')
            summary = true;
        else if (c == 'f')
            force = true;
        /* --no-ui-auth: credentials are never written into UI files anyway */
    }
    if (argc - optind != 2)
        return usage_error("deploy", "%s", argc - optind < 2 ? "missing TARGET or ZAPP" : "too many arguments");
    cleanup_free char *target = zpm_xstrdup(argv[optind]);
    char *t = target;
    while (*t == '/')
        t++;
    size_t tl = strlen(t);
    while (tl && t[tl - 1] == '/')
        t[--tl] = '\0';
    if (!*t)
        return usage_error("deploy", "%s", "TARGET must name a container");
    deploy_t d = {.target = t, .zapp_path = argv[optind + 1]};
    zpm_swift_t conn = {0};
    int rc = EXIT_FAILURE;
    cleanup_free char *what = NULL;  /* before any goto: freed at scope end */
    if (zpm_tar_read(d.zapp_path, &d.members, &d.raw, &err) < 0)
        goto out;
    const zpm_member_t *y = zpm_members_find(&d.members, "zapp.yaml");
    if (!y || !zpm_members_find(&d.members, ZPM_SYSTEM_MAP)) {
        zvm_error_set(&err, EINVAL, "'%s' has no %s: not a zapp", d.zapp_path, y ? ZPM_SYSTEM_MAP : "zapp.yaml");
        goto out;
    }
    what = zpm_xasprintf("%s:zapp.yaml", d.zapp_path);
    if (zpm_zapp_parse(&d.zapp, y->data, y->len, what, &err) < 0)
        goto out;
    if (zpm_auth_connect(&auth, &conn, &err) < 0)
        goto out;
    d.conn = &conn;
    if (deploy(&d, force) < 0)
        goto out;
    printf("app deployed to %s/%s/%s\n", conn.storage_url, d.target, d.index ? "index.html" : "");
    fflush(stdout);
    rc = execute ? execute_container(&conn, d.target, summary) : EXIT_SUCCESS;
    goto done;
out:
    rc = fail();
done:
    zpm_members_release(&d.members);
    zpm_buf_release(&d.raw);
    zpm_zapp_release(&d.zapp);
    zpm_swift_release(&conn);
    return rc;
}

/* ---- auth, version, help ---------------------------------------------------------- */

static int cmd_auth(int argc, char **argv)
{
    static const struct option opts[] = {AUTH_LONGOPTS, COMMON_LONGOPTS, {0}};
    zpm_auth_opts_t auth = {0};
    int c;
    while ((c = getopt_long(argc, argv, "V:A:U:K:l:h", opts, NULL)) != -1)
        if (common_option("auth", c, &auth) == EXIT_USAGE)
            return EXIT_USAGE;
    if (optind < argc)
        return usage_error("auth", "unexpected argument '%s'", argv[optind]);
    zpm_swift_t conn;
    if (zpm_auth_connect(&auth, &conn, &err) < 0)
        return fail();
    printf("Auth token: %s\nStorage URL: %s\n", conn.token, conn.storage_url);
    zpm_swift_release(&conn);
    return EXIT_SUCCESS;
}

static int cmd_version(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_LONGOPTS, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1)
        if (common_option("version", c, NULL) == EXIT_USAGE)
            return EXIT_USAGE;
    printf("zpm version %s\n", ZVM_VERSION);
    return EXIT_SUCCESS;
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 2)
        return usage_error("help", "%s", "too many arguments");
    if (argc < 2) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    const command_t *k = find_command(argv[1]);
    if (!k)
        return usage_error(NULL, "unknown command '%s'", argv[1]);
    fputs(k->help, stdout);
    return EXIT_SUCCESS;
}

static const command_t commands[] = {
    {"new", cmd_new, "create a project",
     "usage: zpm new [DIR] [--with-ui] [--template python]\n"
     "\n"
     "Write zapp.yaml in DIR (default: the current directory; created if missing),\n"
     "with meta.name the directory's name; --with-ui also writes index.html.tmpl,\n"
     "style.css and zerocloud.js and lists them under 'ui'.  An existing file is\n"
     "never overwritten.\n"
     "\n"
     "options:\n"
     "      --with-ui           also write the web UI files\n"
     "      --template=python   the project template (the only one)\n" LOG_HELP},
    {"bundle", cmd_bundle, "bundle the project",
     "usage: zpm bundle [--refresh-deps]\n"
     "\n"
     "Find the project (the nearest zapp.yaml, from the current directory up) and\n"
     "write <meta.name>.zapp next to zapp.yaml: a gzip tar of boot/system.map\n"
     "(generated), zapp.yaml, the 'bundling' matches, then the 'ui' matches.\n"
     "'dependencies' are not fetched (a warning says so): bundle their files.\n"
     "\n"
     "options:\n"
     "      --refresh-deps      accepted; nothing to refresh\n" LOG_HELP},
    {"deploy", cmd_deploy, "deploy a zapp",
     "usage: zpm deploy TARGET ZAPP [--execute] [-s] [-f] [auth options]\n"
     "\n"
     "Upload ZAPP to the container TARGET (created if missing): the zapp as an\n"
     "uncompressed tar, TARGET/boot/system.map with the zapp as every group's\n"
     "'image' device, and the UI files ('.tmpl' rendered, without credentials).\n"
     "Prints 'app deployed to' and the URL of index.html (or of the container).\n"
     "\n"
     "options:\n"
     "      --execute           then execute it (as 'zpm execute --container TARGET')\n"
     "  -s, --summary           with --execute, print the execution summary\n"
     "  -f, --force             deploy even if TARGET is not empty\n"
     "      --no-ui-auth        accepted: UI files never hold credentials\n" LOG_HELP AUTH_HELP},
    {"execute", cmd_execute, "execute a zapp",
     "usage: zpm execute ZAPP [--container C] [-s] [auth options]\n"
     "\n"
     "Run ZAPP on ZeroCloud: POST the zapp itself as the job (a tar), or with\n"
     "--container the boot/system.map that 'zpm deploy' stored in C.  Prints the\n"
     "job's output (the nodes' immediate outputs); fails (exit 1) when a node did\n"
     "not end 'ok' with return code 0.\n"
     "\n"
     "options:\n"
     "      --container=C       run the zapp deployed to container C\n"
     "  -s, --summary           print the execution summary before the output\n" LOG_HELP AUTH_HELP},
    {"auth", cmd_auth, "authenticate",
     "usage: zpm auth [auth options]\n"
     "\n"
     "Authenticate and print 'Auth token: <token>' and 'Storage URL: <url>'.\n"
     "\n" LOG_HELP AUTH_HELP},
    {"version", cmd_version, "print the version", "usage: zpm version\n"},
    {"help", cmd_help, "show help", "usage: zpm help [COMMAND]\n"},
};

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;
    /* Global options stop at the command ('+'). */
    while ((c = getopt_long(argc, argv, "+l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': {
            int lvl = zpm_log_level_parse(optarg);
            if (lvl < 0)
                return usage_error(NULL, "unknown log level '%s'", optarg);
            zpm_log_level = (zpm_log_level_t)lvl;
            break;
        }
        case 'v':
            printf("zpm version %s\n", ZVM_VERSION);
            return EXIT_SUCCESS;
        case 'h':
            usage(stdout);
            return EXIT_SUCCESS;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const command_t *k = find_command(argv[optind]);
    if (!k)
        return usage_error(NULL, "unknown command '%s'", argv[optind]);
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0;     /* each command parses its own options: reinitialise getopt */
    return k->run(sub_argc, sub_argv);
}
