/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail's root file system, built by the child inside its new user and
 * mount namespaces and then pivoted into:
 *
 *   /            tmpfs (size = Memory, noexec: a file the program drops
 *                there cannot run), or an overlay of the images mounted
 *                at "/" with a tmpfs upper layer (writes vanish at exit)
 *   /dev         null, zero, urandom, random (bind mounts of the host's),
 *                fd -> /proc/self/fd, self (the program, read-only: its
 *                /proc/self/exe must not lead to a writable host file), and
 *                a placeholder per channel alias
 *   /proc        a new proc for the new pid namespace (none for a program
 *                that needs none: a wasm module cannot use it)
 *   /tmp         tmpfs (noexec) when the root itself is read-only
 *   <images>     read-only bind mounts (rw: an overlay, writes vanish)
 *   /usr, ...    the host's /usr read-only, for a dynamic program that no
 *                image provides the ELF interpreter for
 *
 * What /proc/self/mountinfo shows names no path of the caller's: each
 * image (and the program's directory, of which only the program is bound
 * at /dev/self) is the lower layer of a read-only overlay, named there as
 * /proc/self/fd/N, so a mount's root is "/" (or the program's base name)
 * instead of a directory of the caller or of the image cache.  The
 * program's overlay is made and the program looked up in it while the
 * child still has the caller's file access; only where overlayfs cannot
 * stack on the file system is the file or the image bound as it is,
 * showing its path (see docs/security.md).  The host /usr, its ld.so.cache and device nodes are
 * shown as the host paths they are.
 *
 * Sources are captured with open_tree() before anything is mounted, so no
 * later mount can shadow or redirect them; everything created inside the
 * new root is created relative to directory descriptors without following
 * symbolic links, so a link inside an image cannot point a mount or a
 * placeholder at the host.
 */
#include "engine/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/util.h"

static const char *const host_devices[ZVM_HOST_DEVICES] = {"null", "zero", "urandom", "random"};
static const char *const host_top_links[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

/* A detached copy of a host tree, read-only; with the mounts below it
 * when it is bound whole (an overlay layer never shows them). */
static int capture_tree(const char *path, bool file, bool recursive, zvm_error_t *err)
{
    int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot capture '%s'", path);
    /* Device nodes are only usable without nodev; they are the host's
     * null, zero and random devices and nothing else. */
    struct mount_attr attr = {
        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | (file ? 0 : MOUNT_ATTR_NODEV),
    };
    if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) {
        int e = errno;
        close(fd);
        return zvm_error_errno(err, e, "cannot make '%s' read-only", path);
    }
    return fd;
}

/* Walk `path` (absolute, no "." or "..") below dirfd, creating missing
 * directories and refusing symbolic links.  Returns a directory fd for the
 * parent of the last component (which is left in *last), or for the full
 * path when last is NULL. */
static int walk_create(int dirfd, const char *path, const char **last, zvm_error_t *err)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf)
        return zvm_error_set(err, ENAMETOOLONG, "path '%s' is too long", path);
    strcpy(buf, path);
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return zvm_error_errno(err, errno, "dup");
    char *save = NULL;
    char *comp = strtok_r(buf, "/", &save);
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
            close(fd);
            return zvm_error_set(err, EINVAL, "path '%s' has a '.' or '..' part", path);
        }
        if (!next && last) {
            *last = path + (comp - buf);
            return fd;
        }
        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            close(fd);
            return zvm_error_errno(err, e, "cannot create directory '%s' for '%s'", comp, path);
        }
        int sub = openat(fd, comp, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_PATH);
        int e = errno;
        close(fd);
        if (sub < 0)
            return zvm_error_errno(err, e, "cannot enter '%s' for '%s'", comp, path);
        fd = sub;
        comp = next;
    }
    if (last)
        *last = ".";
    return fd;
}

static int attach(int tree_fd, int dirfd, const char *name, zvm_error_t *err, const char *what)
{
    if (move_mount(tree_fd, "", dirfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return zvm_error_errno(err, errno, "cannot mount %s", what);
    return 0;
}

static char *fd_path(int fd, char *buf, size_t size)
{
    snprintf(buf, size, "/proc/self/fd/%d", fd);
    return buf;
}

/* Overlay with a tmpfs upper layer on top of `lowerdirs` at dir fd `at`. */
static int mount_overlay(int at, const char *lowerdirs, int n, zvm_error_t *err)
{
    char upper[64], work[64], target[64], opts[PATH_MAX * 2];
    snprintf(upper, sizeof upper, ZVM_ATTACH_DIR "/.upper%d", n);
    snprintf(work, sizeof work, ZVM_ATTACH_DIR "/.work%d", n);
    if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0)
        return zvm_error_errno(err, errno, "cannot create overlay directories");
    int len = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s,userxattr",
                       lowerdirs, upper, work);
    if (len < 0 || (size_t)len >= sizeof opts)
        return zvm_error_set(err, ENAMETOOLONG, "too many images in one overlay");
    fd_path(at, target, sizeof target);
    if (mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts) == 0)
        return 0;
    opts[len - strlen(",userxattr")] = '\0';
    if (mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts) == 0)
        return 0;
    return zvm_error_errno(err, errno, "cannot mount a writable image (overlayfs)");
}

static int make_placeholder(int rootfd, const char *alias)
{
    zvm_error_t ignored;
    const char *base;
    int dir = walk_create(rootfd, alias, &base, &ignored);
    if (dir < 0)
        return -1; /* e.g. inside a read-only image: the alias still works */
    int fd = openat(dir, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    close(dir);
    return 0;
}

/* An overlay with `lower` (a directory's path) as its only layer of
 * content, read-only, at dir fd `at`.  An overlay needs two lower layers
 * without an upper one: the second is an empty directory. */
static int mount_readonly_overlay(int at, const char *lower, zvm_error_t *err)
{
    char opts[PATH_MAX], target[64];
    if (mkdir(ZVM_ATTACH_DIR "/.empty", 0555) < 0 && errno != EEXIST)
        return zvm_error_errno(err, errno, "cannot create an empty layer");
    int len = snprintf(opts, sizeof opts, "lowerdir=%s:" ZVM_ATTACH_DIR "/.empty", lower);
    if (len < 0 || (size_t)len >= sizeof opts)
        return zvm_error_set(err, ENAMETOOLONG, "layer path too long");
    fd_path(at, target, sizeof target);
    if (mount("overlay", target, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0)
        return zvm_error_errno(err, errno, "cannot mount a read-only image (overlayfs)");
    return 0;
}

/* The program, read-only, as a mount to attach at /dev/self: the file
 * as the overlay of its directory shows it, or the file itself where
 * there is no such overlay. */
static int program_tree(const zvm_rootfs_sources_t *src, zvm_error_t *err)
{
    /* Attached, the overlay is of this namespace, and the program (looked
     * up in it with the caller's access) can be bound from it: a detached
     * mount cannot be cloned before Linux 6.15. */
    if (src->program_view >= 0 && mkdir(ZVM_ATTACH_DIR "/.self", 0755) == 0 &&
        move_mount(src->program_overlay, "", AT_FDCWD, ZVM_ATTACH_DIR "/.self",
                   MOVE_MOUNT_F_EMPTY_PATH) == 0) {
        int fd = open_tree(src->program_view, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (fd >= 0)
            return fd;
    }
    int fd = open_tree(src->program, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot capture the program");
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
    if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        int e = errno;
        close(fd);
        return zvm_error_errno(err, e, "cannot make the program read-only");
    }
    return fd;
}

static int setup_devices(int rootfd, const int *dev_fds, const zvm_rootfs_sources_t *src,
                         zvm_error_t *err)
{
    cleanup_close int dev = walk_create(rootfd, "/dev", NULL, err);
    if (dev < 0)
        return -1;
    for (size_t i = 0; i < sizeof host_devices / sizeof host_devices[0]; i++) {
        int fd = openat(dev, host_devices[i], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            return zvm_error_errno(err, errno, "cannot create /dev/%s", host_devices[i]);
        close(fd);
        if (attach(dev_fds[i], dev, host_devices[i], err, host_devices[i]) < 0)
            return -1;
    }
    if (symlinkat("/proc/self/fd", dev, "fd") < 0)
        return zvm_error_errno(err, errno, "cannot create /dev/fd");
    int fd = openat(dev, "self", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (fd < 0)
        return zvm_error_errno(err, errno, "cannot create /dev/self");
    close(fd);
    cleanup_close int program = program_tree(src, err);
    if (program < 0)
        return -1;
    return attach(program, dev, "self", err, "the program at /dev/self");
}

static int setup_host_runtime(int rootfd, int usr_fd, int cache_fd, zvm_error_t *err)
{
    cleanup_close int usr = walk_create(rootfd, "/usr", NULL, err);
    if (usr < 0 || attach(usr_fd, rootfd, "usr", err, "/usr") < 0)
        return -1;
    for (size_t i = 0; i < sizeof host_top_links / sizeof host_top_links[0]; i++) {
        char host[64], target[PATH_MAX];
        snprintf(host, sizeof host, "/%s", host_top_links[i]);
        ssize_t n = readlink(host, target, sizeof target - 1);
        if (n <= 0)
            continue; /* absent, or a real directory: not a merged-/usr link */
        target[n] = '\0';
        if (strncmp(target, "usr/", 4) != 0 && strncmp(target, "/usr/", 5) != 0)
            continue;
        if (symlinkat(target, rootfd, host_top_links[i]) < 0 && errno != EEXIST)
            return zvm_error_errno(err, errno, "cannot create %s", host);
    }
    if (cache_fd >= 0) {
        cleanup_close int etc = walk_create(rootfd, "/etc", NULL, err);
        if (etc < 0)
            return -1;
        int fd = openat(etc, "ld.so.cache", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            if (attach(cache_fd, etc, "ld.so.cache", err, "/etc/ld.so.cache") < 0)
                return -1;
        }
    }
    return 0;
}

/* Mount the images that are not at "/" (sorted: parents first). */
static int setup_images(int rootfd, const zvm_session_t *s, const int *img_fds, zvm_error_t *err)
{
    for (size_t i = 0; i < s->nmounts; i++) {
        const zvm_mount_t *m = &s->mounts[i];
        if (strcmp(m->target, "/") == 0)
            continue;
        cleanup_close int dir = walk_create(rootfd, m->target, NULL, err);
        if (dir < 0)
            return zvm_error_prefix(err, "image at '%s'", m->target);
        /* The captured tree is the overlay's layer: mountinfo names it
         * /proc/self/fd/N, not by its host path.  A read-only image on a
         * file system overlayfs cannot stack on (or stacked too deep) is
         * bound as it is. */
        char lower[64];
        zvm_error_t why;
        fd_path(img_fds[i], lower, sizeof lower);
        if (m->rw ? mount_overlay(dir, lower, (int)i + 1, err) < 0
                  : mount_readonly_overlay(dir, lower, &why) < 0 &&
                        attach(img_fds[i], dir, ".", err, m->target) < 0)
            return zvm_error_prefix(err, "image at '%s'", m->target);
    }
    return 0;
}

static int make_root(const zvm_jail_t *j, const int *img_fds, zvm_error_t *err)
{
    const zvm_session_t *s = j->session;
    char opts[64];
    snprintf(opts, sizeof opts, "size=%llu,mode=0755", (unsigned long long)s->manifest.memory);
    /* A tmpfs root holds only what the program writes (every program,
     * library and image comes in by a mount of its own): noexec.  Under an
     * image at "/" the programs are the overlay's own, so it keeps exec. */
    unsigned long flags = MS_NOSUID | MS_NODEV | (j->root_image ? 0 : MS_NOEXEC);
    if (mount("tmpfs", ZVM_ATTACH_DIR, "tmpfs", flags, opts) < 0)
        return zvm_error_errno(err, errno, "cannot mount the root tmpfs");
    if (mkdir(ZVM_ATTACH_DIR "/root", 0755) < 0)
        return zvm_error_errno(err, errno, "cannot create the root");
    if (!j->root_image) {
        if (mount(ZVM_ATTACH_DIR "/root", ZVM_ATTACH_DIR "/root", NULL, MS_BIND, NULL) < 0)
            return zvm_error_errno(err, errno, "cannot bind the root");
        return 0;
    }
    /* lowerdir lists the top layer first: later fstab entries win. */
    char lower[PATH_MAX] = "";
    size_t used = 0;
    for (size_t i = s->nmounts; i-- > 0;) {
        if (strcmp(s->mounts[i].target, "/") != 0)
            continue;
        int n = snprintf(lower + used, sizeof lower - used, "%s/proc/self/fd/%d",
                         used ? ":" : "", img_fds[i]);
        if (n < 0 || (size_t)n >= sizeof lower - used)
            return zvm_error_set(err, ENAMETOOLONG, "too many images at '/'");
        used += (size_t)n;
    }
    cleanup_close int root = open(ZVM_ATTACH_DIR "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return zvm_error_errno(err, errno, "cannot open the root");
    return mount_overlay(root, lower, 0, err);
}

/* A detached read-only overlay of the directory at dirfd, with an empty
 * detached tmpfs as the second layer an overlay without an upper one
 * needs.  Made as the caller: the overlay then reads its layer with the
 * caller's access (the program's directory may be closed to the jail's
 * outside user, as a root-owned 0700 one is to nobody). */
static int detached_overlay(int dirfd)
{
    int empty = -1, ctx = -1, fd = -1;
    char opts[96];
    if ((ctx = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0 ||
        fsconfig(ctx, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
        fsconfig(ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
        (empty = fsmount(ctx, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) < 0)
        goto out;
    close(ctx);
    snprintf(opts, sizeof opts, "/proc/self/fd/%d:/proc/self/fd/%d", dirfd, empty);
    if ((ctx = fsopen("overlay", FSOPEN_CLOEXEC)) < 0 ||
        fsconfig(ctx, FSCONFIG_SET_STRING, "lowerdir", opts, 0) < 0 ||
        fsconfig(ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        goto out;
    fd = fsmount(ctx, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
out:
    if (ctx >= 0)
        close(ctx);
    if (empty >= 0)
        close(empty);
    return fd;
}

/* The program (an O_PATH descriptor) and, where the kernel can make one,
 * the overlay of its directory and its name there. */
static int capture_program(const char *path, zvm_rootfs_sources_t *src, zvm_error_t *err)
{
    if ((src->program = open(path, O_PATH | O_CLOEXEC)) < 0)
        return zvm_error_errno(err, errno, "cannot capture '%s'", path);
    char link[64], real[PATH_MAX];
    ssize_t n = readlink(fd_path(src->program, link, sizeof link), real, sizeof real - 1);
    if (n <= 0 || real[0] != '/')
        return 0;
    real[n] = '\0';
    char *slash = strrchr(real, '/');
    if (strlen(slash + 1) >= sizeof src->program_name || !slash[1])
        return 0;
    strcpy(src->program_name, slash + 1);
    if (slash == real)
        slash++;
    *slash = '\0';
    cleanup_close int dir = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || (src->program_overlay = detached_overlay(dir)) < 0)
        return 0;
    /* Looked up while we still have the caller's access. */
    struct stat st;
    int view = openat(src->program_overlay, src->program_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (view >= 0 && fstat(view, &st) == 0 && S_ISREG(st.st_mode))
        src->program_view = view;
    else if (view >= 0)
        close(view);
    return 0;
}

int zvm__rootfs_capture(const zvm_jail_t *j, zvm_rootfs_sources_t *src, zvm_error_t *err)
{
    const zvm_session_t *s = j->session;
    char path[64];
    src->usr = src->ld_cache = src->program = src->program_overlay = src->program_view = -1;
    if (capture_program(j->self_path ? j->self_path : s->manifest.program, src, err) < 0)
        return -1;
    if (s->nmounts > ZVM_MAX_IMAGES)
        return zvm_error_set(err, E2BIG, "more than %d images", ZVM_MAX_IMAGES);
    for (size_t i = 0; i < s->nmounts; i++)
        if ((src->images[i] = capture_tree(s->mounts[i].source, false, false, err)) < 0)
            return -1;
    for (size_t i = 0; i < ZVM_HOST_DEVICES; i++) {
        snprintf(path, sizeof path, "/dev/%s", host_devices[i]);
        if ((src->devices[i] = capture_tree(path, true, false, err)) < 0)
            return -1;
    }
    if (j->host_runtime) {
        if ((src->usr = capture_tree("/usr", false, true, err)) < 0)
            return -1;
        zvm_error_t ignored;
        src->ld_cache = capture_tree("/etc/ld.so.cache", true, false, &ignored);
    }
    return 0;
}

int zvm__rootfs_build(const zvm_jail_t *j, const zvm_rootfs_sources_t *src, zvm_error_t *err)
{
    const zvm_session_t *s = j->session;
    const int *img_fds = src->images;

    /* 2. Nothing we mount may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return zvm_error_errno(err, errno, "cannot make mounts private");
    if (make_root(j, img_fds, err) < 0)
        return -1;
    cleanup_close int rootfd = open(ZVM_ATTACH_DIR "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return zvm_error_errno(err, errno, "cannot open the new root");

    /* 3. Fill it. */
    if (setup_devices(rootfd, src->devices, src, err) < 0)
        return -1;
    if (j->host_runtime && setup_host_runtime(rootfd, src->usr, src->ld_cache, err) < 0)
        return -1;
    if (setup_images(rootfd, s, img_fds, err) < 0)
        return -1;
    {
        cleanup_close int tmp = walk_create(rootfd, "/tmp", NULL, err);
        if (tmp < 0)
            return -1;
        if (j->root_readonly) {
            char opts[64], target[64];
            snprintf(opts, sizeof opts, "size=%llu,mode=1777",
                     (unsigned long long)s->manifest.memory);
            if (mount("tmpfs", fd_path(tmp, target, sizeof target), "tmpfs",
                      MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return zvm_error_errno(err, errno, "cannot mount /tmp");
        }
    }
    if (!j->no_proc) {
        char target[64];
        cleanup_close int proc = walk_create(rootfd, "/proc", NULL, err);
        if (proc < 0)
            return -1;
        if (mount("proc", fd_path(proc, target, sizeof target), "proc",
                  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            return zvm_error_errno(err, errno, "cannot mount /proc");
        cleanup_close int mounted = walk_create(rootfd, "/proc", NULL, err);
        if (mounted < 0 || zvm__procfs_build(j, mounted, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < s->manifest.nchannels; i++)
        make_placeholder(rootfd, s->manifest.channels[i].alias);

    /* 4. Enter it; the old root goes away with everything under it. */
    if (fchdir(rootfd) < 0)
        return zvm_error_errno(err, errno, "cannot enter the new root");
    if (j->root_readonly &&
        mount(NULL, ".", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return zvm_error_errno(err, errno, "cannot make the root read-only");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return zvm_error_errno(err, errno, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return zvm_error_errno(err, errno, "cannot detach the old root");
    if (chdir("/") < 0)
        return zvm_error_errno(err, errno, "chdir /");
    return 0;
}
