/* Where a feed's channel goes: to the VM's host when its first browser attaches, back onto the
 * link when a lost link returns (the channel resumes at the feed's end, so no byte is lost or
 * repeated), and after the VM when it leaves that host (migration, M7): the browsers stay
 * connected while the channel moves to the new host, whose offsets feed.c rebases. */
#include "console/console_int.h"

#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <stdio.h>
#include <string.h>

/* A feed whose VM left its host looks for the VM's new host this long, this often (M7). */
#define FOLLOW_MS 30000
#define FOLLOW_POLL_S 0.25
/* ... but gives up sooner once no host has had the VM for this long (it was deleted). */
#define FOLLOW_GONE_MS 5000

void gw_follow_fail(gw_feed *f, int code, const char *why)
{
    ev_timer_stop(f->g->loop, &f->wait);
    gw_follow_stop(f);
    for (gw_viewer *v = f->viewers; v; v = v->fnext)
        gw_viewer_close_like_link(v, code, why);
}

static void wait_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_feed *f = w->data;
    if (f->opened)
        return;
    if (!f->based)
        vg_warn("console", "link to hostd for %s/%s failed: no answer in 10 s", f->vm, f->dev);
    else
        vg_warn("console", "%s/%s: the link to host %s did not come back in time", f->vm, f->dev,
                f->host);
    gw_follow_fail(
        f, 4503, f->based ? "the link to the VM's host was lost" : "the VM's host does not answer");
}

void gw_follow_wait(gw_feed *f, double s)
{
    ev_timer_stop(f->g->loop, &f->wait);
    ev_timer_init(&f->wait, wait_expired, s, 0.);
    f->wait.data = f;
    ev_timer_start(f->g->loop, &f->wait);
}

void gw_follow_open(gw_feed *f, const char *host, const char *link_url)
{
    gw_hlink *l = gw_hlink_get(f->g, host, link_url);
    if (!l) {
        gw_follow_fail(f, 4503, "out of memory");
        return;
    }
    snprintf(f->host, sizeof(f->host), "%s", host);
    f->opened = 0;
    f->ch.ops = &gw_feed_ops;
    f->ch.owner = f;
    gw_follow_wait(f, 10.);
    gw_hlink_attach(l, &f->ch); /* the link calls ops->up, now or once it is up */
}

void gw_follow_stop(gw_feed *f)
{
    f->following = 0;
    ev_timer_stop(f->g->loop, &f->follow_timer);
}

static void follow_lookup_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_feed *f = priv;
    f->redis_pending = 0;
    if (!f->viewers || !f->following) {
        gw_feed_maybe_free(f);
        return;
    }
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 0) {
        /* {0}: no host has the VM; between leaving one host and arriving on the next that
         * lasts milliseconds, not seconds. */
        int64_t now = vg_mono_ms();
        if (!f->gone_since)
            f->gone_since = now;
        if (now - f->gone_since > FOLLOW_GONE_MS && !f->ch.link)
            gw_follow_fail(f, f->follow_code, "the VM is gone");
        return;
    }
    f->gone_since = 0;
    /* {2, host, link, alive}: the console is registered on a host that is alive. */
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[0]->integer != 2)
        return;
    const redisReply *host = reply->element[1], *link = reply->element[2],
                     *alive = reply->element[3];
    if (host->type != REDIS_REPLY_STRING || link->type != REDIS_REPLY_STRING || !link->len ||
        alive->type != REDIS_REPLY_INTEGER || alive->integer != 1 || !strcmp(host->str, f->host))
        return; /* not moved yet */
    vg_info("console", "%s/%s follows the VM from host %s to %s (%u viewers)", f->vm, f->dev,
            f->host, host->str, f->nviewers);
    gw_follow_stop(f);
    gw_hlink_detach(&f->ch); /* the old host's channel, if it still has one */
    f->moved = 1;
    gw_follow_open(f, host->str, link->str);
}

static void follow_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_feed *f = w->data;
    if (vg_mono_ms() > f->follow_deadline) {
        vg_info("console", "%s/%s did not reappear on another host", f->vm, f->dev);
        gw_follow_fail(f, f->follow_code, "the VM's console is gone from its host");
        return;
    }
    if (f->redis_pending)
        return;
    const char *argv[] = {f->vm, f->dev};
    if (vg_redis_eval(f->g->redis, gw_lua(f->g, "console_lookup"), follow_lookup_cb, f, 0, 2, argv,
                      NULL) == VG_OK)
        f->redis_pending = 1;
}

/* Looks for the VM on another host for FOLLOW_MS; the browsers stay connected meanwhile and
 * what they type waits in their queues. */
void gw_follow_start(gw_feed *f, int code)
{
    if (f->following)
        return;
    f->following = 1;
    f->follow_code = code;
    f->gone_since = 0;
    f->follow_deadline = vg_mono_ms() + FOLLOW_MS;
    ev_timer_init(&f->follow_timer, follow_tick, 0., FOLLOW_POLL_S);
    f->follow_timer.data = f;
    ev_timer_start(f->g->loop, &f->follow_timer);
}
