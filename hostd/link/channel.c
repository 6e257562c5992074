/* A gateway's channel to one console (link v2, docs/protocol.md §3): the console's output and
 * its who-is-attached notices go to the gateway once, whatever the number of its browser
 * viewers; each of those is a member here (a console_viewer of kind CONSOLE_MEMBER: a few
 * hundred bytes), told only its hello, the list, its errors and pongs, tagged with the id the
 * gateway gave it. */
#include "link/channel.h"
#include "link/chanmsg.h"

#include "vg_frame.h"
#include "vg_log.h"
#include "vg_util.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

typedef struct chan_member {
    console_viewer v; /* first: the viewer's wake finds the member */
    hd_channel *ch;
    uint32_t tag;
    int dirty; /* in ch's list of members with something to be told */
    struct chan_member *dirty_next;
} chan_member;

struct hd_channel {
    console_viewer v; /* first: kind CONSOLE_CHANNEL */
    struct lws *wsi;
    chan_member **members; /* sorted by tag */
    size_t n, cap;
    chan_member *dirty_head, *dirty_tail;
    int close_code; /* the gateway broke the protocol: close with this */
};

static void channel_wake(console_viewer *v)
{
    hd_channel *ch = (hd_channel *)v;
    lws_callback_on_writable(ch->wsi);
}

static void member_wake(console_viewer *v)
{
    chan_member *m = (chan_member *)v;
    hd_channel *ch = m->ch;
    if (!m->dirty) {
        m->dirty = 1;
        m->dirty_next = NULL;
        if (ch->dirty_tail)
            ch->dirty_tail->dirty_next = m;
        else
            ch->dirty_head = m;
        ch->dirty_tail = m;
    }
    lws_callback_on_writable(ch->wsi);
}

hd_channel *hd_channel_new(console *c, struct lws *wsi, const char *offset, vg_err *err)
{
    hd_channel *ch = calloc(1, sizeof(*ch));
    if (!ch) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    ch->wsi = wsi;
    ch->v.kind = CONSOLE_CHANNEL;
    ch->v.wake = channel_wake;
    ch->v.ud = ch;
    if (hd_console_attach(c, &ch->v, NULL, 0, 0, offset, err) != VG_OK) {
        free(ch);
        return NULL;
    }
    return ch;
}

/* Index of tag in the sorted members, or where it would go (*found 0). */
static size_t find(const hd_channel *ch, uint32_t tag, int *found)
{
    size_t lo = 0, hi = ch->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ch->members[mid]->tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < ch->n && ch->members[lo]->tag == tag;
    return lo;
}

static void unlist_dirty(hd_channel *ch, chan_member *m)
{
    if (!m->dirty)
        return;
    chan_member **pp = &ch->dirty_head, *prev = NULL;
    while (*pp && *pp != m) {
        prev = *pp;
        pp = &(*pp)->dirty_next;
    }
    if (*pp)
        *pp = m->dirty_next;
    if (ch->dirty_tail == m)
        ch->dirty_tail = prev;
    m->dirty = 0;
}

static void member_free(hd_channel *ch, chan_member *m)
{
    int found;
    size_t i = find(ch, m->tag, &found);
    if (found) {
        memmove(ch->members + i, ch->members + i + 1, (ch->n - i - 1) * sizeof(*ch->members));
        ch->n--;
    }
    unlist_dirty(ch, m);
    hd_console_detach(&m->v);
    free(m);
}

void hd_channel_free(hd_channel *ch)
{
    if (!ch)
        return;
    while (ch->n)
        member_free(ch, ch->members[ch->n - 1]);
    hd_console_detach(&ch->v);
    free(ch->members);
    free(ch);
}

void hd_channel_close(hd_channel *ch, int code)
{
    hd_console_viewer_close(&ch->v, code);
}

unsigned hd_channel_members(const hd_channel *ch)
{
    return (unsigned)ch->n;
}

static int broken(hd_channel *ch, const char *why)
{
    vg_warn("link", "closing a channel: the gateway sent %s", why);
    ch->close_code = 1008;
    lws_callback_on_writable(ch->wsi);
    return VG_ERR;
}

static int join(hd_channel *ch, const hd_chanmsg *msg)
{
    int found;
    size_t i = find(ch, msg->tag, &found);
    if (found)
        return broken(ch, "a join for a tag already in use");
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? 2 * ch->cap : 16;
        chan_member **p = realloc(ch->members, cap * sizeof(*p));
        if (!p)
            return broken(ch, "more members than memory");
        ch->members = p;
        ch->cap = cap;
    }
    chan_member *m = calloc(1, sizeof(*m));
    if (!m)
        return broken(ch, "more members than memory");
    m->ch = ch;
    m->tag = msg->tag;
    m->v.kind = CONSOLE_MEMBER;
    m->v.wake = member_wake;
    m->v.rec_input = msg->rec_input;
    memmove(ch->members + i + 1, ch->members + i, (ch->n - i) * sizeof(*ch->members));
    ch->members[i] = m;
    ch->n++;
    vg_err err;
    if (!ch->v.con) {
        vg_fail(&err, VG_E_NOT_FOUND, "the console is gone");
        hd_console_viewer_refuse(&m->v, &err);
        hd_console_viewer_close(&m->v, 4004);
    } else if (hd_console_attach(ch->v.con, &m->v, msg->user, msg->rw, msg->take, "end", &err) !=
               VG_OK) {
        hd_console_viewer_refuse(&m->v, &err);
        hd_console_viewer_close(&m->v, 1008);
    }
    return VG_OK;
}

static int control(hd_channel *ch, const unsigned char *in, size_t len)
{
    hd_chanmsg msg;
    vg_err err;
    if (hd_chanmsg_parse(in, len, &msg, &err) != VG_OK)
        return broken(ch, err.msg);
    if (msg.type == HD_CHANMSG_JOIN)
        return join(ch, &msg);
    int found;
    size_t i = find(ch, msg.tag, &found);
    /* A member hostd closed itself is gone already. */
    if (found)
        member_free(ch, ch->members[i]);
    return VG_OK;
}

void hd_channel_recv(hd_channel *ch, int binary, const unsigned char *in, size_t len)
{
    if (ch->close_code)
        return;
    if (!binary) {
        control(ch, in, len);
        return;
    }
    if (len < VG_LINK_TAG_LEN || (in[0] != VG_OP_TO_BINARY && in[0] != VG_OP_TO_TEXT)) {
        broken(ch, "a binary frame that is no tagged viewer frame");
        return;
    }
    int found;
    size_t i = find(ch, vg_frame_get_u32(in + 1), &found);
    if (!found)
        return; /* closed by hostd while the frame was on its way */
    hd_console_viewer_recv(&ch->members[i]->v, in[0] == VG_OP_TO_BINARY, in + VG_LINK_TAG_LEN,
                           len - VG_LINK_TAG_LEN);
}

/* Writes everything member m has to be told, tagged; a member closed here is freed. */
static int write_member(hd_channel *ch, chan_member *m, unsigned char *buf, size_t cap)
{
    console_msg msg;
    while (hd_console_viewer_next(&m->v, buf + VG_LINK_TAG_LEN, cap - VG_LINK_TAG_LEN, &msg)) {
        if (msg.len) {
            buf[0] = VG_OP_FOR_VIEWER;
            vg_frame_put_u32(buf + 1, m->tag);
            size_t n = VG_LINK_TAG_LEN + msg.len;
            if (lws_write(ch->wsi, buf, n, LWS_WRITE_BINARY) < (int)n)
                return -1;
        }
        if (msg.close_code) {
            buf[0] = VG_OP_VIEWER_CLOSED;
            vg_frame_put_u32(buf + 1, m->tag);
            buf[5] = (unsigned char)(msg.close_code >> 8);
            buf[6] = (unsigned char)msg.close_code;
            member_free(ch, m);
            return lws_write(ch->wsi, buf, 7, LWS_WRITE_BINARY) < 7 ? -1 : 0;
        }
    }
    return 0;
}

static int write_msg(hd_channel *ch, unsigned char *buf, const console_msg *m)
{
    if (m->len && lws_write(ch->wsi, buf, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
                      (int)m->len)
        return -1;
    if (m->close_code) {
        lws_close_reason(ch->wsi, (enum lws_close_status)m->close_code, NULL, 0);
        return -1;
    }
    return 0;
}

int hd_channel_write(hd_channel *ch, unsigned char *buf, size_t cap)
{
    if (ch->close_code) {
        lws_close_reason(ch->wsi, (enum lws_close_status)ch->close_code, NULL, 0);
        return -1;
    }
    /* The channel's own notices first, then what its members are told, then output: a member's
     * list is built after every notice before it has gone out, so none is counted twice. */
    do {
        console_msg m;
        if (hd_console_viewer_control(&ch->v, buf, cap, &m)) {
            if (write_msg(ch, buf, &m) < 0)
                return -1;
            continue;
        }
        if (ch->dirty_head) {
            chan_member *mb = ch->dirty_head;
            ch->dirty_head = mb->dirty_next;
            if (!ch->dirty_head)
                ch->dirty_tail = NULL;
            mb->dirty = 0;
            if (write_member(ch, mb, buf, cap) < 0)
                return -1;
            continue;
        }
        if (!hd_console_viewer_next(&ch->v, buf, cap, &m))
            return 0;
        if (write_msg(ch, buf, &m) < 0)
            return -1;
    } while (!lws_send_pipe_choked(ch->wsi));
    lws_callback_on_writable(ch->wsi);
    return 0;
}
