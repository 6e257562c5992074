/* Where a channel's link goes: to the VM's host when its first viewer attaches, and after the
 * VM when it leaves that host (migration, M7): the viewers stay connected while the link is
 * rebuilt to the new host, whose offsets channel.c maps onto theirs. Connecting, losing the
 * link and following form one loop of control, so they live in one file. */
#include "console/console_int.h"

#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

/* A hostd whose link is not up within this is unavailable to the browser. */
#define LINK_ANSWER_S 10.
/* A channel whose VM left its host looks for the VM's new host this long, this often (M7). */
#define FOLLOW_MS 30000
#define FOLLOW_POLL_S 0.25
/* ... but gives up sooner once no host has had the VM for this long (it was deleted). */
#define FOLLOW_GONE_MS 5000
#define CHANNEL_PROTOCOL "vmgate.channel.v2"

/* A TLS peer that refuses our certificate after its handshake (TLS 1.3), or a host that hangs,
 * would otherwise keep the browser waiting for lws's own timeout of about 20 s. */
static void link_answer_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_channel *ch = w->data;
    if (!ch->link || ch->link_up)
        return;
    vg_warn("console", "link to hostd for %s/%s failed: no answer in %.0f s", ch->vm, ch->dev,
            LINK_ANSWER_S);
    /* lws ends that connection itself later; it no longer belongs to this channel. */
    lws_set_opaque_user_data(ch->link, NULL);
    gw_follow_link_gone(ch, "the VM's host does not answer");
}

int gw_follow_connect(gw_channel *ch, const char *link_url)
{
    char path[400];
    snprintf(path, sizeof(path), "/link/channel?vm=%s&dev=%s&offset=%s", ch->vm, ch->dev,
             ch->offset);
    vg_err err;
    gw_linkws_free(&ch->lw);
    gw_linkws_init(&ch->lw, LINK_MSG_MAX);
    if (gw_linkws_connect(&ch->lw, ch->g, ch->g->link_tls, link_url, path, CHANNEL_PROTOCOL,
                          GW_LINK_PROTOCOL, ch, &ch->link, &err) != VG_OK) {
        vg_warn("console", "link for %s/%s: %s", ch->vm, ch->dev, err.msg);
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
        if (now - ch->gone_since > FOLLOW_GONE_MS && !ch->link && !ch->link_host[0]) {
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
        alive->type != REDIS_REPLY_INTEGER || alive->integer != 1 || !strcmp(host->str, ch->host) ||
        ch->link_host[0])
        return; /* not moved yet, or a link to the new host is on its way */
    if (ch->link) {
        gw_channel_close_link(ch); /* the old host's link goes first; the next poll connects */
        return;
    }
    vg_info("console", "%s/%s follows the VM from host %s to %s (%u viewers)", ch->vm, ch->dev,
            ch->host, host->str, ch->nmembers);
    /* The new host's ring is not the old one's: start at its end. */
    strcpy(ch->offset, "end");
    ch->link_closing = 0;
    ch->link_close_code = 0;
    ch->moved = 1;
    snprintf(ch->link_host, sizeof(ch->link_host), "%s", host->str);
    if (gw_follow_connect(ch, link->str) != VG_OK) {
        vg_warn("console", "cannot connect to hostd at %s for %s/%s", link->str, ch->vm, ch->dev);
        ch->link_host[0] = '\0';
    }
}

static void follow_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_channel *ch = w->data;
    if (vg_mono_ms() > ch->follow_deadline) {
        gw_follow_stop(ch);
        if (!ch->link) {
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

void gw_follow_link_gone(gw_channel *ch, const char *why)
{
    ev_timer_stop(ch->g->loop, &ch->link_timer);
    ch->link = NULL;
    ch->link_up = 0;
    ch->link_host[0] = '\0';
    /* The host forgot the channel's viewers with the link; they join the next one anew. */
    gw_wsq_clear(&ch->ctl);
    for (gw_viewer *v = ch->members; v; v = v->chan_next)
        v->joined = 0;
    if (ch->members && !ch->following) {
        /* A console that left its host (4004) may have moved with its VM (migration). */
        if (ch->link_close_code == 4004 && ch->attached)
            gw_follow_start(ch, 4004);
        else
            gw_channel_fail(ch, ch->link_close_code, why);
    }
    gw_channel_maybe_free(ch);
}
