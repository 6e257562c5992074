#include "backend/hostrpc.h"

#include "backend/hostmux.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <ev.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTRPC_MAX_MESSAGE (256 * 1024)

typedef struct rpc_host rpc_host;

typedef struct gw_hostrpc {
    gw *g;
    rpc_host *rh;                   /* the host it waits on (NULL before the lookup answered) */
    struct gw_hostrpc *prev, *next; /* in rh->calls, in the order of the calls */
    ev_timer deadline;
    gw_hostrpc_done *done; /* NULL once answered */
    void *priv;
    int redis_pending; /* the link URL lookup is in flight */
    int sent;
    double id;
    unsigned char *req; /* GW_MUX_PRE headroom, then the request text */
    size_t req_len;
    char host[65];
    char method[48];
} gw_hostrpc;

/* The calls to one host: they go over the host's link (hostmux.c) as its RPC end, told apart by
 * id (docs/protocol.md §4), so a call costs no connection and no TLS handshake. */
struct rpc_host {
    rpc_host *next;
    char host[65];
    gw_muxend end;            /* attached while calls use the link */
    gw_hostrpc *calls, *last; /* waiting to be sent or answered */
};

static rpc_host *hosts;

static void maybe_free(gw_hostrpc *h)
{
    if (h->done || h->rh || h->redis_pending)
        return;
    free(h->req);
    free(h);
}

static void unlink_call(gw_hostrpc *h)
{
    rpc_host *rh = h->rh;
    if (!rh)
        return;
    if (h->prev)
        h->prev->next = h->next;
    else
        rh->calls = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        rh->last = h->prev;
    h->prev = h->next = NULL;
    h->rh = NULL;
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

/* ---- the host's RPC end ---- */

/* One answer: {"id":n,"result":{...}} or {"id":n,"error":{"code":..,"message":..}}. */
static void end_message(void *user, int binary, unsigned char *data, size_t len)
{
    rpc_host *rh = user;
    cJSON *root = binary ? NULL : vg_json_parse((const char *)data, len, NULL);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    gw_hostrpc *h = NULL;
    for (gw_hostrpc *c = rh->calls; c && cJSON_IsNumber(id) && !h; c = c->next)
        if (c->sent && c->id == id->valuedouble)
            h = c;
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "error")) {
        /* hostd refused the link itself (wrong link secret, docs/protocol.md §3); its close
         * follows. */
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        vg_warn("hostrpc", "link to hostd %s refused: %.80s", rh->host,
                cJSON_IsString(msg) ? msg->valuestring : "no reason given");
        while (rh->calls)
            fail(rh->calls, VG_E_UNAVAILABLE, "host %s refused the link for %s: %.80s", rh->host,
                 rh->calls->method, cJSON_IsString(msg) ? msg->valuestring : "no reason given");
    } else if (!h) {
        /* The answer to a call that ran out of time, or none at all. */
        vg_debug("hostrpc", "host %s sent an answer to no waiting call", rh->host);
    } else if (cJSON_IsObject(result)) {
        finish(h, result, NULL);
    } else if (cJSON_IsObject(error)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        vg_err err = {.code = vg_err_code_from_name(cJSON_IsString(code) ? code->valuestring : "")};
        snprintf(err.msg, sizeof(err.msg), "%s",
                 cJSON_IsString(msg) ? msg->valuestring : "the host refused without a reason");
        finish(h, NULL, &err);
    } else {
        fail(h, VG_E_INTERNAL, "host %s answered %s with something that is no answer", rh->host,
             h->method);
    }
    cJSON_Delete(root);
}

/* The calls not sent yet, in order, while the link takes them. */
static int end_writeable(void *user)
{
    rpc_host *rh = user;
    for (gw_hostrpc *h = rh->calls; h; h = h->next) {
        if (h->sent)
            continue;
        h->sent = 1;
        int rc = gw_muxend_send(&rh->end, h->req + GW_MUX_PRE, h->req_len, 0);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            gw_muxend_want_write(&rh->end);
            return 0;
        }
    }
    return 0;
}

/* The link went: the calls on it are unavailable (one that was sent may have run on hostd). */
static void end_gone(void *user, int code, int link_code, const char *why)
{
    (void)code;
    (void)link_code;
    rpc_host *rh = user;
    while (rh->calls)
        fail(rh->calls, VG_E_UNAVAILABLE, "%s (host %s, %s)", why, rh->host, rh->calls->method);
}

static const gw_muxend_ops end_ops = {
    .message = end_message,
    .writeable = end_writeable,
    .gone = end_gone,
};

static rpc_host *host_of(const char *host)
{
    rpc_host *rh = hosts;
    while (rh && strcmp(rh->host, host))
        rh = rh->next;
    if (rh)
        return rh;
    rh = calloc(1, sizeof(*rh));
    if (!rh)
        return NULL;
    snprintf(rh->host, sizeof(rh->host), "%s", host);
    rh->next = hosts;
    hosts = rh;
    return rh;
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
    if (reply->len > 255) {
        fail(h, VG_E_UNAVAILABLE, "host %s has an unusable link URL for %s", h->host, h->method);
        return;
    }
    vg_err err;
    rpc_host *rh = host_of(h->host);
    gw_hostmux *m = rh ? gw_hostmux_get(h->g, h->host, reply->str) : NULL;
    if (!m) {
        fail(h, VG_E_INTERNAL, "out of memory for %s", h->method);
        return;
    }
    if (rh->end.mux && rh->end.mux != m) {
        /* The host registered another link URL: the calls on the old link end with it. */
        gw_muxend_detach(&rh->end);
        end_gone(rh, 0, 0, "the host moved its link");
    }
    h->rh = rh;
    h->prev = rh->last;
    if (rh->last)
        rh->last->next = h;
    else
        rh->calls = h;
    rh->last = h;
    if (!rh->end.mux && gw_muxend_attach(&rh->end, m, NULL, &end_ops, rh, &err) != VG_OK)
        fail(h, err.code, "%s for %s on host %s", err.msg, h->method, h->host);
    else
        gw_muxend_want_write(&rh->end);
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
        h->req = malloc(GW_MUX_PRE + h->req_len);
        if (h->req)
            memcpy(h->req + GW_MUX_PRE, text, h->req_len);
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
