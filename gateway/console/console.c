#include "console/console.h"

#include "net/clientaddr.h"
#include "net/apiws.h"
#include "core/audit.h"
#include "core/auth.h"
#include "net/keepalive.h"
#include "backend/hostlink.h"
#include "vg_redis.h"
#include "vg_frame.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_util.h"
#include "net/wsq.h"

#include <cjson/cJSON.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Client input waiting for the link; past this the browser's socket is no longer read. */
#define UP_QUEUE_MAX 65536
/* hostd frames are small (one ring read each); anything bigger means a broken peer. */
#define LINK_MSG_MAX (4 * 1024 * 1024)
/* A viewer whose VM left its host looks for the VM's new host this long, this often (M7). */
/* A hostd whose link is not up within this is unavailable to the browser. */
#define LINK_ANSWER_S 10.
#define FOLLOW_MS 30000
#define FOLLOW_POLL_S 0.25
/* ... but gives up sooner once no host has had the VM for this long (it was deleted). */
#define FOLLOW_GONE_MS 5000

/* One browser attachment and its link. Both connections point here; it lives until both have
 * closed and no Redis reply is outstanding, so neither side ever touches a freed wsi. */
struct gw_viewer {
    gw *g;
    gw_viewer *next, *prev;
    struct lws *browser; /* NULL once closed */
    struct lws *link;    /* NULL before connecting and once closed */
    int link_up;         /* link handshake done */
    int link_closing;
    int redis_pending;
    gw_console_query q;
    gw_ticket t;           /* what the ticket opens; empty until it has been redeemed */
    uint64_t revoked_mark; /* g->revoked.count when the ticket was sent to be redeemed */
    char addr[64];
    gw_wsq down; /* to the browser */
    gw_wsq up;   /* to hostd */
    int browser_paused;
    int link_paused;
    /* Output dropped because the browser is not keeping up: [skip_from, skip_to) becomes one
     * GAP frame once its queue has drained. */
    int skipping;
    uint64_t skip_from, skip_to;
    gw_wsbuf rx_browser, rx_link;
    int close_code; /* close the browser with this once the queue to it is empty */
    char close_reason[64];
    int link_close_code; /* what hostd closed the link with */
    gw_keepalive ka;     /* of the browser connection */
    int audited;         /* the attach is on record, so the detach goes there too */
    char host[65];       /* the host the established link goes to */
    char link_host[65];  /* the host a link is being made to ("" when none) */
    int attached;        /* hostd said hello on the link */
    int console_down;    /* hostd does not hold the VM's socket: input waits in `up` */
    int64_t viewer_id;   /* hostd's id of this viewer, and whether it holds the write lock */
    int writer;
    /* Following the VM to another host (migration): the browser stays connected while the
     * link is rebuilt to the new host; the new host's offsets differ, so every offset the
     * browser receives is shifted by delta to keep its stream contiguous. */
    int following;
    int follow_code; /* what the link closed with; the browser gets it if the VM never shows up */
    int64_t follow_deadline;
    int64_t gone_since; /* while following: since when no host reports the VM (0: one does) */
    ev_timer follow_timer;
    ev_timer link_timer; /* a link not up by LINK_ANSWER_S means the host is unavailable */
    int moved;           /* the new host's hello becomes a `state` frame */
    int rebase;          /* the next binary frame from the new host sets delta */
    uint64_t delta;      /* browser offset = host offset + delta (mod 2^64) */
    uint64_t next_out;   /* browser offset right after the last frame it was sent */
};

typedef struct browser_pss {
    gw_viewer *v;
} browser_pss;

/* ---- query string ---- */

static int copy_value(char *dst, size_t size, const char *v, size_t n)
{
    if (n >= size)
        return VG_ERR;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return VG_OK;
}

static int valid_offset(const char *s)
{
    if (!strcmp(s, "ring") || !strcmp(s, "end"))
        return 1;
    size_t n = strlen(s);
    if (n == 0 || n > 20)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    /* u64 max is 18446744073709551615 (20 digits). */
    return n < 20 || strcmp(s, "18446744073709551615") <= 0;
}

int gw_console_parse_query(const char *query, size_t len, gw_console_query *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    strcpy(out->offset, "ring");
    const char *p = query, *end = query + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        const char *key = p, *val = eq ? eq + 1 : e;
        size_t klen = (size_t)((eq ? eq : e) - p), vlen = (size_t)(e - val);
        if (klen == 6 && !memcmp(key, "ticket", 6)) {
            if (!gw_auth_valid_token(val, vlen))
                return vg_fail(err, VG_E_UNAUTHORIZED, "ticket is malformed");
            copy_value(out->ticket, sizeof(out->ticket), val, vlen);
        } else if (klen == 6 && !memcmp(key, "offset", 6)) {
            if (copy_value(out->offset, sizeof(out->offset), val, vlen) != VG_OK ||
                !valid_offset(out->offset))
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "offset must be ring, end or a decimal byte offset");
        } else if (klen == 4 && !memcmp(key, "take", 4)) {
            if (vlen != 1 || (val[0] != '0' && val[0] != '1'))
                return vg_fail(err, VG_E_BAD_REQUEST, "take must be 0 or 1");
            out->take = val[0] == '1';
        }
        p = e + 1;
    }
    if (!out->ticket[0])
        return vg_fail(err, VG_E_UNAUTHORIZED, "a ticket is required (API method console.ticket)");
    return VG_OK;
}

/* ---- viewer lifetime ---- */

static void viewer_maybe_free(gw_viewer *v)
{
    if (v->browser || v->link || v->redis_pending)
        return;
    ev_timer_stop(v->g->loop, &v->follow_timer);
    ev_timer_stop(v->g->loop, &v->link_timer);
    if (v->prev)
        v->prev->next = v->next;
    else
        v->g->viewers = v->next;
    if (v->next)
        v->next->prev = v->prev;
    gw_wsq_clear(&v->down);
    gw_wsq_clear(&v->up);
    gw_wsbuf_free(&v->rx_browser);
    gw_wsbuf_free(&v->rx_link);
    free(v);
}

/* Queues a control message for the browser. */
static void send_control(gw_viewer *v, cJSON *msg)
{
    char *text = msg ? cJSON_PrintUnformatted(msg) : NULL;
    cJSON_Delete(msg);
    if (text && v->browser) {
        gw_wsq_push(&v->down, text, strlen(text), 0);
        lws_callback_on_writable(v->browser);
    }
    free(text);
}

static void send_error(gw_viewer *v, vg_err_code code, const char *message)
{
    cJSON *m = cJSON_CreateObject();
    if (m) {
        cJSON_AddStringToObject(m, "type", "error");
        cJSON_AddStringToObject(m, "code", vg_err_code_name(code));
        cJSON_AddStringToObject(m, "message", message);
    }
    send_control(v, m);
}

/* Console attach, detach and take-over go to the audit trail (M13). */
static void audit(gw_viewer *v, const char *method)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "dev=%s mode=%s", v->t.dev, v->t.mode);
    gw_audit_entry e = {.kind = "console",
                        .user = v->t.user,
                        .addr = v->addr,
                        .method = method,
                        .vm = v->t.vm,
                        .project = v->t.project,
                        .result = "ok",
                        .detail = detail};
    gw_audit(v->g, &e);
}

/* Ends the browser side once what is queued for it has been written. */
static void close_browser(gw_viewer *v, int code, const char *reason)
{
    if (!v->browser || v->close_code)
        return;
    v->close_code = code;
    snprintf(v->close_reason, sizeof(v->close_reason), "%s", reason);
    if (v->browser_paused) {
        lws_rx_flow_control(v->browser, 1);
        v->browser_paused = 0;
    }
    lws_callback_on_writable(v->browser);
}

static void fail_browser(gw_viewer *v, vg_err_code code, const char *message, int close_code)
{
    send_error(v, code, message);
    close_browser(v, close_code, vg_err_code_name(code));
}

static void close_link(gw_viewer *v)
{
    if (!v->link || v->link_closing)
        return;
    v->link_closing = 1;
    if (v->link_up)
        lws_callback_on_writable(v->link);
    else
        lws_set_timeout(v->link, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

/* ---- attach: ticket, registry, link ---- */

static void link_gone(gw_viewer *v, const char *why);

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
    link_gone(v, "the VM's host does not answer");
}

static int connect_link(gw_viewer *v, const char *link_url)
{
    char path[400];
    snprintf(path, sizeof(path), "/link/console?vm=%s&dev=%s&mode=%s&user=%s&offset=%s%s", v->t.vm,
             v->t.dev, v->t.mode, v->t.user, v->q.offset, v->q.take ? "&take=1" : "");
    if (gw_link_connect(v->g, link_url, path, GW_CONSOLE_PROTOCOL, GW_LINK_PROTOCOL, v, &v->link) !=
        VG_OK)
        return VG_ERR;
    ev_timer_stop(v->g->loop, &v->link_timer);
    ev_timer_init(&v->link_timer, link_answer_timeout, LINK_ANSWER_S, 0.);
    v->link_timer.data = v;
    ev_timer_start(v->g->loop, &v->link_timer);
    return VG_OK;
}

static void lookup_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_viewer *v = priv;
    v->redis_pending = 0;
    if (!v->browser || v->close_code) {
        viewer_maybe_free(v);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        fail_browser(v, VG_E_UNAVAILABLE, "the registry is not reachable", 4503);
        return;
    }
    long long kind = reply->element[0]->integer;
    if (kind == 0 || kind == 1 || reply->elements < 4) {
        char msg[160];
        snprintf(msg, sizeof(msg), kind == 0 ? "VM %s is not known" : "VM %s has no console %s",
                 v->t.vm, v->t.dev);
        fail_browser(v, VG_E_NOT_FOUND, msg, 4004);
        return;
    }
    const redisReply *host = reply->element[1], *link = reply->element[2],
                     *alive = reply->element[3];
    if (link->type != REDIS_REPLY_STRING || !link->len || alive->type != REDIS_REPLY_INTEGER ||
        alive->integer != 1) {
        char msg[160];
        snprintf(msg, sizeof(msg), "host %s of VM %s is down",
                 host->type == REDIS_REPLY_STRING ? host->str : "?", v->t.vm);
        fail_browser(v, VG_E_UNAVAILABLE, msg, 4503);
        return;
    }
    snprintf(v->link_host, sizeof(v->link_host), "%s", host->str);
    if (connect_link(v, link->str) != VG_OK && !v->close_code) {
        vg_warn("console", "cannot connect to hostd at %s for %s/%s", link->str, v->t.vm, v->t.dev);
        fail_browser(v, VG_E_UNAVAILABLE, "the VM's host cannot be reached", 4503);
    }
}

/* The console's ticket is worth nothing any more: its session ended or its user lost access.
 * Both ways of learning it, a vg:sessions message while the console is open and one that came
 * in while its ticket was being redeemed, close it here. */
static void access_ended(gw_viewer *v, gw_revoked_kind kind)
{
    int session = kind == GW_REVOKED_SESSION;
    vg_info("console", "closing %s/%s of user %s: %s", v->t.vm, v->t.dev, v->t.user,
            session ? "the session ended" : "access ended");
    fail_browser(v, VG_E_UNAUTHORIZED,
                 session ? "the session that opened this console ended"
                         : "your access to this console ended",
                 4001);
}

static void ticket_cb(vg_redis *r, redisReply *reply, void *priv)
{
    gw_viewer *v = priv;
    v->redis_pending = 0;
    if (!v->browser || v->close_code) {
        viewer_maybe_free(v);
        return;
    }
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fail_browser(v, VG_E_UNAVAILABLE, "the ticket store is not reachable", 4503);
        return;
    }
    vg_err err;
    if (gw_ticket_redeem(reply, &v->t, &err) != VG_OK) {
        vg_info("console", "refused a console from %s: %s", v->addr, err.msg);
        if (err.code == VG_E_NOT_FOUND)
            fail_browser(v, err.code, err.msg, 4004);
        else
            fail_browser(v, VG_E_UNAUTHORIZED, err.msg, 4001);
        return;
    }
    /* From here on session_ended_cb finds this console by its user and session. What it
     * handled while the ticket was on its way is looked at now, so no revocation made after
     * the redemption in Redis is missed. */
    gw_revoked_kind k = gw_revoked_since(&v->g->revoked, v->revoked_mark, v->t.user, v->t.session);
    if (k != GW_REVOKED_NONE) {
        access_ended(v, k);
        return;
    }
    vg_info("console", "user %s attaches to %s/%s (%s) from %s", v->t.user, v->t.vm, v->t.dev,
            v->t.mode, v->addr);
    audit(v, "attach");
    v->audited = 1;
    if (v->q.take && !strcmp(v->t.mode, "rw"))
        audit(v, "take");
    const char *argv[] = {v->t.vm, v->t.dev};
    if (vg_redis_eval(r, gw_lua(v->g, "console_lookup"), lookup_cb, v, 0, 2, argv, NULL) != VG_OK) {
        fail_browser(v, VG_E_UNAVAILABLE, "the registry is not reachable", 4503);
        return;
    }
    v->redis_pending = 1;
}

static void attach(gw_viewer *v, struct lws *wsi)
{
    char query[512] = "", frag[160];
    size_t qlen = 0;
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0;
         i++) {
        size_t n = strlen(frag);
        if (qlen + n + 2 > sizeof(query))
            break;
        if (qlen)
            query[qlen++] = '&';
        memcpy(query + qlen, frag, n + 1);
        qlen += n;
    }
    vg_err err;
    if (gw_console_parse_query(query, qlen, &v->q, &err) != VG_OK) {
        fail_browser(v, err.code, err.msg, err.code == VG_E_UNAUTHORIZED ? 4001 : 1008);
        return;
    }
    char hash[65], ttl[24];
    gw_auth_sha256_hex(v->q.ticket, hash);
    snprintf(ttl, sizeof(ttl), "%ld", v->g->cfg.session_ttl);
    const char *argv[] = {hash, "ticket", "", ttl};
    v->revoked_mark = v->g->revoked.count;
    if (vg_redis_eval(v->g->redis, gw_lua(v->g, "authz"), ticket_cb, v, 0, 4, argv, NULL) !=
        VG_OK) {
        fail_browser(v, VG_E_UNAVAILABLE, "the ticket store is not reachable", 4503);
        return;
    }
    v->redis_pending = 1;
}

/* ---- browser side ---- */

static void browser_receive(gw_viewer *v, struct lws *wsi, const void *in, size_t len)
{
    int draining = gw_wsbuf_draining(&v->rx_browser);
    int rc = gw_wsbuf_add(&v->rx_browser, in, len, lws_is_first_fragment(wsi),
                          lws_is_final_fragment(wsi));
    if (draining && !gw_wsbuf_draining(&v->rx_browser))
        lws_callback_on_writable(wsi); /* the close waited for this end of a too big message */
    if (rc == VG_ERR) {
        fail_browser(v, VG_E_TOO_BIG, "message larger than 65536 bytes", 1009);
        return;
    }
    if (rc == 0 || v->close_code)
        return;
    int binary = lws_frame_is_binary(wsi);
    vg_msg msg;
    vg_err err;
    if (vg_frame_parse_client(binary, v->rx_browser.msg, v->rx_browser.msg_len, &msg, &err) !=
        VG_OK) {
        gw_wsbuf_reset(&v->rx_browser);
        if (err.code == VG_E_TOO_BIG)
            fail_browser(v, err.code, err.msg, 1009);
        else
            send_error(v, err.code, err.msg);
        return;
    }
    if (msg.kind == VG_MSG_TAKE && !strcmp(v->t.mode, "rw"))
        audit(v, "take");
    gw_wsq_push(&v->up, v->rx_browser.msg, v->rx_browser.msg_len, binary);
    gw_wsbuf_reset(&v->rx_browser);
    if (v->up.bytes >= UP_QUEUE_MAX && !v->browser_paused) {
        lws_rx_flow_control(wsi, 0);
        v->browser_paused = 1;
    }
    if (v->link && v->link_up)
        lws_callback_on_writable(v->link);
}

static int browser_writeable(gw_viewer *v, struct lws *wsi)
{
    if (v->down.head) {
        if (gw_wsq_write(&v->down, wsi) < 0)
            return -1;
        if (v->down.bytes <= (size_t)v->g->cfg.viewer_queue / 2) {
            if (v->skipping) {
                unsigned char gap[VG_FRAME_GAP_LEN];
                vg_frame_gap(gap, v->skip_from, v->skip_to);
                gw_wsq_push(&v->down, gap, sizeof(gap), 1);
                v->skipping = 0;
            }
            if (v->link_paused) {
                v->link_paused = 0;
                if (v->link)
                    lws_rx_flow_control(v->link, 1);
            }
        }
        if (v->down.head || (v->close_code && !gw_wsbuf_draining(&v->rx_browser)))
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (v->close_code && !gw_wsbuf_draining(&v->rx_browser)) {
        lws_close_reason(wsi, (enum lws_close_status)v->close_code,
                         (unsigned char *)v->close_reason, strlen(v->close_reason));
        return -1;
    }
    return 0;
}

static int browser_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len)
{
    browser_pss *pss = user;
    gw *g = gw_from_wsi(wsi);
    gw_viewer *v = pss ? pss->v : NULL;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        v = calloc(1, sizeof(*v));
        if (!v)
            return -1;
        v->g = g;
        v->browser = wsi;
        v->rx_browser.limit = VG_FRAME_MAX_CLIENT;
        v->rx_link.limit = LINK_MSG_MAX;
        gw_client_addr(wsi, v->addr, sizeof(v->addr));
        v->next = g->viewers;
        if (v->next)
            v->next->prev = v;
        g->viewers = v;
        pss->v = v;
        gw_keepalive_start(&v->ka);
        if (g->stopping)
            close_browser(v, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
        else
            attach(v, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (v) {
            gw_keepalive_seen(&v->ka);
            browser_receive(v, wsi, in, len);
        }
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (v)
            gw_keepalive_seen(&v->ka);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!v)
            return 0;
        int rc = gw_keepalive_write(&v->ka, wsi);
        if (rc < 0)
            return -1;
        if (rc) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        return browser_writeable(v, wsi);
    }
    case LWS_CALLBACK_CLOSED:
        if (!v)
            return 0;
        pss->v = NULL;
        v->browser = NULL;
        if (v->t.user[0])
            vg_info("console", "user %s detached from %s/%s", v->t.user, v->t.vm, v->t.dev);
        if (v->audited)
            audit(v, "detach");
        close_link(v);
        viewer_maybe_free(v);
        return 0;
    default:
        return 0;
    }
}

/* ---- following the VM to another host ---- */

/* hostd's own refusals (ticket, forbidden, unknown VM, laggard) reach the client as they are;
 * any other end of the link means "host unreachable, resume later". */
static void close_like_link(gw_viewer *v, int code, const char *why)
{
    if (code != 4001 && code != 4003 && code != 4004 && code != 4408)
        code = 4503;
    if (code == 4503)
        send_error(v, VG_E_UNAVAILABLE, why);
    close_browser(v, code, code == 4503 ? "unavailable" : "closed by host");
}

static void follow_stop(gw_viewer *v)
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
        viewer_maybe_free(v);
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
            follow_stop(v);
            close_like_link(v, v->follow_code, "the VM is gone");
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
        close_link(v); /* the old host's link goes first; the next poll connects */
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
    gw_wsbuf_reset(&v->rx_link);
    v->moved = 1;
    v->rebase = 1;
    snprintf(v->link_host, sizeof(v->link_host), "%s", host->str);
    if (connect_link(v, link->str) != VG_OK) {
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
        follow_stop(v);
        viewer_maybe_free(v);
        return;
    }
    if (vg_mono_ms() > v->follow_deadline) {
        follow_stop(v);
        if (!v->link) {
            vg_info("console", "%s/%s did not reappear on another host", v->t.vm, v->t.dev);
            close_like_link(v, v->follow_code, "the VM's console is gone from its host");
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
static void follow_start(gw_viewer *v, int code)
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

void gw_console_event(gw *g, const char *type, const cJSON *data)
{
    if (strcmp(type, "vm.migrated") != 0)
        return;
    const char *vm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "vm"));
    for (gw_viewer *v = g->viewers; vm && v; v = v->next)
        if (v->browser && !v->close_code && !strcmp(v->t.vm, vm))
            follow_start(v, 4004);
}

/* ---- link side ---- */

static void link_gone(gw_viewer *v, const char *why)
{
    ev_timer_stop(v->g->loop, &v->link_timer);
    v->link = NULL;
    v->link_up = 0;
    v->link_host[0] = '\0';
    if (v->browser && !v->close_code && !v->following) {
        /* A console that left its host (4004) may have moved with its VM (migration). */
        if (v->link_close_code == 4004 && v->attached)
            follow_start(v, 4004);
        else
            close_like_link(v, v->link_close_code, why);
    }
    viewer_maybe_free(v);
}

/* Notes what hostd says of this viewer (its id, the write lock) and, after a move, replaces the
 * new host's hello by a `state` frame: the browser's stream goes on, it does not start anew.
 * Returns 1 when the message is not to be relayed. */
static int link_control(gw_viewer *v, const unsigned char *data, size_t len)
{
    cJSON *m = vg_json_parse((const char *)data, len, NULL);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "viewer");
    int swallow = 0;
    if (type && (!strcmp(type, "hello") || !strcmp(type, "state"))) {
        /* Input for a console hostd cannot write to would be refused and lost; it waits here
         * instead (bounded by UP_QUEUE_MAX) until the VM is back, on this host or another. */
        int down = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "connected"));
        if (v->console_down && !down && v->link && v->link_up)
            lws_callback_on_writable(v->link);
        v->console_down = down;
    }
    if (type && !strcmp(type, "hello")) {
        v->attached = 1;
        v->viewer_id = cJSON_IsNumber(id) ? (int64_t)id->valuedouble : -1;
        v->writer = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "writer"));
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(m, "offset");
        if (!v->moved && cJSON_IsNumber(off))
            v->next_out = (uint64_t)off->valuedouble;
        if (v->moved) {
            v->moved = 0;
            swallow = 1;
            char reason[96];
            snprintf(reason, sizeof(reason), "migrated to %s", v->host);
            cJSON *st = cJSON_CreateObject();
            if (st) {
                cJSON_AddStringToObject(st, "type", "state");
                cJSON_AddBoolToObject(st, "connected", 1);
                cJSON_AddStringToObject(st, "reason", reason);
            }
            send_control(v, st);
        }
    } else if (type && !strcmp(type, "writer")) {
        v->writer = cJSON_IsNumber(id) && (int64_t)id->valuedouble == v->viewer_id;
    }
    cJSON_Delete(m);
    return swallow;
}

/* Queues one hostd message for the browser. When viewer_queue bytes wait, the link stops being
 * read, so hostd keeps the viewer's place in its ring and skips it ahead with a GAP if the ring
 * overtakes it. Whatever lws still delivers after that is bounded too: past twice the limit
 * the output is dropped here and replaced by one GAP once the queue has drained. */
static void relay_down(gw_viewer *v, int binary, const unsigned char *data, size_t len)
{
    size_t limit = (size_t)v->g->cfg.viewer_queue;
    if (!binary && link_control(v, data, len))
        return;
    if (!binary) {
        /* Control messages are small and rare; a viewer buried in them is closed. */
        if (v->down.bytes > 2 * limit) {
            fail_browser(v, VG_E_UNAVAILABLE, "viewer too slow", 4408);
            return;
        }
        gw_wsq_push(&v->down, data, len, 0);
        lws_callback_on_writable(v->browser);
        return;
    }
    vg_msg m;
    vg_err err;
    if (vg_frame_parse_server(1, data, len, &m, &err) != VG_OK) {
        vg_warn("console", "hostd sent a bad frame for %s/%s: %s", v->t.vm, v->t.dev, err.msg);
        return;
    }
    if (v->rebase) {
        v->delta = v->next_out - m.offset;
        v->rebase = 0;
    }
    uint64_t from = m.offset + v->delta,
             to = (m.kind == VG_MSG_GAP ? m.to : m.offset + m.len) + v->delta;
    if (v->delta) {
        /* The message lies in lws' receive buffer or in rx_link, both free to change until it
         * has been queued (which copies it). */
        unsigned char *hdr = (unsigned char *)(uintptr_t)data;
        vg_frame_put_u64(hdr + 1, from);
        if (m.kind == VG_MSG_GAP)
            vg_frame_put_u64(hdr + 9, to);
    }
    v->next_out = to;
    if (v->skipping) {
        if (to > v->skip_to)
            v->skip_to = to;
        return;
    }
    if (v->down.bytes >= limit && !v->link_paused && v->link) {
        v->link_paused = 1;
        lws_rx_flow_control(v->link, 0);
    }
    if (v->down.bytes >= 2 * limit) {
        v->skipping = 1;
        v->skip_from = from;
        v->skip_to = to;
        return;
    }
    gw_wsq_push(&v->down, data, len, 1);
    lws_callback_on_writable(v->browser);
}

static void link_receive(gw_viewer *v, struct lws *wsi, const void *in, size_t len)
{
    int rc =
        gw_wsbuf_add(&v->rx_link, in, len, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi));
    if (rc == VG_ERR) {
        vg_warn("console", "hostd sent a message over %d bytes for %s/%s; dropping the link",
                LINK_MSG_MAX, v->t.vm, v->t.dev);
        close_link(v);
        return;
    }
    if (rc == 0)
        return;
    if (v->browser && !v->close_code)
        relay_down(v, lws_frame_is_binary(wsi), v->rx_link.msg, v->rx_link.msg_len);
    gw_wsbuf_reset(&v->rx_link);
}

static int link_writeable(gw_viewer *v, struct lws *wsi)
{
    if (v->link_closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"viewer left", 11);
        return -1;
    }
    size_t len;
    int binary;
    const unsigned char *p = gw_wsq_peek(&v->up, &len, &binary);
    /* Control frames (take, release, ping) still go: hostd answers them without the VM. */
    if (!p || (v->console_down && binary))
        return 0;
    if (binary && len && p[0] == VG_OP_INPUT && !strcmp(v->t.mode, "ro")) {
        /* Refused here already, so a read-only viewer's bytes never travel to hostd. */
        gw_wsq_pop(&v->up);
        send_error(v, VG_E_READ_ONLY, "this console is attached read-only");
    } else if (gw_wsq_write(&v->up, wsi) < 0) {
        return -1;
    }
    if (v->browser_paused && v->up.bytes < UP_QUEUE_MAX / 2 && v->browser) {
        v->browser_paused = 0;
        lws_rx_flow_control(v->browser, 1);
    }
    if (v->up.head)
        lws_callback_on_writable(wsi);
    return 0;
}

static int link_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    (void)user;
    gw_viewer *v = lws_get_opaque_user_data(wsi);
    gw *g = gw_from_wsi(wsi);

    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return gw_link_add_secret(g, wsi, in, len);
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!v)
            return -1;
        v->link_up = 1;
        ev_timer_stop(v->g->loop, &v->link_timer);
        snprintf(v->host, sizeof(v->host), "%s", v->link_host);
        v->link_host[0] = '\0';
        if (v->following)
            follow_stop(v);
        if (v->link_closing || v->up.head)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (v)
            link_receive(v, wsi, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return v ? link_writeable(v, wsi) : -1;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (v && len >= 2) {
            const unsigned char *b = in;
            v->link_close_code = b[0] << 8 | b[1];
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (v) {
            vg_warn("console", "link to hostd for %s/%s failed: %s", v->t.vm, v->t.dev,
                    in ? (const char *)in : "connection error");
            lws_set_opaque_user_data(wsi, NULL);
            link_gone(v, "the VM's host cannot be reached");
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (v) {
            lws_set_opaque_user_data(wsi, NULL);
            link_gone(v, "the link to the VM's host was lost");
        }
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols gw_console_protocol = {
    GW_CONSOLE_PROTOCOL, browser_callback, sizeof(browser_pss), VG_FRAME_MAX_CLIENT, 0, NULL, 0,
};

const struct lws_protocols gw_link_protocol = {
    GW_LINK_PROTOCOL, link_callback, 0, 65536, 0, NULL, 0,
};

/* Payload: a session's sha256 (that session ended) or `user:<name>` (the user was frozen,
 * deleted or lost access: all their consoles and API WebSockets close). */
static void session_ended_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw *g = priv;
    const char *msg;
    size_t len;
    if (!vg_redis_message(reply, "vg:sessions", &msg, &len))
        return;
    gw_revoked_add(&g->revoked, msg, len);
    for (gw_viewer *v = g->viewers; v; v = v->next) {
        if (!v->browser || v->close_code)
            continue;
        gw_revoked_kind k = gw_revoked_match(msg, v->t.user, v->t.session);
        if (k != GW_REVOKED_NONE)
            access_ended(v, k);
    }
    if (!strncmp(msg, "user:", 5))
        gw_apiws_close_user(g, msg + 5);
}

void gw_console_bus_subscribe(vg_redis *bus, void *priv)
{
    if (vg_redis_subscribe(bus, "vg:sessions", session_ended_cb, priv) != VG_OK)
        vg_error("console", "cannot subscribe to vg:sessions");
}

void gw_console_shutdown(gw *g)
{
    for (gw_viewer *v = g->viewers; v; v = v->next)
        close_browser(v, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
}

void gw_console_keepalive(gw *g, int64_t now_ms)
{
    gw_viewer *next;
    for (gw_viewer *v = g->viewers; v; v = next) {
        next = v->next; /* dropping a browser may free v, never another viewer */
        if (v->browser && gw_keepalive_check(&v->ka, v->browser, &g->cfg, now_ms)) {
            vg_info("console", "dropping the silent viewer %s of %s/%s after %ld s", v->addr,
                    v->t.vm, v->t.dev, g->cfg.idle_timeout);
            gw_keepalive_drop(v->browser);
        }
    }
}
