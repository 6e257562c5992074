/* console.watch and console.unwatch (C10, docs/api.md "console.watch"): a console's output
 * pushed to an API WebSocket as `console.output` events, the same bytes at the same offsets as
 * console.read and a browser viewer get.
 *
 * A watch is a chain of held reads on the VM's hostd (console.read with wait_ms, answered as
 * soon as there is output: hostd/console/ringread.h), one at a time, over the host's one RPC
 * link; each answer is pushed, then the next read starts where it ended. So the stream is
 * the ring's, GAP included, and a client that does not keep up is never buffered without end:
 * while more than WATCH_BACKLOG bytes wait unsent to it, no read is made, and what the ring
 * overwrites meanwhile arrives as a gap. Before a push the caller is authorized again and the VM
 * looked up, at least every WATCH_RECHECK_MS: a session or membership that ended ends the watch,
 * and a VM that migrated is followed to its new host with offsets kept contiguous (as a browser's
 * are). */
#include "api/methods/api_vm.h"

#include "vg_log.h"
#include "vg_util.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_MAX 16              /* per connection */
#define WATCH_WAIT_MS 20000L      /* how long one read is held on hostd */
#define WATCH_RPC_SLACK_MS 10000L /* beyond it, for the link */
#define WATCH_BACKLOG (1024 * 1024)
#define WATCH_RETRY_S 1.0 /* after an unreachable host, before asking again where the VM is */
#define WATCH_RETRIES 30  /* then the watch ends */
#define WATCH_DRAIN_S 0.02
#define WATCH_RECHECK_MS 1000 /* authorization and the VM's host, read again at most this often */

static const gw_field watch_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"dev", GW_F_NAME, 0, 0, 0, NULL, "the console device (default serial0)"},
    {"offset", GW_F_INT, 0, 0, 9007199254740992LL, NULL,
     "first byte wanted (default: the oldest the ring holds)"},
    {"encoding", GW_F_ENUM, 0, 0, 0, "base64|text",
     "data_b64 (exact bytes, the default) or text (UTF-8, invalid bytes as U+FFFD)"},
    {NULL},
};

static const gw_field unwatch_params[] = {
    {"watch", GW_F_STRING, GW_F_REQUIRED, 1, 32, NULL, "the id console.watch answered"},
    {NULL},
};

typedef struct watch {
    gw_call_stream stream; /* first: the owner's list points here */
    gw *g;
    gw_call_owner *owner; /* NULL once the connection closed */
    char id[24];
    char vm[65], dev[32], user[65], token_hash[65];
    char host[65];
    int text;
    long long offset;  /* the next host offset to read; -1: the oldest the ring holds */
    uint64_t delta;    /* client offset = host offset + delta, after a migration */
    uint64_t next_out; /* client offset after the last push */
    int pushed;        /* something was pushed (next_out is meaningful) */
    int rebase;        /* the next answer comes from a new host: set delta from it */
    int busy;          /* a lookup or read is in flight: it frees the watch if stopped */
    int stopped;
    int retries;
    int connected;      /* as last pushed */
    int64_t checked_ms; /* when the caller was last authorized and the VM looked up */
    cJSON *answer;      /* the read being pushed, between its answer and its authorization */
    ev_timer timer;
} watch;

static unsigned long watch_seq;

static void watch_free(watch *w)
{
    ev_timer_stop(w->g->loop, &w->timer);
    cJSON_Delete(w->answer);
    free(w);
}

/* The connection closed, or console.unwatch: the watch ends silently. */
static void watch_stop(gw_call_stream *s)
{
    watch *w = (watch *)s;
    w->owner = NULL;
    w->stopped = 1;
    if (!w->busy)
        watch_free(w);
}

/* The watch cannot go on: the client is told why, once. */
static void watch_end(watch *w, const vg_err *err)
{
    if (w->owner) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "watch", w->id);
        cJSON_AddStringToObject(d, "vm", w->vm);
        cJSON_AddStringToObject(d, "dev", w->dev);
        cJSON_AddStringToObject(d, "code", vg_err_code_name(err->code));
        cJSON_AddStringToObject(d, "message", err->msg);
        w->owner->push(w->owner->priv, "console.watch.ended", d);
        gw_call_stream_remove(w->owner, &w->stream);
    }
    vg_info("api", "watch %s of %s on %s/%s ended: %s", w->id, w->user, w->vm, w->dev, err->msg);
    watch_free(w);
}

static void read_next(watch *w);

/* After a callback: 1 when the watch is to go on, else it has been freed. */
static int still_wanted(watch *w)
{
    w->busy = 0;
    if (w->stopped) {
        watch_free(w);
        return 0;
    }
    return 1;
}

static void add_offset(cJSON *o, const char *name, const cJSON *host_value, uint64_t delta)
{
    cJSON_AddNumberToObject(o, name, (double)((uint64_t)host_value->valuedouble + delta));
}

/* Pushes the read's answer (w->answer) with the client's offsets: output, a gap, or a change
 * of the console's connection; a held read that ended with nothing new is not pushed. */
static void deliver(watch *w)
{
    cJSON *a = w->answer;
    w->answer = NULL;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(a, "offset");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(a, "next");
    const cJSON *gap = cJSON_GetObjectItemCaseSensitive(a, "gap");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(gap, "from");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(gap, "to");
    int connected = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "connected"));
    const char *key = w->text ? "text" : "data_b64";
    if (!cJSON_IsNumber(off) || !cJSON_IsNumber(next) ||
        (cJSON_IsObject(gap) && (!cJSON_IsNumber(from) || !cJSON_IsNumber(to)))) {
        vg_warn("api", "watch %s: hostd %s answered a read without offsets", w->id, w->host);
        cJSON_Delete(a);
        return;
    }
    if (w->rebase) {
        /* The new host's stream continues the old one for the client (protocol.md §2); what
         * the new host lost before the client came is not the client's gap. */
        w->delta = w->pushed ? w->next_out - (uint64_t)off->valuedouble : 0;
        w->rebase = 0;
        gap = NULL;
    }
    w->offset = (long long)next->valuedouble;
    int empty = next->valuedouble == off->valuedouble && !cJSON_IsObject(gap);
    if (!empty || !w->pushed || connected != w->connected) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "watch", w->id);
        cJSON_AddStringToObject(d, "vm", w->vm);
        cJSON_AddStringToObject(d, "dev", w->dev);
        add_offset(d, "offset", off, w->delta);
        add_offset(d, "next", next, w->delta);
        if (cJSON_IsObject(gap)) {
            cJSON *g = cJSON_AddObjectToObject(d, "gap");
            add_offset(g, "from", from, w->delta);
            add_offset(g, "to", to, w->delta);
        } else {
            cJSON_AddNullToObject(d, "gap");
        }
        cJSON *data = cJSON_DetachItemFromObjectCaseSensitive(a, key);
        cJSON_AddItemToObject(d, key, data ? data : cJSON_CreateString(""));
        cJSON_AddBoolToObject(d, "connected", connected);
        w->owner->push(w->owner->priv, "console.output", d);
        w->next_out = (uint64_t)next->valuedouble + w->delta;
        w->pushed = 1;
        w->connected = connected;
    }
    cJSON_Delete(a);
}

static void lookup_cb(void *priv, const gw_vmlookup_found *f, const vg_err *err)
{
    watch *w = priv;
    if (!still_wanted(w))
        return;
    if (err) {
        watch_end(w, err);
        return;
    }
    /* The caller may still see the console: what the last read got is theirs. */
    w->checked_ms = vg_mono_ms();
    if (w->answer)
        deliver(w);
    const gw_vminfo *vi = f->vi;
    if (!vi->host[0] || !vi->host_up) {
        vg_err e;
        vg_fail(&e, VG_E_UNAVAILABLE, "the host of VM %s is down", w->vm);
        if (++w->retries > WATCH_RETRIES) {
            watch_end(w, &e);
            return;
        }
        ev_timer_set(&w->timer, WATCH_RETRY_S, 0);
        ev_timer_start(w->g->loop, &w->timer);
        return;
    }
    if (strcmp(w->host, vi->host) != 0) {
        /* Migrated: the new host's console from its end. */
        vg_info("api", "watch %s follows %s from %s to %s", w->id, w->vm, w->host, vi->host);
        w->rebase = 1;
        w->offset = 9007199254740992LL;
        snprintf(w->host, sizeof(w->host), "%s", vi->host);
    }
    read_next(w);
}

/* Asks Redis again who may see the VM and where it is. */
static void lookup(watch *w)
{
    w->busy = 1;
    gw_vmlookup(w->g, w->token_hash, w->vm, "console.watch", GW_LEVEL_VIEWER, lookup_cb, w);
}

static void read_cb(void *priv, const cJSON *result, const vg_err *err)
{
    watch *w = priv;
    if (!still_wanted(w))
        return;
    if (err) {
        if (err->code != VG_E_UNAVAILABLE && err->code != VG_E_NOT_FOUND) {
            watch_end(w, err);
            return;
        }
        /* The host went away, or no longer holds the console: where is the VM now? */
        if (++w->retries > WATCH_RETRIES) {
            watch_end(w, err);
            return;
        }
        ev_timer_set(&w->timer, WATCH_RETRY_S, 0);
        ev_timer_start(w->g->loop, &w->timer);
        return;
    }
    w->retries = 0;
    w->answer = cJSON_Duplicate(result, 1);
    if (vg_mono_ms() - w->checked_ms < WATCH_RECHECK_MS) {
        /* Checked a moment ago: a fast console is not two scripts per 64 KiB. */
        deliver(w);
        read_next(w);
        return;
    }
    lookup(w);
}

static void read_next(watch *w)
{
    if (w->owner->backlog(w->owner->priv) > WATCH_BACKLOG) {
        ev_timer_set(&w->timer, WATCH_DRAIN_S, 0);
        ev_timer_start(w->g->loop, &w->timer);
        return;
    }
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "vm", w->vm);
    cJSON_AddStringToObject(p, "dev", w->dev);
    cJSON_AddStringToObject(p, "user", w->user);
    if (w->offset >= 0)
        cJSON_AddNumberToObject(p, "offset", (double)w->offset);
    cJSON_AddStringToObject(p, "encoding", w->text ? "text" : "base64");
    /* The first read answers at once, so the client has the ring's content without waiting. */
    cJSON_AddNumberToObject(p, "wait_ms", w->pushed ? (double)WATCH_WAIT_MS : 0);
    w->busy = 1;
    gw_hostrpc_call(w->g, w->host, "console.read", p, WATCH_WAIT_MS + WATCH_RPC_SLACK_MS, read_cb,
                    w);
    cJSON_Delete(p);
}

/* A retry asks again where the VM is; a drained client gets the next read. */
static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    watch *w = t->data;
    if (w->retries)
        lookup(w);
    else
        read_next(w);
}

static size_t watch_count(const gw_call_owner *o)
{
    size_t n = 0;
    for (const gw_call_stream *s = o->streams; s; s = s->next)
        n += s->stop == watch_stop;
    return n;
}

static void watch_step(gw_vmcall *v)
{
    gw_call *c = v->c;
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    if (!c->owner) /* the client left while the VM was read */
        return;
    if (watch_count(c->owner) >= WATCH_MAX) {
        gw_call_fail(c, VG_E_CONFLICT, "this connection watches %d consoles already; unwatch one",
                     WATCH_MAX);
        return;
    }
    watch *w = calloc(1, sizeof(*w));
    if (!w) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    w->stream.stop = watch_stop;
    w->g = c->g;
    w->owner = c->owner;
    snprintf(w->id, sizeof(w->id), "w%lu", ++watch_seq);
    snprintf(w->vm, sizeof(w->vm), "%s", v->vm);
    snprintf(w->dev, sizeof(w->dev), "%s", gw_param_str(c, "dev", "serial0"));
    snprintf(w->user, sizeof(w->user), "%s", c->user);
    snprintf(w->token_hash, sizeof(w->token_hash), "%s", c->token_hash);
    snprintf(w->host, sizeof(w->host), "%s", v->vi.host);
    w->text = strcmp(gw_param_str(c, "encoding", "base64"), "text") == 0;
    w->offset = gw_param_int(c, "offset", -1);
    ev_timer_init(&w->timer, on_timer, 0, 0);
    w->timer.data = w;
    gw_call_stream_add(c->owner, &w->stream);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "watch", w->id);
    cJSON_AddStringToObject(o, "vm", w->vm);
    cJSON_AddStringToObject(o, "dev", w->dev);
    gw_call_succeed(c, o);
    read_next(w);
}

static void run_watch(gw_call *c)
{
    gw_vmcall_run(c, watch_step);
}

static void run_unwatch(gw_call *c)
{
    const char *id = gw_param_str(c, "watch", "");
    for (gw_call_stream *s = c->owner ? c->owner->streams : NULL; s; s = s->next) {
        watch *w = (watch *)s;
        if (s->stop == watch_stop && strcmp(w->id, id) == 0) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "watch", w->id);
            cJSON_AddNumberToObject(o, "next", w->pushed ? (double)w->next_out : 0);
            gw_call_stream_remove(c->owner, s);
            watch_stop(s);
            gw_call_succeed(c, o);
            return;
        }
    }
    gw_call_fail(c, VG_E_NOT_FOUND, "no watch %s on this connection", id);
}

const gw_method gw_api_watch_methods[] = {
    {"console.watch", GW_SCOPE_VM, GW_LEVEL_VIEWER, GW_M_WS_ONLY | GW_M_AUDITED, watch_params, NULL,
     run_watch},
    {"console.unwatch", GW_SCOPE_SELF, GW_LEVEL_VIEWER, GW_M_WS_ONLY, unwatch_params, NULL,
     run_unwatch},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
