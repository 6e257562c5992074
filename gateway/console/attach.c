/* Attaching a browser: its query string, the ticket redeemed (gateway_authz.lua, scope
 * ticket), the console looked up in the registry, and the viewer added to the console's
 * channel (its link to the VM's host started when it is the first). */
#include "console/console_int.h"

#include "core/auth.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_query.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

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
    vg_query_arg a;
    while (vg_query_next(&p, end, &a)) {
        if (vg_query_is(&a, "ticket")) {
            if (!gw_auth_valid_token(a.val, a.vlen))
                return vg_fail(err, VG_E_UNAUTHORIZED, "ticket is malformed");
            vg_query_copy(&a, out->ticket, sizeof(out->ticket));
        } else if (vg_query_is(&a, "offset")) {
            if (vg_query_copy(&a, out->offset, sizeof(out->offset)) != VG_OK ||
                !valid_offset(out->offset))
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "offset must be ring, end or a decimal byte offset");
        } else if (vg_query_is(&a, "take")) {
            if (a.vlen != 1 || (a.val[0] != '0' && a.val[0] != '1'))
                return vg_fail(err, VG_E_BAD_REQUEST, "take must be 0 or 1");
            out->take = a.val[0] == '1';
        }
    }
    if (!out->ticket[0])
        return vg_fail(err, VG_E_UNAUTHORIZED, "a ticket is required (API method console.ticket)");
    return VG_OK;
}

static void lookup_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_viewer *v = priv;
    v->redis_pending = 0;
    if (!v->browser || v->close_code) {
        gw_viewer_maybe_free(v);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "the registry is not reachable", 4503);
        return;
    }
    long long kind = reply->element[0]->integer;
    if (kind == 0 || kind == 1 || reply->elements < 4) {
        char msg[160];
        snprintf(msg, sizeof(msg), kind == 0 ? "VM %s is not known" : "VM %s has no console %s",
                 v->t.vm, v->t.dev);
        gw_viewer_fail_browser(v, VG_E_NOT_FOUND, msg, 4004);
        return;
    }
    const redisReply *host = reply->element[1], *link = reply->element[2],
                     *alive = reply->element[3];
    if (link->type != REDIS_REPLY_STRING || !link->len || alive->type != REDIS_REPLY_INTEGER ||
        alive->integer != 1) {
        char msg[160];
        snprintf(msg, sizeof(msg), "host %s of VM %s is down",
                 host->type == REDIS_REPLY_STRING ? host->str : "?", v->t.vm);
        gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, msg, 4503);
        return;
    }
    /* The console's channel, if this gateway has one already: its link is shared. */
    int fresh;
    gw_channel *ch = gw_channel_get(v->g, v->t.vm, v->t.dev, &fresh);
    if (!ch) {
        gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "out of memory", 4503);
        return;
    }
    gw_channel_add(ch, v);
    if (!fresh)
        return;
    snprintf(ch->link_host, sizeof(ch->link_host), "%s", host->str);
    if (gw_follow_connect(ch, link->str) != VG_OK) {
        vg_warn("console", "cannot connect to hostd at %s for %s/%s", link->str, v->t.vm, v->t.dev);
        ch->link_host[0] = '\0';
        gw_channel_fail(ch, 4503, "the VM's host cannot be reached");
    }
}

static void ticket_cb(vg_redis *r, redisReply *reply, void *priv)
{
    gw_viewer *v = priv;
    v->redis_pending = 0;
    if (!v->browser || v->close_code) {
        gw_viewer_maybe_free(v);
        return;
    }
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "the ticket store is not reachable", 4503);
        return;
    }
    vg_err err;
    if (gw_ticket_redeem(reply, &v->t, &err) != VG_OK) {
        vg_info("console", "refused a console from %s: %s", v->addr, err.msg);
        if (err.code == VG_E_NOT_FOUND)
            gw_viewer_fail_browser(v, err.code, err.msg, 4004);
        else
            gw_viewer_fail_browser(v, VG_E_UNAUTHORIZED, err.msg, 4001);
        return;
    }
    /* From here on a revocation finds this console by its user and session (console.c). Those
     * that came in while the ticket was on its way are looked at now, so no revocation made
     * after the redemption in Redis is missed. */
    gw_revoked_kind k = gw_revoked_since(&v->g->revoked, v->revoked_mark, v->t.user, v->t.session);
    if (k != GW_REVOKED_NONE) {
        gw_viewer_access_ended(v, k);
        return;
    }
    vg_info("console", "user %s attaches to %s/%s (%s) from %s", v->t.user, v->t.vm, v->t.dev,
            v->t.mode, v->addr);
    gw_viewer_audit(v, "attach");
    v->audited = 1;
    if (v->q.take && !strcmp(v->t.mode, "rw"))
        gw_viewer_audit(v, "take");
    const char *argv[] = {v->t.vm, v->t.dev};
    if (vg_redis_eval(r, gw_lua(v->g, "console_lookup"), lookup_cb, v, 0, 2, argv, NULL) != VG_OK) {
        gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "the registry is not reachable", 4503);
        return;
    }
    v->redis_pending = 1;
}

void gw_attach_start(gw_viewer *v, struct lws *wsi)
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
        gw_viewer_fail_browser(v, err.code, err.msg, err.code == VG_E_UNAUTHORIZED ? 4001 : 1008);
        return;
    }
    char hash[65], ttl[24];
    gw_auth_sha256_hex(v->q.ticket, hash);
    snprintf(ttl, sizeof(ttl), "%ld", v->g->cfg.session_ttl);
    const char *argv[] = {hash, "ticket", "", ttl};
    v->revoked_mark = v->g->revoked.count;
    if (vg_redis_eval(v->g->redis, gw_lua(v->g, "authz"), ticket_cb, v, 0, 4, argv, NULL) !=
        VG_OK) {
        gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "the ticket store is not reachable", 4503);
        return;
    }
    v->redis_pending = 1;
}
