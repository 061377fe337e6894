/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libzvmjob without running anything: job parsing and its messages, URLs,
 * expansion (count, wildcards, names, connect) against a fake storage, the
 * dry-run JSON, container devices, and the local storage's listing and
 * atomic outputs; reading an app's map with a bound on its expansion.
 */
#include <errno.h>
#include <stdbool.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "tap.h"
#include "zvm/job.h"

static void parse_fails(const char *text, const char *want)
{
    zvm_job_t job;
    zvm_error_t err = {0};
    int rc = zvm_job_parse(&job, text, strlen(text), &err);
    tap_ok(rc < 0, "refused: %s", want);
    tap_is_str(rc < 0 ? err.msg : NULL, want, "message: %s", want);
}

/* A fake storage: container "data" holds b.txt, a.txt, c.bin (unsorted). */
static int fake_list(zvm_storage_t *st, const char *acct, const char *cont, const char *pattern,
                     char ***names, size_t *count, zvm_error_t *err)
{
    (void)st;
    (void)err;
    static const char *const objs[] = {"c.bin", "b.txt", "a.txt"};
    *names = calloc(4, sizeof **names);
    *count = 0;
    if (strcmp(acct, "acct") != 0 || strcmp(cont, "data") != 0)
        return 0;
    for (int i = 2; i >= 0; i--) /* listing order: sorted */
        if (!pattern || fnmatch(pattern, objs[i], 0) == 0)
            (*names)[(*count)++] = strdup(objs[i]);
    if (*count == 2 && strcmp((*names)[0], "b.txt") == 0) {
        char *t = (*names)[0];
        (*names)[0] = (*names)[1];
        (*names)[1] = t;
    }
    return 0;
}

static zvm_storage_t fake = {.list = fake_list};

static int expand(const char *text, zvm_job_nodes_t *nodes, zvm_error_t *err,
                  const zvm_sysimages_t *images)
{
    zvm_job_t job;
    if (zvm_job_parse(&job, text, strlen(text), err) < 0)
        return -1;
    zvm_job_context_t ctx = {.account = "acct", .sysimages = images, .storage = &fake};
    int rc = zvm_job_expand(&job, &ctx, nodes, err);
    zvm_job_release(&job);
    return rc;
}

static void storage_tests(void)
{
    char dir[] = "/tmp/test-job-XXXXXX";
    if (!mkdtemp(dir)) {
        tap_skip("no temporary directory");
        return;
    }
    zvm_error_t err = {0};
    zvm_storage_t *st = zvm_storage_local_new(dir, &err);
    tap_ok(st != NULL, "local storage over %s", dir);
    if (!st)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/a", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/a/c", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/a/c/old.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        tap_ok(0, "cannot create %s", path);
        return;
    }
    fputs("old", f);
    fclose(f);

    zvm_storage_output_t out;
    int rc = st->create(st, "a", "c", "old.txt", &out, &err);
    tap_ok(rc == 0 && strstr(out.host_path, "/.zvapp-tmp.old.txt.") != NULL,
           "create: a temporary next to the target");
    f = rc == 0 ? fopen(out.host_path, "w") : NULL;
    if (f) {
        fputs("new", f);
        fclose(f);
    }
    char **names = NULL;
    size_t n = 0;
    rc = st->list(st, "a", "c", NULL, &names, &n, &err);
    tap_ok(rc == 0 && n == 1 && strcmp(names[0], "old.txt") == 0, "list skips temporaries");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    char *tmp = strdup(out.host_path);
    st->abort(st, &out);
    tap_ok(access(tmp, F_OK) < 0, "abort removes the temporary");
    free(tmp);
    char buf[8] = {0};
    f = fopen(path, "r");
    if (f) {
        if (fread(buf, 1, sizeof buf - 1, f) == 0)
            buf[0] = '\0';
        fclose(f);
    }
    tap_is_str(buf, "old", "abort leaves the object as it was");

    rc = st->create(st, "a", "c", "sub/new.txt", &out, &err);
    f = rc == 0 ? fopen(out.host_path, "w") : NULL;
    if (f) {
        fputs("fresh", f);
        fclose(f);
    }
    rc = rc == 0 ? st->commit(st, &out, &err) : rc;
    char *host = NULL;
    zvm_object_info_t info;
    rc = rc == 0 ? st->open_read(st, "a", "c", "sub/new.txt", &host, &info, &err) : rc;
    tap_ok(rc == 0 && info.size == 5 && strcmp(info.content_type, "text/plain") == 0,
           "commit: the object is there, with its size and type");
    free(host);
    rc = st->list(st, "a", "c", "*.txt", &names, &n, &err);
    tap_ok(rc == 0 && n == 2 && strcmp(names[0], "old.txt") == 0 &&
               strcmp(names[1], "sub/new.txt") == 0,
           "list: sorted, names with '/' below the container");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    rc = st->open_read(st, "a", "c", "nope", &host, &info, &err);
    tap_is_str(rc < 0 ? err.msg : NULL, "Error 404 Not Found while fetching /a/c/nope",
               "open_read of a missing object");
    rc = st->list(st, "a", "nocontainer", NULL, &names, &n, &err);
    tap_ok(rc == 0 && n == 0, "a missing container lists nothing");
    free(names);
    st->destroy(st);

    /* An app tar read through with a bound on what it expands to. */
    char app[600], tar[600];
    snprintf(app, sizeof app, "%s/app", dir);
    snprintf(tar, sizeof tar, "%s/app.tar", dir);
    snprintf(path, sizeof path, "%s/app/boot", dir);
    bool made = mkdir(app, 0755) == 0 && mkdir(path, 0755) == 0;
    snprintf(path, sizeof path, "%s/app/boot/system.map", dir);
    f = made ? fopen(path, "w") : NULL;
    made = f && fputs("[]", f) >= 0;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/app/big", dir);
    f = made ? fopen(path, "w") : NULL;
    for (int i = 0; f && i < 100000; i++)
        fputc('x', f);
    if (f)
        fclose(f);
    rc = f && zvm_job_pack_dir(app, tar, &err) == 0 ? 0 : -1;
    tap_ok(rc == 0, "pack an app with a 100000-byte member (%s)", rc ? err.msg : "ok");
    char *map = NULL;
    size_t mlen = 0;
    rc = zvm_job_tar_read_map_bounded(tar, 1 << 20, &map, &mlen, &err);
    tap_ok(rc == 0 && mlen == 2 && memcmp(map, "[]", 2) == 0, "bounded read: the map");
    free(map);
    map = NULL;
    rc = zvm_job_tar_read_map_bounded(tar, 50000, &map, &mlen, &err);
    tap_ok(rc < 0 && err.code == E2BIG && map == NULL, "bounded read: past the bound is E2BIG");

    /* Hostile app tars: refused by the archive reader, naming the member. */
    static const struct {
        const char *name;
        mode_t type;
        const char *link;
        const char *want;
    } hostile[] = {
        {"../evil", AE_IFREG, NULL, "member '../evil' climbs out of the image"},
        {"/etc/evil", AE_IFREG, NULL, "member '/etc/evil' is absolute"},
        {"dev/null", AE_IFCHR, NULL, "member 'dev/null' is a character device"},
        {"etc", AE_IFLNK, "/etc", "symlink 'etc' -> '/etc': target is absolute"},
        {"up", AE_IFLNK, "..", "symlink 'up' -> '..': target climbs out of the image"},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        bool ok = archive_write_open_filename(a, tar) == ARCHIVE_OK;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, hostile[i].name);
        archive_entry_set_filetype(e, hostile[i].type);
        archive_entry_set_perm(e, 0644);
        if (hostile[i].link)
            archive_entry_set_symlink(e, hostile[i].link);
        ok = ok && archive_write_header(a, e) == ARCHIVE_OK;
        archive_entry_clear(e);
        archive_entry_set_pathname(e, "boot/system.map");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 2);
        ok = ok && archive_write_header(a, e) == ARCHIVE_OK && archive_write_data(a, "[]", 2) == 2;
        archive_entry_free(e);
        ok = archive_write_close(a) == ARCHIVE_OK && ok;
        archive_write_free(a);
        char want[1200];
        snprintf(want, sizeof want, "'%s': %s", tar, hostile[i].want);
        map = NULL;
        rc = ok ? zvm_job_tar_read_map(tar, &map, &mlen, &err) : 0;
        tap_ok(rc < 0 && map == NULL && strcmp(err.msg, want) == 0,
               "app tar with %s: refused (%s)", hostile[i].name, err.msg);
        rc = ok ? zvm_job_tar_read_map_bounded(tar, 1 << 20, &map, &mlen, &err) : 0;
        tap_ok(rc < 0 && map == NULL && strcmp(err.msg, want) == 0,
               "app tar with %s, bounded: refused (%s)", hostile[i].name, err.msg);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
    parse_fails("[]", "Config parser cannot resolve any job nodes");
    parse_fails("[{\"exec\":{\"path\":\"file://python3:python3\"}}]", "Must specify node name");
    parse_fails("[{\"name\":\"\"}]", "Must specify node name");
    parse_fails("[{\"name\":\"a\"}]", "Must specify exec stanza for a");
    parse_fails("[{\"name\":\"a\",\"exec\":\"x\"}]", "Must specify exec stanza for a");
    parse_fails("[{\"name\":\"a\",\"exec\":{}}]", "Must specify executable path for a");
    parse_fails("[{\"name\":\"a\",\"exec\":{\"path\":\"swift://acct\"}}]", "Invalid path swift://acct in a");
    parse_fails("[{\"name\":\"a\",\"exec\":{\"path\":\"file://x\"}}]", "Invalid path file://x in a");
    parse_fails("[{\"name\":\"a\",\"exec\":{\"path\":\"file://py:p\"},\"devices\":[{\"name\":\"input\","
                "\"path\":\"swift://~/c/a,b\"}]}]",
                "Invalid path swift://~/c/a,b in a");
    parse_fails("[{\"name\":\"a/b\",\"exec\":{\"path\":\"file://py:p\"}}]",
                "Invalid node name a/b: use letters, digits, '.', '_' and '-'");
    parse_fails("[{\"name\":\"a\",\"exec\":{\"path\":\"file://py:p\"}},{\"name\":\"a\",\"exec\":{\"path\":\"file://py:p\"}}]",
                "Duplicate node name a");

    zvm_job_url_t u;
    tap_ok(zvm_job_url_parse("swift://~/c/dir/o.txt", &u) == 0 && !u.is_file &&
               strcmp(u.account, "~") == 0 && strcmp(u.container, "c") == 0 &&
               strcmp(u.object, "dir/o.txt") == 0,
           "url: swift with an object below a pseudo-directory");
    zvm_job_url_release(&u);
    tap_ok(zvm_job_url_parse("file://python2.7:python", &u) == 0 && u.is_file &&
               strcmp(u.image, "python2.7") == 0 && strcmp(u.exe, "python") == 0,
           "url: file://image:argv0");
    zvm_job_url_release(&u);
    tap_ok(zvm_job_url_parse("swift://a/c/x/../y", &u) < 0, "url: '..' refused");
    tap_ok(zvm_job_url_parse("swift://a/c*/y", &u) < 0, "url: wildcard in a container refused");

    zvm_sysimages_t images;
    zvm_error_t err = {0};
    unsetenv("ZEROVM_SYSIMAGES");
    if (zvm_sysimages_load(&images, &err) < 0) {
        tap_ok(0, "system images: %s", err.msg);
        return tap_done();
    }
    zvm_job_nodes_t nodes;
    int rc = expand("[{\"name\":\"map\",\"exec\":{\"path\":\"file://python2.7:python\",\"args\":\"m.py\"},"
                    "\"devices\":[{\"name\":\"python2.7\"},{\"name\":\"input\",\"path\":\"swift://~/data/*.txt\"},"
                    "{\"name\":\"output\",\"path\":\"swift://~/out/*.count\"}],\"connect\":[\"reduce\"]},"
                    "{\"name\":\"reduce\",\"exec\":{\"path\":\"file://python3:python3\"}}]",
                    &nodes, &err, &images);
    tap_ok(rc == 0 && nodes.count == 3, "expand: 2 matches + 1 reducer (%s)", err.msg);
    if (rc == 0) {
        tap_is_str(nodes.nodes[0].name, "map-1", "wildcard nodes are <group>-1..N");
        tap_is_str(nodes.nodes[0].devices[1].object, "a.txt", "listing order");
        tap_is_str(nodes.nodes[1].devices[2].object, "b.count", "a '*' output takes the capture");
        tap_is_str(nodes.nodes[0].argv0, "python", "argv[0] is the part after ':'");
        tap_ok(nodes.nodes[0].attach == 1, "attached to the wildcard input");
        tap_ok(nodes.nodes[2].nin == 2 && nodes.nodes[0].nout == 1 && nodes.nodes[0].out_to[0] == 2,
               "connect: each map writes to reduce, reduce reads both");
        tap_ok(nodes.nodes[2].id == 3 && strcmp(nodes.nodes[2].name, "reduce") == 0,
               "a single node keeps the group's name");
        char *j = zvm_job_nodes_json(&nodes);
        json_t *o = j ? json_loads(j, 0, NULL) : NULL;
        tap_ok(json_is_array(o) && json_array_size(o) == 3 &&
                   strcmp(json_string_value(json_object_get(json_array_get(o, 2), "name")), "reduce") == 0,
               "nodes as JSON");
        json_decref(o);
        free(j);
        zvm_job_nodes_release(&nodes);
    }
    rc = expand("[{\"name\":\"w\",\"count\":3,\"exec\":{\"path\":\"swift://~/bin/prog\"},"
                "\"devices\":[{\"name\":\"stdout\",\"path\":\"swift://~/out/log-*\"}]}]",
                &nodes, &err, &images);
    tap_ok(rc == 0 && nodes.count == 3, "count: 3 nodes");
    if (rc == 0) {
        tap_is_str(nodes.nodes[2].devices[0].object, "log-w-3", "a '*' output takes the node name");
        tap_is_str(nodes.nodes[0].exec_path, "swift://acct/bin/prog", "'~' is the caller's account");
        tap_is_str(nodes.nodes[0].argv0, "prog", "argv[0] of a swift program: its object name");
        zvm_job_nodes_release(&nodes);
    }
    rc = expand("[{\"name\":\"m\",\"exec\":{\"path\":\"file://python3:p\"},\"devices\":"
                "[{\"name\":\"input\",\"path\":\"swift://~/data/*.zip\"}]}]",
                &nodes, &err, &images);
    tap_is_str(rc < 0 ? err.msg : NULL, "No objects found in path swift://~/data/*.zip", "no match");
    rc = expand("[{\"name\":\"m\",\"exec\":{\"path\":\"file://python3:p\"},\"devices\":[{\"name\":\"tape\"}]}]",
                &nodes, &err, &images);
    tap_is_str(rc < 0 ? err.msg : NULL, "Unknown device tape in m", "unknown device");
    rc = expand("[{\"name\":\"m\",\"count\":2,\"exec\":{\"path\":\"file://python3:p\"},\"devices\":"
                "[{\"name\":\"output\",\"path\":\"swift://~/o/same\"}]}]",
                &nodes, &err, &images);
    tap_is_str(rc < 0 ? err.msg : NULL, "Output swift://acct/o/same is written by m-1 and m-2",
               "one object written by two nodes");
    /* A container as a readable device: its listing (object NULL), not an attachment. */
    rc = expand("[{\"name\":\"q\",\"exec\":{\"path\":\"file://python3:p\"},\"devices\":"
                "[{\"name\":\"input\",\"path\":\"swift://~/data\"}]}]",
                &nodes, &err, &images);
    tap_ok(rc == 0 && nodes.count == 1, "a container device (%s)", rc < 0 ? err.msg : "ok");
    if (rc == 0) {
        const zvm_job_node_device_t *d = &nodes.nodes[0].devices[0];
        tap_ok(d->object == NULL && strcmp(d->container, "data") == 0 &&
                   strcmp(d->account, "acct") == 0 && nodes.nodes[0].attach == -1,
               "a container device names no object and attaches nothing");
        zvm_job_nodes_release(&nodes);
    }
    rc = expand("[{\"name\":\"q\",\"exec\":{\"path\":\"file://python3:p\"},\"devices\":"
                "[{\"name\":\"output\",\"path\":\"swift://~/data\"}]}]",
                &nodes, &err, &images);
    tap_is_str(rc < 0 ? err.msg : NULL,
               "Invalid path swift://~/data in q (device output needs an object, not a container)",
               "a container cannot be written");
    rc = expand("[{\"name\":\"m\",\"exec\":{\"path\":\"file://perl:perl\"}}]", &nodes, &err, &images);
    tap_is_str(rc < 0 ? err.msg : NULL, "Invalid path file://perl:perl in m (no such system image)",
               "unknown system image");
    zvm_sysimages_release(&images);

    storage_tests();
    return tap_done();
}
