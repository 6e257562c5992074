#include "ctl_attach.h"

#include "vg_frame.h"
#include "vg_json.h"

#include <ev.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reconnect attempts back off from 0.25 s to 5 s and give up after a minute without success. */
#define RETRY_FIRST 0.25
#define RETRY_MAX 5.0
#define RETRY_GIVE_UP 60.0
#define INPUT_CHUNK 4096

struct ctl_attach {
    struct ev_loop *loop;
    ctl_net *net;
    ctl_api *api;
    ctl_attach_cfg cfg;
    const ctl_attach_ops *ops;
    void *ud;
    ctl_ws *ws;
    int ticket_pending; /* a console.ticket call is out; its callback still uses this struct */
    int attached;       /* hello received on the current connection */
    int ever_attached;
    int stopping;
    int have_pos;
    uint64_t next; /* offset of the next byte this viewer expects */
    double retry_delay;
    ev_tstamp outage_since;
    ev_timer retry_timer;
    char last_error[160]; /* the last error frame, to explain the close that follows it */
};

static int request_ticket(ctl_attach *a, vg_err *err);

static void finish(ctl_attach *a, const vg_err *err)
{
    ev_timer_stop(a->loop, &a->retry_timer);
    a->ops->on_end(err, a->ud);
    free(a);
}

/* Ends once nothing refers to the struct any more: the socket and the ticket call are done. */
static void end_when_idle(ctl_attach *a, const vg_err *err)
{
    if (a->ws || a->ticket_pending)
        return;
    finish(a, err);
}

static void notice(ctl_attach *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(ctl_attach *a, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    a->ops->on_notice(text, a->ud);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    vg_err err;
    if (request_ticket(w->data, &err) != VG_OK)
        finish(w->data, &err);
}

/* Schedules a reconnect, or ends the attachment when the outage has lasted too long. */
static void schedule_retry(ctl_attach *a, const vg_err *why)
{
    ev_tstamp now = ev_now(a->loop);
    if (!a->outage_since)
        a->outage_since = now;
    if (now - a->outage_since > RETRY_GIVE_UP) {
        vg_err err;
        vg_fail(&err, VG_E_UNAVAILABLE, "unavailable: gave up reconnecting after %.0f s (%s)",
                RETRY_GIVE_UP, why->msg);
        finish(a, &err);
        return;
    }
    a->retry_delay = a->retry_delay ? a->retry_delay * 2 : RETRY_FIRST;
    if (a->retry_delay > RETRY_MAX)
        a->retry_delay = RETRY_MAX;
    ev_timer_set(&a->retry_timer, a->retry_delay, 0);
    ev_timer_start(a->loop, &a->retry_timer);
}

static void deliver_output(ctl_attach *a, uint64_t off, const unsigned char *data, size_t len)
{
    if (a->have_pos && off < a->next) { /* overlap: never show a byte twice */
        uint64_t dup = a->next - off;
        if (dup >= len)
            return;
        data += dup;
        len -= (size_t)dup;
        off = a->next;
    }
    if (a->have_pos && off > a->next)
        a->ops->on_gap(a->next, off, a->ud);
    a->next = off + len;
    a->have_pos = 1;
    if (len)
        a->ops->on_output(off, data, len, a->ud);
}

static void on_control(ctl_attach *a, const unsigned char *data, size_t len)
{
    cJSON *msg = vg_json_parse((const char *)data, len, NULL);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (!cJSON_IsString(type)) {
        notice(a, "ignored a malformed control message from the gateway");
        cJSON_Delete(msg);
        return;
    }
    if (strcmp(type->valuestring, "hello") == 0) {
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(msg, "offset");
        if (!a->have_pos && cJSON_IsNumber(off) && off->valuedouble >= 0) {
            a->next = (uint64_t)off->valuedouble;
            a->have_pos = 1;
        }
        a->attached = 1;
        a->retry_delay = 0;
        a->outage_since = 0;
        a->last_error[0] = '\0';
        a->ops->on_hello(msg, a->ever_attached, a->ud);
        a->ever_attached = 1;
    } else {
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "code"));
        /* only the errors the protocol follows with a close explain that close */
        if (strcmp(type->valuestring, "error") == 0 && code &&
            (!strcmp(code, "unauthorized") || !strcmp(code, "forbidden") ||
             !strcmp(code, "not_found") || !strcmp(code, "unavailable") ||
             !strcmp(code, "too_big"))) {
            const char *text =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "message"));
            snprintf(a->last_error, sizeof(a->last_error), "%.40s: %.100s", code, text ? text : "");
        }
        a->ops->on_control(msg, type->valuestring, a->ud);
    }
    cJSON_Delete(msg);
}

static void ws_open(ctl_ws *ws, void *ud)
{
    (void)ws;
    (void)ud;
}

static void ws_message(ctl_ws *ws, int binary, const unsigned char *data, size_t len, void *ud)
{
    (void)ws;
    ctl_attach *a = ud;
    if (a->stopping)
        return;
    if (!binary) {
        on_control(a, data, len);
        return;
    }
    vg_msg m;
    vg_err err;
    if (vg_frame_parse_server(1, data, len, &m, &err) != VG_OK) {
        notice(a, "ignored a bad frame from the gateway (%s: %s)", vg_err_code_name(err.code),
               err.msg);
        return;
    }
    if (m.kind == VG_MSG_OUTPUT) {
        deliver_output(a, m.offset, m.data, m.len);
    } else if (m.kind == VG_MSG_GAP) {
        if (a->have_pos && m.to <= a->next)
            return;
        uint64_t from = a->have_pos && m.offset < a->next ? a->next : m.offset;
        a->ops->on_gap(from, m.to, a->ud);
        a->next = m.to;
        a->have_pos = 1;
    }
}

static vg_err_code close_code_err(int code)
{
    switch (code) {
    case 4001:
        return VG_E_UNAUTHORIZED;
    case 4003:
        return VG_E_FORBIDDEN;
    case 4004:
        return VG_E_NOT_FOUND;
    case 1009:
        return VG_E_TOO_BIG;
    default:
        return VG_E_UNAVAILABLE;
    }
}

static void ws_close(ctl_ws *ws, int code, const char *reason, void *ud)
{
    (void)ws;
    ctl_attach *a = ud;
    int was_attached = a->attached;
    a->ws = NULL;
    a->attached = 0;
    if (a->stopping || code == 1000) {
        end_when_idle(a, NULL);
        return;
    }
    vg_err err;
    if (a->last_error[0])
        vg_fail(&err, close_code_err(code), "%s (close %d)", a->last_error, code);
    else
        vg_fail(&err, close_code_err(code), "%s: console closed (%d%s%s)",
                vg_err_code_name(close_code_err(code)), code, reason[0] ? ", " : "", reason);
    int resumable = code == 1001 || code == 4408 || code == 4503 ||
                    (code == 1006 && (was_attached || a->ever_attached));
    if (!resumable) {
        end_when_idle(a, &err);
        return;
    }
    notice(a, "connection lost (%d%s%s), reconnecting", code, reason[0] ? ", " : "", reason);
    schedule_retry(a, &err);
}

static const ctl_ws_handler console_handler = {ws_open, ws_message, ws_close};

static void ticket_cb(const cJSON *result, const vg_err *err, void *ud)
{
    ctl_attach *a = ud;
    a->ticket_pending = 0;
    if (a->stopping) {
        end_when_idle(a, NULL);
        return;
    }
    if (err) {
        if (err->code == VG_E_UNAVAILABLE && a->ever_attached)
            schedule_retry(a, err);
        else
            finish(a, err);
        return;
    }
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(result, "path");
    const cJSON *ticket = cJSON_GetObjectItemCaseSensitive(result, "ticket");
    char url[1024];
    int n;
    if (cJSON_IsString(path) && path->valuestring[0] == '/')
        n = snprintf(url, sizeof(url), "%s", path->valuestring);
    else if (cJSON_IsString(ticket) &&
             strspn(ticket->valuestring, "0123456789abcdefABCDEF-_") == strlen(ticket->valuestring))
        n = snprintf(url, sizeof(url), "/ws/console?ticket=%s", ticket->valuestring);
    else
        n = -1;
    if (n > 0 && (size_t)n < sizeof(url)) {
        char pos[24];
        if (a->have_pos)
            snprintf(pos, sizeof(pos), "%" PRIu64, a->next);
        n += snprintf(url + n, sizeof(url) - (size_t)n, "%soffset=%s%s",
                      strchr(url, '?') ? "&" : "?", a->have_pos ? pos : a->cfg.offset,
                      a->cfg.take && !a->cfg.ro ? "&take=1" : "");
    }
    vg_err e;
    if (n <= 0 || (size_t)n >= sizeof(url)) {
        vg_fail(&e, VG_E_INTERNAL, "internal: console.ticket answered without a usable ticket");
        finish(a, &e);
        return;
    }
    a->ws = ctl_ws_open(a->net, url, "vmgate.console.v1", NULL, &console_handler, a, &e);
    if (!a->ws)
        finish(a, &e);
}

static int request_ticket(ctl_attach *a, vg_err *err)
{
    cJSON *params = cJSON_CreateObject();
    if (params) {
        cJSON_AddStringToObject(params, "vm", a->cfg.vm);
        if (a->cfg.dev)
            cJSON_AddStringToObject(params, "dev", a->cfg.dev);
        cJSON_AddStringToObject(params, "mode", a->cfg.ro ? "ro" : "rw");
    }
    if (ctl_api_call(a->api, "console.ticket", params, ticket_cb, a, err) != VG_OK)
        return VG_ERR;
    a->ticket_pending = 1;
    return VG_OK;
}

ctl_attach *ctl_attach_start(struct ev_loop *loop, ctl_net *net, ctl_api *api,
                             const ctl_attach_cfg *cfg, const ctl_attach_ops *ops, void *ud,
                             vg_err *err)
{
    ctl_attach *a = calloc(1, sizeof(*a));
    if (!a) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    a->loop = loop;
    a->net = net;
    a->api = api;
    a->cfg = *cfg;
    if (!a->cfg.offset)
        a->cfg.offset = "ring";
    a->ops = ops;
    a->ud = ud;
    ev_timer_init(&a->retry_timer, retry_cb, 0, 0);
    a->retry_timer.data = a;
    if (request_ticket(a, err) != VG_OK) {
        free(a);
        return NULL;
    }
    return a;
}

int ctl_attach_input(ctl_attach *a, const void *data, size_t len, vg_err *err)
{
    if (!a->ws || !a->attached)
        return vg_fail(err, VG_E_UNAVAILABLE, "not attached to the console right now");
    const unsigned char *p = data;
    unsigned char frame[1 + INPUT_CHUNK];
    frame[0] = VG_OP_INPUT;
    while (len) {
        size_t n = len < INPUT_CHUNK ? len : INPUT_CHUNK;
        memcpy(frame + 1, p, n);
        if (ctl_ws_send(a->ws, 1, frame, n + 1, err) != VG_OK)
            return VG_ERR;
        p += n;
        len -= n;
    }
    return VG_OK;
}

void ctl_attach_stop(ctl_attach *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    ev_timer_stop(a->loop, &a->retry_timer);
    if (a->ws)
        ctl_ws_close(a->ws, 1000);
    else
        end_when_idle(a, NULL);
}
