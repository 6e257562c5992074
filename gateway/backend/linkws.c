#include "backend/linkws.h"

#include "vg_log.h"

#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OP_CONT 0x0
#define OP_TEXT 0x1
#define OP_BINARY 0x2
#define OP_CLOSE 0x8
#define OP_PING 0x9
#define OP_PONG 0xa

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void gw_linkws_init(gw_linkws *l, size_t msg_limit)
{
    memset(l, 0, sizeof(*l));
    l->msg_limit = msg_limit;
    gw_keepalive_start(&l->ka);
}

void gw_linkws_free(gw_linkws *l)
{
    gw_linktls_free(&l->tls);
    free(l->request);
    free(l->msg);
    l->request = NULL;
    l->msg = NULL;
}

int gw_linkws_prepare(gw_linkws *l, const char *hostport, const char *path, const char *subprotocol,
                      const char *secret, vg_err *err)
{
    unsigned char nonce[16], digest[EVP_MAX_MD_SIZE];
    char key[32], keyed[80];
    unsigned int dlen = 0;
    if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        return vg_fail(err, VG_E_INTERNAL, "no randomness for the WebSocket key");
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
    snprintf(keyed, sizeof(keyed), "%s%s", key, WS_GUID);
    if (!EVP_Digest(keyed, strlen(keyed), digest, &dlen, EVP_sha1(), NULL))
        return vg_fail(err, VG_E_INTERNAL, "cannot hash the WebSocket key");
    EVP_EncodeBlock((unsigned char *)l->accept, digest, (int)dlen);
    if (snprintf(l->subprotocol, sizeof(l->subprotocol), "%s", subprotocol) >=
        (int)sizeof(l->subprotocol))
        return vg_fail(err, VG_E_INTERNAL, "subprotocol name too long");
    free(l->request);
    l->request = NULL;
#define UPGRADE_REQUEST                                                                            \
    "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"                 \
    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n"         \
    "X-Vmgate-Link: %s\r\n\r\n"
    int n = snprintf(NULL, 0, UPGRADE_REQUEST, path, hostport, key, subprotocol, secret);
    l->request = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!l->request)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    snprintf(l->request, (size_t)n + 1, UPGRADE_REQUEST, path, hostport, key, subprotocol, secret);
    return VG_OK;
}

int gw_linkws_connect(gw_linkws *l, gw *g, SSL_CTX *tls_ctx, const char *link_url, const char *path,
                      const char *subprotocol, const char *local_protocol, void *opaque,
                      struct lws **pwsi, vg_err *err)
{
    char url[256], hostport[300];
    const char *proto, *host, *base;
    int port;
    /* lws_parse_uri cuts the copy into pieces in place. */
    if (snprintf(url, sizeof(url), "%s", link_url) >= (int)sizeof(url) ||
        lws_parse_uri(url, &proto, &host, &port, &base))
        return vg_fail(err, VG_E_BAD_REQUEST, "bad link URL %s", link_url);
    int tls = !strcmp(proto, "wss") || !strcmp(proto, "https");
    if (!tls && strcmp(proto, "ws") && strcmp(proto, "http"))
        return vg_fail(err, VG_E_BAD_REQUEST, "bad link URL %s", link_url);
    snprintf(hostport, sizeof(hostport), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    const char *secret = g->link_secret ? g->link_secret : "";
    if (tls && !tls_ctx)
        return vg_fail(err, VG_E_UNAVAILABLE, "no TLS context for %s (tls_ca unset)", link_url);
    if (gw_linkws_prepare(l, hostport, path, subprotocol, secret, err) != VG_OK ||
        gw_linktls_start(&l->tls, tls ? tls_ctx : NULL, host, hostport, err) != VG_OK)
        return VG_ERR;
    /* The idle policy of the links vhost would hang up a raw connection, which lws has no ping
     * for: this link pings and times out on its own (l->ka, gw_linkws_write_pending). */
    static const lws_retry_bo_t no_idle_policy;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = g->ctx;
    ci.vhost = g->links;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.method = "RAW";
    ci.protocol = local_protocol;
    ci.local_protocol_name = local_protocol;
    ci.opaque_user_data = opaque;
    ci.retry_and_idle_policy = &no_idle_policy;
    ci.pwsi = pwsi;
    l->state = GW_LINKWS_CONNECTING;
    if (!lws_client_connect_via_info(&ci))
        return vg_fail(err, VG_E_UNAVAILABLE, "cannot connect to %s", link_url);
    return VG_OK;
}

/* The value of header name in the response head (NUL-terminated lines), or NULL. */
static const char *head_value(char *head, const char *name)
{
    size_t n = strlen(name);
    for (char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (!strncasecmp(h, name, n) && h[n] == ':') {
            h += n + 1;
            while (*h == ' ' || *h == '\t')
                h++;
            return h;
        }
    }
    return NULL;
}

static int value_is(const char *v, const char *want)
{
    size_t n = strlen(want);
    return v && !strncasecmp(v, want, n) && (v[n] == '\r' || v[n] == ' ' || v[n] == '\t');
}

/* The response head is complete in l->head (ending "\r\n\r\n"). */
static int check_answer(gw_linkws *l, vg_err *err)
{
    int status = 0;
    if (sscanf(l->head, "HTTP/1.1 %d", &status) != 1)
        return vg_fail(err, VG_E_UNAVAILABLE, "hostd did not answer in HTTP/1.1");
    if (status != 101)
        return vg_fail(err, status == 401 || status == 403 ? VG_E_UNAUTHORIZED : VG_E_UNAVAILABLE,
                       "hostd refused the link: HTTP %d", status);
    if (!value_is(head_value(l->head, "upgrade"), "websocket"))
        return vg_fail(err, VG_E_UNAVAILABLE, "hostd answered without Upgrade: websocket");
    if (!value_is(head_value(l->head, "sec-websocket-accept"), l->accept))
        return vg_fail(err, VG_E_UNAVAILABLE, "hostd answered with a wrong Sec-WebSocket-Accept");
    if (!value_is(head_value(l->head, "sec-websocket-protocol"), l->subprotocol))
        return vg_fail(err, VG_E_UNAVAILABLE, "hostd did not take subprotocol %s", l->subprotocol);
    return VG_OK;
}

/* Reads the answer to the upgrade; returns how much of in it took (the rest are frames). */
static int feed_head(gw_linkws *l, const unsigned char *in, size_t len, size_t *used, vg_err *err)
{
    size_t i = 0;
    while (i < len) {
        if (l->head_len >= sizeof(l->head) - 1)
            return vg_fail(err, VG_E_UNAVAILABLE, "hostd's answer to the upgrade is too long");
        l->head[l->head_len++] = (char)in[i++];
        if (l->head_len >= 4 && !memcmp(l->head + l->head_len - 4, "\r\n\r\n", 4)) {
            l->head[l->head_len] = '\0';
            *used = i;
            if (check_answer(l, err) != VG_OK)
                return VG_ERR;
            l->state = GW_LINKWS_OPEN;
            return 1;
        }
    }
    *used = i;
    return 0;
}

static int msg_append(gw_linkws *l, const unsigned char *p, size_t n, vg_err *err)
{
    if (n > l->msg_limit - l->msg_len)
        return vg_fail(err, VG_E_TOO_BIG, "hostd sent a message over %zu bytes", l->msg_limit);
    if (l->msg_len + n > l->msg_cap) {
        size_t cap = l->msg_cap ? l->msg_cap : 16384;
        while (cap < l->msg_len + n)
            cap *= 2;
        if (cap > l->msg_limit)
            cap = l->msg_limit;
        unsigned char *grown = realloc(l->msg, cap);
        if (!grown)
            return vg_fail(err, VG_E_INTERNAL, "out of memory");
        l->msg = grown;
        l->msg_cap = cap;
    }
    memcpy(l->msg + l->msg_len, p, n);
    l->msg_len += n;
    return VG_OK;
}

/* How long the frame header in l->hdr is once complete, or 0 when more bytes are needed. */
static size_t header_size(const gw_linkws *l)
{
    if (l->hdr_len < 2)
        return 0;
    size_t need = 2 + ((l->hdr[1] & 0x7f) == 126 ? 2 : (l->hdr[1] & 0x7f) == 127 ? 8 : 0);
    return l->hdr_len >= need ? need : 0;
}

/* The header is complete: checks it and sets opcode, fin and left. */
static int start_frame(gw_linkws *l, vg_err *err)
{
    unsigned char b0 = l->hdr[0], b1 = l->hdr[1];
    if (b0 & 0x70)
        return vg_fail(err, VG_E_UNAVAILABLE, "hostd sent a frame with reserved bits");
    if (b1 & 0x80)
        return vg_fail(err, VG_E_UNAVAILABLE, "hostd sent a masked frame");
    l->opcode = b0 & 0x0f;
    l->fin = !!(b0 & 0x80);
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
        len = (uint64_t)l->hdr[2] << 8 | l->hdr[3];
    } else if (len == 127) {
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | l->hdr[i];
        if (len >> 63)
            return vg_fail(err, VG_E_UNAVAILABLE, "hostd sent a frame length with bit 63 set");
    }
    l->left = len;
    l->ctl_len = 0;
    if (l->opcode & 0x8) {
        if (!l->fin || len > sizeof(l->ctl))
            return vg_fail(err, VG_E_UNAVAILABLE, "hostd sent a bad control frame");
        if (l->opcode != OP_CLOSE && l->opcode != OP_PING && l->opcode != OP_PONG)
            return vg_fail(err, VG_E_UNAVAILABLE, "hostd sent opcode %d", l->opcode);
        return VG_OK;
    }
    if (l->opcode == OP_CONT) {
        if (!l->in_message)
            return vg_fail(err, VG_E_UNAVAILABLE, "hostd sent a continuation of nothing");
    } else if (l->opcode == OP_TEXT || l->opcode == OP_BINARY) {
        if (l->in_message)
            return vg_fail(err, VG_E_UNAVAILABLE, "hostd began a message inside another");
        l->in_message = 1;
        l->msg_binary = l->opcode == OP_BINARY;
        l->msg_len = 0;
    } else {
        return vg_fail(err, VG_E_UNAVAILABLE, "hostd sent opcode %d", l->opcode);
    }
    if (len > l->msg_limit && !(l->msg_binary && l->pieces))
        return vg_fail(err, VG_E_TOO_BIG, "hostd sent a message over %zu bytes", l->msg_limit);
    return VG_OK;
}

/* A control frame's payload is all in l->ctl. */
static void end_control(gw_linkws *l)
{
    if (l->opcode == OP_PING) {
        memcpy(l->pong, l->ctl, l->ctl_len);
        l->pong_len = l->ctl_len;
        l->pong_due = 1;
    } else if (l->opcode == OP_CLOSE) {
        l->peer_close_code = l->ctl_len >= 2 ? l->ctl[0] << 8 | l->ctl[1] : 1005;
        if (!l->close_sent && !l->close_due) {
            /* Answered with the same code, as RFC 6455 5.5.1 asks. */
            l->close_due = 1;
            l->close_code = l->ctl_len >= 2 ? l->peer_close_code : 1000;
        }
        l->state = GW_LINKWS_CLOSING;
    }
}

int gw_linkws_parse(gw_linkws *l, unsigned char *in, size_t len, const gw_linkws_ops *ops,
                    void *user, vg_err *err)
{
    size_t i = 0;
    l->pieces = ops->piece != NULL;
    if (l->state == GW_LINKWS_HANDSHAKE || l->state == GW_LINKWS_CONNECTING) {
        size_t used = 0;
        int rc = feed_head(l, in, len, &used, err);
        if (rc == VG_ERR)
            return VG_ERR;
        i = used;
        if (rc == 1 && ops->open)
            ops->open(user);
    }
    while (i < len && (l->state == GW_LINKWS_OPEN || l->state == GW_LINKWS_CLOSING)) {
        if (l->peer_close_code)
            return VG_OK; /* nothing follows a close frame */
        if (!header_size(l)) {
            l->hdr[l->hdr_len++] = in[i++];
            if (!header_size(l))
                continue;
            if (start_frame(l, err) != VG_OK)
                return VG_ERR;
            if (l->left)
                continue;
        } else {
            size_t n = len - i < l->left ? len - i : (size_t)l->left;
            unsigned char *p = in + i;
            i += n;
            l->left -= n;
            if (l->opcode & 0x8) {
                memcpy(l->ctl + l->ctl_len, p, n);
                l->ctl_len += n;
            } else if (l->msg_binary && l->pieces) {
                int last = !l->left && l->fin;
                if (last) {
                    l->in_message = 0;
                    l->hdr_len = 0;
                }
                ops->piece(user, p, n, last);
                if (last)
                    continue;
            } else if (!l->left && l->fin && !l->msg_len) {
                /* The whole message in this read: handed on in place. */
                l->in_message = 0;
                l->hdr_len = 0;
                ops->message(user, l->msg_binary, p, n);
                continue;
            } else if (msg_append(l, p, n, err) != VG_OK) {
                return VG_ERR;
            }
            if (l->left)
                continue;
        }
        /* The frame is complete. */
        l->hdr_len = 0;
        if (l->opcode & 0x8) {
            end_control(l);
        } else if (l->fin && l->msg_binary && l->pieces) {
            l->in_message = 0; /* an empty last frame */
            ops->piece(user, (unsigned char *)"", 0, 1);
        } else if (l->fin) {
            l->in_message = 0;
            size_t n = l->msg_len;
            l->msg_len = 0;
            ops->message(user, l->msg_binary, l->msg ? l->msg : (unsigned char *)"", n);
        }
    }
    return VG_OK;
}

size_t gw_linkws_frame_header(unsigned char *hdr, int opcode, uint64_t len,
                              const unsigned char mask[4])
{
    size_t n = 0;
    hdr[n++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        hdr[n++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[n++] = 0x80 | 126;
        hdr[n++] = (unsigned char)(len >> 8);
        hdr[n++] = (unsigned char)len;
    } else {
        hdr[n++] = 0x80 | 127;
        for (int s = 56; s >= 0; s -= 8)
            hdr[n++] = (unsigned char)(len >> s);
    }
    memcpy(hdr + n, mask, 4);
    return n + 4;
}

void gw_linkws_mask(unsigned char *data, size_t len, const unsigned char mask[4])
{
    for (size_t i = 0; i < len; i++)
        data[i] ^= mask[i & 3];
}

int gw_linkws_wants_write(const gw_linkws *l)
{
    return gw_linktls_pending(&l->tls) || (l->state == GW_LINKWS_HANDSHAKE && l->request) ||
           l->pong_due || l->close_due || l->ka.ping_due;
}

static int linkws_done(const gw_linkws *l)
{
    return l->peer_close_code && l->close_sent;
}

static void linkws_connected(gw_linkws *l, struct lws *wsi)
{
    l->state = GW_LINKWS_HANDSHAKE;
    gw_keepalive_seen(&l->ka);
    lws_callback_on_writable(wsi); /* the ClientHello, or the upgrade on a plain link */
}

typedef struct rx_ctx {
    gw_linkws *l;
    const gw_linkws_ops *ops;
    void *user;
} rx_ctx;

static int rx_plain(void *user, unsigned char *data, size_t len, vg_err *err)
{
    rx_ctx *c = user;
    return gw_linkws_parse(c->l, data, len, c->ops, c->user, err);
}

/* TLS, then gw_linkws_parse. */
static int linkws_rx(gw_linkws *l, struct lws *wsi, unsigned char *in, size_t len,
                     const gw_linkws_ops *ops, void *user, vg_err *err)
{
    rx_ctx c = {l, ops, user};
    int established = 0;
    gw_keepalive_seen(&l->ka);
    if (gw_linktls_feed(&l->tls, in, len, &established, rx_plain, &c, err) != VG_OK)
        return VG_ERR;
    if (gw_linkws_wants_write(l))
        lws_callback_on_writable(wsi);
    return VG_OK;
}

/* Frames data (with GW_LINKWS_HDR_MAX bytes of headroom) in place and hands it to TLS. */
static int send_frame(gw_linkws *l, struct lws *wsi, int opcode, unsigned char *data, size_t len)
{
    unsigned char mask[4], hdr[GW_LINKWS_HDR_MAX];
    if (RAND_bytes(mask, sizeof(mask)) != 1)
        return VG_ERR;
    size_t h = gw_linkws_frame_header(hdr, opcode, len, mask);
    gw_linkws_mask(data, len, mask);
    memcpy(data - h, hdr, h);
    return gw_linktls_write(&l->tls, wsi, data - h, h + len);
}

/* Hands what was written to the socket; the same return as gw_linkws_send. */
static int flush(gw_linkws *l, struct lws *wsi)
{
    int rc = gw_linktls_flush(&l->tls, wsi);
    if (rc > 0)
        lws_callback_on_writable(wsi);
    return rc;
}

int gw_linkws_send(gw_linkws *l, struct lws *wsi, unsigned char *data, size_t len, int binary)
{
    if (send_frame(l, wsi, binary ? OP_BINARY : OP_TEXT, data, len) != VG_OK)
        return -1;
    return flush(l, wsi);
}

void gw_linkws_close(gw_linkws *l, int code)
{
    if (l->close_sent || l->close_due)
        return;
    l->close_due = 1;
    l->close_code = code;
}

/* Writes the link's own frame that is due, if any; VG_ERR on failure. */
static int write_control(gw_linkws *l, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 128];
    unsigned char *p = buf + LWS_PRE;
    if (l->close_due) {
        l->close_due = 0;
        l->close_sent = 1;
        l->state = GW_LINKWS_CLOSING;
        p[0] = (unsigned char)(l->close_code >> 8);
        p[1] = (unsigned char)l->close_code;
        return send_frame(l, wsi, OP_CLOSE, p, 2);
    }
    if (l->pong_due) {
        l->pong_due = 0;
        memcpy(p, l->pong, l->pong_len);
        return send_frame(l, wsi, OP_PONG, p, l->pong_len);
    }
    if (l->ka.ping_due) {
        l->ka.ping_due = 0;
        memcpy(p, "vg", 2);
        return send_frame(l, wsi, OP_PING, p, 2);
    }
    return VG_OK;
}

/* Writes what the link owes (TLS records, the upgrade, a pong, a ping, a close). Returns 0 when
 * messages may be sent now, 1 when not (it asked for the next callback itself if needed), -1
 * when the connection is to be closed. */
static int write_pending(gw_linkws *l, struct lws *wsi)
{
    int rc = flush(l, wsi);
    if (rc)
        return rc;
    if (!l->tls.established || l->state == GW_LINKWS_CONNECTING)
        return 1;
    if (l->state == GW_LINKWS_HANDSHAKE) {
        if (!l->request)
            return 1; /* the answer is awaited */
        size_t n = strlen(l->request);
        unsigned char *req = malloc(LWS_PRE + n);
        int ok = req != NULL;
        if (ok) {
            memcpy(req + LWS_PRE, l->request, n);
            ok = gw_linktls_write(&l->tls, wsi, req + LWS_PRE, n) == VG_OK;
        }
        free(req);
        free(l->request);
        l->request = NULL;
        return ok && flush(l, wsi) >= 0 ? 1 : -1;
    }
    if (write_control(l, wsi) != VG_OK)
        return -1;
    if (linkws_done(l))
        return -1;
    rc = flush(l, wsi);
    if (rc < 0)
        return -1;
    if (l->close_sent)
        return 1; /* nothing follows a close */
    if (l->pong_due || l->ka.ping_due)
        lws_callback_on_writable(wsi);
    return rc;
}

int gw_linkws_callback(gw_linkws *l, struct lws *wsi, int reason, void *in, size_t len,
                       const gw_linkws_ops *ops, void *user)
{
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED:
        if (!l)
            return -1;
        linkws_connected(l, wsi);
        return 0;
    case LWS_CALLBACK_RAW_RX:
        if (!l)
            return -1;
        if (linkws_rx(l, wsi, in, len, ops, user, &l->err) != VG_OK) {
            l->failed = 1;
            return -1;
        }
        return linkws_done(l) ? -1 : 0;
    case LWS_CALLBACK_RAW_WRITEABLE: {
        if (!l)
            return -1;
        int rc = write_pending(l, wsi);
        if (rc)
            return rc < 0 ? -1 : 0;
        return ops->writeable ? ops->writeable(user, wsi) : 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (l && !l->failed) {
            l->failed = 1;
            vg_fail(&l->err, VG_E_UNAVAILABLE, "%s", in ? (const char *)in : "connection error");
        }
        /* fall through */
    case LWS_CALLBACK_RAW_CLOSE:
    case LWS_CALLBACK_WSI_DESTROY: /* the last word on a wsi, whatever state it died in */
        if (!l)
            return 0;
        lws_set_opaque_user_data(wsi, NULL);
        if (!l->failed && !l->peer_close_code) {
            l->failed = 1;
            vg_fail(&l->err, VG_E_UNAVAILABLE, "hostd closed the connection without a close frame");
        }
        ops->gone(user, l->peer_close_code ? NULL : &l->err);
        return 0;
    default:
        return 0;
    }
}

int gw_linkws_keepalive(gw_linkws *l, struct lws *wsi, const gw_config *cfg, int64_t now_ms,
                        double answer_s)
{
    if (l->state == GW_LINKWS_CONNECTING || l->state == GW_LINKWS_HANDSHAKE)
        return now_ms - l->ka.last_rx_ms > (int64_t)(answer_s * 1000);
    return gw_keepalive_check(&l->ka, wsi, cfg, now_ms);
}
