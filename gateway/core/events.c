#include "core/events.h"

int gw_events_subscribe(gw_events *e, gw_event_kind kind, gw_event_fn *fn, void *priv)
{
    if (e->n == GW_EVENTS_MAX || kind >= GW_EVENT_KINDS)
        return VG_ERR;
    e->sub[e->n].kind = kind;
    e->sub[e->n].fn = fn;
    e->sub[e->n].priv = priv;
    e->n++;
    return VG_OK;
}

void gw_events_publish(const gw_events *e, const gw_event *ev)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->sub[i].kind == ev->kind)
            e->sub[i].fn(ev, e->sub[i].priv);
}
