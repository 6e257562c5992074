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
/* Closes every API WebSocket of user with 4001: the user was frozen, deleted or lost access
 * (vg:sessions `user:<name>`). */
void gw_apiws_close_user(gw *g, const char *user);
/* Subscribes to vg:events, once at start-up: events reach the API WebSockets. */
void gw_apiws_bus_subscribe(vg_redis *bus, void *priv);

#endif
