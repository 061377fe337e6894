/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compute seam's stand-in.  Requests that would run a job
 * (X-Zerovm-Execute, /open/, /api/: see cloud.h's zc_compute_t) reach the
 * server's zc_compute_t; until the compute half is written it is this one,
 * which answers 501 to each of them and reports no jobs.  The compute half
 * replaces it by giving the server another zc_compute_t (zerocloud.c).
 */
#include "cloud/cloud.h"

#include <stdlib.h>

static void unavailable_begin(zc_compute_t *c, zc_req_t *r)
{
    (void)c;
    zc_reply_error(r, 501, "compute not available yet");
}

static zc_compute_t unavailable = {
    .name = "unavailable",
    .begin = unavailable_begin,
    .counts = NULL,
    .free = NULL,
    .impl = NULL,
};

zc_compute_t *zc_compute_unavailable(void)
{
    return &unavailable;
}
