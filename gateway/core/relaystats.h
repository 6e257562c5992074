/* Counters of the console relay and the API WebSockets for the Prometheus exposition
 * (core/prom.c, docs/monitoring.md): one addition per message where the relay writes it,
 * nothing else on the console path. */
#ifndef GW_CORE_RELAYSTATS_H
#define GW_CORE_RELAYSTATS_H

typedef struct gw_relaystats {
    unsigned long long browser_bytes, browser_msgs; /* written to browsers (/ws/console) */
    unsigned long long hostd_bytes, hostd_msgs;     /* sent to hostd on console links */
    unsigned long long link_output_bytes;           /* OUTPUT and GAP frames read from them */
    unsigned long api_websockets;                   /* open /ws/api connections */
} gw_relaystats;

extern gw_relaystats gw_relay;

#endif
