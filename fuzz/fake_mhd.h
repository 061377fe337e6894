/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in for the few libmicrohttpd calls src/cloud/http.c makes, so
 * that the fuzz targets can hand zerocloud's request code a request whose
 * headers come from the fuzzer, with no socket and no daemon.  The fake
 * connection owns copies of its headers and of the last reply queued.
 */
#ifndef ZVM_FUZZ_FAKE_MHD_H
#define ZVM_FUZZ_FAKE_MHD_H

#include <stddef.h>

#include <microhttpd.h>

#define FAKE_MAX_VALUES 64

struct MHD_Connection {
    struct { enum MHD_ValueKind kind; char *k, *v; } values[FAKE_MAX_VALUES];
    size_t nvalues;
    unsigned status;       /* of the reply queued, 0 before */
    char *body;            /* a copy of its body (NUL-ended), or NULL */
    size_t body_len;
    size_t nheaders;       /* headers the reply carried */
};

/* Add a header (MHD_HEADER_KIND) or a query argument (MHD_GET_ARGUMENT_KIND,
 * v may be NULL); copies both; ignored past FAKE_MAX_VALUES. */
void fake_conn_add(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *k,
                   const char *v);
/* Free everything the connection holds; it is empty again. */
void fake_conn_reset(struct MHD_Connection *c);

#endif
