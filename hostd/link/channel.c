/* A gateway's channel to one console (links v2 and v3, docs/protocol.md §3): the console's
 * output and its who-is-attached notices go to the gateway once, whatever the number of its
 * browser viewers; each of those is a member here (a console_viewer of kind CONSOLE_MEMBER: a
 * few hundred bytes), told only its hello, the list, its errors and pongs, tagged with the id
 * the gateway gave it. */
#include "link/channel.h"
#include "link/chanmsg.h"

#include "vg_frame.h"
#include "vg_idtab.h"
#include "vg_log.h"
#include "vg_mux.h"

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
    const hd_channel_out *out;
    void *ud;
    vg_idtab members; /* chan_member by tag */
    chan_member *dirty_head, *dirty_tail;
    int close_code; /* the gateway broke the protocol: close with this */
    int metered;
    int64_t credit; /* metered: bytes of output the gateway takes; one frame may overdraw it */
    size_t sent;    /* bytes written in this writable callback */
};

static void channel_wake(console_viewer *v)
{
    hd_channel *ch = (hd_channel *)v;
    ch->out->wake(ch->ud);
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
    ch->out->wake(ch->ud);
}

hd_channel *hd_channel_new(console *c, const char *offset, const hd_channel_out *out, void *ud,
                           int metered, vg_err *err)
{
    hd_channel *ch = calloc(1, sizeof(*ch));
    if (!ch) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    ch->out = out;
    ch->ud = ud;
    ch->metered = metered;
    ch->v.kind = CONSOLE_CHANNEL;
    ch->v.wake = channel_wake;
    ch->v.ud = ch;
    if (hd_console_attach(c, &ch->v, NULL, 0, 0, offset, err) != VG_OK) {
        free(ch);
        return NULL;
    }
    return ch;
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
    vg_idtab_del(&ch->members, m->tag);
    unlist_dirty(ch, m);
    hd_console_detach(&m->v);
    free(m);
}

void hd_channel_free(hd_channel *ch)
{
    if (!ch)
        return;
    while (ch->members.n)
        member_free(ch, ch->members.e[ch->members.n - 1].p);
    hd_console_detach(&ch->v);
    vg_idtab_clear(&ch->members);
    free(ch);
}

void hd_channel_close(hd_channel *ch, int code)
{
    hd_console_viewer_close(&ch->v, code);
}

unsigned hd_channel_members(const hd_channel *ch)
{
    return (unsigned)ch->members.n;
}

int hd_channel_credit(hd_channel *ch, uint32_t bytes, vg_err *err)
{
    if (ch->credit + bytes > VG_MUX_CREDIT_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "a credit beyond %u bytes", VG_MUX_CREDIT_MAX);
    int had = ch->credit > 0;
    ch->credit += bytes;
    if (!had && ch->credit > 0)
        ch->out->wake(ch->ud);
    return VG_OK;
}

static int broken(hd_channel *ch, const char *why)
{
    vg_warn("link", "closing a channel: the gateway sent %s", why);
    ch->close_code = 1008;
    ch->out->wake(ch->ud);
    return VG_ERR;
}

static int join(hd_channel *ch, const hd_chanmsg *msg)
{
    vg_err err;
    if (vg_idtab_get(&ch->members, msg->tag))
        return broken(ch, "a join for a tag already in use");
    chan_member *m = calloc(1, sizeof(*m));
    if (!m || vg_idtab_add(&ch->members, msg->tag, m, &err) != VG_OK) {
        free(m);
        return broken(ch, "more members than memory");
    }
    m->ch = ch;
    m->tag = msg->tag;
    m->v.kind = CONSOLE_MEMBER;
    m->v.wake = member_wake;
    m->v.rec_input = msg->rec_input;
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
    chan_member *m = vg_idtab_get(&ch->members, msg.tag);
    /* A member hostd closed itself is gone already. */
    if (m)
        member_free(ch, m);
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
    chan_member *m = vg_idtab_get(&ch->members, vg_frame_get_u32(in + 1));
    if (!m)
        return; /* closed by hostd while the frame was on its way */
    hd_console_viewer_recv(&m->v, in[0] == VG_OP_TO_BINARY, in + VG_LINK_TAG_LEN,
                           len - VG_LINK_TAG_LEN);
}

static int emit(hd_channel *ch, unsigned char *buf, size_t len, int binary)
{
    ch->sent += len;
    return ch->out->send(ch->ud, buf, len, binary);
}

/* Writes everything member m has to be told, tagged; a member closed here is freed. */
static int write_member(hd_channel *ch, chan_member *m, unsigned char *buf, size_t cap)
{
    console_msg msg;
    while (hd_console_viewer_next(&m->v, buf + VG_LINK_TAG_LEN, cap - VG_LINK_TAG_LEN, &msg)) {
        if (msg.len) {
            buf[0] = VG_OP_FOR_VIEWER;
            vg_frame_put_u32(buf + 1, m->tag);
            if (emit(ch, buf, VG_LINK_TAG_LEN + msg.len, 1) < 0)
                return -1;
        }
        if (msg.close_code) {
            buf[0] = VG_OP_VIEWER_CLOSED;
            vg_frame_put_u32(buf + 1, m->tag);
            buf[5] = (unsigned char)(msg.close_code >> 8);
            buf[6] = (unsigned char)msg.close_code;
            member_free(ch, m);
            return emit(ch, buf, 7, 1) < 0 ? -1 : 0;
        }
    }
    return 0;
}

/* 0, the close code m ends the channel with, or -1 (the connection broke). */
static int write_msg(hd_channel *ch, unsigned char *buf, const console_msg *m)
{
    if (m->len && emit(ch, buf, m->len, m->binary) < 0)
        return -1;
    return m->close_code;
}

/* The next message of the channel itself; 0 when none is due. Output waits for credit. */
static int next(hd_channel *ch, unsigned char *buf, size_t cap, console_msg *m)
{
    if (ch->metered && ch->credit <= 0)
        return 0;
    if (!hd_console_viewer_next(&ch->v, buf, cap, m))
        return 0;
    if (ch->metered && m->binary && buf[0] == VG_OP_OUTPUT)
        ch->credit -= (int64_t)(m->len - VG_FRAME_OUTPUT_HDR);
    return 1;
}

int hd_channel_write(hd_channel *ch, unsigned char *buf, size_t cap, size_t budget)
{
    if (ch->close_code)
        return ch->close_code;
    ch->sent = 0;
    /* The channel's own notices first, then what its members are told, then output: a member's
     * list is built after every notice before it has gone out, so none is counted twice. */
    do {
        console_msg m;
        int rc;
        if (hd_console_viewer_control(&ch->v, buf, cap, &m)) {
            rc = write_msg(ch, buf, &m);
        } else if (ch->dirty_head) {
            chan_member *mb = ch->dirty_head;
            ch->dirty_head = mb->dirty_next;
            if (!ch->dirty_head)
                ch->dirty_tail = NULL;
            mb->dirty = 0;
            rc = write_member(ch, mb, buf, cap);
        } else if (next(ch, buf, cap, &m)) {
            rc = write_msg(ch, buf, &m);
        } else {
            return 0;
        }
        if (rc)
            return rc;
    } while (ch->sent < budget && !ch->out->choked(ch->ud));
    ch->out->wake(ch->ud);
    return 0;
}
