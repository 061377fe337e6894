/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/lib/image.c: unpacking archives into the cache, the stat
 * index, the cache directory, and hostile archives.  Every archive is built
 * here with libarchive's write API (no blobs in the tree) under a mkdtemp()
 * directory in /tmp, which is removed at the end.  After each hostile case
 * we check that nothing was left in the cache and nothing appeared outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "tap.h"
#include "zvm/image.h"
#include "zvm/tar.h"

#define MiB (1024u * 1024u)

static char tmp[64];            /* the test's area */
static char cache[128];         /* the cache under test */
static char outside[128];       /* what hostile archives aim at */
static char tars[128];          /* the archives */

/* ---- helpers: files ---------------------------------------------------- */

static const char *at(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path)
{
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static char *read_text(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static bool copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "re"), *out = fopen(to, "we");
    bool ok = in && out;
    char buf[8192];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = false;
    return ok;
}

static mode_t mode_of(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    return lstat(at(p, sizeof p, dir, name), &st) == 0 ? st.st_mode : 0;
}

static ino_t ino_of(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    return lstat(at(p, sizeof p, dir, name), &st) == 0 ? st.st_ino : 0;
}

/* Entries of dir other than . and ..; -1 when it cannot be read. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

/* Trees: the names of images/ that are not the cache's own (".lock",
 * ".<tree>.size", temporaries). */
static int count_trees(void)
{
    char p[256];
    return count_entries(at(p, sizeof p, cache, "images"), "") -
           count_entries(at(p, sizeof p, cache, "images"), ".");
}

static bool no_temp_left(void)
{
    char p[256], q[256];
    int in_images = count_entries(at(p, sizeof p, cache, "images"), ".tmp-");
    int in_index = count_entries(at(q, sizeof q, cache, "index"), ".tmp-");
    return in_images <= 0 && in_index <= 0;
}

/* ---- helpers: hashes ---------------------------------------------------- */

static void sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static bool sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    fclose(f);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return true;
}

static void expected_dir(const char *tar, char *buf, size_t size)
{
    char hex[65] = "";
    sha256_file(tar, hex);
    snprintf(buf, size, "%s/images/%s", cache, hex);
}

/* ---- helpers: writing archives ----------------------------------------- */

enum { FMT_TAR, FMT_TAR_GZ, FMT_CPIO, FMT_ZIP };

static bool tw_ok;

static struct archive *tw_open(char *path, size_t size, const char *name, int fmt)
{
    at(path, size, tars, name);
    struct archive *a = archive_write_new();
    tw_ok = true;
    if (fmt == FMT_CPIO)
        archive_write_set_format_cpio_newc(a);
    else if (fmt == FMT_ZIP)
        archive_write_set_format_zip(a);
    else
        archive_write_set_format_pax_restricted(a);
    if (fmt == FMT_TAR_GZ)
        archive_write_add_filter_gzip(a);
    else
        archive_write_add_filter_none(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
        printf("# cannot write '%s': %s\n", path, archive_error_string(a));
        tw_ok = false;
    }
    return a;
}

static void tw_fail(struct archive *a, const char *name)
{
    printf("# writing member '%s': %s\n", name, archive_error_string(a));
    tw_ok = false;
}

/* One member; data (size bytes) for regular files, NULL data writes zeros. */
static void tw_entry(struct archive *a, const char *name, mode_t type, int perm,
                     const char *link, bool hard, const void *data, size_t size)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, 1234);
    archive_entry_set_gid(e, 1234);
    archive_entry_set_mtime(e, 1000000000, 0);
    if (type == AE_IFCHR || type == AE_IFBLK)
        archive_entry_set_rdev(e, makedev(1, 3));
    if (link && hard)
        archive_entry_set_hardlink(e, link);
    else if (link)
        archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, type == AE_IFREG && !hard ? (la_int64_t)size : 0);
    if (archive_write_header(a, e) < ARCHIVE_WARN)
        tw_fail(a, name);
    static const char zeros[65536];
    for (size_t done = 0; type == AE_IFREG && !hard && done < size;) {
        size_t n = size - done < sizeof zeros ? size - done : sizeof zeros;
        if (archive_write_data(a, data ? (const char *)data + done : zeros, n) != (la_ssize_t)n) {
            tw_fail(a, name);
            break;
        }
        done += n;
    }
    archive_entry_free(e);
}

static void tw_file(struct archive *a, const char *name, int perm, const char *text)
{
    tw_entry(a, name, AE_IFREG, perm, NULL, false, text, strlen(text));
}

static void tw_zeros(struct archive *a, const char *name, size_t size)
{
    tw_entry(a, name, AE_IFREG, 0644, NULL, false, NULL, size);
}

static void tw_dir(struct archive *a, const char *name, int perm)
{
    tw_entry(a, name, AE_IFDIR, perm, NULL, false, NULL, 0);
}

static void tw_symlink(struct archive *a, const char *name, const char *target)
{
    tw_entry(a, name, AE_IFLNK, 0777, target, false, NULL, 0);
}

static void tw_hardlink(struct archive *a, const char *name, const char *target)
{
    tw_entry(a, name, AE_IFREG, 0644, target, true, NULL, 0);
}

static bool tw_close(struct archive *a)
{
    if (archive_write_close(a) != ARCHIVE_OK)
        tw_fail(a, "(close)");
    archive_write_free(a);
    return tw_ok;
}

/* ---- the checks ---------------------------------------------------------- */

static int unpack(const char *tar, uint64_t max, char **dir, zvm_error_t *err)
{
    zvm_error_clear(err);
    *dir = NULL;
    return zvm_image_unpack(tar, cache, max, dir, NULL, err);
}

/* The archive is refused with a message naming it and containing `want`,
 * and leaves nothing behind, in the cache or outside. */
static void expect_refused(const char *what, const char *tar, uint64_t max, const char *want)
{
    zvm_error_t err;
    char *dir = (char *)"unset", named[512];
    int trees = count_trees();
    struct stat passwd0 = {0}, passwd1 = {0};
    stat("/etc/passwd", &passwd0);
    int rc = unpack(tar, max, &dir, &err);
    snprintf(named, sizeof named, "image '%s': ", tar);
    tap_ok(rc < 0 && dir == NULL && err.code != 0 && strncmp(err.msg, named, strlen(named)) == 0 &&
           strstr(err.msg, want), "%s: refused (%s)", what, err.msg);
    if (rc == 0)
        printf("#   unpacked into %s\n", dir);
    stat("/etc/passwd", &passwd1);
    tap_ok(count_trees() == trees && no_temp_left() && count_entries(outside, "") == 0 &&
           count_entries(cache, "") == 2 && passwd0.st_nlink == passwd1.st_nlink,
           "%s: nothing left behind", what);
    free(rc == 0 ? dir : NULL);
}

/* Write tars/name with fill(); a failure to write is a failed check. */
static void write_tar(const char *what, const char *name, void (*fill)(struct archive *))
{
    char path[256];
    struct archive *a = tw_open(path, sizeof path, name, FMT_TAR);
    fill(a);
    if (!tw_close(a))
        tap_ok(0, "%s: archive written", what);
}

/* A good image: directories with odd modes, executables, setuid, links. */
static void fill_good(struct archive *a)
{
    tw_dir(a, "./", 0700);
    tw_dir(a, "bin", 0700);
    tw_file(a, "bin/run", 0755, "#!/bin/sh\necho hi\n");
    tw_file(a, "bin/suid", 04755, "suid\n");
    tw_file(a, "bin/sgid", 02711, "sgid\n");
    tw_dir(a, "etc/", 01777);
    tw_file(a, "etc/conf", 0600, "key=value\n");
    tw_file(a, "etc/ro", 0444, "ro\n");
    tw_symlink(a, "lib", "bin");
    tw_symlink(a, "etc/run", "../bin/run");
    tw_symlink(a, "self", ".");
    tw_hardlink(a, "bin/run2", "bin/run");
    tw_hardlink(a, "etc/run3", "etc/run");
    tw_file(a, "deep/a/b/c.txt", 0640, "deep\n");
    tw_file(a, "dup", 0644, "one\n");
    tw_file(a, "dup", 0644, "two\n");
    tw_file(a, "./dot/./x", 0644, "dot\n");
}

static void test_good(char *good_tar, char *good_dir)
{
    char path[256], p[512];
    struct archive *a = tw_open(path, sizeof path, "good.tar", FMT_TAR);
    fill_good(a);
    tap_ok(tw_close(a), "good: archive written");
    strcpy(good_tar, path);

    zvm_error_t err;
    char *dir = NULL, want[512];
    int rc = unpack(path, 64 * MiB, &dir, &err);
    tap_ok(rc == 0, "good: unpacks (%s)", rc ? err.msg : "ok");
    if (rc != 0)
        return;
    expected_dir(path, want, sizeof want);
    tap_is_str(dir, want, "good: tree is images/<sha256 of the archive>");
    strcpy(good_dir, dir);

    const char *run = read_text(at(p, sizeof p, dir, "bin/run"));
    tap_is_str(run, "#!/bin/sh\necho hi\n", "good: bin/run has its contents");
    tap_ok((mode_of(dir, "bin/run") & 07777) == 0777, "good: bin/run is 0777 (%o)",
           mode_of(dir, "bin/run") & 07777);
    tap_ok((mode_of(dir, "bin/suid") & 07777) == 0777, "good: setuid dropped (%o)",
           mode_of(dir, "bin/suid") & 07777);
    tap_ok((mode_of(dir, "bin/sgid") & 07777) == 0777, "good: setgid dropped (%o)",
           mode_of(dir, "bin/sgid") & 07777);
    tap_ok((mode_of(dir, "etc/conf") & 07777) == 0666, "good: 0600 file becomes 0666 (%o)",
           mode_of(dir, "etc/conf") & 07777);
    tap_ok((mode_of(dir, "etc/ro") & 07777) == 0666, "good: 0444 file becomes 0666 (%o)",
           mode_of(dir, "etc/ro") & 07777);
    tap_ok(S_ISDIR(mode_of(dir, "bin")) && (mode_of(dir, "bin") & 07777) == 0777,
           "good: 0700 dir becomes 0777 (%o)", mode_of(dir, "bin") & 07777);
    tap_ok(S_ISDIR(mode_of(dir, "etc")) && (mode_of(dir, "etc") & 07777) == 0777,
           "good: sticky 01777 dir becomes 0777 (%o)", mode_of(dir, "etc") & 07777);
    tap_ok((mode_of(dir, ".") & 07777) == 0777, "good: the tree's root is 0777 (%o)",
           mode_of(dir, ".") & 07777);
    tap_ok(S_ISDIR(mode_of(dir, "deep/a/b")) && (mode_of(dir, "deep/a") & 07777) == 0777,
           "good: implied parent directories are made 0777");
    tap_is_str(read_text(at(p, sizeof p, dir, "deep/a/b/c.txt")), "deep\n",
               "good: file under implied directories");

    char target[256] = "";
    ssize_t n = readlink(at(p, sizeof p, dir, "etc/run"), target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    tap_ok(S_ISLNK(mode_of(dir, "etc/run")) && strcmp(target, "../bin/run") == 0,
           "good: relative symlink kept ('%s')", target);
    tap_is_str(read_text(at(p, sizeof p, dir, "lib/run")), "#!/bin/sh\necho hi\n",
               "good: a directory symlink resolves inside the tree");
    tap_ok(S_ISLNK(mode_of(dir, "self")), "good: symlink to '.' is allowed");
    tap_ok(ino_of(dir, "bin/run2") != 0 && ino_of(dir, "bin/run2") == ino_of(dir, "bin/run"),
           "good: hardlink shares the inode of its target");
    tap_ok(S_ISLNK(mode_of(dir, "etc/run3")) && ino_of(dir, "etc/run3") == ino_of(dir, "etc/run"),
           "good: hardlink to a symlink that stays inside from its own place");
    tap_is_str(read_text(at(p, sizeof p, dir, "dup")), "two\n", "good: later duplicate wins");
    tap_is_str(read_text(at(p, sizeof p, dir, "dot/x")), "dot\n", "good: './' components dropped");

    struct stat st = {0};
    lstat(at(p, sizeof p, dir, "etc/conf"), &st);
    /* The archive's owner is never used: the tree is the caller's, or
     * nobody's when the caller is root (who programs then run as). */
    uid_t want_uid = geteuid() == 0 ? ZVM_IMAGE_ROOT_OWNER : geteuid();
    gid_t want_gid = geteuid() == 0 ? ZVM_IMAGE_ROOT_OWNER : getegid();
    tap_ok(st.st_uid == want_uid && st.st_gid == want_gid,
           "good: archive ownership dropped (uid %u, gid %u)", (unsigned)st.st_uid,
           (unsigned)st.st_gid);
    tap_ok(st.st_mtim.tv_sec == 1000000000, "good: file mtime kept (%" PRId64 ")",
           (int64_t)st.st_mtim.tv_sec);
    tap_ok(no_temp_left() && count_trees() == 1, "good: one tree, no temporary left");

    char key[65], real[PATH_MAX];
    realpath(path, real);
    sha256_hex(real, strlen(real), key);
    char idx[512];
    snprintf(idx, sizeof idx, "%s/index/%s", cache, key);
    const char *line = read_text(idx);
    const char *hex = strrchr(dir, '/') + 1;
    st = (struct stat){0};
    stat(path, &st);
    char want_line[512];
    snprintf(want_line, sizeof want_line, "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %ld %"
             PRId64 " %ld %s\n", (uint64_t)st.st_dev, (uint64_t)st.st_ino, (int64_t)st.st_size,
             (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (int64_t)st.st_ctim.tv_sec,
             st.st_ctim.tv_nsec, hex);
    tap_is_str(line, want_line, "good: index line at index/<sha256 of the realpath>");
    free(dir);
}

static void test_cache_hits(const char *good_tar, const char *good_dir)
{
    zvm_error_t err;
    char *dir = NULL, p[512], copy[256], want[512];
    ino_t root = ino_of(good_dir, "."), file = ino_of(good_dir, "etc/conf");

    int rc = unpack(good_tar, 64 * MiB, &dir, &err);
    tap_ok(rc == 0 && dir && strcmp(dir, good_dir) == 0, "again: same tree (%s)",
           rc ? err.msg : dir);
    tap_ok(ino_of(good_dir, ".") == root && ino_of(good_dir, "etc/conf") == file &&
           count_trees() == 1, "again: not extracted a second time");
    free(dir);

    /* The index is trusted when the stat matches: point it elsewhere. */
    char key[65], real[PATH_MAX], idx[512], line[512];
    realpath(good_tar, real);
    sha256_hex(real, strlen(real), key);
    snprintf(idx, sizeof idx, "%s/index/%s", cache, key);
    strcpy(line, read_text(idx) ? read_text(idx) : "");
    char forged[512];
    const char *fake = "0000000000000000000000000000000000000000000000000000000000000000";
    char fake_dir[512];
    snprintf(fake_dir, sizeof fake_dir, "%s/images/%s", cache, fake);
    mkdir(fake_dir, 0755);
    snprintf(forged, sizeof forged, "%.*s%s\n", (int)(strlen(line) - 65), line, fake);
    write_bytes(idx, forged, strlen(forged));
    rc = unpack(good_tar, 64 * MiB, &dir, &err);
    tap_ok(rc == 0 && dir && strcmp(dir, fake_dir) == 0,
           "index: a matching stat is trusted without hashing (%s)", rc ? err.msg : dir);
    free(dir);
    rmdir(fake_dir);
    rc = unpack(good_tar, 64 * MiB, &dir, &err);
    tap_ok(rc == 0 && dir && strcmp(dir, good_dir) == 0 && ino_of(good_dir, ".") == root,
           "index: a hit whose tree is gone falls back to hashing (%s)", rc ? err.msg : dir);
    tap_is_str(read_text(idx), line, "index: rewritten after the fallback");
    free(dir);

    /* An identical copy elsewhere shares the tree. */
    at(copy, sizeof copy, tars, "copy-of-good.tar");
    copy_file(good_tar, copy);
    rc = unpack(copy, 64 * MiB, &dir, &err);
    tap_ok(rc == 0 && dir && strcmp(dir, good_dir) == 0 && ino_of(good_dir, ".") == root &&
           count_trees() == 1, "copy: an identical archive elsewhere reuses the tree (%s)",
           rc ? err.msg : dir);
    free(dir);

    /* Same size, one byte changed: a new tree. */
    FILE *f = fopen(copy, "r+e");
    char buf[65536];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    char *hit = memmem(buf, n, "key=value", 9);
    if (f && hit) {
        fseek(f, hit - buf, SEEK_SET);
        fputc('K', f);
    }
    if (f)
        fclose(f);
    rc = unpack(copy, 64 * MiB, &dir, &err);
    expected_dir(copy, want, sizeof want);
    tap_ok(hit && rc == 0 && dir && strcmp(dir, want) == 0 && strcmp(dir, good_dir) != 0,
           "modified: same size, new content gives a new tree (%s)", rc ? err.msg : dir);
    tap_is_str(dir ? read_text(at(p, sizeof p, dir, "etc/conf")) : NULL, "Key=value\n",
               "modified: the new tree has the new content");
    tap_ok(count_trees() == 2, "modified: two trees now (%d)", count_trees());
    free(dir);

    /* The tree removed behind our back: unpacked again. */
    rm_rf(good_dir);
    rc = unpack(good_tar, 64 * MiB, &dir, &err);
    tap_ok(rc == 0 && dir && strcmp(dir, good_dir) == 0 &&
           read_text(at(p, sizeof p, good_dir, "bin/run")),
           "removed: the tree comes back (%s)", rc ? err.msg : dir);
    free(dir);
}

static void test_formats(void)
{
    char path[256], p[512];
    zvm_error_t err;
    char *dir = NULL;

    struct archive *a = tw_open(path, sizeof path, "good.tar.gz", FMT_TAR_GZ);
    tw_file(a, "hello", 0644, "gzip\n");
    tap_ok(tw_close(a), "gzip: archive written");
    int rc = unpack(path, MiB, &dir, &err);
    tap_is_str(rc == 0 ? read_text(at(p, sizeof p, dir, "hello")) : err.msg, "gzip\n",
               "gzip: a compressed tar unpacks");
    free(dir);

    a = tw_open(path, sizeof path, "empty.tar", FMT_TAR);
    tap_ok(tw_close(a), "empty tar: archive written");
    rc = unpack(path, MiB, &dir, &err);
    tap_ok(rc == 0 && count_entries(dir, "") == 0, "empty tar: an empty tree (%s)",
           rc ? err.msg : dir);
    free(dir);

    /* The budget: 1000 bytes plus 512 per member, to the byte. */
    a = tw_open(path, sizeof path, "exact.tar", FMT_TAR);
    tw_zeros(a, "f", 1000);
    tap_ok(tw_close(a), "budget: archive written");
    rc = unpack(path, 1511, &dir, &err);
    tap_ok(rc < 0 && strstr(err.msg, "expands past the memory limit (1511 bytes)"),
           "budget: one byte short is refused (%s)", rc ? err.msg : "unpacked");
    free(dir);
    tap_ok(no_temp_left(), "budget: no temporary left");
    rc = unpack(path, 1512, &dir, &err);
    tap_ok(rc == 0, "budget: exactly enough unpacks (%s)", rc ? err.msg : "ok");
    free(dir);
}

/* ---- hostile archives ----------------------------------------------------- */

static char abs_name[256];

static void h_absolute(struct archive *a) { tw_file(a, abs_name, 0644, "pwned\n"); }
static void h_dotdot(struct archive *a) { tw_file(a, "../x", 0644, "pwned\n"); }
static void h_dotdot_deep(struct archive *a) { tw_file(a, "a/../../x", 0644, "pwned\n"); }
static void h_dotdot_inside(struct archive *a) { tw_file(a, "a/../b", 0644, "pwned\n"); }
static void h_link_etc(struct archive *a) { tw_symlink(a, "etc", "/etc"); }
static void h_link_up(struct archive *a) { tw_symlink(a, "up", "../.."); }
static void h_link_up_deep(struct archive *a)
{
    tw_dir(a, "d", 0755);
    tw_symlink(a, "d/up", "../../x");
}
static void h_link_then_write(struct archive *a)
{
    tw_symlink(a, "link", outside);
    tw_file(a, "link/pwned", 0644, "pwned\n");
}
static void h_through_self(struct archive *a)
{
    tw_symlink(a, "self", ".");
    tw_file(a, "self/pwned", 0644, "pwned\n");
}
static void h_through_up(struct archive *a)
{
    tw_symlink(a, "d/up", "..");
    tw_file(a, "d/up/pwned", 0644, "pwned\n");
}
static void h_link_chain(struct archive *a)
{
    /* Lexically inside, yet d/up is the root, so e would be above it. */
    tw_symlink(a, "d/up", "..");
    tw_symlink(a, "e", "d/up/..");
}
static void h_replace_by_link(struct archive *a)
{
    tw_file(a, "f", 0644, "first\n");
    tw_symlink(a, "f", "/etc/passwd");
}
static void h_hard_passwd(struct archive *a) { tw_hardlink(a, "h", "/etc/passwd"); }
static void h_hard_dotdot(struct archive *a) { tw_hardlink(a, "h", "../x"); }
static void h_hard_missing(struct archive *a)
{
    tw_hardlink(a, "h", "later");
    tw_file(a, "later", 0644, "later\n");
}
static void h_hard_through_link(struct archive *a)
{
    tw_file(a, "f", 0644, "f\n");
    tw_symlink(a, "self", ".");
    tw_hardlink(a, "h", "self/f");
}
static void h_hard_dir(struct archive *a)
{
    tw_dir(a, "d", 0755);
    tw_hardlink(a, "h", "d");
}
/* A symlink that is inside the tree where it was made, hard-linked to a
 * place where the same target climbs out: from the root, eight ".." reach
 * the host's / and the link would be the host's /etc/passwd. */
static void h_hard_to_symlink(struct archive *a)
{
    tw_symlink(a, "a/b/c/d/e/f/g/h/s", "../../../../../../../../etc/passwd");
    tw_hardlink(a, "p", "a/b/c/d/e/f/g/h/s");
}
static void h_hard_to_symlink_deeper(struct archive *a)
{
    tw_symlink(a, "a/s", "../x");
    tw_hardlink(a, "q", "a/s");
}
static void h_hard_to_symlink_then_write(struct archive *a)
{
    tw_symlink(a, "a/b/up", "..");
    tw_hardlink(a, "up", "a/b/up");
    tw_file(a, "up/pwned", 0644, "pwned\n");
}
static void h_chr(struct archive *a) { tw_entry(a, "dev/null", AE_IFCHR, 0666, NULL, false, NULL, 0); }
static void h_blk(struct archive *a) { tw_entry(a, "dev/sda", AE_IFBLK, 0660, NULL, false, NULL, 0); }
static void h_fifo(struct archive *a) { tw_entry(a, "fifo", AE_IFIFO, 0644, NULL, false, NULL, 0); }
static void h_root_file(struct archive *a) { tw_file(a, ".", 0644, "root\n"); }
static void h_replace_dir(struct archive *a)
{
    tw_file(a, "d/f", 0644, "f\n");
    tw_file(a, "d", 0644, "d\n");
}
static void h_too_deep(struct archive *a)
{
    char name[1024] = "";
    for (int i = 0; i < 300; i++)
        strcat(name, "a/");
    strcat(name, "f");
    tw_file(a, name, 0644, "deep\n");
}
static void h_bomb(struct archive *a) { tw_zeros(a, "zeros", 4 * MiB); }
static void h_many_files(struct archive *a)
{
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%02d", i);
        tw_zeros(a, name, 32 * 1024);
    }
}
static void h_many_dirs(struct archive *a)
{
    for (int i = 0; i < 3000; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%04d", i);
        tw_dir(a, name, 0755);
    }
}

struct hostile {
    const char *what;
    void (*fill)(struct archive *);
    uint64_t max;
    const char *want;
};

static const struct hostile hostiles[] = {
    {"absolute path", h_absolute, MiB, "is absolute"},
    {"'../x'", h_dotdot, MiB, "member '../x' climbs out of the image"},
    {"'a/../../x'", h_dotdot_deep, MiB, "member 'a/../../x' climbs out of the image"},
    {"'a/../b'", h_dotdot_inside, MiB, "member 'a/../b' has a '..' component"},
    {"symlink to /etc", h_link_etc, MiB, "symlink 'etc' -> '/etc': target is absolute"},
    {"symlink '../..'", h_link_up, MiB, "symlink 'up' -> '../..': target climbs out"},
    {"symlink 'd/up' -> '../../x'", h_link_up_deep, MiB, "target climbs out of the image"},
    {"symlink to outside, then a file through it", h_link_then_write, MiB,
     "symlink 'link' -> '/tmp/"},
    {"file through symlink '.'", h_through_self, MiB,
     "member 'self/pwned' passes through 'self', which is not a directory"},
    {"file through symlink '..'", h_through_up, MiB,
     "member 'd/up/pwned' passes through 'd/up', which is not a directory"},
    {"symlink chain climbing out", h_link_chain, MiB,
     "symlink 'e' -> 'd/up/..': target has '..' after a name"},
    {"file replaced by a symlink to /etc/passwd", h_replace_by_link, MiB, "target is absolute"},
    {"hardlink to /etc/passwd", h_hard_passwd, MiB,
     "hardlink 'h' -> '/etc/passwd': target is absolute"},
    {"hardlink to '../x'", h_hard_dotdot, MiB, "hardlink 'h' -> '../x': target climbs out"},
    {"hardlink to a later member", h_hard_missing, MiB, "target is not in the image"},
    {"hardlink through a symlink", h_hard_through_link, MiB,
     "hardlink 'h' -> 'self/f': target passes through a non-directory"},
    {"hardlink to a directory", h_hard_dir, MiB, "target is a directory"},
    {"hardlink moving a symlink up to the host's /etc/passwd", h_hard_to_symlink, MiB,
     "hardlink 'p' -> 'a/b/c/d/e/f/g/h/s': target is a symlink to "
     "'../../../../../../../../etc/passwd', which from 'p' climbs out of the image"},
    {"hardlink moving a symlink '../x' to the root", h_hard_to_symlink_deeper, MiB,
     "hardlink 'q' -> 'a/s': target is a symlink to '../x', which from 'q' climbs out"},
    {"hardlink of a symlink '..' to the root, then a file through it",
     h_hard_to_symlink_then_write, MiB, "hardlink 'up' -> 'a/b/up': target is a symlink to '..'"},
    {"character device", h_chr, MiB, "member 'dev/null' is a character device"},
    {"block device", h_blk, MiB, "member 'dev/sda' is a block device"},
    {"fifo", h_fifo, MiB, "member 'fifo' is a fifo"},
    {"file named '.'", h_root_file, MiB, "names the image root"},
    {"file over a non-empty directory", h_replace_dir, MiB,
     "member 'd' would replace a non-empty directory"},
    {"300 levels deep", h_too_deep, MiB, "is nested too deep"},
    {"tar bomb", h_bomb, MiB, "expands past the memory limit (1048576 bytes)"},
    {"many small files", h_many_files, MiB, "expands past the memory limit (1048576 bytes)"},
    {"3000 empty directories", h_many_dirs, MiB, "expands past the memory limit (1048576 bytes)"},
};

static void test_hostile_list(void)
{
    snprintf(abs_name, sizeof abs_name, "%s/abs", outside);
    for (size_t i = 0; i < sizeof hostiles / sizeof hostiles[0]; i++) {
        const struct hostile *h = &hostiles[i];
        char name[32], path[256];
        snprintf(name, sizeof name, "hostile-%02zu.tar", i);
        write_tar(h->what, name, h->fill);
        expect_refused(h->what, at(path, sizeof path, tars, name), h->max, h->want);
    }
}

static void test_hostile_other(void)
{
    char path[256];

    struct archive *a = tw_open(path, sizeof path, "bomb.tar.gz", FMT_TAR_GZ);
    tw_zeros(a, "zeros", 4 * MiB);
    tap_ok(tw_close(a), "gzip bomb: archive written");
    struct stat st = {0};
    stat(path, &st);
    tap_ok(st.st_size < 64 * 1024, "gzip bomb: archive is small (%jd bytes)", (intmax_t)st.st_size);
    expect_refused("gzip bomb", path, MiB, "expands past the memory limit (1048576 bytes)");

    /* Zip with the size only after the data: no header size to trust. */
    a = tw_open(path, sizeof path, "bomb.zip", FMT_ZIP);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "zeros");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_unset_size(e);
    static const char zeros[65536];
    if (archive_write_header(a, e) < ARCHIVE_WARN)
        tw_fail(a, "zeros");
    for (int i = 0; i < 64; i++)
        archive_write_data(a, zeros, sizeof zeros);
    archive_entry_free(e);
    tap_ok(tw_close(a), "zip bomb without sizes: archive written");
    expect_refused("zip bomb without sizes", path, MiB, "expands past the memory limit");

    a = tw_open(path, sizeof path, "socket.cpio", FMT_CPIO);
    tw_entry(a, "sock", AE_IFSOCK, 0755, NULL, false, NULL, 0);
    tap_ok(tw_close(a), "socket: archive written");
    expect_refused("socket (cpio)", path, MiB, "member 'sock' is a socket");

    /* A good archive cut in the middle of a member's data. */
    a = tw_open(path, sizeof path, "truncated.tar", FMT_TAR);
    char *data = malloc(200 * 1024);
    for (size_t i = 0; i < 200 * 1024; i++)
        data[i] = (char)('a' + i % 26);
    tw_file(a, "first", 0644, "first\n");
    tw_entry(a, "big", AE_IFREG, 0644, NULL, false, data, 200 * 1024);
    free(data);
    tap_ok(tw_close(a) && truncate(path, 100 * 1024) == 0, "truncated: archive written and cut");
    expect_refused("truncated", path, 64 * MiB, "member 'big' is truncated or corrupt");

    a = tw_open(path, sizeof path, "cut-header.tar", FMT_TAR);
    tw_file(a, "first", 0644, "first\n");
    tw_file(a, "second", 0644, "second\n");
    /* first's header and data take two blocks; cut inside second's header */
    tap_ok(tw_close(a) && truncate(path, 1024 + 200) == 0, "cut header: archive written and cut");
    expect_refused("cut in a header", path, 64 * MiB, "not a readable archive");

    a = tw_open(path, sizeof path, "truncated.tar.gz", FMT_TAR_GZ);
    for (int i = 0; i < 64; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "f%02d", i);
        snprintf(text, sizeof text, "file %d of a compressed archive %d\n", i, i * 7919);
        tw_file(a, name, 0644, text);
    }
    tap_ok(tw_close(a) && stat(path, &st) == 0 && truncate(path, st.st_size / 2) == 0,
           "truncated gzip: archive written and cut");
    expect_refused("truncated gzip", path, 64 * MiB, "image '");

    unsigned char junk[65536];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        junk[i] = (unsigned char)x;
    }
    tap_ok(write_bytes(at(path, sizeof path, tars, "garbage.tar"), junk, sizeof junk),
           "garbage: file written");
    expect_refused("random garbage", path, 64 * MiB, "not a readable archive: ");

    tap_ok(write_bytes(at(path, sizeof path, tars, "empty-file.tar"), "", 0), "empty: file written");
    expect_refused("empty file", path, 64 * MiB, "not a readable archive: empty file");

    expect_refused("missing file", at(path, sizeof path, tars, "missing.tar"), 64 * MiB,
                   "cannot open: No such file or directory");
    expect_refused("a directory", tars, 64 * MiB, "not a regular file");

    /* mtree: text whose entries name host files to read. */
    char secret[512], text[1024];
    snprintf(secret, sizeof secret, "%s/secret", tmp);
    write_bytes(secret, "secret\n", 7);
    snprintf(text, sizeof text, "#mtree\nleak type=file mode=0644 contents=%s\n", secret);
    tap_ok(write_bytes(at(path, sizeof path, tars, "leak.mtree"), text, strlen(text)),
           "mtree: file written");
    expect_refused("mtree naming a host file", path, 64 * MiB, "not a readable archive");
    unlink(secret);
}

/* ---- the archive module on its own ----------------------------------------- */

static zvm_tar_t *tar_open_path(const char *path, int *fd, uint64_t max_members, zvm_error_t *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    zvm_tar_limits_t lim = {.max_bytes = 64 * MiB, .max_members = max_members};
    zvm_tar_t *t = *fd < 0 ? NULL : zvm_tar_open(*fd, "test", &lim, NULL, NULL, err);
    if (!t && *fd >= 0)
        close(*fd);
    return t;
}

static void test_tar_api(void)
{
    char path[256], dest[256], p[512];
    zvm_error_t err = {0};
    int fd;

    /* A member-count bomb: every member is checked against the count. */
    struct archive *a = tw_open(path, sizeof path, "members.tar", FMT_TAR);
    for (int i = 0; i < 101; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%03d", i);
        tw_file(a, name, 0644, "");
    }
    tap_ok(tw_close(a), "members: archive written");
    zvm_tar_t *t = tar_open_path(path, &fd, 100, &err);
    zvm_tar_member_t m;
    int rc = 0, n = 0;
    while (t && (rc = zvm_tar_next(t, &m, &err)) > 0)
        n++;
    tap_ok(t && rc < 0 && n == 100 && strstr(err.msg, "test: has more than 100 members (at 'f100')"),
           "members: the 101st of at most 100 is refused, named (%s)", err.msg);
    zvm_tar_free(t);
    if (fd >= 0)
        close(fd);

    /* A destination where someone planted a symlink: the kernel refuses
     * the path through it (RESOLVE_NO_SYMLINKS), nothing lands outside. */
    a = tw_open(path, sizeof path, "planted.tar", FMT_TAR);
    tw_file(a, "evil/pwned", 0644, "pwned\n");
    tap_ok(tw_close(a), "planted: archive written");
    at(dest, sizeof dest, tmp, "dest");
    mkdir(dest, 0700);
    tap_ok(symlink(outside, at(p, sizeof p, dest, "evil")) == 0, "planted: symlink planted");
    t = tar_open_path(path, &fd, 0, &err);
    int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = t ? zvm_tar_unpack(t, dfd, &err) : -1;
    tap_ok(rc < 0 && strstr(err.msg, "test: member 'evil/pwned' passes through 'evil', which is not a directory"),
           "planted: a symlink in the destination is never followed (%s)", err.msg);
    tap_ok(count_entries(outside, "") == 0, "planted: nothing written outside");
    zvm_tar_free(t);
    close(dfd);
    if (fd >= 0)
        close(fd);
    rm_rf(dest);

    /* Reading members into memory: the same checks, the data bounded. */
    a = tw_open(path, sizeof path, "read.tar", FMT_TAR);
    tw_file(a, "./boot/map", 0644, "0123456789");
    tw_entry(a, "dev/x", AE_IFCHR, 0666, NULL, false, NULL, 0);
    tap_ok(tw_close(a), "read: archive written");
    t = tar_open_path(path, &fd, 0, &err);
    char *data = NULL;
    size_t len = 0;
    rc = t ? zvm_tar_next(t, &m, &err) : -1;
    tap_ok(rc == 1 && strcmp(m.path, "boot/map") == 0 && m.kind == ZVM_TAR_FILE && m.size == 10,
           "read: first member, its path normalised ('%s')", rc == 1 ? m.path : err.msg);
    rc = rc == 1 ? zvm_tar_read_all(t, 9, &data, &len, &err) : -1;
    tap_ok(rc < 0 && strstr(err.msg, "test: member './boot/map' is larger than 9 bytes"),
           "read: data past the caller's bound is refused (%s)", err.msg);
    zvm_tar_free(t);
    close(fd);
    t = tar_open_path(path, &fd, 0, &err);
    rc = t && zvm_tar_next(t, &m, &err) == 1 ? zvm_tar_read_all(t, 10, &data, &len, &err) : -1;
    tap_ok(rc == 0 && len == 10 && strcmp(data, "0123456789") == 0, "read: the data, whole");
    free(data);
    rc = t ? zvm_tar_next(t, &m, &err) : 0;
    tap_ok(rc < 0 && strstr(err.msg, "test: member 'dev/x' is a character device"),
           "read: a device is refused when read too (%s)", err.msg);
    zvm_tar_free(t);
    close(fd);
}

/* A kernel without openat2 (before 5.6, or a filter refusing it): the
 * unpacker says so, naming the feature, and writes nothing. */
static void test_no_openat2(void)
{
    char path[256];
    struct archive *a = tw_open(path, sizeof path, "old-kernel.tar", FMT_TAR);
    tw_file(a, "d/f", 0644, "f\n");
    tap_ok(tw_close(a), "no openat2: archive written");
    int msg[2];
    if (pipe(msg) < 0) {
        tap_ok(0, "no openat2: pipe");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(msg[0]);
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
            _exit(2);
        zvm_error_t err = {0};
        char *dir = NULL;
        int rc = unpack(path, MiB, &dir, &err);
        if (write(msg[1], err.msg, strlen(err.msg)) < 0)
            _exit(3);
        _exit(rc < 0 ? 0 : 1);
    }
    close(msg[1]);
    char got[1024] = "";
    ssize_t n = read(msg[0], got, sizeof got - 1);
    got[n > 0 ? n : 0] = '\0';
    close(msg[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
           strstr(got, "cannot unpack: the kernel lacks openat2 (Linux 5.6 or later"),
           "no openat2: refused, naming the missing kernel feature (%s)", got);
    tap_ok(no_temp_left(), "no openat2: no temporary left");
}

/* ---- concurrency ------------------------------------------------------------ */

static void test_concurrent(void)
{
    char path[256], want[512];
    struct archive *a = tw_open(path, sizeof path, "race.tar", FMT_TAR);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%d/f%d", i % 10, i);
        tw_zeros(a, name, 4096);
    }
    tap_ok(tw_close(a), "race: archive written");
    expected_dir(path, want, sizeof want);
    int trees = count_trees();

    enum { N = 4 };
    int gate[2];
    if (pipe(gate) < 0) {
        tap_ok(0, "race: pipe");
        return;
    }
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) < 0)
                _exit(2);
            zvm_error_t err;
            char *dir = NULL;
            int rc = zvm_image_unpack(path, cache, 64 * MiB, &dir, NULL, &err);
            _exit(rc == 0 && strcmp(dir, want) == 0 ? 0 : 1);
        }
    }
    close(gate[0]);
    close(gate[1]);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        int status = 0;
        if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            ok++;
    }
    tap_ok(ok == N, "race: %d of %d concurrent runs got the tree", ok, N);
    tap_ok(count_trees() == trees + 1 && no_temp_left(), "race: one tree, no temporary left");
    tap_ok(count_entries(want, "") == 10, "race: the tree is complete");
}

/* ---- the bound: least recently used trees go, held ones stay ------------------ */

static char pcache[128];       /* a cache of its own for these tests */

/* tars/lru-<i>.tar: one 10000-byte member "f" holding i, so it expands to
 * 10512 bytes (data plus 512 per member). */
#define LRU_TREE 10512u

static const char *lru_tar(int i, char *path, size_t size)
{
    char name[32];
    snprintf(name, sizeof name, "lru-%d.tar", i);
    at(path, size, tars, name);
    struct stat st;
    if (stat(path, &st) == 0)
        return path;
    struct archive *a = tw_open(path, size, name, FMT_TAR);
    char data[10000];
    memset(data, 'a' + i % 26, sizeof data);
    snprintf(data, sizeof data, "%d", i);
    tw_entry(a, "f", AE_IFREG, 0644, NULL, false, data, sizeof data);
    tw_close(a);
    return path;
}

/* Unpack lru-<i>.tar into pcache; its tree's hex into hex (when given); the
 * hold, when asked for, into *hold. */
static int lru_unpack(int i, char hex[65], int *hold)
{
    char path[256];
    zvm_error_t err = {0};
    char *dir = NULL;
    int rc = zvm_image_unpack(lru_tar(i, path, sizeof path), pcache, 64 * MiB, &dir, hold, &err);
    if (rc < 0)
        printf("# lru-%d: %s\n", i, err.msg);
    if (hex)
        snprintf(hex, 65, "%s", rc == 0 ? strrchr(dir, '/') + 1 : "");
    free(dir);
    return rc;
}

static bool tree_there(const char *hex)
{
    char p[512];
    snprintf(p, sizeof p, "%s/images/%s/f", pcache, hex);
    return access(p, F_OK) == 0;
}

/* Make a tree look used at time t (seconds): the order of use, without
 * depending on the clock. */
static void used_at(const char *hex, time_t t)
{
    char p[512];
    snprintf(p, sizeof p, "%s/images/%s", pcache, hex);
    struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
    utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

static int pcount(void)
{
    char p[256];
    return count_entries(at(p, sizeof p, pcache, "images"), "") -
           count_entries(at(p, sizeof p, pcache, "images"), ".");
}

static void set_bound(uint64_t bytes)
{
    char v[32];
    snprintf(v, sizeof v, "%" PRIu64, bytes);
    setenv("ZEROVM_IMAGE_CACHE_MAX", v, 1);
}

static void test_prune(void)
{
    char hex[12][65];
    at(pcache, sizeof pcache, tmp, "pcache");
    mkdir(pcache, 0700);

    /* Room for three trees: the fourth and fifth push out the oldest. */
    set_bound(3 * LRU_TREE + 100);
    bool ok = true;
    for (int i = 1; i <= 5; i++) {
        ok &= lru_unpack(i, hex[i], NULL) == 0;
        used_at(hex[i], 1000 + i);
    }
    tap_ok(ok && pcount() == 3, "bound: five trees into room for three leave three (%d)", pcount());
    tap_ok(!tree_there(hex[1]) && !tree_there(hex[2]) && tree_there(hex[3]) && tree_there(hex[4]) &&
           tree_there(hex[5]), "bound: the two least recently used went, the newest stayed");
    char p[512];
    snprintf(p, sizeof p, "%s/images/.%s.size", pcache, hex[1]);
    tap_ok(access(p, F_OK) < 0 && count_entries(at(p, sizeof p, pcache, "images"), ".tmp-") == 0, "bound: a pruned tree's size record went too");

    /* A hit is a use: lru-3, used again, outlives lru-4. */
    ok = lru_unpack(3, NULL, NULL) == 0;
    ok &= lru_unpack(6, hex[6], NULL) == 0;
    tap_ok(ok && tree_there(hex[3]) && !tree_there(hex[4]) && tree_there(hex[5]) &&
           tree_there(hex[6]), "bound: a tree used again is kept, the one used least recently goes");

    /* Held by a running process: survives a bound of 0, goes once released. */
    int ready[2], release[2];
    if (pipe(ready) < 0 || pipe(release) < 0) {
        tap_ok(0, "held: pipes");
        return;
    }
    ok = lru_unpack(7, hex[7], NULL) == 0; /* made here: the child's is a hit */
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(release[1]);
        int hold = -1;
        char c = lru_unpack(7, NULL, &hold) == 0 && hold >= 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(release[0], &c, 1) < 0)
            _exit(2);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    char c = 0;
    ok &= read(ready[0], &c, 1) == 1 && c == 'y';
    used_at(hex[7], 1); /* the oldest of all */
    set_bound(0);
    ok &= lru_unpack(8, hex[8], NULL) == 0;
    tap_ok(ok && tree_there(hex[7]), "held: a tree a running process holds survives a bound of 0");
    tap_ok(!tree_there(hex[3]) && !tree_there(hex[5]) && !tree_there(hex[6]),
           "held: the trees no one holds went (%d left)", pcount());
    tap_ok(tree_there(hex[8]), "held: the tree being unpacked is held until it is returned");
    close(release[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    close(ready[0]);
    ok = lru_unpack(9, hex[9], NULL) == 0;
    tap_ok(ok && !tree_there(hex[7]) && !tree_there(hex[8]) && tree_there(hex[9]) && pcount() == 1,
           "held: released, it goes at the next prune (%d left)", pcount());

    /* Two processes filling one cache with room for one tree: every tree a
     * run holds stays whole while held, and nothing half-made is left. */
    set_bound(LRU_TREE);
    /* The shared archive is written before the workers start: a worker
     * must not read it while the other one is still writing it. */
    char shared[256];
    lru_tar(19, shared, sizeof shared);
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            int bad = 0;
            for (int round = 0; round < 40; round++) {
                /* Every third round both use one archive: hits on a tree
                 * the other process may be pruning. */
                int i = round % 3 == 0 ? 19 : 20 + w * 40 + round, hold = -1;
                char h[65], f[512], got[16] = "";
                if (lru_unpack(i, h, &hold) < 0 || hold < 0) {
                    bad++;
                    continue;
                }
                snprintf(f, sizeof f, "%s/images/%s/f", pcache, h);
                FILE *in = fopen(f, "re");
                if (!in || !fgets(got, sizeof got, in) || atoi(got) != i) {
                    printf("# worker %d round %d: lru-%d's tree %s: %s\n", w, round, i, h,
                           in ? "wrong content" : strerror(errno));
                    bad++;
                }
                if (in)
                    fclose(in);
                close(hold);
            }
            fflush(stdout);
            _exit(bad ? 1 : 0);
        }
    }
    int good = 0;
    for (int w = 0; w < 2; w++)
        if (pids[w] > 0 && waitpid(pids[w], &status, 0) == pids[w] && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            good++;
    at(p, sizeof p, pcache, "images");
    tap_ok(good == 2, "two processes: every held tree was whole while held (%d of 2 clean)", good);
    tap_ok(count_entries(p, ".tmp-") == 0 && count_entries(p, ".trash-") == 0 && pcount() <= 2,
           "two processes: no temporary or trash left, the bound kept (%d trees)", pcount());
    unsetenv("ZEROVM_IMAGE_CACHE_MAX");

    setenv("ZEROVM_IMAGE_CACHE_MAX", "lots", 1);
    zvm_error_t err = {0};
    char *dir = NULL, path[256];
    int rc = zvm_image_unpack(lru_tar(1, path, sizeof path), pcache, 64 * MiB, &dir, NULL, &err);
    tap_ok(rc < 0 && strcmp(err.msg, "ZEROVM_IMAGE_CACHE_MAX: bad size 'lots' (bytes, a decimal number)") == 0,
           "bound: a bad ZEROVM_IMAGE_CACHE_MAX is an error naming it (%s)", err.msg);
    free(dir);
    unsetenv("ZEROVM_IMAGE_CACHE_MAX");
}

/* ---- the cache directory ------------------------------------------------------ */

static void test_cache_dir(void)
{
    zvm_error_t err;
    char want[512], p[256];
    const char *saved_home = getenv("HOME");
    char *home = saved_home ? strdup(saved_home) : NULL;

    snprintf(want, sizeof want, "%s/cd/deep/er", tmp);
    setenv("ZEROVM_CACHE_DIR", want, 1);
    char *dir = zvm_cache_dir(&err);
    tap_is_str(dir, want, "cache dir: $ZEROVM_CACHE_DIR, parents made");
    tap_ok((mode_of(want, ".") & 07777) == 0700, "cache dir: made 0700 (%o)",
           mode_of(want, ".") & 07777);
    free(dir);

    unsetenv("ZEROVM_CACHE_DIR");
    snprintf(p, sizeof p, "%s/xdg/cache", tmp);
    setenv("XDG_CACHE_HOME", p, 1);
    snprintf(want, sizeof want, "%s/zerovm", p);
    dir = zvm_cache_dir(&err);
    tap_is_str(dir, want, "cache dir: $XDG_CACHE_HOME/zerovm, parents made");
    free(dir);

    setenv("XDG_CACHE_HOME", "relative/cache", 1);
    snprintf(p, sizeof p, "%s/home", tmp);
    setenv("HOME", p, 1);
    snprintf(want, sizeof want, "%s/home/.cache/zerovm", tmp);
    dir = zvm_cache_dir(&err);
    tap_is_str(dir, want, "cache dir: a relative $XDG_CACHE_HOME is ignored for ~/.cache/zerovm");
    free(dir);
    unsetenv("XDG_CACHE_HOME");

    /* A HOME where nothing can be made (a file in the way): /tmp/zerovm-<uid>. */
    snprintf(p, sizeof p, "%s/home-file", tmp);
    write_bytes(p, "x", 1);
    setenv("HOME", p, 1);
    snprintf(want, sizeof want, "/tmp/zerovm-%u", (unsigned)geteuid());
    dir = zvm_cache_dir(&err);
    tap_is_str(dir, want, "cache dir: an unusable HOME falls back to /tmp/zerovm-<uid>");
    free(dir);

    snprintf(p, sizeof p, "%s/open", tmp);
    mkdir(p, 0777);
    chmod(p, 0777);
    setenv("ZEROVM_CACHE_DIR", p, 1);
    dir = zvm_cache_dir(&err);
    tap_ok(!dir && strstr(err.msg, "is writable by group or others"),
           "cache dir: a world-writable one is refused (%s)", dir ? dir : err.msg);
    free(dir);

    snprintf(p, sizeof p, "%s/plain", tmp);
    write_bytes(p, "x", 1);
    setenv("ZEROVM_CACHE_DIR", p, 1);
    dir = zvm_cache_dir(&err);
    tap_ok(!dir && strstr(err.msg, "is not a directory"), "cache dir: a file is refused (%s)",
           dir ? dir : err.msg);
    free(dir);

    if (geteuid() == 0) {
        snprintf(p, sizeof p, "%s/theirs", tmp);
        mkdir(p, 0700);
        tap_ok(chown(p, 12345, 12345) == 0, "cache dir: chown to another user");
        setenv("ZEROVM_CACHE_DIR", p, 1);
        dir = zvm_cache_dir(&err);
        tap_ok(!dir && strstr(err.msg, "is owned by uid 12345"),
               "cache dir: one owned by another user is refused (%s)", dir ? dir : err.msg);
        free(dir);
    } else {
        tap_skip("cache dir: owned by another user (needs root to chown)");
        tap_skip("cache dir: owned by another user");
    }
    unsetenv("ZEROVM_CACHE_DIR");
    if (home)
        setenv("HOME", home, 1);
    free(home);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/zvm-test-image-XXXXXX");
    if (!mkdtemp(tmp)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    umask(022);
    at(cache, sizeof cache, tmp, "cache");
    at(outside, sizeof outside, tmp, "outside");
    at(tars, sizeof tars, tmp, "tars");
    mkdir(cache, 0700);
    mkdir(outside, 0755);
    mkdir(tars, 0755);

    int fds = count_entries("/proc/self/fd", "");
    char good_tar[256] = "", good_dir[512] = "";
    test_good(good_tar, good_dir);
    if (*good_dir)
        test_cache_hits(good_tar, good_dir);
    test_formats();
    test_hostile_list();
    test_hostile_other();
    test_tar_api();
    test_no_openat2();
    test_concurrent();
    test_prune();
    test_cache_dir();
    tap_ok(count_entries("/proc/self/fd", "") == fds, "no file descriptor leaked (%d, %d)", fds,
           count_entries("/proc/self/fd", ""));

    if (!getenv("KEEP")) rm_rf(tmp); else printf("# kept %s\n", tmp);
    return tap_done();
}
