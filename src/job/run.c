/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running the nodes: one `zerovm --report=json MANIFEST` process per node,
 * its stdout (the report) and stderr in files of the work directory.
 *
 * Parallelism.  Nodes joined by streams (connect) form a component, and a
 * component is always started whole: a stream needs both of its ends
 * alive, so a reader waiting for a writer that has not been started would
 * never finish.  Components start in node order while the running nodes
 * plus the next component fit in `jobs`; a component larger than `jobs`
 * starts when nothing else runs (it then runs alone, all at once).
 *
 * Streams never block a peer for good.  zerovm opens a FIFO channel on the
 * program's first use, and that open waits for the other end.  When a node
 * ends (whatever the reason), each of its streams is released:
 *   1. the FIFO's name is atomically swapped (renameat2 RENAME_EXCHANGE)
 *      with a symbolic link to /dev/null, so a peer that opens it later
 *      reads end of data, or writes into nothing;
 *   2. the FIFO (now under the spare name) is opened from our side with
 *      O_NONBLOCK, as the end that just went away, and closed again: a peer
 *      blocked in open() is released (Linux counts opens, so the wake-up is
 *      not lost) and then sees end of data (reader) or EPIPE (writer).
 * A writer that ended normally had its reader attached (its own open waited
 * for it), so no data is lost: the reader drains the pipe, then reads EOF.
 *
 * Outputs are committed only when every node ended "ok" with return code 0;
 * otherwise they are dropped (plan.c, storage.c).
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "job/internal.h"
#include "lib/util.h"

extern char **environ;

#define OOM(err) zvm_error_set(err, ENOMEM, "out of memory")
#define NOT_RUN "ZeroVM did not run"

typedef struct runner {
    const zvm_job_nodes_t *nodes;
    zvm__plan_t *plan;
    zvm_job_result_t *res;
    const zvm_job_options_t *opt;
    pid_t *pid;                 /* per node; 0 not started, -1 finished */
    int *pidfd;
    size_t *comp;               /* component id per node */
    size_t running;
} runner_t;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t find(size_t *parent, size_t x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* Component of each node: the smallest node index in it. */
static int components(runner_t *r)
{
    size_t n = r->nodes->count;
    for (size_t i = 0; i < n; i++)
        r->comp[i] = i;
    for (size_t s = 0; s < r->plan->nstreams; s++) {
        size_t a = find(r->comp, r->plan->streams[s].writer);
        size_t b = find(r->comp, r->plan->streams[s].reader);
        if (a < b)
            r->comp[b] = a;
        else
            r->comp[a] = b;
    }
    for (size_t i = 0; i < n; i++)
        r->comp[i] = find(r->comp, i);
    return 0;
}

static void release_streams(runner_t *r, size_t node)
{
    for (size_t i = 0; i < r->plan->nstreams; i++) {
        zvm__stream_t *s = &r->plan->streams[i];
        if (s->writer != node && s->reader != node)
            continue;
        if (!s->swapped) {
            if (renameat2(AT_FDCWD, s->spare, AT_FDCWD, s->path, RENAME_EXCHANGE) == 0)
                s->swapped = true;
        }
        const char *fifo = s->swapped ? s->spare : s->path;
        int mode = s->writer == node ? O_WRONLY : O_RDONLY;
        int fd = open(fifo, mode | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0)
            close(fd);
    }
}

static char *read_small(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (zvm_read_file(path, 1 << 20, &text, &len) < 0)
        return NULL;
    return text;
}

/* Fill a node's result from its report file. */
static void collect(runner_t *r, size_t i, int status)
{
    zvm_job_node_result_t *nr = &r->res->nodes[i];
    zvm__plan_node_t *pn = &r->plan->nodes[i];
    nr->zerovm_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    char *errs = read_small(pn->zerovm_err);
    if (errs && *errs)
        nr->zerovm_errors = errs;
    else
        free(errs);
    cleanup_free char *text = read_small(pn->report);
    if (!text)
        return;
    /* The report is the last line that starts with '{'. */
    char *line = NULL;
    for (char *p = text; p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (*p == '{')
            line = p;
    }
    if (!line)
        return;
    json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    static const char *const names[8] = {"reads",     "read_bytes",     "writes",     "write_bytes",
                                         "net_reads", "net_read_bytes", "net_writes", "net_write_bytes"};
    json_t *acct = json_object_get(o, "accounting");
    nr->validator = (int)json_integer_value(json_object_get(o, "validator"));
    nr->daemon = (int)json_integer_value(json_object_get(o, "daemon"));
    json_int_t rc = json_integer_value(json_object_get(o, "user_rc"));
    nr->user_rc = rc >= 0 && rc <= UINT32_MAX ? (uint32_t)rc : UINT32_MAX;
    nr->sys_time = json_number_value(json_object_get(acct, "sys_time"));
    nr->user_time = json_number_value(json_object_get(acct, "user_time"));
    nr->wall_time = json_number_value(json_object_get(o, "wall_time"));
    for (int k = 0; k < 8; k++)
        nr->acct[k] = (uint64_t)json_integer_value(json_object_get(acct, names[k]));
    const char *state = json_string_value(json_object_get(o, "exit_state"));
    zvm__sb_t et = {0};
    json_t *etags = json_object_get(o, "etags");
    const char *k;
    json_t *v;
    json_object_foreach(etags, k, v) {
        zvm__sb_addf(&et, "%s%s %s", et.len ? " " : "", k, json_string_value(v) ? json_string_value(v) : "");
    }
    if (!et.len)
        zvm__sb_add(&et, "disabled");
    char *e = zvm__sb_finish(&et);
    char *s = strdup(state ? state : "unknown");
    if (e && s) {
        free(nr->exit_state);
        free(nr->etags);
        nr->exit_state = s;
        nr->etags = e;
        nr->ran = true;
    } else {
        free(e);
        free(s);
    }
    json_decref(o);
}

static int spawn_node(runner_t *r, size_t i, zvm_error_t *err)
{
    zvm__plan_node_t *pn = &r->plan->nodes[i];
    int out = zvm_open_retry(pn->report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int errfd = zvm_open_retry(pn->zerovm_err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* zerovm starts with no blocked and no ignored signal, whatever the
     * caller's threads do (a server blocks SIGTERM, ignores SIGPIPE). */
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (out < 0 || errfd < 0) {
        zvm_error_errno(err, errno, "node %s: cannot create its report file",
                        r->nodes->nodes[i].name);
        goto out;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    char *argv[] = {(char *)"zerovm", (char *)"--report=json", pn->manifest, NULL};
    const char *zerovm = r->opt->zerovm ? r->opt->zerovm : "zerovm";
    pid_t pid;
    int e = strchr(zerovm, '/') ? posix_spawn(&pid, zerovm, &fa, &attr, argv, environ)
                                : posix_spawnp(&pid, zerovm, &fa, &attr, argv, environ);
    if (e != 0) {
        zvm_error_errno(err, e, "node %s: cannot run '%s'", r->nodes->nodes[i].name, zerovm);
        goto out;
    }
    r->pid[i] = pid;
    r->pidfd[i] = (int)syscall(SYS_pidfd_open, pid, 0);
    r->running++;
    rc = 0;
out:
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (out >= 0)
        close(out);
    if (errfd >= 0)
        close(errfd);
    return rc;
}

/* A node is over: reap it, read its report, release its streams. */
static void finish_node(runner_t *r, size_t i, int status)
{
    if (r->pidfd[i] >= 0)
        close(r->pidfd[i]);
    r->pidfd[i] = -1;
    r->pid[i] = -1;
    r->running--;
    collect(r, i, status);
    release_streams(r, i);
}

static void kill_all(runner_t *r)
{
    for (size_t i = 0; i < r->nodes->count; i++)
        if (r->pid[i] > 0)
            kill(r->pid[i], SIGKILL);
}

static int run_all(runner_t *r, zvm_error_t *err)
{
    size_t n = r->nodes->count;
    unsigned jobs = r->opt->jobs;
    if (jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cpus > 0 ? (unsigned)cpus : 1;
    }
    size_t next = 0; /* first node not started */
    int rc = 0;
    bool stopping = false;
    struct pollfd *fds = calloc(n + 1, sizeof *fds);
    size_t *who = calloc(n + 1, sizeof *who);
    size_t *size = calloc(n + 1, sizeof *size);
    if (!fds || !who || !size) {
        free(fds);
        free(who);
        free(size);
        return OOM(err);
    }
    for (size_t i = 0; i < n; i++)
        size[r->comp[i]]++;
    for (;;) {
        if (r->opt->cancel && *r->opt->cancel && !stopping) {
            stopping = true;
            rc = zvm_error_set(err, ECANCELED, "job cancelled");
            kill_all(r);
        }
        if (r->opt->deadline > 0 && !stopping && now() >= r->opt->deadline) {
            stopping = true;
            rc = zvm_error_set(err, ETIMEDOUT, "job timed out");
            kill_all(r);
        }
        /* Start whole components while they fit. */
        while (!stopping && next < n) {
            size_t c = r->comp[next];
            if (c != next || r->pid[next] != 0) { /* not a component's first node, or started */
                next++;
                continue;
            }
            if (r->running > 0 && r->running + size[c] > jobs)
                break;
            for (size_t i = next; i < n; i++) {
                if (r->comp[i] != c)
                    continue;
                zvm_error_t serr = {0};
                if (spawn_node(r, i, &serr) < 0) {
                    if (rc == 0)
                        *err = serr; /* the first failure is the one to report */
                    /* Could not start: treat as ended at once, so peers are released. */
                    r->pid[i] = -1;
                    release_streams(r, i);
                    rc = -1;
                }
            }
            next++;
            if (rc < 0) {
                stopping = true;
                kill_all(r);
                break;
            }
        }
        if (r->running == 0)
            break;
        size_t nf = 0;
        bool need_scan = false;
        for (size_t i = 0; i < n; i++) {
            if (r->pid[i] <= 0)
                continue;
            if (r->pidfd[i] < 0) {
                need_scan = true;
                continue;
            }
            fds[nf] = (struct pollfd){.fd = r->pidfd[i], .events = POLLIN};
            who[nf++] = i;
        }
        /* Wake up to notice a cancellation or the deadline. */
        int wait_ms = need_scan ? 20 : -1;
        if (r->opt->cancel && (wait_ms < 0 || wait_ms > 100))
            wait_ms = 100;
        if (r->opt->deadline > 0 && !stopping) {
            double left = r->opt->deadline - now();
            int ms = left <= 0 ? 0 : left > 3600 ? 3600000 : (int)(left * 1000) + 1;
            if (wait_ms < 0 || ms < wait_ms)
                wait_ms = ms;
        }
        int pr = poll(fds, nf, wait_ms);
        if (pr < 0 && errno != EINTR) {
            rc = zvm_error_errno(err, errno, "poll");
            kill_all(r);
            stopping = true;
        }
        for (size_t i = 0; i < n; i++) {
            if (r->pid[i] <= 0)
                continue;
            int status = 0;
            pid_t w = waitpid(r->pid[i], &status, WNOHANG);
            if (w == r->pid[i] || (w < 0 && errno == ECHILD))
                finish_node(r, i, w < 0 ? 0 : status);
        }
    }
    free(fds);
    free(who);
    free(size);
    return rc;
}

static int make_work_dir(const zvm_job_options_t *opt, zvm_job_result_t *res, zvm_error_t *err)
{
    if (opt->work_dir) {
        if (mkdir(opt->work_dir, 0700) < 0 && errno != EEXIST)
            return zvm_error_errno(err, errno, "cannot create '%s'", opt->work_dir);
        res->work_dir = realpath(opt->work_dir, NULL);
        if (!res->work_dir)
            return zvm_error_errno(err, errno, "work directory '%s'", opt->work_dir);
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    if (asprintf(&res->work_dir, "%s/zvapp.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) {
        res->work_dir = NULL;
        return OOM(err);
    }
    if (!mkdtemp(res->work_dir)) {
        int e = errno;
        free(res->work_dir);
        res->work_dir = NULL;
        return zvm_error_errno(err, e, "cannot create a work directory");
    }
    res->remove_work_dir = true;
    return 0;
}

int zvm_job_run(const zvm_job_nodes_t *nodes, zvm_storage_t *st, const zvm_sysimages_t *sysimages,
                const zvm_job_options_t *opt, zvm_job_result_t *res, zvm_error_t *err)
{
    memset(res, 0, sizeof *res);
    double t0 = now();
    res->job_nodes = nodes;
    res->nodes = calloc(nodes->count + 1, sizeof *res->nodes);
    if (!res->nodes)
        return OOM(err);
    res->count = nodes->count;
    for (size_t i = 0; i < nodes->count; i++) {
        res->nodes[i].zerovm_status = -1;
        if (!(res->nodes[i].exit_state = strdup(NOT_RUN)))
            return OOM(err);
    }
    if (make_work_dir(opt, res, err) < 0)
        return -1;

    zvm__plan_t plan;
    runner_t r = {.nodes = nodes, .plan = &plan, .res = res, .opt = opt};
    int rc = zvm__plan_build(&plan, nodes, st, sysimages, opt, res->work_dir, err);
    r.pid = calloc(nodes->count + 1, sizeof *r.pid);
    r.pidfd = calloc(nodes->count + 1, sizeof *r.pidfd);
    r.comp = calloc(nodes->count + 1, sizeof *r.comp);
    if (rc == 0 && (!r.pid || !r.pidfd || !r.comp))
        rc = OOM(err);
    if (rc == 0) {
        for (size_t i = 0; i < nodes->count; i++)
            r.pidfd[i] = -1;
        components(&r);
        rc = run_all(&r, err);
    }
    bool ok = rc == 0;
    for (size_t i = 0; i < res->count; i++) {
        const zvm_job_node_result_t *nr = &res->nodes[i];
        if (!nr->ran || nr->zerovm_status != 0 || strcmp(nr->exit_state, "ok") != 0 ||
            nr->user_rc != 0)
            ok = false;
    }
    zvm_error_t cerr = {0};
    if (zvm__plan_finish_outputs(&plan, st, ok, &cerr) < 0) {
        ok = false;
        if (rc == 0) {
            *err = cerr;
            rc = -1;
        }
    }
    res->ok = ok;
    for (size_t i = 0; i < plan.count; i++) {
        res->nodes[i].stdout_path = steal_pointer(&plan.nodes[i].stdout_path);
        res->nodes[i].stderr_path = steal_pointer(&plan.nodes[i].stderr_path);
        res->nodes[i].log_path = steal_pointer(&plan.nodes[i].log_path);
    }
    zvm__plan_release(&plan);
    free(r.pid);
    free(r.pidfd);
    free(r.comp);
    res->total_time = now() - t0;
    return rc;
}

static void remove_flat_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(path);
}

void zvm_job_result_release(zvm_job_result_t *res)
{
    for (size_t i = 0; i < res->count; i++) {
        zvm_job_node_result_t *nr = &res->nodes[i];
        free(nr->exit_state);
        free(nr->etags);
        free(nr->stdout_path);
        free(nr->stderr_path);
        free(nr->log_path);
        free(nr->zerovm_errors);
    }
    free(res->nodes);
    if (res->work_dir && res->remove_work_dir)
        remove_flat_dir(res->work_dir);
    free(res->work_dir);
    memset(res, 0, sizeof *res);
}
