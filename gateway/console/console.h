/* The console WebSocket (`/ws/console`, docs/protocol.md §2) and the channel to the VM's hostd
 * (§3, link v3): one per console viewed, whose output every browser viewer of that console reads
 * from one shared ring; the clients' frames go up tagged after the gateway has checked them.
 * The relay's files and how they share a viewer and a channel: console_int.h. */
#ifndef GW_CONSOLE_H
#define GW_CONSOLE_H

#include "gateway.h"

#include <libwebsockets.h>

#define GW_CONSOLE_PROTOCOL "vmgate.console.v1"

typedef struct gw_console_query {
    char ticket[65];
    char offset[24]; /* "ring", "end" or a decimal offset */
    int take;
} gw_console_query;

/* Parses the query string of /ws/console: ticket (required), offset, take. */
int gw_console_parse_query(const char *query, size_t len, gw_console_query *out, vg_err *err);

extern const struct lws_protocols gw_console_protocol;
/* Subscribes to the gateway's events (core/events.h): consoles close when their session or
 * their user's access ends, and follow their VM to its new host on vm.migrated. */
int gw_console_init(gw *g);
/* Closes every console with 1001 (server going away). */
void gw_console_shutdown(gw *g);
/* Pings silent viewers and drops those silent for idle_timeout (keepalive.h). */
void gw_console_keepalive(gw *g, int64_t now_ms);

/* What a viewer is doing, for /metrics (core/prom.c). */
typedef enum gw_viewer_state {
    GW_VIEWER_ATTACHING, /* ticket, registry lookup, link being made */
    GW_VIEWER_LIVE,      /* attached to hostd, console held */
    GW_VIEWER_DOWN,      /* attached, but hostd does not hold the VM's console */
    GW_VIEWER_FOLLOWING, /* following the VM to another host */
    GW_VIEWER_CLOSING,   /* the browser is gone or being closed */
    GW_VIEWER_STATES
} gw_viewer_state;
extern const char *const gw_viewer_state_names[GW_VIEWER_STATES];

#define GW_CENSUS_HOSTS 64
/* Counted by walking the viewers when scraped, so the relay keeps no gauge of its own. */
typedef struct gw_console_census {
    unsigned long browsers; /* open /ws/console connections */
    unsigned long by_state[GW_VIEWER_STATES];
    size_t nhosts; /* console channels up, per host; hosts past GW_CENSUS_HOSTS count in other */
    struct {
        const char *host; /* points into a channel: valid until the loop runs again */
        unsigned long links;
    } hosts[GW_CENSUS_HOSTS];
    unsigned long other_links;
    unsigned long paused_links; /* not read while every viewer is far behind */
} gw_console_census;
void gw_console_count(gw *g, gw_console_census *out);

#endif
