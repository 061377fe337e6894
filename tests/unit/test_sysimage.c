/* SPDX-License-Identifier: Apache-2.0 */
/* System image tables: defaults, a configured file, and refused lines. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "zvm/sysimage.h"

static void refused(const char *text, const char *want, const char *what)
{
    zvm_sysimages_t t;
    zvm_error_t err = {0};
    int rc = zvm_sysimages_parse(&t, text, "img.cfg", &err);
    tap_ok(rc < 0, "refused: %s", what);
    tap_is_str(rc < 0 ? err.msg : NULL, want, "refused: %s, message", what);
}

int main(void)
{
    zvm_sysimages_t t;
    zvm_error_t err = {0};

    unsetenv("ZEROVM_SYSIMAGES");
    int rc = zvm_sysimages_load(&t, &err);
    const zvm_sysimage_t *p3 = rc == 0 ? zvm_sysimages_find(&t, "python3") : NULL;
    const zvm_sysimage_t *p27 = rc == 0 ? zvm_sysimages_find(&t, "python2.7") : NULL;
    const zvm_sysimage_t *p = rc == 0 ? zvm_sysimages_find(&t, "python") : NULL;
    tap_ok(p3 && p27 && p && strcmp(p3->program, "/usr/bin/python3") == 0 &&
               strcmp(p27->program, "/usr/bin/python3") == 0 &&
               strcmp(p->program, "/usr/bin/python3") == 0,
           "defaults: python3, python and python2.7 are the host python3");
    tap_ok(rc == 0 && zvm_sysimages_find(&t, "perl") == NULL, "defaults: nothing else");
    if (rc == 0)
        zvm_sysimages_release(&t);

    rc = zvm_sysimages_parse(&t, "# mine\n\n py = /opt/py/bin/python3 \nsh=/bin/sh\n", "x", &err);
    const zvm_sysimage_t *py = rc == 0 ? zvm_sysimages_find(&t, "py") : NULL;
    tap_ok(rc == 0 && t.count == 2 && py && strcmp(py->program, "/opt/py/bin/python3") == 0,
           "a table: comments, blanks and spaces around '='");
    tap_ok(rc == 0 && zvm_sysimages_find(&t, "python3") == NULL,
           "a table replaces the defaults");
    if (rc == 0)
        zvm_sysimages_release(&t);

    refused("py /usr/bin/python3\n", "img.cfg:1: line is not 'name = /program'", "no '='");
    refused("\npy = python3\n", "img.cfg:2: program 'python3' is not an absolute path",
            "relative program");
    refused("a/b = /bin/sh\n", "img.cfg:1: bad system image name 'a/b'", "slash in name");
    refused("x = /bin/sh\nx = /bin/true\n", "img.cfg:2: system image 'x' is named twice",
            "duplicate");

    setenv("ZEROVM_SYSIMAGES", "/nonexistent/zvm-sysimages", 1);
    rc = zvm_sysimages_load(&t, &err);
    tap_ok(rc < 0 && strstr(err.msg, "/nonexistent/zvm-sysimages"),
           "a configured table that is missing is an error naming it (%s)", err.msg);
    unsetenv("ZEROVM_SYSIMAGES");
    return tap_done();
}
