#include "net/wsq.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

struct gw_wsq_msg {
    gw_wsq_msg *next;
    size_t len;
    int binary;
    uint64_t at;
    unsigned char buf[]; /* GW_WSQ_PRE headroom, then the payload */
};

int gw_wsq_push(gw_wsq *q, const void *data, size_t len, int binary)
{
    return gw_wsq_push_at(q, data, len, binary, 0);
}

uint64_t gw_wsq_head_at(const gw_wsq *q)
{
    return q->head->at;
}

int gw_wsq_push_at(gw_wsq *q, const void *data, size_t len, int binary, uint64_t at)
{
    gw_wsq_msg *m = malloc(sizeof(*m) + GW_WSQ_PRE + len);
    if (!m)
        return VG_ERR;
    m->next = NULL;
    m->at = at;
    m->len = len;
    m->binary = binary;
    if (len)
        memcpy(m->buf + GW_WSQ_PRE, data, len);
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += len;
    q->count++;
    return VG_OK;
}

unsigned char *gw_wsq_head(gw_wsq *q, size_t *len, int *binary)
{
    if (!q->head)
        return NULL;
    *len = q->head->len;
    *binary = q->head->binary;
    return q->head->buf + GW_WSQ_PRE;
}

void gw_wsq_pop(gw_wsq *q)
{
    gw_wsq_msg *m = q->head;
    if (!m)
        return;
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->bytes -= m->len;
    q->count--;
    free(m);
}

void gw_wsq_clear(gw_wsq *q)
{
    while (q->head)
        gw_wsq_pop(q);
}

int gw_wsq_write(gw_wsq *q, struct lws *wsi)
{
    gw_wsq_msg *m = q->head;
    if (!m)
        return 0;
    int n =
        lws_write(wsi, m->buf + GW_WSQ_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    gw_wsq_pop(q);
    return n;
}

int gw_wsbuf_add(gw_wsbuf *b, const void *in, size_t len, int first, int final)
{
    if (first) {
        b->len = 0;
        b->overflow = 0;
    }
    if (b->overflow) {
        b->skipped += len;
        if (final)
            gw_wsbuf_reset(b);
        return 0;
    }
    if (len > b->limit - b->len) {
        b->len = 0;
        b->overflow = !final;
        b->skipped = len;
        return VG_ERR;
    }
    if (first && final) {
        b->msg = in;
        b->msg_len = len;
        return 1;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p)
            return VG_ERR;
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, in, len);
    b->len += len;
    if (!final)
        return 0;
    b->msg = b->data;
    b->msg_len = b->len;
    return 1;
}

int gw_wsbuf_draining(const gw_wsbuf *b)
{
    return b->overflow && b->skipped < GW_WSBUF_DRAIN_MAX;
}

void gw_wsbuf_reset(gw_wsbuf *b)
{
    b->len = 0;
    b->overflow = 0;
}

void gw_wsbuf_free(gw_wsbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
