/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory of the whole sandbox without a cgroup.  RLIMIT_AS bounds each
 * process, not their sum: a program that forks could hold its Memory many
 * times over.  Without a delegated cgroup the supervisor therefore measures
 * the tree a few times a second: the proportional set size (Pss, so pages
 * shared after fork count once) of every process below the jail's pid 1,
 * walked through /proc/<pid>/task/<tid>/children.  A lone process is left
 * to RLIMIT_AS (the program alone under the jail's init) and costs two
 * small reads.
 *
 * The same walk counts the processes (sysinfo's answer) and the pipes the tree holds (kbuf.c's budget): the
 * distinct pipe inodes in the descriptor tables of all its tasks.
 */
#include "engine/native/native.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

#define MAX_DEPTH 64

/* Pss of one process in bytes (0 when it is gone). */
static uint64_t pss_of(pid_t pid)
{
    char path[64];
    cleanup_free char *text = NULL;
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    if (zvm_read_file(path, 1 << 16, &text, NULL) < 0)
        return 0;
    const char *p = strstr(text, "\nPss:");
    return p ? strtoull(p + 5, NULL, 10) * 1024u : 0;
}

/* Call fn for each child of every thread of pid; returns how many. */
static unsigned each_child(pid_t pid, void (*fn)(pid_t, void *), void *arg)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char file[320];
        cleanup_free char *text = NULL;
        snprintf(file, sizeof file, "/proc/%d/task/%s/children", (int)pid, e->d_name);
        if (zvm_read_file(file, 1 << 20, &text, NULL) < 0)
            continue;
        for (char *s = text, *end; *s; s = end) {
            long child = strtol(s, &end, 10);
            if (end == s)
                break;
            n++;
            if (fn)
                fn((pid_t)child, arg);
        }
    }
    closedir(d);
    return n;
}

struct walk {
    uint64_t total;
    int depth;
};

static void add_tree(pid_t pid, void *arg)
{
    struct walk *w = arg;
    w->total += pss_of(pid);
    if (w->depth < MAX_DEPTH) {
        w->depth++;
        each_child(pid, add_tree, w);
        w->depth--;
    }
}

static void remember(pid_t pid, void *arg)
{
    *(pid_t *)arg = pid;
}

uint64_t zvm__tree_memory(pid_t root)
{
    /* A lone process (or the jail's init and the program alone):
     * RLIMIT_AS holds it. */
    pid_t only = 0;
    unsigned n = each_child(root, remember, &only);
    if (n == 0 || (n == 1 && only > 0 && each_child(only, NULL, NULL) == 0))
        return 0;
    struct walk w = {0, 0};
    add_tree(root, &w);
    return w.total;
}

struct count {
    unsigned long n;
    int depth;
};

static void count_tree(pid_t pid, void *arg)
{
    struct count *c = arg;
    c->n++;
    if (c->depth < MAX_DEPTH) {
        c->depth++;
        each_child(pid, count_tree, c);
        c->depth--;
    }
}

unsigned long zvm__tree_processes(pid_t root)
{
    struct count c = {0, 0};
    count_tree(root, &c);
    return c.n;
}

/* ---- pipes held by the tree ------------------------------------------- */

struct pipes {
    uint64_t *ino;
    size_t n, cap;
    bool failed;
    int depth;
};

static void add_pipe(struct pipes *p, uint64_t ino)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        uint64_t *grown = realloc(p->ino, cap * sizeof *grown);
        if (!grown) {
            p->failed = true;
            return;
        }
        p->ino = grown;
        p->cap = cap;
    }
    p->ino[p->n++] = ino;
}

/* Every task's descriptor table: a thread made without CLONE_FILES has
 * one of its own. */
static void pipes_of(pid_t pid, struct pipes *p)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (!tasks)
        return;
    struct dirent *t;
    while ((t = readdir(tasks))) {
        if (t->d_name[0] == '.')
            continue;
        char dir[320];
        snprintf(dir, sizeof dir, "/proc/%d/task/%s/fd", (int)pid, t->d_name);
        DIR *fds = opendir(dir);
        if (!fds)
            continue;
        struct dirent *f;
        while ((f = readdir(fds))) {
            char link[64];
            ssize_t n = readlinkat(dirfd(fds), f->d_name, link, sizeof link - 1);
            unsigned long long ino;
            if (n <= 0)
                continue;
            link[n] = '\0';
            if (sscanf(link, "pipe:[%llu]", &ino) == 1)
                add_pipe(p, ino);
        }
        closedir(fds);
    }
    closedir(tasks);
}

static void pipes_tree(pid_t pid, void *arg)
{
    struct pipes *p = arg;
    pipes_of(pid, p);
    if (p->depth < MAX_DEPTH) {
        p->depth++;
        each_child(pid, pipes_tree, p);
        p->depth--;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

long zvm__tree_pipes(pid_t root)
{
    struct pipes p = {0};
    pipes_tree(root, &p);
    if (p.failed) {
        free(p.ino);
        return -ENOMEM;
    }
    qsort(p.ino, p.n, sizeof *p.ino, cmp_u64);
    long distinct = 0;
    for (size_t i = 0; i < p.n; i++)
        distinct += i == 0 || p.ino[i] != p.ino[i - 1];
    free(p.ino);
    return distinct;
}
