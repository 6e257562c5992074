#include "link/mux.h"

#include "link/request.h"
#include "vg_frame.h"
#include "vg_idtab.h"
#include "vg_log.h"
#include "vg_mux.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

/* One channel of the link: open (ch), or refused at its OPEN (refuse_code: its error and CLOSE
 * are due, then it is forgotten). */
typedef struct mux_chan {
    hd_mux *mux;
    uint32_t id;
    hd_channel *ch;
    vg_err *refusal; /* NULL when out of memory: the CLOSE goes alone */
    int refuse_code;
    int queued; /* in the mux's ready queue */
    struct mux_chan *prev, *next;
} mux_chan;

struct hd_mux {
    const hd_channel_out *out;
    void *conn;
    int channels;
    int stopping;
    rpc_conn *rpc;
    vg_idtab chans;                    /* mux_chan by id */
    mux_chan *ready_head, *ready_tail; /* channels with something due, in turn */
};

static void rpc_wake(void *ud)
{
    hd_mux *m = ud;
    m->out->wake(m->conn);
}

static void enqueue(mux_chan *e)
{
    hd_mux *m = e->mux;
    if (!e->queued) {
        e->queued = 1;
        e->next = NULL;
        e->prev = m->ready_tail;
        if (m->ready_tail)
            m->ready_tail->next = e;
        else
            m->ready_head = e;
        m->ready_tail = e;
    }
    m->out->wake(m->conn);
}

static void dequeue(mux_chan *e)
{
    hd_mux *m = e->mux;
    if (!e->queued)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        m->ready_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        m->ready_tail = e->prev;
    e->queued = 0;
    e->prev = e->next = NULL;
}

/* A channel's message goes out behind its header, written into the headroom. */
static int chan_send(void *ud, unsigned char *buf, size_t len, int binary)
{
    mux_chan *e = ud;
    vg_mux_put_hdr(buf - VG_MUX_HDR, binary ? VG_MUX_BINARY : VG_MUX_TEXT, e->id);
    return e->mux->out->send(e->mux->conn, buf - VG_MUX_HDR, len + VG_MUX_HDR, 1);
}

static int chan_choked(void *ud)
{
    mux_chan *e = ud;
    return e->mux->out->choked(e->mux->conn);
}

static void chan_wake(void *ud)
{
    enqueue(ud);
}

static const hd_channel_out chan_out = {chan_send, chan_choked, chan_wake};

hd_mux *hd_mux_new(const rpc_method *methods, int channels, const hd_channel_out *out, void *conn,
                   vg_err *err)
{
    hd_mux *m = calloc(1, sizeof(*m));
    if (!m || !(m->rpc = hd_rpc_conn_new(methods, rpc_wake, m))) {
        free(m);
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    m->out = out;
    m->conn = conn;
    m->channels = channels;
    return m;
}

/* The channel's console viewer goes first: detaching its members wakes it, which queues it. */
static void chan_free(hd_mux *m, mux_chan *e)
{
    vg_idtab_del(&m->chans, e->id);
    hd_channel_free(e->ch);
    dequeue(e);
    free(e->refusal);
    free(e);
}

void hd_mux_free(hd_mux *m)
{
    if (!m)
        return;
    while (m->chans.n)
        chan_free(m, m->chans.e[m->chans.n - 1].p);
    vg_idtab_clear(&m->chans);
    hd_rpc_conn_free(m->rpc);
    free(m);
}

size_t hd_mux_rx_max(const hd_mux *m, int binary)
{
    if (m->channels && binary)
        return VG_MUX_HDR + VG_LINK_TAG_LEN + VG_FRAME_MAX_CLIENT;
    return RPC_MAX_MESSAGE;
}

static void refuse(mux_chan *e, const vg_err *err, int code)
{
    e->refuse_code = code;
    if ((e->refusal = malloc(sizeof(*e->refusal))))
        *e->refusal = *err;
}

/* An OPEN: the channel, or its refusal as v2 would answer the request. */
static int open_chan(hd_mux *m, const vg_mux_msg *msg)
{
    vg_err err;
    mux_chan *e = calloc(1, sizeof(*e));
    if (!e)
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
    if (!e || vg_idtab_add(&m->chans, msg->chan, e, &err) != VG_OK) {
        free(e);
        vg_warn("link", "closing a link: an open of channel %u: %s", msg->chan, err.msg);
        return 1008;
    }
    e->mux = m;
    e->id = msg->chan;
    link_console_req req;
    int code;
    console *c = NULL;
    if (m->stopping) {
        vg_fail(&err, VG_E_UNAVAILABLE, "hostd is shutting down");
        code = 1001;
    } else {
        c = hd_link_console_find((const char *)msg->data, msg->len, &req, &code, &err);
    }
    if (!c)
        refuse(e, &err, code);
    else if (!(e->ch = hd_channel_new(c, req.offset[0] ? req.offset : NULL, &chan_out, e, 1, &err)))
        refuse(e, &err, 1008);
    if (!e->ch)
        enqueue(e);
    return 0;
}

static int recv_chan(hd_mux *m, const unsigned char *in, size_t len)
{
    vg_mux_msg msg;
    vg_err err;
    if (vg_mux_parse(in, len, 1, &msg, &err) != VG_OK) {
        vg_warn("link", "closing a link: the gateway sent %s", err.msg);
        return 1008;
    }
    if (msg.op == VG_MUX_OPEN)
        return open_chan(m, &msg);
    /* A message for a channel that is not open (it closed while the message was on its way) is
     * dropped. */
    mux_chan *e = vg_idtab_get(&m->chans, msg.chan);
    if (!e)
        return 0;
    switch (msg.op) {
    case VG_MUX_CLOSE:
        chan_free(m, e);
        return 0;
    case VG_MUX_CREDIT:
        if (e->ch && hd_channel_credit(e->ch, msg.credit, &err) != VG_OK) {
            vg_warn("link", "closing a link: channel %u got %s", msg.chan, err.msg);
            return 1008;
        }
        return 0;
    default:
        if (e->ch)
            hd_channel_recv(e->ch, msg.op == VG_MUX_BINARY, msg.data, msg.len);
        return 0;
    }
}

int hd_mux_recv(hd_mux *m, int binary, const unsigned char *in, size_t len)
{
    if (m->channels && binary)
        return recv_chan(m, in, len);
    hd_rpc_conn_recv(m->rpc, (const char *)in, len);
    return 0;
}

/* The answers queued, while the connection takes them; answers can be far larger than buf. */
static int write_answers(hd_mux *m)
{
    size_t len;
    char *text;
    while (!m->out->choked(m->conn) && (text = hd_rpc_conn_next(m->rpc, &len))) {
        unsigned char *buf = malloc(LWS_PRE + len);
        int rc = -1;
        if (buf) {
            memcpy(buf + LWS_PRE, text, len);
            rc = m->out->send(m->conn, buf + LWS_PRE, len, 0);
        }
        free(buf);
        free(text);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* A refused OPEN: its error, then the close code. */
static int write_refusal(mux_chan *e, unsigned char *buf, size_t cap)
{
    size_t len = e->refusal ? hd_link_error_json(e->refusal, buf, cap) : 0;
    if (len && chan_send(e, buf, len, 0) < 0)
        return -1;
    return e->refuse_code;
}

/* The channel ended after its last message: its CLOSE, and it is forgotten. */
static int write_close(hd_mux *m, mux_chan *e, unsigned char *buf, int code)
{
    size_t len = vg_mux_put_close(buf - VG_MUX_HDR, e->id, code);
    int rc = m->out->send(m->conn, buf - VG_MUX_HDR, len, 1);
    chan_free(m, e);
    return rc;
}

int hd_mux_write(hd_mux *m, unsigned char *buf, size_t cap)
{
    if (write_answers(m) < 0)
        return -1;
    while (m->ready_head && !m->out->choked(m->conn)) {
        mux_chan *e = m->ready_head;
        dequeue(e);
        int rc =
            e->ch ? hd_channel_write(e->ch, buf, cap, HD_MUX_TURN) : write_refusal(e, buf, cap);
        if (rc < 0 || (rc > 0 && write_close(m, e, buf, rc) < 0))
            return -1;
    }
    if (m->ready_head || m->out->choked(m->conn))
        m->out->wake(m->conn);
    else if (m->stopping && !m->chans.n)
        return 1001;
    return 0;
}

int hd_mux_shutdown(hd_mux *m)
{
    if (!m->channels)
        return VG_ERR;
    m->stopping = 1;
    for (size_t i = 0; i < m->chans.n; i++) {
        mux_chan *e = m->chans.e[i].p;
        if (e->ch)
            hd_channel_close(e->ch, 1001);
    }
    m->out->wake(m->conn);
    return VG_OK;
}

size_t hd_mux_channels(const hd_mux *m)
{
    return m->chans.n;
}

unsigned hd_mux_members(const hd_mux *m)
{
    unsigned n = 0;
    for (size_t i = 0; i < m->chans.n; i++) {
        const mux_chan *e = m->chans.e[i].p;
        if (e->ch)
            n += hd_channel_members(e->ch);
    }
    return n;
}
