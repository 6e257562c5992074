#include "backend/webhook.h"

#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"
#include "vg_utf8.h"

#include <ev.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_S 1.0
#define LEASE_MS 60000 /* far past TIMEOUT_S: only a gateway gone lets another retry */
#define TIMEOUT_S 10.0
#define INFLIGHT_MAX 8
#define URL_MAX 512

typedef struct delivery {
    gw *g;
    char id[24];
    char *body;
    size_t len;
    char sig[72];
    char attempt[12];
    char path[URL_MAX + 2];
    int status;   /* HTTP status once the answer began, else 0 */
    int reported; /* the outcome went to Redis */
    ev_timer timeout;
    struct lws *wsi; /* lws keeps it up to date (pwsi) */
} delivery;

static ev_timer tick;
static int claiming; /* a claim is in flight */
static int inflight; /* deliveries not reported yet */
static int running;
static delivery *connecting; /* inside lws_client_connect_via_info: freed there or not */

void gw_webhook_sign(const char *secret, const char *body, size_t len, char out[72])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &n);
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    out[7 + 2 * (n < 32 ? n : 32)] = '\0';
}

/* Reports the attempt once; the delivery itself lives until its connection is gone. */
static void report(delivery *d, int ok, const char *what)
{
    if (d->reported)
        return;
    d->reported = 1;
    inflight--;
    ev_timer_stop(d->g->loop, &d->timeout);
    if (ok)
        vg_debug("webhook", "delivery %s: %s", d->id, what);
    else
        vg_warn("webhook", "delivery %s (attempt %s) failed: %s", d->id, d->attempt, what);
    if (!running)
        return; /* the lease lets a gateway that runs retry it */
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {d->id, ok ? "1" : "0", now, what};
    vg_redis_eval(d->g->redis, gw_lua(d->g, "webhook_done"), NULL, NULL, 0, 4, argv, NULL);
}

static void delivery_free(delivery *d)
{
    if (connecting == d)
        connecting = NULL;
    report(d, 0, "connection closed");
    free(d->body);
    free(d);
}

static void on_timeout(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    delivery *d = w->data;
    report(d, 0, "no answer within 10 s");
    /* Its close callback frees the delivery. */
    if (d->wsi)
        lws_set_timeout(d->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    delivery *d = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        if (!d)
            return -1;
        unsigned char **p = in, *end = *p + len;
        char clen[24];
        snprintf(clen, sizeof(clen), "%zu", d->len);
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                         (const unsigned char *)"application/json", 16, p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                         (const unsigned char *)clen, (int)strlen(clen), p, end) ||
            lws_add_http_header_by_name(
                wsi, (const unsigned char *)"x-vmgate-signature:", (const unsigned char *)d->sig,
                (int)strlen(d->sig), p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"x-vmgate-delivery:",
                                        (const unsigned char *)d->id, (int)strlen(d->id), p, end) ||
            lws_add_http_header_by_name(
                wsi, (const unsigned char *)"x-vmgate-attempt:", (const unsigned char *)d->attempt,
                (int)strlen(d->attempt), p, end))
            return -1;
        lws_client_http_body_pending(wsi, 1);
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
        if (!d || d->reported)
            return -1;
        unsigned char *buf = malloc(LWS_PRE + d->len);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, d->body, d->len);
        int n = lws_write(wsi, buf + LWS_PRE, d->len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        lws_client_http_body_pending(wsi, 0);
        return n < (int)d->len ? -1 : 0;
    }
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        if (d)
            d->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 1024], *px = buf + LWS_PRE;
        int n = 1024;
        return lws_http_client_read(wsi, &px, &n) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (d) {
            char what[32];
            snprintf(what, sizeof(what), "HTTP %d", d->status);
            report(d, d->status >= 200 && d->status < 300, what);
        }
        return -1; /* one request per connection */
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (d) {
            char what[128];
            snprintf(what, sizeof(what), "%.100s", in ? (const char *)in : "connection failed");
            vg_utf8_scrub(what);
            report(d, 0, what);
            lws_set_opaque_user_data(wsi, NULL);
            delivery_free(d);
        }
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_WSI_DESTROY: /* the last word on a wsi, whatever state it died in */
        if (d) {
            lws_set_opaque_user_data(wsi, NULL);
            delivery_free(d);
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

const struct lws_protocols gw_webhook_protocol = {GW_WEBHOOK_PROTOCOL, callback, 0, 0, 0, NULL, 0};

static void start_delivery(gw *g, const char *id, const char *url, const char *secret,
                           const char *body, size_t blen, const char *attempt)
{
    delivery *d = calloc(1, sizeof(*d));
    char copy[URL_MAX + 1];
    const char *proto, *host, *path;
    int port;
    if (!d || !(d->body = malloc(blen + 1))) {
        free(d);
        vg_error("webhook", "delivery %s: out of memory", id);
        return;
    }
    d->g = g;
    memcpy(d->body, body, blen);
    d->body[blen] = '\0';
    d->len = blen;
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->attempt, sizeof(d->attempt), "%s", attempt);
    gw_webhook_sign(secret, body, blen, d->sig);
    ev_timer_init(&d->timeout, on_timeout, TIMEOUT_S, 0);
    d->timeout.data = d;
    inflight++;
    /* lws_parse_uri cuts the copy into pieces in place. */
    if (snprintf(copy, sizeof(copy), "%s", url) >= (int)sizeof(copy) ||
        lws_parse_uri(copy, &proto, &host, &port, &path) ||
        (strcmp(proto, "http") && strcmp(proto, "https"))) {
        delivery_free(d);
        return;
    }
    snprintf(d->path, sizeof(d->path), "/%s", path);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = g->ctx;
    ci.vhost = g->webhooks;
    ci.address = host;
    ci.port = port;
    ci.path = d->path;
    ci.host = host;
    ci.origin = host;
    ci.method = "POST";
    ci.ssl_connection = strcmp(proto, "https") ? 0 : LCCSCF_USE_SSL;
    ci.protocol = GW_WEBHOOK_PROTOCOL;
    ci.local_protocol_name = GW_WEBHOOK_PROTOCOL;
    ci.opaque_user_data = d;
    ci.pwsi = &d->wsi;
    ev_timer_start(g->loop, &d->timeout);
    /* A refusal here may already have run CLIENT_CONNECTION_ERROR, which frees d. */
    connecting = d;
    if (!lws_client_connect_via_info(&ci) && connecting == d)
        delivery_free(d);
    connecting = NULL;
}

static void claimed_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw *g = priv;
    claiming = 0;
    if (!running || !reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 4 < reply->elements; i += 5) {
        redisReply **e = reply->element + i;
        if (e[0]->type == REDIS_REPLY_STRING && e[1]->type == REDIS_REPLY_STRING &&
            e[2]->type == REDIS_REPLY_STRING && e[3]->type == REDIS_REPLY_STRING &&
            e[4]->type == REDIS_REPLY_STRING)
            start_delivery(g, e[0]->str, e[1]->str, e[2]->str, e[3]->str, e[3]->len, e[4]->str);
    }
}

static void claim(gw *g)
{
    if (claiming || inflight >= INFLIGHT_MAX || !vg_redis_up(g->redis))
        return;
    char now[24], lease[24], max[12];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    snprintf(lease, sizeof(lease), "%d", LEASE_MS);
    snprintf(max, sizeof(max), "%d", INFLIGHT_MAX - inflight);
    const char *argv[] = {now, lease, max};
    if (vg_redis_eval(g->redis, gw_lua(g, "webhook_claim"), claimed_cb, g, 0, 3, argv, NULL) ==
        VG_OK)
        claiming = 1;
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    claim(w->data);
}

void gw_webhook_poke(gw *g)
{
    if (running)
        claim(g);
}

void gw_webhook_start(gw *g)
{
    running = 1;
    ev_timer_init(&tick, on_tick, TICK_S, TICK_S);
    tick.data = g;
    ev_timer_start(g->loop, &tick);
}

void gw_webhook_stop(gw *g)
{
    running = 0;
    ev_timer_stop(g->loop, &tick);
}
