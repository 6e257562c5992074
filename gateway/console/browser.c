/* The browser side, /ws/console (docs/protocol.md §2): a viewer per connection, the client's
 * frames checked and queued for the link, the queue to the browser written with its GAP when
 * output had to be skipped. */
#include "console/console_int.h"

#include "core/relaystats.h"
#include "vg_frame.h"
#include "vg_log.h"

#include <libwebsockets.h>
#include <string.h>

typedef struct browser_pss {
    gw_viewer *v;
} browser_pss;

static void browser_receive(gw_viewer *v, struct lws *wsi, const void *in, size_t len)
{
    int draining = gw_wsbuf_draining(&v->rx_browser);
    int rc = gw_wsbuf_add(&v->rx_browser, in, len, lws_is_first_fragment(wsi),
                          lws_is_final_fragment(wsi));
    if (draining && !gw_wsbuf_draining(&v->rx_browser))
        lws_callback_on_writable(wsi); /* the close waited for this end of a too big message */
    if (rc == VG_ERR) {
        gw_viewer_fail_browser(v, VG_E_TOO_BIG, "message larger than 65536 bytes", 1009);
        return;
    }
    if (rc == 0 || v->close_code)
        return;
    int binary = lws_frame_is_binary(wsi);
    vg_msg msg;
    vg_err err;
    if (vg_frame_parse_client(binary, v->rx_browser.msg, v->rx_browser.msg_len, &msg, &err) !=
        VG_OK) {
        gw_wsbuf_reset(&v->rx_browser);
        if (err.code == VG_E_TOO_BIG)
            gw_viewer_fail_browser(v, err.code, err.msg, 1009);
        else
            gw_viewer_send_error(v, err.code, err.msg);
        return;
    }
    if (msg.kind == VG_MSG_TAKE && !strcmp(v->t.mode, "rw"))
        gw_viewer_audit(v, "take");
    gw_wsq_push(&v->up, v->rx_browser.msg, v->rx_browser.msg_len, binary);
    gw_wsbuf_reset(&v->rx_browser);
    if (v->up.bytes >= UP_QUEUE_MAX && !v->browser_paused) {
        lws_rx_flow_control(wsi, 0);
        v->browser_paused = 1;
    }
    if (v->link && v->link_up)
        lws_callback_on_writable(v->link);
}

static int browser_writeable(gw_viewer *v, struct lws *wsi)
{
    if (v->down.head) {
        /* As many messages as the socket takes, not one per loop iteration. */
        do {
            int n = gw_wsq_write(&v->down, wsi);
            if (n < 0)
                return -1;
            gw_relay.browser_bytes += (unsigned)n;
            gw_relay.browser_msgs++;
        } while (v->down.head && !lws_send_pipe_choked(wsi));
        if (v->down.bytes <= (size_t)v->g->cfg.viewer_queue / 2) {
            if (v->skipping) {
                unsigned char gap[VG_FRAME_GAP_LEN];
                vg_frame_gap(gap, v->skip_from, v->skip_to);
                gw_wsq_push(&v->down, gap, sizeof(gap), 1);
                v->skipping = 0;
            }
            if (v->link_paused) {
                v->link_paused = 0;
                if (v->link)
                    lws_rx_flow_control(v->link, 1);
            }
        }
        if (v->down.head || (v->close_code && !gw_wsbuf_draining(&v->rx_browser)))
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (v->close_code && !gw_wsbuf_draining(&v->rx_browser)) {
        lws_close_reason(wsi, (enum lws_close_status)v->close_code,
                         (unsigned char *)v->close_reason, strlen(v->close_reason));
        return -1;
    }
    return 0;
}

static int browser_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len)
{
    browser_pss *pss = user;
    gw *g = gw_from_wsi(wsi);
    gw_viewer *v = pss ? pss->v : NULL;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        v = gw_viewer_new(g, wsi);
        if (!v)
            return -1;
        pss->v = v;
        if (g->stopping)
            gw_viewer_close_browser(v, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
        else
            gw_attach_start(v, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (v) {
            gw_keepalive_seen(&v->ka);
            browser_receive(v, wsi, in, len);
        }
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (v)
            gw_keepalive_seen(&v->ka);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!v)
            return 0;
        int rc = gw_keepalive_write(&v->ka, wsi);
        if (rc < 0)
            return -1;
        if (rc) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        return browser_writeable(v, wsi);
    }
    case LWS_CALLBACK_CLOSED:
        if (!v)
            return 0;
        pss->v = NULL;
        v->browser = NULL;
        if (v->t.user[0])
            vg_info("console", "user %s detached from %s/%s", v->t.user, v->t.vm, v->t.dev);
        if (v->audited)
            gw_viewer_audit(v, "detach");
        gw_viewer_close_link(v);
        gw_viewer_maybe_free(v);
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols gw_console_protocol = {
    GW_CONSOLE_PROTOCOL, browser_callback, sizeof(browser_pss), VG_FRAME_MAX_CLIENT, 0, NULL, 0,
};
