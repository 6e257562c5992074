/* What a user may hear of vg:events (docs/api.md "Events", gateway_events_scope.lua): one
 * scope per user on this gateway, shared by all that user's subscribed API WebSockets, read
 * once when the first of them subscribes and then kept current by the events that change it
 * (project.member, user.*, vm.created/adopted/deleted, env.changed), with a slow re-read as a
 * backstop for changes no event names (a role raised by user.edit). */
#ifndef GW_EVSCOPE_H
#define GW_EVSCOPE_H

#include "gateway.h"

#include <cjson/cJSON.h>

typedef struct gw_evscope gw_evscope;

/* A subscriber waiting for the scope's read in flight; ready is called once, with err NULL
 * when the scope was read. */
typedef struct gw_evscope_wait gw_evscope_wait;
struct gw_evscope_wait {
    gw_evscope_wait *next;
    void (*ready)(gw_evscope_wait *w, const vg_err *err);
};

/* The scope of user, with one more reference. *waiting = 1 when it is not read yet (a read is
 * in flight): w then waits for it. NULL when Redis cannot be asked (err set). */
gw_evscope *gw_evscope_get(gw *g, const char *user, gw_evscope_wait *w, int *waiting, vg_err *err);
/* Drops a reference taken by gw_evscope_get, and w's wait if it still waits. */
void gw_evscope_put(gw_evscope *s, gw_evscope_wait *w);
/* Whether the scope's user may hear of an event. seq numbers the event: the answer is worked
 * out once per scope and event, however many connections the user has. */
int gw_evscope_visible(gw_evscope *s, unsigned long seq, const char *type, const cJSON *data);
/* Brings the scopes up to date after an event that was delivered. */
void gw_evscope_event(gw *g, const char *type, const cJSON *data);

#endif
