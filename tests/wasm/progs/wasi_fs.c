/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The WASI file system's descriptors, paths and rights, through the raw
 * preview1 calls (wasi/api.h), each check printing "OK <what>" or
 * "FAIL <what>: <why>", then "INFO fails N" and "DONE".  argv[1] picks the mode:
 *
 *   preopen  fd 3 is a live directory: fd_readdir and fd_filestat_get on
 *            it work, also after 20 opens, and closing it closes nothing
 *            of the program's own files
 *   dotdot   ".." is the file system's: "file/.." is ENOTDIR, "missing/.."
 *            ENOENT, "link/../x" goes where the link leads; leaving the
 *            directory (by "..", or a link that climbs) is ENOTCAPABLE
 *   rename   a directory descriptor stays its directory after a rename and
 *            a new directory under the old name
 *   rights   rights are enforced: each call needs its right, rights only
 *            shrink, a new descriptor gets at most its directory's
 *            inheriting rights; a directory reopens with its own rights and
 *            never for writing
 */
#include <string.h>
#include <wasi/api.h>

#include "wt.h"

static int fails;

static void ok(int cond, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ok(int cond, const char *what, const char *fmt, ...)
{
    if (cond) {
        say("OK %s\n", what);
        return;
    }
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    say("FAIL %s: %s\n", what, buf);
    fails++;
}

/* A WASI errno check: the call's result must be `want` (0: success). */
#define IS(what, call, want)                                                             \
    do {                                                                                 \
        __wasi_errno_t e_ = (call);                                                      \
        ok(e_ == (want), what, "wasi errno %u, expected %u", (unsigned)e_, (unsigned)(want)); \
    } while (0)

#define R(x) __WASI_RIGHTS_##x
#define DIR_RIGHTS                                                                       \
    (R(PATH_OPEN) | R(FD_READDIR) | R(PATH_CREATE_FILE) | R(PATH_CREATE_DIRECTORY) |     \
     R(PATH_FILESTAT_GET) | R(FD_FILESTAT_GET) | R(PATH_UNLINK_FILE) |                    \
     R(PATH_REMOVE_DIRECTORY) | R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) |          \
     R(PATH_SYMLINK) | R(PATH_READLINK))
#define FILE_RIGHTS                                                                      \
    (R(FD_READ) | R(FD_WRITE) | R(FD_SEEK) | R(FD_TELL) | R(FD_FILESTAT_GET) |           \
     R(FD_FILESTAT_SET_SIZE) | R(FD_SYNC) | R(FD_DATASYNC))

static __wasi_fd_t open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t of,
                           __wasi_rights_t base, __wasi_rights_t inh, __wasi_errno_t *e)
{
    __wasi_fd_t fd = (__wasi_fd_t)-1;
    *e = __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, of, base, inh, 0, &fd);
    return *e ? (__wasi_fd_t)-1 : fd;
}

static __wasi_errno_t put(__wasi_fd_t fd, const char *s)
{
    __wasi_ciovec_t v = {.buf = (const uint8_t *)s, .buf_len = strlen(s)};
    size_t n;
    return __wasi_fd_write(fd, &v, 1, &n);
}

static __wasi_errno_t get(__wasi_fd_t fd, char *buf, size_t len, size_t *n)
{
    __wasi_iovec_t v = {.buf = (uint8_t *)buf, .buf_len = len};
    return __wasi_fd_read(fd, &v, 1, n);
}

/* A new file under fd 3 holding `text`. */
static void make_file(const char *path, const char *text)
{
    __wasi_errno_t e;
    __wasi_fd_t fd = open_at(3, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, FILE_RIGHTS, 0, &e);
    ok(e == 0 && put(fd, text) == 0, path, "create: wasi errno %u", (unsigned)e);
    if (e == 0)
        (void)__wasi_fd_close(fd);
}

/* The first bytes of what `path` opens to (from `dir`), or "" on error. */
static const char *contents(__wasi_fd_t dir, const char *path, __wasi_errno_t *e)
{
    static char buf[64];
    buf[0] = '\0';
    __wasi_fd_t fd = open_at(dir, path, 0, R(FD_READ), 0, e);
    if (*e)
        return buf;
    size_t n = 0;
    *e = get(fd, buf, sizeof buf - 1, &n);
    buf[*e ? 0 : n] = '\0';
    (void)__wasi_fd_close(fd);
    return buf;
}

static void preopen(void)
{
    __wasi_filestat_t st;
    __wasi_errno_t e = __wasi_fd_filestat_get(3, &st);
    ok(e == 0 && st.filetype == __WASI_FILETYPE_DIRECTORY, "fd_filestat_get(3) is a directory",
       "wasi errno %u, filetype %u", (unsigned)e, (unsigned)st.filetype);
    uint8_t buf[512];
    size_t used = 0;
    e = __wasi_fd_readdir(3, buf, sizeof buf, 0, &used);
    ok(e == 0 && used >= sizeof(__wasi_dirent_t), "fd_readdir(3) lists entries",
       "wasi errno %u, %zu bytes", (unsigned)e, used);

    IS("mkdir wfs-pre", __wasi_path_create_directory(3, "wfs-pre"), 0);
    __wasi_fd_t fds[20];
    int opened = 0;
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "wfs-pre/f%d", i);
        fds[i] = open_at(3, name, __WASI_OFLAGS_CREAT, FILE_RIGHTS, 0, &e);
        opened += e == 0;
    }
    ok(opened == 20, "20 files opened", "%d", opened);
    __wasi_filestat_t again;
    e = __wasi_fd_filestat_get(3, &again);
    ok(e == 0 && again.filetype == __WASI_FILETYPE_DIRECTORY && again.ino == st.ino,
       "fd 3 is still the same directory after 20 opens", "wasi errno %u, filetype %u",
       (unsigned)e, (unsigned)again.filetype);
    __wasi_fdstat_t fs;
    e = __wasi_fd_fdstat_get(3, &fs);
    ok(e == 0 && fs.fs_filetype == __WASI_FILETYPE_DIRECTORY, "fdstat(3) is a directory",
       "wasi errno %u", (unsigned)e);
    e = __wasi_fd_readdir(3, buf, sizeof buf, 0, &used);
    ok(e == 0, "fd_readdir(3) after 20 opens", "wasi errno %u", (unsigned)e);
    IS("fd_close(3)", __wasi_fd_close(3), 0);
    int written = 0;
    for (int i = 0; i < 20; i++)
        written += put(fds[i], "still open") == 0;
    ok(written == 20, "every file still writable after fd_close(3)", "%d of 20", written);
    IS("fd 3 is gone", __wasi_fd_filestat_get(3, &st), __WASI_ERRNO_BADF);
}

static void dotdot(void)
{
    __wasi_errno_t e;
    __wasi_filestat_t st;
    IS("mkdir wfs-dd", __wasi_path_create_directory(3, "wfs-dd"), 0);
    IS("mkdir wfs-dd/sub", __wasi_path_create_directory(3, "wfs-dd/sub"), 0);
    IS("mkdir wfs-dd/sub/inner", __wasi_path_create_directory(3, "wfs-dd/sub/inner"), 0);
    make_file("wfs-dd/file", "FILE");
    make_file("wfs-dd/x", "TOPX");
    make_file("wfs-dd/sub/x", "SUBX");
    IS("symlink link -> sub/inner", __wasi_path_symlink("sub/inner", 3, "wfs-dd/link"), 0);
    IS("symlink up -> ../..", __wasi_path_symlink("../..", 3, "wfs-dd/up"), 0);
    /* An absolute link cannot be made (EPERM); one in an image is beneath
     * the fuzz target's checks (fuzz/fuzz_wasi_path.c). */
    IS("symlink abs -> /wfs-dd is EPERM", __wasi_path_symlink("/wfs-dd", 3, "wfs-dd/abs"),
       __WASI_ERRNO_PERM);

    open_at(3, "wfs-dd/file/..", __WASI_OFLAGS_DIRECTORY, R(FD_READDIR), 0, &e);
    ok(e == __WASI_ERRNO_NOTDIR, "open file/.. is ENOTDIR", "wasi errno %u", (unsigned)e);
    IS("stat file/.. is ENOTDIR", __wasi_path_filestat_get(3, 0, "wfs-dd/file/..", &st),
       __WASI_ERRNO_NOTDIR);
    IS("stat missing/.. is ENOENT", __wasi_path_filestat_get(3, 0, "wfs-dd/missing/..", &st),
       __WASI_ERRNO_NOENT);
    IS("mkdir file/../y is ENOTDIR", __wasi_path_create_directory(3, "wfs-dd/file/../y"),
       __WASI_ERRNO_NOTDIR);
    IS("unlink missing/../x is ENOENT", __wasi_path_unlink_file(3, "wfs-dd/missing/../x"),
       __WASI_ERRNO_NOENT);
    const char *got = contents(3, "wfs-dd/x", &e);
    ok(e == 0 && strcmp(got, "TOPX") == 0, "x is untouched", "'%s', wasi errno %u", got,
       (unsigned)e);
    got = contents(3, "wfs-dd/link/../x", &e);
    ok(e == 0 && strcmp(got, "SUBX") == 0, "link/../x is sub/x (the link's parent)",
       "'%s', wasi errno %u", got, (unsigned)e);
    got = contents(3, "wfs-dd/sub/inner/../../x", &e);
    ok(e == 0 && strcmp(got, "TOPX") == 0, "sub/inner/../../x is x", "'%s', wasi errno %u", got,
       (unsigned)e);

    contents(3, "..", &e);
    ok(e == __WASI_ERRNO_NOTCAPABLE, "open .. from the preopen is ENOTCAPABLE", "wasi errno %u",
       (unsigned)e);
    IS("stat wfs-dd/../.. is ENOTCAPABLE", __wasi_path_filestat_get(3, 0, "wfs-dd/../..", &st),
       __WASI_ERRNO_NOTCAPABLE);
    IS("mkdir .. is ENOTCAPABLE", __wasi_path_create_directory(3, ".."), __WASI_ERRNO_NOTCAPABLE);
    __wasi_fd_t sub = open_at(3, "wfs-dd/sub", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS,
                              FILE_RIGHTS | DIR_RIGHTS, &e);
    ok(e == 0, "open wfs-dd/sub", "wasi errno %u", (unsigned)e);
    contents(sub, "../x", &e);
    ok(e == __WASI_ERRNO_NOTCAPABLE, "../x from sub's descriptor is ENOTCAPABLE",
       "wasi errno %u", (unsigned)e);
    got = contents(sub, "inner/../x", &e);
    ok(e == 0 && strcmp(got, "SUBX") == 0, "inner/../x from sub's descriptor is sub/x",
       "'%s', wasi errno %u", got, (unsigned)e);
    contents(sub, "../sub/x", &e);
    ok(e == __WASI_ERRNO_NOTCAPABLE, "../sub/x from sub's descriptor is ENOTCAPABLE",
       "wasi errno %u", (unsigned)e);
    contents(sub, "../link/../x", &e);
    ok(e == __WASI_ERRNO_NOTCAPABLE, "../link/../x from sub is ENOTCAPABLE", "wasi errno %u",
       (unsigned)e);
    /* Links that leave the directory. */
    contents(3, "wfs-dd/up/wfs-dd/x", &e);
    ok(e == __WASI_ERRNO_NOTCAPABLE, "a link climbing above the preopen is ENOTCAPABLE",
       "wasi errno %u", (unsigned)e);
    IS("mkdir through a climbing link is ENOTCAPABLE",
       __wasi_path_create_directory(3, "wfs-dd/up/new"), __WASI_ERRNO_NOTCAPABLE);
    char lb[64];
    size_t lused;
    IS("readlink of a file is EINVAL",
       __wasi_path_readlink(3, "wfs-dd/file", (uint8_t *)lb, sizeof lb, &lused),
       __WASI_ERRNO_INVAL);
    IS("readlink of a directory is EINVAL",
       __wasi_path_readlink(3, "wfs-dd/sub", (uint8_t *)lb, sizeof lb, &lused),
       __WASI_ERRNO_INVAL);
    e = __wasi_path_readlink(3, "wfs-dd/link", (uint8_t *)lb, sizeof lb, &lused);
    ok(e == 0 && lused == 9 && memcmp(lb, "sub/inner", 9) == 0, "readlink of link",
       "wasi errno %u", (unsigned)e);
    IS("stat without following the link is fine",
       __wasi_path_filestat_get(3, 0, "wfs-dd/up", &st), 0);
}

static void rename_dir(void)
{
    __wasi_errno_t e;
    __wasi_filestat_t st;
    IS("mkdir wfs-rn", __wasi_path_create_directory(3, "wfs-rn"), 0);
    IS("mkdir wfs-rn/d", __wasi_path_create_directory(3, "wfs-rn/d"), 0);
    __wasi_fd_t d = open_at(3, "wfs-rn/d", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS,
                            FILE_RIGHTS | DIR_RIGHTS, &e);
    ok(e == 0, "open wfs-rn/d", "wasi errno %u", (unsigned)e);
    IS("rename d -> d2", __wasi_path_rename(3, "wfs-rn/d", 3, "wfs-rn/d2"), 0);
    IS("a new d", __wasi_path_create_directory(3, "wfs-rn/d"), 0);
    __wasi_fd_t f = open_at(d, "f", __WASI_OFLAGS_CREAT, FILE_RIGHTS, 0, &e);
    ok(e == 0 && put(f, "old-d") == 0, "create f through the old descriptor", "wasi errno %u",
       (unsigned)e);
    IS("f is in d2", __wasi_path_filestat_get(3, 0, "wfs-rn/d2/f", &st), 0);
    IS("f is not in the new d", __wasi_path_filestat_get(3, 0, "wfs-rn/d/f", &st),
       __WASI_ERRNO_NOENT);
    IS("mkdir sub through the old descriptor", __wasi_path_create_directory(d, "sub"), 0);
    IS("sub is in d2", __wasi_path_filestat_get(3, 0, "wfs-rn/d2/sub", &st), 0);
    IS("rename d2 away", __wasi_path_rename(3, "wfs-rn/d2", 3, "wfs-rn/d3"), 0);
    IS("unlink f through the old descriptor", __wasi_path_unlink_file(d, "f"), 0);
    IS("f is gone from d3", __wasi_path_filestat_get(3, 0, "wfs-rn/d3/f", &st),
       __WASI_ERRNO_NOENT);
}

static void rights(void)
{
    __wasi_errno_t e;
    char buf[16];
    size_t n;
    __wasi_fdstat_t fs;
    __wasi_filesize_t pos;
    IS("mkdir wfs-r", __wasi_path_create_directory(3, "wfs-r"), 0);
    make_file("wfs-r/file", "0123456789");

    __wasi_fd_t ro = open_at(3, "wfs-r/file", 0, R(FD_READ), 0, &e);
    ok(e == 0, "open with FD_READ only", "wasi errno %u", (unsigned)e);
    IS("fd_read with FD_READ", get(ro, buf, 4, &n), 0);
    IS("fd_write without FD_WRITE", put(ro, "x"), __WASI_ERRNO_NOTCAPABLE);
    IS("fd_seek without FD_SEEK", __wasi_fd_seek(ro, 0, __WASI_WHENCE_SET, &pos),
       __WASI_ERRNO_NOTCAPABLE);
    IS("fd_filestat_set_size without its right", __wasi_fd_filestat_set_size(ro, 0),
       __WASI_ERRNO_NOTCAPABLE);
    IS("fd_sync without FD_SYNC", __wasi_fd_sync(ro), __WASI_ERRNO_NOTCAPABLE);
    __wasi_filestat_t st;
    IS("fd_filestat_get without its right", __wasi_fd_filestat_get(ro, &st),
       __WASI_ERRNO_NOTCAPABLE);
    IS("rights cannot grow", __wasi_fd_fdstat_set_rights(ro, R(FD_READ) | R(FD_WRITE), 0),
       __WASI_ERRNO_NOTCAPABLE);
    IS("fd_write still refused", put(ro, "x"), __WASI_ERRNO_NOTCAPABLE);

    __wasi_fd_t rw = open_at(3, "wfs-r/file", 0, FILE_RIGHTS, 0, &e);
    ok(e == 0, "open read-write", "wasi errno %u", (unsigned)e);
    IS("fd_write with FD_WRITE", put(rw, "ab"), 0);
    IS("drop FD_WRITE", __wasi_fd_fdstat_set_rights(rw, FILE_RIGHTS & ~R(FD_WRITE), 0), 0);
    IS("fd_write after dropping FD_WRITE", put(rw, "cd"), __WASI_ERRNO_NOTCAPABLE);
    IS("fd_read still works", get(rw, buf, 2, &n), 0);
    IS("FD_WRITE cannot come back", __wasi_fd_fdstat_set_rights(rw, FILE_RIGHTS, 0),
       __WASI_ERRNO_NOTCAPABLE);
    IS("drop FD_SEEK, keep FD_TELL",
       __wasi_fd_fdstat_set_rights(rw, R(FD_READ) | R(FD_TELL), 0), 0);
    IS("fd_tell with FD_TELL", __wasi_fd_tell(rw, &pos), 0);
    IS("fd_seek without FD_SEEK", __wasi_fd_seek(rw, 0, __WASI_WHENCE_SET, &pos),
       __WASI_ERRNO_NOTCAPABLE);
    e = __wasi_fd_fdstat_get(rw, &fs);
    ok(e == 0 && fs.fs_rights_base == (R(FD_READ) | R(FD_TELL)), "fdstat shows the rights left",
       "wasi errno %u, base %#llx", (unsigned)e, (unsigned long long)fs.fs_rights_base);

    /* Inheriting rights bound what a directory's new descriptors get. */
    __wasi_fd_t d = open_at(3, "wfs-r", __WASI_OFLAGS_DIRECTORY, R(PATH_OPEN) | R(FD_READDIR),
                            R(FD_READ), &e);
    ok(e == 0, "open wfs-r with PATH_OPEN, inheriting FD_READ", "wasi errno %u", (unsigned)e);
    __wasi_fd_t f = open_at(d, "file", 0, R(FD_READ) | R(FD_WRITE), 0, &e);
    ok(e == 0, "open file asking for READ and WRITE", "wasi errno %u", (unsigned)e);
    e = __wasi_fd_fdstat_get(f, &fs);
    ok(e == 0 && fs.fs_rights_base == R(FD_READ), "it gets FD_READ only",
       "wasi errno %u, base %#llx", (unsigned)e, (unsigned long long)fs.fs_rights_base);
    IS("fd_write on it", put(f, "x"), __WASI_ERRNO_NOTCAPABLE);
    open_at(d, "new", __WASI_OFLAGS_CREAT, R(FD_READ), 0, &e);
    ok(e == __WASI_ERRNO_NOTCAPABLE, "create without PATH_CREATE_FILE", "wasi errno %u",
       (unsigned)e);
    IS("mkdir without PATH_CREATE_DIRECTORY", __wasi_path_create_directory(d, "sub"),
       __WASI_ERRNO_NOTCAPABLE);
    IS("unlink without PATH_UNLINK_FILE", __wasi_path_unlink_file(d, "file"),
       __WASI_ERRNO_NOTCAPABLE);
    IS("stat without PATH_FILESTAT_GET", __wasi_path_filestat_get(d, 0, "file", &st),
       __WASI_ERRNO_NOTCAPABLE);
    IS("drop PATH_OPEN", __wasi_fd_fdstat_set_rights(d, R(FD_READDIR), R(FD_READ)), 0);
    open_at(d, "file", 0, R(FD_READ), 0, &e);
    ok(e == __WASI_ERRNO_NOTCAPABLE, "open without PATH_OPEN", "wasi errno %u", (unsigned)e);
    uint8_t ents[256];
    size_t used;
    IS("fd_readdir with FD_READDIR", __wasi_fd_readdir(d, ents, sizeof ents, 0, &used), 0);
    IS("drop FD_READDIR", __wasi_fd_fdstat_set_rights(d, 0, 0), 0);
    IS("fd_readdir without FD_READDIR", __wasi_fd_readdir(d, ents, sizeof ents, 0, &used),
       __WASI_ERRNO_NOTCAPABLE);

    /* Directories: reopened with the preopen's own rights, never for writing. */
    e = __wasi_fd_fdstat_get(3, &fs);
    ok(e == 0, "fdstat(3)", "wasi errno %u", (unsigned)e);
    __wasi_fd_t dot = open_at(3, ".", __WASI_OFLAGS_DIRECTORY, fs.fs_rights_base,
                              fs.fs_rights_inheriting, &e);
    ok(e == 0, "reopen . with the preopen's rights", "wasi errno %u", (unsigned)e);
    IS("fd_readdir on it", __wasi_fd_readdir(dot, ents, sizeof ents, 0, &used), 0);
    open_at(3, "wfs-r", __WASI_OFLAGS_DIRECTORY, R(FD_WRITE), 0, &e);
    ok(e == __WASI_ERRNO_ISDIR, "a directory asked with FD_WRITE is EISDIR", "wasi errno %u",
       (unsigned)e);
    open_at(3, "wfs-r", 0, R(FD_READ) | R(FD_WRITE), 0, &e);
    ok(e == __WASI_ERRNO_ISDIR, "a directory opened read-write is EISDIR", "wasi errno %u",
       (unsigned)e);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "preopen") == 0)
        preopen();
    else if (strcmp(mode, "dotdot") == 0)
        dotdot();
    else if (strcmp(mode, "rename") == 0)
        rename_dir();
    else if (strcmp(mode, "rights") == 0)
        rights();
    else {
        say("FAIL mode: unknown '%s'\n", mode);
        fails++;
    }
    say("INFO fails %d\n", fails);
    say("DONE\n");
    return 0;
}
