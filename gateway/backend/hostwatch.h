/* Declares hosts down (M1, docs/api.md "Events" host.down): every gateway checks the hosts'
 * heartbeats every 500 ms with gateway_host_watch.lua, and the first to see a host past
 * heartbeat_interval_ms × host_dead_after publishes host.down once (guard key
 * vg:host:<id>:downmark), so subscribers hear of it within a second whichever gateway they
 * use. */
#ifndef GW_HOSTWATCH_H
#define GW_HOSTWATCH_H

#include "gateway.h"

void gw_hostwatch_start(gw *g);
void gw_hostwatch_stop(gw *g);

#endif
