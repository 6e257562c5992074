/* The viewer side of a console (C5, C6, C7): attach and detach, the write lock, refusals,
 * and hd_console_viewer_next, which builds exactly one message at a time from the viewer's own
 * offset into the shared ring. */
#include "console/console.h"

#include "console/holder_int.h"
#include "vg_frame.h"
#include "vg_log.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_FRAME_MAX 16384 /* bytes of output per frame: one frame per writable */

static void set_writer(console *c, console_viewer *w)
{
    console_viewer *prev = c->writer;
    if (prev == w)
        return;
    c->writer = w;
    if (hd_console_cfg()->on_writer)
        hd_console_cfg()->on_writer(c, w);
    for (console_viewer *v = c->readers; v; v = v->rnext) {
        snprintf(v->prev_writer, sizeof(v->prev_writer), "%s", prev ? prev->id : "");
        v->pending |= CONSOLE_P_WRITER;
        hd_console_wake(v);
    }
}

/* Notes that v joined or left and wakes the readers still to be told; the viewer itself is
 * told nothing of its own coming (its hello and the list say it; a gateway does not pass its
 * own member's coming on to that member). */
static void membership_event(console *c, const console_viewer *v, int joined)
{
    if (!c->events)
        c->events = calloc(CONSOLE_EVENTS, sizeof(*c->events));
    if (c->events) {
        console_event *e = &c->events[c->event_seq % CONSOLE_EVENTS];
        e->joined = joined;
        snprintf(e->viewer, sizeof(e->viewer), "%s", v->id);
        snprintf(e->user, sizeof(e->user), "%s", v->user);
        e->rw = v->rw;
        e->since_ms = v->since_ms;
    }
    /* Without room for events, every viewer behind is sent the list again (control()). */
    c->event_seq++;
    for (console_viewer *o = c->readers; o; o = o->rnext)
        if (o != v)
            hd_console_wake(o);
}

static int parse_offset(const char *s, uint64_t *off, const vg_ring *r, vg_err *err)
{
    if (!s || !*s || strcmp(s, "ring") == 0) {
        *off = r->start;
        return VG_OK;
    }
    if (strcmp(s, "end") == 0) {
        *off = r->end;
        return VG_OK;
    }
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return vg_fail(err, VG_E_BAD_REQUEST, "offset must be ring, end or a number");
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *off = v > r->end ? r->end : v;
    return VG_OK;
}

int hd_console_attach(console *c, console_viewer *v, const char *user, int rw, int take,
                      const char *offset, vg_err *err)
{
    if (v->kind != CONSOLE_CHANNEL && !vg_valid_name(user))
        return vg_fail(err, VG_E_BAD_REQUEST, "invalid user name");
    uint64_t off = 0; /* gcc -O2 cannot see that parse_offset sets it on VG_OK */
    if (parse_offset(offset, &off, &c->ring, err) != VG_OK)
        return VG_ERR;
    v->con = c;
    v->offset = v->asked = off;
    v->sent_data = 0;
    v->npongs = 0;
    v->close_code = 0;
    if (v->kind != CONSOLE_MEMBER) {
        v->rnext = c->readers;
        c->readers = v;
    }
    if (v->kind == CONSOLE_CHANNEL) {
        v->pending = CONSOLE_P_HELLO;
        v->event_next = c->event_seq;
        vg_info("console", "%s/%s channel attached at %llu", c->vm, c->dev,
                (unsigned long long)off);
        hd_console_wake(v);
        return VG_OK;
    }
    snprintf(v->id, sizeof(v->id), "v%u", ++c->viewer_seq);
    snprintf(v->user, sizeof(v->user), "%s", user);
    v->rw = rw;
    v->since_ms = vg_now_ms();
    v->pending = CONSOLE_P_HELLO | CONSOLE_P_VIEWERS;
    v->event_next = c->event_seq + 1; /* past its own joining */
    v->next = c->viewers;
    c->viewers = v;
    c->nviewers++;
    vg_info("console", "%s/%s viewer %s (%s, %s) attached at %llu", c->vm, c->dev, v->id, user,
            rw ? "rw" : "ro", (unsigned long long)off);
    membership_event(c, v, 1);
    if (rw && (take || !c->writer))
        set_writer(c, v);
    hd_console_wake(v); /* its hello and the list */
    return VG_OK;
}

void hd_console_detach(console_viewer *v)
{
    console *c = v->con;
    if (!c)
        return;
    for (console_viewer **pp = &c->readers; *pp; pp = &(*pp)->rnext)
        if (*pp == v) {
            *pp = v->rnext;
            break;
        }
    v->con = NULL;
    v->rnext = NULL;
    if (v->kind == CONSOLE_CHANNEL) {
        vg_info("console", "%s/%s channel detached", c->vm, c->dev);
        return;
    }
    for (console_viewer **pp = &c->viewers; *pp; pp = &(*pp)->next)
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    v->next = NULL;
    c->nviewers--;
    vg_info("console", "%s/%s viewer %s (%s) detached", c->vm, c->dev, v->id, v->user);
    if (c->writer == v)
        set_writer(c, NULL);
    membership_event(c, v, 0);
}

void hd_console_take(console_viewer *v)
{
    if (v->con && v->rw)
        set_writer(v->con, v);
}

const console_viewer *hd_console_writer(const console *c)
{
    return c->writer;
}

void hd_console_viewer_refuse(console_viewer *v, const vg_err *err)
{
    v->err = *err;
    v->pending |= CONSOLE_P_ERROR;
    if (err->code == VG_E_TOO_BIG)
        v->close_code = 1009;
    hd_console_wake(v);
}

static void input(console_viewer *v, const unsigned char *p, size_t n)
{
    vg_err err;
    if (!v->rw) {
        vg_fail(&err, VG_E_READ_ONLY, "this attachment is read-only");
        hd_console_viewer_refuse(v, &err);
        return;
    }
    if (v->con->writer != v) {
        vg_fail(&err, VG_E_NOT_WRITER, "another viewer holds the write lock; send take first");
        hd_console_viewer_refuse(v, &err);
        return;
    }
    if (hd_console_send_input(v->con, p, n, &err) != VG_OK)
        hd_console_viewer_refuse(v, &err);
    else if (hd_console_cfg()->on_input)
        hd_console_cfg()->on_input(v->con, p, n);
}

void hd_console_viewer_recv(console_viewer *v, int binary, const unsigned char *buf, size_t len)
{
    vg_msg m;
    vg_err err;
    if (!v->con)
        return;
    if (vg_frame_parse_client(binary, buf, len, &m, &err) != VG_OK) {
        hd_console_viewer_refuse(v, &err);
        return;
    }
    switch (m.kind) {
    case VG_MSG_INPUT:
        if (m.len == 0)
            return;
        input(v, m.data, m.len);
        return;
    case VG_MSG_TAKE:
        if (!v->rw) {
            vg_fail(&err, VG_E_READ_ONLY, "a read-only attachment cannot take the write lock");
            hd_console_viewer_refuse(v, &err);
            return;
        }
        set_writer(v->con, v);
        return;
    case VG_MSG_RELEASE:
        if (v->con->writer == v)
            set_writer(v->con, NULL);
        return;
    case VG_MSG_PING:
        if (v->npongs < CONSOLE_MAX_PONGS)
            v->pongs[v->npongs++] = m.id;
        hd_console_wake(v);
        return;
    default:
        vg_fail(&err, VG_E_UNKNOWN, "unexpected message");
        hd_console_viewer_refuse(v, &err);
        return;
    }
}

void hd_console_viewer_close(console_viewer *v, int code)
{
    v->close_code = code;
    hd_console_wake(v);
}

static size_t emit_json(cJSON *o, unsigned char *buf, size_t cap)
{
    size_t len = 0;
    if (o && cJSON_PrintPreallocated(o, (char *)buf, (int)cap, 0))
        len = strlen((char *)buf);
    cJSON_Delete(o);
    return len;
}

static void add_viewer(cJSON *arr, const char *id, const char *user, int rw, int writer,
                       int64_t since_ms)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "viewer", id);
    cJSON_AddStringToObject(e, "user", user);
    cJSON_AddStringToObject(e, "mode", rw ? "rw" : "ro");
    cJSON_AddBoolToObject(e, "writer", writer);
    cJSON_AddNumberToObject(e, "since", (double)since_ms);
    cJSON_AddItemToArray(arr, e);
}

/* The list, summarised past CONSOLE_LIST_MAX: the writer and the newest others, and the
 * count of all. A frame of 16 KiB holds it whatever the number of viewers. */
cJSON *hd_console_viewers_json(const console *c, const console_viewer *me)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "viewers");
    cJSON_AddNumberToObject(o, "count", c->nviewers);
    cJSON *arr = cJSON_AddArrayToObject(o, "viewers");
    int listed = 0;
    const console_viewer *w = c->writer;
    if (w)
        add_viewer(arr, w->id, w->user, w->rw, 1, w->since_ms), listed++;
    if (me && me != w)
        add_viewer(arr, me->id, me->user, me->rw, 0, me->since_ms), listed++;
    for (const console_viewer *v = c->viewers; v && listed < CONSOLE_LIST_MAX; v = v->next)
        if (v != w && v != me)
            add_viewer(arr, v->id, v->user, v->rw, 0, v->since_ms), listed++;
    cJSON_AddBoolToObject(o, "truncated", (unsigned)listed < c->nviewers);
    return o;
}

static cJSON *event_json(const console *c, const console_event *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", e->joined ? "joined" : "left");
    cJSON_AddStringToObject(o, "viewer", e->viewer);
    cJSON_AddStringToObject(o, "user", e->user);
    if (e->joined) {
        cJSON_AddStringToObject(o, "mode", e->rw ? "rw" : "ro");
        cJSON_AddNumberToObject(o, "since", (double)e->since_ms);
    }
    cJSON_AddNumberToObject(o, "count", c->nviewers);
    return o;
}

/* A channel's hello (link v2): where its stream begins, and what the gateway needs to mirror
 * the ring and treat its laggards as hostd would. */
static cJSON *channel_hello(const console *c, const console_viewer *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "hello");
    cJSON_AddNumberToObject(o, "version", 2);
    cJSON_AddStringToObject(o, "vm", c->vm);
    cJSON_AddStringToObject(o, "dev", c->dev);
    cJSON_AddNumberToObject(o, "start", (double)c->ring.start);
    cJSON_AddNumberToObject(o, "end", (double)c->ring.end);
    cJSON_AddNumberToObject(o, "offset", (double)v->asked);
    cJSON_AddBoolToObject(o, "connected", c->connected);
    cJSON_AddNumberToObject(o, "ring_size", (double)c->ring.cap);
    cJSON_AddStringToObject(o, "laggard_policy",
                            hd_console_cfg()->laggard_close ? "close" : "skip");
    return o;
}

static cJSON *control(console_viewer *v, unsigned *bit)
{
    console *c = v->con;
    if (v->kind == CONSOLE_CHANNEL && (v->pending & CONSOLE_P_HELLO)) {
        *bit = CONSOLE_P_HELLO;
        return channel_hello(c, v);
    }
    /* A member is told its hello and the list; the rest goes to its channel. */
    if (v->kind == CONSOLE_MEMBER && !(v->pending & (CONSOLE_P_HELLO | CONSOLE_P_VIEWERS)))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (v->pending & CONSOLE_P_HELLO) {
        *bit = CONSOLE_P_HELLO;
        cJSON_AddStringToObject(o, "type", "hello");
        cJSON_AddNumberToObject(o, "version", 1);
        cJSON_AddStringToObject(o, "vm", c->vm);
        cJSON_AddStringToObject(o, "dev", c->dev);
        cJSON_AddStringToObject(o, "viewer", v->id);
        cJSON_AddStringToObject(o, "user", v->user);
        cJSON_AddStringToObject(o, "mode", v->rw ? "rw" : "ro");
        cJSON_AddBoolToObject(o, "writer", c->writer == v);
        cJSON_AddNumberToObject(o, "start", (double)c->ring.start);
        cJSON_AddNumberToObject(o, "end", (double)c->ring.end);
        cJSON_AddNumberToObject(o, "offset", (double)v->asked);
        cJSON_AddBoolToObject(o, "connected", c->connected);
    } else if (v->pending & CONSOLE_P_WRITER) {
        *bit = CONSOLE_P_WRITER;
        cJSON_AddStringToObject(o, "type", "writer");
        if (c->writer) {
            cJSON_AddStringToObject(o, "viewer", c->writer->id);
            cJSON_AddStringToObject(o, "user", c->writer->user);
        } else {
            cJSON_AddNullToObject(o, "viewer");
            cJSON_AddNullToObject(o, "user");
        }
        if (v->prev_writer[0])
            cJSON_AddStringToObject(o, "previous", v->prev_writer);
        else
            cJSON_AddNullToObject(o, "previous");
    } else if (v->pending & CONSOLE_P_STATE) {
        *bit = CONSOLE_P_STATE;
        cJSON_AddStringToObject(o, "type", "state");
        cJSON_AddBoolToObject(o, "connected", c->connected);
        cJSON_AddStringToObject(o, "reason", c->reason);
    } else if ((v->pending & CONSOLE_P_VIEWERS) ||
               (v->event_next < c->event_seq &&
                (!c->events || c->event_seq - v->event_next > CONSOLE_EVENTS))) {
        *bit = CONSOLE_P_VIEWERS;
        v->event_next = c->event_seq;
        cJSON_Delete(o);
        o = hd_console_viewers_json(c, v->kind == CONSOLE_CHANNEL ? NULL : v);
    } else if (v->event_next < c->event_seq) {
        cJSON_Delete(o);
        o = event_json(c, &c->events[v->event_next++ % CONSOLE_EVENTS]);
    } else {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static size_t error_json(console_viewer *v, unsigned char *buf, size_t cap)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "code", vg_err_code_name(v->err.code));
    cJSON_AddStringToObject(o, "message", v->err.msg);
    return emit_json(o, buf, cap);
}

static int next_msg(console_viewer *v, unsigned char *buf, size_t cap, console_msg *out, int data)
{
    memset(out, 0, sizeof(*out));
    console *c = v->con;
    if (v->pending & CONSOLE_P_ERROR) {
        v->pending &= ~(unsigned)CONSOLE_P_ERROR;
        out->len = error_json(v, buf, cap);
        return 1;
    }
    if (v->close_code || !c) {
        out->close_code = v->close_code ? v->close_code : 4004;
        return 1;
    }
    unsigned bit = 0;
    cJSON *o = control(v, &bit);
    if (o) {
        v->pending &= ~bit;
        out->len = emit_json(o, buf, cap);
        return 1;
    }
    if (v->npongs) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "pong");
        cJSON_AddNumberToObject(p, "id", (double)v->pongs[0]);
        memmove(v->pongs, v->pongs + 1, --v->npongs * sizeof(v->pongs[0]));
        out->len = emit_json(p, buf, cap);
        return 1;
    }
    if (v->kind == CONSOLE_MEMBER || !data)
        return 0;
    if (v->offset < c->ring.start) {
        /* A channel is skipped ahead, never closed: its gateway applies the policy to each of
         * its browser viewers. */
        if (v->sent_data && hd_console_cfg()->laggard_close && v->kind == CONSOLE_VIEWER) {
            vg_info("console", "%s/%s viewer %s fell %llu bytes behind; closing", c->vm, c->dev,
                    v->id, (unsigned long long)(c->ring.start - v->offset));
            out->close_code = 4408;
            return 1;
        }
        vg_frame_gap(buf, v->offset, c->ring.start);
        v->offset = c->ring.start;
        v->sent_data = 1;
        out->len = VG_FRAME_GAP_LEN;
        out->binary = 1;
        return 1;
    }
    const unsigned char *p;
    size_t max = cap - VG_FRAME_OUTPUT_HDR;
    size_t n =
        vg_ring_peek(&c->ring, v->offset, max < CONSOLE_FRAME_MAX ? max : CONSOLE_FRAME_MAX, &p);
    if (n == 0)
        return 0;
    vg_frame_output_hdr(buf, v->offset);
    memcpy(buf + VG_FRAME_OUTPUT_HDR, p, n);
    v->offset += n;
    v->sent_data = 1;
    out->len = VG_FRAME_OUTPUT_HDR + n;
    out->binary = 1;
    return 1;
}

int hd_console_viewer_next(console_viewer *v, unsigned char *buf, size_t cap, console_msg *out)
{
    return next_msg(v, buf, cap, out, 1);
}

int hd_console_viewer_control(console_viewer *v, unsigned char *buf, size_t cap, console_msg *out)
{
    return next_msg(v, buf, cap, out, 0);
}
