/* A gateway's channel on a console (link v2, docs/protocol.md §3): what hostd tells the
 * gateway that fans the console out, one link frame at a time, and what it accepts from it.
 * The channel is a console_viewer, so the ring cursor, the write lock and the wake-ups are
 * those of holder.c and viewer.c; only the frames differ. */
#include "console/console.h"

#include "console/holder_int.h"
#include "vg_frame.h"
#include "vg_json.h"
#include "vg_link.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

int hd_console_channel_open(console *c, console_viewer *v, const char *offset, vg_err *err)
{
    /* Attached read-only so that it does not take a free write lock: the gateway asks. */
    if (hd_console_attach(c, v, "gateway", 0, 0, offset, err) != VG_OK)
        return VG_ERR;
    v->rw = 1;
    return VG_OK;
}

static void refuse(console_viewer *v, vg_err_code code, const char *msg)
{
    vg_err err;
    vg_fail(&err, code, "%s", msg);
    hd_console_viewer_refuse(v, &err);
}

void hd_console_channel_control(console_viewer *v, const unsigned char *json, size_t len)
{
    if (!v->con)
        return;
    vg_err err;
    cJSON *m = vg_json_parse((const char *)json, len, &err);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    const char *user = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "user"));
    if (!m)
        hd_console_viewer_refuse(v, &err);
    else if (type && !strcmp(type, "take") && user && vg_valid_name(user)) {
        snprintf(v->user, sizeof(v->user), "%s", user);
        if (v->con->writer == v) /* another browser of the same gateway: only the name changes */
            hd_console_wake_all(v->con, CONSOLE_P_VIEWERS);
        else
            hd_console_set_writer(v->con, v);
    } else if (type && !strcmp(type, "release")) {
        if (v->con->writer == v)
            hd_console_set_writer(v->con, NULL);
    } else
        refuse(v, VG_E_BAD_REQUEST, "control must be take (with a user name) or release");
    cJSON_Delete(m);
}

void hd_console_channel_input(console_viewer *v, const unsigned char *p, size_t n)
{
    vg_err err;
    if (!v->con || !n)
        return;
    if (v->con->writer != v)
        refuse(v, VG_E_NOT_WRITER, "another gateway's viewer holds the write lock");
    else if (hd_console_send_input(v->con, p, n, &err) != VG_OK)
        hd_console_viewer_refuse(v, &err);
}

static size_t json_frame(cJSON *o, int type, uint32_t id, unsigned char *buf, size_t cap)
{
    size_t len = 0;
    vg_link_hdr(buf, type, id);
    if (o && cJSON_PrintPreallocated(o, (char *)buf + VG_LINK_HDR, (int)(cap - VG_LINK_HDR), 0))
        len = VG_LINK_HDR + strlen((char *)buf + VG_LINK_HDR);
    cJSON_Delete(o);
    return len;
}

static size_t close_frame(uint32_t id, int code, const char *reason, unsigned char *buf)
{
    size_t n = strlen(reason);
    if (n > VG_LINK_REASON_MAX)
        n = VG_LINK_REASON_MAX;
    vg_link_hdr(buf, VG_LINK_CLOSE, id);
    buf[VG_LINK_HDR] = (unsigned char)(code >> 8);
    buf[VG_LINK_HDR + 1] = (unsigned char)code;
    memcpy(buf + VG_LINK_HDR + 2, reason, n);
    return VG_LINK_HDR + 2 + n;
}

/* The control news due for the channel, one at a time; NULL when none is. */
static cJSON *news(console_viewer *v, int *type)
{
    console *c = v->con;
    cJSON *o = cJSON_CreateObject();
    *type = VG_LINK_CONTROL;
    if (v->pending & CONSOLE_P_HELLO) {
        v->pending &= ~(unsigned)(CONSOLE_P_HELLO | CONSOLE_P_WRITER | CONSOLE_P_STATE);
        *type = VG_LINK_OPENED;
        cJSON_AddNumberToObject(o, "start", (double)c->ring.start);
        cJSON_AddNumberToObject(o, "end", (double)c->ring.end);
        cJSON_AddNumberToObject(o, "offset", (double)v->asked);
        cJSON_AddBoolToObject(o, "connected", c->connected);
        if (c->writer)
            cJSON_AddStringToObject(o, "writer", c->writer->user);
        else
            cJSON_AddNullToObject(o, "writer");
    } else if (v->pending & CONSOLE_P_ERROR) {
        v->pending &= ~(unsigned)CONSOLE_P_ERROR;
        cJSON_AddStringToObject(o, "type", "error");
        cJSON_AddStringToObject(o, "code", vg_err_code_name(v->err.code));
        cJSON_AddStringToObject(o, "message", v->err.msg);
    } else if (v->pending & CONSOLE_P_WRITER) {
        v->pending &= ~(unsigned)CONSOLE_P_WRITER;
        cJSON_AddStringToObject(o, "type", "writer");
        cJSON_AddBoolToObject(o, "mine", c->writer == v);
        if (c->writer)
            cJSON_AddStringToObject(o, "user", c->writer->user);
        else
            cJSON_AddNullToObject(o, "user");
    } else if (v->pending & CONSOLE_P_STATE) {
        v->pending &= ~(unsigned)CONSOLE_P_STATE;
        cJSON_AddStringToObject(o, "type", "state");
        cJSON_AddBoolToObject(o, "connected", c->connected);
        cJSON_AddStringToObject(o, "reason", c->reason);
    } else {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int hd_console_channel_next(console_viewer *v, uint32_t id, uint64_t budget, unsigned char *buf,
                            size_t cap, console_frame *out)
{
    memset(out, 0, sizeof(*out));
    console *c = v->con;
    v->pending &= ~(unsigned)CONSOLE_P_VIEWERS; /* the gateway keeps its own list */
    if (v->close_code || !c) {
        out->close = 1;
        out->len = close_frame(id, v->close_code ? v->close_code : 4004,
                               c ? "closed by hostd" : v->err.msg, buf);
        return 1;
    }
    int type;
    cJSON *o = news(v, &type);
    if (o) {
        out->len = json_frame(o, type, id, buf, cap);
        return out->len > 0;
    }
    if (v->offset < c->ring.start) {
        /* The gateway applies laggard_policy to its browsers; the channel itself skips, to
         * the middle of the ring: landing on its oldest byte, the channel was overtaken again
         * by the next read of a fast source, and every GAP also drops what the gateway holds
         * unread (measured: a GAP per loop iteration, 14-24 MB/s to one viewer). */
        uint64_t to = c->ring.end - c->ring.cap / 2;
        if (to < c->ring.start || c->ring.end < c->ring.cap / 2)
            to = c->ring.start;
        vg_link_hdr(buf, VG_LINK_GAP, id);
        vg_frame_put_u64(buf + VG_LINK_HDR, v->offset);
        vg_frame_put_u64(buf + VG_LINK_HDR + 8, to);
        v->offset = to;
        out->len = VG_LINK_HDR + 16;
        return 1;
    }
    const unsigned char *p;
    size_t max = cap - VG_LINK_HDR - 8;
    if (max > VG_LINK_OUTPUT_SEND)
        max = VG_LINK_OUTPUT_SEND;
    if (budget < max)
        max = (size_t)budget;
    if (max == 0)
        return 0;
    size_t n = vg_ring_peek(&c->ring, v->offset, max, &p);
    if (n == 0)
        return 0;
    vg_link_hdr(buf, VG_LINK_OUTPUT, id);
    vg_frame_put_u64(buf + VG_LINK_HDR, v->offset);
    memcpy(buf + VG_LINK_HDR + 8, p, n);
    v->offset += n;
    out->output = n;
    out->len = VG_LINK_HDR + 8 + n;
    return 1;
}
