/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's budget of kernel buffers.  Bytes queued in socketpairs and
 * pipes are host memory that neither RLIMIT_AS nor the tree's Pss sees, and
 * rlimits alone bound them only per process (64 processes x 1024
 * descriptors x 240 KiB held 14 GiB).  So the supervisor admits every
 * socketpair(), pipe() and pipe2() (seccomp notifications) against a count
 * for the whole sandbox and refuses one past the budget with ENFILE (the
 * sandbox's "system-wide" limit on open files):
 *
 *   unix sockets   the jail's network namespace counts every unix socket
 *                  that still exists, one whose descriptors are closed but
 *                  whose bytes wait in a peer's queue included
 *                  (/proc/<pid>/net/protocols, UNIX and UNIX-STREAM).  A
 *                  socket holds less than 2 x its send buffer (a send is
 *                  admitted while less than the buffer is queued, one skb
 *                  is at most the buffer); SO_SNDBUF is refused, so that is
 *                  2 x net.core.wmem_default, plus its objects.
 *   pipes          the distinct pipe inodes in the tree's descriptor tables
 *                  (memwatch.c).  A pipe holds at most 64 KiB (F_SETPIPE_SZ
 *                  cannot grow it), plus its objects.  Pipes are also a
 *                  per-user budget (fs.pipe-user-pages-soft charges 16
 *                  pages a pipe to the outside uid): a sandbox takes at most
 *                  a quarter of it.
 *
 * Each kind may hold at most Memory / 2, so kernel buffers stay within
 * Memory (with a floor of ZVM_KBUF_MIN_SOCKETS and ZVM_KBUF_MIN_PIPES for
 * tiny Memory values).  What the count cannot see: a pipe whose only
 * descriptors are in flight in a unix socket (SCM_RIGHTS; the kernel
 * bounds files in flight by RLIMIT_NOFILE per user).
 *
 * Counting costs a walk of /proc, so the supervisor keeps an upper bound
 * instead (the last count plus every admission since) and counts again
 * only when the bound would pass the budget.  An admitted call completes
 * after we answer, so a call admitted a moment ago may not be in a count
 * yet: it stays reserved until its thread is seen out of that system call
 * (/proc/<tid>/syscall) or makes its next notified call.  Reservations only
 * ever count twice, never not at all.
 */
#include "engine/native/native.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/util.h"

#define OBJECT_BYTES 4096u /* sock or pipe_inode_info, inode, files, dentry */

void zvm__kbuf_init(zvm_kbuf_t *kb, pid_t root, uint64_t memory)
{
    memset(kb, 0, sizeof *kb);
    kb->root = root;
    kb->memory = memory;
}

static uint64_t read_number(const char *path, uint64_t fallback)
{
    cleanup_free char *text = NULL;
    if (zvm_read_file(path, 64, &text, NULL) < 0)
        return fallback;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    return end == text ? fallback : (uint64_t)v;
}

static uint64_t at_least(uint64_t v, uint64_t floor)
{
    return v < floor ? floor : v;
}

void zvm__kbuf_budgets(uint64_t memory, uint64_t wmem_default, uint64_t pipe_soft_pages,
                       zvm_kbuf_budget_t *b)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t pipe_pages = ZVM_PIPE_MAX_BYTES / (uint64_t)(page > 0 ? page : 4096);
    b->socket_bytes = 2 * wmem_default + OBJECT_BYTES;
    b->pipe_bytes = ZVM_PIPE_MAX_BYTES + OBJECT_BYTES;
    b->sockets = at_least(memory / 2 / b->socket_bytes, ZVM_KBUF_MIN_SOCKETS);
    b->pipes = memory / 2 / b->pipe_bytes;
    if (pipe_soft_pages && b->pipes > pipe_soft_pages / pipe_pages / 4)
        b->pipes = pipe_soft_pages / pipe_pages / 4;
    b->pipes = at_least(b->pipes, ZVM_KBUF_MIN_PIPES);
}

/* Read on first use: most programs never make a pipe or a socketpair. */
static void load_budgets(zvm_kbuf_t *kb)
{
    if (kb->loaded)
        return;
    kb->loaded = true;
    zvm__kbuf_budgets(kb->memory, read_number("/proc/sys/net/core/wmem_default", 212992),
                      read_number("/proc/sys/fs/pipe-user-pages-soft", 16384), &kb->budget);
}

/* The unix sockets of the jail's network namespace, or -errno. */
static long unix_sockets(const zvm_kbuf_t *kb)
{
    char path[64];
    cleanup_free char *text = NULL;
    snprintf(path, sizeof path, "/proc/%d/net/protocols", (int)kb->root);
    int rc = zvm_read_file(path, 1 << 16, &text, NULL);
    if (rc < 0)
        return rc;
    long total = 0;
    bool seen = false;
    /* "UNIX  1152  2  -1 ..." and "UNIX-STREAM ...": name, size, sockets. */
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char name[32];
        long size, sockets;
        if (sscanf(line, "%31s %ld %ld", name, &size, &sockets) == 3 &&
            (strcmp(name, "UNIX") == 0 || strncmp(name, "UNIX-", 5) == 0)) {
            total += sockets;
            seen = true;
        }
    }
    return seen ? total : -ENOENT;
}

/* Is tid (maybe) still inside system call nr?  Unknown counts as yes. */
static bool still_in(pid_t tid, int nr)
{
    char path[64];
    cleanup_free char *text = NULL;
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)tid);
    int rc = zvm_read_file(path, 256, &text, NULL);
    if (rc == -ENOENT || rc == -ESRCH)
        return false; /* gone */
    if (rc < 0 || strncmp(text, "running", 7) == 0)
        return true;
    return strtol(text, NULL, 10) == nr;
}

static bool is_socket_call(int nr)
{
    return nr == SYS_socketpair;
}

/* The exact count of one kind, plus what admitted calls still make;
 * forgets the calls that are over. */
static long recount(zvm_kbuf_t *kb, bool socket)
{
    uint64_t reserved = 0;
    size_t keep = 0;
    for (size_t i = 0; i < kb->npending; i++) {
        const zvm_kbuf_pending_t *p = &kb->pending[i];
        if (!still_in(p->tid, p->nr))
            continue; /* that call is over: its objects are in the count */
        if (is_socket_call(p->nr) == socket)
            reserved += p->objects;
        kb->pending[keep++] = *p;
    }
    kb->npending = keep;
    long count = socket ? unix_sockets(kb) : zvm__tree_pipes(kb->root);
    return count < 0 ? count : count + (long)reserved;
}

long zvm__kbuf_admit(zvm_kbuf_t *kb, pid_t tid, int nr)
{
    load_budgets(kb);
    bool socket = is_socket_call(nr);
    uint64_t *bound = &kb->bound[socket ? 0 : 1];
    uint64_t most = socket ? kb->budget.sockets : kb->budget.pipes;
    unsigned need = socket ? 2 : 1;
    /* The caller is in a new call: its previous one is over. */
    size_t i = 0;
    while (i < kb->npending && kb->pending[i].tid != tid)
        i++;
    if (i < kb->npending)
        kb->pending[i] = kb->pending[--kb->npending];
    /* Nothing is closed behind our back that we count up: the bound only
     * grows between exact counts, which are taken when it would pass the
     * budget (a /proc walk costs 0.1-0.2 ms; most programs never need
     * one). */
    if (*bound + need > most || kb->npending == sizeof kb->pending / sizeof kb->pending[0]) {
        long count = recount(kb, socket);
        if (count < 0)
            return -ENFILE; /* no count, no admission: the budget is a guarantee */
        *bound = (uint64_t)count;
        if (*bound + need > most)
            return -ENFILE;
    }
    *bound += need;
    kb->pending[kb->npending++] = (zvm_kbuf_pending_t){.tid = tid, .nr = nr, .objects = need};
    return 0;
}
