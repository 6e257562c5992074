/* A console's feed (docs/protocol.md §2 "Fan-out"): hostd sends its output once per gateway
 * on one channel; it lands in one ring (addressed by the browsers' offsets) and every browser
 * is a cursor into it, written from the ring as fast as its socket takes it. The leading
 * cursor grants hostd credit, so hostd, not the gateway, holds output nobody has read yet; a
 * browser the ring overtakes skips with a GAP or is closed (laggard_policy, C7). Who is
 * attached and who writes is kept here, and told as deltas. */
#include "console/console_int.h"

#include "vg_frame.h"
#include "vg_log.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A channel that lost its link waits this long for it to come back before its browsers are
 * closed (4503, to resume later). */
#define FEED_GRACE_S 3.

static size_t ring_cap(const gw *g)
{
    return (size_t)g->cfg.viewer_queue * 4;
}

/* ---- what the browsers are told ---- */

static void broadcast(gw_feed *f, cJSON *o, const gw_viewer *except)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    for (gw_viewer *v = f->viewers; text && v; v = v->fnext)
        if (v->started && v != except)
            gw_viewer_send_text(v, text);
    free(text);
}

static cJSON *entry(const gw_feed *f, const gw_viewer *v)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "viewer", v->id);
    cJSON_AddStringToObject(e, "user", v->t.user);
    cJSON_AddStringToObject(e, "mode", v->rw ? "rw" : "ro");
    cJSON_AddBoolToObject(e, "writer", f->writer == v);
    cJSON_AddNumberToObject(e, "since", (double)v->since_ms);
    return e;
}

/* The full list, in the attach answer only: the writer and the newest FEED_LIST_MAX - 1
 * others, with the count of all. */
static void send_list(gw_feed *f, gw_viewer *to)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "viewers");
    cJSON *arr = cJSON_AddArrayToObject(o, "viewers");
    int n = 0;
    if (f->writer && f->writer->started)
        cJSON_AddItemToArray(arr, entry(f, f->writer)), n++;
    for (gw_viewer *v = f->viewers; v && n < FEED_LIST_MAX; v = v->fnext)
        if (v->started && v != f->writer)
            cJSON_AddItemToArray(arr, entry(f, v)), n++;
    unsigned count = 0;
    for (gw_viewer *v = f->viewers; v; v = v->fnext)
        count += v->started;
    cJSON_AddNumberToObject(o, "count", count);
    gw_viewer_send_control(to, o);
}

static void send_writer(gw_feed *f, const char *previous)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "writer");
    if (f->writer) {
        cJSON_AddStringToObject(o, "viewer", f->writer->id);
        cJSON_AddStringToObject(o, "user", f->writer->t.user);
    } else {
        cJSON_AddNullToObject(o, "viewer");
        if (f->remote[0])
            cJSON_AddStringToObject(o, "user", f->remote);
        else
            cJSON_AddNullToObject(o, "user");
    }
    if (previous && previous[0])
        cJSON_AddStringToObject(o, "previous", previous);
    else
        cJSON_AddNullToObject(o, "previous");
    broadcast(f, o, NULL);
}

static void send_state(gw_feed *f, const char *reason)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "state");
    cJSON_AddBoolToObject(o, "connected", f->connected);
    cJSON_AddStringToObject(o, "reason", reason);
    broadcast(f, o, NULL);
}

/* ---- the write lock ---- */

static void tell_hostd_writer(gw_feed *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", f->writer ? "take" : "release");
    if (f->writer)
        cJSON_AddStringToObject(o, "user", f->writer->t.user);
    if (f->opened)
        gw_hlink_send_json(&f->ch, VG_LINK_CONTROL, o);
    cJSON_Delete(o);
}

static void set_writer(gw_feed *f, gw_viewer *w)
{
    if (f->writer == w)
        return;
    char previous[16];
    snprintf(previous, sizeof(previous), "%s", f->writer ? f->writer->id : "");
    f->writer = w;
    if (w)
        f->remote[0] = '\0';
    tell_hostd_writer(f);
    send_writer(f, previous);
}

/* ---- output into the ring and out to the browsers ---- */

/* hostd may have a window of output in flight beyond what the furthest browser has read: what
 * nobody reads yet waits in hostd's ring, not here. Credit counts the bytes hostd sent on the
 * channel, not stream offsets: a source faster than the link makes hostd skip (GAP), and a
 * limit in offsets, always a round trip behind the skips, let through one frame per round
 * trip (11 MB/s to one viewer). */
static void grant(gw_feed *f)
{
    if (!f->opened)
        return;
    uint64_t window = ring_cap(f->g);
    uint64_t lead = f->lead < f->ring.start ? f->ring.start : f->lead;
    uint64_t unread = lead < f->ring.end ? f->ring.end - lead : 0;
    uint64_t base = f->rcvd > unread ? f->rcvd - unread : 0;
    if (f->credit && f->credit > base + window / 4 * 3)
        return;
    f->credit = base + window;
    unsigned char b[8];
    vg_frame_put_u64(b, f->credit);
    gw_hlink_send(&f->ch, VG_LINK_CREDIT, b, sizeof(b));
}

static void wake_readers(gw_feed *f)
{
    for (gw_viewer *v = f->viewers; v; v = v->fnext)
        if (v->started && v->cursor < f->ring.end)
            gw_viewer_wake(v);
}

static void on_output(gw_chan *ch, uint64_t offset, const unsigned char *p, size_t n)
{
    gw_feed *f = ch->owner;
    uint64_t at = offset + f->delta;
    if (!f->opened)
        return;
    f->rcvd += n;
    if (at > f->ring.end) /* hostd skipped (its GAP was lost?): the ring starts anew there */
        vg_ring_reset(&f->ring, at);
    if (at < f->ring.end) { /* already have the start of it */
        uint64_t dup = f->ring.end - at;
        if (dup >= n)
            return;
        p += dup;
        n -= (size_t)dup;
    }
    vg_ring_append(&f->ring, p, n);
    wake_readers(f);
}

static void on_gap(gw_chan *ch, uint64_t from, uint64_t to)
{
    gw_feed *f = ch->owner;
    (void)from;
    if (f->opened && to + f->delta > f->ring.end) {
        vg_ring_reset(&f->ring, to + f->delta);
        wake_readers(f);
    }
}

/* Flushes input that waited for the console to be connected. */
static void flush_up(gw_feed *f)
{
    gw_viewer *w = f->writer;
    if (!w || !f->opened || !f->connected)
        return;
    size_t len;
    int binary;
    const unsigned char *p;
    while ((p = gw_wsq_peek(&w->up, &len, &binary))) {
        gw_hlink_send(&f->ch, VG_LINK_INPUT, p, len);
        gw_wsq_pop(&w->up);
    }
    if (w->browser_paused && w->browser) {
        w->browser_paused = 0;
        lws_rx_flow_control(w->browser, 1);
    }
}

/* hello for v, then the list; the others learn of it by `joined`. */
static void start_viewer(gw_feed *f, gw_viewer *v)
{
    uint64_t end = f->ring.end > f->open_end ? f->ring.end : f->open_end;
    if (!strcmp(v->q.offset, "ring"))
        v->cursor = f->ring.start;
    else if (!strcmp(v->q.offset, "end"))
        v->cursor = end;
    else
        v->cursor = strtoull(v->q.offset, NULL, 10) > end ? end : strtoull(v->q.offset, NULL, 10);
    v->started = 1;
    if (v->rw && (v->q.take || (!f->writer && !f->remote[0]))) {
        char previous[16];
        snprintf(previous, sizeof(previous), "%s", f->writer ? f->writer->id : "");
        f->writer = v;
        f->remote[0] = '\0';
        tell_hostd_writer(f);
        if (previous[0])
            send_writer(f, previous);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "hello");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "vm", f->vm);
    cJSON_AddStringToObject(o, "dev", f->dev);
    cJSON_AddStringToObject(o, "viewer", v->id);
    cJSON_AddStringToObject(o, "user", v->t.user);
    cJSON_AddStringToObject(o, "mode", v->rw ? "rw" : "ro");
    cJSON_AddBoolToObject(o, "writer", f->writer == v);
    cJSON_AddNumberToObject(o, "start", (double)f->ring.start);
    cJSON_AddNumberToObject(o, "end", (double)end);
    cJSON_AddNumberToObject(o, "offset", (double)v->cursor);
    cJSON_AddBoolToObject(o, "connected", f->connected);
    gw_viewer_send_control(v, o);
    send_list(f, v);
    if (f->writer != v && v->up.head) {
        gw_wsq_clear(&v->up);
        if (v->rw)
            gw_viewer_send_error(v, VG_E_NOT_WRITER,
                                 "another viewer holds the write lock; send take first");
        else
            gw_viewer_send_error(v, VG_E_READ_ONLY, "this console is attached read-only");
    }
    cJSON *j = entry(f, v);
    cJSON_AddStringToObject(j, "type", "joined");
    broadcast(f, j, v);
    if (v->cursor > f->lead)
        f->lead = v->cursor;
}

static void on_opened(gw_chan *ch, const cJSON *info)
{
    gw_feed *f = ch->owner;
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(info, "start");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(info, "end");
    const cJSON *offset = cJSON_GetObjectItemCaseSensitive(info, "offset");
    const char *writer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(info, "writer"));
    if (!cJSON_IsNumber(start) || !cJSON_IsNumber(end) || !cJSON_IsNumber(offset)) {
        vg_warn("console", "hostd %s opened %s/%s without its bounds", f->host, f->vm, f->dev);
        return;
    }
    uint64_t hstart = (uint64_t)start->valuedouble, hend = (uint64_t)end->valuedouble,
             hoff = (uint64_t)offset->valuedouble;
    ev_timer_stop(f->g->loop, &f->wait);
    f->opened = 1;
    f->connected = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "connected"));
    if (!f->based) {
        /* The first channel: the feed's offsets are the host's. */
        f->based = 1;
        f->delta = 0;
        vg_ring_reset(&f->ring, hoff);
        (void)hstart;
    } else if (f->moved) {
        /* A new host: its stream goes on where the old one stopped for the browsers. */
        f->delta = f->ring.end - hoff;
    }
    f->open_end = hend + f->delta;
    f->credit = 0;
    f->rcvd = 0;
    snprintf(f->remote, sizeof(f->remote), "%s", writer && !f->writer ? writer : "");
    if (f->writer)
        tell_hostd_writer(f);
    grant(f);
    if (f->moved) {
        f->moved = 0;
        char reason[96];
        snprintf(reason, sizeof(reason), "migrated to %s", f->host);
        send_state(f, reason);
    }
    for (gw_viewer *v = f->viewers; v; v = v->fnext)
        if (!v->started && v->browser && !v->close_code)
            start_viewer(f, v);
    flush_up(f);
    wake_readers(f);
}

static void on_control(gw_chan *ch, const cJSON *m)
{
    gw_feed *f = ch->owner;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    if (!type)
        return;
    if (!strcmp(type, "state")) {
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "reason"));
        f->connected = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "connected"));
        snprintf(f->reason, sizeof(f->reason), "%s", reason ? reason : "");
        send_state(f, f->reason);
        flush_up(f);
    } else if (!strcmp(type, "writer")) {
        const char *user = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "user"));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "mine")))
            return;
        /* Another gateway's viewer took the lock (or it was released there). */
        char previous[16];
        snprintf(previous, sizeof(previous), "%s", f->writer ? f->writer->id : "");
        f->writer = NULL;
        snprintf(f->remote, sizeof(f->remote), "%s", user ? user : "");
        send_writer(f, previous);
    } else if (!strcmp(type, "error") && f->writer) {
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "code"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "message"));
        gw_viewer_send_error(f->writer, vg_err_code_from_name(code ? code : ""),
                             msg ? msg : "refused by the VM's host");
    }
}

static void on_closed(gw_chan *ch, int code, const char *reason)
{
    gw_feed *f = ch->owner;
    f->opened = 0;
    vg_info("console", "host %s closed %s/%s (%d %s)", f->host, f->vm, f->dev, code, reason);
    /* A console that left its host may have moved with its VM (migration). */
    if (code == 4004 && f->based)
        gw_follow_start(f, 4004);
    else
        gw_follow_fail(f, code, code == 4004 ? reason : "the VM's host closed the console");
}

static void on_down(gw_chan *ch, const char *why)
{
    gw_feed *f = ch->owner;
    int was_open = f->opened;
    f->opened = 0;
    if (!f->based)
        gw_follow_fail(f, 4503, why); /* never opened: the browsers may retry */
    else if (was_open)
        gw_follow_wait(f, FEED_GRACE_S);
}

/* The link is up (first, or again): open at the feed's end, so a resumed channel repeats and
 * loses nothing. */
static void on_up(gw_chan *ch)
{
    gw_feed *f = ch->owner;
    char off[24];
    if (f->based && !f->moved)
        snprintf(off, sizeof(off), "%llu", (unsigned long long)(f->ring.end - f->delta));
    else
        snprintf(off, sizeof(off), "%s", f->moved ? "end" : "ring");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "vm", f->vm);
    cJSON_AddStringToObject(o, "dev", f->dev);
    cJSON_AddStringToObject(o, "offset", off);
    gw_hlink_send_json(&f->ch, VG_LINK_OPEN, o);
    cJSON_Delete(o);
}

const gw_chan_ops gw_feed_ops = {
    .opened = on_opened,
    .output = on_output,
    .gap = on_gap,
    .control = on_control,
    .closed = on_closed,
    .down = on_down,
    .up = on_up,
};

/* ---- browsers joining and leaving ---- */

/* Viewer ids count from a random start: numbered per feed from 1, a browser that reconnected
 * after a gateway restart (or after its console's feed was freed) got the id it had before,
 * so neither it nor the others could tell the new attachment from the old. */
static void new_viewer_id(gw_viewer *v)
{
    static unsigned seq;
    if (!seq) {
        char hex[9];
        seq = vg_random_hex(hex, 4) == VG_OK ? (unsigned)strtoul(hex, NULL, 16) >> 1 : 1;
    }
    if (++seq == 0)
        seq = 1;
    snprintf(v->id, sizeof(v->id), "v%u", seq);
}

void gw_feed_join(gw_viewer *v, const char *host, const char *link_url)
{
    gw *g = v->g;
    gw_feed *f;
    for (f = g->feeds; f; f = f->next)
        if (!strcmp(f->vm, v->t.vm) && !strcmp(f->dev, v->t.dev))
            break;
    int fresh = !f;
    if (fresh) {
        f = calloc(1, sizeof(*f));
        if (!f || vg_ring_init(&f->ring, ring_cap(g), 0) != VG_OK) {
            free(f);
            gw_viewer_fail_browser(v, VG_E_INTERNAL, "out of memory", 1011);
            return;
        }
        f->g = g;
        snprintf(f->vm, sizeof(f->vm), "%s", v->t.vm);
        snprintf(f->dev, sizeof(f->dev), "%s", v->t.dev);
        ev_init(&f->wait, NULL);
        ev_init(&f->follow_timer, NULL);
        f->next = g->feeds;
        if (f->next)
            f->next->prev = f;
        g->feeds = f;
    }
    v->feed = f;
    v->rw = !strcmp(v->t.mode, "rw");
    v->since_ms = vg_now_ms();
    new_viewer_id(v);
    v->fnext = f->viewers;
    if (f->viewers)
        f->viewers->fprev = v;
    f->viewers = v;
    f->nviewers++;
    if (fresh)
        gw_follow_open(f, host, link_url);
    else if (f->opened) {
        start_viewer(f, v);
        flush_up(f);
        gw_viewer_wake(v);
    }
}

void gw_feed_leave(gw_viewer *v)
{
    gw_feed *f = v->feed;
    if (!f)
        return;
    if (v->fprev)
        v->fprev->fnext = v->fnext;
    else
        f->viewers = v->fnext;
    if (v->fnext)
        v->fnext->fprev = v->fprev;
    v->fnext = v->fprev = NULL;
    v->feed = NULL;
    f->nviewers--;
    if (v->started) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "left");
        cJSON_AddStringToObject(o, "viewer", v->id);
        broadcast(f, o, NULL);
    }
    if (f->writer == v)
        set_writer(f, NULL);
    gw_feed_maybe_free(f);
}

/* ---- what browsers send ---- */

void gw_feed_input(gw_viewer *v, const unsigned char *p, size_t n)
{
    gw_feed *f = v->feed;
    /* Before hello (the ticket being redeemed, the channel opening) input waits: whether it
     * may go is settled with the hello, and nothing goes before the ticket is accepted. */
    int early = !f || !v->started;
    if (!early && !v->rw) {
        gw_viewer_send_error(v, VG_E_READ_ONLY, "this console is attached read-only");
        return;
    }
    if (!early && f->writer != v) {
        gw_viewer_send_error(v, VG_E_NOT_WRITER,
                             "another viewer holds the write lock; send take first");
        return;
    }
    if (!n)
        return;
    /* Input for a console hostd cannot write to would be refused and lost; it waits here
     * instead (bounded by UP_QUEUE_MAX) until the VM is back, on this host or another. */
    if (early || v->up.head || !f->opened || !f->connected) {
        gw_wsq_push(&v->up, p, n, 1);
        if (v->up.bytes >= UP_QUEUE_MAX && !v->browser_paused && v->browser) {
            lws_rx_flow_control(v->browser, 0);
            v->browser_paused = 1;
        }
        return;
    }
    gw_hlink_send(&f->ch, VG_LINK_INPUT, p, n);
}

void gw_feed_take(gw_viewer *v)
{
    if (!v->rw) {
        gw_viewer_send_error(v, VG_E_READ_ONLY,
                             "a read-only attachment cannot take the write lock");
        return;
    }
    if (v->feed && v->started)
        set_writer(v->feed, v);
    else
        v->q.take = 1; /* settled with the hello */
}

void gw_feed_release(gw_viewer *v)
{
    if (v->feed && v->feed->writer == v)
        set_writer(v->feed, NULL);
}

/* ---- writing to a browser ---- */

int gw_feed_write(gw_viewer *v, struct lws *wsi)
{
    static unsigned char buf[LWS_PRE + VG_FRAME_OUTPUT_HDR + FEED_FRAME_MAX];
    gw_feed *f = v->feed;
    while (!lws_send_pipe_choked(wsi)) {
        if (v->ctl.head) {
            if (gw_wsq_write(&v->ctl, wsi) < 0)
                return -1;
            continue;
        }
        if (!f || !v->started || v->close_code)
            return 0;
        unsigned char *p = buf + LWS_PRE;
        size_t len;
        if (v->cursor < f->ring.start) {
            if (v->sent_data && f->g->cfg.laggard_close) {
                vg_info("console", "%s/%s viewer %s fell %llu bytes behind; closing", f->vm, f->dev,
                        v->id, (unsigned long long)(f->ring.start - v->cursor));
                gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "viewer too slow", 4408);
                continue;
            }
            vg_frame_gap(p, v->cursor, f->ring.start);
            len = VG_FRAME_GAP_LEN;
            v->cursor = f->ring.start;
        } else {
            const unsigned char *data;
            size_t n = v->cursor < f->ring.end
                           ? vg_ring_peek(&f->ring, v->cursor, FEED_FRAME_MAX, &data)
                           : 0;
            if (!n)
                break;
            vg_frame_output_hdr(p, v->cursor);
            memcpy(p + VG_FRAME_OUTPUT_HDR, data, n);
            len = VG_FRAME_OUTPUT_HDR + n;
            v->cursor += n;
        }
        v->sent_data = 1;
        if (lws_write(wsi, p, len, LWS_WRITE_BINARY) < (int)len)
            return -1;
        if (v->cursor > f->lead) {
            f->lead = v->cursor;
            grant(f);
        }
    }
    if (v->ctl.head || (f && v->started && v->cursor < f->ring.end && !v->close_code))
        lws_callback_on_writable(wsi);
    return 0;
}
