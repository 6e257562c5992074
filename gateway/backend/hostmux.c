#include "backend/hostmux.h"

#include "net/wsq.h"

#include "vg_idtab.h"
#include "vg_log.h"
#include "vg_util.h"

#include <ev.h>
#include <libwebsockets.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUX_PROTOCOL "vmgate.link.v3"
#define MUX_LOCAL "vg-hostmux"
/* hostd's messages: console frames are small, RPC answers up to 256 KiB; anything bigger is a
 * broken peer. */
#define MUX_MSG_MAX (4 * 1024 * 1024)
/* A link whose upgrade is not answered within this is dropped. */
#define LINK_ANSWER_S 10.
/* A link that dropped is made again after this, doubling up to RETRY_MAX_S while it fails ... */
#define RETRY_MIN_S 0.25
#define RETRY_MAX_S 30.
/* ... as long as it was used within this; an unused host's link is let go. */
#define LINK_KEEP_MS (10 * 60 * 1000)

struct gw_hostmux {
    gw *g;
    gw_hostmux *next;
    char host[65];
    char url[256];
    struct lws *wsi; /* NULL while down */
    int up;          /* hostd accepted the upgrade */
    int connecting;  /* inside gw_linkws_connect: lws may report its failure before it returns */
    int retired;     /* the host moved its link URL: this one goes once it has closed */
    gw_linkws lw;
    gw_muxend *rpc; /* the RPC end, if attached */
    vg_idtab chans; /* the channel ends, by id */
    uint32_t next_id;
    gw_muxend *ready_head, *ready_tail;
    gw_wsq closes; /* CLOSE messages of channels detached, to be written */
    ev_timer retry;
    double backoff;
    int64_t last_used;
};

static gw_hostmux *links;

static void want_write(gw_hostmux *m)
{
    if (m->wsi && m->up)
        lws_callback_on_writable(m->wsi);
}

/* ---- the ends ---- */

static void unready(gw_hostmux *m, gw_muxend *e)
{
    if (!e->ready)
        return;
    if (e->ready_prev)
        e->ready_prev->ready_next = e->ready_next;
    else
        m->ready_head = e->ready_next;
    if (e->ready_next)
        e->ready_next->ready_prev = e->ready_prev;
    else
        m->ready_tail = e->ready_prev;
    e->ready_prev = e->ready_next = NULL;
    e->ready = 0;
}

/* Takes e off m without a word to hostd. */
static void unlink_end(gw_muxend *e)
{
    gw_hostmux *m = e->mux;
    unready(m, e);
    if (e->id == 0)
        m->rpc = NULL;
    else
        vg_idtab_del(&m->chans, e->id);
    e->mux = NULL;
}

void gw_muxend_want_write(gw_muxend *e)
{
    gw_hostmux *m = e->mux;
    if (!m)
        return;
    if (!e->ready) {
        e->ready = 1;
        e->ready_next = NULL;
        e->ready_prev = m->ready_tail;
        if (m->ready_tail)
            m->ready_tail->ready_next = e;
        else
            m->ready_head = e;
        m->ready_tail = e;
    }
    want_write(m);
}

void gw_muxend_credit(gw_muxend *e, uint32_t bytes)
{
    if (!e->mux || !bytes)
        return;
    uint64_t due = (uint64_t)e->credit_due + bytes;
    e->credit_due = due > VG_MUX_CREDIT_MAX ? VG_MUX_CREDIT_MAX : (uint32_t)due;
    gw_muxend_want_write(e);
}

static void link_connect(gw_hostmux *m);

int gw_muxend_attach(gw_muxend *e, gw_hostmux *m, const char *query, const gw_muxend_ops *ops,
                     void *user, vg_err *err)
{
    if (query && strlen(query) > VG_MUX_QUERY_MAX)
        return vg_fail(err, VG_E_TOO_BIG, "a channel's arguments over %d bytes", VG_MUX_QUERY_MAX);
    memset(e, 0, sizeof(*e));
    e->mux = m;
    e->ops = ops;
    e->user = user;
    if (query) {
        e->id = ++m->next_id ? m->next_id : ++m->next_id;
        if (vg_idtab_add(&m->chans, e->id, e, err) != VG_OK) {
            e->mux = NULL;
            return VG_ERR;
        }
        snprintf(e->query, sizeof(e->query), "%s", query);
        e->open_due = 1;
    } else {
        m->rpc = e;
    }
    m->last_used = vg_mono_ms();
    if (m->up) {
        gw_muxend_want_write(e);
    } else if (!m->wsi) {
        /* From the loop, not from here: a link that fails at once ends its ends (gone), which
         * their owners do not expect while they attach. */
        ev_timer_stop(m->g->loop, &m->retry);
        ev_timer_set(&m->retry, 0., 0.);
        ev_timer_start(m->g->loop, &m->retry);
    }
    return VG_OK;
}

void gw_muxend_detach(gw_muxend *e)
{
    gw_hostmux *m = e->mux;
    if (!m)
        return;
    int opened = e->id && !e->open_due && m->up;
    uint32_t id = e->id;
    unlink_end(e);
    if (!opened)
        return;
    unsigned char close[7];
    /* Out of memory, hostd keeps the channel until the link goes: nothing is lost. */
    if (gw_wsq_push(&m->closes, close, vg_mux_put_close(close, id, 1000), 1) == VG_OK)
        want_write(m);
}

int gw_muxend_send(gw_muxend *e, unsigned char *data, size_t len, int binary)
{
    gw_hostmux *m = e->mux;
    if (e->id) {
        data -= VG_MUX_HDR;
        vg_mux_put_hdr(data, binary ? VG_MUX_BINARY : VG_MUX_TEXT, e->id);
        len += VG_MUX_HDR;
        binary = 1;
    }
    int rc = gw_linkws_send(&m->lw, m->wsi, data, len, binary);
    return rc == 0 && lws_send_pipe_choked(m->wsi) ? 1 : rc;
}

/* Every end on m is gone: the link dropped or could not be made. */
static void end_all(gw_hostmux *m, const char *why)
{
    int code = m->lw.peer_close_code;
    gw_wsq_clear(&m->closes);
    while (m->chans.n || m->rpc) {
        gw_muxend *e = m->rpc ? m->rpc : m->chans.e[m->chans.n - 1].p;
        unlink_end(e);
        e->ops->gone(e->user, 0, code, why);
    }
}

/* ---- the link ---- */

static void retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    gw_hostmux *m = t->data;
    if (!m->wsi)
        link_connect(m);
}

static void link_unlist(gw_hostmux *m)
{
    for (gw_hostmux **p = &links; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            break;
        }
}

static void link_free(gw_hostmux *m)
{
    link_unlist(m);
    ev_timer_stop(m->g->loop, &m->retry);
    gw_linkws_free(&m->lw);
    vg_idtab_clear(&m->chans);
    gw_wsq_clear(&m->closes);
    free(m);
}

/* The link went down: its ends are gone; it is made again later while it is in use. */
static void link_down(gw_hostmux *m, const char *why)
{
    m->wsi = NULL;
    m->up = 0;
    end_all(m, why);
    if (m->connecting)
        return; /* link_connect goes on when gw_linkws_connect has returned */
    if (m->chans.n || m->rpc)
        return; /* an end attached again from its gone: it made the link anew */
    if (m->retired || vg_mono_ms() - m->last_used > LINK_KEEP_MS) {
        link_free(m);
        return;
    }
    /* Reset by a message only: a host that accepts the link and then refuses or drops it is
     * not asked again at once, over and over. */
    m->backoff = m->backoff < RETRY_MIN_S       ? RETRY_MIN_S
                 : 2 * m->backoff > RETRY_MAX_S ? RETRY_MAX_S
                                                : 2 * m->backoff;
    ev_timer_stop(m->g->loop, &m->retry);
    ev_timer_set(&m->retry, m->backoff, 0.);
    ev_timer_start(m->g->loop, &m->retry);
}

static void link_opened(void *user)
{
    gw_hostmux *m = user;
    m->up = 1;
    /* Every end attached meanwhile is written: a channel's OPEN first, then its up. */
    if (m->rpc)
        gw_muxend_want_write(m->rpc);
    for (size_t i = 0; i < m->chans.n; i++)
        gw_muxend_want_write(m->chans.e[i].p);
}

static void broken(gw_hostmux *m, const char *why)
{
    vg_warn("hostmux", "dropping the link to hostd %s: it sent %s", m->host, why);
    gw_linkws_close(&m->lw, 1008);
    want_write(m);
}

static void link_message(void *user, int binary, unsigned char *data, size_t len)
{
    gw_hostmux *m = user;
    if (m->lw.close_due || m->lw.close_sent)
        return;
    if (!binary) {
        if (m->rpc)
            m->rpc->ops->message(m->rpc->user, 0, data, len);
        return;
    }
    vg_mux_msg msg;
    vg_err err;
    if (vg_mux_parse(data, len, 0, &msg, &err) != VG_OK) {
        broken(m, err.msg);
        return;
    }
    gw_muxend *e = vg_idtab_get(&m->chans, msg.chan);
    if (!e)
        return; /* detached while the message was on its way */
    m->backoff = 0;
    if (msg.op == VG_MUX_CLOSE) {
        unlink_end(e);
        e->ops->gone(e->user, msg.code, 0, NULL);
        return;
    }
    e->ops->message(e->user, msg.op == VG_MUX_BINARY, (unsigned char *)msg.data, msg.len);
}

/* The link's own messages of an end: its OPEN, then a CREDIT. */
static int write_end_control(gw_hostmux *m, gw_muxend *e)
{
    unsigned char buf[GW_MUX_PRE + VG_MUX_QUERY_MAX + 16], *p = buf + GW_LINKWS_HDR_MAX;
    int rc = 0;
    if (e->open_due) {
        size_t n = strlen(e->query);
        vg_mux_put_hdr(p, VG_MUX_OPEN, e->id);
        memcpy(p + VG_MUX_HDR, e->query, n);
        e->open_due = 0;
        rc = gw_linkws_send(&m->lw, m->wsi, p, VG_MUX_HDR + n, 1);
        if (rc < 0)
            return rc;
        e->ops->up(e->user);
        if (!e->mux) /* the end let go in its up */
            return rc;
    }
    if (e->credit_due && rc == 0) {
        size_t n = vg_mux_put_credit(p, e->id, e->credit_due);
        e->credit_due = 0;
        rc = gw_linkws_send(&m->lw, m->wsi, p, n, 1);
    }
    return rc;
}

/* Closes first, then the ends in turn: each writes what it has while the socket takes it, then
 * goes to the back if it has more. */
static int link_writeable(void *user, struct lws *wsi)
{
    gw_hostmux *m = user;
    (void)wsi;
    while (m->closes.head) {
        size_t len;
        int binary;
        unsigned char *p = gw_wsq_head(&m->closes, &len, &binary);
        int rc = gw_linkws_send(&m->lw, m->wsi, p, len, binary);
        gw_wsq_pop(&m->closes);
        if (rc < 0)
            return -1;
    }
    /* The RPC end first: a call is not kept waiting behind console input. */
    gw_muxend *e;
    while ((e = m->rpc && m->rpc->ready ? m->rpc : m->ready_head)) {
        unready(m, e);
        int rc = e->id ? write_end_control(m, e) : 0;
        if (rc < 0)
            return -1;
        if (rc > 0 || lws_send_pipe_choked(m->wsi)) {
            gw_muxend_want_write(e); /* its own turn is still to come */
            return 0;
        }
        if (e->mux && e->ops->writeable(e->user) < 0)
            return -1;
        if (lws_send_pipe_choked(m->wsi)) {
            lws_callback_on_writable(m->wsi);
            return 0;
        }
    }
    return 0;
}

static void link_gone(void *user, const vg_err *err)
{
    gw_hostmux *m = user;
    char why[sizeof(((vg_err *)0)->msg) + 64];
    if (err)
        vg_warn("hostmux", "link to hostd %s failed: %s", m->host, err->msg);
    snprintf(why, sizeof(why), "%s%s%s",
             m->up ? "the link to the host was lost" : "the host cannot be reached",
             err ? ": " : "", err ? err->msg : "");
    link_down(m, why);
}

static const gw_linkws_ops link_ops = {
    .open = link_opened,
    .message = link_message,
    .writeable = link_writeable,
    .gone = link_gone,
};

static void link_connect(gw_hostmux *m)
{
    vg_err err;
    ev_timer_stop(m->g->loop, &m->retry);
    gw_linkws_free(&m->lw);
    gw_linkws_init(&m->lw, MUX_MSG_MAX);
    m->up = 0;
    m->connecting = 1;
    int rc = gw_linkws_connect(&m->lw, m->g, m->g->link_tls, m->url, "/link/mux", MUX_PROTOCOL,
                               MUX_LOCAL, m, &m->wsi, &err);
    m->connecting = 0;
    if (rc != VG_OK) {
        vg_warn("hostmux", "link to hostd %s failed: %s", m->host, err.msg);
        m->wsi = NULL;
        char why[sizeof(((vg_err *)0)->msg) + 64];
        snprintf(why, sizeof(why), "the host cannot be reached: %s", err.msg);
        link_down(m, why);
    } else if (!m->wsi) {
        link_down(m, "the host cannot be reached"); /* it failed inside */
    }
}

gw_hostmux *gw_hostmux_get(gw *g, const char *host, const char *url)
{
    gw_hostmux *m = links;
    while (m && strcmp(m->host, host))
        m = m->next;
    if (m && strcmp(m->url, url) && m->wsi) {
        /* The host registered another link URL (restarted elsewhere): the old link goes, with
         * the ends on it; later ones take a new link. */
        vg_info("hostmux", "host %s moved its link to %s", host, url);
        link_unlist(m);
        m->retired = 1;
        lws_set_timeout(m->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        m = NULL;
    }
    if (m) {
        snprintf(m->url, sizeof(m->url), "%s", url);
        return m;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->g = g;
    snprintf(m->host, sizeof(m->host), "%s", host);
    snprintf(m->url, sizeof(m->url), "%s", url);
    gw_linkws_init(&m->lw, MUX_MSG_MAX);
    ev_timer_init(&m->retry, retry_cb, 0., 0.);
    m->retry.data = m;
    m->last_used = vg_mono_ms();
    m->next = links;
    links = m;
    return m;
}

static int mux_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    (void)user;
    gw_hostmux *m = lws_get_opaque_user_data(wsi);
    return gw_linkws_callback(m ? &m->lw : NULL, wsi, (int)reason, in, len, &link_ops, m);
}

const struct lws_protocols gw_hostmux_protocol = {
    MUX_LOCAL, mux_callback, 0, 65536, 0, NULL, 0,
};

unsigned gw_hostmux_up_count(void)
{
    unsigned n = 0;
    for (const gw_hostmux *m = links; m; m = m->next)
        n += m->up != 0;
    return n;
}

void gw_hostmux_keepalive(gw *g, int64_t now_ms)
{
    for (gw_hostmux *m = links; m; m = m->next)
        if (m->wsi && gw_linkws_keepalive(&m->lw, m->wsi, &g->cfg, now_ms, LINK_ANSWER_S)) {
            vg_warn("hostmux", "dropping the link to hostd %s: %s", m->host,
                    m->up ? "hostd went silent" : "no answer to the upgrade");
            /* Not at once: its end frees links while this walks them. */
            lws_set_timeout(m->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
}
