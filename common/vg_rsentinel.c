#include "vg_rsentinel.h"

#include "vg_log.h"
#include "vg_util.h"

#include <ctype.h>
#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST_MAX 255
/* The watch reconnects like vg_redis's connections, to the next Sentinel each time. */
#define WATCH_BACKOFF_MIN_S 0.25
#define WATCH_BACKOFF_MAX_S 2.0
#define SWITCH_CHANNEL "+switch-master"

typedef struct addr {
    char host[HOST_MAX + 1];
    int port;
} addr;

/* One lookup: the Sentinels in turn until one knows the master. */
typedef struct ask {
    struct ask *next;
    vg_rsentinel *s;
    vg_rsentinel_found_cb *cb;
    void *priv;
    size_t tried; /* Sentinels asked so far */
    size_t idx;   /* the one being asked */
    redisAsyncContext *ac;
    ev_timer timer; /* the answer's deadline, or the step to the next Sentinel */
} ask;

struct vg_rsentinel {
    struct ev_loop *loop;
    char *name, *master, *password;
    addr sent[VG_RSENTINEL_MAX];
    size_t nsent;
    size_t preferred; /* answered last */
    addr given;       /* what it answered; host "" once distrusted */
    ask *asks;
    vg_rsentinel_found_cb *on_switch;
    void *priv;
    redisAsyncContext *watch; /* NULL while disconnected */
    size_t watch_idx;
    ev_timer watch_retry;
    double watch_backoff;
    unsigned seed;
    int closing;
};

/* One entry, without surrounding spaces, into a. */
static int parse_entry(const char *p, size_t len, addr *a, vg_err *err)
{
    const char *colon = NULL, *host = p;
    size_t hlen;
    if (len && p[0] == '[') {
        const char *close = memchr(p, ']', len);
        if (!close || close + 1 >= p + len || close[1] != ':')
            return vg_fail(err, VG_E_BAD_REQUEST, "Sentinel '%.*s' is not [ipv6]:port", (int)len,
                           p);
        host = p + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        for (const char *q = p; q < p + len; q++)
            if (*q == ':')
                colon = q;
        hlen = colon ? (size_t)(colon - p) : 0;
    }
    if (!colon || hlen == 0 || hlen > HOST_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "Sentinel '%.*s' is not host:port", (int)len, p);
    for (size_t i = 0; i < hlen; i++)
        if (!isalnum((unsigned char)host[i]) && !strchr(".-_:", host[i]))
            return vg_fail(err, VG_E_BAD_REQUEST, "Sentinel '%.*s' has a bad host", (int)len, p);
    int port = 0;
    const char *q = colon + 1;
    if (q == p + len)
        port = -1;
    for (; q < p + len && port >= 0; q++)
        port = isdigit((unsigned char)*q) && port <= 65535 ? port * 10 + (*q - '0') : -1;
    if (port < 1 || port > 65535)
        return vg_fail(err, VG_E_BAD_REQUEST, "Sentinel '%.*s' has a bad port (1-65535)", (int)len,
                       p);
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    a->port = port;
    return VG_OK;
}

static int parse_list(const char *list, addr *out, size_t *n, vg_err *err)
{
    *n = 0;
    const char *p = list ? list : "";
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (!len)
            return vg_fail(err, VG_E_BAD_REQUEST, "the Sentinel list has an empty entry");
        if (*n == VG_RSENTINEL_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST, "more than %d Sentinels", VG_RSENTINEL_MAX);
        if (parse_entry(p, len, &out[*n], err) != VG_OK)
            return VG_ERR;
        (*n)++;
        if (!end)
            return VG_OK;
        p = end + 1;
    }
}

int vg_rsentinel_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)name[i]))
            return 0;
    return 1;
}

int vg_rsentinel_check(const char *list, vg_err *err)
{
    addr tmp[VG_RSENTINEL_MAX];
    size_t n;
    return parse_list(list, tmp, &n, err);
}

/* A connection to Sentinel i with AUTH queued first; NULL (logged) when it cannot start. */
static redisAsyncContext *dial(vg_rsentinel *s, size_t i, void *data)
{
    const addr *a = &s->sent[i];
    redisAsyncContext *ac = redisAsyncConnect(a->host, a->port);
    if (!ac || ac->err) {
        vg_warn("redis", "%s: cannot connect to Sentinel %s:%d: %s", s->name, a->host, a->port,
                ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = data;
    redisLibevAttach(s->loop, ac);
    /* The answer is not needed: an error only means this Sentinel has no password. */
    if (s->password && *s->password)
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", s->password);
    return ac;
}

/* ---- lookups ---- */

static void unlink_ask(ask *a)
{
    for (ask **pp = &a->s->asks; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    ev_timer_stop(a->s->loop, &a->timer);
    free(a);
}

static void finish(ask *a, const char *host, int port)
{
    vg_rsentinel_found_cb *cb = a->cb;
    void *priv = a->priv;
    unlink_ask(a);
    cb(host, port, priv);
}

static void ask_reply(redisAsyncContext *ac, void *reply, void *privdata);

static void ask_next(ask *a)
{
    vg_rsentinel *s = a->s;
    if (a->tried == s->nsent) {
        vg_warn("redis", "%s: no Sentinel gave the address of master %s", s->name, s->master);
        finish(a, NULL, 0);
        return;
    }
    a->idx = (s->preferred + a->tried++) % s->nsent;
    a->ac = dial(s, a->idx, a);
    if (a->ac && redisAsyncCommand(a->ac, ask_reply, a, "SENTINEL get-master-addr-by-name %s",
                                   s->master) != REDIS_OK) {
        redisAsyncFree(a->ac);
        a->ac = NULL;
    }
    /* Without a connection the timer steps to the next Sentinel from the loop. */
    ev_timer_stop(s->loop, &a->timer);
    ev_timer_set(&a->timer, a->ac ? VG_RSENTINEL_TIMEOUT_S : 0, 0);
    ev_timer_start(s->loop, &a->timer);
}

static void ask_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    ask *a = w->data;
    if (!a->ac) {
        ask_next(a);
        return;
    }
    const addr *sa = &a->s->sent[a->idx];
    vg_warn("redis", "%s: Sentinel %s:%d did not answer within %.0f s", a->s->name, sa->host,
            sa->port, VG_RSENTINEL_TIMEOUT_S);
    redisAsyncFree(a->ac); /* ask_reply runs with NULL and moves on */
}

/* Runs exactly once per Sentinel asked: with its answer, or NULL when the connection failed,
 * timed out or is being freed. */
static void ask_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    ask *a = privdata;
    vg_rsentinel *s = a->s;
    const redisReply *rr = reply;
    const addr *sa = &s->sent[a->idx];
    a->ac = NULL;
    ev_timer_stop(s->loop, &a->timer);
    if (s->closing) {
        unlink_ask(a);
        return;
    }
    if (!rr) {
        vg_warn("redis", "%s: Sentinel %s:%d is not reachable%s%s", s->name, sa->host, sa->port,
                ac->errstr[0] ? ": " : "", ac->errstr);
        ask_next(a);
        return;
    }
    redisAsyncDisconnect(ac);
    if (rr->type == REDIS_REPLY_ARRAY && rr->elements == 2 &&
        rr->element[0]->type == REDIS_REPLY_STRING && rr->element[1]->type == REDIS_REPLY_STRING &&
        rr->element[0]->len <= HOST_MAX) {
        int port = atoi(rr->element[1]->str);
        if (port > 0 && port <= 65535) {
            s->preferred = a->idx;
            char host[HOST_MAX + 1];
            memcpy(host, rr->element[0]->str, rr->element[0]->len + 1);
            memcpy(s->given.host, host, sizeof(host));
            s->given.port = port;
            finish(a, host, port);
            return;
        }
    }
    vg_warn("redis", "%s: Sentinel %s:%d has no address for master %s%s%s", s->name, sa->host,
            sa->port, s->master, rr->type == REDIS_REPLY_ERROR ? ": " : "",
            rr->type == REDIS_REPLY_ERROR ? rr->str : "");
    ask_next(a);
}

void vg_rsentinel_distrust(vg_rsentinel *s, const char *host, int port)
{
    if (!s->given.host[0] || s->given.port != port || strcmp(s->given.host, host))
        return;
    vg_warn("redis",
            "%s: Sentinel %s:%d named a Redis that is not the master; asking the next "
            "Sentinel first",
            s->name, s->sent[s->preferred].host, s->sent[s->preferred].port);
    s->given.host[0] = '\0';
    s->preferred = (s->preferred + 1) % s->nsent;
}

int vg_rsentinel_locate(vg_rsentinel *s, vg_rsentinel_found_cb *cb, void *priv)
{
    ask *a = calloc(1, sizeof(*a));
    if (!a)
        return VG_ERR;
    a->s = s;
    a->cb = cb;
    a->priv = priv;
    ev_timer_init(&a->timer, ask_timer, 0, 0);
    a->timer.data = a;
    a->next = s->asks;
    s->asks = a;
    ev_timer_start(s->loop, &a->timer); /* the first Sentinel is asked from the loop */
    return VG_OK;
}

/* ---- the +switch-master watch ---- */

static void watch_start(vg_rsentinel *s);

static void watch_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    watch_start(w->data);
}

static void watch_again(vg_rsentinel *s)
{
    s->watch = NULL;
    if (s->closing)
        return;
    s->watch_idx = (s->watch_idx + 1) % s->nsent;
    double b = s->watch_backoff;
    double delay = b / 2 + b / 2 * ((double)rand_r(&s->seed) / RAND_MAX);
    s->watch_backoff = b * 2 > WATCH_BACKOFF_MAX_S ? WATCH_BACKOFF_MAX_S : b * 2;
    ev_timer_set(&s->watch_retry, delay, 0);
    ev_timer_start(s->loop, &s->watch_retry);
}

static void watch_connected(const redisAsyncContext *ac, int status)
{
    vg_rsentinel *s = ac->data;
    const addr *a = &s->sent[s->watch_idx];
    if (status != REDIS_OK) {
        vg_warn("redis", "%s: cannot connect to Sentinel %s:%d: %s", s->name, a->host, a->port,
                ac->errstr);
        watch_again(s); /* hiredis frees the context after this callback */
        return;
    }
    s->watch_backoff = WATCH_BACKOFF_MIN_S;
    vg_info("redis", "%s: watching %s on Sentinel %s:%d", s->name, SWITCH_CHANNEL, a->host,
            a->port);
}

static void watch_disconnected(const redisAsyncContext *ac, int status)
{
    vg_rsentinel *s = ac->data;
    const addr *a = &s->sent[s->watch_idx];
    if (!s->closing)
        vg_warn("redis", "%s: Sentinel %s:%d: watch lost%s%s", s->name, a->host, a->port,
                status == REDIS_OK ? "" : ": ", status == REDIS_OK ? "" : ac->errstr);
    watch_again(s);
}

/* "+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>" */
static void watch_message(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    vg_rsentinel *s = privdata;
    const redisReply *rr = reply;
    if (!rr || s->closing || rr->type != REDIS_REPLY_ARRAY || rr->elements != 3 ||
        rr->element[0]->type != REDIS_REPLY_STRING || strcmp(rr->element[0]->str, "message") ||
        rr->element[2]->type != REDIS_REPLY_STRING)
        return;
    char name[256], old_host[HOST_MAX + 1], new_host[HOST_MAX + 1];
    int old_port, new_port;
    if (sscanf(rr->element[2]->str, "%255s %255s %d %255s %d", name, old_host, &old_port, new_host,
               &new_port) != 5 ||
        strcmp(name, s->master) != 0 || new_port < 1 || new_port > 65535)
        return;
    vg_info("redis", "%s: the Sentinels switched master %s from %s:%d to %s:%d", s->name, s->master,
            old_host, old_port, new_host, new_port);
    s->on_switch(new_host, new_port, s->priv);
}

static void watch_start(vg_rsentinel *s)
{
    redisAsyncContext *ac = dial(s, s->watch_idx, s);
    if (!ac) {
        watch_again(s);
        return;
    }
    s->watch = ac;
    redisAsyncSetConnectCallback(ac, watch_connected);
    redisAsyncSetDisconnectCallback(ac, watch_disconnected);
    redisAsyncCommand(ac, watch_message, s, "SUBSCRIBE %s", SWITCH_CHANNEL);
}

/* ---- life ---- */

vg_rsentinel *vg_rsentinel_new(struct ev_loop *loop, const char *log_name, const char *list,
                               const char *master_name, const char *password,
                               vg_rsentinel_found_cb *on_switch, void *priv, vg_err *err)
{
    if (!vg_rsentinel_name_ok(master_name))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "the Redis master name is not one word of 1-255 "
                       "characters"),
               NULL;
    vg_rsentinel *s = calloc(1, sizeof(*s));
    if (!s)
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    if (parse_list(list, s->sent, &s->nsent, err) != VG_OK) {
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->name = strdup(log_name ? log_name : "redis");
    s->master = strdup(master_name);
    s->password = password ? strdup(password) : NULL;
    s->on_switch = on_switch;
    s->priv = priv;
    s->seed = (unsigned)getpid() ^ (unsigned)vg_mono_ms();
    s->watch_backoff = WATCH_BACKOFF_MIN_S;
    ev_timer_init(&s->watch_retry, watch_retry_cb, 0, 0);
    s->watch_retry.data = s;
    if (!s->name || !s->master || (password && !s->password)) {
        vg_rsentinel_free(s);
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    }
    watch_start(s);
    return s;
}

void vg_rsentinel_free(vg_rsentinel *s)
{
    if (!s)
        return;
    s->closing = 1;
    ev_timer_stop(s->loop, &s->watch_retry);
    if (s->watch)
        redisAsyncFree(s->watch);
    while (s->asks) {
        ask *a = s->asks;
        if (a->ac)
            redisAsyncFree(a->ac); /* ask_reply unlinks it */
        else
            unlink_ask(a);
    }
    if (s->password)
        memset(s->password, 0, strlen(s->password));
    free(s->password);
    free(s->master);
    free(s->name);
    free(s);
}
