/* One gateway's multiplexed link (GET /link/v2, docs/protocol.md §3): its console channels and
 * its management RPC over one connection. endpoint.c owns the WebSocket and hands this module
 * whole messages and writable callbacks. */
#ifndef MUX_H
#define MUX_H

#include "link/rpc.h"

struct lws;
typedef struct hd_mux hd_mux;

hd_mux *hd_mux_new(struct lws *wsi, const rpc_method *methods);
/* The connection closed: every channel detaches, running calls answer into nothing. */
void hd_mux_free(hd_mux *m);
/* One complete WebSocket message. Returns -1 when the gateway broke the protocol badly enough
 * to drop the link (a text message, a frame that does not parse). */
int hd_mux_recv(hd_mux *m, int binary, const unsigned char *buf, size_t len);
/* Writes while the socket takes it; -1 closes the connection. */
int hd_mux_writable(hd_mux *m);
/* hostd is going away: every channel is closed with 1001, then the link. */
void hd_mux_shutdown(hd_mux *m);

#endif
