/* Alert evaluation (docs/monitoring.md "Alerts"): every 2 s each gateway runs
 * gateway_alert_eval.lua over the hosts' heartbeats, the registry and the latest metrics, and
 * runs it at once for the events that raise or end a built-in alert (vm.crashed,
 * console.disconnected, console.connected). The script keeps each alert's state in Redis, so
 * however many gateways evaluate, each transition happens once; a transition queues its webhook
 * deliveries, which this gateway then claims without waiting for its next tick. */
#ifndef GW_ALERTS_H
#define GW_ALERTS_H

#include "gateway.h"

/* Subscribes to the events (before anything publishes). VG_ERR when no subscriber is left. */
int gw_alerts_init(gw *g);
void gw_alerts_start(gw *g);
void gw_alerts_stop(gw *g);

#endif
