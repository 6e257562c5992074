#include "ctl_ws.h"

#include <arpa/inet.h>
#include <ev.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "vg_log.h"

/* Largest message accepted from the gateway (vm.list of a big fleet is the largest). */
#define CTL_WS_MAX_MESSAGE (16u << 20)

typedef struct ctl_out {
    struct ctl_out *next;
    int binary;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of room for lws, then the message */
} ctl_out;

struct ctl_net {
    struct ev_loop *loop;
    struct lws_context *ctx;
    ctl_url url;
    int insecure;
    int ip_host; /* the URL names an IP address: checked against the certificate's IP SANs */
    int live;    /* connections whose on_close has not run yet */
    void *loops[1];
    struct lws_protocols protocols[3]; /* ours, the caller's extra one, the end */
};

struct ctl_ws {
    ctl_net *net;
    struct lws *wsi; /* NULL once lws destroyed it */
    const ctl_ws_handler *h;
    void *ud;
    char *bearer;
    ctl_out *head, *tail;
    unsigned char *rx;
    size_t rx_len, rx_cap;
    int rx_binary;
    int established;
    int closing;    /* ctl_ws_close was called: close after the queue is sent */
    int local_code; /* the code we close with */
    int peer_code;  /* the code the peer closed with, 0 if none */
    int done;       /* finished: on_close is scheduled */
    char reason[128];
    ev_timer finish_timer; /* delivers on_close from a clean stack */
};

static void free_ws(ctl_ws *ws)
{
    while (ws->head) {
        ctl_out *o = ws->head;
        ws->head = o->next;
        free(o);
    }
    free(ws->rx);
    free(ws->bearer);
    free(ws);
}

static void finish_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    ctl_ws *ws = w->data;
    int code = ws->peer_code ? ws->peer_code : ws->closing ? ws->local_code : 1006;
    ws->net->live--;
    ws->h->on_close(ws, code, ws->reason, ws->ud);
    free_ws(ws);
}

/* Ends the connection once: lws may report the end through several callbacks. */
static void finish(ctl_ws *ws, const char *reason)
{
    if (ws->done)
        return;
    ws->done = 1;
    if (ws->wsi)
        lws_set_opaque_user_data(ws->wsi, NULL);
    ws->wsi = NULL;
    if (reason && !ws->reason[0])
        snprintf(ws->reason, sizeof(ws->reason), "%s", reason);
    ev_timer_init(&ws->finish_timer, finish_cb, 0, 0);
    ws->finish_timer.data = ws;
    ev_timer_start(ws->net->loop, &ws->finish_timer);
}

/* OpenSSL's host name check ignores IP SANs, so an https://IP URL is checked here, before the
 * handshake headers (and with them the bearer token) go out. */
static int peer_matches_ip(const ctl_net *net, struct lws *wsi)
{
    SSL *ssl = lws_get_ssl(wsi);
    if (!ssl)
        return 0;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return 0;
    int ok = X509_check_ip_asc(cert, net->url.host, 0) == 1;
    X509_free(cert);
    return ok;
}

int ctl_net_peer_ok(const ctl_net *net, struct lws *wsi)
{
    return !net->url.tls || !net->ip_host || net->insecure || peer_matches_ip(net, wsi);
}

static int on_receive(ctl_ws *ws, struct lws *wsi, const void *in, size_t len)
{
    if (lws_is_first_fragment(wsi)) {
        ws->rx_len = 0;
        ws->rx_binary = lws_frame_is_binary(wsi);
    }
    if (ws->rx_len + len > CTL_WS_MAX_MESSAGE) {
        snprintf(ws->reason, sizeof(ws->reason), "message from the gateway exceeds %u bytes",
                 CTL_WS_MAX_MESSAGE);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        ws->peer_code = 1009;
        return -1;
    }
    if (ws->rx_len + len + 1 > ws->rx_cap) {
        size_t cap = ws->rx_cap ? ws->rx_cap : 4096;
        while (cap < ws->rx_len + len + 1)
            cap *= 2;
        unsigned char *rx = realloc(ws->rx, cap);
        if (!rx)
            return -1;
        ws->rx = rx;
        ws->rx_cap = cap;
    }
    memcpy(ws->rx + ws->rx_len, in, len);
    ws->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    ws->rx[ws->rx_len] = '\0'; /* text messages can be used as C strings */
    ws->h->on_message(ws, ws->rx_binary, ws->rx, ws->rx_len, ws->ud);
    return ws->done ? -1 : 0;
}

static int on_writeable(ctl_ws *ws, struct lws *wsi)
{
    ctl_out *o = ws->head;
    if (o) {
        ws->head = o->next;
        if (!ws->head)
            ws->tail = NULL;
        int n =
            lws_write(wsi, o->buf + LWS_PRE, o->len, o->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        int short_write = n < 0 || (size_t)n < o->len;
        free(o);
        if (short_write) {
            snprintf(ws->reason, sizeof(ws->reason), "write to the gateway failed");
            return -1;
        }
    }
    if (ws->head) {
        lws_callback_on_writable(wsi);
    } else if (ws->closing) {
        lws_close_reason(wsi, (enum lws_close_status)ws->local_code, NULL, 0);
        return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    /* lws sends WSI_CREATE and WSI_DESTROY of every connection to the first protocol: those of
     * another module's connections (ctl_http) are not ours. */
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    if (proto && proto->callback != callback)
        return 0;
    ctl_ws *ws = lws_get_opaque_user_data(wsi);
    if (!ws || ws->done) {
        /* a connection we already finished: let lws tear it down */
        if (reason == LWS_CALLBACK_CLIENT_WRITEABLE || reason == LWS_CALLBACK_CLIENT_RECEIVE)
            return -1;
        return 0;
    }
    ws->wsi = wsi;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (!ctl_net_peer_ok(ws->net, wsi)) {
            snprintf(ws->reason, sizeof(ws->reason),
                     "the gateway's certificate is not valid for %.64s", ws->net->url.host);
            return -1;
        }
        if (ws->bearer) {
            char **p = in;
            int n = lws_snprintf(*p, len, "Authorization: Bearer %s\r\n", ws->bearer);
            if (n < 0 || (size_t)n >= len)
                return -1;
            *p += n;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws->established = 1;
        if (ws->head || ws->closing)
            lws_callback_on_writable(wsi);
        ws->h->on_open(ws, ws->ud);
        return ws->done ? -1 : 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(ws, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(ws, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *b = in;
            ws->peer_code = b[0] << 8 | b[1];
            snprintf(ws->reason, sizeof(ws->reason), "%.*s", (int)(len - 2), (const char *)b + 2);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        finish(ws, in ? (const char *)in : "connection failed");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        finish(ws, ws->established ? "connection closed" : "connection failed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        ws->wsi = NULL;
        finish(ws, "connection closed");
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"vmgatectl", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

ctl_net *ctl_net_new(struct ev_loop *loop, const ctl_url *url, const char *ca, int insecure,
                     const struct lws_protocols *extra, vg_err *err)
{
    ctl_net *net = calloc(1, sizeof(*net));
    if (!net) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    net->loop = loop;
    net->url = *url;
    net->insecure = insecure;
    unsigned char addr[16];
    net->ip_host =
        inet_pton(AF_INET, url->host, addr) == 1 || inet_pton(AF_INET6, url->host, addr) == 1;
    net->loops[0] = loop;
    lws_set_log_level(LLL_ERR, vg_log_lws);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    net->protocols[0] = protocols[0];
    if (extra)
        net->protocols[1] = *extra;
    info.protocols = net->protocols;
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = net->loops;
    info.client_ssl_ca_filepath = ca;
    info.gid = -1;
    info.uid = -1;
    net->ctx = lws_create_context(&info);
    if (!net->ctx) {
        free(net);
        if (ca)
            vg_fail(err, VG_E_INTERNAL, "cannot set up TLS with the CA file %.100s", ca);
        else
            vg_fail(err, VG_E_INTERNAL, "cannot set up the WebSocket client");
        return NULL;
    }
    return net;
}

int ctl_net_live(const ctl_net *net)
{
    return net->live;
}

void ctl_net_hold(ctl_net *net, int delta)
{
    net->live += delta;
}

struct lws *ctl_net_connect(ctl_net *net, struct lws_client_connect_info *ci, const char *path)
{
    ci->context = net->ctx;
    ci->address = net->url.host;
    ci->port = net->url.port;
    ci->path = path;
    ci->host = net->url.host;
    if (net->url.tls) {
        ci->ssl_connection = LCCSCF_USE_SSL;
        if (net->insecure)
            ci->ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                  LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
        else if (net->ip_host)
            ci->ssl_connection |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK; /* ctl_net_peer_ok */
    }
    return lws_client_connect_via_info(ci);
}

const char *ctl_net_prefix(const ctl_net *net)
{
    return net->url.prefix;
}

void ctl_net_free(ctl_net *net)
{
    if (!net)
        return;
    lws_context_destroy(net->ctx);
    free(net);
}

ctl_ws *ctl_ws_open(ctl_net *net, const char *path_and_query, const char *protocol,
                    const char *bearer, const ctl_ws_handler *h, void *ud, vg_err *err)
{
    ctl_ws *ws = calloc(1, sizeof(*ws));
    char path[1024];
    int n = snprintf(path, sizeof(path), "%s%s", net->url.prefix, path_and_query);
    if (!ws || (bearer && !(ws->bearer = strdup(bearer))) || n < 0 || (size_t)n >= sizeof(path)) {
        if (ws)
            free_ws(ws);
        vg_fail(err, VG_E_INTERNAL, "cannot open a connection to %s", path_and_query);
        return NULL;
    }
    ws->net = net;
    ws->h = h;
    ws->ud = ud;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.protocol = protocol;
    ci.local_protocol_name = "vmgatectl";
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = ws;
    net->live++;
    struct lws *wsi = ctl_net_connect(net, &ci, path);
    if (!ws->done)
        ws->wsi = wsi;
    if (!wsi)
        finish(ws, "cannot connect to the gateway");
    return ws;
}

int ctl_ws_send(ctl_ws *ws, int binary, const void *data, size_t len, vg_err *err)
{
    if (ws->done || ws->closing)
        return vg_fail(err, VG_E_UNAVAILABLE, "the connection is closing");
    ctl_out *o = malloc(sizeof(*o) + LWS_PRE + len);
    if (!o)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    o->next = NULL;
    o->binary = binary;
    o->len = len;
    memcpy(o->buf + LWS_PRE, data, len);
    if (ws->tail)
        ws->tail->next = o;
    else
        ws->head = o;
    ws->tail = o;
    if (ws->established && ws->wsi)
        lws_callback_on_writable(ws->wsi);
    return VG_OK;
}

void ctl_ws_close(ctl_ws *ws, int code)
{
    if (ws->done || ws->closing)
        return;
    ws->closing = 1;
    ws->local_code = code;
    if (!ws->wsi)
        return;
    if (ws->established)
        lws_callback_on_writable(ws->wsi);
    else
        lws_set_timeout(ws->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}
