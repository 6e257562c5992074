#include "vg_redis.h"

#include "vg_log.h"
#include "vg_rsentinel.h"
#include "vg_util.h"

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reconnection delays double from BACKOFF_MIN_S up to BACKOFF_MAX_S; each is drawn from the
 * upper half of its bound, so gateways and hostds that lost the same Redis do not all come back
 * in the same millisecond. The cap keeps a restarted Redis repaired within about one hostd
 * heartbeat. */
#define BACKOFF_MIN_S 0.25
#define BACKOFF_MAX_S 2.0

/* One of the client's two connections. */
typedef struct conn {
    vg_redis *r;
    const char *role;      /* in log lines */
    int subscriber;        /* the pub/sub connection */
    redisAsyncContext *ac; /* NULL while disconnected */
    /* Takes commands: at once on a configured address; behind Sentinels once ROLE said
     * "master", so nothing is written to a replica the Sentinels have not yet demoted. */
    int ready;
    int locating;   /* asking the Sentinels */
    char host[256]; /* where ac goes */
    int port;
    ev_timer retry;
    double backoff; /* bound of the next delay, seconds */
} conn;

typedef struct sub {
    struct sub *next;
    char *channel;
    vg_redis_cb *cb;
    void *priv;
} sub;

struct vg_redis {
    struct ev_loop *loop;
    char *name, *host, *password;
    int port;
    vg_rscript *const *scripts;
    size_t nscripts;
    vg_redis_connect_cb *on_connect;
    void *priv;
    vg_rsentinel *sentinel; /* NULL: the configured host and port */
    conn cmd, bus;
    sub *subs;
    unsigned seed; /* jitter */
    int closing;
};

/* hiredis hands one privdata pointer back; this carries our callback and its argument. */
typedef struct pending {
    vg_redis *r;
    vg_redis_cb *cb;
    void *priv;
} pending;

static void start(conn *c);

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    start(w->data);
}

static void schedule_retry(conn *c)
{
    vg_redis *r = c->r;
    if (r->closing)
        return;
    double delay = c->backoff / 2 + c->backoff / 2 * ((double)rand_r(&r->seed) / RAND_MAX);
    c->backoff = c->backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->backoff * 2;
    ev_timer_stop(r->loop, &c->retry);
    ev_timer_set(&c->retry, delay, 0);
    ev_timer_start(r->loop, &c->retry);
}

/* ac->data is NULL on a context that follow() dropped. */
static void on_connected(const redisAsyncContext *ac, int status)
{
    conn *c = ac->data;
    if (!c)
        return;
    vg_redis *r = c->r;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        vg_warn("redis", "%s%s: cannot connect to %s:%d: %s", r->name, c->role, c->host, c->port,
                ac->errstr);
        c->ac = NULL;
        c->ready = 0;
        schedule_retry(c);
        return;
    }
    c->backoff = BACKOFF_MIN_S;
    vg_info("redis", "%s%s: connected to %s:%d", r->name, c->role, c->host, c->port);
}

static void on_disconnected(const redisAsyncContext *ac, int status)
{
    conn *c = ac->data;
    if (!c)
        return;
    vg_redis *r = c->r;
    c->ac = NULL;
    c->ready = 0;
    if (r->closing)
        return;
    vg_warn("redis", "%s%s: connection lost%s%s", r->name, c->role, status == REDIS_OK ? "" : ": ",
            status == REDIS_OK ? "" : ac->errstr);
    schedule_retry(c);
}

vg_redis_counters vg_redis_totals;

static void trampoline(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    pending *p = privdata;
    const redisReply *rr = reply;
    vg_redis_totals.replies++;
    if (!rr || rr->type == REDIS_REPLY_ERROR)
        vg_redis_totals.errors++;
    if (p->cb)
        p->cb(p->r, reply, p->priv);
    free(p);
}

/* A subscription's callback stays registered with hiredis for every push on its channel; the
 * NULL of a closing connection is no news to the subscriber. */
static void sub_trampoline(redisAsyncContext *ac, void *reply, void *privdata)
{
    const conn *c = ac->data;
    sub *s = privdata;
    if (reply)
        s->cb(c->r, reply, s->priv);
}

static pending *new_pending(vg_redis *r, vg_redis_cb *cb, void *priv)
{
    pending *p = malloc(sizeof(*p));
    if (p) {
        p->r = r;
        p->cb = cb;
        p->priv = priv;
    }
    return p;
}

/* To c's context whether or not it is ready: what sets a connection up. */
static int send_argv(conn *c, vg_redis_cb *cb, void *priv, int argc, const char **argv,
                     const size_t *lens)
{
    if (!c->ac)
        return VG_ERR;
    pending *p = new_pending(c->r, cb, priv);
    if (!p)
        return VG_ERR;
    if (redisAsyncCommandArgv(c->ac, trampoline, p, argc, argv, lens) != REDIS_OK) {
        free(p);
        return VG_ERR;
    }
    return VG_OK;
}

static void send_subscribe(conn *c, sub *s)
{
    if (redisAsyncCommand(c->ac, sub_trampoline, s, "SUBSCRIBE %s", s->channel) != REDIS_OK)
        vg_error("redis", "%s%s: cannot subscribe to %s", c->r->name, c->role, s->channel);
}

static void auth_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        vg_error("redis", "%s: AUTH refused: %s", r->name, reply->str);
}

/* The connection takes commands: subscriptions, scripts and the daemon's re-assertions go
 * first (pipelined, so they run before anything the caller queues). */
static void set_up(conn *c)
{
    vg_redis *r = c->r;
    c->ready = 1;
    if (c->subscriber) {
        for (sub *s = r->subs; s; s = s->next)
            send_subscribe(c, s);
        return;
    }
    /* A Redis that restarted, or a replica promoted, lacks the scripts; loading them first
     * spares NOSCRIPT round trips on the calls queued behind. */
    for (size_t i = 0; i < r->nscripts; i++)
        if (vg_rscript_load(r->scripts[i], c->ac) != VG_OK)
            vg_error("redis", "%s: cannot queue SCRIPT LOAD %s", r->name,
                     vg_rscript_name(r->scripts[i]));
    if (r->on_connect)
        r->on_connect(r, r->priv);
}

/* ROLE of the address a Sentinel gave: a master the Sentinels have not caught up with yet (it
 * was demoted, or the answer is stale) is left, and the Sentinels asked again. */
static void role_cb(vg_redis *r, redisReply *reply, void *priv)
{
    conn *c = priv;
    if (!reply || !c->ac)
        return; /* the connection went away: on_disconnected retries */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        !strcmp(reply->element[0]->str, "master")) {
        set_up(c);
        return;
    }
    vg_warn("redis", "%s%s: %s:%d is not the master (ROLE: %s); asking the Sentinels again",
            r->name, c->role, c->host, c->port,
            reply->type == REDIS_REPLY_ERROR ? reply->str
            : reply->type == REDIS_REPLY_ARRAY && reply->elements &&
                    reply->element[0]->type == REDIS_REPLY_STRING
                ? reply->element[0]->str
                : "unexpected answer");
    vg_rsentinel_distrust(r->sentinel, c->host, c->port);
    redisAsyncDisconnect(c->ac);
}

static void dial(conn *c, const char *host, int port)
{
    vg_redis *r = c->r;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (!ac || ac->err) {
        vg_warn("redis", "%s%s: cannot connect to %s:%d: %s", r->name, c->role, host, port,
                ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    ac->data = c;
    c->ac = ac;
    redisLibevAttach(r->loop, ac);
    redisAsyncSetConnectCallback(ac, on_connected);
    redisAsyncSetDisconnectCallback(ac, on_disconnected);
    if (r->password && *r->password) {
        const char *argv[] = {"AUTH", r->password};
        send_argv(c, auth_cb, NULL, 2, argv, NULL);
    }
    if (!r->sentinel) {
        set_up(c);
        return;
    }
    const char *argv[] = {"ROLE"};
    if (send_argv(c, role_cb, c, 1, argv, NULL) != VG_OK)
        redisAsyncDisconnect(ac);
}

static void located(const char *host, int port, void *priv)
{
    conn *c = priv;
    c->locating = 0;
    if (!host) {
        schedule_retry(c);
        return;
    }
    dial(c, host, port);
}

/* Where the master is: the configured address, or what the Sentinels say, asked again on
 * every (re)connection, so a reconnection after a failover goes to the new master. */
static void start(conn *c)
{
    vg_redis *r = c->r;
    if (!r->sentinel) {
        dial(c, r->host, r->port);
        return;
    }
    if (vg_rsentinel_locate(r->sentinel, located, c) != VG_OK) {
        vg_error("redis", "%s%s: out of memory", r->name, c->role);
        schedule_retry(c);
        return;
    }
    c->locating = 1;
}

/* A failover the Sentinels announced: a connection to any other address is dropped (its
 * commands in flight fail, none is sent again) and made anew at once; one waiting to retry
 * retries now. The dropped master may be unreachable, so this does not wait for its replies. */
static void follow(conn *c, const char *host, int port)
{
    if (c->locating)
        return;
    if (c->ac) {
        if (c->port == port && !strcmp(c->host, host))
            return;
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        c->ready = 0;
        ac->data = NULL;
        redisAsyncFree(ac);
    } else if (!ev_is_active(&c->retry)) {
        return; /* the pub/sub connection before the first subscription */
    }
    ev_timer_stop(c->r->loop, &c->retry);
    c->backoff = BACKOFF_MIN_S;
    start(c);
}

static void switched(const char *host, int port, void *priv)
{
    vg_redis *r = priv;
    follow(&r->cmd, host, port);
    follow(&r->bus, host, port);
}

static void conn_init(vg_redis *r, conn *c, const char *role, int subscriber)
{
    c->r = r;
    c->role = role;
    c->subscriber = subscriber;
    c->backoff = BACKOFF_MIN_S;
    ev_timer_init(&c->retry, retry_cb, 0, 0);
    c->retry.data = c;
}

vg_redis *vg_redis_new(struct ev_loop *loop, const vg_redis_config *cfg, vg_err *err)
{
    int sentinels = cfg->sentinels && *cfg->sentinels;
    if (!sentinels && (!cfg->host || !*cfg->host || cfg->port <= 0 || cfg->port > 65535))
        return vg_fail(err, VG_E_BAD_REQUEST, "Redis address %s:%d is not valid",
                       cfg->host ? cfg->host : "(none)", cfg->port),
               NULL;
    vg_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    r->loop = loop;
    r->name = strdup(cfg->name ? cfg->name : "redis");
    r->host = strdup(cfg->host && *cfg->host ? cfg->host : "-");
    r->password = cfg->password ? strdup(cfg->password) : NULL;
    r->port = cfg->port;
    r->scripts = cfg->scripts;
    r->nscripts = cfg->nscripts;
    r->on_connect = cfg->on_connect;
    r->priv = cfg->priv;
    r->seed = (unsigned)getpid() ^ (unsigned)vg_mono_ms();
    if (!r->name || !r->host || (cfg->password && !r->password)) {
        vg_redis_free(r);
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    }
    if (sentinels &&
        !(r->sentinel = vg_rsentinel_new(loop, r->name, cfg->sentinels, cfg->master_name,
                                         cfg->password, switched, r, err))) {
        vg_redis_free(r);
        return NULL;
    }
    conn_init(r, &r->cmd, "", 0);
    conn_init(r, &r->bus, " pub/sub", 1);
    start(&r->cmd);
    return r;
}

void vg_redis_free(vg_redis *r)
{
    if (!r)
        return;
    r->closing = 1;
    vg_rsentinel_free(r->sentinel); /* no lookup answers after this */
    conn *conns[] = {&r->cmd, &r->bus};
    for (size_t i = 0; i < 2; i++) {
        if (conns[i]->r)
            ev_timer_stop(r->loop, &conns[i]->retry);
        if (conns[i]->ac)
            redisAsyncFree(conns[i]->ac); /* runs pending callbacks with NULL replies */
    }
    for (sub *s = r->subs, *next; s; s = next) {
        next = s->next;
        free(s->channel);
        free(s);
    }
    if (r->password)
        memset(r->password, 0, strlen(r->password));
    free(r->password);
    free(r->host);
    free(r->name);
    free(r);
}

int vg_redis_up(const vg_redis *r)
{
    return r->cmd.ready;
}

int vg_redis_cmd(vg_redis *r, vg_redis_cb *cb, void *priv, const char *fmt, ...)
{
    if (!r->cmd.ready)
        return VG_ERR;
    pending *p = new_pending(r, cb, priv);
    if (!p)
        return VG_ERR;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->cmd.ac, trampoline, p, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(p);
        return VG_ERR;
    }
    return VG_OK;
}

int vg_redis_argv(vg_redis *r, vg_redis_cb *cb, void *priv, int argc, const char **argv,
                  const size_t *lens)
{
    if (!r->cmd.ready)
        return VG_ERR;
    return send_argv(&r->cmd, cb, priv, argc, argv, lens);
}

int vg_redis_eval(vg_redis *r, vg_rscript *lua, vg_redis_cb *cb, void *priv, int nkeys, int argc,
                  const char **argv, const size_t *lens)
{
    if (!lua) {
        vg_error("redis", "%s: a Lua script is missing from scripts_dir", r->name);
        return VG_ERR;
    }
    if (!r->cmd.ready)
        return VG_ERR;
    pending *p = new_pending(r, cb, priv);
    if (!p)
        return VG_ERR;
    if (vg_rscript_call(lua, r->cmd.ac, trampoline, p, nkeys, argc, argv, lens) != VG_OK) {
        free(p);
        return VG_ERR;
    }
    return VG_OK;
}

int vg_redis_subscribe(vg_redis *r, const char *channel, vg_redis_cb *cb, void *priv)
{
    for (const sub *s = r->subs; s; s = s->next)
        if (strcmp(s->channel, channel) == 0) {
            vg_error("redis", "%s: %s already has a subscriber", r->name, channel);
            return VG_ERR;
        }
    sub *s = calloc(1, sizeof(*s));
    if (!s || !(s->channel = strdup(channel))) {
        free(s);
        return VG_ERR;
    }
    s->cb = cb;
    s->priv = priv;
    s->next = r->subs;
    r->subs = s;
    /* Opened on the first subscription, so a client that only publishes keeps one connection.
     * A connection not ready yet, or the next one, subscribes to every channel when it is. */
    if (r->bus.ready)
        send_subscribe(&r->bus, s);
    else if (!r->bus.ac && !r->bus.locating && !ev_is_active(&r->bus.retry))
        start(&r->bus);
    return VG_OK;
}

int vg_redis_message(const redisReply *reply, const char *channel, const char **payload,
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
