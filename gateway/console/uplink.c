/* A channel's end on the gateway's link to the console's host (docs/protocol.md §3, link v3;
 * backend/hostmux.c carries it): hostd's messages go to channel.c; joins and leaves, then the
 * viewers' queued input, go up. */
#include "console/console_int.h"

#include "core/relaystats.h"
#include "vg_frame.h"
#include "vg_log.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

/* hostd's OPEN went: the channel's credit, then every viewer's join. */
static void link_opened(void *user)
{
    gw_channel *ch = user;
    snprintf(ch->host, sizeof(ch->host), "%s", ch->link_host);
    ch->link_host[0] = '\0';
    if (ch->following)
        gw_follow_stop(ch);
    gw_channel_link_up(ch);
    gw_channel_rejoin(ch);
}

static void link_message(void *user, int binary, unsigned char *data, size_t len)
{
    gw_channel_message(user, binary, data, len);
}

static int send_one(gw_channel *ch, gw_wsq *q)
{
    size_t len;
    int binary;
    unsigned char *p = gw_wsq_head(q, &len, &binary);
    int rc = gw_muxend_send(&ch->end, p, len, binary);
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
 * much as the link takes. */
static int link_writeable(void *user)
{
    gw_channel *ch = user;
    while (ch->ctl.head) {
        int rc = send_one(ch, &ch->ctl);
        if (rc < 0)
            return -1;
        if (rc) {
            gw_channel_want_write(ch);
            return 0;
        }
    }
    gw_viewer *v;
    while ((v = next_sender(ch))) {
        int rc = send_one(ch, &v->up);
        if (rc < 0)
            return -1;
        if (v->browser_paused && v->up.bytes < UP_QUEUE_MAX / 2 && v->browser) {
            v->browser_paused = 0;
            lws_rx_flow_control(v->browser, 1);
        }
        if (v->up.head)
            gw_channel_input(v);
        if (rc) {
            if (ch->dirty_head)
                gw_channel_want_write(ch);
            return 0;
        }
    }
    return 0;
}

static void link_gone(void *user, int code, int link_code, const char *why)
{
    gw_channel *ch = user;
    if (why)
        vg_warn("console", "channel of %s/%s: %s", ch->vm, ch->dev, why);
    gw_follow_link_gone(ch, code, link_code, why ? why : "the VM's host closed the console");
}

const gw_muxend_ops gw_uplink_ops = {
    .up = link_opened,
    .message = link_message,
    .writeable = link_writeable,
    .gone = link_gone,
};
