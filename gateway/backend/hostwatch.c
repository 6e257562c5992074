#include "backend/hostwatch.h"

#include "vg_redis.h"
#include "vg_log.h"
#include "vg_util.h"

#include <ev.h>
#include <stdio.h>

#define WATCH_PERIOD_S 0.5
/* Every this many checks one reads every host (gateway_host_watch.lua's full pass). */
#define WATCH_FULL_EVERY 20

/* One watch per gateway process, like its one loop. */
static ev_timer watch;
static int pending; /* a check is in flight: a slow Redis gets no pile of them */
static unsigned checks;

static void watched_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    pending = 0;
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        vg_error("hostwatch", "host check failed: %s", reply->str);
        return;
    }
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            vg_warn("hostwatch", "host %s missed its heartbeats: declared down",
                    reply->element[i]->str);
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw *g = w->data;
    if (pending || !vg_redis_up(g->redis))
        return;
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {now, checks % WATCH_FULL_EVERY == 0 ? "all" : ""};
    if (vg_redis_eval(g->redis, gw_lua(g, "host_watch"), watched_cb, NULL, 0, 2, argv, NULL) ==
        VG_OK) {
        pending = 1;
        checks++;
    }
}

void gw_hostwatch_start(gw *g)
{
    ev_timer_init(&watch, tick, WATCH_PERIOD_S, WATCH_PERIOD_S);
    watch.data = g;
    ev_timer_start(g->loop, &watch);
}

void gw_hostwatch_stop(gw *g)
{
    ev_timer_stop(g->loop, &watch);
}
