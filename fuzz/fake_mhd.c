/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fake libmicrohttpd of fake_mhd.h: values looked up and iterated as
 * MHD does (header names case-insensitively, in the order added), replies
 * kept on the connection for the target to check.
 */
#include "fake_mhd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct MHD_Response {
    char *data;
    size_t len;
    int fd;                /* for _from_fd, else -1 */
    size_t nheaders;
};

void fake_conn_add(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *k,
                   const char *v)
{
    if (c->nvalues >= FAKE_MAX_VALUES)
        return;
    char *kk = strdup(k), *vv = v ? strdup(v) : NULL;
    if (!kk || (v && !vv))
        abort();
    c->values[c->nvalues].kind = kind;
    c->values[c->nvalues].k = kk;
    c->values[c->nvalues].v = vv;
    c->nvalues++;
}

void fake_conn_reset(struct MHD_Connection *c)
{
    for (size_t i = 0; i < c->nvalues; i++) {
        free(c->values[i].k);
        free(c->values[i].v);
    }
    free(c->body);
    memset(c, 0, sizeof *c);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                        const char *key)
{
    for (size_t i = 0; i < c->nvalues; i++)
        if ((c->values[i].kind & kind) && key && !strcasecmp(c->values[i].k, key))
            return c->values[i].v;
    return NULL;
}

int MHD_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator it, void *cls)
{
    int n = 0;
    for (size_t i = 0; i < c->nvalues; i++) {
        if (!(c->values[i].kind & kind))
            continue;
        n++;
        if (it && it(cls, c->values[i].kind, c->values[i].k, c->values[i].v) != MHD_YES)
            break;
    }
    return n;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
                                                     enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = -1;
    r->len = size;
    if (mode == MHD_RESPMEM_MUST_FREE) {
        r->data = buffer;
    } else {
        r->data = malloc(size + 1);
        if (!r->data) {
            free(r);
            return NULL;
        }
        memcpy(r->data, buffer, size);
    }
    return r;
}

struct MHD_Response *MHD_create_response_from_fd_at_offset64(uint64_t size, int fd,
                                                             uint64_t offset)
{
    (void)offset;
    struct MHD_Response *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = fd;
    r->len = (size_t)size;
    return r;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r, const char *header,
                                        const char *content)
{
    /* MHD refuses a header with a line break in it; so does the fake. */
    if (!header || !content || strpbrk(header, "\r\n:") || strpbrk(content, "\r\n"))
        return MHD_NO;
    r->nheaders++;
    return MHD_YES;
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status,
                                   struct MHD_Response *r)
{
    if (c->status)
        abort(); /* answered twice */
    c->status = status;
    c->nheaders = r->nheaders;
    if (r->fd < 0) {
        c->body = malloc(r->len + 1);
        if (!c->body)
            abort();
        if (r->len)
            memcpy(c->body, r->data, r->len);
        c->body[r->len] = '\0';
        c->body_len = r->len;
    }
    return MHD_YES;
}

void MHD_destroy_response(struct MHD_Response *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->data);
    free(r);
}
