#include "backend/livesettings.h"

#include "core/settings.h"
#include "vg_log.h"
#include "vg_redis.h"

#include <cjson/cJSON.h>
#include <ev.h>

#include <stdlib.h>
#include <string.h>

/* Until Redis answers the first read, a few seconds after start at most. */
#define RETRY_S 1.0

static ev_timer retry;
/* The configuration's values: what a setting removed from vg:settings goes back to. */
static long conf_session_ttl, conf_ticket_ttl;

static void apply(gw *g, const char *name, const char *value)
{
    char *end;
    long long v = strtoll(value, &end, 10);
    vg_err err;
    long *to = !strcmp(name, "session_ttl")    ? &g->cfg.session_ttl
               : !strcmp(name, "ticket_ttl")   ? &g->cfg.ticket_ttl
               : !strcmp(name, "record_input") ? &g->record_input
                                               : NULL;
    if (!to)
        return;
    if (*end || end == value || gw_setting_check(name, v, &err) != VG_OK) {
        vg_warn("settings", "ignoring vg:settings %s = \"%.32s\": not a valid value", name, value);
        return;
    }
    *to = (long)v;
}

static void read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw *g = priv;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    ev_timer_stop(g->loop, &retry);
    g->cfg.session_ttl = conf_session_ttl;
    g->cfg.ticket_ttl = conf_ticket_ttl;
    g->record_input = 0;
    for (size_t i = 0; i + 1 < reply->elements; i += 2)
        if (reply->element[i]->type == REDIS_REPLY_STRING &&
            reply->element[i + 1]->type == REDIS_REPLY_STRING)
            apply(g, reply->element[i]->str, reply->element[i + 1]->str);
}

static void read_all(gw *g)
{
    vg_redis_cmd(g->redis, read_cb, g, "HGETALL vg:settings");
}

static void on_notice(const gw_event *ev, void *priv)
{
    if (!strcmp(ev->type, "settings.changed"))
        read_all(priv);
}

static void on_retry(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    gw *g = w->data;
    if (vg_redis_up(g->redis))
        read_all(g);
}

int gw_livesettings_init(gw *g)
{
    return gw_events_subscribe(&g->events, GW_EVENT_NOTICE, on_notice, g);
}

void gw_livesettings_start(gw *g)
{
    conf_session_ttl = g->cfg.session_ttl;
    conf_ticket_ttl = g->cfg.ticket_ttl;
    ev_timer_init(&retry, on_retry, 0.0, RETRY_S);
    retry.data = g;
    ev_timer_start(g->loop, &retry);
}

void gw_livesettings_stop(gw *g)
{
    ev_timer_stop(g->loop, &retry);
}
