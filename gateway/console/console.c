/* The console relay's entry points (console.h): what it hears of the gateway's events, and
 * what main.c asks of every viewer. */
#include "console/console_int.h"

#include "vg_log.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <string.h>

/* On vm.migrated the VM's channels follow it to its new host, with their viewers. */
static void on_notice(const gw_event *e, void *priv)
{
    gw *g = priv;
    if (strcmp(e->type, "vm.migrated") != 0)
        return;
    const char *vm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e->data, "vm"));
    for (gw_channel *ch = g->channels; vm && ch; ch = ch->next)
        if (!strcmp(ch->vm, vm))
            gw_follow_start(ch, 4004);
}

/* A session ended, or a user was frozen, deleted or lost access: their consoles close. */
static void on_revoked(const gw_event *e, void *priv)
{
    gw *g = priv;
    for (gw_viewer *v = g->viewers; v; v = v->next) {
        if (!v->browser || v->close_code)
            continue;
        gw_revoked_kind k = gw_revoked_match(e->revoked, v->t.user, v->t.session);
        if (k != GW_REVOKED_NONE)
            gw_viewer_access_ended(v, k);
    }
}

int gw_console_init(gw *g)
{
    if (gw_events_subscribe(&g->events, GW_EVENT_NOTICE, on_notice, g) != VG_OK ||
        gw_events_subscribe(&g->events, GW_EVENT_REVOKED, on_revoked, g) != VG_OK)
        return VG_ERR;
    return VG_OK;
}

void gw_console_shutdown(gw *g)
{
    for (gw_viewer *v = g->viewers; v; v = v->next)
        gw_viewer_close_browser(v, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
}

void gw_console_keepalive(gw *g, int64_t now_ms)
{
    /* The links to hostd have their own keepalive (backend/hostmux.c). */
    gw_viewer *next;
    for (gw_viewer *v = g->viewers; v; v = next) {
        next = v->next; /* dropping a connection may free v, never another viewer */
        if (v->browser && gw_keepalive_check(&v->ka, v->browser, &g->cfg, now_ms)) {
            vg_info("console", "dropping the silent viewer %s of %s/%s after %ld s", v->addr,
                    v->t.vm, v->t.dev, g->cfg.idle_timeout);
            gw_keepalive_drop(v->browser);
        }
    }
}

const char *const gw_viewer_state_names[GW_VIEWER_STATES] = {"attaching", "live", "console_down",
                                                             "following", "closing"};

static gw_viewer_state state_of(const gw_viewer *v)
{
    if (!v->browser || v->close_code)
        return GW_VIEWER_CLOSING;
    if (v->chan && v->chan->following)
        return GW_VIEWER_FOLLOWING;
    if (!v->attached || !v->chan)
        return GW_VIEWER_ATTACHING;
    return v->chan->console_down ? GW_VIEWER_DOWN : GW_VIEWER_LIVE;
}

void gw_console_count(gw *g, gw_console_census *out)
{
    memset(out, 0, sizeof(*out));
    for (const gw_viewer *v = g->viewers; v; v = v->next) {
        out->browsers += v->browser != NULL;
        out->by_state[state_of(v)]++;
    }
    for (const gw_channel *ch = g->channels; ch; ch = ch->next) {
        if (!gw_muxend_open(&ch->end))
            continue;
        out->paused_links += ch->link_paused != 0;
        size_t i = 0;
        while (i < out->nhosts && strcmp(out->hosts[i].host, ch->host))
            i++;
        if (i == out->nhosts && i == GW_CENSUS_HOSTS) {
            out->other_links++;
            continue;
        }
        if (i == out->nhosts)
            out->hosts[out->nhosts++].host = ch->host;
        out->hosts[i].links++;
    }
}
