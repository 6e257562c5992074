#include "backend/hostrpc.h"

#include "backend/hostlink.h"
#include "vg_redis.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_util.h"
#include "net/wsq.h"

#include <ev.h>
#include <libwebsockets.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTRPC_PROTOCOL "vmgate.link.api.v1"
#define HOSTRPC_LOCAL "vg-hostrpc"
#define HOSTRPC_MAX_MESSAGE (256 * 1024)

typedef struct gw_hostrpc {
    gw *g;
    struct lws *wsi; /* NULL before connecting and once lws has let it go */
    ev_timer deadline;
    gw_hostrpc_done *done; /* NULL once answered */
    void *priv;
    int redis_pending; /* the link URL lookup is in flight */
    int connecting;    /* inside gw_link_connect: lws may call back before it returns */
    int sent;
    unsigned char *req; /* LWS_PRE headroom, then the request text */
    size_t req_len;
    gw_wsbuf rx;
    char host[65];
    char method[48];
} gw_hostrpc;

static void maybe_free(gw_hostrpc *h)
{
    if (h->done || h->wsi || h->redis_pending || h->connecting)
        return;
    free(h->req);
    gw_wsbuf_free(&h->rx);
    free(h);
}

static void close_wsi(gw_hostrpc *h)
{
    if (h->wsi)
        lws_set_timeout(h->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

/* Hands the outcome to the caller once; the connection closes afterwards. */
static void finish(gw_hostrpc *h, const cJSON *result, const vg_err *err)
{
    ev_timer_stop(h->g->loop, &h->deadline);
    gw_hostrpc_done *done = h->done;
    h->done = NULL;
    if (done)
        done(h->priv, err ? NULL : result, err);
}

static void fail(gw_hostrpc *h, vg_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(gw_hostrpc *h, vg_err_code code, const char *fmt, ...)
{
    vg_err err = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    if (h->done)
        vg_warn("hostrpc", "%s on host %s: %s", h->method, h->host, err.msg);
    finish(h, NULL, &err);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    gw_hostrpc *h = t->data;
    fail(h, VG_E_UNAVAILABLE, "host %s did not answer %s in time", h->host, h->method);
    close_wsi(h);
    maybe_free(h);
}

/* One answer: {"id":n,"result":{...}} or {"id":n,"error":{"code":..,"message":..}}. */
static void answer(gw_hostrpc *h, const unsigned char *buf, size_t len)
{
    cJSON *root = vg_json_parse((const char *)buf, len, NULL);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (cJSON_IsObject(result)) {
        finish(h, result, NULL);
    } else if (cJSON_IsObject(error)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        vg_err err = {.code = vg_err_code_from_name(cJSON_IsString(code) ? code->valuestring : "")};
        snprintf(err.msg, sizeof(err.msg), "%s",
                 cJSON_IsString(msg) ? msg->valuestring : "the host refused without a reason");
        finish(h, NULL, &err);
    } else if (cJSON_IsString(type) && !strcmp(type->valuestring, "error")) {
        /* hostd refused the link itself (wrong link secret, docs/protocol.md §3). */
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        fail(h, VG_E_UNAVAILABLE, "host %s refused the link for %s: %.80s", h->host, h->method,
             cJSON_IsString(msg) ? msg->valuestring : "no reason given");
    } else {
        fail(h, VG_E_INTERNAL, "host %s answered %s with something that is no answer", h->host,
             h->method);
    }
    cJSON_Delete(root);
}

static int rpc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    (void)user;
    gw_hostrpc *h = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return gw_link_add_secret(gw_from_wsi(wsi), wsi, in, len);
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!h || !h->done)
            return -1;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!h || !h->done)
            return -1;
        if (!h->sent) {
            h->sent = 1;
            if (lws_write(wsi, h->req + LWS_PRE, h->req_len, LWS_WRITE_TEXT) < (int)h->req_len)
                return -1;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!h || !h->done)
            return -1;
        int rc =
            gw_wsbuf_add(&h->rx, in, len, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi));
        if (rc == VG_ERR) {
            fail(h, VG_E_TOO_BIG, "host %s answered %s with more than 256 KiB", h->host, h->method);
            return -1;
        }
        if (rc == 1) {
            answer(h, h->rx.msg, h->rx.msg_len);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY: /* the last word on a wsi, whatever state it died in */
        if (h) {
            lws_set_opaque_user_data(wsi, NULL);
            h->wsi = NULL;
            fail(h, VG_E_UNAVAILABLE,
                 reason == LWS_CALLBACK_CLIENT_CLOSED ? "host %s closed the link during %s"
                                                      : "host %s cannot be reached for %s",
                 h->host, h->method);
            maybe_free(h);
        }
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols gw_hostrpc_protocol = {
    HOSTRPC_LOCAL, rpc_callback, 0, 65536, 0, NULL, 0,
};

static void link_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_hostrpc *h = priv;
    h->redis_pending = 0;
    if (!h->done) {
        maybe_free(h);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_STRING || !reply->len) {
        if (reply)
            fail(h, VG_E_UNAVAILABLE, "host %s has no link URL in the registry", h->host);
        else
            fail(h, VG_E_UNAVAILABLE, "Redis connection lost before %s on host %s", h->method,
                 h->host);
        maybe_free(h);
        return;
    }
    h->connecting = 1;
    int rc =
        gw_link_connect(h->g, reply->str, "/link/api", HOSTRPC_PROTOCOL, HOSTRPC_LOCAL, h, &h->wsi);
    h->connecting = 0;
    if (rc != VG_OK) {
        h->wsi = NULL;
        fail(h, VG_E_UNAVAILABLE, "host %s has an unusable link URL for %s", h->host, h->method);
    }
    maybe_free(h);
}

void gw_hostrpc_call(gw *g, const char *host, const char *method, const cJSON *params,
                     long timeout_ms, gw_hostrpc_done *done, void *priv)
{
    vg_err err = {.code = VG_E_INTERNAL};
    gw_hostrpc *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err.msg, sizeof(err.msg), "out of memory");
        done(priv, NULL, &err);
        return;
    }
    h->g = g;
    h->done = done;
    h->priv = priv;
    snprintf(h->host, sizeof(h->host), "%s", host);
    snprintf(h->method, sizeof(h->method), "%s", method);
    h->rx.limit = HOSTRPC_MAX_MESSAGE;
    ev_timer_init(&h->deadline, deadline_cb, (double)timeout_ms / 1000.0, 0.);
    h->deadline.data = h;

    static unsigned long next_id;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddNumberToObject(o, "id", (double)++next_id) &&
        cJSON_AddStringToObject(o, "method", method)) {
        cJSON *p = params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
        if (p)
            cJSON_AddItemToObject(o, "params", p);
        text = p ? cJSON_PrintUnformatted(o) : NULL;
    }
    cJSON_Delete(o);
    if (text) {
        h->req_len = strlen(text);
        h->req = malloc(LWS_PRE + h->req_len);
        if (h->req)
            memcpy(h->req + LWS_PRE, text, h->req_len);
        free(text);
    }
    if (!h->req) {
        fail(h, VG_E_INTERNAL, "out of memory for %s", method);
        maybe_free(h);
        return;
    }
    if (h->req_len > HOSTRPC_MAX_MESSAGE) {
        fail(h, VG_E_TOO_BIG, "the %s request exceeds 256 KiB", method);
        maybe_free(h);
        return;
    }
    if (!vg_valid_name(host)) {
        fail(h, VG_E_NOT_FOUND, "host \"%.64s\" is not known", host);
        maybe_free(h);
        return;
    }
    if (vg_redis_cmd(g->redis, link_cb, h, "HGET vg:host:%s link", host) != VG_OK) {
        fail(h, VG_E_UNAVAILABLE, "Redis is not reachable for %s on host %s", method, host);
        maybe_free(h);
        return;
    }
    h->redis_pending = 1;
    ev_timer_start(g->loop, &h->deadline);
}
