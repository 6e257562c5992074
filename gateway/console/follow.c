/* Where a channel goes: to the VM's host when its first viewer attaches, to the same host again
 * when the link to it dropped or hostd restarted (from the offset after the last byte the
 * channel got), and after the VM when it leaves that host (migration, M7): the viewers stay
 * connected while the channel is opened anew, and channel.c maps the host's offsets onto
 * theirs. Opening, losing the channel and following form one loop of control, so they live in
 * one file. */
#include "console/console_int.h"

#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A host that has not said the channel's hello within this is unavailable: a hostd that hangs
 * (or a link that does) would otherwise keep the browser waiting until the link's silence check
 * (idle_timeout). */
#define LINK_ANSWER_S 10.
/* A channel looks for its VM's host this long, this often (M7) ... */
#define FOLLOW_MS 30000
#define FOLLOW_POLL_S 0.25
/* ... but gives up sooner once no host has had the VM for this long (it was deleted). */
#define FOLLOW_GONE_MS 5000
/* What follow_code is while the channel resumes on its host (the link dropped): the viewers get
 * unavailable if it never comes back. */
#define FOLLOW_RESUME 4503

static void link_answer_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_channel *ch = w->data;
    vg_warn("console", "link to hostd for %s/%s failed: no answer in %.0f s", ch->vm, ch->dev,
            LINK_ANSWER_S);
    gw_channel_close_link(ch);
    gw_follow_link_gone(ch, 0, 0, "the VM's host does not answer");
}

int gw_follow_connect(gw_channel *ch, const char *link_url)
{
    char query[VG_MUX_QUERY_MAX + 1];
    int n = snprintf(query, sizeof(query), "vm=%s&dev=%s&offset=%s", ch->vm, ch->dev, ch->offset);
    vg_err err;
    gw_hostmux *m =
        n > 0 && (size_t)n < sizeof(query) ? gw_hostmux_get(ch->g, ch->link_host, link_url) : NULL;
    if (!m) {
        vg_warn("console", "channel of %s/%s: no link to host %s", ch->vm, ch->dev, ch->link_host);
        return VG_ERR;
    }
    if (gw_muxend_attach(&ch->end, m, query, &gw_uplink_ops, ch, &err) != VG_OK) {
        vg_warn("console", "channel of %s/%s: %s", ch->vm, ch->dev, err.msg);
        return VG_ERR;
    }
    ev_timer_stop(ch->g->loop, &ch->link_timer);
    ev_timer_init(&ch->link_timer, link_answer_timeout, LINK_ANSWER_S, 0.);
    ch->link_timer.data = ch;
    ev_timer_start(ch->g->loop, &ch->link_timer);
    return VG_OK;
}

void gw_follow_stop(gw_channel *ch)
{
    ch->following = 0;
    ev_timer_stop(ch->g->loop, &ch->follow_timer);
}

static void follow_lookup_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_channel *ch = priv;
    ch->follow_pending = 0;
    if (!ch->members || !ch->following) {
        gw_channel_maybe_free(ch);
        return;
    }
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 0) {
        /* {0}: no host has the VM; between leaving one host and arriving on the next that
         * lasts milliseconds, not seconds. */
        int64_t now = vg_mono_ms();
        if (!ch->gone_since)
            ch->gone_since = now;
        if (now - ch->gone_since > FOLLOW_GONE_MS && !ch->end.mux) {
            gw_follow_stop(ch);
            gw_channel_fail(ch, ch->follow_code, "the VM is gone");
        }
        return;
    }
    ch->gone_since = 0;
    /* {2, host, link, alive}: the console is registered on a host that is alive. */
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[0]->integer != 2)
        return;
    const redisReply *host = reply->element[1], *link = reply->element[2],
                     *alive = reply->element[3];
    if (host->type != REDIS_REPLY_STRING || link->type != REDIS_REPLY_STRING || !link->len ||
        alive->type != REDIS_REPLY_INTEGER || alive->integer != 1 || ch->link_host[0])
        return; /* a channel to it is being opened */
    int moved = strcmp(host->str, ch->host) != 0;
    if (!moved && ch->follow_code != FOLLOW_RESUME)
        return; /* the console left its host (4004), and the VM has not arrived elsewhere yet */
    gw_channel_close_link(ch); /* the old host's channel, if the VM left it */
    if (moved) {
        vg_info("console", "%s/%s follows the VM from host %s to %s (%u viewers)", ch->vm, ch->dev,
                ch->host, host->str, ch->nmembers);
        /* The new host's ring is not the old one's: start at its end. */
        strcpy(ch->offset, "end");
        ch->moved = 1;
    } else if (ch->ring.buf) {
        /* The same host: on from the byte after the last one the channel got. */
        snprintf(ch->offset, sizeof(ch->offset), "%" PRIu64, ch->ring.end - ch->delta);
    }
    ch->link_close_code = 0;
    snprintf(ch->link_host, sizeof(ch->link_host), "%s", host->str);
    if (gw_follow_connect(ch, link->str) != VG_OK)
        ch->link_host[0] = '\0';
}

static void follow_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_channel *ch = w->data;
    if (vg_mono_ms() > ch->follow_deadline) {
        gw_follow_stop(ch);
        if (!gw_muxend_open(&ch->end)) {
            vg_info("console", "%s/%s did not reappear on another host", ch->vm, ch->dev);
            gw_channel_fail(ch, ch->follow_code, "the VM's console is gone from its host");
        }
        return;
    }
    if (ch->follow_pending)
        return;
    const char *argv[] = {ch->vm, ch->dev};
    if (vg_redis_eval(ch->g->redis, gw_lua(ch->g, "console_lookup"), follow_lookup_cb, ch, 0, 2,
                      argv, NULL) == VG_OK)
        ch->follow_pending = 1;
}

/* Looks for the VM on another host for FOLLOW_MS; the viewers stay connected meanwhile and
 * what they type waits in their queues. */
void gw_follow_start(gw_channel *ch, int code)
{
    if (ch->following || !ch->members)
        return;
    ch->following = 1;
    ch->follow_code = code;
    ch->gone_since = 0;
    ch->follow_deadline = vg_mono_ms() + FOLLOW_MS;
    ev_timer_init(&ch->follow_timer, follow_tick, 0., FOLLOW_POLL_S);
    ch->follow_timer.data = ch;
    ev_timer_start(ch->g->loop, &ch->follow_timer);
}

void gw_follow_link_gone(gw_channel *ch, int code, int link_code, const char *why)
{
    ev_timer_stop(ch->g->loop, &ch->link_timer);
    ch->link_host[0] = '\0';
    ch->link_close_code = code ? code : link_code;
    /* The host forgot the channel's viewers with it; they join the next one anew. */
    gw_wsq_clear(&ch->ctl);
    for (gw_viewer *v = ch->members; v; v = v->chan_next)
        v->joined = 0;
    if (ch->members && !ch->following) {
        if (code == 4004 && ch->attached)
            gw_follow_start(ch, 4004); /* the console may have moved with its VM (migration) */
        else if ((code == 0 || code == 1001) && ch->attached && link_code != 4001)
            gw_follow_start(ch, FOLLOW_RESUME); /* the link dropped, or hostd restarts */
        else
            gw_channel_fail(ch, ch->link_close_code, why);
    }
    gw_channel_maybe_free(ch);
}
