/* A console's channel (console_int.h): the shared ring its viewers read, its members, its credit,
 * and what hostd tells them over the channel (docs/protocol.md §3, link v3). hostd sends the
 * output and the who-is-attached notices once; they are kept or passed on to every viewer
 * here. */
#include "console/console_int.h"

#include "core/relaystats.h"

#include "vg_frame.h"
#include "vg_json.h"
#include "vg_log.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ring mirrors hostd's ring_size (its channel hello), within these bounds. */
#define RING_MIN (64u << 10)
#define RING_MAX (64u << 20)
/* hostd's credit before the channel's hello named the ring's size (docs/protocol.md §3). */
#define FIRST_CREDIT (64u << 10)

static void broadcast(gw_channel *ch, const unsigned char *text, size_t len, int64_t skip);

/* While summarising, every second: the count to every viewer if it changed, else the summary
 * rests until the next delta. */
static void count_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    gw_channel *ch = w->data;
    if (!ch->count_due) {
        ev_timer_stop(loop, w);
        return;
    }
    ch->count_due = 0;
    char text[48];
    int n = snprintf(text, sizeof(text), "{\"type\":\"count\",\"count\":%u}", ch->viewers);
    broadcast(ch, (const unsigned char *)text, (size_t)n, -1);
}

gw_channel *gw_channel_get(gw *g, const char *vm, const char *dev, int *fresh)
{
    *fresh = 0;
    for (gw_channel *ch = g->channels; ch; ch = ch->next)
        if (!strcmp(ch->vm, vm) && !strcmp(ch->dev, dev))
            return ch;
    gw_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    ch->g = g;
    snprintf(ch->vm, sizeof(ch->vm), "%s", vm);
    snprintf(ch->dev, sizeof(ch->dev), "%s", dev);
    strcpy(ch->offset, "ring");
    ev_init(&ch->count_timer, count_tick);
    ch->count_timer.data = ch;
    ch->listed = 1;
    ch->next = g->channels;
    if (ch->next)
        ch->next->prev = ch;
    g->channels = ch;
    *fresh = 1;
    return ch;
}

static void unlist(gw_channel *ch)
{
    if (!ch->listed)
        return;
    ch->listed = 0;
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        ch->g->channels = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    ch->next = ch->prev = NULL;
}

void gw_channel_maybe_free(gw_channel *ch)
{
    if (ch->end.mux || ch->members || ch->follow_pending)
        return;
    unlist(ch);
    ev_timer_stop(ch->g->loop, &ch->follow_timer);
    ev_timer_stop(ch->g->loop, &ch->link_timer);
    ev_timer_stop(ch->g->loop, &ch->count_timer);
    gw_wsq_clear(&ch->ctl);
    vg_ring_free(&ch->ring);
    free(ch);
}

void gw_channel_want_write(gw_channel *ch)
{
    if (gw_muxend_open(&ch->end))
        gw_muxend_want_write(&ch->end);
}

void gw_channel_close_link(gw_channel *ch)
{
    gw_muxend_detach(&ch->end);
    ch->link_host[0] = '\0';
    gw_wsq_clear(&ch->ctl);
    for (gw_viewer *v = ch->members; v; v = v->chan_next)
        v->joined = 0;
}

static void queue_ctl(gw_channel *ch, cJSON *msg)
{
    char *text = msg ? cJSON_PrintUnformatted(msg) : NULL;
    cJSON_Delete(msg);
    if (text)
        gw_wsq_push(&ch->ctl, text, strlen(text), 0);
    free(text);
    gw_channel_want_write(ch);
}

/* A viewer that had a hello keeps its write lock on the host the VM moved to. */
static void join(gw_channel *ch, gw_viewer *v)
{
    cJSON *m = cJSON_CreateObject();
    if (m) {
        cJSON_AddStringToObject(m, "type", "join");
        cJSON_AddNumberToObject(m, "tag", v->tag);
        cJSON_AddStringToObject(m, "user", v->t.user);
        cJSON_AddStringToObject(m, "mode", v->t.mode);
        cJSON_AddBoolToObject(m, "take", v->attached ? v->writer : v->q.take);
        cJSON_AddBoolToObject(m, "rec_input", ch->g->record_input);
    }
    queue_ctl(ch, m);
    v->joined = 1;
}

/* hostd may send half a ring of output ahead of what the gateway has granted back. */
static uint32_t window(const gw_channel *ch)
{
    return ch->ring.buf ? (uint32_t)(ch->ring.cap / 2) : FIRST_CREDIT;
}

/* Gives hostd back the credit of the output received, an eighth of a window at a time. */
static void grant(gw_channel *ch, int all)
{
    if (ch->link_paused || !gw_muxend_open(&ch->end) || !ch->owed ||
        (!all && ch->owed < window(ch) / 8))
        return;
    gw_muxend_credit(&ch->end, ch->owed);
    ch->owed = 0;
}

void gw_channel_link_up(gw_channel *ch)
{
    ch->link_paused = 0;
    ch->owed = 0;
    gw_muxend_credit(&ch->end, window(ch));
}

/* Taking output while every viewer of the channel is far behind only decrypts output that the
 * ring overwrites before anyone is sent it (one viewer of a console printing faster than its
 * browser takes). Past half a ring ahead of its leading viewer the channel grants hostd no more
 * credit; hostd, out of credit, skips the channel ahead, and a GAP costs it nothing to send.
 * hostd's notices still come (they need no credit) and take their place at the ring's end. A
 * viewer still waiting for its hello keeps the credit flowing. */
static void link_pause(gw_channel *ch, uint64_t lead, int waiting)
{
    if (ch->link_paused || !gw_muxend_open(&ch->end) || waiting)
        return;
    if (lead < ch->ring.start) /* overtaken: it goes on from the ring's start */
        lead = ch->ring.start;
    /* A viewer may wait for output past the ring's end (its stream starts at hostd's end). */
    if (lead >= ch->ring.end || ch->ring.end - lead < ch->ring.cap / 2)
        return;
    ch->link_paused = 1;
}

static void link_resume(gw_channel *ch)
{
    if (!ch->link_paused)
        return;
    ch->link_paused = 0;
    grant(ch, 1);
}

void gw_channel_viewer_sent(gw_viewer *v)
{
    gw_channel *ch = v->chan;
    if (ch && ch->link_paused && ch->ring.end - v->cursor <= ch->ring.cap / 4)
        link_resume(ch);
}

void gw_channel_add(gw_channel *ch, gw_viewer *v)
{
    v->chan = ch;
    v->chan_prev = NULL;
    v->chan_next = ch->members;
    if (ch->members)
        ch->members->chan_prev = v;
    ch->members = v;
    ch->nmembers++;
    link_resume(ch); /* for its hello */
    if (gw_muxend_open(&ch->end))
        join(ch, v);
    if (v->up.head) /* typed while the ticket was being redeemed */
        gw_channel_input(v);
}

void gw_channel_rejoin(gw_channel *ch)
{
    for (gw_viewer *v = ch->members; v; v = v->chan_next)
        join(ch, v);
}

static void undirty(gw_channel *ch, gw_viewer *v)
{
    if (!v->dirty)
        return;
    gw_viewer **pp = &ch->dirty_head, *prev = NULL;
    while (*pp && *pp != v) {
        prev = *pp;
        pp = &(*pp)->dirty_next;
    }
    if (*pp)
        *pp = v->dirty_next;
    if (ch->dirty_tail == v)
        ch->dirty_tail = prev;
    v->dirty = 0;
}

void gw_channel_remove(gw_viewer *v)
{
    gw_channel *ch = v->chan;
    if (!ch)
        return;
    if (v->chan_prev)
        v->chan_prev->chan_next = v->chan_next;
    else
        ch->members = v->chan_next;
    if (v->chan_next)
        v->chan_next->chan_prev = v->chan_prev;
    ch->nmembers--;
    undirty(ch, v);
    gw_wsq_clear(&v->up);
    if (v->joined && gw_muxend_open(&ch->end)) {
        cJSON *m = cJSON_CreateObject();
        if (m) {
            cJSON_AddStringToObject(m, "type", "leave");
            cJSON_AddNumberToObject(m, "tag", v->tag);
        }
        queue_ctl(ch, m);
    }
    v->chan = NULL;
    v->joined = 0;
    if (!ch->members) {
        /* The next viewer of this console opens a channel of its own. */
        unlist(ch);
        if (ch->following) {
            ch->following = 0;
            ev_timer_stop(ch->g->loop, &ch->follow_timer);
        }
        gw_channel_close_link(ch);
    }
    gw_channel_maybe_free(ch);
}

void gw_channel_input(gw_viewer *v)
{
    gw_channel *ch = v->chan;
    if (!v->dirty) {
        v->dirty = 1;
        v->dirty_next = NULL;
        if (ch->dirty_tail)
            ch->dirty_tail->dirty_next = v;
        else
            ch->dirty_head = v;
        ch->dirty_tail = v;
    }
    gw_channel_want_write(ch);
}

void gw_channel_fail(gw_channel *ch, int code, const char *why)
{
    unlist(ch);
    for (gw_viewer *v = ch->members; v; v = v->chan_next)
        gw_viewer_close_like_link(v, code, why);
}

static void wake_viewers(gw_channel *ch)
{
    uint64_t lead = 0;
    int waiting = 0;
    for (gw_viewer *v = ch->members; v; v = v->chan_next) {
        if (!v->attached || !v->browser) {
            waiting |= !v->attached;
            continue;
        }
        lws_callback_on_writable(v->browser);
        if (v->cursor > lead)
            lead = v->cursor;
    }
    link_pause(ch, lead, waiting);
}

/* Passes a notice of hostd's on to every viewer that has had its hello, in its place among the
 * output; skip is the id of a viewer it is not for (its own coming), or -1. */
static void broadcast(gw_channel *ch, const unsigned char *text, size_t len, int64_t skip)
{
    for (gw_viewer *v = ch->members; v; v = v->chan_next)
        if (v->attached && v->viewer_id != skip)
            gw_viewer_send_text(v, text, len, ch->ring.end);
}

static int64_t viewer_num(const cJSON *id)
{
    const char *s = cJSON_GetStringValue(id);
    return s && s[0] == 'v' ? strtoll(s + 1, NULL, 10) : -1;
}

/* The channel's hello: the ring is set up at its first, and after a move the new host's
 * offsets are mapped onto the browsers' streams, which go on where they were. */
static void channel_hello(gw_channel *ch, const cJSON *m)
{
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(m, "offset"),
                *size = cJSON_GetObjectItemCaseSensitive(m, "ring_size");
    const char *lag = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "laggard_policy"));
    uint64_t host_off = cJSON_IsNumber(off) ? (uint64_t)off->valuedouble : 0;
    ev_timer_stop(ch->g->loop, &ch->link_timer);
    ch->attached = 1;
    ch->console_down = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "connected"));
    ch->laggard_close = lag && !strcmp(lag, "close");
    if (!ch->ring.buf) {
        double want = cJSON_IsNumber(size) ? size->valuedouble : 0;
        size_t cap = want < RING_MIN ? RING_MIN : want > RING_MAX ? RING_MAX : (size_t)want;
        if (vg_ring_init(&ch->ring, cap, host_off) != VG_OK) {
            gw_channel_fail(ch, 4503, "out of memory");
            gw_channel_close_link(ch);
            return;
        }
        ch->delta = 0;
        if (window(ch) > FIRST_CREDIT) /* the rest of the first window */
            gw_muxend_credit(&ch->end, window(ch) - FIRST_CREDIT);
        return;
    }
    ch->delta = ch->ring.end - host_off;
    if (!ch->moved)
        return;
    ch->moved = 0;
    char reason[96];
    snprintf(reason, sizeof(reason), "migrated to %s", ch->host);
    cJSON *st = cJSON_CreateObject();
    if (st) {
        cJSON_AddStringToObject(st, "type", "state");
        cJSON_AddBoolToObject(st, "connected", 1);
        cJSON_AddStringToObject(st, "reason", reason);
    }
    char *text = st ? cJSON_PrintUnformatted(st) : NULL;
    cJSON_Delete(st);
    if (text)
        broadcast(ch, (unsigned char *)text, strlen(text), -1);
    free(text);
}

/* A joined or left of a console with more than GW_DELTA_VIEWERS viewers goes to no viewer: the
 * count timer sums them up (each attach would otherwise be a message to every viewer, n² for
 * n attaches, and as much memory queued). Back at the limit the deltas, which carry the count,
 * go out again. */
static int summarised(gw_channel *ch, const cJSON *m)
{
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(m, "count");
    if (!cJSON_IsNumber(count) || count->valuedouble < 0)
        return 0;
    ch->viewers = count->valuedouble >= UINT_MAX ? UINT_MAX : (unsigned)count->valuedouble;
    if (ch->viewers <= GW_DELTA_VIEWERS) {
        ch->count_due = 0;
        ev_timer_stop(ch->g->loop, &ch->count_timer);
        return 0;
    }
    ch->count_due = 1;
    if (!ev_is_active(&ch->count_timer)) {
        ev_timer_set(&ch->count_timer, 1., 1.);
        ev_timer_start(ch->g->loop, &ch->count_timer);
    }
    return 1;
}

static void channel_text(gw_channel *ch, const unsigned char *data, size_t len)
{
    cJSON *m = vg_json_parse((const char *)data, len, NULL);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    if (!type) {
        vg_warn("console", "hostd sent a message without type for %s/%s", ch->vm, ch->dev);
    } else if (!strcmp(type, "hello")) {
        channel_hello(ch, m);
    } else {
        int64_t skip = -1;
        if (!strcmp(type, "state")) {
            /* Input for a console hostd cannot write to would be refused and lost; it waits
             * here instead (bounded by UP_QUEUE_MAX) until the VM is back. */
            int down = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "connected"));
            if (ch->console_down && !down)
                gw_channel_want_write(ch);
            ch->console_down = down;
        } else if (!strcmp(type, "writer")) {
            int64_t w = viewer_num(cJSON_GetObjectItemCaseSensitive(m, "viewer"));
            for (gw_viewer *v = ch->members; v; v = v->chan_next)
                v->writer = v->attached && w >= 0 && v->viewer_id == w;
        } else if (!strcmp(type, "joined") || !strcmp(type, "left")) {
            if (summarised(ch, m)) {
                cJSON_Delete(m);
                return;
            }
            if (!strcmp(type, "joined"))
                skip = viewer_num(cJSON_GetObjectItemCaseSensitive(m, "viewer"));
        }
        broadcast(ch, data, len, skip);
    }
    cJSON_Delete(m);
}

static gw_viewer *member(gw_channel *ch, uint32_t tag)
{
    for (gw_viewer *v = ch->members; v; v = v->chan_next)
        if (v->tag == tag)
            return v;
    return NULL;
}

/* Where a viewer's stream begins, as hostd would begin it (offset ring, end or a number; a
 * number before the ring gets a GAP first). host_end is hostd's end when it said hello. */
static uint64_t first_offset(const gw_channel *ch, const gw_viewer *v, uint64_t host_end)
{
    uint64_t end = host_end + ch->delta;
    if (!strcmp(v->q.offset, "ring"))
        return ch->ring.start;
    if (!strcmp(v->q.offset, "end"))
        return end;
    uint64_t o = strtoull(v->q.offset, NULL, 10);
    return o > end ? end : o;
}

/* A viewer's hello: its stream is placed in the shared ring, and the hello the browser gets
 * names the ring's bounds in the browser's offsets. After a move the viewer goes on: the
 * hello only tells it its new id. */
static void viewer_hello(gw_channel *ch, gw_viewer *v, const unsigned char *text, size_t len)
{
    cJSON *m = vg_json_parse((const char *)text, len, NULL);
    if (!m)
        return;
    v->viewer_id = viewer_num(cJSON_GetObjectItemCaseSensitive(m, "viewer"));
    v->writer = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "writer"));
    if (v->attached) {
        cJSON_Delete(m);
        return;
    }
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(m, "end");
    uint64_t host_end = cJSON_IsNumber(end) ? (uint64_t)end->valuedouble : 0;
    v->cursor = first_offset(ch, v, host_end);
    v->attached = 1;
    cJSON_ReplaceItemInObjectCaseSensitive(m, "start", cJSON_CreateNumber((double)ch->ring.start));
    cJSON_ReplaceItemInObjectCaseSensitive(m, "end",
                                           cJSON_CreateNumber((double)(host_end + ch->delta)));
    cJSON_ReplaceItemInObjectCaseSensitive(m, "offset", cJSON_CreateNumber((double)v->cursor));
    gw_viewer_send_control(v, m, 0);
}

static void for_viewer(gw_channel *ch, const unsigned char *data, size_t len)
{
    gw_viewer *v = member(ch, vg_frame_get_u32(data + 1));
    if (!v)
        return; /* it left while the message was on its way */
    const unsigned char *text = data + VG_LINK_TAG_LEN;
    size_t n = len - VG_LINK_TAG_LEN;
    if (data[0] == VG_OP_VIEWER_CLOSED) {
        int code = n >= 2 ? text[0] << 8 | text[1] : 4503;
        v->joined = 0;
        gw_viewer_close_like_link(v, code, "closed by the VM's host");
        return;
    }
    static const char hello[] = "{\"type\":\"hello\"";
    if (n >= sizeof(hello) - 1 && !memcmp(text, hello, sizeof(hello) - 1))
        viewer_hello(ch, v, text, n);
    else
        gw_viewer_send_text(v, text, n, v->attached ? ch->ring.end : 0);
}

/* Output or a GAP of the channel: hostd skipped the channel itself only if this gateway did not
 * read its link; the ring then starts anew past the hole and each viewer behind it gets its
 * own GAP from the ring. */
static void channel_output(gw_channel *ch, const unsigned char *data, size_t len)
{
    vg_msg m;
    vg_err err;
    if (!ch->ring.buf || vg_frame_parse_server(1, data, len, &m, &err) != VG_OK) {
        vg_warn("console", "hostd sent a bad frame for %s/%s%s%s", ch->vm, ch->dev,
                ch->ring.buf ? ": " : " before its hello", ch->ring.buf ? err.msg : "");
        return;
    }
    gw_relay.link_output_bytes += len;
    if (m.kind == VG_MSG_GAP) {
        uint64_t to = m.to + ch->delta;
        if (to > ch->ring.end)
            vg_ring_reset(&ch->ring, to);
    } else {
        uint64_t from = m.offset + ch->delta;
        ch->owed += (uint32_t)m.len; /* hostd's credit was used for it, also for what is dropped */
        if (from > ch->ring.end)
            vg_ring_reset(&ch->ring, from);
        uint64_t dup = ch->ring.end - from; /* bytes the ring has already (after a resume) */
        if (dup < m.len)
            vg_ring_append(&ch->ring, m.data + dup, m.len - (size_t)dup);
    }
    wake_viewers(ch);
    grant(ch, 0);
}

void gw_channel_message(gw_channel *ch, int binary, unsigned char *data, size_t len)
{
    if (!binary) {
        channel_text(ch, data, len);
        return;
    }
    if (len >= VG_LINK_TAG_LEN && (data[0] == VG_OP_FOR_VIEWER || data[0] == VG_OP_VIEWER_CLOSED))
        for_viewer(ch, data, len);
    else
        channel_output(ch, data, len);
}
