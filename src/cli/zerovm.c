/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `zerovm [options] MANIFEST`: run one program under one manifest and print
 * the report.  Thin: the work is libzvm's (session, channels, report) and
 * the engines'.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "lib/cache.h"
#include "zvm/report.h"
#include "zvm/session.h"

static void usage(FILE *out)
{
    fputs("usage: zerovm [options] MANIFEST\n"
          "\n"
          "Run the program of MANIFEST in a sandbox and print the report.\n"
          "\n"
          "options:\n"
          "  -e, --engine=NAME    engine to use (native, wasm); default: by the program's format\n"
          "  -r, --report=FORMAT  report format: text (six lines, default) or json\n"
          "  -q, --quiet          no error messages on stderr (the report still says why)\n"
          "      --report-file=PATH  write the report to PATH (created or truncated) instead\n"
          "                       of stdout, apart from the program's output (used by zvsh)\n"
          "      --image-cache-max=BYTES  bound of the image cache (default 4294967296;\n"
          "                       also $ZEROVM_IMAGE_CACHE_MAX)\n"
          "      --wasm-cache-max=BYTES   bound of the compiled wasm cache (default\n"
          "                       1073741824; also $ZEROVM_WASM_CACHE_MAX)\n"
          "  -h, --help           show this help\n"
          "  -V, --version        show the version\n"
          "\n"
          "The caches ($ZEROVM_CACHE_DIR, else ~/.cache/zerovm) drop their least recently\n"
          "used entries past their bound; an entry a running sandbox uses is kept.\n"
          "\n"
          "exit status: 0 the program ran to its end (its own code is in the report),\n"
          "1 it was stopped (timeout, memory, signal), 2 bad manifest, 3 program not\n"
          "found or refused, 4 sandbox error.\n",
          out);
}

/* The report goes to stdout, after the program's output, or with
 * --report-file to a file of its own. */
static int print_report(const zvm_report_t *r, bool json, bool newline_first,
                        const char *report_file)
{
    char *text = json ? zvm_report_format_json(r) : zvm_report_format_text(r);
    if (!text) {
        fputs("zerovm: out of memory\n", stderr);
        return 4;
    }
    if (report_file) {
        FILE *f = fopen(report_file, "we");
        int failed = !f;
        if (f) {
            fputs(text, f);
            if (json)
                fputc('\n', f);
            failed = fclose(f) != 0;
        }
        if (failed)
            fprintf(stderr, "zerovm: cannot write the report to '%s': %s\n", report_file,
                    strerror(errno));
        free(text);
        return failed ? 4 : zvm_report_exit_status(r);
    }
    fflush(stdout);
    if (newline_first)
        fputc('\n', stdout);
    fputs(text, stdout);
    if (json)
        fputc('\n', stdout);
    fflush(stdout);
    free(text);
    return zvm_report_exit_status(r);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"engine", required_argument, NULL, 'e'}, {"report", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {"report-file", required_argument, NULL, 'R'},
        {"image-cache-max", required_argument, NULL, 'I'},
        {"wasm-cache-max", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    const char *engine_name = NULL, *report_file = NULL;
    bool json = false, quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "+e:r:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            engine_name = optarg;
            break;
        case 'r':
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr, "zerovm: unknown report format '%s' (text or json)\n", optarg);
                return 2;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'R':
            report_file = optarg;
            break;
        case 'I':
        case 'W': {
            /* libzvm and the engines read the bounds from the environment. */
            uint64_t max;
            const char *opt = c == 'I' ? "--image-cache-max" : "--wasm-cache-max";
            if (zvm__cache_parse_max(optarg, &max) < 0) {
                fprintf(stderr, "zerovm: bad %s '%s' (bytes, a decimal number)\n", opt, optarg);
                return 2;
            }
            setenv(c == 'I' ? ZVM_IMAGE_CACHE_MAX_ENV : ZVM_WASM_CACHE_MAX_ENV, optarg, 1);
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            puts("zerovm " ZVM_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    /* A reader of an output pipe that goes away must not kill us. */
    signal(SIGPIPE, SIG_IGN);

    zvm_session_t s;
    zvm_report_t r;
    zvm_error_t err = {0};
    const zvm_engine_t *engine = NULL;
    zvm_report_init(&r);

    if (zvm_session_load(&s, argv[optind], &r, &err) < 0)
        goto done;
    engine = engine_name ? zvm_engine_find(engine_name) : zvm_engine_for_program(s.manifest.program);
    if (!engine) {
        if (engine_name)
            zvm_error_set(&err, EINVAL, "unknown engine '%s'", engine_name);
        else
            zvm_error_set(&err, ENOEXEC, "program '%s' is in no format an engine runs",
                          s.manifest.program);
        r.validator = engine_name ? 0 : 1;
        zvm_report_set_exit(&r, engine_name ? ZVM_EXIT_BAD_MANIFEST : ZVM_EXIT_BAD_PROGRAM, "%s",
                            err.msg);
        goto done;
    }
    if (engine->validate(&s, &r) < 0) {
        snprintf(err.msg, sizeof err.msg, "%s", r.detail);
        goto done;
    }
    if (zvm_session_open(&s, &r, &err) < 0)
        goto done;
    if (engine->run(&s, &r) < 0)
        snprintf(err.msg, sizeof err.msg, "%s", r.detail);
    zvm_session_account(&s, &r);
done:
    if (err.msg[0] && !quiet)
        fprintf(stderr, "zerovm: %s\n", err.msg);
    int status = print_report(&r, json, zvm_session_stdout_unterminated(&s), report_file);
    zvm_session_release(&s);
    zvm_report_release(&r);
    return status;
}
