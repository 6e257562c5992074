#include "console/ringread.h"

#include "console/holder_int.h"
#include "vg_bytes.h"
#include "vg_log.h"

#include <stdlib.h>
#include <string.h>

typedef struct rr_watcher rr_watcher;

typedef struct rr_read {
    rpc_call *call;
    rr_watcher *w;
    uint64_t at; /* the offset asked for, clamped into the ring as it was */
    int text;
    int connected; /* the console's connection when the read began */
    ev_timer deadline;
    struct rr_read *next;
} rr_read;

struct rr_watcher {
    console_viewer v; /* first: the viewer's wake finds the watcher */
    ev_timer idle;
    ev_timer kick;
    rr_read *reads;
    rr_watcher *next;
};

static rr_watcher *watchers;

static struct ev_loop *loop(void)
{
    return hd_console_cfg()->loop;
}

unsigned char *hd_ringread_copy(const vg_ring *r, uint64_t off, size_t n)
{
    unsigned char *buf = malloc(n ? n : 1);
    for (size_t got = 0; buf && got < n;) {
        const unsigned char *p;
        size_t k = vg_ring_peek(r, off + got, n - got, &p);
        memcpy(buf + got, p, k);
        got += k;
    }
    return buf;
}

cJSON *hd_ringread_answer(const console *c, long long offset, int text)
{
    const vg_ring *r = &c->ring;
    uint64_t at = offset < 0 ? r->start : (uint64_t)offset;
    uint64_t asked = at;
    uint64_t gap = vg_ring_clamp(r, &at);
    uint64_t avail = r->end - at;
    size_t max = text ? RINGREAD_TEXT_MAX : RINGREAD_MAX;
    size_t n = (size_t)(avail < max ? avail : max);
    unsigned char *bytes = hd_ringread_copy(r, at, n);
    char *data = !bytes ? NULL : text ? vg_utf8_text(bytes, n) : vg_base64_encode(bytes, n);
    free(bytes);
    cJSON *res = data ? cJSON_CreateObject() : NULL;
    if (!res) {
        free(data);
        return NULL;
    }
    cJSON_AddNumberToObject(res, "offset", (double)at);
    cJSON_AddNumberToObject(res, "next", (double)(at + n));
    cJSON_AddNumberToObject(res, "start", (double)r->start);
    cJSON_AddNumberToObject(res, "end", (double)r->end);
    if (gap && asked < r->start) {
        cJSON *g = cJSON_AddObjectToObject(res, "gap");
        cJSON_AddNumberToObject(g, "from", (double)asked);
        cJSON_AddNumberToObject(g, "to", (double)r->start);
    } else {
        cJSON_AddNullToObject(res, "gap");
    }
    cJSON_AddStringToObject(res, text ? "text" : "data_b64", data);
    cJSON_AddBoolToObject(res, "connected", c->connected);
    free(data);
    return res;
}

static void reply(rpc_call *call, const console *c, long long offset, int text)
{
    cJSON *res = hd_ringread_answer(c, offset, text);
    if (!res) {
        vg_err err;
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        hd_rpc_fail(call, &err);
        return;
    }
    hd_rpc_reply(call, res);
}

/* ---- watchers and held reads ---- */

static void touch(rr_watcher *w)
{
    ev_timer_stop(loop(), &w->idle);
    ev_timer_set(&w->idle, RINGREAD_HOLD_S, 0);
    ev_timer_start(loop(), &w->idle);
}

static void read_unlink(rr_read *rd)
{
    for (rr_read **pp = &rd->w->reads; *pp; pp = &(*pp)->next)
        if (*pp == rd) {
            *pp = rd->next;
            break;
        }
    ev_timer_stop(loop(), &rd->deadline);
    touch(rd->w);
    free(rd);
}

/* Answers rd from the ring as it is now (empty when nothing is new) and forgets it. */
static void read_answer(rr_read *rd)
{
    reply(rd->call, rd->w->v.con, (long long)rd->at, rd->text);
    read_unlink(rd);
}

static int read_due(const rr_read *rd)
{
    const console *c = rd->w->v.con;
    return c->ring.end > rd->at || c->ring.start > rd->at || c->connected != rd->connected;
}

static void watcher_free(rr_watcher *w)
{
    vg_err err;
    vg_fail(&err, VG_E_UNAVAILABLE, "the console went away");
    while (w->reads) {
        rr_read *rd = w->reads;
        w->reads = rd->next;
        ev_timer_stop(loop(), &rd->deadline);
        hd_rpc_fail(rd->call, &err);
        free(rd);
    }
    hd_console_detach(&w->v);
    ev_timer_stop(loop(), &w->idle);
    ev_timer_stop(loop(), &w->kick);
    for (rr_watcher **pp = &watchers; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    free(w);
}

/* Deferred from the wake: the console may be in the middle of walking its viewer list. */
static void on_kick(struct ev_loop *l, ev_timer *t, int revents)
{
    (void)l;
    (void)revents;
    rr_watcher *w = t->data;
    if (!w->v.con) {
        watcher_free(w);
        return;
    }
    rr_read *next;
    for (rr_read *rd = w->reads; rd; rd = next) {
        next = rd->next;
        if (read_due(rd))
            read_answer(rd);
    }
}

static void on_wake(console_viewer *v)
{
    rr_watcher *w = (rr_watcher *)v;
    if (!ev_is_active(&w->kick)) {
        ev_timer_set(&w->kick, 0, 0);
        ev_timer_start(loop(), &w->kick);
    }
}

static void on_idle(struct ev_loop *l, ev_timer *t, int revents)
{
    (void)l;
    (void)revents;
    rr_watcher *w = t->data;
    if (!w->reads)
        watcher_free(w);
}

static void on_deadline(struct ev_loop *l, ev_timer *t, int revents)
{
    (void)l;
    (void)revents;
    rr_read *rd = t->data;
    if (rd->w->v.con)
        read_answer(rd);
}

static rr_watcher *watcher_of(console *c, const char *user, vg_err *err)
{
    rr_watcher *w = watchers;
    while (w && (w->v.con != c || strcmp(w->v.user, user) != 0))
        w = w->next;
    if (w)
        return w;
    if (!(w = calloc(1, sizeof(*w)))) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    w->v.wake = on_wake;
    ev_init(&w->idle, on_idle); /* before the attach, which wakes every viewer */
    ev_init(&w->kick, on_kick);
    w->idle.data = w->kick.data = w;
    if (hd_console_attach(c, &w->v, user, 0, 0, "end", err) != VG_OK) {
        ev_timer_stop(loop(), &w->kick);
        free(w);
        return NULL;
    }
    w->next = watchers;
    watchers = w;
    vg_info("ringread", "%s/%s: API watcher of %s (viewer %s)", c->vm, c->dev, user, w->v.id);
    return w;
}

void hd_ringread_wait(rpc_call *call, console *c, const char *user, long long offset, int text,
                      long wait_ms)
{
    uint64_t at = offset < 0 ? c->ring.start : (uint64_t)offset;
    vg_err err;
    if (wait_ms <= 0 || at < c->ring.start || at < c->ring.end) {
        reply(call, c, offset, text);
        return;
    }
    rr_watcher *w = watcher_of(c, user, &err);
    rr_read *rd = w ? calloc(1, sizeof(*rd)) : NULL;
    if (!rd) {
        if (w)
            vg_fail(&err, VG_E_INTERNAL, "out of memory");
        hd_rpc_fail(call, &err);
        return;
    }
    rd->call = call;
    rd->w = w;
    rd->at = c->ring.end; /* an offset past the end reads from the end */
    rd->text = text;
    rd->connected = c->connected;
    ev_timer_init(&rd->deadline, on_deadline, (double)wait_ms / 1000.0, 0);
    rd->deadline.data = rd;
    ev_timer_start(loop(), &rd->deadline);
    rd->next = w->reads;
    w->reads = rd;
    ev_timer_stop(loop(), &w->idle);
}

void hd_ringread_free_all(void)
{
    while (watchers)
        watcher_free(watchers);
}
