/* What the gateway hears from Redis pub/sub, handed to the event dispatcher (core/events.h):
 * vg:events messages (docs/api.md "Events") as GW_EVENT_NOTICE and vg:sessions messages
 * (docs/redis.md) as GW_EVENT_REVOKED, the latter put on record (gw_revoked) first so a
 * console ticket on its way to be redeemed does not miss it. */
#ifndef GW_BUS_H
#define GW_BUS_H

#include "gateway.h"

/* Subscribes the bus connection to both channels (call on every bus connection); priv is the
 * gw. */
void gw_bus_connected(gw_redis *bus, void *priv);

#endif
