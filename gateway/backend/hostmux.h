/* The gateway's one link to each hostd (docs/protocol.md §3 "Link v3", `GET /link/mux`): a
 * long-lived, mutually authenticated WebSocket (linkws.c over linktls.c) that carries the
 * management RPC (hostrpc.c) as text messages and every console channel of the gateway on that
 * host (console/uplink.c) as binary messages tagged with the channel's id (common/vg_mux.c). An
 * RPC call or a console attach costs no connection and no TLS handshake once the link is up.
 *
 * Its users are ends: the RPC end (id 0) and one end per channel, each with its own callbacks.
 * The link is made when an end attaches to a host whose link is down, and again after a drop
 * with a backoff of 0.25 s doubling to 30 s while it was used within 10 minutes; a drop ends
 * every end attached to it (gone), and its users attach again (the console channels resume from
 * their offsets, the calls waiting on it end unavailable). hostd's channels are written in turn
 * and each has a credit (gw_muxend_credit) so that one busy console starves no other.
 *
 * The link's URL comes from vg:host:<id> in Redis; a host that registered another one gets a
 * new link and the old one goes with the ends on it. */
#ifndef GW_HOSTMUX_H
#define GW_HOSTMUX_H

#include "backend/linkws.h"
#include "gateway.h"
#include "vg_mux.h"

#include <stddef.h>
#include <stdint.h>

/* The headroom gw_muxend_send needs before a message: a client frame's header and the channel
 * header (net/wsq.h keeps this much before each queued message). */
#define GW_MUX_PRE (GW_LINKWS_HDR_MAX + VG_MUX_HDR)

typedef struct gw_hostmux gw_hostmux;
typedef struct gw_muxend gw_muxend;

typedef struct gw_muxend_ops {
    /* A channel's OPEN has gone: it may send (the RPC end has none: NULL). */
    void (*up)(void *user);
    /* One whole message of the end (for a channel: without the channel header); data may be
     * rewritten in place until the call returns. */
    void (*message)(void *user, int binary, unsigned char *data, size_t len);
    /* The link takes more: the end sends with gw_muxend_send while that returns 0 and it has
     * something. Stopping with more to send, it asks again (gw_muxend_want_write: the other
     * ends go first). -1 drops the link. */
    int (*writeable)(void *user);
    /* The end is detached: hostd closed the channel (code, why NULL), or the link dropped or
     * could not be made (code 0, why says why; the link's close code in link_code). */
    void (*gone)(void *user, int code, int link_code, const char *why);
} gw_muxend_ops;

struct gw_muxend {
    gw_hostmux *mux; /* NULL while detached */
    uint32_t id;     /* 0: the RPC end */
    const gw_muxend_ops *ops;
    void *user;
    char query[VG_MUX_QUERY_MAX + 1]; /* a channel's OPEN */
    int open_due;                     /* its OPEN is to be written before anything of it */
    uint32_t credit_due;              /* a CREDIT of this much is to be written */
    int ready;                        /* in the link's queue of ends with something to write */
    gw_muxend *ready_prev, *ready_next;
};

/* The link to host at url, made (not yet connected) when there is none; NULL: out of memory. */
gw_hostmux *gw_hostmux_get(gw *g, const char *host, const char *url);

/* Attaches e to m: a channel with its OPEN's query, or the RPC end (query NULL; at most one).
 * A link that is down is made from the loop (never a callback from in here); a channel's
 * ops->up follows once its OPEN went. */
int gw_muxend_attach(gw_muxend *e, gw_hostmux *m, const char *query, const gw_muxend_ops *ops,
                     void *user, vg_err *err);
/* 1 once e is attached and its OPEN went (the RPC end: once attached): it may send. */
static inline int gw_muxend_open(const gw_muxend *e)
{
    return e->mux && !e->open_due;
}
/* Detaches e without a callback; a channel is closed on the link (CLOSE 1000). */
void gw_muxend_detach(gw_muxend *e);
/* e has something to send: its writeable follows once the link takes it. */
void gw_muxend_want_write(gw_muxend *e);
/* In e's writeable: sends a message; data has GW_MUX_PRE writable bytes before it and is
 * framed in place. 0: sent, another may follow; 1: sent, but the socket is full (send nothing
 * more now; ask again with gw_muxend_want_write if more waits); -1: the link failed. */
int gw_muxend_send(gw_muxend *e, unsigned char *data, size_t len, int binary);
/* Grants hostd bytes more of a channel's output. */
void gw_muxend_credit(gw_muxend *e, uint32_t bytes);

/* How many links are up. */
unsigned gw_hostmux_up_count(void);
/* From the process' keepalive timer: pings the links, drops silent ones. */
void gw_hostmux_keepalive(gw *g, int64_t now_ms);

struct lws_protocols;
/* The client side of /link/mux, on the links vhost. */
extern const struct lws_protocols gw_hostmux_protocol;

#endif
