#include "backend/redis.h"

#include "vg_log.h"

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RECONNECT_MS 500

struct gw_redis {
    struct ev_loop *loop;
    char *name, *host, *password;
    int port;
    redisAsyncContext *ac; /* NULL while disconnected */
    int ready;             /* the connect callback reported success */
    ev_timer retry;
    gw_redis_connect_cb *on_connect;
    void *priv;
    int closing;
};

/* hiredis hands one privdata pointer back; this carries our callback and its argument. */
typedef struct pending {
    gw_redis *r;
    gw_redis_cb *cb;
    void *priv;
    int persistent; /* subscriptions: reused for every message, freed on disconnect */
} pending;

static void start(gw_redis *r);

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    start(w->data);
}

static void schedule_retry(gw_redis *r)
{
    if (r->closing)
        return;
    ev_timer_stop(r->loop, &r->retry);
    ev_timer_set(&r->retry, RECONNECT_MS / 1000.0, 0);
    ev_timer_start(r->loop, &r->retry);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    gw_redis *r = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        vg_warn("redis", "%s: cannot connect to %s:%d: %s", r->name, r->host, r->port, ac->errstr);
        r->ac = NULL;
        r->ready = 0;
        schedule_retry(r);
        return;
    }
    r->ready = 1;
    vg_info("redis", "%s: connected to %s:%d", r->name, r->host, r->port);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    gw_redis *r = ac->data;
    r->ac = NULL;
    r->ready = 0;
    if (r->closing)
        return;
    vg_warn("redis", "%s: connection lost%s%s", r->name, status == REDIS_OK ? "" : ": ",
            status == REDIS_OK ? "" : ac->errstr);
    schedule_retry(r);
}

static void trampoline(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    pending *p = privdata;
    if (!p)
        return;
    if (p->cb)
        p->cb(p->r, reply, p->priv);
    /* A subscription callback stays registered until the connection goes away (reply NULL). */
    if (!p->persistent || !reply)
        free(p);
}

static void auth_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        vg_error("redis", "%s: AUTH refused: %s", r->name, reply->str);
}

static void start(gw_redis *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        vg_warn("redis", "%s: cannot connect to %s:%d: %s", r->name, r->host, r->port,
                ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(r);
        return;
    }
    ac->data = r;
    r->ac = ac;
    redisLibevAttach(r->loop, ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* Commands are pipelined, so AUTH runs before anything queued after it. */
    if (r->password && *r->password) {
        const char *argv[] = {"AUTH", r->password};
        gw_redis_argv(r, auth_cb, NULL, 2, argv, NULL);
    }
    if (r->on_connect)
        r->on_connect(r, r->priv);
}

gw_redis *gw_redis_new(struct ev_loop *loop, const char *name, const char *host, int port,
                       const char *password, gw_redis_connect_cb *on_connect_cb, void *priv)
{
    gw_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->loop = loop;
    r->name = strdup(name);
    r->host = strdup(host);
    r->password = password ? strdup(password) : NULL;
    r->port = port;
    r->on_connect = on_connect_cb;
    r->priv = priv;
    if (!r->name || !r->host || (password && !r->password)) {
        gw_redis_free(r);
        return NULL;
    }
    ev_timer_init(&r->retry, retry_cb, 0, 0);
    r->retry.data = r;
    start(r);
    return r;
}

void gw_redis_free(gw_redis *r)
{
    if (!r)
        return;
    r->closing = 1;
    ev_timer_stop(r->loop, &r->retry);
    if (r->ac)
        redisAsyncFree(r->ac); /* runs pending callbacks with NULL replies */
    if (r->password)
        memset(r->password, 0, strlen(r->password));
    free(r->password);
    free(r->host);
    free(r->name);
    free(r);
}

int gw_redis_up(const gw_redis *r)
{
    return r->ac != NULL;
}

static pending *new_pending(gw_redis *r, gw_redis_cb *cb, void *priv)
{
    pending *p = malloc(sizeof(*p));
    if (p) {
        p->r = r;
        p->cb = cb;
        p->priv = priv;
        p->persistent = 0;
    }
    return p;
}

int gw_redis_cmd(gw_redis *r, gw_redis_cb *cb, void *priv, const char *fmt, ...)
{
    if (!r->ac)
        return VG_ERR;
    pending *p = new_pending(r, cb, priv);
    if (!p)
        return VG_ERR;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, trampoline, p, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(p);
        return VG_ERR;
    }
    return VG_OK;
}

int gw_redis_argv(gw_redis *r, gw_redis_cb *cb, void *priv, int argc, const char **argv,
                  const size_t *lens)
{
    if (!r->ac)
        return VG_ERR;
    pending *p = new_pending(r, cb, priv);
    if (!p)
        return VG_ERR;
    if (redisAsyncCommandArgv(r->ac, trampoline, p, argc, argv, lens) != REDIS_OK) {
        free(p);
        return VG_ERR;
    }
    return VG_OK;
}

void gw_redis_load(gw_redis *r, vg_rscript *const *lua, size_t n)
{
    for (size_t i = 0; r->ac && i < n; i++)
        if (vg_rscript_load(lua[i], r->ac) != VG_OK)
            vg_error("redis", "%s: cannot queue SCRIPT LOAD %s", r->name, vg_rscript_name(lua[i]));
}

int gw_redis_eval(gw_redis *r, vg_rscript *lua, gw_redis_cb *cb, void *priv, int nkeys, int argc,
                  const char **argv, const size_t *lens)
{
    if (!lua) {
        vg_error("redis", "%s: a Lua script is missing from scripts_dir", r->name);
        return VG_ERR;
    }
    if (!r->ac)
        return VG_ERR;
    pending *p = new_pending(r, cb, priv);
    if (!p)
        return VG_ERR;
    if (vg_rscript_call(lua, r->ac, trampoline, p, nkeys, argc, argv, lens) != VG_OK) {
        free(p);
        return VG_ERR;
    }
    return VG_OK;
}

int gw_redis_subscribe(gw_redis *r, const char *channel, gw_redis_cb *cb, void *priv)
{
    if (!r->ac)
        return VG_ERR;
    pending *p = new_pending(r, cb, priv);
    if (!p)
        return VG_ERR;
    p->persistent = 1;
    if (redisAsyncCommand(r->ac, trampoline, p, "SUBSCRIBE %s", channel) != REDIS_OK) {
        free(p);
        return VG_ERR;
    }
    return VG_OK;
}

int gw_redis_message(const redisReply *reply, const char *channel, const char **payload,
                     size_t *len)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return 0;
    const redisReply *kind = reply->element[0], *ch = reply->element[1], *msg = reply->element[2];
    if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "message") != 0 ||
        ch->type != REDIS_REPLY_STRING || strcmp(ch->str, channel) != 0 ||
        msg->type != REDIS_REPLY_STRING)
        return 0;
    *payload = msg->str;
    *len = msg->len;
    return 1;
}
