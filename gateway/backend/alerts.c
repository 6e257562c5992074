#include "backend/alerts.h"

#include "backend/webhook.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <ev.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_PERIOD_S 2.0

static ev_timer timer;
static int pending; /* a periodic evaluation is in flight: a slow Redis gets no pile of them */

static void evaluated_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw *g = priv;
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR)
        vg_error("alerts", "alert evaluation failed: %s", reply->str);
    else if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
        gw_webhook_poke(g);
}

static void periodic_cb(vg_redis *r, redisReply *reply, void *priv)
{
    pending = 0;
    evaluated_cb(r, reply, priv);
}

static void evaluate(gw *g, const char *event, vg_redis_cb *cb)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {now, event};
    if (vg_redis_eval(g->redis, gw_lua(g, "alert_eval"), cb, g, 0, 2, argv, NULL) != VG_OK &&
        *event)
        vg_warn("alerts", "an event was not evaluated: Redis is not reachable");
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    gw *g = w->data;
    if (pending || !vg_redis_up(g->redis))
        return;
    pending = 1;
    evaluate(g, "", periodic_cb);
}

static void on_notice(const gw_event *ev, void *priv)
{
    gw *g = priv;
    if (strcmp(ev->type, "vm.crashed") && strcmp(ev->type, "console.disconnected") &&
        strcmp(ev->type, "console.connected"))
        return;
    const cJSON *vm = cJSON_GetObjectItemCaseSensitive(ev->data, "vm");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(ev->data, "dev");
    if (!cJSON_IsString(vm) || (strcmp(ev->type, "vm.crashed") && !cJSON_IsString(dev)))
        return;
    char *text = cJSON_PrintUnformatted(ev->data);
    if (text)
        evaluate(g, text, evaluated_cb);
    free(text);
}

int gw_alerts_init(gw *g)
{
    return gw_events_subscribe(&g->events, GW_EVENT_NOTICE, on_notice, g);
}

void gw_alerts_start(gw *g)
{
    ev_timer_init(&timer, on_tick, EVAL_PERIOD_S, EVAL_PERIOD_S);
    timer.data = g;
    ev_timer_start(g->loop, &timer);
}

void gw_alerts_stop(gw *g)
{
    ev_timer_stop(g->loop, &timer);
}
