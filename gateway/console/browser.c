/* The browser side, /ws/console (docs/protocol.md §2): a viewer per connection, the client's
 * frames checked and queued, tagged, for its channel's link; written to the browser are its
 * control messages and the output from its cursor in the channel's ring, with a GAP where the
 * ring overtook it. */
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
    if (msg.kind == VG_MSG_INPUT && !strcmp(v->t.mode, "ro")) {
        /* Refused here already, so a read-only viewer's bytes never travel to hostd. */
        gw_wsbuf_reset(&v->rx_browser);
        gw_viewer_send_error(v, VG_E_READ_ONLY, "this console is attached read-only");
        return;
    }
    if (msg.kind == VG_MSG_TAKE && !strcmp(v->t.mode, "rw"))
        gw_viewer_audit(v, "take");
    /* Tagged for the channel (link v2): the frame as the client sent it, after 5 bytes. */
    static unsigned char tagged[VG_LINK_TAG_LEN + VG_FRAME_MAX_CLIENT];
    tagged[0] = binary ? VG_OP_TO_BINARY : VG_OP_TO_TEXT;
    vg_frame_put_u32(tagged + 1, v->tag);
    memcpy(tagged + VG_LINK_TAG_LEN, v->rx_browser.msg, v->rx_browser.msg_len);
    gw_wsq_push(&v->up, tagged, VG_LINK_TAG_LEN + v->rx_browser.msg_len, 1);
    gw_wsbuf_reset(&v->rx_browser);
    if (v->up.bytes >= UP_QUEUE_MAX && !v->browser_paused) {
        lws_rx_flow_control(wsi, 0);
        v->browser_paused = 1;
    }
    if (v->chan)
        gw_channel_input(v);
}

/* The next output frame for v from its channel's ring into out (LWS_PRE of headroom before
 * it), up to the browser offset limit: a GAP where the ring overtook v, else OUTPUT. 0 when
 * nothing is due, -1 when v is a laggard to close. */
static size_t next_output(gw_viewer *v, uint64_t limit, unsigned char *out)
{
    const vg_ring *r = &v->chan->ring;
    if (v->cursor < r->start) {
        if (v->sent_data && v->chan->laggard_close)
            return (size_t)-1;
        vg_frame_gap(out, v->cursor, r->start);
        v->cursor = r->start;
        v->sent_data = 1;
        return VG_FRAME_GAP_LEN;
    }
    if (limit > r->end)
        limit = r->end;
    if (v->cursor >= limit)
        return 0;
    uint64_t want = limit - v->cursor;
    const unsigned char *p;
    size_t n = vg_ring_peek(r, v->cursor, want < GW_FRAME_DATA ? (size_t)want : GW_FRAME_DATA, &p);
    vg_frame_output_hdr(out, v->cursor);
    memcpy(out + VG_FRAME_OUTPUT_HDR, p, n);
    v->cursor += n;
    v->sent_data = 1;
    return VG_FRAME_OUTPUT_HDR + n;
}

/* 1 when output from the ring waits for v. */
static int output_due(const gw_viewer *v)
{
    return v->chan && v->attached && v->chan->ring.buf &&
           (v->cursor < v->chan->ring.start || v->cursor < v->chan->ring.end);
}

static int browser_writeable(gw_viewer *v, struct lws *wsi)
{
    /* One frame is built at a time, so one buffer serves every viewer. */
    static unsigned char out[LWS_PRE + VG_FRAME_OUTPUT_HDR + GW_FRAME_DATA];
    int output = !v->close_code && v->chan && v->attached && v->chan->ring.buf, wrote = 0;
    /* As many messages as the socket takes, not one per loop iteration: control messages in
     * their place among the output (each waits for the output before its mark). */
    while (!lws_send_pipe_choked(wsi)) {
        if (v->down.head && (!output || gw_wsq_head_at(&v->down) <= v->cursor)) {
            int n = gw_wsq_write(&v->down, wsi);
            if (n < 0)
                return -1;
            gw_relay.browser_bytes += (unsigned)n;
            gw_relay.browser_msgs++;
            wrote = 1;
            continue;
        }
        if (!output)
            break;
        size_t n =
            next_output(v, v->down.head ? gw_wsq_head_at(&v->down) : UINT64_MAX, out + LWS_PRE);
        if (n == (size_t)-1) {
            vg_info("console", "viewer %s of %s/%s fell behind the ring; closing", v->addr, v->t.vm,
                    v->t.dev);
            gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "viewer too slow", 4408);
            output = 0;
            continue;
        }
        if (!n)
            break;
        if (lws_write(wsi, out + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n)
            return -1;
        gw_relay.browser_bytes += (unsigned)n;
        gw_relay.browser_msgs++;
        wrote = 1;
        gw_channel_viewer_sent(v);
    }
    /* A close goes in a callback of its own, after what was written has left. */
    if (v->down.head || (output && output_due(v)) || (wrote && v->close_code)) {
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
        gw_channel_remove(v);
        gw_viewer_maybe_free(v);
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols gw_console_protocol = {
    GW_CONSOLE_PROTOCOL, browser_callback, sizeof(browser_pss), GW_WS_RX_PIECE, 0, NULL,
    GW_WS_TX_CHUNK,
};
