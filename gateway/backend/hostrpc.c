#include "backend/hostrpc.h"

#include "backend/link.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <ev.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTRPC_MAX_MESSAGE (256 * 1024)

typedef struct gw_hostrpc {
    gw *g;
    ev_timer deadline;
    gw_hostrpc_done *done; /* NULL once answered */
    void *priv;
    int redis_pending; /* the link URL lookup is in flight */
    int on_link;       /* the call waits on the link for its answer */
    gw_hlink *link;
    double id;
    char *req;
    size_t req_len;
    char host[65];
    char method[48];
} gw_hostrpc;

static void maybe_free(gw_hostrpc *h)
{
    if (h->done || h->redis_pending || h->on_link)
        return;
    free(h->req);
    free(h);
}

/* Hands the outcome to the caller once. */
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
    if (h->on_link) {
        gw_hlink_forget(h->link, h->id);
        h->on_link = 0;
    }
    maybe_free(h);
}

/* One answer: {"id":n,"result":{...}} or {"id":n,"error":{"code":..,"message":..}}, or NULL
 * when the link failed first. */
static void answer(void *priv, const cJSON *root, const char *why)
{
    gw_hostrpc *h = priv;
    h->on_link = 0;
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!root) {
        fail(h, VG_E_UNAVAILABLE, "host %s: %s during %s", h->host, why, h->method);
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
        fail(h, VG_E_INTERNAL, "host %s answered %s with something that is no answer", h->host,
             h->method);
    }
    maybe_free(h);
}

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
    h->link = gw_hlink_get(h->g, h->host, reply->str);
    if (!h->link) {
        fail(h, VG_E_INTERNAL, "out of memory for %s", h->method);
        maybe_free(h);
        return;
    }
    h->on_link = 1;
    gw_hlink_call(h->link, h->id, h->req, h->req_len, answer, h);
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
    if (o && cJSON_AddNumberToObject(o, "id", h->id) &&
        cJSON_AddStringToObject(o, "method", method)) {
        cJSON *p = params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
        if (p)
            cJSON_AddItemToObject(o, "params", p);
        h->req = p ? cJSON_PrintUnformatted(o) : NULL;
    }
    cJSON_Delete(o);
    if (!h->req) {
        fail(h, VG_E_INTERNAL, "out of memory for %s", method);
        maybe_free(h);
        return;
    }
    h->req_len = strlen(h->req);
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
