/* The JSON API over WebSocket (`GET /ws/api`, subprotocol vmgate.api.v1) and the push of
 * vg:events to connections that called events.subscribe. */
#ifndef GW_APIWS_H
#define GW_APIWS_H

#include "gateway.h"

#include <libwebsockets.h>

#define GW_API_PROTOCOL "vmgate.api.v1"

extern const struct lws_protocols gw_apiws_protocol;
/* Pings silent API clients and drops those silent for idle_timeout (keepalive.h). */
void gw_apiws_keepalive(gw *g, int64_t now_ms);
/* Subscribes to the gateway's events (core/events.h): vg:events reach the subscribers, and a
 * user whose access ended (vg:sessions `user:<name>`) loses every API WebSocket (4001). */
int gw_apiws_init(gw *g);

#endif
