/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/lib/report.c: the exact six-line text ZeroCloud parses,
 * the exit state strings, the accounting line, the JSON form (parsed back
 * with jansson) and the exit status of zerovm for every exit state.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "zvm/report.h"

#define MD5_HELLO "5d41402abc4b2a76b9719d911017c592"
#define MD5_EMPTY "d41d8cd98f00b204e9800998ecf8427e"

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Line `i` (0-based) of s, in a static buffer. */
static const char *line_of(const char *s, int i)
{
    static char buf[4096];
    for (; i > 0 && s; i--) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    if (!s)
        return "(none)";
    size_t n = strcspn(s, "\n");
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static void text_is(const zvm_report_t *r, const char *want, const char *what)
{
    char *got = zvm_report_format_text(r);
    tap_is_str(got, want, "text: %s", what);
    free(got);
}

/* Is `line` "%.2f %.2f" and 8 unsigned integers, single spaces? */
static int acct_line_ok(const char *line)
{
    const char *p = line;
    for (int f = 0; f < 2; f++) {
        size_t d = strspn(p, "0123456789");
        if (d == 0 || p[d] != '.' || strspn(p + d + 1, "0123456789") != 2)
            return 0;
        p += d + 3;
        if (*p++ != ' ')
            return 0;
    }
    for (int i = 0; i < 8; i++) {
        size_t d = strspn(p, "0123456789");
        if (d == 0)
            return 0;
        p += d;
        if (i < 7 && *p++ != ' ')
            return 0;
    }
    return *p == '\0';
}

static void test_text(void)
{
    zvm_report_t r;
    zvm_report_init(&r);
    tap_ok(r.exit_state == ZVM_EXIT_OK && r.netags == 0 && r.detail[0] == '\0' &&
           strcmp(r.engine, "native") == 0, "init: ok, no etags, engine native");

    /* ok with etags */
    zvm_report_add_etag(&r, "/dev/stdout", MD5_HELLO);
    zvm_report_add_etag(&r, "/dev/output", MD5_EMPTY);
    r.sys_time = 0.5;
    r.user_time = 1.25;
    for (int i = 0; i < ZVM_ACCT_COUNT; i++)
        r.acct[i] = (uint64_t)i + 1;
    text_is(&r,
            "0\n0\n0\n"
            "/dev/stdout " MD5_HELLO " /dev/output " MD5_EMPTY "\n"
            "0.50 1.25 1 2 3 4 5 6 7 8\n"
            "ok\n",
            "ok with two etags");
    char *t = zvm_report_format_text(&r);
    tap_ok(t && count_lines(t) == 6 && t[strlen(t) - 1] == '\n',
           "text is exactly six lines, each ending in a newline");
    free(t);
    zvm_report_release(&r);
    tap_ok(r.etags == NULL && r.netags == 0, "release drops the etags");
    zvm_report_release(&r); /* twice is harmless */

    /* disabled etags, program exit code, daemon */
    zvm_report_init(&r);
    r.user_rc = 42;
    r.daemon = 1;
    text_is(&r, "0\n1\n42\ndisabled\n0.00 0.00 0 0 0 0 0 0 0 0\nok\n",
            "disabled etags, exit code 42, daemon");

    /* killed by signal 9 (detail ignored) */
    zvm_report_init(&r);
    r.signal = 9;
    zvm_report_set_exit(&r, ZVM_EXIT_SIGNAL, NULL);
    text_is(&r, "0\n0\n0\ndisabled\n0.00 0.00 0 0 0 0 0 0 0 0\nkilled by signal 9\n",
            "killed by signal 9");

    /* a wasm trap names its kind */
    zvm_report_init(&r);
    zvm_report_set_exit(&r, ZVM_EXIT_TRAP, "%s", "integer divide by zero");
    text_is(&r, "0\n0\n0\ndisabled\n0.00 0.00 0 0 0 0 0 0 0 0\ntrap (integer divide by zero)\n",
            "trap with its kind");

    /* bad manifest with detail, validator refused */
    zvm_report_init(&r);
    r.validator = 1;
    zvm_report_set_exit(&r, ZVM_EXIT_BAD_MANIFEST, "%s:%d: unknown key '%s'", "m.txt", 3,
                        "Timout");
    text_is(&r,
            "1\n0\n0\ndisabled\n0.00 0.00 0 0 0 0 0 0 0 0\n"
            "bad manifest (m.txt:3: unknown key 'Timout')\n",
            "bad manifest with detail");

    /* quota exceeded names the alias */
    zvm_report_init(&r);
    zvm_report_set_exit(&r, ZVM_EXIT_QUOTA, "%s", "/dev/output");
    text_is(&r, "0\n0\n0\ndisabled\n0.00 0.00 0 0 0 0 0 0 0 0\nquota exceeded (/dev/output)\n",
            "quota exceeded (alias)");

    /* a detail with newlines is flattened */
    zvm_report_init(&r);
    zvm_report_set_exit(&r, ZVM_EXIT_SANDBOX_ERROR, "cannot mount\n/proc\r\nnow");
    t = zvm_report_format_text(&r);
    tap_ok(t && count_lines(t) == 6 &&
           strcmp(line_of(t, 5), "sandbox error (cannot mount /proc  now)") == 0,
           "detail with newlines is flattened to one line ('%s')", t ? line_of(t, 5) : "");
    free(t);

    /* set_exit with NULL clears an earlier detail */
    zvm_report_set_exit(&r, ZVM_EXIT_TIMEOUT, NULL);
    t = zvm_report_format_text(&r);
    tap_is_str(t ? line_of(t, 5) : NULL, "timeout", "set_exit(NULL) clears the detail");
    free(t);

    /* the longest detail still fits whole */
    zvm_report_init(&r);
    char longd[ZVM_ERROR_MSG_MAX];
    memset(longd, 'x', sizeof longd - 1);
    longd[sizeof longd - 1] = '\0';
    zvm_report_set_exit(&r, ZVM_EXIT_BAD_PROGRAM, "%s", longd);
    t = zvm_report_format_text(&r);
    char want[ZVM_ERROR_MSG_MAX + 64];
    snprintf(want, sizeof want, "bad program (%s)", longd);
    tap_ok(t && count_lines(t) == 6 && strcmp(line_of(t, 5), want) == 0,
           "a detail of %d bytes is kept whole", ZVM_ERROR_MSG_MAX - 1);
    free(t);
}

static void test_exit_strings(void)
{
    static const struct {
        zvm_exit_state_t st;
        const char *detail;
        const char *want;
    } cases[] = {
        {ZVM_EXIT_OK, NULL, "ok"},
        {ZVM_EXIT_QUOTA, "/dev/out", "quota exceeded (/dev/out)"},
        {ZVM_EXIT_TIMEOUT, NULL, "timeout"},
        {ZVM_EXIT_MEMORY, NULL, "memory limit"},
        {ZVM_EXIT_BAD_MANIFEST, "m:1: x", "bad manifest (m:1: x)"},
        {ZVM_EXIT_NOT_FOUND, "/bin/nope", "program not found (/bin/nope)"},
        {ZVM_EXIT_BAD_PROGRAM, "not an ELF", "bad program (not an ELF)"},
        {ZVM_EXIT_SANDBOX_ERROR, "unshare: EPERM", "sandbox error (unshare: EPERM)"},
    };
    int good = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zvm_report_t r;
        zvm_report_init(&r);
        if (cases[i].detail)
            zvm_report_set_exit(&r, cases[i].st, "%s", cases[i].detail);
        else
            zvm_report_set_exit(&r, cases[i].st, NULL);
        char buf[ZVM_ERROR_MSG_MAX + 64];
        const char *got = zvm_report_exit_string(&r, buf, sizeof buf);
        if (got == buf && strcmp(got, cases[i].want) == 0)
            good++;
        else
            printf("#   got: '%s' want: '%s'\n", got, cases[i].want);
    }
    tap_ok(good == (int)(sizeof cases / sizeof cases[0]), "exit strings of every state");

    zvm_report_t r;
    zvm_report_init(&r);
    r.signal = 11;
    zvm_report_set_exit(&r, ZVM_EXIT_SIGNAL, "ignored");
    char small[12];
    zvm_report_exit_string(&r, small, sizeof small);
    tap_is_str(small, "killed by s", "exit string is truncated to the buffer");
}

static void test_acct(void)
{
    zvm_report_t r;
    zvm_report_init(&r);
    r.sys_time = 2.0 / 3.0;
    r.user_time = 12.345678;
    for (int i = 0; i < ZVM_ACCT_COUNT; i++)
        r.acct[i] = (uint64_t)1 << (8 * i);
    r.acct[ZVM_ACCT_NET_WBYTES] = UINT64_MAX;
    char *t = zvm_report_format_text(&r);
    const char *l = t ? line_of(t, 4) : "";
    tap_ok(acct_line_ok(l), "accounting line is \"%%.2f %%.2f\" and 8 integers ('%s')", l);
    tap_is_str(l,
               "0.67 12.35 1 256 65536 16777216 4294967296 1099511627776 281474976710656 "
               "18446744073709551615",
               "accounting values in order, 64-bit counters whole");
    free(t);
}

static void test_json(void)
{
    zvm_report_t r;
    zvm_report_init(&r);
    zvm_report_add_etag(&r, "/dev/stdout", MD5_HELLO);
    zvm_report_add_etag(&r, "/dev/output", MD5_EMPTY);
    r.user_rc = 7;
    r.sys_time = 0.25;
    r.user_time = 1.5;
    r.wall_time = 3.75;
    r.peak_memory = 5u << 20;
    for (int i = 0; i < ZVM_ACCT_COUNT; i++)
        r.acct[i] = (uint64_t)i * 10 + 1;
    zvm_report_set_exit(&r, ZVM_EXIT_QUOTA, "%s", "/dev/output");
    r.engine = "wasm";

    char *s = zvm_report_format_json(&r);
    json_error_t jerr;
    json_t *j = s ? json_loads(s, 0, &jerr) : NULL;
    tap_ok(j && json_is_object(j), "json parses to an object%s%s", j ? "" : ": ",
           j ? "" : jerr.text);
    if (!j) {
        free(s);
        zvm_report_release(&r);
        return;
    }
    tap_ok(strchr(s, '\n') == NULL, "json is one line");
    tap_ok(json_integer_value(json_object_get(j, "validator")) == 0 &&
           json_is_integer(json_object_get(j, "validator")) &&
           json_is_integer(json_object_get(j, "daemon")) &&
           json_integer_value(json_object_get(j, "user_rc")) == 7,
           "json: validator, daemon, user_rc");
    json_t *et = json_object_get(j, "etags");
    tap_ok(json_is_object(et) && json_object_size(et) == 2 &&
           strcmp(json_string_value(json_object_get(et, "/dev/stdout")) ?: "", MD5_HELLO) == 0 &&
           strcmp(json_string_value(json_object_get(et, "/dev/output")) ?: "", MD5_EMPTY) == 0,
           "json: etags object alias -> md5");
    json_t *ac = json_object_get(j, "accounting");
    static const char *const names[ZVM_ACCT_COUNT] = {
        "reads", "read_bytes", "writes", "write_bytes",
        "net_reads", "net_read_bytes", "net_writes", "net_write_bytes",
    };
    int good = json_is_object(ac) && json_number_value(json_object_get(ac, "sys_time")) == 0.25 &&
               json_number_value(json_object_get(ac, "user_time")) == 1.5;
    for (int i = 0; i < ZVM_ACCT_COUNT && good; i++) {
        json_t *v = json_object_get(ac, names[i]);
        good = json_is_integer(v) && json_integer_value(v) == (json_int_t)i * 10 + 1;
    }
    tap_ok(good && json_object_size(ac) == 10, "json: accounting has times and 8 counters");
    tap_is_str(json_string_value(json_object_get(j, "exit_state")),
               "quota exceeded (/dev/output)", "json: exit_state string");
    tap_ok(json_number_value(json_object_get(j, "wall_time")) == 3.75 &&
           json_integer_value(json_object_get(j, "peak_memory")) == (json_int_t)5 << 20,
           "json: wall_time and peak_memory");
    tap_is_str(json_string_value(json_object_get(j, "engine")), "wasm", "json: engine");
    tap_ok(json_is_integer(json_object_get(j, "exit_status")) &&
           json_integer_value(json_object_get(j, "exit_status")) == 0 &&
           json_object_get(j, "signal") == NULL, "json: exit_status 0, no signal key");
    json_decref(j);
    free(s);
    zvm_report_release(&r);

    /* signal, no etags, a detail needing escapes */
    zvm_report_init(&r);
    r.signal = 9;
    zvm_report_set_exit(&r, ZVM_EXIT_SIGNAL, NULL);
    s = zvm_report_format_json(&r);
    j = s ? json_loads(s, 0, &jerr) : NULL;
    tap_ok(j && json_integer_value(json_object_get(j, "signal")) == 9 &&
           json_object_size(json_object_get(j, "etags")) == 0 &&
           strcmp(json_string_value(json_object_get(j, "exit_state")) ?: "",
                  "killed by signal 9") == 0 &&
           json_integer_value(json_object_get(j, "exit_status")) == 1,
           "json of a signal: signal 9, empty etags, exit_status 1");
    json_decref(j);
    free(s);

    zvm_report_set_exit(&r, ZVM_EXIT_BAD_MANIFEST, "m:1: bad \"value\" \\ \t\x01 caf\xc3\xa9");
    s = zvm_report_format_json(&r);
    j = s ? json_loads(s, 0, &jerr) : NULL;
    tap_ok(j && strcmp(json_string_value(json_object_get(j, "exit_state")) ?: "",
                       "bad manifest (m:1: bad \"value\" \\ \t\x01 caf\xc3\xa9)") == 0 &&
           json_integer_value(json_object_get(j, "exit_status")) == 2,
           "json escapes quotes, controls and UTF-8 in the detail");
    json_decref(j);
    free(s);
}

static void test_exit_status(void)
{
    static const struct {
        zvm_exit_state_t st;
        int want;
    } cases[] = {
        {ZVM_EXIT_OK, 0},           {ZVM_EXIT_QUOTA, 0},        {ZVM_EXIT_TIMEOUT, 1},
        {ZVM_EXIT_MEMORY, 1},       {ZVM_EXIT_SIGNAL, 1},       {ZVM_EXIT_TRAP, 1},
        {ZVM_EXIT_BAD_MANIFEST, 2},
        {ZVM_EXIT_NOT_FOUND, 3},    {ZVM_EXIT_BAD_PROGRAM, 3},  {ZVM_EXIT_SANDBOX_ERROR, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zvm_report_t r;
        zvm_report_init(&r);
        r.signal = 9;
        zvm_report_set_exit(&r, cases[i].st, NULL);
        int got = zvm_report_exit_status(&r);
        char buf[ZVM_ERROR_MSG_MAX + 64];
        tap_ok(got == cases[i].want, "exit status of '%s' is %d (got %d)",
               zvm_report_exit_string(&r, buf, sizeof buf), cases[i].want, got);
    }
}

int main(void)
{
    test_text();
    test_exit_strings();
    test_acct();
    test_json();
    test_exit_status();
    return tap_done();
}
