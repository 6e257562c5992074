/* The runtime settings this gateway keeps in memory (session_ttl, ticket_ttl, record_input;
 * core/settings.h): read from vg:settings once Redis answers, and again on every settings.changed
 * event, so a settings.set on any gateway applies here within one message. The others are read by
 * the Lua scripts at each use. */
#ifndef GW_LIVESETTINGS_H
#define GW_LIVESETTINGS_H

#include "gateway.h"

/* Subscribes to the events (before anything publishes). */
int gw_livesettings_init(gw *g);
void gw_livesettings_start(gw *g);
void gw_livesettings_stop(gw *g);

#endif
