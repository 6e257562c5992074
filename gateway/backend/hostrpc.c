#include "backend/hostrpc.h"

#include "backend/linkws.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <ev.h>
#include <libwebsockets.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTRPC_PROTOCOL "vmgate.link.api.v1"
#define HOSTRPC_LOCAL "vg-hostrpc"
#define HOSTRPC_MAX_MESSAGE (256 * 1024)
/* A link whose upgrade is not answered within this is dropped (its calls are unavailable). */
#define LINK_ANSWER_S 10.
/* A link that dropped is made again after this, doubling up to RETRY_MAX_S while it fails ... */
#define RETRY_MIN_S 0.25
#define RETRY_MAX_S 30.
/* ... as long as a call used it within this; an unused host's link is let go. */
#define LINK_KEEP_MS (10 * 60 * 1000)

typedef struct rpc_link rpc_link;

typedef struct gw_hostrpc {
    gw *g;
    rpc_link *link;                 /* the link it waits on (NULL before the lookup answered) */
    struct gw_hostrpc *prev, *next; /* in link->calls, in the order of the calls */
    ev_timer deadline;
    gw_hostrpc_done *done; /* NULL once answered */
    void *priv;
    int redis_pending; /* the link URL lookup is in flight */
    int sent;
    double id;
    unsigned char *req; /* LWS_PRE headroom, then the request text */
    size_t req_len;
    char host[65];
    char method[48];
} gw_hostrpc;

/* The one management link of a host: every call to it goes over it, told apart by id
 * (docs/protocol.md §4), so a call costs no connection and no TLS handshake. */
struct rpc_link {
    gw *g;
    rpc_link *next;
    char host[65];
    char url[256];
    struct lws *wsi; /* NULL while down */
    int up;          /* hostd accepted the upgrade */
    int connecting;  /* inside gw_linkws_connect: lws may report its failure before it returns */
    int retired;     /* the host moved its link URL: this one goes once it has closed */
    gw_linkws lw;
    gw_hostrpc *calls, *last; /* waiting to be sent or answered */
    ev_timer retry;
    double backoff;
    int64_t last_used;
};

static rpc_link *links;

static void maybe_free(gw_hostrpc *h)
{
    if (h->done || h->link || h->redis_pending)
        return;
    free(h->req);
    free(h);
}

static void unlink_call(gw_hostrpc *h)
{
    rpc_link *l = h->link;
    if (!l)
        return;
    if (h->prev)
        h->prev->next = h->next;
    else
        l->calls = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        l->last = h->prev;
    h->prev = h->next = NULL;
    h->link = NULL;
}

/* Hands the outcome to the caller once and lets the call go. */
static void finish(gw_hostrpc *h, const cJSON *result, const vg_err *err)
{
    ev_timer_stop(h->g->loop, &h->deadline);
    unlink_call(h);
    gw_hostrpc_done *done = h->done;
    h->done = NULL;
    if (done)
        done(h->priv, err ? NULL : result, err);
    maybe_free(h);
}

static void fail(gw_hostrpc *h, vg_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(gw_hostrpc *h, vg_err_code code, const char *fmt, ...)
{
    vg_err err;
    va_list ap;
    va_start(ap, fmt);
    vg_failv(&err, code, fmt, ap);
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
    /* A late answer finds no call of its id and is dropped; the link stays. */
    fail(h, VG_E_UNAVAILABLE, "host %s did not answer %s in time", h->host, h->method);
}

/* ---- the link ---- */

static void link_connect(rpc_link *l);

static void retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    rpc_link *l = t->data;
    if (!l->wsi)
        link_connect(l);
}

/* Takes l out of the hosts' links (before it has closed, for a retired one). */
static void link_unlist(rpc_link *l)
{
    for (rpc_link **p = &links; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            break;
        }
}

static void link_free(rpc_link *l)
{
    link_unlist(l);
    ev_timer_stop(l->g->loop, &l->retry);
    gw_linkws_free(&l->lw);
    free(l);
}

/* The link went down: its calls are unavailable; it is made again later while it is in use. */
static void link_down(rpc_link *l, const vg_err *why)
{
    int was_up = l->up;
    l->wsi = NULL;
    l->up = 0;
    while (l->calls) {
        gw_hostrpc *h = l->calls;
        if (was_up)
            fail(h, VG_E_UNAVAILABLE, "host %s closed the link during %s%s%s", l->host, h->method,
                 why ? ": " : "", why ? why->msg : "");
        else
            fail(h, VG_E_UNAVAILABLE, "host %s cannot be reached for %s%s%s", l->host, h->method,
                 why ? ": " : "", why ? why->msg : "");
    }
    if (l->connecting)
        return; /* link_connect goes on when gw_linkws_connect has returned */
    if (l->retired || vg_mono_ms() - l->last_used > LINK_KEEP_MS) {
        link_free(l);
        return;
    }
    /* Reset by an answer only: a host that accepts the link and then refuses or drops it is
     * not asked again at once, over and over. */
    l->backoff = l->backoff < RETRY_MIN_S       ? RETRY_MIN_S
                 : 2 * l->backoff > RETRY_MAX_S ? RETRY_MAX_S
                                                : 2 * l->backoff;
    ev_timer_stop(l->g->loop, &l->retry);
    ev_timer_set(&l->retry, l->backoff, 0.);
    ev_timer_start(l->g->loop, &l->retry);
}

static void link_opened(void *user)
{
    rpc_link *l = user;
    l->up = 1;
    if (l->calls)
        lws_callback_on_writable(l->wsi);
}

/* One answer: {"id":n,"result":{...}} or {"id":n,"error":{"code":..,"message":..}}. */
static void link_message(void *user, int binary, unsigned char *data, size_t len)
{
    rpc_link *l = user;
    cJSON *root = binary ? NULL : vg_json_parse((const char *)data, len, NULL);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    gw_hostrpc *h = NULL;
    for (gw_hostrpc *c = l->calls; c && cJSON_IsNumber(id) && !h; c = c->next)
        if (c->sent && c->id == id->valuedouble)
            h = c;
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "error")) {
        /* hostd refused the link itself (wrong link secret, docs/protocol.md §3); its close
         * follows. */
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        vg_warn("hostrpc", "rpc link to hostd %s failed: refused: %.80s", l->host,
                cJSON_IsString(msg) ? msg->valuestring : "no reason given");
        while (l->calls)
            fail(l->calls, VG_E_UNAVAILABLE, "host %s refused the link for %s: %.80s", l->host,
                 l->calls->method, cJSON_IsString(msg) ? msg->valuestring : "no reason given");
    } else if (!h) {
        /* The answer to a call that ran out of time, or none at all. */
        vg_debug("hostrpc", "host %s sent an answer to no waiting call", l->host);
    } else if (cJSON_IsObject(result)) {
        l->backoff = 0;
        finish(h, result, NULL);
    } else if (cJSON_IsObject(error)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        vg_err err = {.code = vg_err_code_from_name(cJSON_IsString(code) ? code->valuestring : "")};
        snprintf(err.msg, sizeof(err.msg), "%s",
                 cJSON_IsString(msg) ? msg->valuestring : "the host refused without a reason");
        l->backoff = 0;
        finish(h, NULL, &err);
    } else {
        fail(h, VG_E_INTERNAL, "host %s answered %s with something that is no answer", l->host,
             h->method);
    }
    cJSON_Delete(root);
}

/* The calls not sent yet, in order, while the socket takes them. */
static int link_writeable(void *user, struct lws *wsi)
{
    rpc_link *l = user;
    for (gw_hostrpc *h = l->calls; h; h = h->next) {
        if (h->sent)
            continue;
        if (lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        h->sent = 1;
        int rc = gw_linkws_send(&l->lw, wsi, h->req + LWS_PRE, h->req_len, 0);
        if (rc < 0)
            return -1;
        if (rc > 0)
            return 0; /* linkws asked for the next callback */
    }
    return 0;
}

static void link_gone(void *user, const vg_err *err)
{
    rpc_link *l = user;
    if (err)
        vg_warn("hostrpc", "rpc link to hostd %s failed: %s", l->host, err->msg);
    link_down(l, err);
}

static const gw_linkws_ops link_ops = {
    .open = link_opened,
    .message = link_message,
    .writeable = link_writeable,
    .gone = link_gone,
};

static void link_connect(rpc_link *l)
{
    vg_err err;
    ev_timer_stop(l->g->loop, &l->retry);
    gw_linkws_free(&l->lw);
    gw_linkws_init(&l->lw, HOSTRPC_MAX_MESSAGE);
    l->up = 0;
    l->connecting = 1;
    int rc = gw_linkws_connect(&l->lw, l->g, l->g->link_tls, l->url, "/link/api", HOSTRPC_PROTOCOL,
                               HOSTRPC_LOCAL, l, &l->wsi, &err);
    l->connecting = 0;
    if (rc != VG_OK) {
        vg_warn("hostrpc", "rpc link to hostd %s failed: %s", l->host, err.msg);
        l->wsi = NULL;
        link_down(l, &err);
    } else if (!l->wsi) {
        link_down(l, NULL); /* it failed inside; its calls have been told */
    }
}

/* The link to host at url, made when there is none. */
static rpc_link *link_of(gw *g, const char *host, const char *url)
{
    rpc_link *l = links;
    while (l && strcmp(l->host, host))
        l = l->next;
    if (l && strcmp(l->url, url) && l->wsi) {
        /* The host registered another link URL (restarted elsewhere): the old link goes, with
         * the calls on it; later ones take a new link. */
        vg_info("hostrpc", "host %s moved its link to %s", host, url);
        link_unlist(l);
        l->retired = 1;
        lws_set_timeout(l->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        l = NULL;
    }
    if (l) {
        snprintf(l->url, sizeof(l->url), "%s", url);
        return l;
    }
    l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->g = g;
    snprintf(l->host, sizeof(l->host), "%s", host);
    snprintf(l->url, sizeof(l->url), "%s", url);
    gw_linkws_init(&l->lw, HOSTRPC_MAX_MESSAGE);
    ev_timer_init(&l->retry, retry_cb, 0., 0.);
    l->retry.data = l;
    l->next = links;
    links = l;
    return l;
}

static int rpc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    (void)user;
    rpc_link *l = lws_get_opaque_user_data(wsi);
    return gw_linkws_callback(l ? &l->lw : NULL, wsi, (int)reason, in, len, &link_ops, l);
}

const struct lws_protocols gw_hostrpc_protocol = {
    HOSTRPC_LOCAL, rpc_callback, 0, 65536, 0, NULL, 0,
};

void gw_hostrpc_keepalive(gw *g, int64_t now_ms)
{
    for (rpc_link *l = links; l; l = l->next)
        if (l->wsi && gw_linkws_keepalive(&l->lw, l->wsi, &g->cfg, now_ms, LINK_ANSWER_S)) {
            vg_warn("hostrpc", "dropping the rpc link to hostd %s: %s", l->host,
                    l->up ? "hostd went silent" : "no answer to the upgrade");
            /* Not at once: its end frees links while this walks them. */
            lws_set_timeout(l->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
}

/* ---- the calls ---- */

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
        return;
    }
    if (reply->len >= sizeof(((rpc_link *)0)->url)) {
        fail(h, VG_E_UNAVAILABLE, "host %s has an unusable link URL for %s", h->host, h->method);
        return;
    }
    rpc_link *l = link_of(h->g, h->host, reply->str);
    if (!l) {
        fail(h, VG_E_INTERNAL, "out of memory for %s", h->method);
        return;
    }
    l->last_used = vg_mono_ms();
    h->link = l;
    h->prev = l->last;
    if (l->last)
        l->last->next = h;
    else
        l->calls = h;
    l->last = h;
    if (!l->wsi)
        link_connect(l); /* a waiting call does not wait for the backoff */
    else if (l->up)
        lws_callback_on_writable(l->wsi);
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
    ev_timer_init(&h->deadline, deadline_cb, (double)timeout_ms / 1000.0, 0.);
    h->deadline.data = h;

    static unsigned long next_id;
    h->id = (double)++next_id;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddNumberToObject(o, "id", h->id) &&
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
        return;
    }
    if (h->req_len > HOSTRPC_MAX_MESSAGE) {
        fail(h, VG_E_TOO_BIG, "the %s request exceeds 256 KiB", method);
        return;
    }
    if (!vg_valid_name(host)) {
        fail(h, VG_E_NOT_FOUND, "host \"%.64s\" is not known", host);
        return;
    }
    if (vg_redis_cmd(g->redis, link_cb, h, "HGET vg:host:%s link", host) != VG_OK) {
        fail(h, VG_E_UNAVAILABLE, "Redis is not reachable for %s on host %s", method, host);
        return;
    }
    h->redis_pending = 1;
    ev_timer_start(g->loop, &h->deadline);
}
