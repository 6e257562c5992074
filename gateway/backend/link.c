#include "backend/link.h"

#include "backend/hostlink.h"
#include "net/wsq.h"
#include "vg_json.h"
#include "vg_log.h"

#include <ev.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HLINK_LOCAL "vg-hlink"
/* A link not up within this is a host that does not answer. */
#define HLINK_ANSWER_S 10.
/* Reconnection backoff while channels or calls wait for the link. */
#define HLINK_BACKOFF_MIN_S 0.1
#define HLINK_BACKOFF_MAX_S 5.

typedef struct hlink_call {
    struct hlink_call *next;
    double id;
    char *text; /* sent once the link is up; NULL afterwards */
    size_t len;
    gw_hlink_answer *done;
    void *priv;
} hlink_call;

struct gw_hlink {
    gw *g;
    gw_hlink *next;
    char host[65];
    char url[256];
    struct lws *wsi; /* NULL while not connected */
    int up;
    uint32_t next_id;
    gw_chan *chans;
    hlink_call *calls;
    gw_wsq tx;
    gw_wsbuf rx;
    ev_timer answer; /* the connection attempt's deadline */
    ev_timer retry;  /* backoff before the next attempt */
    double backoff;
};

static void connect_now(gw_hlink *l);

gw_hlink *gw_hlink_get(gw *g, const char *host, const char *url)
{
    gw_hlink *l;
    for (l = g->hlinks; l; l = l->next)
        if (!strcmp(l->host, host))
            break;
    if (!l) {
        if (!(l = calloc(1, sizeof(*l))))
            return NULL;
        l->g = g;
        snprintf(l->host, sizeof(l->host), "%s", host);
        l->rx.limit = VG_LINK_FRAME_MAX;
        l->backoff = HLINK_BACKOFF_MIN_S;
        ev_init(&l->answer, NULL);
        ev_init(&l->retry, NULL);
        l->next = g->hlinks;
        g->hlinks = l;
    }
    if (url)
        snprintf(l->url, sizeof(l->url), "%s", url);
    return l;
}

int gw_hlink_is_up(const gw_hlink *l)
{
    return l && l->up;
}

const char *gw_hlink_host(const gw_hlink *l)
{
    return l->host;
}

static int wanted(const gw_hlink *l)
{
    return l->chans || l->calls;
}

static void fail_calls(gw_hlink *l, const char *why)
{
    while (l->calls) {
        hlink_call *c = l->calls;
        l->calls = c->next;
        c->done(c->priv, NULL, why);
        free(c->text);
        free(c);
    }
}

/* The connection is gone (or never came): calls fail, channels wait for the next one. */
static void lost(gw_hlink *l, const char *why)
{
    ev_timer_stop(l->g->loop, &l->answer);
    l->wsi = NULL;
    l->up = 0;
    gw_wsq_clear(&l->tx);
    gw_wsbuf_reset(&l->rx);
    fail_calls(l, why);
    for (gw_chan *ch = l->chans, *next; ch; ch = next) {
        next = ch->next; /* the owner may detach it */
        ch->ops->down(ch, why);
    }
    if (wanted(l) && !l->g->stopping && !ev_is_active(&l->retry)) {
        ev_timer_set(&l->retry, l->backoff, 0.);
        ev_timer_start(l->g->loop, &l->retry);
        l->backoff = l->backoff * 2 > HLINK_BACKOFF_MAX_S ? HLINK_BACKOFF_MAX_S : l->backoff * 2;
    }
}

static void answer_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_hlink *l = w->data;
    if (!l->wsi || l->up)
        return;
    vg_warn("link", "link to hostd for %s failed: no answer in %.0f s", l->host, HLINK_ANSWER_S);
    /* Ended now, not later: lws clears l->wsi when it goes, which must not hit the next one. */
    struct lws *wsi = l->wsi;
    lws_set_opaque_user_data(wsi, NULL);
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
    lost(l, "the VM's host does not answer");
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_hlink *l = w->data;
    if (!l->wsi && wanted(l))
        connect_now(l);
}

static void connect_now(gw_hlink *l)
{
    if (l->wsi || l->g->stopping || ev_is_active(&l->retry))
        return;
    ev_set_cb(&l->answer, answer_timeout);
    ev_set_cb(&l->retry, retry_cb);
    l->answer.data = l->retry.data = l;
    if (!l->url[0] || gw_link_connect(l->g, l->url, VG_LINK_PATH, VG_LINK_PROTOCOL, HLINK_LOCAL, l,
                                      &l->wsi) != VG_OK) {
        vg_warn("link", "cannot connect to hostd %s at %s", l->host, l->url);
        l->wsi = NULL;
        lost(l, "the VM's host cannot be reached");
        return;
    }
    ev_timer_set(&l->answer, HLINK_ANSWER_S, 0.);
    ev_timer_start(l->g->loop, &l->answer);
}

void gw_hlink_attach(gw_hlink *l, gw_chan *ch)
{
    if (++l->next_id == 0)
        l->next_id = 1;
    ch->link = l;
    ch->id = l->next_id;
    ch->prev = NULL;
    ch->next = l->chans;
    if (l->chans)
        l->chans->prev = ch;
    l->chans = ch;
    if (l->up)
        ch->ops->up(ch);
    else
        connect_now(l);
}

static int push(gw_hlink *l, int type, uint32_t id, const void *a, size_t alen, const void *b,
                size_t blen)
{
    if (!l->up)
        return VG_ERR;
    unsigned char hdr[VG_LINK_HDR + 2];
    vg_link_hdr(hdr, type, id);
    if (alen)
        memcpy(hdr + VG_LINK_HDR, a, alen);
    if (gw_wsq_push2(&l->tx, hdr, VG_LINK_HDR + alen, b, blen) != VG_OK)
        return VG_ERR;
    lws_callback_on_writable(l->wsi);
    return VG_OK;
}

void gw_hlink_detach(gw_chan *ch)
{
    gw_hlink *l = ch->link;
    if (!l)
        return;
    static const unsigned char normal[2] = {1000 >> 8, 1000 & 0xff};
    push(l, VG_LINK_CLOSE, ch->id, normal, 2, NULL, 0);
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        l->chans = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    ch->link = NULL;
    ch->next = ch->prev = NULL;
}

int gw_hlink_send(gw_chan *ch, int type, const void *data, size_t len)
{
    return ch->link ? push(ch->link, type, ch->id, NULL, 0, data, len) : VG_ERR;
}

int gw_hlink_send_json(gw_chan *ch, int type, const cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    int rc = text ? gw_hlink_send(ch, type, text, strlen(text)) : VG_ERR;
    free(text);
    return rc;
}

void gw_hlink_call(gw_hlink *l, double id, const char *text, size_t len, gw_hlink_answer *done,
                   void *priv)
{
    hlink_call *c = calloc(1, sizeof(*c));
    if (c && !(c->text = malloc(len)))
        free(c), c = NULL;
    if (!c) {
        done(priv, NULL, "out of memory");
        return;
    }
    memcpy(c->text, text, len);
    c->len = len;
    c->id = id;
    c->done = done;
    c->priv = priv;
    c->next = l->calls;
    l->calls = c;
    if (l->up) {
        push(l, VG_LINK_RPC, 0, NULL, 0, c->text, c->len);
        free(c->text);
        c->text = NULL;
    } else {
        connect_now(l);
    }
}

void gw_hlink_forget(gw_hlink *l, double id)
{
    for (hlink_call **pp = &l->calls; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            hlink_call *c = *pp;
            *pp = c->next;
            free(c->text);
            free(c);
            return;
        }
}

void gw_hlink_free_all(gw *g)
{
    while (g->hlinks) {
        gw_hlink *l = g->hlinks;
        g->hlinks = l->next;
        ev_timer_stop(g->loop, &l->retry);
        ev_timer_stop(g->loop, &l->answer);
        fail_calls(l, "the gateway is stopping");
        gw_wsq_clear(&l->tx);
        gw_wsbuf_free(&l->rx);
        free(l);
    }
}

static void established(gw_hlink *l)
{
    ev_timer_stop(l->g->loop, &l->answer);
    l->up = 1;
    l->backoff = HLINK_BACKOFF_MIN_S;
    vg_info("link", "link to hostd %s is up", l->host);
    for (hlink_call *c = l->calls; c; c = c->next)
        if (c->text) {
            push(l, VG_LINK_RPC, 0, NULL, 0, c->text, c->len);
            free(c->text);
            c->text = NULL;
        }
    for (gw_chan *ch = l->chans, *next; ch; ch = next) {
        next = ch->next;
        ch->ops->up(ch);
    }
}

static void rpc_answer(gw_hlink *l, const unsigned char *p, size_t n)
{
    cJSON *o = vg_json_parse((const char *)p, n, NULL);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    for (hlink_call **pp = &l->calls; cJSON_IsNumber(id) && *pp; pp = &(*pp)->next)
        if ((*pp)->id == id->valuedouble) {
            hlink_call *c = *pp;
            *pp = c->next;
            c->done(c->priv, o, NULL);
            free(c->text);
            free(c);
            break;
        }
    cJSON_Delete(o);
}

static gw_chan *find(gw_hlink *l, uint32_t id)
{
    for (gw_chan *ch = l->chans; ch; ch = ch->next)
        if (ch->id == id)
            return ch;
    return NULL;
}

static int frame_in(gw_hlink *l, const unsigned char *p, size_t n)
{
    vg_link_frame f;
    vg_err err;
    if (vg_link_parse(p, n, &f, &err) != VG_OK) {
        vg_warn("link", "hostd %s sent a bad frame (%s); dropping the link", l->host, err.msg);
        return -1;
    }
    if (f.type == VG_LINK_RPC) {
        rpc_answer(l, f.data, f.len);
        return 0;
    }
    gw_chan *ch = find(l, f.channel);
    if (!ch)
        return 0; /* closed here while the frame was on its way */
    cJSON *o = NULL;
    switch (f.type) {
    case VG_LINK_OUTPUT:
        ch->ops->output(ch, f.offset, f.data, f.len);
        return 0;
    case VG_LINK_GAP:
        ch->ops->gap(ch, f.offset, f.to);
        return 0;
    case VG_LINK_OPENED:
    case VG_LINK_CONTROL:
        o = vg_json_parse((const char *)f.data, f.len, &err);
        if (!cJSON_IsObject(o)) {
            vg_warn("link", "hostd %s sent a bad control message: %s", l->host, err.msg);
            cJSON_Delete(o);
            return 0;
        }
        if (f.type == VG_LINK_OPENED)
            ch->ops->opened(ch, o);
        else
            ch->ops->control(ch, o);
        cJSON_Delete(o);
        return 0;
    case VG_LINK_CLOSE: {
        char reason[VG_LINK_REASON_MAX + 1];
        memcpy(reason, f.data, f.len);
        reason[f.len] = '\0';
        if (ch->prev)
            ch->prev->next = ch->next;
        else
            l->chans = ch->next;
        if (ch->next)
            ch->next->prev = ch->prev;
        ch->link = NULL;
        ch->next = ch->prev = NULL;
        ch->ops->closed(ch, f.code, reason);
        return 0;
    }
    default:
        vg_warn("link", "hostd %s sent frame 0x%02x, which only gateways send", l->host, f.type);
        return -1;
    }
}

static int writable(gw_hlink *l, struct lws *wsi)
{
    while (l->tx.head && !lws_send_pipe_choked(wsi))
        if (gw_wsq_write(&l->tx, wsi) < 0)
            return -1;
    if (l->tx.head)
        lws_callback_on_writable(wsi);
    return 0;
}

static int hlink_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    (void)user;
    gw_hlink *l = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return gw_link_add_secret(gw_from_wsi(wsi), wsi, in, len);
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!l)
            return -1;
        established(l);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!l)
            return -1;
        int rc =
            gw_wsbuf_add(&l->rx, in, len, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi));
        if (rc == VG_ERR) {
            vg_warn("link", "hostd %s sent a message over %d bytes; dropping the link", l->host,
                    VG_LINK_FRAME_MAX);
            return -1;
        }
        if (rc == 0)
            return 0;
        rc = lws_frame_is_binary(wsi) ? frame_in(l, l->rx.msg, l->rx.msg_len) : -1;
        gw_wsbuf_reset(&l->rx);
        return rc;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return l ? writable(l, wsi) : -1;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (l) {
            vg_warn("link", "link to hostd for %s failed: %s", l->host,
                    in ? (const char *)in : "connection error");
            lws_set_opaque_user_data(wsi, NULL);
            lost(l, "the VM's host cannot be reached");
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (l) {
            vg_warn("link", "link to hostd %s closed", l->host);
            lws_set_opaque_user_data(wsi, NULL);
            lost(l, "the link to the VM's host was lost");
        }
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols gw_hlink_protocol = {
    HLINK_LOCAL, hlink_callback, 0, 65536, 0, NULL, 0,
};
