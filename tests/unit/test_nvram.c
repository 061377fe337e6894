/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of nvram (src/lib/nvram.c): escaping, the reader on good and
 * bad input with exact messages, and the writer's round trip over tricky
 * strings (every byte 1..255 among them).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "zvm/nvram.h"

static const char *fixtures(void)
{
    const char *d = getenv("ZVM_FIXTURES");
    return d ? d : "../fixtures";
}

static void escaped(const char *in, const char *want, const char *what)
{
    char *got = zvm_nvram_escape(in);
    tap_is_str(got, want, "escape: %s", what);
    free(got);
}

static void unescaped(const char *in, const char *want, const char *what)
{
    char *got = zvm_nvram_unescape(in, strlen(in));
    tap_is_str(got, want, "unescape: %s", what);
    free(got);
}

static void unescape_refused(const char *in, const char *what)
{
    errno = 0;
    char *got = zvm_nvram_unescape(in, strlen(in));
    tap_ok(got == NULL && errno == EINVAL, "unescape refuses %s", what);
    free(got);
}

static void refused_len(const char *text, size_t len, const char *msg, const char *what)
{
    zvm_nvram_t nv;
    zvm_error_t err = {0};
    int r = zvm_nvram_parse(&nv, text, len, "nv.txt", &err);
    int ok = r == -1 && err.code == EINVAL && strcmp(err.msg, msg) == 0 && nv.args == NULL &&
             nv.env == NULL && nv.fstab == NULL && nv.mapping == NULL;
    tap_ok(ok, "refused: %s", what);
    if (!ok)
        printf("#   got:  %d %d '%s'\n#   want: -1 %d '%s'\n", r, err.code, err.msg, EINVAL,
               msg);
    zvm_nvram_release(&nv);
}

static void refused(const char *text, const char *msg, const char *what)
{
    refused_len(text, strlen(text), msg, what);
}

static int parse_ok(zvm_nvram_t *nv, const char *text, size_t len)
{
    zvm_error_t err = {0};
    int r = zvm_nvram_parse(nv, text, len, "nv.txt", &err);
    if (r != 0)
        printf("#   unexpected error: %s\n", err.msg);
    return r;
}

static void test_escape(void)
{
    escaped("foo, bar", "foo\\x2c\\x20bar", "comma and space");
    escaped("new\nline", "new\\x0aline", "newline");
    escaped("\\", "\\x5c", "backslash");
    escaped("\"", "\\x22", "double quote");
    escaped("foo\\, \\nbar", "foo\\x5c\\x2c\\x20\\x5cnbar", "the zpm example");
    escaped("\t\x7f\x01=#;[]\xc3\xa9", "\\x09\\x7f\\x01=#;[]\xc3\xa9",
            "control bytes escaped, others kept");
    escaped("", "", "empty string");
    unescaped("print\\x28\\x29", "print()", "parentheses");
    unescaped("\\x2C\\x2c\\x5C", ",,\\", "either case");
    unescaped("a\\x5cnb", "a\\nb", "an escaped backslash stays one");
    char *got = zvm_nvram_unescape("abc\\x41", 3);
    tap_is_str(got, "abc", "unescape: reads len bytes only");
    free(got);
    unescape_refused("\\x4", "a short escape");
    unescape_refused("a\\", "a trailing backslash");
    unescape_refused("\\q", "an unknown escape");
    unescape_refused("\\X41", "an uppercase X");
    unescape_refused("\\x0g", "a bad hex digit");
    unescape_refused("a\\x00b", "an escaped NUL");

    int bad = 0;
    for (int c = 1; c < 256; c++) {
        char in[2] = {(char)c, 0};
        char *e = zvm_nvram_escape(in);
        char *u = e ? zvm_nvram_unescape(e, strlen(e)) : NULL;
        if (!u || strcmp(u, in) != 0 || strpbrk(e, " ,\"\n\t") || (e[0] == '\\' && e[1] != 'x'))
            bad++;
        free(e);
        free(u);
    }
    tap_ok(bad == 0, "escape then unescape gives back every byte 1..255");
}

static void test_parse(void)
{
    zvm_nvram_t nv;
    static const char args[] = "[args]\nargs = python -c print\\x28\\x29\n";
    int r = parse_ok(&nv, args, sizeof args - 1);
    tap_ok(r == 0 && nv.nargs == 3 && strcmp(nv.args[0], "python") == 0 &&
               strcmp(nv.args[1], "-c") == 0 && strcmp(nv.args[2], "print()") == 0 &&
               nv.args[3] == NULL,
           "args: python -c print()");
    zvm_nvram_release(&nv);

    static const char spaced[] = "[args]\n  args=   a  \t b\\x20c    d  \n";
    r = parse_ok(&nv, spaced, sizeof spaced - 1);
    tap_ok(r == 0 && nv.nargs == 3 && strcmp(nv.args[1], "b c") == 0 &&
               strcmp(nv.args[2], "d") == 0,
           "args: runs of blanks are one separator");
    zvm_nvram_release(&nv);

    static const char noargs[] = "[args]\nargs =\n";
    r = parse_ok(&nv, noargs, sizeof noargs - 1);
    tap_ok(r == 0 && nv.nargs == 0 && nv.args && nv.args[0] == NULL, "args: empty");
    zvm_nvram_release(&nv);

    static const char env[] = "; comment\n[env]\nname=HOME,value=/home\\x20me\n"
                              "\n# comment\n value = , name = EMPTY \n[env]\nname=X,value=a=b\n";
    r = parse_ok(&nv, env, sizeof env - 1);
    tap_ok(r == 0 && nv.nenv == 3 && strcmp(nv.env[0].name, "HOME") == 0 &&
               strcmp(nv.env[0].value, "/home me") == 0 &&
               strcmp(nv.env[1].name, "EMPTY") == 0 && nv.env[1].value[0] == '\0' &&
               strcmp(nv.env[2].value, "a=b") == 0,
           "env: escapes, field order, empty value, repeated section");
    zvm_nvram_release(&nv);

    static const char fstab[] =
        "[fstab]\nmountpoint=/,channel=/dev/1.python.tar\n"
        "removable=yes,access=rw,channel=/dev/2.data.tar,mountpoint=/data\\x20dir\n";
    r = parse_ok(&nv, fstab, sizeof fstab - 1);
    tap_ok(r == 0 && nv.nfstab == 2 && strcmp(nv.fstab[0].channel, "/dev/1.python.tar") == 0 &&
               strcmp(nv.fstab[0].mountpoint, "/") == 0 && !nv.fstab[0].rw &&
               !nv.fstab[0].removable && nv.fstab[0].line == 2,
           "fstab: any order, defaults ro and not removable");
    tap_ok(r == 0 && nv.fstab[1].rw && nv.fstab[1].removable &&
               strcmp(nv.fstab[1].mountpoint, "/data dir") == 0 && nv.fstab[1].line == 3,
           "fstab: rw, removable, escaped mountpoint");
    zvm_nvram_release(&nv);

    static const char mapping[] = "[mapping]\nchannel=/dev/stdin,mode=char\n"
                                  "mode=file,channel=/dev/stdout\nchannel=/dev/x,mode=pipe\n";
    r = parse_ok(&nv, mapping, sizeof mapping - 1);
    const zvm_nvram_mapping_t *m = r == 0 ? zvm_nvram_find_mapping(&nv, "/dev/stdout") : NULL;
    tap_ok(r == 0 && nv.nmapping == 3 && m == &nv.mapping[1] && m->mode == ZVM_MAPPING_FILE &&
               nv.mapping[0].mode == ZVM_MAPPING_CHAR && nv.mapping[2].mode == ZVM_MAPPING_PIPE &&
               zvm_nvram_find_mapping(&nv, "/dev/none") == NULL,
           "mapping: modes and find_mapping");
    zvm_nvram_release(&nv);

    static const char misc[] = "[debug]\nverbosity = 4\n[time]\nseconds=-9223372036854775808\n";
    r = parse_ok(&nv, misc, sizeof misc - 1);
    tap_ok(r == 0 && nv.verbosity == 4 && nv.has_time && nv.time_seconds == INT64_MIN,
           "debug verbosity 4, time at INT64_MIN");
    zvm_nvram_release(&nv);

    static const char maxtime[] = "[time]\nseconds = 9223372036854775807\n";
    r = parse_ok(&nv, maxtime, sizeof maxtime - 1);
    tap_ok(r == 0 && nv.has_time && nv.time_seconds == INT64_MAX && nv.verbosity == 0,
           "time at INT64_MAX; verbosity 0 when absent");
    zvm_nvram_release(&nv);

    static const char seed[] = "[random]\nseed = 18446744073709551615\n";
    r = parse_ok(&nv, seed, sizeof seed - 1);
    tap_ok(r == 0 && nv.has_seed && nv.seed == UINT64_MAX, "random seed at UINT64_MAX");
    zvm_nvram_release(&nv);

    r = parse_ok(&nv, "", 0);
    tap_ok(r == 0 && nv.nargs == 0 && nv.args == NULL && !nv.has_time && !nv.has_seed,
           "empty nvram");
    zvm_nvram_release(&nv);
    zvm_nvram_release(&nv);
}

static void test_refused(void)
{
    refused("[foo]\n", "nv.txt:1: unknown section 'foo'", "unknown section");
    refused("[args\n", "nv.txt:1: bad section header '[args'", "unclosed section header");
    refused("args = x\n", "nv.txt:1: line outside a section", "line outside a section");
    refused("[args]\nargv = x\n", "nv.txt:2: unknown key 'argv' in [args]",
            "unknown key in [args]");
    refused("[args]\nargs = a\n[env]\n[args]\nargs = b\n", "nv.txt:5: duplicate key 'args'",
            "args twice");
    refused("[args]\npython\n", "nv.txt:2: line is not 'key = value'", "args without '='");
    refused("[args]\nargs = a b\\x0\n", "nv.txt:2: bad escape in 'b\\x0'", "bad escape in args");
    refused("[env]\nname=A\n", "nv.txt:2: missing field 'value' in [env]", "env without value");
    refused("[env]\nname=A,val=1\n", "nv.txt:2: unknown field 'val' in [env]",
            "unknown env field");
    refused("[env]\nname=A,name=B,value=1\n", "nv.txt:2: duplicate field 'name'",
            "duplicate field");
    refused("[env]\nname=A,junk\n", "nv.txt:2: field 'junk' is not 'key=value'",
            "field without '='");
    refused("[env]\nname=A,value=1,\n", "nv.txt:2: field '' is not 'key=value'",
            "trailing comma");
    refused("[env]\n\nname=A,value=\\q\n", "nv.txt:3: bad escape in '\\q'", "bad escape in env");
    refused("[fstab]\nchannel=/dev/1.tar\n", "nv.txt:2: missing field 'mountpoint' in [fstab]",
            "fstab without mountpoint");
    refused("[fstab]\nmountpoint=/\n", "nv.txt:2: missing field 'channel' in [fstab]",
            "fstab without channel");
    refused("[fstab]\nchannel=/dev/1.tar,mountpoint=/,access=wo\n",
            "nv.txt:2: bad access 'wo' (ro|rw)", "fstab access wo");
    refused("[fstab]\nchannel=/dev/1.tar,mountpoint=/,removable=maybe\n",
            "nv.txt:2: bad removable 'maybe' (yes|no)", "fstab removable maybe");
    refused("[fstab]\nchannel=/dev/1.tar,mountpoint=usr\n",
            "nv.txt:2: bad mountpoint 'usr': must be an absolute path", "relative mountpoint");
    refused("[fstab]\nchannel=,mountpoint=/\n", "nv.txt:2: empty channel in [fstab]",
            "empty fstab channel");
    refused("[mapping]\nchannel=/dev/stdin,mode=socket\n",
            "nv.txt:2: bad mode 'socket' (char|file|pipe)", "mapping mode socket");
    refused("[mapping]\nchannel=/dev/stdin\n", "nv.txt:2: missing field 'mode' in [mapping]",
            "mapping without mode");
    refused("[debug]\nverbosity=5\n", "nv.txt:2: verbosity out of range (0..4): 5",
            "verbosity 5");
    refused("[debug]\nverbosity=-1\n", "nv.txt:2: bad number '-1' for verbosity",
            "negative verbosity");
    refused("[debug]\nverbosity=1\n[debug]\nverbosity=2\n",
            "nv.txt:4: duplicate key 'verbosity'", "verbosity twice");
    refused("[random]\nseed=-1\n", "nv.txt:2: bad number '-1' for seed", "seed -1");
    refused("[random]\nseed=18446744073709551616\n",
            "nv.txt:2: seed out of range (0..18446744073709551615): 18446744073709551616",
            "seed overflow");
    refused("[random]\nseed=1\nseed=2\n", "nv.txt:3: duplicate key 'seed'", "seed twice");
    refused("[random]\nseconds=1\n", "nv.txt:2: unknown key 'seconds' in [random]",
            "random: unknown key");
    refused("[time]\nseconds=12x\n", "nv.txt:2: bad number '12x' for seconds", "seconds 12x");
    refused("[time]\nseconds=-\n", "nv.txt:2: bad number '-' for seconds", "seconds '-'");
    refused("[time]\nseconds=9223372036854775808\n",
            "nv.txt:2: seconds out of range (-9223372036854775808..9223372036854775807): "
            "9223372036854775808",
            "seconds overflow");
    refused_len("[env]\nname=A\0,value=1\n", sizeof("[env]\nname=A\0,value=1\n") - 1,
                "nv.txt:2: NUL byte in nvram", "NUL byte");
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static bool nvram_equal(const zvm_nvram_t *a, const zvm_nvram_t *b)
{
    if (a->nargs != b->nargs || a->nenv != b->nenv || a->nfstab != b->nfstab ||
        a->nmapping != b->nmapping || a->verbosity != b->verbosity ||
        a->has_time != b->has_time || (a->has_time && a->time_seconds != b->time_seconds) ||
        a->has_seed != b->has_seed || (a->has_seed && a->seed != b->seed))
        return false;
    for (size_t i = 0; i < a->nargs; i++)
        if (!str_eq(a->args[i], b->args[i]))
            return false;
    for (size_t i = 0; i < a->nenv; i++)
        if (!str_eq(a->env[i].name, b->env[i].name) || !str_eq(a->env[i].value, b->env[i].value))
            return false;
    for (size_t i = 0; i < a->nfstab; i++)
        if (!str_eq(a->fstab[i].channel, b->fstab[i].channel) ||
            !str_eq(a->fstab[i].mountpoint, b->fstab[i].mountpoint) ||
            a->fstab[i].rw != b->fstab[i].rw || a->fstab[i].removable != b->fstab[i].removable)
            return false;
    for (size_t i = 0; i < a->nmapping; i++)
        if (!str_eq(a->mapping[i].channel, b->mapping[i].channel) ||
            a->mapping[i].mode != b->mapping[i].mode)
            return false;
    return true;
}

/* Format nv, parse the text back and compare; then format again: the text
 * must be the same. */
static void round_trip(const zvm_nvram_t *nv, const char *what)
{
    zvm_nvram_t back;
    char *text = zvm_nvram_format(nv);
    int r = text ? parse_ok(&back, text, strlen(text)) : -1;
    tap_ok(r == 0 && nvram_equal(nv, &back), "round trip: %s", what);
    char *again = r == 0 ? zvm_nvram_format(&back) : NULL;
    tap_is_str(again, text, "round trip: %s, same text twice", what);
    free(again);
    free(text);
    if (r == 0)
        zvm_nvram_release(&back);
}

static void test_round_trip(void)
{
    char all[256];
    for (int c = 1; c < 256; c++)
        all[c - 1] = (char)c;
    all[255] = '\0';

    char *args[] = {"python", "-c", "print(\"hi, there\")", "a\\b", "tab\there",
                    "new\nline", "\xc3\xa9 \xc3\xbc", "\x01\x7f\xff", "[x]", "#;=", all, NULL};
    zvm_nvram_env_t env[] = {
        {"ALL", all}, {"EMPTY", ""}, {"A B,C", " lead and trail "}, {"K", "\\x41"},
    };
    zvm_nvram_fstab_t fstab[] = {
        {"/dev/1.python.tar", "/", false, false, 0},
        {"/dev/2.my data.tar", "/my data,here", true, true, 0},
    };
    zvm_nvram_mapping_t mapping[] = {
        {"/dev/stdin", ZVM_MAPPING_CHAR}, {"/dev/std out", ZVM_MAPPING_FILE},
        {"/dev/x", ZVM_MAPPING_PIPE},
    };
    zvm_nvram_t nv = {
        .args = args, .nargs = 11, .env = env, .nenv = 4, .fstab = fstab, .nfstab = 2,
        .mapping = mapping, .nmapping = 3, .verbosity = 3, .has_time = true,
        .time_seconds = INT64_MIN, .has_seed = true, .seed = UINT64_MAX,
    };
    round_trip(&nv, "tricky strings, every byte 1..255");

    zvm_nvram_t empty = {0};
    char *text = zvm_nvram_format(&empty);
    tap_is_str(text, "", "format: empty nvram is empty text");
    free(text);

    zvm_nvram_t one = {.args = args, .nargs = 1, .has_time = true, .time_seconds = 0};
    text = zvm_nvram_format(&one);
    tap_is_str(text, "[args]\nargs = python\n[time]\nseconds=0\n", "format: exact text");
    free(text);
    round_trip(&one, "time 0");
}

static void test_load(void)
{
    char path[4096];
    zvm_nvram_t nv;
    zvm_error_t err = {0};
    snprintf(path, sizeof path, "%s/nvram/zvsh.nvram", fixtures());
    int r = zvm_nvram_load(&nv, path, &err);
    tap_ok(r == 0 && nv.nargs == 3 && strcmp(nv.args[2], "print(\"hi, there\")") == 0 &&
               nv.nenv == 2 && nv.nfstab == 1 && nv.nmapping == 2 && nv.verbosity == 2 &&
               nv.time_seconds == 1370908800,
           "load the zvsh fixture");
    if (r != 0)
        printf("#   %s\n", err.msg);
    zvm_nvram_release(&nv);

    r = zvm_nvram_load(&nv, "/nonexistent/nvram", &err);
    tap_ok(r == -1 && err.code == ENOENT &&
               strcmp(err.msg, "cannot read nvram '/nonexistent/nvram': No such file or "
                               "directory") == 0,
           "load refuses a missing file");
    zvm_nvram_release(&nv);
}

int main(void)
{
    test_escape();
    test_parse();
    test_refused();
    test_round_trip();
    test_load();
    return tap_done();
}
