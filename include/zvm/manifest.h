/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manifest: the one input of `zerovm`, a plain text file of
 * `Key = value` lines (format of the original ZeroVM, version 20130611).
 *
 * Parsing is strict and happens before anything runs: an unknown key, a
 * missing required key, a duplicate singular key, a bad number, an
 * out-of-range value, a bad channel, a duplicate alias, more than
 * ZVM_MANIFEST_MAX_CHANNELS channels or a text over ZVM_MANIFEST_MAX_BYTES
 * is refused with "NAME:LINE: reason" in err->msg (err->code = EINVAL, or
 * E2BIG for the size limits).
 *
 * Lines: leading/trailing blanks are ignored, empty lines and lines whose
 * first non-blank character is '#' are comments.  Keys are case-sensitive.
 *
 *   Version    = 20130611                       required, only that value
 *   Program    = <host path>                    required
 *   Timeout    = <seconds>                      required, 1..2147483647
 *   Memory     = <bytes>,<etag 0|1>             required, bytes 1048576..4294967296
 *   Channel    = <uri>,<alias>,<type>,<etag>,<gets>,<get_size>,<puts>,<put_size>
 *                                               1..10915 of them
 *   Node       = <number>                       optional, 1..4294967295
 *   NameServer = <address>                      optional, requires Node
 *   Job        = <unix socket path>             optional (daemon mode)
 *
 * Channel fields: uri is a host path or "tcp:<host>:<port>" (port 1..65535);
 * alias is an absolute path inside the sandbox without "." or ".." parts;
 * type 0..3 (see zvm_channel_type); etag 0|1; the four limits 0..4294967296
 * (0 means no such operation is allowed).
 */
#ifndef ZVM_MANIFEST_H
#define ZVM_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zvm/error.h"

#define ZVM_MANIFEST_VERSION 20130611u
#define ZVM_MANIFEST_MAX_CHANNELS 10915
#define ZVM_MANIFEST_MAX_BYTES (512u * 1024u)
#define ZVM_LIMIT_MAX 4294967296ull
#define ZVM_MEMORY_MIN (1024ull * 1024ull)
#define ZVM_MEMORY_MAX 4294967296ull
#define ZVM_TIMEOUT_MAX 2147483647u

/* Access type: how reads and writes address the channel. */
typedef enum zvm_channel_type {
    ZVM_CHANNEL_SEQ_READ_SEQ_WRITE = 0,
    ZVM_CHANNEL_RND_READ_SEQ_WRITE = 1,
    ZVM_CHANNEL_SEQ_READ_RND_WRITE = 2,
    ZVM_CHANNEL_RND_READ_RND_WRITE = 3,
} zvm_channel_type_t;

/* Index into zvm_channel_spec_t.limits. */
typedef enum zvm_limit {
    ZVM_LIMIT_GETS = 0,     /* read operations */
    ZVM_LIMIT_GET_SIZE = 1, /* bytes read */
    ZVM_LIMIT_PUTS = 2,     /* write operations */
    ZVM_LIMIT_PUT_SIZE = 3, /* bytes written */
    ZVM_LIMIT_COUNT = 4,
} zvm_limit_t;

typedef struct zvm_channel_spec {
    char *uri;                        /* host side, as written */
    char *alias;                      /* sandbox side, absolute path */
    zvm_channel_type_t type;
    bool etag;
    uint64_t limits[ZVM_LIMIT_COUNT];
    /* For "tcp:<host>:<port>" uris: is_tcp, host (owned) and port. */
    bool is_tcp;
    char *tcp_host;
    uint16_t tcp_port;
    unsigned line;                    /* line in the manifest, for messages */
} zvm_channel_spec_t;

typedef struct zvm_manifest {
    char *name;                       /* file name used in messages */
    uint32_t version;
    char *program;
    uint32_t timeout;                 /* seconds */
    uint64_t memory;                  /* bytes */
    bool memory_etag;
    zvm_channel_spec_t *channels;
    size_t nchannels;
    bool has_node;
    uint32_t node;
    char *name_server;                /* NULL when absent */
    char *job;                        /* NULL when absent */
} zvm_manifest_t;

/* Parse `len` bytes of `text` (need not be NUL-terminated); `name` is used
 * in messages.  On success m owns everything it points to.  On failure m is
 * left released (safe to release again). */
int zvm_manifest_parse(zvm_manifest_t *m, const char *text, size_t len,
                       const char *name, zvm_error_t *err);

/* Read and parse the file at `path`; files over ZVM_MANIFEST_MAX_BYTES are
 * refused without being read whole. */
int zvm_manifest_load(zvm_manifest_t *m, const char *path, zvm_error_t *err);

/* Channel with this alias, or NULL. */
const zvm_channel_spec_t *zvm_manifest_find_alias(const zvm_manifest_t *m,
                                                  const char *alias);

void zvm_manifest_release(zvm_manifest_t *m);

#endif
