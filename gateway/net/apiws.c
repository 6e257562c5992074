#include "net/apiws.h"

#include "net/clientaddr.h"
#include "net/evscope.h"
#include "api/api.h"
#include "core/auth.h"
#include "core/relaystats.h"
#include "net/http.h"
#include "net/keepalive.h"
#include "vg_redis.h"
#include "vg_log.h"
#include "net/wsq.h"

#include <stddef.h>
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
    gw_evscope *scope;    /* what the user may hear of, once events.subscribe was called */
    gw_evscope_wait wait; /* for the scope's first read, answer_id the subscribe's id */
    cJSON *answer_id;
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

/* owner.push: a message meant for this connection only (console.watch output). */
static void push_event(void *priv, const char *event, cJSON *data)
{
    gw_apiws *a = priv;
    cJSON *ev = cJSON_CreateObject();
    char *text = NULL;
    if (ev && cJSON_AddStringToObject(ev, "event", event)) {
        cJSON_AddItemToObject(ev, "data", data);
        data = NULL;
        text = cJSON_PrintUnformatted(ev);
    }
    cJSON_Delete(data);
    cJSON_Delete(ev);
    if (text)
        queue_text(a, text);
    free(text);
}

static size_t backlog(void *priv)
{
    const gw_apiws *a = priv;
    return a->close_code ? OUT_QUEUE_MAX : a->out.bytes;
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

static void subscribed(gw *g, gw_apiws *a)
{
    a->subscribed = 1;
    a->next = g->subscribers;
    if (a->next)
        a->next->prev = a;
    g->subscribers = a;
}

/* Ends the wait of events.subscribe: its answer goes out, and on success the events follow. */
static void subscribe_answer(gw_apiws *a, const vg_err *err)
{
    cJSON *empty = cJSON_CreateObject();
    char *text = gw_api_response(a->answer_id, 1, empty, err);
    cJSON_Delete(empty);
    cJSON_Delete(a->answer_id);
    a->answer_id = NULL;
    if (text)
        queue_text(a, text);
    free(text);
    if (!err) {
        subscribed(gw_from_wsi(a->wsi), a);
        return;
    }
    if (a->scope)
        gw_evscope_put(a->scope, &a->wait);
    a->scope = NULL; /* the client may try again */
}

static void scope_ready(gw_evscope_wait *w, const vg_err *err)
{
    gw_apiws *a = (gw_apiws *)((char *)w - offsetof(gw_apiws, wait));
    subscribe_answer(a, err);
}

/* The answer waits for the user's scope, so every event after it is filtered by what the user
 * may see. */
static void subscribe(gw *g, gw_apiws *a, const cJSON *id)
{
    a->answer_id = id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull();
    if (!a->answer_id) {
        vg_error("api", "out of memory subscribing %s to events", a->addr);
        a->close_code = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
        lws_callback_on_writable(a->wsi);
        return;
    }
    a->wait.ready = scope_ready;
    int waiting;
    vg_err err;
    a->scope = gw_evscope_get(g, a->owner.user, &a->wait, &waiting, &err);
    if (!a->scope)
        subscribe_answer(a, &err);
    else if (!waiting)
        subscribe_answer(a, NULL);
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
    if (!err && !strcmp(method, "events.subscribe") && !a->scope) {
        subscribe(g, a, id);
        return;
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
        a->owner.push = push_event;
        a->owner.backlog = backlog;
        a->has_token = gw_http_token(wsi, a->token);
        gw_client_addr(wsi, a->addr, sizeof(a->addr));
        gw_keepalive_start(&a->ka);
        {
            gw *g = gw_from_wsi(wsi);
            a->next_all = g->apiws;
            if (a->next_all)
                a->next_all->prev_all = a;
            g->apiws = a;
        }
        gw_relay.api_websockets++;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        gw_keepalive_seen(&a->ka);
        if (!a->close_code) {
            receive(a, in, len);
        } else if (gw_wsbuf_draining(&a->rx)) {
            gw_wsbuf_add(&a->rx, in, len, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi));
            if (!gw_wsbuf_draining(&a->rx))
                lws_callback_on_writable(wsi);
        }
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
            if (a->out.head || (a->close_code && !gw_wsbuf_draining(&a->rx)))
                lws_callback_on_writable(wsi);
            return 0;
        }
        if (a->close_code && !gw_wsbuf_draining(&a->rx)) {
            lws_close_reason(wsi, (enum lws_close_status)a->close_code, NULL, 0);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED: {
        gw *g = gw_from_wsi(wsi);
        gw_relay.api_websockets--;
        if (a->prev_all)
            a->prev_all->next_all = a->next_all;
        else if (g->apiws == a)
            g->apiws = a->next_all;
        if (a->next_all)
            a->next_all->prev_all = a->prev_all;
        unsubscribe(g, a);
        if (a->scope)
            gw_evscope_put(a->scope, &a->wait);
        a->scope = NULL;
        cJSON_Delete(a->answer_id);
        a->answer_id = NULL;
        gw_call_owner_detach(&a->owner);
        gw_wsq_clear(&a->out);
        gw_wsbuf_free(&a->rx);
        return 0;
    }
    default:
        return 0;
    }
}

/* A vg:events message goes to every subscriber who may hear of it. */
static void on_notice(const gw_event *e, void *priv)
{
    gw *g = priv;
    cJSON *ev = cJSON_CreateObject();
    if (!ev)
        return;
    cJSON_AddStringToObject(ev, "event", e->type);
    /* data stays the bus's: a reference is printed, not copied, and not freed with ev. */
    cJSON_AddItemReferenceToObject(ev, "data", (cJSON *)e->data);
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (!text)
        return;
    static unsigned long seq;
    seq++;
    for (gw_apiws *a = g->subscribers; a; a = a->next)
        if (gw_evscope_visible(a->scope, seq, e->type, e->data))
            queue_text(a, text);
    free(text);
    gw_evscope_event(g, e->type, e->data);
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

/* A user frozen, deleted or out of access (vg:sessions `user:<name>`) keeps no API WebSocket. */
static void on_revoked(const gw_event *e, void *priv)
{
    gw *g = priv;
    if (!e->user)
        return;
    for (gw_apiws *a = g->apiws; a; a = a->next_all)
        if (!a->close_code && !strcmp(a->owner.user, e->user)) {
            vg_info("api", "closing the API WebSocket of user %s from %s: access ended", e->user,
                    a->addr);
            /* The token may still name a live session; it must not serve this socket again. */
            a->has_token = 0;
            unsubscribe(g, a);
            a->close_code = 4001;
            lws_callback_on_writable(a->wsi);
        }
}

const struct lws_protocols gw_apiws_protocol = {
    GW_API_PROTOCOL, callback, sizeof(gw_apiws), GW_WS_RX_PIECE, 0, NULL, GW_WS_TX_CHUNK,
};

int gw_apiws_init(gw *g)
{
    if (gw_events_subscribe(&g->events, GW_EVENT_NOTICE, on_notice, g) != VG_OK ||
        gw_events_subscribe(&g->events, GW_EVENT_REVOKED, on_revoked, g) != VG_OK)
        return VG_ERR;
    return VG_OK;
}
