/* What the gateway hears from Redis pub/sub, handed to the event dispatcher (core/events.h):
 * vg:events messages (docs/api.md "Events") as GW_EVENT_NOTICE and vg:sessions messages
 * (docs/redis.md) as GW_EVENT_REVOKED, the latter put on record (gw_revoked) first so a
 * console ticket on its way to be redeemed does not miss it. */
#ifndef GW_BUS_H
#define GW_BUS_H

#include "gateway.h"

/* Subscribes to both channels, once at start-up (vg_redis subscribes again after every
 * reconnection); priv is the gw. */
void gw_bus_subscribe(vg_redis *r, void *priv);

#endif
