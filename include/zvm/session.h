/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A session: one run of one program under one manifest, turned into data
 * before anything runs (bubblewrap's habit: parse, then execute).
 *
 *   zvm_session_load()      manifest + nvram parsed and checked; the program
 *                           exists; nothing on the host has been touched yet
 *   zvm_session_open()      channels opened (inputs first, then outputs, so
 *                           a missing input never truncates an output) and
 *                           images unpacked into the cache
 *   engine->run()           the engine moves bytes through s->channels
 *   zvm_session_account()   etags and counters into the report
 *   zvm_session_release()
 *
 * Failures fill the report's exit state (bad manifest, program not found,
 * sandbox error) as well as err.
 */
#ifndef ZVM_SESSION_H
#define ZVM_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "zvm/channel.h"
#include "zvm/error.h"
#include "zvm/manifest.h"
#include "zvm/nvram.h"
#include "zvm/report.h"

/* One directory tree to show inside the sandbox. */
typedef struct zvm_mount {
    char *source;      /* host directory: an unpacked image or a directory image */
    char *target;      /* absolute mountpoint inside */
    bool rw;           /* writable; writes vanish at exit */
    int hold;          /* an unpacked image's hold on its cache entry (image.h), or -1 */
} zvm_mount_t;

typedef struct zvm_session {
    zvm_manifest_t manifest;
    zvm_nvram_t nvram;           /* zeroed when there is no /dev/nvram channel */
    zvm_channel_t *channels;     /* parallel to manifest.channels */
    size_t nchannels;
    zvm_mount_t *mounts;         /* sorted by target, parents first */
    size_t nmounts;
    char **argv;                 /* NULL-terminated */
    char **envp;                 /* NULL-terminated "K=V" */
    char *cache_dir;
    int verbosity;
    /* What an engine's validate() found for its run() (e.g. the compiled
     * module); released with the session. */
    void *engine_data;
    void (*engine_data_release)(void *data);
} zvm_session_t;

int zvm_session_load(zvm_session_t *s, const char *manifest_path, zvm_report_t *r,
                     zvm_error_t *err);
int zvm_session_open(zvm_session_t *s, zvm_report_t *r, zvm_error_t *err);

/* Index of the channel whose alias is `alias`, or -1. */
int zvm_session_find_channel(const zvm_session_t *s, const char *alias);

/* Mapping mode declared in nvram for this channel (0 char, 1 file, 2 pipe) or -1. */
int zvm_session_mapping(const zvm_session_t *s, size_t channel);

/* Fill the report's etags and accounting counters from the channels; a
 * quota hit turns an "ok" exit state into "quota exceeded (<alias>)". */
int zvm_session_account(const zvm_session_t *s, zvm_report_t *r);

/* Did the program's output on our own stdout end without a newline?  The
 * report then starts on a new line, so that output cannot pass for it. */
bool zvm_session_stdout_unterminated(const zvm_session_t *s);

void zvm_session_release(zvm_session_t *s);

#endif
