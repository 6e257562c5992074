/* The multiplexed link of one gateway (docs/protocol.md §3): channels opened by id, output sent
 * within each channel's credit, round-robin across channels so one busy console cannot starve
 * another or the RPC, and as much per writable callback as the socket takes. */
#include "link/mux.h"

#include "console/console.h"
#include "libvirt/vms.h"
#include "vg_frame.h"
#include "vg_json.h"
#include "vg_link.h"
#include "vg_log.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUX_FRAME_CAP (VG_LINK_HDR + 8 + VG_LINK_OUTPUT_MAX)
/* Channels one gateway may hold open on this host. */
#define MUX_CHANNELS_MAX 65536

typedef struct mux_chan {
    console_viewer v;
    hd_mux *m;
    uint32_t id;
    uint64_t limit; /* the gateway's credit: output may be sent while sent is below it */
    uint64_t sent;  /* bytes of output sent on the channel (GAPs skip without taking any) */
    struct mux_chan *next;
} mux_chan;

/* A frame built outside the hot path (refusals, RPC answers), with LWS_PRE headroom. */
typedef struct mux_out {
    struct mux_out *next;
    size_t len;
    unsigned char buf[];
} mux_out;

struct hd_mux {
    struct lws *wsi;
    rpc_conn *rpc;
    mux_chan *chans;
    mux_chan *rr; /* where the next round over the channels starts */
    unsigned nchans;
    mux_out *head, *tail;
    int closing; /* 1001 after the channels' closes */
};

/* One frame is built at a time, so one buffer serves every channel of every gateway. */
static unsigned char txbuf[LWS_PRE + MUX_FRAME_CAP];

static void chan_wake(console_viewer *v)
{
    mux_chan *ch = v->ud;
    lws_callback_on_writable(ch->m->wsi);
}

static void rpc_wake(void *ud)
{
    hd_mux *m = ud;
    lws_callback_on_writable(m->wsi);
}

hd_mux *hd_mux_new(struct lws *wsi, const rpc_method *methods)
{
    hd_mux *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->wsi = wsi;
    if (!(m->rpc = hd_rpc_conn_new(methods, rpc_wake, m))) {
        free(m);
        return NULL;
    }
    return m;
}

static void queue(hd_mux *m, int type, uint32_t id, const void *data, size_t len, int code)
{
    size_t fixed = type == VG_LINK_CLOSE ? 2 : 0;
    mux_out *o = malloc(sizeof(*o) + LWS_PRE + VG_LINK_HDR + fixed + len);
    if (!o)
        return;
    unsigned char *p = o->buf + LWS_PRE;
    vg_link_hdr(p, type, id);
    if (fixed) {
        p[VG_LINK_HDR] = (unsigned char)(code >> 8);
        p[VG_LINK_HDR + 1] = (unsigned char)code;
    }
    memcpy(p + VG_LINK_HDR + fixed, data, len);
    o->len = VG_LINK_HDR + fixed + len;
    o->next = NULL;
    if (m->tail)
        m->tail->next = o;
    else
        m->head = o;
    m->tail = o;
    lws_callback_on_writable(m->wsi);
}

static void refuse_channel(hd_mux *m, uint32_t id, int code, const char *reason)
{
    size_t n = strlen(reason);
    queue(m, VG_LINK_CLOSE, id, reason, n > VG_LINK_REASON_MAX ? VG_LINK_REASON_MAX : n, code);
}

static mux_chan *find(hd_mux *m, uint32_t id)
{
    for (mux_chan *ch = m->chans; ch; ch = ch->next)
        if (ch->id == id)
            return ch;
    return NULL;
}

static void chan_free(hd_mux *m, mux_chan *ch)
{
    for (mux_chan **pp = &m->chans; *pp; pp = &(*pp)->next)
        if (*pp == ch) {
            *pp = ch->next;
            break;
        }
    if (m->rr == ch)
        m->rr = ch->next;
    hd_console_detach(&ch->v);
    m->nchans--;
    free(ch);
}

void hd_mux_free(hd_mux *m)
{
    if (!m)
        return;
    while (m->chans)
        chan_free(m, m->chans);
    while (m->head) {
        mux_out *o = m->head;
        m->head = o->next;
        free(o);
    }
    hd_rpc_conn_free(m->rpc);
    free(m);
}

/* OPEN {"vm","dev","offset"}: a channel on one of this host's consoles. */
static void open_channel(hd_mux *m, uint32_t id, const unsigned char *json, size_t len)
{
    char msg[160];
    vg_err err;
    if (find(m, id)) {
        refuse_channel(m, id, 1008, "channel id already open");
        return;
    }
    if (m->nchans >= MUX_CHANNELS_MAX) {
        refuse_channel(m, id, 1013, "too many channels on this link");
        return;
    }
    cJSON *o = vg_json_parse((const char *)json, len, &err);
    const char *vm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "vm"));
    const char *dev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "dev"));
    const char *offset = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "offset"));
    if (!vm || !vg_valid_name(vm) || (dev && !vg_valid_name(dev))) {
        refuse_channel(m, id, 1008, o ? "OPEN needs vm (and dev) as names" : err.msg);
        cJSON_Delete(o);
        return;
    }
    console *c = hd_vms_console(vm, dev ? dev : "serial0");
    mux_chan *ch = c ? calloc(1, sizeof(*ch)) : NULL;
    if (!ch) {
        snprintf(msg, sizeof(msg), "no console %.64s/%.40s on this host", vm,
                 dev ? dev : "serial0");
        refuse_channel(m, id, c ? 1011 : 4004, c ? "out of memory" : msg);
        cJSON_Delete(o);
        return;
    }
    ch->m = m;
    ch->id = id;
    ch->v.wake = chan_wake;
    ch->v.ud = ch;
    if (hd_console_channel_open(c, &ch->v, offset, &err) != VG_OK) {
        refuse_channel(m, id, 1008, err.msg);
        free(ch);
    } else {
        ch->next = m->chans;
        m->chans = ch;
        m->nchans++;
    }
    cJSON_Delete(o);
}

int hd_mux_recv(hd_mux *m, int binary, const unsigned char *buf, size_t len)
{
    vg_link_frame f;
    vg_err err;
    if (!binary || vg_link_parse(buf, len, &f, &err) != VG_OK) {
        vg_warn("link", "dropping a gateway's link: %s", binary ? err.msg : "text message");
        return -1;
    }
    if (f.type == VG_LINK_RPC) {
        hd_rpc_conn_recv(m->rpc, (const char *)f.data, f.len);
        return 0;
    }
    if (f.type == VG_LINK_OPEN) {
        if (!m->closing)
            open_channel(m, f.channel, f.data, f.len);
        return 0;
    }
    mux_chan *ch = find(m, f.channel);
    if (!ch) /* closed meanwhile: what crossed the close is moot */
        return 0;
    switch (f.type) {
    case VG_LINK_CLOSE:
        chan_free(m, ch);
        return 0;
    case VG_LINK_INPUT:
        hd_console_channel_input(&ch->v, f.data, f.len);
        return 0;
    case VG_LINK_CREDIT:
        if (f.offset > ch->limit) {
            ch->limit = f.offset;
            lws_callback_on_writable(m->wsi);
        }
        return 0;
    case VG_LINK_CONTROL:
        hd_console_channel_control(&ch->v, f.data, f.len);
        return 0;
    default:
        vg_warn("link", "a gateway sent frame 0x%02x, which only hostd sends", f.type);
        return -1;
    }
}

static int write_frame(hd_mux *m, unsigned char *p, size_t len)
{
    return lws_write(m->wsi, p, len, LWS_WRITE_BINARY) < (int)len ? -1 : 0;
}

/* The next frame from the queue or the RPC, then one per channel in turn. 1: wrote one. */
static int write_one(hd_mux *m)
{
    if (m->head) {
        mux_out *o = m->head;
        m->head = o->next;
        if (!m->head)
            m->tail = NULL;
        int rc = write_frame(m, o->buf + LWS_PRE, o->len);
        free(o);
        return rc < 0 ? -1 : 1;
    }
    size_t len;
    char *text = hd_rpc_conn_next(m->rpc, &len);
    if (text) {
        queue(m, VG_LINK_RPC, 0, text, len, 0);
        free(text);
        return m->head ? write_one(m) : 0;
    }
    if (!m->chans)
        return 0;
    mux_chan *start = m->rr ? m->rr : m->chans, *ch = start;
    do {
        mux_chan *next = ch->next ? ch->next : m->chans;
        console_frame fr;
        uint64_t budget = ch->limit > ch->sent ? ch->limit - ch->sent : 0;
        if (hd_console_channel_next(&ch->v, ch->id, budget, txbuf + LWS_PRE, MUX_FRAME_CAP, &fr)) {
            ch->sent += fr.output;
            m->rr = next;
            if (write_frame(m, txbuf + LWS_PRE, fr.len) < 0)
                return -1;
            if (fr.close)
                chan_free(m, ch);
            return 1;
        }
        ch = next;
    } while (ch != start);
    return 0;
}

int hd_mux_writable(hd_mux *m)
{
    while (!lws_send_pipe_choked(m->wsi)) {
        int rc = write_one(m);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (m->closing && !m->chans) {
                lws_close_reason(m->wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
                return -1;
            }
            return 0;
        }
    }
    lws_callback_on_writable(m->wsi);
    return 0;
}

void hd_mux_shutdown(hd_mux *m)
{
    m->closing = 1;
    for (mux_chan *ch = m->chans; ch; ch = ch->next)
        hd_console_viewer_close(&ch->v, 1001);
    lws_callback_on_writable(m->wsi);
}
