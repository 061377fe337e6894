/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal helpers shared by libzvm, the engines and the tools: ownership
 * attributes for locals, EINTR-safe I/O, whole-file reads.  Not part of the
 * public API (include/zvm).
 */
#ifndef ZVM_LIB_UTIL_H
#define ZVM_LIB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

/* Owned locals: released when they leave scope. */
void zvm__freep(void *p);
void zvm__closep(int *fd);
#define cleanup_free __attribute__((cleanup(zvm__freep)))
#define cleanup_close __attribute__((cleanup(zvm__closep)))

/* Hand an owned value on: returns it and clears the variable. */
static inline void *zvm__steal_pointer(void *pp)
{
    void **p = (void **)pp;
    void *v = *p;
    *p = NULL;
    return v;
}
#define steal_pointer(pp) zvm__steal_pointer(pp)

static inline int zvm__steal_fd(int *fd)
{
    int v = *fd;
    *fd = -1;
    return v;
}
#define steal_fd(fdp) zvm__steal_fd(fdp)

/* open(2) retrying EINTR; always pass O_CLOEXEC in flags. */
int zvm_open_retry(const char *path, int flags, mode_t mode);

/* Write all of buf, retrying EINTR and short writes; 0 or -errno. */
int zvm_write_all(int fd, const void *buf, size_t n);

/* Read a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer.  Returns 0, or -errno (-EFBIG when larger than max). */
int zvm_read_file(const char *path, size_t max, char **out, size_t *len);

/* Copy everything readable from `in` to `out` (to end of file); 0 or
 * -errno. */
int zvm_copy_fd(int in, int out);

/* openat2(2) retrying EINTR (O_CLOEXEC is added): an fd, or -1 with errno
 * (ENOSYS before Linux 5.6).  `resolve` is RESOLVE_* of <linux/openat2.h>. */
int zvm_openat2(int dir, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Remove dir/name and everything below it, never following a symbolic link
 * (one fd per level).  0, or -1 with errno (ENOENT is success). */
int zvm_remove_tree_at(int dir, const char *name);

/* Write a whole string to a path (e.g. /proc/PID/uid_map); 0 or -errno. */
int zvm_write_file(const char *path, const char *text);

/* Blanks of the text formats (manifest, nvram): space, tab, CR, VT, FF. */
static inline bool zvm_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A name as the tools take one (node, system image): non-empty, only
 * letters, digits, '.', '_' and '-'. */
static inline bool zvm_is_simple_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!(*s == '.' || *s == '_' || *s == '-' || (*s >= '0' && *s <= '9') ||
              (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

/* Strip blanks at both ends of s, in place; returns the new start. */
char *zvm_trim(char *s);

/* How a path inside the sandbox is written.  Aliases and mountpoints must
 * be ZVM_PATH_CLEAN: absolute, no "." or ".." part, no empty part ("//" or
 * a trailing "/"); "/" alone is clean. */
typedef enum zvm_path_form {
    ZVM_PATH_CLEAN = 0,
    ZVM_PATH_RELATIVE,
    ZVM_PATH_DOT_PART,
    ZVM_PATH_EMPTY_PART,
} zvm_path_form_t;

zvm_path_form_t zvm_path_form(const char *path);

/* Monotonic time in nanoseconds. */
uint64_t zvm_now_ns(void);

#endif
