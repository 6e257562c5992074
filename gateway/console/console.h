/* The console WebSocket (`/ws/console`, docs/protocol.md §2) and its link to the VM's hostd
 * (§3). Each browser attachment gets one link; frames are relayed unchanged both ways after
 * the gateway has checked the client's. The relay's files and how they share a viewer:
 * console_int.h. */
#ifndef GW_CONSOLE_H
#define GW_CONSOLE_H

#include "gateway.h"

#include <libwebsockets.h>

#define GW_CONSOLE_PROTOCOL "vmgate.console.v1"
#define GW_LINK_PROTOCOL "vg-link" /* local name of the client side of the link */

typedef struct gw_console_query {
    char ticket[65];
    char offset[24]; /* "ring", "end" or a decimal offset */
    int take;
} gw_console_query;

/* Parses the query string of /ws/console: ticket (required), offset, take. */
int gw_console_parse_query(const char *query, size_t len, gw_console_query *out, vg_err *err);

extern const struct lws_protocols gw_console_protocol;
extern const struct lws_protocols gw_link_protocol;
/* Subscribes to the gateway's events (core/events.h): consoles close when their session or
 * their user's access ends, and follow their VM to its new host on vm.migrated. */
int gw_console_init(gw *g);
/* Closes every console with 1001 (server going away). */
void gw_console_shutdown(gw *g);
/* Pings silent viewers and drops those silent for idle_timeout (keepalive.h). */
void gw_console_keepalive(gw *g, int64_t now_ms);

#endif
