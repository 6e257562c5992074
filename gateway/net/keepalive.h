/* WebSocket keepalive for browser-facing connections (C8): a ping after ping_interval seconds
 * without anything from the peer, a hang-up after idle_timeout seconds of silence.
 *
 * lws 4.1's own idle policy and per-connection timers do not fire for server connections on
 * a foreign libev loop, so one libev timer of the process (main.c) drives this about twice
 * per ping_interval. */
#ifndef GW_KEEPALIVE_H
#define GW_KEEPALIVE_H

#include "gateway.h"

#include <stdint.h>

typedef struct gw_keepalive {
    int64_t last_rx_ms; /* monotonic time of the last frame or pong from the peer */
    int ping_due;       /* a ping waits for the next writeable callback */
} gw_keepalive;

void gw_keepalive_start(gw_keepalive *k);
/* Anything arrived from the peer (a message, a pong). */
void gw_keepalive_seen(gw_keepalive *k);
/* Returns 1 when the peer has been silent for idle_timeout: the caller drops the connection.
 * Otherwise asks for a writeable callback when a ping is due. */
int gw_keepalive_check(gw_keepalive *k, struct lws *wsi, const gw_config *cfg, int64_t now_ms);
/* In the writeable callback, first: sends a due ping. Returns 1 when it wrote (the caller then
 * asks for another writeable callback if it has more), 0 when nothing was due, -1 on error. */
int gw_keepalive_write(gw_keepalive *k, struct lws *wsi);
/* Drops a connection at once (no close handshake: the peer is not listening). */
void gw_keepalive_drop(struct lws *wsi);

#endif
