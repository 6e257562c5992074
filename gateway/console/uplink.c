/* The link to hostd's /link/console once it is up (docs/protocol.md §3): hostd's frames go
 * down to the browser, rebased after a move (follow.c), with hostd's control messages noted on
 * the way; the browser's queued input goes up. */
#include "console/console_int.h"

#include "core/relaystats.h"
#include "vg_frame.h"
#include "vg_json.h"
#include "vg_log.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

/* Notes what hostd says of this viewer (its id, the write lock) and, after a move, replaces the
 * new host's hello by a `state` frame: the browser's stream goes on, it does not start anew.
 * Returns 1 when the message is not to be relayed. */
static int link_control(gw_viewer *v, const unsigned char *data, size_t len)
{
    cJSON *m = vg_json_parse((const char *)data, len, NULL);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "viewer");
    int swallow = 0;
    if (type && (!strcmp(type, "hello") || !strcmp(type, "state"))) {
        /* Input for a console hostd cannot write to would be refused and lost; it waits here
         * instead (bounded by UP_QUEUE_MAX) until the VM is back, on this host or another. */
        int down = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "connected"));
        if (v->console_down && !down && v->link && v->link_up)
            lws_callback_on_writable(v->link);
        v->console_down = down;
    }
    if (type && !strcmp(type, "hello")) {
        v->attached = 1;
        v->viewer_id = cJSON_IsNumber(id) ? (int64_t)id->valuedouble : -1;
        v->writer = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "writer"));
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(m, "offset");
        if (!v->moved && cJSON_IsNumber(off))
            v->next_out = (uint64_t)off->valuedouble;
        if (v->moved) {
            v->moved = 0;
            swallow = 1;
            char reason[96];
            snprintf(reason, sizeof(reason), "migrated to %s", v->host);
            cJSON *st = cJSON_CreateObject();
            if (st) {
                cJSON_AddStringToObject(st, "type", "state");
                cJSON_AddBoolToObject(st, "connected", 1);
                cJSON_AddStringToObject(st, "reason", reason);
            }
            gw_viewer_send_control(v, st);
        }
    } else if (type && !strcmp(type, "writer")) {
        v->writer = cJSON_IsNumber(id) && (int64_t)id->valuedouble == v->viewer_id;
    }
    cJSON_Delete(m);
    return swallow;
}

/* Queues one hostd message for the browser. When viewer_queue bytes wait, the link stops being
 * read, so hostd keeps the viewer's place in its ring and skips it ahead with a GAP if the ring
 * overtakes it. Whatever lws still delivers after that is bounded too: past twice the limit
 * the output is dropped here and replaced by one GAP once the queue has drained. */
static void relay_down(gw_viewer *v, int binary, const unsigned char *data, size_t len)
{
    size_t limit = (size_t)v->g->cfg.viewer_queue;
    if (!binary && link_control(v, data, len))
        return;
    if (!binary) {
        /* Control messages are small and rare; a viewer buried in them is closed. */
        if (v->down.bytes > 2 * limit) {
            gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "viewer too slow", 4408);
            return;
        }
        gw_wsq_push(&v->down, data, len, 0);
        lws_callback_on_writable(v->browser);
        return;
    }
    vg_msg m;
    vg_err err;
    if (vg_frame_parse_server(1, data, len, &m, &err) != VG_OK) {
        vg_warn("console", "hostd sent a bad frame for %s/%s: %s", v->t.vm, v->t.dev, err.msg);
        return;
    }
    if (v->rebase) {
        v->delta = v->next_out - m.offset;
        v->rebase = 0;
    }
    uint64_t from = m.offset + v->delta,
             to = (m.kind == VG_MSG_GAP ? m.to : m.offset + m.len) + v->delta;
    if (v->delta) {
        /* The message lies in lws' receive buffer or in rx_link, both free to change until it
         * has been queued (which copies it). */
        unsigned char *hdr = (unsigned char *)(uintptr_t)data;
        vg_frame_put_u64(hdr + 1, from);
        if (m.kind == VG_MSG_GAP)
            vg_frame_put_u64(hdr + 9, to);
    }
    v->next_out = to;
    if (v->skipping) {
        if (to > v->skip_to)
            v->skip_to = to;
        return;
    }
    if (v->down.bytes >= limit && !v->link_paused && v->link) {
        v->link_paused = 1;
        lws_rx_flow_control(v->link, 0);
    }
    if (v->down.bytes >= 2 * limit) {
        v->skipping = 1;
        v->skip_from = from;
        v->skip_to = to;
        return;
    }
    gw_wsq_push(&v->down, data, len, 1);
    lws_callback_on_writable(v->browser);
}

static void link_opened(void *user)
{
    gw_viewer *v = user;
    v->link_up = 1;
    ev_timer_stop(v->g->loop, &v->link_timer);
    snprintf(v->host, sizeof(v->host), "%s", v->link_host);
    v->link_host[0] = '\0';
    if (v->following)
        gw_follow_stop(v);
    if (v->link_closing || v->up.head)
        lws_callback_on_writable(v->link);
}

static void link_message(void *user, int binary, unsigned char *data, size_t len)
{
    gw_viewer *v = user;
    if (v->browser && !v->close_code)
        relay_down(v, binary, data, len);
}

/* Queued input, once the link owes nothing (linkws wrote TLS, pongs, pings, close first). */
static int link_writeable(void *user, struct lws *wsi)
{
    gw_viewer *v = user;
    if (v->link_closing) {
        gw_linkws_close(&v->lw, 1000);
        lws_callback_on_writable(wsi);
        return 0;
    }
    int rc;
    size_t len;
    int binary;
    unsigned char *p = gw_wsq_head(&v->up, &len, &binary);
    /* Control frames (take, release, ping) still go: hostd answers them without the VM. */
    if (!p || (v->console_down && binary))
        return 0;
    if (binary && len && p[0] == VG_OP_INPUT && !strcmp(v->t.mode, "ro")) {
        /* Refused here already, so a read-only viewer's bytes never travel to hostd. */
        gw_wsq_pop(&v->up);
        gw_viewer_send_error(v, VG_E_READ_ONLY, "this console is attached read-only");
    } else {
        rc = gw_linkws_send(&v->lw, wsi, p, len, binary);
        gw_wsq_pop(&v->up);
        if (rc < 0)
            return -1;
        gw_relay.hostd_bytes += len;
        gw_relay.hostd_msgs++;
    }
    if (v->browser_paused && v->up.bytes < UP_QUEUE_MAX / 2 && v->browser) {
        v->browser_paused = 0;
        lws_rx_flow_control(v->browser, 1);
    }
    if (v->up.head)
        lws_callback_on_writable(wsi);
    return 0;
}

static void link_gone(void *user, const vg_err *err)
{
    gw_viewer *v = user;
    if (v->lw.peer_close_code && v->lw.peer_close_code != 1005)
        v->link_close_code = v->lw.peer_close_code;
    /* After hostd's close frame the end of its TLS session follows, as it should. */
    if (err)
        vg_warn("console", "link to hostd for %s/%s failed: %s", v->t.vm, v->t.dev, err->msg);
    gw_follow_link_gone(v, v->link_up || !err ? "the link to the VM's host was lost"
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
    gw_viewer *v = lws_get_opaque_user_data(wsi);
    return gw_linkws_callback(v ? &v->lw : NULL, wsi, (int)reason, in, len, &link_ops, v);
}

const struct lws_protocols gw_link_protocol = {
    GW_LINK_PROTOCOL, link_callback, 0, 65536, 0, NULL, 0,
};
