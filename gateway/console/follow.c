/* Where a viewer's link goes: to the VM's host at attach, and after the VM when it leaves that
 * host (migration, M7): the browser stays connected while the link is rebuilt to the new host,
 * whose offsets uplink.c rebases. Connecting, losing the link and following form one loop of
 * control, so they live in one file. */
#include "console/console_int.h"

#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

/* A hostd whose link is not up within this is unavailable to the browser. */
#define LINK_ANSWER_S 10.
/* A viewer whose VM left its host looks for the VM's new host this long, this often (M7). */
#define FOLLOW_MS 30000
#define FOLLOW_POLL_S 0.25
/* ... but gives up sooner once no host has had the VM for this long (it was deleted). */
#define FOLLOW_GONE_MS 5000

/* A TLS peer that refuses our certificate after its handshake (TLS 1.3), or a host that hangs,
 * would otherwise keep the browser waiting for lws's own timeout of about 20 s. */
static void link_answer_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_viewer *v = w->data;
    if (!v->link || v->link_up)
        return;
    vg_warn("console", "link to hostd for %s/%s failed: no answer in %.0f s", v->t.vm, v->t.dev,
            LINK_ANSWER_S);
    /* lws ends that connection itself later; it no longer belongs to this viewer. */
    lws_set_opaque_user_data(v->link, NULL);
    gw_follow_link_gone(v, "the VM's host does not answer");
}

int gw_follow_connect(gw_viewer *v, const char *link_url)
{
    char path[400];
    snprintf(path, sizeof(path), "/link/console?vm=%s&dev=%s&mode=%s&user=%s&offset=%s%s%s",
             v->t.vm, v->t.dev, v->t.mode, v->t.user, v->q.offset, v->q.take ? "&take=1" : "",
             v->g->record_input ? "&rec_input=1" : "");
    vg_err err;
    gw_linkws_free(&v->lw);
    gw_linkws_init(&v->lw, LINK_MSG_MAX);
    if (gw_linkws_connect(&v->lw, v->g, v->g->link_tls, link_url, path, GW_CONSOLE_PROTOCOL,
                          GW_LINK_PROTOCOL, v, &v->link, &err) != VG_OK) {
        vg_warn("console", "link for %s/%s: %s", v->t.vm, v->t.dev, err.msg);
        return VG_ERR;
    }
    ev_timer_stop(v->g->loop, &v->link_timer);
    ev_timer_init(&v->link_timer, link_answer_timeout, LINK_ANSWER_S, 0.);
    v->link_timer.data = v;
    ev_timer_start(v->g->loop, &v->link_timer);
    return VG_OK;
}

void gw_follow_stop(gw_viewer *v)
{
    v->following = 0;
    ev_timer_stop(v->g->loop, &v->follow_timer);
}

static void follow_lookup_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_viewer *v = priv;
    v->redis_pending = 0;
    if (!v->browser || v->close_code || !v->following) {
        gw_viewer_maybe_free(v);
        return;
    }
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 0) {
        /* {0}: no host has the VM; between leaving one host and arriving on the next that
         * lasts milliseconds, not seconds. */
        int64_t now = vg_mono_ms();
        if (!v->gone_since)
            v->gone_since = now;
        if (now - v->gone_since > FOLLOW_GONE_MS && !v->link && !v->link_host[0]) {
            gw_follow_stop(v);
            gw_viewer_close_like_link(v, v->follow_code, "the VM is gone");
        }
        return;
    }
    v->gone_since = 0;
    /* {2, host, link, alive}: the console is registered on a host that is alive. */
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[0]->integer != 2)
        return;
    const redisReply *host = reply->element[1], *link = reply->element[2],
                     *alive = reply->element[3];
    if (host->type != REDIS_REPLY_STRING || link->type != REDIS_REPLY_STRING || !link->len ||
        alive->type != REDIS_REPLY_INTEGER || alive->integer != 1 || !strcmp(host->str, v->host) ||
        v->link_host[0])
        return; /* not moved yet, or a link to the new host is on its way */
    if (v->link) {
        gw_viewer_close_link(v); /* the old host's link goes first; the next poll connects */
        return;
    }
    vg_info("console", "%s/%s of user %s follows the VM from host %s to %s", v->t.vm, v->t.dev,
            v->t.user, v->host, host->str);
    /* The new host's ring is not the old one's: start at its end, as its writer if this
     * viewer held the lock before. */
    strcpy(v->q.offset, "end");
    v->q.take = v->writer;
    v->link_closing = 0;
    v->link_close_code = 0;
    v->moved = 1;
    v->rebase = 1;
    snprintf(v->link_host, sizeof(v->link_host), "%s", host->str);
    if (gw_follow_connect(v, link->str) != VG_OK) {
        vg_warn("console", "cannot connect to hostd at %s for %s/%s", link->str, v->t.vm, v->t.dev);
        v->link_host[0] = '\0';
    }
}

static void follow_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_viewer *v = w->data;
    if (!v->browser || v->close_code) {
        gw_follow_stop(v);
        gw_viewer_maybe_free(v);
        return;
    }
    if (vg_mono_ms() > v->follow_deadline) {
        gw_follow_stop(v);
        if (!v->link) {
            vg_info("console", "%s/%s did not reappear on another host", v->t.vm, v->t.dev);
            gw_viewer_close_like_link(v, v->follow_code, "the VM's console is gone from its host");
        }
        return;
    }
    if (v->redis_pending)
        return;
    const char *argv[] = {v->t.vm, v->t.dev};
    if (vg_redis_eval(v->g->redis, gw_lua(v->g, "console_lookup"), follow_lookup_cb, v, 0, 2, argv,
                      NULL) == VG_OK)
        v->redis_pending = 1;
}

/* Looks for the VM on another host for FOLLOW_MS; the browser stays connected meanwhile and
 * what it types waits in its queue. */
void gw_follow_start(gw_viewer *v, int code)
{
    if (v->following)
        return;
    v->following = 1;
    v->follow_code = code;
    v->gone_since = 0;
    v->follow_deadline = vg_mono_ms() + FOLLOW_MS;
    ev_timer_init(&v->follow_timer, follow_tick, 0., FOLLOW_POLL_S);
    v->follow_timer.data = v;
    ev_timer_start(v->g->loop, &v->follow_timer);
}

void gw_follow_link_gone(gw_viewer *v, const char *why)
{
    ev_timer_stop(v->g->loop, &v->link_timer);
    v->link = NULL;
    v->link_up = 0;
    v->link_host[0] = '\0';
    if (v->browser && !v->close_code && !v->following) {
        /* A console that left its host (4004) may have moved with its VM (migration). */
        if (v->link_close_code == 4004 && v->attached)
            gw_follow_start(v, 4004);
        else
            gw_viewer_close_like_link(v, v->link_close_code, why);
    }
    gw_viewer_maybe_free(v);
}
