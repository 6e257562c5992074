/* A channel's link to hostd's /link/channel once it is up (docs/protocol.md §3, link v2):
 * hostd's messages go to channel.c; joins and leaves, then the viewers' queued input, go up. */
#include "console/console_int.h"

#include "core/relaystats.h"
#include "vg_frame.h"
#include "vg_log.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

static void link_opened(void *user)
{
    gw_channel *ch = user;
    ch->link_up = 1;
    ch->link_paused = 0; /* a new connection, read from the start */
    ev_timer_stop(ch->g->loop, &ch->link_timer);
    snprintf(ch->host, sizeof(ch->host), "%s", ch->link_host);
    ch->link_host[0] = '\0';
    if (ch->following)
        gw_follow_stop(ch);
    gw_channel_rejoin(ch);
    lws_callback_on_writable(ch->link);
}

static void link_message(void *user, int binary, unsigned char *data, size_t len)
{
    gw_channel_message(user, binary, data, len);
}

static int send_one(gw_channel *ch, struct lws *wsi, gw_wsq *q)
{
    size_t len;
    int binary;
    unsigned char *p = gw_wsq_head(q, &len, &binary);
    int rc = gw_linkws_send(&ch->lw, wsi, p, len, binary);
    gw_wsq_pop(q);
    if (rc >= 0) {
        gw_relay.hostd_bytes += len;
        gw_relay.hostd_msgs++;
    }
    return rc;
}

/* The first viewer with input that may go now, taken off the list; one whose input waits for
 * the console to come back stays on it. */
static gw_viewer *next_sender(gw_channel *ch)
{
    gw_viewer *prev = NULL, *v = ch->dirty_head;
    while (v) {
        gw_viewer *next = v->dirty_next;
        size_t len;
        int binary;
        unsigned char *p = gw_wsq_head(&v->up, &len, &binary);
        /* Control frames (take, release, ping) still go: hostd answers them without the VM. */
        if (p && ch->console_down && p[0] == VG_OP_TO_BINARY) {
            prev = v;
            v = next;
            continue;
        }
        if (prev)
            prev->dirty_next = next;
        else
            ch->dirty_head = next;
        if (ch->dirty_tail == v)
            ch->dirty_tail = prev;
        v->dirty = 0;
        if (p)
            return v;
        v = next;
    }
    return NULL;
}

/* Joins and leaves first (a viewer's join before its input), then input viewer by viewer, as
 * much as the socket takes. */
static int link_writeable(void *user, struct lws *wsi)
{
    gw_channel *ch = user;
    if (ch->link_closing) {
        gw_linkws_close(&ch->lw, 1000);
        lws_callback_on_writable(wsi);
        return 0;
    }
    while (ch->ctl.head) {
        int rc = send_one(ch, wsi, &ch->ctl);
        if (rc < 0)
            return -1;
        if (rc || lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    gw_viewer *v;
    while ((v = next_sender(ch))) {
        int rc = send_one(ch, wsi, &v->up);
        if (rc < 0)
            return -1;
        if (v->browser_paused && v->up.bytes < UP_QUEUE_MAX / 2 && v->browser) {
            v->browser_paused = 0;
            lws_rx_flow_control(v->browser, 1);
        }
        if (v->up.head)
            gw_channel_input(v);
        if (rc || lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    return 0;
}

static void link_gone(void *user, const vg_err *err)
{
    gw_channel *ch = user;
    if (ch->lw.peer_close_code && ch->lw.peer_close_code != 1005)
        ch->link_close_code = ch->lw.peer_close_code;
    /* After hostd's close frame the end of its TLS session follows, as it should. */
    if (err)
        vg_warn("console", "link to hostd for %s/%s failed: %s", ch->vm, ch->dev, err->msg);
    gw_follow_link_gone(ch, ch->link_up || !err ? "the link to the VM's host was lost"
                                                : "the VM's host cannot be reached");
}

static const gw_linkws_ops link_ops = {
    .open = link_opened,
    .message = link_message,
    .writeable = link_writeable,
    .gone = link_gone,
};

static int link_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    (void)user;
    gw_channel *ch = lws_get_opaque_user_data(wsi);
    return gw_linkws_callback(ch ? &ch->lw : NULL, wsi, (int)reason, in, len, &link_ops, ch);
}

const struct lws_protocols gw_link_protocol = {
    GW_LINK_PROTOCOL, link_callback, 0, 65536, 0, NULL, 0,
};
