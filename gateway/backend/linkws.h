/* The client end of a hostd link's WebSocket (RFC 6455), framed here over an lws raw TLS
 * connection instead of lws' own WebSocket client.
 *
 * lws 4.1 (Debian 12) parses what a WebSocket client receives with one function call per
 * payload byte: on the console link that was most of the gateway's CPU, about 12 ms per MB
 * (docs/performance.md, "Where the gateway's CPU goes"). hostd stays an lws WebSocket server and
 * the bytes on the wire do not change (docs/protocol.md §3); the gateway reads hostd's frames in
 * bulk and hands a frame that lies whole in the read buffer on in place, without a copy.
 *
 * The connection is an lws raw socket carrying TLS run by linktls.c. gw_linkws_parse and the
 * framing helpers touch no socket (unit tests, fuzz_gateway_linkws); gw_linkws_callback drives
 * the connection from its owner's lws protocol callback: the console link (console/uplink.c),
 * the management RPC link (hostrpc.c) and the volume streams (net/xfer.c). */
#ifndef GW_LINKWS_H
#define GW_LINKWS_H

#include "backend/linktls.h"
#include "gateway.h"
#include "net/keepalive.h"

#include <stddef.h>
#include <stdint.h>

struct lws;

/* The longest response head hostd may answer the upgrade with. */
#define GW_LINKWS_HEAD_MAX 4096
/* The most a frame header takes: 2 + 8 (length) + 4 (mask). */
#define GW_LINKWS_HDR_MAX 14

typedef enum gw_linkws_state {
    GW_LINKWS_CONNECTING, /* TCP and TLS under way */
    GW_LINKWS_HANDSHAKE,  /* the upgrade request is (being) sent, the answer awaited */
    GW_LINKWS_OPEN,
    GW_LINKWS_CLOSING, /* a close frame was sent or received */
} gw_linkws_state;

typedef struct gw_linkws_ops {
    /* hostd accepted the upgrade. */
    void (*open)(void *user);
    /* One whole message; data may be rewritten in place until the call returns. */
    void (*message)(void *user, int binary, unsigned char *data, size_t len);
    /* Optional: binary messages are handed on in pieces as they arrive instead of whole (fin
     * on the last), so their size is the owner's to bound; msg_limit then bounds text only. */
    void (*piece)(void *user, unsigned char *data, size_t len, int fin);
    /* gw_linkws_callback: the link owes nothing and is open; the owner may send (0), or the
     * connection is to be closed (-1). */
    int (*writeable)(void *user, struct lws *wsi);
    /* gw_linkws_callback: the connection is gone, once; the owner forgets its wsi. err is NULL
     * when hostd closed with a close frame (peer_close_code), else it says why. */
    void (*gone)(void *user, const vg_err *err);
} gw_linkws_ops;

typedef struct gw_linkws {
    gw_linkws_state state;
    gw_linktls tls;
    char *request; /* the upgrade request until it has been written (owned) */
    char accept[32];
    char subprotocol[64];
    char head[GW_LINKWS_HEAD_MAX];
    size_t head_len;
    /* The frame being read: its header, then `left` payload bytes. */
    unsigned char hdr[GW_LINKWS_HDR_MAX];
    size_t hdr_len;
    uint64_t left;
    int opcode, fin;
    int pieces; /* binary messages go to ops->piece */
    /* A data message spread over reads or fragments, up to msg_limit (owned). */
    int in_message, msg_binary;
    unsigned char *msg;
    size_t msg_len, msg_cap, msg_limit;
    unsigned char ctl[125]; /* a control frame's payload */
    size_t ctl_len;
    int pong_due;
    unsigned char pong[125];
    size_t pong_len;
    int close_due;       /* our close frame waits to be written */
    int close_sent;      /* ... and has been: the next close from hostd ends the connection */
    int close_code;      /* ours (close_due) */
    int peer_close_code; /* hostd's close frame (1005 when it named none), 0 before one */
    int failed;          /* err says why the connection is to go */
    vg_err err;
    gw_keepalive ka;
} gw_linkws;

/* A link in GW_LINKWS_CONNECTING whose messages may be up to msg_limit bytes. */
void gw_linkws_init(gw_linkws *l, size_t msg_limit);
void gw_linkws_free(gw_linkws *l);
/* Builds the upgrade request for path on host:port with the subprotocol and X-Vmgate-Link. */
int gw_linkws_prepare(gw_linkws *l, const char *hostport, const char *path, const char *subprotocol,
                      const char *secret, vg_err *err);
/* gw_linkws_prepare, then connects to link_url (ws:// or wss://, TLS with tls_ctx) as a raw
 * connection of the links vhost bound to local_protocol, carrying opaque; *pwsi as for
 * gw_link_connect. */
int gw_linkws_connect(gw_linkws *l, gw *g, SSL_CTX *tls_ctx, const char *link_url, const char *path,
                      const char *subprotocol, const char *local_protocol, void *opaque,
                      struct lws **pwsi, vg_err *err);
/* Plaintext from hostd: the answer to the upgrade, then frames. Calls ops for what is
 * complete; in is rewritten in place. VG_ERR (err says why) means the connection is to be
 * closed at once. */
int gw_linkws_parse(gw_linkws *l, unsigned char *in, size_t len, const gw_linkws_ops *ops,
                    void *user, vg_err *err);

/* ---- on the connection, from its lws callbacks ---- */

/* The whole of an owner's lws protocol callback for its raw link connection: l and user are
 * the owner's (from the wsi's opaque user data; NULL when the owner let the wsi go, which is
 * then closed). Calls ops; returns what the callback returns. */
int gw_linkws_callback(gw_linkws *l, struct lws *wsi, int reason, void *in, size_t len,
                       const gw_linkws_ops *ops, void *user);
/* From the owner's periodic keepalive tick: 1 when the link is to be dropped (hostd silent for
 * idle_timeout, or no answer to the upgrade within answer_s); else asks for a ping when due. */
int gw_linkws_keepalive(gw_linkws *l, struct lws *wsi, const gw_config *cfg, int64_t now_ms,
                        double answer_s);

/* In ops->writeable: sends one message as a masked client frame. data must have
 * GW_LINKWS_HDR_MAX writable bytes before it (the LWS_PRE headroom of a gw_wsq message) and is
 * masked in place. Returns 0 when it went to the socket (another may follow in the same
 * callback), 1 when output waits for the socket (send nothing more: the link asked for the
 * next callback), -1 on error. */
int gw_linkws_send(gw_linkws *l, struct lws *wsi, unsigned char *data, size_t len, int binary);
/* Sends a close frame with code at the next writeable callback. */
void gw_linkws_close(gw_linkws *l, int code);
/* 1 when the link wants a writeable callback of its own. */
int gw_linkws_wants_write(const gw_linkws *l);

/* Writes the header of a client frame for len payload bytes and the mask into hdr (at least
 * GW_LINKWS_HDR_MAX bytes); returns its length. */
size_t gw_linkws_frame_header(unsigned char *hdr, int opcode, uint64_t len,
                              const unsigned char mask[4]);
/* XORs data with the mask, as a frame's payload starting at its first byte. */
void gw_linkws_mask(unsigned char *data, size_t len, const unsigned char mask[4]);

#endif
