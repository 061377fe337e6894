/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `zvapp [options] INPUT`: run a job (ZeroCloud's system.map) on this
 * machine.  INPUT is an app directory (boot/system.map; the directory is
 * packed into a tar, every node's `image` device), a JSON job file, or a
 * tar holding boot/system.map (itself the image).  Thin: parsing, expanding
 * and running are libzvmjob's (include/zvm/job.h); this file reads options,
 * picks the input kind, and prints: each node's report, the execution
 * summary, then the immediate outputs.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "zvm/job.h"
#include "zvm/locate.h"
#include "zvm/sysimage.h"

#define JOB_MAX (1u << 20)

static volatile int cancelled;

static void on_signal(int sig)
{
    (void)sig;
    cancelled = 1;
}

static void usage(FILE *out)
{
    fputs("usage: zvapp [options] INPUT\n"
          "\n"
          "Run a job on this machine: INPUT is an app directory (with boot/system.map),\n"
          "a JSON job file, or a tar holding boot/system.map.\n"
          "\n"
          "options:\n"
          "  -s, --storage=DIR      where swift://acct/cont/obj lives: DIR/acct/cont/obj\n"
          "                         (default: $ZVAPP_STORAGE, else ./storage)\n"
          "  -a, --account=NAME     the account '~' and '.' stand for (default: local)\n"
          "      --sysimages=FILE   system images, 'name = /program' lines (default:\n"
          "                         $ZEROVM_SYSIMAGES, /etc/zerovm/sysimages, else python3,\n"
          "                         python and python2.7 = /usr/bin/python3)\n"
          "      --zvm-save-dir=DIR keep the work files there (manifest.N, nvram.N, report.N, ...)\n"
          "  -n, --dry-run          print the expanded nodes as JSON and exit\n"
          "  -j, --jobs=N           run at most N nodes at once (default: online CPUs;\n"
          "                         nodes joined by streams always start together)\n"
          "  -t, --timeout=SECONDS  per node (default 300)\n"
          "  -m, --memory=BYTES     per node (default 1073741824)\n"
          "      --zerovm=PATH      the zerovm binary (default: $ZEROVM, else next to zvapp,\n"
          "                         else PATH)\n"
          "  -q, --quiet            print only the immediate outputs\n"
          "  -h, --help             show this help\n"
          "\n"
          "exit status: 0 every node ended ok with return code 0 (outputs stored),\n"
          "1 the job failed or could not run (no output stored), 2 usage.\n",
          out);
}


/* The job text, and the image tar for an app (a made tar goes in *made). */
static int load_input(const char *input, const char *tmpdir, char **text, size_t *len,
                      char **image, bool *made, zvm_error_t *err)
{
    struct stat st;
    *image = NULL;
    *made = false;
    if (stat(input, &st) < 0)
        return zvm_error_errno(err, errno, "Cannot parse the input file %s", input);
    if (S_ISDIR(st.st_mode)) {
        char *map = NULL;
        int rc = -1;
        for (int i = 0; i < 2 && rc < 0; i++) {
            free(map);
            if (asprintf(&map, "%s/boot/%s", input, i ? "cluster.map" : "system.map") < 0)
                return zvm_error_set(err, ENOMEM, "out of memory");
            rc = zvm_read_file(map, JOB_MAX, text, len);
        }
        free(map);
        if (rc < 0)
            return zvm_error_set(err, EINVAL, "Cannot parse the input file %s (no boot/system.map)",
                                 input);
        if (asprintf(image, "%s/app.tar", tmpdir) < 0) {
            *image = NULL;
            return zvm_error_set(err, ENOMEM, "out of memory");
        }
        *made = true;
        if (zvm_job_pack_dir(input, *image, err) < 0)
            return zvm_error_prefix(err, "cannot pack the app %s", input);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return zvm_error_set(err, EINVAL, "Cannot parse the input file %s", input);
    /* JSON first: a job file. */
    if (zvm_read_file(input, JOB_MAX, text, len) == 0) {
        json_t *j = json_loadb(*text, *len, 0, NULL);
        if (j) {
            json_decref(j);
            return 0;
        }
        free(*text);
        *text = NULL;
    }
    if (zvm_job_tar_read_map(input, text, len, err) == 0) {
        if (!(*image = realpath(input, NULL)))
            return zvm_error_errno(err, errno, "%s", input);
        return 0;
    }
    return zvm_error_set(err, EINVAL, "Cannot parse the input file %s", input);
}

/* The last 4 KiB of a failed node's stderr (declared by no device). */
static void print_tail(const char *node, const char *path)
{
    char *t = NULL;
    size_t l = 0;
    if (zvm_read_file(path, 64u << 20, &t, &l) == 0 && l) {
        size_t from = l > 4096 ? l - 4096 : 0;
        fprintf(stderr, "zvapp: node %s: stderr%s:\n%s%s", node, from ? " (end)" : "", t + from,
                t[l - 1] == '\n' ? "" : "\n");
    }
    free(t);
}

static void print_text(const char *s)
{
    if (s)
        fputs(s, stdout);
}

int main(int argc, char **argv)
{
    enum { OPT_SYSIMAGES = 256, OPT_SAVE, OPT_ZEROVM };
    static const struct option opts[] = {
        {"storage", required_argument, NULL, 's'},   {"account", required_argument, NULL, 'a'},
        {"sysimages", required_argument, NULL, OPT_SYSIMAGES},
        {"zvm-save-dir", required_argument, NULL, OPT_SAVE},
        {"dry-run", no_argument, NULL, 'n'},         {"jobs", required_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},   {"memory", required_argument, NULL, 'm'},
        {"zerovm", required_argument, NULL, OPT_ZEROVM},
        {"quiet", no_argument, NULL, 'q'},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *storage_dir = getenv("ZVAPP_STORAGE");
    const char *account = "local", *sysimages_file = NULL, *save_dir = NULL, *zerovm_opt = NULL;
    bool dry_run = false, quiet = false;
    zvm_job_options_t jopt = {.cancel = &cancelled};
    int c;
    while ((c = getopt_long(argc, argv, "+s:a:nj:t:m:qh", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 's': storage_dir = optarg; break;
        case 'a': account = optarg; break;
        case OPT_SYSIMAGES: sysimages_file = optarg; break;
        case OPT_SAVE: save_dir = optarg; break;
        case OPT_ZEROVM: zerovm_opt = optarg; break;
        case 'n': dry_run = true; break;
        case 'q': quiet = true; break;
        case 'j':
        case 't':
        case 'm': {
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || !*optarg || *end || v == 0 || (c != 'm' && v > 1000000) ||
                (c == 'm' && (v < (1ull << 20) || v > 4294967296ull))) {
                fprintf(stderr, "zvapp: bad value '%s' for -%c\n", optarg, c);
                return 2;
            }
            if (c == 'j')
                jopt.jobs = (unsigned)v;
            else if (c == 't')
                jopt.timeout = (unsigned)v;
            else
                jopt.memory = v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *input = argv[optind];
    if (!storage_dir || !*storage_dir)
        storage_dir = "storage";
    if (strchr(account, '/') || !*account || strcmp(account, ".") == 0 ||
        strcmp(account, "..") == 0 || strchr(account, ',')) {
        fprintf(stderr, "zvapp: bad account name '%s'\n", account);
        return 2;
    }

    int status = 1;
    zvm_error_t err = {0};
    zvm_sysimages_t images = {0};
    zvm_job_t job = {0};
    zvm_job_nodes_t nodes = {0};
    zvm_job_result_t res = {0};
    zvm_storage_t *st = NULL;
    char *text = NULL, *image = NULL, *zerovm = NULL, *tmpdir = NULL;
    bool made_image = false;
    size_t len = 0;

    const char *tmp = getenv("TMPDIR");
    if (asprintf(&tmpdir, "%s/zvapp-app.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
        !mkdtemp(tmpdir)) {
        perror("zvapp: cannot create a temporary directory");
        free(tmpdir);
        return 1;
    }
    if (load_input(input, tmpdir, &text, &len, &image, &made_image, &err) < 0)
        goto done;
    if (sysimages_file) {
        char *t = NULL;
        size_t l = 0;
        int rc = zvm_read_file(sysimages_file, 1 << 16, &t, &l);
        if (rc < 0) {
            zvm_error_errno(&err, -rc, "cannot read '%s'", sysimages_file);
            goto done;
        }
        rc = zvm_sysimages_parse(&images, t, sysimages_file, &err);
        free(t);
        if (rc < 0)
            goto done;
    } else if (zvm_sysimages_load(&images, &err) < 0) {
        goto done;
    }
    if (zvm_job_parse(&job, text, len, &err) < 0)
        goto done;
    if (!(st = zvm_storage_local_new(storage_dir, &err)))
        goto done;
    zvm_job_context_t ctx = {.account = account, .sysimages = &images, .storage = st};
    if (zvm_job_expand(&job, &ctx, &nodes, &err) < 0)
        goto done;
    if (dry_run) {
        char *j = zvm_job_nodes_json(&nodes);
        if (!j) {
            zvm_error_set(&err, ENOMEM, "out of memory");
            goto done;
        }
        puts(j);
        free(j);
        status = 0;
        goto done;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    zerovm = zerovm_opt ? strdup(zerovm_opt) : zvm_locate_zerovm();
    /* No zerovm found: still "zerovm", so the failure names what is missing. */
    jopt.zerovm = zerovm ? zerovm : "zerovm";
    jopt.work_dir = save_dir;
    jopt.image_tar = image;
    int rc = zvm_job_run(&nodes, st, &images, &jopt, &res, &err);
    bool any_ran = false;
    for (size_t i = 0; i < res.count; i++)
        any_ran |= res.nodes[i].ran;
    if (!any_ran)
        goto done; /* the job could not be set up: the message says why */
    if (!quiet) {
        char *reports = zvm_job_format_reports(&res);
        char *summary = zvm_job_format_summary(&res);
        print_text(reports);
        print_text(summary);
        free(reports);
        free(summary);
    }
    fflush(stdout);
    zvm_error_t werr = {0};
    if (zvm_job_write_immediate(&res, STDOUT_FILENO, &werr) < 0)
        fprintf(stderr, "zvapp: %s\n", werr.msg);
    for (size_t i = 0; i < res.count; i++) {
        const zvm_job_node_result_t *nr = &res.nodes[i];
        const char *name = nodes.nodes[i].name;
        if (nr->stderr_path) {
            char *t = NULL;
            size_t l = 0;
            if (zvm_read_file(nr->stderr_path, 1 << 20, &t, &l) == 0 && l)
                fprintf(stderr, "%s", t);
            free(t);
        }
        /* zerovm's own messages (its warnings too) for a failed node only;
         * --zvm-save-dir keeps them all (zerovm-stderr.N). */
        bool failed = strcmp(nr->exit_state, "ok") != 0 || (nr->ran && nr->user_rc != 0);
        if (failed && nr->zerovm_errors)
            fprintf(stderr, "zvapp: node %s: %s", name, nr->zerovm_errors);
        if (failed && nr->log_path)
            print_tail(name, nr->log_path);
        if (failed)
            fprintf(stderr, "zvapp: node %s: %s, return code %" PRIu32 "\n", name, nr->exit_state,
                    nr->user_rc);
    }
    if (rc == 0 && res.ok)
        status = 0;
    else if (rc == 0)
        fprintf(stderr, "zvapp: the job failed: no output was stored\n");
done:
    if (err.msg[0])
        fprintf(stderr, "zvapp: %s\n", err.msg);
    zvm_job_result_release(&res);
    zvm_job_nodes_release(&nodes);
    zvm_job_release(&job);
    if (st)
        st->destroy(st);
    zvm_sysimages_release(&images);
    if (made_image && image)
        unlink(image);
    rmdir(tmpdir);
    free(tmpdir);
    free(image);
    free(text);
    free(zerovm);
    return status;
}
