#include "apiws.h"

#include "api.h"
#include "auth.h"
#include "http.h"
#include "keepalive.h"
#include "redis.h"
#include "vg_log.h"
#include "wsq.h"

#include <stdlib.h>
#include <string.h>

/* A client that lets this much pile up unread is dropped rather than buffered without end. */
#define OUT_QUEUE_MAX (4 * 1024 * 1024)

struct gw_apiws {
    struct lws *wsi;
    gw_call_owner owner;
    gw_wsq out;
    gw_wsbuf rx;
    char token[GW_TOKEN_HEX + 1];
    int has_token;
    char addr[64];
    int subscribed;
    gw_apiws *next, *prev;         /* in g->subscribers while subscribed */
    gw_apiws *next_all, *prev_all; /* in g->apiws, every API WebSocket */
    int close_code;
    gw_keepalive ka;
};

static void queue_text(gw_apiws *a, const char *text)
{
    if (a->close_code)
        return;
    if (a->out.bytes + strlen(text) > OUT_QUEUE_MAX) {
        vg_warn("api", "API client %s does not read its messages; closing it", a->addr);
        gw_wsq_clear(&a->out);
        a->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
    } else {
        gw_wsq_push(&a->out, text, strlen(text), 0);
    }
    lws_callback_on_writable(a->wsi);
}

static void unsubscribe(gw *g, gw_apiws *a)
{
    if (!a->subscribed)
        return;
    if (a->prev)
        a->prev->next = a->next;
    else
        g->subscribers = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->next = a->prev = NULL;
    a->subscribed = 0;
}

static void api_done(void *priv, const char *method, const cJSON *id, const cJSON *result,
                     const vg_err *err)
{
    gw_apiws *a = priv;
    gw *g = gw_from_wsi(a->wsi);
    if (!err && !strcmp(method, "login")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(result, "token");
        if (cJSON_IsString(t) && gw_auth_valid_token(t->valuestring, strlen(t->valuestring))) {
            strcpy(a->token, t->valuestring);
            a->has_token = 1;
        }
    }
    if (!err && !strcmp(method, "logout"))
        a->has_token = 0;
    if (!err && !strcmp(method, "events.subscribe") && !a->subscribed) {
        a->subscribed = 1;
        a->next = g->subscribers;
        if (a->next)
            a->next->prev = a;
        g->subscribers = a;
    }
    char *text = gw_api_response(id, 1, result, err);
    if (text)
        queue_text(a, text);
    free(text);
}

static void receive(gw_apiws *a, const void *in, size_t len)
{
    int rc =
        gw_wsbuf_add(&a->rx, in, len, lws_is_first_fragment(a->wsi), lws_is_final_fragment(a->wsi));
    if (rc == VG_ERR) {
        vg_err err;
        vg_fail(&err, VG_E_TOO_BIG, "request larger than %d bytes", GW_API_MAX_BODY);
        api_done(a, "", NULL, NULL, &err);
        a->close_code = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
        return;
    }
    if (rc == 0)
        return;
    gw_api_req req;
    vg_err err;
    if (lws_frame_is_binary(a->wsi)) {
        gw_wsbuf_reset(&a->rx);
        vg_fail(&err, VG_E_BAD_REQUEST, "requests are JSON text messages, not binary");
        api_done(a, "", NULL, NULL, &err);
        return;
    }
    if (gw_api_parse_ws((const char *)a->rx.msg, a->rx.msg_len, &req, &err) != VG_OK) {
        gw_wsbuf_reset(&a->rx);
        api_done(a, "", req.id, NULL, &err);
        gw_api_req_free(&req);
        return;
    }
    gw_wsbuf_reset(&a->rx);
    gw_api_start(gw_from_wsi(a->wsi), &a->owner, &req, a->has_token ? a->token : NULL, a->addr, 1);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    gw_apiws *a = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return gw_http_confirm_upgrade(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        memset(a, 0, sizeof(*a));
        a->wsi = wsi;
        a->rx.limit = GW_API_MAX_BODY;
        a->owner.done = api_done;
        a->owner.priv = a;
        a->has_token = gw_http_token(wsi, a->token);
        lws_get_peer_simple(wsi, a->addr, sizeof(a->addr));
        gw_keepalive_start(&a->ka);
        {
            gw *g = gw_from_wsi(wsi);
            a->next_all = g->apiws;
            if (a->next_all)
                a->next_all->prev_all = a;
            g->apiws = a;
        }
        return 0;
    case LWS_CALLBACK_RECEIVE:
        gw_keepalive_seen(&a->ka);
        if (!a->close_code)
            receive(a, in, len);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        gw_keepalive_seen(&a->ka);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        int rc = gw_keepalive_write(&a->ka, wsi);
        if (rc < 0)
            return -1;
        if (rc) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (a->out.head) {
            if (gw_wsq_write(&a->out, wsi) < 0)
                return -1;
            if (a->out.head || a->close_code)
                lws_callback_on_writable(wsi);
            return 0;
        }
        if (a->close_code) {
            lws_close_reason(wsi, (enum lws_close_status)a->close_code, NULL, 0);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED: {
        gw *g = gw_from_wsi(wsi);
        if (a->prev_all)
            a->prev_all->next_all = a->next_all;
        else if (g->apiws == a)
            g->apiws = a->next_all;
        if (a->next_all)
            a->next_all->prev_all = a->prev_all;
        unsubscribe(g, a);
        gw_call_owner_detach(&a->owner);
        gw_wsq_clear(&a->out);
        gw_wsbuf_free(&a->rx);
        return 0;
    }
    default:
        return 0;
    }
}

static void event_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw *g = priv;
    const char *payload;
    size_t len;
    if (!gw_redis_message(reply, "vg:events", &payload, &len))
        return;
    cJSON *data = cJSON_ParseWithLength(payload, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(data, "type");
    if (!cJSON_IsObject(data) || !cJSON_IsString(type)) {
        vg_warn("api", "ignoring a vg:events message that is not a JSON object with a type");
        cJSON_Delete(data);
        return;
    }
    cJSON *ev = cJSON_CreateObject();
    if (ev) {
        cJSON_AddStringToObject(ev, "event", type->valuestring);
        cJSON_AddItemToObject(ev, "data", data);
        data = NULL;
    }
    char *text = ev ? cJSON_PrintUnformatted(ev) : NULL;
    cJSON_Delete(ev);
    cJSON_Delete(data);
    if (!text)
        return;
    for (gw_apiws *a = g->subscribers; a; a = a->next)
        queue_text(a, text);
    free(text);
}

void gw_apiws_keepalive(gw *g, int64_t now_ms)
{
    gw_apiws *next;
    for (gw_apiws *a = g->apiws; a; a = next) {
        next = a->next_all;
        if (gw_keepalive_check(&a->ka, a->wsi, &g->cfg, now_ms)) {
            vg_info("api", "dropping the silent API client %s after %ld s", a->addr,
                    g->cfg.idle_timeout);
            gw_keepalive_drop(a->wsi);
        }
    }
}

const struct lws_protocols gw_apiws_protocol = {
    GW_API_PROTOCOL, callback, sizeof(gw_apiws), GW_API_MAX_BODY, 0, NULL, 0,
};

void gw_apiws_bus_connected(gw_redis *bus, void *priv)
{
    if (gw_redis_subscribe(bus, "vg:events", event_cb, priv) != VG_OK)
        vg_error("api", "cannot subscribe to vg:events");
}
