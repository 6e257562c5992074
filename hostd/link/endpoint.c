#include "link/endpoint.h"

#include "console/console.h"
#include "link/channel.h"
#include "link/mux.h"
#include "link/secret.h"
#include "storage/stream.h"
#include "vg_bindaddr.h"
#include "vg_frame.h"
#include "vg_log.h"
#include "vg_mux.h"

#include <libwebsockets.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINK_SUBPROTOCOL "vmgate.console.v1"
#define CHANNEL_SUBPROTOCOL "vmgate.channel.v2"
#define LINK_FRAME_CAP (VG_FRAME_OUTPUT_HDR + 16384)

typedef struct link_conn {
    console_viewer v;
    struct lws *wsi;
    int is_ws;
    int rejecting; /* refused at attach: send the error, then close */
    int reject_sent;
    vg_err reject;
    int reject_close;
    unsigned char *rx; /* reassembly of a fragmented message, at most rx_max() */
    size_t rxlen;
    int rx_overflow;
    hd_mux *mux;      /* a /link/mux or /link/api connection: calls (and channels) */
    hd_channel *chan; /* a /link/channel connection: a gateway's channel to a console */
    struct link_conn *prev, *next;
} link_conn;

static struct lws_context *ctx;
static const link_config *cfg;
static link_conn *conns;
static int nconns;
static int stopping;
/* One frame is built at a time, so one buffer serves every viewer (C7: nothing per viewer); a
 * channel's frames start VG_MUX_HDR further in, so the mux puts its header in front. */
static unsigned char txbuf[LWS_PRE + VG_MUX_HDR + LINK_FRAME_CAP];
#define CHAN_TXBUF (txbuf + LWS_PRE + VG_MUX_HDR)

static void wake(console_viewer *v)
{
    link_conn *lc = v->ud;
    lws_callback_on_writable(lc->wsi);
}

/* A channel's or a mux's output: the connection itself. */
static int ws_send(void *wsi, unsigned char *buf, size_t len, int binary)
{
    return lws_write(wsi, buf, len, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)len ? -1 : 0;
}

static int ws_choked(void *wsi)
{
    return lws_send_pipe_choked(wsi);
}

static void ws_wake(void *wsi)
{
    lws_callback_on_writable(wsi);
}

static const hd_channel_out ws_out = {ws_send, ws_choked, ws_wake};

static void reject(link_conn *lc, vg_err_code code, int close_code, const char *msg)
{
    vg_fail(&lc->reject, code, "%s", msg);
    lc->rejecting = 1;
    lc->reject_close = close_code;
    lws_callback_on_writable(lc->wsi);
}

/* lws hands the URL arguments over decoded, one fragment each. -1: they do not fit. */
static int query_of(struct lws *wsi, char *query, size_t size)
{
    size_t qlen = 0;
    query[0] = '\0';
    for (int i = 0; lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        if (qlen) {
            if (qlen + 2 >= size)
                return -1;
            query[qlen++] = '&';
        }
        int n = lws_hdr_copy_fragment(wsi, query + qlen, (int)(size - qlen),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            return -1;
        qlen += (size_t)n;
    }
    return (int)qlen;
}

static void attach(link_conn *lc)
{
    struct lws *wsi = lc->wsi;
    char uri[128] = "";
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    int api = strcmp(uri, "/link/api") == 0, channel = strcmp(uri, "/link/channel") == 0;
    int mux = strcmp(uri, "/link/mux") == 0;
    if (!api && !channel && !mux && strcmp(uri, "/link/console") != 0) {
        reject(lc, VG_E_NOT_FOUND, 4004,
               "unknown path; use /link/mux, /link/channel, /link/console or /link/api");
        return;
    }
    if (!hd_link_secret_ok(wsi, cfg->secret)) {
        vg_warn("link", "refused a link connection: wrong or missing X-Vmgate-Link");
        reject(lc, VG_E_UNAUTHORIZED, 4001, "link credential wrong");
        return;
    }
    vg_err err;
    if (api || mux) {
        if (!(lc->mux = hd_mux_new(cfg->rpc_methods, mux, &ws_out, wsi, &err)))
            reject(lc, err.code, 1011, err.msg);
        return;
    }
    char query[512];
    int qlen = query_of(wsi, query, sizeof(query));
    link_console_req req;
    int close_code;
    if (qlen < 0) {
        reject(lc, VG_E_TOO_BIG, 1008, "the request arguments are longer than 511 bytes");
        return;
    }
    console *c = hd_link_console_find(query, (size_t)qlen, &req, &close_code, &err);
    if (!c) {
        reject(lc, err.code, close_code, err.msg);
        return;
    }
    if (channel) {
        if (!(lc->chan =
                  hd_channel_new(c, req.offset[0] ? req.offset : NULL, &ws_out, wsi, 0, &err)))
            reject(lc, err.code, 1008, err.msg);
        return;
    }
    lc->v.wake = wake;
    lc->v.ud = lc;
    lc->v.rec_input = req.rec_input;
    if (hd_console_attach(c, &lc->v, req.user, req.rw, req.take, req.offset[0] ? req.offset : NULL,
                          &err) != VG_OK)
        reject(lc, err.code, 1008, err.msg);
}

static int write_reject(link_conn *lc)
{
    if (!lc->reject_sent) {
        size_t len = hd_link_error_json(&lc->reject, txbuf + LWS_PRE, LINK_FRAME_CAP);
        lc->reject_sent = 1;
        if (len && ws_send(lc->wsi, txbuf + LWS_PRE, len, 0) < 0)
            return -1;
        lws_callback_on_writable(lc->wsi);
        return 0;
    }
    lws_close_reason(lc->wsi, (enum lws_close_status)lc->reject_close, NULL, 0);
    return -1;
}

/* 0, or the connection closes: with code when it is one, else at once (it broke). */
static int closing(link_conn *lc, int code)
{
    if (code > 0)
        lws_close_reason(lc->wsi, (enum lws_close_status)code, NULL, 0);
    return code ? -1 : 0;
}

static int writable(link_conn *lc)
{
    if (lc->rejecting)
        return write_reject(lc);
    if (lc->mux)
        return closing(lc, hd_mux_write(lc->mux, CHAN_TXBUF, LINK_FRAME_CAP));
    if (lc->chan)
        return closing(lc, hd_channel_write(lc->chan, CHAN_TXBUF, LINK_FRAME_CAP, SIZE_MAX));
    /* As many frames as the socket takes: one per callback left the link idle between loop
     * iterations (docs/performance.md). */
    do {
        console_msg m;
        if (!hd_console_viewer_next(&lc->v, txbuf + LWS_PRE, LINK_FRAME_CAP, &m))
            return 0;
        if (m.len) {
            int n = lws_write(lc->wsi, txbuf + LWS_PRE, m.len,
                              m.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
            if (n < (int)m.len)
                return -1;
        }
        if (m.close_code) {
            lws_close_reason(lc->wsi, (enum lws_close_status)m.close_code, NULL, 0);
            return -1;
        }
    } while (!lws_send_pipe_choked(lc->wsi));
    lws_callback_on_writable(lc->wsi);
    return 0;
}

static size_t rx_max(const link_conn *lc, int binary)
{
    if (lc->mux)
        return hd_mux_rx_max(lc->mux, binary);
    return lc->chan ? VG_LINK_TAG_LEN + VG_FRAME_MAX_CLIENT : VG_FRAME_MAX_CLIENT;
}

/* A whole message: a link's (v3, management), a channel's (v2) or a viewer's (v1). */
static int deliver(link_conn *lc, int binary, const unsigned char *in, size_t len)
{
    if (lc->mux)
        return closing(lc, hd_mux_recv(lc->mux, binary, in, len));
    if (lc->chan)
        hd_channel_recv(lc->chan, binary, in, len);
    else
        hd_console_viewer_recv(&lc->v, binary, in, len);
    return 0;
}

/* A message over rx_max: a link closes with 1009, as do a channel (the gateway bounds what its
 * viewers send: a longer message is a broken gateway) and a v1 viewer after a too_big. */
static int overflow(link_conn *lc, int binary)
{
    if (lc->mux) {
        static const char why[] = "message too big";
        vg_warn("link", "closing a link: message over %zu bytes", rx_max(lc, binary));
        lws_close_reason(lc->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
                         sizeof(why) - 1);
        return -1;
    }
    if (lc->chan) {
        vg_warn("link", "closing a channel: message over %zu bytes", rx_max(lc, binary));
        hd_channel_close(lc->chan, 1009);
    } else {
        vg_err err;
        vg_fail(&err, VG_E_TOO_BIG, "message larger than %d bytes", VG_FRAME_MAX_CLIENT);
        hd_console_viewer_refuse(&lc->v, &err);
    }
    return 0;
}

static int receive(link_conn *lc, const unsigned char *in, size_t len)
{
    int first = lws_is_first_fragment(lc->wsi);
    int last = lws_is_final_fragment(lc->wsi) && !lws_remaining_packet_payload(lc->wsi);
    int binary = lws_frame_is_binary(lc->wsi);
    if (lc->rejecting || (!lc->v.con && !lc->mux && !lc->chan))
        return 0;
    if (first && last) /* the common case: no copy */
        return deliver(lc, binary, in, len);
    if (first) {
        lc->rxlen = 0;
        lc->rx_overflow = 0;
    }
    if (!lc->rx_overflow) {
        if (lc->rxlen + len > rx_max(lc, binary)) {
            lc->rx_overflow = 1;
        } else {
            if (!lc->rx && !(lc->rx = malloc(rx_max(lc, binary)))) {
                lc->rx_overflow = 1;
            } else {
                memcpy(lc->rx + lc->rxlen, in, len);
                lc->rxlen += len;
            }
        }
    }
    if (!last)
        return 0;
    int rc = lc->rx_overflow ? overflow(lc, binary) : deliver(lc, binary, lc->rx, lc->rxlen);
    free(lc->rx);
    lc->rx = NULL;
    lc->rxlen = 0;
    return rc;
}

static int http(struct lws *wsi)
{
    char uri[64] = "";
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    if (strcmp(uri, "/healthz") != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    unsigned char buf[LWS_PRE + 256], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/plain", 2, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* OpenSSL's verdict on each certificate of the client's chain (lws passes it as len); lws
 * accepts the client when this returns 0, whatever OpenSSL said, so the verdict is repeated
 * here. The leaf must be a gateway's (OU=gateway, tools/vmgate-ca): a hostd's certificate from
 * the same CA must not open another host's consoles. */
static int verify_client(X509_STORE_CTX *x, int preverify_ok)
{
    if (!preverify_ok) {
        vg_warn("link", "refused a TLS client: %s",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
        return 1;
    }
    if (X509_STORE_CTX_get_error_depth(x) != 0)
        return 0;
    char ou[32] = "";
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    if (!cert ||
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_organizationalUnitName, ou,
                                  sizeof(ou)) < 0 ||
        strcmp(ou, "gateway") != 0) {
        vg_warn("link", "refused a TLS client: its certificate is not of role gateway (OU=%s)",
                ou[0] ? ou : "none");
        return 1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    link_conn *lc = user;
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
        return verify_client(user, (int)len);
    case LWS_CALLBACK_HTTP:
        return http(wsi);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        unsigned char body[LWS_PRE + 2];
        memcpy(body + LWS_PRE, "ok", 2);
        if (lws_write(wsi, body + LWS_PRE, 2, LWS_WRITE_HTTP_FINAL) != 2)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(lc, 0, sizeof(*lc));
        lc->wsi = wsi;
        lc->is_ws = 1;
        lc->next = conns;
        if (conns)
            conns->prev = lc;
        conns = lc;
        nconns++;
        if (stopping)
            reject(lc, VG_E_UNAVAILABLE, 1001, "hostd is shutting down");
        else
            attach(lc);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return lc && lc->is_ws ? writable(lc) : 0;
    case LWS_CALLBACK_RECEIVE:
        return lc && lc->is_ws ? receive(lc, in, len) : 0;
    case LWS_CALLBACK_CLOSED:
        if (!lc || !lc->is_ws)
            return 0;
        hd_console_detach(&lc->v);
        hd_channel_free(lc->chan);
        lc->chan = NULL;
        hd_mux_free(lc->mux);
        lc->mux = NULL;
        free(lc->rx);
        lc->rx = NULL;
        if (lc->prev)
            lc->prev->next = lc->next;
        else
            conns = lc->next;
        if (lc->next)
            lc->next->prev = lc->prev;
        lc->is_ws = 0;
        nconns--;
        return 0;
    default:
        return 0;
    }
}

/* What lws hands the socket in one send (tx_packet_size). Left 0 it would be the receive buffer's
 * 4 KiB: every frame past that waits, piece by piece, for further turns of the loop, and a
 * link carrying hundreds of busy consoles got 4 KiB a turn (docs/performance.md, "Link v3"). */
#define LINK_TX_CHUNK (256 * 1024)

/* Both entries share one callback: a client that names no subprotocol lands on the first. */
/* Not const: the volume stream protocol gets the link secret as its user pointer at start. */
static struct lws_protocols protocols[] = {
    {"http", callback, sizeof(link_conn), 4096, 0, NULL, LINK_TX_CHUNK},
    {LINK_SUBPROTOCOL, callback, sizeof(link_conn), 4096, 0, NULL, LINK_TX_CHUNK},
    {CHANNEL_SUBPROTOCOL, callback, sizeof(link_conn), 4096, 0, NULL, LINK_TX_CHUNK},
    {RPC_SUBPROTOCOL, callback, sizeof(link_conn), 4096, 0, NULL, LINK_TX_CHUNK},
    {HD_MUX_SUBPROTOCOL, callback, sizeof(link_conn), 4096, 0, NULL, LINK_TX_CHUNK},
    HD_STREAM_PROTOCOL,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int hd_link_start(struct ev_loop *loop, const link_config *c, vg_err *err)
{
    static void *loops[1];
    struct sockaddr_storage want, got;
    if (vg_bindaddr_parse(c->bind, c->port, &want, err) != VG_OK)
        return VG_ERR;
    cfg = c;
    for (struct lws_protocols *p = protocols; p->name; p++)
        if (!strcmp(p->name, HD_STREAM_SUBPROTOCOL))
            p->user = (void *)c->secret;
    loops[0] = loop;
    lws_set_log_level(LLL_ERR | LLL_WARN, vg_log_lws);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = c->port;
    info.iface = c->bind;
    info.protocols = protocols;
    info.foreign_loops = loops;
    /* lws binds an IPv4 address on its IPv6 socket as the wildcard (every interface, both
     * families): an IPv4 link_bind gets an IPv4 socket, an IPv6 one an IPv6-only socket. A
     * link_bind that cannot be bound stops the start instead of leaving the link unserved. */
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (want.ss_family == AF_INET)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    else
        info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
    int tls =
        c->tls_cert && c->tls_cert[0] && c->tls_key && c->tls_key[0] && c->tls_ca && c->tls_ca[0];
    if (tls) {
        /* Mutual TLS: a client without a certificate from tls_ca fails the handshake, before
         * any HTTP, and only tls_ca counts (not the system's authorities). */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                        LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
                        LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        info.ssl_cert_filepath = c->tls_cert;
        info.ssl_private_key_filepath = c->tls_key;
        info.ssl_ca_filepath = c->tls_ca;
    } else if (!c->insecure) {
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "the link needs tls_cert, tls_key and tls_ca (mutual TLS with the "
                       "gateways); link_insecure = 1 serves it without TLS, for tests only");
    } else {
        vg_warn("link", "link_insecure = 1: the link has NO TLS; anyone on the network can read "
                        "consoles and the link secret. Tests only.");
    }
    info.timeout_secs = 10;
    char want_s[64], got_s[64];
    vg_bindaddr_format(&want, want_s, sizeof(want_s));
    /* Right after a restart the previous instance's link sockets may still hold the port
     * (closed by hostd first, they wait in FIN_WAIT2 for the gateway's FIN), and bind fails
     * even with SO_REUSEADDR: retry for up to 5 s before giving up. */
    ctx = lws_create_context(&info);
    for (int i = 0; !ctx && i < 50; i++) {
        usleep(100000);
        ctx = lws_create_context(&info);
    }
    if (!ctx)
        return vg_fail(err, VG_E_INTERNAL,
                       "cannot serve the link on %s (port busy, address not on this host, TLS "
                       "files?)",
                       want_s);
    /* What the socket really got, not what was asked for. */
    int n = vg_bindaddr_listeners(c->port, &got);
    if (n != 1 || !vg_bindaddr_equal(&want, &got)) {
        if (n)
            vg_bindaddr_format(&got, got_s, sizeof(got_s));
        hd_link_stop();
        return vg_fail(err, VG_E_INTERNAL, "the link was to listen on %s but listens on %s%s",
                       want_s, n ? got_s : "nothing", n > 1 ? " and more" : "");
    }
    vg_bindaddr_format(&got, got_s, sizeof(got_s));
    vg_info("link", "listening on %s://%s%s", info.ssl_cert_filepath ? "wss" : "ws", got_s,
            got.ss_family == AF_INET6 ? " (IPv6 only)" : " (IPv4 only)");
    return VG_OK;
}

void hd_link_shutdown(void)
{
    stopping = 1;
    for (link_conn *lc = conns; lc; lc = lc->next) {
        if (lc->rejecting)
            continue;
        if (lc->chan)
            hd_channel_close(lc->chan, 1001);
        else if (lc->v.con)
            hd_console_viewer_close(&lc->v, 1001);
        else if (!lc->mux || hd_mux_shutdown(lc->mux) != VG_OK)
            reject(lc, VG_E_UNAVAILABLE, 1001, "hostd is shutting down");
    }
}

int hd_link_count(void)
{
    return nconns;
}

void hd_link_census(int *viewers, int *api)
{
    *viewers = *api = 0;
    for (const link_conn *lc = conns; lc; lc = lc->next) {
        *viewers += lc->v.con != NULL;
        if (lc->chan)
            *viewers += (int)hd_channel_members(lc->chan);
        if (lc->mux) {
            *api += 1;
            *viewers += (int)hd_mux_members(lc->mux);
        }
    }
}

struct lws_context *hd_link_context(void)
{
    return ctx;
}

void hd_link_stop(void)
{
    if (ctx)
        lws_context_destroy(ctx);
    ctx = NULL;
}
