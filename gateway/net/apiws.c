#include "net/apiws.h"

#include "net/clientaddr.h"
#include "api/api.h"
#include "core/auth.h"
#include "core/relaystats.h"
#include "net/http.h"
#include "net/keepalive.h"
#include "vg_redis.h"
#include "vg_log.h"
#include "net/wsq.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

/* A client that lets this much pile up unread is dropped rather than buffered without end. */
#define OUT_QUEUE_MAX (4 * 1024 * 1024)
/* How often a subscriber's view of its projects is read again even without an event that says
 * it changed (a membership written straight into Redis, a missed message). */
#define SCOPE_REFRESH_S 5.0

/* What one subscriber may hear of (gateway_events_scope.lua). It lives apart from the
 * connection because a Redis answer may arrive after the connection has gone: it is freed by
 * whichever of the two ends last. */
typedef struct evscope {
    gw_apiws *a; /* NULL once the connection closed */
    int pending; /* a read is in flight */
    int again;   /* something changed while it was: read once more */
    int admin;
    cJSON *sets;   /* {projects:{}, vms:{}, envs:{}} of the last read, NULL before */
    cJSON *answer; /* the held events.subscribe answer: {"id":..} until the first read */
} evscope;

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
    evscope *scope; /* once events.subscribe succeeded */
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

static void scope_free(evscope *s)
{
    cJSON_Delete(s->sets);
    cJSON_Delete(s->answer);
    free(s);
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
static void scope_answer(gw *g, evscope *s, const vg_err *err)
{
    gw_apiws *a = s->a;
    cJSON *empty = cJSON_CreateObject();
    char *text = gw_api_response(cJSON_GetObjectItemCaseSensitive(s->answer, "id"), 1, empty, err);
    cJSON_Delete(empty);
    cJSON_Delete(s->answer);
    s->answer = NULL;
    if (text)
        queue_text(a, text);
    free(text);
    if (!err) {
        subscribed(g, a);
        return;
    }
    a->scope = NULL; /* the client may try again */
    scope_free(s);
}

static void scope_load(gw *g, evscope *s);

static void scope_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    evscope *s = priv;
    s->pending = 0;
    if (!s->a) {
        scope_free(s);
        return;
    }
    gw *g = gw_from_wsi(s->a->wsi);
    const redisReply *json = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                                     reply->element[1]->type == REDIS_REPLY_STRING
                                 ? reply->element[1]
                                 : NULL;
    cJSON *sets = json ? cJSON_ParseWithLength(json->str, json->len) : NULL;
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(sets, "role");
    if (!cJSON_IsString(role)) {
        cJSON_Delete(sets);
        vg_warn("api", "cannot read what user %s may see of events%s", s->a->owner.user,
                s->answer ? "" : "; keeping the last view");
        if (s->answer) {
            vg_err err;
            vg_fail(&err, VG_E_UNAVAILABLE, "the registry is not reachable");
            scope_answer(g, s, &err);
        }
        return;
    }
    s->admin = !strcmp(role->valuestring, "admin");
    cJSON_Delete(s->sets);
    s->sets = sets;
    if (s->answer)
        scope_answer(g, s, NULL);
    if (s->again) {
        s->again = 0;
        scope_load(g, s);
    }
}

static void scope_load(gw *g, evscope *s)
{
    if (s->pending) {
        s->again = 1;
        return;
    }
    const char *argv[] = {s->a->owner.user};
    if (vg_redis_eval(g->redis, gw_lua(g, "events_scope"), scope_cb, s, 0, 1, argv, NULL) ==
        VG_OK) {
        s->pending = 1;
        return;
    }
    if (s->answer) {
        vg_err err;
        vg_fail(&err, VG_E_UNAVAILABLE, "Redis is not reachable");
        scope_answer(g, s, &err);
    }
}

static ev_timer scope_timer;

static void scope_refresh_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw *g = w->data;
    for (gw_apiws *a = g->subscribers; a; a = a->next)
        scope_load(g, a->scope);
}

static int in_set(const evscope *s, const char *set, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s->sets, set), name) !=
           NULL;
}

static const char *field(const cJSON *data, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(data, name);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

/* Whether a subscriber may hear of an event (contract §6): administrators hear everything;
 * others what concerns the projects they belong to, their VMs and environments, their own user,
 * and the hosts. A VM event that names its project teaches the scope that VM at once, so the
 * vm.state right after a vm.created is not lost waiting for the next read. */
static int visible(evscope *s, const char *type, const cJSON *data)
{
    if (s->admin)
        return 1;
    if (!strncmp(type, "user.", 5)) {
        const char *u = field(data, "user");
        return u && s->a && !strcmp(u, s->a->owner.user);
    }
    const char *project = field(data, "project"), *vm = field(data, "vm"),
               *env = field(data, "env");
    /* The user joining a project hears of it before the refreshed scope would let them. */
    if (!strcmp(type, "project.member")) {
        const char *u = field(data, "user");
        if (u && s->a && !strcmp(u, s->a->owner.user))
            return 1;
    }
    if (project) {
        if (!project[0] || !in_set(s, "projects", project))
            return 0;
        cJSON *vms = cJSON_GetObjectItemCaseSensitive(s->sets, "vms");
        if (vm && vms && !in_set(s, "vms", vm))
            cJSON_AddTrueToObject(vms, vm);
        return 1;
    }
    if (vm)
        return in_set(s, "vms", vm);
    if (env)
        return in_set(s, "envs", env);
    return strncmp(type, "project.", 8) != 0;
}

/* Events after which a subscriber's projects, VMs or environments may differ. */
static int changes_scope(const char *type)
{
    return !strncmp(type, "project.", 8) || !strncmp(type, "user.", 5) ||
           !strcmp(type, "vm.created") || !strcmp(type, "vm.adopted") ||
           !strcmp(type, "vm.deleted") || !strcmp(type, "env.changed");
}

static void subscribe(gw *g, gw_apiws *a, const cJSON *id)
{
    evscope *s = calloc(1, sizeof(*s));
    cJSON *answer = cJSON_CreateObject();
    if (!s || !answer) {
        free(s);
        cJSON_Delete(answer);
        vg_error("api", "out of memory subscribing %s to events", a->addr);
        a->close_code = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
        lws_callback_on_writable(a->wsi);
        return;
    }
    cJSON_AddItemToObject(answer, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    s->a = a;
    s->answer = answer;
    a->scope = s;
    if (!ev_is_active(&scope_timer)) {
        ev_timer_init(&scope_timer, scope_refresh_cb, SCOPE_REFRESH_S, SCOPE_REFRESH_S);
        scope_timer.data = g;
        ev_timer_start(g->loop, &scope_timer);
    }
    scope_load(g, s);
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
        /* The answer waits for the subscriber's scope, so every event after it is filtered
         * by what the user may see. */
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
        if (a->scope) {
            a->scope->a = NULL;
            if (!a->scope->pending)
                scope_free(a->scope);
            a->scope = NULL;
        }
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
    for (gw_apiws *a = g->subscribers; a; a = a->next)
        if (visible(a->scope, e->type, e->data))
            queue_text(a, text);
    if (changes_scope(e->type))
        for (gw_apiws *a = g->subscribers; a; a = a->next)
            scope_load(g, a->scope);
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
    GW_API_PROTOCOL, callback, sizeof(gw_apiws), GW_API_MAX_BODY, 0, NULL, 0,
};

int gw_apiws_init(gw *g)
{
    if (gw_events_subscribe(&g->events, GW_EVENT_NOTICE, on_notice, g) != VG_OK ||
        gw_events_subscribe(&g->events, GW_EVENT_REVOKED, on_revoked, g) != VG_OK)
        return VG_ERR;
    return VG_OK;
}
