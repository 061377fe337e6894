/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The report: what `zerovm` prints after a session, in the six-line format
 * that ZeroCloud parses (one value per line):
 *
 *   1 validator state     0 = program validated, 1 = refused
 *   2 daemon state        0, or 1 in daemon mode
 *   3 user return code    the program's exit code, unsigned, as the program gave it (0 when
 *                         it did not exit): 0-255 for an ELF program, any 32-bit value for a
 *                         wasm program's proc_exit (a code above 255 is never squeezed into
 *                         8 bits: proc_exit(256) is 256, not 0)
 *   4 etags               "disabled", or "<alias> <md5> ..." for each etag'd channel
 *   5 accounting          "sys user reads rbytes writes wbytes nreads nrbytes nwrites nwbytes"
 *                         (CPU seconds with 2 decimals, then counters; TCP is network)
 *   6 exit state          ok | quota exceeded (<alias>) | timeout | memory limit |
 *                         killed by signal N | bad manifest (<reason>) |
 *                         program not found (<path>) | bad program (<reason>) |
 *                         sandbox error (<reason>)
 *
 * --report=json gives the same as one JSON object, plus wall time and peak
 * memory.  zvm_report_exit_status() maps the exit state to the exit status
 * of `zerovm` itself (see there).
 */
#ifndef ZVM_REPORT_H
#define ZVM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "zvm/error.h"

typedef enum zvm_exit_state {
    ZVM_EXIT_OK = 0,
    ZVM_EXIT_QUOTA,          /* ran to its end, but some call hit a quota */
    ZVM_EXIT_TIMEOUT,
    ZVM_EXIT_MEMORY,
    ZVM_EXIT_SIGNAL,
    ZVM_EXIT_TRAP,           /* wasm: the program trapped (detail: which trap) */
    ZVM_EXIT_BAD_MANIFEST,
    ZVM_EXIT_NOT_FOUND,
    ZVM_EXIT_BAD_PROGRAM,
    ZVM_EXIT_SANDBOX_ERROR,
} zvm_exit_state_t;

typedef enum zvm_acct {
    ZVM_ACCT_READS, ZVM_ACCT_RBYTES, ZVM_ACCT_WRITES, ZVM_ACCT_WBYTES,
    ZVM_ACCT_NET_READS, ZVM_ACCT_NET_RBYTES, ZVM_ACCT_NET_WRITES, ZVM_ACCT_NET_WBYTES,
    ZVM_ACCT_COUNT,
} zvm_acct_t;

typedef struct zvm_report_etag {
    char *alias;
    char md5[33];
} zvm_report_etag_t;

typedef struct zvm_report {
    int validator;
    int daemon;
    uint32_t user_rc;                    /* the program's code (line 3) */
    zvm_exit_state_t exit_state;
    int signal;                          /* for ZVM_EXIT_SIGNAL */
    char detail[ZVM_ERROR_MSG_MAX];      /* reason / alias / path, or "" */
    double sys_time, user_time, wall_time;
    uint64_t acct[ZVM_ACCT_COUNT];
    uint64_t peak_memory;                /* bytes, 0 when unknown */
    zvm_report_etag_t *etags;
    size_t netags;
    char *engine;                        /* "native", "wasm" (static string) */
} zvm_report_t;

void zvm_report_init(zvm_report_t *r);
void zvm_report_release(zvm_report_t *r);

/* Set the exit state; detail is printf-formatted (may be NULL). */
void zvm_report_set_exit(zvm_report_t *r, zvm_exit_state_t state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int zvm_report_add_etag(zvm_report_t *r, const char *alias, const char md5[33]);

/* The exit state line, e.g. "killed by signal 9" (buf of ZVM_ERROR_MSG_MAX+64). */
const char *zvm_report_exit_string(const zvm_report_t *r, char *buf, size_t size);

/* malloc'd text: the six lines, each ending in '\n'; or one JSON object. */
char *zvm_report_format_text(const zvm_report_t *r);
char *zvm_report_format_json(const zvm_report_t *r);

/* Exit status of the zerovm process:
 *   0  the program ran to its own end (ok or quota; its code is line 3)
 *   1  the program was stopped: timeout, memory limit, signal
 *   2  bad manifest or usage
 *   3  program not found or refused by the validator
 *   4  sandbox error (the host could not set up the jail) */
int zvm_report_exit_status(const zvm_report_t *r);

#endif
