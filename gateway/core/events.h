/* The gateway's event dispatcher. What happens elsewhere (a vg:events message, a session or a
 * user's access that ended) is published here once, and every module that cares subscribes at
 * start-up; so the modules that react (the console relay, the API WebSockets) need not know of
 * each other nor of where an event came from (backend/bus.c reads them from Redis). Delivery
 * is synchronous, in the order of subscription. */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#include "vg.h"

struct cJSON;

typedef enum gw_event_kind {
    GW_EVENT_NOTICE,  /* a vg:events message (docs/api.md "Events") */
    GW_EVENT_REVOKED, /* a vg:sessions message: a session ended, or a user's access did */
    GW_EVENT_KINDS,
} gw_event_kind;

typedef struct gw_event {
    gw_event_kind kind;
    /* GW_EVENT_NOTICE: the event's type ("vm.migrated") and the whole message, a JSON object
     * with that type. */
    const char *type;
    const struct cJSON *data;
    /* GW_EVENT_REVOKED: the message (a session's sha256 or `user:<name>`, as gw_revoked_match
     * reads it) and, for the latter, the user's name. */
    const char *revoked;
    const char *user;
} gw_event;

typedef void gw_event_fn(const gw_event *ev, void *priv);

#define GW_EVENTS_MAX 8

typedef struct gw_events {
    size_t n;
    struct {
        gw_event_kind kind;
        gw_event_fn *fn;
        void *priv;
    } sub[GW_EVENTS_MAX];
} gw_events;

/* fn hears every event of kind from now on. VG_ERR when GW_EVENTS_MAX are taken. */
int gw_events_subscribe(gw_events *e, gw_event_kind kind, gw_event_fn *fn, void *priv);
/* Hands ev to each subscriber of its kind. */
void gw_events_publish(const gw_events *e, const gw_event *ev);

#endif
